//! Hashing a file the user shares into its manifest: read in chunks, fed to the core's incremental builder, with
//! a progress report after each chunk. Each chunk is awaited from the browser, so the page keeps handling input
//! and painting between chunks even for a multi-GiB file.

use js_sys::Uint8Array;
use swarm::manifest::{Manifest, ManifestBuilder, ManifestError};
use swarm::media::media_type_for;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

use crate::error::{Error, ErrorKind, describe};

/// Bytes read and hashed between two yields to the page: ~20 ms of SHA-256 in wasm, short enough that the page
/// stays responsive, long enough that the per-chunk overhead is negligible.
const CHUNK: u64 = 4 * 1024 * 1024;

/// Hashes `file` into a manifest, calling `progress(hashed_bytes)` after each chunk.
pub async fn manifest_of(file: &File, mut progress: impl FnMut(u64)) -> Result<Manifest, Error> {
    let size = file.size() as u64;
    let name = file.name();
    // From the name, not `File.type`: that one depends on the platform's MIME database (PROTOCOL 1.5).
    let mut builder = ManifestBuilder::new(&name, size, media_type_for(&name))
        .map_err(|e| Error::new(ErrorKind::File, format!("{name} cannot be shared: {}", manifest_problem(&e))))?;
    let mut at = 0u64;
    while at < size {
        let end = (at + CHUNK).min(size);
        let read_error =
            |e: wasm_bindgen::JsValue| Error::new(ErrorKind::File, format!("{name} cannot be read: {}", describe(&e)));
        let chunk = file.slice_with_f64_and_f64(at as f64, end as f64).map_err(read_error)?;
        let buffer = JsFuture::from(chunk.array_buffer()).await.map_err(read_error)?;
        let bytes = Uint8Array::new(&buffer).to_vec();
        if bytes.len() as u64 != end - at {
            return Err(Error::new(ErrorKind::File, format!("{name} changed while it was being read")));
        }
        builder.update(&bytes);
        at = end;
        progress(at);
    }
    builder
        .finish()
        .map_err(|e| Error::new(ErrorKind::File, format!("{name} cannot be shared: {}", manifest_problem(&e))))
}

fn manifest_problem(e: &ManifestError) -> String {
    match e {
        ManifestError::TooManyPieces => "the file is too large".to_owned(),
        ManifestError::BadName => "its name cannot be used".to_owned(),
        ManifestError::SizeMismatch { expected, got } => {
            format!("it changed while being read ({got} bytes instead of {expected})")
        }
        other => other.to_string(),
    }
}
