//! The page's side of `www/read-worker.js`: block reads (`Blob.slice` + `arrayBuffer`) done by a dedicated worker,
//! off the page's thread.
//!
//! On the page's thread a `slice` is a synchronous round trip to the browser process, which is slow exactly when
//! that process is busy sending, so a seeder's page thread spent most of its time waiting (docs/ARCHITECTURE.md,
//! Throughput). Here the page posts the request (the `Blob` goes by reference) and gets the bytes back
//! transferred, not copied.
//!
//! One worker per page, started on the first read; requests and answers go through [`WorkerClient`]. A worker
//! that cannot start, or whose script fails, makes every waiting and later read come back
//! [`Outcome::Unavailable`]: the caller reads on the page's thread.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, ArrayBuffer, Object};
use swarm::swarm::StorageError;
use wasm_bindgen::JsCast;

use crate::error::describe;
use crate::worker_client::{Answer, Outcome, WorkerClient, set_field as set};
use web_sys::Blob;

/// The worker's script, next to the page.
const SCRIPT: &str = "read-worker.js";

thread_local! {
    /// The page's read worker: `None` until the first read, then started (or found unavailable) once.
    static WORKER: RefCell<Option<Option<Rc<WorkerClient>>>> = const { RefCell::new(None) };
}

/// Reads bytes `start..end` of `blob` in the page's read worker; with the `Blob`'s `key` ([`super::Keyed`]), the
/// worker may answer from a chunk it read ahead.
pub async fn read(blob: &Blob, start: u64, end: u64, key: Option<u32>) -> Outcome<ArrayBuffer> {
    let started = WORKER.with(|slot| {
        slot.borrow_mut()
            .get_or_insert_with(|| {
                WorkerClient::start(SCRIPT, "buffer", "read worker", "blocks are read on the page's thread")
                    .map(Rc::new)
            })
            .clone()
    });
    let Some(worker) = started else { return Outcome::Unavailable };
    let request = Object::new();
    set(&request, "blob", blob);
    set(&request, "start", &(start as f64).into());
    set(&request, "end", &(end as f64).into());
    if let Some(key) = key {
        let kind = if key & super::MANY_FILES != 0 { 'm' } else { 'b' };
        set(&request, "key", &format!("{kind}{}", key & !super::MANY_FILES).into());
    }
    match worker.request(&request, &Array::new()).await {
        Answer::Value(value) => match value.dyn_into::<ArrayBuffer>() {
            Ok(buffer) => Outcome::Done(buffer),
            Err(_) => Outcome::Failed(StorageError::Other("the read worker answered without bytes".into())),
        },
        Answer::Error(e) => Outcome::Failed(StorageError::Other(format!("read failed: {}", describe(&e)))),
        Answer::Broken => Outcome::Unavailable,
    }
}
