//! PROTOCOL.md 2.6 / 2.9 "Handshake first", both ways: a swarm sends nothing but its Handshake on a channel
//! before the other side's Handshake arrives, and a Goodbye received instead of a Handshake (a busy or leaving
//! peer, which 2.6 allows) closes the channel without banning an honest peer.
mod common;

use common::{SMALL, drain, file, handshake, small_manifest};
use swarm::bitfield::Bitfield;
use swarm::time::Instant;
use swarm::wire::{self, GoodbyeReason, Message};
use swarm::{Config, ConnId, Event, Input, Output, Swarm};

fn sends_to(outputs: &[Output], conn: ConnId) -> Vec<Vec<u8>> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn: c, bytes } if *c == conn => Some(bytes.clone()),
            _ => None,
        })
        .collect()
}

fn banned(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::PeerBanned { reason, .. }) => Some(reason.to_string()),
            _ => None,
        })
        .collect()
}

/// A downloader connected to `conn` receives `first` as that channel's first message: it must close the
/// channel, forget the peer and ban nobody.
fn assert_parted_without_ban(first: &[u8]) {
    let mut leecher = Swarm::join(small_manifest().content_id(), Config::default(), 2, Instant::ZERO);
    let conn = ConnId(9);
    common::connect(&mut leecher, conn);
    drain(&mut leecher);
    leecher.handle_input(Instant::ZERO, Input::Received { conn, bytes: first });
    let out = drain(&mut leecher);
    assert_eq!(banned(&out), Vec::<String>::new(), "an honest peer that parted was banned");
    assert!(out.iter().any(|o| matches!(o, Output::Close { conn: c } if *c == conn)), "the channel stays open");
    assert_eq!(leecher.connections().count(), 0, "the peer is still counted");
}

#[test]
fn a_busy_peers_goodbye_instead_of_its_handshake_closes_the_channel_without_a_ban() {
    let config = Config { max_peers: 1, ..Config::default() };
    let mut seeder = Swarm::share(small_manifest(), config, 1, Instant::ZERO);
    common::connect(&mut seeder, ConnId(1));
    drain(&mut seeder);
    // One connection too many: answered with Goodbye Busy, sent instead of a Handshake.
    common::connect(&mut seeder, ConnId(2));
    let sent = sends_to(&drain(&mut seeder), ConnId(2));
    assert_eq!(sent.len(), 1);
    assert!(matches!(wire::decode(&sent[0]), Ok(Message::Goodbye { reason: GoodbyeReason::Busy })));
    assert_parted_without_ban(&sent[0]);
}

#[test]
fn a_leaving_peers_goodbye_instead_of_its_handshake_closes_the_channel_without_a_ban() {
    let mut seeder = Swarm::share(small_manifest(), Config::default(), 1, Instant::ZERO);
    seeder.handle_input(Instant::ZERO, Input::Stop);
    drain(&mut seeder);
    common::connect(&mut seeder, ConnId(2));
    let sent = sends_to(&drain(&mut seeder), ConnId(2));
    assert_eq!(sent.len(), 1);
    assert!(matches!(wire::decode(&sent[0]), Ok(Message::Goodbye { reason: GoodbyeReason::Leaving })));
    assert_parted_without_ban(&sent[0]);
}

#[test]
fn any_other_first_message_is_still_a_violation() {
    let mut leecher = Swarm::join(small_manifest().content_id(), Config::default(), 2, Instant::ZERO);
    let conn = ConnId(9);
    common::connect(&mut leecher, conn);
    drain(&mut leecher);
    leecher.handle_input(Instant::ZERO, Input::Received { conn, bytes: &wire::encode(&Message::KeepAlive) });
    assert_eq!(banned(&drain(&mut leecher)), vec!["first message is not a handshake".to_string()]);
}

/// A downloader fetches the whole file from a ready seeder (requests, blocks, verification, writes, Have to
/// every peer, keep-alives over 20 s) while a second channel's Handshake never comes: that channel gets the
/// downloader's Handshake and nothing else. Then the same with the seeder's side (have-map, reveal Haves,
/// uploads) and a second downloader that never handshakes.
#[test]
fn nothing_but_the_handshake_goes_to_a_peer_whose_handshake_has_not_come() {
    let m = small_manifest();
    let data = file(SMALL);
    let mut seeder = Swarm::share(m.clone(), Config::default(), 1, Instant::ZERO);
    let mut leecher = Swarm::resume(m.clone(), Bitfield::new(m.piece_count()), Config::default(), 2, Instant::ZERO);
    // conn 1 joins the two; conn 2 (leecher side) and conn 3 (seeder side) never get a Handshake.
    let (link, silent_at_leecher, silent_at_seeder) = (ConnId(1), ConnId(2), ConnId(3));
    let mut to_silent_leecher = Vec::new();
    let mut to_silent_seeder = Vec::new();
    common::connect(&mut leecher, silent_at_leecher);
    common::connect(&mut seeder, silent_at_seeder);
    common::connect(&mut leecher, link);
    common::connect(&mut seeder, link);
    let mut now = Instant::ZERO;
    for _ in 0..10_000 {
        if leecher.is_complete() && now >= Instant::from_millis(20_000) {
            break;
        }
        let mut progressed = false;
        // Seeder outputs: messages to the leecher, reads served from the file.
        for o in drain(&mut seeder) {
            progressed = true;
            match o {
                Output::Send { conn, bytes } if conn == link => {
                    leecher.handle_input(now, Input::Received { conn: link, bytes: &bytes })
                }
                Output::Send { conn, bytes } if conn == silent_at_seeder => to_silent_seeder.push(bytes),
                Output::Read { op, offset, len, headroom } => {
                    let mut buf = vec![0u8; headroom];
                    buf.extend_from_slice(&data[offset as usize..offset as usize + len as usize]);
                    seeder.handle_input(now, Input::ReadDone { op, result: Ok(buf) });
                }
                _ => {}
            }
        }
        for o in drain(&mut leecher) {
            progressed = true;
            match o {
                Output::Send { conn, bytes } if conn == link => {
                    seeder.handle_input(now, Input::Received { conn: link, bytes: &bytes })
                }
                Output::Send { conn, bytes } if conn == silent_at_leecher => to_silent_leecher.push(bytes),
                Output::Write { op, .. } => leecher.handle_input(now, Input::WriteDone { op, result: Ok(()) }),
                _ => {}
            }
        }
        if !progressed {
            now = now + swarm::swarm::TICK;
            leecher.handle_timeout(now);
            seeder.handle_timeout(now);
        }
    }
    assert!(leecher.is_complete(), "the download did not finish");
    assert!(now >= Instant::from_millis(20_000), "keep-alive time not covered");
    let expected = vec![handshake(&leecher)];
    assert_eq!(to_silent_leecher, expected, "the downloader sent more than its Handshake");
    assert_eq!(to_silent_seeder, expected, "the seeder sent more than its Handshake");
}
