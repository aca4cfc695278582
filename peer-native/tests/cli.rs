//! The `swarm-peer` binary's command line, run as a user would.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_swarm-peer");

#[test]
fn help_explains_commands_and_network_flags() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["share", "get", "--signaling", "--ice-server", "--bind", "--max-peers", "--max-connections"] {
        assert!(text.contains(needle), "--help does not mention {needle}:\n{text}");
    }
}

#[test]
fn get_refuses_to_overwrite_an_existing_file_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("mine.bin");
    std::fs::write(&existing, b"keep me").unwrap();
    let link = format!("http://127.0.0.1:1/#{}", "ab".repeat(32));
    let out = Command::new(BIN).args(["get", &link, "-q", "-o"]).arg(&existing).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
}

#[test]
fn get_rejects_a_malformed_link() {
    let out = Command::new(BIN).args(["get", "http://127.0.0.1:1/#not-a-content-id"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("content id"));
}

#[test]
fn share_prints_one_browser_link_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, b"first file").unwrap();
    std::fs::write(&b, b"second file").unwrap();
    // Port 1 has no server: the links are printed before the peer connects, and it keeps retrying.
    let mut child = Command::new(BIN)
        .args(["share", "-q", "--signaling", "ws://127.0.0.1:1/ws", "--bind", "127.0.0.1:0"])
        .arg(&a)
        .arg(&b)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    for line in [&first, &second] {
        let link: peer_native::link::Link = line.parse().unwrap();
        assert_eq!(link.signaling.as_deref(), Some("ws://127.0.0.1:1/ws"));
    }
    assert_ne!(first, second);
}

#[test]
fn help_explains_search_and_the_network_flag() {
    let out = Command::new(BIN).args(["search", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["--wait", "--first", "--network", "TAB", "<link>"] {
        assert!(text.contains(needle), "search --help does not mention {needle}:\n{text}");
    }
}

#[test]
fn an_invalid_network_name_is_refused_with_the_rule() {
    let out = Command::new(BIN).args(["--network", "My Net", "search", "x"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a-z, 0-9"), "{stderr}");
}

#[test]
fn a_search_without_letters_or_digits_is_refused() {
    let out = Command::new(BIN)
        .args(["-q", "--signaling", "ws://127.0.0.1:1/ws", "--bind", "127.0.0.1:0", "search", "--", "-!?"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("letter or digit"));
}
