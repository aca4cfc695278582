//! [`Swarm`]: the state machine of one content shared with many remote peers.
//!
//! See the crate root for the run loop. Methods are grouped as constructors, getters, `handle_*` (inputs) and
//! `poll_*` (outputs). The state rules this file implements are specified in docs/PROTOCOL.md, section 2.9.
//!
//! The parts, one concept per file under `swarm/`: [`peer`] (what is known about one remote peer),
//! [`picker`] (rarest-first choice of blocks, piece assembly, endgame, blame), [`reveal`] (a complete peer shows
//! each downloader a few pieces at a time, the least shown first), [`fetch`] (fetching the manifest for a swarm
//! joined by id). This file holds the public types and the message handling that ties them together;
//! uploads (a bounded queue per peer, served round-robin through a bounded number of storage reads, and
//! ManifestRequests answered at a bounded rate per peer) live here too because they are a few lines.

mod fetch;
mod peer;
mod picker;
mod reveal;

use core::ops::Bound;
use core::time::Duration;
use std::collections::VecDeque;

use crate::bitfield::Bitfield;
use crate::id::ContentId;
use crate::manifest::{MAX_MANIFEST_LEN, Manifest};
use crate::proof::Proof;
use crate::rng::SplitMix64;
use crate::time::Instant;
use crate::vec_map::VecMap;
use crate::wire::{self, GoodbyeReason, Message, RejectReason};
use fetch::{Chunk, Fetch};
use peer::{Outstanding, Peer, Phase, Queued};
use picker::{Picker, Received};
use reveal::Reveal;

/// Housekeeping period: rate measurement, request and idle timeouts, keep-alives, refilling pipelines.
pub const TICK: Duration = Duration::from_millis(250);
/// Requests kept outstanding to a peer cover at most this much time at its measured rate (all of it until a first
/// block came back): long enough to cover the round trip of a WAN link, short enough that a request waits about
/// this long in a busy uploader's queue.
pub const PIPELINE_WINDOW: Duration = Duration::from_millis(1000);
/// Queueing delay the pipeline aims for beyond a peer's shortest request-to-block time. Requests outstanding cover
/// that shortest time plus this at the measured rate: enough to keep a link busy across its round trip, while the
/// data queued in the sender's buffers stays around this much time's worth. Deeper queues overrun Chromium's
/// limit of packets in flight to its network service, which drops a burst, and SCTP then stalls for whole
/// retransmission timeouts (ARCHITECTURE.md, Throughput).
pub const QUEUE_TARGET: Duration = Duration::from_millis(20);
/// Bytes kept requested from a peer however short its round trip, unless all of [`PIPELINE_WINDOW`] at its
/// measured rate is less: this much outstanding stays under Chromium's limit of packets in flight
/// (ARCHITECTURE.md, Throughput), and it keeps a peer busy whose blocks are slow for reasons other than
/// queueing (disk reads, a busy thread), where the round-trip rule alone would shrink the window to two blocks.
pub const PIPELINE_FLOOR_BYTES: u64 = 1024 * 1024;
/// Storage reads for uploads in flight at once: bounds upload memory to this many blocks.
pub const UPLOAD_READS_IN_FLIGHT: usize = 8;
/// After an `Overloaded` reject or a timed-out request, no new requests go to that peer for this long.
pub const BACKOFF: Duration = Duration::from_secs(1);

/// ManifestRequests that fetch the largest manifest once: `MAX_MANIFEST_LEN` (4,194,304 bytes) in chunks of
/// `wire::MAX_BLOCK_LEN` (131,072 bytes) is 32.
pub const MANIFEST_CHUNKS: u32 = MAX_MANIFEST_LEN.div_ceil(wire::MAX_BLOCK_LEN as usize) as u32;
/// ManifestRequests of one connection answered with data at once before the rate applies: the largest manifest
/// twice (a fetch that failed half-way and started over). ManifestUnavailable answers are not counted. A 5-byte
/// request is answered with up to 128 KiB, so without a bound a peer that sends them makes this one copy, queue
/// and upload 26,000 times what it sent.
pub const MANIFEST_REQUEST_BURST: u32 = 2 * MANIFEST_CHUNKS;
/// ManifestRequests answered with data a connection earns per second once its burst is spent: at most 128 KiB a
/// second of manifest answers. Requests over the rate are dropped unanswered (the requester's `request_timeout`
/// covers them); an honest fetch, one request after each answer and at most [`MANIFEST_CHUNKS`] of them, never
/// meets the limit.
pub const MANIFEST_REQUESTS_PER_SEC: u32 = 1;

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
    /// After the signaling server said the peer left this content's swarm ([`Input::PeerLeft`], a hint), its
    /// connection is closed once nothing has arrived on it for this long. A tab that closed before its goodbye
    /// went out is seen gone in seconds, not at `idle_timeout`; a peer still sending is kept.
    pub departure_grace: Duration,
    /// Verification failures attributed to one peer before it is banned.
    pub strikes_to_ban: u32,
    /// Verified pieces held in memory waiting for their write, and pieces being assembled, at most.
    pub max_pieces_in_flight: usize,
    /// Whether to keep serving after the download completes.
    pub seed_after_complete: bool,
    /// The shell hashes complete pieces (the browser peer: the browser's native SHA-256, off the page's thread,
    /// is several times faster than SHA-256 in wasm): a complete piece goes out as [`Output::Hash`] and comes back
    /// as [`Input::HashDone`], then is written or refetched exactly as when hashed here. Off by default.
    pub shell_hashes: bool,
    /// Largest file this peer downloads, in bytes: what its storage can hold (the browser peer without a private
    /// file system keeps downloads in memory). A download whose manifest is larger fails with
    /// [`Failure::TooLarge`] as soon as the manifest is known, before any piece is requested. Not applied to a
    /// share (the file is here already).
    pub max_size: u64,
    /// The shell prepares storage for a fetched manifest ([`Event::ManifestKnown`]: the browser peer sets the
    /// file's size aside, which a private window refuses past its limit) and says [`Input::StorageReady`], or fails
    /// the content ([`Input::Fail`]), before any piece is requested. Off by default (the shell prepares within its
    /// handling of `ManifestKnown`).
    pub await_storage: bool,
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
            departure_grace: Duration::from_secs(3),
            strikes_to_ban: 2,
            max_pieces_in_flight: 64,
            seed_after_complete: true,
            shell_hashes: false,
            max_size: u64::MAX,
            await_storage: false,
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

impl core::fmt::Display for StorageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StorageError::Full => f.write_str("no space left"),
            StorageError::Other(why) => f.write_str(why),
        }
    }
}

/// Why a content failed. A failed content stops at once: no more requests, goodbye to every peer (which closes
/// its channels, so nothing more crosses), and [`Event::Failed`] once. What was verified and written stays
/// written: resuming later ([`Swarm::resume`]) fetches only what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The file is larger than [`Config::max_size`]: known from the manifest alone, before any piece.
    TooLarge { name: String, size: u64, limit: u64 },
    /// Storing failed: a write of a verified piece, or what the shell found preparing or finishing the file.
    Storage(StorageError),
    /// The manifest a peer sent matches the content id yet breaks a rule of PROTOCOL.md 1.2 or 1.8 (a path that
    /// climbs out of the share, two files one name...): the link names a share no peer can serve as it is, so the
    /// download stops before anything is written.
    BadManifest(crate::manifest::ManifestError),
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Failure::TooLarge { name, size, limit } => {
                write!(f, "{name} is {size} bytes, more than the {limit} bytes this peer can store")
            }
            Failure::Storage(e) => write!(f, "storing the file failed: {e}"),
            Failure::BadManifest(e) => write!(f, "the link names an invalid share: {e}"),
        }
    }
}

/// What goes into the state machine.
#[derive(Debug)]
pub enum Input<'a> {
    /// A data channel for this content opened; the handshake starts. `max_message` is the longest data-channel
    /// message the connection carries to the remote peer, in bytes: the stack's `RTCSctpTransport.maxMessageSize`
    /// (the remote's `a=max-message-size`, capped by what this side can send). Under [`wire::MIN_MESSAGE_LEN`] the
    /// peer is refused with `Goodbye(MessageSize)`; otherwise no message longer than it is sent (PROTOCOL.md 2.10).
    /// `proof`: the handshake proof this side sends and the one the peer must send (PROTOCOL.md 2.11; the node
    /// computes both from the connection's DTLS fingerprints, [`crate::proof::Proof::new`]).
    PeerConnected { conn: ConnId, max_message: u32, proof: Proof },
    /// The channel closed (either side, or the network).
    PeerDisconnected { conn: ConnId },
    /// The signaling server said the channel's peer left this content's swarm (`peer_left`): a hint, since the
    /// peer may only have lost its server connection. The channel is closed once it has been silent for
    /// [`Config::departure_grace`] (PROTOCOL.md 2.9, "Departures the server announces").
    PeerLeft { conn: ConnId },
    /// One data-channel message from a peer, not yet parsed.
    Received { conn: ConnId, bytes: &'a [u8] },
    /// A read started by [`Output::Read`] finished. On success the buffer is `headroom + len` bytes long with the
    /// data after the headroom.
    ReadDone { op: OpId, result: Result<Vec<u8>, StorageError> },
    /// A write started by [`Output::Write`] finished.
    WriteDone { op: OpId, result: Result<(), StorageError> },
    /// The hash asked for by [`Output::Hash`]: the same bytes given back with their SHA-256, or with `None` when
    /// the shell could not hash them (the engine then hashes them itself).
    HashDone { op: OpId, data: Vec<u8>, digest: Option<[u8; 32]> },
    /// The user stops sharing or downloading: goodbye to every peer.
    Stop,
    /// The shell found the content cannot go on (its storage failed outside a [`Output::Write`]: preparing or
    /// finishing the file, another tab holding it): it fails as a failed write would ([`Failure`]).
    Fail(Failure),
    /// With [`Config::await_storage`]: storage for the fetched manifest is ready; requests may start.
    StorageReady,
    /// Fetch only these pieces (a bitfield of the piece count's length; [`Manifest::pieces_of_file`] maps a tree's
    /// chosen files to them), or every piece with `None`; ignored before the manifest is known. Given between
    /// `ManifestKnown` and `StorageReady`, no other piece is ever asked for. Pieces already verified stay and are
    /// served; pieces being fetched finish. [`Event::Complete`] then means every selected piece is here.
    Select(Option<Bitfield>),
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
    /// Only with [`Config::shell_hashes`]: compute the SHA-256 of `data` (the complete, unverified piece at byte
    /// `offset` of the file) and give both back with [`Input::HashDone`]. At most `max_pieces_in_flight` are
    /// outstanding. A shell may also store a piece whose hash matches the manifest's before it gives the result
    /// back, and then answer the [`Output::Write`] that follows from what it stored.
    Hash { op: OpId, offset: u64, data: Vec<u8> },
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
    /// Every piece is verified and written, or with [`Input::Select`], every selected piece (said again if a
    /// later selection adds pieces and they arrive too).
    Complete,
    /// A peer is banned for sending corrupt data or breaking the protocol.
    PeerBanned { conn: ConnId, reason: BanReason },
    /// A remote peer finished its handshake.
    PeerReady { conn: ConnId },
    /// A connection that cannot carry this protocol's messages one way or the other (PROTOCOL.md 2.10): said
    /// once per connection, for the log; the content goes on with its other peers.
    PeerRefused { conn: ConnId, why: Refusal },
    /// Reading the file to serve a block failed: the block was refused to its requester; serving goes on.
    ReadFailed(StorageError),
    /// The content failed and stopped ([`Failure`]): this swarm's last output (after its goodbyes), once.
    /// [`StorageError::Full`] and [`Failure::TooLarge`] are the user's to fix (free space, another place to store
    /// it), then resume.
    Failed(Failure),
}

/// The parts of a block at `(offset, len)` in its piece whose bits are set in `mask`, as `(offset, len)` in the
/// piece: part `i` starts `i * part_len` into the block, the last one may be shorter.
fn parts((offset, len): (u32, u32), part_len: u32, mask: u8) -> impl Iterator<Item = (u32, u32)> {
    (0..8u32).filter(move |i| mask & (1 << i) != 0).filter_map(move |i| {
        let start = i.checked_mul(part_len).filter(|&s| s < len)?;
        Some((offset + start, part_len.min(len - start)))
    })
}

/// Every part of a block of `len` bytes asked in parts of `part_len` (at most 8: see `Outstanding::pending`).
fn all_parts(len: u32, part_len: u32) -> u8 {
    let count = len.div_ceil(part_len.max(1)).min(8);
    ((1u16 << count) - 1) as u8
}

/// Why a connection was given up: for message size (PROTOCOL.md 2.10), or unproven (2.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This peer refused the connection: it carries messages of at most `max_message` bytes to the remote, under
    /// [`wire::MIN_MESSAGE_LEN`].
    MessagesTooShort { max_message: u32 },
    /// The remote peer refused this one with `Goodbye(MessageSize)`: the connection carries too short messages
    /// from its side.
    RefusedByPeer,
    /// The remote peer cannot send blocks of this peer's length (`Reject(TooLarge)`): nothing more is requested
    /// from it; it may still download from this peer.
    BlocksTooLong { block_len: u32 },
    /// The peer's handshake proof did not check (PROTOCOL.md 2.11): someone between the two (the signaling server
    /// or the network) altered the connection, or the peer does not know this content's id. Closed before any
    /// manifest or piece crossed.
    ProofFailed,
    /// No proof can be made or checked: a session description of the connection gives no single well-formed DTLS
    /// fingerprint (PROTOCOL.md 2.11). Closed before any manifest or piece crossed.
    Fingerprint(crate::proof::FingerprintError),
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refusal::MessagesTooShort { max_message } => write!(
                f,
                "refused a peer: its connection carries data-channel messages of at most {max_message} bytes, and \
                 this protocol needs {}",
                wire::MIN_MESSAGE_LEN
            ),
            Refusal::RefusedByPeer => write!(
                f,
                "a peer refused this one: the connection carries data-channel messages shorter than the {} bytes \
                 this protocol needs",
                wire::MIN_MESSAGE_LEN
            ),
            Refusal::ProofFailed => f.write_str(
                "refused a connection that was tampered with: the peer's proof did not check (someone between the \
                 two, such as the signaling server, altered the connection), so nothing was exchanged over it",
            ),
            Refusal::Fingerprint(why) => write!(f, "refused a connection: {why}, so it cannot be proven untampered"),
            Refusal::BlocksTooLong { block_len } => write!(
                f,
                "a peer cannot send blocks of {block_len} bytes (its data-channel messages are shorter): nothing \
                 more is asked of it"
            ),
        }
    }
}

/// Why a remote peer was banned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanReason {
    /// It sent bytes that are not a wire message (PROTOCOL.md 2.4).
    Undecodable(wire::DecodeError),
    /// It broke a rule of PROTOCOL.md 2.6 to 2.9: which one.
    Rule(&'static str),
    /// It alone sent this many pieces that failed verification.
    CorruptPieces(u32),
}

impl core::fmt::Display for BanReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BanReason::Undecodable(e) => write!(f, "undecodable wire message: {e}"),
            BanReason::Rule(rule) => f.write_str(rule),
            BanReason::CorruptPieces(n) => write!(f, "{n} pieces failed verification"),
        }
    }
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
    /// ManifestRequests received from peers past their handshake, answered or not.
    pub manifest_requests: u64,
    /// ManifestRequests dropped unanswered for coming faster than [`MANIFEST_REQUESTS_PER_SEC`] after a burst of
    /// [`MANIFEST_REQUEST_BURST`].
    pub manifest_requests_refused: u64,
    /// Peers whose handshake proof did not check ([`Refusal::ProofFailed`]).
    pub proof_failures: u64,
}

/// A storage operation in flight.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// A block read for `conn`'s request.
    Read { conn: ConnId, piece: u32, offset: u32, len: u32 },
    /// A verified piece being written.
    Write { piece: u32 },
    /// A complete piece being hashed by the shell (its senders are in `Swarm::hashing`).
    Hash { piece: u32 },
}

/// The state machine of one content.
#[derive(Debug)]
pub struct Swarm {
    content: ContentId,
    config: Config,
    rng: SplitMix64,
    now: Instant,
    /// Known from the start (share, resume) or after the fetch.
    manifest: Option<Manifest>,
    /// The manifest's canonical encoding, served to peers that fetch it.
    manifest_bytes: Vec<u8>,
    picker: Option<Picker>,
    /// Once this peer has the whole file: how often each piece was shown to downloaders.
    reveal: Option<Reveal>,
    fetch: Option<Fetch>,
    /// Peers that could not give the manifest this round (cleared every tick).
    fetch_tried: VecMap<ConnId, ()>,
    /// At most `config.max_peers`.
    peers: VecMap<ConnId, Peer>,
    ops: VecMap<OpId, Op>,
    /// Senders of each piece the shell is hashing, for blame if it fails; at most `max_pieces_in_flight`.
    hashing: VecMap<OpId, Vec<ConnId>>,
    next_op: u64,
    reads_in_flight: usize,
    /// The last peer served an upload read; the next read serves the next peer with a queued request.
    upload_cursor: Option<ConnId>,
    /// With an upload limit (`Swarm::limit_uploads`): bytes this swarm may still read to upload, granted by whoever
    /// keeps the limit (`Swarm::grant_upload`). `None`: no limit.
    upload_allowance: Option<u64>,
    outputs: VecDeque<Output>,
    downloaded: u64,
    uploaded: u64,
    wasted: u64,
    manifest_requests: u64,
    manifest_requests_refused: u64,
    proof_failures: u64,
    next_tick: Instant,
    /// `Stop` was handled, or the content failed: no peers, no downloads.
    stopped: bool,
    /// The manifest was fetched and the shell has not said `StorageReady` yet ([`Config::await_storage`]).
    storage_pending: bool,
    /// A pipeline could not be filled because `max_pieces_in_flight` pieces were active: refill every pipeline
    /// when one finishes.
    cap_hit: bool,
    /// Refill every pipeline at the end of this input (requests were freed).
    fill_all: bool,
    /// `Complete` was said for the current selection.
    said_complete: bool,
    /// Whether a `Want` was sent to peers (after a selection of part of the content).
    said_wanted: bool,
}

impl Swarm {
    /// Shares a file this peer has whole: every piece is served from storage.
    pub fn share(manifest: Manifest, config: Config, seed: u64, now: Instant) -> Swarm {
        let count = manifest.piece_count();
        Swarm::resume(manifest, Bitfield::full(count), config, seed, now)
    }

    /// Joins by content id only: the manifest is fetched from peers and checked against the id.
    pub fn join(content: ContentId, config: Config, seed: u64, now: Instant) -> Swarm {
        Swarm::new(content, config, seed, now)
    }

    /// Resumes a download whose manifest and verified pieces were persisted. A `have` of the wrong length
    /// (stored state is untrusted) counts as nothing verified.
    pub fn resume(manifest: Manifest, have: Bitfield, config: Config, seed: u64, now: Instant) -> Swarm {
        let mut s = Swarm::new(manifest.content_id(), config, seed, now);
        let have = if have.len() == manifest.piece_count() { have } else { Bitfield::new(manifest.piece_count()) };
        s.manifest_bytes = manifest.encode();
        let (size, limit) = (manifest.size(), s.config.max_size);
        let too_large = (!have.is_full() && size > limit).then(|| Failure::TooLarge {
            name: manifest.name().to_owned(),
            size,
            limit,
        });
        s.picker = Some(Picker::new(&manifest, have, s.config.block_len, &mut s.rng));
        s.manifest = Some(manifest);
        if let Some(failure) = too_large {
            s.fail(failure);
        }
        s
    }

    fn new(content: ContentId, mut config: Config, seed: u64, now: Instant) -> Swarm {
        config.block_len = config.block_len.clamp(1, wire::MAX_BLOCK_LEN);
        config.min_pipeline = config.min_pipeline.max(1);
        config.max_pipeline = config.max_pipeline.max(config.min_pipeline);
        config.max_pieces_in_flight = config.max_pieces_in_flight.max(1);
        config.strikes_to_ban = config.strikes_to_ban.max(1);
        Swarm {
            content,
            config,
            rng: SplitMix64::seed_from_u64(seed),
            now,
            manifest: None,
            manifest_bytes: Vec::new(),
            picker: None,
            reveal: None,
            fetch: None,
            fetch_tried: VecMap::new(),
            peers: VecMap::new(),
            ops: VecMap::new(),
            hashing: VecMap::new(),
            next_op: 0,
            reads_in_flight: 0,
            upload_cursor: None,
            upload_allowance: None,
            outputs: VecDeque::new(),
            downloaded: 0,
            uploaded: 0,
            wasted: 0,
            manifest_requests: 0,
            manifest_requests_refused: 0,
            proof_failures: 0,
            next_tick: now + TICK,
            stopped: false,
            storage_pending: false,
            cap_hit: false,
            fill_all: false,
            said_complete: false,
            said_wanted: false,
        }
    }

    pub fn content_id(&self) -> ContentId {
        self.content
    }

    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// Verified pieces; `None` until the manifest is known.
    pub fn have(&self) -> Option<&Bitfield> {
        self.picker.as_ref().map(Picker::have)
    }

    /// Whether the peer on `conn` is past its handshake: one of [`Stats::peers`].
    pub fn is_ready(&self, conn: ConnId) -> bool {
        self.peers.get(&conn).is_some_and(|p| p.phase == Phase::Ready)
    }

    pub fn stats(&self) -> Stats {
        Stats {
            downloaded_bytes: self.downloaded,
            uploaded_bytes: self.uploaded,
            wasted_bytes: self.wasted,
            verified_pieces: self.picker.as_ref().map_or(0, |p| p.have().count()),
            total_pieces: self.picker.as_ref().map_or(0, |p| p.piece_count()),
            peers: self.peers.values().filter(|p| p.phase == Phase::Ready).count(),
            manifest_requests: self.manifest_requests,
            manifest_requests_refused: self.manifest_requests_refused,
            proof_failures: self.proof_failures,
        }
    }

    /// [`Stats::manifest_requests`] and [`Stats::manifest_requests_refused`] alone: two field reads, for a shell
    /// that checks them after every message (`stats` also counts pieces and peers).
    pub fn manifest_request_counts(&self) -> (u64, u64) {
        (self.manifest_requests, self.manifest_requests_refused)
    }

    pub fn is_complete(&self) -> bool {
        self.picker.as_ref().is_some_and(Picker::is_done)
    }

    /// Connections currently open for this content (handshake done or not).
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.peers.keys().copied()
    }

    /// Bytes uploaded to and downloaded from one connection (payload bytes of blocks).
    pub fn peer_bytes(&self, conn: ConnId) -> Option<(u64, u64)> {
        self.peers.get(&conn).map(|p| (p.uploaded, p.downloaded))
    }

    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        self.now = self.now.max(now);
        match input {
            Input::PeerConnected { conn, max_message, proof } => self.on_connected(conn, max_message, proof),
            Input::PeerDisconnected { conn } => self.drop_peer(conn),
            Input::PeerLeft { conn } => {
                if let Some(peer) = self.peers.get_mut(&conn) {
                    peer.left_hint.get_or_insert(self.now);
                }
            }
            Input::Received { conn, bytes } => self.on_received(conn, bytes),
            Input::ReadDone { op, result } => self.on_read_done(op, result),
            Input::WriteDone { op, result } => self.on_write_done(op, result),
            Input::HashDone { op, data, digest } => self.on_hash_done(op, data, digest),
            Input::Stop => self.stop(),
            Input::Fail(failure) => self.fail(failure),
            Input::StorageReady => {
                if self.storage_pending {
                    self.storage_pending = false;
                    self.fill_all = true;
                    self.complete_if_empty();
                }
            }
            Input::Select(wanted) => {
                if let Some(picker) = self.picker.as_mut() {
                    picker.select(wanted);
                    self.said_complete = self.said_complete && picker.is_done();
                    self.fill_all = true;
                    self.say_wanted();
                    self.complete_if_empty();
                }
            }
        }
        self.after_input();
    }

    /// Housekeeping; does nothing before [`Swarm::poll_timeout`]'s instant.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.now < self.next_tick {
            return;
        }
        self.next_tick = self.now + TICK;
        self.tick();
        self.after_input();
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to call [`Swarm::handle_timeout`] next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped && self.peers.is_empty() { None } else { Some(self.next_tick) }
    }

    // ---- connections and messages ----

    fn on_connected(&mut self, conn: ConnId, max_message: u32, proof: Proof) {
        if self.peers.contains_key(&conn) {
            return;
        }
        let send_limit = (max_message as usize).min(wire::MAX_MESSAGE_LEN);
        let too_small = send_limit < wire::MIN_MESSAGE_LEN;
        if self.stopped || too_small || self.peers.len() >= self.config.max_peers {
            let reason = if self.stopped {
                GoodbyeReason::Leaving
            } else if too_small {
                self.outputs.push_back(Output::Event(Event::PeerRefused {
                    conn,
                    why: Refusal::MessagesTooShort { max_message },
                }));
                GoodbyeReason::MessageSize
            } else {
                GoodbyeReason::Busy
            };
            self.outputs.push_back(Output::Send { conn, bytes: wire::encode(&Message::Goodbye { reason }) });
            self.outputs.push_back(Output::Close { conn });
            return;
        }
        self.peers.insert(conn, Peer::new(self.now, send_limit, proof.expect));
        self.send(conn, &Message::Handshake { version: wire::VERSION, proof: proof.send });
    }

    fn on_received(&mut self, conn: ConnId, bytes: &[u8]) {
        let now = self.now;
        let Some(peer) = self.peers.get_mut(&conn) else { return };
        peer.last_received = now;
        let msg = match wire::decode(bytes) {
            Ok(m) => m,
            Err(e) => return self.ban(conn, GoodbyeReason::ProtocolViolation, BanReason::Undecodable(e)),
        };
        if peer.phase == Phase::AwaitingHandshake {
            let (version, received) = match msg {
                Message::Handshake { version, proof } => (version, proof),
                // The one message allowed instead of a Handshake (PROTOCOL.md 2.6): a peer that is busy or
                // leaving parts without one. Closing is the answer; it broke no rule, so it is not banned.
                Message::Goodbye { reason } => return self.on_goodbye(conn, reason),
                _ => return self.violation(conn, "first message is not a handshake"),
            };
            if version != wire::VERSION {
                return self.goodbye(conn, GoodbyeReason::Version);
            }
            // Nothing of the content is sent or taken before the proof checks (PROTOCOL.md 2.11).
            if !Proof::matches(&peer.expected_proof, &received) {
                self.proof_failures += 1;
                self.outputs.push_back(Output::Event(Event::PeerRefused { conn, why: Refusal::ProofFailed }));
                return self.goodbye(conn, GoodbyeReason::ProofFailed);
            }
            let Some(peer) = self.peers.get_mut(&conn) else { return };
            peer.phase = Phase::Ready;
            self.outputs.push_back(Output::Event(Event::PeerReady { conn }));
            // Nothing but the handshake goes out before the other side's handshake (PROTOCOL.md 2.6).
            if let Some(map) = self.have_map_for(conn) {
                self.send(conn, &Message::HaveMap { bits: &map });
            }
            if let Some(wanted) = self.picker.as_ref().and_then(Picker::wanted) {
                let bits = wanted.as_bytes().to_vec();
                self.send(conn, &Message::Want { bits: &bits });
            }
            self.start_fetch();
            return;
        }
        match msg {
            Message::Handshake { .. } => self.violation(conn, "second handshake"),
            Message::ManifestRequest { offset } => self.on_manifest_request(conn, offset),
            Message::ManifestData { total_len, offset, data } => self.on_manifest_data(conn, total_len, offset, data),
            Message::ManifestUnavailable => {
                if self.fetch.as_ref().is_some_and(|f| f.conn == conn) {
                    self.fetch = None;
                    self.fetch_tried.insert(conn, ());
                    self.start_fetch();
                }
            }
            Message::HaveMap { bits } => self.on_have_map(conn, bits),
            Message::Want { bits } => self.on_want(conn, bits),
            Message::Have { piece } => self.on_have(conn, piece),
            Message::Request { piece, offset, len } => self.on_request(conn, piece, offset, len),
            Message::Cancel { piece, offset, len } => {
                if let Some(peer) = self.peers.get_mut(&conn) {
                    peer.queue.retain(|q| (q.piece, q.offset, q.len) != (piece, offset, len));
                }
            }
            Message::Block { piece, offset, data } => self.on_block(conn, piece, offset, data),
            Message::Reject { piece, offset, len, reason } => self.on_reject(conn, piece, offset, len, reason),
            Message::Choke => {
                self.release_requests(conn);
                if let Some(peer) = self.peers.get_mut(&conn) {
                    peer.choked_us = true;
                }
            }
            Message::Unchoke => {
                if let Some(peer) = self.peers.get_mut(&conn) {
                    peer.choked_us = false;
                }
                self.fill(conn, None);
            }
            Message::KeepAlive => {}
            Message::Goodbye { reason } => self.on_goodbye(conn, reason),
        }
    }

    /// The remote peer is closing the channel: it broke no rule by leaving, so it is not banned.
    fn on_goodbye(&mut self, conn: ConnId, reason: GoodbyeReason) {
        if reason == GoodbyeReason::MessageSize {
            self.outputs.push_back(Output::Event(Event::PeerRefused { conn, why: Refusal::RefusedByPeer }));
        }
        self.drop_peer(conn);
        self.outputs.push_back(Output::Close { conn });
    }

    fn on_manifest_request(&mut self, conn: ConnId, offset: u32) {
        self.manifest_requests += 1;
        // A 1-byte answer to a 5-byte request amplifies nothing, and a joiner whose peers all lack the manifest
        // asks each of them again every tick: a token here would make an honest joiner meet the limit and, once
        // the manifest arrives, wait out `request_timeout` for an answer that was dropped.
        if self.manifest_bytes.is_empty() {
            return self.send(conn, &Message::ManifestUnavailable);
        }
        let total = self.manifest_bytes.len();
        let start = offset as usize;
        if start >= total {
            return self.violation(conn, "manifest request past its end");
        }
        let now = self.now;
        let Some(peer) = self.peers.get_mut(&conn) else { return };
        // Only answers with data take a token: they are what a flood of requests would multiply.
        if !peer.manifest_requests.try_take(now) {
            self.manifest_requests_refused += 1;
            return;
        }
        let end = total.min(start + peer.manifest_chunk());
        let data = self.manifest_bytes[start..end].to_vec();
        self.send(conn, &Message::ManifestData { total_len: total as u32, offset, data: &data });
    }

    fn on_manifest_data(&mut self, conn: ConnId, total: u32, offset: u32, data: &[u8]) {
        let now = self.now;
        let content = self.content;
        // A chunk from a peer no longer asked (it timed out) is ignored.
        let Some(fetch) = self.fetch.as_mut().filter(|f| f.conn == conn) else { return };
        match fetch.chunk(&content, total, offset, data, now) {
            Chunk::More(next) => self.send(conn, &Message::ManifestRequest { offset: next }),
            Chunk::Bad(why) => {
                self.fetch = None;
                self.violation(conn, why);
                self.start_fetch();
            }
            Chunk::Invalid(e) => {
                self.fetch = None;
                self.fail(Failure::BadManifest(e));
            }
            Chunk::Done(manifest, bytes) => {
                self.fetch = None;
                self.manifest_known(*manifest, bytes);
            }
        }
    }

    /// The manifest became known by fetching: set up the picker, apply have-maps that arrived early, announce
    /// our (empty) have-map.
    fn manifest_known(&mut self, manifest: Manifest, bytes: Vec<u8>) {
        if manifest.size() > self.config.max_size {
            let limit = self.config.max_size;
            self.fail(Failure::TooLarge { name: manifest.name().to_owned(), size: manifest.size(), limit });
            return;
        }
        let count = manifest.piece_count();
        self.storage_pending = self.config.await_storage;
        self.manifest_bytes = bytes;
        self.picker = Some(Picker::new(&manifest, Bitfield::new(count), self.config.block_len, &mut self.rng));
        self.outputs.push_back(Output::Event(Event::ManifestKnown(manifest.clone())));
        self.manifest = Some(manifest);
        let conns: Vec<ConnId> = self.peers.keys().copied().collect();
        let empty = Bitfield::new(count);
        for conn in conns {
            let Some(peer) = self.peers.get(&conn) else { continue };
            if peer.phase != Phase::Ready {
                // Gets the have-map when its handshake arrives.
                continue;
            }
            self.send(conn, &Message::HaveMap { bits: empty.as_bytes() });
            let Some(peer) = self.peers.get_mut(&conn) else { continue };
            let early_map = peer.early_map.take();
            let early_haves = peer.early_haves.take();
            let Some(map) = early_map else { continue };
            let Some(mut have) = Bitfield::from_bytes(&map, count) else {
                self.violation(conn, "have-map length does not match the piece count");
                continue;
            };
            if let Some(early) = early_haves {
                if early.iter_set().any(|p| p >= count) {
                    self.violation(conn, "have for a piece past the piece count");
                    continue;
                }
                for p in early.iter_set() {
                    have.set(p);
                }
            }
            self.set_peer_have(conn, have);
        }
        self.fill_all = true;
        self.complete_if_empty();
    }

    /// A file of no bytes, or a selection with nothing missing, is complete as soon as the manifest is known and
    /// storage ready (PROTOCOL.md 1.1): no piece will be written to say so.
    fn complete_if_empty(&mut self) {
        if !self.storage_pending && self.picker.as_ref().is_some_and(Picker::is_done) && !self.stopped {
            self.completed();
        }
    }

    /// Every wanted piece is here: said once (again only after a selection that adds missing pieces), and the
    /// content stops unless it seeds after completing.
    fn completed(&mut self) {
        if self.said_complete {
            return;
        }
        self.said_complete = true;
        self.outputs.push_back(Output::Event(Event::Complete));
        if !self.config.seed_after_complete {
            self.stop();
        }
    }

    fn set_peer_have(&mut self, conn: ConnId, have: Bitfield) {
        let (Some(picker), Some(peer)) = (self.picker.as_mut(), self.peers.get_mut(&conn)) else { return };
        for p in have.iter_set() {
            picker.add_available(p);
        }
        peer.have = Some(have);
        peer.shown_missing = peer.missing_shown();
        self.show_more(conn);
    }

    /// A downloader said which pieces it wants (PROTOCOL.md 2.9): a complete peer shows it only those from now on.
    /// Without the manifest the message is ignored (nothing is shown before it is known).
    fn on_want(&mut self, conn: ConnId, bits: &[u8]) {
        let (Some(picker), Some(peer)) = (self.picker.as_ref(), self.peers.get_mut(&conn)) else { return };
        let Some(wants) = Bitfield::from_bytes(bits, picker.piece_count()) else {
            return self.violation(conn, "want length does not match the piece count");
        };
        peer.wants = (!wants.is_full()).then_some(wants);
        peer.shown_missing = peer.missing_shown();
        self.show_more(conn);
    }

    /// Tells every ready peer which pieces this downloader wants (`Want`, PROTOCOL.md 2.9), after a selection:
    /// a seeder showing pieces a few at a time would otherwise show pieces it never asks for, and wait for it to
    /// get them. Said only once a selection was made (every piece again, after one that was partial).
    fn say_wanted(&mut self) {
        let Some(picker) = self.picker.as_ref() else { return };
        let bits = match picker.wanted() {
            Some(wanted) => wanted.as_bytes().to_vec(),
            None if self.said_wanted => Bitfield::full(picker.piece_count()).as_bytes().to_vec(),
            None => return,
        };
        self.said_wanted = true;
        let ready: Vec<ConnId> = self.peers.iter().filter(|(_, p)| p.phase == Phase::Ready).map(|(c, _)| *c).collect();
        for conn in ready {
            self.send(conn, &Message::Want { bits: &bits });
        }
    }

    // ---- seeding: pieces shown a few at a time (see `reveal`) ----

    /// The have-map to send `conn` once its handshake arrived: every verified piece while downloading; with the
    /// whole file, only the few least-shown pieces (more are shown with `Have` as the peer gets them).
    fn have_map_for(&mut self, conn: ConnId) -> Option<Vec<u8>> {
        let picker = self.picker.as_ref()?;
        let count = picker.piece_count();
        if !picker.have().is_full() {
            return Some(picker.have().as_bytes().to_vec());
        }
        let target = Reveal::per_peer(self.downloaders() + 1);
        let piece_size = self.manifest().map_or(0, Manifest::piece_size);
        let reveal = self.reveal.get_or_insert_with(|| Reveal::new(count, piece_size, &mut self.rng));
        let mut shown = Bitfield::new(count);
        while (shown.count() as usize) < target {
            let Some(p) = reveal.next(|p| !shown.get(p)) else { break };
            shown.set(p);
        }
        let map = shown.as_bytes().to_vec();
        if let Some(peer) = self.peers.get_mut(&conn) {
            peer.shown_missing = shown.count() as usize;
            peer.shown = Some(shown);
        }
        Some(map)
    }

    /// Peers this complete peer shows pieces to that do not have the whole file (or have not said yet).
    fn downloaders(&self) -> usize {
        self.peers.values().filter(|p| p.shown.is_some() && !p.have.as_ref().is_some_and(Bitfield::is_full)).count()
    }

    /// Shows `conn` more pieces (with `Have`) until it has its share of shown pieces it does not hold yet.
    fn show_more(&mut self, conn: ConnId) {
        let target = Reveal::per_peer(self.downloaders());
        let (Some(reveal), Some(peer)) = (self.reveal.as_mut(), self.peers.get_mut(&conn)) else { return };
        let Peer { shown: Some(shown), have: Some(have), shown_missing, wants, .. } = peer else { return };
        let mut new = Vec::new();
        while *shown_missing < target {
            let wanted = |p: u32| wants.as_ref().is_none_or(|w| w.get(p));
            let Some(p) = reveal.next(|p| !shown.get(p) && !have.get(p) && wanted(p)) else { break };
            shown.set(p);
            *shown_missing += 1;
            new.push(p);
        }
        for piece in new {
            self.send(conn, &Message::Have { piece });
        }
    }

    fn on_have_map(&mut self, conn: ConnId, bits: &[u8]) {
        let Some(peer) = self.peers.get_mut(&conn) else { return };
        if peer.got_map {
            return self.violation(conn, "second have-map");
        }
        peer.got_map = true;
        match &self.picker {
            Some(picker) => {
                let Some(have) = Bitfield::from_bytes(bits, picker.piece_count()) else {
                    return self.violation(conn, "have-map length does not match the piece count");
                };
                self.set_peer_have(conn, have);
                self.fill(conn, None);
            }
            None => {
                if bits.len() > wire::MAX_HAVE_MAP_LEN {
                    return self.violation(conn, "have-map too long");
                }
                peer.early_map = Some(bits.to_vec());
            }
        }
    }

    fn on_have(&mut self, conn: ConnId, piece: u32) {
        let Some(peer) = self.peers.get_mut(&conn) else { return };
        if !peer.got_map {
            return self.violation(conn, "have before have-map");
        }
        let Some(picker) = self.picker.as_mut() else {
            if piece >= crate::manifest::MAX_PIECES {
                return self.violation(conn, "have for a piece past the piece count");
            }
            peer.early_haves.get_or_insert_with(|| Bitfield::new(crate::manifest::MAX_PIECES)).set(piece);
            return;
        };
        if piece >= picker.piece_count() {
            return self.violation(conn, "have for a piece past the piece count");
        }
        if let Some(have) = peer.have.as_mut()
            && have.set(piece)
        {
            picker.add_available(piece);
            if peer.shown.as_ref().is_some_and(|s| s.get(piece)) && peer.wants.as_ref().is_none_or(|w| w.get(piece)) {
                peer.shown_missing = peer.shown_missing.saturating_sub(1);
            }
            self.fill(conn, Some(piece));
            self.show_more(conn);
        }
    }

    // ---- upload ----

    fn on_request(&mut self, conn: ConnId, piece: u32, offset: u32, len: u32) {
        let reject = |reason| Message::Reject { piece, offset, len, reason };
        let Some(picker) = &self.picker else { return self.send(conn, &reject(RejectReason::NotHave)) };
        let piece_len = picker.piece_len(piece);
        if len == 0 || len > wire::MAX_BLOCK_LEN || u64::from(offset) + u64::from(len) > u64::from(piece_len) {
            return self.send(conn, &reject(RejectReason::Invalid));
        }
        let max = self.config.max_upload_queue;
        let Some(peer) = self.peers.get_mut(&conn) else { return };
        if wire::BLOCK_HEADER_LEN + len as usize > peer.send_limit {
            return self.send(conn, &reject(RejectReason::TooLarge));
        }
        if !picker.have().get(piece) {
            return self.send(conn, &reject(RejectReason::NotHave));
        }
        if peer.queue.len() >= max {
            return self.send(conn, &reject(RejectReason::Overloaded));
        }
        peer.queue.push_back(Queued { piece, offset, len });
        self.pump_uploads();
    }

    /// The peer whose queued request is read next (round-robin after the last one read), and its length; `None`
    /// while nothing is queued or [`UPLOAD_READS_IN_FLIGHT`] reads are in flight.
    fn next_upload(&self) -> Option<(ConnId, u32)> {
        if self.reads_in_flight >= UPLOAD_READS_IN_FLIGHT {
            return None;
        }
        let after = match self.upload_cursor {
            Some(c) => self.peers.range((Bound::Excluded(c), Bound::Unbounded)),
            None => self.peers.range(..),
        };
        let before = match self.upload_cursor {
            Some(c) => self.peers.range(..=c),
            None => self.peers.range(..ConnId(0)),
        };
        after.chain(before).find_map(|(c, p)| p.queue.front().map(|q| (*c, q.len)))
    }

    /// Starts reads for queued requests, one peer after the other (round-robin), while fewer than
    /// [`UPLOAD_READS_IN_FLIGHT`] are in flight and, with an upload limit, the allowance covers the next one.
    fn pump_uploads(&mut self) {
        while let Some((conn, len)) = self.next_upload() {
            if let Some(allowance) = self.upload_allowance.as_mut() {
                let Some(left) = allowance.checked_sub(u64::from(len)) else { break };
                *allowance = left;
            }
            self.upload_cursor = Some(conn);
            let Some(q) = self.peers.get_mut(&conn).and_then(|p| {
                p.reads_in_flight += 1;
                p.queue.pop_front()
            }) else {
                break;
            };
            let Some(picker) = &self.picker else { break };
            let offset = picker.piece_offset(q.piece) + u64::from(q.offset);
            let op = self.new_op(Op::Read { conn, piece: q.piece, offset: q.offset, len: q.len });
            self.reads_in_flight += 1;
            self.outputs.push_back(Output::Read { op, offset, len: q.len, headroom: wire::BLOCK_HEADER_LEN });
        }
    }

    /// From now on this swarm reads for uploads only what [`Swarm::grant_upload`] allows (a node's upload limit,
    /// shared by its contents).
    pub fn limit_uploads(&mut self) {
        self.upload_allowance.get_or_insert(0);
    }

    /// Lifts the limit of [`Swarm::limit_uploads`]: queued requests are read as they come again.
    pub fn unlimit_uploads(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.upload_allowance.take().is_some() {
            self.pump_uploads();
        }
    }

    /// Bytes this swarm needs granted before it can start its next upload read: 0 when it needs none (no limit,
    /// nothing queued, reads in flight at their cap, or the allowance covers it).
    pub fn upload_wanted(&self) -> u64 {
        match (self.upload_allowance, self.next_upload()) {
            (Some(allowance), Some((_, len))) => u64::from(len).saturating_sub(allowance),
            _ => 0,
        }
    }

    /// Adds `bytes` to what this swarm may read for uploads (see [`Swarm::limit_uploads`]), and starts the reads
    /// it now covers.
    pub fn grant_upload(&mut self, now: Instant, bytes: u64) {
        self.now = self.now.max(now);
        if let Some(allowance) = self.upload_allowance.as_mut() {
            *allowance = allowance.saturating_add(bytes);
            self.pump_uploads();
        }
    }

    fn on_read_done(&mut self, op: OpId, result: Result<Vec<u8>, StorageError>) {
        let Some(Op::Read { conn, piece, offset, len }) = self.ops.get(&op).copied() else { return };
        self.ops.remove(&op);
        self.reads_in_flight = self.reads_in_flight.saturating_sub(1);
        if let Some(peer) = self.peers.get_mut(&conn) {
            peer.reads_in_flight = peer.reads_in_flight.saturating_sub(1);
            match result {
                Ok(mut buf) if buf.len() == wire::BLOCK_HEADER_LEN + len as usize => {
                    wire::encode_block_in_place(piece, offset, &mut buf);
                    peer.uploaded += u64::from(len);
                    peer.last_sent = self.now;
                    self.uploaded += u64::from(len);
                    self.outputs.push_back(Output::Send { conn, bytes: buf });
                }
                other => {
                    let error = match other {
                        Err(e) => e,
                        Ok(_) => StorageError::Other("storage returned a buffer of the wrong length".to_string()),
                    };
                    self.outputs.push_back(Output::Event(Event::ReadFailed(error)));
                    self.send(conn, &Message::Reject { piece, offset, len, reason: RejectReason::Storage });
                }
            }
        }
        self.pump_uploads();
    }

    // ---- download ----

    /// Sends requests to `conn` until its pipeline is full or nothing it has is wanted.
    fn fill(&mut self, conn: ConnId, hint: Option<u32>) {
        if self.stopped || self.storage_pending {
            return;
        }
        let now = self.now;
        let Some(picker) = self.picker.as_mut() else { return };
        if picker.is_done() {
            return;
        }
        let Some(peer) = self.peers.get_mut(&conn) else { return };
        if peer.phase != Phase::Ready || peer.choked_us || peer.blocks_too_large || now < peer.backoff_until {
            return;
        }
        let target = peer.pipeline_target(
            picker.block_len(),
            self.config.min_pipeline,
            self.config.max_pipeline,
            PIPELINE_WINDOW.as_millis() as u64,
        );
        let part_len = peer.part_len(picker.block_len());
        // Blocks asked in parts count each part against `max_pipeline`, as the remote queues each one.
        let target = target.min((self.config.max_pipeline / picker.block_len().div_ceil(part_len) as usize).max(1));
        let Peer { have: Some(has), requests, last_sent, .. } = peer else { return };
        while requests.len() < target {
            let Some((piece, block)) = picker.pick(conn, has, requests, self.config.max_pieces_in_flight, hint) else {
                if picker.active_count() >= self.config.max_pieces_in_flight {
                    self.cap_hit = true;
                }
                break;
            };
            let range = picker.block_range(piece, block);
            let pending = all_parts(range.1, part_len);
            for (offset, len) in parts(range, part_len, pending) {
                self.outputs
                    .push_back(Output::Send { conn, bytes: wire::encode(&Message::Request { piece, offset, len }) });
            }
            requests.push(Outstanding { piece, block, sent_at: now, pending, part_len, buf: Vec::new() });
            *last_sent = now;
        }
    }

    fn on_block(&mut self, conn: ConnId, piece: u32, offset: u32, data: &[u8]) {
        let max_pipeline = self.config.max_pipeline as u64;
        let Some(peer) = self.peers.get_mut(&conn) else { return };
        let len = data.len() as u64;
        // Even a block no longer wanted shows the peer is working through its queue.
        peer.last_block = self.now;
        let now = self.now;
        // The block, its length, the part's place in it, the part's length, and where the request is.
        let solicited = self.picker.as_ref().and_then(|picker| {
            let bl = picker.block_len();
            let block = offset / bl;
            let (start, block_len) = picker.block_range(piece, block);
            let within = offset.checked_sub(start).filter(|w| *w < block_len)?;
            // The part's place in the block, by the part length the block was asked in.
            let (i, bit) = peer.requests.iter().enumerate().find_map(|(i, r)| {
                let bit = 1u8.checked_shl(within / r.part_len.max(1))?;
                (r.piece == piece
                    && r.block == block
                    && within.is_multiple_of(r.part_len.max(1))
                    && r.pending & bit != 0)
                    .then_some((i, bit))
            })?;
            let part_len = peer.requests[i].part_len;
            Some((block, block_len, within, part_len.min(block_len - within), i, bit))
        });
        let Some((block, block_len, within, expected, i, bit)) = solicited else {
            // Late answers to cancelled or timed-out requests are normal; a stream of blocks nobody asked for is not.
            peer.unsolicited += 1;
            self.wasted += len;
            if peer.unsolicited > peer.cancels_sent + max_pipeline {
                self.violation(conn, "blocks that were not requested");
            }
            return;
        };
        if data.len() != expected as usize {
            return self.violation(conn, "block length differs from the request");
        }
        peer.downloaded += len;
        peer.rate.record(len);
        self.downloaded += len;
        peer.record_latency(peer.requests[i].sent_at, now);
        let r = &mut peer.requests[i];
        r.pending &= !bit;
        let whole;
        let data = if r.pending == 0 && r.buf.is_empty() {
            data
        } else {
            // One part of several: kept in place until the block is whole.
            if r.buf.is_empty() {
                r.buf = vec![0; block_len as usize];
            }
            r.buf[within as usize..within as usize + data.len()].copy_from_slice(data);
            if r.pending != 0 {
                return;
            }
            whole = core::mem::take(&mut r.buf);
            &whole[..]
        };
        peer.requests.remove(i);
        let Some(picker) = self.picker.as_mut() else { return };
        let still_requested = picker.unrequest(piece, block);
        match picker.receive(conn, piece, block, data) {
            Received::Unwanted => self.wasted += len,
            Received::Stored => {}
            Received::PieceComplete => self.verify(piece),
        }
        if still_requested > 0 {
            self.cancel_elsewhere(piece, block);
        }
        self.fill(conn, None);
    }

    /// Endgame: the block arrived, so the duplicate requests for it at other peers are cancelled.
    fn cancel_elsewhere(&mut self, piece: u32, block: u32) {
        let Some(picker) = self.picker.as_mut() else { return };
        let range = picker.block_range(piece, block);
        for (&conn, peer) in self.peers.iter_mut() {
            if let Some(r) = peer.take_request(piece, block) {
                picker.unrequest(piece, block);
                for (offset, len) in parts(range, r.part_len, r.pending) {
                    peer.cancels_sent += 1;
                    self.outputs
                        .push_back(Output::Send { conn, bytes: wire::encode(&Message::Cancel { piece, offset, len }) });
                }
            }
        }
    }

    /// A piece has all its blocks: hashed here, or by the shell with [`Config::shell_hashes`] (it stays active,
    /// so the pieces being hashed count against `max_pieces_in_flight`).
    fn verify(&mut self, piece: u32) {
        let Some(picker) = self.picker.as_mut() else { return };
        let Some((data, senders)) = picker.take_complete(piece) else { return };
        if self.config.shell_hashes {
            let offset = picker.piece_offset(piece);
            let op = self.new_op(Op::Hash { piece });
            self.hashing.insert(op, senders);
            self.outputs.push_back(Output::Hash { op, offset, data });
            return;
        }
        let ok = self.manifest.as_ref().is_some_and(|m| m.verify_piece(piece, &data));
        self.verified(piece, data, senders, ok);
    }

    fn on_hash_done(&mut self, op: OpId, data: Vec<u8>, digest: Option<[u8; 32]>) {
        let Some(Op::Hash { piece }) = self.ops.get(&op).copied() else { return };
        self.ops.remove(&op);
        let senders = self.hashing.remove(&op).unwrap_or_default();
        let Some(manifest) = self.manifest.as_ref() else { return };
        let ok = match digest {
            Some(digest) => {
                data.len() == manifest.piece_len(piece) as usize && manifest.piece_hash(piece) == Some(&digest)
            }
            None => manifest.verify_piece(piece, &data),
        };
        self.verified(piece, data, senders, ok);
    }

    /// A piece's hash was checked: a match is written, a mismatch is refetched and its sender blamed.
    fn verified(&mut self, piece: u32, data: Vec<u8>, senders: Vec<ConnId>, ok: bool) {
        let Some(picker) = self.picker.as_mut() else { return };
        if ok {
            let offset = picker.piece_offset(piece);
            let op = self.new_op(Op::Write { piece });
            self.outputs.push_back(Output::Write { op, offset, data });
            return;
        }
        self.wasted += data.len() as u64;
        picker.failed(piece, senders.len() > 1);
        // Requested again at once, also when the hash came back from the shell rather than within a block.
        self.fill_all = true;
        self.outputs.push_back(Output::Event(Event::PieceFailed { piece }));
        if let [only] = senders[..] {
            let strikes_to_ban = self.config.strikes_to_ban;
            if let Some(peer) = self.peers.get_mut(&only) {
                peer.strikes += 1;
                if peer.strikes >= strikes_to_ban {
                    let reason = BanReason::CorruptPieces(peer.strikes);
                    self.ban(only, GoodbyeReason::Banned, reason);
                }
            }
        }
        self.after_piece_done();
    }

    fn on_write_done(&mut self, op: OpId, result: Result<(), StorageError>) {
        let Some(Op::Write { piece }) = self.ops.get(&op).copied() else { return };
        self.ops.remove(&op);
        let Some(picker) = self.picker.as_mut() else { return };
        if let Err(e) = result {
            picker.failed(piece, false);
            self.fail(Failure::Storage(e));
            return;
        }
        if !picker.written(piece) {
            return;
        }
        let complete = picker.is_done();
        self.outputs.push_back(Output::Event(Event::PieceVerified { piece }));
        let bytes = wire::encode(&Message::Have { piece });
        for (&conn, peer) in self.peers.iter_mut() {
            // A peer that has every piece needs no news; one still in its handshake gets the have-map later.
            if peer.phase != Phase::Ready || peer.have.as_ref().is_some_and(Bitfield::is_full) {
                continue;
            }
            peer.last_sent = self.now;
            self.outputs.push_back(Output::Send { conn, bytes: bytes.clone() });
        }
        if complete {
            self.completed();
        }
        self.after_piece_done();
    }

    /// A piece left the active set: if pipelines were starved by the cap on active pieces, refill them all.
    fn after_piece_done(&mut self) {
        if self.cap_hit {
            self.cap_hit = false;
            self.fill_all = true;
        }
    }

    fn on_reject(&mut self, conn: ConnId, piece: u32, offset: u32, len: u32, reason: RejectReason) {
        let now = self.now;
        let (Some(picker), Some(peer)) = (self.picker.as_mut(), self.peers.get_mut(&conn)) else { return };
        let block = offset / picker.block_len();
        // The blocks given up at this peer, with the parts of each still asked (cancelled below).
        let mut withdraw = Vec::new();
        if let Some(r) = peer.take_request(piece, block) {
            picker.unrequest(piece, block);
            self.fill_all = true;
            // One part refused: the block goes elsewhere whole, so its other parts are withdrawn.
            let refused = offset.checked_sub(picker.block_range(piece, block).0).map_or(0, |w| w / r.part_len.max(1));
            withdraw.push((r.piece, r.block, r.part_len, r.pending & !1u8.checked_shl(refused).unwrap_or(0)));
        }
        if reason == RejectReason::TooLarge && !peer.blocks_too_large {
            // Its side takes shorter messages than its connection says (PROTOCOL.md 2.10): ask it in shorter parts,
            // halving down to the floor; refused at the floor, it cannot serve this side, and is asked nothing more.
            if len > wire::MIN_BLOCK_LEN {
                let shorter = (1u32 << (31 - (len - 1).leading_zeros())).max(wire::MIN_BLOCK_LEN);
                peer.part_cap = Some(peer.part_cap.map_or(shorter, |cap| cap.min(shorter)));
            } else {
                peer.blocks_too_large = true;
                for r in core::mem::take(&mut peer.requests) {
                    picker.unrequest(r.piece, r.block);
                    withdraw.push((r.piece, r.block, r.part_len, r.pending));
                }
                let why = Refusal::BlocksTooLong { block_len: len };
                self.outputs.push_back(Output::Event(Event::PeerRefused { conn, why }));
            }
        } else if reason != RejectReason::Invalid && reason != RejectReason::TooLarge {
            peer.backoff_until = now + BACKOFF;
        }
        // Cancelled, not only released: a part that fits (the file's shorter last block) may still come.
        for (piece, block, part_len, pending) in withdraw {
            let range = picker.block_range(piece, block);
            for (offset, len) in parts(range, part_len, pending) {
                peer.cancels_sent += 1;
                self.outputs
                    .push_back(Output::Send { conn, bytes: wire::encode(&Message::Cancel { piece, offset, len }) });
            }
        }
    }

    /// Gives back every request outstanding at `conn` to the picker.
    fn release_requests(&mut self, conn: ConnId) {
        let (Some(picker), Some(peer)) = (self.picker.as_mut(), self.peers.get_mut(&conn)) else { return };
        for r in peer.requests.drain(..) {
            picker.unrequest(r.piece, r.block);
        }
        self.fill_all = true;
    }

    // ---- timers ----

    fn tick(&mut self) {
        let now = self.now;
        let idle = self.config.idle_timeout;
        let mut to_close = Vec::new();
        let mut cancels = Vec::new();
        for (&conn, peer) in self.peers.iter_mut() {
            peer.rate.update(now);
            let silent = now.saturating_since(peer.last_received);
            let waiting = peer.phase == Phase::AwaitingHandshake && now.saturating_since(peer.connected_at) >= idle;
            // Gone by the server's word and silent since (what was in flight when it left has arrived by now).
            let departed = peer
                .left_hint
                .is_some_and(|hint| now.saturating_since(peer.last_received.max(hint)) >= self.config.departure_grace);
            if silent >= idle || waiting || departed {
                to_close.push(conn);
                continue;
            }
            let timeout = self.config.request_timeout;
            let before = peer.requests.len();
            // A peer still delivering blocks is busy, not silent: its requests wait in its upload queue, and
            // moving them would only have the same blocks sent twice. A peer that delivered nothing for a whole
            // timeout loses every request older than the timeout.
            let delivering = now.saturating_since(peer.last_block) < timeout;
            peer.requests.retain(|r| {
                let expired = !delivering && now.saturating_since(r.sent_at) >= timeout;
                if expired {
                    cancels.push((conn, r.piece, r.block, r.part_len, r.pending));
                }
                !expired
            });
            if peer.requests.len() != before {
                // A slow or silent peer: start again from the smallest pipeline, and let others take its blocks.
                peer.rate = peer::RateMeter::new(now);
                peer.backoff_until = now + BACKOFF;
            }
            // Nothing but the Handshake goes out before the other side's (PROTOCOL.md 2.6): a peer still in its
            // handshake gets no keep-alive; it is closed above if its Handshake does not come within `idle`.
            if peer.phase == Phase::Ready && now.saturating_since(peer.last_sent) >= idle / 3 {
                peer.last_sent = now;
                self.outputs.push_back(Output::Send { conn, bytes: wire::encode(&Message::KeepAlive) });
            }
        }
        for (conn, piece, block, part_len, pending) in cancels {
            let (Some(picker), Some(peer)) = (self.picker.as_mut(), self.peers.get_mut(&conn)) else { continue };
            let range = picker.block_range(piece, block);
            picker.unrequest(piece, block);
            for (offset, len) in parts(range, part_len, pending) {
                peer.cancels_sent += 1;
                self.outputs
                    .push_back(Output::Send { conn, bytes: wire::encode(&Message::Cancel { piece, offset, len }) });
            }
        }
        for conn in to_close {
            self.drop_peer(conn);
            self.outputs.push_back(Output::Close { conn });
        }
        if let Some(f) = &self.fetch
            && now.saturating_since(f.asked_at) >= self.config.request_timeout
        {
            let conn = f.conn;
            self.fetch = None;
            self.fetch_tried.insert(conn, ());
        }
        if self.picker.is_none() && self.fetch.is_none() {
            // Everyone was asked this round: ask again from the start (a peer may have fetched it meanwhile).
            if self.peers.keys().all(|c| self.fetch_tried.contains_key(c)) {
                self.fetch_tried.clear();
            }
            self.start_fetch();
        }
        self.fill_all = true;
    }

    // ---- helpers ----

    fn after_input(&mut self) {
        if self.fill_all {
            self.fill_all = false;
            let conns: Vec<ConnId> = self.peers.keys().copied().collect();
            for conn in conns {
                self.fill(conn, None);
            }
        }
    }

    /// Asks a ready peer not asked yet this round for the manifest, if it is unknown and nobody is being asked.
    fn start_fetch(&mut self) {
        if self.picker.is_some() || self.fetch.is_some() || self.stopped {
            return;
        }
        let next = self
            .peers
            .iter()
            .find(|(c, p)| p.phase == Phase::Ready && !self.fetch_tried.contains_key(c))
            .map(|(c, _)| *c);
        if let Some(conn) = next {
            self.fetch = Some(Fetch::new(conn, self.now));
            self.send(conn, &Message::ManifestRequest { offset: 0 });
        }
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        let conns: Vec<ConnId> = self.peers.keys().copied().collect();
        for conn in conns {
            self.goodbye(conn, GoodbyeReason::Leaving);
        }
        self.stopped = true;
        self.fetch = None;
    }

    /// Fails the content: stops it ([`Swarm::stop`]: goodbye to every peer, no fetch, no requests), forgets the
    /// storage operations in flight (their results are ignored) and says why, once.
    fn fail(&mut self, failure: Failure) {
        if self.stopped {
            return;
        }
        self.stop();
        self.ops.clear();
        self.hashing.clear();
        self.reads_in_flight = 0;
        self.outputs.push_back(Output::Event(Event::Failed(failure)));
    }

    fn send(&mut self, conn: ConnId, msg: &Message<'_>) {
        if let Some(peer) = self.peers.get_mut(&conn) {
            peer.last_sent = self.now;
        }
        self.outputs.push_back(Output::Send { conn, bytes: wire::encode(msg) });
    }

    /// Says goodbye, closes and forgets the connection.
    fn goodbye(&mut self, conn: ConnId, reason: GoodbyeReason) {
        self.send(conn, &Message::Goodbye { reason });
        self.outputs.push_back(Output::Close { conn });
        self.drop_peer(conn);
    }

    /// The peer broke the protocol: it is dropped and reported.
    fn violation(&mut self, conn: ConnId, rule: &'static str) {
        self.ban(conn, GoodbyeReason::ProtocolViolation, BanReason::Rule(rule));
    }

    fn ban(&mut self, conn: ConnId, goodbye: GoodbyeReason, reason: BanReason) {
        if !self.peers.contains_key(&conn) {
            return;
        }
        self.outputs.push_back(Output::Event(Event::PeerBanned { conn, reason }));
        self.goodbye(conn, goodbye);
    }

    /// Forgets a peer: its requests go back to the picker, its pieces no longer count as available.
    fn drop_peer(&mut self, conn: ConnId) {
        let Some(peer) = self.peers.remove(&conn) else { return };
        if let Some(picker) = self.picker.as_mut() {
            for r in &peer.requests {
                picker.unrequest(r.piece, r.block);
            }
            if let Some(have) = &peer.have {
                for p in have.iter_set() {
                    picker.remove_available(p);
                }
            }
            picker.forget_owner(conn);
        }
        self.fetch_tried.remove(&conn);
        if self.fetch.as_ref().is_some_and(|f| f.conn == conn) {
            self.fetch = None;
            self.start_fetch();
        }
        self.fill_all = true;
    }

    fn new_op(&mut self, op: Op) -> OpId {
        let id = OpId(self.next_op);
        self.next_op += 1;
        self.ops.insert(id, op);
        id
    }
}
