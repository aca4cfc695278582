//! The content model: canonical manifest encoding, content ids, the incremental builder, the piece-size policy and
//! name sanitization (docs/PROTOCOL.md section 1).

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use swarm::id::ContentId;
use swarm::manifest::{
    MAX_FILE_SIZE, MAX_MANIFEST_LEN, MAX_NAME_LEN, MAX_PIECE_SIZE, MAX_PIECES, MIN_PIECE_SIZE, Manifest,
    ManifestBuilder, ManifestError, POLICY_COMFORT_PIECE_SIZE, POLICY_ENOUGH_PIECES, POLICY_MIN_PIECE_SIZE,
    POLICY_TARGET_PIECES, is_valid_name, piece_size_for, sanitize_name,
};

/// The canonical encoding written out field by field, as docs/PROTOCOL.md section 1.2 lays it out.
fn layout(name: &str, media_type: &str, size: u64, piece_size: u32, hashes: &[[u8; 32]]) -> Vec<u8> {
    let mut b = vec![1, name.len() as u8];
    b.extend_from_slice(name.as_bytes());
    b.push(media_type.len() as u8);
    b.extend_from_slice(media_type.as_bytes());
    b.extend_from_slice(&size.to_be_bytes());
    b.extend_from_slice(&piece_size.to_be_bytes());
    b.extend_from_slice(&(hashes.len() as u32).to_be_bytes());
    for h in hashes {
        b.extend_from_slice(h);
    }
    b
}

fn build(name: &str, media_type: &str, data: &[u8], piece_size: u32) -> Manifest {
    let mut b = ManifestBuilder::with_piece_size(name, data.len() as u64, media_type, piece_size).expect("valid input");
    b.update(data);
    b.finish().expect("fed exactly the declared size")
}

fn valid_layout() -> impl Strategy<Value = Vec<u8>> {
    (any::<String>(), 0u64..=4 * MIN_PIECE_SIZE as u64, prop::sample::select(vec!["", "text/plain", "video/mp4"]))
        .prop_flat_map(|(name, size, media)| {
            let count = size.div_ceil(MIN_PIECE_SIZE as u64) as usize;
            prop::collection::vec(any::<[u8; 32]>(), count)
                .prop_map(move |hashes| layout(&sanitize_name(&name), media, size, MIN_PIECE_SIZE, &hashes))
        })
}

proptest! {
    #[test]
    fn built_manifest_round_trips_through_its_encoding(
        data in prop::collection::vec(any::<u8>(), 0..50_000),
        name in any::<String>(),
    ) {
        let m = build(&name, "application/octet-stream", &data, MIN_PIECE_SIZE);
        let bytes = m.encode();
        prop_assert!(bytes.len() <= MAX_MANIFEST_LEN);
        prop_assert_eq!(Manifest::decode(&bytes), Ok(m));
    }

    #[test]
    fn hashes_do_not_depend_on_how_the_file_is_fed(
        data in prop::collection::vec(any::<u8>(), 0..50_000),
        cuts in prop::collection::vec(0usize..70_000, 0..8),
    ) {
        let whole = build("f", "", &data, MIN_PIECE_SIZE);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort_unstable();
        let mut b = ManifestBuilder::with_piece_size("f", data.len() as u64, "", MIN_PIECE_SIZE).expect("valid input");
        let mut start = 0;
        for cut in cuts.into_iter().chain([data.len()]) {
            b.update(&data[start..cut]);
            start = cut;
        }
        prop_assert_eq!(b.hashed(), data.len() as u64);
        prop_assert_eq!(b.finish(), Ok(whole));
    }

    #[test]
    fn every_piece_hash_is_the_sha256_of_that_piece(data in prop::collection::vec(any::<u8>(), 1..50_000)) {
        let m = build("f", "", &data, MIN_PIECE_SIZE);
        for (i, piece) in data.chunks(MIN_PIECE_SIZE as usize).enumerate() {
            let i = i as u32;
            prop_assert_eq!(m.piece_len(i) as usize, piece.len());
            prop_assert_eq!(m.piece_hash(i), Some(&<[u8; 32]>::from(Sha256::digest(piece))));
            prop_assert!(m.verify_piece(i, piece));
        }
    }

    #[test]
    fn manifest_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Manifest::decode(&bytes);
    }

    /// One manifest has one encoding: whatever decodes re-encodes to exactly the input, so the content id of a
    /// decoded manifest is the SHA-256 of the bytes received.
    #[test]
    fn accepted_manifest_bytes_are_canonical(
        bytes in valid_layout(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    ) {
        let mut bytes = bytes;
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(m) = Manifest::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes.clone());
            prop_assert_eq!(m.content_id(), ContentId(Sha256::digest(&bytes).into()));
        }
    }

    #[test]
    fn sanitized_name_is_valid_and_stable(name in any::<String>()) {
        let clean = sanitize_name(&name);
        prop_assert!(!clean.is_empty());
        prop_assert!(clean.len() <= MAX_NAME_LEN);
        prop_assert!(!clean.contains(['/', '\\']));
        prop_assert!(!clean.chars().any(char::is_control));
        prop_assert!(is_valid_name(&clean));
        prop_assert_eq!(sanitize_name(&clean), clean);
    }

    #[test]
    fn long_names_are_cut_to_the_limit_at_a_character_boundary(
        stem in "[a-zé😀 ]{200,400}",
        ext in "\\.[a-z]{1,5}",
    ) {
        let clean = sanitize_name(&format!("x{stem}{ext}"));
        prop_assert!(clean.len() <= MAX_NAME_LEN);
        prop_assert!(clean.ends_with(&ext), "{} keeps {}", clean, ext);
    }

    #[test]
    fn policy_piece_size_is_a_power_of_two_within_limits(size in 0..=MAX_FILE_SIZE) {
        let piece = piece_size_for(size);
        prop_assert!(piece.is_power_of_two());
        prop_assert!((POLICY_MIN_PIECE_SIZE..=MAX_PIECE_SIZE).contains(&piece));
        prop_assert!(size.div_ceil(piece as u64) <= MAX_PIECES as u64);
        // The smallest such size: half of it would give more than the target count, or more than enough
        // pieces while still under the comfort size.
        if piece > POLICY_MIN_PIECE_SIZE {
            let half = piece / 2;
            let pieces = size.div_ceil(half as u64);
            prop_assert!(
                pieces > POLICY_TARGET_PIECES || (half < POLICY_COMFORT_PIECE_SIZE && pieces > POLICY_ENOUGH_PIECES)
            );
        }
        // Enough pieces: never more than the enough count below the comfort size.
        if piece < POLICY_COMFORT_PIECE_SIZE {
            prop_assert!(size.div_ceil(piece as u64) <= POLICY_ENOUGH_PIECES);
        }
    }
}

#[test]
fn content_id_is_sha256_of_the_canonical_encoding() {
    let m = build("a.txt", "text/plain", b"hello", MIN_PIECE_SIZE);
    let expected = layout("a.txt", "text/plain", 5, MIN_PIECE_SIZE, &[Sha256::digest(b"hello").into()]);
    assert_eq!(m.encode(), expected);
    assert_eq!(m.content_id(), ContentId(Sha256::digest(&expected).into()));
}

#[test]
fn different_names_give_different_content_ids() {
    let a = build("a.txt", "", b"same", MIN_PIECE_SIZE);
    let b = build("b.txt", "", b"same", MIN_PIECE_SIZE);
    assert_ne!(a.content_id(), b.content_id());
}

#[test]
fn empty_file_has_no_pieces_and_round_trips() {
    let m = build("empty", "", b"", MIN_PIECE_SIZE);
    assert_eq!(m.piece_count(), 0);
    assert_eq!(m.piece_len(0), 0);
    assert_eq!(Manifest::decode(&m.encode()), Ok(m));
}

#[test]
fn feeding_fewer_bytes_than_declared_fails() {
    let mut b = ManifestBuilder::new("f", 10, "").expect("valid input");
    b.update(&[0; 9]);
    assert_eq!(b.finish(), Err(ManifestError::SizeMismatch { expected: 10, got: 9 }));
}

#[test]
fn feeding_more_bytes_than_declared_fails() {
    let mut b = ManifestBuilder::new("f", 10, "").expect("valid input");
    b.update(&[0; 11]);
    assert_eq!(b.hashed(), 11);
    assert_eq!(b.finish(), Err(ManifestError::SizeMismatch { expected: 10, got: 11 }));
}

#[test]
fn builder_uses_the_policy_piece_size() {
    let m = build_with_policy(3 * POLICY_MIN_PIECE_SIZE as usize + 1);
    assert_eq!(m.piece_size(), POLICY_MIN_PIECE_SIZE);
    assert_eq!(m.piece_count(), 4);
    assert_eq!(m.piece_len(3), 1);
}

fn build_with_policy(len: usize) -> Manifest {
    let mut b = ManifestBuilder::new("f", len as u64, "").expect("valid input");
    b.update(&vec![0; len]);
    b.finish().expect("fed exactly the declared size")
}

#[test]
fn file_too_large_for_any_manifest_is_refused() {
    assert_eq!(ManifestBuilder::new("f", MAX_FILE_SIZE + 1, "").err(), Some(ManifestError::TooManyPieces));
    assert!(ManifestBuilder::new("f", MAX_FILE_SIZE, "").is_ok());
}

#[test]
fn builder_normalizes_the_media_type() {
    let m = build("f", " Text/Plain; charset=UTF-8 ", b"x", MIN_PIECE_SIZE);
    assert_eq!(m.media_type(), "text/plain");
}

#[test]
fn builder_refuses_a_malformed_media_type() {
    for bad in ["text", "text/", "/plain", "te xt/plain", "text/plain/x", "téxt/plain"] {
        assert_eq!(ManifestBuilder::new("f", 1, bad).err(), Some(ManifestError::BadMediaType), "{bad}");
    }
}

#[test]
fn builder_sanitizes_the_name() {
    let m = build("../secret/..\\evil\u{202e}gpj.exe", "", b"x", MIN_PIECE_SIZE);
    assert_eq!(m.name(), "evilgpj.exe");
}

#[test]
fn sanitizing_keeps_ordinary_names() {
    for name in ["report.pdf", "Ferien 2024 – Strand.jpg", "日本語のファイル.txt", ".bashrc", "a b"] {
        assert_eq!(sanitize_name(name), name);
    }
}

#[test]
fn sanitizing_removes_what_a_file_system_or_a_reader_would_misread() {
    let cases = [
        ("/etc/passwd", "passwd"),
        ("dir\\sub\\x.txt", "x.txt"),
        ("a\u{0}b\nc\td", "abcd"),
        ("  spaced out.  ", "spaced out"),
        ("what? <now>|\"*:", "what_ _now_____"),
        ("NUL", "_NUL"),
        ("com1.txt", "_com1.txt"),
        ("lpt9", "_lpt9"),
        ("console.txt", "console.txt"),
        ("..", "file"),
        ("", "file"),
        ("///", "file"),
        ("\u{200b}\u{feff}", "file"),
    ];
    for (input, expected) in cases {
        assert_eq!(sanitize_name(input), expected, "{input:?}");
    }
}

#[test]
fn unsanitized_name_in_a_manifest_is_rejected() {
    for bad in ["../x", "a/b", "", "CON", "x.", "a\u{202e}b", " x"] {
        let bytes = layout(bad, "", 1, MIN_PIECE_SIZE, &[[0; 32]]);
        assert_eq!(Manifest::decode(&bytes), Err(ManifestError::BadName), "{bad:?}");
    }
}

#[test]
fn name_that_is_not_utf8_is_rejected() {
    let mut bytes = layout("ab", "", 1, MIN_PIECE_SIZE, &[[0; 32]]);
    bytes[2] = 0xff;
    assert_eq!(Manifest::decode(&bytes), Err(ManifestError::BadName));
}

#[test]
fn media_type_that_is_not_canonical_is_rejected() {
    for bad in ["Text/Plain", "text/plain; charset=utf-8", "text", &"a/".repeat(70)] {
        let bytes = layout("f", bad, 1, MIN_PIECE_SIZE, &[[0; 32]]);
        assert_eq!(Manifest::decode(&bytes), Err(ManifestError::BadMediaType), "{bad:?}");
    }
}

#[test]
fn unknown_manifest_version_is_rejected() {
    let mut bytes = layout("f", "", 1, MIN_PIECE_SIZE, &[[0; 32]]);
    // 2 is a tree (section 1.8); anything else is unknown.
    for version in [0, 3, 255] {
        bytes[0] = version;
        assert_eq!(Manifest::decode(&bytes), Err(ManifestError::BadVersion(version)));
    }
}

#[test]
fn piece_size_outside_the_allowed_powers_of_two_is_rejected() {
    for bad in [0, 1, MIN_PIECE_SIZE / 2, MIN_PIECE_SIZE + 1, 3 * MIN_PIECE_SIZE, MAX_PIECE_SIZE * 2] {
        let bytes = layout("f", "", 1, bad, &[[0; 32]]);
        assert_eq!(Manifest::decode(&bytes), Err(ManifestError::BadPieceSize(bad)), "{bad}");
    }
}

#[test]
fn piece_count_that_does_not_match_the_size_is_rejected() {
    let bytes = layout("f", "", MIN_PIECE_SIZE as u64 + 1, MIN_PIECE_SIZE, &[[0; 32]]);
    assert_eq!(Manifest::decode(&bytes), Err(ManifestError::PieceCountMismatch));
}

#[test]
fn piece_count_over_the_limit_is_rejected_before_reading_hashes() {
    let mut bytes = layout("f", "", 0, MIN_PIECE_SIZE, &[]);
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&(MAX_PIECES + 1).to_be_bytes());
    assert_eq!(Manifest::decode(&bytes), Err(ManifestError::TooManyPieces));
}

#[test]
fn missing_hashes_are_truncated() {
    let bytes = layout("f", "", 1, MIN_PIECE_SIZE, &[[0; 32]]);
    assert_eq!(Manifest::decode(&bytes[..bytes.len() - 1]), Err(ManifestError::Truncated));
}

#[test]
fn bytes_after_the_hashes_are_rejected() {
    let mut bytes = layout("f", "", 1, MIN_PIECE_SIZE, &[[0; 32]]);
    bytes.push(0);
    assert_eq!(Manifest::decode(&bytes), Err(ManifestError::TrailingBytes));
}

#[test]
fn encoding_longer_than_the_limit_is_rejected() {
    assert_eq!(Manifest::decode(&vec![1; MAX_MANIFEST_LEN + 1]), Err(ManifestError::TooLong));
}

#[test]
fn largest_manifest_fits_the_length_limit() {
    let hashes = vec![[0u8; 32]; MAX_PIECES as usize];
    let name = "n".repeat(MAX_NAME_LEN);
    let media = format!("a/{}", "b".repeat(61));
    let bytes = layout(&name, &media, MAX_FILE_SIZE, MAX_PIECE_SIZE, &hashes);
    assert!(bytes.len() <= MAX_MANIFEST_LEN);
    assert_eq!(Manifest::decode(&bytes).map(|m| m.piece_count()), Ok(MAX_PIECES));
}

/// The worked example of docs/PROTOCOL.md section 1.2: if this fails, the document or the encoding is wrong.
#[test]
fn protocol_document_example_has_the_documented_encoding_and_id() {
    let mut b = ManifestBuilder::new("a.txt", 5, "text/plain").expect("valid input");
    b.update(b"hello");
    let m = b.finish().expect("fed exactly the declared size");
    let hex = data_encoding::HEXLOWER.encode(&m.encode());
    assert_eq!(
        hex,
        "0105612e7478740a746578742f706c61696e000000000000000500020000000000012cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(m.content_id().to_string(), "6c08be2d7fb47628046b94278906f2ac64a825119578fe516dbd69a77588bcfd");
}
