//! The command line: `swarm-peer share <file>...` and `swarm-peer get <link> [-o path]`, with the network flags
//! both share.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::link::Link;

/// Share files with browser and native peers, or fetch a link, peer to peer over WebRTC.
///
/// The signaling server only introduces peers; file contents go directly between peers, every piece checked
/// against its SHA-256.
#[derive(Debug, Parser)]
#[command(name = "swarm-peer", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hash files, print a browser link for each (one per line on stdout), and seed them until interrupted.
    Share {
        /// Files to share.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Download a link (`http://host:port/#<content id>` or a bare 64-hex id) from the peers that have it.
    ///
    /// The file is written in place as `<name>.part` with a `.part.state` file beside it; an interrupted get run
    /// again with the same output resumes without fetching verified pieces again.
    Get {
        /// The link, as the web app shows it.
        link: Link,
        /// Output file, or an existing directory to save into under the (sanitized) name the sharer gave.
        #[arg(short, long, value_name = "PATH", default_value = ".")]
        output: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// Keep seeding after the download completes, until interrupted.
        #[arg(long)]
        seed: bool,
    },
}

/// Network and limit flags.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// Signaling server WebSocket URL. Default: the server named by the link for `get`, else
    /// ws://127.0.0.1:8080/ws (the local server `npm start` runs).
    #[arg(long, global = true, env = "SWARM_SIGNALING", value_name = "URL")]
    pub signaling: Option<String>,
    /// STUN or TURN server URL (repeatable), e.g. stun:stun.example.org:3478. When none is given, the servers
    /// the signaling server announces are used.
    #[arg(long = "ice-server", global = true, value_name = "URL")]
    pub ice_servers: Vec<String>,
    /// Username and credential for the TURN servers given with --ice-server.
    #[arg(long, global = true, value_name = "NAME", requires = "turn_credential")]
    pub turn_username: Option<String>,
    #[arg(long, global = true, value_name = "SECRET", env = "SWARM_TURN_CREDENTIAL", hide_env_values = true)]
    pub turn_credential: Option<String>,
    /// Ignore the ICE servers the signaling server announces (host candidates only unless --ice-server).
    #[arg(long, global = true)]
    pub no_server_ice: bool,
    /// Local UDP address to gather ICE candidates on (repeatable). 0.0.0.0:0 means every non-loopback
    /// interface; 127.0.0.1:0 keeps WebRTC on this machine.
    #[arg(long = "bind", global = true, value_name = "ADDR", default_value = "0.0.0.0:0")]
    pub bind: Vec<String>,
    /// Most peers per file; more are turned away as busy.
    #[arg(long, global = true, default_value_t = 32, value_name = "N")]
    pub max_peers: usize,
    /// Most remote peers with a WebRTC connection at once, over all files.
    #[arg(long, global = true, default_value_t = 64, value_name = "N")]
    pub max_connections: usize,
    /// Most block requests from one peer queued for upload; more are refused as overloaded.
    #[arg(long, global = true, default_value_t = 256, value_name = "N")]
    pub max_upload_queue: usize,
    /// Most block requests outstanding to one peer.
    #[arg(long, global = true, default_value_t = 64, value_name = "N")]
    pub max_pipeline: usize,
    /// No progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Test only: serve corrupt blocks.
    #[cfg(feature = "lying")]
    #[arg(long, global = true, hide = true)]
    pub lie: bool,
}
