//! A native leecher fetches a random 32 MiB file from a native seeder over the real signaling server and real
//! WebRTC on loopback, and ends with the seeder's exact bytes.

mod common;

use common::{Running, Server, manifest, options, random_file, sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leecher_gets_a_32_mib_file_identical_to_the_seeders() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let source = random_file(dir.path(), "source.bin", 32 * 1024 * 1024);
    let m = manifest(&source);
    let seeder = Running::seed(options(&server), &source, &m);
    let out = dir.path().join("copy.bin");

    let reports = Running::get(options(&server), &m, &out, None).finished().await;

    assert!(reports[0].complete, "download did not complete: {:?}", reports[0].errors);
    assert_eq!(reports[0].path.as_deref(), Some(out.as_path()));
    assert_eq!(sha256(&out), sha256(&source));
    assert!(!out.with_extension("bin.part.state").exists(), "state file left behind");
    seeder.stop().await;
}
