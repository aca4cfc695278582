//! The seeder leaves once every piece exists somewhere else: everyone still completes.
use swarm::sim::{Sim, SimConfig, Topology};

#[test]
fn seeder_leaves_once_every_piece_is_replicated_and_everyone_completes() {
    let r = Sim::new(SimConfig {
        leechers: 10,
        file_size: 4 * 1024 * 1024,
        seeder_up: 1024 * 1024,
        topology: Topology::Swarm { connections: 6 },
        seeder_leaves_when_replicated: true,
        ..SimConfig::default()
    })
    .run();
    assert!(r.seeder_left, "the seeder never left");
    assert!(r.all_complete.is_some(), "not everyone completed: {:?}", r.completion);
    assert_eq!(r.corrupt_writes, 0);
}
