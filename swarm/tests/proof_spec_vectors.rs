//! PROTOCOL.md Appendix A.3: swarm keys and handshake proofs (2.11), read from the document and checked against the
//! code, so that a stranger's implementation can check its derivations byte for byte.
//!
//! Swarm key rows are `| `<content id>` | `<swarm key>` |`; proof rows are
//! `| `<content id>` | `<sender's fingerprint line value>` | `<receiver's>` | `<sender id>` | `<receiver id>` | `<proof>` |`.
//! `print_rows` (ignored; `--ignored --nocapture`) prints the rows for `INPUTS` as the code computes them.

mod spec;

use spec::hex;
use swarm::id::ContentId;
use swarm::proof::{Fingerprint, SwarmKey, handshake_proof};
use swarm::signal::PeerId;

const CONTENTS: &[&str] = &[
    "0000000000000000000000000000000000000000000000000000000000000000",
    "6c08be2d7fb47628046b94278906f2ac64a825119578fe516dbd69a77588bcfd",
];

const FP_A: &str =
    "sha-256 9A:0B:1C:2D:3E:4F:50:61:72:83:94:A5:B6:C7:D8:E9:FA:0B:1C:2D:3E:4F:50:61:72:83:94:A5:B6:C7:D8:E9";
const FP_B: &str =
    "SHA-256 01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef";

/// Proof inputs: content, sender's fingerprint, receiver's, sender id, receiver id.
const INPUTS: &[[&str; 5]] = &[
    [CONTENTS[1], FP_A, FP_B, "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"],
    [CONTENTS[1], FP_B, FP_A, "fedcba9876543210fedcba9876543210", "0123456789abcdef0123456789abcdef"],
    [CONTENTS[0], FP_A, FP_B, "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"],
];

fn fingerprint(value: &str) -> Fingerprint {
    Fingerprint::from_sdp(&format!("a=fingerprint:{value}\r\n")).expect("a well-formed fingerprint")
}

fn proof(row: &[&str]) -> String {
    let content: ContentId = row[0].parse().expect("a content id");
    let (s, r) = (fingerprint(row[1]), fingerprint(row[2]));
    let (si, ri) = (PeerId(row[3].to_owned()), PeerId(row[4].to_owned()));
    hex(&handshake_proof(&content, (&s, &si), (&r, &ri)))
}

fn key(content: &str) -> String {
    SwarmKey::of(&content.parse().expect("a content id")).to_string()
}

#[test]
fn the_appendix_vectors_are_what_the_code_computes() {
    let rows = spec::code_rows(spec::section("### A.3 Swarm keys and handshake proofs"));
    let keys: Vec<_> = rows.iter().filter(|r| r.len() == 2).collect();
    let proofs: Vec<_> = rows.iter().filter(|r| r.len() == 6).collect();
    assert_eq!((keys.len(), proofs.len()), (CONTENTS.len(), INPUTS.len()), "{rows:?}");
    for row in keys {
        assert_eq!(key(&row[0]), row[1], "swarm key of {}", row[0]);
    }
    for row in proofs {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        assert_eq!(proof(&cells[..5]), row[5], "proof of {row:?}");
    }
}

#[test]
#[ignore = "prints the appendix rows"]
fn print_rows() {
    for c in CONTENTS {
        println!("| `{c}` | `{}` |", key(c));
    }
    for row in INPUTS {
        println!("| `{}` | `{}` | `{}` | `{}` | `{}` | `{}` |", row[0], row[1], row[2], row[3], row[4], proof(row));
    }
}
