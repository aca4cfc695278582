//! Manifests of many files (version 2, docs/PROTOCOL.md 1.8): the canonical encoding, the path rules checked at
//! decode, the builder, and the mapping between pieces and files.

use proptest::prelude::*;
use swarm::manifest::{
    MAX_DEPTH, MAX_FILE_SIZE, MAX_FILES, MAX_PATH_LEN, MIN_PIECE_SIZE, Manifest, ManifestBuilder, ManifestError,
    TREE_VERSION, TreeBuilder,
};

/// A tree's encoding laid out by hand: `files` as (path, media type, size), with zero hashes for the pieces of
/// their total size (or `pieces` hashes if given).
fn layout(name: &str, piece_size: u32, files: &[Listed<'_>], pieces: Option<u32>) -> Vec<u8> {
    let mut out = vec![TREE_VERSION, name.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&piece_size.to_be_bytes());
    out.extend_from_slice(&(files.len() as u32).to_be_bytes());
    let mut total = 0u64;
    for (path, media, size) in files {
        out.extend_from_slice(&(path.len() as u16).to_be_bytes());
        out.extend_from_slice(path.as_bytes());
        out.push(media.len() as u8);
        out.extend_from_slice(media.as_bytes());
        out.extend_from_slice(&size.to_be_bytes());
        total = total.saturating_add(*size);
    }
    let count = pieces.unwrap_or(total.div_ceil(piece_size as u64) as u32);
    out.extend_from_slice(&count.to_be_bytes());
    for _ in 0..count {
        out.extend_from_slice(&[0; 32]);
    }
    out
}

/// A file as laid out by hand: path, media type, size.
type Listed<'a> = (&'a str, &'a str, u64);

fn decode(files: &[Listed<'_>]) -> Result<Manifest, ManifestError> {
    Manifest::decode(&layout("share", MIN_PIECE_SIZE, files, None))
}

/// A tree of `files` (path components, contents) hashed with `piece_size`, fed in chunks of `chunk` bytes.
fn build(files: &[(Vec<&str>, Vec<u8>)], piece_size: u32, chunk: usize) -> Manifest {
    let listed = files.iter().map(|(path, data)| (path.iter().map(|c| c.to_string()).collect(), data.len() as u64));
    let mut b = TreeBuilder::with_piece_size("share", listed.collect(), piece_size).expect("a valid tree");
    let stream = stream_of(&b, files);
    for part in stream.chunks(chunk.max(1)) {
        b.update(part);
    }
    b.finish().expect("fed the whole stream")
}

/// The piece stream of `files` in the builder's order.
fn stream_of(b: &TreeBuilder, files: &[(Vec<&str>, Vec<u8>)]) -> Vec<u8> {
    let mut stream = Vec::new();
    for &i in b.given_order() {
        stream.extend_from_slice(&files[i].1);
    }
    stream
}

/// Random trees: up to 12 files with paths over a small alphabet (so that folders are shared), distinct once
/// case folded and none under another.
fn tree() -> impl Strategy<Value = Vec<(Vec<String>, Vec<u8>)>> {
    let component = prop::sample::select(vec!["a", "b", "photos", "x.txt", "Ünï.jpg", "deep"]);
    let path = prop::collection::vec(component, 1..4);
    prop::collection::vec((path, prop::collection::vec(any::<u8>(), 0..40_000)), 1..12).prop_map(|files| {
        let mut kept: Vec<(Vec<String>, Vec<u8>)> = Vec::new();
        for (path, data) in files {
            let path: Vec<String> = path.into_iter().map(str::to_owned).collect();
            let joined = path.join("/").to_lowercase();
            let clash = kept.iter().any(|(other, _)| {
                let other = other.join("/").to_lowercase();
                other == joined || other.starts_with(&format!("{joined}/")) || joined.starts_with(&format!("{other}/"))
            });
            if !clash {
                kept.push((path, data));
            }
        }
        kept
    })
}

fn refs(files: &[(Vec<String>, Vec<u8>)]) -> Vec<(Vec<&str>, Vec<u8>)> {
    files.iter().map(|(p, d)| (p.iter().map(String::as_str).collect(), d.clone())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_tree_round_trips_through_its_canonical_encoding(files in tree(), chunk in 1usize..70_000) {
        let m = build(&refs(&files), MIN_PIECE_SIZE, chunk);
        prop_assert!(m.is_tree());
        let bytes = m.encode();
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(Manifest::decode(&bytes), Ok(m.clone()));
        // Fed in one go, the same manifest: hashes do not depend on how the stream is cut.
        prop_assert_eq!(build(&refs(&files), MIN_PIECE_SIZE, usize::MAX), m);
    }

    #[test]
    fn pieces_and_files_map_onto_each_other_byte_for_byte(files in tree()) {
        let m = build(&refs(&files), MIN_PIECE_SIZE, 4096);
        for (i, file) in m.files().iter().enumerate() {
            let pieces = m.pieces_of_file(i);
            // The pieces of a file are exactly those whose bytes overlap it.
            for p in 0..m.piece_count() {
                let (start, end) = (m.piece_offset(p), m.piece_offset(p) + m.piece_len(p) as u64);
                let overlaps = file.size() > 0 && start < file.offset() + file.size() && file.offset() < end;
                prop_assert_eq!(pieces.contains(&p), overlaps, "file {} piece {}", i, p);
                prop_assert_eq!(m.files_of_piece(p).contains(&i), overlaps, "piece {} file {}", p, i);
            }
        }
        // Every byte of the stream belongs to exactly one file, in order.
        let sum: u64 = m.files().iter().map(|f| f.size()).sum();
        prop_assert_eq!(sum, m.size());
        for pair in m.files().windows(2) {
            prop_assert_eq!(pair[0].offset() + pair[0].size(), pair[1].offset());
        }
    }

    #[test]
    fn tree_decode_never_panics(tail in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = vec![TREE_VERSION];
        bytes.extend_from_slice(&tail);
        let _ = Manifest::decode(&bytes);
    }

    #[test]
    fn accepted_tree_bytes_are_canonical(flip in 0usize..400, value in any::<u8>()) {
        let mut bytes = layout("s", MIN_PIECE_SIZE, &[("a/b.txt", "text/plain", 20_000), ("c", "", 3)], None);
        let at = flip % bytes.len();
        bytes[at] = value;
        if let Ok(m) = Manifest::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }
}

#[test]
fn each_path_rule_is_checked_at_decode() {
    use ManifestError::*;
    let ok = ("a.txt", "", 1);
    let cases: Vec<(Vec<Listed<'_>>, ManifestError)> = vec![
        (vec![("..", "", 1)], BadPath(0)),
        (vec![("a/../b", "", 1)], BadPath(0)),
        (vec![("/etc/passwd", "", 1)], BadPath(0)),
        (vec![("a//b", "", 1)], BadPath(0)),
        (vec![("a/", "", 1)], BadPath(0)),
        (vec![("", "", 1)], BadPath(0)),
        (vec![("a\\b", "", 1)], BadPath(0)),
        (vec![("con", "", 1)], BadPath(0)),
        (vec![("tab\there", "", 1)], BadPath(0)),
        (vec![ok, ("a.txt", "", 1)], PathOrder(1)),
        (vec![("b", "", 1), ("a", "", 1)], PathOrder(1)),
        (vec![("A.txt", "", 1), ok], CaseCollision("A.txt".into(), "a.txt".into())),
        (vec![("a", "", 1), ("a/b", "", 1)], FileUnderFile("a".into(), "a/b".into())),
        (vec![("A", "", 1), ("a/b/c", "", 1)], FileUnderFile("A".into(), "a/b/c".into())),
        (vec![("a", "Text/Plain", 1)], BadMediaType),
    ];
    for (files, error) in cases {
        assert_eq!(decode(&files), Err(error.clone()), "{files:?}");
    }
    // Checked before the piece count, so no hash list has to be sent for it.
    let over = layout("share", MIN_PIECE_SIZE, &[("a", "", MAX_FILE_SIZE), ("b", "", 1)], Some(0));
    assert_eq!(Manifest::decode(&over), Err(TooLarge));
    let long = "a".repeat(200);
    let too_long: String = vec![long.as_str(); MAX_PATH_LEN / 200 + 1].join("/");
    assert_eq!(decode(&[(&too_long, "", 1)]), Err(BadPath(0)));
    let too_deep = vec!["d"; MAX_DEPTH + 1].join("/");
    assert_eq!(decode(&[(&too_deep, "", 1)]), Err(BadPath(0)));
    let deepest = vec!["d"; MAX_DEPTH].join("/");
    assert!(decode(&[(&deepest, "", 1)]).is_ok());
    // Empty files are files: no pieces of their own, and allowed anywhere.
    let m = decode(&[("a", "", 0), ("b/c", "", 0)]).unwrap();
    assert_eq!((m.piece_count(), m.pieces_of_file(0), m.pieces_of_file(1)), (0, 0..0, 0..0));
}

#[test]
fn the_counts_and_the_structure_are_checked_at_decode() {
    use ManifestError::*;
    assert_eq!(decode(&[]), Err(FileCount(0)));
    let mut over = layout("s", MIN_PIECE_SIZE, &[("a", "", 0)], None);
    over[1 + 1 + 1 + 4..1 + 1 + 1 + 4 + 4].copy_from_slice(&(MAX_FILES + 1).to_be_bytes());
    assert_eq!(Manifest::decode(&over), Err(FileCount(MAX_FILES + 1)));
    assert_eq!(Manifest::decode(&layout("bad/name", MIN_PIECE_SIZE, &[("a", "", 1)], None)), Err(BadName));
    assert_eq!(Manifest::decode(&layout("s", 1000, &[("a", "", 1)], None)), Err(BadPieceSize(1000)));
    assert_eq!(Manifest::decode(&layout("s", MIN_PIECE_SIZE, &[("a", "", 1)], Some(2))), Err(PieceCountMismatch));
    let bytes = layout("s", MIN_PIECE_SIZE, &[("a", "", 1)], None);
    assert_eq!(Manifest::decode(&bytes[..bytes.len() - 1]), Err(Truncated));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(Manifest::decode(&trailing), Err(TrailingBytes));
    let mut not_utf8 = layout("s", MIN_PIECE_SIZE, &[("ab", "", 1)], None);
    let at = not_utf8.windows(2).position(|w| w == b"ab").unwrap();
    not_utf8[at] = 0xff;
    assert_eq!(Manifest::decode(&not_utf8), Err(BadPath(0)));
}

#[test]
fn the_builder_names_the_files_that_would_collide() {
    let files = |paths: &[&[&str]]| paths.iter().map(|p| (p.iter().map(|c| c.to_string()).collect(), 1)).collect();
    // Sanitized, "a?b" is "a_b": two files under one name.
    assert_eq!(
        TreeBuilder::new("s", files(&[&["a?b"], &["a_b"]])).err(),
        Some(ManifestError::CaseCollision("a_b".into(), "a_b".into()))
    );
    assert_eq!(
        TreeBuilder::new("s", files(&[&["dir", "A.txt"], &["dir", "a.txt"]])).err(),
        Some(ManifestError::CaseCollision("dir/A.txt".into(), "dir/a.txt".into()))
    );
    // Case is folded as search folds it (PROTOCOL.md 1.8, 4.3): Latin-1, Greek and Cyrillic capitals too.
    assert_eq!(
        TreeBuilder::new("s", files(&[&["Été", "Ω.txt"], &["été", "ω.txt"]])).err(),
        Some(ManifestError::CaseCollision("Été/Ω.txt".into(), "été/ω.txt".into()))
    );
    assert_eq!(
        TreeBuilder::new("s", files(&[&["x"], &["X", "y"]])).err(),
        Some(ManifestError::FileUnderFile("x".into(), "X/y".into()))
    );
    assert_eq!(TreeBuilder::new("s", Vec::new()).err(), Some(ManifestError::FileCount(0)));
    // Components are sanitized as file names: a path cannot climb out of the share.
    let b = TreeBuilder::new("../../share", files(&[&["..", "etc", "passwd"]])).unwrap();
    assert_eq!(b.files()[0].path(), "file/etc/passwd");
    // Each file in the order its bytes are fed is found by its index in the list given, whatever sanitizing did.
    let b = TreeBuilder::new("s", files(&[&["b"], &["a?x"], &["A dir", "c"]])).unwrap();
    let paths: Vec<&str> = b.files().iter().map(|f| f.path()).collect();
    assert_eq!((paths, b.given_order()), (vec!["A dir/c", "a_x", "b"], &[2, 1, 0][..]));
    // A file fed short is refused, as for one file.
    let mut b = TreeBuilder::new("s", files(&[&["a"], &["b"]])).unwrap();
    b.update(b"x");
    assert!(matches!(b.finish(), Err(ManifestError::SizeMismatch { expected: 2, got: 1 })));
}

#[test]
fn a_tree_and_a_single_file_of_the_same_bytes_have_different_ids() {
    let tree = build(&[(vec!["a.txt"], b"hello".to_vec())], MIN_PIECE_SIZE, 5);
    let mut one = ManifestBuilder::with_piece_size("a.txt", 5, "text/plain", MIN_PIECE_SIZE).unwrap();
    one.update(b"hello");
    let one = one.finish().unwrap();
    assert!(!one.is_tree() && one.files().is_empty());
    assert_eq!(tree.piece_hash(0), one.piece_hash(0));
    assert_ne!(tree.content_id(), one.content_id());
}

/// The worked example of docs/PROTOCOL.md section 1.8, read from the document: if this fails, the document or
/// the encoding is wrong.
#[test]
fn protocol_document_tree_example_has_the_documented_encoding_and_id() {
    const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");
    let section = PROTOCOL.split("### 1.8 ").nth(1).expect("PROTOCOL.md has section 1.8");
    let section = section.split("\n### ").next().unwrap_or(section);
    let hex: String = section
        .lines()
        .filter(|l| l.starts_with("    ") && !l.trim().is_empty())
        .flat_map(|l| l.split_whitespace().take_while(|t| t.bytes().all(|b| b.is_ascii_hexdigit())))
        .collect();
    let id = section.split("Content id: `").nth(1).and_then(|r| r.split('`').next()).expect("the example's id");

    let files =
        [(vec!["notes", "a.txt"], b"hello".to_vec()), (vec!["b.bin"], b"world".to_vec()), (vec!["empty"], vec![])];
    let listed = files.iter().map(|(p, d)| (p.iter().map(|c| c.to_string()).collect(), d.len() as u64)).collect();
    let mut b = TreeBuilder::new("photos", listed).unwrap();
    let stream = stream_of(&b, &files);
    b.update(&stream);
    let m = b.finish().unwrap();
    assert_eq!(data_encoding::HEXLOWER.encode(&m.encode()), hex);
    assert_eq!(m.content_id().to_string(), id);
}
