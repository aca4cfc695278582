//! A link whose manifest breaks a rule of PROTOCOL.md 1.7 / 1.8 is refused by `swarm-peer get` with the rule
//! named, and nothing is written.
//!
//! Each case is a hostile sharer: a raw peer (not a node) that serves a version-2 manifest laid out by hand, whose
//! SHA-256 is the link's content id, so the bytes match the link and only the decoder stands between them and the
//! disk. The real `swarm-peer get` fetches them over WebRTC through the real signaling server, into an empty
//! output folder that must stay empty. One server; the cases run at the same time.

// Helpers outside #[test] functions panic on a failed setup step, as the tests do.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/raw_peer.rs"]
mod raw_peer;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use common::{Server, TRANSFER_TIMEOUT, swarm_peer};
use sha2::{Digest, Sha256};
use swarm::id::ContentId;
use swarm::manifest::{
    MAX_DEPTH, MAX_FILE_SIZE, MAX_FILES, MAX_MANIFEST_LEN, MAX_PATH_LEN, MIN_PIECE_SIZE, TREE_VERSION,
};
use swarm::wire::{self, Message};
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannelEvent;

/// Manifest bytes in one ManifestData: short enough for any connection (PROTOCOL.md 2.10: at least 16,393 bytes).
const SLICE: usize = 16 * 1024;
/// Lines of `get`'s stderr waiting to be read: far more than it says.
const LINES: usize = 256;

/// One hostile manifest and what `get` must say of it.
struct Case {
    rule: &'static str,
    bytes: Vec<u8>,
    /// Words of the line that refuses it: the error `get` exits with, or, for a liar, the line that bans it.
    says: &'static str,
}

/// How `get` ends on a manifest that matches the link but breaks a rule (the rule's words follow).
const INVALID: &str = "swarm-peer: the download stopped: the link names an invalid share: ";
/// What `get` says of a sender it bans.
const BANNED: &str = "banned a peer: ";

/// A version-2 encoding (PROTOCOL.md 1.8) of empty files at `paths`, exactly as given: no sorting, no checks.
fn tree(paths: &[&str]) -> Vec<u8> {
    tree_of(paths.len() as u32, paths.iter().map(|p| (p.to_string(), 0)))
}

/// A version-2 encoding announcing `count` files and holding `files` (path, size); with no piece hash, as the
/// sizes here are all 0, or the decoder stops before the piece count.
fn tree_of(count: u32, files: impl IntoIterator<Item = (String, u64)>) -> Vec<u8> {
    let mut out = vec![TREE_VERSION, 5];
    out.extend_from_slice(b"share");
    out.extend_from_slice(&MIN_PIECE_SIZE.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    for (path, size) in files {
        out.extend_from_slice(&(path.len() as u16).to_be_bytes());
        out.extend_from_slice(path.as_bytes());
        out.push(0);
        out.extend_from_slice(&size.to_be_bytes());
    }
    out.extend_from_slice(&0u32.to_be_bytes());
    out
}

/// Each rule of PROTOCOL.md 1.7 and 1.8 a tree's manifest can break, in a manifest that breaks only it.
fn cases() -> Vec<Case> {
    let invalid_path = "the path of file 0 is not a valid relative path";
    let deep = vec!["d"; MAX_DEPTH + 1].join("/");
    // Components of 250 bytes, each a valid name, over MAX_PATH_LEN bytes in all and within MAX_DEPTH.
    let long = vec!["n".repeat(250); MAX_PATH_LEN / 250 + 1].join("/");
    assert!(long.len() > MAX_PATH_LEN && long.split('/').count() <= MAX_DEPTH);
    // 65,536 files of 64-byte paths, each valid, in order: only the encoding's length breaks a limit.
    let many = (0..MAX_FILES).map(|i| (format!("{i:05}/{}", "f".repeat(58)), 0));
    let over_len = tree_of(MAX_FILES, many);
    assert!(over_len.len() > MAX_MANIFEST_LEN);
    let half = MAX_FILE_SIZE / 2 + 1;
    vec![
        Case { rule: "a .. component", bytes: tree(&["../escape"]), says: invalid_path },
        Case { rule: "a .. inside", bytes: tree(&["a/../../../escape"]), says: invalid_path },
        Case { rule: "an absolute path", bytes: tree(&["/etc/passwd"]), says: invalid_path },
        Case { rule: "an empty component", bytes: tree(&["a//b"]), says: invalid_path },
        Case { rule: "a path too deep", bytes: tree(&[&deep]), says: invalid_path },
        Case { rule: "a path too long", bytes: tree(&[&long]), says: invalid_path },
        Case { rule: "a duplicate path", bytes: tree(&["x", "x"]), says: "file 1 is out of order or a duplicate" },
        Case {
            rule: "paths equal with case folded",
            bytes: tree(&["A.txt", "a.txt"]),
            says: "\"A.txt\" and \"a.txt\" differ only in case: one would overwrite the other",
        },
        Case {
            rule: "a file under a file",
            bytes: tree(&["a", "a/b"]),
            says: "\"a/b\" is inside \"a\", which is a file",
        },
        Case { rule: "no file", bytes: tree_of(0, []), says: "a share holds 1 to 65536 files, not 0" },
        Case {
            rule: "too many files",
            bytes: tree_of(MAX_FILES + 1, []),
            says: "a share holds 1 to 65536 files, not 65537",
        },
        Case {
            rule: "files too large in all",
            bytes: tree_of(2, [("a".to_owned(), half), ("b".to_owned(), half)]),
            says: "the files add up to more than",
        },
        // Longer than any manifest may be: the sender is the liar (no honest peer serves it), so it is banned,
        // and `get` waits for another peer.
        Case {
            rule: "a manifest too long",
            bytes: over_len,
            says: "banned a peer: undecodable wire message: invalid message field: manifest length",
        },
    ]
}

/// `swarm-peer get` running, its stderr read line by line as it comes.
struct Getter {
    child: Child,
    lines: mpsc::Receiver<String>,
    said: Vec<String>,
}

impl Getter {
    fn start(server: &Server, content: ContentId, out: &Path) -> Getter {
        let mut child = swarm_peer(server)
            .arg("get")
            .arg(content.to_string())
            .arg("-o")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, lines) = mpsc::channel(LINES);
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if tx.blocking_send(line).is_err() {
                    return;
                }
            }
        });
        Getter { child, lines, said: Vec::new() }
    }

    /// The first line (from now) that holds `words`; panics with everything said if stderr ends first.
    async fn says(&mut self, words: &str) -> String {
        while let Some(line) = self.lines.recv().await {
            self.said.push(line.clone());
            if line.contains(words) {
                return line;
            }
        }
        panic!("`get` never said {words:?}; it said:\n{}", self.said.join("\n"));
    }

    /// Everything said until stderr closes (the process ended).
    async fn rest(&mut self) -> String {
        while let Some(line) = self.lines.recv().await {
            self.said.push(line);
        }
        self.said.join("\n")
    }
}

impl Drop for Getter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `bytes` as the manifest to every ManifestRequest on the raw peer's channel, until the channel closes.
async fn serve_manifest(raw: &raw_peer::RawPeer, bytes: &[u8]) {
    let total = bytes.len() as u32;
    loop {
        match raw.dc.poll().await {
            Some(DataChannelEvent::OnMessage(msg)) => {
                if let Ok(Message::ManifestRequest { offset }) = wire::decode(&msg.data) {
                    let start = (offset as usize).min(bytes.len());
                    let data = &bytes[start..bytes.len().min(start + SLICE)];
                    raw.send(&Message::ManifestData { total_len: total, offset, data }).await;
                }
            }
            Some(DataChannelEvent::OnClose) | None => return,
            Some(_) => {}
        }
    }
}

/// One case: the hostile sharer joins, `get` runs into an empty folder and must refuse with the rule's words.
async fn refused(server: &Server, case: Case) {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let content = ContentId(Sha256::digest(&case.bytes).into());
    let (raw, mut getter) = raw_peer::join_first(&server.url, content, || Getter::start(server, content, &out)).await;
    // The channel closes as `get` ends, maybe before its last words are read: those decide.
    let serving = async {
        serve_manifest(&raw, &case.bytes).await;
        std::future::pending::<()>().await;
    };
    let judged = async {
        let line = getter.says(case.says).await;
        if case.says.starts_with(BANNED) {
            // The download goes on without the liar: `get` would wait for an honest peer. Stop it here.
            return line;
        }
        let said = getter.rest().await;
        let status = getter.child.wait().unwrap();
        assert!(!status.success(), "{}: `get` succeeded:\n{said}", case.rule);
        let last = getter.said.last().map_or("", String::as_str);
        assert!(last.starts_with(INVALID) && last.contains(case.says), "{}: {said}", case.rule);
        // Bytes that match the link name an invalid share: nobody served anything wrong (PROTOCOL.md 1.3).
        assert!(!said.contains(BANNED), "{}: a peer was blamed:\n{said}", case.rule);
        said
    };
    let said = tokio::select! {
        said = judged => said,
        () = serving => unreachable!("serving never ends"),
    };
    // Nothing in the output folder, nor beside it (where a path that climbs would land).
    let written = everything_under(work.path());
    assert_eq!(written, ["out"], "{}: `get` wrote {written:?} ({said})", case.rule);
}

/// Every file and folder under `root`, by its path relative to it, sorted.
fn everything_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            found.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_that_breaks_a_path_rule_or_a_limit_is_refused_and_nothing_is_written() {
    let server = Server::start().await;
    let all = futures::future::join_all(cases().into_iter().map(|case| refused(&server, case)));
    tokio::time::timeout(TRANSFER_TIMEOUT, all).await.expect("a case did not end");
}
