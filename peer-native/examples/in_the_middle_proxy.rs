//! The attacking signaling proxy of `tests/common/attacker.rs` as a program, for the browser suite
//! (tests/specs/in-the-middle.test.mjs): `in_the_middle_proxy LISTEN UPSTREAM_HOST:PORT`. It prints its page URL
//! (`http://...`) on the first line, then one line per data-channel message it bridged: its channel's label and the
//! message's type (`Handshake`, `Goodbye ProofFailed`, `ManifestData`, `Block`, ...), so the spec sees what the
//! attacker read.

#[path = "../tests/common/attacker.rs"]
#[allow(dead_code)]
mod attacker;

use std::io::Write;

use peer_native::transport::RtcSettings;
use swarm::wire::{self, Message};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: in_the_middle_proxy LISTEN UPSTREAM_HOST:PORT");
        std::process::exit(2);
    };
    // Every interface but loopback, as swarm-peer binds: the browsers reach it on the test network.
    let mut proxy = attacker::start(&listen, format!("ws://{upstream}/ws"), upstream, RtcSettings::default()).await;
    println!("{}", proxy.http);
    let mut shown = 0;
    while proxy.bridged.changed().await.is_ok() {
        let lines: Vec<String> = proxy.bridged.borrow_and_update()[shown..]
            .iter()
            .map(|(label, m)| format!("{label} {}", describe(label, m)))
            .collect();
        shown += lines.len();
        let mut out = std::io::stdout().lock();
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }
}

/// A content channel's message by its type; a discovery channel's as `discovery` (another protocol, section 4).
fn describe(label: &str, bytes: &[u8]) -> String {
    if label == "discovery" {
        return "discovery".to_owned();
    }
    match wire::decode(bytes) {
        Ok(Message::Goodbye { reason }) => format!("Goodbye {reason:?}"),
        Ok(msg) => format!("{msg:?}").split([' ', '{', '(']).next().unwrap_or("?").to_owned(),
        Err(_) => "undecodable".to_owned(),
    }
}
