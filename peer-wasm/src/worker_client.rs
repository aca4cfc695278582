//! [`WorkerClient`]: a dedicated worker that answers requests by id, the plumbing shared by the storage worker
//! ([`crate::storage_worker`]) and the read worker (`source/read_worker.rs`).
//!
//! Every request gets a fresh `id` and is answered by one message `{ id, <field> }` or `{ id, error }`; each
//! answer settles a `Promise` kept per id (at most the requests in flight, which the callers bound). A worker that
//! fails (its script does not load, or it throws) is marked broken and terminated: every waiting request comes back
//! [`Answer::Broken`], nothing more is posted, and the caller does the work on the page's thread.
//!
//! An answer may also carry a `spare` ArrayBuffer (transferred back): a buffer the page posted earlier and the
//! worker is done with. It is kept, up to [`SPARE_BYTES`], for the page's next request of that length
//! ([`WorkerClient::take_spare`]): a fresh 128 KiB buffer per piece cost the leecher's main thread ~8x the copy
//! into it (its allocation and first touch), 66-85 ms against 8-10 ms per 64 MiB in a bench of just that.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, ArrayBuffer, Function, Object, Promise, Reflect};
use swarm::VecMap;
use swarm::swarm::StorageError;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::error::describe;

/// Spare buffers kept for reuse, in bytes at most.
pub const SPARE_BYTES: u32 = 8 * 1024 * 1024;

/// What a broken worker's waiting requests are rejected with (a worker's own errors are objects, never strings).
const BROKEN: &str = "worker-client: the worker is broken";

/// How a storage request to a worker ended, for its callers (the read and storage workers).
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Failed(StorageError),
    /// The worker cannot do this: do it on the page's thread.
    Unavailable,
}

impl<T> Outcome<T> {
    /// `Done(f(value))`, or `Failed` if `f` fails; `Failed` and `Unavailable` pass through.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Result<U, StorageError>) -> Outcome<U> {
        match self {
            Outcome::Done(value) => f(value).map_or_else(Outcome::Failed, Outcome::Done),
            Outcome::Failed(e) => Outcome::Failed(e),
            Outcome::Unavailable => Outcome::Unavailable,
        }
    }
}

/// Sets `key` of a request object.
pub fn set_field(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// How a request ended.
#[derive(Debug)]
pub enum Answer {
    /// The answer's field (`undefined` when it has none).
    Value(JsValue),
    /// The error the worker answered with.
    Error(JsValue),
    /// The worker is broken: do the work on the page's thread.
    Broken,
}

/// A running worker.
#[derive(Debug)]
pub struct WorkerClient {
    worker: Worker,
    state: Rc<State>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

#[derive(Debug, Default)]
struct State {
    next_id: Cell<u32>,
    /// `resolve`/`reject` of each request not answered yet.
    waiting: RefCell<VecMap<u32, (Function, Function)>>,
    /// Set once the worker failed; nothing more is posted to it.
    broken: Cell<bool>,
    /// Buffers the worker handed back, [`SPARE_BYTES`] at most.
    spares: RefCell<Vec<ArrayBuffer>>,
}

impl State {
    fn settle(&self, id: u32, answer: Result<JsValue, JsValue>) {
        let Some((resolve, reject)) = self.waiting.borrow_mut().remove(&id) else { return };
        let _ = match answer {
            Ok(value) => resolve.call1(&JsValue::NULL, &value),
            Err(error) => reject.call1(&JsValue::NULL, &error),
        };
    }

    fn keep_spare(&self, spare: ArrayBuffer) {
        let mut spares = self.spares.borrow_mut();
        let kept: u32 = spares.iter().map(ArrayBuffer::byte_length).sum();
        if kept.saturating_add(spare.byte_length()) <= SPARE_BYTES {
            spares.push(spare);
        }
    }
}

impl WorkerClient {
    /// Starts the classic worker `script` (next to the page), whose answers carry their result in `field`;
    /// `None` where the page cannot start one. If it fails later, "the `name` failed (reason); `fallback`" is
    /// logged.
    pub fn start(
        script: &str,
        field: &'static str,
        name: &'static str,
        fallback: &'static str,
    ) -> Option<WorkerClient> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Classic);
        let worker = Worker::new_with_options(script, &options).ok()?;
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
                if let Ok(spare) = get("spare").dyn_into::<ArrayBuffer>() {
                    state.keep_spare(spare);
                }
                let error = get("error");
                if error.is_undefined() {
                    state.settle(id as u32, Ok(get(field)));
                } else {
                    state.settle(id as u32, Err(error));
                }
            })
        };
        let on_error = {
            let state = Rc::clone(&state);
            let worker = worker.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                web_sys::console::warn_1(&format!("the {name} failed ({}); {fallback}", describe(&event)).into());
                state.broken.set(true);
                // Stopped, so that nothing it was doing lands after the page took over, and the files it had open
                // (the storage worker's data files) are free for the page.
                worker.terminate();
                let waiting: Vec<u32> = state.waiting.borrow().keys().copied().collect();
                for id in waiting {
                    state.settle(id, Err(JsValue::from_str(BROKEN)));
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // An answer that cannot be read names no request: the worker counts as broken, so that none waits forever.
        worker.set_onmessageerror(Some(on_error.as_ref().unchecked_ref()));
        Some(WorkerClient { worker, state, _on_message: on_message, _on_error: on_error })
    }

    pub fn is_broken(&self) -> bool {
        self.state.broken.get()
    }

    /// Marks the worker broken (it said it cannot do the job); true if it already was.
    pub fn set_broken(&self) -> bool {
        self.state.broken.replace(true)
    }

    /// A buffer of `len` bytes the worker handed back, if one is kept (its bytes are whatever it held).
    pub fn take_spare(&self, len: u32) -> Option<ArrayBuffer> {
        let mut spares = self.state.spares.borrow_mut();
        let i = spares.iter().position(|b| b.byte_length() == len)?;
        Some(spares.swap_remove(i))
    }

    /// Posts `request` with a fresh `id` (set on it), transferring `transfer`, and waits for the answer.
    pub async fn request(&self, request: &Object, transfer: &Array) -> Answer {
        if self.is_broken() {
            return Answer::Broken;
        }
        let id = self.state.next_id.get();
        self.state.next_id.set(id.wrapping_add(1));
        set_field(request, "id", &id.into());
        let mut slot = None;
        let promise = Promise::new(&mut |resolve, reject| slot = Some((resolve, reject)));
        let Some(pair) = slot else { return Answer::Broken };
        self.state.waiting.borrow_mut().insert(id, pair);
        if self.worker.post_message_with_transfer(request, transfer).is_err() {
            self.state.waiting.borrow_mut().remove(&id);
            return Answer::Broken;
        }
        match JsFuture::from(promise).await {
            Ok(value) => Answer::Value(value),
            Err(error) if error.as_string().as_deref() == Some(BROKEN) => Answer::Broken,
            Err(error) => Answer::Error(error),
        }
    }
}

impl Drop for WorkerClient {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}
