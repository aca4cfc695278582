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

use js_sys::{Array, Object, Reflect, Uint8Array};
use swarm::swarm::StorageError;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Blob;

use crate::error::{describe, js_error_name};
use crate::storage::storage_error;
use crate::worker_client::{Answer, WorkerClient};

/// The worker's script, next to the page.
const SCRIPT: &str = "storage-worker.js";
/// The error name the worker answers with when it cannot do the job at all.
const UNSUPPORTED: &str = "NotSupportedError";

/// How a request ended.
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Failed(StorageError),
    /// The worker cannot do this: do it on the page's thread.
    Unavailable,
}

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
        match self.store(dir, name, data, None).await {
            Outcome::Done(Some(blob)) => Outcome::Done(blob),
            Outcome::Done(None) => {
                Outcome::Failed(StorageError::Other("the storage worker answered without a file".into()))
            }
            Outcome::Failed(e) => Outcome::Failed(e),
            Outcome::Unavailable => Outcome::Unavailable,
        }
    }

    /// Hashes `data` and, only if its SHA-256 is `expected`, writes it as piece file `name` in content directory
    /// `dir`: done with the file as a `Blob`, or with `None` when the hash did not match (nothing written).
    pub async fn verify_write(&self, dir: &str, name: &str, expected: &[u8; 32], data: &[u8]) -> Outcome<Option<Blob>> {
        self.store(dir, name, data, Some(expected)).await
    }

    /// `write` (no `expected`) or `verify-write`; `None` only for a hash that did not match.
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
        match self.request(request, &Array::of1(&buffer)).await {
            Outcome::Done(file) if file.is_null() && expected.is_some() => Outcome::Done(None),
            Outcome::Done(file) => match file.dyn_into::<Blob>() {
                Ok(blob) => {
                    self.written.set(self.written.get() + 1);
                    Outcome::Done(Some(blob))
                }
                Err(_) => Outcome::Failed(StorageError::Other("the storage worker answered without a file".into())),
            },
            Outcome::Failed(e) => Outcome::Failed(e),
            Outcome::Unavailable => Outcome::Unavailable,
        }
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
        match self.request(request, &Array::new()).await {
            Outcome::Done(_) => Outcome::Done(()),
            Outcome::Failed(e) => Outcome::Failed(e),
            Outcome::Unavailable => Outcome::Unavailable,
        }
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

fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}
