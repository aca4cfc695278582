//! PROTOCOL.md 2.10 between real WebRTC stacks: a `swarm-peer` whose stack takes data-channel messages of 64 KiB
//! (the RFC 8841 default, and some stacks' only size) downloads byte-exact from a seeder that takes 256 KiB (its
//! 128 KiB blocks come in parts of 32 KiB), and a peer under the floor is refused, with the reason, by the seeder.

mod common;

use common::{Running, World, sha256};
use peer_native::node::Counters;
use peer_native::transport::RtcSettings;
use tokio::sync::watch;

/// Node options of `w` for a peer whose stack takes messages of at most `max_message` bytes.
fn options_with(w: &World, max_message: u32) -> peer_native::node::NodeOptions {
    let mut options = w.options();
    options.rtc = RtcSettings { max_message, ..options.rtc };
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_takes_64_kib_messages_downloads_byte_exact() {
    let w = World::new(3 * 1024 * 1024 + 77).await;
    let seeder = w.seeder();
    let out = w.path("copy.bin");

    let reports = Running::get(options_with(&w, 65_536), &w.manifest, &out, None).finished().await;

    assert!(reports[0].complete, "download did not complete: {:?}", reports[0].errors);
    assert_eq!(sha256(&out), sha256(&w.source));
    assert!(reports[0].refused.is_empty(), "{:?}", reports[0].refused);
    let seeder = seeder.stop().await;
    assert!(seeder[0].refused.is_empty(), "{:?}", seeder[0].refused);
    assert_eq!(seeder[0].stats.uploaded_bytes, w.manifest.size(), "not every byte came from the seeder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_under_the_floor_is_refused_with_the_reason() {
    let w = World::new(256 * 1024).await;
    let (seen, mut refusals) = watch::channel(Counters::default());
    let seeder = Running::start(
        w.options(),
        vec![peer_native::node::ContentSpec::Seed { path: w.source.clone(), manifest: w.manifest.clone() }],
        Some(seen),
    );
    // 8 KiB: under the 16,393 bytes a connection must carry. (The command line refuses it; a stack may not.)
    let getter = Running::get(options_with(&w, 8_192), &w.manifest, &w.path("copy.bin"), None);

    tokio::time::timeout(common::TRANSFER_TIMEOUT, refusals.wait_for(|c| c.refusals > 0))
        .await
        .expect("the seeder never refused the peer")
        .expect("seeder running");
    let got = getter.stop().await;
    let seeder = seeder.stop().await;
    assert!(!got[0].complete);
    assert_eq!(got[0].stats.downloaded_bytes, 0);
    let said = seeder[0].refused.join("\n");
    assert!(said.contains("at most 8192 bytes") && said.contains("16393"), "{said}");
    assert_eq!(seeder[0].stats.uploaded_bytes, 0);
}
