//! A lying peer (corrupts every block it sends): the file still verifies, the liar is banned, honest peers not;
//! the same when the shells hash the pieces (`Config::shell_hashes`, as the browser peer does).
use swarm::Config;
use swarm::sim::{Sim, SimConfig, Topology};

fn liar_is_banned_and_the_file_verifies(config: Config) {
    let r = Sim::new(SimConfig {
        leechers: 6,
        liars: 1,
        file_size: 4 * 1024 * 1024,
        topology: Topology::Swarm { connections: 7 },
        config,
        ..SimConfig::default()
    })
    .run();
    assert!(r.all_complete.is_some(), "not everyone completed: {:?}", r.completion);
    assert_eq!(r.corrupt_writes, 0, "a corrupt piece was written");
    assert!(!r.bans.is_empty(), "the liar was never banned");
    assert!(r.bans.iter().all(|&(_, banned)| banned == 1), "an honest peer was banned: {:?}", r.bans);
}

#[test]
fn a_lying_peer_is_banned_and_the_file_still_verifies() {
    liar_is_banned_and_the_file_verifies(Config::default());
}

#[test]
fn a_lying_peer_is_banned_when_the_shells_hash_the_pieces() {
    liar_is_banned_and_the_file_verifies(Config { shell_hashes: true, ..Config::default() });
}
