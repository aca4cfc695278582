//! PROTOCOL.md Appendix A.1: the encoding of every wire message, with edge values, read from the document and
//! checked against the code both ways (each message encodes to exactly the bytes given, and the bytes decode to
//! exactly the message), so that the spec and the code cannot drift apart unnoticed.
//!
//! The rows are `| `<message as JSON>` | `<bytes in hex>` |`. `print_rows` (ignored; run it with `--ignored
//! --nocapture`) prints the rows for the messages of `INPUTS` as the code encodes them, to write the appendix.

mod spec;

use serde_json::Value;
use spec::{hex, unhex};
use swarm::wire::{self, GoodbyeReason, Message, RejectReason};

/// The messages of the appendix, one per line of the table, in order.
const INPUTS: &[&str] = &[
    r#"{"type":"Handshake","version":3,"proof":"4f6c9e8e3b0a4d8a1e3c5b7a9d0f2e4c6b8a0d2f4e6c8b0a2d4f6e8c0b2a4d6f"}"#,
    r#"{"type":"Handshake","version":65535,"proof":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
    r#"{"type":"Goodbye","reason":0}"#,
    r#"{"type":"Goodbye","reason":3}"#,
    r#"{"type":"Goodbye","reason":200}"#,
    r#"{"type":"KeepAlive"}"#,
    r#"{"type":"ManifestRequest","offset":0}"#,
    r#"{"type":"ManifestRequest","offset":131072}"#,
    r#"{"type":"ManifestData","total_len":300,"offset":256,"data":"00ff10"}"#,
    r#"{"type":"ManifestUnavailable"}"#,
    r#"{"type":"HaveMap","bits":"a5c0"}"#,
    r#"{"type":"HaveMap","bits":""}"#,
    r#"{"type":"Have","piece":0}"#,
    r#"{"type":"Have","piece":32767}"#,
    r#"{"type":"Request","piece":7,"offset":131072,"len":131072}"#,
    r#"{"type":"Cancel","piece":7,"offset":0,"len":1}"#,
    r#"{"type":"Block","piece":2,"offset":65536,"data":"deadbeef"}"#,
    r#"{"type":"Reject","piece":7,"offset":0,"len":131072,"reason":1}"#,
    r#"{"type":"Reject","piece":0,"offset":0,"len":1,"reason":255}"#,
    r#"{"type":"Choke"}"#,
    r#"{"type":"Unchoke"}"#,
    r#"{"type":"Want","bits":"ff80"}"#,
    r#"{"type":"Want","bits":""}"#,
];

/// The bytes a message borrows (`data`, `bits`), kept alive beside it.
struct Built {
    json: Value,
    bytes: Vec<u8>,
}

impl Built {
    fn new(json: &str) -> Built {
        let json: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        let bytes = ["data", "bits"].iter().find_map(|k| json[k].as_str()).map(unhex).unwrap_or_default();
        Built { json, bytes }
    }

    fn message(&self) -> Message<'_> {
        let j = &self.json;
        let n = |k: &str| -> u32 {
            let v = j[k].as_u64().unwrap_or_else(|| panic!("{k} in {j}"));
            u32::try_from(v).expect("a u32")
        };
        let reason = || u8::try_from(n("reason")).expect("a byte");
        match j["type"].as_str().expect("a type") {
            "Handshake" => Message::Handshake {
                version: u16::try_from(n("version")).expect("a u16"),
                proof: unhex(j["proof"].as_str().expect("proof")).try_into().expect("a 32-byte proof"),
            },
            "Goodbye" => Message::Goodbye { reason: GoodbyeReason::from_code(reason()) },
            "KeepAlive" => Message::KeepAlive,
            "ManifestRequest" => Message::ManifestRequest { offset: n("offset") },
            "ManifestData" => {
                Message::ManifestData { total_len: n("total_len"), offset: n("offset"), data: &self.bytes }
            }
            "ManifestUnavailable" => Message::ManifestUnavailable,
            "HaveMap" => Message::HaveMap { bits: &self.bytes },
            "Have" => Message::Have { piece: n("piece") },
            "Request" => Message::Request { piece: n("piece"), offset: n("offset"), len: n("len") },
            "Cancel" => Message::Cancel { piece: n("piece"), offset: n("offset"), len: n("len") },
            "Block" => Message::Block { piece: n("piece"), offset: n("offset"), data: &self.bytes },
            "Reject" => Message::Reject {
                piece: n("piece"),
                offset: n("offset"),
                len: n("len"),
                reason: RejectReason::from_code(reason()),
            },
            "Choke" => Message::Choke,
            "Unchoke" => Message::Unchoke,
            "Want" => Message::Want { bits: &self.bytes },
            other => panic!("no message type {other}"),
        }
    }
}

/// The rows of Appendix A.1: (message JSON, hex).
fn rows() -> Vec<(String, String)> {
    spec::code_rows(spec::section("### A.1 Wire messages"))
        .into_iter()
        .filter_map(|row| <[String; 2]>::try_from(row).ok().map(|[json, bytes]| (json, bytes)))
        .collect()
}

#[test]
fn every_vector_encodes_and_decodes_exactly() {
    let rows = rows();
    assert!(rows.len() >= INPUTS.len(), "Appendix A.1 has {} rows", rows.len());
    for (json, bytes) in rows {
        let built = Built::new(&json);
        let expected = unhex(&bytes);
        assert_eq!(hex(&wire::encode(&built.message())), hex(&expected), "encoding {json}");
        assert_eq!(wire::decode(&expected).as_ref(), Ok(&built.message()), "decoding {bytes}");
    }
}

#[test]
fn the_appendix_covers_every_message_type() {
    let types: Vec<String> =
        rows().iter().map(|(json, _)| Built::new(json).json["type"].as_str().expect("a type").to_owned()).collect();
    for code in 0..=wire::code::UNCHOKE {
        let name = INPUTS
            .iter()
            .map(|j| Built::new(j))
            .find(|b| b.message().code() == code)
            .map(|b| b.json["type"].as_str().expect("a type").to_owned())
            .expect("INPUTS has every message type");
        assert!(types.contains(&name), "Appendix A.1 has no {name} (code {code})");
    }
}

#[test]
#[ignore = "prints the rows of Appendix A.1: run with --ignored --nocapture to write the appendix"]
fn print_rows() {
    for json in INPUTS {
        let built = Built::new(json);
        println!("| `{json}` | `{}` |", hex(&wire::encode(&built.message())));
    }
}
