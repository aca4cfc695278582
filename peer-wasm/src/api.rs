//! The JavaScript API: [`Client`]. Methods return plain values or Promises; failures are JS
//! `Error`s with a `name` from [`crate::error::ErrorKind`] and a message for the user.

use core::str::FromStr;
use std::cell::Cell;
use std::rc::Rc;

use swarm::discovery::NetworkName;
use swarm::id::ContentId;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{Blob, File};

use crate::core::{Core, CoreRef, search_id_text, with_core};
use crate::error::{Error, ErrorKind};
use crate::events::UiEvent;
use crate::hashing;
use crate::link;
use crate::storage::Storage;

/// How often counters are sent to the page and housekeeping runs, in milliseconds.
const TICK_MS: i32 = 500;

/// The browser peer: shares files, downloads links, reports to the page through one event callback.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Client {
    core: CoreRef,
    next_token: Rc<Cell<u32>>,
    _tick: Closure<dyn FnMut()>,
}

#[wasm_bindgen]
impl Client {
    /// Starts the peer: opens storage, resumes persisted downloads, connects to the signaling server at
    /// `signaling_url` (`ws://host:port/ws`) and joins the discovery network `network` (`default` when absent or
    /// empty; an invalid name is reported as an `invalid_network` error event and the default is used).
    /// `on_event` receives plain objects `{ type, ... }` (see events.rs). Resolves to the `Client`.
    ///
    /// `memory_limit` (bytes) lowers the largest file kept in memory when the browser has no private file system:
    /// the browser tests' setting (`window.p2pTestSettings.memoryLimit`, read by app.js), so a file over it need
    /// not be hundreds of MB.
    pub fn start(
        signaling_url: String,
        on_event: js_sys::Function,
        network: Option<String>,
        memory_limit: Option<f64>,
    ) -> js_sys::Promise {
        future_to_promise(async move {
            let limit = memory_limit.filter(|l| l.is_finite() && *l >= 0.0).map(|l| l as u64);
            let storage = Storage::open(limit).await;
            let (restored, problems) = storage.restore().await;
            let requested = network.filter(|n| !n.is_empty());
            let parsed = requested.as_deref().map(NetworkName::parse);
            let name = parsed.clone().and_then(Result::ok).unwrap_or_default();
            let core = Core::start(on_event, storage, signaling_url, name, restored);
            let weak = Rc::downgrade(&core);
            with_core(&weak, |core| {
                if let (Some(Err(e)), Some(raw)) = (parsed, requested) {
                    let shown: String = raw.chars().take(80).collect();
                    let message = format!(
                        "The network name \"{shown}\" in the address is not valid ({e}); searching the default \
                         network instead."
                    );
                    core.emit_error(None, ErrorKind::InvalidNetwork, message);
                }
                for problem in problems {
                    core.emit_error(None, ErrorKind::Storage, problem);
                }
            });
            let tick = {
                let weak = weak.clone();
                Closure::<dyn FnMut()>::new(move || {
                    with_core(&weak, Core::tick);
                })
            };
            if let Some(w) = web_sys::window() {
                let _ =
                    w.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), TICK_MS);
            }
            Ok(Client { core, next_token: Rc::new(Cell::new(0)), _tick: tick }.into())
        })
    }

    /// `"opfs-worker"`, `"opfs"` or `"memory"`: where downloads are stored (see `Storage::kind`).
    #[wasm_bindgen(js_name = storageKind)]
    pub fn storage_kind(&self) -> String {
        self.core.borrow().storage().kind().to_owned()
    }

    /// Largest download kept in memory when storage is `"memory"`, in bytes.
    #[wasm_bindgen(js_name = memoryLimit)]
    pub fn memory_limit(&self) -> f64 {
        self.core.borrow().storage().max_size() as f64
    }

    /// A token for the next `share` call, so the page can match `hashing` events to the file it shows.
    #[wasm_bindgen(js_name = nextShareToken)]
    pub fn next_share_token(&self) -> u32 {
        let t = self.next_token.get().wrapping_add(1);
        self.next_token.set(t);
        t
    }

    /// Hashes `file` (reporting `hashing` events with `token`) and shares it. Resolves to the content id.
    pub fn share(&self, file: File, token: u32) -> js_sys::Promise {
        let weak = Rc::downgrade(&self.core);
        future_to_promise(async move {
            let size = file.size() as u64;
            let name = file.name();
            let progress_weak = weak.clone();
            let manifest = hashing::manifest_of(&file, |hashed| {
                with_core(&progress_weak, |core| {
                    core.emit(UiEvent::Hashing { token, name: name.clone(), hashed, size });
                });
            })
            .await?;
            let id = manifest.content_id();
            with_core(&weak, |core| core.share(manifest, file.into()));
            Ok(JsValue::from_str(&id.to_string()))
        })
    }

    /// Hashes a folder named `name` (reporting `hashing` events with `token`) and shares it as one link: `paths[i]`
    /// is `files[i]`'s path under the folder (`/` between folders). Several files picked together share this way
    /// too, each at the top. Resolves to the content id; a path the manifest cannot hold is refused, named.
    #[wasm_bindgen(js_name = shareFolder)]
    pub fn share_folder(&self, name: String, paths: Vec<String>, files: js_sys::Array, token: u32) -> js_sys::Promise {
        let weak = Rc::downgrade(&self.core);
        future_to_promise(async move {
            if paths.len() != files.length() as usize {
                return Err(Error::new(ErrorKind::Internal, "one path a file").into());
            }
            let files: Vec<File> = files
                .iter()
                .map(|f| f.dyn_into::<File>())
                .collect::<Result<_, _>>()
                .map_err(|_| Error::new(ErrorKind::Internal, "shareFolder takes File objects"))?;
            let size = files.iter().map(|f| f.size() as u64).sum();
            let progress_weak = weak.clone();
            let shown = name.clone();
            let (manifest, bytes) = hashing::tree_of(&name, paths.into_iter().zip(files).collect(), |hashed| {
                with_core(&progress_weak, |core| {
                    core.emit(UiEvent::Hashing { token, name: shown.clone(), hashed, size });
                });
            })
            .await?;
            let id = manifest.content_id();
            with_core(&weak, |core| core.share(manifest, bytes));
            Ok(JsValue::from_str(&id.to_string()))
        })
    }

    /// Chooses which files of a downloading folder to get (`files`: indices into `files(id)`; every file when
    /// absent): only the pieces they touch are fetched. A folder's download waits for its first choice (its row's
    /// state is `choosing`); a later one changes what is fetched. Throws for one file or an empty choice.
    pub fn choose(&self, id: &str, files: Option<Vec<u32>>) -> Result<(), JsValue> {
        let id = parse_id(id)?;
        with_core(&Rc::downgrade(&self.core), |core| core.choose(id, files))
            .unwrap_or(Ok(()))
            .map_err(|e| Error::new(ErrorKind::Unknown, e).into())
    }

    /// The chosen files of a folder (indices into `files(id)`), or `undefined` when every file is.
    pub fn selection(&self, id: &str) -> Result<Option<Vec<u32>>, JsValue> {
        Ok(self.core.borrow().selection(&parse_id(id)?))
    }

    /// Bytes `offset..offset + size` of content `id` as a `Blob` (a folder's file, for its Save: the stored
    /// pieces by reference). Throws while a piece of it is missing.
    pub fn part(&self, id: &str, offset: f64, size: f64) -> Result<Blob, JsValue> {
        let id = parse_id(id)?;
        let core = self.core.borrow();
        if !core.has(&id) {
            return Err(unknown(id));
        }
        let valid = |n: f64| n.is_finite() && n >= 0.0;
        if !valid(offset) || !valid(size) {
            return Err(Error::new(ErrorKind::Unknown, "offset and size are byte counts").into());
        }
        core.part(&id, offset as u64, size as u64)
            .ok_or_else(|| Error::new(ErrorKind::Storage, "this file is not complete yet").into())
    }

    /// Starts downloading the file of a share link (or a bare content id). Returns the content id; an invalid
    /// link throws an `invalid_link` error. Joining a content already here does nothing.
    pub fn join(&self, link_text: &str) -> Result<String, JsValue> {
        let id = link::parse(link_text).map_err(|m| Error::new(ErrorKind::InvalidLink, m))?;
        with_core(&Rc::downgrade(&self.core), |core| core.download(id));
        Ok(id.to_string())
    }

    /// The page is going away (`pagehide`, not into the back-forward cache): says goodbye to every peer at once.
    pub fn shutdown(&self) {
        with_core(&Rc::downgrade(&self.core), Core::shutdown);
    }

    /// Uploads at most `bytes_per_second`, all files together (from 1 to 4 GB a second); none or 0: no limit.
    /// Downloads are not limited.
    #[wasm_bindgen(js_name = setUploadLimit)]
    pub fn set_upload_limit(&self, bytes_per_second: Option<f64>) {
        let rate = bytes_per_second.filter(|r| r.is_finite() && *r >= 1.0).map(|r| r.min(f64::from(u32::MAX)) as u32);
        with_core(&Rc::downgrade(&self.core), |core| core.set_upload_limit(rate));
    }

    /// Pauses a download: nothing more is requested or received until `resume` (stored pieces stay).
    pub fn pause(&self, id: &str) -> Result<(), JsValue> {
        self.on_content(id, Core::pause)
    }

    /// Resumes a paused download from the pieces it had.
    pub fn resume(&self, id: &str) -> Result<(), JsValue> {
        self.on_content(id, Core::resume)
    }

    /// Tries a failed download again, from the pieces stored before it failed (nothing if it did not fail).
    pub fn retry(&self, id: &str) -> Result<(), JsValue> {
        self.on_content(id, Core::retry)
    }

    /// Lists `id` in search (announced to the discovery network) or unlists it (withdrawn from the neighbours'
    /// answers now). A file is reachable by its link only until listed; only a complete one can be. The page hears
    /// a `listed` event with the state that holds.
    #[wasm_bindgen(js_name = setListed)]
    pub fn set_listed(&self, id: &str, listed: bool) -> Result<(), JsValue> {
        let id = parse_id(id)?;
        with_core(&Rc::downgrade(&self.core), |core| core.set_listed(id, listed))
            .unwrap_or(Ok(()))
            .map_err(|e| Error::new(ErrorKind::Unknown, e).into())
    }

    /// Stops sharing or downloading `id` (goodbye to its peers); stored pieces stay for a later visit.
    pub fn stop(&self, id: &str) -> Result<(), JsValue> {
        self.on_content(id, Core::stop)
    }

    /// Stops `id` and deletes what is stored for it. Resolves when done.
    pub fn remove(&self, id: &str) -> js_sys::Promise {
        let weak = Rc::downgrade(&self.core);
        let id = parse_id(id);
        future_to_promise(async move {
            let id = id?;
            let storage = with_core(&weak, |core| {
                core.stop(id);
                core.storage().clone()
            });
            if let Some(storage) = storage {
                storage.remove(id).await.map_err(|e| Error::new(ErrorKind::Storage, e.to_string()))?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The complete file `id` as a `Blob` (for Save: the stored pieces by reference, not a copy).
    pub fn file(&self, id: &str) -> Result<Blob, JsValue> {
        let id = parse_id(id)?;
        let core = self.core.borrow();
        if !core.has(&id) {
            return Err(unknown(id));
        }
        core.file(&id).ok_or_else(|| Error::new(ErrorKind::Storage, "the file is not complete yet").into())
    }

    /// Searches the discovery network for `text`. Returns the search id; results arrive as `search-result`
    /// events carrying it, and keep arriving while the search is active (10 minutes), also from neighbours that
    /// connect later. A text with no letter or digit throws an `empty_query` error.
    pub fn search(&self, text: &str) -> Result<String, JsValue> {
        match with_core(&Rc::downgrade(&self.core), |core| core.search(text)) {
            Some(Ok(id)) => Ok(search_id_text(id)),
            Some(Err(e)) => Err(Error::new(ErrorKind::EmptyQuery, e.to_string()).into()),
            None => Err(Error::new(ErrorKind::Internal, "the peer is not running").into()),
        }
    }

    /// The name of the discovery network this page is in.
    pub fn network(&self) -> String {
        self.core.borrow().network()
    }

    /// How many discovery neighbours the page has now (also sent as `network` events when it changes).
    pub fn neighbours(&self) -> u32 {
        self.core.borrow().neighbours() as u32
    }

    /// A folder's files, each `[path, size, offset, first piece, end piece]` (the file's bytes are the content's
    /// from `offset`, `size` long; pieces `first..end` hold them, none for an empty file), in the manifest's order;
    /// empty for a single file or before the manifest.
    pub fn files(&self, id: &str) -> Result<js_sys::Array, JsValue> {
        let id = parse_id(id)?;
        let files = self.core.borrow().files(&id);
        Ok(files
            .into_iter()
            .map(|f| {
                // Sizes and offsets are at most 512 GiB: exact in a JS number.
                let row = js_sys::Array::of3(
                    &JsValue::from_str(&f.path),
                    &JsValue::from_f64(f.size as f64),
                    &JsValue::from_f64(f.offset as f64),
                );
                row.push(&JsValue::from(f.pieces.start));
                row.push(&JsValue::from(f.pieces.end));
                row
            })
            .collect())
    }

    /// One byte a piece (0 missing, 1 in flight, 2 verified) for the piece map; empty before the manifest.
    #[wasm_bindgen(js_name = pieceMap)]
    pub fn piece_map(&self, id: &str) -> Result<Vec<u8>, JsValue> {
        let id = parse_id(id)?;
        Ok(self.core.borrow().piece_map(&id))
    }

    /// The share link of `id` for the app at `origin`.
    pub fn link(origin: &str, id: &str) -> Result<String, JsValue> {
        Ok(link::format(origin, &parse_id(id)?))
    }
}

/// An SVG QR code of `text` (a share link).
impl Client {
    /// Runs a command of the core on content `id` (a content id's text form; anything else throws).
    fn on_content(&self, id: &str, command: fn(&mut Core, ContentId)) -> Result<(), JsValue> {
        let id = parse_id(id)?;
        with_core(&Rc::downgrade(&self.core), |core| command(core, id));
        Ok(())
    }
}

fn parse_id(id: &str) -> Result<ContentId, JsValue> {
    ContentId::from_str(id).map_err(|e| Error::new(ErrorKind::Unknown, format!("not a content id: {e}")).into())
}

fn unknown(id: ContentId) -> JsValue {
    Error::new(ErrorKind::Unknown, format!("no file {id} here")).into()
}
