//! The page's side of `www/storage-worker.js`: piece writes and content removals done by a dedicated worker with
//! synchronous file access handles, off the page's thread.
//!
//! Writing a piece with `createWritable` on the page's thread cost the leecher ~1.7 s of main-thread time per
//! 64 MiB (the stream's `write`, `close`, `getFileHandle`, `getFile`): time not spent receiving. Here the page only
//! copies the piece out of wasm memory once and posts it (the buffer is transferred, not copied again).
//!
//! Every request is answered by one message with its id; answers settle a `Promise` kept per id. A worker that
//! cannot do the job (no synchronous access handles, or its script failed to load) makes every waiting and later
//! request come back [`Outcome::Unavailable`], and the caller does the work on the page's thread instead.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use swarm::VecMap;
use swarm::swarm::StorageError;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::error::{describe, js_error_name};
use crate::storage::storage_error;

/// The worker's script, next to the page.
const SCRIPT: &str = "storage-worker.js";
/// The error name the worker (or this side, for a dead worker) answers with when it cannot do the job at all.
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
    worker: Worker,
    state: Rc<State>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

#[derive(Debug, Default)]
struct State {
    next_id: Cell<u32>,
    /// `resolve`/`reject` of each request not answered yet: at most the writes and removes in flight.
    waiting: RefCell<VecMap<u32, (Function, Function)>>,
    /// Set once the worker proved unable; nothing more is sent to it.
    broken: Cell<bool>,
    /// Pieces it wrote.
    written: Cell<u64>,
}

impl State {
    fn settle(&self, id: u32, answer: Result<JsValue, JsValue>) {
        let Some((resolve, reject)) = self.waiting.borrow_mut().remove(&id) else { return };
        let _ = match answer {
            Ok(value) => resolve.call1(&JsValue::NULL, &value),
            Err(error) => reject.call1(&JsValue::NULL, &error),
        };
    }

    /// The worker is gone or useless: every waiting request is answered "unavailable".
    fn break_down(&self) {
        self.broken.set(true);
        let waiting: Vec<u32> = self.waiting.borrow().keys().copied().collect();
        for id in waiting {
            self.settle(id, Err(unsupported_error()));
        }
    }
}

impl StorageWorker {
    /// Starts the worker; `None` where the page cannot start one (the caller then writes on its own thread).
    pub fn start() -> Option<StorageWorker> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Classic);
        let worker = Worker::new_with_options(SCRIPT, &options).ok()?;
        let state = Rc::new(State::default());
        let on_message = {
            let state = Rc::clone(&state);
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                let get = |key: &str| Reflect::get(&data, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
                let Some(id) = get("id").as_f64().filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= u32::MAX as f64)
                else {
                    return;
                };
                let error = get("error");
                if error.is_undefined() {
                    state.settle(id as u32, Ok(get("file")));
                } else {
                    state.settle(id as u32, Err(error));
                }
            })
        };
        let on_error = {
            let state = Rc::clone(&state);
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                web_sys::console::warn_1(
                    &format!(
                        "the storage worker failed ({}); pieces are written on the page's thread",
                        describe(&event)
                    )
                    .into(),
                );
                state.break_down();
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(StorageWorker { worker, state, _on_message: on_message, _on_error: on_error })
    }

    /// Writes `data` as the whole of piece file `name` in content directory `dir`; done with the file as a `Blob`.
    pub async fn write(&self, dir: &str, name: &str, data: &[u8]) -> Outcome<Blob> {
        // The one copy out of wasm memory; the buffer is then transferred to the worker.
        let bytes = Uint8Array::new_with_length(data.len() as u32);
        bytes.copy_from(data);
        let buffer = bytes.buffer();
        let request = Object::new();
        set(&request, "op", &"write".into());
        set(&request, "dir", &dir.into());
        set(&request, "name", &name.into());
        set(&request, "data", &buffer);
        match self.request(request, &Array::of1(&buffer)).await {
            Outcome::Done(file) => match file.dyn_into::<Blob>() {
                Ok(blob) => {
                    self.state.written.set(self.state.written.get() + 1);
                    Outcome::Done(blob)
                }
                Err(_) => Outcome::Failed(StorageError::Other("the storage worker answered without a file".into())),
            },
            Outcome::Failed(e) => Outcome::Failed(e),
            Outcome::Unavailable => Outcome::Unavailable,
        }
    }

    /// Whether it has written pieces and can write more.
    pub fn working(&self) -> bool {
        self.state.written.get() > 0 && !self.state.broken.get()
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
        if self.state.broken.get() {
            return Outcome::Unavailable;
        }
        let id = self.state.next_id.get();
        self.state.next_id.set(id.wrapping_add(1));
        set(&request, "id", &id.into());
        let mut slot = None;
        let promise = Promise::new(&mut |resolve, reject| slot = Some((resolve, reject)));
        let Some(pair) = slot else { return Outcome::Unavailable };
        self.state.waiting.borrow_mut().insert(id, pair);
        if self.worker.post_message_with_transfer(&request, transfer).is_err() {
            self.state.waiting.borrow_mut().remove(&id);
            return Outcome::Unavailable;
        }
        match JsFuture::from(promise).await {
            Ok(value) => Outcome::Done(value),
            Err(e) if js_error_name(&e).as_deref() == Some(UNSUPPORTED) => {
                if !self.state.broken.replace(true) {
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
            Err(e) => Outcome::Failed(storage_error(&e)),
        }
    }
}

impl Drop for StorageWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

fn unsupported_error() -> JsValue {
    let error = Object::new();
    set(&error, "name", &UNSUPPORTED.into());
    set(&error, "message", &"the storage worker stopped".into());
    error.into()
}
