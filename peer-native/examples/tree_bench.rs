//! Folders against single files (issue 22's figures): 10,000 files of 4 KiB, and one 1 GiB file with 100 small ones,
//! each shared as a folder and, in the same run, as one file of the same bytes (the folder's piece stream). For each:
//! the time to hash it at share, and the time one native leecher takes to get it from one native seeder (real
//! signaling server, WebRTC on loopback, every piece verified and written to disk, the result compared with the
//! source).
//!
//!     cargo run -q --release -p peer-native --example tree_bench | node scripts/bench-section.mjs native-tree
//!
//! `TREE_BENCH_BIG_MIB` changes the large file's size (default 1024); `TREE_BENCH_SMALL_ONLY` runs the small files
//! only (for profiling).

use std::path::{Path, PathBuf};
use std::time::Instant;

use peer_native::progress::Progress;
use swarm::manifest::Manifest;

#[path = "common/transfer.rs"]
mod common;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let big_mib: usize = std::env::var("TREE_BENCH_BIG_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!(
        "One process, two peers on loopback, {profile} build; each share hashed, then fetched by one leecher from one \
         seeder; the single file holds the same bytes as the folder (its piece stream)."
    );
    println!();
    println!(
        "| share | bytes | pieces | hash: folder / file (s) | transfer, median of {RUNS}: folder / file (s) | folder / file |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let small = |dir: &Path| -> anyhow::Result<()> {
        for folder in 0..100 {
            let sub = dir.join(format!("folder-{folder:03}"));
            std::fs::create_dir_all(&sub)?;
            for file in 0..100 {
                write_random(&sub.join(format!("file-{file:03}.bin")), 4 * KIB)?;
            }
        }
        Ok(())
    };
    row("10,000 files of 4 KiB in 100 folders (in /dev/shm)", small, true).await?;
    if std::env::var("TREE_BENCH_SMALL_ONLY").is_ok() {
        return Ok(());
    }
    let big = move |dir: &Path| -> anyhow::Result<()> {
        write_random(&dir.join("video.bin"), big_mib * MIB)?;
        std::fs::create_dir_all(dir.join("extras"))?;
        for file in 0..100 {
            write_random(&dir.join("extras").join(format!("note-{file:03}.txt")), 10 * KIB + file)?;
        }
        Ok(())
    };
    row(&format!("one {big_mib} MiB file and 100 files of about 10 KiB (on disk)"), big, false).await?;
    Ok(())
}

/// Makes the folder with `make`, measures it and its single-file twin, prints one table row. `in_memory`: in
/// /dev/shm (tmpfs) if there is one: ext4 makes creating thousands of files slow for minutes after thousands were
/// deleted (its inode allocator passes over recently deleted inodes), which would measure the benchmark's own
/// clean-up rather than the folder's cost.
async fn row(what: &str, make: impl Fn(&Path) -> anyhow::Result<()>, in_memory: bool) -> anyhow::Result<()> {
    let shm = Path::new("/dev/shm");
    let work = if in_memory && shm.is_dir() { tempfile::tempdir_in(shm)? } else { tempfile::tempdir()? };
    let folder = work.path().join("share");
    std::fs::create_dir(&folder)?;
    make(&folder)?;
    let progress = Progress::new();
    let started = Instant::now();
    let (tree, _) = peer_native::hashing::hash_dir(&folder, &progress)?;
    let hash_tree = started.elapsed().as_secs_f64();
    // The same bytes as one file: the files one after the other, in the manifest's order.
    let single = work.path().join("single.bin");
    {
        let mut out = std::fs::File::create(&single)?;
        for entry in tree.files() {
            let mut path = folder.clone();
            path.extend(entry.components());
            std::io::copy(&mut std::fs::File::open(path)?, &mut out)?;
        }
    }
    let started = Instant::now();
    let file = peer_native::hashing::hash_file(&single, &progress)?;
    let hash_file = started.elapsed().as_secs_f64();
    // The median of three runs each: a run's time includes finding the peer, which varies. Copies are removed only
    // at the end: creating files where thousands were just deleted costs ext4 several times more (its inode
    // allocator skips recently deleted inodes), which a user's disk does not see after one download.
    let mut move_tree = Vec::new();
    let mut move_file = Vec::new();
    for run in 0..RUNS {
        move_tree.push(transfer(&folder, &tree, &work.path().join(format!("tree-copy-{run}"))).await?);
        move_file.push(transfer(&single, &file, &work.path().join(format!("file-copy-{run}.bin"))).await?);
    }
    let (move_tree, move_file) = (median(&mut move_tree), median(&mut move_file));
    println!(
        "| {what} | {} | {} | {hash_tree:.2} / {hash_file:.2} | {move_tree:.2} / {move_file:.2} | {:.2} |",
        tree.size(),
        tree.piece_count(),
        move_tree / move_file
    );
    Ok(())
}

/// Transfers timed per share and kind: the median is reported.
const RUNS: usize = 3;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn write_random(path: &Path, len: usize) -> anyhow::Result<()> {
    let mut data = vec![0u8; len];
    rand::fill(&mut data[..]);
    std::fs::write(path, data)?;
    Ok(())
}

/// Seconds for one leecher to get `source` into `out`, the copy checked equal to the source.
async fn transfer(source: &Path, manifest: &Manifest, out: &Path) -> anyhow::Result<f64> {
    let secs = common::transfer(source, manifest, out).await?;
    anyhow::ensure!(same(source, out)?, "{} differs from {}", out.display(), source.display());
    Ok(secs)
}

/// Whether two files, or two folders' regular files, hold the same bytes under the same names.
fn same(a: &Path, b: &Path) -> anyhow::Result<bool> {
    if a.is_file() {
        return Ok(std::fs::read(a)? == std::fs::read(b)?);
    }
    let (mut left, mut right) = (list(a, a)?, list(b, b)?);
    left.sort();
    right.sort();
    if left.iter().map(|(p, _)| p).ne(right.iter().map(|(p, _)| p)) {
        return Ok(false);
    }
    for ((_, x), (_, y)) in left.iter().zip(&right) {
        if std::fs::read(x)? != std::fs::read(y)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn list(root: &Path, dir: &Path) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(list(root, &path)?);
        } else {
            out.push((path.strip_prefix(root)?.to_owned(), path));
        }
    }
    Ok(out)
}
