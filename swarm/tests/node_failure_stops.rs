//! A content that fails is ended by the node as a stopped one (PROTOCOL.md 3.6, "A content that fails"): reported
//! once, its channels closed, its signaling swarm left, forgotten; the seeder sees the peer go and uploads nothing
//! more to it. The same for a failure the swarm finds (a file over `max_size`) and one the shell reports
//! (`Node::fail`).

use core::time::Duration;

use swarm::id::ContentId;
use swarm::node::label::Topic;
use swarm::node::{Config, Event};
use swarm::proof::SwarmKey;
use swarm::signal::SwarmName;
use swarm::sim::make_file;
use swarm::sim::world::{World, topic_channels};
use swarm::{Failure, StorageError};

/// The failures node `i` reported for `content`.
fn failures(world: &World, i: usize, content: ContentId) -> Vec<Failure> {
    world.nodes[i]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Content { content: c, event: swarm::Event::Failed(f) } if *c == content => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn uploaded(world: &World, i: usize, content: ContentId) -> u64 {
    world.nodes[i].node.swarm(&content).map_or(0, |s| s.stats().uploaded_bytes)
}

/// A seeder of an 8 MiB file and a node with `config` (not yet downloading), through the hub.
fn two_nodes(config: Config) -> (World, usize, usize, ContentId) {
    let mut world = World::new(Duration::from_millis(20));
    let (data, manifest) = make_file(8 * 1024 * 1024, 5);
    let content = manifest.content_id();
    let seeder = world.add(Config::default(), 1);
    world.share(seeder, data, manifest);
    world.run_for(Duration::from_millis(200));
    let leecher = world.add(config, 2);
    (world, seeder, leecher, content)
}

/// What must hold once `leecher` failed `content`.
fn assert_ended(world: &World, seeder: usize, leecher: usize, content: ContentId) {
    let name = SwarmName::parse(&SwarmKey::of(&content).to_string()).expect("a content id is a swarm name");
    assert!(world.nodes[leecher].node.swarm(&content).is_none(), "the node forgot the content");
    assert_eq!(topic_channels(world, leecher, Topic::Content(content)), 0, "a channel of it is still open");
    assert!(!world.joined(leecher, &name), "its signaling swarm was not left");
    let seeder_swarm = world.nodes[seeder].node.swarm(&content).expect("the seeder still shares it");
    assert_eq!(seeder_swarm.stats().peers, 0, "the seeder did not see the peer leave");
}

#[test]
fn a_file_over_max_size_is_refused_before_any_piece_crosses() {
    let swarm = swarm::Config { max_size: 1024 * 1024, ..Default::default() };
    let (mut world, seeder, leecher, content) = two_nodes(Config { swarm, ..Default::default() });
    world.download(leecher, content);
    let failed = world.run_until_true(Duration::from_secs(10), |w| !failures(w, leecher, content).is_empty());
    assert!(failed, "the download did not fail");
    world.run_for(Duration::from_secs(2));
    assert_eq!(
        failures(&world, leecher, content),
        vec![Failure::TooLarge { name: "sim.bin".into(), size: 8 * 1024 * 1024, limit: 1024 * 1024 }],
        "reported once, with its size"
    );
    assert_eq!(uploaded(&world, seeder, content), 0, "a piece crossed");
    assert_ended(&world, seeder, leecher, content);
}

#[test]
fn a_failure_the_shell_reports_ends_the_download_and_the_uploads_to_it() {
    let (mut world, seeder, leecher, content) = two_nodes(Config::default());
    world.download(leecher, content);
    let started = world.run_until_true(Duration::from_secs(10), |w| {
        w.nodes[leecher].node.swarm(&content).is_some_and(|s| s.stats().verified_pieces > 0)
    });
    assert!(started);
    let full = Failure::Storage(StorageError::Full);
    world.with(leecher, |node, now| node.fail(now, content, full.clone())).expect("the content is there");
    world.run_for(Duration::from_secs(1));
    let sent = uploaded(&world, seeder, content);
    world.run_for(Duration::from_secs(5));
    assert_eq!(failures(&world, leecher, content), vec![full], "reported once");
    assert_eq!(uploaded(&world, seeder, content), sent, "the seeder went on uploading");
    assert!(sent < 8 * 1024 * 1024, "the whole file crossed before the failure took effect");
    assert_ended(&world, seeder, leecher, content);
    let again = world.with(leecher, |node, now| node.fail(now, content, Failure::Storage(StorageError::Full)));
    assert!(again.is_err(), "a content failed already is unknown to the node");
}

#[test]
fn a_node_that_shuts_down_tells_its_peers_at_once() {
    let (mut world, seeder, leecher, content) = two_nodes(Config::default());
    world.download(leecher, content);
    let started = world.run_until_true(Duration::from_secs(10), |w| {
        w.nodes[leecher].node.swarm(&content).is_some_and(|s| s.stats().verified_pieces > 0)
    });
    assert!(started);
    world.with(leecher, |node, now| node.shutdown(now));
    // Well under any timeout (the swarm's idle timeout is 45 s, the node's 30 s): the goodbye and the closed
    // connection are what the seeder learns from.
    world.run_for(Duration::from_millis(500));
    assert!(world.nodes[leecher].node.swarm(&content).is_none(), "the content is still there");
    assert_eq!(world.nodes[leecher].node.peer_count(), 0, "a connection is still open");
    let seeder_swarm = world.nodes[seeder].node.swarm(&content).expect("the seeder still shares it");
    assert_eq!(seeder_swarm.stats().peers, 0, "the seeder did not see the peer leave");
    assert_eq!(world.connections(seeder), 0, "the seeder kept the connection");
}
