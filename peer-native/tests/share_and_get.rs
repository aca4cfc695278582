//! A native leecher fetches a random 32 MiB file from a native seeder over the real signaling server and real
//! WebRTC on loopback, and ends with the seeder's exact bytes.

mod common;

use common::{Running, World, sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leecher_gets_a_32_mib_file_identical_to_the_seeders() {
    let w = World::new(32 * 1024 * 1024).await;
    let seeder = w.seeder();
    let out = w.path("copy.bin");

    let reports = Running::get(w.options(), &w.manifest, &out, None).finished().await;

    assert!(reports[0].complete, "download did not complete: {:?}", reports[0].errors);
    assert_eq!(reports[0].path.as_deref(), Some(out.as_path()));
    assert_eq!(sha256(&out), sha256(&w.source));
    assert!(!w.path("copy.bin.part.state").exists(), "state file left behind");
    assert!(!w.path("copy.bin.part").exists(), "partial file left behind");
    seeder.stop().await;
}
