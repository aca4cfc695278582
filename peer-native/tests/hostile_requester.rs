//! A remote peer that asks a seeder for a lot and never reads the answers cannot make the seeder hold more than one
//! channel's bound in memory, and an honest leecher of the same seeder still finishes.
//!
//! The attacker is a raw webrtc-rs peer connection, not a node: it answers the seeder's offer, sends its Handshake
//! and its requests on the content's channel, and never polls the channel again, so webrtc-rs stops taking the
//! seeder's messages off the wire and the seeder's send buffer and queue fill up.

// Helpers outside #[test] functions panic on a failed setup step, as the tests do.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/raw_peer.rs"]
mod raw_peer;

use common::{Running, Server, TRANSFER_TIMEOUT, World, options, random_file, sha256};
use peer_native::node::{ContentSpec, Counters};
use peer_native::out_queue::MAX_QUEUED_BYTES;
use swarm::manifest::{MIN_PIECE_SIZE, Manifest, ManifestBuilder};
use swarm::swarm::{MANIFEST_REQUEST_BURST, MANIFEST_REQUESTS_PER_SEC};
use swarm::wire::{self, Message};
use tokio::sync::watch;
use webrtc::data_channel::DataChannelEvent;

/// Manifest requests the attacker sends: 25,000 bytes asking for about 320 MiB of answers.
const MANIFEST_FLOOD: u64 = 5_000;

/// The seeder's counters once `done` holds for them or more than one channel's bound was queued (whichever comes
/// first), checked to be within the bound.
async fn settled(counters: &mut watch::Receiver<Counters>, what: &str, done: impl Fn(&Counters) -> bool) -> Counters {
    let seen = tokio::time::timeout(
        TRANSFER_TIMEOUT,
        counters.wait_for(|c| done(c) || c.peak_queued_bytes > MAX_QUEUED_BYTES),
    )
    .await
    .expect(what)
    .map(|c| *c)
    .unwrap();
    assert!(
        seen.peak_queued_bytes <= MAX_QUEUED_BYTES,
        "{} bytes were queued for one channel (bound {MAX_QUEUED_BYTES})",
        seen.peak_queued_bytes
    );
    seen
}

/// A random file of `len` bytes cut into the smallest pieces, so its manifest is large: 32 bytes a piece.
fn small_pieces_manifest(path: &std::path::Path) -> Manifest {
    let data = std::fs::read(path).unwrap();
    let mut b =
        ManifestBuilder::with_piece_size("source.bin", data.len() as u64, "application/octet-stream", MIN_PIECE_SIZE)
            .unwrap();
    b.update(&data);
    b.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_requester_that_never_reads_cannot_grow_the_seeders_memory() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).try_init();
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    // 2,048 pieces: a 64 KiB hash list, so every ManifestRequest at offset 0 is answered with about 64 KiB.
    let source = random_file(dir.path(), "source.bin", 2048 * MIN_PIECE_SIZE as usize);
    let manifest = small_pieces_manifest(&source);
    assert!(manifest.encode().len() > 64 * 1024);
    let (observer, mut counters) = watch::channel(Counters::default());
    let spec = ContentSpec::Seed { path: source.clone(), manifest: manifest.clone() };
    let started = std::time::Instant::now();
    let (attacker, seeder) = tokio::time::timeout(TRANSFER_TIMEOUT, async {
        raw_peer::join_first(&server.url, manifest.content_id(), || {
            Running::start(options(&server), vec![spec], Some(observer))
        })
        .await
    })
    .await
    .expect("attacker connected");

    for _ in 0..MANIFEST_FLOOD {
        attacker.send(&Message::ManifestRequest { offset: 0 }).await;
    }
    // The seeder is done with the flood once it saw every request, or gave the channel up.
    let seen = settled(&mut counters, "the seeder neither received every request nor gave the channel up", |c| {
        c.manifest_requests >= MANIFEST_FLOOD || c.overruns > 0
    })
    .await;
    // The rate limit is what held, before the queue's bound had to: a burst, then one a second.
    assert_eq!(seen.overruns, 0);
    let admitted = seen.manifest_requests - seen.manifest_requests_refused;
    let earned = started.elapsed().as_secs() * u64::from(MANIFEST_REQUESTS_PER_SEC);
    let allowed = u64::from(MANIFEST_REQUEST_BURST) + earned + u64::from(MANIFEST_REQUESTS_PER_SEC);
    assert!(admitted <= allowed, "{admitted} manifest requests answered, at most {allowed} allowed");

    // Meanwhile the seeder serves an honest leecher.
    let out = dir.path().join("copy.bin");
    let leecher = Running::get(options(&server), &manifest, &out, None).finished().await;
    assert!(leecher[0].complete, "{:?}", leecher[0].errors);
    assert_eq!(sha256(&out), sha256(&source));
    drop(attacker);
    seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_requester_that_never_reads_is_dropped_at_the_queue_bound() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).try_init();
    let w = World::new(48 * 1024 * 1024).await;
    let m = &w.manifest;
    let (observer, mut counters) = watch::channel(Counters::default());
    let spec = ContentSpec::Seed { path: w.source.clone(), manifest: m.clone() };
    let (attacker, seeder) = tokio::time::timeout(TRANSFER_TIMEOUT, async {
        raw_peer::join_first(&w.server.url, m.content_id(), || Running::start(w.options(), vec![spec], Some(observer)))
            .await
    })
    .await
    .expect("attacker connected");

    // Every whole block of the file: three times the bound in answers. The seeder reads each at once (storage is
    // inline), so its upload queue never holds them: they all go to the channel's queue.
    let block = wire::MAX_BLOCK_LEN;
    let requests: Vec<(u32, u32)> = (0..m.piece_count())
        .flat_map(|piece| (0..m.piece_len(piece) / block).map(move |b| (piece, b * block)))
        .collect();
    assert!(requests.len() * block as usize >= 3 * MAX_QUEUED_BYTES);
    for (piece, offset) in requests {
        attacker.send(&Message::Request { piece, offset, len: block }).await;
    }
    let seen = settled(&mut counters, "the seeder neither dropped the attacker nor queued past the bound", |c| {
        c.overruns >= 1
    })
    .await;
    assert_eq!(seen.overruns, 1, "the attacker's channel was given up");

    let out = w.path("copy.bin");
    let leecher = Running::get(w.options(), m, &out, None).finished().await;
    assert!(leecher[0].complete, "{:?}", leecher[0].errors);
    assert_eq!(sha256(&out), sha256(&w.source));
    drop(attacker);
    seeder.stop().await;
}

/// PROTOCOL.md 2.9: a violation ends the channel with Goodbye(ProtocolViolation) and then the close. A have-map of
/// the wrong length (here none at all, which a literal reading of "a joiner sends an empty one" gives) must reach
/// its sender as that Goodbye before the channel closes, not as a bare close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_have_map_of_the_wrong_length_gets_the_goodbye_before_the_close() {
    let w = World::new(4 * 1024 * 1024).await;
    let m = &w.manifest;
    let spec = ContentSpec::Seed { path: w.source.clone(), manifest: m.clone() };
    let (attacker, seeder) = tokio::time::timeout(TRANSFER_TIMEOUT, async {
        raw_peer::join_first(&w.server.url, m.content_id(), || Running::start(w.options(), vec![spec], None)).await
    })
    .await
    .expect("attacker connected");
    attacker.send(&Message::HaveMap { bits: &[] }).await;

    let mut received = Vec::new();
    let closed = tokio::time::timeout(TRANSFER_TIMEOUT, async {
        loop {
            match attacker.dc.poll().await {
                Some(DataChannelEvent::OnMessage(msg)) => received.push(msg.data.to_vec()),
                Some(DataChannelEvent::OnClose) | None => break,
                Some(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the seeder never closed the channel");
    let last = received.last().map(|b| wire::decode(b));
    assert!(
        matches!(last, Some(Ok(Message::Goodbye { reason: wire::GoodbyeReason::ProtocolViolation }))),
        "the last message before the close was {last:?}"
    );
    seeder.stop().await;
}
