//! SHA-256 throughput of the swarm core's hashing, natively: the incremental [`ManifestBuilder`] (what a sharer
//! runs over a whole file) and [`Manifest::verify_piece`] (what a downloader runs on every piece).
//!
//! Prints a Markdown table for BENCHMARKS.md:
//! `cargo run --release -p swarm --example hash_bench | node scripts/bench-section.mjs swarm-hash`
//!
//! Examples may read the clock; the library never does.

use std::time::Instant;

use swarm::manifest::{Manifest, ManifestBuilder};

/// Bytes hashed per run: large enough that a run takes a fraction of a second on this machine.
const FILE_LEN: usize = 256 * 1024 * 1024;
/// Runs per row; the table shows the best and the median (the machine is shared and noisy).
const RUNS: usize = 5;

fn main() {
    let data = pseudo_random(FILE_LEN);
    println!("{}", cpu_line());
    println!();
    println!("| Operation | MiB per run | Best MB/s | Median MB/s | 4 GiB file at median (s) |");
    println!("|---|---:|---:|---:|---:|");
    for chunk in [64 * 1024, 1024 * 1024] {
        for piece_size in [128 * 1024, 2 * 1024 * 1024] {
            let label = format!(
                "`ManifestBuilder::update`, {} KiB pieces, fed in {} KiB chunks",
                piece_size / 1024,
                chunk / 1024
            );
            row(&label, FILE_LEN, || {
                build(&data, piece_size, chunk);
            });
        }
    }
    for piece_size in [128 * 1024, 2 * 1024 * 1024] {
        let manifest = build(&data, piece_size as u32, 1024 * 1024);
        let label = format!("`Manifest::verify_piece`, {} KiB pieces", piece_size / 1024);
        row(&label, FILE_LEN, || {
            for (i, piece) in data.chunks(piece_size).enumerate() {
                assert!(manifest.verify_piece(i as u32, piece), "piece {i} verifies");
            }
        });
    }
}

fn build(data: &[u8], piece_size: u32, chunk: usize) -> Manifest {
    let mut builder = ManifestBuilder::with_piece_size("bench.bin", data.len() as u64, "", piece_size)
        .expect("benchmark sizes are within the limits");
    for c in data.chunks(chunk) {
        builder.update(c);
    }
    builder.finish().expect("fed exactly the declared size")
}

/// Times `RUNS` runs of `f` hashing `bytes` bytes each and prints one table row in MB/s (10^6 bytes/s).
fn row(label: &str, bytes: usize, mut f: impl FnMut()) {
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            bytes as f64 / start.elapsed().as_secs_f64() / 1e6
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let (best, median) = (rates[RUNS - 1], rates[RUNS / 2]);
    let four_gib_secs = (4u64 << 30) as f64 / (median * 1e6);
    println!("| {label} | {} | {best:.0} | {median:.0} | {four_gib_secs:.1} |", bytes >> 20);
}

/// Incompressible bytes without a dependency (xorshift64): the hash's speed does not depend on content, but
/// zeros could flatter a future hardware path.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Whether the CPU has SHA extensions, which `sha2` detects and uses at run time: the main factor in these figures.
fn cpu_line() -> String {
    #[cfg(target_arch = "x86_64")]
    let sha = if std::arch::is_x86_feature_detected!("sha") { "with SHA-NI" } else { "without SHA-NI" };
    #[cfg(not(target_arch = "x86_64"))]
    let sha = "non-x86_64";
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let profile = if cfg!(debug_assertions) { "debug build (not comparable)" } else { "release build" };
    format!("CPU: {model} ({sha}); {RUNS} runs per row, one thread, {profile}; MB = 10^6 bytes.")
}
