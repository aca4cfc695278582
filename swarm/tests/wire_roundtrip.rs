//! Every valid wire message survives encode then decode unchanged, and the encoding is the one the protocol
//! document specifies (docs/PROTOCOL.md section 2).

mod spec;

use proptest::prelude::*;
use swarm::id::ContentId;
use swarm::manifest::{MAX_MANIFEST_LEN, MAX_PIECE_SIZE, MAX_PIECES};
use swarm::wire::{
    BLOCK_HEADER_LEN, GoodbyeReason, MAX_BLOCK_LEN, MAX_HAVE_MAP_LEN, MAX_MESSAGE_LEN, Message, RejectReason, decode,
    encode, encode_block_in_place,
};

/// An owned message, so proptest can generate the borrowed payloads.
#[derive(Debug, Clone)]
enum Owned {
    Handshake(u16, [u8; 32]),
    ManifestRequest(u32),
    ManifestData(u32, u32, Vec<u8>),
    ManifestUnavailable,
    HaveMap(Vec<u8>),
    Want(Vec<u8>),
    Have(u32),
    Request(u32, u32, u32),
    Cancel(u32, u32, u32),
    Block(u32, u32, Vec<u8>),
    Reject(u32, u32, u32, RejectReason),
    Choke,
    Unchoke,
    KeepAlive,
    Goodbye(GoodbyeReason),
}

impl Owned {
    fn as_message(&self) -> Message<'_> {
        match self {
            Owned::Handshake(version, proof) => Message::Handshake { version: *version, proof: *proof },
            Owned::ManifestRequest(offset) => Message::ManifestRequest { offset: *offset },
            Owned::ManifestData(total_len, offset, data) => {
                Message::ManifestData { total_len: *total_len, offset: *offset, data }
            }
            Owned::ManifestUnavailable => Message::ManifestUnavailable,
            Owned::HaveMap(bits) => Message::HaveMap { bits },
            Owned::Want(bits) => Message::Want { bits },
            Owned::Have(piece) => Message::Have { piece: *piece },
            Owned::Request(piece, offset, len) => Message::Request { piece: *piece, offset: *offset, len: *len },
            Owned::Cancel(piece, offset, len) => Message::Cancel { piece: *piece, offset: *offset, len: *len },
            Owned::Block(piece, offset, data) => Message::Block { piece: *piece, offset: *offset, data },
            Owned::Reject(piece, offset, len, reason) => {
                Message::Reject { piece: *piece, offset: *offset, len: *len, reason: *reason }
            }
            Owned::Choke => Message::Choke,
            Owned::Unchoke => Message::Unchoke,
            Owned::KeepAlive => Message::KeepAlive,
            Owned::Goodbye(reason) => Message::Goodbye { reason: *reason },
        }
    }
}

/// Payload lengths: mostly small, sometimes at the limit, where off-by-ones live.
fn payload(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 1..64),
        1 => prop::collection::vec(any::<u8>(), max - 2..=max),
    ]
}

/// A block reference inside the limits: 1..=MAX_BLOCK_LEN bytes inside the largest piece.
fn block_ref() -> impl Strategy<Value = (u32, u32, u32)> {
    (0..MAX_PIECES, 1..=MAX_BLOCK_LEN).prop_flat_map(|(piece, len)| (Just(piece), 0..=MAX_PIECE_SIZE - len, Just(len)))
}

fn goodbye_reason() -> impl Strategy<Value = GoodbyeReason> {
    // `Other` only holds codes this version does not know: a known code decodes as its named reason.
    (0u8..=255).prop_map(GoodbyeReason::from_code)
}

fn reject_reason() -> impl Strategy<Value = RejectReason> {
    (0u8..=255).prop_map(RejectReason::from_code)
}

fn message() -> impl Strategy<Value = Owned> {
    prop_oneof![
        (any::<u16>(), any::<[u8; 32]>()).prop_map(|(v, id)| Owned::Handshake(v, id)),
        (0..MAX_MANIFEST_LEN as u32).prop_map(Owned::ManifestRequest),
        (payload(MAX_BLOCK_LEN as usize), 0..MAX_MANIFEST_LEN as u32).prop_flat_map(|(data, extra)| {
            let len = data.len() as u32;
            let total_len = (len + extra).min(MAX_MANIFEST_LEN as u32);
            (0..=total_len - len).prop_map(move |offset| Owned::ManifestData(total_len, offset, data.clone()))
        }),
        Just(Owned::ManifestUnavailable),
        prop::collection::vec(any::<u8>(), 0..=MAX_HAVE_MAP_LEN).prop_map(Owned::HaveMap),
        prop::collection::vec(any::<u8>(), 0..=MAX_HAVE_MAP_LEN).prop_map(Owned::Want),
        (0..MAX_PIECES).prop_map(Owned::Have),
        block_ref().prop_map(|(p, o, l)| Owned::Request(p, o, l)),
        block_ref().prop_map(|(p, o, l)| Owned::Cancel(p, o, l)),
        (0..MAX_PIECES, payload(MAX_BLOCK_LEN as usize)).prop_flat_map(|(piece, data)| {
            let len = data.len() as u32;
            (0..=MAX_PIECE_SIZE - len).prop_map(move |offset| Owned::Block(piece, offset, data.clone()))
        }),
        (block_ref(), reject_reason()).prop_map(|((p, o, l), r)| Owned::Reject(p, o, l, r)),
        Just(Owned::Choke),
        Just(Owned::Unchoke),
        Just(Owned::KeepAlive),
        goodbye_reason().prop_map(Owned::Goodbye),
    ]
}

proptest! {
    #[test]
    fn every_valid_message_round_trips(owned in message()) {
        let msg = owned.as_message();
        let bytes = encode(&msg);
        prop_assert_eq!(bytes.len(), msg.encoded_len());
        prop_assert!(bytes.len() <= MAX_MESSAGE_LEN);
        prop_assert_eq!(decode(&bytes), Ok(msg));
    }

    #[test]
    fn block_header_written_in_place_equals_encoded_block(
        piece in 0..MAX_PIECES,
        offset in 0..=MAX_PIECE_SIZE - MAX_BLOCK_LEN,
        data in payload(MAX_BLOCK_LEN as usize),
    ) {
        let mut buf = vec![0u8; BLOCK_HEADER_LEN];
        buf.extend_from_slice(&data);
        encode_block_in_place(piece, offset, &mut buf);
        prop_assert_eq!(&buf, &encode(&Message::Block { piece, offset, data: &data }));
    }
}

#[test]
fn largest_block_fits_the_largest_message() {
    let data = vec![0u8; MAX_BLOCK_LEN as usize];
    let bytes = encode(&Message::Block { piece: MAX_PIECES - 1, offset: MAX_PIECE_SIZE - MAX_BLOCK_LEN, data: &data });
    assert!(bytes.len() <= MAX_MESSAGE_LEN);
    assert!(decode(&bytes).is_ok());
}

#[test]
fn block_payload_is_borrowed_from_the_received_bytes() {
    let bytes = encode(&Message::Block { piece: 1, offset: 0, data: &[5; 1000] });
    let Ok(Message::Block { data, .. }) = decode(&bytes) else { panic!("a block decodes as a block") };
    assert!(core::ptr::eq(data.as_ptr(), bytes[BLOCK_HEADER_LEN..].as_ptr()));
}

/// The byte layouts written in docs/PROTOCOL.md section 2, checked byte for byte.
#[test]
fn encodings_match_the_protocol_document() {
    let id = ContentId([0x11; 32]);
    let mut handshake = vec![0x00, 0x00, 0x01];
    handshake.extend_from_slice(&[0x11; 32]);
    let cases: Vec<(Message<'_>, Vec<u8>)> = vec![
        (Message::Handshake { version: 1, proof: id.0 }, handshake),
        (Message::Goodbye { reason: GoodbyeReason::Busy }, vec![0x01, 0x05]),
        (Message::KeepAlive, vec![0x02]),
        (Message::ManifestRequest { offset: 0x0304 }, vec![0x03, 0, 0, 3, 4]),
        (
            Message::ManifestData { total_len: 300, offset: 256, data: &[9, 9] },
            vec![0x04, 0, 0, 1, 44, 0, 0, 1, 0, 9, 9],
        ),
        (Message::ManifestUnavailable, vec![0x05]),
        (Message::HaveMap { bits: &[0b1010_0000] }, vec![0x06, 0b1010_0000]),
        (Message::Have { piece: 258 }, vec![0x07, 0, 0, 1, 2]),
        (Message::Request { piece: 1, offset: 2, len: 3 }, vec![0x08, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]),
        (Message::Cancel { piece: 1, offset: 2, len: 3 }, vec![0x09, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]),
        (Message::Block { piece: 1, offset: 2, data: &[7] }, vec![0x0a, 0, 0, 0, 1, 0, 0, 0, 2, 7]),
        (
            Message::Reject { piece: 1, offset: 2, len: 3, reason: RejectReason::Overloaded },
            vec![0x0b, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1],
        ),
        (Message::Choke, vec![0x0c]),
        (Message::Unchoke, vec![0x0d]),
        (Message::Want { bits: &[0b1100_0000] }, vec![0x0e, 0b1100_0000]),
    ];
    for (msg, bytes) in cases {
        assert_eq!(encode(&msg), bytes, "{msg:?}");
        assert_eq!(decode(&bytes), Ok(msg));
    }
}

/// The `| code | name | ... |` rows of the table that follows `title` in PROTOCOL.md 2.3.
fn reason_table(title: &str) -> Vec<(u8, String)> {
    let text = spec::section("### 2.3 Messages");
    let start = text.find(title).unwrap_or_else(|| panic!("2.3 has no {title}"));
    text[start + title.len()..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            Some((cells.get(1)?.parse().ok()?, (*cells.get(2)?).to_owned()))
        })
        .collect()
}

#[test]
fn reason_codes_match_the_protocol_document() {
    let goodbye = reason_table("**Goodbye reasons**");
    let reject = reason_table("**Reject reasons**");
    assert!(goodbye.len() >= 7 && reject.len() >= 5, "{goodbye:?} {reject:?}");
    for (code, name) in &goodbye {
        let reason = GoodbyeReason::from_code(*code);
        assert_eq!(format!("{reason:?}"), *name, "Goodbye reason {code}");
        assert_eq!(reason.code(), *code);
    }
    for (code, name) in &reject {
        let reason = RejectReason::from_code(*code);
        assert_eq!(format!("{reason:?}"), *name, "Reject reason {code}");
        assert_eq!(reason.code(), *code);
    }
    // Every code the code knows is in the document.
    for code in 0..=255u8 {
        if !matches!(GoodbyeReason::from_code(code), GoodbyeReason::Other(_)) {
            assert!(goodbye.iter().any(|(c, _)| *c == code), "Goodbye reason {code} is not in PROTOCOL.md 2.3");
        }
        if !matches!(RejectReason::from_code(code), RejectReason::Other(_)) {
            assert!(reject.iter().any(|(c, _)| *c == code), "Reject reason {code} is not in PROTOCOL.md 2.3");
        }
    }
}
