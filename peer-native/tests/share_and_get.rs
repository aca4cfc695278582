//! A native leecher fetches a random 32 MiB file from a native seeder over the real signaling server and real
//! WebRTC on loopback, and ends with the seeder's exact bytes; `swarm-peer get` takes a link in upper-case hex, as
//! the page does, and finds the signaling server from it.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_with_an_upper_case_link_downloads_from_the_server_the_link_names() {
    let w = World::new(256 * 1024).await;
    let seeder = w.seeder();
    let out = w.path("copy.bin");
    let link = peer_native::link::browser_link(&w.server.url, w.manifest.content_id());
    let (base, id) = link.rsplit_once('#').unwrap();
    let upper = format!("{base}#{}", id.to_ascii_uppercase());
    // No --signaling: the server is the one the link names.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_swarm-peer"));
    cmd.env_remove("SWARM_SIGNALING").args(["-q", "--bind", "127.0.0.1:0", "--no-server-ice", "get", &upper, "-o"]);
    cmd.arg(&out);
    let run = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    let output = tokio::time::timeout(common::TRANSFER_TIMEOUT, run).await.expect("get timed out").unwrap();

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), out.display().to_string());
    assert_eq!(sha256(&out), sha256(&w.source));
    seeder.stop().await;
}

/// A download that fails (here: its name is taken in the target directory, found once the manifest is known) ends
/// the run at once: `get` exits non-zero with the reason, and the file at the name is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_stops_with_the_reason_when_the_download_fails() {
    let w = World::new(256 * 1024).await;
    let seeder = w.seeder();
    let dir = w.path("into");
    std::fs::create_dir(&dir).unwrap();
    let taken = dir.join(w.manifest.name());
    std::fs::write(&taken, b"mine").unwrap();
    let link = peer_native::link::browser_link(&w.server.url, w.manifest.content_id());
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_swarm-peer"));
    cmd.args(["-q", "--bind", "127.0.0.1:0", "--no-server-ice", "get", &link, "-o"]).arg(&dir);
    let run = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    let output = tokio::time::timeout(common::TRANSFER_TIMEOUT, run).await.expect("get did not stop").unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the download stopped") && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read(&taken).unwrap(), b"mine");
    seeder.stop().await;
}

/// An empty file is complete as soon as its manifest is known (PROTOCOL.md 1.1): `get` saves it and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_is_saved_as_soon_as_its_manifest_is_known() {
    let w = World::new(0).await;
    let seeder = w.seeder();
    let out = w.path("empty-copy.bin");

    let reports = Running::get(w.options(), &w.manifest, &out, None).finished().await;

    assert!(reports[0].complete, "download did not complete: {:?}", reports[0].errors);
    assert_eq!(std::fs::read(&out).unwrap(), Vec::<u8>::new());
    assert!(!w.path("empty-copy.bin.part").exists(), "partial file left behind");
    seeder.stop().await;
}
