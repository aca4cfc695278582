//! The content model: one manifest per share, of one file (version 1) or of a tree of files (version 2).
//!
//! A manifest names the file, or the share and each file's path in it, and lists the SHA-256 of every piece of
//! the one piece stream (a tree's files one after the other, in the manifest's order). Its canonical byte encoding is specified in
//! docs/PROTOCOL.md section 1; the [`ContentId`] is the SHA-256 of that encoding, so a manifest received from
//! anyone can be checked against the id in a link. A manifest value exists only if it passed every check of
//! [`Manifest::decode`], and [`Manifest::encode`] of it gives back exactly the bytes it was decoded from: the
//! encoding is canonical, one manifest has one encoding and one id.

use sha2::{Digest, Sha256};

use crate::codec::{Reader, Truncated};
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
/// Longest canonical encoding, of either version (4 MiB: 10,000 files with 100-byte paths and the largest hash
/// list fit well within it).
pub const MAX_MANIFEST_LEN: usize = 4 * 1024 * 1024;
/// Largest file, or sum of a tree's files, a manifest can describe, in bytes (512 GiB).
pub const MAX_FILE_SIZE: u64 = MAX_PIECES as u64 * MAX_PIECE_SIZE as u64;
/// Version byte at the start of the canonical encoding of one file.
pub const MANIFEST_VERSION: u8 = 1;
/// Version byte of a tree of files.
pub const TREE_VERSION: u8 = 2;
/// Most files in a tree.
pub const MAX_FILES: u32 = 65_536;
/// Longest path in a tree, in bytes of UTF-8 (components and the `/` between them).
pub const MAX_PATH_LEN: usize = 4096;
/// Most components in a tree's path (folders nested in the share, plus the file's name).
pub const MAX_DEPTH: usize = 64;

/// The piece-size policy's smallest piece: one full block (`wire::MAX_BLOCK_LEN`), so that every request of a
/// multi-piece file moves a full-size data-channel message.
pub const POLICY_MIN_PIECE_SIZE: u32 = 128 * 1024;
/// The policy keeps the piece count at or under this while the piece size can grow: 2,048 hashes are 64 KiB,
/// which fits one `ManifestData` message, and a 4 GiB file gets 2 MiB pieces.
pub const POLICY_TARGET_PIECES: u64 = 2048;
/// Below [`POLICY_COMFORT_PIECE_SIZE`], pieces also grow while a file has more than this many: each piece costs
/// every shell storage operations (a hash, a worker message and a write in the browser), and 512 pieces still
/// spread a file over a large crowd (a 64 MiB file keeps 128 KiB pieces; 256 MiB gets 512 KiB).
pub const POLICY_ENOUGH_PIECES: u64 = 512;
/// Pieces grow up to this size to get down to [`POLICY_ENOUGH_PIECES`] (1 MiB: 8 blocks).
pub const POLICY_COMFORT_PIECE_SIZE: u32 = 1024 * 1024;

/// Name used when sanitizing leaves nothing.
const FALLBACK_NAME: &str = "file";
/// An extension at most this long (in bytes, dot included) is kept when a long name is truncated.
const MAX_KEPT_EXTENSION: usize = 16;

/// A share's description. Constructed only by [`ManifestBuilder::finish`], [`TreeBuilder::finish`] or
/// [`Manifest::decode`], so every value satisfies the limits above, `piece_hashes.len() == piece_count(size,
/// piece_size)`, and a tree's files are valid paths in canonical order that no file system would confuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    name: String,
    /// The file's size, or the sum of a tree's files.
    size: u64,
    piece_size: u32,
    /// The file's (version 1); empty for a tree.
    media_type: String,
    piece_hashes: Vec<[u8; 32]>,
    /// A tree's files (version 2), in canonical order with their offsets in the piece stream; empty for one file.
    files: Vec<FileEntry>,
}

/// One file of a tree: its path in the share (components joined by `/`, each a valid file name), its media
/// type, size, and where its bytes start in the piece stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    path: String,
    media_type: String,
    size: u64,
    offset: u64,
}

impl FileEntry {
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The path's components: folders, then the file's name.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.path.split('/')
    }
    pub fn media_type(&self) -> &str {
        &self.media_type
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Where the file's bytes start in the piece stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }
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
    /// A tree with no file, or more than [`MAX_FILES`].
    FileCount(u32),
    /// A tree's path (the file's index) is not UTF-8, is empty or over [`MAX_PATH_LEN`] bytes or [`MAX_DEPTH`]
    /// components, or has a component that is not a valid file name: `..`, an empty one (an absolute path),
    /// a separator or a control character.
    BadPath(u32),
    /// A tree's paths are not in strictly increasing byte order (the file's index): a duplicate, or not
    /// canonical.
    PathOrder(u32),
    /// Two paths of a tree that differ only in case: on a file system that folds case, one would overwrite the
    /// other.
    CaseCollision(String, String),
    /// A file whose path is a folder of another file's (compared with case folded).
    FileUnderFile(String, String),
    /// A tree's files add up to more than [`MAX_FILE_SIZE`].
    TooLarge,
}

impl core::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ManifestError::TooLong => write!(f, "manifest is over {MAX_MANIFEST_LEN} bytes"),
            ManifestError::Truncated => f.write_str("manifest is truncated"),
            ManifestError::BadVersion(v) => write!(f, "manifest version {v} is not supported"),
            ManifestError::BadName => f.write_str("manifest has an invalid file name"),
            ManifestError::BadMediaType => f.write_str("invalid media type"),
            ManifestError::BadPieceSize(n) => write!(f, "piece size {n} is not a power of two from 16 KiB to 16 MiB"),
            ManifestError::TooManyPieces => write!(f, "file is too large: more than {MAX_PIECES} pieces"),
            ManifestError::PieceCountMismatch => f.write_str("manifest piece count does not match its size"),
            ManifestError::TrailingBytes => f.write_str("bytes after the end of a manifest"),
            ManifestError::SizeMismatch { expected, got } => {
                write!(f, "file changed while hashing: expected {expected} bytes, read {got}")
            }
            ManifestError::FileCount(n) => write!(f, "a share holds 1 to {MAX_FILES} files, not {n}"),
            ManifestError::BadPath(i) => write!(f, "the path of file {i} is not a valid relative path"),
            ManifestError::PathOrder(i) => write!(f, "file {i} is out of order or a duplicate"),
            ManifestError::CaseCollision(a, b) => {
                write!(f, "\"{a}\" and \"{b}\" differ only in case: one would overwrite the other")
            }
            ManifestError::FileUnderFile(file, under) => write!(f, "\"{under}\" is inside \"{file}\", which is a file"),
            ManifestError::TooLarge => write!(f, "the files add up to more than {MAX_FILE_SIZE} bytes"),
        }
    }
}

impl std::error::Error for ManifestError {}

impl From<Truncated> for ManifestError {
    fn from(_: Truncated) -> Self {
        ManifestError::Truncated
    }
}

impl Manifest {
    /// The file's name, or the share's (what a tree is saved under).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The file's size, or the sum of a tree's files.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Whether this is a tree of files (version 2) rather than one file.
    pub fn is_tree(&self) -> bool {
        !self.files.is_empty()
    }
    /// A tree's files, in canonical order (the order of the piece stream); empty for one file.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }
    /// The pieces that hold bytes of a tree's file `file` (none for an empty file or an index out of range).
    pub fn pieces_of_file(&self, file: usize) -> core::ops::Range<u32> {
        match self.files.get(file) {
            Some(f) if f.size > 0 => {
                let ps = self.piece_size as u64;
                (f.offset / ps) as u32..((f.offset + f.size - 1) / ps + 1) as u32
            }
            _ => 0..0,
        }
    }
    /// The pieces any of `files` (indices into [`Manifest::files`]) has bytes in: what to fetch for them
    /// ([`crate::Input::Select`]).
    pub fn pieces_of_files(&self, files: impl IntoIterator<Item = usize>) -> crate::bitfield::Bitfield {
        let mut wanted = crate::bitfield::Bitfield::new(self.piece_count());
        for file in files {
            for piece in self.pieces_of_file(file) {
                wanted.set(piece);
            }
        }
        wanted
    }
    /// The files (indices into [`Manifest::files`]) with bytes in piece `piece`; empty files have none.
    pub fn files_of_piece(&self, piece: u32) -> core::ops::Range<usize> {
        let (start, len) = (self.piece_offset(piece), self.piece_len(piece) as u64);
        if len == 0 {
            return 0..0;
        }
        let end = start + len;
        // The first file ending after `start`, then every file starting before `end`.
        let first = self.files.partition_point(|f| f.offset + f.size <= start);
        let last = self.files.partition_point(|f| f.offset < end);
        let first = (first..last).find(|&i| self.files[i].size > 0).unwrap_or(last);
        first..last
    }
    pub fn piece_size(&self) -> u32 {
        self.piece_size
    }
    /// A lowercase `type/subtype`, or empty when unknown (treat as `application/octet-stream`).
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
    pub fn piece_len(&self, piece: u32) -> u32 {
        if piece >= self.piece_count() {
            return 0;
        }
        let rest = self.size - self.piece_offset(piece);
        // At most `piece_size`, so the conversion cannot fail.
        u32::try_from(rest.min(self.piece_size as u64)).unwrap_or(self.piece_size)
    }
    /// Byte offset of piece `piece` in the file.
    pub fn piece_offset(&self, piece: u32) -> u64 {
        piece as u64 * self.piece_size as u64
    }
    /// Whether `data` is piece `piece`: right length and SHA-256.
    pub fn verify_piece(&self, piece: u32, data: &[u8]) -> bool {
        match self.piece_hash(piece) {
            Some(expected) => {
                data.len() == self.piece_len(piece) as usize && Sha256::digest(data).as_slice() == expected
            }
            None => false,
        }
    }
    /// Length of [`Manifest::encode`]'s output, in bytes.
    pub fn encoded_len(&self) -> usize {
        if self.is_tree() {
            let files: usize = self.files.iter().map(|f| 2 + f.path.len() + 1 + f.media_type.len() + 8).sum();
            return 1 + 1 + self.name.len() + 4 + 4 + files + 4 + 32 * self.piece_hashes.len();
        }
        1 + 1 + self.name.len() + 1 + self.media_type.len() + 8 + 4 + 4 + 32 * self.piece_hashes.len()
    }
    /// The canonical encoding (docs/PROTOCOL.md sections 1.2 and 1.8).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        if self.is_tree() {
            out.push(TREE_VERSION);
            out.push(self.name.len() as u8);
            out.extend_from_slice(self.name.as_bytes());
            out.extend_from_slice(&self.piece_size.to_be_bytes());
            out.extend_from_slice(&(self.files.len() as u32).to_be_bytes());
            for file in &self.files {
                // Within bounds: checked at construction (MAX_PATH_LEN, MAX_MEDIA_TYPE_LEN).
                out.extend_from_slice(&(file.path.len() as u16).to_be_bytes());
                out.extend_from_slice(file.path.as_bytes());
                out.push(file.media_type.len() as u8);
                out.extend_from_slice(file.media_type.as_bytes());
                out.extend_from_slice(&file.size.to_be_bytes());
            }
            out.extend_from_slice(&self.piece_count().to_be_bytes());
            for hash in &self.piece_hashes {
                out.extend_from_slice(hash);
            }
            return out;
        }
        out.push(MANIFEST_VERSION);
        // Lengths fit a byte: checked at construction (MAX_NAME_LEN, MAX_MEDIA_TYPE_LEN).
        out.push(self.name.len() as u8);
        out.extend_from_slice(self.name.as_bytes());
        out.push(self.media_type.len() as u8);
        out.extend_from_slice(self.media_type.as_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.piece_size.to_be_bytes());
        out.extend_from_slice(&self.piece_count().to_be_bytes());
        for hash in &self.piece_hashes {
            out.extend_from_slice(hash);
        }
        out
    }
    /// Parses a canonical encoding with every limit checked.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        use ManifestError::*;
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(TooLong);
        }
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version == TREE_VERSION {
            return decode_tree(r);
        }
        if version != MANIFEST_VERSION {
            return Err(BadVersion(version));
        }
        let name_len = r.u8()?;
        let name = r.bytes(name_len as usize)?;
        let name = core::str::from_utf8(name).map_err(|_| BadName)?;
        if !is_valid_name(name) {
            return Err(BadName);
        }
        let media_len = r.u8()?;
        let media_type = r.bytes(media_len as usize)?;
        let media_type = core::str::from_utf8(media_type).map_err(|_| BadMediaType)?;
        if !is_valid_media_type(media_type) {
            return Err(BadMediaType);
        }
        let size = r.u64()?;
        let piece_size = r.u32()?;
        check_piece_size(piece_size)?;
        let piece_hashes = read_hashes(r, size, piece_size)?;
        Ok(Manifest {
            name: name.to_owned(),
            size,
            piece_size,
            media_type: media_type.to_owned(),
            piece_hashes,
            files: Vec::new(),
        })
    }
    /// SHA-256 of [`Manifest::encode`].
    pub fn content_id(&self) -> ContentId {
        ContentId(Sha256::digest(self.encode()).into())
    }
}

/// Decodes a tree's encoding after its version byte (docs/PROTOCOL.md section 1.8), checks in the documented order.
fn decode_tree(mut r: Reader<'_>) -> Result<Manifest, ManifestError> {
    use ManifestError::*;
    let name_len = r.u8()?;
    let name = core::str::from_utf8(r.bytes(name_len as usize)?).map_err(|_| BadName)?;
    if !is_valid_name(name) {
        return Err(BadName);
    }
    let piece_size = r.u32()?;
    check_piece_size(piece_size)?;
    let count = r.u32()?;
    if count == 0 || count > MAX_FILES {
        return Err(FileCount(count));
    }
    let mut files: Vec<FileEntry> = Vec::new();
    let mut offset: u64 = 0;
    for i in 0..count {
        let path_len = r.u16()? as usize;
        let path = r.bytes(path_len)?;
        let path = core::str::from_utf8(path).map_err(|_| BadPath(i))?;
        if !is_valid_path(path) {
            return Err(BadPath(i));
        }
        if files.last().is_some_and(|last| last.path.as_bytes() >= path.as_bytes()) {
            return Err(PathOrder(i));
        }
        let media_len = r.u8()?;
        let media_type = core::str::from_utf8(r.bytes(media_len as usize)?).map_err(|_| BadMediaType)?;
        if !is_valid_media_type(media_type) {
            return Err(BadMediaType);
        }
        let size = r.u64()?;
        files.push(FileEntry { path: path.to_owned(), media_type: media_type.to_owned(), size, offset });
        offset = offset.checked_add(size).filter(|&total| total <= MAX_FILE_SIZE).ok_or(TooLarge)?;
    }
    check_tree(&files)?;
    let piece_hashes = read_hashes(r, offset, piece_size)?;
    Ok(Manifest { name: name.to_owned(), size: offset, piece_size, media_type: String::new(), piece_hashes, files })
}

/// The end of either version's encoding: the piece count (at most [`MAX_PIECES`], and that of `size` bytes in
/// pieces of `piece_size`), every hash, and nothing after them.
fn read_hashes(mut r: Reader<'_>, size: u64, piece_size: u32) -> Result<Vec<[u8; 32]>, ManifestError> {
    let piece_count = r.u32()?;
    if piece_count > MAX_PIECES {
        return Err(ManifestError::TooManyPieces);
    }
    if size.div_ceil(piece_size as u64) != piece_count as u64 {
        return Err(ManifestError::PieceCountMismatch);
    }
    let mut piece_hashes = Vec::with_capacity(piece_count as usize);
    for _ in 0..piece_count {
        piece_hashes.push(r.array::<32>()?);
    }
    if !r.is_empty() {
        return Err(ManifestError::TrailingBytes);
    }
    Ok(piece_hashes)
}

/// Whether `path` may name a file of a tree: 1 to [`MAX_DEPTH`] components joined by `/`, each a valid file
/// name (so no `..`, no empty component, no separator), at most [`MAX_PATH_LEN`] bytes.
pub fn is_valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_PATH_LEN
        && path.split('/').count() <= MAX_DEPTH
        && path.split('/').all(is_valid_name)
}

/// The rules between a tree's paths that no single path shows: no two equal once case is folded ([`fold_case`]),
/// and no file's path, case folded, is a folder of another's. (Sorted, not hashed: a hash map brought several KB
/// of code into the browser's wasm for this one check.)
fn check_tree(files: &[FileEntry]) -> Result<(), ManifestError> {
    let mut folded: Vec<(String, usize)> =
        files.iter().enumerate().map(|(i, f)| (f.path.chars().map(fold_case).collect(), i)).collect();
    folded.sort_unstable();
    if let Some(pair) = folded.windows(2).find(|w| w[0].0 == w[1].0) {
        let (a, b) = (pair[0].1.min(pair[1].1), pair[0].1.max(pair[1].1));
        return Err(ManifestError::CaseCollision(files[a].path.clone(), files[b].path.clone()));
    }
    for (lower, i) in &folded {
        for (at, _) in lower.match_indices('/') {
            let folder = &lower[..at];
            if let Ok(found) = folded.binary_search_by(|(other, _)| other.as_str().cmp(folder)) {
                return Err(ManifestError::FileUnderFile(files[folded[found].1].path.clone(), files[*i].path.clone()));
            }
        }
    }
    Ok(())
}

/// The lowercase of a capital letter of ASCII, Latin-1, Latin Extended-A, Greek or basic Cyrillic (Unicode's
/// simple lowercase mapping, except that İ stays as it is); every other character as it is. Not
/// `str::to_lowercase`: its Unicode tables were about 15 KB of the browser's wasm, for scripts without case.
pub fn fold_case(c: char) -> char {
    let u = c as u32;
    let lower = match u {
        0x41..=0x5a | 0xc0..=0xd6 | 0xd8..=0xde | 0x391..=0x3a1 | 0x3a3..=0x3ab | 0x410..=0x42f => u + 0x20,
        0x100..=0x12f | 0x132..=0x137 | 0x14a..=0x177 if u.is_multiple_of(2) => u + 1,
        0x139..=0x148 | 0x179..=0x17e if !u.is_multiple_of(2) => u + 1,
        0x178 => 0xff,
        0x386 => 0x3ac,
        0x388..=0x38a => u + 0x25,
        0x38c => 0x3cc,
        0x38e..=0x38f => u + 0x3f,
        0x400..=0x40f => u + 0x50,
        _ => u,
    };
    char::from_u32(lower).unwrap_or(c)
}

/// The piece-size policy: a power of two that keeps the manifest small for multi-GiB files.
///
/// The smallest power of two from [`POLICY_MIN_PIECE_SIZE`] up to [`MAX_PIECE_SIZE`] that gives at most
/// [`POLICY_TARGET_PIECES`] pieces and, as long as pieces stay at most [`POLICY_COMFORT_PIECE_SIZE`], at most
/// [`POLICY_ENOUGH_PIECES`]; files over 32 GiB get [`MAX_PIECE_SIZE`] and more pieces, up to [`MAX_PIECES`]
/// (512 GiB).
pub fn piece_size_for(file_size: u64) -> u32 {
    let too_many = |size: u32| {
        let pieces = file_size.div_ceil(size as u64);
        pieces > POLICY_TARGET_PIECES || (size < POLICY_COMFORT_PIECE_SIZE && pieces > POLICY_ENOUGH_PIECES)
    };
    let mut size = POLICY_MIN_PIECE_SIZE;
    while size < MAX_PIECE_SIZE && too_many(size) {
        size *= 2;
    }
    size
}

fn check_piece_size(piece_size: u32) -> Result<(), ManifestError> {
    if piece_size.is_power_of_two() && (MIN_PIECE_SIZE..=MAX_PIECE_SIZE).contains(&piece_size) {
        Ok(())
    } else {
        Err(ManifestError::BadPieceSize(piece_size))
    }
}

/// Builds a manifest by hashing a file incrementally: feed the bytes in order, in chunks of any size.
#[derive(Debug)]
pub struct ManifestBuilder {
    name: String,
    media_type: String,
    pieces: PieceHasher,
}

impl ManifestBuilder {
    /// Starts a manifest for a file of `size` bytes. Sanitizes `name` (path separators, control characters,
    /// length) and checks `media_type`.
    pub fn new(name: &str, size: u64, media_type: &str) -> Result<Self, ManifestError> {
        Self::with_piece_size(name, size, media_type, piece_size_for(size))
    }

    /// Like [`ManifestBuilder::new`] with a piece size chosen by the caller instead of [`piece_size_for`] (tests,
    /// the simulator): a power of two from [`MIN_PIECE_SIZE`] to [`MAX_PIECE_SIZE`].
    pub fn with_piece_size(name: &str, size: u64, media_type: &str, piece_size: u32) -> Result<Self, ManifestError> {
        let pieces = PieceHasher::new(size, piece_size)?;
        let media_type = normalize_media_type(media_type).ok_or(ManifestError::BadMediaType)?;
        Ok(ManifestBuilder { name: sanitize_name(name), media_type, pieces })
    }

    /// Feeds the next bytes of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        self.pieces.update(bytes);
    }

    /// Bytes fed so far (for progress bars).
    pub fn hashed(&self) -> u64 {
        self.pieces.hashed
    }

    pub fn finish(self) -> Result<Manifest, ManifestError> {
        let (size, piece_size, piece_hashes) = self.pieces.finish()?;
        Ok(Manifest { name: self.name, size, piece_size, media_type: self.media_type, piece_hashes, files: Vec::new() })
    }
}

/// Builds a tree's manifest (version 2): give it the files, then feed their bytes one file after the other in
/// the order of [`TreeBuilder::files`] (canonical order, which may differ from the order given).
#[derive(Debug)]
pub struct TreeBuilder {
    name: String,
    files: Vec<FileEntry>,
    /// For each of `files`, its index in the list given to [`TreeBuilder::new`].
    given: Vec<usize>,
    pieces: PieceHasher,
}

impl TreeBuilder {
    /// Starts a tree named `name` (sanitized) of `files`: each one's path as components (folders, then the file's
    /// name; each sanitized as a file name, with its media type from its name) and its size. Refused, with the
    /// paths named, if two files would have one path once sanitized or case folded, or a file would be inside
    /// another.
    pub fn new(name: &str, files: Vec<(Vec<String>, u64)>) -> Result<Self, ManifestError> {
        let total =
            files.iter().try_fold(0u64, |sum, (_, size)| sum.checked_add(*size)).ok_or(ManifestError::TooLarge)?;
        Self::with_piece_size(name, files, piece_size_for(total))
    }

    /// Like [`TreeBuilder::new`] with a piece size chosen by the caller.
    pub fn with_piece_size(name: &str, files: Vec<(Vec<String>, u64)>, piece_size: u32) -> Result<Self, ManifestError> {
        let count = u32::try_from(files.len()).unwrap_or(u32::MAX);
        if files.is_empty() || count > MAX_FILES {
            return Err(ManifestError::FileCount(count));
        }
        // (path, index given), sorted: `String` orders by bytes. The one element type `check_tree` sorts too, so
        // the browser's wasm carries one copy of the sort.
        let mut order: Vec<(String, usize)> = Vec::with_capacity(files.len());
        for (i, (components, _)) in files.iter().enumerate() {
            let path: Vec<String> = components.iter().map(|c| sanitize_name(c)).collect();
            let path = path.join("/");
            if !is_valid_path(&path) {
                return Err(ManifestError::BadPath(i as u32));
            }
            order.push((path, i));
        }
        order.sort_unstable();
        let given: Vec<usize> = order.iter().map(|&(_, i)| i).collect();
        let mut entries: Vec<FileEntry> = order
            .into_iter()
            .map(|(path, i)| {
                let media_type = crate::media::media_type_for(&path).to_owned();
                FileEntry { path, media_type, size: files[i].1, offset: 0 }
            })
            .collect();
        if let Some(pair) = entries.windows(2).find(|w| w[0].path == w[1].path) {
            return Err(ManifestError::CaseCollision(pair[0].path.clone(), pair[1].path.clone()));
        }
        let mut offset = 0u64;
        for entry in &mut entries {
            entry.offset = offset;
            offset = offset.checked_add(entry.size).filter(|&t| t <= MAX_FILE_SIZE).ok_or(ManifestError::TooLarge)?;
        }
        check_tree(&entries)?;
        let pieces = PieceHasher::new(offset, piece_size)?;
        Ok(TreeBuilder { name: sanitize_name(name), files: entries, given, pieces })
    }

    /// The files in the order their bytes are to be fed.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// The order their bytes are to be fed in, as indices into the list given to [`TreeBuilder::new`]: the
    /// caller's own handle of each file (a path on disk, a browser `File`) is found by it, whatever sanitizing did
    /// to the names.
    pub fn given_order(&self) -> &[usize] {
        &self.given
    }

    /// Feeds the next bytes of the piece stream (the files' bytes, one after the other).
    pub fn update(&mut self, bytes: &[u8]) {
        self.pieces.update(bytes);
    }

    /// Bytes fed so far (for progress bars).
    pub fn hashed(&self) -> u64 {
        self.pieces.hashed
    }

    pub fn finish(self) -> Result<Manifest, ManifestError> {
        let (size, piece_size, piece_hashes) = self.pieces.finish()?;
        Ok(Manifest { name: self.name, size, piece_size, media_type: String::new(), piece_hashes, files: self.files })
    }
}

/// Hashes a stream of a declared size into pieces, fed in chunks of any size.
#[derive(Debug)]
struct PieceHasher {
    size: u64,
    piece_size: u32,
    piece_hashes: Vec<[u8; 32]>,
    /// Hash of the piece being fed.
    hasher: Sha256,
    /// Bytes of the current piece fed to `hasher`.
    in_piece: u32,
    /// Bytes fed so far, including any past `size` (which are counted, not hashed, and fail `finish`).
    hashed: u64,
}

impl PieceHasher {
    fn new(size: u64, piece_size: u32) -> Result<Self, ManifestError> {
        check_piece_size(piece_size)?;
        if size.div_ceil(piece_size as u64) > MAX_PIECES as u64 {
            return Err(ManifestError::TooManyPieces);
        }
        Ok(PieceHasher {
            size,
            piece_size,
            piece_hashes: Vec::with_capacity(size.div_ceil(piece_size as u64) as usize),
            hasher: Sha256::new(),
            in_piece: 0,
            hashed: 0,
        })
    }

    fn update(&mut self, mut bytes: &[u8]) {
        let fed = bytes.len() as u64;
        // Bytes past the declared size are only counted: `finish` reports the mismatch.
        let room = self.size.saturating_sub(self.hashed);
        bytes = &bytes[..bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        self.hashed = self.hashed.saturating_add(fed);
        while !bytes.is_empty() {
            let take = bytes.len().min((self.piece_size - self.in_piece) as usize);
            let (head, rest) = bytes.split_at(take);
            self.hasher.update(head);
            self.in_piece += take as u32;
            bytes = rest;
            if self.in_piece == self.piece_size {
                self.piece_hashes.push(self.hasher.finalize_reset().into());
                self.in_piece = 0;
            }
        }
    }

    /// The size, the piece size and the hashes, if exactly `size` bytes were fed.
    fn finish(mut self) -> Result<(u64, u32, Vec<[u8; 32]>), ManifestError> {
        if self.hashed != self.size {
            return Err(ManifestError::SizeMismatch { expected: self.size, got: self.hashed });
        }
        if self.in_piece > 0 {
            self.piece_hashes.push(self.hasher.finalize().into());
        }
        Ok((self.size, self.piece_size, self.piece_hashes))
    }
}

/// Turns any text into a file name that is safe to create on Windows, macOS and Linux and displays as what it
/// is. The result is never empty, at most [`MAX_NAME_LEN`] bytes, and `sanitize_name(sanitize_name(x)) ==
/// sanitize_name(x)`: a name is valid in a manifest exactly when sanitizing leaves it unchanged.
///
/// Steps: keep the last path component (`/` and `\` both separate); drop control and invisible formatting
/// characters (bidirectional overrides could disguise `exe.txt` as `txt.exe`); replace `< > : " | ? *` with `_`;
/// trim whitespace at both ends and dots at the end; truncate to [`MAX_NAME_LEN`] bytes keeping a short
/// extension; prefix `_` to a Windows reserved device name (`CON`, `NUL`, `COM1`, ...); fall back to `file`.
pub fn sanitize_name(input: &str) -> String {
    let component = input.rsplit(['/', '\\']).find(|c| !c.is_empty()).unwrap_or("");
    let cleaned: String = component
        .chars()
        .filter(|&c| !is_invisible(c))
        .map(|c| if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    let mut name = truncate_name(trim_name(&cleaned), MAX_NAME_LEN);
    if is_reserved(&name) {
        name = truncate_name(&format!("_{name}"), MAX_NAME_LEN);
    }
    if name.is_empty() {
        name = FALLBACK_NAME.to_owned();
    }
    name
}

/// Whether `name` may appear in a manifest (see [`sanitize_name`]).
pub fn is_valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN && sanitize_name(name) == name
}

/// Control characters (Unicode Cc) and the invisible format characters that change how a name displays.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}'                      // soft hyphen
            | '\u{061c}'                    // Arabic letter mark
            | '\u{180e}'                    // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}'       // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}'       // line/paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{206f}'       // word joiner, invisible operators, bidi isolates, deprecated formats
            | '\u{feff}'                    // byte order mark
            | '\u{fff9}'..='\u{fffb}'       // interlinear annotations
        )
}

fn trim_name(s: &str) -> &str {
    s.trim_start().trim_end_matches(|c: char| c.is_whitespace() || c == '.')
}

/// Cuts `s` to at most `max` bytes at a character boundary, keeping a short extension, then trims again.
fn truncate_name(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    // `get`, not indexing, though every index is a char boundary: indexing would bring the panic path of `str`
    // slicing into the browser's wasm.
    let ext = match s.rfind('.') {
        Some(dot) if dot > 0 && s.len() - dot <= MAX_KEPT_EXTENSION => s.get(dot..).unwrap_or(""),
        _ => "",
    };
    let stem = s.get(..s.len() - ext.len()).unwrap_or(s);
    let mut cut = max - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let kept = format!("{}{ext}", stem.get(..cut).unwrap_or("").trim_end());
    trim_name(&kept).to_owned()
}

/// Windows device names, reserved with any extension and in any case.
fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").trim_end().to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
}

/// A media type as a manifest carries it: empty (unknown), or lowercase `type/subtype` of RFC 6838 restricted
/// name characters, without parameters, at most [`MAX_MEDIA_TYPE_LEN`] bytes.
pub fn is_valid_media_type(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let restricted = |part: &str| {
        !part.is_empty()
            && part.len() <= 63
            && part.as_bytes()[0].is_ascii_alphanumeric()
            && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&-^_.+".contains(&b))
    };
    s.len() <= MAX_MEDIA_TYPE_LEN && matches!(s.split_once('/'), Some((t, sub)) if restricted(t) && restricted(sub))
}

/// What the builder stores for a media type given by the shell (a browser's `File.type`, a guess from an
/// extension): parameters dropped, trimmed, lowercased; `None` if the rest is not a valid media type.
fn normalize_media_type(s: &str) -> Option<String> {
    let base = s.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    is_valid_media_type(&base).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(name: &str, data: &[u8], piece_size: u32) -> Manifest {
        let mut b = ManifestBuilder::with_piece_size(name, data.len() as u64, "text/plain", piece_size)
            .expect("valid builder input");
        b.update(data);
        b.finish().expect("fed the declared size")
    }

    #[test]
    fn encoding_round_trips() {
        let m = build("a.txt", &[1; 40_000], MIN_PIECE_SIZE);
        assert_eq!(Manifest::decode(&m.encode()), Ok(m.clone()));
        assert_eq!(m.encode().len(), m.encoded_len());
    }

    #[test]
    fn last_piece_is_shorter() {
        let m = build("a", &[1; 40_000], MIN_PIECE_SIZE);
        assert_eq!(m.piece_count(), 3);
        assert_eq!(m.piece_len(0), MIN_PIECE_SIZE);
        assert_eq!(m.piece_len(2), 40_000 - 2 * MIN_PIECE_SIZE);
        assert_eq!(m.piece_len(3), 0);
    }

    #[test]
    fn chunking_does_not_change_hashes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let whole = build("a", &data, MIN_PIECE_SIZE);
        let mut b = ManifestBuilder::with_piece_size("a", data.len() as u64, "text/plain", MIN_PIECE_SIZE)
            .expect("valid builder input");
        for chunk in data.chunks(7_777) {
            b.update(chunk);
        }
        assert_eq!(b.finish(), Ok(whole));
    }

    #[test]
    fn piece_hash_is_sha256_of_piece() {
        let data = [9u8; 20_000];
        let m = build("a", &data, MIN_PIECE_SIZE);
        assert!(m.verify_piece(1, &data[MIN_PIECE_SIZE as usize..]));
        assert!(!m.verify_piece(1, &data[..20_000 - MIN_PIECE_SIZE as usize - 1]));
    }

    #[test]
    fn policy_keeps_multi_gib_manifests_small() {
        assert_eq!(piece_size_for(0), POLICY_MIN_PIECE_SIZE);
        assert_eq!(piece_size_for(64 << 20), 128 * 1024);
        assert_eq!(piece_size_for((64 << 20) + 1), 256 * 1024, "over 512 pieces: pieces grow");
        assert_eq!(piece_size_for(256 << 20), 512 * 1024);
        assert_eq!(piece_size_for(1 << 30), 1 << 20, "1,024 pieces: the comfort size stops the growth");
        assert_eq!(piece_size_for(2 << 30), 1 << 20);
        assert_eq!(piece_size_for((2 << 30) + 1), 2 << 20, "over 2,048 pieces: pieces grow again");
        assert_eq!(piece_size_for(4 << 30), 2 << 20);
        assert_eq!(piece_size_for(MAX_FILE_SIZE), MAX_PIECE_SIZE);
    }

    #[test]
    fn sanitize_strips_paths_and_reserved_names() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(sanitize_name("what? <now>"), "what_ _now_");
        assert_eq!(sanitize_name("con.txt"), "_con.txt");
        assert_eq!(sanitize_name(".."), "file");
        assert_eq!(sanitize_name("a\u{202e}txt.exe"), "atxt.exe");
    }
}
