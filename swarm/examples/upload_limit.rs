//! How closely a node keeps its upload limit (`node::Config::max_upload_rate`), in the world simulator: a seeder
//! sharing two files to four downloaders, limited to 1, 5 and 20 MB/s. Prints a Markdown table for BENCHMARKS.md:
//!
//! ```sh
//! cargo run --release -q -p swarm --example upload_limit | node scripts/bench-section.mjs upload-limit
//! ```

use swarm::sim::world::upload_limit_run;

fn main() {
    const SECONDS: u64 = 10;
    println!(
        "A seeder of two files, four downloaders (two a file), 20 ms links, simulated; its upload over {SECONDS} s"
    );
    println!("after its first second, and in that first second (the bucket starts full).");
    println!();
    println!("| limit (MB/s) | uploaded (MB/s) | off by | first second (MB) |");
    println!("|---:|---:|---:|---:|");
    for limit in [1_000_000u32, 5_000_000, 20_000_000] {
        let run = upload_limit_run(limit, SECONDS);
        let off = (run.rate - f64::from(limit)) / f64::from(limit) * 100.0;
        println!(
            "| {} | {:.3} | {off:+.2} % | {:.2} |",
            limit / 1_000_000,
            run.rate / 1e6,
            run.first_second as f64 / 1e6
        );
    }
}
