//! A peer that sends random bytes or oversized messages is dropped, and nothing panics.
mod common;

use common::{drain, ready, seeder};
use proptest::prelude::*;
use swarm::time::Instant;
use swarm::wire::{self, Message};
use swarm::{Config, ConnId, Event, Input, Output};

fn dropped(outputs: &[Output], conn: ConnId) -> bool {
    outputs.iter().any(|o| matches!(o, Output::Close { conn: c } if *c == conn))
        && outputs.iter().any(|o| matches!(o, Output::Event(Event::PeerBanned { conn: c, .. }) if *c == conn))
}

#[test]
fn an_oversized_message_gets_the_peer_dropped() {
    let mut s = seeder();
    ready(&mut s, ConnId(1));
    let big = vec![wire::code::BLOCK; wire::MAX_MESSAGE_LEN + 1];
    s.handle_input(Instant::ZERO, Input::Received { conn: ConnId(1), bytes: &big });
    assert!(dropped(&drain(&mut s), ConnId(1)));
    assert_eq!(s.stats().peers, 0);
}

proptest! {
    #[test]
    fn random_bytes_after_the_handshake_never_panic_and_garbage_gets_the_peer_dropped(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..20)
    ) {
        let mut s = seeder();
        ready(&mut s, ConnId(1));
        for (i, m) in msgs.iter().enumerate() {
            s.handle_input(Instant::from_millis(i as u64), Input::Received { conn: ConnId(1), bytes: m });
            let out = drain(&mut s);
            if wire::decode(m).is_err() {
                prop_assert!(dropped(&out, ConnId(1)), "not dropped");
                break;
            }
            // A well-formed message can end the channel too (a have-map of the wrong length, a Goodbye).
            if s.connections().all(|c| c != ConnId(1)) {
                let closed = out.iter().any(|o| matches!(o, Output::Close { conn } if *conn == ConnId(1)));
                prop_assert!(closed, "forgotten without closing the channel");
                break;
            }
        }
        s.handle_timeout(Instant::from_millis(100_000));
        drain(&mut s);
    }

    #[test]
    fn random_bytes_as_a_first_message_get_the_peer_dropped(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut s = seeder();
        common::connect(&mut s, ConnId(2));
        drain(&mut s);
        s.handle_input(Instant::ZERO, Input::Received { conn: ConnId(2), bytes: &bytes });
        let out = drain(&mut s);
        let closed = out.iter().any(|o| matches!(o, Output::Close { conn } if *conn == ConnId(2)));
        prop_assert!(closed, "not closed");
    }
}

/// The `Reject` messages sent to `conn` with the given reason.
fn rejects(outputs: &[Output], conn: ConnId, reason: wire::RejectReason) -> usize {
    outputs
        .iter()
        .filter(|o| {
            matches!(o, Output::Send { conn: c, bytes } if *c == conn
            && matches!(wire::decode(bytes), Ok(Message::Reject { reason: r, .. }) if r == reason))
        })
        .count()
}

#[test]
fn requests_beyond_the_upload_queue_are_rejected_as_overloaded_and_another_peer_is_still_queued() {
    let mut s = seeder();
    ready(&mut s, ConnId(1));
    ready(&mut s, ConnId(2));
    let config = Config::default();
    // What a seeder holds for one peer: its queue, plus the reads started from it.
    let held = config.max_upload_queue + swarm::swarm::UPLOAD_READS_IN_FLIGHT;
    let request = wire::encode(&Message::Request { piece: 0, offset: 0, len: 16_384 });
    let mut outputs = Vec::new();
    for _ in 0..held + 100 {
        s.handle_input(Instant::ZERO, Input::Received { conn: ConnId(1), bytes: &request });
        outputs.extend(drain(&mut s));
    }
    assert_eq!(rejects(&outputs, ConnId(1), wire::RejectReason::Overloaded), 100);
    assert!(!dropped(&outputs, ConnId(1)), "over-asking is refused, not punished");
    // The flood costs only its sender: another peer's request is queued, not refused.
    s.handle_input(Instant::ZERO, Input::Received { conn: ConnId(2), bytes: &request });
    assert_eq!(rejects(&drain(&mut s), ConnId(2), wire::RejectReason::Overloaded), 0);
}
