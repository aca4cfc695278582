//! Two nodes that offer to each other at the same moment end with one connection and one channel per topic.

use core::time::Duration;

use swarm::node::Config;
use swarm::node::label::Topic;
use swarm::proof::SwarmKey;
use swarm::signal::{ServerEvent, SwarmName};
use swarm::sim::make_file;
use swarm::sim::world::{World, topic_channels};

#[test]
fn simultaneous_offers_resolve_to_one_connection_and_one_channel() {
    // No discovery neighbours: the only connection between the two is the one under test.
    let config =
        Config { discovery: swarm::discovery::Config { degree: 0, ..Default::default() }, ..Default::default() };
    let mut world = World::new(Duration::from_millis(30));
    let (data, manifest) = make_file(512 * 1024, 3);
    let content = manifest.content_id();
    let a = world.add(config.clone(), 1);
    let b = world.add(config, 2);
    world.run_for(Duration::from_millis(100));
    let (ida, idb) = (world.id_of(a).unwrap(), world.id_of(b).unwrap());
    world.share(a, data.clone(), manifest.clone());
    world.share(b, data, manifest);
    // Before the server's own answers arrive, both hear at the same instant that the other is in the swarm (as
    // when two peers re-join together after a server restart): both offer.
    let swarm = SwarmName::parse(&SwarmKey::of(&content).to_string()).unwrap();
    world.inject_server_event(a, &ServerEvent::Joined { swarm: swarm.clone(), peers: vec![idb] });
    world.inject_server_event(b, &ServerEvent::Joined { swarm, peers: vec![ida] });
    assert_eq!((world.connections(a), world.connections(b)), (1, 1), "both sides are offering");
    world.run_for(Duration::from_secs(5));
    for node in [a, b] {
        assert_eq!(world.connections(node), 1, "node {node}");
        assert_eq!(topic_channels(&world, node, Topic::Content(content)), 1, "node {node}");
        assert_eq!(world.nodes[node].node.swarm(&content).unwrap().stats().peers, 1, "node {node}");
    }
}
