//! The page's side of `www/storage-worker.js`: a download's pieces written at their offsets into one data file
//! that a dedicated worker keeps open with a synchronous access handle, off the page's thread; reads of that file
//! while it is written; its `File` when the download is complete; removing a download.
//!
//! Writing a piece with `createWritable` on the page's thread cost the leecher ~1.7 s of main-thread time per
//! 64 MiB (the stream's `write`, `close`, `getFileHandle`, `getFile`): time not spent receiving. One file per piece
//! written by a worker still cost the browser process ~2.4 CPU-seconds per 64 MiB; writes into one open file cost
//! under 0.1 (BENCHMARKS.md, browser-opfs). Here the page only copies the piece out of wasm memory once and posts it
//! (the buffer is transferred, not copied again).
//!
//! Requests and answers go through [`WorkerClient`]. A worker that cannot do the job (no synchronous access
//! handles, or its script failed to load) makes every waiting and later request come back
//! [`Outcome::Unavailable`], and the caller does the work on the page's thread instead. A data file another tab
//! has open (its worker's handle is an exclusive lock) fails the request with a message saying so: one tab stores a
//! download, and the others stop it.

use std::cell::Cell;

use js_sys::{Array, ArrayBuffer, Object, Uint8Array};
use swarm::swarm::StorageError;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::File;

use crate::error::{describe, js_error_name, storage_error};
use crate::worker_client::{Answer, Outcome, WorkerClient, set_field as set};

/// The worker's script, next to the page.
const SCRIPT: &str = "storage-worker.js";
/// The error name the worker answers with when it cannot do the job at all.
const UNSUPPORTED: &str = "NotSupportedError";
/// The error name of a data file another tab (of the same browser profile) has open.
const LOCKED: &str = "NoModificationAllowedError";

/// A running storage worker.
#[derive(Debug)]
pub struct StorageWorker {
    client: WorkerClient,
    /// Pieces it wrote.
    written: Cell<u64>,
}

impl StorageWorker {
    /// Starts the worker; `None` where the page cannot start one (the caller then writes on its own thread).
    pub fn start() -> Option<StorageWorker> {
        let client = WorkerClient::start(SCRIPT, "value", "storage worker", "pieces are written on the page's thread")?;
        Some(StorageWorker { client, written: Cell::new(0) })
    }

    /// Writes `data` at byte `offset` of the data file of content directory `dir`; with `expected`, only if the
    /// SHA-256 of `data` is `expected`. Done with whether it wrote (false: the hash did not match).
    pub async fn write(&self, dir: &str, offset: u64, data: &[u8], expected: Option<&[u8; 32]>) -> Outcome<bool> {
        // The one copy out of wasm memory, into a buffer the worker handed back if there is one; the buffer is then
        // transferred to the worker, which hands it back with its answer.
        let buffer = self.client.take_spare(data.len() as u32).unwrap_or_else(|| ArrayBuffer::new(data.len() as u32));
        Uint8Array::new(&buffer).copy_from(data);
        let request = Object::new();
        set(&request, "op", &"write".into());
        set(&request, "dir", &dir.into());
        set(&request, "offset", &(offset as f64).into());
        set(&request, "data", &buffer);
        if let Some(expected) = expected {
            set(&request, "expected", &Uint8Array::from(&expected[..]).buffer());
        }
        self.request(request, &Array::of1(&buffer)).await.and_then(|wrote| {
            let wrote = wrote.as_bool().ok_or_else(|| bad_answer("write"))?;
            if wrote {
                self.written.set(self.written.get() + 1);
            }
            Ok(wrote)
        })
    }

    /// `len` bytes at `offset` of the data file of content directory `dir`.
    pub async fn read(&self, dir: &str, offset: u64, len: u32) -> Outcome<ArrayBuffer> {
        let request = Object::new();
        set(&request, "op", &"read".into());
        set(&request, "dir", &dir.into());
        set(&request, "offset", &(offset as f64).into());
        set(&request, "length", &len.into());
        self.request(request, &Array::new()).await.and_then(|buffer| {
            buffer.dyn_into::<ArrayBuffer>().ok().filter(|b| b.byte_length() == len).ok_or_else(|| bad_answer("read"))
        })
    }

    /// The data file of content directory `dir` as a `File`, once the writes started before are done (readable for
    /// as long as nothing writes to the file: the worker opens it first if it can, so no other tab can).
    pub async fn finish(&self, dir: &str) -> Outcome<File> {
        let request = Object::new();
        set(&request, "op", &"finish".into());
        set(&request, "dir", &dir.into());
        self.request(request, &Array::new())
            .await
            .and_then(|file| file.dyn_into::<File>().map_err(|_| bad_answer("finish")))
    }

    /// Makes the data file of content directory `dir` `size` bytes long (see storage-worker.js): a browser that
    /// cannot hold that much answers with a quota error now, before any piece.
    pub async fn reserve(&self, dir: &str, size: u64) -> Outcome<()> {
        let request = Object::new();
        set(&request, "op", &"reserve".into());
        set(&request, "dir", &dir.into());
        set(&request, "size", &(size as f64).into());
        self.request(request, &Array::new()).await.and_then(|_| Ok(()))
    }

    /// Whether it has written pieces and can write more.
    pub fn working(&self) -> bool {
        self.written.get() > 0 && !self.client.is_broken()
    }

    /// Deletes content directory `dir` once every write started before has finished.
    pub async fn remove(&self, dir: &str) -> Outcome<()> {
        let request = Object::new();
        set(&request, "op", &"remove".into());
        set(&request, "dir", &dir.into());
        self.request(request, &Array::new()).await.and_then(|_| Ok(()))
    }

    async fn request(&self, request: Object, transfer: &Array) -> Outcome<JsValue> {
        match self.client.request(&request, transfer).await {
            Answer::Value(value) => Outcome::Done(value),
            Answer::Broken => Outcome::Unavailable,
            Answer::Error(e) => match js_error_name(&e).as_deref() {
                Some(UNSUPPORTED) => {
                    if !self.client.set_broken() {
                        web_sys::console::warn_1(
                            &format!(
                                "the storage worker cannot write ({}); pieces are written on the page's thread",
                                describe(&e)
                            )
                            .into(),
                        );
                    }
                    Outcome::Unavailable
                }
                // One tab stores a download (the open data file is its lock); this one stops it.
                Some(LOCKED) => Outcome::Failed(StorageError::Other(
                    "this download is open in another tab of this browser, which stores it; go on there, or close \
                     that tab and open the link here again"
                        .into(),
                )),
                _ => Outcome::Failed(storage_error(&e)),
            },
        }
    }
}

fn bad_answer(op: &str) -> StorageError {
    StorageError::Other(format!("the storage worker's answer to a {op} is not what was asked for"))
}
