//! One seeder, one leecher: the file arrives and every piece verifies.
use swarm::sim::{Sim, SimConfig};

#[test]
fn one_seeder_one_leecher_file_arrives_and_every_piece_verifies() {
    let r = Sim::new(SimConfig { leechers: 1, file_size: 3 * 1024 * 1024 + 17, ..SimConfig::default() }).run();
    assert!(r.all_complete.is_some(), "the leecher did not complete: {r:?}");
    assert_eq!(r.corrupt_writes, 0);
    assert!(r.bans.is_empty());
}
