//! Search across a simulated discovery network of 200 peers: a file held by a single peer far from the searcher is
//! found within 2 s of simulated time in most searches, and the messages a search costs stay bounded.

use std::time::Duration;

use swarm::discovery::sim::{Network, SimConfig};
use swarm::time::Instant;

#[test]
fn search_finds_a_file_held_by_one_distant_peer() {
    let config = SimConfig { peers: 200, seed: 7, ..SimConfig::default() };
    let bound = (config.peers * config.discovery.max_neighbours) as u64;
    let mut net = Network::new(&config);
    net.run_until(Instant::ZERO + Duration::from_secs(10));
    let queries = 40;
    let mut found = 0;
    for _ in 0..queries {
        let (searcher, holder) = net.pick_distant_pair();
        let q = net.search_for(searcher, holder, Duration::from_secs(2));
        assert!(q.distance >= 3, "the holder is not distant: {} hops", q.distance);
        // Each peer passes a query on at most once, to at most max_neighbours: flooding without deduplication
        // would cost max_neighbours^hops messages instead.
        assert!(q.messages <= bound, "a search cost {} messages, over {bound}", q.messages);
        found += u32::from(q.found_after.is_some_and(|t| t <= Duration::from_secs(2)));
    }
    assert!(found * 100 >= queries * 95, "only {found} of {queries} searches found the file within 2 s");
}

#[test]
fn search_without_query_forwarding_does_not_reach_distant_peers() {
    // The same network with no forwarding at all: only neighbours (and what they heard) answer, so a file five
    // hops away is not found. This shows the test above measures forwarding, not luck.
    let mut config = SimConfig { peers: 200, seed: 7, ..SimConfig::default() };
    config.discovery.query_hops = 0;
    config.discovery.announce_hops = 0;
    let mut net = Network::new(&config);
    net.run_until(Instant::ZERO + Duration::from_secs(10));
    let mut found = 0;
    for _ in 0..20 {
        let (searcher, holder) = net.pick_distant_pair();
        let q = net.search_for(searcher, holder, Duration::from_secs(2));
        found += u32::from(q.found_after.is_some() && q.distance > 2);
    }
    assert_eq!(found, 0);
}
