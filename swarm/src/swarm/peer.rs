//! What the state machine knows about one remote peer: handshake phase, the pieces it has, the requests this
//! peer has outstanding to it (download side), the requests it queued here (upload side), its measured rate and
//! its strikes.

use std::collections::VecDeque;

use crate::bitfield::Bitfield;
use crate::bucket::TokenBucket;

use crate::time::Instant;
use crate::wire::{MANIFEST_DATA_HEADER_LEN, MAX_BLOCK_LEN};

use super::{MANIFEST_REQUEST_BURST, MANIFEST_REQUESTS_PER_SEC, PIPELINE_FLOOR_BYTES, QUEUE_TARGET};

/// Blocks requested beyond what the measured rate delivers in the pipeline window: one being received and one
/// to follow it.
const PIPELINE_SLACK: usize = 2;

/// How far the state machine is with this peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Our handshake is sent; theirs has not arrived.
    AwaitingHandshake,
    /// Handshakes exchanged: every other message is allowed.
    Ready,
}

/// One block this peer asked the remote for and is waiting for: block `block` of `piece`, asked in one Request,
/// or in parts when the connection carries shorter messages than a block (PROTOCOL.md 2.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outstanding {
    pub piece: u32,
    pub block: u32,
    pub sent_at: Instant,
    /// The parts not received yet, a bit each: bit `i` is the part at `i * part_len` in the block (see
    /// [`Peer::part_len`]); a block asked whole is one part. A block has at most 8 parts (`MAX_BLOCK_LEN /
    /// MIN_BLOCK_LEN`).
    pub pending: u8,
    /// The length of its parts when it was asked (the whole block's length, or more, when asked whole).
    pub part_len: u32,
    /// The parts received so far, each at its place in the block; empty until a first part of several arrives.
    pub buf: Vec<u8>,
}

/// One request the remote queued here, waiting for a storage read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Queued {
    pub piece: u32,
    pub offset: u32,
    pub len: u32,
}

/// Received payload rate, as an exponentially weighted average updated on every tick.
#[derive(Debug, Clone)]
pub(crate) struct RateMeter {
    /// Payload bytes received since the last update.
    window_bytes: u64,
    window_start: Instant,
    /// Bytes per second.
    rate: u64,
}

impl RateMeter {
    pub(crate) fn new(now: Instant) -> Self {
        RateMeter { window_bytes: 0, window_start: now, rate: 0 }
    }

    pub(crate) fn record(&mut self, bytes: u64) {
        self.window_bytes = self.window_bytes.saturating_add(bytes);
    }

    /// Folds the window into the average; windows shorter than a second are left to grow so that a burst of
    /// blocks on a slow share of a busy uploader does not read as a fast link.
    pub(crate) fn update(&mut self, now: Instant) {
        let ms = now.saturating_since(self.window_start).as_millis() as u64;
        if ms < 1000 {
            return;
        }
        let instant = self.window_bytes.saturating_mul(1000) / ms;
        // Half-life of one window: fast enough to follow a link that speeds up within a second or two.
        self.rate = if self.rate == 0 { instant } else { (self.rate + instant) / 2 };
        self.window_bytes = 0;
        self.window_start = now;
    }

    /// Bytes per second.
    pub(crate) fn rate(&self) -> u64 {
        self.rate
    }
}

/// One remote peer on one connection.
#[derive(Debug)]
pub(crate) struct Peer {
    pub phase: Phase,
    /// The proof its Handshake must carry (checked while `phase` is `AwaitingHandshake`).
    pub expected_proof: [u8; 32],
    pub connected_at: Instant,
    pub last_received: Instant,
    pub last_sent: Instant,
    /// When the signaling server said this peer left the content's swarm (`Input::PeerLeft`).
    pub left_hint: Option<Instant>,
    /// Pieces the remote has, once both the manifest and its have-map are known.
    pub have: Option<Bitfield>,
    /// The remote's have-map received before this peer knew the manifest (at most `wire::MAX_HAVE_MAP_LEN` bytes).
    pub early_map: Option<Vec<u8>>,
    /// `Have`s received before the manifest was known, as indices below `MAX_PIECES`.
    pub early_haves: Option<Bitfield>,
    /// Whether a have-map arrived (only one is allowed).
    pub got_map: bool,
    /// The remote sent `Choke`: send it no requests until `Unchoke`.
    pub choked_us: bool,
    /// The remote answered `Overloaded`: send it no new requests before this time.
    pub backoff_until: Instant,
    /// Download side: requests sent to the remote, oldest first; at most `Config::max_pipeline`.
    pub requests: Vec<Outstanding>,
    /// Upload side: requests from the remote waiting for a read; at most `Config::max_upload_queue`.
    pub queue: VecDeque<Queued>,
    /// Reads started for this peer's requests and not finished yet.
    pub reads_in_flight: usize,
    pub rate: RateMeter,
    /// Pieces that failed verification with this peer as their only source.
    pub strikes: u32,
    /// Blocks received that matched no outstanding request, and `Cancel`s sent (each may cross a block in
    /// flight): more of the first than the second allows is a protocol violation.
    pub unsolicited: u64,
    pub cancels_sent: u64,
    /// When the last requested block arrived (or the connection opened).
    pub last_block: Instant,
    /// Shortest time from a request to its block seen on this connection, in milliseconds: its round trip with
    /// empty queues, about.
    pub min_latency_ms: Option<u64>,
    pub downloaded: u64,
    pub uploaded: u64,
    /// Set when this peer had the whole file as the remote's handshake arrived: the pieces shown to the remote
    /// (its have-map and `Have`s named only these; see `reveal`).
    pub shown: Option<Bitfield>,
    /// Pieces in `shown` the remote does not hold yet and wants, as far as its have-map, `Have`s and `Want` tell.
    pub shown_missing: usize,
    /// The pieces the remote said it wants (its latest `Want`, checked against the piece count); `None`: every
    /// piece. Only pieces it wants are shown to it.
    pub wants: Option<Bitfield>,
    /// ManifestRequests this peer still answers with data now: [`MANIFEST_REQUEST_BURST`] at once, then
    /// [`MANIFEST_REQUESTS_PER_SEC`].
    pub manifest_requests: TokenBucket,
    /// Longest message the connection carries to the remote (`Input::PeerConnected`'s `max_message`, at most
    /// `wire::MAX_MESSAGE_LEN`, at least `wire::MIN_MESSAGE_LEN`).
    pub send_limit: usize,
    /// It answered `Reject(TooLarge)` to parts of the floor's length: nothing more is requested from it.
    pub blocks_too_large: bool,
    /// The longest part it may be asked for, once it refused a longer one (`Reject(TooLarge)`): it takes shorter
    /// messages than its connection says (PROTOCOL.md 2.10).
    pub part_cap: Option<u32>,
}

/// Bytes of the manifest encoding one `ManifestData` carries on a connection whose messages are at most
/// `send_limit` bytes long (PROTOCOL.md 2.3).
pub(crate) fn manifest_chunk(send_limit: usize) -> usize {
    send_limit.saturating_sub(MANIFEST_DATA_HEADER_LEN).clamp(1, MAX_BLOCK_LEN as usize)
}

impl Peer {
    /// Pieces shown to the remote that it neither holds nor said it does not want.
    pub fn missing_shown(&self) -> usize {
        let (Some(shown), Some(have)) = (&self.shown, &self.have) else {
            return self.shown.as_ref().map_or(0, |s| s.count() as usize);
        };
        shown.iter_set().filter(|&p| !have.get(p) && self.wants.as_ref().is_none_or(|w| w.get(p))).count()
    }

    /// Bytes of the manifest encoding one `ManifestData` to this peer carries.
    pub(crate) fn manifest_chunk(&self) -> usize {
        manifest_chunk(self.send_limit)
    }

    /// `expected_proof`: the handshake proof the peer must send (PROTOCOL.md 2.11).
    pub(crate) fn new(now: Instant, send_limit: usize, expected_proof: [u8; 32]) -> Self {
        // A ManifestData answer is shorter on a connection that carries shorter messages, so a fetch takes more
        // requests: the burst and the rate grow with them, which keeps both the same in bytes.
        let chunks = MAX_BLOCK_LEN.div_ceil(manifest_chunk(send_limit) as u32);
        Peer {
            phase: Phase::AwaitingHandshake,
            expected_proof,
            connected_at: now,
            last_received: now,
            last_sent: now,
            left_hint: None,
            have: None,
            early_map: None,
            early_haves: None,
            got_map: false,
            choked_us: false,
            backoff_until: Instant::ZERO,
            requests: Vec::new(),
            queue: VecDeque::new(),
            reads_in_flight: 0,
            rate: RateMeter::new(now),
            strikes: 0,
            unsolicited: 0,
            cancels_sent: 0,
            last_block: now,
            min_latency_ms: None,
            downloaded: 0,
            uploaded: 0,
            shown: None,
            shown_missing: 0,
            wants: None,
            manifest_requests: TokenBucket::full(
                MANIFEST_REQUEST_BURST * chunks,
                MANIFEST_REQUESTS_PER_SEC * chunks,
                now,
            ),
            send_limit,
            blocks_too_large: false,
            part_cap: None,
        }
    }

    /// Requests to keep outstanding: enough to cover the pipeline window at the measured rate plus two blocks of
    /// slack, at most `max`. The window is the shortest request-to-block time seen plus [`QUEUE_TARGET`], at most
    /// `window_ms` (all of `window_ms` until a block arrived). `min` applies until a rate is measured; after that the
    /// rate decides, so a peer whose upload is shared by many requesters gets few requests (each waits in its queue
    /// about the window) and a fast link gets many.
    ///
    /// This keeps queues short without a cap that would starve a long link: with `W` outstanding, a link of
    /// capacity `C` and round trip `R` delivers `min(C, W / R)`; while `W / R < C` the measured rate gives a
    /// window of `rate * (R + target) > W`, so the pipeline grows, until queueing adds about `target` to `R`.
    ///
    /// The shortest round trip only grows the window for delay the pipeline itself builds; a peer whose blocks are
    /// slow for other reasons (reads from its disk, a busy thread) would see its rate fall and the window shrink with
    /// it, down to two blocks. So the window never falls below [`PIPELINE_FLOOR_BYTES`], slack included, unless the
    /// whole `window_ms` at the measured rate is less: that much never overran Chromium's limit.
    pub(crate) fn pipeline_target(&self, block_len: u32, min: usize, max: usize, window_ms: u64) -> usize {
        let rate = self.rate.rate();
        let floor = if rate == 0 { min.max(1) } else { PIPELINE_SLACK };
        let block_len = u64::from(block_len.max(1));
        let blocks_for = |ms: u64| (rate.saturating_mul(ms) / 1000 / block_len) as usize + PIPELINE_SLACK;
        let whole = blocks_for(window_ms);
        let blocks = match self.min_latency_ms {
            None => whole,
            Some(r) => {
                let short = blocks_for(r.saturating_add(QUEUE_TARGET.as_millis() as u64).min(window_ms));
                let least = PIPELINE_FLOOR_BYTES.div_ceil(block_len) as usize;
                short.max(whole.min(least))
            }
        };
        blocks.clamp(floor, max.max(floor))
    }

    /// Removes the outstanding request for `(piece, block)`; when it was sent, if there was one.
    pub(crate) fn take_request(&mut self, piece: u32, block: u32) -> Option<Outstanding> {
        let i = self.requests.iter().position(|r| r.piece == piece && r.block == block)?;
        Some(self.requests.remove(i))
    }

    /// Length of the parts a block of `block_len` bytes is asked in from this peer: the whole block when its
    /// Block message fits in what the connection carries, else the largest power of two that fits (PROTOCOL.md
    /// 2.10).
    pub(crate) fn part_len(&self, block_len: u32) -> u32 {
        let fits = crate::wire::block_len_for(self.send_limit).unwrap_or(block_len);
        block_len.min(fits).min(self.part_cap.unwrap_or(u32::MAX))
    }

    /// A block answered a request sent at `sent_at`: remembers the shortest request-to-block time.
    pub(crate) fn record_latency(&mut self, sent_at: Instant, now: Instant) {
        let ms = now.saturating_since(sent_at).as_millis() as u64;
        self.min_latency_ms = Some(self.min_latency_ms.map_or(ms, |m| m.min(ms)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_grows_with_measured_rate_and_stays_within_bounds() {
        let mut p = Peer::new(Instant::ZERO, crate::wire::MAX_MESSAGE_LEN, [0; 32]);
        assert_eq!(p.pipeline_target(128 * 1024, 4, 64, 1000), 4);
        p.rate.record(10 * 1024 * 1024);
        p.rate.update(Instant::from_millis(1000));
        assert_eq!(p.pipeline_target(128 * 1024, 4, 64, 1000), 64);
        p.rate.record(1024 * 1024);
        p.rate.update(Instant::from_millis(2000));
        let t = p.pipeline_target(128 * 1024, 4, 64, 1000);
        assert!((4..=64).contains(&t));
    }

    /// A peer whose rate over its first second was `bytes_per_s` and whose shortest round trip is `rtt_ms`, if any.
    fn measured(bytes_per_s: u64, rtt_ms: Option<u64>) -> Peer {
        let mut p = Peer::new(Instant::ZERO, crate::wire::MAX_MESSAGE_LEN, [0; 32]);
        p.rate.record(bytes_per_s);
        p.rate.update(Instant::from_millis(1000));
        if let Some(ms) = rtt_ms {
            p.record_latency(Instant::from_millis(1000), Instant::from_millis(1000 + ms));
        }
        p
    }

    #[test]
    fn pipeline_covers_the_shortest_round_trip_plus_the_queue_target() {
        const MIB: u64 = 1024 * 1024;
        let mut p = measured(10 * MIB, None);
        // No block yet: the whole window (10 MiB/s for 1 s is 80 blocks, capped at 64).
        assert_eq!(p.pipeline_target(128 * 1024, 4, 64, 1000), 64);
        // Blocks came back after 30 ms and then 10 ms: 10 + 20 ms at 10 MiB/s is 2.4 blocks, plus 2 of slack, which
        // is under the floor of 1 MiB: 8 blocks.
        p.record_latency(Instant::from_millis(1000), Instant::from_millis(1030));
        p.record_latency(Instant::from_millis(1040), Instant::from_millis(1050));
        assert_eq!(p.min_latency_ms, Some(10));
        assert_eq!(p.pipeline_target(128 * 1024, 4, 64, 1000), 8);
        // With 32 KiB blocks, 10 + 20 ms at 10 MiB/s is 9.6 blocks plus 2: under the floor's 32 blocks.
        assert_eq!(p.pipeline_target(32 * 1024, 4, 64, 1000), 32);
        // At 40 MiB/s the round trip plus the target is above the floor: 30 ms is 9.6 blocks, plus 2.
        assert_eq!(measured(40 * MIB, Some(10)).pipeline_target(128 * 1024, 4, 64, 1000), 11);
        // A slow peer: a whole second at 512 KiB/s is 4 blocks plus 2, less than the floor, so the whole second.
        assert_eq!(measured(MIB / 2, Some(10)).pipeline_target(128 * 1024, 4, 64, 1000), 6);
        // A long round trip: the window is the round trip plus the target, at most the whole window.
        let mut far = measured(10 * MIB, Some(250));
        assert_eq!(far.pipeline_target(128 * 1024, 4, 64, 1000), 23);
        far.min_latency_ms = Some(5000);
        assert_eq!(far.pipeline_target(128 * 1024, 4, 64, 1000), 64);
    }

    #[test]
    fn a_slow_measured_peer_gets_fewer_requests_than_the_starting_minimum() {
        let mut p = Peer::new(Instant::ZERO, crate::wire::MAX_MESSAGE_LEN, [0; 32]);
        // 64 KiB/s: half a block per second, so one block covers the window and one more is the slack.
        p.rate.record(64 * 1024);
        p.rate.update(Instant::from_millis(1000));
        assert_eq!(p.pipeline_target(128 * 1024, 4, 64, 1000), 2);
    }

    #[test]
    fn rate_meter_ignores_windows_shorter_than_a_second() {
        let mut m = RateMeter::new(Instant::ZERO);
        m.record(1_000_000);
        m.update(Instant::from_millis(10));
        assert_eq!(m.rate(), 0);
        m.update(Instant::from_millis(2000));
        assert_eq!(m.rate(), 500_000);
    }
}
