//! One native seeder serves three native leechers that join at the same time; each ends with the seeder's bytes.

mod common;

use common::{Running, World, sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_seeder_serves_three_leechers_at_once() {
    let w = World::new(8 * 1024 * 1024).await;
    let seeder = w.seeder();
    let outs: Vec<_> = (0..3).map(|i| w.path(&format!("copy{i}.bin"))).collect();

    let leechers: Vec<_> = outs.iter().map(|out| Running::get(w.options(), &w.manifest, out, None)).collect();
    let mut reports = Vec::new();
    for leecher in leechers {
        reports.push(leecher.finished().await);
    }

    let expected = sha256(&w.source);
    for (out, report) in outs.iter().zip(&reports) {
        assert!(report[0].complete, "{}: {:?}", out.display(), report[0].errors);
        assert_eq!(sha256(out), expected, "{} differs from the source", out.display());
    }
    seeder.stop().await;
}
