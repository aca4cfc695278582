//! The node's discovery neighbours: which members of the network it offers channels to.

use swarm::id::ContentId;
use swarm::node::{Config, Input, Node, Output};
use swarm::proof::SwarmKey;
use swarm::time::Instant;

const ME: &str = "00000000000000000000000000000001";
const CONNECTED: &str = "00000000000000000000000000000003";
const STRANGER: &str = "00000000000000000000000000000002";

fn drain(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

fn frame(node: &mut Node, now: Instant, text: &str) -> Vec<Output> {
    node.handle_input(now, Input::ServerFrame(text));
    drain(node)
}

/// The peers the node created connections to, and those it opened a channel with `label` to.
fn created_and_opened(outputs: &[Output], label: &str) -> (Vec<String>, Vec<String>) {
    let created = outputs.iter().filter_map(|o| match o {
        Output::CreatePeer { peer, .. } => Some(peer.0.clone()),
        _ => None,
    });
    let opened = outputs.iter().filter_map(|o| match o {
        Output::OpenChannel { peer, label: l, .. } if l == label => Some(peer.0.clone()),
        _ => None,
    });
    (created.collect(), opened.collect())
}

#[test]
fn a_neighbour_channel_goes_first_to_a_peer_already_connected_even_if_listed_last() {
    let now = Instant::ZERO;
    let mut config = Config::default();
    config.discovery.degree = 1;
    let mut node = Node::new(config, 7, now);
    assert!(drain(&mut node).iter().any(|o| matches!(o, Output::ConnectSignaling)));
    let content = ContentId([0xab; 32]);
    node.download(now, content).unwrap();
    frame(&mut node, now, &format!(r#"{{"type":"welcome","peer_id":"{ME}","ice_servers":[]}}"#));

    let key = SwarmKey::of(&content);
    let joined = format!(r#"{{"type":"joined","swarm":"{key}","peers":["{CONNECTED}"]}}"#);
    let (created, opened) = created_and_opened(&frame(&mut node, now, &joined), &key.to_string());
    assert_eq!((created, opened), (vec![CONNECTED.to_owned()], vec![CONNECTED.to_owned()]));

    let net = node.network().swarm();
    let members = format!(r#"{{"type":"joined","swarm":"{net}","peers":["{STRANGER}","{CONNECTED}"]}}"#);
    let (created, opened) = created_and_opened(&frame(&mut node, now, &members), "discovery");
    assert!(created.is_empty(), "no new connection for the one neighbour wanted: {created:?}");
    assert_eq!(opened, vec![CONNECTED.to_owned()]);
}
