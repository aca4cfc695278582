//! A node's upload limit (`node::Config::max_upload_rate`), whole nodes through the simulated hub and WebRTC: what
//! a limited seeder uploads, all its contents and downloaders together, stays within a few percent of the limit
//! once its first quarter-second burst is spent, and a limited node downloads as fast as an unlimited one.

use core::time::Duration;

use swarm::node::Config;
use swarm::sim::make_file;
use swarm::sim::world::{World, upload_limit_run};

const MB: u64 = 1_000_000;

#[test]
fn a_limited_seeder_uploads_at_its_limit_over_all_its_contents_and_peers() {
    for rate in [1_000_000u32, 5_000_000] {
        let got = upload_limit_run(rate, 4).rate;
        let off = (got - f64::from(rate)).abs() / f64::from(rate);
        assert!(off < 0.03, "limit {rate} B/s: uploaded {got:.0} B/s ({:.1} % off)", off * 100.0);
    }
}

#[test]
fn a_node_with_an_upload_limit_downloads_as_fast_as_one_without() {
    let time_to_download = |limit: Option<u32>| {
        let mut world = World::new(Duration::from_millis(20));
        let (data, manifest) = make_file(8 * MB, 3);
        let content = manifest.content_id();
        let seeder = world.add(Config::default(), 1);
        world.share(seeder, data, manifest);
        world.run_for(Duration::from_millis(500));
        let start = world.now();
        let leecher = world.add(Config { max_upload_rate: limit, ..Config::default() }, 2);
        world.download(leecher, content);
        let done = world.run_until_true(Duration::from_secs(60), |w| {
            w.nodes[leecher].node.swarm(&content).is_some_and(|s| s.is_complete())
        });
        assert!(done, "the download did not complete (limit {limit:?})");
        world.now().as_millis() - start.as_millis()
    };
    let free = time_to_download(None);
    let limited = time_to_download(Some(100_000));
    assert_eq!(limited, free, "a 100 kB/s upload limit slowed the download");
}

#[test]
fn the_limit_is_set_and_lifted_at_run_time() {
    let mut world = World::new(Duration::from_millis(20));
    let (data, manifest) = make_file(12 * MB, 4);
    let content = manifest.content_id();
    let seeder = world.add(Config::default(), 1);
    world.share(seeder, data, manifest);
    world.with(seeder, |node, now| node.set_max_upload_rate(now, Some(1_000_000)));
    world.run_for(Duration::from_millis(500));
    let leecher = world.add(Config::default(), 2);
    world.download(leecher, content);
    world.run_for(Duration::from_secs(1));
    let uploaded = |w: &World| w.nodes[seeder].node.swarm(&content).map_or(0, |s| s.stats().uploaded_bytes);
    let before = uploaded(&world);
    world.run_for(Duration::from_secs(3));
    let rate = (uploaded(&world) - before) as f64 / 3.0;
    assert!((rate - 1e6).abs() < 0.03e6, "limited to 1 MB/s, uploaded {rate:.0} B/s");

    world.with(seeder, |node, now| node.set_max_upload_rate(now, None));
    let done = world.run_until_true(Duration::from_secs(2), |w| {
        w.nodes[leecher].node.swarm(&content).is_some_and(|s| s.is_complete())
    });
    assert!(done, "the limit lifted, the rest did not come at once: {} bytes up", uploaded(&world));
}
