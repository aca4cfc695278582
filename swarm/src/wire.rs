//! The peer wire protocol: messages between two peers over one reliable, ordered data channel, one message per
//! data-channel message. Byte layouts, limits and state rules are specified in docs/PROTOCOL.md.
//!
//! [`decode`] parses untrusted bytes into a typed [`Message`] with every limit checked; block payloads borrow
//! from the input, so receiving a block copies nothing. [`encode`] writes a message; for the block a seeder sends,
//! [`BLOCK_HEADER_LEN`] bytes of headroom in front of the payload let the header be written in place (see
//! [`encode_block_in_place`]).

use crate::id::ContentId;

/// Protocol version carried in the handshake.
pub const VERSION: u16 = 1;
/// Largest message any peer sends or accepts, in bytes: Chromium closes a data channel on a message over 256 KiB.
pub const MAX_MESSAGE_LEN: usize = 256 * 1024;
/// Largest block a peer may request or send. A power of two so pieces split evenly, and small enough that a block
/// plus its header stays under [`MAX_MESSAGE_LEN`].
pub const MAX_BLOCK_LEN: u32 = 128 * 1024;
/// Bytes in front of a block's payload.
pub const BLOCK_HEADER_LEN: usize = 9;

/// Why a goodbye was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoodbyeReason {
    /// The user stopped sharing or closed the page.
    Leaving,
    /// The other side's content id is not the one this peer serves.
    WrongContent,
    /// Unsupported protocol version.
    Version,
    /// The other side broke the protocol (malformed message, limits).
    ProtocolViolation,
    /// The other side sent data that failed verification too often.
    Banned,
    /// Too many connections.
    Busy,
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
    Other(u8),
}

/// One message of the peer wire protocol. `'a` borrows from the received bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// First message each way: protocol version and the content this channel is about.
    Handshake {
        version: u16,
        content: ContentId,
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

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    TooLong(usize),
    UnknownType(u8),
    Truncated,
    TrailingBytes,
    /// A field out of its allowed range (named).
    Invalid(&'static str),
}

/// Parses one message. Never panics, whatever the input.
pub fn decode(_bytes: &[u8]) -> Result<Message<'_>, DecodeError> {
    unimplemented!("swarm-wire helper")
}

/// Encodes one message into a new buffer.
pub fn encode(_msg: &Message<'_>) -> Vec<u8> {
    unimplemented!("swarm-wire helper")
}

/// Writes a block header into the first [`BLOCK_HEADER_LEN`] bytes of `buf`, whose remaining bytes are the
/// payload, so a block read from storage is sent with no copy. `buf.len()` must be at least the header length.
pub fn encode_block_in_place(_piece: u32, _offset: u32, _buf: &mut [u8]) {
    unimplemented!("swarm-wire helper")
}
