//! The native command-line peer (`swarm-peer`): shares files with browser peers and fetches browser links from a
//! terminal, speaking exactly the browser peer's protocol.
//!
//! It is a thin shell around `swarm::node::Node`, the state machine of a whole peer that the browser peer drives
//! too: WebRTC through webrtc-rs 0.21 (its async API on tokio), signaling over the same WebSocket protocol, storage
//! as positional file IO. Every rule two peers must agree on is in `swarm`; this crate executes the node's outputs,
//! feeds it inputs, keeps the files and keeps the queues bounded.
//!
//! # Layout
//! - [`cli`]: command-line flags (clap).
//! - [`link`]: links into a content id (`swarm::link`) and a signaling URL; browser links.
//! - [`hashing`]: a file into its manifest, streamed with a progress bar.
//! - [`node`]: the node as callers start it: options, contents, reports, counters; [`node::run`] and
//!   [`node::search`].
//! - `run`: the run loop that drives `swarm::node::Node`, executing its outputs and feeding it inputs.
//! - `downloads`: the files behind each content: seeds, a download's partial, state and final files, bars,
//!   reports.
//! - [`search`]: when a `search` command is over, and what it found.
//! - [`signaling`]: the WebSocket to the signaling server, opened and closed as the node says.
//! - [`peer`]: one task per remote peer: its RTCPeerConnection, executing the node's negotiation steps.
//! - [`channel`]: one task per data channel: receive, and send with buffered-amount back-pressure.
//! - [`out_queue`]: a data channel's outgoing queue, bounded in messages and bytes (`swarm::node::MAX_QUEUED`).
//! - [`transport`]: WebRTC settings (256 KiB messages, mDNS off, bind addresses, ICE servers).
//! - [`event`]: what the tasks tell the run loop.
//! - [`storage`]: a content's file, read and written in place.
//! - [`state_file`]: the manifest and verified pieces beside a partial download, for resuming.
//! - [`names`]: sanitizing names from remote manifests; no overwriting without `--force`.
//! - [`safe_fs`]: no writing through symbolic links planted beside a download, no replacing a file that appears at
//!   its final name.
//! - [`progress`]: indicatif progress bars.
//! - `lying` (feature `lying`, tests only): serves corrupt blocks.
//!
//! # Tasks and queues
//! The run loop is the only owner of protocol state, and the state is `swarm::node::Node`'s: which peers to
//! connect to, who offers, glare, labels, neighbours, timeouts, the signaling schedule. Tasks for the signaling
//! socket, each peer connection and each data channel send the loop [`event::NodeEvent`]s through one bounded
//! queue (they wait when it is full, which pushes back on WebRTC's own flow control); the loop never waits on a
//! task: it talks to them with `try_send` on bounded queues and gives up a channel whose queue is full
//! ([`out_queue`]: 16 MiB per channel).

pub mod channel;
pub mod cli;
mod downloads;
pub mod event;
pub mod hashing;
pub mod link;
#[cfg(feature = "lying")]
pub mod lying;
pub mod names;
pub mod node;
pub mod out_queue;
pub mod path;
pub mod peer;
pub mod progress;
mod run;
pub mod safe_fs;
pub mod search;
pub mod signaling;
pub mod state_file;
pub mod storage;
pub mod tls;
pub mod transport;

use std::io::Write;

use crate::cli::{Cli, Command, NetArgs};
use crate::link::{DEFAULT_SIGNALING, browser_link};
use crate::node::{ContentSpec, DownloadSpec, NodeOptions, SearchHit, SearchSpec, Target};
use crate::progress::Progress;
use crate::transport::{IceServer, RtcSettings};

/// Runs one command line until it is done or `shutdown` resolves.
pub async fn run_cli(cli: Cli, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    match cli.command {
        Command::Share { files, list } => {
            let options = NodeOptions { list, ..node_options(&cli.net, None)? };
            let progress = Progress::new();
            if options.progress {
                progress.show();
            }
            let mut specs = Vec::with_capacity(files.len());
            let mut stdout = std::io::stdout().lock();
            for path in files {
                let manifest = if path.is_dir() {
                    let (manifest, skipped) = hashing::hash_dir(&path, &progress)?;
                    for link in &skipped.links {
                        progress.println(&format!("skipped {} (a symbolic link: not followed)", link.display()));
                    }
                    for special in &skipped.special {
                        progress.println(&format!("skipped {} (not a regular file)", special.display()));
                    }
                    manifest
                } else {
                    hashing::hash_file(&path, &progress)?
                };
                // One link per line on stdout, in argument order: scripts and tests read them from here.
                writeln!(stdout, "{}", browser_link(&options.signaling_url, manifest.content_id()))?;
                specs.push(ContentSpec::Seed { path, manifest });
            }
            stdout.flush()?;
            drop(stdout);
            node::run(options, specs, shutdown, None).await?;
            Ok(())
        }
        Command::Get { link, output, force, seed, list, only } => {
            let options = NodeOptions { list, ..node_options(&cli.net, link.signaling.as_deref())? };
            let target = if output.is_dir() { Target::Dir(output) } else { Target::File(output) };
            let only = if only.is_empty() { None } else { Some(node::Only::new(&only)?) };
            let spec = DownloadSpec { content: link.content, target, force, keep_seeding: seed, only };
            let reports = node::run(options, vec![ContentSpec::Download(spec)], shutdown, None).await?;
            for r in reports {
                if let Some(e) = r.errors.first() {
                    anyhow::bail!("{e}");
                }
                match r.path {
                    Some(path) => println!("{}", path.display()),
                    None => anyhow::bail!("interrupted; run the same command again to resume"),
                }
            }
            Ok(())
        }
        Command::Search { words, wait, first } => {
            let options = node_options(&cli.net, None)?;
            let network = options.network.clone();
            let text = words.join(" ");
            let spec = SearchSpec { text: text.clone(), wait: std::time::Duration::from_secs_f64(wait), first };
            let outcome = node::search(options, spec, print_hit, shutdown).await?;
            if outcome.hits.is_empty() {
                if !outcome.reached {
                    anyhow::bail!(
                        "no peer of network `{network}` reached within {} s: nobody is in it, or none could be \
                         connected to",
                        node::NO_NEIGHBOUR_TIMEOUT.as_secs()
                    );
                }
                anyhow::bail!("nothing found for {text:?} in network `{network}`");
            }
            if !cli.net.quiet {
                eprint!("{}", summary(&text, &outcome.hits));
            }
            Ok(())
        }
    }
}

/// One result on stdout as it arrives: `link TAB size TAB name` (names arrive sanitized: no tab, no line break).
fn print_hit(hit: &SearchHit) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (the reader went away) is not this peer's problem: the search just ends unseen.
    let _ = writeln!(stdout, "{}", hit_line(hit));
    let _ = stdout.flush();
}

/// The machine-readable line of a result.
pub fn hit_line(hit: &SearchHit) -> String {
    format!("{}\t{}\t{}", hit.link, hit.entry.size, hit.entry.name)
}

/// The ranked summary of a search, for people.
pub fn summary(text: &str, hits: &[SearchHit]) -> String {
    let mut out =
        format!("{} result{} for {text:?}, best first:\n", hits.len(), if hits.len() == 1 { "" } else { "s" });
    for (i, hit) in hits.iter().enumerate() {
        let sources = if hit.sources == 1 { "1 answer".to_owned() } else { format!("{} answers", hit.sources) };
        let media = if hit.entry.media_type.is_empty() { "" } else { hit.entry.media_type.as_str() };
        out.push_str(&format!(
            "{:>3}. {}  {}  {media}  {sources}\n     {}\n",
            i + 1,
            hit.entry.name,
            indicatif::HumanBytes(hit.entry.size),
            hit.link
        ));
    }
    out
}

/// Node options from the flags; `link_signaling` is the server named by a `get` link. Fails on a `--ca-cert` that
/// cannot be used.
pub fn node_options(net: &NetArgs, link_signaling: Option<&str>) -> anyhow::Result<NodeOptions> {
    let signaling_url = net
        .signaling
        .clone()
        .or_else(|| link_signaling.map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_SIGNALING.to_owned());
    let ice_servers = net
        .ice_servers
        .iter()
        .map(|url| IceServer {
            urls: vec![url.clone()],
            username: net.turn_username.clone().unwrap_or_default(),
            credential: net.turn_credential.clone().unwrap_or_default(),
        })
        .collect();
    let swarm = swarm::Config {
        // Storage is opened, and `--only` applied, when the manifest arrives: requests wait for it.
        await_storage: true,
        max_peers: net.max_peers,
        max_upload_queue: net.max_upload_queue,
        max_pipeline: net.max_pipeline.max(1),
        min_pipeline: swarm::Config::default().min_pipeline.min(net.max_pipeline.max(1)),
        ..swarm::Config::default()
    };
    Ok(NodeOptions {
        signaling_url,
        rtc: RtcSettings {
            ice_servers,
            udp_bind: net.bind.clone(),
            max_message: net.max_message_size,
            ..RtcSettings::default()
        },
        ice_from_server: !net.no_server_ice,
        max_peer_connections: net.max_connections,
        swarm,
        seed: std::process::id().into(),
        progress: !net.quiet,
        network: net.network.clone(),
        discovery: swarm::discovery::Config::default(),
        max_upload_rate: net.max_upload_rate,
        tls: crate::tls::client_config(net.ca_cert.as_deref())?,
        list: false,
        #[cfg(feature = "lying")]
        lie: net.lie,
    })
}
