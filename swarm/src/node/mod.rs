//! [`Node`]: one peer, whole: every rule a page and `swarm-peer` must agree on above a single content.
//!
//! A node owns this peer's [`Swarm`]s (one per content), its [`Discovery`], its connection to the signaling server
//! ([`ServerLink`]) and its table of remote peers and data channels. The shells keep only the real world: WebRTC
//! objects, the WebSocket, files, timers, the user interface. Like `Swarm`, it is sans-IO and driven by one loop:
//!
//! 1. Feed one input: [`Node::handle_input`] (a server frame, a WebRTC event, a storage result), a command
//!    ([`Node::share`], [`Node::download`], [`Node::search`], ...), or [`Node::handle_timeout`] when the timer fires.
//! 2. Drain [`Node::poll_output`] until `None`, executing each [`Output`]: open or close the socket and write
//!    frames to it, create, negotiate and close peer connections, open, write and close data channels, run
//!    storage operations (their results come back as inputs), show events.
//! 3. Arm the timer at [`Node::poll_timeout`]; wait for it or the next input; go to 1.
//!
//! # What it decides
//! - What each signaling event means: join every content and the discovery network on `welcome`, connect to the
//!   members a `joined` lists, route relayed offers, answers and candidates.
//! - Negotiation ([`peer`]): the polite side, glare, and which of two simultaneous channels survives.
//! - Labels ([`label`]): a channel carries a content (its id) or discovery (`discovery`); anything else is refused.
//! - Discovery neighbours: up to `degree` offered by this peer, more accepted up to `max_neighbours`, a fresh
//!   member list every [`REJOIN_EVERY`] while short, a channel not open in [`OPEN_TIMEOUT`] given up.
//! - Limits: peers, channels per content, a connection not up in `connect_timeout` or idle for `idle_timeout` is
//!   closed, remote offers and candidates are rate-limited per peer.
//! - The server connection's schedule ([`server`]): backoff with jitter, pings, silence, request pacing.
//!
//! # Layout
//! - [`backoff`]: the reconnection delays.
//! - [`server`]: [`ServerLink`], the schedule of the signaling connection.
//! - [`peer`]: [`peer::Peer`], one remote peer, and the negotiation rules.
//! - [`label`]: [`Topic`], what a data channel carries, and its label.

pub mod backoff;
pub mod label;
pub mod peer;
pub mod server;

use core::time::Duration;
use std::collections::VecDeque;

use rand_core::Rng;

use self::label::{Label, Topic};
use self::peer::{OfferDecision, Peer};
use self::server::{LinkAction, LinkState, ServerLink};
use crate::bitfield::Bitfield;
use crate::bucket::TokenBucket;
use crate::discovery::{self, CommandError, Discovery, Entry, NetworkName, SearchId, Words};
use crate::id::ContentId;
use crate::manifest::{FileEntry, Manifest};
use crate::proof::{Fingerprint, FingerprintError, Proof, SwarmKey};
use crate::rng::SplitMix64;
use crate::signal::{ErrorCode, IceServer, PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use crate::swarm::StorageError;
use crate::time::Instant;
use crate::wire;
use crate::{ConnId, OpId, Swarm, VecMap};

/// While short of `degree` neighbours, the node asks the server for members of the network again this often
/// (PROTOCOL.md 4.1: at most every 10 s).
pub const REJOIN_EVERY: Duration = Duration::from_secs(10);
/// When a shell first looks again at a connected peer's path ([`Input::PeerPath`]): ICE may move a connection to
/// another pair after it connected (a browser nominates the direct pair once its check is answered). The wait
/// doubles after each look, up to [`PATH_RECHECK_MAX`].
pub const PATH_RECHECK_FIRST: Duration = Duration::from_secs(1);
pub const PATH_RECHECK_MAX: Duration = Duration::from_secs(60);
/// A data channel asked for and not open after this long is given up (its slot goes to another peer).
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// A shell's send path: above this many bytes buffered in the transport, new messages wait in the shell.
pub const HIGH_WATER: usize = 4 * 1024 * 1024;
/// Buffered bytes at which waiting messages flow again.
pub const LOW_WATER: usize = 1024 * 1024;
/// Bytes waiting in the shell for one channel beyond which its peer is given up: it does not read what it asked
/// for. The shell closes the channel and reports [`Input::ChannelClosed`].
pub const MAX_QUEUED: usize = 16 * 1024 * 1024;

/// Tunables. Two peers interoperate whatever their values; the defaults are what both shells use.
#[derive(Debug, Clone)]
pub struct Config {
    /// Every content's state machine.
    pub swarm: crate::Config,
    /// The discovery state machine, and its `degree` and `max_neighbours`.
    pub discovery: discovery::Config,
    /// The discovery network to join (signaling swarm `net:<name>`).
    pub network: NetworkName,
    /// Most remote peers with a connection at once; offers beyond are ignored.
    pub max_peers: usize,
    /// Most data channels (remote peers) per content.
    pub max_channels_per_content: usize,
    /// A connection not established after this long is closed.
    pub connect_timeout: Duration,
    /// A connection that has carried no channel for this long is closed.
    pub idle_timeout: Duration,
    /// Most bytes a second this peer uploads, all contents together (`None`: no limit). Uploads are paced at the
    /// storage reads that feed them, a block at a time; downloading is not limited.
    pub max_upload_rate: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            swarm: crate::Config::default(),
            discovery: discovery::Config::default(),
            network: NetworkName::default(),
            max_peers: 64,
            max_channels_per_content: 20,
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            max_upload_rate: None,
        }
    }
}

/// Which local description the shell made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    Offer,
    Answer,
}

/// What happened in the world.
#[derive(Debug)]
pub enum Input<'a> {
    /// The socket to the signaling server closed, or could not open.
    SignalingClosed,
    /// One text frame from the server, unparsed.
    ServerFrame(&'a str),
    /// The shell made the description asked for ([`Output::MakeOffer`] or the answer to [`Output::AcceptOffer`]).
    LocalDescription {
        peer: PeerId,
        kind: SdpKind,
        sdp: String,
    },
    /// The shell could not make or apply a description: the negotiation is off; the peer is closed.
    NegotiationFailed {
        peer: PeerId,
        why: String,
    },
    /// An ICE candidate of this side, to trickle to the remote peer.
    LocalCandidate {
        peer: PeerId,
        candidate: String,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u16>,
    },
    /// The connection to the peer is established.
    PeerConnected {
        peer: PeerId,
    },
    /// Which path the connection took, once established: `relayed` when its selected ICE candidate pair has a
    /// relayed candidate at either end (the data goes through a TURN server), else direct. For what the user is
    /// shown ([`Node::relayed_peers`]); nothing in the protocol depends on it. Reported again when ICE moves the
    /// connection to another pair (a browser nominates a direct pair after a relayed one); the latest counts.
    PeerPath {
        peer: PeerId,
        relayed: bool,
    },
    /// The connection failed or closed.
    PeerClosed {
        peer: PeerId,
    },
    /// A data channel the node opened or accepted is open. `max_message`: the longest data-channel message the
    /// connection carries to the remote peer, in bytes (the stack's `RTCSctpTransport.maxMessageSize`; see
    /// [`crate::Input::PeerConnected`]).
    ChannelOpened {
        conn: ConnId,
        max_message: u32,
    },
    /// One message on a channel.
    ChannelMessage {
        conn: ConnId,
        bytes: &'a [u8],
    },
    /// A channel closed (the other side, the network, or the shell giving up a peer that does not read).
    ChannelClosed {
        conn: ConnId,
    },
    /// Storage results for [`Output::Read`], [`Output::Write`] and [`Output::Hash`].
    ReadDone {
        content: ContentId,
        op: OpId,
        result: Result<Vec<u8>, StorageError>,
    },
    WriteDone {
        content: ContentId,
        op: OpId,
        result: Result<(), StorageError>,
    },
    HashDone {
        content: ContentId,
        op: OpId,
        data: Vec<u8>,
        digest: Option<[u8; 32]>,
    },
    /// Storage for a content's fetched manifest is ready (`swarm::Config::await_storage`).
    StorageReady {
        content: ContentId,
    },
}

/// What the shell does.
#[derive(Debug)]
pub enum Output {
    /// Open the socket to the signaling server.
    ConnectSignaling,
    /// Close the socket at once (the server fell silent); no [`Input::SignalingClosed`] is expected for it.
    DisconnectSignaling,
    /// Write one text frame to the server.
    SendToServer(String),
    /// Create a connection to `peer` with [`Node::ice_servers`].
    CreatePeer {
        peer: PeerId,
        polite: bool,
    },
    /// Make an offer on the connection (after the channels opened before it) and report it with
    /// [`Input::LocalDescription`].
    MakeOffer {
        peer: PeerId,
    },
    /// Apply the remote offer, first rolling back this side's own when `rollback`, and report the answer with
    /// [`Input::LocalDescription`].
    AcceptOffer {
        peer: PeerId,
        sdp: String,
        rollback: bool,
    },
    /// Apply the remote answer.
    AcceptAnswer {
        peer: PeerId,
        sdp: String,
    },
    AddCandidate {
        peer: PeerId,
        candidate: String,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u16>,
    },
    /// Close the connection and its channels; no further input about it or them is expected.
    ClosePeer {
        peer: PeerId,
    },
    /// Open a reliable, ordered data channel with this label on the connection.
    OpenChannel {
        peer: PeerId,
        conn: ConnId,
        label: String,
    },
    /// Send one message (in order, behind any waiting; see [`HIGH_WATER`]).
    Send {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    /// Close the channel once what waits on it is sent; no further input about it is expected.
    CloseChannel {
        conn: ConnId,
    },
    /// Storage operations of one content, as [`crate::Output`] describes them.
    Read {
        content: ContentId,
        op: OpId,
        offset: u64,
        len: u32,
        headroom: usize,
    },
    Write {
        content: ContentId,
        op: OpId,
        offset: u64,
        data: Vec<u8>,
    },
    Hash {
        content: ContentId,
        op: OpId,
        offset: u64,
        data: Vec<u8>,
    },
    Event(Event),
}

/// What the user interface (or a log) shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The signaling connection changed state.
    Signaling(LinkState),
    /// The server refused something; `code` says what (`peer_busy` and `unknown_peer` concern one remote peer).
    ServerError { code: ErrorCode, message: String },
    /// A frame from the server that this version cannot read was skipped.
    ServerFrameIgnored { why: String },
    /// One content's news ([`crate::Event`], except `PeerBanned`, reported as [`Event::PeerBanned`]).
    Content { content: ContentId, event: crate::Event },
    /// A remote peer was banned from a content for corrupt data or a protocol violation.
    PeerBanned { content: ContentId, peer: PeerId, reason: crate::swarm::BanReason },
    /// Discovery neighbours with an open channel, when the number changes.
    Neighbours(usize),
    /// A match for one of this peer's searches, or an update of one.
    SearchResult { search: SearchId, entry: Entry, score: u32, sources: u32 },
    /// A discovery neighbour was dropped for breaking the rules.
    NeighbourDropped { peer: PeerId, reason: &'static str },
    /// A negotiation failed in the shell; the connection was closed.
    NegotiationFailed { peer: PeerId, why: String },
    /// A connection to `peer` could not be made: the offer and answer went through, but ICE found no path within
    /// [`Config::connect_timeout`], or the shell reported it failed before it was up. Said once, until a connection
    /// to that peer succeeds (a peer that never answers is backed off from the same way, silently); meanwhile
    /// this side does not offer that peer a connection again before a backoff delay ([`backoff::PEER_BASE`] doubling
    /// to [`backoff::PEER_MAX`]).
    PeerUnreachable { peer: PeerId, why: Unreachable },
}

/// Why a peer could not be reached, in words for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// No relay (TURN) server is configured: only a direct path could work, and ICE found none.
    NoRelay,
    /// Not even through the relay (TURN) server.
    NotThroughRelay,
}

impl core::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Unreachable::NoRelay => {
                "A peer could not be reached: the two networks allow no direct connection (NATs or firewalls on both \
                 sides), and the signaling server offers no relay (TURN) server to go through; trying again now and then"
            }
            Unreachable::NotThroughRelay => {
                "A peer could not be reached, not even through the relay (TURN) server; trying again now and then"
            }
        })
    }
}

/// Unreachable peers remembered at most (their backoff); the oldest-keyed is forgotten first.
const UNREACHABLE_KEPT: usize = 256;

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeError {
    /// The content is already here (shared or downloading).
    AlreadyThere,
    /// No such content.
    Unknown,
    /// Refused by discovery (an empty query, too many files announced).
    Discovery(CommandError),
    /// Only a complete file can be listed in search.
    Incomplete,
}

impl core::fmt::Display for NodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NodeError::AlreadyThere => f.write_str("this file is already shared or downloading here"),
            NodeError::Unknown => f.write_str("no such file here"),
            NodeError::Discovery(e) => e.fmt(f),
            NodeError::Incomplete => f.write_str("only a complete file can be listed in search"),
        }
    }
}

impl std::error::Error for NodeError {}

/// One data channel.
#[derive(Debug)]
struct Channel {
    peer: PeerId,
    topic: Topic,
    /// The state machine of its topic was told it is connected.
    open: bool,
    created: Instant,
}

/// The peer.
#[derive(Debug)]
pub struct Node {
    config: Config,
    rng: SplitMix64,
    now: Instant,
    link: ServerLink,
    me: Option<PeerId>,
    ice_servers: Vec<IceServer>,
    net_swarm: Option<SwarmName>,
    swarms: VecMap<ContentId, Swarm>,
    discovery: Discovery,
    peers: VecMap<PeerId, Peer>,
    channels: VecMap<ConnId, Channel>,
    next_conn: u64,
    /// When to ask for network members again (while short of `degree`).
    rejoin_at: Option<Instant>,
    /// When to ask again for the members of the swarms of downloads that have no open channel.
    content_rejoin_at: Option<Instant>,
    /// The neighbour count last reported.
    reported_neighbours: Option<usize>,
    /// With [`Config::max_upload_rate`]: a token a byte, granted to the contents as their uploads need it.
    upload: Option<TokenBucket>,
    /// Peers a connection to could not be made: their backoff, when this side may offer one again, and whether
    /// the user was told.
    unreachable: VecMap<PeerId, (backoff::Backoff, Instant, bool)>,
    outputs: VecDeque<Output>,
}

/// The bucket of an upload limit of `rate` bytes a second: a quarter of a second's worth held at most (and one
/// block, so that any read fits), so bursts stay short and the long-run rate is the limit's.
fn upload_bucket(rate: u32, now: Instant) -> TokenBucket {
    TokenBucket::full((rate / 4).max(wire::MAX_BLOCK_LEN), rate.max(1), now)
}

impl Node {
    pub fn new(config: Config, seed: u64, now: Instant) -> Node {
        let mut rng = SplitMix64::seed_from_u64(seed);
        let discovery = Discovery::new(config.discovery.clone(), rng.next_u64());
        let net_swarm = SwarmName::parse(&config.network.swarm()).ok();
        let upload = config.max_upload_rate.map(|rate| upload_bucket(rate, now));
        let mut node = Node {
            config,
            rng,
            now,
            link: ServerLink::new(now),
            me: None,
            ice_servers: Vec::new(),
            net_swarm,
            swarms: VecMap::new(),
            discovery,
            peers: VecMap::new(),
            channels: VecMap::new(),
            next_conn: 0,
            rejoin_at: None,
            content_rejoin_at: None,
            unreachable: VecMap::new(),
            reported_neighbours: None,
            upload,
            outputs: VecDeque::new(),
        };
        node.after(now);
        node
    }

    // Getters.

    /// This peer's id at the server, once welcomed (a new one after every reconnection).
    pub fn me(&self) -> Option<&PeerId> {
        self.me.as_ref()
    }

    /// The ICE servers the server announced, for new connections.
    pub fn ice_servers(&self) -> &[IceServer] {
        &self.ice_servers
    }

    pub fn signaling_state(&self) -> LinkState {
        self.link.state()
    }

    /// How many of `content`'s peers ([`crate::swarm::Stats::peers`]) are on connections relayed through a TURN
    /// server ([`Input::PeerPath`]); the rest are direct or not reported yet.
    pub fn relayed_peers(&self, content: &ContentId) -> usize {
        let Some(swarm) = self.swarms.get(content) else { return 0 };
        self.channels
            .iter()
            .filter(|(conn, c)| c.topic == Topic::Content(*content) && swarm.is_ready(**conn))
            .filter(|(_, c)| self.peers.get(&c.peer).is_some_and(|p| p.relayed == Some(true)))
            .count()
    }

    pub fn swarm(&self, content: &ContentId) -> Option<&Swarm> {
        self.swarms.get(content)
    }

    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    pub fn network(&self) -> &NetworkName {
        &self.config.network
    }

    /// Discovery neighbours with an open channel.
    pub fn neighbours(&self) -> usize {
        self.discovery.neighbours().count()
    }

    /// Remote peers with a connection (being set up or up).
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Data channels (opening or open).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// The remote peer and topic of a channel.
    pub fn channel(&self, conn: ConnId) -> Option<(&PeerId, Topic)> {
        self.channels.get(&conn).map(|c| (&c.peer, c.topic))
    }

    // Commands. Each takes the time, like an input: what it changes (a channel closed, an idle clock started) is
    // dated now, not at the last input.

    /// Shares a whole file: serves it and joins its swarm. It is reachable by its link only, not listed in search
    /// until [`Node::set_listed`] says so.
    pub fn share(&mut self, now: Instant, manifest: Manifest) -> Result<(), NodeError> {
        self.now = now;
        let content = manifest.content_id();
        self.check_new(content)?;
        let swarm = Swarm::share(manifest, self.config.swarm.clone(), self.rng.next_u64(), now);
        self.add(now, content, swarm);
        self.after(now);
        Ok(())
    }

    /// Downloads a content known by id only: the manifest is fetched from peers.
    pub fn download(&mut self, now: Instant, content: ContentId) -> Result<(), NodeError> {
        self.now = now;
        self.check_new(content)?;
        let swarm = Swarm::join(content, self.config.swarm.clone(), self.rng.next_u64(), now);
        self.add(now, content, swarm);
        self.after(now);
        Ok(())
    }

    /// Resumes a download whose manifest and verified pieces were stored.
    pub fn resume(&mut self, now: Instant, manifest: Manifest, have: Bitfield) -> Result<(), NodeError> {
        self.now = now;
        let content = manifest.content_id();
        self.check_new(content)?;
        let swarm = Swarm::resume(manifest, have, self.config.swarm.clone(), self.rng.next_u64(), now);
        self.add(now, content, swarm);
        self.after(now);
        Ok(())
    }

    /// Chooses what to fetch of a content whose manifest is known: the pieces set in `wanted`, or all with `None`
    /// (see [`crate::Input::Select`]; [`crate::manifest::Manifest::pieces_of_file`] gives a tree's files' pieces).
    /// Said in answer to `ManifestKnown`, before `StorageReady`, nothing else is ever asked for.
    pub fn select(&mut self, now: Instant, content: ContentId, wanted: Option<Bitfield>) -> Result<(), NodeError> {
        self.now = now;
        let swarm = self.swarms.get_mut(&content).ok_or(NodeError::Unknown)?;
        swarm.handle_input(now, crate::Input::Select(wanted));
        self.after(now);
        Ok(())
    }

    /// Lists a complete content in search (announced in discovery) or unlists it (withdrawn from the neighbours'
    /// caches now). Nothing is listed unless its user asks: a share is reachable by its link only, and a download
    /// never announces by itself.
    pub fn set_listed(&mut self, now: Instant, content: ContentId, listed: bool) -> Result<(), NodeError> {
        self.now = now;
        let swarm = self.swarms.get(&content).ok_or(NodeError::Unknown)?;
        let result = if listed {
            let manifest = swarm.manifest().filter(|_| swarm.is_complete()).ok_or(NodeError::Incomplete)?;
            self.discovery.share(now, entry_of(manifest)).map_err(NodeError::Discovery)
        } else {
            self.discovery.unshare(now, content);
            Ok(())
        };
        self.after(now);
        result
    }

    /// Whether `content` is listed in search.
    pub fn is_listed(&self, content: &ContentId) -> bool {
        self.discovery.is_shared(content)
    }

    /// Stops a content: goodbye to its peers, its channels closed, its swarm left, its announcement withdrawn.
    pub fn stop(&mut self, now: Instant, content: ContentId) -> Result<(), NodeError> {
        self.now = now;
        let swarm = self.swarms.remove(&content).ok_or(NodeError::Unknown)?;
        self.remove(now, content, swarm, crate::Input::Stop);
        self.after(now);
        Ok(())
    }

    /// Fails a content for what the shell found (its storage failed outside a write: preparing or finishing the
    /// file, another tab holding it). It stops as [`Node::stop`] does and is reported once, as
    /// `Event::Content { event: crate::Event::Failed(failure) }`, like a failure the swarm found itself (a write
    /// that failed, a file over `Config::swarm.max_size`). The node then forgets it: resume it to try again.
    pub fn fail(&mut self, now: Instant, content: ContentId, failure: crate::Failure) -> Result<(), NodeError> {
        self.now = now;
        let swarm = self.swarms.remove(&content).ok_or(NodeError::Unknown)?;
        self.remove(now, content, swarm, crate::Input::Fail(failure));
        self.after(now);
        Ok(())
    }

    /// Ends a content the node no longer holds: `last` (stop or fail) given to its swarm, whose goodbyes go out,
    /// then its channels closed, its signaling swarm left and its announcement withdrawn.
    fn remove(&mut self, now: Instant, content: ContentId, mut swarm: Swarm, last: crate::Input<'_>) {
        swarm.handle_input(now, last);
        while let Some(output) = swarm.poll_output() {
            self.translate(content, output);
        }
        let conns: Vec<ConnId> =
            self.channels.iter().filter(|(_, c)| c.topic == Topic::Content(content)).map(|(conn, _)| *conn).collect();
        for conn in conns {
            self.close_channel(conn);
        }
        if let Ok(swarm) = SwarmName::parse(&SwarmKey::of(&content).to_string()) {
            self.link.send(PeerRequest::Leave { swarm });
        }
        self.discovery.unshare(now, content);
    }

    /// Leaves at once (the page is closing, the program ending): every content stopped as by [`Node::stop`]
    /// (goodbye to its peers, its channels closed), every connection closed and the signaling socket closed, so
    /// that others learn now rather than from their timeouts. The node is not meant to be used after it.
    pub fn shutdown(&mut self, now: Instant) {
        self.now = now;
        let contents: Vec<ContentId> = self.swarms.keys().copied().collect();
        for content in contents {
            if let Some(swarm) = self.swarms.remove(&content) {
                self.remove(now, content, swarm, crate::Input::Stop);
            }
        }
        let peers: Vec<PeerId> = self.peers.keys().cloned().collect();
        for peer in peers {
            self.close_peer(&peer);
        }
        self.outputs.push_back(Output::DisconnectSignaling);
    }

    /// Starts a search of the discovery network; results come as [`Event::SearchResult`].
    pub fn search(&mut self, now: Instant, text: &str) -> Result<SearchId, NodeError> {
        self.now = now;
        let result = self.discovery.search(now, text).map_err(NodeError::Discovery);
        self.after(now);
        result
    }

    /// A data channel the remote peer opened with this label: `Some` with its id if the node takes it (the shell
    /// then reports its events under that id), `None` if the shell must close it (an unknown label or content, no
    /// room, or a duplicate the other side's channel wins).
    pub fn accept_channel(&mut self, now: Instant, peer: &PeerId, label: &str) -> Option<ConnId> {
        self.now = now;
        let topic = match Label::parse(label)? {
            Label::Discovery => Topic::Discovery,
            Label::Content(key) => Topic::Content(self.content_of(&key)?),
        };
        let accepted = self.accept(now, peer, topic);
        self.after(now);
        accepted
    }

    // The run loop.

    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        self.now = now;
        match input {
            Input::SignalingClosed => self.signaling_closed(now),
            Input::ServerFrame(text) => {
                self.link.heard(now);
                match ServerEvent::parse(text) {
                    Ok(event) => self.on_server(now, event),
                    Err(why) => self.emit(Event::ServerFrameIgnored { why }),
                }
            }
            Input::LocalDescription { peer, kind, sdp } => {
                let fingerprint = Fingerprint::from_sdp(&sdp);
                let payload = match kind {
                    // An offer given up meanwhile (glare: this side rolled it back to answer the remote one) is
                    // not sent: the impolite side would only ignore it, and the candidates that follow it.
                    SdpKind::Offer => {
                        self.peers.get(&peer).is_some_and(|p| p.offering).then_some(SignalPayload::Offer { sdp })
                    }
                    SdpKind::Answer => self.peers.contains_key(&peer).then_some(SignalPayload::Answer { sdp }),
                };
                if let Some(payload) = payload {
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.local_fingerprint = Some(fingerprint);
                    }
                    self.link.send(PeerRequest::Signal { to: peer, payload });
                }
            }
            Input::NegotiationFailed { peer, why } => {
                if self.peers.contains_key(&peer) {
                    self.close_peer(&peer);
                    self.emit(Event::NegotiationFailed { peer, why });
                }
            }
            Input::LocalCandidate { peer, candidate, sdp_mid, sdp_m_line_index } => {
                if self.peers.contains_key(&peer) {
                    let payload = SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index };
                    self.link.send(PeerRequest::Signal { to: peer, payload });
                }
            }
            Input::PeerConnected { peer } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.connected = true;
                    self.unreachable.remove(&peer);
                }
            }
            Input::PeerPath { peer, relayed } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.relayed = Some(relayed);
                }
            }
            Input::PeerClosed { peer } => {
                if let Some(p) = self.peers.get(&peer).filter(|p| !p.connected) {
                    let negotiated = !p.offering;
                    self.unreachable_peer(now, &peer, negotiated);
                }
                self.peer_gone(&peer);
            }
            Input::ChannelOpened { conn, max_message } => self.channel_opened(now, conn, max_message),
            Input::ChannelMessage { conn, bytes } => {
                // A remote's first message can come before this side's `open` event: the channel is open then, and
                // its message size is taken as RFC 8841's default until the stack says (it does before any
                // message in both shells).
                self.channel_opened(now, conn, wire::DEFAULT_MAX_MESSAGE);
                match self.channels.get(&conn).map(|c| c.topic) {
                    Some(Topic::Content(content)) => {
                        if let Some(swarm) = self.swarms.get_mut(&content) {
                            swarm.handle_input(now, crate::Input::Received { conn, bytes });
                        }
                    }
                    Some(Topic::Discovery) => {
                        self.discovery.handle_input(now, discovery::Input::Received { conn, bytes });
                    }
                    None => {}
                }
            }
            Input::ChannelClosed { conn } => self.channel_closed(now, conn),
            Input::ReadDone { content, op, result } => {
                if let Some(swarm) = self.swarms.get_mut(&content) {
                    swarm.handle_input(now, crate::Input::ReadDone { op, result });
                }
            }
            Input::WriteDone { content, op, result } => {
                if let Some(swarm) = self.swarms.get_mut(&content) {
                    swarm.handle_input(now, crate::Input::WriteDone { op, result });
                }
            }
            Input::HashDone { content, op, data, digest } => {
                if let Some(swarm) = self.swarms.get_mut(&content) {
                    swarm.handle_input(now, crate::Input::HashDone { op, data, digest });
                }
            }
            Input::StorageReady { content } => {
                if let Some(swarm) = self.swarms.get_mut(&content) {
                    swarm.handle_input(now, crate::Input::StorageReady);
                }
            }
        }
        self.after(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        for swarm in self.swarms.values_mut() {
            if swarm.poll_timeout().is_some_and(|t| t <= now) {
                swarm.handle_timeout(now);
            }
        }
        if self.discovery.poll_timeout().is_some_and(|t| t <= now) {
            self.discovery.handle_timeout(now);
        }
        if self.content_rejoin_at.is_some_and(|t| t <= now) {
            self.content_rejoin_at = None;
            if self.link.is_up() {
                for content in self.stranded() {
                    self.join_content(content);
                }
            }
            self.schedule_content_rejoin(now);
        }
        if self.rejoin_at.is_some_and(|t| t <= now) {
            self.rejoin_at = None;
            if self.link.is_up() && self.neighbour_channels() < self.config.discovery.degree {
                self.join_network();
                self.schedule_rejoin(now);
            }
        }
        // Channels that never opened.
        let stale: Vec<ConnId> = self
            .channels
            .iter()
            .filter(|(_, c)| !c.open && now.saturating_since(c.created) >= OPEN_TIMEOUT)
            .map(|(conn, _)| *conn)
            .collect();
        let gave_up_neighbour = stale.iter().any(|c| self.channels.get(c).is_some_and(|c| c.topic == Topic::Discovery));
        for conn in stale {
            self.close_channel(conn);
        }
        if gave_up_neighbour {
            self.schedule_rejoin(now);
        }
        // Connections never established, or idle.
        let (connect, idle) = (self.config.connect_timeout, self.config.idle_timeout);
        let dead: Vec<(PeerId, bool, bool)> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                (!p.connected && now.saturating_since(p.created) >= connect)
                    || p.idle_since.is_some_and(|t| now.saturating_since(t) >= idle)
            })
            .map(|(id, p)| (id.clone(), p.connected, !p.offering))
            .collect();
        for (peer, connected, negotiated) in dead {
            if !connected {
                self.unreachable_peer(now, &peer, negotiated);
            }
            self.close_peer(&peer);
        }
        self.after(now);
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        loop {
            if let Some(output) = self.outputs.pop_front() {
                return Some(output);
            }
            if !self.pull() {
                return None;
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        // A loop, not a chain of iterators: one `Chain` per source was most of this function's wasm.
        let mut next = self.discovery.poll_timeout();
        let mut earliest = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        earliest(self.link.poll_timeout());
        earliest(self.rejoin_at);
        earliest(self.content_rejoin_at);
        earliest(self.upload_ready_at());
        for swarm in self.swarms.values() {
            earliest(swarm.poll_timeout());
        }
        for c in self.channels.values() {
            earliest((!c.open).then(|| c.created + OPEN_TIMEOUT));
        }
        for p in self.peers.values() {
            earliest((!p.connected).then(|| p.created + self.config.connect_timeout));
            earliest(p.idle_since.map(|t| t + self.config.idle_timeout));
        }
        next
    }

    // Internals.

    fn check_new(&self, content: ContentId) -> Result<(), NodeError> {
        if self.swarms.contains_key(&content) { Err(NodeError::AlreadyThere) } else { Ok(()) }
    }

    fn add(&mut self, now: Instant, content: ContentId, mut swarm: Swarm) {
        if self.upload.is_some() {
            swarm.limit_uploads();
        }
        self.swarms.insert(content, swarm);
        self.join_content(content);
        self.schedule_content_rejoin(now);
    }

    fn join_content(&mut self, content: ContentId) {
        if let Ok(swarm) = SwarmName::parse(&SwarmKey::of(&content).to_string()) {
            self.link.send(PeerRequest::Join { swarm });
        }
    }

    fn join_network(&mut self) {
        if let Some(swarm) = self.net_swarm.clone() {
            self.link.send(PeerRequest::Join { swarm });
        }
    }

    /// Sets or lifts the upload limit ([`Config::max_upload_rate`]) from now on.
    pub fn set_max_upload_rate(&mut self, now: Instant, rate: Option<u32>) {
        self.now = now;
        self.config.max_upload_rate = rate;
        self.upload = rate.map(|rate| upload_bucket(rate, now));
        for swarm in self.swarms.values_mut() {
            match rate {
                Some(_) => swarm.limit_uploads(),
                None => swarm.unlimit_uploads(now),
            }
        }
        self.after(now);
    }

    /// With an upload limit: grants the contents what their next upload reads need, one read at a time each in
    /// turn, while the bucket holds it.
    fn grant_uploads(&mut self, now: Instant) {
        let Some(bucket) = self.upload.as_mut() else { return };
        loop {
            let mut granted = false;
            for swarm in self.swarms.values_mut() {
                let want = swarm.upload_wanted();
                if want == 0 {
                    continue;
                }
                if !bucket.try_take_n(want, now) {
                    return;
                }
                swarm.grant_upload(now, want);
                granted = true;
            }
            if !granted {
                return;
            }
        }
    }

    /// When the upload bucket will cover what a content waits for, if one does.
    fn upload_ready_at(&self) -> Option<Instant> {
        let bucket = self.upload.as_ref()?;
        let want = self.swarms.values().map(Swarm::upload_wanted).find(|&w| w > 0)?;
        bucket.ready_at(want)
    }

    /// Ends every input: the server link's schedule, and the neighbour count if it changed.
    fn after(&mut self, now: Instant) {
        self.grant_uploads(now);
        let mut actions = Vec::new();
        self.link.poll(now, &mut actions);
        for action in actions {
            match action {
                LinkAction::Connect => self.outputs.push_back(Output::ConnectSignaling),
                LinkAction::Send(text) => self.outputs.push_back(Output::SendToServer(text)),
                // A silent server: given up like a socket the shell saw close.
                LinkAction::Disconnect => {
                    self.outputs.push_back(Output::DisconnectSignaling);
                    self.signaling_closed(now);
                }
            }
        }
    }

    fn random_unit(&mut self) -> f64 {
        // 53 random bits, as a float in [0, 1).
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    /// Moves one output of a state machine into the queue; `false` when none has any.
    fn pull(&mut self) -> bool {
        let mut found = None;
        for (content, swarm) in self.swarms.iter_mut() {
            if let Some(output) = swarm.poll_output() {
                found = Some((*content, output));
                break;
            }
        }
        if let Some((content, output)) = found {
            let failed = matches!(output, crate::Output::Event(crate::Event::Failed(_)));
            self.translate(content, output);
            // A content the swarm failed (a write, a file too large) is ended as a stopped one: its goodbyes
            // went out before the event; its channels, swarm and announcement go now.
            if failed && let Some(swarm) = self.swarms.remove(&content) {
                self.remove(self.now, content, swarm, crate::Input::Stop);
                // The Leave it queued goes out now, not with the next input.
                self.after(self.now);
            }
            return true;
        }
        if let Some(output) = self.discovery.poll_output() {
            match output {
                discovery::Output::Send { conn, bytes } => self.outputs.push_back(Output::Send { conn, bytes }),
                discovery::Output::Close { conn } => {
                    self.forget_channel(conn);
                    self.outputs.push_back(Output::CloseChannel { conn });
                }
                discovery::Output::Event(discovery::Event::Result { search, entry, score, sources }) => {
                    self.emit(Event::SearchResult { search, entry, score, sources });
                }
                discovery::Output::Event(discovery::Event::NeighbourDropped { conn, reason }) => {
                    if let Some(c) = self.channels.get(&conn) {
                        let peer = c.peer.clone();
                        self.emit(Event::NeighbourDropped { peer, reason });
                    }
                }
            }
            return true;
        }
        let count = self.neighbours();
        if self.reported_neighbours != Some(count) {
            self.reported_neighbours = Some(count);
            self.emit(Event::Neighbours(count));
            return true;
        }
        false
    }

    fn translate(&mut self, content: ContentId, output: crate::Output) {
        let output = match output {
            crate::Output::Send { conn, bytes } => Output::Send { conn, bytes },
            crate::Output::Close { conn } => {
                // The swarm has forgotten the connection already.
                self.forget_channel(conn);
                Output::CloseChannel { conn }
            }
            crate::Output::Read { op, offset, len, headroom } => Output::Read { content, op, offset, len, headroom },
            crate::Output::Write { op, offset, data } => Output::Write { content, op, offset, data },
            crate::Output::Hash { op, offset, data } => Output::Hash { content, op, offset, data },
            crate::Output::Event(crate::Event::PeerBanned { conn, reason }) => {
                let peer = self.channels.get(&conn).map(|c| c.peer.clone()).unwrap_or(PeerId(String::new()));
                Output::Event(Event::PeerBanned { content, peer, reason })
            }
            crate::Output::Event(event) => Output::Event(Event::Content { content, event }),
        };
        self.outputs.push_back(output);
    }

    // Signaling.

    fn signaling_closed(&mut self, now: Instant) {
        let random = self.random_unit();
        self.me = None;
        if let Some(state) = self.link.closed(now, random) {
            self.emit(Event::Signaling(state));
        }
    }

    fn on_server(&mut self, now: Instant, event: ServerEvent) {
        match event {
            ServerEvent::Welcome { peer_id, ice_servers } => {
                self.me = Some(peer_id);
                self.ice_servers = ice_servers;
                if let Some(state) = self.link.welcomed(now) {
                    self.emit(Event::Signaling(state));
                }
                let contents: Vec<ContentId> = self.swarms.keys().copied().collect();
                for content in contents {
                    self.join_content(content);
                }
                self.join_network();
            }
            // Renewed TURN credentials: for the connections made from now on.
            ServerEvent::IceServers { ice_servers } => self.ice_servers = ice_servers,
            ServerEvent::Joined { swarm, peers } => {
                if Some(&swarm) == self.net_swarm.as_ref() {
                    self.network_members(now, peers);
                } else if let Some(content) = SwarmKey::parse(swarm.as_str()).and_then(|key| self.content_of(&key)) {
                    self.content_members(now, content, peers);
                }
            }
            ServerEvent::Signal { from, payload } => self.on_signal(now, from, payload),
            // A member leaving a content's swarm says so on its channel (Goodbye) before it leaves; a tab that
            // closed may not have got its goodbye out. The content's state machine closes the channel if it
            // stays silent (`Config::departure_grace`); the connection may carry other contents, so nothing else
            // is torn down here.
            ServerEvent::PeerLeft { swarm, peer } => {
                let content = SwarmKey::parse(swarm.as_str()).and_then(|key| self.content_of(&key));
                let conn = content.and_then(|c| self.peers.get(&peer)?.channels.get(&Topic::Content(c)).copied());
                if let (Some(content), Some(conn)) = (content, conn)
                    && let Some(s) = self.swarms.get_mut(&content)
                {
                    s.handle_input(now, crate::Input::PeerLeft { conn });
                }
            }
            ServerEvent::Pong => {}
            ServerEvent::Error { code, message } => self.emit(Event::ServerError { code, message }),
        }
    }

    fn on_signal(&mut self, now: Instant, from: PeerId, payload: SignalPayload) {
        match payload {
            SignalPayload::Offer { sdp } => {
                // Only an offer may create a connection.
                if !self.peers.contains_key(&from) && !self.create_peer(now, &from) {
                    return;
                }
                let Some(p) = self.peers.get_mut(&from) else { return };
                if let OfferDecision::Accept { rollback } = p.on_offer(now) {
                    p.remote_fingerprint = Some(Fingerprint::from_sdp(&sdp));
                    self.outputs.push_back(Output::AcceptOffer { peer: from, sdp, rollback });
                }
            }
            SignalPayload::Answer { sdp } => {
                if let Some(p) = self.peers.get_mut(&from)
                    && p.on_answer()
                {
                    p.remote_fingerprint = Some(Fingerprint::from_sdp(&sdp));
                    self.outputs.push_back(Output::AcceptAnswer { peer: from, sdp });
                }
            }
            SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                if self.peers.get_mut(&from).is_some_and(|p| p.on_candidate(now)) {
                    self.outputs.push_back(Output::AddCandidate { peer: from, candidate, sdp_mid, sdp_m_line_index });
                }
            }
        }
    }

    // Peers and channels.

    /// Creates a connection to `peer` if there is room; `false` if not (or it is this peer).
    fn create_peer(&mut self, now: Instant, peer: &PeerId) -> bool {
        let Some(me) = &self.me else { return false };
        if me == peer || self.peers.len() >= self.config.max_peers {
            return false;
        }
        let entry = Peer::new(me, peer, now);
        let polite = entry.polite;
        self.peers.insert(peer.clone(), entry);
        self.outputs.push_back(Output::CreatePeer { peer: peer.clone(), polite });
        true
    }

    /// A connection to `peer` was never established: backs off from offering it another. When the offer and
    /// answer went through (`negotiated`), ICE found no path, which the user is told once; a peer that never
    /// answered (gone, or at its connection limit) is only backed off from.
    fn unreachable_peer(&mut self, now: Instant, peer: &PeerId, negotiated: bool) {
        let first = !self.unreachable.contains_key(peer);
        if first && self.unreachable.len() >= UNREACHABLE_KEPT {
            let oldest = self.unreachable.first_key_value().map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.unreachable.remove(&oldest);
            }
        }
        let random = self.random_unit();
        let (backoff, retry_at, told) = self.unreachable.get_or_insert_with(peer.clone(), || {
            (backoff::Backoff::new(backoff::PEER_BASE, backoff::PEER_MAX), now, false)
        });
        *retry_at = now + backoff.next_delay(random);
        if negotiated && !*told {
            *told = true;
            let relay = self
                .ice_servers
                .iter()
                .flat_map(|s| &s.urls)
                .any(|u| u.starts_with("turn:") || u.starts_with("turns:"));
            let why = if relay { Unreachable::NotThroughRelay } else { Unreachable::NoRelay };
            self.emit(Event::PeerUnreachable { peer: peer.clone(), why });
        }
    }

    /// Opens a channel of `topic` to `peer`, creating the connection (and offering) if there is none. Not before
    /// the backoff of a peer that could not be reached is over (the member lists that name it come back every
    /// [`REJOIN_EVERY`] while this side is short of peers).
    fn open_channel(&mut self, now: Instant, peer: &PeerId, topic: Topic) -> Option<ConnId> {
        let new = !self.peers.contains_key(peer);
        if new && self.unreachable.get(peer).is_some_and(|(_, retry_at, _)| *retry_at > now) {
            return None;
        }
        if new && !self.create_peer(now, peer) {
            return None;
        }
        let conn = self.register(now, peer, topic)?;
        self.outputs.push_back(Output::OpenChannel { peer: peer.clone(), conn, label: topic.label() });
        if new && let Some(p) = self.peers.get_mut(peer) {
            p.offering = true;
            self.outputs.push_back(Output::MakeOffer { peer: peer.clone() });
        }
        Some(conn)
    }

    /// Records a new channel; `None` if the peer has one of that topic.
    fn register(&mut self, now: Instant, peer: &PeerId, topic: Topic) -> Option<ConnId> {
        let p = self.peers.get_mut(peer)?;
        if p.channels.contains_key(&topic) {
            return None;
        }
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        p.channels.insert(topic, conn);
        p.update_idle(now);
        self.channels.insert(conn, Channel { peer: peer.clone(), topic, open: false, created: now });
        Some(conn)
    }

    fn accept(&mut self, now: Instant, peer: &PeerId, topic: Topic) -> Option<ConnId> {
        let p = self.peers.get(peer)?;
        match topic {
            Topic::Content(content) if !self.swarms.contains_key(&content) => return None,
            _ => {}
        }
        if let Some(&ours) = p.channels.get(&topic) {
            // Both opened one at once: both keep the impolite side's.
            if !p.remote_channel_wins() {
                return None;
            }
            self.close_channel(ours);
        } else {
            let full = match topic {
                Topic::Content(content) => self.content_channels(content) >= self.config.max_channels_per_content,
                Topic::Discovery => self.neighbour_channels() >= self.config.discovery.max_neighbours,
            };
            if full {
                return None;
            }
        }
        self.register(now, peer, topic)
    }

    fn content_channels(&self, content: ContentId) -> usize {
        self.channels.values().filter(|c| c.topic == Topic::Content(content)).count()
    }

    /// Discovery channels, open or opening.
    fn neighbour_channels(&self) -> usize {
        self.channels.values().filter(|c| c.topic == Topic::Discovery).count()
    }

    fn channel_opened(&mut self, now: Instant, conn: ConnId, max_message: u32) {
        let Some(c) = self.channels.get_mut(&conn) else { return };
        if c.open {
            return;
        }
        c.open = true;
        let (topic, peer) = (c.topic, c.peer.clone());
        match topic {
            Topic::Content(content) => {
                let proof = self.proof(&content, &peer);
                let Some(swarm) = self.swarms.get_mut(&content) else { return };
                match proof {
                    Ok(proof) => swarm.handle_input(now, crate::Input::PeerConnected { conn, max_message, proof }),
                    // No proof can be made or checked: nothing of the content goes over this channel.
                    Err(why) => {
                        let why = crate::Refusal::Fingerprint(why);
                        self.emit(Event::Content { content, event: crate::Event::PeerRefused { conn, why } });
                        self.close_channel(conn);
                    }
                }
            }
            Topic::Discovery => self.discovery.handle_input(now, discovery::Input::NeighbourConnected { conn }),
        }
    }

    /// The content a swarm key names, among this node's contents.
    fn content_of(&self, key: &SwarmKey) -> Option<ContentId> {
        self.swarms.keys().find(|content| SwarmKey::of(content) == *key).copied()
    }

    /// The handshake proofs of `content`'s channel with `peer`, from the DTLS fingerprints of the last local and
    /// remote descriptions of the connection (PROTOCOL.md 2.11).
    fn proof(&self, content: &ContentId, peer: &PeerId) -> Result<Proof, FingerprintError> {
        let Some(p) = self.peers.get(peer) else { return Err(FingerprintError::Missing) };
        let mine = p.local_fingerprint.clone().unwrap_or(Err(FingerprintError::Missing))?;
        let theirs = p.remote_fingerprint.clone().unwrap_or(Err(FingerprintError::Missing))?;
        Ok(Proof::new(content, (&mine, &p.me), (&theirs, peer)))
    }

    /// A channel closed underneath: forget it and tell its state machine.
    fn channel_closed(&mut self, now: Instant, conn: ConnId) {
        let Some(c) = self.forget_channel(conn) else { return };
        if c.open {
            self.tell_disconnected(now, conn, c.topic);
        }
        if c.topic == Topic::Discovery {
            self.schedule_rejoin(now);
        }
    }

    fn tell_disconnected(&mut self, now: Instant, conn: ConnId, topic: Topic) {
        match topic {
            Topic::Content(content) => {
                if let Some(swarm) = self.swarms.get_mut(&content) {
                    swarm.handle_input(now, crate::Input::PeerDisconnected { conn });
                }
            }
            Topic::Discovery => self.discovery.handle_input(now, discovery::Input::NeighbourDisconnected { conn }),
        }
    }

    /// The node closes a channel: the shell closes it, its state machine hears it is gone.
    fn close_channel(&mut self, conn: ConnId) {
        let now = self.now;
        if let Some(c) = self.forget_channel(conn) {
            self.outputs.push_back(Output::CloseChannel { conn });
            if c.open {
                self.tell_disconnected(now, conn, c.topic);
            }
        }
    }

    /// Removes a channel from the tables, without telling anyone.
    fn forget_channel(&mut self, conn: ConnId) -> Option<Channel> {
        let c = self.channels.remove(&conn)?;
        if let Some(p) = self.peers.get_mut(&c.peer) {
            p.channels.retain(|_, x| *x != conn);
            p.update_idle(self.now);
        }
        if matches!(c.topic, Topic::Content(_)) {
            self.schedule_content_rejoin(self.now);
        }
        Some(c)
    }

    /// The node closes a connection and every channel on it.
    fn close_peer(&mut self, peer: &PeerId) {
        if self.peers.contains_key(peer) {
            self.peer_gone(peer);
            self.outputs.push_back(Output::ClosePeer { peer: peer.clone() });
        }
    }

    /// A connection is gone: its channels are, too.
    fn peer_gone(&mut self, peer: &PeerId) {
        let Some(p) = self.peers.remove(peer) else { return };
        let now = self.now;
        for conn in p.channels.values() {
            self.channel_closed(now, *conn);
        }
    }

    // Contents and discovery membership.

    fn content_members(&mut self, now: Instant, content: ContentId, members: Vec<PeerId>) {
        if !self.swarms.contains_key(&content) {
            return;
        }
        for peer in members {
            if self.content_channels(content) >= self.config.max_channels_per_content {
                return;
            }
            let has = self.peers.get(&peer).is_some_and(|p| p.channels.contains_key(&Topic::Content(content)));
            if !has {
                self.open_or_add(now, &peer, Topic::Content(content));
            }
        }
    }

    /// Opens a channel on the existing connection, or on a new one this side offers.
    fn open_or_add(&mut self, now: Instant, peer: &PeerId, topic: Topic) {
        if self.peers.contains_key(peer) {
            if let Some(conn) = self.register(now, peer, topic) {
                self.outputs.push_back(Output::OpenChannel { peer: peer.clone(), conn, label: topic.label() });
            }
        } else {
            self.open_channel(now, peer, topic);
        }
    }

    /// The server listed members of the network: offer neighbour channels until `degree` are open or opening,
    /// first to peers this one already has a connection with (no new connection needed).
    fn network_members(&mut self, now: Instant, members: Vec<PeerId>) {
        let wanted = self.config.discovery.degree.saturating_sub(self.neighbour_channels());
        let candidates = members.into_iter().filter(|p| {
            Some(p) != self.me.as_ref()
                && !self.peers.get(p).is_some_and(|x| x.channels.contains_key(&Topic::Discovery))
        });
        // Connected peers first, each group in the server's order. A partition, not a sort: a stable sort is a
        // few KB of wasm per element type.
        let (mut candidates, fresh): (Vec<PeerId>, Vec<PeerId>) = candidates.partition(|p| self.peers.contains_key(p));
        candidates.extend(fresh);
        for peer in candidates.into_iter().take(wanted) {
            self.open_or_add(now, &peer, Topic::Discovery);
        }
        self.schedule_rejoin(now);
    }

    /// Downloads with no open channel: nothing comes to them unless they ask the server for members again (a
    /// connection that failed, a member that left, a glare whose channel never opened).
    fn stranded(&self) -> Vec<ContentId> {
        self.swarms
            .iter()
            .filter(|(content, swarm)| {
                !swarm.is_complete() && !self.channels.values().any(|c| c.open && c.topic == Topic::Content(**content))
            })
            .map(|(content, _)| *content)
            .collect()
    }

    /// Asks the server for the members of stranded downloads every [`REJOIN_EVERY`] while there are any.
    fn schedule_content_rejoin(&mut self, now: Instant) {
        if self.content_rejoin_at.is_none() && !self.stranded().is_empty() {
            self.content_rejoin_at = Some(now + REJOIN_EVERY);
        }
    }

    /// Asks the server for members again later, if this peer is still short of `degree` then.
    fn schedule_rejoin(&mut self, now: Instant) {
        if self.rejoin_at.is_none() && self.neighbour_channels() < self.config.discovery.degree {
            self.rejoin_at = Some(now + REJOIN_EVERY);
        }
    }
}

fn entry_of(manifest: &Manifest) -> Entry {
    Entry {
        content: manifest.content_id(),
        size: manifest.size(),
        name: manifest.name().to_owned(),
        media_type: manifest.media_type().to_owned(),
        // A folder's inner names are searchable too (PROTOCOL.md 4.2); a single file has no files() and no words.
        words: Words::of_tree(manifest.name(), manifest.files().iter().map(FileEntry::path)),
    }
}
