//! `Config::shell_hashes`: a complete piece goes to the shell as `Output::Hash` and comes back as
//! `Input::HashDone`; the engine then goes on exactly as when it hashes inline: a matching digest is written, a
//! mismatch is refetched and its sender struck (banned at `strikes_to_ban`), a piece the shell could not hash is
//! hashed by the engine. Off by default. A whole simulated swarm with a liar and hashing shells:
//! `sim_lying_peer.rs`.
mod common;

use common::{file, manifest};
use sha2::{Digest, Sha256};
use swarm::bitfield::Bitfield;
use swarm::manifest::MIN_PIECE_SIZE;
use swarm::time::Instant;
use swarm::wire::{self, GoodbyeReason, Message};
use swarm::{Config, ConnId, Event, Input, OpId, Output, Swarm};

const PIECES: u32 = 4;
/// Two blocks a piece, so that a piece completes on its second block.
const BLOCK: u32 = MIN_PIECE_SIZE / 2;
const SEEDER: ConnId = ConnId(1);
/// The file's length, in bytes.
const LEN: usize = (PIECES * MIN_PIECE_SIZE) as usize;

fn config(shell_hashes: bool) -> Config {
    Config { shell_hashes, block_len: BLOCK, ..Config::default() }
}

/// What a test sees of the leecher's outputs, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    Request { piece: u32, offset: u32 },
    Goodbye(GoodbyeReason),
    Close,
    Hash { op: OpId, offset: u64, data: Vec<u8> },
    Write { op: OpId, offset: u64, data: Vec<u8> },
    Event(Event),
}

fn drain(s: &mut Swarm) -> Vec<Seen> {
    let mut out = Vec::new();
    for o in common::drain(s) {
        match o {
            Output::Send { bytes, .. } => match wire::decode(&bytes).expect("the swarm sends well-formed messages") {
                Message::Request { piece, offset, .. } => out.push(Seen::Request { piece, offset }),
                Message::Goodbye { reason } => out.push(Seen::Goodbye(reason)),
                _ => {}
            },
            Output::Close { .. } => out.push(Seen::Close),
            Output::Hash { op, offset, data } => out.push(Seen::Hash { op, offset, data }),
            Output::Write { op, offset, data } => out.push(Seen::Write { op, offset, data }),
            Output::Event(Event::PeerReady { .. } | Event::ManifestKnown(_)) => {}
            Output::Event(e) => out.push(Seen::Event(e)),
            Output::Read { .. } => panic!("a leecher with nothing verified reads nothing"),
        }
    }
    out
}

fn receive(s: &mut Swarm, msg: &Message<'_>) -> Vec<Seen> {
    let bytes = wire::encode(msg);
    s.handle_input(Instant::ZERO, Input::Received { conn: SEEDER, bytes: &bytes });
    drain(s)
}

/// A leecher with nothing, connected to a seeder that has everything; returns it and its first requests.
fn leecher(config: Config) -> (Swarm, Vec<Seen>) {
    let m = manifest(&file(LEN), MIN_PIECE_SIZE);
    let mut s = Swarm::resume(m, Bitfield::new(PIECES), config, 3, Instant::ZERO);
    common::connect(&mut s, SEEDER);
    drain(&mut s);
    receive(&mut s, &Message::Handshake { version: wire::VERSION, proof: common::PROOF.expect });
    let full = Bitfield::full(PIECES);
    let requests = receive(&mut s, &Message::HaveMap { bits: full.as_bytes() });
    (s, requests)
}

/// Answers the requests among `seen`, and those the answers bring, with the file's bytes (the first byte of each
/// block flipped if `lie`); returns everything else the leecher output meanwhile, requests included.
fn answer(s: &mut Swarm, seen: &[Seen], lie: bool) -> Vec<Seen> {
    let f = file(LEN);
    let mut out = Vec::new();
    let mut todo: std::collections::VecDeque<(u32, u32)> = requests_in(seen).collect();
    while let Some((piece, offset)) = todo.pop_front() {
        let start = (piece * MIN_PIECE_SIZE + offset) as usize;
        let mut data = f[start..start + BLOCK as usize].to_vec();
        if lie {
            data[0] ^= 0xff;
        }
        let got = receive(s, &Message::Block { piece, offset, data: &data });
        todo.extend(requests_in(&got));
        out.extend(got);
    }
    out
}

fn requests_in(seen: &[Seen]) -> impl Iterator<Item = (u32, u32)> + '_ {
    seen.iter().filter_map(|r| if let Seen::Request { piece, offset } = *r { Some((piece, offset)) } else { None })
}

fn hashes(seen: &[Seen]) -> Vec<(OpId, Vec<u8>)> {
    seen.iter()
        .filter_map(|x| if let Seen::Hash { op, data, .. } = x { Some((*op, data.clone())) } else { None })
        .collect()
}

fn piece_of(data: &[u8]) -> u32 {
    let f = file(LEN);
    (0..PIECES)
        .find(|&p| &f[(p * MIN_PIECE_SIZE) as usize..((p + 1) * MIN_PIECE_SIZE) as usize] == data)
        .expect("the hashed bytes are one whole piece of the file")
}

fn digest(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[test]
fn a_complete_piece_is_handed_to_the_shell_and_written_once_its_digest_matches() {
    let (mut s, requests) = leecher(config(true));
    let seen = answer(&mut s, &requests, false);
    assert!(!seen.iter().any(|x| matches!(x, Seen::Write { .. })), "nothing is written before its hash is known");
    let hashed = hashes(&seen);
    assert_eq!(hashed.len() as u32, PIECES, "every complete piece goes to the shell: {seen:?}");
    for x in &seen {
        if let Seen::Hash { offset, data, .. } = x {
            // The offset names the piece, so a shell can check the digest against the manifest itself.
            assert_eq!(*offset, u64::from(piece_of(data) * MIN_PIECE_SIZE), "Output::Hash says where the piece is");
        }
    }
    for (op, data) in hashed {
        let piece = piece_of(&data);
        let d = digest(&data);
        let after = {
            s.handle_input(Instant::ZERO, Input::HashDone { op, data: data.clone(), digest: Some(d) });
            drain(&mut s)
        };
        let write = after.iter().find_map(|x| match x {
            Seen::Write { op, offset, data: w } => Some((*op, *offset, w.clone())),
            _ => None,
        });
        let (wop, offset, written) = write.expect("a matching digest is written");
        assert_eq!(offset, u64::from(piece * MIN_PIECE_SIZE));
        assert_eq!(written, data, "the bytes written are the piece's");
        s.handle_input(Instant::ZERO, Input::WriteDone { op: wop, result: Ok(()) });
        assert!(drain(&mut s).contains(&Seen::Event(Event::PieceVerified { piece })));
    }
    assert!(s.is_complete());
    assert_eq!(s.stats().wasted_bytes, 0);
}

#[test]
fn a_mismatched_digest_is_refetched_then_its_only_sender_is_struck_and_banned() {
    let (mut s, requests) = leecher(Config { strikes_to_ban: 2, ..config(true) });
    let seen = answer(&mut s, &requests, true);
    let hashed = hashes(&seen);
    assert!(hashed.len() >= 2, "the liar's pieces reach the shell: {seen:?}");
    // The shell says what SHA-256 says: these bytes are not the manifest's piece.
    let (op, data) = hashed[0].clone();
    s.handle_input(Instant::ZERO, Input::HashDone { op, digest: Some(digest(&data)), data });
    let first = drain(&mut s);
    assert!(first.iter().any(|x| matches!(x, Seen::Event(Event::PieceFailed { .. }))), "{first:?}");
    assert!(!first.iter().any(|x| matches!(x, Seen::Write { .. })), "a mismatched piece is never written");
    assert!(first.iter().any(|x| matches!(x, Seen::Request { .. })), "the failed piece is requested again: {first:?}");
    assert!(!first.contains(&Seen::Close), "one strike is not a ban");
    assert_eq!(s.stats().peers, 1);

    let (op, data) = hashed[1].clone();
    s.handle_input(Instant::ZERO, Input::HashDone { op, digest: Some(digest(&data)), data });
    let second = drain(&mut s);
    assert!(second.iter().any(|x| matches!(x, Seen::Event(Event::PeerBanned { conn: SEEDER, .. }))), "{second:?}");
    assert!(second.contains(&Seen::Goodbye(GoodbyeReason::Banned)));
    assert!(second.contains(&Seen::Close));
    assert_eq!(s.stats().peers, 0);
    assert_eq!(s.stats().verified_pieces, 0);
}

#[test]
fn a_digest_that_differs_from_the_manifest_fails_even_for_honest_bytes() {
    // The engine compares the shell's digest, not its own: a shell that says "not this" is believed.
    let (mut s, requests) = leecher(config(true));
    let (op, data) = hashes(&answer(&mut s, &requests, false))[0].clone();
    s.handle_input(Instant::ZERO, Input::HashDone { op, data, digest: Some([0; 32]) });
    let after = drain(&mut s);
    assert!(after.iter().any(|x| matches!(x, Seen::Event(Event::PieceFailed { .. }))), "{after:?}");
    assert!(!after.iter().any(|x| matches!(x, Seen::Write { .. })));
}

#[test]
fn a_piece_the_shell_could_not_hash_is_hashed_by_the_engine() {
    let (mut s, requests) = leecher(config(true));
    let hashed = hashes(&answer(&mut s, &requests, false));
    let (op, data) = hashed[0].clone();
    s.handle_input(Instant::ZERO, Input::HashDone { op, data: data.clone(), digest: None });
    let after = drain(&mut s);
    assert!(after.iter().any(|x| matches!(x, Seen::Write { data: w, .. } if *w == data)), "{after:?}");

    let (mut s, requests) = leecher(config(true));
    let (op, data) = hashes(&answer(&mut s, &requests, true))[0].clone();
    s.handle_input(Instant::ZERO, Input::HashDone { op, data, digest: None });
    let after = drain(&mut s);
    assert!(after.iter().any(|x| matches!(x, Seen::Event(Event::PieceFailed { .. }))), "{after:?}");
}

#[test]
fn pieces_being_hashed_count_against_the_pieces_in_flight() {
    let (mut s, requests) = leecher(Config { max_pieces_in_flight: 1, ..config(true) });
    let pieces: std::collections::BTreeSet<u32> = requests_in(&requests).map(|(p, _)| p).collect();
    assert_eq!(pieces.len(), 1, "one piece at a time: {requests:?}");
    let seen = answer(&mut s, &requests, false);
    let hashed = hashes(&seen);
    assert_eq!(hashed.len(), 1, "{seen:?}");
    assert_eq!(requests_in(&seen).count(), 0, "no new piece starts while one is hashed: {seen:?}");
    let (op, data) = hashed[0].clone();
    s.handle_input(Instant::ZERO, Input::HashDone { op, digest: Some(digest(&data)), data });
    let after = drain(&mut s);
    let Some(Seen::Write { op, .. }) = after.iter().find(|x| matches!(x, Seen::Write { .. })) else {
        panic!("the piece is written: {after:?}")
    };
    s.handle_input(Instant::ZERO, Input::WriteDone { op: *op, result: Ok(()) });
    assert!(requests_in(&drain(&mut s)).count() > 0, "the next piece starts once written");
}

#[test]
fn by_default_the_engine_hashes_inline() {
    let (mut s, requests) = leecher(config(false));
    let seen = answer(&mut s, &requests, false);
    assert!(hashes(&seen).is_empty(), "no Output::Hash without shell_hashes");
    let writes = seen.iter().filter(|x| matches!(x, Seen::Write { .. })).count();
    assert_eq!(writes as u32, PIECES);
}
