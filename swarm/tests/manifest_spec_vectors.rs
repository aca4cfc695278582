//! PROTOCOL.md Appendix A.2: the manifest and content id a sharer computes for named sample files (one per
//! media-type rule, an empty file, a name that needs sanitizing), read from the document and checked against the
//! code both ways: the file's name and bytes give exactly this manifest encoding and content id (1.2 to 1.6, the
//! path a sharer takes: the media type from the name as given, the name sanitized, the piece size by policy),
//! and the encoding decodes to a manifest with that id.
//!
//! Rows are `| `<name as JSON>` | `<file bytes in hex>` | `<manifest in hex>` | `<content id>` |`.
//! `print_rows` (ignored) prints them for `INPUTS`.

mod spec;

use spec::{hex, unhex};
use swarm::manifest::{Manifest, ManifestBuilder};
use swarm::media::media_type_for;

/// Sample files: name (JSON string) and content.
const INPUTS: &[(&str, &[u8])] = &[
    (r#""empty.txt""#, b""),
    (r#""hello.txt""#, b"hello world\n"),
    (r#""Photo.JPG""#, b"\xff\xd8\xff"),
    (r#""backup.tar.gz""#, b"\x1f\x8b\x08\x00"),
    (r#""README""#, b"read me"),
    (r#""../../docs/report:final.pdf""#, b"%PDF-1.7"),
    // `\` is an ordinary character for the media type (the extension is `pdf\`), though 1.4 cuts the name there.
    (r#""x.pdf\\""#, b"%PDF-1.7"),
    // The extension read is `webm  `: unknown; the saved name is trimmed.
    (r#""  spaced name.webm  ""#, b"\x1a\x45\xdf\xa3"),
];

/// What a sharer builds for a file named `name` holding `data`.
fn share(name: &str, data: &[u8]) -> Manifest {
    let mut b = ManifestBuilder::new(name, data.len() as u64, media_type_for(name)).expect("a valid input");
    b.update(data);
    b.finish().expect("exactly the announced size")
}

fn rows() -> Vec<[String; 4]> {
    spec::code_rows(spec::section("### A.2 Manifests and content ids"))
        .into_iter()
        .filter_map(|r| r.try_into().ok())
        .collect()
}

#[test]
fn every_sample_file_gives_its_manifest_and_content_id() {
    let rows = rows();
    assert!(rows.len() >= INPUTS.len(), "Appendix A.2 has {} rows", rows.len());
    for [name, data, manifest, id] in rows {
        let name: String = serde_json::from_str(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let built = share(&name, &unhex(&data));
        assert_eq!(hex(&built.encode()), manifest, "the manifest of {name:?}");
        assert_eq!(built.content_id().to_string(), id, "the content id of {name:?}");
        let decoded = Manifest::decode(&unhex(&manifest)).expect("the vector decodes");
        assert_eq!(decoded.content_id().to_string(), id);
        assert_eq!(decoded, built);
    }
}

#[test]
#[ignore = "prints the rows of Appendix A.2: run with --ignored --nocapture to write the appendix"]
fn print_rows() {
    for (name, data) in INPUTS {
        let m = share(&serde_json::from_str::<String>(name).expect("JSON"), data);
        println!("| `{name}` | `{}` | `{}` | `{}` |", hex(data), hex(&m.encode()), m.content_id());
    }
}
