//! A leecher interrupted mid-transfer keeps its partial file and state file; run again, it fetches only the
//! pieces it did not have, and ends with the seeder's bytes.

mod common;

use common::{Running, TRANSFER_TIMEOUT, World, sha256};
use peer_native::node::Counters;
use tokio::sync::watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_get_resumes_without_refetching_verified_pieces() {
    let w = World::new(32 * 1024 * 1024).await;
    let m = &w.manifest;
    let seeder = w.seeder();
    let out = w.path("copy.bin");

    // First run: stop as soon as a few pieces are verified.
    let (observer, mut counters) = watch::channel(Counters::default());
    let first = Running::get(w.options(), m, &out, Some(observer));
    tokio::time::timeout(TRANSFER_TIMEOUT, counters.wait_for(|c| c.verified >= 4))
        .await
        .expect("no piece verified")
        .unwrap();
    let first = first.stop().await;
    assert!(!first[0].complete, "the first run finished before it could be interrupted");
    let before: Vec<u32> = first[0].verified_this_run.clone();
    assert!(!out.exists(), "the final file exists before completion");

    // Second run: resumes from the partial and state files.
    let second = Running::get(w.options(), m, &out, None).finished().await;
    let resumed = second[0].resumed.clone().expect("second run did not resume from the state file");
    for piece in &before {
        assert!(resumed.get(*piece), "piece {piece} verified in the first run was not resumed");
    }
    let refetched: Vec<u32> = second[0].verified_this_run.iter().copied().filter(|p| resumed.get(*p)).collect();
    assert!(refetched.is_empty(), "pieces fetched again: {refetched:?}");
    assert_eq!(resumed.count() as usize + second[0].verified_this_run.len(), m.piece_count() as usize);
    assert!(second[0].complete, "{:?}", second[0].errors);
    assert_eq!(sha256(&out), sha256(&w.source));
    seeder.stop().await;
}
