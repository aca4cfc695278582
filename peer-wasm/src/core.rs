//! [`Core`]: the page's peer: one [`Node`] (every peer-level rule) and the browser objects that carry out what it
//! decides.
//!
//! The run loop is the node's (see `swarm::node`): feed one input or command, drain [`Node::poll_output`]
//! executing each output, arm one `setTimeout` at [`Node::poll_timeout`]. Every browser callback (WebSocket,
//! RTCPeerConnection, RTCDataChannel, the timer, storage promises) enters through [`with_core`], which borrows the
//! state, runs the handler, and only after releasing the borrow delivers the events queued for the page, so a
//! page handler may call back into the [`crate::Client`] safely.
//!
//! Its parts: `core/net.rs` executes the socket, connection and channel outputs and reports their events;
//! `core/files.rs` executes the storage outputs and turns each content's news into page events.

mod files;
mod net;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use swarm::bitfield::Bitfield;
use swarm::discovery::{NetworkName, SearchId};
use swarm::id::ContentId;
use swarm::manifest::Manifest;
use swarm::node::{self, Event, Input, Node, NodeError, Output};
use swarm::signal::{ErrorCode, PeerId};
use swarm::{ConnId, StorageError, Swarm, VecMap};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Blob;

use crate::channel::Channel;
use crate::clock;
use crate::content::{Content, Role};
use crate::error::ErrorKind;
use crate::events::UiEvent;
use crate::peer::PeerConnection;
use crate::socket::Socket;
use crate::source::{Keyed, Source};
use crate::storage::{Restored, Storage};

pub type CoreRef = Rc<RefCell<Core>>;
pub type WeakCore = Weak<RefCell<Core>>;

/// The node's settings on the page: pieces are hashed by the browser (`core/files.rs`); a download larger than
/// the storage can hold (`max_size`: in memory, [`Storage::max_size`]) fails before its first piece.
fn node_config(network: NetworkName, max_size: u64) -> node::Config {
    let swarm = swarm::Config { shell_hashes: true, max_size, await_storage: true, ..swarm::Config::default() };
    node::Config { swarm, network, ..node::Config::default() }
}

/// A data channel the node knows by its id.
#[derive(Debug)]
struct Wire {
    channel: Channel,
    peer: PeerId,
    /// The content it carries (`None`: discovery), for the storage reads its parked bytes pause.
    content: Option<ContentId>,
    /// The node was told it is open (with its connection's message size).
    opened: bool,
}

/// The armed `setTimeout` for [`Node::poll_timeout`].
#[derive(Debug)]
struct Timer {
    handle: i32,
    at: swarm::time::Instant,
    _callback: Closure<dyn FnMut()>,
}

/// The page's peer.
#[derive(Debug)]
pub struct Core {
    weak: WeakCore,
    node: Node,
    /// The page's event callback.
    ui: js_sys::Function,
    /// Events waiting for the borrow to end (see [`with_core`]).
    events: Vec<UiEvent>,
    storage: Storage,
    socket: Socket,
    // Sorted-`Vec` maps (bounded by the node's limits): less wasm than a `HashMap` per type.
    contents: VecMap<ContentId, Content>,
    peers: VecMap<PeerId, PeerConnection>,
    wires: VecMap<ConnId, Wire>,
    timer: Option<Timer>,
    /// The last [`Content::epoch`] given out.
    epochs: u64,
    /// A TURN refusal was said (once a page).
    turn_refused: bool,
}

thread_local! {
    static REPORTED_REENTRY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on the state if the page still has it, then delivers queued events. A re-entrant call (a bug) is
/// One file of a folder, for the page: its path, size, offset in the content and the pieces holding it.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub path: String,
    pub size: u64,
    pub offset: u64,
    pub pieces: core::ops::Range<u32>,
}

/// logged and dropped rather than panicking.
pub fn with_core<R>(weak: &WeakCore, f: impl FnOnce(&mut Core) -> R) -> Option<R> {
    // Generic only around `f`: this function has one copy per callback, so the rest is out of line.
    let rc = weak.upgrade()?;
    let result = f(&mut *borrow_core(&rc)?);
    deliver_events(&rc);
    Some(result)
}

fn borrow_core(rc: &CoreRef) -> Option<std::cell::RefMut<'_, Core>> {
    let borrowed = rc.try_borrow_mut().ok();
    // After a panic (a trap under panic=abort) the state stays borrowed: say it once, not every tick.
    if borrowed.is_none() && !REPORTED_REENTRY.with(|r| r.replace(true)) {
        web_sys::console::error_1(&"peer-wasm: callback dropped: the state is in use (after a panic?)".into());
    }
    borrowed
}

/// Gives the page the events queued by a handler, after the state's borrow is released.
fn deliver_events(rc: &CoreRef) {
    let Ok(mut core) = rc.try_borrow_mut() else { return };
    let (events, ui) = (std::mem::take(&mut core.events), core.ui.clone());
    drop(core);
    for event in events {
        if let Err(e) = ui.call1(&JsValue::NULL, &event.to_js()) {
            web_sys::console::error_2(&"peer-wasm: the page's event handler threw".into(), &e);
        }
    }
}

impl Core {
    /// The page's peer in network `network`, with the downloads found in storage resumed; it connects to the
    /// signaling server at `signaling_url` at once.
    pub fn start(
        ui: js_sys::Function,
        storage: Storage,
        signaling_url: String,
        network: NetworkName,
        restored: Vec<Restored>,
    ) -> CoreRef {
        let core = Rc::new_cyclic(|weak| {
            let node = Node::new(node_config(network, storage.max_size()), clock::random_u64(), clock::now());
            RefCell::new(Core {
                weak: weak.clone(),
                node,
                ui,
                events: Vec::new(),
                storage,
                socket: Socket::new(signaling_url),
                contents: VecMap::new(),
                peers: VecMap::new(),
                wires: VecMap::new(),
                timer: None,
                epochs: 0,
                turn_refused: false,
            })
        });
        with_core(&Rc::downgrade(&core), |core| {
            core.emit(UiEvent::Signaling { state: core.node.signaling_state().as_str() });
            for r in restored {
                // A download completed on an earlier visit seeds, by its link only (listing is the user's choice,
                // made again on each visit).
                core.resume_restored(r);
            }
            core.drive();
        });
        core
    }

    // Getters, for the JavaScript API.

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    pub fn has(&self, id: &ContentId) -> bool {
        self.contents.contains_key(id)
    }

    /// Whether `id` is here and failed (stopped for a reason the page shows; the node forgot it).
    pub fn is_failed(&self, id: &ContentId) -> bool {
        self.contents.get(id).is_some_and(|c| c.failed.is_some())
    }

    /// The complete file `id` as a `Blob` (the stored pieces by reference); `None` until it is complete.
    pub fn file(&self, id: &ContentId) -> Option<Blob> {
        let content = self.contents.get(id)?;
        let swarm = self.node.swarm(id)?;
        let manifest = swarm.manifest().filter(|_| swarm.is_complete())?;
        content.source.whole(manifest.media_type())
    }

    /// A folder's files (path, size, offset in the content's stream), in the manifest's order; empty for one file
    /// or before the manifest.
    pub fn files(&self, id: &ContentId) -> Vec<FileInfo> {
        let Some(manifest) = self.manifest(id) else { return Vec::new() };
        let info = |(i, f): (usize, &swarm::manifest::FileEntry)| FileInfo {
            path: f.path().to_owned(),
            size: f.size(),
            offset: f.offset(),
            pieces: manifest.pieces_of_file(i),
        };
        manifest.files().iter().enumerate().map(info).collect()
    }

    /// The manifest of `id`, if known: its swarm's, or the one a paused download keeps.
    fn manifest(&self, id: &ContentId) -> Option<&Manifest> {
        let kept = || self.contents.get(id)?.paused.as_ref()?.as_ref().map(|(m, _)| m);
        self.node.swarm(id).and_then(|s| s.manifest()).or_else(kept)
    }

    /// A folder's chosen files (indices into `files`), or `None` when every file is (or for one file).
    pub fn selection(&self, id: &ContentId) -> Option<Vec<u32>> {
        Some(self.contents.get(id)?.selection.as_ref()?.iter_set().collect())
    }

    /// Bytes `offset..offset + len` of a content as a `Blob` (the stored pieces by reference): a file of a folder,
    /// for its Save. `None` while a piece of it is missing.
    pub fn part(&self, id: &ContentId, offset: u64, len: u64) -> Option<Blob> {
        let content = self.contents.get(id)?;
        let manifest = self.manifest(id)?;
        let end = offset.checked_add(len).filter(|&end| end <= manifest.size())?;
        content.source.part(offset, end, "application/octet-stream")
    }

    /// The piece map's bytes of `id` (empty before its manifest).
    pub fn piece_map(&self, id: &ContentId) -> Vec<u8> {
        self.contents.get(id).map(|c| c.piece_map.as_bytes().to_vec()).unwrap_or_default()
    }

    pub fn network(&self) -> String {
        self.node.network().to_string()
    }

    pub fn neighbours(&self) -> usize {
        self.node.neighbours()
    }

    // Commands.

    /// Shares a hashed file.
    pub fn share(&mut self, manifest: Manifest, file: Blob) {
        let id = manifest.content_id();
        if self.has(&id) {
            return;
        }
        // A folder's files are one Blob of many: read in whole chunks (`source::MANY_FILES`).
        let keyed = if manifest.is_tree() { Keyed::of_files(file) } else { Keyed::new(file) };
        let shared = self.node.share(clock::now(), manifest);
        self.added(id, Role::Share, Source::File(keyed), shared);
        self.drive();
    }

    /// Downloads a content known by id (nothing if it is here already, unless it failed or was paused: then it is
    /// retried or resumed).
    pub fn download(&mut self, id: ContentId) {
        if self.is_failed(&id) {
            return self.retry(id);
        }
        if self.contents.get(&id).is_some_and(|c| c.paused.is_some()) {
            return self.resume(id);
        }
        if self.has(&id) {
            return;
        }
        let joined = self.node.download(clock::now(), id);
        self.added(id, Role::Download, Source::Nothing, joined);
        self.drive();
    }

    /// Takes a download stored by an earlier visit (or kept when it failed): its swarm resumes from the verified
    /// pieces with the files its user chose; a folder whose user had not chosen yet waits for the choice.
    fn resume_restored(&mut self, r: Restored) {
        let id = r.manifest.content_id();
        let now = clock::now();
        if r.manifest.is_tree() && r.selection.is_none() && !r.have.is_full() {
            let name = r.manifest.name().to_owned();
            let (size, pieces) = (r.manifest.size(), r.manifest.piece_count());
            let mut content = Content::new_paused(Role::Download, r.source, r.manifest, r.have);
            content.choosing = true;
            self.epochs += 1;
            content.epoch = self.epochs;
            self.emit(UiEvent::Added {
                id: id.to_string(),
                role: Role::Download.as_str(),
                name: Some(name),
                size: Some(size),
                pieces: Some(pieces),
            });
            self.contents.insert(id, content);
            self.halted(id, "choosing");
            return;
        }
        let wanted = r.selection.as_ref().map(|files| r.manifest.pieces_of_files(files.iter_set().map(|f| f as usize)));
        let resumed = self.node.resume(now, r.manifest, r.have);
        if resumed.is_ok() && wanted.is_some() {
            let _ = self.node.select(now, id, wanted);
        }
        self.added(id, Role::Download, r.source, resumed);
        if let Some(content) = self.contents.get_mut(&id) {
            content.selection = r.selection;
        }
    }

    /// The user chose which files of a folder to get (`files`: indices into its manifest's files; all of them
    /// when `None`): only the pieces those files touch are fetched from now on (pieces verified already stay). The
    /// first choice starts the download; a later one changes what is fetched. Kept in storage for a reload.
    pub fn choose(&mut self, id: ContentId, files: Option<Vec<u32>>) -> Result<(), String> {
        let manifest = self.manifest(&id).filter(|m| m.is_tree()).ok_or("only a folder's files can be chosen")?;
        let count = u32::try_from(manifest.files().len()).unwrap_or(u32::MAX);
        let chosen = match files {
            None => Bitfield::full(count),
            Some(files) => {
                let mut chosen = Bitfield::new(count);
                for f in files {
                    if f >= count {
                        return Err(format!("there is no file {f} in this folder of {count} files"));
                    }
                    chosen.set(f);
                }
                chosen
            }
        };
        if chosen.count() == 0 {
            return Err("choose at least one file".into());
        }
        let wanted = (!chosen.is_full()).then(|| manifest.pieces_of_files(chosen.iter_set().map(|f| f as usize)));
        let Some(content) = self.contents.get_mut(&id) else { return Err("no such download".into()) };
        let was_choosing = core::mem::take(&mut content.choosing);
        content.selection = (!chosen.is_full()).then(|| chosen.clone());
        if content.paused.is_some() && was_choosing {
            // Restored before its user chose: it starts now.
            self.resume(id);
        }
        // A paused or failed download has no swarm: the choice is kept and applied when it runs again.
        if self.node.swarm(&id).is_some() {
            let now = clock::now();
            self.node.select(now, id, wanted).map_err(|e| e.to_string())?;
            if was_choosing && self.node.swarm(&id).is_some_and(|s| !s.is_complete()) {
                self.node.handle_input(now, Input::StorageReady { content: id });
            }
        }
        let storage = self.storage.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = storage.save_selection(id, &chosen).await {
                web_sys::console::warn_1(&format!("the chosen files are not kept for a reload: {e}").into());
            }
        });
        self.emit_stats(id);
        self.drive();
        Ok(())
    }

    /// Tries a failed download again (the user's Retry, or its link opened again): from what storage kept of it,
    /// so that only missing pieces are fetched, else from the start. Nothing for a content that did not fail.
    pub fn retry(&mut self, id: ContentId) {
        if !self.is_failed(&id) {
            return;
        }
        let storage = self.storage.clone();
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let restored = storage.restore_content(id).await;
            // Set aside again first (it may have failed for that: a private window).
            if let Some(r) = &restored
                && let Err(StorageError::Full) = storage.reserve(id, r.manifest.size()).await
            {
                let (name, size) = (r.manifest.name().to_owned(), files::megabytes(r.manifest.size()));
                with_core(&weak, |core| core.reserve_refused(id, &name, &size));
                return;
            }
            with_core(&weak, |core| {
                // Removed meanwhile, or retried twice.
                if !core.is_failed(&id) {
                    return;
                }
                core.contents.remove(&id);
                match restored {
                    Some(r) => core.resume_restored(r),
                    None => {
                        let joined = core.node.download(clock::now(), id);
                        core.added(id, Role::Download, Source::Nothing, joined);
                    }
                }
                core.drive();
            });
        });
    }

    /// Pauses a download (the user's Stop on its row): its swarm stops as by [`Core::stop`] (goodbye to its peers,
    /// its channels closed, its swarm left), so nothing more crosses; the row stays, with what it has.
    pub fn pause(&mut self, id: ContentId) {
        let Some(swarm) = self.node.swarm(&id) else { return };
        if swarm.is_complete() || self.contents.get(&id).is_none_or(|c| c.role != Role::Download) {
            return;
        }
        let kept = swarm.manifest().cloned().zip(swarm.have().cloned());
        let stats = swarm.stats();
        let _ = self.node.stop(clock::now(), id);
        if let Some(content) = self.contents.get_mut(&id) {
            content.paused = Some(kept);
            content.last_stats = stats;
        }
        self.halted(id, "paused");
        self.drive();
    }

    /// Resumes a paused download from what it had verified (only the missing pieces are fetched).
    pub fn resume(&mut self, id: ContentId) {
        let Some(content) = self.contents.get_mut(&id).filter(|c| !c.choosing) else { return };
        let Some(kept) = content.paused.take() else { return };
        self.epochs += 1;
        content.epoch = self.epochs;
        let now = clock::now();
        let wanted = content.selection.clone();
        let resumed = match kept {
            Some((manifest, have)) => {
                let wanted = wanted.map(|files| manifest.pieces_of_files(files.iter_set().map(|f| f as usize)));
                self.node.resume(now, manifest, have).and_then(|()| match wanted {
                    Some(wanted) => self.node.select(now, id, Some(wanted)),
                    None => Ok(()),
                })
            }
            None => self.node.download(now, id),
        };
        if let Err(e) = resumed {
            web_sys::console::warn_1(&format!("not resumed: {e}").into());
        }
        self.emit_stats(id);
        self.drive();
    }

    /// Lists or unlists a content in search; says the state that holds either way.
    pub fn set_listed(&mut self, id: ContentId, listed: bool) -> Result<(), String> {
        let result = self.node.set_listed(clock::now(), id, listed).map_err(|e| e.to_string());
        self.emit(UiEvent::Listed { id: id.to_string(), listed: self.node.is_listed(&id) });
        self.drive();
        result
    }

    /// Stops a content: goodbye to its peers, its swarm left, its announcement withdrawn, forgotten here.
    pub fn stop(&mut self, id: ContentId) {
        let _ = self.node.stop(clock::now(), id);
        self.drive();
        self.contents.remove(&id);
        self.emit(UiEvent::Removed { id: id.to_string() });
    }

    /// The page is going away (`pagehide`): goodbye to every peer and every connection closed now, so that they
    /// learn it at once instead of from their timeouts.
    pub fn shutdown(&mut self) {
        self.node.shutdown(clock::now());
        self.drive();
    }

    /// Sets (bytes a second) or lifts the upload limit of every content.
    pub fn set_upload_limit(&mut self, rate: Option<u32>) {
        self.node.set_max_upload_rate(clock::now(), rate);
        self.drive();
    }

    /// Starts a search of the discovery network.
    pub fn search(&mut self, text: &str) -> Result<SearchId, NodeError> {
        let result = self.node.search(clock::now(), text);
        self.drive();
        result
    }

    /// The page's periodic tick: counters for every content.
    pub fn tick(&mut self) {
        let ids: Vec<ContentId> = self.contents.keys().copied().collect();
        for id in ids {
            self.emit_stats(id);
        }
    }

    pub fn emit(&mut self, event: UiEvent) {
        self.events.push(event);
    }

    pub fn emit_error(&mut self, id: Option<ContentId>, kind: ErrorKind, message: impl Into<String>) {
        self.emit(UiEvent::Error { id: id.map(|i| i.to_string()), kind: kind.as_str(), message: message.into() });
    }

    /// Keeps the shell's side of a content the node took (`added`: a share, download or resume command's result)
    /// and tells the page.
    fn added(&mut self, id: ContentId, role: Role, source: Source, added: Result<(), NodeError>) {
        match added {
            Ok(()) => {}
            // The share goes on; only its announcement was refused.
            Err(NodeError::Discovery(e)) => web_sys::console::warn_1(&format!("discovery: {e}").into()),
            Err(e) => return web_sys::console::warn_1(&format!("not added: {e}").into()),
        }
        let Some(swarm) = self.node.swarm(&id) else { return };
        let manifest = swarm.manifest();
        let event = UiEvent::Added {
            id: id.to_string(),
            role: role.as_str(),
            name: manifest.map(|m| m.name().to_owned()),
            size: manifest.map(|m| m.size()),
            pieces: manifest.map(|m| m.piece_count()),
        };
        let mut content = Content::new(role, source, swarm);
        self.epochs += 1;
        content.epoch = self.epochs;
        self.emit(event);
        self.contents.insert(id, content);
        self.emit_stats(id);
    }

    // The run loop.

    /// Feeds one input and runs the loop.
    fn input(&mut self, input: Input<'_>) {
        self.node.handle_input(clock::now(), input);
        self.drive();
    }

    /// The run loop's second and third steps: execute the outputs, then arm the timer. Storage reads the outputs
    /// asked for start here too, as far as back-pressure allows.
    fn drive(&mut self) {
        while let Some(output) = self.node.poll_output() {
            self.execute(output);
        }
        self.start_all_reads();
        self.arm_timer();
    }

    /// Executes one output. Results that are known at once are fed back directly (without a nested loop: the
    /// outputs they cause join the queue being drained).
    fn execute(&mut self, output: Output) {
        match output {
            Output::ConnectSignaling => self.connect_signaling(),
            Output::DisconnectSignaling => self.socket.disconnect(),
            Output::SendToServer(text) => self.socket.send(&text),
            Output::CreatePeer { peer, .. } => self.create_peer(peer),
            Output::MakeOffer { peer } => {
                if let Some(pc) = self.peers.get(&peer) {
                    pc.make_offer();
                }
            }
            Output::AcceptOffer { peer, sdp, .. } => {
                if let Some(pc) = self.peers.get(&peer) {
                    pc.accept_offer(&sdp);
                }
            }
            Output::AcceptAnswer { peer, sdp } => {
                if let Some(pc) = self.peers.get(&peer) {
                    pc.accept_answer(&sdp);
                }
            }
            Output::AddCandidate { peer, candidate, sdp_mid, sdp_m_line_index } => {
                if let Some(pc) = self.peers.get(&peer) {
                    pc.add_candidate(&candidate, sdp_mid.as_deref(), sdp_m_line_index);
                }
            }
            Output::ClosePeer { peer } => self.drop_peer(&peer),
            Output::OpenChannel { peer, conn, label } => self.open_channel(peer, conn, &label),
            Output::Send { conn, bytes } => self.send(conn, bytes),
            Output::CloseChannel { conn } => {
                if let Some(wire) = self.wires.remove(&conn) {
                    wire.channel.close();
                }
            }
            Output::Read { content, op, offset, len, headroom } => self.read(content, op, offset, len, headroom),
            Output::Write { content, op, offset, data } => self.write(content, op, offset, data),
            Output::Hash { content, op, offset, data } => self.hash(content, op, offset, data),
            Output::Event(event) => self.on_event(event),
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Signaling(state) => self.emit(UiEvent::Signaling { state: state.as_str() }),
            Event::ServerError { code, message } => {
                web_sys::console::warn_1(&format!("signaling error {code:?}: {message}").into());
                // A refused relay concerns one remote peer (it left, or has as many messages waiting as it may
                // hold): that connection attempt fails on its own timer and the others go on, so there is nothing
                // for the user to act on.
                if !matches!(code, ErrorCode::PeerBusy | ErrorCode::UnknownPeer) {
                    self.emit_error(None, ErrorKind::Signaling, format!("The signaling server said: {message}"));
                }
            }
            Event::ServerFrameIgnored { why } => {
                web_sys::console::warn_1(&format!("signaling frame ignored: {why}").into());
            }
            Event::Content { content, event } => self.on_content_event(content, event),
            Event::PeerBanned { content, peer, reason } => {
                let short: String = peer.0.chars().take(8).collect();
                self.emit_error(
                    Some(content),
                    ErrorKind::PeerBanned,
                    format!(
                        "A peer ({short}) sent corrupt data and was banned: {reason}. The pieces are fetched again \
                         from others."
                    ),
                );
            }
            Event::Neighbours(neighbours) => {
                self.emit(UiEvent::Network { name: self.node.network().to_string(), neighbours });
            }
            Event::SearchResult { search, entry, score, sources } => self.emit(UiEvent::SearchResult {
                search: search_id_text(search),
                content: entry.content.to_string(),
                name: entry.name,
                size: entry.size,
                media_type: entry.media_type,
                score,
                sources,
            }),
            Event::NeighbourDropped { peer, reason } => {
                web_sys::console::warn_1(&format!("discovery: neighbour {} dropped: {reason}", peer.0).into());
            }
            Event::NegotiationFailed { peer, why } => {
                web_sys::console::warn_1(&format!("connection to {} failed: {why}", peer.0).into());
            }
            // The node says it once a peer; the page shows one message of each text.
            Event::PeerUnreachable { why, .. } => self.emit_error(None, ErrorKind::Unreachable, why.to_string()),
        }
    }

    /// Re-arms the one `setTimeout` to the node's next deadline, if it moved.
    fn arm_timer(&mut self) {
        let next = self.node.poll_timeout();
        if self.timer.as_ref().map(|t| t.at) == next {
            return;
        }
        if let Some(old) = self.timer.take() {
            clear_timeout(old.handle);
        }
        let Some(at) = next else { return };
        let weak = self.weak.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            with_core(&weak, |core| {
                core.timer = None;
                core.node.handle_timeout(clock::now());
                core.drive();
            });
        });
        let delay = at.saturating_since(clock::now()).as_millis().min(i32::MAX as u128) as i32;
        if let Some(handle) = set_timeout(&callback, delay) {
            self.timer = Some(Timer { handle, at, _callback: callback });
        }
    }

    fn swarm(&self, id: &ContentId) -> Option<&Swarm> {
        self.node.swarm(id)
    }
}

/// A search id as the page sees it: 16 hex digits.
pub fn search_id_text(id: SearchId) -> String {
    format!("{:016x}", id.0)
}

fn set_timeout(callback: &Closure<dyn FnMut()>, delay_ms: i32) -> Option<i32> {
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), delay_ms.max(0))
        .ok()
}

fn clear_timeout(handle: i32) {
    if let Some(w) = web_sys::window() {
        w.clear_timeout_with_handle(handle);
    }
}
