//! Where a content's bytes are read from: the user's own `File`, or the pieces stored so far. Everything is a
//! `Blob`, read lazily, so no file is ever held whole in memory. Blocks are read by a worker
//! (`read_worker.rs`, `www/read-worker.js`) with `slice` + `arrayBuffer`, on the page's thread where it cannot run.

mod read_worker;

use js_sys::{Array, ArrayBuffer, Uint8Array};
use swarm::manifest::Manifest;
use swarm::swarm::StorageError;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag};

use crate::error::describe;
use crate::worker_client::Outcome;

/// A `Blob` this page reads many blocks of, with a key of its own: the read worker may read it ahead in chunks and
/// keep them under that key (`www/read-worker.js`), so one key must always mean the same bytes.
#[derive(Debug, Clone)]
pub struct Keyed {
    pub blob: Blob,
    pub key: u32,
}

thread_local! {
    static NEXT_KEY: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The bit of [`Keyed::key`] that marks a `Blob` of many files (a shared folder's): the read worker reads it in
/// whole chunks (`www/read-worker.js`).
pub const MANY_FILES: u32 = 1 << 31;

impl Keyed {
    /// `blob` with a key no other `Blob` of this page has.
    pub fn new(blob: Blob) -> Keyed {
        let key = NEXT_KEY.with(|next| next.replace(next.get().wrapping_add(1) & !MANY_FILES));
        Keyed { blob, key }
    }

    /// [`Keyed::new`] for a `Blob` made of many files.
    pub fn of_files(blob: Blob) -> Keyed {
        let Keyed { blob, key } = Keyed::new(blob);
        Keyed { blob, key: key | MANY_FILES }
    }
}

/// The bytes of one content.
#[derive(Debug)]
pub enum Source {
    /// A file the user shared: every byte is here.
    File(Keyed),
    /// A download: where each verified piece is.
    Pieces {
        piece_size: u64,
        /// The content's size in bytes.
        size: u64,
        pieces: Vec<Option<Piece>>,
        /// The content's data file as a `File`, once nothing writes to it any more (the download is complete):
        /// [`Piece::InDataFile`] pieces are read from it. Until then they are read through the storage worker.
        data: Option<Keyed>,
    },
    /// A download whose manifest is not known yet.
    Nothing,
}

/// Where one verified piece of a download is.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Its own `Blob`: a piece file in OPFS, or bytes in memory.
    Blob(Blob),
    /// At its offset in the content's data file (`storage.rs`).
    InDataFile,
}

impl Source {
    /// An empty download of the content `manifest` describes.
    pub fn empty(manifest: &Manifest) -> Source {
        Source::Pieces {
            piece_size: manifest.piece_size().into(),
            size: manifest.size(),
            pieces: vec![None; manifest.piece_count() as usize],
            data: None,
        }
    }

    /// Records that piece `piece` is stored at `at`.
    pub fn stored(&mut self, piece: u32, at: Piece) {
        if let Source::Pieces { pieces, data, .. } = self
            && let Some(slot) = pieces.get_mut(piece as usize)
        {
            if matches!(at, Piece::InDataFile) {
                // The data file changes: a `File` of it taken earlier cannot be read any more.
                *data = None;
            }
            *slot = Some(at);
        }
    }

    /// Whether some piece is in the data file.
    pub fn uses_data_file(&self) -> bool {
        match self {
            Source::Pieces { pieces, .. } => pieces.iter().any(|p| matches!(p, Some(Piece::InDataFile))),
            _ => false,
        }
    }

    /// Whether some piece is in the data file and the data file has no `File` yet (see [`Source::Pieces`]).
    pub fn needs_data_file(&self) -> bool {
        matches!(self, Source::Pieces { data: None, .. }) && self.uses_data_file()
    }

    /// Sets the `File` of the data file, once nothing writes to it any more.
    pub fn set_data_file(&mut self, file: Blob) {
        if let Source::Pieces { data, .. } = self {
            *data = Some(Keyed::new(file));
        }
    }

    /// Where the bytes `offset..offset + len` are (not read yet), or why not.
    pub fn range(&self, offset: u64, len: u32) -> Result<Range, StorageError> {
        let end = offset.saturating_add(len as u64);
        match self {
            // Not sliced here: `slice` is a synchronous round trip to the browser process, left to the reader.
            Source::File(file) => Ok(Range::Blob { blob: file.blob.clone(), start: offset, end, key: Some(file.key) }),
            Source::Pieces { piece_size, pieces, data, .. } => {
                let spans = spans(offset, len, *piece_size);
                let stored = |piece: u64| {
                    usize::try_from(piece)
                        .ok()
                        .and_then(|i| pieces.get(i))
                        .and_then(Option::as_ref)
                        .ok_or_else(|| StorageError::Other(format!("piece {piece} is not stored here")))
                };
                let mut parts = Vec::with_capacity(spans.len());
                for span in &spans {
                    let base = span.piece * piece_size;
                    match (stored(span.piece)?, data) {
                        (Piece::Blob(blob), _) => parts.push((blob.clone(), span.start, span.end, None)),
                        (Piece::InDataFile, Some(file)) => {
                            parts.push((file.blob.clone(), base + span.start, base + span.end, Some(file.key)))
                        }
                        // Read through the storage worker, which has the file open; a range wholly in the file is
                        // one read (its pieces are contiguous there).
                        (Piece::InDataFile, None) => {
                            if spans.iter().all(|s| matches!(stored(s.piece), Ok(Piece::InDataFile))) {
                                return Ok(Range::DataFile { offset });
                            }
                            return Err(StorageError::Other("a read across differently stored pieces".into()));
                        }
                    }
                }
                if let [(blob, start, end, key)] = parts.as_slice() {
                    return Ok(Range::Blob { blob: blob.clone(), start: *start, end: *end, key: *key });
                }
                // A block never spans pieces in practice; a range that does is assembled from the pieces' Blobs
                // (references, not copies).
                let blobs = Array::new();
                for (blob, start, end, _) in &parts {
                    let part = slice(blob, *start, *end)
                        .ok_or_else(|| StorageError::Other("a stored piece cannot be read".into()))?;
                    blobs.push(&part);
                }
                let blob = Blob::new_with_blob_sequence(&blobs)
                    .map_err(|e| StorageError::Other(format!("cannot assemble a range: {}", describe(&e))))?;
                Ok(Range::Blob { blob, start: 0, end: u64::from(len), key: None })
            }
            Source::Nothing => Err(StorageError::Other("nothing is stored for this file yet".into())),
        }
    }

    /// The whole content as one `Blob` of type `media_type`, for Save: the stored pieces by reference. `None`
    /// while a piece is missing or the data file has no `File` yet.
    pub fn whole(&self, media_type: &str) -> Option<Blob> {
        let size = match self {
            Source::File(file) => file.blob.size() as u64,
            Source::Pieces { size, .. } => *size,
            Source::Nothing => return None,
        };
        self.part(0, size, media_type)
    }

    /// Bytes `start..end` of the content as one `Blob` of type `media_type` (a file of a folder, for its Save):
    /// the stored pieces by reference. `None` while a piece of that range is missing, or is in the data file and
    /// the data file has no `File` yet.
    pub fn part(&self, start: u64, end: u64, media_type: &str) -> Option<Blob> {
        let options = BlobPropertyBag::new();
        options.set_type(media_type);
        let typed = |parts: &Array| Blob::new_with_blob_sequence_and_options(parts, &options).ok();
        match self {
            Source::File(file) => typed(&Array::of1(&slice(&file.blob, start, end)?.into())),
            Source::Pieces { pieces, data, piece_size, size } => {
                if start > end || end > *size || *piece_size == 0 {
                    return None;
                }
                let touched = if start == end {
                    0..0
                } else {
                    (start / piece_size) as usize..(end.div_ceil(*piece_size)) as usize
                };
                let stored = pieces.get(touched.clone())?;
                if let Some(data) = data
                    && stored.iter().all(|p| matches!(p, Some(Piece::InDataFile)))
                {
                    // One slice of the data file (never past the content's end: bytes there are not part of it).
                    return typed(&Array::of1(&slice(&data.blob, start, end)?.into()));
                }
                let parts = Array::new();
                for (i, piece) in touched.zip(stored) {
                    let base = i as u64 * piece_size;
                    let (from, to) = (start.max(base), end.min(base + piece_size));
                    let part = match piece.as_ref()? {
                        Piece::Blob(blob) => slice(blob, from - base, to - base)?,
                        Piece::InDataFile => slice(&data.as_ref()?.blob, from, to)?,
                    };
                    parts.push(&part);
                }
                typed(&parts)
            }
            Source::Nothing => None,
        }
    }
}

/// Where the bytes a read asks for are: what [`Source::range`] finds, for [`read`].
#[derive(Debug, Clone)]
pub enum Range {
    /// Bytes `start..end` of `blob`, with its [`Keyed::key`] if it has one.
    Blob { blob: Blob, start: u64, end: u64, key: Option<u32> },
    /// At `offset` of the content's data file, which the storage worker has open.
    DataFile { offset: u64 },
}

/// The part of one piece that a byte range covers: bytes `start..end` of piece `piece`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub piece: u64,
    pub start: u64,
    pub end: u64,
}

/// Splits the file range `offset..offset + len` into per-piece spans, in order. Empty for `len == 0` or a zero
/// piece size.
pub fn spans(offset: u64, len: u32, piece_size: u64) -> Vec<Span> {
    let mut out = Vec::new();
    if piece_size == 0 {
        return out;
    }
    let end = offset.saturating_add(len as u64);
    let mut at = offset;
    while at < end {
        let piece = at / piece_size;
        let base = piece * piece_size;
        let span_end = (end - base).min(piece_size);
        out.push(Span { piece, start: at - base, end: span_end });
        at = base + span_end;
    }
    out
}

fn slice(blob: &Blob, start: u64, end: u64) -> Option<Blob> {
    blob.slice_with_f64_and_f64(start as f64, end as f64).ok()
}

/// Reads bytes `start..end` of `blob` in the page's read worker (with its `key`, from a chunk read ahead), or on
/// the page's thread where the worker cannot run.
pub async fn read_blob(blob: &Blob, start: u64, end: u64, key: Option<u32>) -> Result<ArrayBuffer, StorageError> {
    match read_worker::read(blob, start, end, key).await {
        Outcome::Done(buffer) => Ok(buffer),
        Outcome::Failed(e) => Err(e),
        Outcome::Unavailable => read_here(blob, start, end).await,
    }
}

/// Reads bytes `start..end` of `blob` on the page's thread.
pub async fn read_here(blob: &Blob, start: u64, end: u64) -> Result<ArrayBuffer, StorageError> {
    let blob = slice(blob, start, end).ok_or_else(|| StorageError::Other("the file cannot be read".into()))?;
    JsFuture::from(blob.array_buffer())
        .await
        .and_then(|buffer| buffer.dyn_into::<ArrayBuffer>())
        .map_err(|e| StorageError::Other(format!("read failed: {}", describe(&e))))
}

/// Reads a whole small `Blob` (a stored manifest) with a size limit checked first.
pub async fn read_all(blob: &Blob, max_len: usize) -> Result<Vec<u8>, String> {
    if blob.size() > max_len as f64 {
        return Err(format!("{} bytes is over the {max_len}-byte limit", blob.size() as u64));
    }
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| describe(&e))?;
    Ok(buffer.dyn_into::<js_sys::ArrayBuffer>().map(|b| Uint8Array::new(&b).to_vec()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_inside_one_piece_is_one_span() {
        assert_eq!(spans(1024 + 10, 100, 1024), vec![Span { piece: 1, start: 10, end: 110 }]);
    }

    #[test]
    fn range_across_a_piece_boundary_is_split() {
        assert_eq!(
            spans(1000, 100, 1024),
            vec![Span { piece: 0, start: 1000, end: 1024 }, Span { piece: 1, start: 0, end: 76 }]
        );
    }

    #[test]
    fn whole_piece_is_one_full_span() {
        assert_eq!(spans(2048, 1024, 1024), vec![Span { piece: 2, start: 0, end: 1024 }]);
    }

    #[test]
    fn empty_range_or_zero_piece_size_has_no_span() {
        assert!(spans(5, 0, 1024).is_empty());
        assert!(spans(5, 10, 0).is_empty());
    }

    #[test]
    fn range_at_the_end_of_u64_does_not_overflow() {
        let s = spans(u64::MAX - 5, 100, 1 << 20);
        assert_eq!(s.iter().map(|s| s.end - s.start).sum::<u64>(), 5);
    }
}
