//! PROTOCOL.md 1.5 lists the extension → media type table a sharer must use (the media type is part of the
//! manifest, so a peer with another table gives the same file another link). The table in the document and
//! `swarm::media::MEDIA_TYPES` must be the same, row for row, and the examples of 1.5 must hold.

use swarm::media::{DEFAULT_MEDIA_TYPE, MEDIA_TYPES, media_type_for};

/// The rows of the table in section 1.5: `| `ext` | `type` |`.
fn spec_table() -> Vec<(String, String)> {
    let spec = include_str!("../../docs/PROTOCOL.md");
    let start = spec.find("### 1.5 Media types").expect("PROTOCOL.md has section 1.5");
    let end = start + spec[start..].find("\n### ").expect("a section follows 1.5");
    spec[start..end]
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.strip_prefix("| `")?.strip_suffix("` |")?.split("` | `").collect();
            match cells[..] {
                [ext, media_type] => Some((ext.to_owned(), media_type.to_owned())),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn the_table_in_the_spec_is_the_table_in_the_code() {
    let code: Vec<(String, String)> = MEDIA_TYPES.iter().map(|(e, t)| ((*e).to_owned(), (*t).to_owned())).collect();
    let spec = spec_table();
    assert!(spec.len() >= 40, "the table of 1.5 was not found: {} rows", spec.len());
    assert_eq!(spec, code, "PROTOCOL.md 1.5 and swarm::media::MEDIA_TYPES differ");
}

#[test]
fn every_row_of_the_spec_gives_its_type_in_either_case() {
    for (ext, media_type) in spec_table() {
        assert_eq!(media_type_for(&format!("f.{ext}")), media_type, ".{ext}");
        assert_eq!(media_type_for(&format!("F.{}", ext.to_uppercase())), media_type, ".{ext} in upper case");
    }
}

#[test]
fn the_examples_of_the_spec_hold() {
    assert_eq!(media_type_for("a.tar.gz"), "application/gzip");
    assert_eq!(media_type_for("notes.MD"), "text/markdown");
    assert_eq!(media_type_for(".bashrc"), DEFAULT_MEDIA_TYPE);
    assert_eq!(media_type_for("README"), DEFAULT_MEDIA_TYPE);
    assert_eq!(media_type_for("a.mp4."), DEFAULT_MEDIA_TYPE);
    assert_eq!(DEFAULT_MEDIA_TYPE, "application/octet-stream");
}
