//! The node: one run loop that owns every [`Swarm`] of this process and moves bytes between them and the world.
//!
//! It follows the swarm crate's run loop exactly: feed one input (a signaling frame, a channel event, a storage
//! result, a timer), drain every swarm's outputs and execute them, arm the earliest timer, wait. It never awaits
//! anything but its own event queue, so a slow remote peer cannot stall it: outgoing messages go into each
//! channel's bounded queue with `try_send`, and a peer whose queue is full is disconnected.
//!
//! Storage runs inline: reads and writes are positional IO on the page cache of at most one block or piece, and
//! their results are fed back as inputs before the loop waits again.
//!
//! Beside the swarms it drives one [`Discovery`], this peer's membership in a discovery network (docs/PROTOCOL.md
//! section 4): it joins the signaling swarm `net:<network>`, opens a data channel labelled `discovery` to up to
//! `degree` members (on the peer connection it already has to that member, or a new one it offers), accepts such
//! channels from others, and moves their messages to and from the state machine. Shared files are announced
//! there; [`search`] runs one search and reports its results.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use swarm::bitfield::Bitfield;
use swarm::discovery::{self, Discovery, Entry, NetworkName, SearchId};
use swarm::id::ContentId;
use swarm::manifest::Manifest;
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use swarm::swarm::{Stats, StorageError};
use swarm::time::Instant;
use swarm::{ConnId, Event, Input, OpId, Output, Swarm};
use tokio::sync::{mpsc, watch};

use crate::event::{NODE_QUEUE, NodeEvent};
use crate::names;
use crate::out_queue::{OutSender, SendError};
use crate::peer::{self, PeerCommand, PeerContext, Role};
use crate::progress::Progress;
use crate::safe_fs;
use crate::signaling;
use crate::state_file::{self, StateFile};
use crate::storage::Storage;
use crate::transport::RtcSettings;

/// How the node reaches the network, and its limits.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The signaling server's WebSocket URL (`ws://host:port/ws`).
    pub signaling_url: String,
    pub rtc: RtcSettings,
    /// Use the ICE servers the signaling server announces when `rtc.ice_servers` is empty.
    pub ice_from_server: bool,
    /// Most remote peers with a peer connection at once; more offers are ignored.
    pub max_peer_connections: usize,
    /// The swarm state machine's tunables (peers per content, pipeline, upload queue, timeouts).
    pub swarm: swarm::Config,
    /// Seed of the swarms' deterministic randomness.
    pub seed: u64,
    /// Progress bars on the terminal.
    pub progress: bool,
    /// The discovery network to join (signaling swarm `net:<name>`).
    pub network: NetworkName,
    /// The discovery state machine's tunables (neighbours, hops, caches, rate limits).
    pub discovery: discovery::Config,
    /// Test-only: corrupt every block served (`lying` feature).
    #[cfg(feature = "lying")]
    pub lie: bool,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            signaling_url: crate::link::DEFAULT_SIGNALING.to_owned(),
            rtc: RtcSettings::default(),
            ice_from_server: true,
            max_peer_connections: 64,
            swarm: swarm::Config::default(),
            seed: 0,
            progress: false,
            network: NetworkName::default(),
            discovery: discovery::Config::default(),
            #[cfg(feature = "lying")]
            lie: false,
        }
    }
}

/// One content the node works on.
#[derive(Debug, Clone)]
pub enum ContentSpec {
    /// Serve a whole file this peer has.
    Seed { path: PathBuf, manifest: Manifest },
    /// Fetch a content by id.
    Download(DownloadSpec),
}

/// A download: where it goes and what to do after.
#[derive(Debug, Clone)]
pub struct DownloadSpec {
    pub content: ContentId,
    pub target: Target,
    /// Overwrite an existing file.
    pub force: bool,
    /// Keep serving after the download completes (until interrupted).
    pub keep_seeding: bool,
}

/// Where a download is written.
#[derive(Debug, Clone)]
pub enum Target {
    /// This exact path.
    File(PathBuf),
    /// This directory, under the sanitized name from the manifest.
    Dir(PathBuf),
}

impl Target {
    /// The partial file and its state file: beside the final file, or named by content id in the directory (the
    /// name is not known before the manifest, and a resumed run must find them again).
    fn partial_paths(&self, content: ContentId) -> (PathBuf, PathBuf) {
        let partial = match self {
            Target::File(path) => {
                let mut p = path.clone().into_os_string();
                p.push(".part");
                PathBuf::from(p)
            }
            Target::Dir(dir) => dir.join(format!("{content}.part")),
        };
        let mut state = partial.clone().into_os_string();
        state.push(".state");
        (partial, PathBuf::from(state))
    }
}

/// What became of one content when the node stopped.
#[derive(Debug, Clone)]
pub struct ContentReport {
    pub content: ContentId,
    pub stats: Stats,
    pub complete: bool,
    /// The finished file of a download.
    pub path: Option<PathBuf>,
    /// Pieces verified by this run (not those resumed), in order.
    pub verified_this_run: Vec<u32>,
    /// Pieces found verified in the state file and the partial file at start.
    pub resumed: Option<Bitfield>,
    /// Remote peers banned (reasons).
    pub banned: Vec<String>,
    pub errors: Vec<String>,
}

/// One search of the discovery network.
#[derive(Debug, Clone)]
pub struct SearchSpec {
    /// What the user typed; only its words count (letters and digits, case-insensitive).
    pub text: String,
    /// How long to listen for results once the first neighbour is reached.
    pub wait: Duration,
    /// Stop at the first result.
    pub first: bool,
}

/// One file a search found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// What the answers said: content id, size, name (sanitized for display), media type.
    pub entry: Entry,
    /// How well the name matches the words (higher is better).
    pub score: u32,
    /// How many answers named this file.
    pub sources: u32,
    /// The browser link to fetch it (`http://host:port/#<content id>`), on this node's signaling server.
    pub link: String,
}

/// What a search found when it ended, best first.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    pub hits: Vec<SearchHit>,
    /// Whether any member of the network was reached.
    pub reached: bool,
}

/// A search that reached no member of the network gives up after this long.
pub const NO_NEIGHBOUR_TIMEOUT: Duration = Duration::from_secs(30);
/// The data channel label of discovery neighbours.
pub const DISCOVERY_LABEL: &str = "discovery";
/// While this peer has fewer than `degree` neighbours it asks the server for members again this often (PROTOCOL.md
/// 4.1: at most every 10 s).
const REFILL_EVERY: Duration = Duration::from_secs(10);
/// A discovery channel asked for and not open after this long is given up (PROTOCOL.md 4.1).
const NEIGHBOUR_OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Live counters for an observer (tests, benchmarks), published as they change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Pieces verified by this run, all contents together.
    pub verified: u32,
    /// Most bytes ever waiting in one data channel's outgoing queue, measured as each message is queued.
    pub peak_queued_bytes: usize,
    /// Channels given up because their queue would pass its bound (`out_queue`): the peer did not read.
    pub overruns: u32,
    /// Manifest requests received on content channels, all contents together (`swarm::Stats`).
    pub manifest_requests: u64,
    /// Manifest requests the swarms dropped unanswered for coming faster than their rate limit
    /// (`swarm::swarm::MANIFEST_REQUESTS_PER_SEC` after a burst of `MANIFEST_REQUEST_BURST`).
    pub manifest_requests_refused: u64,
}

/// Where the node publishes its [`Counters`].
pub type Observer = watch::Sender<Counters>;

/// Runs the node until every download is complete (and none keeps seeding and there is nothing to seed), or
/// until `shutdown` resolves. Interrupted downloads keep their partial and state files for the next run.
pub async fn run(
    options: NodeOptions,
    specs: Vec<ContentSpec>,
    shutdown: impl Future<Output = ()>,
    observer: Option<Observer>,
) -> anyhow::Result<Vec<ContentReport>> {
    let node = run_node(options, specs, None, shutdown, observer).await?;
    Ok(node.reports())
}

/// Runs one search: joins the network, sends the query to every neighbour as it is reached, calls `on_hit` for
/// every file the first time an answer names it, and returns what was found once `spec.wait` has passed since
/// the first neighbour was reached (or at the first result with `spec.first`, or after [`NO_NEIGHBOUR_TIMEOUT`]
/// without any neighbour, or when `shutdown` resolves).
pub async fn search(
    options: NodeOptions,
    spec: SearchSpec,
    on_hit: impl FnMut(&SearchHit) + Send + 'static,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<SearchOutcome> {
    let node = run_node(options, Vec::new(), Some((spec, Box::new(on_hit))), shutdown, None).await?;
    let Some(s) = node.search else { anyhow::bail!("no search ran") };
    let mut hits: Vec<SearchHit> = s.hits.into_values().collect();
    hits.sort_by(|a, b| {
        b.score.cmp(&a.score).then(b.sources.cmp(&a.sources)).then_with(|| a.entry.name.cmp(&b.entry.name))
    });
    Ok(SearchOutcome { hits, reached: s.reached })
}

type OnHit = Box<dyn FnMut(&SearchHit) + Send>;

async fn run_node(
    options: NodeOptions,
    specs: Vec<ContentSpec>,
    search: Option<(SearchSpec, OnHit)>,
    shutdown: impl Future<Output = ()>,
    observer: Option<Observer>,
) -> anyhow::Result<Node> {
    let (node_tx, node_rx) = mpsc::channel(NODE_QUEUE);
    let (sig_tx, sig_rx) = mpsc::channel(signaling::OUT_QUEUE);
    let epoch = std::time::Instant::now();
    let net_swarm = SwarmName::parse(&options.network.swarm()).map_err(|e| anyhow::anyhow!("network name: {e}"))?;
    let discovery = Discovery::new(options.discovery.clone(), options.seed ^ 0x6469_7363_6f76_6572);
    let mut node = Node {
        discovery,
        net_swarm,
        refill_at: None,
        search: None,
        ctx: PeerContext { settings: options.rtc.clone(), node: node_tx.clone(), signaling: sig_tx.clone() },
        options,
        epoch,
        contents: BTreeMap::new(),
        conns: HashMap::new(),
        peers: HashMap::new(),
        next_generation: 0,
        my_id: None,
        signaling_up: true,
        observer,
        counters: Counters::default(),
        progress: Progress::new(),
    };
    if node.options.progress {
        node.progress.show();
    }
    for spec in specs {
        node.add(spec)?;
    }
    if let Some((spec, on_hit)) = search {
        let now = node.now();
        let id = node.discovery.search(now, &spec.text).map_err(anyhow::Error::msg)?;
        let give_up = now + NO_NEIGHBOUR_TIMEOUT;
        node.search =
            Some(Searching { spec, id, deadline: give_up, reached: false, done: false, hits: HashMap::new(), on_hit });
    }
    // The signaling task starts after the contents exist, so the first `welcome` joins them all.
    signaling::spawn(node.options.signaling_url.clone(), node_tx, sig_rx);
    drop(sig_tx);
    let mut events = node_rx;
    tokio::pin!(shutdown);
    loop {
        node.flush();
        if node.finished() {
            break;
        }
        let deadline = node.next_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            event = events.recv() => match event {
                Some(event) => node.on_event(event),
                None => break,
            },
            () = sleep => node.on_timeout(),
        }
    }
    node.stop(&mut events).await;
    Ok(node)
}

struct Node {
    options: NodeOptions,
    ctx: PeerContext,
    epoch: std::time::Instant,
    contents: BTreeMap<ContentId, Content>,
    conns: HashMap<ConnId, Conn>,
    peers: HashMap<PeerId, Peer>,
    next_generation: u64,
    my_id: Option<PeerId>,
    /// Whether the signaling connection is up (starts as if it were, so a first failure is reported).
    signaling_up: bool,
    observer: Option<Observer>,
    counters: Counters,
    progress: Progress,
    discovery: Discovery,
    /// `net:<network>`.
    net_swarm: SwarmName,
    /// When to ask the server for network members again (while under `degree` neighbours).
    refill_at: Option<Instant>,
    search: Option<Searching>,
}

/// The search this node runs (`swarm-peer search`).
struct Searching {
    spec: SearchSpec,
    id: SearchId,
    /// When it ends: [`NO_NEIGHBOUR_TIMEOUT`] after the start, until the first neighbour moves it to `wait` after
    /// that.
    deadline: Instant,
    reached: bool,
    done: bool,
    hits: HashMap<ContentId, SearchHit>,
    on_hit: OnHit,
}

struct Content {
    swarm: Swarm,
    storage: Option<Storage>,
    download: Option<Download>,
    report: ContentReport,
    bar: indicatif::ProgressBar,
}

struct Download {
    spec: DownloadSpec,
    partial: PathBuf,
    state_path: PathBuf,
    state: Option<StateFile>,
    final_path: Option<PathBuf>,
}

/// A download as it starts: resumed (with storage and the pieces found) or joined by id.
struct Started {
    swarm: Swarm,
    storage: Option<Storage>,
    download: Download,
    resumed: Option<Bitfield>,
}

/// What a data channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    /// One content's swarm (label: the content id).
    Content(ContentId),
    /// The discovery network (label `discovery`).
    Discovery,
}

struct Conn {
    topic: Topic,
    peer: PeerId,
    /// `None` once the node asked for the channel to close.
    out: Option<OutSender>,
}

struct Peer {
    generation: u64,
    /// Whether this side yields in collisions (its id sorts first, as the browser peer decides).
    polite: bool,
    commands: mpsc::Sender<PeerCommand>,
    /// Contents with a channel open or being opened to this peer.
    labels: HashSet<ContentId>,
    /// The discovery channel to this peer.
    discovery: Neighbour,
}

/// Where a peer stands as a discovery neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Neighbour {
    None,
    /// This peer asked for a channel at that time; it is not open yet.
    Opening(Instant),
    Open,
}

impl Neighbour {
    /// Open, or asked for and not given up yet.
    fn busy(self, now: Instant) -> bool {
        match self {
            Neighbour::None => false,
            Neighbour::Opening(at) => now < at + NEIGHBOUR_OPEN_TIMEOUT,
            Neighbour::Open => true,
        }
    }
}

/// A storage result waiting to be fed back.
enum Done {
    Read(OpId, Result<Vec<u8>, StorageError>),
    Write(OpId, Result<(), StorageError>),
    /// Given back unhashed: the engine then hashes it itself (this peer leaves `shell_hashes` off, so never seen).
    Hash(OpId, Vec<u8>),
}

impl Node {
    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn add(&mut self, spec: ContentSpec) -> anyhow::Result<()> {
        let now = self.now();
        let seed = self.options.seed.wrapping_add(self.contents.len() as u64);
        let (swarm, storage, download, resumed) = match spec {
            ContentSpec::Seed { path, manifest } => {
                let storage = Storage::open_read(&path)?;
                anyhow::ensure!(
                    storage.size() == manifest.size(),
                    "{} changed size since it was hashed",
                    path.display()
                );
                self.announce(now, &manifest);
                let swarm = Swarm::share(manifest, self.options.swarm.clone(), seed, now);
                (swarm, Some(storage), None, None)
            }
            ContentSpec::Download(spec) => {
                let s = self.start_download(spec, seed, now)?;
                (s.swarm, s.storage, Some(s.download), s.resumed)
            }
        };
        let content = swarm.content_id();
        let bar = match (&download, swarm.manifest()) {
            (Some(_), manifest) => self.progress.transfer(manifest.map(Manifest::size), content),
            (None, Some(manifest)) => self.progress.seeding(manifest.name(), content),
            (None, None) => self.progress.seeding("", content),
        };
        if let (Some(have), Some(manifest)) = (&resumed, swarm.manifest()) {
            bar.set_position(have.iter_set().map(|p| u64::from(manifest.piece_len(p))).sum());
        }
        let report = ContentReport {
            content,
            stats: Stats::default(),
            complete: download.is_none(),
            path: None,
            verified_this_run: Vec::new(),
            resumed,
            banned: Vec::new(),
            errors: Vec::new(),
        };
        self.contents.insert(content, Content { swarm, storage, download, report, bar });
        Ok(())
    }

    /// Resumes from a usable state file, or joins by id.
    fn start_download(&self, spec: DownloadSpec, seed: u64, now: Instant) -> anyhow::Result<Started> {
        let (partial, state_path) = spec.target.partial_paths(spec.content);
        if let Target::File(path) = &spec.target {
            names::check_free(path, spec.force).map_err(anyhow::Error::msg)?;
        }
        let mut download = Download { spec, partial, state_path, state: None, final_path: None };
        if download.state_path.exists() {
            match StateFile::load(&download.state_path, download.spec.content) {
                Ok((manifest, mut state)) => {
                    let final_path = final_path(&download.spec, &manifest)?;
                    let storage = Storage::open_partial(&download.partial, manifest.size())?;
                    let have = state_file::verify_claimed(&storage, &manifest, state.have());
                    state.replace(have.clone())?;
                    download.state = Some(state);
                    download.final_path = Some(final_path);
                    let swarm = Swarm::resume(manifest, have.clone(), self.options.swarm.clone(), seed, now);
                    return Ok(Started { swarm, storage: Some(storage), download, resumed: Some(have) });
                }
                Err(e) => tracing::warn!("{}: {e}; starting over", download.state_path.display()),
            }
        }
        let swarm = Swarm::join(download.spec.content, self.options.swarm.clone(), seed, now);
        Ok(Started { swarm, storage: None, download, resumed: None })
    }

    /// Announces a file this peer serves in the discovery network.
    fn announce(&mut self, now: Instant, manifest: &Manifest) {
        let entry = Entry {
            content: manifest.content_id(),
            size: manifest.size(),
            name: manifest.name().to_owned(),
            media_type: manifest.media_type().to_owned(),
        };
        if let Err(e) = self.discovery.share(now, entry) {
            self.progress.println(&format!("{}: not announced: {e}", manifest.name()));
        }
    }

    /// Whether there is nothing left to do: the search ended, or every download is complete and nobody asked to
    /// keep seeding.
    fn finished(&self) -> bool {
        if let Some(s) = &self.search {
            return s.done;
        }
        self.contents.values().all(|c| match &c.download {
            Some(d) => c.report.complete && !d.spec.keep_seeding,
            None => false,
        })
    }

    fn next_timeout(&self) -> Option<tokio::time::Instant> {
        let now = self.now();
        let next = self
            .contents
            .values()
            .filter_map(|c| c.swarm.poll_timeout())
            .chain(self.discovery.poll_timeout())
            .chain(self.search.as_ref().map(|s| s.deadline))
            .chain(self.refill_at)
            .min()?;
        Some(tokio::time::Instant::now() + next.saturating_since(now))
    }

    fn on_timeout(&mut self) {
        let now = self.now();
        for c in self.contents.values_mut() {
            if c.swarm.poll_timeout().is_some_and(|t| t <= now) {
                c.swarm.handle_timeout(now);
            }
        }
        if self.discovery.poll_timeout().is_some_and(|t| t <= now) {
            self.discovery.handle_timeout(now);
        }
        if let Some(s) = &mut self.search
            && s.deadline <= now
        {
            s.done = true;
        }
        if self.refill_at.is_some_and(|t| t <= now) {
            self.refill_at = None;
            if self.my_id.is_some() && self.neighbours() < self.options.discovery.degree {
                self.join(self.net_swarm.clone());
            }
        }
    }

    /// Discovery neighbours with an open channel.
    fn neighbours(&self) -> usize {
        self.conns.values().filter(|c| c.topic == Topic::Discovery).count()
    }

    /// Asks the server for members of the network again later, if this peer is still under `degree` then.
    fn schedule_refill(&mut self, now: Instant) {
        if self.refill_at.is_none() && self.neighbours() < self.options.discovery.degree {
            self.refill_at = Some(now + REFILL_EVERY);
        }
    }

    fn join(&self, swarm: SwarmName) {
        if self.ctx.signaling.try_send(PeerRequest::Join { swarm: swarm.clone() }).is_err() {
            tracing::warn!("signaling queue full: join of {} dropped", swarm.as_str());
        }
    }

    fn on_event(&mut self, event: NodeEvent) {
        let now = self.now();
        match event {
            NodeEvent::Server(event) => self.on_server(event),
            NodeEvent::ServerLink(up) => {
                // Said once per change, not once per reconnection attempt.
                if up != self.signaling_up {
                    self.signaling_up = up;
                    self.progress.signaling(up);
                }
            }
            NodeEvent::ChannelOpen { conn, peer, label, local, out } => {
                let topic = if label == DISCOVERY_LABEL {
                    Topic::Discovery
                } else {
                    match ContentId::from_str(&label) {
                        Ok(content) if self.contents.contains_key(&content) => Topic::Content(content),
                        _ => return,
                    }
                };
                let polite = match self.peers.get_mut(&peer) {
                    Some(p) => {
                        match topic {
                            Topic::Content(content) => {
                                p.labels.insert(content);
                            }
                            Topic::Discovery => p.discovery = Neighbour::Open,
                        }
                        p.polite
                    }
                    None => return,
                };
                let existing = self.conns.iter().find(|(_, x)| x.peer == peer && x.topic == topic).map(|(id, _)| *id);
                if let Some(existing) = existing {
                    // Both sides opened a channel for this content (or for discovery) at once. Both keep the same
                    // one without a round trip, by the browser peer's rule: the channel the impolite peer created
                    // wins.
                    let new_wins = local != polite;
                    if !new_wins {
                        return;
                    }
                    if let Some(old) = self.conns.remove(&existing) {
                        drop(old.out);
                    }
                    self.disconnected(now, topic, existing);
                }
                self.conns.insert(conn, Conn { topic, peer, out: Some(out) });
                match topic {
                    Topic::Content(content) => {
                        if let Some(c) = self.contents.get_mut(&content) {
                            c.swarm.handle_input(now, Input::PeerConnected { conn });
                        }
                    }
                    Topic::Discovery => {
                        self.discovery.handle_input(now, discovery::Input::NeighbourConnected { conn });
                        if let Some(s) = &mut self.search
                            && !s.reached
                        {
                            // The query is out (the state machine sends active searches to each new neighbour):
                            // from now on, listen for `wait`.
                            s.reached = true;
                            s.deadline = now + s.spec.wait;
                        }
                    }
                }
            }
            NodeEvent::ChannelMessage { conn, bytes } => {
                let Some(topic) = self.conns.get(&conn).map(|c| c.topic) else { return };
                match topic {
                    Topic::Content(content) => {
                        let Some(c) = self.contents.get_mut(&content) else { return };
                        let (asked_before, refused_before) = c.swarm.manifest_request_counts();
                        c.swarm.handle_input(now, Input::Received { conn, bytes: &bytes });
                        let (asked, refused) = c.swarm.manifest_request_counts();
                        if asked > asked_before {
                            self.counters.manifest_requests += asked - asked_before;
                            self.counters.manifest_requests_refused += refused - refused_before;
                            self.publish();
                        }
                    }
                    Topic::Discovery => {
                        self.discovery.handle_input(now, discovery::Input::Received { conn, bytes: &bytes });
                    }
                }
            }
            NodeEvent::ChannelClosed { conn } => {
                let Some(gone) = self.conns.remove(&conn) else { return };
                if let Some(p) = self.peers.get_mut(&gone.peer) {
                    match gone.topic {
                        Topic::Content(content) => {
                            p.labels.remove(&content);
                        }
                        Topic::Discovery => p.discovery = Neighbour::None,
                    }
                }
                self.disconnected(now, gone.topic, conn);
                if gone.topic == Topic::Discovery {
                    self.schedule_refill(now);
                }
            }
            NodeEvent::PeerGone { peer, generation } => {
                if self.peers.get(&peer).is_some_and(|p| p.generation == generation) {
                    self.peers.remove(&peer);
                }
            }
        }
    }

    /// Tells the state machine of `topic` that `conn` is gone.
    fn disconnected(&mut self, now: Instant, topic: Topic, conn: ConnId) {
        match topic {
            Topic::Content(content) => {
                if let Some(c) = self.contents.get_mut(&content) {
                    c.swarm.handle_input(now, Input::PeerDisconnected { conn });
                }
            }
            Topic::Discovery => self.discovery.handle_input(now, discovery::Input::NeighbourDisconnected { conn }),
        }
    }

    fn on_server(&mut self, event: ServerEvent) {
        let now = self.now();
        match event {
            ServerEvent::Welcome { peer_id, ice_servers } => {
                self.my_id = Some(peer_id);
                if self.options.ice_from_server && self.options.rtc.ice_servers.is_empty() {
                    self.ctx.settings.ice_servers = ice_servers.into_iter().map(Into::into).collect();
                }
                for content in self.contents.keys() {
                    let Ok(swarm) = SwarmName::parse(&content.to_string()) else { continue };
                    self.join(swarm);
                }
                self.join(self.net_swarm.clone());
            }
            ServerEvent::Joined { swarm, peers } if swarm == self.net_swarm => {
                // The joiner offers: connect to members until `degree` neighbours are open or being opened,
                // first to those this peer already has a connection with (no new connection needed).
                let busy = self.peers.values().filter(|p| p.discovery.busy(now)).count();
                let wanted = self.options.discovery.degree.saturating_sub(busy.max(self.neighbours()));
                let mut candidates: Vec<PeerId> = peers
                    .into_iter()
                    .filter(|p| {
                        Some(p) != self.my_id.as_ref() && !self.peers.get(p).is_some_and(|x| x.discovery.busy(now))
                    })
                    .collect();
                candidates.sort_by_key(|p| !self.peers.contains_key(p));
                for peer in candidates.into_iter().take(wanted) {
                    self.connect_discovery(now, peer);
                }
                self.schedule_refill(now);
            }
            ServerEvent::Joined { swarm, peers } => {
                let Ok(content) = ContentId::from_str(swarm.as_str()) else { return };
                if !self.contents.contains_key(&content) {
                    return;
                }
                for peer in peers {
                    if Some(&peer) != self.my_id.as_ref() {
                        self.connect(peer, content);
                    }
                }
            }
            ServerEvent::Signal { from, payload } => {
                if let Some(p) = self.peers.get(&from) {
                    // A full queue drops the payload: the remote peer is flooding, or this one is far behind.
                    let _ = p.commands.try_send(PeerCommand::Signal(payload));
                } else if matches!(payload, SignalPayload::Offer { .. })
                    && self.peers.len() < self.options.max_peer_connections
                {
                    let commands = self.spawn_peer(from, Role::Answerer, HashSet::new(), Neighbour::None);
                    let _ = commands.try_send(PeerCommand::Signal(payload));
                }
            }
            ServerEvent::PeerLeft { .. } | ServerEvent::Pong => {}
            ServerEvent::Error { code, message } => tracing::warn!(?code, "signaling server: {message}"),
        }
    }

    /// Opens a channel for `content` to `peer`: on the existing peer connection, or on a new one offered by us.
    fn connect(&mut self, peer: PeerId, content: ContentId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            if p.labels.insert(content) {
                let _ = p.commands.try_send(PeerCommand::OpenChannel(content.to_string()));
            }
        } else if self.peers.len() < self.options.max_peer_connections {
            self.spawn_peer(peer, Role::Offerer(vec![content.to_string()]), HashSet::from([content]), Neighbour::None);
        }
    }

    /// Opens a discovery channel to `peer`: on the existing peer connection, or on a new one offered by us.
    fn connect_discovery(&mut self, now: Instant, peer: PeerId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            if !p.discovery.busy(now) {
                p.discovery = Neighbour::Opening(now);
                let _ = p.commands.try_send(PeerCommand::OpenChannel(DISCOVERY_LABEL.to_owned()));
            }
        } else if self.peers.len() < self.options.max_peer_connections {
            let role = Role::Offerer(vec![DISCOVERY_LABEL.to_owned()]);
            self.spawn_peer(peer, role, HashSet::new(), Neighbour::Opening(now));
        }
    }

    fn spawn_peer(
        &mut self,
        peer: PeerId,
        role: Role,
        labels: HashSet<ContentId>,
        discovery: Neighbour,
    ) -> mpsc::Sender<PeerCommand> {
        self.next_generation += 1;
        let generation = self.next_generation;
        let polite = self.my_id.as_ref().is_some_and(|me| *me < peer);
        let commands = peer::spawn(peer.clone(), generation, role, polite, self.ctx.clone());
        let entry = Peer { generation, polite, commands: commands.clone(), labels, discovery };
        self.peers.insert(peer, entry);
        commands
    }

    /// Drains every swarm's outputs, executing them, and feeds storage results back until nothing is left.
    fn flush(&mut self) {
        let ids: Vec<ContentId> = self.contents.keys().copied().collect();
        loop {
            let mut done: Vec<(ContentId, Done)> = Vec::new();
            for id in &ids {
                while let Some(output) = self.contents.get_mut(id).and_then(|c| c.swarm.poll_output()) {
                    if let Some(d) = self.execute(*id, output) {
                        done.push((*id, d));
                    }
                }
            }
            if done.is_empty() {
                break;
            }
            let now = self.now();
            for (id, d) in done {
                let Some(c) = self.contents.get_mut(&id) else { continue };
                match d {
                    Done::Read(op, result) => c.swarm.handle_input(now, Input::ReadDone { op, result }),
                    Done::Write(op, result) => c.swarm.handle_input(now, Input::WriteDone { op, result }),
                    Done::Hash(op, data) => c.swarm.handle_input(now, Input::HashDone { op, data, digest: None }),
                }
            }
        }
        // Last: swarm events (a download completing) may have given discovery something to announce.
        while let Some(output) = self.discovery.poll_output() {
            match output {
                discovery::Output::Send { conn, bytes } => self.send(conn, bytes),
                discovery::Output::Close { conn } => self.close(conn),
                discovery::Output::Event(event) => self.on_discovery_event(event),
            }
        }
        for c in self.contents.values_mut() {
            let stats = c.swarm.stats();
            self.progress.update(&c.bar, &stats, c.download.is_some());
            c.report.stats = stats;
        }
    }

    /// Queues a message on a channel. A channel whose queue would pass its bound (its peer does not read what it
    /// asked for) is given up at once: the queue is freed and the channel closed without flushing it.
    fn send(&mut self, conn: ConnId, bytes: Vec<u8>) {
        let Some(conn_entry) = self.conns.get_mut(&conn) else { return };
        let Some(out) = conn_entry.out.as_ref() else { return };
        match out.try_send(bytes) {
            Ok(queued) => {
                if queued > self.counters.peak_queued_bytes {
                    self.counters.peak_queued_bytes = queued;
                    self.publish();
                }
            }
            Err(SendError::Closed) => conn_entry.out = None,
            Err(e @ SendError::Overrun { .. }) => {
                tracing::warn!(peer = %conn_entry.peer.0, "{e}; disconnecting it");
                if let Some(out) = conn_entry.out.take() {
                    out.abandon();
                }
                self.counters.overruns += 1;
                self.publish();
            }
        }
    }

    /// Tells the observer, if any, the counters as they are now.
    fn publish(&self) {
        if let Some(o) = &self.observer {
            o.send_replace(self.counters);
        }
    }

    /// Closes a channel once what is queued on it is sent.
    fn close(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.out = None;
        }
    }

    fn on_discovery_event(&mut self, event: discovery::Event) {
        match event {
            discovery::Event::Result { search, entry, score, sources } => {
                let Some(s) = &mut self.search else { return };
                if search != s.id || s.done {
                    return;
                }
                match s.hits.get_mut(&entry.content) {
                    Some(hit) => {
                        hit.score = score;
                        hit.sources = sources;
                    }
                    None => {
                        let link = crate::link::browser_link(&self.options.signaling_url, entry.content);
                        let hit = SearchHit { entry, score, sources, link };
                        (s.on_hit)(&hit);
                        s.hits.insert(hit.entry.content, hit);
                        if s.spec.first {
                            s.done = true;
                        }
                    }
                }
            }
            discovery::Event::NeighbourDropped { conn, reason } => {
                tracing::info!(?conn, "discovery neighbour dropped: {reason}");
            }
        }
    }

    fn execute(&mut self, id: ContentId, output: Output) -> Option<Done> {
        match output {
            Output::Send { conn, bytes } => {
                self.send(conn, bytes);
                None
            }
            Output::Close { conn } => {
                self.close(conn);
                None
            }
            Output::Read { op, offset, len, headroom } => {
                let c = self.contents.get(&id)?;
                let result = match &c.storage {
                    Some(s) => s.read(offset, len, headroom).map_err(storage_error),
                    None => Err(StorageError::Other("no storage yet".to_owned())),
                };
                #[cfg(feature = "lying")]
                let result = result.map(|mut buf| {
                    if self.options.lie {
                        crate::lying::corrupt(&mut buf, headroom);
                    }
                    buf
                });
                Some(Done::Read(op, result))
            }
            Output::Write { op, offset, data } => {
                let c = self.contents.get(&id)?;
                let result = match &c.storage {
                    Some(s) => s.write(offset, &data).map_err(storage_error),
                    None => Err(StorageError::Other("no storage yet".to_owned())),
                };
                Some(Done::Write(op, result))
            }
            Output::Hash { op, data, .. } => Some(Done::Hash(op, data)),
            Output::Event(event) => {
                self.on_swarm_event(id, event);
                None
            }
        }
    }

    fn on_swarm_event(&mut self, id: ContentId, event: Event) {
        let now = self.now();
        let Some(c) = self.contents.get_mut(&id) else { return };
        if matches!(event, Event::Complete)
            && !c.report.complete
            && c.download.as_ref().is_some_and(|d| d.spec.keep_seeding)
            && let Some(manifest) = c.swarm.manifest().cloned()
        {
            // `get --seed`: once complete, the file is announced like a shared one.
            self.announce(now, &manifest);
        }
        let Some(c) = self.contents.get_mut(&id) else { return };
        match event {
            Event::ManifestKnown(manifest) => {
                if let Err(e) = prepare(c, &manifest) {
                    let text = format!("{e:#}");
                    self.progress.println(&format!("error: {text}"));
                    c.report.errors.push(text);
                    c.swarm.handle_input(now, Input::Stop);
                    // Nothing can be written: stop this download as if it had ended.
                    c.report.complete = true;
                    if let Some(d) = &mut c.download {
                        d.spec.keep_seeding = false;
                    }
                    return;
                }
                c.bar.set_length(manifest.size());
            }
            Event::PieceVerified { piece } => {
                c.report.verified_this_run.push(piece);
                if let Some(state) = c.download.as_mut().and_then(|d| d.state.as_mut())
                    && let Err(e) = state.mark(piece)
                {
                    tracing::warn!("state file: {e}");
                }
                if let Some(m) = c.swarm.manifest() {
                    c.bar.inc(u64::from(m.piece_len(piece)));
                }
                self.counters.verified += 1;
                self.publish();
            }
            Event::PieceFailed { piece } => tracing::info!(piece, "piece failed verification; fetching it again"),
            Event::Complete => {
                if c.report.complete {
                    return;
                }
                match finish(c) {
                    Ok(path) => {
                        self.progress.println(&format!("saved {}", path.display()));
                        c.report.path = Some(path);
                    }
                    Err(e) => {
                        let text = format!("{e:#}");
                        self.progress.println(&format!("error: {text}"));
                        c.report.errors.push(text);
                    }
                }
                c.report.complete = true;
                c.bar.finish();
            }
            Event::PeerBanned { conn, reason } => {
                self.progress.println(&format!("banned a peer: {reason}"));
                c.report.banned.push(reason.to_string());
                if let Some(conn) = self.conns.get_mut(&conn) {
                    conn.out = None;
                }
            }
            Event::PeerReady { .. } => {}
            Event::ReadFailed(e) => {
                let text = format!("reading the file failed: {e}");
                self.progress.println(&format!("error: {text}"));
                c.report.errors.push(text);
            }
            Event::WriteFailed(e) => {
                let text = match e {
                    StorageError::Full => "the disk is full: the download stopped; free some space and run the same \
                                           command again to resume"
                        .to_owned(),
                    StorageError::Other(why) => format!("writing the file failed, the download stopped: {why}"),
                };
                self.progress.println(&format!("error: {text}"));
                c.report.errors.push(text);
            }
        }
    }

    /// Says goodbye to every peer, lets the channels flush (at most 3 s), and closes everything.
    async fn stop(&mut self, events: &mut mpsc::Receiver<NodeEvent>) {
        let now = self.now();
        for c in self.contents.values_mut() {
            c.swarm.handle_input(now, Input::Stop);
        }
        self.flush();
        for conn in self.conns.values_mut() {
            conn.out = None;
        }
        self.peers.clear();
        // Channels drain for at most 2 s (channel.rs) before they close.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !self.conns.is_empty() {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(NodeEvent::ChannelClosed { conn })) => {
                    self.conns.remove(&conn);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        for c in self.contents.values() {
            if !c.bar.is_finished() {
                c.bar.abandon();
            }
        }
    }

    fn reports(&self) -> Vec<ContentReport> {
        self.contents.values().map(|c| c.report.clone()).collect()
    }
}

fn storage_error(e: std::io::Error) -> StorageError {
    if e.kind() == std::io::ErrorKind::StorageFull { StorageError::Full } else { StorageError::Other(e.to_string()) }
}

/// The final path of a download, checked against overwriting.
fn final_path(spec: &DownloadSpec, manifest: &Manifest) -> anyhow::Result<PathBuf> {
    match &spec.target {
        Target::File(path) => Ok(path.clone()),
        Target::Dir(dir) => names::destination(dir, manifest.name(), spec.force).map_err(anyhow::Error::msg),
    }
}

/// The manifest of a joined download is known: choose the final name, create the partial and state files.
fn prepare(c: &mut Content, manifest: &Manifest) -> anyhow::Result<()> {
    let Some(d) = &mut c.download else { return Ok(()) };
    if c.storage.is_some() {
        return Ok(());
    }
    d.final_path = Some(final_path(&d.spec, manifest)?);
    c.storage = Some(Storage::open_partial(&d.partial, manifest.size())?);
    d.state = Some(StateFile::create(&d.state_path, manifest)?);
    Ok(())
}

/// Every piece is verified and written: flush, give the partial file its final name, drop the state file.
fn finish(c: &mut Content) -> anyhow::Result<PathBuf> {
    let d = c.download.as_mut().ok_or_else(|| anyhow::anyhow!("not a download"))?;
    let path = d.final_path.clone().ok_or_else(|| anyhow::anyhow!("complete before the manifest was known"))?;
    if let Some(s) = &c.storage {
        s.sync()?;
    }
    // Never replaces a file that appeared at the name while downloading (unless `--force`); on failure the state
    // file stays, so the same command run again (with `--force`) finishes without fetching anything.
    safe_fs::place(&d.partial, &path, d.spec.force)?;
    if let Some(state) = d.state.take() {
        state.remove()?;
    }
    Ok(path)
}
