//! Several signaling instances as one service, sharing swarms through Redis (or Valkey): `signaling --redis URL`.
//!
//! What goes through Redis is membership and relays, nothing else about a peer:
//! - **Membership.** Each swarm is a sorted set `p2ps:{SWARM}:m` of peer ids, scored by the time their lease
//!   ends (Redis's own clock, so instances need no synchronized clocks). A join is one script: drop expired
//!   members, refuse `swarm_full` against the whole cluster's count, sample the others, add the joiner. Every
//!   instance renews its own members' leases every third of the lease ([`Cluster::heartbeat`]); an instance that
//!   dies stops renewing, so its members leave every join's sample within one lease (10 s by default). Each key's
//!   own TTL is the lease, so no key outlives the instances that keep it: Redis memory is bounded by the live
//!   memberships. A renewal adds its members back if they are missing, which is also how an instance
//!   resynchronizes once Redis returns, empty or not.
//! - **Relays.** A peer id carries its instance's number ([`Id::random_on`]). A relay to a peer of another
//!   instance is published on that instance's channel with the sender's swarms; the receiving instance checks
//!   that its peer is a member of one of them, so the rule "relays only within a common swarm" is checked where
//!   the receiver's memberships are known, and queues it with the same per-sender share as a local relay. A
//!   refusal (`unknown_peer`, `peer_busy`) goes back to the sender's instance as a notice; a publish that reaches
//!   no instance is `unknown_peer` at once.
//! - **Departures** are announced through the swarm's channel `p2ps:{SWARM}:c`, to which every instance with
//!   members in the swarm is subscribed, under one departure rate per swarm kept in Redis (`p2ps:{SWARM}:d`).
//!
//! The keys of one swarm share a hash tag (`{SWARM}`), so a Redis Cluster shards by swarm. Redis and the
//! instances are one trust domain: whoever can publish to Redis can make an instance relay anything, so Redis
//! belongs on a private network, with a password (`redis://:PASSWORD@HOST:PORT`).
//!
//! When Redis cannot be reached, each instance keeps serving its own peers: joins sample local members, relays
//! within the instance go through, relays to other instances are `peer_busy`, departures use the local rate.
//! `/healthz` and `/metrics` say so; the next heartbeat that reaches Redis leases every local membership again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use rand::RngExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Script, Value};
use swarm::signal::{ErrorCode, MAX_FRAME_LEN, MAX_SWARM_NAME_LEN, PeerId, ServerEvent, SwarmName};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::hub::{Hub, RemoteRelay};
use crate::id::Id;
use crate::metrics::{Metrics, RemoteRelayOutcome};

/// Longest a Redis command may take, connection included, before the instance counts Redis as unreachable.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// Swarms named in one relay between instances: a sender's swarms, at most `--max-swarms-per-peer`.
const MAX_WIRE_SWARMS: usize = 256;
/// Longest message between instances: a relayed frame plus its header.
const MAX_WIRE_LEN: usize = MAX_FRAME_LEN + MAX_WIRE_SWARMS * (MAX_SWARM_NAME_LEN + 1) + 128;
/// Refusals waiting to be sent back to another instance; beyond, they are dropped (the sender's peer gives up on
/// an unanswered offer anyway).
const REFUSAL_QUEUE: usize = 1024;
/// Swarms whose leases are renewed at once.
const RENEWALS_IN_FLIGHT: usize = 32;

/// What the cluster needs of [`crate::Limits`].
#[derive(Debug, Clone, Copy)]
pub struct ClusterLimits {
    pub max_swarm_members: usize,
    pub max_peers_per_join: usize,
    pub departures_per_sec: u32,
    /// How long a membership stays in Redis without renewal.
    pub lease: Duration,
}

/// Redis could not be reached (or answered with an error): the caller serves from this instance alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

/// This instance's link to the others.
pub struct Cluster {
    instance: u32,
    /// What this instance writes into its instance key, to tell its own claim from another's.
    nonce: String,
    conn: ConnectionManager,
    limits: ClusterLimits,
    up: AtomicBool,
    /// Channels subscribed to: the instance's own and one per swarm with members here. Changed under this lock
    /// only, each change decided from the hub's state at that moment, so the set converges on the hub's.
    subscriptions: tokio::sync::Mutex<HashSet<String>>,
    hub: Arc<Mutex<Hub>>,
    metrics: Arc<Metrics>,
    scripts: Scripts,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("instance", &format_args!("{:08x}", self.instance)).finish_non_exhaustive()
    }
}

struct Scripts {
    join: Script,
    leave: Script,
    renew: Script,
    claim: Script,
}

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            join: Script::new(JOIN),
            leave: Script::new(LEAVE),
            renew: Script::new(RENEW),
            claim: Script::new(CLAIM),
        }
    }
}

/// KEYS: members. ARGV: peer, max members, sample size, lease (ms). Returns `{'full'}` or `{'ok', member...}`.
const JOIN: &str = concat!(
    "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
    r#"local lease = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return {'full'}
end
local sample = redis.call('ZRANDMEMBER', KEYS[1], tonumber(ARGV[3]) + 1)
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
table.insert(sample, 1, 'ok')
return sample
"#
);

/// KEYS: members, departure bucket. ARGV: peer, departures per second, burst, channel, message. Returns 1 if the
/// departure was published, 0 if there was no one left to tell, minus the members not told if over the rate.
const LEAVE: &str = concat!(
    r#"if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[2])
  return 0
end
"#,
    "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
    r#"local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local result = -left
if tokens >= 1 then
  tokens = tokens - 1
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  result = 1
end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[2], math.ceil(burst * 1000 / rate) + 1000)
return result
"#
);

/// KEYS: members. ARGV: lease (ms), peer... Renews (or adds back) the peers' leases; returns the swarm's size.
const RENEW: &str = concat!(
    "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
    r#"local lease = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], lease)
return redis.call('ZCARD', KEYS[1])
"#
);

/// KEYS: the instance key. ARGV: nonce, lease (ms). 1 if the instance number is this instance's (now for one
/// more lease), 0 if another instance holds it.
const CLAIM: &str = r#"local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"#;

fn members_key(swarm: &SwarmName) -> String {
    format!("p2ps:{{{}}}:m", swarm.as_str())
}

fn departures_key(swarm: &SwarmName) -> String {
    format!("p2ps:{{{}}}:d", swarm.as_str())
}

fn swarm_channel(swarm: &SwarmName) -> String {
    format!("p2ps:{{{}}}:c", swarm.as_str())
}

fn instance_key(instance: u32) -> String {
    format!("p2ps:instance:{instance:08x}")
}

impl Cluster {
    /// Connects to Redis at `url` and runs a first heartbeat (an instance starts, degraded, while Redis is down),
    /// then starts the heartbeat and the task that sends refusals back, both ended by `cancel`. The hub must
    /// have been made with `instance`.
    pub async fn start(
        url: &str,
        instance: u32,
        limits: ClusterLimits,
        hub: Arc<Mutex<Hub>>,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
    ) -> Result<Arc<Cluster>, String> {
        let info = url.into_connection_info().map_err(|e| format!("--redis {url:?} is not a Redis URL: {e}"))?;
        // RESP3: pub/sub messages arrive as push messages on the same connection that runs the commands.
        let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings)).map_err(|e| format!("--redis: {e}"))?;
        let (refusals, refusals_out) = mpsc::channel(REFUSAL_QUEUE);
        let inbox = Inbox { hub: Arc::clone(&hub), metrics: Arc::clone(&metrics), refusals, instance };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
            .set_push_sender(move |info: PushInfo| {
                inbox.on_push(info);
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription();
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| format!("--redis: {e}"))?;
        let nonce = format!("{:032x}", rand::rng().random::<u128>());
        let cluster = Arc::new(Cluster {
            instance,
            nonce,
            conn,
            limits,
            up: AtomicBool::new(false),
            subscriptions: tokio::sync::Mutex::new(HashSet::new()),
            hub,
            metrics,
            scripts: Scripts::new(),
        });
        match cluster.beat().await {
            Ok(_) => tracing::info!(instance = %format_args!("{instance:08x}"), "in the cluster: Redis reached"),
            Err(Unavailable) => {
                tracing::warn!("Redis unreachable at start: serving this instance's peers alone until it is back")
            }
        }
        tokio::spawn(Arc::clone(&cluster).heartbeat(cancel.clone()));
        tokio::spawn(Arc::clone(&cluster).send_refusals(refusals_out, cancel));
        Ok(cluster)
    }

    /// A random instance number for a new instance; its heartbeat claims it in Redis.
    pub fn random_instance() -> u32 {
        rand::rng().random()
    }

    /// Whether the last command reached Redis.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Adds `id` to `swarm` in Redis and samples the other members of the whole cluster; `Ok(None)` if the
    /// swarm is full there. Then makes sure this instance hears the swarm's departures.
    pub async fn join(&self, swarm: &SwarmName, id: Id) -> Result<Option<Vec<PeerId>>, Unavailable> {
        let k = self.limits.max_peers_per_join;
        let mut call = self.scripts.join.key(members_key(swarm));
        call.arg(id.to_string()).arg(self.limits.max_swarm_members).arg(k).arg(lease_ms(self.limits.lease));
        let mut conn = self.conn.clone();
        let reply: Vec<String> = self.timed(call.invoke_async(&mut conn)).await?;
        self.sync_subscription(swarm).await;
        match reply.split_first() {
            Some((status, members)) if status == "ok" => {
                let me = id.to_string();
                let sample = members.iter().filter(|m| **m != me).filter_map(|m| Id::parse(&PeerId(m.clone())));
                Ok(Some(sample.take(k).map(Id::to_peer_id).collect()))
            }
            _ => Ok(None),
        }
    }

    /// Takes `id` out of `swarm` in Redis and announces its departure to the cluster if the swarm's rate allows.
    pub async fn leave(&self, swarm: &SwarmName, id: Id) -> Result<(), Unavailable> {
        let message = Wire::Left { swarm: swarm.clone(), peer: id }.encode();
        let per_sec = self.limits.departures_per_sec;
        let mut call = self.scripts.leave.key(members_key(swarm));
        call.key(departures_key(swarm)).arg(id.to_string()).arg(per_sec).arg(per_sec.saturating_mul(2));
        call.arg(swarm_channel(swarm)).arg(message);
        let mut conn = self.conn.clone();
        let result = self.timed(call.invoke_async::<i64>(&mut conn)).await;
        self.sync_subscription(swarm).await;
        if let Ok(not_told) = result
            && not_told < 0
        {
            let n = usize::try_from(-not_told).unwrap_or(usize::MAX);
            self.metrics.departures_dropped(crate::metrics::DepartureDrop::swarm_rate, n);
        }
        result.map(|_| ())
    }

    /// Publishes a relay to the instance of its receiver: `unknown_peer` if no instance heard it, `peer_busy`
    /// if Redis could not be reached (the sender may try again).
    pub async fn relay(&self, relay: RemoteRelay) -> Result<(), ErrorCode> {
        let channel = instance_key(relay.to.instance());
        let message = Wire::Relay { from: relay.from, to: relay.to, swarms: relay.swarms, text: relay.text }.encode();
        let mut conn = self.conn.clone();
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(channel).arg(message);
        match self.timed(publish.query_async::<i64>(&mut conn)).await {
            Ok(0) => {
                self.metrics.remote_relay(RemoteRelayOutcome::unreachable);
                Err(ErrorCode::UnknownPeer)
            }
            Ok(_) => {
                self.metrics.remote_relay(RemoteRelayOutcome::sent);
                Ok(())
            }
            Err(Unavailable) => Err(ErrorCode::PeerBusy),
        }
    }

    /// Subscribes to `swarm`'s channel if it has members here, unsubscribes if not.
    async fn sync_subscription(&self, swarm: &SwarmName) {
        if !self.is_up() {
            return;
        }
        let channel = swarm_channel(swarm);
        let mut subscribed = self.subscriptions.lock().await;
        let want = self.hub().has_members(swarm);
        if want != subscribed.contains(&channel) {
            let _ = self.set_subscription(&mut subscribed, channel, want).await;
        }
    }

    async fn set_subscription(
        &self,
        subscribed: &mut HashSet<String>,
        channel: String,
        want: bool,
    ) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        if want {
            self.timed(conn.subscribe(&channel)).await?;
            subscribed.insert(channel);
        } else {
            self.timed(conn.unsubscribe(&channel)).await?;
            subscribed.remove(&channel);
        }
        Ok(())
    }

    /// Every third of the lease: claims the instance number, subscribes to what the hub needs (and only that),
    /// and renews the lease of every local membership.
    async fn heartbeat(self: Arc<Self>, cancel: CancellationToken) {
        let period = self.limits.lease / 3;
        let mut tick = tokio::time::interval_at(Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            let was_up = self.is_up();
            if let Ok(leased) = self.beat().await {
                self.metrics.set_leased_memberships(leased);
                if !was_up {
                    tracing::info!(instance = %format_args!("{:08x}", self.instance), leased,
                        "Redis reached: this instance's memberships are leased in the cluster");
                }
            }
        }
        // A clean stop frees the instance number at once rather than at the end of its lease.
        let mut conn = self.conn.clone();
        let _ = tokio::time::timeout(
            COMMAND_TIMEOUT,
            redis::cmd("DEL").arg(instance_key(self.instance)).exec_async(&mut conn),
        )
        .await;
    }

    async fn beat(&self) -> Result<usize, Unavailable> {
        let lease = lease_ms(self.limits.lease);
        let mut conn = self.conn.clone();
        let mut claim = self.scripts.claim.key(instance_key(self.instance));
        claim.arg(&self.nonce).arg(lease);
        // The one call made while Redis is counted down: it is what finds Redis back.
        let held: i64 = self.timed_always(claim.invoke_async(&mut conn)).await?;
        if held == 0 {
            tracing::error!(instance = %format_args!("{:08x}", self.instance),
                "another instance holds this instance number: relays to this instance's peers may go astray");
        }
        {
            let mut subscribed = self.subscriptions.lock().await;
            let mut want: HashSet<String> = self.hub().swarm_names().iter().map(swarm_channel).collect();
            want.insert(instance_key(self.instance));
            let extra: Vec<String> = subscribed.difference(&want).cloned().collect();
            let missing: Vec<String> = want.difference(&subscribed).cloned().collect();
            for channel in extra {
                self.set_subscription(&mut subscribed, channel, false).await?;
            }
            for channel in missing {
                self.set_subscription(&mut subscribed, channel, true).await?;
            }
        }
        // One swarm's members at a time, taken when its renewal starts: never a copy of every membership at once,
        // which the allocator would keep as resident memory between heartbeats.
        let leased = std::sync::atomic::AtomicUsize::new(0);
        let renewals = futures::stream::iter(self.hub().swarm_names().into_iter().map(|swarm| {
            let (mut conn, leased) = (self.conn.clone(), &leased);
            async move {
                let mut call = self.scripts.renew.key(members_key(&swarm));
                call.arg(lease);
                let members = self.hub().members(&swarm);
                leased.fetch_add(members.len(), Ordering::Relaxed);
                for id in members {
                    call.arg(id.to_string());
                }
                self.timed(call.invoke_async::<i64>(&mut conn)).await
            }
        }))
        .buffer_unordered(RENEWALS_IN_FLIGHT);
        let failed = renewals.filter(|r| std::future::ready(r.is_err())).count().await;
        if failed > 0 { Err(Unavailable) } else { Ok(leased.into_inner()) }
    }

    /// Sends refusals of relays from other instances' peers back to those instances.
    async fn send_refusals(self: Arc<Self>, mut refusals: mpsc::Receiver<(u32, String)>, cancel: CancellationToken) {
        loop {
            let (instance, message) = tokio::select! {
                () = cancel.cancelled() => break,
                next = refusals.recv() => match next {
                    Some(next) => next,
                    None => break,
                },
            };
            let mut conn = self.conn.clone();
            let mut publish = redis::cmd("PUBLISH");
            publish.arg(instance_key(instance)).arg(message);
            let _ = self.timed(publish.query_async::<i64>(&mut conn)).await;
        }
    }

    /// Runs a Redis command unless Redis is counted unreachable (then fails at once, so that an outage costs
    /// peers nothing); times it and keeps the count of what reached Redis.
    async fn timed<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, Unavailable> {
        if !self.is_up() {
            return Err(Unavailable);
        }
        self.timed_always(call).await
    }

    async fn timed_always<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, Unavailable> {
        let started = Instant::now();
        let result = tokio::time::timeout(COMMAND_TIMEOUT, call).await;
        self.metrics.redis_roundtrip(started.elapsed());
        match result {
            Ok(Ok(value)) => {
                if !self.up.swap(true, Ordering::Relaxed) {
                    self.metrics.set_redis_up(true);
                }
                Ok(value)
            }
            Ok(Err(e)) => Err(self.unreachable(&e.to_string())),
            Err(_) => Err(self.unreachable("no answer within the command timeout")),
        }
    }

    fn unreachable(&self, why: &str) -> Unavailable {
        self.metrics.redis_error();
        if self.up.swap(false, Ordering::Relaxed) {
            self.metrics.set_redis_up(false);
            tracing::warn!(error = why, "Redis unreachable: serving this instance's peers alone until it is back");
        }
        Unavailable
    }

    fn hub(&self) -> std::sync::MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn lease_ms(lease: Duration) -> u64 {
    u64::try_from(lease.as_millis()).unwrap_or(u64::MAX)
}

/// What the Redis connection's push messages (pub/sub) are handed to. Runs on the connection's reader, so it
/// only takes the hub's lock for a queue push and never waits.
struct Inbox {
    hub: Arc<Mutex<Hub>>,
    metrics: Arc<Metrics>,
    refusals: mpsc::Sender<(u32, String)>,
    instance: u32,
}

impl Inbox {
    fn on_push(&self, info: PushInfo) {
        if info.kind != PushKind::Message {
            return;
        }
        let Some(Value::BulkString(message)) = info.data.get(1) else { return };
        let wire = match Wire::parse(message) {
            Ok(wire) => wire,
            Err(e) => {
                self.metrics.redis_error();
                tracing::warn!(error = e, "a message between instances could not be read");
                return;
            }
        };
        let mut hub = self.hub.lock().unwrap_or_else(PoisonError::into_inner);
        match wire {
            Wire::Relay { from, to, swarms, text } => {
                if to.instance() != self.instance {
                    return;
                }
                match hub.deliver(from, to, &swarms, text) {
                    Ok(()) => self.metrics.remote_relay(RemoteRelayOutcome::received),
                    Err(code) => {
                        self.metrics.remote_relay(RemoteRelayOutcome::refused);
                        let refusal = Wire::Refused { to: from, code }.encode();
                        // A full queue drops the refusal: the sender's peer gives up on an unanswered offer.
                        let _ = self.refusals.try_send((from.instance(), refusal));
                    }
                }
            }
            Wire::Refused { to, code } => {
                let event = ServerEvent::Error { code, message: crate::connection::describe(code).to_owned() };
                if let Ok(text) = serde_json::to_string(&event) {
                    hub.push_notice(to, Arc::from(text));
                }
            }
            Wire::Left { swarm, peer } => hub.deliver_departure(peer, &swarm),
        }
    }
}

/// A message between instances, on an instance's channel (relays, refusals) or a swarm's (departures). Lines
/// separated by `\n`; ids and swarm names cannot contain one, and a relayed frame is the last field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// `r`, from, to, the sender's swarms (comma-separated), the `signal` event's text.
    Relay { from: Id, to: Id, swarms: Vec<SwarmName>, text: String },
    /// `x`, to (the sender of the refused relay), the error code.
    Refused { to: Id, code: ErrorCode },
    /// `l`, swarm, peer.
    Left { swarm: SwarmName, peer: Id },
}

impl Wire {
    pub fn encode(&self) -> String {
        match self {
            Wire::Relay { from, to, swarms, text } => {
                let swarms: Vec<&str> = swarms.iter().map(SwarmName::as_str).collect();
                format!("r\n{from}\n{to}\n{}\n{text}", swarms.join(","))
            }
            Wire::Refused { to, code } => {
                let code = serde_json::to_string(code).unwrap_or_default();
                format!("x\n{to}\n{}", code.trim_matches('"'))
            }
            Wire::Left { swarm, peer } => format!("l\n{}\n{peer}", swarm.as_str()),
        }
    }

    /// Parses a message, with the same limits whoever sent it.
    pub fn parse(bytes: &[u8]) -> Result<Wire, &'static str> {
        if bytes.len() > MAX_WIRE_LEN {
            return Err("message over the length limit");
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "message is not UTF-8")?;
        let id = |s: Option<&str>| s.and_then(|s| Id::parse(&PeerId(s.to_owned()))).ok_or("bad peer id");
        let swarm = |s: &str| SwarmName::parse(s).map_err(|_| "bad swarm name");
        let mut fields = text.splitn(5, '\n');
        match fields.next() {
            Some("r") => {
                let (from, to) = (id(fields.next())?, id(fields.next())?);
                let names = fields.next().ok_or("no swarms")?;
                if names.split(',').count() > MAX_WIRE_SWARMS {
                    return Err("too many swarms");
                }
                let swarms = names.split(',').map(swarm).collect::<Result<Vec<_>, _>>()?;
                let text = fields.next().ok_or("no frame")?;
                if text.len() > MAX_FRAME_LEN {
                    return Err("relayed frame over the frame limit");
                }
                Ok(Wire::Relay { from, to, swarms, text: text.to_owned() })
            }
            Some("x") => {
                let to = id(fields.next())?;
                let code = fields.next().ok_or("no code")?;
                if fields.next().is_some() {
                    return Err("extra fields");
                }
                let code =
                    serde_json::from_value(serde_json::Value::String(code.to_owned())).map_err(|_| "bad code")?;
                Ok(Wire::Refused { to, code })
            }
            Some("l") => {
                let swarm = swarm(fields.next().ok_or("no swarm")?)?;
                let peer = id(fields.next())?;
                if fields.next().is_some() {
                    return Err("extra fields");
                }
                Ok(Wire::Left { swarm, peer })
            }
            _ => Err("unknown message kind"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> SwarmName {
        SwarmName::parse(s).unwrap()
    }

    #[test]
    fn messages_between_instances_round_trip() {
        let (a, b) = (Id::random_on(1), Id::random_on(2));
        let text = r#"{"type":"signal","from":"x","payload":{"kind":"offer","sdp":"v=0\r\na=x\n"}}"#.to_owned();
        for wire in [
            Wire::Relay { from: a, to: b, swarms: vec![name("s1"), name("net:x")], text },
            Wire::Refused { to: a, code: ErrorCode::PeerBusy },
            Wire::Left { swarm: name("s"), peer: b },
        ] {
            assert_eq!(Wire::parse(wire.encode().as_bytes()), Ok(wire.clone()), "{wire:?}");
        }
    }

    #[test]
    fn malformed_messages_between_instances_are_refused() {
        let a = Id::random_on(1);
        for bad in [
            String::new(),
            "q\n".to_owned(),
            format!("r\n{a}\nnot-an-id\ns\n{{}}"),
            format!("r\n{a}\n{a}\nBAD NAME\n{{}}"),
            format!("r\n{a}\n{a}\ns"),
            format!("x\n{a}\nno_such_code"),
            format!("x\n{a}\npeer_busy\nmore"),
            format!("l\ns\n{a}\nmore"),
            format!("r\n{a}\n{a}\ns\n{}", "x".repeat(MAX_FRAME_LEN + 1)),
            format!("r\n{a}\n{a}\n{}\n{{}}", vec!["s"; MAX_WIRE_SWARMS + 1].join(",")),
        ] {
            assert!(Wire::parse(bad.as_bytes()).is_err(), "{bad:.80?}");
        }
        assert!(Wire::parse(&[0xff, b'\n']).is_err());
    }
}
