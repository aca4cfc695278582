//! One seeder, 20 leechers, seeder upload limited: all complete, the seeder uploads at most 3x the file while
//! client-server needs 20x, and the swarm finishes before the client-server baseline.
use swarm::sim::{Sim, SimConfig, Topology};

fn config(topology: Topology) -> SimConfig {
    SimConfig {
        leechers: 20,
        file_size: 16 * 1024 * 1024,
        seeder_up: 2 * 1024 * 1024,
        peer_up: 2 * 1024 * 1024,
        peer_down: 8 * 1024 * 1024,
        topology,
        ..SimConfig::default()
    }
}

#[test]
fn twenty_leechers_complete_with_little_seeder_upload_and_beat_client_server() {
    let p2p = Sim::new(config(Topology::Swarm { connections: 8 })).run();
    let cs = Sim::new(config(Topology::ClientServer)).run();
    let p2p_time = p2p.all_complete.expect("every leecher completes in the swarm");
    let cs_time = cs.all_complete.expect("every client completes in client-server");
    assert!(p2p.seeder_ratio() <= 3.0, "seeder uploaded {:.2}x the file", p2p.seeder_ratio());
    assert!(cs.seeder_ratio() >= 20.0, "client-server server uploaded {:.2}x", cs.seeder_ratio());
    assert!(p2p_time < cs_time, "swarm {p2p_time:?} vs client-server {cs_time:?}");
    assert_eq!(p2p.corrupt_writes, 0);
}
