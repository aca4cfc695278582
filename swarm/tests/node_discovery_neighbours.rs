//! Discovery neighbours through whole nodes: every node reaches its degree, and replaces a neighbour that leaves.

use core::time::Duration;

use swarm::node::label::Topic;
use swarm::node::{Config, REJOIN_EVERY};
use swarm::sim::world::{World, topic_channels};

const NODES: usize = 12;

#[test]
fn every_node_reaches_its_degree_and_replaces_a_neighbour_that_leaves() {
    let degree = Config::default().discovery.degree;
    let mut world = World::new(Duration::from_millis(25));
    // Arriving one after another, as people open the page.
    for i in 0..NODES {
        world.add(Config::default(), i as u64 + 1);
        world.run_for(Duration::from_millis(300));
    }
    let reached =
        world.run_until_true(REJOIN_EVERY * 12, |w| (0..NODES).all(|i| w.nodes[i].node.neighbours() >= degree));
    let counts: Vec<usize> = (0..NODES).map(|i| world.nodes[i].node.neighbours()).collect();
    assert!(reached, "neighbours per node: {counts:?}");
    let max = Config::default().discovery.max_neighbours;
    assert!(counts.iter().all(|&n| n <= max), "{counts:?}");
    // The shell's channels agree with the node's view.
    for i in 0..NODES {
        assert_eq!(topic_channels(&world, i, Topic::Discovery), world.nodes[i].node.neighbours(), "node {i}");
    }
    // Node 0's neighbours all leave.
    let gone: Vec<usize> = (1..NODES).filter(|&j| neighbour_of(&world, 0, j)).collect();
    assert!(!gone.is_empty());
    for &j in &gone {
        world.remove(j);
    }
    assert!(world.nodes[0].node.neighbours() < degree);
    let replaced =
        world.run_until_true(REJOIN_EVERY * 12, |w| w.nodes[0].node.neighbours() >= degree.min(NODES - 1 - gone.len()));
    assert!(replaced, "node 0 has {} neighbours after {} left", world.nodes[0].node.neighbours(), gone.len());
}

/// Whether node `j` is one of node `i`'s open neighbours.
fn neighbour_of(world: &World, i: usize, j: usize) -> bool {
    let Some(id) = world.id_of(j) else { return false };
    let node = &world.nodes[i].node;
    node.discovery().neighbours().any(|conn| node.channel(conn).is_some_and(|(peer, _)| *peer == id))
}
