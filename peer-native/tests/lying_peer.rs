//! A leecher connected to a seeder that serves corrupt blocks (`lying` feature) and to an honest seeder bans the
//! liar and still ends with the correct file.

mod common;

use common::{Running, World, sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leecher_bans_a_lying_seeder_and_finishes_from_an_honest_one() {
    let w = World::new(4 * 1024 * 1024).await;
    let mut lying = w.options();
    lying.lie = true;
    let liar = Running::seed(lying, &w.source, &w.manifest);
    let honest = w.seeder();
    let out = w.path("copy.bin");

    let reports = Running::get(w.options(), &w.manifest, &out, None).finished().await;

    assert!(reports[0].complete, "{:?}", reports[0].errors);
    assert_eq!(sha256(&out), sha256(&w.source));
    assert!(!reports[0].banned.is_empty(), "the liar was not banned");
    liar.stop().await;
    honest.stop().await;
}
