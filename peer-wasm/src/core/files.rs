//! The storage side of [`Core`]: the reads, writes and hashes the node asks for, answered with
//! `Input::ReadDone`, `WriteDone` and `HashDone`, and what each content's news means for the page.

use swarm::bitfield::Bitfield;
use swarm::id::ContentId;
use swarm::node::Input;
use swarm::swarm::{Failure, Refusal, StorageError};
use swarm::wire::{self, Message};
use swarm::{Event, OpId};

use super::{Core, with_core};
use crate::clock;
use crate::content::{MAX_PENDING_READS, MAX_READS_IN_FLIGHT, MAX_WRITES_IN_FLIGHT, PendingRead, PendingWrite, Role};
use crate::error::ErrorKind;
use crate::events::UiEvent;
use crate::piece_map::PieceMap;
use crate::source::{Piece, Source};
use crate::storage::{Outcome, Storage, native_sha256_of};

/// Parked (not yet handed to the browser) bytes across a content's channels above which no new block is read
/// from storage: the swarm's upload queue stays the only real queue.
const PARK_PAUSE_BYTES: usize = 2 * 1024 * 1024;

impl Core {
    /// A block read the node asked for waits its turn (see [`Core::start_reads`]).
    pub(super) fn read(&mut self, id: ContentId, op: OpId, offset: u64, len: u32, headroom: usize) {
        let Some(content) = self.contents.get_mut(&id) else { return };
        if content.pending_reads.len() >= MAX_PENDING_READS {
            let result = Err(StorageError::Other("too many reads waiting".into()));
            self.node.handle_input(clock::now(), Input::ReadDone { content: id, op, result });
        } else {
            content.pending_reads.push_back(PendingRead { op, offset, len, headroom });
        }
    }

    pub(super) fn start_all_reads(&mut self) {
        let waiting: Vec<ContentId> =
            self.contents.iter().filter(|(_, c)| !c.pending_reads.is_empty()).map(|(id, _)| *id).collect();
        for id in waiting {
            self.start_reads(id);
        }
    }

    /// Starts waiting reads while the content's channels accept more data.
    pub(super) fn start_reads(&mut self, id: ContentId) {
        let parked: usize =
            self.wires.values().filter(|w| w.content == Some(id)).map(|w| w.channel.parked_bytes()).sum();
        let Some(content) = self.contents.get_mut(&id) else { return };
        while content.reads_in_flight < MAX_READS_IN_FLIGHT && parked < PARK_PAUSE_BYTES {
            let Some(read) = content.pending_reads.pop_front() else { break };
            content.reads_in_flight += 1;
            let range = content.source.range(read.offset, read.len);
            let epoch = content.epoch;
            let weak = self.weak.clone();
            let storage = self.storage.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = match range {
                    Ok(range) => storage.read(id, range, read.len, read.headroom).await,
                    Err(e) => Err(e),
                };
                with_core(&weak, |core| {
                    if let Some(content) = core.contents.get_mut(&id) {
                        content.reads_in_flight = content.reads_in_flight.saturating_sub(1);
                    }
                    core.storage_done(id, epoch, Input::ReadDone { content: id, op: read.op, result });
                });
            });
        }
    }

    /// Tracks requests this page sends, for the piece map's "in flight" state.
    pub(super) fn note_request(&mut self, id: ContentId, bytes: &[u8]) {
        let Some(content) = self.contents.get_mut(&id) else { return };
        if content.role == Role::Download
            && !content.piece_map.is_empty()
            && let Ok(Message::Request { piece, .. }) = wire::decode(bytes)
        {
            content.piece_map.requested(piece);
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
    pub(super) fn hash(&self, id: ContentId, op: OpId, offset: u64, data: Vec<u8>) {
        let weak = self.weak.clone();
        let target = self.swarm(&id).and_then(|s| s.manifest()).and_then(|m| {
            let piece = u32::try_from(offset / u64::from(m.piece_size())).ok()?;
            let whole = offset.is_multiple_of(u64::from(m.piece_size())) && data.len() == m.piece_len(piece) as usize;
            whole.then_some((piece, *m.piece_hash(piece)?))
        });
        let storage = self.storage.clone();
        let epoch = self.contents.get(&id).map_or(0, |c| c.epoch);
        wasm_bindgen_futures::spawn_local(async move {
            if let Some((piece, expected)) = target {
                match storage.verify_and_write(id, offset, &expected, &data).await {
                    Outcome::Done(stored) => {
                        with_core(&weak, |core| {
                            if stored && let Some(content) = core.contents.get_mut(&id) {
                                content.stored_early.insert(piece, Piece::InDataFile);
                            }
                            let digest = stored.then_some(expected);
                            core.storage_done(id, epoch, Input::HashDone { content: id, op, data, digest });
                        });
                        return;
                    }
                    // A write that failed is tried again, and reported, by the `Output::Write` that follows.
                    Outcome::Failed(_) | Outcome::Unavailable => {}
                }
            }
            let digest = native_sha256_of(&data).await;
            with_core(&weak, |core| core.storage_done(id, epoch, Input::HashDone { content: id, op, data, digest }));
        });
    }

    pub(super) fn write(&mut self, id: ContentId, op: OpId, offset: u64, data: Vec<u8>) {
        let Some(manifest) = self.swarm(&id).and_then(|s| s.manifest()) else { return };
        let piece_size = manifest.piece_size() as u64;
        let piece = u32::try_from(offset / piece_size).unwrap_or(u32::MAX);
        if !offset.is_multiple_of(piece_size) || data.len() != manifest.piece_len(piece) as usize {
            let result = Err(StorageError::Other("writes must be whole pieces".into()));
            self.node.handle_input(clock::now(), Input::WriteDone { content: id, op, result });
            return;
        }
        let Some(content) = self.contents.get_mut(&id) else { return };
        if let Some(at) = content.stored_early.remove(&piece) {
            // Hashed and stored in one step by the storage worker (see `hash`): already done.
            content.source.stored(piece, at);
            self.node.handle_input(clock::now(), Input::WriteDone { content: id, op, result: Ok(()) });
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
            let epoch = content.epoch;
            let storage = self.storage.clone();
            let weak = self.weak.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let stored = storage.write_piece(id, piece, offset, &data).await;
                drop(data);
                with_core(&weak, |core| {
                    // A write refused fails the content (the swarm's rule): reported by its `Event::Failed`.
                    let result = stored.map(|at| {
                        if let Some(content) = core.contents.get_mut(&id) {
                            content.source.stored(piece, at);
                        }
                    });
                    if let Some(content) = core.contents.get_mut(&id) {
                        content.writes_in_flight = content.writes_in_flight.saturating_sub(1);
                    }
                    core.storage_done(id, epoch, Input::WriteDone { content: id, op, result });
                    core.start_writes(id);
                });
            });
        }
    }

    /// The browser refused to set a download's size aside before its first piece: it fails, said in words that
    /// fit (on disk the reservation is sparse and instant, so a refusal almost always means a private window).
    pub(super) fn reserve_refused(&mut self, id: ContentId, name: &str, size: &str) {
        let message = format!(
            "This window cannot store {name} ({size}): the browser refused to set that much aside, before any of \
             it was downloaded. A private window keeps downloads in memory and allows far less: open the link in a \
             normal window. If this is one, free some space, then Retry."
        );
        if let Some(content) = self.contents.get_mut(&id) {
            // Said here, not by the generic storage-full words of `failed`.
            content.failed = Some(message.clone());
        }
        let _ = self.node.fail(clock::now(), id, Failure::Storage(StorageError::Full));
        self.halted(id, "error");
        self.emit_error(Some(id), ErrorKind::StorageFull, message);
        self.drive();
    }

    /// A storage result for the swarm of `epoch`: given to the node if that swarm is still the content's (a paused
    /// or failed content has none: the node ignores results for it).
    fn storage_done(&mut self, id: ContentId, epoch: u64, input: Input<'_>) {
        if self.contents.get(&id).is_some_and(|c| c.epoch == epoch) {
            self.input(input);
        }
    }

    /// Fails a content for what storage said outside a write (saving its manifest, finishing its file): the
    /// node stops it as it stops one whose write failed, and reports it by `Event::Failed`.
    fn storage_failed(&mut self, id: ContentId, e: StorageError) {
        let _ = self.node.fail(clock::now(), id, Failure::Storage(e));
        self.drive();
    }

    /// A content failed and the node forgot it: no more requests, its channels closed, its swarm left. The row
    /// says why, once, and shows no peers; what waited for storage is dropped. What was stored stays stored.
    fn failed(&mut self, id: ContentId, failure: Failure) {
        // A file refused for its size never had its manifest shown: its row gets the name and size now.
        let named = match &failure {
            Failure::TooLarge { name, size, .. } => Some((name.clone(), *size)),
            Failure::Storage(_) | Failure::BadManifest(_) => None,
        };
        let (kind, message) = match failure {
            Failure::TooLarge { name, size, limit } => {
                let why = if secure_context() {
                    "This browser window gives this page no private file system (a private window keeps \
                     downloads in memory)"
                } else {
                    "This page is served over plain http from another computer, so the browser gives it no \
                     private file system"
                };
                let fix = if secure_context() {
                    "Open the link in a normal window"
                } else {
                    "Open the link over https, or on the computer that serves the page (localhost)"
                };
                let message = format!(
                    "{why}: downloads are kept in memory, up to {} a file, and {name} is {}. {fix}.",
                    megabytes(limit),
                    megabytes(size)
                );
                (ErrorKind::TooLarge, message)
            }
            Failure::Storage(StorageError::Full) => (
                ErrorKind::StorageFull,
                "Storage is full: the browser refused to store more of this file, and the download stopped. Free \
                 some space or remove a download, then Retry: it goes on from the pieces stored. In a private \
                 window the browser keeps downloads in memory and allows far less: open the link in a normal \
                 window instead."
                    .to_owned(),
            ),
            Failure::Storage(StorageError::Other(m)) => {
                (ErrorKind::Storage, format!("Storing this file failed, and the download stopped: {m}"))
            }
            Failure::BadManifest(e) => (
                ErrorKind::InvalidLink,
                format!(
                    "This link names an invalid share, so nothing was downloaded: {e}. Ask its sharer for another link."
                ),
            ),
        };
        let Some(content) = self.contents.get_mut(&id) else { return };
        if content.failed.is_some() {
            return;
        }
        content.failed = Some(message.clone());
        if let Some((name, size)) = named {
            self.emit(UiEvent::Manifest { id: id.to_string(), name, size, pieces: 0, files: 0 });
        }
        self.halted(id, "error");
        self.emit_error(Some(id), kind, message);
    }

    /// A content whose swarm is gone (failed, or paused): what waited for storage is dropped, and the row shows
    /// `state` with the counters it had and no peers, until the content runs again.
    pub(super) fn halted(&mut self, id: ContentId, state: &'static str) {
        let Some(content) = self.contents.get_mut(&id) else { return };
        content.pending_reads.clear();
        content.pending_writes.clear();
        content.stored_early = Default::default();
        let stats = &content.last_stats;
        let event = UiEvent::Stats {
            id: id.to_string(),
            state,
            downloaded: stats.downloaded_bytes,
            uploaded: stats.uploaded_bytes,
            verified: stats.verified_pieces,
            total: stats.total_pieces,
            peers: 0,
            relayed: 0,
            tampered: content.tampered,
        };
        self.emit(event);
    }

    /// One content's news.
    pub(super) fn on_content_event(&mut self, id: ContentId, event: Event) {
        match event {
            Event::ManifestKnown(manifest) => {
                // Only news for a download that joined by id; a share or a resumed download had it already.
                let Some(content) = self.contents.get_mut(&id) else { return };
                if !matches!(content.source, Source::Nothing) {
                    return;
                }
                content.source = Source::empty(&manifest);
                content.piece_map = match self.node.swarm(&id).and_then(|s| s.have()) {
                    Some(have) => PieceMap::from_have(have),
                    None => PieceMap::from_have(&Bitfield::new(manifest.piece_count())),
                };
                self.emit(UiEvent::Manifest {
                    id: id.to_string(),
                    name: manifest.name().to_owned(),
                    size: manifest.size(),
                    pieces: manifest.piece_count(),
                    files: u32::try_from(manifest.files().len()).unwrap_or(u32::MAX),
                });
                if matches!(self.storage, Storage::Memory { .. }) {
                    // Nothing to prepare: the size was checked against the memory limit (`max_size`).
                    self.storage_ready(id, &manifest);
                    return;
                }
                let storage = self.storage.clone();
                let weak = self.weak.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(e) = storage.save_manifest(id, &manifest).await {
                        with_core(&weak, |core| core.storage_failed(id, e));
                        return;
                    }
                    // The file's size set aside before the first piece is requested: a browser that cannot hold it
                    // (a private window keeps downloads in memory, with a limit it does not tell) says so now.
                    match storage.reserve(id, manifest.size()).await {
                        Ok(()) => with_core(&weak, |core| {
                            core.storage_ready(id, &manifest);
                            core.drive();
                        }),
                        Err(StorageError::Full) => {
                            let size = megabytes(manifest.size());
                            let name = manifest.name().to_owned();
                            with_core(&weak, |core| core.reserve_refused(id, &name, &size));
                            return;
                        }
                        Err(e) => {
                            with_core(&weak, |core| core.storage_failed(id, e));
                            return;
                        }
                    };
                    // Warn early when the file will not fit; the download goes on (space may be freed) and a
                    // real quota error stops it.
                    if let Some(available) = storage.available().await
                        && available < manifest.size()
                    {
                        let message = format!(
                            "Storage is almost full: {} needs {} but the browser lets this page store only {} more. \
                             Free some space or remove a download.",
                            manifest.name(),
                            megabytes(manifest.size()),
                            megabytes(available)
                        );
                        with_core(&weak, |core| core.emit_error(None, ErrorKind::StorageFull, message));
                    }
                });
            }
            Event::PieceVerified { piece } => {
                if let Some(c) = self.contents.get_mut(&id) {
                    c.piece_map.verified(piece);
                    // Kept current with each piece: what the row shows if the content fails before the next tick.
                    if let Some(swarm) = self.node.swarm(&id) {
                        c.last_stats = swarm.stats();
                    }
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
                                core.drive();
                            }
                            Err(e) => core.storage_failed(id, e),
                        }
                    });
                });
            }
            // Reported by the node with the peer's id (`node::Event::PeerBanned`).
            Event::PeerBanned { .. } | Event::PeerReady { .. } => {}
            // Someone between the two (the signaling server, in the middle) altered the connection: refused before
            // anything crossed it (PROTOCOL.md 2.11). Counted on the row; the others go on.
            Event::PeerRefused { why: why @ (Refusal::ProofFailed | Refusal::Fingerprint(_)), .. } => {
                web_sys::console::warn_1(&why.to_string().into());
                if let Some(c) = self.contents.get_mut(&id) {
                    c.tampered = c.tampered.saturating_add(1);
                }
                self.emit_stats(id);
            }
            // One peer's connection, not the download: the others go on (PROTOCOL.md 2.10). For whoever debugs.
            Event::PeerRefused { why, .. } => web_sys::console::warn_1(&why.to_string().into()),
            Event::ReadFailed(e) => {
                self.emit_error(None, ErrorKind::Storage, format!("Reading this file to send it failed: {e}"));
            }
            Event::Failed(failure) => self.failed(id, failure),
        }
    }

    /// Storage for a fetched manifest is ready: requests start, or, for a folder, once its user chose which files
    /// to get ([`Core::choose`]).
    fn storage_ready(&mut self, id: ContentId, manifest: &swarm::manifest::Manifest) {
        if manifest.is_tree() {
            if let Some(content) = self.contents.get_mut(&id) {
                content.choosing = true;
            }
            self.emit_stats(id);
        } else {
            self.node.handle_input(clock::now(), Input::StorageReady { content: id });
        }
    }

    /// Tells the page a download is complete (or a share ready). A completed download seeds by its link only: it
    /// is listed in search only if its user chooses to (`setListed`).
    fn completed(&mut self, id: ContentId) {
        self.emit(UiEvent::Complete { id: id.to_string() });
        self.emit_stats(id);
    }

    /// Counters for the page.
    pub(super) fn emit_stats(&mut self, id: ContentId) {
        let (Some(content), Some(swarm)) = (self.contents.get_mut(&id), self.node.swarm(&id)) else { return };
        let stats = swarm.stats();
        content.last_stats = stats.clone();
        let event = UiEvent::Stats {
            id: id.to_string(),
            state: content.state(swarm, &stats),
            downloaded: stats.downloaded_bytes,
            uploaded: stats.uploaded_bytes,
            verified: stats.verified_pieces,
            total: stats.total_pieces,
            peers: stats.peers,
            relayed: self.node.relayed_peers(&id),
            tampered: content.tampered,
        };
        self.emit(event);
    }
}

/// `bytes` as the page writes sizes (app.js `formatBytes`): units of 1,000, one decimal under 10.
pub(super) fn megabytes(bytes: u64) -> String {
    // Integers only (and `u64`): formatting an `f64` would pull float printing into the wasm (over 10 KB gzip).
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut i = 0;
    let mut scale: u64 = 1;
    while bytes / scale >= 1000 && i < UNITS.len() - 1 {
        scale *= 1000;
        i += 1;
    }
    if i > 0 && bytes / scale < 10 {
        // Under 10 units, so `bytes * 10` cannot overflow.
        let tenths = (bytes * 10 + scale / 2) / scale;
        format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[i])
    } else {
        format!("{} {}", bytes.saturating_add(scale / 2) / scale, UNITS[i])
    }
}

/// Whether the page is a secure context (https, or http on localhost): without one the browser offers no private
/// file system at all; with one, a memory-only page is a private window or an old browser.
fn secure_context() -> bool {
    web_sys::window().is_some_and(|w| w.is_secure_context())
}

#[cfg(test)]
mod tests {
    use super::megabytes;

    #[test]
    fn sizes_read_as_the_page_writes_them() {
        // app.js `formatBytes`: units of 1,000, one decimal under 10.
        assert_eq!(megabytes(999), "999 B");
        assert_eq!(megabytes(4_000_000), "4.0 MB");
        assert_eq!(megabytes(12_000_000), "12 MB");
        assert_eq!(megabytes(512 * 1024 * 1024), "537 MB");
        assert_eq!(megabytes(600 * 1024 * 1024), "629 MB");
        assert_eq!(megabytes(4_300_000_000), "4.3 GB");
        assert_eq!(megabytes(9_960_000), "10.0 MB");
    }
}
