//! The server's configuration: command-line flags, each with an environment-variable equivalent, and defaults
//! sized for one small machine serving a few thousand browsers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Args, Parser};
use swarm::signal::{IceServer, MAX_FRAME_LEN};

use crate::origin::{AllowedOrigin, parse_allowed_origin};

/// Default listening address: loopback, so a development server is not exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Everything `signaling` takes from its command line (`--help` lists it).
#[derive(Debug, Clone, Parser)]
#[command(name = "signaling", version, about = "Signaling server: introduces the peers of a swarm, serves the web app")]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the bound address is printed on stdout).
    #[arg(long, env = "SIGNALING_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Directory served at `/` (the web app, with the built wasm in `pkg/`).
    #[arg(long, env = "SIGNALING_WWW", default_value = "www")]
    pub www: PathBuf,
    /// An ICE server sent to every peer: `URL[,URL...][|USERNAME|CREDENTIAL]`, e.g. `stun:stun.example.org:3478`
    /// or `turn:turn.example.org:3478?transport=udp|alice|secret`. Repeatable; in the environment, separate
    /// several with spaces. None by default: peers then use host candidates only (same network).
    #[arg(long = "ice-server", env = "SIGNALING_ICE_SERVERS", value_delimiter = ' ', value_parser = parse_ice_server)]
    pub ice_servers: Vec<IceServer>,
    /// An origin (`https://share.example.org`, `http://127.0.0.1:8080`) whose pages may open a WebSocket, or `*`
    /// for any. Repeatable; in the environment, separate several with spaces. By default only the server's own
    /// origin (the host and port of the request's `Host` header, over http or https); a list replaces that
    /// default, so include the server's own origin in it. Upgrades without an `Origin` header (clients that are
    /// not browsers) are always allowed.
    #[arg(long = "allowed-origin", env = "SIGNALING_ALLOWED_ORIGINS", value_delimiter = ' ', value_parser = parse_allowed_origin)]
    pub allowed_origins: Vec<AllowedOrigin>,
    /// Serve https and wss with this certificate chain (PEM; the server's certificate first). Needs --tls-key.
    /// Both files are read again on SIGHUP.
    #[arg(long, env = "SIGNALING_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "SIGNALING_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A reverse proxy (address or range: 10.0.0.0/8, 127.0.0.1) whose `Forwarded` or `X-Forwarded-For` names
    /// the client, for the per-address limits. Repeatable; none by default: those headers are then ignored.
    #[arg(long = "trust-proxy", env = "SIGNALING_TRUST_PROXY", value_name = "CIDR", value_delimiter = ' ',
          value_parser = crate::proxy::parse_cidr)]
    pub trust_proxy: Vec<crate::proxy::Cidr>,
    #[command(flatten)]
    pub turn: TurnArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub limits: Limits,
}

/// Several instances as one service, sharing swarms through Redis (see docs/ARCHITECTURE.md, "Scale").
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Redis or Valkey shared by every instance of the service: `redis://[:PASSWORD@]HOST:PORT[/DB]`. Swarm
    /// membership and relays between instances go through it, nothing else. Off by default: the server is then
    /// one instance on its own. Keep Redis on a private network, with a password.
    #[arg(long, env = "SIGNALING_REDIS", value_name = "URL")]
    pub redis: Option<String>,
    /// How long a membership stays in Redis without its instance renewing it, in milliseconds (renewed every
    /// third of it): the members of an instance that dies leave joins' samples within this time.
    #[arg(long, env = "SIGNALING_REDIS_LEASE_MS", value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(300..=600_000))]
    pub redis_lease_ms: u64,
}

/// A TURN server whose credentials this server hands out, one per connection and expiring (coturn's
/// `use-auth-secret`): `welcome` carries them, and `ice_servers` renews them at half their lifetime.
#[derive(Debug, Clone, Args)]
pub struct TurnArgs {
    /// A TURN server URL, `turn:` or `turns:` (e.g. `turn:turn.example.org:3478?transport=udp`); repeatable, or
    /// several separated by spaces in the environment. Needs --turn-secret.
    #[arg(long = "turn-url", env = "SIGNALING_TURN_URLS", value_name = "URL", value_delimiter = ' ', value_parser = parse_turn_url,
          requires = "turn_secret")]
    pub turn_urls: Vec<String>,
    /// File whose first line is the secret shared with the TURN server (coturn's `static-auth-secret`). A file,
    /// not the secret itself, so that it shows in no process list. Needs --turn-url.
    #[arg(long = "turn-secret", env = "SIGNALING_TURN_SECRET_FILE", value_name = "FILE", requires = "turn_urls")]
    pub turn_secret: Option<PathBuf>,
    /// How long a TURN credential is valid, in seconds (10 to 604800); connected peers get new ones at half of
    /// it. Default: 6 hours.
    #[arg(long = "turn-ttl", env = "SIGNALING_TURN_TTL", value_name = "SECONDS", default_value_t = 21_600,
          value_parser = clap::value_parser!(u64).range(10..=604_800))]
    pub turn_ttl: u64,
}

/// A `--turn-url`: a `turn:` or `turns:` URL.
fn parse_turn_url(s: &str) -> Result<String, String> {
    if !(s.starts_with("turn:") || s.starts_with("turns:")) || s.len() > 512 || s.contains(char::is_whitespace) {
        return Err(format!("{s:?} is not a TURN URL (turn:HOST:PORT or turns:HOST:PORT)"));
    }
    Ok(s.to_owned())
}

/// The limits on what a client can make the server hold or do. Each is a flag; the defaults are the constants
/// below.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Longest text frame accepted, in bytes; longer gets a `too_large` error (at most 16384, the protocol's limit).
    #[arg(long, env = "SIGNALING_MAX_FRAME_BYTES", default_value_t = MAX_FRAME_LEN,
          value_parser = clap::value_parser!(u32).range(64..=MAX_FRAME_LEN as i64).map(|v| v as usize))]
    pub max_frame_bytes: usize,
    /// Sustained messages per second accepted from one connection (token bucket refill rate). WebSocket pings
    /// and pongs count as messages.
    #[arg(long, env = "SIGNALING_MESSAGES_PER_SEC", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub messages_per_sec: u32,
    /// Messages one connection may send at once before the rate applies (token bucket size): a joiner sends an
    /// offer and a burst of ICE candidates to each of the peers it was given.
    #[arg(long, env = "SIGNALING_MESSAGE_BURST", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub message_burst: u32,
    /// Swarms one connection may be a member of at once.
    #[arg(long, env = "SIGNALING_MAX_SWARMS_PER_PEER", default_value_t = 32)]
    pub max_swarms_per_peer: usize,
    /// Members kept per swarm; a join beyond gets `swarm_full`.
    #[arg(long, env = "SIGNALING_MAX_SWARM_MEMBERS", default_value_t = 1000)]
    pub max_swarm_members: usize,
    /// Member ids given to a joiner (a random subset of the swarm).
    #[arg(long, env = "SIGNALING_MAX_PEERS_PER_JOIN", default_value_t = 32)]
    pub max_peers_per_join: usize,
    /// TCP connections (HTTP or WebSocket) from one IPv4 address or IPv6 /64 at once. Generous: a browser holds
    /// up to 6 HTTP connections plus its WebSocket, and an office behind one NAT address holds many browsers.
    #[arg(long, env = "SIGNALING_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,
    /// TCP connections from one IPv4 /24 or IPv6 /48 at once: one party holding many addresses (an IPv6 /48 has
    /// 65,536 /64s) cannot fill the server. 4 times the per-address default.
    #[arg(long, env = "SIGNALING_MAX_CONNECTIONS_PER_PREFIX", default_value_t = 1024)]
    pub max_connections_per_prefix: usize,
    /// TCP connections at once, in total.
    #[arg(long, env = "SIGNALING_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// Relayed signals queued for one connection, from all senders together (and as many departures, in a
    /// queue of their own). A relay that does not fit is refused to its sender (`peer_busy`); the receiver is
    /// never dropped for it. Four senders' full shares: an honest receiver's burst is a few joiners' offers and
    /// candidates arriving at once, and the queue drains at the speed of a local socket write.
    #[arg(long, env = "SIGNALING_SEND_QUEUE", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..).map(|v| v as usize))]
    pub send_queue: usize,
    /// Relayed signals queued for one connection from any one sender, so that one sender cannot fill the queue
    /// and starve the others. A joiner sends one peer an offer and 10 to 20 ICE candidates: 32 holds that
    /// with room for a renegotiation.
    #[arg(long, env = "SIGNALING_SEND_QUEUE_PER_SENDER", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..).map(|v| v as usize))]
    pub send_queue_per_sender: usize,
    /// Departures (`peer_left`) announced per swarm per second, with a burst of two seconds' worth; beyond, they
    /// are dropped (peers also see a departure on their data channels). Bounds what join/leave churn makes the
    /// server send, to this rate times the swarm's size, however many connections churn.
    #[arg(long, env = "SIGNALING_DEPARTURES_PER_SEC", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub departures_per_sec: u32,
    /// Protocol errors (malformed, too large, binary, rate limited) after which a connection is closed.
    #[arg(long, env = "SIGNALING_MAX_STRIKES", default_value_t = 10)]
    pub max_strikes: u32,
    /// Interval between WebSocket pings from the server, in milliseconds.
    #[arg(long, env = "SIGNALING_PING_INTERVAL_MS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub ping_interval_ms: u64,
    /// A connection from which nothing (not even a pong) arrived for this long is closed, in milliseconds.
    #[arg(long, env = "SIGNALING_IDLE_TIMEOUT_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub idle_timeout_ms: u64,
    /// Time allowed to write one frame to a client, in milliseconds, and for an HTTP response to make progress;
    /// a client that does not read is dropped.
    #[arg(long, env = "SIGNALING_WRITE_TIMEOUT_MS", default_value_t = 10_000)]
    pub write_timeout_ms: u64,
    /// Time allowed for a client to send a complete HTTP request head, in milliseconds, counted from the accept
    /// of its connection and, between requests on a kept-alive connection, from the end of the last response;
    /// past it the connection is closed.
    #[arg(long, env = "SIGNALING_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Time open HTTP requests get to finish at shutdown, in milliseconds (WebSockets are closed at once).
    #[arg(long, env = "SIGNALING_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        // The defaults live in the clap attributes only: parsing an empty command line, without the environment,
        // reads them back.
        Config::parse_defaults()
    }
}

impl Config {
    /// The defaults of every flag, ignoring the environment.
    fn parse_defaults() -> Config {
        use clap::{CommandFactory, FromArgMatches};
        let command = Config::command();
        // Environment lookups are disabled by clearing each argument's `env`.
        let command = command.mut_args(|arg| arg.env(None::<&str>));
        let matches = command.get_matches_from(["signaling"]);
        Config::from_arg_matches(&matches).expect("the defaults of every flag are valid")
    }
}

impl Limits {
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Config::default().limits
    }
}

/// Parses `URL[,URL...][|USERNAME|CREDENTIAL]` into the ICE server entry that RTCPeerConnection takes.
pub fn parse_ice_server(s: &str) -> Result<IceServer, String> {
    let mut fields = s.split('|');
    let urls: Vec<String> = fields.next().unwrap_or_default().split(',').map(str::to_owned).collect();
    for url in &urls {
        let scheme_ok = ["stun:", "stuns:", "turn:", "turns:"].iter().any(|p| url.starts_with(p));
        if !scheme_ok || url.len() <= 6 {
            return Err(format!("ICE server URL {url:?} does not start with stun:, stuns:, turn: or turns:"));
        }
    }
    let username = fields.next().map(str::to_owned);
    let credential = fields.next().map(str::to_owned);
    if fields.next().is_some() || username.is_some() != credential.is_some() {
        return Err("expected URL[,URL...] or URL[,URL...]|USERNAME|CREDENTIAL".to_owned());
    }
    Ok(IceServer { urls, username, credential })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_those_documented() {
        let config = Config::default();
        assert_eq!(config.listen, DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(config.www, PathBuf::from("www"));
        assert!(config.ice_servers.is_empty());
        assert!(config.allowed_origins.is_empty(), "the server's own origin only");
        assert_eq!(config.limits.max_connections_per_prefix, 1024);
        assert_eq!(config.limits.max_frame_bytes, MAX_FRAME_LEN);
        assert_eq!(config.limits.max_connections_per_ip, 256);
    }

    #[test]
    fn ice_server_with_credentials_parses() {
        let s =
            parse_ice_server("turn:t.example.org:3478?transport=udp,turns:t.example.org:5349|alice|secret").unwrap();
        assert_eq!(s.urls, ["turn:t.example.org:3478?transport=udp", "turns:t.example.org:5349"]);
        assert_eq!(s.username.as_deref(), Some("alice"));
        assert_eq!(s.credential.as_deref(), Some("secret"));
    }

    #[test]
    fn ice_server_with_other_scheme_is_refused() {
        assert!(parse_ice_server("http://example.org").is_err());
        assert!(parse_ice_server("stun:x|alice").is_err());
    }

    #[test]
    fn allowed_origins_are_parsed_from_repeated_flags() {
        let config =
            Config::parse_from(["signaling", "--allowed-origin", "https://a.example", "--allowed-origin", "*"]);
        assert_eq!(config.allowed_origins.len(), 2);
        assert!(config.allowed_origins.contains(&AllowedOrigin::Any));
        assert!(Config::try_parse_from(["signaling", "--allowed-origin", "null"]).is_err());
    }

    #[test]
    fn redis_is_off_by_default_and_its_lease_bounded() {
        let config = Config::default();
        assert_eq!(config.cluster.redis, None);
        assert_eq!(config.cluster.redis_lease_ms, 10_000);
        let config = Config::parse_from(["signaling", "--redis", "redis://127.0.0.1:6379", "--redis-lease-ms", "900"]);
        assert_eq!(config.cluster.redis.as_deref(), Some("redis://127.0.0.1:6379"));
        assert!(Config::try_parse_from(["signaling", "--redis-lease-ms", "10"]).is_err());
    }

    #[test]
    fn repeated_ice_server_flags_accumulate() {
        let config = Config::parse_from(["signaling", "--ice-server", "stun:a:1", "--ice-server", "stun:b:2"]);
        assert_eq!(config.ice_servers.len(), 2);
    }
}
