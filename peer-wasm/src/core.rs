//! [`Core`]: all the state of one page's peer, and the run loop that drives each content's swarm.
//!
//! Every browser callback (WebSocket, RTCPeerConnection, RTCDataChannel, timers, storage promises) enters through
//! [`with_core`], which borrows the state, runs the handler, and only after releasing the borrow delivers the
//! events queued for the page, so a page handler may call back into the [`crate::Client`] safely.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use swarm::id::ContentId;
use swarm::signal::{IceServer, PeerId, PeerRequest, SwarmName};
use swarm::swarm::StorageError;
use swarm::wire::{self, Message};
use swarm::{Config, ConnId, Event, Input, OpId, Output, VecMap};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::channel::Channel;
use crate::clock;
use crate::content::{
    Content, MAX_PENDING_READS, MAX_READS_IN_FLIGHT, MAX_WRITES_IN_FLIGHT, PendingRead, PendingWrite, Role, Timer,
};
use crate::discovery::Network;
use crate::error::ErrorKind;
use crate::events::UiEvent;
use crate::peer::Peer;
use crate::piece_map::PieceMap;
use crate::signaling::Signaling;
use crate::source::{self, Piece, Source};
use crate::storage::{MEMORY_LIMIT, Outcome, Storage, native_sha256_of};

pub type CoreRef = Rc<RefCell<Core>>;
pub type WeakCore = Weak<RefCell<Core>>;

/// Parked (not yet handed to the browser) bytes across a content's channels above which no new block is read
/// from storage: the swarm's upload queue stays the only real queue.
const PARK_PAUSE_BYTES: usize = 2 * 1024 * 1024;

/// The swarm settings of every content of the page: pieces are hashed by the browser (`Core::hash`).
pub fn swarm_config() -> Config {
    Config { shell_hashes: true, ..Config::default() }
}

/// The page's peer.
#[derive(Debug)]
pub struct Core {
    pub weak: WeakCore,
    /// The page's event callback.
    pub ui: js_sys::Function,
    /// Events waiting for the borrow to end (see [`with_core`]).
    pub events: Vec<UiEvent>,
    pub storage: Storage,
    pub signaling: Signaling,
    /// Our id at the signaling server; changes on every reconnection.
    pub me: Option<PeerId>,
    pub ice_servers: Vec<IceServer>,
    // Sorted-`Vec` maps (bounded by the connection and content limits): less wasm than a `HashMap` per type.
    pub peers: VecMap<PeerId, Peer>,
    pub channels: VecMap<ConnId, Channel>,
    pub contents: VecMap<ContentId, Content>,
    /// The discovery network (announce and search).
    pub network: Network,
    next_conn: u64,
}

thread_local! {
    static REPORTED_REENTRY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on the state if the page still has it, then delivers queued events. A re-entrant call (a bug) is
/// logged and dropped rather than panicking.
pub fn with_core<R>(weak: &WeakCore, f: impl FnOnce(&mut Core) -> R) -> Option<R> {
    // Generic only around `f`: this function has one copy per callback (about 30), so the rest is out of line.
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
    pub fn new(ui: js_sys::Function, storage: Storage, signaling_url: String, network: Network) -> CoreRef {
        Rc::new_cyclic(|weak| {
            RefCell::new(Core {
                weak: weak.clone(),
                ui,
                events: Vec::new(),
                storage,
                signaling: Signaling::new(signaling_url),
                me: None,
                ice_servers: Vec::new(),
                peers: VecMap::new(),
                channels: VecMap::new(),
                contents: VecMap::new(),
                network,
                next_conn: 0,
            })
        })
    }

    pub fn emit(&mut self, event: UiEvent) {
        self.events.push(event);
    }

    pub fn emit_error(&mut self, id: Option<ContentId>, kind: ErrorKind, message: impl Into<String>) {
        self.emit(UiEvent::Error { id: id.map(|i| i.to_string()), kind: kind.as_str(), message: message.into() });
    }

    pub fn next_conn_id(&mut self) -> ConnId {
        self.next_conn += 1;
        ConnId(self.next_conn)
    }

    /// Adds a content and announces it to the page and the signaling server.
    pub fn add_content(&mut self, content: Content) {
        let id = content.id;
        let manifest = content.swarm.manifest();
        self.emit(UiEvent::Added {
            id: id.to_string(),
            role: content.role.as_str(),
            name: manifest.map(|m| m.name().to_owned()),
            size: manifest.map(|m| m.size()),
            pieces: manifest.map(|m| m.piece_count()),
        });
        self.contents.insert(id, content);
        self.join_swarm(id);
        self.drive(id);
        self.emit_stats(id);
        self.network_share(id);
    }

    pub fn join_swarm(&mut self, id: ContentId) {
        if let Ok(swarm) = SwarmName::parse(&id.to_string()) {
            self.signaling.send(&PeerRequest::Join { swarm });
        }
    }

    /// Stops a content: goodbye to its peers, leave its swarm, close its channels, forget it.
    pub fn stop_content(&mut self, id: ContentId) {
        if let Some(content) = self.contents.get_mut(&id) {
            content.swarm.handle_input(clock::now(), Input::Stop);
        }
        self.drive(id);
        let conns: Vec<ConnId> = self.channels.values().filter(|c| c.content == id).map(|c| c.conn).collect();
        for conn in conns {
            self.close_channel(conn);
        }
        if let Ok(swarm) = SwarmName::parse(&id.to_string()) {
            self.signaling.send(&PeerRequest::Leave { swarm });
        }
        self.network_unshare(id);
        if let Some(mut content) = self.contents.remove(&id)
            && let Some(timer) = content.timer.take()
        {
            clear_timeout(timer.handle);
        }
        self.emit(UiEvent::Removed { id: id.to_string() });
    }

    /// Feeds one input to a content's swarm and runs its loop.
    pub fn input(&mut self, id: ContentId, input: Input<'_>) {
        let Some(content) = self.contents.get_mut(&id) else { return };
        content.swarm.handle_input(clock::now(), input);
        self.drive(id);
    }

    /// The run loop's second and third steps: drain the outputs, then arm the timer.
    pub fn drive(&mut self, id: ContentId) {
        while let Some(output) = self.contents.get_mut(&id).and_then(|c| c.swarm.poll_output()) {
            self.execute(id, output);
        }
        self.start_reads(id);
        self.arm_timer(id);
    }

    fn execute(&mut self, id: ContentId, output: Output) {
        match output {
            Output::Send { conn, bytes } => {
                self.note_request(id, &bytes);
                if let Some(channel) = self.channels.get_mut(&conn)
                    && channel.send(bytes).is_err()
                {
                    // A peer that does not read what it asked for is closed rather than buffered.
                    self.close_channel(conn);
                    self.input(id, Input::PeerDisconnected { conn });
                }
            }
            Output::Close { conn } => self.close_channel(conn),
            Output::Read { op, offset, len, headroom } => {
                let Some(content) = self.contents.get_mut(&id) else { return };
                if content.pending_reads.len() >= MAX_PENDING_READS {
                    let result = Err(StorageError::Other("too many reads waiting".into()));
                    content.swarm.handle_input(clock::now(), Input::ReadDone { op, result });
                } else {
                    content.pending_reads.push_back(PendingRead { op, offset, len, headroom });
                }
            }
            Output::Write { op, offset, data } => self.write(id, op, offset, data),
            Output::Hash { op, offset, data } => self.hash(id, op, offset, data),
            Output::Event(event) => self.on_swarm_event(id, event),
        }
    }

    /// Tracks requests this page sends, for the piece map's "in flight" state.
    fn note_request(&mut self, id: ContentId, bytes: &[u8]) {
        let Some(content) = self.contents.get_mut(&id) else { return };
        if content.role == Role::Download
            && !content.piece_map.is_empty()
            && let Ok(Message::Request { piece, .. }) = wire::decode(bytes)
        {
            content.piece_map.requested(piece);
        }
    }

    /// Starts waiting reads while the content's channels accept more data.
    pub fn start_reads(&mut self, id: ContentId) {
        let parked: usize = self.channels.values().filter(|c| c.content == id).map(|c| c.parked_bytes).sum();
        let Some(content) = self.contents.get_mut(&id) else { return };
        while content.reads_in_flight < MAX_READS_IN_FLIGHT && parked < PARK_PAUSE_BYTES {
            let Some(read) = content.pending_reads.pop_front() else { break };
            content.reads_in_flight += 1;
            let range = content.source.range(read.offset, read.len);
            let weak = self.weak.clone();
            let storage = self.storage.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = match range {
                    Ok(range) => source::read(&storage, id, range, read.len, read.headroom).await,
                    Err(e) => Err(e),
                };
                with_core(&weak, |core| {
                    if let Some(content) = core.contents.get_mut(&id) {
                        content.reads_in_flight = content.reads_in_flight.saturating_sub(1);
                    }
                    core.input(id, Input::ReadDone { op: read.op, result });
                });
            });
        }
    }

    /// Hashes a complete piece with the browser's SHA-256 (`crypto.subtle`, off the page's thread: SHA-256 in
    /// wasm was the leecher's largest single cost); the swarm compares the digest with the manifest. The swarm
    /// keeps a piece being hashed among its pieces in flight, which bounds how many run at once. If the browser
    /// refuses, the piece goes back without a digest and the swarm hashes it itself.
    ///
    /// With the storage worker, the worker hashes the piece and, if it matches the manifest, stores it in the same
    /// step (one copy out of wasm memory instead of two, nothing of it on the page's thread); the `Output::Write`
    /// that follows is then answered from what it stored (see [`Core::write`]). A mismatch goes back without a
    /// digest: the swarm hashes the piece itself and finds it (only a lying or broken peer costs that).
    fn hash(&self, id: ContentId, op: OpId, offset: u64, data: Vec<u8>) {
        let weak = self.weak.clone();
        let target = self.contents.get(&id).and_then(|c| c.swarm.manifest()).and_then(|m| {
            let piece = u32::try_from(offset / u64::from(m.piece_size())).ok()?;
            let whole = offset.is_multiple_of(u64::from(m.piece_size())) && data.len() == m.piece_len(piece) as usize;
            whole.then_some((piece, *m.piece_hash(piece)?))
        });
        let storage = self.storage.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some((piece, expected)) = target {
                match storage.verify_and_write(id, offset, &expected, &data).await {
                    Outcome::Done(stored) => {
                        with_core(&weak, |core| {
                            if stored && let Some(content) = core.contents.get_mut(&id) {
                                content.stored_early.insert(piece, Piece::InDataFile);
                            }
                            let digest = stored.then_some(expected);
                            core.input(id, Input::HashDone { op, data, digest });
                        });
                        return;
                    }
                    // A write that failed is tried again, and reported, by the `Output::Write` that follows.
                    Outcome::Failed(_) | Outcome::Unavailable => {}
                }
            }
            let digest = native_sha256_of(&data).await;
            with_core(&weak, |core| core.input(id, Input::HashDone { op, data, digest }));
        });
    }

    fn write(&mut self, id: ContentId, op: OpId, offset: u64, data: Vec<u8>) {
        let Some(content) = self.contents.get(&id) else { return };
        let Some(manifest) = content.swarm.manifest() else { return };
        let piece_size = manifest.piece_size() as u64;
        let piece = u32::try_from(offset / piece_size).unwrap_or(u32::MAX);
        if !offset.is_multiple_of(piece_size) || data.len() != manifest.piece_len(piece) as usize {
            let result = Err(StorageError::Other("writes must be whole pieces".into()));
            self.input(id, Input::WriteDone { op, result });
            return;
        }
        let Some(content) = self.contents.get_mut(&id) else { return };
        if let Some(at) = content.stored_early.remove(&piece) {
            // Hashed and stored in one step by the storage worker (see `hash`): already done.
            content.source.stored(piece, at);
            self.input(id, Input::WriteDone { op, result: Ok(()) });
            return;
        }
        content.pending_writes.push_back(PendingWrite { op, piece, offset, data });
        self.start_writes(id);
    }

    /// Starts waiting piece writes while fewer than [`MAX_WRITES_IN_FLIGHT`] are running.
    fn start_writes(&mut self, id: ContentId) {
        let Some(content) = self.contents.get_mut(&id) else { return };
        while content.writes_in_flight < MAX_WRITES_IN_FLIGHT {
            let Some(PendingWrite { op, piece, offset, data }) = content.pending_writes.pop_front() else { break };
            content.writes_in_flight += 1;
            let storage = self.storage.clone();
            let weak = self.weak.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let stored = storage.write_piece(id, piece, offset, &data).await;
                drop(data);
                with_core(&weak, |core| {
                    let result = match stored {
                        Ok(at) => {
                            if let Some(content) = core.contents.get_mut(&id) {
                                content.source.stored(piece, at);
                            }
                            Ok(())
                        }
                        Err(e) => {
                            core.storage_failed(id, &e);
                            Err(e)
                        }
                    };
                    if let Some(content) = core.contents.get_mut(&id) {
                        content.writes_in_flight = content.writes_in_flight.saturating_sub(1);
                    }
                    core.input(id, Input::WriteDone { op, result });
                    core.start_writes(id);
                });
            });
        }
    }

    fn storage_failed(&mut self, id: ContentId, e: &StorageError) {
        let (kind, message) = match e {
            StorageError::Full => (
                ErrorKind::StorageFull,
                "Storage is full: the browser refused to store more of this file. Free some space or remove a \
                 download, then open the link again."
                    .to_owned(),
            ),
            StorageError::Other(m) => (ErrorKind::Storage, format!("Storing this file failed: {m}")),
        };
        if let Some(content) = self.contents.get_mut(&id)
            && content.failed.is_none()
        {
            content.failed = Some(message.clone());
            self.emit_error(Some(id), kind, message);
        }
    }

    fn on_swarm_event(&mut self, id: ContentId, event: Event) {
        match event {
            Event::ManifestKnown(manifest) => {
                // Only news for a download that joined by id; a share or a resumed download had it already.
                let Some(content) = self.contents.get_mut(&id) else { return };
                if !matches!(content.source, Source::Nothing) {
                    return;
                }
                content.source = Source::empty(&manifest);
                content.refresh_piece_map();
                if content.piece_map.len() != manifest.piece_count() as usize {
                    content.piece_map = PieceMap::from_have(&swarm::bitfield::Bitfield::new(manifest.piece_count()));
                }
                self.emit(UiEvent::Manifest {
                    id: id.to_string(),
                    name: manifest.name().to_owned(),
                    size: manifest.size(),
                    pieces: manifest.piece_count(),
                });
                if matches!(self.storage, Storage::Memory) && manifest.size() > MEMORY_LIMIT {
                    let message = format!(
                        "This browser has no private file system, so downloads are kept in memory, up to {} MiB; \
                         this file is {} MiB.",
                        MEMORY_LIMIT >> 20,
                        manifest.size() >> 20
                    );
                    if let Some(content) = self.contents.get_mut(&id) {
                        content.failed = Some(message.clone());
                    }
                    self.emit_error(Some(id), ErrorKind::Storage, message);
                    return;
                }
                let storage = self.storage.clone();
                let weak = self.weak.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(e) = storage.save_manifest(id, &manifest).await {
                        with_core(&weak, |core| core.storage_failed(id, &e));
                        return;
                    }
                    // Warn early when the file will not fit; the download goes on (space may be freed) and a
                    // real quota error stops it.
                    if let Some(available) = storage.available().await
                        && available < manifest.size()
                    {
                        let message = format!(
                            "Storage is almost full: {} needs {} MB but the browser lets this page store only {} MB \
                             more. Free some space or remove a download.",
                            manifest.name(),
                            manifest.size() / 1_000_000,
                            available / 1_000_000
                        );
                        with_core(&weak, |core| core.emit_error(Some(id), ErrorKind::StorageFull, message));
                    }
                });
            }
            Event::PieceVerified { piece } => {
                if let Some(c) = self.contents.get_mut(&id) {
                    c.piece_map.verified(piece);
                }
            }
            Event::PieceFailed { piece } => {
                if let Some(c) = self.contents.get_mut(&id) {
                    c.piece_map.failed(piece);
                }
            }
            Event::Complete => {
                let Some(content) = self.contents.get_mut(&id) else { return };
                if !content.source.needs_data_file() {
                    self.completed(id);
                    return;
                }
                // The data file's `File` is taken (after the writes) and kept first, so that Save can read it the
                // moment the page says complete; until then the content shows as downloading (`Content::state`).
                let storage = self.storage.clone();
                let weak = self.weak.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let finished = storage.finish(id).await;
                    with_core(&weak, |core| {
                        let Some(content) = core.contents.get_mut(&id) else { return };
                        match finished {
                            Ok(file) => {
                                content.source.set_data_file(file);
                                core.completed(id);
                            }
                            Err(e) => core.storage_failed(id, &e),
                        }
                    });
                });
            }
            Event::PeerBanned { conn, reason } => {
                let peer = self.channels.get(&conn).map(|c| c.peer.0.clone()).unwrap_or_default();
                let short: String = peer.chars().take(8).collect();
                self.emit_error(
                    Some(id),
                    ErrorKind::PeerBanned,
                    format!("A peer ({short}) sent corrupt data and was banned: {reason}. The pieces are fetched again from others."),
                );
            }
            Event::PeerReady { .. } => {}
            Event::ReadFailed(e) => {
                self.emit_error(Some(id), ErrorKind::Storage, format!("Reading this file to send it failed: {e}"));
            }
            Event::WriteFailed(e) => self.storage_failed(id, &e),
        }
    }

    /// Tells the page a download is complete (or a share ready) and offers it to the discovery network.
    fn completed(&mut self, id: ContentId) {
        self.emit(UiEvent::Complete { id: id.to_string() });
        self.emit_stats(id);
        self.network_share(id);
    }

    /// Re-arms the content's `setTimeout` to the swarm's next deadline, if it moved.
    fn arm_timer(&mut self, id: ContentId) {
        let Some(content) = self.contents.get_mut(&id) else { return };
        let next = content.swarm.poll_timeout();
        if content.timer.as_ref().map(|t| t.at) == next {
            return;
        }
        if let Some(old) = content.timer.take() {
            clear_timeout(old.handle);
        }
        let Some(at) = next else { return };
        let weak = self.weak.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            with_core(&weak, |core| {
                let Some(content) = core.contents.get_mut(&id) else { return };
                content.timer = None;
                content.swarm.handle_timeout(clock::now());
                core.drive(id);
            });
        });
        let delay = at.saturating_since(clock::now()).as_millis().min(i32::MAX as u128) as i32;
        if let Some(handle) = set_timeout(&callback, delay) {
            content.timer = Some(Timer { handle, at, _callback: callback });
        }
    }

    /// Counters for the page.
    pub fn emit_stats(&mut self, id: ContentId) {
        let Some(content) = self.contents.get(&id) else { return };
        let stats = content.swarm.stats();
        let event = UiEvent::Stats {
            id: id.to_string(),
            state: content.state(&stats),
            downloaded: stats.downloaded_bytes,
            uploaded: stats.uploaded_bytes,
            verified: stats.verified_pieces,
            total: stats.total_pieces,
            peers: stats.peers,
        };
        self.emit(event);
    }

    /// Registers a data channel for `content` with `peer` and returns its connection id.
    pub fn add_channel(&mut self, peer: &PeerId, content: ContentId, dc: web_sys::RtcDataChannel) -> ConnId {
        let conn = self.next_conn_id();
        let channel = Channel::new(self.weak.clone(), conn, peer.clone(), content, dc);
        let open = channel.is_open();
        self.channels.insert(conn, channel);
        if let Some(p) = self.peers.get_mut(peer) {
            p.channels.insert(content, conn);
        }
        if open {
            self.input(content, Input::PeerConnected { conn });
        }
        conn
    }

    /// Closes a channel and forgets it (its handlers are removed, so no event of it arrives later).
    pub fn close_channel(&mut self, conn: ConnId) {
        if let Some(channel) = self.channels.remove(&conn) {
            if let Some(p) = self.peers.get_mut(&channel.peer) {
                p.channels.retain(|_, c| *c != conn);
            }
            channel.close();
        }
    }

    /// A channel closed by the other side or the network: tell its swarm.
    pub fn channel_closed(&mut self, conn: ConnId) {
        if let Some(channel) = self.channels.get(&conn) {
            let content = channel.content;
            let was_open = channel.opened;
            self.close_channel(conn);
            if was_open {
                self.input(content, Input::PeerDisconnected { conn });
            }
        }
    }

    /// Channels of this content, for the per-swarm connection limit.
    pub fn channel_count(&self, id: ContentId) -> usize {
        self.channels.values().filter(|c| c.content == id).count()
    }
}

pub fn set_timeout(callback: &Closure<dyn FnMut()>, delay_ms: i32) -> Option<i32> {
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), delay_ms.max(0))
        .ok()
}

pub fn clear_timeout(handle: i32) {
    if let Some(w) = web_sys::window() {
        w.clear_timeout_with_handle(handle);
    }
}
