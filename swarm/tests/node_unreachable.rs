//! A connection that cannot be made (ICE finds no path in time, or fails) is said once, with its reason, and the
//! peer is offered another connection only after a backoff delay that grows, not at every member list.

use core::time::Duration;

use swarm::id::ContentId;
use swarm::node::{Config, Event, Input, Node, Output, Unreachable, backoff};
use swarm::proof::SwarmKey;
use swarm::signal::{IceServer, PeerId, ServerEvent, SignalPayload, SwarmName};
use swarm::sim::make_file;
use swarm::time::Instant;

fn frame(event: &ServerEvent) -> String {
    serde_json::to_string(event).expect("a server event serializes")
}

fn drain(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

/// A node welcomed (with these ICE servers) that downloads one content.
fn downloader(ice_servers: Vec<IceServer>) -> (Node, ContentId) {
    let mut node = Node::new(Config::default(), 9, Instant::ZERO);
    let welcome = frame(&ServerEvent::Welcome { peer_id: PeerId("m".into()), ice_servers });
    node.handle_input(Instant::ZERO, Input::ServerFrame(&welcome));
    let (_, manifest) = make_file(256 * 1024, 1);
    let content = manifest.content_id();
    node.download(Instant::ZERO, content).expect("a new download");
    drain(&mut node);
    (node, content)
}

/// The server lists `peer` as a member of the content's swarm; whether the node asked for a connection to it.
fn listed(node: &mut Node, now: Instant, content: ContentId, peer: &str) -> (bool, Vec<Output>) {
    let swarm = SwarmName::parse(&SwarmKey::of(&content).to_string()).expect("a content's swarm name");
    node.handle_input(
        now,
        Input::ServerFrame(&frame(&ServerEvent::Joined { swarm, peers: vec![PeerId(peer.into())] })),
    );
    let out = drain(node);
    let created = out.iter().any(|o| matches!(o, Output::CreatePeer { peer: p, .. } if p.0 == peer));
    (created, out)
}

/// The peer answers this node's offer (the negotiation goes through; only ICE can fail after it).
fn answered(node: &mut Node, now: Instant, peer: &str) {
    let event = ServerEvent::Signal { from: PeerId(peer.into()), payload: SignalPayload::Answer { sdp: "x".into() } };
    node.handle_input(now, Input::ServerFrame(&frame(&event)));
    drain(node);
}

fn unreachable_events(out: &[Output]) -> Vec<Unreachable> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(Event::PeerUnreachable { why, .. }) => Some(*why),
            _ => None,
        })
        .collect()
}

#[test]
fn a_peer_that_cannot_be_reached_is_said_once_and_retried_with_a_growing_delay() {
    let (mut node, content) = downloader(vec![]);
    let connect = Config::default().connect_timeout;
    let (created, _) = listed(&mut node, Instant::ZERO, content, "p");
    assert!(created, "the first member list gets a connection attempt");
    answered(&mut node, Instant::ZERO, "p");
    // ICE never gets there: given up at the connect timeout, said once, with no relay to blame.
    let mut now = Instant::ZERO + connect;
    node.handle_timeout(now);
    let out = drain(&mut node);
    assert!(out.iter().any(|o| matches!(o, Output::ClosePeer { peer } if peer.0 == "p")));
    assert_eq!(unreachable_events(&out), vec![Unreachable::NoRelay]);
    // Listed again at once (the rejoin of a stranded download): no new attempt before half the first delay.
    let (created, _) = listed(&mut node, now + (backoff::PEER_BASE / 2 - Duration::from_millis(1)), content, "p");
    assert!(!created, "retried before the backoff delay");
    // After the delay, another attempt; it fails (the shell says so before the timeout): not said again.
    now = now + backoff::PEER_BASE;
    let (created, _) = listed(&mut node, now, content, "p");
    assert!(created, "not retried after the backoff delay");
    answered(&mut node, now, "p");
    node.handle_input(now, Input::PeerClosed { peer: PeerId("p".into()) });
    assert_eq!(unreachable_events(&drain(&mut node)), vec![], "said twice");
    // The delay grew: the first one was at most PEER_BASE, the second is at least PEER_BASE (half of 2 x base).
    let (created, _) = listed(&mut node, now + (backoff::PEER_BASE - Duration::from_millis(1)), content, "p");
    assert!(!created, "the delay did not grow");
    // A success clears it: the next failure is said again (with a relay configured, the other reason).
    now = now + backoff::PEER_BASE * 2;
    let (created, _) = listed(&mut node, now, content, "p");
    assert!(created);
    node.handle_input(now, Input::PeerConnected { peer: PeerId("p".into()) });
    node.handle_input(now, Input::PeerClosed { peer: PeerId("p".into()) });
    drain(&mut node);
    let (created, _) = listed(&mut node, now, content, "p");
    assert!(created, "a peer that connected is not held back");
    answered(&mut node, now, "p");
    node.handle_timeout(now + connect);
    assert_eq!(unreachable_events(&drain(&mut node)), vec![Unreachable::NoRelay]);
}

#[test]
fn with_a_relay_configured_the_reason_says_it_did_not_help() {
    let turn = IceServer {
        urls: vec!["turn:t.example:3478".into()],
        username: Some("u".into()),
        credential: Some("c".into()),
    };
    let (mut node, content) = downloader(vec![turn]);
    assert!(listed(&mut node, Instant::ZERO, content, "p").0);
    answered(&mut node, Instant::ZERO, "p");
    node.handle_timeout(Instant::ZERO + Config::default().connect_timeout);
    let out = drain(&mut node);
    assert_eq!(unreachable_events(&out), vec![Unreachable::NotThroughRelay]);
    assert!(Unreachable::NotThroughRelay.to_string().contains("relay (TURN) server"));
}

#[test]
fn a_peer_that_never_answers_is_backed_off_from_without_blaming_the_network() {
    let (mut node, content) = downloader(vec![]);
    assert!(listed(&mut node, Instant::ZERO, content, "p").0);
    // No answer (the peer is gone, or at its connection limit): nothing about NATs or relays to tell the user.
    let now = Instant::ZERO + Config::default().connect_timeout;
    node.handle_timeout(now);
    assert_eq!(unreachable_events(&drain(&mut node)), vec![], "blamed the network for a peer that never answered");
    assert!(!listed(&mut node, now, content, "p").0, "not backed off from");
}
