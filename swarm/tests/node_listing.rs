//! Unlisted unless listed (issue 20): a share is reachable by its link only; only a listed file is announced and
//! answered in searches; unlisting takes it out of the neighbours' answers at once (a Withdraw, PROTOCOL.md 4.3),
//! not when their caches expire; a download never announces by itself.

use core::time::Duration;

use swarm::id::ContentId;
use swarm::manifest::TreeBuilder;
use swarm::node::{Config, Event, NodeError};
use swarm::sim::make_file;
use swarm::sim::world::World;

/// Three nodes that are each other's discovery neighbours, node 0 sharing a file called `sim.bin`.
fn network() -> (World, ContentId) {
    let mut world = World::new(Duration::from_millis(20));
    let (data, manifest) = make_file(128 * 1024, 4);
    let content = manifest.content_id();
    for seed in 1..=3 {
        world.add(Config::default(), seed);
    }
    world.share(0, data, manifest);
    world.run_for(Duration::from_secs(5));
    (world, content)
}

/// What a search for `sim` from node `i` finds within a few seconds: each result's content and sources.
fn search(world: &mut World, i: usize) -> Vec<(ContentId, u32)> {
    search_for(world, i, "sim")
}

/// What a search for `text` from node `i` finds within a few seconds: each result's content and sources.
fn search_for(world: &mut World, i: usize, text: &str) -> Vec<(ContentId, u32)> {
    let now = world.now();
    let id = world.with(i, |node, now| node.search(now, text)).expect("a valid query");
    let _ = now;
    world.run_for(Duration::from_secs(3));
    world.nodes[i]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SearchResult { search, entry, sources, .. } if *search == id => Some((entry.content, *sources)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_listed_folder_is_found_by_the_names_of_the_folders_and_files_inside_it() {
    let mut world = World::new(Duration::from_millis(20));
    for seed in 1..=3 {
        world.add(Config::default(), seed);
    }
    let files = vec![(vec!["2024".into(), "sunset-over-the-bay.jpg".into()], 3), (vec!["notes.txt".into()], 2)];
    let mut tree = TreeBuilder::new("Holiday", files).expect("a valid tree");
    tree.update(b"jpgtx");
    let manifest = tree.finish().expect("all bytes fed");
    let content = manifest.content_id();
    world.share(0, b"jpgtx".to_vec(), manifest);
    world.set_listed(0, content, true).expect("a complete share can be listed");
    world.run_for(Duration::from_secs(5));
    for text in ["sunset", "bay 2024", "holiday notes"] {
        let found = search_for(&mut world, 2, text);
        assert!(found.iter().any(|(c, _)| *c == content), "{text:?} did not find the folder: {found:?}");
    }
    assert_eq!(search_for(&mut world, 2, "sunrise"), []);
}

#[test]
fn a_share_is_found_only_while_listed() {
    let (mut world, content) = network();
    assert!(!world.nodes[0].node.is_listed(&content), "a share starts unlisted");
    assert_eq!(search(&mut world, 2), [], "an unlisted share was found");

    world.set_listed(0, content, true).expect("a complete share can be listed");
    world.run_for(Duration::from_secs(1));
    let found = search(&mut world, 2);
    assert!(found.iter().any(|(c, _)| *c == content), "a listed share was not found: {found:?}");

    // Unlisted: gone from every answer at once, well within the announce interval (the neighbours' caches would
    // otherwise keep it 10 minutes).
    world.set_listed(0, content, false).expect("a known content");
    world.run_for(Duration::from_secs(1));
    assert!(world.nodes.iter().all(|n| n.node.discovery().heard_len() == 0), "a neighbour still holds it");
    assert_eq!(search(&mut world, 2), [], "an unlisted share was still found");
    assert_eq!(search(&mut world, 1), []);
}

#[test]
fn a_finished_download_announces_nothing_unless_its_user_lists_it() {
    let (mut world, content) = network();
    world.set_listed(0, content, true).expect("listed");
    world.download(1, content);
    let done = world
        .run_until_true(Duration::from_secs(30), |w| w.nodes[1].node.swarm(&content).is_some_and(|s| s.is_complete()));
    assert!(done, "the download did not complete");
    world.run_for(Duration::from_secs(1));
    assert!(!world.nodes[1].node.is_listed(&content));
    // The sharer unlists: had the downloader announced it, it would still be found.
    world.set_listed(0, content, false).expect("a known content");
    world.run_for(Duration::from_secs(1));
    assert_eq!(search(&mut world, 2), [], "found although only a download has it");
    // Its user lists it: found again, from the downloader.
    world.set_listed(1, content, true).expect("a complete download can be listed");
    world.run_for(Duration::from_secs(1));
    let found = search(&mut world, 2);
    assert!(found.iter().any(|(c, _)| *c == content), "a listed download was not found: {found:?}");
}

#[test]
fn an_incomplete_download_cannot_be_listed_and_an_unknown_content_is_refused() {
    let (mut world, content) = network();
    world.download(1, content);
    assert_eq!(world.set_listed(1, content, true), Err(NodeError::Incomplete));
    assert_eq!(world.set_listed(2, content, true), Err(NodeError::Unknown));
}
