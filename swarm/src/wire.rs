//! The peer wire protocol: messages between two peers over one reliable, ordered data channel, one message per
//! data-channel message. Byte layouts, limits and state rules are specified in docs/PROTOCOL.md.
//!
//! [`decode`] parses untrusted bytes into a typed [`Message`] with every limit checked; block payloads borrow
//! from the input, so receiving a block copies nothing. [`encode`] writes a message; for the block a seeder sends,
//! [`BLOCK_HEADER_LEN`] bytes of headroom in front of the payload let the header be written in place (see
//! [`encode_block_in_place`]).

pub use crate::codec::DecodeError;
use crate::codec::{Reader, split_message};
use crate::manifest::{MAX_MANIFEST_LEN, MAX_PIECE_SIZE, MAX_PIECES};

/// Protocol version carried in the handshake.
pub const VERSION: u16 = 3;
/// Largest message any peer sends or accepts, in bytes: Chromium closes a data channel on a message over 256 KiB.
pub const MAX_MESSAGE_LEN: usize = 256 * 1024;
/// Largest block a peer may request or send. A power of two so pieces split evenly, and small enough that a block
/// plus its header stays under [`MAX_MESSAGE_LEN`].
pub const MAX_BLOCK_LEN: u32 = 128 * 1024;
/// Bytes in front of a block's payload: type (1), piece (4), offset (4).
pub const BLOCK_HEADER_LEN: usize = 9;
/// The message size a connection carries when its SDP has no `a=max-message-size` (RFC 8841 section 6.1).
pub const DEFAULT_MAX_MESSAGE: u32 = 64 * 1024;
/// Bytes in front of a ManifestData's slice: type (1), total_len (4), offset (4).
pub const MANIFEST_DATA_HEADER_LEN: usize = 9;
/// Shortest block length a requester may choose (PROTOCOL.md 2.10): the floor under which the protocol does not go.
pub const MIN_BLOCK_LEN: u32 = 16 * 1024;
/// Smallest data-channel message size a connection must carry each way (PROTOCOL.md 2.10): a block of
/// [`MIN_BLOCK_LEN`] with its header (16,393 bytes). Every other message is shorter. A peer whose connection
/// carries less is refused with `Goodbye(MessageSize)`.
pub const MIN_MESSAGE_LEN: usize = BLOCK_HEADER_LEN + MIN_BLOCK_LEN as usize;
/// Longest have-map payload, in bytes: one bit per piece of the largest manifest.
pub const MAX_HAVE_MAP_LEN: usize = (MAX_PIECES as usize).div_ceil(8);

/// The block length a requester chooses when its side of the connection takes data-channel messages of at most
/// `max_message` bytes (PROTOCOL.md 2.10): the largest power of two from [`MIN_BLOCK_LEN`] to [`MAX_BLOCK_LEN`]
/// whose Block message fits; `None` under [`MIN_MESSAGE_LEN`].
pub fn block_len_for(max_message: usize) -> Option<u32> {
    let room = max_message.min(MAX_MESSAGE_LEN).checked_sub(BLOCK_HEADER_LEN)?;
    let len = u32::try_from(room).ok()?.min(MAX_BLOCK_LEN);
    let len = if len == 0 { 0 } else { 1 << (31 - len.leading_zeros()) };
    (len >= MIN_BLOCK_LEN).then_some(len)
}

/// Message type codes (the first byte of every message), as listed in docs/PROTOCOL.md section 2.
pub mod code {
    pub const HANDSHAKE: u8 = 0x00;
    pub const GOODBYE: u8 = 0x01;
    pub const KEEP_ALIVE: u8 = 0x02;
    pub const MANIFEST_REQUEST: u8 = 0x03;
    pub const MANIFEST_DATA: u8 = 0x04;
    pub const MANIFEST_UNAVAILABLE: u8 = 0x05;
    pub const HAVE_MAP: u8 = 0x06;
    pub const HAVE: u8 = 0x07;
    pub const REQUEST: u8 = 0x08;
    pub const CANCEL: u8 = 0x09;
    pub const BLOCK: u8 = 0x0a;
    pub const REJECT: u8 = 0x0b;
    pub const CHOKE: u8 = 0x0c;
    pub const UNCHOKE: u8 = 0x0d;
    pub const WANT: u8 = 0x0e;
}

/// Why a goodbye was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoodbyeReason {
    /// The user stopped sharing or closed the page.
    Leaving,
    /// The other side's handshake proof did not check: it does not know this channel's content id, or someone
    /// between the two (the signaling server, in the middle) altered the connection (PROTOCOL.md 2.11).
    ProofFailed,
    /// Unsupported protocol version.
    Version,
    /// The other side broke the protocol (malformed message, limits).
    ProtocolViolation,
    /// The other side sent data that failed verification too often.
    Banned,
    /// Too many connections.
    Busy,
    /// The connection carries data-channel messages shorter than [`MIN_MESSAGE_LEN`] (PROTOCOL.md 2.10).
    MessageSize,
    /// A reason this version does not know; kept so that decoding never fails on a new reason.
    Other(u8),
}

/// Why a request was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The piece is not verified here.
    NotHave,
    /// Too many requests queued from this peer.
    Overloaded,
    /// The request was out of bounds (offset or length).
    Invalid,
    /// Storage failed reading the piece.
    Storage,
    /// The block's message would be longer than the connection carries to the requester (PROTOCOL.md 2.10).
    TooLarge,
    Other(u8),
}

/// One message of the peer wire protocol. `'a` borrows from the received bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// First message each way: protocol version and the sender's proof that it knows the channel's content id
    /// and saw the same DTLS certificates (PROTOCOL.md 2.11, [`crate::proof`]).
    Handshake {
        version: u16,
        proof: [u8; 32],
    },
    /// Ask for `MAX_BLOCK_LEN` bytes of the canonical manifest encoding, starting at `offset`.
    ManifestRequest {
        offset: u32,
    },
    /// A slice of the manifest encoding; `total_len` is the encoding's full length.
    ManifestData {
        total_len: u32,
        offset: u32,
        data: &'a [u8],
    },
    /// The sender has no manifest to give.
    ManifestUnavailable,
    /// Every piece the sender has, as a bitfield (checked against the piece count by the receiver).
    HaveMap {
        bits: &'a [u8],
    },
    /// The pieces the sender wants to fetch, as a bitfield (checked against the piece count by the receiver): a
    /// downloader that chose part of a content says so, and a seeder that shows pieces a few at a time shows it
    /// only pieces it wants (PROTOCOL.md 2.9). Never sent by a peer that wants every piece.
    Want {
        bits: &'a [u8],
    },
    /// The sender now has this piece.
    Have {
        piece: u32,
    },
    /// Ask for `len` bytes of `piece` starting at `offset`; `(piece, offset, len)` identifies the request.
    Request {
        piece: u32,
        offset: u32,
        len: u32,
    },
    /// Withdraw a request.
    Cancel {
        piece: u32,
        offset: u32,
        len: u32,
    },
    /// The answer to a request.
    Block {
        piece: u32,
        offset: u32,
        data: &'a [u8],
    },
    /// A request that will not be served.
    Reject {
        piece: u32,
        offset: u32,
        len: u32,
        reason: RejectReason,
    },
    /// The sender will not serve requests until `Unchoke`; outstanding requests are dropped.
    Choke,
    Unchoke,
    KeepAlive,
    Goodbye {
        reason: GoodbyeReason,
    },
}

impl GoodbyeReason {
    /// The reason's byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            GoodbyeReason::Leaving => 0,
            GoodbyeReason::ProofFailed => 1,
            GoodbyeReason::Version => 2,
            GoodbyeReason::ProtocolViolation => 3,
            GoodbyeReason::Banned => 4,
            GoodbyeReason::Busy => 5,
            GoodbyeReason::MessageSize => 6,
            GoodbyeReason::Other(c) => c,
        }
    }

    /// The reason for a byte; unknown bytes become `Other` (a known byte inside `Other` decodes as the known
    /// reason, so `Other` only ever holds bytes this version does not know after a decode).
    pub fn from_code(c: u8) -> Self {
        match c {
            0 => GoodbyeReason::Leaving,
            1 => GoodbyeReason::ProofFailed,
            2 => GoodbyeReason::Version,
            3 => GoodbyeReason::ProtocolViolation,
            4 => GoodbyeReason::Banned,
            5 => GoodbyeReason::Busy,
            6 => GoodbyeReason::MessageSize,
            c => GoodbyeReason::Other(c),
        }
    }
}

impl RejectReason {
    /// The reason's byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            RejectReason::NotHave => 0,
            RejectReason::Overloaded => 1,
            RejectReason::Invalid => 2,
            RejectReason::Storage => 3,
            RejectReason::TooLarge => 4,
            RejectReason::Other(c) => c,
        }
    }

    /// The reason for a byte; unknown bytes become `Other` (see [`GoodbyeReason::from_code`]).
    pub fn from_code(c: u8) -> Self {
        match c {
            0 => RejectReason::NotHave,
            1 => RejectReason::Overloaded,
            2 => RejectReason::Invalid,
            3 => RejectReason::Storage,
            4 => RejectReason::TooLarge,
            c => RejectReason::Other(c),
        }
    }
}

impl Message<'_> {
    /// The message's type code (first byte on the wire).
    pub fn code(&self) -> u8 {
        match self {
            Message::Handshake { .. } => code::HANDSHAKE,
            Message::Goodbye { .. } => code::GOODBYE,
            Message::KeepAlive => code::KEEP_ALIVE,
            Message::ManifestRequest { .. } => code::MANIFEST_REQUEST,
            Message::ManifestData { .. } => code::MANIFEST_DATA,
            Message::ManifestUnavailable => code::MANIFEST_UNAVAILABLE,
            Message::HaveMap { .. } => code::HAVE_MAP,
            Message::Have { .. } => code::HAVE,
            Message::Request { .. } => code::REQUEST,
            Message::Cancel { .. } => code::CANCEL,
            Message::Block { .. } => code::BLOCK,
            Message::Reject { .. } => code::REJECT,
            Message::Choke => code::CHOKE,
            Message::Unchoke => code::UNCHOKE,
            Message::Want { .. } => code::WANT,
        }
    }

    /// Length of [`encode`]'s output, in bytes.
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            Message::Handshake { .. } => 2 + 32,
            Message::Goodbye { .. } => 1,
            Message::KeepAlive | Message::ManifestUnavailable | Message::Choke | Message::Unchoke => 0,
            Message::ManifestRequest { .. } | Message::Have { .. } => 4,
            Message::ManifestData { data, .. } => 8 + data.len(),
            Message::HaveMap { bits } | Message::Want { bits } => bits.len(),
            Message::Request { .. } | Message::Cancel { .. } => 12,
            Message::Block { data, .. } => 8 + data.len(),
            Message::Reject { .. } => 13,
        }
    }
}

/// Parses one message. Never panics, whatever the input.
///
/// Checks every limit of docs/PROTOCOL.md section 2 that needs no context: the message length, the type, the exact
/// length of fixed-size messages, and the ranges of piece indices, offsets and lengths. Checks that need the
/// manifest (piece index below the piece count, block inside its piece, have-map length) are the receiver's.
pub fn decode(bytes: &[u8]) -> Result<Message<'_>, DecodeError> {
    let (ty, mut r) = split_message(bytes, MAX_MESSAGE_LEN)?;
    let msg = match ty {
        code::HANDSHAKE => {
            let version = r.u16()?;
            let proof = r.array::<32>()?;
            Message::Handshake { version, proof }
        }
        code::GOODBYE => Message::Goodbye { reason: GoodbyeReason::from_code(r.u8()?) },
        code::KEEP_ALIVE => Message::KeepAlive,
        code::MANIFEST_REQUEST => {
            let offset = r.u32()?;
            if offset as usize >= MAX_MANIFEST_LEN {
                return Err(DecodeError::Invalid("manifest offset"));
            }
            Message::ManifestRequest { offset }
        }
        code::MANIFEST_DATA => {
            let total_len = r.u32()?;
            let offset = r.u32()?;
            let data = r.rest();
            if total_len == 0 || total_len as usize > MAX_MANIFEST_LEN {
                return Err(DecodeError::Invalid("manifest length"));
            }
            if data.is_empty() || data.len() > MAX_BLOCK_LEN as usize {
                return Err(DecodeError::Invalid("manifest data length"));
            }
            if offset as u64 + data.len() as u64 > total_len as u64 {
                return Err(DecodeError::Invalid("manifest data range"));
            }
            Message::ManifestData { total_len, offset, data }
        }
        code::MANIFEST_UNAVAILABLE => Message::ManifestUnavailable,
        code::HAVE_MAP => {
            let bits = r.rest();
            if bits.len() > MAX_HAVE_MAP_LEN {
                return Err(DecodeError::Invalid("have-map length"));
            }
            Message::HaveMap { bits }
        }
        code::WANT => {
            let bits = r.rest();
            if bits.len() > MAX_HAVE_MAP_LEN {
                return Err(DecodeError::Invalid("want length"));
            }
            Message::Want { bits }
        }
        code::HAVE => Message::Have { piece: piece(&mut r)? },
        code::REQUEST => {
            let (piece, offset, len) = block_ref(&mut r)?;
            Message::Request { piece, offset, len }
        }
        code::CANCEL => {
            let (piece, offset, len) = block_ref(&mut r)?;
            Message::Cancel { piece, offset, len }
        }
        code::BLOCK => {
            let piece = piece(&mut r)?;
            let offset = r.u32()?;
            let data = r.rest();
            check_range(offset, data.len() as u64)?;
            Message::Block { piece, offset, data }
        }
        code::REJECT => {
            let (piece, offset, len) = block_ref(&mut r)?;
            let reason = RejectReason::from_code(r.u8()?);
            Message::Reject { piece, offset, len, reason }
        }
        code::CHOKE => Message::Choke,
        code::UNCHOKE => Message::Unchoke,
        other => return Err(DecodeError::UnknownType(other)),
    };
    r.finish()?;
    Ok(msg)
}

/// A piece index: below the most pieces any manifest may have.
fn piece(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let piece = r.u32()?;
    if piece >= MAX_PIECES {
        return Err(DecodeError::Invalid("piece index"));
    }
    Ok(piece)
}

/// `(piece, offset, len)` of a request, cancel or reject.
fn block_ref(r: &mut Reader<'_>) -> Result<(u32, u32, u32), DecodeError> {
    let piece = piece(r)?;
    let offset = r.u32()?;
    let len = r.u32()?;
    check_range(offset, len as u64)?;
    Ok((piece, offset, len))
}

/// A block is 1 to [`MAX_BLOCK_LEN`] bytes and lies inside the largest piece.
fn check_range(offset: u32, len: u64) -> Result<(), DecodeError> {
    if len == 0 || len > MAX_BLOCK_LEN as u64 {
        return Err(DecodeError::Invalid("block length"));
    }
    if offset as u64 + len > MAX_PIECE_SIZE as u64 {
        return Err(DecodeError::Invalid("block range"));
    }
    Ok(())
}

/// Encodes one message into a new buffer.
///
/// A message that breaks a limit (a block longer than [`MAX_BLOCK_LEN`], ...) is encoded as it is, and the
/// receiver's [`decode`] rejects it: limits are enforced where the bytes are untrusted.
pub fn encode(msg: &Message<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.encoded_len());
    out.push(msg.code());
    match *msg {
        Message::Handshake { version, proof } => {
            out.extend_from_slice(&version.to_be_bytes());
            out.extend_from_slice(&proof);
        }
        Message::Goodbye { reason } => out.push(reason.code()),
        Message::KeepAlive | Message::ManifestUnavailable | Message::Choke | Message::Unchoke => {}
        Message::ManifestRequest { offset } => out.extend_from_slice(&offset.to_be_bytes()),
        Message::ManifestData { total_len, offset, data } => {
            out.extend_from_slice(&total_len.to_be_bytes());
            out.extend_from_slice(&offset.to_be_bytes());
            out.extend_from_slice(data);
        }
        Message::HaveMap { bits } | Message::Want { bits } => out.extend_from_slice(bits),
        Message::Have { piece } => out.extend_from_slice(&piece.to_be_bytes()),
        Message::Request { piece, offset, len } | Message::Cancel { piece, offset, len } => {
            put_block_ref(&mut out, piece, offset, len)
        }
        Message::Block { piece, offset, data } => {
            out.extend_from_slice(&piece.to_be_bytes());
            out.extend_from_slice(&offset.to_be_bytes());
            out.extend_from_slice(data);
        }
        Message::Reject { piece, offset, len, reason } => {
            put_block_ref(&mut out, piece, offset, len);
            out.push(reason.code());
        }
    }
    out
}

fn put_block_ref(out: &mut Vec<u8>, piece: u32, offset: u32, len: u32) {
    out.extend_from_slice(&piece.to_be_bytes());
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
}

/// Writes a block header into the first [`BLOCK_HEADER_LEN`] bytes of `buf`, whose remaining bytes are the
/// payload, so a block read from storage is sent with no copy. `buf.len()` must be at least the header length;
/// a shorter buffer is a bug of the caller and is left unchanged (its receiver rejects it as truncated).
pub fn encode_block_in_place(piece: u32, offset: u32, buf: &mut [u8]) {
    debug_assert!(buf.len() >= BLOCK_HEADER_LEN, "a block buffer starts with {BLOCK_HEADER_LEN} bytes of headroom");
    if let Some((header, _payload)) = buf.split_first_chunk_mut::<BLOCK_HEADER_LEN>() {
        header[0] = code::BLOCK;
        header[1..5].copy_from_slice(&piece.to_be_bytes());
        header[5..9].copy_from_slice(&offset.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_len_for_is_the_largest_power_of_two_that_fits_from_the_floor_up() {
        assert_eq!(block_len_for(MAX_MESSAGE_LEN), Some(MAX_BLOCK_LEN));
        assert_eq!(block_len_for(usize::MAX), Some(MAX_BLOCK_LEN));
        assert_eq!(block_len_for(BLOCK_HEADER_LEN + MAX_BLOCK_LEN as usize - 1), Some(64 * 1024));
        assert_eq!(block_len_for(65_536), Some(32 * 1024));
        assert_eq!(block_len_for(MIN_MESSAGE_LEN), Some(MIN_BLOCK_LEN));
        assert_eq!(block_len_for(MIN_MESSAGE_LEN - 1), None);
        assert_eq!(block_len_for(0), None);
    }

    #[test]
    fn handshake_round_trips() {
        let m = Message::Handshake { version: VERSION, proof: [7; 32] };
        let bytes = encode(&m);
        assert_eq!(bytes.len(), 35);
        assert_eq!(decode(&bytes), Ok(m));
    }

    #[test]
    fn block_written_in_place_decodes_without_copy() {
        let mut buf = vec![0u8; BLOCK_HEADER_LEN + 100];
        buf[BLOCK_HEADER_LEN..].fill(0xab);
        encode_block_in_place(3, 16384, &mut buf);
        match decode(&buf) {
            Ok(Message::Block { piece: 3, offset: 16384, data }) => {
                assert_eq!(data.len(), 100);
                assert_eq!(data.as_ptr(), buf[BLOCK_HEADER_LEN..].as_ptr());
            }
            other => panic!("expected a block, got {other:?}"),
        }
        assert_eq!(encode(&Message::Block { piece: 3, offset: 16384, data: &[0xab; 100] }), buf);
    }

    #[test]
    fn request_longer_than_max_block_is_invalid() {
        let bytes = encode(&Message::Request { piece: 0, offset: 0, len: MAX_BLOCK_LEN + 1 });
        assert_eq!(decode(&bytes), Err(DecodeError::Invalid("block length")));
    }

    #[test]
    fn empty_and_unknown_messages_are_rejected() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(decode(&[0xff]), Err(DecodeError::UnknownType(0xff)));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert_eq!(decode(&[code::KEEP_ALIVE, 0]), Err(DecodeError::TrailingBytes));
    }

    #[test]
    fn unknown_goodbye_reason_decodes_as_other() {
        assert_eq!(decode(&[code::GOODBYE, 200]), Ok(Message::Goodbye { reason: GoodbyeReason::Other(200) }));
    }
}
