//! A download whose every connection failed asks the server for the swarm's members again, and finishes.

use core::time::Duration;

use swarm::node::{Config, REJOIN_EVERY};
use swarm::sim::make_file;
use swarm::sim::world::World;

#[test]
fn a_download_left_without_a_connection_rejoins_its_swarm_and_completes() {
    // No discovery neighbours: the content's connection is the only one between the two.
    let config =
        Config { discovery: swarm::discovery::Config { degree: 0, ..Default::default() }, ..Default::default() };
    let mut world = World::new(Duration::from_millis(20));
    let (data, manifest) = make_file(8 * 1024 * 1024, 5);
    let content = manifest.content_id();
    let seeder = world.add(config.clone(), 1);
    world.share(seeder, data.clone(), manifest);
    world.run_for(Duration::from_millis(200));
    let leecher = world.add(config, 2);
    world.download(leecher, content);
    let started = world.run_until_true(Duration::from_secs(10), |w| {
        w.nodes[leecher].node.swarm(&content).is_some_and(|s| s.stats().verified_pieces > 0)
    });
    assert!(started);
    world.fail_connection(leecher, seeder);
    assert_eq!(world.connections(leecher), 0);
    let done = world
        .run_until_true(REJOIN_EVERY * 3, |w| w.nodes[leecher].node.swarm(&content).is_some_and(|s| s.is_complete()));
    assert!(done, "stranded: {:?}", world.nodes[leecher].node.swarm(&content).map(|s| s.stats()));
    assert_eq!(world.nodes[leecher].files.get(&content), Some(&data));
}
