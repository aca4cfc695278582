//! A leecher connected to a seeder that serves corrupt blocks (`lying` feature) bans the liar, then ends with the
//! correct file from an honest seeder that joins after the ban.

mod common;

use common::{Running, World, sha256};
use peer_native::node::Counters;
use tokio::sync::watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leecher_bans_a_lying_seeder_and_finishes_from_an_honest_one() {
    let w = World::new(4 * 1024 * 1024).await;
    let mut lying = w.options();
    lying.lie = true;
    let liar = Running::seed(lying, &w.source, &w.manifest);
    let out = w.path("copy.bin");
    let (observer, mut counters) = watch::channel(Counters::default());
    let getter = Running::get(w.options(), &w.manifest, &out, Some(observer));

    // The liar is the only seeder until it is banned: an honest one already there could serve the whole file
    // before the liar's connection is up, and nothing would be tested.
    tokio::time::timeout(common::TRANSFER_TIMEOUT, counters.wait_for(|c| c.bans > 0))
        .await
        .expect("the liar was not banned")
        .expect("leecher running");
    let honest = w.seeder();
    let reports = getter.finished().await;

    assert!(reports[0].complete, "{:?}", reports[0].errors);
    assert_eq!(sha256(&out), sha256(&w.source));
    assert_eq!(reports[0].banned.len(), 1, "{:?}", reports[0].banned);
    liar.stop().await;
    honest.stop().await;
}
