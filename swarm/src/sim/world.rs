//! [`World`]: whole peers ([`Node`]s) in one process, with a simulated signaling server and simulated WebRTC.
//!
//! Where [`super::Sim`] connects [`crate::Swarm`]s of one content directly, the world runs what a shell runs:
//! each node's outputs are executed against
//! - a hub that behaves as the signaling server does (docs/PROTOCOL.md 3): it assigns ids on connection, answers a
//!   join with the other members, relays signals only between members of a common swarm, announces departures,
//!   answers pings; the frames are the real JSON text both ways;
//! - simulated peer connections: an offer and its answer are opaque texts that name the two connections, and a
//!   connection comes up when the offerer applies an answer; a channel created on either side is announced to the
//!   other (which accepts or refuses it through [`Node::accept_channel`]) once the connection is up; closing either
//!   end closes both; messages arrive in order after the latency;
//! - storage in memory: every content's bytes, read and written at their offsets.
//!
//! Everything happens in time order on one fake clock (milliseconds), ties in the order they were scheduled, so
//! the same calls give the same run. Tests can cut a node's server connection, inject a server frame or a channel
//! message, and look at every node's state.

use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crate::ConnId;
use crate::id::ContentId;
use crate::manifest::Manifest;
use crate::node::label::Topic;
use crate::node::{Config, Event, Input, Node, Output, SdpKind};
use crate::rng::SplitMix64;
use crate::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use crate::time::Instant;
use rand_core::Rng;

/// Members listed in a `joined` answer at most (the server's default).
const JOINED_LIMIT: usize = 20;

/// What is scheduled.
#[derive(Debug)]
enum Ev {
    /// A text frame from the hub reaches node `to` (if `session` is still its socket).
    ServerFrame {
        to: usize,
        session: u64,
        text: String,
    },
    /// A frame from node `from` reaches the hub.
    Request {
        from: usize,
        session: u64,
        text: String,
    },
    /// The hub closed node `to`'s socket.
    SocketClosed {
        to: usize,
        session: u64,
    },
    /// A description or connection event inside node `to`'s connection `pc`.
    Local {
        to: usize,
        input: LocalInput,
    },
    /// A channel announcement reaches the side that did not create it.
    ChannelAnnounced {
        channel: u64,
    },
    ChannelOpen {
        to: usize,
        channel: u64,
    },
    ChannelMessage {
        to: usize,
        channel: u64,
        bytes: Vec<u8>,
    },
    ChannelClosed {
        to: usize,
        channel: u64,
    },
    Timer {
        to: usize,
    },
}

#[derive(Debug)]
enum LocalInput {
    Description { peer: PeerId, kind: SdpKind, sdp: String },
    Connected { peer: PeerId },
}

/// One end of a simulated data channel.
#[derive(Debug, Clone, Copy)]
struct End {
    node: usize,
    conn: Option<ConnId>,
    /// This end closed it (its node asked, or it was refused).
    closed: bool,
}

#[derive(Debug)]
struct SimChannel {
    label: String,
    ends: [End; 2],
    announced: bool,
}

/// A simulated peer connection, as seen from one node.
#[derive(Debug)]
struct SimPc {
    /// The remote node.
    remote: usize,
    up: bool,
    /// Channels created on this side before the connection came up.
    pending: Vec<u64>,
}

/// One node and what its shell holds.
#[derive(Debug)]
pub struct SimNode {
    pub node: Node,
    /// The hub session of its socket, if one is open.
    session: Option<u64>,
    /// Its connections by remote peer id.
    pcs: BTreeMap<PeerId, SimPc>,
    /// Its channels by its own connection id.
    conns: BTreeMap<ConnId, u64>,
    /// Every content's bytes (complete for a share, filled as pieces are written for a download).
    pub files: BTreeMap<ContentId, Vec<u8>>,
    pub events: Vec<Event>,
    timer: Option<Instant>,
    /// Whether the world may reconnect it (false after [`World::remove`]).
    alive: bool,
    /// Killed by [`World::vanish`]: it runs no more and nothing more from it goes out.
    vanished: bool,
}

/// The hub's record of one connection.
#[derive(Debug)]
struct Session {
    node: usize,
    id: PeerId,
    swarms: BTreeSet<SwarmName>,
}

/// The simulated world.
#[derive(Debug)]
pub struct World {
    pub nodes: Vec<SimNode>,
    now: Instant,
    latency: Duration,
    queue: BinaryHeap<core::cmp::Reverse<(Instant, u64, usize)>>,
    events: BTreeMap<usize, Ev>,
    seq: u64,
    sessions: BTreeMap<u64, Session>,
    next_session: u64,
    channels: BTreeMap<u64, SimChannel>,
    next_channel: u64,
    /// Whether the hub accepts connections.
    pub server_up: bool,
    /// Hub sessions that hear nothing and say nothing (a server stuck without closing the socket).
    muted: BTreeSet<u64>,
    /// The hub's choice of members.
    rng: SplitMix64,
    /// The hub is in the middle of every connection it introduces (as a signaling server that answers each side
    /// itself would be): it puts its own DTLS fingerprint in every offer and answer it relays. The bytes still
    /// reach the other node (the hub bridges them), so only the handshake proof can tell (PROTOCOL.md 2.11).
    pub in_the_middle: bool,
    /// Whether the hub keeps every frame it receives in `hub_frames`: its whole view of a session.
    pub record_frames: bool,
    pub hub_frames: Vec<String>,
}

/// `sdp` with the hub's own fingerprint in place of the sender's.
fn in_the_middle(sdp: &str) -> String {
    sdp.lines()
        .map(|line| {
            if line.starts_with("a=fingerprint:") {
                format!("a=fingerprint:sha-256 {}", sim_fingerprint(0))
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A session description of node `i`: what the node reads of it is its DTLS fingerprint line.
fn sim_sdp(what: &str, i: usize) -> String {
    format!("v=0\r\ns={what} from {i}\r\na=fingerprint:sha-256 {}\r\n", sim_fingerprint(i as u64 + 1))
}

/// A fingerprint only `n` has (the hub in the middle's is `sim_fingerprint(0)`).
fn sim_fingerprint(n: u64) -> String {
    n.to_be_bytes().iter().cycle().take(32).map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

impl World {
    /// An empty world whose every hop (hub to node, node to node) takes `latency`.
    pub fn new(latency: Duration) -> World {
        World {
            nodes: Vec::new(),
            now: Instant::ZERO,
            latency,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            seq: 0,
            sessions: BTreeMap::new(),
            next_session: 0,
            channels: BTreeMap::new(),
            next_channel: 0,
            server_up: true,
            muted: BTreeSet::new(),
            rng: SplitMix64::seed_from_u64(latency.as_millis() as u64),
            in_the_middle: false,
            record_frames: false,
            hub_frames: Vec::new(),
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Adds a node (it connects to the hub at once); returns its index.
    pub fn add(&mut self, config: Config, seed: u64) -> usize {
        let node = Node::new(config, seed, self.now);
        self.nodes.push(SimNode {
            node,
            session: None,
            pcs: BTreeMap::new(),
            conns: BTreeMap::new(),
            files: BTreeMap::new(),
            events: Vec::new(),
            timer: None,
            alive: true,
            vanished: false,
        });
        let i = self.nodes.len() - 1;
        self.drain(i);
        i
    }

    /// Node `i` shares a file it has whole.
    pub fn share(&mut self, i: usize, data: Vec<u8>, manifest: Manifest) {
        let now = self.now;
        let n = &mut self.nodes[i];
        n.files.insert(manifest.content_id(), data);
        let _ = n.node.share(now, manifest);
        self.drain(i);
    }

    /// Node `i` lists (or unlists) a content in search.
    pub fn set_listed(&mut self, i: usize, content: ContentId, listed: bool) -> Result<(), crate::node::NodeError> {
        let now = self.now;
        let result = self.nodes[i].node.set_listed(now, content, listed);
        self.drain(i);
        result
    }

    /// Node `i` downloads a content by id.
    pub fn download(&mut self, i: usize, content: ContentId) {
        let now = self.now;
        let _ = self.nodes[i].node.download(now, content);
        self.drain(i);
    }

    /// Runs a command on node `i` and executes what follows.
    pub fn with<R>(&mut self, i: usize, f: impl FnOnce(&mut Node, Instant) -> R) -> R {
        let now = self.now;
        let r = f(&mut self.nodes[i].node, now);
        self.drain(i);
        r
    }

    /// The hub closes node `i`'s socket (a server restart, as far as that node can tell).
    pub fn cut_server(&mut self, i: usize) {
        if let Some(session) = self.nodes[i].session {
            self.hub_close(session);
        }
    }

    /// The hub falls silent towards node `i` on its current connection, without closing it.
    pub fn mute(&mut self, i: usize) {
        if let Some(session) = self.nodes[i].session {
            self.muted.insert(session);
        }
    }

    /// The connection between nodes `i` and `j` fails (a NAT binding expired, a network changed): both sides see
    /// it fail; both stay in the world and at the hub.
    pub fn fail_connection(&mut self, i: usize, j: usize) {
        let Some(peer) = self.nodes[i].pcs.iter().find(|(_, p)| p.remote == j).map(|(id, _)| id.clone()) else {
            return;
        };
        self.close_pc(i, &peer);
        let now = self.now;
        self.nodes[i].node.handle_input(now, Input::PeerClosed { peer });
        self.drain(i);
    }

    /// Takes node `i` out of the world: every connection of it closes, its socket too, and it never comes back.
    pub fn remove(&mut self, i: usize) {
        self.nodes[i].alive = false;
        self.cut_server(i);
        let peers: Vec<PeerId> = self.nodes[i].pcs.keys().cloned().collect();
        for peer in peers {
            self.close_pc(i, &peer);
        }
    }

    /// Node `i` is killed before a goodbye gets out (a tab closed while its connections were busy): its socket
    /// closes, so the hub announces its departures, and it never runs or sends again. Its peers' connections
    /// to it stay up as far as they can tell; what it sent before is still delivered.
    pub fn vanish(&mut self, i: usize) {
        self.nodes[i].alive = false;
        self.nodes[i].vanished = true;
        if let Some(session) = self.nodes[i].session.take() {
            self.hub_close(session);
        }
    }

    /// Delivers a server frame to node `i` now, as if the hub had sent it.
    pub fn inject_server_event(&mut self, i: usize, event: &ServerEvent) {
        let text = serde_json::to_string(event).unwrap_or_default();
        self.nodes[i].node.handle_input(self.now, Input::ServerFrame(&text));
        self.drain(i);
    }

    /// The id the hub gave node `i` on its current connection.
    pub fn id_of(&self, i: usize) -> Option<PeerId> {
        self.nodes[i].node.me().cloned()
    }

    /// Runs until `until` (or until nothing is scheduled).
    pub fn run_until(&mut self, until: Instant) {
        while let Some(core::cmp::Reverse((at, _, key))) = self.queue.peek().copied() {
            if at > until {
                break;
            }
            self.queue.pop();
            self.now = at;
            if let Some(ev) = self.events.remove(&key) {
                self.handle(ev);
            }
        }
        self.now = self.now.max(until);
    }

    /// Runs for `d` more.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs until `done` holds (checked after every event) or `limit` passes; whether it held.
    pub fn run_until_true(&mut self, limit: Duration, mut done: impl FnMut(&World) -> bool) -> bool {
        let until = self.now + limit;
        while !done(self) {
            let Some(core::cmp::Reverse((at, _, key))) = self.queue.peek().copied() else { return false };
            if at > until {
                self.now = until;
                return false;
            }
            self.queue.pop();
            self.now = at;
            if let Some(ev) = self.events.remove(&key) {
                self.handle(ev);
            }
        }
        true
    }

    /// Channels node `i`'s shell holds open.
    pub fn open_channels(&self, i: usize) -> usize {
        self.nodes[i].conns.len()
    }

    /// Whether node `i`'s session at the hub is a member of signaling swarm `swarm` (joined and not left).
    pub fn joined(&self, i: usize, swarm: &SwarmName) -> bool {
        self.nodes[i].session.and_then(|s| self.sessions.get(&s)).is_some_and(|s| s.swarms.contains(swarm))
    }

    /// Connections node `i`'s shell holds.
    pub fn connections(&self, i: usize) -> usize {
        self.nodes[i].pcs.len()
    }

    fn schedule(&mut self, at: Instant, ev: Ev) {
        self.seq += 1;
        let key = self.seq as usize;
        self.events.insert(key, ev);
        self.queue.push(core::cmp::Reverse((at, self.seq, key)));
    }

    fn later(&mut self, ev: Ev) {
        let at = self.now + self.latency;
        self.schedule(at, ev);
    }

    fn handle(&mut self, ev: Ev) {
        let to = match &ev {
            Ev::ServerFrame { to, .. }
            | Ev::SocketClosed { to, .. }
            | Ev::Local { to, .. }
            | Ev::ChannelOpen { to, .. }
            | Ev::ChannelMessage { to, .. }
            | Ev::ChannelClosed { to, .. }
            | Ev::Timer { to } => Some(*to),
            // The side that did not create the channel takes it (`announce`).
            Ev::ChannelAnnounced { channel } => self.channels.get(channel).map(|c| c.ends[1].node),
            Ev::Request { .. } => None,
        };
        if to.is_some_and(|i| self.nodes[i].vanished) {
            return;
        }
        match ev {
            Ev::ServerFrame { to, session, text } => {
                if self.nodes[to].session == Some(session) {
                    self.input(to, Input::ServerFrame(&text));
                }
            }
            Ev::Request { from, session, text } => self.hub_request(from, session, &text),
            Ev::SocketClosed { to, session } => {
                if self.nodes[to].session == Some(session) {
                    self.nodes[to].session = None;
                    self.input(to, Input::SignalingClosed);
                }
            }
            Ev::Local { to, input } => match input {
                LocalInput::Description { peer, kind, sdp } => {
                    if self.nodes[to].pcs.contains_key(&peer) {
                        self.input(to, Input::LocalDescription { peer, kind, sdp });
                    }
                }
                LocalInput::Connected { peer } => {
                    if self.nodes[to].pcs.get(&peer).is_some_and(|p| p.up) {
                        self.input(to, Input::PeerConnected { peer });
                    }
                }
            },
            Ev::ChannelAnnounced { channel } => self.announce(channel),
            Ev::ChannelOpen { to, channel } => {
                if let Some(conn) = self.live_conn(to, channel) {
                    self.input(to, Input::ChannelOpened { conn, max_message: crate::wire::MAX_MESSAGE_LEN as u32 });
                }
            }
            Ev::ChannelMessage { to, channel, bytes } => {
                if let Some(conn) = self.live_conn(to, channel) {
                    self.input(to, Input::ChannelMessage { conn, bytes: &bytes });
                }
            }
            Ev::ChannelClosed { to, channel } => {
                if let Some(conn) = self.live_conn(to, channel) {
                    self.nodes[to].conns.remove(&conn);
                    if let Some(c) = self.channels.get_mut(&channel) {
                        for end in &mut c.ends {
                            if end.node == to {
                                end.closed = true;
                            }
                        }
                    }
                    self.input(to, Input::ChannelClosed { conn });
                }
            }
            Ev::Timer { to } => {
                let n = &mut self.nodes[to];
                if n.timer.is_some_and(|t| t <= self.now) {
                    n.timer = None;
                    n.node.handle_timeout(self.now);
                    self.drain(to);
                }
            }
        }
    }

    /// The connection id node `i` uses for a channel still open on its side.
    fn live_conn(&self, i: usize, channel: u64) -> Option<ConnId> {
        let c = self.channels.get(&channel)?;
        c.ends.iter().find(|e| e.node == i && !e.closed).and_then(|e| e.conn)
    }

    fn input(&mut self, i: usize, input: Input<'_>) {
        let now = self.now;
        self.nodes[i].node.handle_input(now, input);
        self.drain(i);
    }

    /// Executes node `i`'s outputs and arms its timer.
    fn drain(&mut self, i: usize) {
        while let Some(output) = self.nodes[i].node.poll_output() {
            self.execute(i, output);
        }
        let next = self.nodes[i].node.poll_timeout();
        if next != self.nodes[i].timer
            && let Some(at) = next
        {
            self.nodes[i].timer = Some(at);
            self.schedule(at.max(self.now), Ev::Timer { to: i });
        }
    }

    fn execute(&mut self, i: usize, output: Output) {
        match output {
            Output::ConnectSignaling => {
                if self.server_up && self.nodes[i].alive {
                    self.hub_connect(i);
                } else {
                    // The shell's socket fails to open.
                    self.next_session += 1;
                    let session = self.next_session;
                    self.nodes[i].session = Some(session);
                    self.later(Ev::SocketClosed { to: i, session });
                }
            }
            Output::DisconnectSignaling => {
                if let Some(session) = self.nodes[i].session.take() {
                    self.hub_close(session);
                }
            }
            Output::SendToServer(text) => {
                if let Some(session) = self.nodes[i].session {
                    self.later(Ev::Request { from: i, session, text });
                }
            }
            Output::CreatePeer { peer, .. } => {
                let Some(remote) = self.node_of(&peer) else { return };
                self.nodes[i].pcs.insert(peer, SimPc { remote, up: false, pending: Vec::new() });
            }
            Output::MakeOffer { peer } => {
                let sdp = sim_sdp("offer", i);
                self.schedule(
                    self.now,
                    Ev::Local { to: i, input: LocalInput::Description { peer, kind: SdpKind::Offer, sdp } },
                );
            }
            Output::AcceptOffer { peer, .. } => {
                let sdp = sim_sdp("answer", i);
                self.schedule(
                    self.now,
                    Ev::Local { to: i, input: LocalInput::Description { peer, kind: SdpKind::Answer, sdp } },
                );
            }
            Output::AcceptAnswer { peer, .. } => self.connect_pc(i, &peer),
            Output::AddCandidate { .. } => {}
            Output::ClosePeer { peer } => self.close_pc(i, &peer),
            Output::OpenChannel { peer, conn, label } => {
                let Some(pc) = self.nodes[i].pcs.get(&peer) else { return };
                let remote = pc.remote;
                self.next_channel += 1;
                let id = self.next_channel;
                let ends =
                    [End { node: i, conn: Some(conn), closed: false }, End { node: remote, conn: None, closed: false }];
                self.channels.insert(id, SimChannel { label, ends, announced: false });
                self.nodes[i].conns.insert(conn, id);
                let n = &mut self.nodes[i];
                let Some(pc) = n.pcs.get_mut(&peer) else { return };
                if pc.up {
                    self.later(Ev::ChannelAnnounced { channel: id });
                } else {
                    pc.pending.push(id);
                }
            }
            Output::Send { conn, bytes } => {
                let Some(&channel) = self.nodes[i].conns.get(&conn) else { return };
                let Some(c) = self.channels.get(&channel) else { return };
                if let Some(other) = c.ends.iter().find(|e| e.node != i) {
                    let to = other.node;
                    self.later(Ev::ChannelMessage { to, channel, bytes });
                }
            }
            Output::CloseChannel { conn } => {
                let Some(channel) = self.nodes[i].conns.remove(&conn) else { return };
                self.close_channel(i, channel);
            }
            Output::Read { content, op, offset, len, headroom } => {
                let result = self.nodes[i]
                    .files
                    .get(&content)
                    .and_then(|f| f.get(offset as usize..offset as usize + len as usize))
                    .map(|bytes| {
                        let mut buf = vec![0u8; headroom];
                        buf.extend_from_slice(bytes);
                        buf
                    })
                    .ok_or_else(|| crate::StorageError::Other("read out of range".into()));
                self.nodes[i].node.handle_input(self.now, Input::ReadDone { content, op, result });
            }
            Output::Write { content, op, offset, data } => {
                let size = self.nodes[i].node.swarm(&content).and_then(|s| s.manifest()).map_or(0, Manifest::size);
                let file = self.nodes[i].files.entry(content).or_insert_with(|| vec![0; size as usize]);
                let end = offset as usize + data.len();
                let result = match file.get_mut(offset as usize..end) {
                    Some(range) => {
                        range.copy_from_slice(&data);
                        Ok(())
                    }
                    None => Err(crate::StorageError::Other("write out of range".into())),
                };
                self.nodes[i].node.handle_input(self.now, Input::WriteDone { content, op, result });
            }
            Output::Hash { content, op, data, .. } => {
                self.nodes[i].node.handle_input(self.now, Input::HashDone { content, op, data, digest: None });
            }
            Output::Event(event) => self.nodes[i].events.push(event),
        }
    }

    /// The node that holds `peer`'s id on a live session.
    fn node_of(&self, peer: &PeerId) -> Option<usize> {
        self.sessions.values().find(|s| &s.id == peer).map(|s| s.node)
    }

    fn connect_pc(&mut self, i: usize, peer: &PeerId) {
        let Some(pc) = self.nodes[i].pcs.get_mut(peer) else { return };
        let remote = pc.remote;
        // The remote side's connection to this node, found by who it is.
        let Some(back) = self.nodes[remote].pcs.iter().find(|(_, p)| p.remote == i).map(|(id, _)| id.clone()) else {
            return;
        };
        for (node, id) in [(i, peer.clone()), (remote, back)] {
            let Some(pc) = self.nodes[node].pcs.get_mut(&id) else { continue };
            if pc.up {
                continue;
            }
            pc.up = true;
            let pending = core::mem::take(&mut pc.pending);
            self.later(Ev::Local { to: node, input: LocalInput::Connected { peer: id } });
            for channel in pending {
                self.later(Ev::ChannelAnnounced { channel });
            }
        }
    }

    fn close_pc(&mut self, i: usize, peer: &PeerId) {
        let Some(pc) = self.nodes[i].pcs.remove(peer) else { return };
        let remote = pc.remote;
        let channels: Vec<(ConnId, u64)> = self.nodes[i]
            .conns
            .iter()
            .filter(|(_, ch)| self.channels.get(ch).is_some_and(|c| c.ends.iter().any(|e| e.node == remote)))
            .map(|(conn, ch)| (*conn, *ch))
            .collect();
        for (conn, channel) in channels {
            self.nodes[i].conns.remove(&conn);
            self.close_channel(i, channel);
        }
        // The remote side sees its connection fail.
        if let Some(back) = self.nodes[remote].pcs.iter().find(|(_, p)| p.remote == i).map(|(id, _)| id.clone()) {
            self.nodes[remote].pcs.remove(&back);
            let remote_conns: Vec<ConnId> = self.nodes[remote]
                .conns
                .iter()
                .filter(|(_, ch)| self.channels.get(ch).is_some_and(|c| c.ends.iter().any(|e| e.node == i)))
                .map(|(conn, _)| *conn)
                .collect();
            for conn in remote_conns {
                self.nodes[remote].conns.remove(&conn);
            }
            let now = self.now;
            self.nodes[remote].node.handle_input(now, Input::PeerClosed { peer: back });
            self.drain(remote);
        }
    }

    /// Node `i` closed its end: the other end hears it after the latency.
    fn close_channel(&mut self, i: usize, channel: u64) {
        let Some(c) = self.channels.get_mut(&channel) else { return };
        let mut other = None;
        for end in &mut c.ends {
            if end.node == i {
                end.closed = true;
            } else if !end.closed {
                other = Some(end.node);
            }
        }
        if let Some(to) = other {
            self.later(Ev::ChannelClosed { to, channel });
        }
    }

    /// A channel reaches the side that did not create it: that node accepts it or refuses it.
    fn announce(&mut self, channel: u64) {
        let Some(c) = self.channels.get_mut(&channel) else { return };
        if c.announced || c.ends[0].closed {
            return;
        }
        c.announced = true;
        let (creator, to, label) = (c.ends[0].node, c.ends[1].node, c.label.clone());
        let Some(peer) = self.nodes[to].pcs.iter().find(|(_, p)| p.remote == creator).map(|(id, _)| id.clone()) else {
            return;
        };
        let now = self.now;
        let accepted = self.nodes[to].node.accept_channel(now, &peer, &label);
        match accepted {
            Some(conn) => {
                if let Some(c) = self.channels.get_mut(&channel) {
                    c.ends[1].conn = Some(conn);
                }
                self.nodes[to].conns.insert(conn, channel);
                self.schedule(now, Ev::ChannelOpen { to, channel });
                self.later(Ev::ChannelOpen { to: creator, channel });
            }
            None => {
                if let Some(c) = self.channels.get_mut(&channel) {
                    c.ends[1].closed = true;
                }
                self.later(Ev::ChannelClosed { to: creator, channel });
            }
        }
        self.drain(to);
    }

    // The hub.

    fn hub_connect(&mut self, i: usize) {
        self.next_session += 1;
        let session = self.next_session;
        let id = PeerId(format!("p{session:06}"));
        self.sessions.insert(session, Session { node: i, id: id.clone(), swarms: BTreeSet::new() });
        self.nodes[i].session = Some(session);
        self.send_event(session, &ServerEvent::Welcome { peer_id: id, ice_servers: Vec::new() });
    }

    fn hub_close(&mut self, session: u64) {
        let Some(s) = self.sessions.remove(&session) else { return };
        for swarm in &s.swarms {
            let members: Vec<u64> =
                self.sessions.iter().filter(|(_, x)| x.swarms.contains(swarm)).map(|(k, _)| *k).collect();
            for m in members {
                self.send_event(m, &ServerEvent::PeerLeft { swarm: swarm.clone(), peer: s.id.clone() });
            }
        }
        if self.nodes[s.node].session == Some(session) {
            self.later(Ev::SocketClosed { to: s.node, session });
        }
    }

    fn send_event(&mut self, session: u64, event: &ServerEvent) {
        let Some(s) = self.sessions.get(&session) else { return };
        let to = s.node;
        let text = serde_json::to_string(event).unwrap_or_default();
        self.later(Ev::ServerFrame { to, session, text });
    }

    fn hub_request(&mut self, from: usize, session: u64, text: &str) {
        if !self.sessions.contains_key(&session) || self.muted.contains(&session) {
            return;
        }
        if self.record_frames {
            self.hub_frames.push(text.to_owned());
        }
        let Ok(request) = PeerRequest::parse(text) else { return };
        match request {
            PeerRequest::Join { swarm } => {
                // A random subset, as the server gives.
                let mut peers: Vec<PeerId> = self
                    .sessions
                    .iter()
                    .filter(|(k, s)| **k != session && s.swarms.contains(&swarm))
                    .map(|(_, s)| s.id.clone())
                    .collect();
                for i in (1..peers.len()).rev() {
                    let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
                    peers.swap(i, j);
                }
                peers.truncate(JOINED_LIMIT);
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.swarms.insert(swarm.clone());
                }
                self.send_event(session, &ServerEvent::Joined { swarm, peers });
            }
            PeerRequest::Leave { swarm } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.swarms.remove(&swarm);
                }
            }
            PeerRequest::Signal { to, payload } => {
                let Some(sender) = self.sessions.get(&session) else { return };
                let common = self
                    .sessions
                    .iter()
                    .find(|(_, s)| s.id == to && s.swarms.intersection(&sender.swarms).next().is_some())
                    .map(|(k, _)| *k);
                let from_id = sender.id.clone();
                let payload = match payload {
                    SignalPayload::Offer { sdp } if self.in_the_middle => {
                        SignalPayload::Offer { sdp: in_the_middle(&sdp) }
                    }
                    SignalPayload::Answer { sdp } if self.in_the_middle => {
                        SignalPayload::Answer { sdp: in_the_middle(&sdp) }
                    }
                    payload => payload,
                };
                match common {
                    Some(target) => self.send_event(target, &ServerEvent::Signal { from: from_id, payload }),
                    None => {
                        let error = ServerEvent::Error {
                            code: crate::signal::ErrorCode::UnknownPeer,
                            message: "no such peer in your swarms".into(),
                        };
                        self.send_event(session, &error);
                    }
                }
            }
            PeerRequest::Ping => self.send_event(session, &ServerEvent::Pong),
        }
        let _ = from;
    }
}

/// Channels of `topic` node `i` has open in its node's view.
pub fn topic_channels(world: &World, i: usize, topic: Topic) -> usize {
    let node = &world.nodes[i].node;
    world.nodes[i].conns.keys().filter(|c| node.channel(**c).is_some_and(|(_, t)| t == topic)).count()
}

/// What a seeder limited to `rate` bytes a second (`Config::max_upload_rate`) uploaded, sharing two files to four
/// downloaders (two each) over a world of 20 ms links: in the first second after they came (`first_second`), and
/// a second on average over the `seconds` after that (`rate`).
#[derive(Debug, Clone, Copy)]
pub struct UploadLimitRun {
    pub first_second: u64,
    pub rate: f64,
}

/// Runs the world of [`UploadLimitRun`].
pub fn upload_limit_run(rate: u32, seconds: u64) -> UploadLimitRun {
    let mut world = World::new(Duration::from_millis(20));
    // Enough that nobody finishes inside the window.
    let size = u64::from(rate) * (seconds + 2) / 2 + 4_000_000;
    let files = [super::make_file(size, 1), super::make_file(size, 2)];
    let contents: Vec<ContentId> = files.iter().map(|(_, m)| m.content_id()).collect();
    let seeder = world.add(Config { max_upload_rate: Some(rate), ..Config::default() }, 1);
    for (data, manifest) in &files {
        world.share(seeder, data.clone(), manifest.clone());
    }
    world.run_for(Duration::from_millis(500));
    for (k, content) in contents.iter().chain(&contents).enumerate() {
        let downloader = world.add(Config::default(), 10 + k as u64);
        world.download(downloader, *content);
    }
    let uploaded = |world: &World| -> u64 {
        contents.iter().filter_map(|c| world.nodes[seeder].node.swarm(c)).map(|s| s.stats().uploaded_bytes).sum()
    };
    world.run_for(Duration::from_secs(1));
    let first_second = uploaded(&world);
    world.run_for(Duration::from_secs(seconds));
    let rate = (uploaded(&world) - first_second) as f64 / seconds as f64;
    UploadLimitRun { first_second, rate }
}
