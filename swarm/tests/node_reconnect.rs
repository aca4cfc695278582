//! A node that loses the signaling server reconnects on the backoff schedule, re-joins its swarms, and its
//! transfers go on meanwhile over the connections it has.

use core::time::Duration;

use swarm::node::Config;
use swarm::node::server::LinkState;
use swarm::node::{Event, backoff};
use swarm::sim::make_file;
use swarm::sim::world::World;

#[test]
fn a_node_that_loses_the_server_rejoins_and_keeps_its_transfer() {
    let mut world = World::new(Duration::from_millis(20));
    let (data, manifest) = make_file(8 * 1024 * 1024, 11);
    let content = manifest.content_id();
    let seeder = world.add(Config::default(), 1);
    world.share(seeder, data.clone(), manifest);
    world.run_for(Duration::from_millis(200));
    let leecher = world.add(Config::default(), 2);
    world.download(leecher, content);
    let started = world.run_until_true(Duration::from_secs(10), |w| {
        w.nodes[leecher].node.swarm(&content).is_some_and(|s| s.stats().verified_pieces > 0)
    });
    assert!(started);
    let first_id = world.id_of(leecher).unwrap();
    let at_cut = world.nodes[leecher].node.swarm(&content).unwrap().stats().verified_pieces;
    // The server goes away for everyone for 5 s.
    world.server_up = false;
    world.cut_server(leecher);
    world.cut_server(seeder);
    world.run_for(Duration::from_secs(5));
    assert_eq!(world.nodes[leecher].node.signaling_state(), LinkState::Reconnecting);
    assert!(world.nodes[leecher].events.contains(&Event::Signaling(LinkState::Reconnecting)));
    let during = world.nodes[leecher].node.swarm(&content).unwrap().stats().verified_pieces;
    world.server_up = true;
    // Back within the longest backoff delay.
    let back = world.run_until_true(backoff::MAX + Duration::from_secs(1), |w| {
        w.nodes[leecher].node.signaling_state() == LinkState::Connected
    });
    assert!(back, "not reconnected");
    assert_ne!(world.id_of(leecher).unwrap(), first_id, "a new connection has a new id");
    let done = world.run_until_true(Duration::from_secs(60), |w| {
        w.nodes[leecher].node.swarm(&content).is_some_and(|s| s.is_complete())
    });
    assert!(done);
    assert_eq!(world.nodes[leecher].files.get(&content), Some(&data));
    assert!(during > at_cut, "the transfer went on while the server was away ({at_cut} -> {during} pieces)");
    // Re-joined: a newcomer finds the leecher (now complete) through the server after the outage.
    world.remove(seeder);
    let late = world.add(Config::default(), 3);
    world.download(late, content);
    let found = world.run_until_true(Duration::from_secs(60), |w| {
        w.nodes[late].node.swarm(&content).is_some_and(|s| s.is_complete())
    });
    assert!(found, "the re-joined node did not serve the newcomer");
}

#[test]
fn a_silent_server_is_given_up_and_retried() {
    let mut world = World::new(Duration::from_millis(20));
    let a = world.add(Config::default(), 1);
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.nodes[a].node.signaling_state(), LinkState::Connected);
    // The hub stops answering anything this node sends: its frames (pongs) never come back.
    world.mute(a);
    world.run_for(swarm::node::server::SILENCE_LIMIT + Duration::from_secs(1));
    assert!(world.nodes[a].events.contains(&Event::Signaling(LinkState::Reconnecting)));
    world.run_for(backoff::MAX);
    assert_eq!(world.nodes[a].node.signaling_state(), LinkState::Connected);
}
