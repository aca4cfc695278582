//! A peer that knows the manifest answers each connection's ManifestRequests at a bounded rate (PROTOCOL.md 2.9):
//! a 5-byte request is answered with up to 128 KiB, so a flood of them costs the sender its answers, not the
//! responder its upload; an honest fetch never meets the limit.
mod common;

use core::time::Duration;

use common::{drain, ready, seeder, small_manifest};
use swarm::manifest::{MAX_MEDIA_TYPE_LEN, MAX_NAME_LEN, MAX_PIECES, MIN_PIECE_SIZE, Manifest};
use swarm::swarm::{MANIFEST_CHUNKS, MANIFEST_REQUEST_BURST, MANIFEST_REQUESTS_PER_SEC};
use swarm::time::Instant;
use swarm::wire::{self, Message};
use swarm::{Config, ConnId, Event, Input, Output, Swarm};

/// Requests of a flood in these tests: far beyond any burst.
const FLOOD: usize = 1000;

/// The largest manifest there can be: the longest name and media type, and `MAX_PIECES` piece hashes (their
/// values do not matter here: no piece is transferred).
fn largest_manifest() -> Manifest {
    let name = format!("{}.bin", "a".repeat(MAX_NAME_LEN - 4));
    let half = "b".repeat((MAX_MEDIA_TYPE_LEN - 1) / 2);
    let media_type = format!("{half}/{half}");
    let size = u64::from(MAX_PIECES) * u64::from(MIN_PIECE_SIZE);
    let mut bytes = vec![swarm::manifest::MANIFEST_VERSION, name.len() as u8];
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(media_type.len() as u8);
    bytes.extend_from_slice(media_type.as_bytes());
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes.extend_from_slice(&MIN_PIECE_SIZE.to_be_bytes());
    bytes.extend_from_slice(&MAX_PIECES.to_be_bytes());
    for piece in 0..MAX_PIECES {
        bytes.extend_from_slice(&[(piece % 251) as u8; 32]);
    }
    Manifest::decode(&bytes).expect("a canonical manifest at every limit")
}

/// The ManifestRequests that fetch `manifest` once.
fn manifest_chunks(manifest: &Manifest) -> u32 {
    manifest.encoded_len().div_ceil(wire::MAX_BLOCK_LEN as usize) as u32
}

/// Sends `count` ManifestRequests at offset 0 from `conn` at `now`; returns how many were answered with data.
fn ask(s: &mut Swarm, conn: ConnId, now: Instant, count: usize) -> usize {
    let request = wire::encode(&Message::ManifestRequest { offset: 0 });
    (0..count)
        .map(|_| {
            s.handle_input(now, Input::Received { conn, bytes: &request });
            manifest_answers(&drain(s), conn)
        })
        .sum()
}

/// The ManifestData messages sent to `conn`.
fn manifest_answers(outputs: &[Output], conn: ConnId) -> usize {
    outputs
        .iter()
        .filter(|o| {
            matches!(o, Output::Send { conn: c, bytes } if *c == conn
            && matches!(wire::decode(bytes), Ok(Message::ManifestData { .. })))
        })
        .count()
}

/// Delivers what `from` sends to `to` on `conn`; notes a `ManifestKnown` event in `known`. Whether anything moved.
fn pass(from: &mut Swarm, to: &mut Swarm, conn: ConnId, now: Instant, known: &mut bool) -> bool {
    let mut moved = false;
    for output in drain(from) {
        match output {
            Output::Send { bytes, .. } => {
                to.handle_input(now, Input::Received { conn, bytes: &bytes });
                moved = true;
            }
            Output::Event(Event::ManifestKnown(_)) => *known = true,
            _ => {}
        }
    }
    moved
}

fn connected(s: &Swarm, conn: ConnId) -> bool {
    s.connections().any(|c| c == conn)
}

#[test]
fn manifest_requests_beyond_the_burst_are_dropped_until_time_passes() {
    let mut s = seeder();
    ready(&mut s, ConnId(1));
    let t0 = Instant::ZERO;
    assert_eq!(ask(&mut s, ConnId(1), t0, FLOOD), MANIFEST_REQUEST_BURST as usize);
    let stats = s.stats();
    assert_eq!(stats.manifest_requests, FLOOD as u64);
    assert_eq!(stats.manifest_requests_refused, (FLOOD - MANIFEST_REQUEST_BURST as usize) as u64);
    assert!(connected(&s, ConnId(1)), "over-asking is left unanswered, not punished");
    // One token takes this long to earn back.
    let period = Duration::from_secs(1) / MANIFEST_REQUESTS_PER_SEC;
    let almost = t0 + (period - Duration::from_millis(1));
    assert_eq!(ask(&mut s, ConnId(1), almost, 1), 0);
    // One period: one more answer, and only one.
    assert_eq!(ask(&mut s, ConnId(1), t0 + period, 2), 1);
}

#[test]
fn an_honest_fetch_of_the_largest_manifest_is_never_refused() {
    let manifest = largest_manifest();
    // The largest manifest of one file; a tree's may be longer, up to MAX_MANIFEST_LEN, which the constant covers.
    assert_eq!(manifest_chunks(&manifest), 9);
    assert_eq!(MANIFEST_CHUNKS as usize, swarm::manifest::MAX_MANIFEST_LEN.div_ceil(wire::MAX_BLOCK_LEN as usize));
    let content = manifest.content_id();
    let mut seeder = Swarm::share(manifest, Config::default(), 7, Instant::ZERO);
    let mut joiner = Swarm::join(content, Config::default(), 8, Instant::ZERO);
    // Each side names the connection ConnId(1); everything happens at one instant, so no token is earned back.
    let (conn, now) = (ConnId(1), Instant::ZERO);
    seeder.handle_input(
        now,
        Input::PeerConnected { conn, max_message: swarm::wire::MAX_MESSAGE_LEN as u32, proof: common::PROOF },
    );
    joiner.handle_input(
        now,
        Input::PeerConnected { conn, max_message: swarm::wire::MAX_MESSAGE_LEN as u32, proof: common::PROOF },
    );
    let mut known = false;
    // Bounded: a handshake each way, then one request and one answer per chunk, then the have-maps.
    for _ in 0..4 * MANIFEST_CHUNKS {
        let to_joiner = pass(&mut seeder, &mut joiner, conn, now, &mut known);
        let to_seeder = pass(&mut joiner, &mut seeder, conn, now, &mut known);
        if !to_joiner && !to_seeder {
            break;
        }
    }
    assert!(known, "the joiner did not get the manifest");
    // A fetch that failed half-way and starts over on the same connection is answered too.
    let chunks = manifest_chunks(&largest_manifest());
    let mut answered = 0;
    for chunk in 0..chunks {
        let request = wire::encode(&Message::ManifestRequest { offset: chunk * wire::MAX_BLOCK_LEN });
        seeder.handle_input(now, Input::Received { conn, bytes: &request });
        answered += manifest_answers(&drain(&mut seeder), conn);
    }
    assert_eq!(answered, chunks as usize);
    assert_eq!(seeder.stats().manifest_requests_refused, 0);
}

#[test]
fn other_messages_pass_even_when_the_bucket_is_empty() {
    let mut s = seeder();
    ready(&mut s, ConnId(1));
    let t0 = Instant::ZERO;
    ask(&mut s, ConnId(1), t0, FLOOD);
    assert_eq!(ask(&mut s, ConnId(1), t0, 1), 0, "the bucket is empty");
    let request = wire::encode(&Message::Request { piece: 0, offset: 0, len: 16_384 });
    s.handle_input(t0, Input::Received { conn: ConnId(1), bytes: &request });
    let reads = drain(&mut s).iter().filter(|o| matches!(o, Output::Read { len: 16_384, .. })).count();
    assert_eq!(reads, 1, "a block request is still served");
    s.handle_input(t0, Input::Received { conn: ConnId(1), bytes: &wire::encode(&Message::KeepAlive) });
    assert!(connected(&s, ConnId(1)));
}

#[test]
fn an_idle_peer_gets_a_full_burst_back_and_no_more() {
    let mut s = seeder();
    ready(&mut s, ConnId(1));
    let t0 = Instant::ZERO;
    ask(&mut s, ConnId(1), t0, FLOOD);
    let hour = t0 + Duration::from_secs(3600);
    assert_eq!(ask(&mut s, ConnId(1), hour, FLOOD), MANIFEST_REQUEST_BURST as usize);
}

#[test]
fn a_peer_without_the_manifest_answers_every_request_unavailable() {
    // A joiner asks each peer again every round while none has the manifest: those answers are a byte each.
    let content = small_manifest().content_id();
    let mut s = Swarm::join(content, Config::default(), 7, Instant::ZERO);
    ready(&mut s, ConnId(1));
    let request = wire::encode(&Message::ManifestRequest { offset: 0 });
    let mut unavailable = 0;
    for _ in 0..FLOOD {
        s.handle_input(Instant::ZERO, Input::Received { conn: ConnId(1), bytes: &request });
        unavailable += drain(&mut s)
            .iter()
            .filter(
                |o| matches!(o, Output::Send { bytes, .. } if bytes == &wire::encode(&Message::ManifestUnavailable)),
            )
            .count();
    }
    assert_eq!(unavailable, FLOOD);
    assert_eq!(s.stats().manifest_requests_refused, 0);
}

#[test]
fn one_peers_manifest_flood_does_not_cost_another_peer_its_answers() {
    let mut s = seeder();
    ready(&mut s, ConnId(1));
    ready(&mut s, ConnId(2));
    let t0 = Instant::ZERO;
    ask(&mut s, ConnId(1), t0, FLOOD);
    assert_eq!(ask(&mut s, ConnId(2), t0, MANIFEST_CHUNKS as usize), MANIFEST_CHUNKS as usize);
}
