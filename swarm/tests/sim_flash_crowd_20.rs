//! One seeder, 20 leechers, seeder upload limited: all complete, the seeder uploads at most 3x the file while
//! client-server needs 20x, and the swarm finishes before the client-server baseline.
use swarm::sim::{Sim, SimConfig, Topology};

fn config(topology: Topology, seed: u64) -> SimConfig {
    SimConfig {
        leechers: 20,
        file_size: 8 * 1024 * 1024,
        seeder_up: 2 * 1024 * 1024,
        peer_up: 2 * 1024 * 1024,
        peer_down: 8 * 1024 * 1024,
        topology,
        seed,
        ..SimConfig::default()
    }
}

#[test]
fn twenty_leechers_complete_with_little_seeder_upload_and_beat_client_server() {
    let cs = Sim::new(config(Topology::ClientServer, 1)).run();
    let cs_time = cs.all_complete.expect("every client completes in client-server");
    assert!(cs.seeder_ratio() >= 20.0, "client-server server uploaded {:.2}x", cs.seeder_ratio());
    // Seeds 1 to 6 measured 1.92x to 2.12x (seeder shows pieces a few at a time, swarm/src/swarm/reveal.rs);
    // before that, 3.16x to 3.56x.
    for seed in 1..=3 {
        let p2p = Sim::new(config(Topology::Swarm { connections: 8 }, seed)).run();
        let p2p_time = p2p.all_complete.expect("every leecher completes in the swarm");
        assert!(p2p.seeder_ratio() <= 2.5, "seed {seed}: seeder uploaded {:.2}x the file", p2p.seeder_ratio());
        assert!(p2p_time < cs_time, "seed {seed}: swarm {p2p_time:?} vs client-server {cs_time:?}");
        assert_eq!(p2p.corrupt_writes, 0);
    }
}
