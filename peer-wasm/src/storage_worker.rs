//! The page's side of `www/storage-worker.js`: piece writes and content removals done by a dedicated worker with
//! synchronous file access handles, off the page's thread.
//!
//! Writing a piece with `createWritable` on the page's thread cost the leecher ~1.7 s of main-thread time per
//! 64 MiB (the stream's `write`, `close`, `getFileHandle`, `getFile`): time not spent receiving. Here the page only
//! copies the piece out of wasm memory once and posts it (the buffer is transferred, not copied again).
//!
//! Requests and answers go through [`WorkerClient`]. A worker that cannot do the job (no synchronous access
//! handles, or its script failed to load) makes every waiting and later request come back
//! [`Outcome::Unavailable`], and the caller does the work on the page's thread instead.

use std::cell::Cell;

use js_sys::{Array, Object, Uint8Array};
use swarm::swarm::StorageError;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Blob;

use crate::error::{describe, js_error_name};
use crate::storage::storage_error;
pub use crate::worker_client::Outcome;
use crate::worker_client::{Answer, WorkerClient, set_field as set};

/// The worker's script, next to the page.
const SCRIPT: &str = "storage-worker.js";
/// The error name the worker answers with when it cannot do the job at all.
const UNSUPPORTED: &str = "NotSupportedError";

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
        let client = WorkerClient::start(SCRIPT, "file", "storage worker", "pieces are written on the page's thread")?;
        Some(StorageWorker { client, written: Cell::new(0) })
    }

    /// Writes `data` as the whole of piece file `name` in content directory `dir`; done with the file as a `Blob`.
    pub async fn write(&self, dir: &str, name: &str, data: &[u8]) -> Outcome<Blob> {
        self.store(dir, name, data, None).await.and_then(|file| file.ok_or_else(no_file))
    }

    /// Hashes `data` and, only if its SHA-256 is `expected`, writes it as piece file `name` in content directory
    /// `dir`: done with the file as a `Blob`, or with `None` when the hash did not match (nothing written).
    pub async fn verify_write(&self, dir: &str, name: &str, expected: &[u8; 32], data: &[u8]) -> Outcome<Option<Blob>> {
        self.store(dir, name, data, Some(expected)).await
    }

    /// `write` (no `expected`) or `verify-write`; `None`: the worker answered without a file (the hash did not
    /// match).
    async fn store(&self, dir: &str, name: &str, data: &[u8], expected: Option<&[u8; 32]>) -> Outcome<Option<Blob>> {
        // The one copy out of wasm memory; the buffer is then transferred to the worker.
        let bytes = Uint8Array::new_with_length(data.len() as u32);
        bytes.copy_from(data);
        let buffer = bytes.buffer();
        let request = Object::new();
        set(&request, "op", &if expected.is_some() { "verify-write" } else { "write" }.into());
        set(&request, "dir", &dir.into());
        set(&request, "name", &name.into());
        set(&request, "data", &buffer);
        if let Some(expected) = expected {
            set(&request, "expected", &Uint8Array::from(&expected[..]).buffer());
        }
        self.request(request, &Array::of1(&buffer)).await.and_then(|file| {
            if file.is_null() {
                return Ok(None);
            }
            let blob = file.dyn_into::<Blob>().map_err(|_| no_file())?;
            self.written.set(self.written.get() + 1);
            Ok(Some(blob))
        })
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
            Answer::Error(e) if js_error_name(&e).as_deref() == Some(UNSUPPORTED) => {
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
            Answer::Error(e) => Outcome::Failed(storage_error(&e)),
        }
    }
}

fn no_file() -> StorageError {
    StorageError::Other("the storage worker answered without a file".into())
}
