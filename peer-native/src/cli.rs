//! The command line: `swarm-peer share <file>...`, `swarm-peer get <link> [-o path]` and
//! `swarm-peer search <words>...`, with the network flags they all share.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use swarm::discovery::NetworkName;

use crate::link::Link;

/// Share files with browser and native peers, fetch a link, or search the network for files by name, peer to peer
/// over WebRTC.
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
    /// Hash files and folders, print a browser link for each (one per line on stdout) and seed them until
    /// interrupted. They are reachable by their links only, unless --list.
    ///
    /// A folder is one share of every regular file in it and its folders, named after the folder; symbolic links
    /// and special files are skipped (and said), never followed.
    Share {
        /// Files and folders to share.
        #[arg(required = true, value_name = "FILE|DIR")]
        files: Vec<PathBuf>,
        /// Also list them in search: announced in the discovery network (see --network), where anyone on it can
        /// find them by name.
        #[arg(long)]
        list: bool,
    },
    /// Download a link (`http://host:port/#<content id>` or a bare 64-hex id) from the peers that have it.
    ///
    /// The file is written in place as `<name>.part` with a `.part.state` file beside it; an interrupted get run
    /// again with the same output resumes without fetching verified pieces again.
    Get {
        /// The link, as the web app shows it.
        link: Link,
        /// Output file, or an existing directory to save into under the (sanitized) name the sharer gave. A folder's
        /// files are recreated under that name, in `<content id>.part/` (or `PATH.part/`) until complete.
        #[arg(short, long, value_name = "PATH", default_value = ".")]
        output: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// Keep seeding after the download completes, until interrupted (by the link only, unless --list).
        #[arg(long)]
        seed: bool,
        /// With --seed: once complete, list the file in search (announced in the discovery network).
        #[arg(long, requires = "seed")]
        list: bool,
        /// For a folder: get only the files whose paths in it match one of these globs (`*.jpg`, `photos/**`;
        /// `*` does not cross a `/`). Repeatable. Only the pieces those files touch are fetched.
        #[arg(long, value_name = "GLOB", num_args = 1..)]
        only: Vec<String>,
    },
    /// Search the discovery network (see --network) for files whose names contain these words.
    ///
    /// The query goes to this peer's neighbours in the network and on from them; the signaling server never sees
    /// it. Each result is printed on stdout as it arrives, one line per file, three tab-separated fields:
    ///
    ///   <link> TAB <size in bytes> TAB <name>
    ///
    /// (the link is what `get` and the web app take; names arrive sanitized, with no tab or line break). At the
    /// end a ranked summary (best match first, with the number of answers that named each file) goes to stderr
    /// unless -q. Exits with status 0 when something was found, 1 when nothing was.
    Search {
        /// Words to look for (case-insensitive; a file matches when every word occurs in its name).
        #[arg(required = true, value_name = "WORD")]
        words: Vec<String>,
        /// How long to listen for results once the first neighbour is reached, in seconds. A search that reaches
        /// no member of the network within 30 s gives up.
        #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = parse_seconds)]
        wait: f64,
        /// Stop at the first result (still at most --wait seconds after the first neighbour).
        #[arg(long)]
        first: bool,
    },
}

/// A `--wait` value: a finite, non-negative number of seconds, at most a day.
fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err("give between 0 and 86400 seconds".to_owned());
    }
    Ok(v)
}

/// A `--max-upload-rate` value: a size (`bytesize`'s syntax: `5MB`, `500 kB`, `2MiB`, `1.5GB`) with an optional
/// `/s`, from 1 byte to 4 GB a second.
fn parse_rate(s: &str) -> Result<u32, String> {
    let size = s.trim().strip_suffix("/s").unwrap_or(s.trim());
    let bytes = size
        .parse::<bytesize::ByteSize>()
        .map_err(|_| format!("not a rate: {s:?} (write it like 5MB/s, 500kB/s or 2MiB/s)"))?
        .as_u64();
    match u32::try_from(bytes) {
        Ok(0) => Err("the upload rate must be at least 1 byte a second".to_owned()),
        Ok(rate) => Ok(rate),
        Err(_) => Err(format!("{s:?} is over the largest upload limit, 4 GB/s")),
    }
}

/// A `--network` value.
fn parse_network(s: &str) -> Result<NetworkName, String> {
    NetworkName::parse(s).map_err(|e| e.to_string())
}

/// Network and limit flags.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// Signaling server WebSocket URL. Default: the server named by the link for `get`, else
    /// ws://127.0.0.1:8080/ws (the local server `npm start` runs).
    #[arg(long, global = true, env = "SWARM_SIGNALING", value_name = "URL")]
    pub signaling: Option<String>,
    /// Discovery network to join (signaling swarm `net:<NAME>`): `share` announces there, `search` asks there.
    /// 1 to 76 characters of a-z, 0-9, '_' and '-'; the web app picks one with `?network=<NAME>`.
    #[arg(long, global = true, env = "SWARM_NETWORK", value_name = "NAME", default_value = "default",
          value_parser = parse_network)]
    pub network: NetworkName,
    /// STUN or TURN server URL (repeatable), e.g. stun:stun.example.org:3478. When none is given, the servers
    /// the signaling server announces are used.
    #[arg(long = "ice-server", global = true, value_name = "URL")]
    pub ice_servers: Vec<String>,
    /// Username for the TURN servers given with --ice-server (with --turn-credential).
    #[arg(long, global = true, value_name = "NAME", requires = "turn_credential")]
    pub turn_username: Option<String>,
    /// Credential for the TURN servers given with --ice-server (better passed in the environment variable than on
    /// the command line, where other users of the machine can see it).
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
    /// A CA certificate (PEM, one or more) to trust for a wss:// signaling server, besides the public roots: for a
    /// server whose certificate a private authority signed.
    #[arg(long, global = true, env = "SWARM_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Longest data-channel message this peer takes and sends, in bytes (the max-message-size of its SDP):
    /// 16393 to 262144. Lower it only for a WebRTC stack or path that needs shorter messages: blocks then travel
    /// in parts of at most this size, more slowly.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = swarm::wire::MAX_MESSAGE_LEN as u32,
          value_parser = clap::value_parser!(u32).range(swarm::wire::MIN_MESSAGE_LEN as i64..=swarm::wire::MAX_MESSAGE_LEN as i64))]
    pub max_message_size: u32,
    /// Most bytes a second this peer uploads, all files together: e.g. 5MB/s, 500kB/s or 2MiB/s (1 MB is
    /// 1,000,000 bytes; 1 MiB 1,048,576). Downloads are not limited. Default: no limit.
    #[arg(long, global = true, value_name = "RATE", value_parser = parse_rate)]
    pub max_upload_rate: Option<u32>,
    /// No progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Test only: serve corrupt blocks.
    #[cfg(feature = "lying")]
    #[arg(long, global = true, hide = true)]
    pub lie: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn get_takes_an_upper_case_link_as_the_page_does() {
        let link = format!("http://127.0.0.1:9000/#{}", HEX.to_ascii_uppercase());
        let cli = Cli::try_parse_from(["swarm-peer", "get", &link]).unwrap();
        let Command::Get { link, .. } = cli.command else { panic!("not a get: {:?}", cli.command) };
        assert_eq!(link.content.to_string(), HEX);
        assert_eq!(link.signaling.as_deref(), Some("ws://127.0.0.1:9000/ws"));
    }

    #[test]
    fn max_upload_rate_takes_sizes_a_second_and_refuses_nonsense() {
        let parse = |v: &str| Cli::try_parse_from(["swarm-peer", "--max-upload-rate", v, "search", "x"]);
        assert_eq!(parse("5MB/s").unwrap().net.max_upload_rate, Some(5_000_000));
        assert_eq!(parse("500kB/s").unwrap().net.max_upload_rate, Some(500_000));
        assert_eq!(parse("2MiB/s").unwrap().net.max_upload_rate, Some(2 * 1024 * 1024));
        assert_eq!(parse("1.5MB").unwrap().net.max_upload_rate, Some(1_500_000));
        assert_eq!(parse("12000").unwrap().net.max_upload_rate, Some(12_000));
        for bad in ["fast", "5 parsecs/s", "0", "5GB/s", "-1MB/s"] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
        assert!(parse("fast").unwrap_err().to_string().contains("5MB/s"));
        assert_eq!(Cli::try_parse_from(["swarm-peer", "search", "x"]).unwrap().net.max_upload_rate, None);
    }

    #[test]
    fn max_message_size_is_refused_under_the_protocols_floor_and_over_its_ceiling() {
        let parse = |v: &str| Cli::try_parse_from(["swarm-peer", "--max-message-size", v, "search", "x"]);
        assert_eq!(parse("65536").unwrap().net.max_message_size, 65_536);
        assert_eq!(parse("16393").unwrap().net.max_message_size, 16_393);
        for bad in ["16392", "262145", "0"] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("16393..=262144"), "{bad}: {e}");
        }
        let default = Cli::try_parse_from(["swarm-peer", "search", "x"]).unwrap();
        assert_eq!(default.net.max_message_size, 262_144);
    }
}
