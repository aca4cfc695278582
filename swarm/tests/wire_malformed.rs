//! Untrusted bytes never panic the decoder; whatever it accepts is canonical; every limit of docs/PROTOCOL.md
//! section 2 is enforced.

use proptest::prelude::*;
use swarm::manifest::{MAX_MANIFEST_LEN, MAX_PIECE_SIZE, MAX_PIECES};
use swarm::wire::{
    DecodeError, GoodbyeReason, MAX_BLOCK_LEN, MAX_HAVE_MAP_LEN, MAX_MESSAGE_LEN, Message, RejectReason, code, decode,
    encode,
};

/// Bytes that look like messages: a known type byte most of the time, then anything.
fn message_like() -> impl Strategy<Value = Vec<u8>> {
    (prop_oneof![3 => 0u8..=0x0e, 1 => any::<u8>()], prop::collection::vec(any::<u8>(), 0..64)).prop_map(
        |(ty, rest)| {
            let mut bytes = vec![ty];
            bytes.extend(rest);
            bytes
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    /// One message has one encoding: anything `decode` accepts re-encodes to exactly the input, so no two byte
    /// strings mean the same message and nothing after a valid message is silently ignored.
    #[test]
    fn accepted_bytes_are_canonical(bytes in message_like()) {
        if let Ok(msg) = decode(&bytes) {
            prop_assert_eq!(encode(&msg), bytes);
        }
    }

    #[test]
    fn every_truncation_of_a_fixed_size_message_is_truncated(
        piece in 0..MAX_PIECES,
        cut in 1usize..14,
    ) {
        let full = encode(&Message::Reject { piece, offset: 0, len: 1, reason: RejectReason::NotHave });
        prop_assert_eq!(full.len(), 14);
        prop_assert_eq!(decode(&full[..cut]), Err(DecodeError::Truncated));
    }

    #[test]
    fn unknown_types_are_rejected(ty in 0x0fu8..=0xff, rest in prop::collection::vec(any::<u8>(), 0..16)) {
        let mut bytes = vec![ty];
        bytes.extend(rest);
        prop_assert_eq!(decode(&bytes), Err(DecodeError::UnknownType(ty)));
    }
}

#[test]
fn message_longer_than_the_limit_is_too_long() {
    let mut bytes = vec![code::BLOCK, 0, 0, 0, 0, 0, 0, 0, 0];
    bytes.resize(MAX_MESSAGE_LEN + 1, 0);
    assert_eq!(decode(&bytes), Err(DecodeError::TooLong(MAX_MESSAGE_LEN + 1)));
}

#[test]
fn empty_message_is_rejected() {
    assert_eq!(decode(&[]), Err(DecodeError::Empty));
}

#[test]
fn block_longer_than_max_block_is_invalid() {
    let data = vec![0u8; MAX_BLOCK_LEN as usize + 1];
    let bytes = encode(&Message::Block { piece: 0, offset: 0, data: &data });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("block length")));
}

#[test]
fn empty_block_is_invalid() {
    let bytes = encode(&Message::Block { piece: 0, offset: 0, data: &[] });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("block length")));
}

#[test]
fn block_past_the_largest_piece_is_invalid() {
    let bytes = encode(&Message::Block { piece: 0, offset: MAX_PIECE_SIZE - 1, data: &[1, 2] });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("block range")));
}

#[test]
fn request_with_offset_overflowing_u32_is_invalid() {
    let bytes = encode(&Message::Request { piece: 0, offset: u32::MAX, len: MAX_BLOCK_LEN });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("block range")));
}

#[test]
fn zero_length_request_is_invalid() {
    let bytes = encode(&Message::Request { piece: 0, offset: 0, len: 0 });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("block length")));
}

#[test]
fn piece_index_past_the_largest_manifest_is_invalid() {
    assert_eq!(decode(&encode(&Message::Have { piece: MAX_PIECES })), Err(DecodeError::Invalid("piece index")));
    let cancel = encode(&Message::Cancel { piece: u32::MAX, offset: 0, len: 1 });
    assert_eq!(decode(&cancel), Err(DecodeError::Invalid("piece index")));
}

#[test]
fn have_map_longer_than_the_largest_manifest_is_invalid() {
    let bits = vec![0xffu8; MAX_HAVE_MAP_LEN + 1];
    assert_eq!(decode(&encode(&Message::HaveMap { bits: &bits })), Err(DecodeError::Invalid("have-map length")));
    assert_eq!(decode(&encode(&Message::Want { bits: &bits })), Err(DecodeError::Invalid("want length")));
}

#[test]
fn manifest_request_past_the_largest_manifest_is_invalid() {
    let bytes = encode(&Message::ManifestRequest { offset: MAX_MANIFEST_LEN as u32 });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("manifest offset")));
}

#[test]
fn manifest_data_beyond_its_total_length_is_invalid() {
    let bytes = encode(&Message::ManifestData { total_len: 10, offset: 9, data: &[1, 2] });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("manifest data range")));
}

#[test]
fn manifest_total_length_over_the_limit_is_invalid() {
    let bytes = encode(&Message::ManifestData { total_len: MAX_MANIFEST_LEN as u32 + 1, offset: 0, data: &[1] });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("manifest length")));
}

#[test]
fn empty_manifest_data_is_invalid() {
    let bytes = encode(&Message::ManifestData { total_len: 10, offset: 0, data: &[] });
    assert_eq!(decode(&bytes), Err(DecodeError::Invalid("manifest data length")));
}

#[test]
fn fixed_size_message_with_trailing_bytes_is_rejected() {
    let mut bytes = encode(&Message::Handshake { version: 1, proof: [0; 32] });
    bytes.push(0);
    assert_eq!(decode(&bytes), Err(DecodeError::TrailingBytes));
    assert_eq!(decode(&[code::CHOKE, 0]), Err(DecodeError::TrailingBytes));
}

#[test]
fn handshake_of_a_future_version_still_decodes() {
    let bytes = encode(&Message::Handshake { version: 9, proof: [3; 32] });
    assert_eq!(decode(&bytes), Ok(Message::Handshake { version: 9, proof: [3; 32] }));
}

#[test]
fn unknown_reasons_decode_as_other() {
    assert_eq!(decode(&[code::GOODBYE, 0xee]), Ok(Message::Goodbye { reason: GoodbyeReason::Other(0xee) }));
    let mut reject = encode(&Message::Reject { piece: 0, offset: 0, len: 1, reason: RejectReason::NotHave });
    *reject.last_mut().expect("reject has a reason byte") = 0x77;
    assert!(matches!(decode(&reject), Ok(Message::Reject { reason: RejectReason::Other(0x77), .. })));
}
