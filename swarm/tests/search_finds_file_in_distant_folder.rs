//! Search for a file inside a folder share across a simulated discovery network (docs/PROTOCOL.md 4.2, Words): the
//! folder is found by the name of a file in it, from a peer too far from the sharer for the query to reach it, so
//! the answer comes from a peer that only heard the folder's announcement passed on.

use std::time::Duration;

use swarm::discovery::sim::{Network, SimConfig};
use swarm::discovery::{Entry, Words};
use swarm::id::ContentId;
use swarm::time::Instant;

/// A line of seven peers, 0 to 6, with no file; each announcement goes one hop past its first hearer, each query
/// three (the defaults).
fn line() -> Network {
    let config = SimConfig { peers: 7, files_per_peer: 0, seed: 3, ..SimConfig::default() };
    let pairs: Vec<(usize, usize)> = (0..6).map(|i| (i, i + 1)).collect();
    Network::with_links(&config, &pairs)
}

fn holiday_folder() -> Entry {
    let paths = ["2024/beach/sunset-over-the-bay.jpg", "2024/notes.txt", "videos/surfing.mp4"];
    Entry {
        content: ContentId([0x42; 32]),
        size: 12_345,
        name: "Holiday".into(),
        media_type: String::new(),
        words: Words::of_tree("Holiday", paths),
    }
}

#[test]
fn a_search_for_a_file_name_finds_the_folder_a_distant_peer_shares() {
    let mut net = line();
    net.run_until(Instant::ZERO + Duration::from_secs(5));
    let folder = holiday_folder();
    net.share(6, folder.clone());
    net.run_until(Instant::ZERO + Duration::from_secs(10));

    // Six hops away: the query (three hops past peer 1) reaches peer 4, which heard the folder from peer 5.
    let q = net.search(0, "surfing", 6, folder.content, Duration::from_secs(5));
    assert_eq!(q.distance, 6);
    assert!(q.found_after.is_some(), "a file name inside the folder did not find it");
    let q = net.search(0, "SUNSET bay", 6, folder.content, Duration::from_secs(5));
    assert!(q.found_after.is_some(), "two words of one file name did not find the folder");
    let q = net.search(0, "holiday 2024", 6, folder.content, Duration::from_secs(5));
    assert!(q.found_after.is_some(), "its name and a folder's name did not find it");
}

#[test]
fn a_word_in_none_of_the_folders_names_finds_nothing() {
    let mut net = line();
    let folder = holiday_folder();
    net.share(6, folder.clone());
    net.run_until(Instant::ZERO + Duration::from_secs(10));
    let q = net.search(0, "skiing", 6, folder.content, Duration::from_secs(5));
    assert!(q.found_after.is_none());
}
