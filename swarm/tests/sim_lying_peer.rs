//! A lying peer (corrupts every block it sends): the file still verifies, the liar is banned, honest peers not.
use swarm::sim::{Sim, SimConfig, Topology};

#[test]
fn a_lying_peer_is_banned_and_the_file_still_verifies() {
    let r = Sim::new(SimConfig {
        leechers: 6,
        liars: 1,
        file_size: 4 * 1024 * 1024,
        topology: Topology::Swarm { connections: 7 },
        ..SimConfig::default()
    })
    .run();
    assert!(r.all_complete.is_some(), "not everyone completed: {:?}", r.completion);
    assert_eq!(r.corrupt_writes, 0, "a corrupt piece was written");
    assert!(!r.bans.is_empty(), "the liar was never banned");
    assert!(r.bans.iter().all(|&(_, banned)| banned == 1), "an honest peer was banned: {:?}", r.bans);
}
