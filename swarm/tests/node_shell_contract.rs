//! What a shell can rely on from `swarm::node::Node`, one peer driven by hand: the signaling frames it would
//! receive go in as text, and the outputs come out in the order the shell executes them.

use swarm::ConnId;
use swarm::id::ContentId;
use swarm::manifest::{Manifest, ManifestBuilder};
use swarm::node::{Config, Input, Node, Output, SdpKind};
use swarm::proof::SwarmKey;
use swarm::signal::{PeerId, ServerEvent, SignalPayload, SwarmName};
use swarm::time::Instant;

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn drain(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

fn frame(node: &mut Node, now: Instant, event: ServerEvent) -> Vec<Output> {
    node.handle_input(now, Input::ServerFrame(&serde_json::to_string(&event).expect("server events serialize")));
    drain(node)
}

fn manifest() -> Manifest {
    let data = vec![7u8; 1000];
    let mut b =
        ManifestBuilder::new("a.bin", data.len() as u64, "application/octet-stream").expect("valid manifest input");
    b.update(&data);
    b.finish().expect("exactly the announced size")
}

fn peer(id: &str) -> PeerId {
    PeerId(id.to_owned())
}

/// A node sharing one file, welcomed as `b`, told `c` is in the file's swarm at 20 ms: returns the channel it
/// opened to `c`, with the outputs of that `joined`.
fn sharing_with_c() -> (Node, ContentId, ConnId, Vec<Output>) {
    let mut node = Node::new(Config::default(), 1, at(0));
    assert!(matches!(drain(&mut node)[..], [Output::ConnectSignaling, ..]), "the socket opens at once");
    let m = manifest();
    let content = m.content_id();
    node.share(at(0), m).expect("a new content");
    drain(&mut node);
    let welcome = frame(&mut node, at(10), ServerEvent::Welcome { peer_id: peer("b"), ice_servers: Vec::new() });
    let joins: Vec<&String> =
        welcome.iter().filter_map(|o| if let Output::SendToServer(t) = o { Some(t) } else { None }).collect();
    assert!(joins.iter().any(|t| t.contains(&SwarmKey::of(&content).to_string())), "{joins:?}");
    // The server is never told the content id (PROTOCOL.md 2.11).
    assert!(!joins.iter().any(|t| t.contains(&content.to_string())), "{joins:?}");
    assert!(joins.iter().any(|t| t.contains("net:default")), "{joins:?}");
    let swarm = SwarmName::parse(&SwarmKey::of(&content).to_string()).expect("a swarm key is a swarm name");
    let outputs = frame(&mut node, at(20), ServerEvent::Joined { swarm, peers: vec![peer("c")] });
    let conn = outputs
        .iter()
        .find_map(|o| if let Output::OpenChannel { conn, .. } = o { Some(*conn) } else { None })
        .expect("a channel to c");
    (node, content, conn, outputs)
}

#[test]
fn a_joined_member_gets_a_connection_a_labelled_channel_then_an_offer() {
    let (_, content, conn, outputs) = sharing_with_c();
    let steps: Vec<String> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::CreatePeer { peer, polite } => Some(format!("create {} polite={polite}", peer.0)),
            Output::OpenChannel { peer, conn: c, label } => {
                assert_eq!((*c, label.as_str()), (conn, SwarmKey::of(&content).to_string().as_str()));
                Some(format!("open {}", peer.0))
            }
            Output::MakeOffer { peer } => Some(format!("offer {}", peer.0)),
            _ => None,
        })
        .collect();
    // "b" sorts before "c": this side is the polite one, and still the one that offers (it joined second).
    assert_eq!(steps, ["create c polite=true", "open c", "offer c"]);
}

#[test]
fn stopping_a_content_starts_the_idle_clock_of_its_connection_at_the_stop() {
    let (mut node, content, conn, _) = sharing_with_c();
    // The offer and answer go through, each with a DTLS fingerprint: the channel can be proven (PROTOCOL.md 2.11).
    let sdp = |byte: u8| format!("v=0\r\na=fingerprint:sha-256 {}\r\n", vec![format!("{byte:02X}"); 32].join(":"));
    node.handle_input(at(30), Input::LocalDescription { peer: peer("c"), kind: SdpKind::Offer, sdp: sdp(1) });
    frame(&mut node, at(40), ServerEvent::Signal { from: peer("c"), payload: SignalPayload::Answer { sdp: sdp(2) } });
    node.handle_input(at(1_000), Input::PeerConnected { peer: peer("c") });
    node.handle_input(at(1_000), Input::ChannelOpened { conn, max_message: swarm::wire::MAX_MESSAGE_LEN as u32 });
    drain(&mut node);
    node.stop(at(20_000), content).expect("a content of the node");
    assert!(drain(&mut node).iter().any(|o| matches!(o, Output::CloseChannel { conn: c } if *c == conn)));
    // Idle for the limit counted from the stop, not from the last input before it.
    let idle = Config::default().idle_timeout;
    node.handle_timeout(at(1_000) + idle + std::time::Duration::from_millis(1));
    assert!(!drain(&mut node).iter().any(|o| matches!(o, Output::ClosePeer { .. })), "closed too early");
    node.handle_timeout(at(20_000) + idle);
    assert!(drain(&mut node).iter().any(|o| matches!(o, Output::ClosePeer { peer: p } if *p == peer("c"))));
}

#[test]
fn on_glare_the_polite_side_answers_and_never_sends_the_offer_it_rolled_back() {
    // `b` is polite towards `c` and its offer is being made when `c`'s own offer arrives.
    let (mut node, ..) = sharing_with_c();
    let offer = SignalPayload::Offer { sdp: "remote offer".to_owned() };
    let outputs = frame(&mut node, at(30), ServerEvent::Signal { from: peer("c"), payload: offer });
    assert!(
        outputs.iter().any(|o| matches!(o, Output::AcceptOffer { rollback: true, sdp, .. } if sdp == "remote offer")),
        "{outputs:?}"
    );
    // The shell reports the offer it was making, then the answer.
    node.handle_input(at(40), Input::LocalDescription { peer: peer("c"), kind: SdpKind::Offer, sdp: "stale".into() });
    node.handle_input(at(50), Input::LocalDescription { peer: peer("c"), kind: SdpKind::Answer, sdp: "ours".into() });
    let sent: Vec<String> = drain(&mut node)
        .into_iter()
        .filter_map(|o| if let Output::SendToServer(t) = o { Some(t) } else { None })
        .collect();
    assert!(!sent.iter().any(|t| t.contains("stale")), "{sent:?}");
    assert!(sent.iter().any(|t| t.contains(r#""kind":"answer""#) && t.contains("ours")), "{sent:?}");
}
