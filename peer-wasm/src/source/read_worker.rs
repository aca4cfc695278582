//! The page's side of `www/read-worker.js`: block reads (`Blob.slice` + `arrayBuffer`) done by a dedicated worker,
//! off the page's thread.
//!
//! On the page's thread a `slice` is a synchronous round trip to the browser process: a seeder's profile showed
//! `slice` 1.7 s and `arrayBuffer` 0.5 s of main-thread time per 64 MiB served (512 blocks; ~3.4 ms a slice while
//! the browser process was busy sending), with the main thread ~85 % busy. Here the page posts the request (the
//! `Blob` goes by reference) and gets the bytes back transferred, not copied.
//!
//! One worker per page, started on the first read. Every request is answered by one message with its id; answers
//! settle a `Promise` kept per id (at most the reads in flight). A worker that cannot start, or whose script fails,
//! makes every waiting and later read come back [`Outcome::Unavailable`]: the caller reads on the page's thread.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{ArrayBuffer, Function, Object, Promise, Reflect};
use swarm::VecMap;
use swarm::swarm::StorageError;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

use super::Range;
use crate::error::describe;

/// The worker's script, next to the page.
const SCRIPT: &str = "read-worker.js";

/// How a read ended.
#[derive(Debug)]
pub enum Outcome {
    Done(ArrayBuffer),
    Failed(StorageError),
    /// No worker: read on the page's thread.
    Unavailable,
}

thread_local! {
    /// The page's read worker: `None` until the first read, then started (or found unavailable) once.
    static WORKER: RefCell<Option<Option<Rc<ReadWorker>>>> = const { RefCell::new(None) };
}

/// Reads `range` in the page's read worker.
pub async fn read(range: &Range) -> Outcome {
    let worker = WORKER.with(|slot| slot.borrow_mut().get_or_insert_with(|| ReadWorker::start().map(Rc::new)).clone());
    match worker {
        Some(worker) => worker.read(range).await,
        None => Outcome::Unavailable,
    }
}

/// A running read worker.
#[derive(Debug)]
struct ReadWorker {
    worker: Worker,
    state: Rc<State>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

#[derive(Debug, Default)]
struct State {
    next_id: Cell<u32>,
    /// `resolve`/`reject` of each read not answered yet.
    waiting: RefCell<VecMap<u32, (Function, Function)>>,
    /// Set once the worker failed; nothing more is sent to it.
    broken: Cell<bool>,
}

impl State {
    fn settle(&self, id: u32, answer: Result<JsValue, JsValue>) {
        let Some((resolve, reject)) = self.waiting.borrow_mut().remove(&id) else { return };
        let _ = match answer {
            Ok(value) => resolve.call1(&JsValue::NULL, &value),
            Err(error) => reject.call1(&JsValue::NULL, &error),
        };
    }
}

impl ReadWorker {
    fn start() -> Option<ReadWorker> {
        let worker = Worker::new(SCRIPT).ok()?;
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
                    state.settle(id as u32, Ok(get("buffer")));
                } else {
                    state.settle(id as u32, Err(error));
                }
            })
        };
        let on_error = {
            let state = Rc::clone(&state);
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                web_sys::console::warn_1(
                    &format!("the read worker failed ({}); blocks are read on the page's thread", describe(&event))
                        .into(),
                );
                state.broken.set(true);
                // Every waiting read is retried on the page's thread (see `read`).
                let waiting: Vec<u32> = state.waiting.borrow().keys().copied().collect();
                for id in waiting {
                    state.settle(id, Ok(JsValue::UNDEFINED));
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(ReadWorker { worker, state, _on_message: on_message, _on_error: on_error })
    }

    async fn read(&self, range: &Range) -> Outcome {
        if self.state.broken.get() {
            return Outcome::Unavailable;
        }
        let id = self.state.next_id.get();
        self.state.next_id.set(id.wrapping_add(1));
        let request = Object::new();
        set(&request, "id", &id.into());
        set(&request, "blob", &range.blob);
        set(&request, "start", &(range.start as f64).into());
        set(&request, "end", &(range.end as f64).into());
        let mut slot = None;
        let promise = Promise::new(&mut |resolve, reject| slot = Some((resolve, reject)));
        let Some(pair) = slot else { return Outcome::Unavailable };
        self.state.waiting.borrow_mut().insert(id, pair);
        if self.worker.post_message(&request).is_err() {
            self.state.waiting.borrow_mut().remove(&id);
            return Outcome::Unavailable;
        }
        match JsFuture::from(promise).await {
            // A broken worker answers its waiting reads with `undefined`: read them on the page's thread.
            Ok(value) => match value.dyn_into::<ArrayBuffer>() {
                Ok(buffer) => Outcome::Done(buffer),
                Err(_) if self.state.broken.get() => Outcome::Unavailable,
                Err(_) => Outcome::Failed(StorageError::Other("the read worker answered without bytes".into())),
            },
            Err(e) => Outcome::Failed(StorageError::Other(format!("read failed: {}", describe(&e)))),
        }
    }
}

impl Drop for ReadWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}
