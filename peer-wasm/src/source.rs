//! Where a content's bytes are read from: the user's own `File`, or the pieces stored so far. Everything is a
//! `Blob`, read lazily with `slice` + `arrayBuffer`, so no file is ever held whole in memory.

use js_sys::{Array, Uint8Array};
use swarm::swarm::StorageError;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag};

use crate::error::describe;

/// The bytes of one content.
#[derive(Debug)]
pub enum Source {
    /// A file the user shared: every byte is here.
    File(Blob),
    /// A download: one `Blob` per verified piece (an OPFS `File`, or an in-memory `Blob` in the fallback).
    Pieces { piece_size: u64, pieces: Vec<Option<Blob>> },
    /// A download whose manifest is not known yet.
    Nothing,
}

impl Source {
    /// The bytes `offset..offset + len` as a `Blob` (not read yet), or why not.
    pub fn range(&self, offset: u64, len: u32) -> Result<Blob, StorageError> {
        let end = offset.saturating_add(len as u64);
        match self {
            Source::File(blob) => {
                slice(blob, offset, end).ok_or_else(|| StorageError::Other("the shared file cannot be read".into()))
            }
            Source::Pieces { piece_size, pieces } => {
                // A block never spans pieces in practice; a range that does is assembled from the pieces' Blobs
                // (references, not copies).
                let parts = Array::new();
                let mut at = offset;
                while at < end {
                    let index = at / piece_size;
                    let piece = usize::try_from(index)
                        .ok()
                        .and_then(|i| pieces.get(i))
                        .and_then(Option::as_ref)
                        .ok_or_else(|| StorageError::Other(format!("piece {index} is not stored here")))?;
                    let start_in_piece = at - index * piece_size;
                    let end_in_piece = (end - index * piece_size).min(*piece_size);
                    let part = slice(piece, start_in_piece, end_in_piece)
                        .ok_or_else(|| StorageError::Other("a stored piece cannot be read".into()))?;
                    parts.push(&part);
                    at = index * piece_size + end_in_piece;
                }
                Blob::new_with_blob_sequence(&parts)
                    .map_err(|e| StorageError::Other(format!("cannot assemble a range: {}", describe(&e))))
            }
            Source::Nothing => Err(StorageError::Other("nothing is stored for this file yet".into())),
        }
    }

    /// The whole content as one `Blob` of type `media_type`, for Save: the stored pieces by reference.
    pub fn whole(&self, media_type: &str) -> Option<Blob> {
        let options = BlobPropertyBag::new();
        options.set_type(media_type);
        match self {
            Source::File(blob) => Blob::new_with_blob_sequence_and_options(&Array::of1(blob), &options).ok(),
            Source::Pieces { pieces, .. } => {
                let parts = Array::new();
                for piece in pieces {
                    parts.push(piece.as_ref()?);
                }
                Blob::new_with_blob_sequence_and_options(&parts, &options).ok()
            }
            Source::Nothing => None,
        }
    }
}

fn slice(blob: &Blob, start: u64, end: u64) -> Option<Blob> {
    blob.slice_with_f64_and_f64(start as f64, end as f64).ok()
}

/// Reads `blob` (of `len` bytes) into a new buffer with `headroom` spare bytes in front, the layout
/// `Output::Read` asks for.
pub async fn read(blob: Blob, len: u32, headroom: usize) -> Result<Vec<u8>, StorageError> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| StorageError::Other(format!("read failed: {}", describe(&e))))?;
    let array = Uint8Array::new(&buffer);
    if array.length() != len {
        return Err(StorageError::Other(format!("read {} bytes where {len} were expected", array.length())));
    }
    let mut out = vec![0u8; headroom + len as usize];
    array.copy_to(&mut out[headroom..]);
    Ok(out)
}

/// Reads a whole small `Blob` (a stored manifest) with a size limit checked first.
pub async fn read_all(blob: &Blob, max_len: usize) -> Result<Vec<u8>, String> {
    if blob.size() > max_len as f64 {
        return Err(format!("{} bytes is over the {max_len}-byte limit", blob.size() as u64));
    }
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| describe(&e))?;
    Ok(buffer.dyn_into::<js_sys::ArrayBuffer>().map(|b| Uint8Array::new(&b).to_vec()).unwrap_or_default())
}
