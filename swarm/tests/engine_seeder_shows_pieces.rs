//! A peer with the whole file shows each downloader only a few pieces, the least-shown ones, so that many
//! downloaders start with distinct pieces; it shows one more each time a downloader gets one of them.
mod common;

use common::{drain, file, manifest};
use swarm::bitfield::Bitfield;
use swarm::manifest::MIN_PIECE_SIZE;
use swarm::time::Instant;
use swarm::wire::{self, Message};
use swarm::{Config, ConnId, Input, Output, Swarm};

const PIECES: u32 = 300;

fn seeder() -> Swarm {
    let data = file((PIECES * MIN_PIECE_SIZE) as usize);
    Swarm::share(manifest(&data, MIN_PIECE_SIZE), Config::default(), 11, Instant::ZERO)
}

/// What the seeder told a downloader about its pieces.
enum Shown {
    Map(Vec<u8>),
    Have(u32),
}

fn input(s: &mut Swarm, conn: ConnId, msg: &Message<'_>) -> Vec<Shown> {
    let bytes = wire::encode(msg);
    s.handle_input(Instant::ZERO, Input::Received { conn, bytes: &bytes });
    sent(s, conn)
}

/// Have-maps and Haves the swarm sent to `conn`.
fn sent(s: &mut Swarm, conn: ConnId) -> Vec<Shown> {
    let mut out = Vec::new();
    for o in drain(s) {
        if let Output::Send { conn: c, bytes } = o
            && c == conn
        {
            match wire::decode(&bytes).expect("the swarm sends well-formed messages") {
                Message::HaveMap { bits } => out.push(Shown::Map(bits.to_vec())),
                Message::Have { piece } => out.push(Shown::Have(piece)),
                _ => {}
            }
        }
    }
    out
}

/// Connects a downloader with nothing yet; returns the pieces the seeder's have-map showed it.
fn downloader(s: &mut Swarm, conn: ConnId) -> Bitfield {
    common::connect(s, conn);
    sent(s, conn);
    let hs = Message::Handshake { version: wire::VERSION, proof: common::PROOF.expect };
    let got = input(s, conn, &hs);
    let shown = got
        .iter()
        .find_map(|m| match m {
            Shown::Map(bits) => Bitfield::from_bytes(bits, PIECES),
            Shown::Have(_) => None,
        })
        .expect("a have-map of the right length after the handshake");
    let empty = Bitfield::new(PIECES);
    input(s, conn, &Message::HaveMap { bits: empty.as_bytes() });
    shown
}

#[test]
fn a_seeder_shows_each_downloader_few_and_distinct_pieces() {
    let mut s = seeder();
    let mut seen = Bitfield::new(PIECES);
    let mut last = Bitfield::new(PIECES);
    for c in 1..=32 {
        last = downloader(&mut s, ConnId(c));
        assert!(last.count() >= 2, "downloader {c} was shown {} pieces", last.count());
        for p in last.iter_set() {
            assert!(seen.set(p), "piece {p} shown to downloader {c} was already shown while others were not");
        }
    }
    // 32 downloaders share the budget of 64 shown pieces: two each.
    assert_eq!(last.count(), 2);
    assert!(seen.count() < PIECES);
}

#[test]
fn a_downloader_that_gets_a_shown_piece_is_shown_one_more() {
    let mut s = seeder();
    for c in 1..32 {
        downloader(&mut s, ConnId(c));
    }
    let conn = ConnId(32);
    let shown = downloader(&mut s, conn);
    let got_one = shown.iter_set().next().expect("at least one piece shown");
    let more = input(&mut s, conn, &Message::Have { piece: got_one });
    let new: Vec<u32> = more
        .iter()
        .filter_map(|m| match m {
            Shown::Have(piece) => Some(*piece),
            Shown::Map(_) => None,
        })
        .collect();
    assert_eq!(new.len(), 1, "expected one more piece shown, got {new:?}");
    assert!(!shown.get(new[0]), "the piece shown next was shown before");
}
