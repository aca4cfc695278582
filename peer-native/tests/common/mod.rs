//! Shared by the native integration tests: a real signaling server on a loopback port, random files, node options
//! that keep WebRTC on loopback, and helpers to run nodes with a shutdown trigger.

// Test support: a failed setup step should panic the test, which is what `unwrap` does.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use peer_native::node::{self, ContentReport, ContentSpec, DownloadSpec, NodeOptions, Observer};
use peer_native::progress::Progress;
use peer_native::transport::RtcSettings;
use sha2::{Digest, Sha256};
use swarm::manifest::Manifest;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest any one test waits for a transfer: a failure guard only, never a synchronization.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(120);

/// A signaling server on 127.0.0.1, port chosen by the OS, stopped when dropped.
pub struct Server {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    /// A server configured by `tweak`; with TLS its URL is `wss://localhost:PORT/ws` (the name certificates are
    /// made for in the tests).
    pub async fn start_with(tweak: impl FnOnce(&mut signaling::Config)) -> Server {
        let (stop, stopped) = oneshot::channel::<()>();
        let mut config = signaling::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            ice_servers: Vec::new(),
            ..signaling::Config::default()
        };
        tweak(&mut config);
        let tls = config.tls_cert.is_some();
        let (addr, handle) = signaling::serve(config, async move {
            let _ = stopped.await;
        })
        .await
        .expect("signaling server starts");
        let url = if tls { format!("wss://localhost:{}/ws", addr.port()) } else { format!("ws://{addr}/ws") };
        Server { url, stop: Some(stop), handle: Some(handle) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

/// The `swarm-peer` binary on this server, with loopback-only ICE, no server-announced ICE servers and no progress
/// bars: the command and its arguments follow.
pub fn swarm_peer(server: &Server) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_swarm-peer"));
    cmd.args(["-q", "--signaling", &server.url, "--bind", "127.0.0.1:0", "--no-server-ice"]);
    cmd
}

/// Node options for tests: this server, loopback-only ICE, no server-announced ICE servers, no progress bars.
pub fn options(server: &Server) -> NodeOptions {
    NodeOptions {
        signaling_url: server.url.clone(),
        rtc: RtcSettings { udp_bind: vec!["127.0.0.1:0".to_owned()], ..RtcSettings::default() },
        ice_from_server: false,
        progress: false,
        ..NodeOptions::default()
    }
}

/// Writes `len` random bytes to `dir/name`.
pub fn random_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let mut data = vec![0u8; len];
    rand::fill(&mut data[..]);
    let path = dir.join(name);
    std::fs::write(&path, &data).unwrap();
    path
}

/// SHA-256 of a file's contents.
pub fn sha256(path: &Path) -> [u8; 32] {
    Sha256::digest(std::fs::read(path).unwrap()).into()
}

pub fn manifest(path: &Path) -> Manifest {
    peer_native::hashing::hash_file(path, &Progress::new()).unwrap()
}

/// A node running in the background until [`Running::stop`] or until it finishes by itself.
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<anyhow::Result<Vec<ContentReport>>>,
}

impl Running {
    pub fn start(options: NodeOptions, specs: Vec<ContentSpec>, observer: Option<Observer>) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(node::run(
            options,
            specs,
            async move {
                let _ = stopped.await;
            },
            observer,
        ));
        Running { stop: Some(stop), handle }
    }

    /// Starts a seeder of `path`.
    pub fn seed(options: NodeOptions, path: &Path, manifest: &Manifest) -> Running {
        Running::start(options, vec![ContentSpec::Seed { path: path.to_owned(), manifest: manifest.clone() }], None)
    }

    /// Starts a download of `manifest`'s content to `out`.
    pub fn get(options: NodeOptions, manifest: &Manifest, out: &Path, observer: Option<Observer>) -> Running {
        let spec = DownloadSpec::to_file(manifest.content_id(), out);
        Running::start(options, vec![ContentSpec::Download(spec)], observer)
    }

    /// Asks the node to stop and returns its reports.
    pub async fn stop(mut self) -> Vec<ContentReport> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.await.expect("node task").expect("node run")
    }

    /// Waits (bounded by [`TRANSFER_TIMEOUT`]) for the node to finish by itself.
    pub async fn finished(self) -> Vec<ContentReport> {
        let Running { stop, handle } = self;
        let reports = tokio::time::timeout(TRANSFER_TIMEOUT, handle)
            .await
            .expect("transfer timed out")
            .expect("node task")
            .expect("node run");
        drop(stop);
        reports
    }
}

/// One test's world: a signaling server, a temporary directory and a random source file with its manifest.
pub struct World {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub source: PathBuf,
    pub manifest: Manifest,
}

impl World {
    pub async fn new(len: usize) -> World {
        let server = Server::start().await;
        let dir = tempfile::tempdir().unwrap();
        let source = random_file(dir.path(), "source.bin", len);
        let manifest = manifest(&source);
        World { server, dir, source, manifest }
    }

    /// Options for a node of this world ([`options`]).
    pub fn options(&self) -> NodeOptions {
        options(&self.server)
    }

    /// Starts an honest seeder of the source.
    pub fn seeder(&self) -> Running {
        Running::seed(self.options(), &self.source, &self.manifest)
    }

    /// A path in the world's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
