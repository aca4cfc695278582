//! Where downloads are kept: the Origin Private File System (OPFS), or memory where the browser has none.
//!
//! # On-disk layout (OPFS)
//! `p2p-share/<content id>/manifest` holds the manifest's canonical encoding. Pieces are at their offsets
//! (`piece * piece_size`) in `p2p-share/<content id>/data`, written by `www/storage-worker.js` through a synchronous
//! access handle it keeps open until the download is removed or the page closes ([`crate::storage_worker`]). That
//! handle is an exclusive lock: one tab stores a download, and another tab of the browser profile that has the same
//! download stops it there with a message saying so. Where the worker cannot write (no synchronous access handles),
//! a piece goes into its own file `p2p-share/<content id>/p<index>`, written on the page's thread with
//! `createWritable` (the file becomes visible only when `close()` commits it; one file per piece avoids Chromium's
//! copy of the whole file on every `createWritable` with `keepExistingData`, which would make writing an n-piece
//! file cost O(n²)). Downloads stored before the data file existed have only piece files; both kinds are restored,
//! also mixed in one download.
//!
//! There is no second record of which pieces are stored, to fall out of step: restoring re-hashes every piece
//! file and every piece's range of the data file, and a piece counts only when its bytes have the manifest's
//! SHA-256, so a piece cut short by a crash mid-write is found and fetched again. Save joins the pieces into one
//! `Blob` by reference (no copy into memory): the data file's `File`, taken once the download is complete (a
//! `File` of a file modified later cannot be read; the worker has the file open, so no other tab of the profile
//! writes it meanwhile), and the piece files.

use core::str::FromStr;
use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, ArrayBuffer, Reflect, Uint8Array};
use swarm::VecMap;
use swarm::bitfield::Bitfield;
use swarm::id::ContentId;
use swarm::manifest::{MAX_MANIFEST_LEN, Manifest};
use swarm::swarm::StorageError;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemRemoveOptions, FileSystemWritableFileStream,
};

use crate::error::{describe, js_error_name, storage_error};
use crate::source::{self, Piece, Range, Source, read_all, read_here};
use crate::storage_worker::StorageWorker;
pub use crate::worker_client::Outcome;

/// Largest download kept in memory when the browser has no OPFS, in bytes: beyond this a tab risks being killed.
pub const MEMORY_LIMIT: u64 = 512 * 1024 * 1024;
/// Directory of this app inside the origin's private file system.
const ROOT_DIR: &str = "p2p-share";
const MANIFEST_FILE: &str = "manifest";
const DATA_FILE: &str = "data";
/// A folder's chosen files: one bit a file of its manifest (`Bitfield` bytes), absent until the user chose.
const SELECTION_FILE: &str = "selection";

/// The storage backend of this page.
#[derive(Debug, Clone)]
pub enum Storage {
    Opfs(Opfs),
    /// Pieces are in-memory `Blob`s, lost on reload, at most `limit` bytes a file ([`MEMORY_LIMIT`] unless a test
    /// lowered it).
    Memory {
        limit: u64,
    },
}

/// The app's OPFS directory, and the directory handle of each content written to (a `getDirectoryHandle` per
/// piece cost about 1.2 ms of the leecher's main thread, as much as the write itself). Pieces are written by the
/// storage worker when it runs, on the page's thread otherwise.
#[derive(Debug, Clone)]
pub struct Opfs {
    root: FileSystemDirectoryHandle,
    dirs: Rc<RefCell<VecMap<ContentId, FileSystemDirectoryHandle>>>,
    worker: Option<Rc<StorageWorker>>,
}

impl Opfs {
    /// The directory of `id`, created if missing; cached, so that only the first call asks the browser.
    async fn dir(&self, id: ContentId) -> Result<FileSystemDirectoryHandle, StorageError> {
        if let Some(dir) = self.dirs.borrow().get(&id) {
            return Ok(dir.clone());
        }
        let dir = content_dir(&self.root, &id, true).await?;
        self.dirs.borrow_mut().insert(id, dir.clone());
        Ok(dir)
    }
}

/// A download found in storage at start-up.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub have: Bitfield,
    pub source: Source,
    /// For a folder, the files its user chose to get (one bit a file), if they chose.
    pub selection: Option<Bitfield>,
}

impl Storage {
    /// Opens OPFS if this browser has it (it needs a secure context: https, or http on localhost); memory
    /// otherwise, with [`MEMORY_LIMIT`] a file or `memory_limit` if lower (the browser tests' setting).
    pub async fn open(memory_limit: Option<u64>) -> Storage {
        match open_root().await {
            Ok(root) => {
                let worker = StorageWorker::start().map(Rc::new);
                Storage::Opfs(Opfs { root, dirs: Rc::default(), worker })
            }
            Err(e) => {
                web_sys::console::warn_1(&format!("no private file system ({e}); downloads stay in memory").into());
                Storage::Memory { limit: memory_limit.map_or(MEMORY_LIMIT, |l| l.min(MEMORY_LIMIT)) }
            }
        }
    }

    /// `opfs-worker` once the storage worker has written pieces (and can write more), `opfs` when pieces are
    /// written on the page's thread, `memory` without OPFS.
    pub fn kind(&self) -> &'static str {
        match self {
            Storage::Opfs(Opfs { worker: Some(worker), .. }) if worker.working() => "opfs-worker",
            Storage::Opfs(_) => "opfs",
            Storage::Memory { .. } => "memory",
        }
    }

    /// The largest file this storage takes: the memory limit, or no limit with OPFS (its quota is checked once
    /// the manifest is known, and a full disk fails the download when a write is refused).
    pub fn max_size(&self) -> u64 {
        match self {
            Storage::Opfs(_) => u64::MAX,
            Storage::Memory { limit } => *limit,
        }
    }

    /// Bytes the browser still lets this origin store, if it says (`navigator.storage.estimate()`).
    pub async fn available(&self) -> Option<u64> {
        let Storage::Opfs(_) = self else { return None };
        let promise = web_sys::window()?.navigator().storage().estimate().ok()?;
        let estimate: web_sys::StorageEstimate = JsFuture::from(promise).await.ok()?.unchecked_into();
        let (quota, usage) = (estimate.get_quota()?, estimate.get_usage().unwrap_or(0.0));
        Some((quota - usage).max(0.0) as u64)
    }

    /// Persists the manifest of a download so a reload can resume it.
    pub async fn save_manifest(&self, id: ContentId, manifest: &Manifest) -> Result<(), StorageError> {
        let Storage::Opfs(opfs) = self else { return Ok(()) };
        let dir = opfs.dir(id).await?;
        write_file(&dir, MANIFEST_FILE, &manifest.encode()).await.map(|_| ())
    }

    /// Persists which files of a folder its user chose (one bit a file of the manifest).
    pub async fn save_selection(&self, id: ContentId, files: &Bitfield) -> Result<(), StorageError> {
        let Storage::Opfs(opfs) = self else { return Ok(()) };
        let dir = opfs.dir(id).await?;
        write_file(&dir, SELECTION_FILE, files.as_bytes()).await.map(|_| ())
    }

    /// Stores verified piece `piece` (at byte `offset` of the content) and says where it went.
    pub async fn write_piece(
        &self,
        id: ContentId,
        piece: u32,
        offset: u64,
        data: &[u8],
    ) -> Result<Piece, StorageError> {
        match self {
            Storage::Opfs(opfs) => {
                if let Some(worker) = &opfs.worker {
                    match worker.write(&id.to_string(), offset, data, None).await {
                        Outcome::Done(_) => return Ok(Piece::InDataFile),
                        Outcome::Failed(e) => return Err(e),
                        Outcome::Unavailable => {}
                    }
                }
                let name = piece_file(piece);
                let dir = opfs.dir(id).await?;
                let file = match write_file(&dir, &name, data).await {
                    Err(StorageError::Other(_)) => {
                        // The cached directory may be gone (removed while this write waited): once more with a
                        // fresh handle.
                        opfs.dirs.borrow_mut().remove(&id);
                        let dir = opfs.dir(id).await?;
                        write_file(&dir, &name, data).await?
                    }
                    other => other?,
                };
                Ok(Piece::Blob(file.into()))
            }
            Storage::Memory { .. } => {
                let parts = Array::of1(&Uint8Array::from(data));
                Blob::new_with_u8_array_sequence(&parts).map(Piece::Blob).map_err(|e| storage_error(&e))
            }
        }
    }

    /// Through the storage worker: hashes `data` and stores it at byte `offset` of the content's data file only if
    /// its SHA-256 is `expected` (done with whether it matched and was stored). [`Outcome::Unavailable`] without
    /// the worker: hash and write separately then.
    pub async fn verify_and_write(
        &self,
        id: ContentId,
        offset: u64,
        expected: &[u8; 32],
        data: &[u8],
    ) -> Outcome<bool> {
        match self {
            Storage::Opfs(Opfs { worker: Some(worker), .. }) => {
                worker.write(&id.to_string(), offset, data, Some(expected)).await
            }
            _ => Outcome::Unavailable,
        }
    }

    /// Reads `range` (of `len` bytes, of content `id`) into a new buffer with `headroom` spare bytes in front, the
    /// layout `Output::Read` asks for: a `Blob`'s bytes in the read worker, the data file's through the storage
    /// worker, on the page's thread where a worker cannot run.
    pub async fn read(&self, id: ContentId, range: Range, len: u32, headroom: usize) -> Result<Vec<u8>, StorageError> {
        let buffer = match &range {
            Range::Blob { blob, start, end, key } => source::read_blob(blob, *start, *end, *key).await?,
            Range::DataFile { offset } => self.read_data_file(id, *offset, len).await?,
        };
        let array = Uint8Array::new(&buffer);
        if array.length() != len {
            return Err(StorageError::Other(format!("read {} bytes where {len} were expected", array.length())));
        }
        let mut out = vec![0u8; headroom + len as usize];
        array.copy_to(&mut out[headroom..]);
        Ok(out)
    }

    /// `len` bytes at `offset` of the content's data file, while it is being written (see [`Source::Pieces`]):
    /// through the storage worker, which has it open; on the page's thread if the worker cannot.
    pub async fn read_data_file(&self, id: ContentId, offset: u64, len: u32) -> Result<ArrayBuffer, StorageError> {
        let Storage::Opfs(opfs) = self else { return Err(StorageError::Other("no data file in memory".into())) };
        if let Some(worker) = &opfs.worker {
            match worker.read(&id.to_string(), offset, len).await {
                Outcome::Done(buffer) => return Ok(buffer),
                Outcome::Failed(e) => return Err(e),
                Outcome::Unavailable => {}
            }
        }
        let file = data_file(&opfs.dir(id).await?).await?;
        read_here(&file, offset, offset.saturating_add(len.into())).await
    }

    /// The content's data file as a `File`, once nothing writes to it any more (the download is complete), after
    /// the storage worker's writes to it.
    pub async fn finish(&self, id: ContentId) -> Result<Blob, StorageError> {
        let Storage::Opfs(opfs) = self else { return Err(StorageError::Other("no data file in memory".into())) };
        if let Some(worker) = &opfs.worker {
            match worker.finish(&id.to_string()).await {
                Outcome::Done(file) => return Ok(file.into()),
                Outcome::Failed(e) => return Err(e),
                Outcome::Unavailable => {}
            }
        }
        Ok(data_file(&opfs.dir(id).await?).await?.into())
    }

    /// Sets aside `size` bytes for a download before its first piece: its data file made that long, through the
    /// storage worker (sparse on disk, instant; in a private window's in-memory file system, refused past what it
    /// allows, which `navigator.storage.estimate()` does not tell). Nothing to do in memory or without the
    /// worker (pieces then go in files of their own).
    pub async fn reserve(&self, id: ContentId, size: u64) -> Result<(), StorageError> {
        let Storage::Opfs(Opfs { worker: Some(worker), .. }) = self else { return Ok(()) };
        match worker.reserve(&id.to_string(), size).await {
            Outcome::Done(()) | Outcome::Unavailable => Ok(()),
            Outcome::Failed(e) => Err(e),
        }
    }

    /// Deletes everything stored for a content (a missing directory is not an error).
    pub async fn remove(&self, id: ContentId) -> Result<(), StorageError> {
        let Storage::Opfs(opfs) = self else { return Ok(()) };
        // Forgotten first: a later download of the same content creates its directory again.
        opfs.dirs.borrow_mut().remove(&id);
        if let Some(worker) = &opfs.worker {
            // Through the worker, after the writes it is doing: removing a directory while a piece file in it is
            // open for writing fails.
            match worker.remove(&id.to_string()).await {
                Outcome::Done(()) => return Ok(()),
                Outcome::Failed(e) => return Err(e),
                Outcome::Unavailable => {}
            }
        }
        let options = FileSystemRemoveOptions::new();
        options.set_recursive(true);
        match JsFuture::from(opfs.root.remove_entry_with_options(&id.to_string(), &options)).await {
            Ok(_) => Ok(()),
            Err(e) if js_error_name(&e).as_deref() == Some("NotFoundError") => Ok(()),
            Err(e) => Err(storage_error(&e)),
        }
    }

    /// What is stored of one download, to retry it after it failed (only the missing pieces are fetched then):
    /// `None` without OPFS, or when nothing usable of it is stored.
    pub async fn restore_content(&self, id: ContentId) -> Option<Restored> {
        let Storage::Opfs(opfs) = self else { return None };
        let dir = content_dir(&opfs.root, &id, false).await.ok()?;
        restore_one(&dir, id).await.ok().map(|(restored, _)| restored)
    }

    /// Every download persisted by an earlier visit, and a message for each damaged one. A manifest is parsed
    /// with its limits and checked against the directory name (a damaged one is deleted); a piece counts only when
    /// its file has the piece's exact length and SHA-256 (a damaged piece is fetched again).
    pub async fn restore(&self) -> (Vec<Restored>, Vec<String>) {
        let Storage::Opfs(opfs) = self else { return (Vec::new(), Vec::new()) };
        let mut found = Vec::new();
        let mut problems = Vec::new();
        for (name, handle) in entries(&opfs.root).await {
            let Ok(id) = ContentId::from_str(&name) else { continue };
            let Ok(dir) = handle.dyn_into::<FileSystemDirectoryHandle>() else { continue };
            match restore_one(&dir, id).await {
                Ok((mut r, damaged)) => {
                    if r.have.is_full()
                        && r.source.uses_data_file()
                        && let Ok(file) = self.finish(id).await
                    {
                        // Complete: the data file's `File` through the worker, which opens the file first, so that
                        // no other tab writes it while this one reads it (restore's own `File` is kept otherwise).
                        r.source.set_data_file(file);
                    }
                    if damaged > 0 {
                        problems.push(format!(
                            "{damaged} stored pieces of {} were damaged; they will be downloaded again.",
                            r.manifest.name()
                        ));
                    }
                    found.push(r);
                }
                Err(e) => {
                    problems.push(format!(
                        "A stored download could not be resumed because its saved data is damaged ({e}); it was \
                         removed. Open its link again to download it."
                    ));
                    let _ = self.remove(id).await;
                }
            }
        }
        (found, problems)
    }
}

/// Restores one download; also returns how many of its pieces were found damaged (and will be fetched again).
async fn restore_one(dir: &FileSystemDirectoryHandle, id: ContentId) -> Result<(Restored, usize), String> {
    let handle = JsFuture::from(dir.get_file_handle(MANIFEST_FILE)).await.map_err(|e| describe(&e))?;
    let file = file_of(&handle.unchecked_into()).await.map_err(|e| e.to_string())?;
    let bytes = read_all(&file, MAX_MANIFEST_LEN).await?;
    let manifest = Manifest::decode(&bytes).map_err(|e| format!("stored manifest is invalid: {e}"))?;
    if manifest.content_id() != id {
        return Err("stored manifest does not match its content id".into());
    }
    let count = manifest.piece_count();
    let mut have = Bitfield::new(count);
    let mut source = Source::empty(&manifest);
    let mut damaged = Vec::new();
    let mut data = None;
    let mut selection = None;
    let file_count = u32::try_from(manifest.files().len()).unwrap_or(u32::MAX);
    for (name, handle) in entries(dir).await {
        if name == DATA_FILE {
            data = file_of(&handle.unchecked_into()).await.ok();
            continue;
        }
        if name == SELECTION_FILE {
            // Exactly one bit a file, spare bits clear; anything else is damaged and the user is asked again.
            let max_len = file_count.div_ceil(8) as usize;
            if let Ok(file) = file_of(&handle.unchecked_into()).await
                && let Ok(bytes) = read_all(&file, max_len).await
            {
                selection = Bitfield::from_bytes(&bytes, file_count).filter(|_| file_count > 0);
            }
            continue;
        }
        let Some(piece) = name.strip_prefix('p').and_then(|n| n.parse::<u32>().ok()) else { continue };
        if piece >= count {
            continue;
        }
        let Ok(file) = file_of(&handle.unchecked_into()).await else { continue };
        let intact =
            file.size() == manifest.piece_len(piece) as f64 && sha256_matches(&file, manifest.piece_hash(piece)).await;
        if intact {
            have.set(piece);
            source.stored(piece, Piece::Blob(file.into()));
        } else {
            damaged.push(piece);
            let _ = JsFuture::from(dir.remove_entry(&name)).await;
        }
    }
    if let Some(data) = data {
        // Every piece's range of the data file that has its hash; a range never written reads as zeros and does
        // not, and a damaged one is simply written again.
        let piece_size = u64::from(manifest.piece_size());
        for piece in 0..count {
            let start = u64::from(piece) * piece_size;
            let end = start + u64::from(manifest.piece_len(piece));
            if have.get(piece) || end as f64 > data.size() {
                continue;
            }
            if let Some(part) = data.slice_with_f64_and_f64(start as f64, end as f64).ok()
                && sha256_matches(&part, manifest.piece_hash(piece)).await
            {
                have.set(piece);
                source.stored(piece, Piece::InDataFile);
            }
        }
        if have.is_full() {
            // Complete: this tab will not write to the data file, so this `File` of it stays readable.
            source.set_data_file(data.into());
        }
    }
    // A damaged piece file whose piece the data file has intact costs nothing: not counted.
    let damaged = damaged.iter().filter(|&&piece| !have.get(piece)).count();
    Ok((Restored { manifest, have, source, selection }, damaged))
}

/// Whether `blob` hashes to `expected`, with the browser's native SHA-256 (no copy into wasm).
async fn sha256_matches(blob: &Blob, expected: Option<&[u8; 32]>) -> bool {
    let Some(expected) = expected else { return false };
    let Ok(buffer) = JsFuture::from(blob.array_buffer()).await else { return false };
    native_sha256(&buffer.unchecked_into()).await.as_ref() == Some(expected)
}

/// SHA-256 of `data` (an `ArrayBuffer` or a typed array) by the browser's `crypto.subtle`: native code, run off
/// the page's thread, several times faster than SHA-256 in wasm. `None` if the browser refuses.
pub async fn native_sha256(data: &js_sys::Object) -> Option<[u8; 32]> {
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    digest_result(subtle.digest_with_str_and_buffer_source("SHA-256", data).ok()?).await
}

/// [`native_sha256`] of bytes in wasm memory, without first copying them into a JS buffer (that copy and its
/// allocation cost the leecher's main thread ~0.2 s per 64 MiB): `digest` takes its own copy of its input before
/// it returns (WebCrypto: "get a copy of the bytes held by the data parameter", a synchronous step), so a view
/// into wasm memory is enough. Nothing runs between making the view and that call; should the memory still have
/// grown (which detaches the view, leaving it empty), the result is `None` rather than the hash of nothing.
pub async fn native_sha256_of(data: &[u8]) -> Option<[u8; 32]> {
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    let view = Uint8Array::new_with_byte_offset_and_length(&memory.buffer(), data.as_ptr() as u32, data.len() as u32);
    let promise = subtle.digest_with_str_and_buffer_source("SHA-256", &view).ok();
    if view.byte_length() as usize != data.len() {
        return None;
    }
    digest_result(promise?).await
}

async fn digest_result(promise: js_sys::Promise) -> Option<[u8; 32]> {
    let digest = Uint8Array::new(&JsFuture::from(promise).await.ok()?);
    let mut out = [0u8; 32];
    (digest.length() == 32).then(|| {
        digest.copy_to(&mut out);
        out
    })
}

/// Name of piece `piece`'s file in its content's directory (the layout at the top of this module).
fn piece_file(piece: u32) -> String {
    format!("p{piece}")
}

async fn open_root() -> Result<FileSystemDirectoryHandle, String> {
    let navigator = web_sys::window().ok_or("no window")?.navigator();
    let storage = Reflect::get(&navigator, &JsValue::from_str("storage")).map_err(|e| describe(&e))?;
    if storage.is_undefined() || !Reflect::has(&storage, &JsValue::from_str("getDirectory")).unwrap_or(false) {
        return Err("navigator.storage.getDirectory is missing".into());
    }
    let root: FileSystemDirectoryHandle =
        JsFuture::from(navigator.storage().get_directory()).await.map_err(|e| describe(&e))?.unchecked_into();
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    let dir =
        JsFuture::from(root.get_directory_handle_with_options(ROOT_DIR, &options)).await.map_err(|e| describe(&e))?;
    Ok(dir.unchecked_into())
}

async fn content_dir(
    root: &FileSystemDirectoryHandle,
    id: &ContentId,
    create: bool,
) -> Result<FileSystemDirectoryHandle, StorageError> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    let dir = JsFuture::from(root.get_directory_handle_with_options(&id.to_string(), &options))
        .await
        .map_err(|e| storage_error(&e))?;
    Ok(dir.unchecked_into())
}

/// Writes `data` as the whole content of file `name` (committed atomically on close) and returns the file.
async fn write_file(dir: &FileSystemDirectoryHandle, name: &str, data: &[u8]) -> Result<File, StorageError> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    let handle: FileSystemFileHandle = JsFuture::from(dir.get_file_handle_with_options(name, &options))
        .await
        .map_err(|e| storage_error(&e))?
        .unchecked_into();
    let writable: FileSystemWritableFileStream =
        JsFuture::from(handle.create_writable()).await.map_err(|e| storage_error(&e))?.unchecked_into();
    let written = match writable.write_with_u8_array(data) {
        Ok(p) => JsFuture::from(p).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        // Abort discards the swap file, so a failed write leaves no partial piece behind.
        let _ = JsFuture::from(writable.abort()).await;
        return Err(storage_error(&e));
    }
    JsFuture::from(writable.close()).await.map_err(|e| storage_error(&e))?;
    file_of(&handle).await
}

/// The content's data file (see the layout above), created if missing.
async fn data_file(dir: &FileSystemDirectoryHandle) -> Result<File, StorageError> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    let handle = JsFuture::from(dir.get_file_handle_with_options(DATA_FILE, &options)).await;
    file_of(&handle.map_err(|e| storage_error(&e))?.unchecked_into()).await
}

async fn file_of(handle: &FileSystemFileHandle) -> Result<File, StorageError> {
    Ok(JsFuture::from(handle.get_file()).await.map_err(|e| storage_error(&e))?.unchecked_into())
}

/// The `(name, handle)` entries of a directory; an unreadable directory yields none.
async fn entries(dir: &FileSystemDirectoryHandle) -> Vec<(String, JsValue)> {
    let iterator = dir.entries();
    let mut out = Vec::new();
    loop {
        let Ok(promise) = iterator.next() else { break };
        let Ok(step) = JsFuture::from(promise).await else { break };
        let done = Reflect::get(&step, &JsValue::from_str("done")).map(|d| d.is_truthy()).unwrap_or(true);
        if done {
            break;
        }
        let Ok(pair) = Reflect::get(&step, &JsValue::from_str("value")) else { break };
        let pair = Array::from(&pair);
        if let Some(name) = pair.get(0).as_string() {
            out.push((name, pair.get(1)));
        }
    }
    out
}
