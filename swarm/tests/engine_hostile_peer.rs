//! A peer that sends random bytes or oversized messages is dropped, and nothing panics.
use proptest::prelude::*;
use swarm::manifest::ManifestBuilder;
use swarm::time::Instant;
use swarm::wire::{self, Message};
use swarm::{Config, ConnId, Event, Input, Output, Swarm};

fn seeder() -> Swarm {
    let mut b = ManifestBuilder::new("f.bin", 300_000, "application/octet-stream").expect("valid manifest input");
    b.update(&vec![3u8; 300_000]);
    Swarm::share(b.finish().expect("exactly the announced size"), Config::default(), 7, Instant::ZERO)
}

fn drain(s: &mut Swarm) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn dropped(outputs: &[Output], conn: ConnId) -> bool {
    outputs.iter().any(|o| matches!(o, Output::Close { conn: c } if *c == conn))
        && outputs.iter().any(|o| matches!(o, Output::Event(Event::PeerBanned { conn: c, .. }) if *c == conn))
}

/// Connects `conn` and completes its handshake.
fn ready(s: &mut Swarm, conn: ConnId) {
    s.handle_input(Instant::ZERO, Input::PeerConnected { conn });
    let hs = wire::encode(&Message::Handshake { version: wire::VERSION, content: s.content_id() });
    s.handle_input(Instant::ZERO, Input::Received { conn, bytes: &hs });
    drain(s);
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
        s.handle_input(Instant::ZERO, Input::PeerConnected { conn: ConnId(2) });
        drain(&mut s);
        s.handle_input(Instant::ZERO, Input::Received { conn: ConnId(2), bytes: &bytes });
        let out = drain(&mut s);
        let closed = out.iter().any(|o| matches!(o, Output::Close { conn } if *conn == ConnId(2)));
        prop_assert!(closed, "not closed");
    }
}
