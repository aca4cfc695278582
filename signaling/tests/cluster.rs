//! Several instances as one service through a real `redis-server` (`--redis`): membership, relays and departures
//! across instances, the relay rules across them, an instance that dies, Redis that dies and comes back, bounded
//! Redis memory under churn, and a flood on one instance seen from another.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, RedisServer, TestServer, metric, name, offer, start, until};
use signaling::Config;
use signaling::id::Id;
use swarm::signal::{ErrorCode, PeerId, PeerRequest, ServerEvent};

/// Short enough that expiry is quick to see, long enough for a loaded machine's heartbeat (a third of it).
const LEASE_MS: u64 = 900;

fn in_cluster(redis: &RedisServer) -> impl FnOnce(&mut Config) {
    let url = redis.url();
    move |c: &mut Config| {
        c.cluster.redis = Some(url);
        c.cluster.redis_lease_ms = LEASE_MS;
    }
}

async fn health(server: &TestServer) -> String {
    String::from_utf8(server.get("/healthz").await.body).unwrap()
}

/// The instance number an id carries.
fn instance_of(id: &PeerId) -> u32 {
    Id::parse(id).unwrap().instance()
}

#[tokio::test]
async fn a_join_on_one_instance_finds_members_on_another_and_signals_cross_both_ways() {
    let redis = RedisServer::start();
    let (a, b) = (start(in_cluster(&redis)).await, start(in_cluster(&redis)).await);
    assert_eq!(health(&a).await, "ok\n");
    let mut on_b = b.client().await;
    let mut on_a = a.client().await;
    assert_ne!(instance_of(&on_a.id), instance_of(&on_b.id), "each instance names its own peers");
    assert_eq!(on_b.join("s").await, Vec::<PeerId>::new());
    assert_eq!(on_a.join("s").await, vec![on_b.id.clone()]);

    on_a.signal(&on_b.id, offer("from a")).await;
    assert_eq!(on_b.recv().await, ServerEvent::Signal { from: on_a.id.clone(), payload: offer("from a") });
    on_b.signal(&on_a.id, offer("from b")).await;
    assert_eq!(on_a.recv().await, ServerEvent::Signal { from: on_b.id.clone(), payload: offer("from b") });

    assert_eq!(metric(a.addr, "signaling_remote_relays_total{outcome=\"sent\"}").await, 1);
    assert_eq!(metric(a.addr, "signaling_remote_relays_total{outcome=\"received\"}").await, 1);
    assert_eq!(metric(b.addr, "signaling_remote_relays_total{outcome=\"received\"}").await, 1);
    assert_eq!(metric(b.addr, "signaling_redis_up").await, 1);

    // A departure on one instance is announced on the other, for a leave and for a closed connection.
    on_b.send(&PeerRequest::Leave { swarm: name("s") }).await;
    assert_eq!(on_a.recv().await, ServerEvent::PeerLeft { swarm: name("s"), peer: on_b.id.clone() });
    on_b.join("s").await;
    let gone = on_b.id.clone();
    drop(on_b);
    assert_eq!(on_a.recv().await, ServerEvent::PeerLeft { swarm: name("s"), peer: gone });
}

#[tokio::test]
async fn relays_across_instances_keep_to_a_common_swarm_and_ids_cannot_be_probed() {
    let redis = RedisServer::start();
    let (a, b) = (start(in_cluster(&redis)).await, start(in_cluster(&redis)).await);
    let mut sender = a.client().await;
    let mut stranger = b.client().await;
    let mut member = b.client().await;
    sender.join("s").await;
    stranger.join("other").await;
    member.join("s").await;
    // An existing peer of another swarm, an id on that instance that nobody holds, an id on no instance: the
    // same refusal, and nothing reaches the stranger.
    let b_instance = instance_of(&stranger.id);
    let nobody_on_b = Id::random_on(b_instance).to_peer_id();
    let nowhere = Id::random_on(b_instance.wrapping_add(1)).to_peer_id();
    for to in [&stranger.id, &nobody_on_b, &nowhere] {
        sender.signal(to, offer("probe")).await;
        assert_eq!(sender.recv_error().await, ErrorCode::UnknownPeer, "{to:?}");
    }
    // A sender in no swarm at all is refused on its own instance.
    let mut loner = a.client().await;
    loner.signal(&member.id, offer("no swarm")).await;
    assert_eq!(loner.recv_error().await, ErrorCode::UnknownPeer);
    // The first thing the stranger and the member get is what a peer of a common swarm sends them.
    let mut friend = b.client().await;
    friend.join("other").await;
    friend.signal(&stranger.id, offer("hello")).await;
    assert_eq!(stranger.recv().await, ServerEvent::Signal { from: friend.id.clone(), payload: offer("hello") });
    sender.signal(&member.id, offer("in s")).await;
    assert_eq!(member.recv().await, ServerEvent::Signal { from: sender.id.clone(), payload: offer("in s") });
    assert_eq!(metric(b.addr, "signaling_remote_relays_total{outcome=\"refused\"}").await, 2);
    assert_eq!(metric(a.addr, "signaling_remote_relays_total{outcome=\"unreachable\"}").await, 1);
}

/// `in_cluster`, then `tweak`.
fn cluster_with(redis: &RedisServer, tweak: impl FnOnce(&mut Config)) -> impl FnOnce(&mut Config) {
    let join = in_cluster(redis);
    move |c: &mut Config| {
        join(c);
        tweak(c);
    }
}

#[tokio::test]
async fn swarm_full_counts_the_members_of_every_instance() {
    let redis = RedisServer::start();
    let two = |c: &mut Config| c.limits.max_swarm_members = 2;
    let (a, b) = (start(cluster_with(&redis, two)).await, start(cluster_with(&redis, two)).await);
    let (mut a1, mut b1, mut a2, mut b2) = (a.client().await, b.client().await, a.client().await, b.client().await);
    a1.join("s").await;
    b1.join("s").await;
    for late in [&mut a2, &mut b2] {
        late.send(&PeerRequest::Join { swarm: name("s") }).await;
        assert_eq!(late.recv_error().await, ErrorCode::SwarmFull);
    }
    // The refused joiner is no member on its own instance either: a relay to it from a member there is refused.
    a1.signal(&a2.id, offer("x")).await;
    assert_eq!(a1.recv_error().await, ErrorCode::UnknownPeer);
    // Once one leaves (the other instance has heard it), there is room again.
    a1.send(&PeerRequest::Leave { swarm: name("s") }).await;
    assert_eq!(b1.recv().await, ServerEvent::PeerLeft { swarm: name("s"), peer: a1.id.clone() });
    assert_eq!(b2.join("s").await, vec![b1.id.clone()]);
}

#[tokio::test]
async fn the_members_of_an_instance_that_dies_leave_joins_within_the_lease() {
    let redis = RedisServer::start();
    let a = start(in_cluster(&redis)).await;
    let (lease, url) = (LEASE_MS.to_string(), redis.url());
    let args = ["--redis", &url, "--redis-lease-ms", &lease].map(std::ffi::OsStr::new);
    let (mut b, b_addr, _stdout) = common::spawn_binary(&args, "http", std::process::Stdio::null());
    let mut on_b = Client::connect(b_addr).await;
    on_b.join("s").await;
    let mut on_a = a.client().await;
    assert_eq!(on_a.join("s").await, vec![on_b.id.clone()]);

    b.kill().unwrap();
    b.wait().unwrap();
    let dead = on_b.id.clone();
    until("the dead instance's member to leave joins", || async {
        let mut joiner = a.client().await;
        !joiner.join("s").await.contains(&dead)
    })
    .await;
    // No instance hears relays to it any more.
    on_a.signal(&dead, offer("anyone?")).await;
    // (The joiners above left when dropped: their departures come first.)
    assert!(matches!(on_a.recv_skipping_departures().await, ServerEvent::Error { code: ErrorCode::UnknownPeer, .. }));
    // Its peer, back on the live instance, is found by the next joiner.
    let mut back = a.client().await;
    back.join("s").await;
    assert!(a.client().await.join("s").await.contains(&back.id));
}

#[tokio::test]
async fn with_redis_down_each_instance_serves_its_own_swarms_and_resynchronizes_when_it_returns() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let (a, b) = (start(in_cluster(&redis)).await, start(in_cluster(&redis)).await);
    let (mut a1, mut a2, mut b1) = (a.client().await, a.client().await, b.client().await);
    a1.join("s").await;
    a2.join("s").await;
    b1.join("s").await;

    redis.kill();
    // A relay to the other instance cannot go through: the sender may try again.
    a1.signal(&b1.id, offer("to b")).await;
    assert_eq!(a1.recv_error().await, ErrorCode::PeerBusy);
    until("A to say it is degraded", || async { health(&a).await.starts_with("degraded") }).await;
    assert_eq!(metric(a.addr, "signaling_redis_up").await, 0);
    // This instance's own swarm goes on: joins see local members, relays and departures get through.
    let mut a3 = a.client().await;
    let mut sample = a3.join("s").await;
    sample.sort();
    let mut local = vec![a1.id.clone(), a2.id.clone()];
    local.sort();
    assert_eq!(sample, local);
    a3.signal(&a1.id, offer("local")).await;
    assert_eq!(a1.recv().await, ServerEvent::Signal { from: a3.id.clone(), payload: offer("local") });
    a2.send(&PeerRequest::Leave { swarm: name("s") }).await;
    assert_eq!(a1.recv().await, ServerEvent::PeerLeft { swarm: name("s"), peer: a2.id.clone() });

    // Redis comes back empty: every instance leases its memberships again.
    let _redis = RedisServer::start_on(port);
    until("both instances to reach Redis again", || async { health(&a).await == "ok\n" && health(&b).await == "ok\n" })
        .await;
    until("a joiner on B to see A's members again", || async {
        let sample = b.client().await.join("s").await;
        sample.contains(&a1.id) && sample.contains(&a3.id) && !sample.contains(&a2.id)
    })
    .await;
    b1.signal(&a1.id, offer("again")).await;
    assert_eq!(a1.recv().await, ServerEvent::Signal { from: b1.id.clone(), payload: offer("again") });
}

/// Every key in Redis, with its time to live in milliseconds (-1: none).
async fn keys_and_ttls(redis: &RedisServer) -> Vec<(String, i64)> {
    let mut conn = redis.connection().await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    let mut out = Vec::new();
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.unwrap();
        out.push((key, ttl));
    }
    out
}

#[tokio::test]
async fn redis_holds_no_key_without_a_lease_and_only_live_memberships_after_churn() {
    let redis = RedisServer::start();
    let (a, b) = (start(in_cluster(&redis)).await, start(in_cluster(&redis)).await);
    let mut stays = a.client().await;
    stays.join("kept").await;
    for round in 0..40 {
        let server = if round % 2 == 0 { &a } else { &b };
        let mut churner = server.client().await;
        let swarm = format!("churn-{}", round % 7);
        churner.join(&swarm).await;
        churner.join("kept").await;
        if round % 3 == 0 {
            churner.send(&PeerRequest::Leave { swarm: name(&swarm) }).await;
            churner.ping().await;
        }
        // Half leave by closing, the others by dropping the connection.
        if round % 2 == 0 {
            churner.ws.close(None).await.unwrap();
        }
        for (key, ttl) in keys_and_ttls(&redis).await {
            assert!(ttl > 0, "{key} has no time to live ({ttl})");
        }
    }
    a.wait_connections(1).await;
    b.wait_connections(0).await;
    // Departures are announced after a session ends; the one membership left is the one that stays.
    until("only live memberships in Redis", || async {
        let members: Vec<String> =
            keys_and_ttls(&redis).await.into_iter().map(|(k, _)| k).filter(|k| k.ends_with(":m")).collect();
        members == ["p2ps:{kept}:m"]
    })
    .await;
    let mut conn = redis.connection().await;
    let kept: Vec<String> =
        redis::cmd("ZRANGE").arg("p2ps:{kept}:m").arg(0).arg(-1).query_async(&mut conn).await.unwrap();
    assert_eq!(kept, [stays.id.0.clone()]);
    for (key, ttl) in keys_and_ttls(&redis).await {
        assert!(ttl > 0 && ttl <= i64::try_from(LEASE_MS).unwrap().max(3_000), "{key}: {ttl} ms");
    }
}

#[tokio::test]
async fn a_flood_through_one_instance_costs_the_flooders_and_not_another_instances_peers() {
    let redis = RedisServer::start();
    let share = 4;
    let small = move |c: &mut Config| {
        c.limits.send_queue_per_sender = share;
        c.limits.departures_per_sec = 1;
    };
    let (a, b) = (start(cluster_with(&redis, small)).await, start(cluster_with(&redis, small)).await);
    // A receiver that stops reading: B's writes to it wait after a few frames, and what is sent to it queues.
    let mut receiver = Client::connect_small_buffer(b.addr).await;
    receiver.join("s").await;
    let mut honest = a.client().await;
    honest.join("s").await;
    let mut flooders = Vec::new();
    for _ in 0..3 {
        let mut flooder = a.client().await;
        flooder.join("s").await;
        flooders.push(flooder);
    }
    // Each flooder sends well over its share, in large frames: beyond what B could write to the receiver and its
    // share of the queue there, it is refused, on its own instance.
    // In turns, so that what B's socket buffers take (about a megabyte on loopback) is spread over them.
    let big = "x".repeat(14_000);
    let sent = share + 146;
    for i in 0..sent {
        for flooder in &mut flooders {
            flooder.signal(&receiver.id, offer(&format!("{i} {big}"))).await;
        }
    }
    honest.signal(&receiver.id, offer("honest")).await;
    let total = 3 * sent as u64 + 1;
    until("B to have queued or refused every relay", || async {
        let queued = metric(b.addr, "signaling_remote_relays_total{outcome=\"received\"}").await;
        queued + metric(b.addr, "signaling_remote_relays_total{outcome=\"refused\"}").await == total
    })
    .await;
    let refused = metric(b.addr, "signaling_remote_relays_total{outcome=\"refused\"}").await;
    // Peers of B between themselves are not touched.
    let (mut b1, mut b2) = (b.client().await, b.client().await);
    b1.join("t").await;
    b2.join("t").await;
    b1.signal(&b2.id, offer("local on b")).await;
    assert_eq!(b2.recv().await, ServerEvent::Signal { from: b1.id.clone(), payload: offer("local on b") });
    // Once the receiver reads, everything not refused reaches it, the honest relay among it; each flooder was
    // refused, on its own instance, exactly what did not reach the receiver.
    let mut delivered = std::collections::HashMap::new();
    for _ in 0..total - refused {
        let ServerEvent::Signal { from, .. } = receiver.recv().await else { panic!("only relays were sent") };
        *delivered.entry(from).or_insert(0) += 1;
    }
    assert_eq!(delivered.get(&honest.id), Some(&1));
    for flooder in &mut flooders {
        let through = delivered.get(&flooder.id).copied().unwrap_or(0);
        assert!(through < sent, "a flooder got {through} of {sent} through");
        for _ in through..sent {
            assert_eq!(flooder.recv_error().await, ErrorCode::PeerBusy);
        }
    }

    // Join/leave churn on A: the swarm's one departure rate holds across instances.
    let churner = &mut flooders[0];
    let started = std::time::Instant::now();
    let churns = 20;
    for _ in 0..churns {
        churner.send(&PeerRequest::Leave { swarm: name("s") }).await;
        churner.join("s").await;
    }
    let allowed = 2 + started.elapsed().as_secs() + 1;
    // Each departure over the rate is counted once per member not told (receiver, honest, two flooders).
    let dropped = metric(a.addr, "signaling_departures_dropped_total{reason=\"swarm_rate\"}").await;
    assert!(dropped >= (churns - allowed) * 4, "{dropped} dropped of {churns}, {allowed} allowed");
}
