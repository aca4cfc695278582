//! Folders (PROTOCOL.md 1.8) through the `swarm-peer` binary over the real signaling server and WebRTC on loopback:
//! `share DIR` → `get` recreates the identical tree (nested folders, an empty file, a unicode name, a file large
//! enough for many pieces; a symbolic link skipped and said); `get --only` saves only the chosen files; an
//! interrupted get resumes, and so does a `get` killed mid-transfer; a folder at the final name is never replaced.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{Running, Server, TRANSFER_TIMEOUT, random_file, sha256, swarm_peer};
use peer_native::node::NodeOptions;
use peer_native::state_file::StateFile;
use swarm::bitfield::Bitfield;
use swarm::id::ContentId;

/// A folder to share: nested files of several sizes, one empty, one with a unicode name, and a symbolic link.
fn make_tree(root: &Path) -> PathBuf {
    let share = root.join("Holiday");
    std::fs::create_dir_all(share.join("photos/raw")).unwrap();
    std::fs::create_dir_all(share.join("notes")).unwrap();
    random_file(&share, "video.bin", 3 * 1024 * 1024 + 77);
    random_file(&share.join("photos"), "été.jpg", 200_000);
    random_file(&share.join("photos/raw"), "a.raw", 1_000_001);
    random_file(&share.join("notes"), "list.txt", 5_000);
    std::fs::write(share.join("notes/empty.txt"), b"").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", share.join("notes/passwords")).unwrap();
    share
}

/// Every regular file under `root`, by its path relative to it, with its SHA-256.
fn files_of(root: &Path) -> Vec<(String, [u8; 32])> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let relative = entry.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((relative, sha256(&entry.path())));
            }
        }
    }
    out.sort();
    out
}

/// `swarm-peer share DIR` running; its link (first line of stdout) and its stderr lines so far.
struct Sharer {
    child: Child,
    link: String,
}

impl Sharer {
    fn start(server: &Server, dir: &Path) -> Sharer {
        let mut child =
            swarm_peer(server).arg("share").arg(dir).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        Sharer { child, link: line.trim().to_owned() }
    }
}

impl Drop for Sharer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `swarm-peer get` with `args` to the end; its status, stdout and stderr.
async fn get(server: &Server, args: Vec<String>) -> std::process::Output {
    let mut cmd = swarm_peer(server);
    cmd.arg("get").args(args);
    let run = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    tokio::time::timeout(TRANSFER_TIMEOUT, run).await.expect("get did not end").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_folder_arrives_as_the_same_tree_without_its_symbolic_link() {
    let server = Server::start().await;
    let work = tempfile::tempdir().unwrap();
    let share = make_tree(work.path());
    let sharer = Sharer::start(&server, &share);
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();

    let output = get(&server, vec![sharer.link.clone(), "-o".into(), out.display().to_string()]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let saved = out.join("Holiday");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), saved.display().to_string());
    let mut expected = files_of(&share);
    expected.retain(|(path, _)| !path.ends_with("passwords"));
    assert_eq!(files_of(&saved), expected, "the same files, byte for byte");
    assert!(!saved.join("notes/passwords").exists(), "a symbolic link is not shared");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "no partial folder or state file left behind");

    // A folder at the name is never replaced: the second get says so and leaves it as it is.
    std::fs::write(saved.join("notes/list.txt"), b"mine").unwrap();
    let output =
        get(&server, vec![sharer.link.clone(), "-o".into(), out.display().to_string(), "--force".into()]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("a folder is never replaced"), "{stderr}");
    assert_eq!(std::fs::read(saved.join("notes/list.txt")).unwrap(), b"mine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_only_saves_the_chosen_files_and_nothing_else() {
    let server = Server::start().await;
    let work = tempfile::tempdir().unwrap();
    let share = make_tree(work.path());
    let sharer = Sharer::start(&server, &share);
    let out = work.path().join("photos-only");

    let args = vec![sharer.link.clone(), "-o".into(), out.display().to_string(), "--only".into(), "photos/**".into()];
    let output = get(&server, args).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected: Vec<_> = files_of(&share).into_iter().filter(|(p, _)| p.starts_with("photos/")).collect();
    assert_eq!(files_of(&out), expected);
    assert!(!work.path().join("photos-only.part").exists(), "the partial folder is removed");

    // A glob that matches nothing is refused with the folder's contents named, and nothing is saved.
    let none = work.path().join("none");
    let args = vec![sharer.link.clone(), "-o".into(), none.display().to_string(), "--only".into(), "*.doc".into()];
    let output = get(&server, args).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no file of Holiday matches"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(work.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|name| !name.to_string_lossy().starts_with("none")), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_folder_download_resumes_without_fetching_verified_pieces_again() {
    use peer_native::node::Counters;
    use tokio::sync::watch;
    let server = Server::start().await;
    let work = tempfile::tempdir().unwrap();
    let share = work.path().join("big");
    std::fs::create_dir_all(share.join("inner")).unwrap();
    for i in 0..4 {
        random_file(&share.join("inner"), &format!("part-{i}.bin"), 8 * 1024 * 1024 + i);
    }
    let progress = peer_native::progress::Progress::new();
    let (manifest, _) = peer_native::hashing::hash_dir(&share, &progress).unwrap();
    assert!(manifest.is_tree() && manifest.piece_count() > 16);
    let seeder = Running::seed(common::options(&server), &share, &manifest);
    let out = work.path().join("copy");

    let (observer, mut counters) = watch::channel(Counters::default());
    let first = Running::get(common::options(&server), &manifest, &out, Some(observer));
    tokio::time::timeout(TRANSFER_TIMEOUT, counters.wait_for(|c| c.verified >= 4)).await.expect("no piece").unwrap();
    let first = first.stop().await;
    assert!(!first[0].complete, "the first run finished before it could be interrupted");
    assert!(!out.exists() && work.path().join("copy.part").is_dir(), "the tree waits in its partial folder");

    let second = Running::get(common::options(&server), &manifest, &out, None).finished().await;
    let resumed = second[0].resumed.clone().expect("the second run did not resume");
    for piece in &first[0].verified_this_run {
        assert!(resumed.get(*piece), "piece {piece} verified in the first run was not resumed");
    }
    assert!(second[0].verified_this_run.iter().all(|p| !resumed.get(*p)), "a verified piece was fetched again");
    assert!(second[0].complete, "{:?}", second[0].errors);
    assert_eq!(files_of(&out), files_of(&share));
    seeder.stop().await;
}

/// The pieces the state file at `path` records, once it records at least `n`. Read every 10 ms: the file is all a
/// running `get` shows of its progress.
async fn recorded(path: &Path, content: ContentId, n: u32) -> Bitfield {
    let wait = async {
        loop {
            if let Ok((_, state)) = StateFile::load(path, content)
                && state.have().count() >= n
            {
                return state.have().clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(TRANSFER_TIMEOUT, wait).await.expect("the state file never recorded the pieces")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_get_killed_mid_transfer_and_run_again_fetches_only_what_was_not_verified() {
    let server = Server::start().await;
    let work = tempfile::tempdir().unwrap();
    let share = make_tree(work.path());
    random_file(&share.join("photos/raw"), "b.raw", 8 * 1024 * 1024);
    let (manifest, _) = peer_native::hashing::hash_dir(&share, &peer_native::progress::Progress::new()).unwrap();
    let content = manifest.content_id();
    // At 4 MB/s the tree takes about 3 s to send: the kill lands mid-transfer, well before the end.
    let slow = NodeOptions { max_upload_rate: Some(4_000_000), ..common::options(&server) };
    let seeder = Running::seed(slow, &share, &manifest);
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let args = vec![content.to_string(), "-o".into(), out.display().to_string()];

    let mut first =
        swarm_peer(&server).arg("get").args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let state = out.join(format!("{content}.part.state"));
    recorded(&state, content, 4).await;
    first.kill().unwrap();
    first.wait().unwrap();
    seeder.stop().await;
    // Read once the process is gone: what the second run will find.
    let kept = recorded(&state, content, 1).await;
    assert!(!kept.is_full(), "the first run finished before it was killed");
    assert!(!out.join("Holiday").exists(), "the tree appeared before it was complete");

    // Run again, the same command, from a new seeder: what it sends is what the second run fetched.
    let seeder = Running::seed(common::options(&server), &share, &manifest);
    let output = get(&server, args).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut expected = files_of(&share);
    expected.retain(|(path, _)| !path.ends_with("passwords"));
    assert_eq!(files_of(&out.join("Holiday")), expected, "the same files, byte for byte");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "no partial folder or state file left behind");
    let kept_bytes: u64 = kept.iter_set().map(|p| u64::from(manifest.piece_len(p))).sum();
    let sent = seeder.stop().await[0].stats.uploaded_bytes;
    assert_eq!(
        sent,
        manifest.size() - kept_bytes,
        "the {} pieces verified before the kill were fetched again",
        kept.count()
    );
}
