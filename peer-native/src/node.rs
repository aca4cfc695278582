//! The node: one run loop that owns every [`Swarm`] of this process and moves bytes between them and the world.
//!
//! It follows the swarm crate's run loop exactly: feed one input (a signaling frame, a channel event, a storage
//! result, a timer), drain every swarm's outputs and execute them, arm the earliest timer, wait. It never awaits
//! anything but its own event queue, so a slow remote peer cannot stall it: outgoing messages go into each
//! channel's bounded queue with `try_send`, and a peer whose queue is full is disconnected.
//!
//! Storage runs inline: reads and writes are positional IO on the page cache of at most one block or piece, and
//! their results are fed back as inputs before the loop waits again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use swarm::bitfield::Bitfield;
use swarm::id::ContentId;
use swarm::manifest::Manifest;
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use swarm::swarm::{Stats, StorageError};
use swarm::time::Instant;
use swarm::{ConnId, Event, Input, OpId, Output, Swarm};
use tokio::sync::{mpsc, watch};

use crate::event::{NODE_QUEUE, NodeEvent};
use crate::names;
use crate::peer::{self, PeerCommand, PeerContext, Role};
use crate::progress::Progress;
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

/// Live counters for an observer (tests, benchmarks): pieces verified by this run, all contents together.
pub type Observer = watch::Sender<u32>;

/// Runs the node until every download is complete (and none keeps seeding and there is nothing to seed), or
/// until `shutdown` resolves. Interrupted downloads keep their partial and state files for the next run.
pub async fn run(
    options: NodeOptions,
    specs: Vec<ContentSpec>,
    shutdown: impl Future<Output = ()>,
    observer: Option<Observer>,
) -> anyhow::Result<Vec<ContentReport>> {
    let (node_tx, node_rx) = mpsc::channel(NODE_QUEUE);
    let (sig_tx, sig_rx) = mpsc::channel(signaling::OUT_QUEUE);
    let epoch = std::time::Instant::now();
    let mut node = Node {
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
        verified: 0,
        progress: Progress::new(),
    };
    if node.options.progress {
        node.progress.show();
    }
    for spec in specs {
        node.add(spec)?;
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
    Ok(node.reports())
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
    verified: u32,
    progress: Progress,
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

struct Conn {
    content: ContentId,
    peer: PeerId,
    /// `None` once the node asked for the channel to close.
    out: Option<mpsc::Sender<Vec<u8>>>,
}

struct Peer {
    generation: u64,
    /// Whether this side yields in collisions (its id sorts first, as the browser peer decides).
    polite: bool,
    commands: mpsc::Sender<PeerCommand>,
    /// Contents with a channel open or being opened to this peer.
    labels: HashSet<ContentId>,
}

/// A storage result waiting to be fed back.
enum Done {
    Read(OpId, Result<Vec<u8>, StorageError>),
    Write(OpId, Result<(), StorageError>),
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

    /// Whether there is nothing left to do: every download complete and nobody asked to keep seeding.
    fn finished(&self) -> bool {
        self.contents.values().all(|c| match &c.download {
            Some(d) => c.report.complete && !d.spec.keep_seeding,
            None => false,
        })
    }

    fn next_timeout(&self) -> Option<tokio::time::Instant> {
        let now = self.now();
        let next = self.contents.values().filter_map(|c| c.swarm.poll_timeout()).min()?;
        Some(tokio::time::Instant::now() + next.saturating_since(now))
    }

    fn on_timeout(&mut self) {
        let now = self.now();
        for c in self.contents.values_mut() {
            if c.swarm.poll_timeout().is_some_and(|t| t <= now) {
                c.swarm.handle_timeout(now);
            }
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
                let Ok(content) = ContentId::from_str(&label) else { return };
                let Some(c) = self.contents.get_mut(&content) else { return };
                let polite = match self.peers.get_mut(&peer) {
                    Some(p) => {
                        p.labels.insert(content);
                        p.polite
                    }
                    None => return,
                };
                let existing =
                    self.conns.iter().find(|(_, x)| x.peer == peer && x.content == content).map(|(id, _)| *id);
                if let Some(existing) = existing {
                    // Both sides opened a channel for this content at once. Both keep the same one without a round
                    // trip, by the browser peer's rule: the channel the impolite peer created wins.
                    let new_wins = local != polite;
                    if !new_wins {
                        return;
                    }
                    if let Some(old) = self.conns.remove(&existing) {
                        drop(old.out);
                    }
                    c.swarm.handle_input(now, Input::PeerDisconnected { conn: existing });
                }
                self.conns.insert(conn, Conn { content, peer, out: Some(out) });
                c.swarm.handle_input(now, Input::PeerConnected { conn });
            }
            NodeEvent::ChannelMessage { conn, bytes } => {
                let Some(content) = self.conns.get(&conn).map(|c| c.content) else { return };
                if let Some(c) = self.contents.get_mut(&content) {
                    c.swarm.handle_input(now, Input::Received { conn, bytes: &bytes });
                }
            }
            NodeEvent::ChannelClosed { conn } => {
                let Some(gone) = self.conns.remove(&conn) else { return };
                if let Some(p) = self.peers.get_mut(&gone.peer) {
                    p.labels.remove(&gone.content);
                }
                if let Some(c) = self.contents.get_mut(&gone.content) {
                    c.swarm.handle_input(now, Input::PeerDisconnected { conn });
                }
            }
            NodeEvent::PeerGone { peer, generation } => {
                if self.peers.get(&peer).is_some_and(|p| p.generation == generation) {
                    self.peers.remove(&peer);
                }
            }
        }
    }

    fn on_server(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::Welcome { peer_id, ice_servers } => {
                self.my_id = Some(peer_id);
                if self.options.ice_from_server && self.options.rtc.ice_servers.is_empty() {
                    self.ctx.settings.ice_servers = ice_servers.into_iter().map(Into::into).collect();
                }
                for content in self.contents.keys() {
                    let Ok(swarm) = SwarmName::parse(&content.to_string()) else { continue };
                    if self.ctx.signaling.try_send(PeerRequest::Join { swarm }).is_err() {
                        tracing::warn!("signaling queue full: join of {content} dropped");
                    }
                }
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
                    let commands = self.spawn_peer(from, Role::Answerer, HashSet::new());
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
            self.spawn_peer(peer, Role::Offerer(vec![content.to_string()]), HashSet::from([content]));
        }
    }

    fn spawn_peer(&mut self, peer: PeerId, role: Role, labels: HashSet<ContentId>) -> mpsc::Sender<PeerCommand> {
        self.next_generation += 1;
        let generation = self.next_generation;
        let polite = self.my_id.as_ref().is_some_and(|me| *me < peer);
        let commands = peer::spawn(peer.clone(), generation, role, polite, self.ctx.clone());
        self.peers.insert(peer, Peer { generation, polite, commands: commands.clone(), labels });
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
                }
            }
        }
        for c in self.contents.values_mut() {
            let stats = c.swarm.stats();
            self.progress.update(&c.bar, &stats, c.download.is_some());
            c.report.stats = stats;
        }
    }

    fn execute(&mut self, id: ContentId, output: Output) -> Option<Done> {
        match output {
            Output::Send { conn, bytes } => {
                let conn_entry = self.conns.get_mut(&conn)?;
                let out = conn_entry.out.as_ref()?;
                if let Err(e) = out.try_send(bytes) {
                    if matches!(e, mpsc::error::TrySendError::Full(_)) {
                        tracing::warn!(peer = %conn_entry.peer.0, "peer does not read; disconnecting it");
                    }
                    conn_entry.out = None;
                }
                None
            }
            Output::Close { conn } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.out = None;
                }
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
            Output::Event(event) => {
                self.on_swarm_event(id, event);
                None
            }
        }
    }

    fn on_swarm_event(&mut self, id: ContentId, event: Event) {
        let now = self.now();
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
                self.verified += 1;
                if let Some(o) = &self.observer {
                    o.send_replace(self.verified);
                }
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
                c.report.banned.push(reason);
                if let Some(conn) = self.conns.get_mut(&conn) {
                    conn.out = None;
                }
            }
            Event::PeerReady { .. } => {}
            Event::Error(text) => {
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

/// Every piece is verified and written: flush, move the partial file to its final name, drop the state file.
fn finish(c: &mut Content) -> anyhow::Result<PathBuf> {
    let d = c.download.as_mut().ok_or_else(|| anyhow::anyhow!("not a download"))?;
    let path = d.final_path.clone().ok_or_else(|| anyhow::anyhow!("complete before the manifest was known"))?;
    if let Some(s) = &c.storage {
        s.sync()?;
    }
    // Checked again: the file may have appeared while downloading.
    names::check_free(&path, d.spec.force).map_err(anyhow::Error::msg)?;
    std::fs::rename(&d.partial, &path)?;
    if let Some(state) = d.state.take() {
        state.remove()?;
    }
    Ok(path)
}
