//! The content model: one manifest per shared file.
//!
//! A manifest names the file and lists the SHA-256 of every piece. Its canonical byte encoding is specified in
//! docs/PROTOCOL.md; the [`ContentId`] is the SHA-256 of that encoding, so a manifest received from anyone can be
//! checked against the id in a link.

use crate::id::ContentId;

/// Longest file name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 255;
/// Longest media type, in bytes.
pub const MAX_MEDIA_TYPE_LEN: usize = 127;
/// Most pieces a manifest may list (a 1 MiB hash list).
pub const MAX_PIECES: u32 = 32_768;
/// Smallest and largest piece sizes the policy picks and decoding accepts; always powers of two.
pub const MIN_PIECE_SIZE: u32 = 16 * 1024;
pub const MAX_PIECE_SIZE: u32 = 16 * 1024 * 1024;
/// Longest canonical encoding.
pub const MAX_MANIFEST_LEN: usize = 4096 + 32 * MAX_PIECES as usize;

/// A shared file's description. Constructed only by [`ManifestBuilder::finish`] or [`Manifest::decode`], so
/// every value satisfies the limits above and `piece_hashes.len() == piece_count(size, piece_size)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    name: String,
    size: u64,
    piece_size: u32,
    media_type: String,
    piece_hashes: Vec<[u8; 32]>,
}

/// Why bytes are not a valid manifest, or a builder's input is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    TooLong,
    Truncated,
    BadVersion(u8),
    BadName,
    BadMediaType,
    BadPieceSize(u32),
    TooManyPieces,
    PieceCountMismatch,
    TrailingBytes,
    /// The builder was fed a different number of bytes than the size it was created with.
    SizeMismatch {
        expected: u64,
        got: u64,
    },
}

impl Manifest {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn piece_size(&self) -> u32 {
        self.piece_size
    }
    pub fn media_type(&self) -> &str {
        &self.media_type
    }
    pub fn piece_count(&self) -> u32 {
        self.piece_hashes.len() as u32
    }
    pub fn piece_hash(&self, piece: u32) -> Option<&[u8; 32]> {
        self.piece_hashes.get(piece as usize)
    }
    /// Length of piece `piece` in bytes (the last one may be shorter); 0 if out of range.
    pub fn piece_len(&self, _piece: u32) -> u32 {
        unimplemented!("swarm-wire helper")
    }
    /// Byte offset of piece `piece` in the file.
    pub fn piece_offset(&self, piece: u32) -> u64 {
        piece as u64 * self.piece_size as u64
    }
    /// The canonical encoding (docs/PROTOCOL.md).
    pub fn encode(&self) -> Vec<u8> {
        unimplemented!("swarm-wire helper")
    }
    /// Parses a canonical encoding with every limit checked.
    pub fn decode(_bytes: &[u8]) -> Result<Manifest, ManifestError> {
        unimplemented!("swarm-wire helper")
    }
    /// SHA-256 of [`Manifest::encode`].
    pub fn content_id(&self) -> ContentId {
        unimplemented!("swarm-wire helper")
    }
}

/// The piece-size policy: a power of two that keeps the manifest small for multi-GiB files.
pub fn piece_size_for(_file_size: u64) -> u32 {
    unimplemented!("swarm-wire helper")
}

/// Builds a manifest by hashing a file incrementally: feed the bytes in order, in chunks of any size.
#[derive(Debug)]
pub struct ManifestBuilder {
    _private: (),
}

impl ManifestBuilder {
    /// Starts a manifest for a file of `size` bytes. Sanitizes `name` (path separators, control characters,
    /// length) and checks `media_type`.
    pub fn new(_name: &str, _size: u64, _media_type: &str) -> Result<Self, ManifestError> {
        unimplemented!("swarm-wire helper")
    }
    /// Feeds the next bytes of the file.
    pub fn update(&mut self, _bytes: &[u8]) {
        unimplemented!("swarm-wire helper")
    }
    /// Bytes fed so far (for progress bars).
    pub fn hashed(&self) -> u64 {
        unimplemented!("swarm-wire helper")
    }
    pub fn finish(self) -> Result<Manifest, ManifestError> {
        unimplemented!("swarm-wire helper")
    }
}
