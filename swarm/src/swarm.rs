//! [`Swarm`]: the state machine of one content shared with many remote peers.
//!
//! See the crate root for the run loop. Methods are grouped as constructors, getters, `handle_*` (inputs) and
//! `poll_*` (outputs).

use core::time::Duration;

use crate::bitfield::Bitfield;
use crate::id::ContentId;
use crate::manifest::Manifest;
use crate::time::Instant;

/// A connection to one remote peer for this content, named by the shell; unique for the swarm's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// A storage operation, named by the state machine; its result comes back with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// Tunables, with defaults chosen for browsers on a LAN-to-WAN range of links.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most connections kept for this content; more are answered with `Goodbye(Busy)`.
    pub max_peers: usize,
    /// Length of the blocks this peer requests (at most `wire::MAX_BLOCK_LEN`).
    pub block_len: u32,
    /// Fewest and most requests outstanding to one peer; the pipeline grows between them with the peer's rate.
    pub min_pipeline: usize,
    pub max_pipeline: usize,
    /// Most requests from one peer queued here for upload; more are rejected with `Overloaded`.
    pub max_upload_queue: usize,
    /// A request unanswered for this long is moved to another peer.
    pub request_timeout: Duration,
    /// A connection silent for this long is closed; keep-alives are sent at a third of it.
    pub idle_timeout: Duration,
    /// Verification failures attributed to one peer before it is banned.
    pub strikes_to_ban: u32,
    /// Verified pieces held in memory waiting for their write, and pieces being assembled, at most.
    pub max_pieces_in_flight: usize,
    /// Whether to keep serving after the download completes.
    pub seed_after_complete: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_peers: 32,
            block_len: crate::wire::MAX_BLOCK_LEN,
            min_pipeline: 4,
            max_pipeline: 64,
            max_upload_queue: 256,
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(45),
            strikes_to_ban: 2,
            max_pieces_in_flight: 64,
            seed_after_complete: true,
        }
    }
}

/// Why a storage operation failed, as the shell reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// No space left (browser quota or disk).
    Full,
    /// Anything else, with the shell's description.
    Other(String),
}

/// What goes into the state machine.
#[derive(Debug)]
pub enum Input<'a> {
    /// A data channel for this content opened; the handshake starts.
    PeerConnected { conn: ConnId },
    /// The channel closed (either side, or the network).
    PeerDisconnected { conn: ConnId },
    /// One data-channel message from a peer, not yet parsed.
    Received { conn: ConnId, bytes: &'a [u8] },
    /// A read started by [`Output::Read`] finished. On success the buffer is `headroom + len` bytes long with the
    /// data after the headroom.
    ReadDone { op: OpId, result: Result<Vec<u8>, StorageError> },
    /// A write started by [`Output::Write`] finished.
    WriteDone { op: OpId, result: Result<(), StorageError> },
    /// The user stops sharing or downloading: goodbye to every peer.
    Stop,
}

/// What comes out of the state machine.
#[derive(Debug)]
pub enum Output {
    /// Send one data-channel message.
    Send { conn: ConnId, bytes: Vec<u8> },
    /// Close a connection (after any `Send` before it).
    Close { conn: ConnId },
    /// Read `len` bytes at byte `offset` of the file into a buffer with `headroom` spare bytes in front.
    Read { op: OpId, offset: u64, len: u32, headroom: usize },
    /// Write `data` at byte `offset` of the file. Only verified pieces are written.
    Write { op: OpId, offset: u64, data: Vec<u8> },
    /// Something the user or the shell should know.
    Event(Event),
}

/// Things that happened, for the user interface and for persistence.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The manifest is known and checked against the content id: the shell can prepare storage and persist it.
    ManifestKnown(Manifest),
    /// A piece was verified and its write completed: the shell may persist that the piece is here.
    PieceVerified { piece: u32 },
    /// A piece failed verification; it will be fetched again.
    PieceFailed { piece: u32 },
    /// Every piece is verified and written.
    Complete,
    /// A peer is banned for sending corrupt data or breaking the protocol.
    PeerBanned { conn: ConnId, reason: String },
    /// A remote peer finished its handshake.
    PeerReady { conn: ConnId },
    /// Something went wrong that the user should see (storage full, storage error).
    Error(String),
}

/// Counters for progress bars and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub downloaded_bytes: u64,
    pub uploaded_bytes: u64,
    /// Bytes received that were thrown away (duplicates in endgame, failed verification).
    pub wasted_bytes: u64,
    pub verified_pieces: u32,
    pub total_pieces: u32,
    pub peers: usize,
}

/// The state machine of one content.
#[derive(Debug)]
pub struct Swarm {
    _private: (),
}

impl Swarm {
    /// Shares a file this peer has whole: every piece is served from storage.
    pub fn share(_manifest: Manifest, _config: Config, _seed: u64, _now: Instant) -> Swarm {
        unimplemented!("swarm-engine helper")
    }
    /// Joins by content id only: the manifest is fetched from peers and checked against the id.
    pub fn join(_content: ContentId, _config: Config, _seed: u64, _now: Instant) -> Swarm {
        unimplemented!("swarm-engine helper")
    }
    /// Resumes a download whose manifest and verified pieces were persisted.
    pub fn resume(_manifest: Manifest, _have: Bitfield, _config: Config, _seed: u64, _now: Instant) -> Swarm {
        unimplemented!("swarm-engine helper")
    }

    pub fn content_id(&self) -> ContentId {
        unimplemented!("swarm-engine helper")
    }
    pub fn manifest(&self) -> Option<&Manifest> {
        unimplemented!("swarm-engine helper")
    }
    /// Verified pieces; `None` until the manifest is known.
    pub fn have(&self) -> Option<&Bitfield> {
        unimplemented!("swarm-engine helper")
    }
    pub fn stats(&self) -> Stats {
        unimplemented!("swarm-engine helper")
    }
    pub fn is_complete(&self) -> bool {
        unimplemented!("swarm-engine helper")
    }

    pub fn handle_input(&mut self, _now: Instant, _input: Input<'_>) {
        unimplemented!("swarm-engine helper")
    }
    pub fn handle_timeout(&mut self, _now: Instant) {
        unimplemented!("swarm-engine helper")
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        unimplemented!("swarm-engine helper")
    }
    /// When to call [`Swarm::handle_timeout`] next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        unimplemented!("swarm-engine helper")
    }
}
