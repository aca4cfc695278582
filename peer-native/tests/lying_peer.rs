//! A leecher connected to a seeder that serves corrupt blocks (`lying` feature) and to an honest seeder bans the
//! liar and still ends with the correct file.

mod common;

use common::{Running, Server, manifest, options, random_file, sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leecher_bans_a_lying_seeder_and_finishes_from_an_honest_one() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let source = random_file(dir.path(), "source.bin", 4 * 1024 * 1024);
    let m = manifest(&source);
    let mut lying = options(&server);
    lying.lie = true;
    let liar = Running::seed(lying, &source, &m);
    let honest = Running::seed(options(&server), &source, &m);
    let out = dir.path().join("copy.bin");

    let reports = Running::get(options(&server), &m, &out, None).finished().await;

    assert!(reports[0].complete, "{:?}", reports[0].errors);
    assert_eq!(sha256(&out), sha256(&source));
    assert!(!reports[0].banned.is_empty(), "the liar was not banned");
    liar.stop().await;
    honest.stop().await;
}
