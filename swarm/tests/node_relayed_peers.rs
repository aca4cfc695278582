//! The path a shell reports for each connection (`Input::PeerPath`) is counted per content: what the page's and
//! `swarm-peer`'s peer counts say as "relayed".

use core::time::Duration;

use swarm::node::{Config, Input};
use swarm::sim::make_file;
use swarm::sim::world::World;

#[test]
fn a_content_counts_the_peers_whose_connection_is_relayed() {
    let mut world = World::new(Duration::from_millis(20));
    let (data, manifest) = make_file(256 * 1024, 3);
    let content = manifest.content_id();
    let (a, b) = (world.add(Config::default(), 1), world.add(Config::default(), 2));
    world.share(a, data.clone(), manifest.clone());
    world.share(b, data, manifest);
    world.run_for(Duration::from_secs(1));
    let c = world.add(Config::default(), 3);
    world.download(c, content);
    let done = world
        .run_until_true(Duration::from_secs(60), |w| w.nodes[c].node.swarm(&content).is_some_and(|s| s.is_complete()));
    assert!(done, "download did not complete");
    let peers = world.nodes[c].node.swarm(&content).map(|s| s.stats().peers);
    assert_eq!(peers, Some(2));
    // Nothing reported yet: none counted as relayed.
    assert_eq!(world.nodes[c].node.relayed_peers(&content), 0);
    let (id_a, id_b) = (world.nodes[a].node.me().cloned(), world.nodes[b].node.me().cloned());
    let (Some(id_a), Some(id_b)) = (id_a, id_b) else { panic!("the seeders have no ids") };
    let now = world.now();
    world.nodes[c].node.handle_input(now, Input::PeerPath { peer: id_a.clone(), relayed: true });
    world.nodes[c].node.handle_input(now, Input::PeerPath { peer: id_b.clone(), relayed: false });
    assert_eq!(world.nodes[c].node.relayed_peers(&content), 1);
    // The path can change (ICE moved the connection to another pair): the latest report counts.
    world.nodes[c].node.handle_input(now, Input::PeerPath { peer: id_a, relayed: false });
    assert_eq!(world.nodes[c].node.relayed_peers(&content), 0);
    // Relayed again (the connection moved to a relayed pair), then closed.
    world.nodes[c].node.handle_input(now, Input::PeerPath { peer: id_b.clone(), relayed: true });
    assert_eq!(world.nodes[c].node.relayed_peers(&content), 1);
    world.nodes[c].node.handle_input(now, Input::PeerClosed { peer: id_b });
    assert_eq!(world.nodes[c].node.relayed_peers(&content), 0, "a closed connection is not counted");
}
