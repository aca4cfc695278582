//! The server's `peer_left` is a hint a node acts on (PROTOCOL.md 2.9, "Departures the server announces"; 3.4): a
//! peer that vanished without a goodbye (a tab whose goodbye never got out, or a crashed one) is dropped once its
//! channel has been silent for `departure_grace` after the hint, not at the 45 s idle timeout, whether it was
//! seeding (its downloader moves on) or downloading (its seeder frees its place); a peer the server says left but
//! that still sends is kept.

use core::time::Duration;

use swarm::id::ContentId;
use swarm::node::Config;
use swarm::node::label::Topic;
use swarm::proof::SwarmKey;
use swarm::signal::{ServerEvent, SwarmName};
use swarm::sim::make_file;
use swarm::sim::world::{World, topic_channels};

const MB: u64 = 1_000_000;

/// A seeder limited to 1 MB/s (so the download lasts about 16 s) and a leecher that has verified a piece from it.
fn downloading() -> (World, usize, usize, ContentId) {
    let mut world = World::new(Duration::from_millis(20));
    let (data, manifest) = make_file(16 * MB, 7);
    let content = manifest.content_id();
    let seeder = world.add(Config { max_upload_rate: Some(1_000_000), ..Config::default() }, 1);
    world.share(seeder, data, manifest);
    world.run_for(Duration::from_millis(200));
    let leecher = world.add(Config::default(), 2);
    world.download(leecher, content);
    let started = world.run_until_true(Duration::from_secs(10), |w| verified(w, leecher, content) > 0);
    assert!(started, "no piece arrived");
    (world, seeder, leecher, content)
}

fn verified(world: &World, i: usize, content: ContentId) -> u32 {
    world.nodes[i].node.swarm(&content).map_or(0, |s| s.stats().verified_pieces)
}

fn peers(world: &World, i: usize, content: ContentId) -> usize {
    world.nodes[i].node.swarm(&content).map_or(0, |s| s.stats().peers)
}

fn grace() -> Duration {
    swarm::Config::default().departure_grace
}

#[test]
fn a_seeder_that_vanished_is_dropped_soon_after_the_server_says_it_left() {
    let (mut world, seeder, leecher, content) = downloading();
    world.vanish(seeder);
    // The hint alone closes nothing: the channel must also stay silent for the grace.
    world.run_for(grace() - Duration::from_millis(500));
    assert_eq!(peers(&world, leecher, content), 1, "dropped before the channel was silent for the grace");
    // Far under the 45 s idle timeout, which is all that dropped it before.
    world.run_for(Duration::from_secs(1));
    assert_eq!(peers(&world, leecher, content), 0, "the vanished seeder is still counted");
    assert_eq!(topic_channels(&world, leecher, Topic::Content(content)), 0, "its channel is still open");
}

#[test]
fn a_seeder_the_server_says_left_but_that_still_sends_is_kept() {
    let (mut world, seeder, leecher, content) = downloading();
    let swarm = SwarmName::parse(&SwarmKey::of(&content).to_string()).expect("a swarm key is a swarm name");
    let peer = world.id_of(seeder).expect("the seeder is connected");
    // As if the seeder had lost its server connection only: its data channel goes on.
    world.inject_server_event(leecher, &ServerEvent::PeerLeft { swarm, peer });
    let before = verified(&world, leecher, content);
    world.run_for(grace() * 3);
    assert_eq!(peers(&world, leecher, content), 1, "a seeder still sending was dropped");
    assert!(verified(&world, leecher, content) > before, "the download did not go on from it");
}

#[test]
fn a_seeder_drops_a_downloader_that_vanished_soon_after_the_server_says_it_left() {
    let (mut world, seeder, leecher, content) = downloading();
    world.vanish(leecher);
    // Without the hint the seeder would hold the gone peer, one of its `max_peers`, until the 45 s idle timeout.
    world.run_for(grace() + Duration::from_secs(1));
    assert_eq!(peers(&world, seeder, content), 0, "the seeder still counts the vanished downloader");
    assert_eq!(topic_channels(&world, seeder, Topic::Content(content)), 0, "its channel is still open");
}
