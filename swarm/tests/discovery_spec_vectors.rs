//! The test vectors of docs/PROTOCOL.md 4.4, read from the document: if one fails, the document or the code is
//! wrong. Encodings byte for byte (the words forms too), the hops rule, names as the receiver keeps them, and the
//! words a folder share's entry carries.

use swarm::ConnId;
use swarm::discovery::wire::{self, Entry, Message, Words};
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

fn a_mp4() -> Entry {
    Entry {
        content: ContentId([0x11; 32]),
        size: 1234,
        name: "a.mp4".into(),
        media_type: "video/mp4".into(),
        words: Words::none(),
    }
}

/// The tree of PROTOCOL.md 1.8 as its entry: its words are those of the first row of the words table.
fn photos() -> Entry {
    Entry {
        content: ContentId([0x33; 32]),
        size: 10,
        name: "photos".into(),
        media_type: String::new(),
        words: Words::of_tree("photos", ["b.bin", "empty", "notes/a.txt"]),
    }
}

/// The message each row of the first table describes, by its description.
fn described(description: &str) -> Message {
    match description {
        "Query: id 7, hops 3, text holiday" => Message::Query { id: 7, hops: 3, text: "holiday".into() },
        "Announce: id 1, hops 1, one entry: content id 32 bytes 11, size 1234, name a.mp4, media type video/mp4" => {
            Message::Announce { id: 1, hops: 1, entries: vec![a_mp4()] }
        }
        "Results: query 7, no entry" => Message::Results { query: 7, entries: vec![] },
        "Withdraw: id 9, hops 1, content ids 32 bytes 11 and 32 bytes 22" => {
            Message::Withdraw { id: 9, hops: 1, contents: vec![ContentId([0x11; 32]), ContentId([0x22; 32])] }
        }
        "Hello: revision 2" => Message::Hello { revision: 2 },
        "Announce, words form: id 2, hops 1, one entry: content id 32 bytes 33, size 10, name photos, no media type, words a b bin empty notes txt" => {
            Message::Announce { id: 2, hops: 1, entries: vec![photos()] }
        }
        "Results, words form: query 7, the entry of the Announce above, then the entry of the first Announce with no words" => {
            Message::Results { query: 7, entries: vec![photos(), a_mp4()] }
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
        let entry = Entry {
            content: ContentId([1; 32]),
            size: 1,
            name: "x".into(),
            media_type: String::new(),
            words: Words::none(),
        };
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
        let entry = Entry {
            content: ContentId([1; 32]),
            size: 1,
            name: sent.clone(),
            media_type: String::new(),
            words: Words::none(),
        };
        let decoded = wire::decode(&wire::encode(&Message::Results { query: 1, entries: vec![entry] }));
        let Ok(Message::Results { entries, .. }) = decoded else { panic!("{sent:?} decodes") };
        assert_eq!(entries[0].name, kept, "{sent:?}");
    }
}

#[test]
fn the_words_of_a_folder_share_are_those_of_the_protocol_document() {
    let tables = tables();
    assert!(!tables[3].is_empty());
    for row in &tables[3] {
        let paths: Vec<&str> = row[1].split(", ").collect();
        let words = Words::of_tree(&row[0], paths.iter().copied());
        assert_eq!(words.as_str(), row[2], "{row:?}");
        assert_eq!(Words::parse(&row[2]), Ok(words), "{row:?}");
    }
}

#[test]
fn a_peer_that_said_no_hello_is_sent_the_words_vectors_in_the_first_form() {
    // The prose under the first table: the same messages without words, as the first form encodes them.
    let announce = Message::Announce { id: 2, hops: 1, entries: vec![photos()] };
    let plain = wire::encode(&announce.without_words().expect("it has words"));
    let mut expected = hex("01 0000000000000002 01 01");
    expected.extend([0x33; 32]);
    expected.extend(hex("000000000000000a 06 70686f746f73 00"));
    assert_eq!(plain, expected);
    let results = Message::Results { query: 7, entries: vec![photos(), a_mp4()] };
    let plain = wire::encode(&results.without_words().expect("it has words"));
    assert_eq!(plain[..10], hex("03 0000000000000007 02")[..]);
}
