//! [`Content`]: the shell's side of one file this page shares or downloads: its bytes, the storage operations the
//! node asked for and what the page shows about it. Its state machine is the node's (`swarm::node::Node::swarm`).

use std::collections::VecDeque;

use swarm::bitfield::Bitfield;
use swarm::manifest::Manifest;
use swarm::swarm::Stats;
use swarm::{OpId, Swarm, VecMap};

use crate::piece_map::PieceMap;
use crate::source::{Piece, Source};

/// Most storage reads started at once for one content: enough to keep a fast channel fed, few enough that the
/// block buffers in flight stay small (4 x 128 KiB).
pub const MAX_READS_IN_FLIGHT: usize = 4;
/// Most piece writes started at once for one content. Each is several round trips to the browser process
/// (file handle, writable, write, close, file), so a few in flight overlap them (BENCHMARKS.md, OPFS write
/// strategies), while as many as the swarm's cap on pieces in flight starve the leecher's pipeline instead.
pub const MAX_WRITES_IN_FLIGHT: usize = 8;
/// Most reads waiting to start; the swarm bounds its upload queues, this is the shell's hard stop behind them.
pub const MAX_PENDING_READS: usize = 4096;

/// Why this page has a content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Share,
    Download,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Share => "share",
            Role::Download => "download",
        }
    }
}

/// A storage read the swarm asked for, not started yet (back-pressure holds it).
#[derive(Debug, Clone, Copy)]
pub struct PendingRead {
    pub op: OpId,
    pub offset: u64,
    pub len: u32,
    pub headroom: usize,
}

/// A verified piece waiting for a write slot.
#[derive(Debug)]
pub struct PendingWrite {
    pub op: OpId,
    pub piece: u32,
    pub offset: u64,
    pub data: Vec<u8>,
}

/// One shared or downloading file.
#[derive(Debug)]
pub struct Content {
    pub role: Role,
    pub source: Source,
    /// Reads waiting for back-pressure to lift, oldest first.
    pub pending_reads: VecDeque<PendingRead>,
    pub reads_in_flight: usize,
    /// Verified pieces waiting for a write slot, oldest first (the swarm bounds them: `max_pieces_in_flight`).
    pub pending_writes: VecDeque<PendingWrite>,
    pub writes_in_flight: usize,
    /// Pieces the storage worker hashed and stored in one step, waiting for the swarm's `Output::Write` (which
    /// follows at once): at most the pieces in flight.
    pub stored_early: VecMap<u32, Piece>,
    /// What the page's piece map shows; empty until the manifest is known.
    pub piece_map: PieceMap,
    /// A fatal problem (storage full, too large for memory): the content is stopped and shows this.
    pub failed: Option<String>,
    /// The counters last shown: what a failed or paused content (whose swarm is gone) goes on showing.
    pub last_stats: Stats,
    /// Connections refused because they could not be proven untampered (`Refusal::ProofFailed`, or no usable DTLS
    /// fingerprint; PROTOCOL.md 2.11).
    pub tampered: u32,
    /// Paused by the user (its swarm stopped): the manifest and verified pieces to resume with, if known.
    pub paused: Option<Option<(Manifest, Bitfield)>>,
    /// A folder waiting for its user to choose which files to get: nothing is requested until then (its storage
    /// is ready, `StorageReady` is held; or, restored from an earlier visit, its swarm waits in `paused`).
    pub choosing: bool,
    /// A folder's chosen files (one bit a file of its manifest); `None`: every file.
    pub selection: Option<Bitfield>,
    /// Which swarm of this content the storage operations in flight belong to: a new one after a pause or a
    /// retry (it numbers its operations from 0 again), so a late result of the old one is dropped, not taken for
    /// the new one's.
    pub epoch: u64,
}

impl Content {
    /// A content whose swarm is `swarm`.
    pub fn new(role: Role, source: Source, swarm: &Swarm) -> Self {
        let mut c = Content::with_map(role, source, PieceMap::default());
        c.refresh_piece_map(swarm);
        c
    }

    /// A download kept without a swarm (paused): it shows `have` and resumes from `manifest` and `have`.
    pub fn new_paused(role: Role, source: Source, manifest: Manifest, have: Bitfield) -> Self {
        let mut c = Content::with_map(role, source, PieceMap::from_have(&have));
        c.last_stats.verified_pieces = have.count();
        c.last_stats.total_pieces = have.len();
        c.paused = Some(Some((manifest, have)));
        c
    }

    fn with_map(role: Role, source: Source, piece_map: PieceMap) -> Self {
        Content {
            role,
            source,
            pending_reads: VecDeque::new(),
            reads_in_flight: 0,
            pending_writes: VecDeque::new(),
            writes_in_flight: 0,
            stored_early: VecMap::default(),
            piece_map,
            failed: None,
            last_stats: Stats::default(),
            tampered: 0,
            paused: None,
            choosing: false,
            selection: None,
            epoch: 0,
        }
    }

    /// Rebuilds the piece map from the swarm's verified set (after a resume or once the manifest is known).
    pub fn refresh_piece_map(&mut self, swarm: &Swarm) {
        if let Some(have) = swarm.have() {
            self.piece_map = PieceMap::from_have(have);
        }
    }

    /// The state the page shows.
    pub fn state(&self, swarm: &Swarm, stats: &Stats) -> &'static str {
        if self.failed.is_some() {
            "error"
        } else if self.choosing {
            "choosing"
        } else if self.paused.is_some() {
            "paused"
        } else if swarm.is_complete() && !self.source.needs_data_file() {
            // Complete only once Save can read it: until the data file's `File` is taken (`Event::Complete` in
            // core/files.rs starts that), the content shows as downloading.
            if self.role == Role::Share { "seeding" } else { "complete" }
        } else if stats.peers > 0 {
            "downloading"
        } else {
            "waiting"
        }
    }
}
