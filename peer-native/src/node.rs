//! The node as the command line and the tests start it: what it works on ([`ContentSpec`]), how it reaches the
//! network ([`NodeOptions`]), what it reports ([`ContentReport`], [`Counters`]), and the two ways to run it:
//! [`run`] (share and get) and [`search`].
//!
//! Every peer-level rule is in `swarm::node::Node`; the run loop (`run.rs`) drives it, `downloads.rs` keeps the
//! files and [`crate::search`] decides when a search is over.

use std::path::PathBuf;

use swarm::bitfield::Bitfield;
use swarm::discovery::{self, NetworkName};
use swarm::id::ContentId;
use swarm::manifest::Manifest;
use swarm::swarm::Stats;
use tokio::sync::watch;

pub use crate::search::{NO_NEIGHBOUR_TIMEOUT, SearchHit, SearchOutcome, SearchSpec};
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
    /// Seed of the node's deterministic randomness.
    pub seed: u64,
    /// Progress bars on the terminal.
    pub progress: bool,
    /// The discovery network to join (signaling swarm `net:<name>`).
    pub network: NetworkName,
    /// The discovery state machine's tunables (neighbours, hops, caches, rate limits).
    pub discovery: discovery::Config,
    /// Most bytes a second uploaded, all contents together (`--max-upload-rate`); `None`: no limit.
    pub max_upload_rate: Option<u32>,
    /// How a `wss://` server's certificate is checked (`--ca-cert` adds a private CA to the public roots).
    pub tls: std::sync::Arc<rustls::ClientConfig>,
    /// List what this run shares, and a download it keeps seeding once complete, in search (`--list`); without it
    /// they are reachable by their links only.
    pub list: bool,
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
            max_upload_rate: None,
            tls: crate::tls::client_config(None).expect("the public roots make a client configuration"),
            list: false,
            #[cfg(feature = "lying")]
            lie: false,
        }
    }
}

impl NodeOptions {
    /// The node's configuration: `--max-peers` bounds a content's channels as well as its swarm's peers.
    pub fn node_config(&self) -> swarm::node::Config {
        swarm::node::Config {
            swarm: self.swarm.clone(),
            discovery: self.discovery.clone(),
            network: self.network.clone(),
            max_peers: self.max_peer_connections,
            max_channels_per_content: self.swarm.max_peers,
            max_upload_rate: self.max_upload_rate,
            ..swarm::node::Config::default()
        }
    }

    /// Whether to serve corrupt blocks (only ever with the test-only `lying` feature).
    #[cfg(feature = "lying")]
    pub(crate) fn lie(&self) -> bool {
        self.lie
    }

    #[cfg(not(feature = "lying"))]
    pub(crate) fn lie(&self) -> bool {
        false
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
    /// `--only`: of a folder, only the files these globs match.
    pub only: Option<Only>,
}

impl DownloadSpec {
    /// `content` into the file `out`: every file of a folder, nothing overwritten, no seeding after.
    pub fn to_file(content: ContentId, out: &std::path::Path) -> DownloadSpec {
        DownloadSpec { content, target: Target::File(out.to_owned()), force: false, keep_seeding: false, only: None }
    }
}

/// `get --only GLOB...`: which files of a folder to get, by their paths in it.
#[derive(Debug, Clone)]
pub struct Only {
    globs: globset::GlobSet,
    text: Vec<String>,
}

impl Only {
    /// The globs as given; a malformed one is an error naming it.
    pub fn new(globs: &[String]) -> anyhow::Result<Only> {
        let mut set = globset::GlobSetBuilder::new();
        for glob in globs {
            let parsed = globset::GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map_err(|e| anyhow::anyhow!("--only {glob:?}: {e}"))?;
            set.add(parsed);
        }
        let globs_set = set.build().map_err(|e| anyhow::anyhow!("--only: {e}"))?;
        Ok(Only { globs: globs_set, text: globs.to_vec() })
    }

    /// Whether the file at `path` (components joined by `/`) is chosen.
    pub fn matches(&self, path: &str) -> bool {
        self.globs.is_match(path)
    }

    /// The globs as given, for messages.
    pub fn text(&self) -> String {
        self.text.join(" ")
    }
}

/// Where a download is written.
#[derive(Debug, Clone)]
pub enum Target {
    /// This exact path.
    File(PathBuf),
    /// This directory, under the sanitized name from the manifest.
    Dir(PathBuf),
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
    /// Connections refused, or peers no longer asked, for message size (what was said).
    pub refused: Vec<String>,
    pub errors: Vec<String>,
}

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
    /// Connections refused, or peers no longer asked, for message size (`swarm::Event::PeerRefused`).
    pub refusals: u32,
    /// Remote peers banned from a content (`Event::PeerBanned`: corrupt data, protocol violations).
    pub bans: u32,
}

/// Where the node publishes its [`Counters`].
pub type Observer = watch::Sender<Counters>;

/// The counters and who watches them.
#[derive(Debug, Default)]
pub(crate) struct Watched {
    counters: Counters,
    observer: Option<Observer>,
}

impl Watched {
    pub fn new(observer: Option<Observer>) -> Watched {
        Watched { counters: Counters::default(), observer }
    }

    /// Changes the counters, and tells the observer if they changed.
    pub fn update(&mut self, change: impl FnOnce(&mut Counters)) {
        let before = self.counters;
        change(&mut self.counters);
        if self.counters != before
            && let Some(o) = &self.observer
        {
            o.send_replace(self.counters);
        }
    }
}

/// Runs the node until every download is complete (and none keeps seeding and there is nothing to seed), or
/// until `shutdown` resolves. Interrupted downloads keep their partial and state files for the next run.
pub async fn run(
    options: NodeOptions,
    specs: Vec<ContentSpec>,
    shutdown: impl Future<Output = ()>,
    observer: Option<Observer>,
) -> anyhow::Result<Vec<ContentReport>> {
    let ended = crate::run::drive(options, specs, None, shutdown, observer).await?;
    Ok(ended.reports)
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
    let ended = crate::run::drive(options, Vec::new(), Some((spec, Box::new(on_hit))), shutdown, None).await?;
    ended.search.ok_or_else(|| anyhow::anyhow!("no search ran"))
}
