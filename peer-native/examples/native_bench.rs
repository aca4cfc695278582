//! Native-to-native throughput: a 256 MiB file through the swarm (one seeder, one leecher, real signaling server,
//! real WebRTC on loopback), beside the raw ceiling of one webrtc-rs data channel on the same machine.
//!
//! Prints a Markdown table on stdout, for `scripts/bench-section.mjs`:
//!
//!     cargo run -q --release -p peer-native --example native_bench | node scripts/bench-section.mjs native-bench
//!
//! `NATIVE_BENCH_MIB` changes the file size (default 256).

use futures::FutureExt;
use std::time::Instant;

use peer_native::progress::Progress;
use webrtc::data_channel::DataChannelEvent;

#[path = "../tests/common/pair.rs"]
mod pair;
#[path = "common/transfer.rs"]
mod transfer;

const MIB: usize = 1024 * 1024;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mib: usize = std::env::var("NATIVE_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let raw = raw_channel(mib * MIB).await?;
    eprintln!("raw data channel: {mib} MiB in {raw:.2} s");
    let mbps = |secs: f64| (mib * MIB) as f64 / secs / 1e6;
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!("One process, two peers on loopback, {mib} MiB, {profile} build.");
    println!();
    println!("| path | time (s) | MB/s | vs raw |");
    println!("|---|---:|---:|---:|");
    println!(
        "| raw webrtc-rs data channel, 128 KiB messages, 4 MiB high-water mark | {raw:.2} | {:.1} | 1.00 |",
        mbps(raw)
    );
    // In its own task: a failure (or a panic in the swarm) is reported in the table, not lost with the raw row.
    match tokio::spawn(swarm_transfer(mib * MIB)).await {
        Ok(Ok((secs, pieces))) => println!(
            "| swarm-peer share → get ({pieces} pieces, verified and written to disk) | {secs:.2} | {:.1} | {:.2} |",
            mbps(secs),
            raw / secs
        ),
        Ok(Err(e)) => println!("| swarm-peer share → get | not measured: {e:#} | | |"),
        Err(e) => {
            let why = e.try_into_panic().ok().and_then(|p| {
                p.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| p.downcast_ref::<String>().cloned())
            });
            println!("| swarm-peer share → get | not measured: panicked: {} | | |", why.unwrap_or_default());
        }
    }
    Ok(())
}

/// Seconds for a swarm transfer of `len` random bytes from one seeder to one leecher.
async fn swarm_transfer(len: usize) -> anyhow::Result<(f64, u32)> {
    let dir = tempfile::tempdir()?;
    let source = dir.path().join("source.bin");
    let mut data = vec![0u8; len];
    rand::fill(&mut data[..]);
    std::fs::write(&source, &data)?;
    drop(data);
    let manifest = peer_native::hashing::hash_file(&source, &Progress::new())?;
    let pieces = manifest.piece_count();

    let out = dir.path().join("copy.bin");
    let secs = transfer::transfer(&source, &manifest, &out).await?;
    anyhow::ensure!(std::fs::read(&out)? == std::fs::read(&source)?, "downloaded file differs");
    Ok((secs, pieces))
}

/// Seconds to push `len` bytes through one ordered data channel in 128 KiB messages, pausing above 4 MiB buffered
/// and resuming under 1 MiB, as the node's channel task does; timed until the receiver has every byte.
async fn raw_channel(len: usize) -> anyhow::Result<f64> {
    let pair::Pair { a, b, local: dc, remote } = pair::connected_pair("raw").await?;
    dc.set_buffered_amount_high_threshold(peer_native::channel::HIGH_WATER).await?;
    dc.set_buffered_amount_low_threshold(peer_native::channel::LOW_WATER).await?;
    let receiver = tokio::spawn(async move {
        let mut got = 0usize;
        while got < len {
            match remote.poll().await {
                Some(DataChannelEvent::OnMessage(m)) => got += m.data.len(),
                Some(DataChannelEvent::OnClose) | None => break,
                Some(_) => {}
            }
        }
        got
    });
    let start = Instant::now();
    let block = vec![7u8; 128 * 1024];
    let mut sent = 0usize;
    let mut paused = false;
    while sent < len {
        // Take the events already there without waiting (`poll` is cancel-safe); wait only while paused.
        loop {
            let event = if paused { dc.poll().await } else { dc.poll().now_or_never().flatten() };
            match event {
                Some(DataChannelEvent::OnBufferedAmountHigh) => paused = true,
                Some(DataChannelEvent::OnBufferedAmountLow) => paused = false,
                Some(DataChannelEvent::OnClose) => anyhow::bail!("channel closed"),
                Some(_) => {}
                None if paused => anyhow::bail!("channel closed"),
                None => break,
            }
        }
        dc.send(bytes::BytesMut::from(&block[..])).await?;
        sent += block.len();
    }
    let got = receiver.await?;
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(got >= len, "receiver got {got} of {len} bytes");
    a.close().await?;
    b.close().await?;
    Ok(secs)
}
