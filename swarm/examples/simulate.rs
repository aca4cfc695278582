//! Runs the swarm simulator and prints a Markdown table: the swarm beside the client-server baseline and the
//! fluid-model bound. Feeds BENCHMARKS.md:
//!
//! ```sh
//! cargo run --release -p swarm --example simulate -- --peers 100,1000 --file-mib 64 | node scripts/bench-section.mjs swarm-sim
//! ```
//!
//! Flags: `--peers N[,N...]`, `--file-mib M`, `--seeder-up-mib`, `--peer-up-mib`, `--peer-down-mib` (MiB/s),
//! `--latency-ms`, `--connections`, `--seed`, `--baseline-max N` (simulate the client-server baseline only up to
//! N peers; above it the baseline is the exact fluid figure max(N*F/u_seed, F/d), since one server's upload is
//! the only resource).

use std::time::Duration;

use swarm::sim::{Sim, SimConfig, Topology, fluid_bound};

fn main() {
    let mut peers = vec![100usize, 1000];
    let mut file_mib = 64u64;
    let (mut seeder_up, mut peer_up, mut peer_down) = (10u64, 2u64, 10u64);
    let mut latency_ms = 20u64;
    let mut connections = 16usize;
    let mut seed = 1u64;
    let mut baseline_max = 100usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let num = || value.parse::<u64>().unwrap_or_else(|_| usage(&format!("{flag}: not a number: {value}")));
        match flag.as_str() {
            "--peers" => {
                peers = value.split(',').map(|v| v.parse().unwrap_or_else(|_| usage("--peers: N[,N...]"))).collect()
            }
            "--file-mib" => file_mib = num(),
            "--seeder-up-mib" => seeder_up = num(),
            "--peer-up-mib" => peer_up = num(),
            "--peer-down-mib" => peer_down = num(),
            "--latency-ms" => latency_ms = num(),
            "--connections" => connections = num() as usize,
            "--seed" => seed = num(),
            "--baseline-max" => baseline_max = num() as usize,
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    const MIB: u64 = 1024 * 1024;
    println!(
        "File {file_mib} MiB; seeder upload {seeder_up} MiB/s; peers upload {peer_up} MiB/s, download {peer_down} MiB/s; \
         latency {latency_ms} ms one way; {connections} connections per joiner; seed {seed}; flash crowd (all join at once).\n"
    );
    println!(
        "| peers | swarm: all complete (s) | seeder upload / file | wasted / downloaded | client-server (s) | client-server upload / file | fluid bound (s) | swarm / bound | sim wall time (s) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in peers {
        let cfg = SimConfig {
            leechers: n,
            file_size: file_mib * MIB,
            seed,
            seeder_up: seeder_up * MIB,
            peer_up: peer_up * MIB,
            peer_down: peer_down * MIB,
            latency: Duration::from_millis(latency_ms),
            topology: Topology::Swarm { connections },
            time_limit: Duration::from_secs(100_000),
            ..SimConfig::default()
        };
        let started = std::time::Instant::now();
        let r = Sim::new(cfg.clone()).run();
        let wall = started.elapsed().as_secs_f64();
        let bound = fluid_bound(cfg.file_size, n, cfg.seeder_up, cfg.peer_up, cfg.peer_down);
        let (cs_time, cs_ratio) = if n <= baseline_max {
            let cs = Sim::new(SimConfig { topology: Topology::ClientServer, ..cfg.clone() }).run();
            (cs.all_complete.map(|d| format!("{:.1}", d.as_secs_f64())).unwrap_or("-".into()), cs.seeder_ratio())
        } else {
            let f = cfg.file_size as f64;
            let t = (n as f64 * f / cfg.seeder_up as f64).max(f / cfg.peer_down as f64);
            (format!("{t:.1} (fluid)"), n as f64)
        };
        let done = r.all_complete.map(|d| d.as_secs_f64());
        // Received bytes thrown away (endgame duplicates, blocks that crossed a Cancel) over all received bytes.
        let wasted = r.wasted.iter().sum::<u64>() as f64 / r.downloaded.iter().sum::<u64>().max(1) as f64;
        println!(
            "| {n} | {} | {:.2} | {:.1}% | {cs_time} | {cs_ratio:.1} | {bound:.1} | {} | {wall:.1} |",
            done.map(|d| format!("{d:.1}")).unwrap_or("did not complete".into()),
            r.seeder_ratio(),
            wasted * 100.0,
            done.map(|d| format!("{:.2}", d / bound)).unwrap_or("-".into()),
        );
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("simulate: {msg}");
    std::process::exit(2)
}
