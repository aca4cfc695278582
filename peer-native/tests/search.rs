//! Discovery between native peers over the real signaling server and real WebRTC on loopback: a peer shares
//! "holiday-video.mp4", another searches "holiday", finds it with the right content id, and fetches it by the link
//! the search printed; a folder shared with `swarm-peer share DIR --list` is found by the name of a file inside it.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Running, Server, TRANSFER_TIMEOUT, manifest, options, random_file, sha256};
use peer_native::link::Link;
use peer_native::node::{self, ContentSpec, Counters, DownloadSpec, NodeOptions, Observer, SearchOutcome, SearchSpec};
use swarm::discovery::NetworkName;
use swarm::id::ContentId;

const BIN: &str = env!("CARGO_BIN_EXE_swarm-peer");

/// `options` with what the run shares (or seeds after a download) listed in search: `--list`.
fn listed(options: NodeOptions) -> NodeOptions {
    NodeOptions { list: true, ..options }
}

fn in_network(mut options: NodeOptions, name: &str) -> NodeOptions {
    options.network = NetworkName::parse(name).expect("valid network name");
    options
}

/// Runs one search to its end (bounded by the test timeout, a failure guard only).
async fn search(options: NodeOptions, text: &str, wait: Duration, first: bool) -> SearchOutcome {
    let spec = SearchSpec { text: text.to_owned(), wait, first };
    tokio::time::timeout(TRANSFER_TIMEOUT, node::search(options, spec, |_| {}, std::future::pending()))
        .await
        .expect("search timed out")
        .expect("search runs")
}

/// Starts a download of `content` into `out`.
fn download(
    options: NodeOptions,
    content: ContentId,
    out: &Path,
    keep_seeding: bool,
    observer: Option<Observer>,
) -> Running {
    let spec = DownloadSpec { keep_seeding, ..DownloadSpec::to_file(content, out) };
    Running::start(options, vec![ContentSpec::Download(spec)], observer)
}

/// Fetches `content` into `out` to completion and checks the bytes are `source`'s.
async fn fetch_and_compare(options: NodeOptions, content: ContentId, out: &Path, source: &Path) {
    let reports = download(options, content, out, false, None).finished().await;
    assert!(reports[0].complete, "download did not complete: {:?}", reports[0].errors);
    assert_eq!(sha256(out), sha256(source));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_a_shared_file_and_its_link_downloads_it() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = random_file(dir.path(), "holiday-video.mp4", 3 * 1024 * 1024 + 17);
    let other = random_file(dir.path(), "notes.txt", 1000);
    let (video_manifest, other_manifest) = (manifest(&video), manifest(&other));
    let seeder = Running::start(
        listed(options(&server)),
        vec![
            ContentSpec::Seed { path: video.clone(), manifest: video_manifest.clone() },
            ContentSpec::Seed { path: other.clone(), manifest: other_manifest },
        ],
        None,
    );

    let found = search(options(&server), "Holiday", Duration::from_secs(60), true).await;

    assert!(found.reached);
    let [hit] = &found.hits[..] else { panic!("expected one result, got {:?}", found.hits) };
    assert_eq!(hit.entry.content, video_manifest.content_id());
    assert_eq!(hit.entry.name, "holiday-video.mp4");
    assert_eq!(hit.entry.size, 3 * 1024 * 1024 + 17);
    assert_eq!(hit.entry.media_type, "video/mp4");

    // The link the search gives is a link `get` takes.
    let link: Link = hit.link.parse().unwrap();
    assert_eq!(link.content, video_manifest.content_id());
    assert_eq!(link.signaling.as_deref(), Some(server.url.as_str()));
    fetch_and_compare(options(&server), link.content, &dir.path().join("fetched.mp4"), &video).await;
    seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_a_listed_folder_by_the_name_of_a_file_inside_it() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let share = dir.path().join("Holiday");
    std::fs::create_dir_all(share.join("2024/beach")).unwrap();
    random_file(&share.join("2024/beach"), "sunset-over-the-bay.jpg", 70_000);
    random_file(&share, "notes.txt", 1000);
    // As `swarm-peer share DIR --list` runs it: the folder's manifest, seeded and listed.
    let (tree, _) = peer_native::hashing::hash_dir(&share, &peer_native::progress::Progress::new()).unwrap();
    let seeder = Running::seed(listed(options(&server)), &share, &tree);

    let found = search(options(&server), "sunset bay", Duration::from_secs(60), true).await;

    assert!(found.reached);
    let [hit] = &found.hits[..] else { panic!("expected one result, got {:?}", found.hits) };
    assert_eq!(hit.entry.content, tree.content_id());
    assert_eq!(hit.entry.name, "Holiday");
    assert_eq!(hit.entry.size, 71_000);
    // Found by inner words only: it ranks below any share whose name matches.
    assert_eq!(hit.score, 0);
    seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_get_with_seed_and_list_is_announced_and_served() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = random_file(dir.path(), "holiday-video.mp4", 512 * 1024);
    let m = manifest(&video);
    // The seeder is in another network, so the leecher cannot have heard of the file there: what the search
    // finds is the leecher's own announcement.
    let seeder = Running::seed(in_network(options(&server), "elsewhere"), &video, &m);
    // A second peer fetches it and keeps seeding: once complete it lists it (`get --seed --list`).
    let (observer, mut counters) = tokio::sync::watch::channel(Counters::default());
    let out = dir.path().join("copy.mp4");
    let leecher = download(listed(options(&server)), m.content_id(), &out, true, Some(observer));
    tokio::time::timeout(TRANSFER_TIMEOUT, counters.wait_for(|c| c.verified == m.piece_count()))
        .await
        .expect("download timed out")
        .unwrap();
    seeder.stop().await;

    let found = search(options(&server), "holiday video", Duration::from_secs(60), true).await;
    let [hit] = &found.hits[..] else { panic!("expected one result, got {:?}", found.hits) };
    assert_eq!(hit.entry.content, m.content_id());
    assert_eq!(hit.entry.name, "holiday-video.mp4");
    // And it serves what it announces: with the first seeder gone, a third peer gets the file from it.
    fetch_and_compare(options(&server), m.content_id(), &dir.path().join("again.mp4"), &video).await;
    leecher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_only_asks_its_own_network() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a_dir = dir.path().join("a");
    let b_dir = dir.path().join("b");
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let in_alpha = random_file(&a_dir, "holiday-alpha.mp4", 1000);
    let in_beta = random_file(&b_dir, "holiday-beta.mp4", 1000);
    let (ma, mb) = (manifest(&in_alpha), manifest(&in_beta));
    let alpha = Running::seed(listed(in_network(options(&server), "alpha")), &in_alpha, &ma);
    let beta = Running::seed(listed(in_network(options(&server), "beta")), &in_beta, &mb);

    let found = search(in_network(options(&server), "beta"), "holiday", Duration::from_secs(2), false).await;

    let names: Vec<&str> = found.hits.iter().map(|h| h.entry.name.as_str()).collect();
    assert_eq!(names, ["holiday-beta.mp4"]);
    alpha.stop().await;
    beta.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_command_prints_tab_separated_results_and_fails_when_nothing_matches() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = random_file(dir.path(), "holiday-video.mp4", 4096);
    let m = manifest(&video);
    let seeder = Running::seed(listed(options(&server)), &video, &m);
    let run = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(["-q", "--signaling", &server.url, "--bind", "127.0.0.1:0", "--no-server-ice", "search"]).args(args);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };

    let out = run(&["holiday", "--first"]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = stdout.trim_end_matches('\n').split('\t').collect();
    let expected_link = peer_native::link::browser_link(&server.url, m.content_id());
    assert_eq!(fields, [expected_link.as_str(), "4096", "holiday-video.mp4"]);

    let out = run(&["birthday", "--wait", "1"]).await.unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing found for \"birthday\""));
    seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_found_that_its_user_did_not_list() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = random_file(dir.path(), "holiday-video.mp4", 256 * 1024);
    let m = manifest(&video);
    // Shared without --list: reachable by its link only.
    let seeder = Running::seed(options(&server), &video, &m);
    // A peer fetches it by its link and keeps seeding, also without --list.
    let (observer, mut counters) = tokio::sync::watch::channel(Counters::default());
    let leecher = download(options(&server), m.content_id(), &dir.path().join("copy.mp4"), true, Some(observer));
    tokio::time::timeout(TRANSFER_TIMEOUT, counters.wait_for(|c| c.verified == m.piece_count()))
        .await
        .expect("download timed out")
        .unwrap();

    // A search that reaches the network (both are neighbours in it) finds nothing.
    let found = search(options(&server), "holiday", Duration::from_secs(3), false).await;
    assert!(found.reached, "the search reached no neighbour: the test would prove nothing");
    assert!(found.hits.is_empty(), "found what nobody listed: {:?}", found.hits);
    leecher.stop().await;
    seeder.stop().await;
}
