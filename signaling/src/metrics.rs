//! The server's counters and gauges, rendered for `/metrics` in the OpenMetrics text format (which Prometheus
//! reads). Counters are atomics updated where things happen; gauges are read from the live state at each scrape.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::hub::StateSize;

/// Why a peer's message was refused (each is also an error reply to the peer).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Refusal {
    malformed,
    too_large,
    binary,
    rate_limited,
    too_many_swarms,
    not_in_swarm,
    unknown_peer,
    swarm_full,
    peer_busy,
}

/// Why a departure (`peer_left`) was not queued for a member of the swarm.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum DepartureDrop {
    /// The swarm announced as many departures as its rate allows.
    swarm_rate,
    /// The member's departure queue was full.
    recipient_full,
}

/// Why a connection ended or was not accepted.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum ConnectionEnd {
    /// Refused at accept: too many connections from the address.
    refused_per_ip,
    /// Refused at accept: too many connections from the address's prefix (IPv4 /24, IPv6 /48).
    refused_per_prefix,
    /// Refused at accept: the server is at its total connection limit.
    refused_capacity,
    /// An HTTP connection that did not complete a request head within the header timeout of its accept or of
    /// going idle.
    http_timeout,
    /// The client closed, or the socket failed.
    client,
    /// Nothing received for the idle timeout.
    idle,
    /// Too many protocol errors.
    misbehaving,
    /// The client did not read: a write to it timed out.
    slow_consumer,
    shutdown,
}

/// Why a WebSocket upgrade request was refused (with an HTTP error; the connection may go on).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum UpgradeRefusal {
    /// 403: the page's `Origin` is not allowed.
    origin,
    /// 400: a bad `Sec-WebSocket-Key` or `Sec-WebSocket-Version`.
    bad_handshake,
}

/// What became of a relay between instances (`--redis`).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum RemoteRelayOutcome {
    /// Published to the receiver's instance, which heard it.
    sent,
    /// Published, but no instance heard it (the receiver's instance is gone): `unknown_peer` to the sender.
    unreachable,
    /// From another instance's peer, queued for a peer here.
    received,
    /// From another instance's peer, refused here (no common swarm, or the receiver's queue full).
    refused,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RemoteRelayLabel {
    outcome: RemoteRelayOutcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpgradeLabel {
    reason: UpgradeRefusal,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabel {
    reason: Refusal,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DepartureLabel {
    reason: DepartureDrop,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndLabel {
    reason: ConnectionEnd,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    websockets_opened: Counter,
    connection_ends: Family<EndLabel, Counter>,
    upgrades_refused: Family<UpgradeLabel, Counter>,
    messages_received: Counter,
    messages_relayed: Counter,
    messages_refused: Family<RefusalLabel, Counter>,
    departures_dropped: Family<DepartureLabel, Counter>,
    connections_open: Gauge,
    peers: Gauge,
    swarms: Gauge,
    memberships: Gauge,
    redis_up: Gauge,
    redis_roundtrip: Histogram,
    redis_errors: Counter,
    remote_relays: Family<RemoteRelayLabel, Counter>,
    leased_memberships: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(false)
    }
}

impl Metrics {
    /// The metrics of a server; `cluster` adds those of `--redis`.
    pub fn new(cluster: bool) -> Metrics {
        let mut registry = Registry::with_prefix("signaling");
        let m = Metrics {
            registry: Registry::default(),
            websockets_opened: Counter::default(),
            connection_ends: Family::default(),
            upgrades_refused: Family::default(),
            messages_received: Counter::default(),
            messages_relayed: Counter::default(),
            messages_refused: Family::default(),
            departures_dropped: Family::default(),
            connections_open: Gauge::default(),
            peers: Gauge::default(),
            swarms: Gauge::default(),
            memberships: Gauge::default(),
            redis_up: Gauge::default(),
            // 50 µs to about 0.8 s.
            redis_roundtrip: Histogram::new(exponential_buckets(0.000_05, 2.0, 15)),
            redis_errors: Counter::default(),
            remote_relays: Family::default(),
            leased_memberships: Gauge::default(),
        };
        registry.register("websockets_opened", "WebSocket sessions opened", m.websockets_opened.clone());
        registry.register("connections_ended", "Connections closed or refused, by reason", m.connection_ends.clone());
        registry.register("upgrades_refused", "WebSocket upgrades refused, by reason", m.upgrades_refused.clone());
        registry.register("messages_received", "Text frames received from peers", m.messages_received.clone());
        registry.register("messages_relayed", "Signals queued for another peer", m.messages_relayed.clone());
        registry.register("messages_refused", "Peer messages refused, by reason", m.messages_refused.clone());
        registry.register(
            "departures_dropped",
            "Departures (peer_left) not queued for a swarm member, by reason",
            m.departures_dropped.clone(),
        );
        registry.register("connections_open", "TCP connections held (HTTP and WebSocket)", m.connections_open.clone());
        registry.register("peers", "Peers registered (open WebSocket sessions)", m.peers.clone());
        registry.register("swarms", "Swarms with at least one member", m.swarms.clone());
        registry.register("memberships", "Sum over swarms of their member counts", m.memberships.clone());
        if cluster {
            registry.register("redis_up", "1 if the last Redis command succeeded, 0 if not", m.redis_up.clone());
            registry.register(
                "redis_roundtrip_seconds",
                "Time from sending a Redis command to its answer",
                m.redis_roundtrip.clone(),
            );
            registry.register("redis_errors", "Redis commands that failed or timed out", m.redis_errors.clone());
            registry.register(
                "remote_relays",
                "Relays between this instance and others through Redis, by outcome",
                m.remote_relays.clone(),
            );
            registry.register(
                "redis_leased_memberships",
                "Memberships of this instance's peers renewed in Redis at the last heartbeat",
                m.leased_memberships.clone(),
            );
        }
        Metrics { registry, ..m }
    }
}

impl Metrics {
    pub fn websocket_opened(&self) {
        self.websockets_opened.inc();
    }
    pub fn connection_ended(&self, reason: ConnectionEnd) {
        self.connection_ends.get_or_create(&EndLabel { reason }).inc();
    }
    pub fn upgrade_refused(&self, reason: UpgradeRefusal) {
        self.upgrades_refused.get_or_create(&UpgradeLabel { reason }).inc();
    }
    pub fn message_received(&self) {
        self.messages_received.inc();
    }
    pub fn message_relayed(&self) {
        self.messages_relayed.inc();
    }
    pub fn message_refused(&self, reason: Refusal) {
        self.messages_refused.get_or_create(&RefusalLabel { reason }).inc();
    }
    /// `n` departure announcements not queued, one per member not told.
    pub fn departures_dropped(&self, reason: DepartureDrop, n: usize) {
        if n > 0 {
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            self.departures_dropped.get_or_create(&DepartureLabel { reason }).inc_by(n);
        }
    }
    pub fn departures_dropped_count(&self, reason: DepartureDrop) -> u64 {
        self.departures_dropped.get_or_create(&DepartureLabel { reason }).get()
    }
    pub fn remote_relay(&self, outcome: RemoteRelayOutcome) {
        self.remote_relays.get_or_create(&RemoteRelayLabel { outcome }).inc();
    }
    pub fn redis_roundtrip(&self, took: std::time::Duration) {
        self.redis_roundtrip.observe(took.as_secs_f64());
    }
    pub fn redis_error(&self) {
        self.redis_errors.inc();
    }
    pub fn set_redis_up(&self, up: bool) {
        self.redis_up.set(i64::from(up));
    }
    pub fn set_leased_memberships(&self, n: usize) {
        self.leased_memberships.set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    pub fn relayed(&self) -> u64 {
        self.messages_relayed.get()
    }
    pub fn refused(&self, reason: Refusal) -> u64 {
        self.messages_refused.get_or_create(&RefusalLabel { reason }).get()
    }

    /// The text of `/metrics`, with the gauges set from the state passed in.
    pub fn render(&self, connections_open: usize, state: StateSize) -> String {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.connections_open.set(gauge(connections_open));
        self.peers.set(gauge(state.peers));
        self.swarms.set(gauge(state.swarms));
        self.memberships.set(gauge(state.memberships));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
