//! Hashing what the user shares into its manifest: a file, or a folder's files one after the other (one `Blob`
//! of them, by reference), read in chunks and fed to the core's incremental builder, with a progress report after
//! each chunk. Each chunk is awaited from the browser, so the page keeps handling input and painting between
//! chunks even for many GiB.

use js_sys::{Array, Uint8Array};
use swarm::manifest::{Manifest, ManifestBuilder, ManifestError, TreeBuilder};
use swarm::media::media_type_for;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File};

use crate::error::{Error, ErrorKind, describe};

/// Bytes read and hashed between two yields to the page: ~20 ms of SHA-256 in wasm, short enough that the page
/// stays responsive, long enough that the per-chunk overhead is negligible.
const CHUNK: u64 = 4 * 1024 * 1024;

/// Hashes `file` into a manifest, calling `progress(hashed_bytes)` after each chunk.
pub async fn manifest_of(file: &File, progress: impl FnMut(u64)) -> Result<Manifest, Error> {
    let size = file.size() as u64;
    let name = file.name();
    // From the name, not `File.type`: that one depends on the platform's MIME database (PROTOCOL 1.5).
    let mut builder = ManifestBuilder::new(&name, size, media_type_for(&name)).map_err(|e| cannot_share(&name, &e))?;
    feed(file, size, &name, |bytes| builder.update(bytes), progress).await?;
    builder.finish().map_err(|e| cannot_share(&name, &e))
}

/// Hashes a folder named `name` of `files` (each with its path under the folder, `/` between components) into a
/// manifest of many files (PROTOCOL.md 1.8). Returns it with the files' bytes as one `Blob` in the manifest's
/// order (what peers read from), calling `progress(hashed_bytes)` after each chunk.
pub async fn tree_of(
    name: &str,
    files: Vec<(String, File)>,
    progress: impl FnMut(u64),
) -> Result<(Manifest, Blob), Error> {
    let listed =
        files.iter().map(|(path, file)| (path.split('/').map(str::to_owned).collect(), file.size() as u64)).collect();
    let mut builder = TreeBuilder::new(name, listed).map_err(|e| match e {
        ManifestError::BadPath(i) => {
            let path = files.get(i as usize).map_or("", |(path, _)| path.as_str());
            Error::new(ErrorKind::File, format!("{name} cannot be shared: the path \"{path}\" cannot be used"))
        }
        e => cannot_share(name, &e),
    })?;
    let parts = Array::new();
    for &i in builder.given_order() {
        if let Some((_, file)) = files.get(i) {
            parts.push(file);
        }
    }
    let size: u64 = builder.files().iter().map(|f| f.size()).sum();
    let whole = Blob::new_with_blob_sequence(&parts)
        .map_err(|e| Error::new(ErrorKind::File, format!("{name} cannot be read: {}", describe(&e))))?;
    feed(&whole, size, name, |bytes| builder.update(bytes), progress).await?;
    Ok((builder.finish().map_err(|e| cannot_share(name, &e))?, whole))
}

/// Chunks read at once while hashing: a folder's `Blob` costs the browser a file open per file, so one 4 MiB read
/// of 4 KiB files at a time was 4 times slower than four (ARCHITECTURE.md, the page; 16 MiB in flight).
const READS_AHEAD: u64 = 4;

/// Reads `blob` (`size` bytes) chunk by chunk into `update`, in order, [`READS_AHEAD`] reads in flight, reporting
/// progress after each.
async fn feed(
    blob: &Blob,
    size: u64,
    name: &str,
    mut update: impl FnMut(&[u8]),
    mut progress: impl FnMut(u64),
) -> Result<(), Error> {
    let read_error =
        |e: wasm_bindgen::JsValue| Error::new(ErrorKind::File, format!("{name} cannot be read: {}", describe(&e)));
    let mut reads = std::collections::VecDeque::new();
    let (mut started, mut at) = (0u64, 0u64);
    while at < size {
        while started < size && (reads.len() as u64) < READS_AHEAD {
            let end = (started + CHUNK).min(size);
            let chunk = blob.slice_with_f64_and_f64(started as f64, end as f64).map_err(read_error)?;
            // The read starts now; its result is taken in order below.
            reads.push_back((end - started, JsFuture::from(chunk.array_buffer())));
            started = end;
        }
        let Some((len, read)) = reads.pop_front() else { break };
        let bytes = Uint8Array::new(&read.await.map_err(read_error)?).to_vec();
        if bytes.len() as u64 != len {
            return Err(Error::new(ErrorKind::File, format!("{name} changed while it was being read")));
        }
        update(&bytes);
        at += len;
        progress(at);
    }
    Ok(())
}

fn cannot_share(name: &str, e: &ManifestError) -> Error {
    Error::new(ErrorKind::File, format!("{name} cannot be shared: {}", manifest_problem(e)))
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
