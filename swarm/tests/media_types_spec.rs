//! PROTOCOL.md 1.5 lists the extension → media type table a sharer must use (the media type is part of the
//! manifest, so a peer with another table gives the same file another link). The table in the document and
//! `swarm::media::MEDIA_TYPES` must be the same, row for row, and the examples of 1.5 must hold.

mod spec;

use swarm::media::{DEFAULT_MEDIA_TYPE, MEDIA_TYPES, media_type_for};

/// The rows of the table in section 1.5: `| `ext` | `type` |`.
fn spec_table() -> Vec<(String, String)> {
    spec::code_rows(spec::section("### 1.5 Media types"))
        .into_iter()
        .filter_map(|row| <[String; 2]>::try_from(row).ok().map(|[ext, media_type]| (ext, media_type)))
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
