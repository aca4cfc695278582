//! The signaling examples of docs/PROTOCOL.md sections 3.3 and 3.4, read from the document: every request shown
//! parses and is written back byte for byte, every refused example is refused, and every server event shown
//! parses and is what the server writes. If this fails, the document or the code is wrong.

use swarm::signal::{PeerRequest, ServerEvent};

const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");

/// The indented example lines of the section that starts with `heading`, split at the sentence that introduces
/// the refused ones: (accepted, refused).
fn examples(heading: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    let start = PROTOCOL.find(heading).unwrap_or_else(|| panic!("no {heading:?} in PROTOCOL.md"));
    let section = &PROTOCOL[start + heading.len()..];
    let section = &section[..section.find("\n### ").unwrap_or(section.len())];
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    let mut in_refused = false;
    for line in section.lines() {
        if line.contains("is refused with `malformed`") {
            in_refused = true;
        }
        if let Some(example) = line.strip_prefix("    ") {
            if in_refused { refused.push(example) } else { accepted.push(example) }
        }
    }
    (accepted, refused)
}

#[test]
fn the_documented_requests_parse_and_are_written_back_byte_for_byte() {
    let (accepted, _) = examples("### 3.3 ");
    assert_eq!(accepted.len(), 6, "join, leave, three signals, ping");
    for text in accepted {
        let request = PeerRequest::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(request.to_json(), text);
    }
}

#[test]
fn the_documented_malformed_requests_are_refused() {
    let (_, refused) = examples("### 3.3 ");
    assert!(refused.len() >= 5, "{refused:?}");
    for text in refused {
        assert!(PeerRequest::parse(text).is_err(), "{text} was accepted");
    }
}

#[test]
fn the_documented_server_events_parse_and_are_what_the_server_writes() {
    let (accepted, _) = examples("### 3.4 ");
    assert_eq!(accepted.len(), 8, "welcome, joined, peer_left, signal, pong, ice_servers, two errors");
    for text in accepted {
        let event = ServerEvent::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(serde_json::to_string(&event).unwrap(), text);
    }
}
