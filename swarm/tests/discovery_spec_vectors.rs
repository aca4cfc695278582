//! The test vectors of docs/PROTOCOL.md 4.4, read from the document: if one fails, the document or the code is
//! wrong. Encodings byte for byte, the hops rule, and names as the receiver keeps them.

use swarm::ConnId;
use swarm::discovery::wire::{self, Entry, Message};
use swarm::discovery::{Config, Discovery, Input, Output};
use swarm::id::ContentId;
use swarm::time::Instant;

const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");

/// The rows of each table of section 4.4, in order, as cells with the backticks around them taken off.
fn tables() -> Vec<Vec<Vec<String>>> {
    let start = PROTOCOL.find("### 4.4 Test vectors").expect("PROTOCOL.md has section 4.4");
    let section = &PROTOCOL[start..];
    let section = section[4..].find("\n## ").map_or(section, |end| &section[..end + 4]);
    let mut tables = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for line in section.lines() {
        if let Some(inner) = line.trim().strip_prefix('|').and_then(|l| l.strip_suffix('|')) {
            let cells: Vec<String> = inner.split('|').map(|c| c.trim().trim_matches('`').to_owned()).collect();
            rows.push(cells);
        } else if !rows.is_empty() {
            tables.push(std::mem::take(&mut rows));
        }
    }
    if !rows.is_empty() {
        tables.push(rows);
    }
    // Without each table's header and separator rows.
    tables.into_iter().map(|t| t.into_iter().skip(2).collect()).collect()
}

fn hex(s: &str) -> Vec<u8> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    data_encoding::HEXLOWER.decode(digits.as_bytes()).expect("hex in the document")
}

/// `\u{XXXX}` escapes as Rust writes them; everything else as it is.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("\\u{") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("a closed escape") + at;
        let code = u32::from_str_radix(&rest[at + 3..end], 16).expect("hex code point");
        out.push(char::from_u32(code).expect("a scalar value"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The message each row of the first table describes, by its description.
fn described(description: &str) -> Message {
    match description {
        "Query: id 7, hops 3, text holiday" => Message::Query { id: 7, hops: 3, text: "holiday".into() },
        "Announce: id 1, hops 1, one entry: content id 32 bytes 11, size 1234, name a.mp4, media type video/mp4" => {
            let entry = Entry {
                content: ContentId([0x11; 32]),
                size: 1234,
                name: "a.mp4".into(),
                media_type: "video/mp4".into(),
            };
            Message::Announce { id: 1, hops: 1, entries: vec![entry] }
        }
        "Results: query 7, no entry" => Message::Results { query: 7, entries: vec![] },
        "Withdraw: id 9, hops 1, content ids 32 bytes 11 and 32 bytes 22" => {
            Message::Withdraw { id: 9, hops: 1, contents: vec![ContentId([0x11; 32]), ContentId([0x22; 32])] }
        }
        other => panic!("no message in this test for the row {other:?}"),
    }
}

#[test]
fn discovery_encodings_match_the_protocol_document() {
    let tables = tables();
    assert!(!tables[0].is_empty());
    for row in &tables[0] {
        let msg = described(&row[0].replace('`', ""));
        let bytes = hex(&row[1]);
        assert_eq!(wire::encode(&msg), bytes, "{}", row[0]);
        assert_eq!(wire::decode(&bytes), Ok(msg), "{}", row[0]);
    }
}

#[test]
fn the_hops_rule_matches_the_protocol_document() {
    let t0 = Instant::ZERO;
    let tables = tables();
    assert!(!tables[1].is_empty());
    for row in &tables[1] {
        let received: u8 = row[0].parse().expect("a number");
        let own: u8 = row[1].parse().expect("a number");
        let expected: Option<u8> =
            if row[2] == "not passed on" { None } else { Some(row[2].parse().expect("a number")) };
        let entry = Entry { content: ContentId([1; 32]), size: 1, name: "x".into(), media_type: String::new() };
        for msg in [
            Message::Query { id: 1, hops: received, text: "x".into() },
            Message::Announce { id: 2, hops: received, entries: vec![entry] },
        ] {
            let mut d = Discovery::new(Config { query_hops: own, announce_hops: own, ..Config::default() }, 1);
            for c in 1..=2 {
                d.handle_input(t0, Input::NeighbourConnected { conn: ConnId(c) });
            }
            while d.poll_output().is_some() {}
            d.handle_input(t0, Input::Received { conn: ConnId(1), bytes: &wire::encode(&msg) });
            let passed_on: Vec<u8> = std::iter::from_fn(|| d.poll_output())
                .filter_map(|o| match o {
                    Output::Send { conn: ConnId(2), bytes } => match wire::decode(&bytes) {
                        Ok(Message::Query { hops, .. } | Message::Announce { hops, .. }) => Some(hops),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            assert_eq!(passed_on, Vec::from_iter(expected), "{row:?} for {msg:?}");
        }
    }
}

#[test]
fn names_are_kept_as_the_protocol_document_says() {
    let tables = tables();
    assert!(!tables[2].is_empty());
    for row in &tables[2] {
        let (sent, kept) = (unescape(&row[0]), unescape(&row[1]));
        let entry = Entry { content: ContentId([1; 32]), size: 1, name: sent.clone(), media_type: String::new() };
        let decoded = wire::decode(&wire::encode(&Message::Results { query: 1, entries: vec![entry] }));
        let Ok(Message::Results { entries, .. }) = decoded else { panic!("{sent:?} decodes") };
        assert_eq!(entries[0].name, kept, "{sent:?}");
    }
}
