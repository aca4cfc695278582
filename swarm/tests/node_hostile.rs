//! A hostile remote peer against one node: garbage on any label, channels for what the node does not have, floods
//! of offers and candidates. The node never panics, refuses or drops what it must, and its state stays bounded.

use swarm::id::ContentId;
use swarm::node::label::Topic;
use swarm::node::{Config, Event, Input, Node, Output, SdpKind};
use swarm::signal::{PeerId, ServerEvent, SignalPayload};
use swarm::sim::make_file;
use swarm::time::Instant;

fn frame(event: &ServerEvent) -> String {
    serde_json::to_string(event).expect("a server event serializes")
}

fn drain(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

/// A node welcomed as `m` that shares one file.
fn victim() -> (Node, ContentId) {
    let mut node = Node::new(Config::default(), 9, Instant::ZERO);
    let welcome = frame(&ServerEvent::Welcome { peer_id: PeerId("m".into()), ice_servers: vec![] });
    node.handle_input(Instant::ZERO, Input::ServerFrame(&welcome));
    let (_, manifest) = make_file(256 * 1024, 1);
    let content = manifest.content_id();
    node.share(Instant::ZERO, manifest).expect("a new content is shared");
    drain(&mut node);
    (node, content)
}

/// A session description whose DTLS fingerprint is 32 bytes of `byte`.
fn sdp(byte: u8) -> String {
    format!("v=0\r\na=fingerprint:sha-256 {}\r\n", vec![format!("{byte:02X}"); 32].join(":"))
}

fn offer(node: &mut Node, now: Instant, from: &str) {
    let event = ServerEvent::Signal { from: PeerId(from.into()), payload: SignalPayload::Offer { sdp: sdp(1) } };
    node.handle_input(now, Input::ServerFrame(&frame(&event)));
}

/// An offer from `from`, and the node's answer made: the connection's fingerprints are known.
fn answered(node: &mut Node, now: Instant, from: &str) {
    offer(node, now, from);
    node.handle_input(now, Input::LocalDescription { peer: PeerId(from.into()), kind: SdpKind::Answer, sdp: sdp(2) });
}

#[test]
fn a_flood_of_offers_from_many_ids_is_capped_at_the_peer_limit_and_expires() {
    let (mut node, _) = victim();
    let now = Instant::from_millis(1);
    for i in 0..10_000 {
        offer(&mut node, now, &format!("z{i:05}"));
    }
    let created = drain(&mut node).iter().filter(|o| matches!(o, Output::CreatePeer { .. })).count();
    let max = Config::default().max_peers;
    assert_eq!(created, max);
    assert_eq!(node.peer_count(), max);
    // None of them connects: all are closed after the connect timeout, and the slots are free again.
    let later = now + Config::default().connect_timeout;
    node.handle_timeout(later);
    let closed = drain(&mut node).iter().filter(|o| matches!(o, Output::ClosePeer { .. })).count();
    assert_eq!((closed, node.peer_count()), (max, 0));
}

#[test]
fn a_flood_of_offers_and_candidates_from_one_peer_is_rate_limited() {
    let (mut node, _) = victim();
    let now = Instant::from_millis(1);
    for _ in 0..1_000 {
        offer(&mut node, now, "z");
        let candidate = ServerEvent::Signal {
            from: PeerId("z".into()),
            payload: SignalPayload::Candidate { candidate: "c".into(), sdp_mid: None, sdp_m_line_index: None },
        };
        node.handle_input(now, Input::ServerFrame(&frame(&candidate)));
    }
    let outputs = drain(&mut node);
    let accepted = outputs.iter().filter(|o| matches!(o, Output::AcceptOffer { .. })).count();
    let candidates = outputs.iter().filter(|o| matches!(o, Output::AddCandidate { .. })).count();
    assert_eq!(accepted, swarm::node::peer::OFFER_BURST as usize);
    assert_eq!(candidates, swarm::node::peer::CANDIDATE_BURST as usize);
    assert_eq!(node.peer_count(), 1);
}

#[test]
fn channels_with_unknown_labels_or_contents_are_refused() {
    let (mut node, content) = victim();
    let now = Instant::from_millis(1);
    offer(&mut node, now, "z");
    drain(&mut node);
    let peer = PeerId("z".into());
    let unknown = Topic::Content(ContentId([0xee; 32])).label();
    let upper = Topic::Content(content).label().to_ascii_uppercase();
    // The content id itself is not a label (a party in the middle would read it): the swarm key is.
    let id = content.to_string();
    for label in ["", "garbage", "discovery2", &unknown, &upper, &id, &"a".repeat(100_000)] {
        assert_eq!(node.accept_channel(now, &peer, label), None, "{label:.20}");
    }
    // A channel of an unknown peer (no connection) is refused too.
    assert_eq!(node.accept_channel(now, &PeerId("nobody".into()), &Topic::Content(content).label()), None);
    assert_eq!(node.channel_count(), 0);
}

#[test]
fn garbage_on_a_content_channel_bans_the_sender_and_closes_the_channel() {
    let (mut node, content) = victim();
    let now = Instant::from_millis(1);
    answered(&mut node, now, "z");
    drain(&mut node);
    let conn = node.accept_channel(now, &PeerId("z".into()), &Topic::Content(content).label()).unwrap();
    node.handle_input(now, Input::ChannelMessage { conn, bytes: &[0xff; 64] });
    let outputs = drain(&mut node);
    assert!(outputs.iter().any(|o| matches!(o, Output::CloseChannel { conn: c } if *c == conn)), "{outputs:?}");
    assert!(outputs.iter().any(|o| matches!(o, Output::Event(Event::PeerBanned { peer, .. }) if peer.0 == "z")));
    assert_eq!(node.channel_count(), 0);
    // The closed channel's later events are ignored.
    node.handle_input(now, Input::ChannelMessage { conn, bytes: &[0xff; 64] });
    node.handle_input(now, Input::ChannelClosed { conn });
    assert!(drain(&mut node).is_empty());
}

#[test]
fn garbage_on_the_discovery_channel_drops_the_neighbour() {
    let (mut node, _) = victim();
    let now = Instant::from_millis(1);
    offer(&mut node, now, "z");
    drain(&mut node);
    let conn = node.accept_channel(now, &PeerId("z".into()), "discovery").unwrap();
    node.handle_input(now, Input::ChannelOpened { conn, max_message: swarm::wire::MAX_MESSAGE_LEN as u32 });
    assert_eq!(node.neighbours(), 1);
    for _ in 0..Config::default().discovery.max_malformed + 1 {
        node.handle_input(now, Input::ChannelMessage { conn, bytes: b"not a discovery message" });
    }
    let outputs = drain(&mut node);
    assert!(outputs.iter().any(|o| matches!(o, Output::CloseChannel { conn: c } if *c == conn)), "{outputs:?}");
    assert_eq!((node.neighbours(), node.channel_count()), (0, 0));
}

#[test]
fn garbage_server_frames_are_skipped_and_reported() {
    let (mut node, _) = victim();
    let now = Instant::from_millis(1);
    for text in ["", "{", "[]", "{\"type\":\"welcome\"}", &"x".repeat(100_000)] {
        node.handle_input(now, Input::ServerFrame(text));
    }
    let ignored =
        drain(&mut node).iter().filter(|o| matches!(o, Output::Event(Event::ServerFrameIgnored { .. }))).count();
    assert_eq!(ignored, 5);
    assert_eq!(node.me().map(|p| p.0.as_str()), Some("m"));
}
