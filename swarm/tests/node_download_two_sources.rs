//! Whole nodes through the simulated hub and WebRTC: a download completes from two seeders, both of which serve.

use core::time::Duration;

use swarm::node::Config;
use swarm::sim::make_file;
use swarm::sim::world::World;

#[test]
fn a_download_completes_from_two_nodes_and_both_serve_it() {
    let mut world = World::new(Duration::from_millis(20));
    let (data, manifest) = make_file(2 * 1024 * 1024, 7);
    let content = manifest.content_id();
    let a = world.add(Config::default(), 1);
    let b = world.add(Config::default(), 2);
    world.share(a, data.clone(), manifest.clone());
    world.share(b, data.clone(), manifest);
    world.run_for(Duration::from_secs(1));
    let c = world.add(Config::default(), 3);
    world.download(c, content);
    let done = world
        .run_until_true(Duration::from_secs(60), |w| w.nodes[c].node.swarm(&content).is_some_and(|s| s.is_complete()));
    assert!(done, "not complete: {:?}", world.nodes[c].node.swarm(&content).map(|s| s.stats()));
    assert_eq!(world.nodes[c].files.get(&content), Some(&data), "the bytes written are the file's");
    for seeder in [a, b] {
        let uploaded = world.nodes[seeder].node.swarm(&content).map(|s| s.stats().uploaded_bytes).unwrap_or(0);
        assert!(uploaded > 0, "node {seeder} uploaded nothing");
    }
    // One connection per pair, one channel per content on each.
    assert_eq!(world.connections(c), 2);
}
