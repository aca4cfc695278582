//! Search benchmark on the discovery simulator: a searcher looks for a file that only the peer farthest from it
//! shares. Prints a markdown table for BENCHMARKS.md.
//!
//!     cargo run --release -p swarm --example search_sim -- [peers] [queries] [seed]

use std::time::Duration;

use swarm::discovery::sim::{Network, SimConfig};
use swarm::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let peers = args.first().copied().unwrap_or(200) as usize;
    let queries = args.get(1).copied().unwrap_or(200) as usize;
    let seed = args.get(2).copied().unwrap_or(1);
    println!(
        "| peers | degree | query hops | announce hops | queries | found within 2 s | p50 / p95 time to result | mean / max distance | messages per query: mean / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (peers, query_hops, announce_hops) in
        [(peers, 2, 1), (peers, 3, 1), (peers, 3, 0), (peers * 5, 3, 1), (peers * 5, 4, 1)]
    {
        let mut config = SimConfig { peers, seed, ..SimConfig::default() };
        config.discovery.query_hops = query_hops;
        config.discovery.announce_hops = announce_hops;
        let mut net = Network::new(&config);
        // Let the first announcements settle.
        net.run_until(Instant::ZERO + Duration::from_secs(10));
        let mut times = Vec::new();
        let mut found = 0;
        let mut distances = Vec::new();
        let mut messages = Vec::new();
        for _ in 0..queries {
            let (searcher, holder) = net.pick_distant_pair();
            let q = net.search_for(searcher, holder, Duration::from_secs(2));
            if let Some(t) = q.found_after {
                found += 1;
                times.push(t.as_millis() as u64);
            }
            distances.push(q.distance);
            messages.push(q.messages);
        }
        times.sort_unstable();
        let pct =
            |p: usize| times.get((times.len() * p / 100).min(times.len().saturating_sub(1))).copied().unwrap_or(0);
        let mean_d = distances.iter().sum::<usize>() as f64 / distances.len() as f64;
        let max_d = distances.iter().max().copied().unwrap_or(0);
        let mean_m = messages.iter().sum::<u64>() as f64 / messages.len() as f64;
        let max_m = messages.iter().max().copied().unwrap_or(0);
        println!(
            "| {peers} | {} | {query_hops} | {announce_hops} | {queries} | {:.1}% | {} / {} ms | {mean_d:.1} / {max_d} | {mean_m:.0} / {max_m} |",
            config.degree,
            100.0 * found as f64 / queries as f64,
            pct(50),
            pct(95)
        );
    }
}
