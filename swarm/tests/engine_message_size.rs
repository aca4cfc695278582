//! PROTOCOL.md 2.10 "Message size": a swarm never sends a message longer than its connection carries (the
//! shell's `max_message`, the stack's `maxMessageSize`), refuses a connection under the floor with
//! `Goodbye(MessageSize)` before anything else, answers a request whose block would not fit with
//! `Reject(TooLarge)`, and a downloader told so asks that peer nothing more and says it once.
mod common;

use common::{SMALL, drain, file, handshake, manifest, seeder};
use swarm::bitfield::Bitfield;
use swarm::manifest::MIN_PIECE_SIZE;
use swarm::time::Instant;
use swarm::wire::{self, GoodbyeReason, Message, RejectReason};
use swarm::{Config, ConnId, Event, Input, Output, Refusal, Swarm};

const CONN: ConnId = ConnId(1);

/// The messages in `outputs` sent on `conn`, decoded.
fn sent(outputs: &[Output], conn: ConnId) -> Vec<Message<'_>> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn: c, bytes } if *c == conn => Some(wire::decode(bytes).expect("a valid message")),
            _ => None,
        })
        .collect()
}

fn refusals(outputs: &[Output]) -> Vec<Refusal> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::PeerRefused { why, .. }) => Some(*why),
            _ => None,
        })
        .collect()
}

#[test]
fn a_connection_under_the_floor_is_refused_with_goodbye_message_size_and_nothing_else() {
    let mut s = seeder();
    let short = wire::MIN_MESSAGE_LEN as u32 - 1;
    s.handle_input(Instant::ZERO, Input::PeerConnected { conn: CONN, max_message: short, proof: common::PROOF });
    let out = drain(&mut s);
    assert_eq!(sent(&out, CONN), vec![Message::Goodbye { reason: GoodbyeReason::MessageSize }]);
    assert!(matches!(out.last(), Some(Output::Close { conn: CONN })), "{out:?}");
    assert_eq!(refusals(&out), vec![Refusal::MessagesTooShort { max_message: short }]);
    assert_eq!(s.connections().count(), 0);

    // At the floor exactly, the handshake goes.
    let conn = ConnId(2);
    s.handle_input(
        Instant::ZERO,
        Input::PeerConnected { conn, max_message: wire::MIN_MESSAGE_LEN as u32, proof: common::PROOF },
    );
    let out = drain(&mut s);
    assert!(matches!(sent(&out, conn)[..], [Message::Handshake { .. }]), "{out:?}");
    assert!(refusals(&out).is_empty());
}

#[test]
fn a_request_for_a_block_longer_than_the_connection_carries_is_rejected_too_large() {
    let mut s = seeder();
    s.handle_input(Instant::ZERO, Input::PeerConnected { conn: CONN, max_message: 65_536, proof: common::PROOF });
    let hs = handshake(&s);
    s.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &hs });
    drain(&mut s);

    // 32 KiB and its header fit in 64 KiB; 64 KiB and its header do not.
    let fits = wire::encode(&Message::Request { piece: 0, offset: 0, len: 32 * 1024 });
    s.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &fits });
    let out = drain(&mut s);
    assert!(out.iter().any(|o| matches!(o, Output::Read { len: 32_768, .. })), "{out:?}");

    let too_long = wire::encode(&Message::Request { piece: 1, offset: 0, len: 64 * 1024 });
    s.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &too_long });
    let out = drain(&mut s);
    assert_eq!(
        sent(&out, CONN),
        vec![Message::Reject { piece: 1, offset: 0, len: 65_536, reason: RejectReason::TooLarge }]
    );
    assert!(!out.iter().any(|o| matches!(o, Output::Read { .. })), "{out:?}");
    assert_eq!(s.connections().count(), 1, "an honest requester is not dropped");
}

/// A seeder and a downloader over one connection that carries `max_message` bytes, run until both are quiet;
/// returns the longest message either sent, the ManifestData messages the seeder sent, and the downloader.
fn download_over(data: &[u8], piece_size: u32, max_message: u32) -> (usize, usize, Swarm) {
    let block_len = wire::block_len_for(max_message as usize).expect("at or over the floor");
    download_in_blocks_of(data, piece_size, max_message, block_len)
}

/// [`download_over`] with a downloader asking for blocks of `block_len`, whatever the connection carries.
fn download_in_blocks_of(data: &[u8], piece_size: u32, max_message: u32, block_len: u32) -> (usize, usize, Swarm) {
    download_seen_as(data, piece_size, (max_message, max_message), block_len)
}

/// [`download_in_blocks_of`] where the two sides see different limits: `(seeder's, downloader's)`, as when one
/// side's stack sends less than the other side's connection says.
fn download_seen_as(data: &[u8], piece_size: u32, (up, down): (u32, u32), block_len: u32) -> (usize, usize, Swarm) {
    let m = manifest(data, piece_size);
    let mut seeder = Swarm::share(m.clone(), Config::default(), 1, Instant::ZERO);
    let config = Config { block_len, ..Config::default() };
    let mut leecher = Swarm::join(m.content_id(), config, 2, Instant::ZERO);
    seeder.handle_input(Instant::ZERO, Input::PeerConnected { conn: CONN, max_message: up, proof: common::PROOF });
    leecher.handle_input(Instant::ZERO, Input::PeerConnected { conn: CONN, max_message: down, proof: common::PROOF });
    let (mut longest, mut manifest_data) = (0, 0);
    let mut swarms = [seeder, leecher];
    loop {
        let mut quiet = true;
        for i in 0..2 {
            let [a, b] = &mut swarms;
            let (from, to) = if i == 0 { (a, b) } else { (b, a) };
            for out in drain(from) {
                quiet = false;
                match out {
                    Output::Send { conn, bytes } => {
                        longest = longest.max(bytes.len());
                        if matches!(wire::decode(&bytes), Ok(Message::ManifestData { .. })) {
                            manifest_data += 1;
                        }
                        to.handle_input(Instant::ZERO, Input::Received { conn, bytes: &bytes });
                    }
                    Output::Read { op, offset, len, headroom } => {
                        let mut buf = vec![0; headroom];
                        buf.extend_from_slice(&data[offset as usize..offset as usize + len as usize]);
                        from.handle_input(Instant::ZERO, Input::ReadDone { op, result: Ok(buf) });
                    }
                    Output::Write { op, offset, data: piece } => {
                        assert_eq!(&data[offset as usize..offset as usize + piece.len()], &piece[..]);
                        from.handle_input(Instant::ZERO, Input::WriteDone { op, result: Ok(()) });
                    }
                    _ => {}
                }
            }
        }
        if quiet {
            let [_, leecher] = swarms;
            return (longest, manifest_data, leecher);
        }
    }
}

#[test]
fn a_download_over_a_connection_at_the_floor_completes_and_no_message_is_longer() {
    // 600 pieces of 16 KiB: a 19 KB manifest, more than one ManifestData at the floor.
    let data = file(600 * MIN_PIECE_SIZE as usize - 5);
    let (longest, manifest_data, leecher) = download_over(&data, MIN_PIECE_SIZE, wire::MIN_MESSAGE_LEN as u32);
    assert_eq!(leecher.stats().verified_pieces, 600, "the download did not complete");
    assert_eq!(longest, wire::MIN_MESSAGE_LEN, "a message was longer than the connection carries, or none full");
    assert_eq!(manifest_data, 2, "the manifest came in slices of the connection's size");
}

#[test]
fn a_download_over_a_64_kib_connection_completes_in_blocks_of_32_kib() {
    let data = file(SMALL);
    let (longest, _, leecher) = download_over(&data, 128 * 1024, 65_536);
    assert_eq!(leecher.stats().verified_pieces, leecher.stats().total_pieces);
    assert_eq!(longest, wire::BLOCK_HEADER_LEN + 32 * 1024);
}

#[test]
fn a_downloader_whose_blocks_do_not_fit_the_connection_asks_for_them_in_parts_that_do() {
    // Blocks of 128 KiB over a connection that carries 64 KiB: each is asked in four parts of 32 KiB.
    let data = file(SMALL);
    let (longest, _, leecher) = download_in_blocks_of(&data, 128 * 1024, 65_536, wire::MAX_BLOCK_LEN);
    assert_eq!(leecher.stats().verified_pieces, leecher.stats().total_pieces);
    assert_eq!(longest, wire::BLOCK_HEADER_LEN + 32 * 1024);
    // At the floor, a block of 128 KiB is eight parts.
    let (longest, _, leecher) = download_in_blocks_of(&data, 128 * 1024, wire::MIN_MESSAGE_LEN as u32, 128 * 1024);
    assert_eq!(leecher.stats().verified_pieces, leecher.stats().total_pieces);
    assert_eq!(longest, wire::MIN_MESSAGE_LEN);
}

#[test]
fn a_downloader_whose_connection_looks_wider_than_the_seeders_asks_shorter_parts_and_finishes() {
    // The seeder's side carries 64 KiB, the downloader believes 256 KiB: whole 128 KiB blocks are refused
    // (TooLarge), the downloader halves its parts for that peer, and the download completes.
    let data = file(SMALL);
    let (longest, _, leecher) = download_seen_as(&data, 128 * 1024, (65_536, wire::MAX_MESSAGE_LEN as u32), 128 * 1024);
    assert_eq!(leecher.stats().verified_pieces, leecher.stats().total_pieces, "the download did not complete");
    assert!(longest <= 65_536, "the seeder sent {longest} bytes over a connection of 65,536");
}

/// A downloader of the small file, Ready with a peer that has it all, and the requests it sent.
fn asking_leecher() -> (Swarm, Vec<(u32, u32, u32)>) {
    let m = common::small_manifest();
    let mut leecher = Swarm::resume(m.clone(), Bitfield::new(m.piece_count()), Config::default(), 3, Instant::ZERO);
    leecher.handle_input(
        Instant::ZERO,
        Input::PeerConnected { conn: CONN, max_message: wire::MAX_MESSAGE_LEN as u32, proof: common::PROOF },
    );
    let hs = handshake(&leecher);
    leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &hs });
    let map = wire::encode(&Message::HaveMap { bits: Bitfield::full(m.piece_count()).as_bytes() });
    leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &map });
    let out = drain(&mut leecher);
    let requests = requests(&out);
    (leecher, requests)
}

fn requests(out: &[Output]) -> Vec<(u32, u32, u32)> {
    sent(out, CONN)
        .into_iter()
        .filter_map(|m| match m {
            Message::Request { piece, offset, len } => Some((piece, offset, len)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_downloader_told_too_large_halves_its_parts_and_gives_up_only_at_the_floor() {
    let (mut leecher, mut asked) = asking_leecher();
    assert_eq!(asked.iter().map(|r| r.2).max(), Some(wire::MAX_BLOCK_LEN), "whole blocks first: {asked:?}");
    // Each refusal of the longest parts asked halves them: 64, 32, then 16 KiB.
    for expected in [64 * 1024, 32 * 1024, 16 * 1024] {
        let refused = *asked.iter().max_by_key(|r| r.2).expect("a request");
        let (piece, offset, len) = refused;
        let reject = wire::encode(&Message::Reject { piece, offset, len, reason: RejectReason::TooLarge });
        leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &reject });
        let out = drain(&mut leecher);
        assert!(refusals(&out).is_empty(), "gave up before the floor: {out:?}");
        let again = requests(&out);
        assert!(
            !again.is_empty() && again.iter().all(|&(_, _, l)| l == expected),
            "asked again {again:?}, not {expected}"
        );
        asked = again;
    }
    // Refused at the floor: it cannot serve this side; said once, nothing more asked, the channel kept.
    let (piece, offset, len) = asked[0];
    let reject = wire::encode(&Message::Reject { piece, offset, len, reason: RejectReason::TooLarge });
    leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &reject });
    let out = drain(&mut leecher);
    assert_eq!(refusals(&out), vec![Refusal::BlocksTooLong { block_len: wire::MIN_BLOCK_LEN }]);
    assert!(requests(&out).is_empty());
    let have = wire::encode(&Message::Have { piece: 0 });
    leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &have });
    leecher.handle_timeout(Instant::from_millis(5_000));
    let out = drain(&mut leecher);
    assert!(refusals(&out).is_empty() && requests(&out).is_empty(), "{out:?}");
    assert_eq!(leecher.connections().count(), 1, "it may still download from this peer");
}

#[test]
fn a_goodbye_message_size_from_the_peer_is_said_once() {
    let mut leecher = Swarm::join(common::small_manifest().content_id(), Config::default(), 2, Instant::ZERO);
    leecher.handle_input(
        Instant::ZERO,
        Input::PeerConnected { conn: CONN, max_message: wire::MAX_MESSAGE_LEN as u32, proof: common::PROOF },
    );
    drain(&mut leecher);
    let bye = wire::encode(&Message::Goodbye { reason: GoodbyeReason::MessageSize });
    leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &bye });
    let out = drain(&mut leecher);
    assert_eq!(refusals(&out), vec![Refusal::RefusedByPeer]);
    assert!(out.iter().any(|o| matches!(o, Output::Close { conn: CONN })));
}

#[test]
fn parts_count_against_the_pipeline_as_the_remote_queues_each() {
    // A 128 KiB block at the floor is eight parts: two blocks already fill a pipeline of 16 requests.
    let m = common::small_manifest();
    let config = Config { max_pipeline: 16, ..Config::default() };
    let mut leecher = Swarm::resume(m.clone(), Bitfield::new(m.piece_count()), config, 3, Instant::ZERO);
    let floor = wire::MIN_MESSAGE_LEN as u32;
    leecher.handle_input(Instant::ZERO, Input::PeerConnected { conn: CONN, max_message: floor, proof: common::PROOF });
    let hs = handshake(&leecher);
    leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &hs });
    let map = wire::encode(&Message::HaveMap { bits: Bitfield::full(m.piece_count()).as_bytes() });
    leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &map });
    let out = drain(&mut leecher);
    let requests: Vec<u32> = sent(&out, CONN)
        .into_iter()
        .filter_map(|m| match m {
            Message::Request { len, .. } => Some(len),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 16, "{requests:?}");
    assert!(requests.iter().all(|&len| len == wire::MIN_BLOCK_LEN));
}
