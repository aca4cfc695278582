//! The piece picker: which block to ask which peer for next, and the assembly of pieces from blocks.
//!
//! Rarest first: pieces nobody is fetching yet sit in an ordered set keyed by (availability among connected
//! peers, a random tie-break drawn once per piece from the swarm's seeded RNG, piece index), so the rarest piece a
//! peer has is found by walking the set from the front; a seeder's first candidate is the answer. Started
//! pieces are finished before new ones are started (a piece can be served to others only once whole), and at
//! most `max_active` pieces are being assembled at once, which bounds the memory held by partial pieces.
//! A piece is fetched block by block, from several peers in parallel. Endgame: once every missing piece is
//! started, a block already requested elsewhere may be requested once more from another peer; the first copy
//! wins and the others are cancelled. (Not earlier: a downloader whose neighbours have only a few pieces yet
//! would otherwise duplicate every request while the rest of the file is still to come, and each cancelled
//! duplicate usually crosses its block on the wire.)
//!
//! Blame: each received block remembers its sender. A piece that fails verification with one sender gives that
//! sender a strike; with several senders nobody is blamed and the piece is marked single-source, so its next
//! attempt comes from one peer only and a second failure is attributed exactly.

use std::collections::BTreeSet;

use rand_core::Rng;

use crate::bitfield::Bitfield;
use crate::manifest::Manifest;
use crate::swarm::ConnId;
use crate::swarm::peer::Outstanding;
use crate::vec_map::VecMap;

/// Most peers one block is requested from at once (endgame duplicates).
const MAX_DUPLICATES: u8 = 2;
/// Consecutive pieces covering this many bytes share one random tie-break, here and in the seeder's
/// [`super::reveal::Reveal`]: among equally rare pieces, a run is fetched in order before the next random run. A
/// browser seeder then reads its file in order, which lets it read ahead in large chunks (`www/read-worker.js`:
/// one 1 MiB read costs about half the CPU of eight 128 KiB ones). Runs are still drawn at random, so downloaders
/// of one swarm start at different places and have pieces to trade.
pub(crate) const RUN_BYTES: u32 = 1024 * 1024;

/// A random tie-break per piece, shared by the pieces of each run of [`RUN_BYTES`].
pub(crate) fn run_keys(count: u32, piece_size: u32, rng: &mut impl Rng) -> Vec<u32> {
    let run = (RUN_BYTES / piece_size.max(1)).max(1);
    let mut keys = Vec::with_capacity(count as usize);
    let mut key = 0;
    for p in 0..count {
        if p % run == 0 {
            key = rng.next_u32();
        }
        keys.push(key);
    }
    keys
}

#[derive(Debug, Clone, Copy, Default)]
struct Block {
    /// Peers this block is currently requested from.
    requested: u8,
    /// Who sent the copy stored in the piece buffer.
    from: Option<ConnId>,
}

/// A piece being assembled, verified or written.
#[derive(Debug)]
struct Active {
    blocks: Vec<Block>,
    /// The piece's bytes, allocated when its first block arrives.
    buf: Vec<u8>,
    received: u32,
    /// Blocks neither received nor requested.
    unrequested: u32,
    /// After a verification failure with mixed senders: all blocks from `owner`, the first peer asked.
    single_source: bool,
    owner: Option<ConnId>,
    /// Verified; the write is in progress (the buffer has moved to the write).
    writing: bool,
}

/// What a received block did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// Not needed (a duplicate, or the piece is no longer being fetched).
    Unwanted,
    Stored,
    /// The last missing block: the piece is ready for [`Picker::take_complete`].
    PieceComplete,
}

/// Download-side state of one content whose manifest is known.
#[derive(Debug)]
pub(crate) struct Picker {
    piece_size: u32,
    file_size: u64,
    block_len: u32,
    /// Verified and written pieces.
    have: Bitfield,
    /// Connected peers that have each piece (saturating; at most `max_peers` in practice).
    avail: Vec<u16>,
    /// Random tie-break per piece ([`run_keys`]).
    keys: Vec<u32>,
    /// Missing pieces not being fetched: (availability, tie-break, piece). The same set type as
    /// [`super::reveal::Reveal`]'s order, so the wasm carries one copy of `BTreeSet`'s code.
    startable: BTreeSet<(u32, u32, u32)>,
    /// At most `max_active` entries.
    active: VecMap<u32, Active>,
    /// Pieces whose next attempt must come from a single peer.
    suspect: Bitfield,
    /// The pieces to fetch ([`Picker::select`]); `None`: every piece.
    wanted: Option<Bitfield>,
}

impl Picker {
    pub(crate) fn new(manifest: &Manifest, have: Bitfield, block_len: u32, rng: &mut impl Rng) -> Self {
        let count = manifest.piece_count();
        let keys = run_keys(count, manifest.piece_size(), rng);
        // Inserted one by one: `collect` into a set would bring in a stable sort's code for this one call.
        let mut startable = BTreeSet::new();
        for p in (0..count).filter(|&p| !have.get(p)) {
            startable.insert((0, keys[p as usize], p));
        }
        Picker {
            piece_size: manifest.piece_size(),
            file_size: manifest.size(),
            block_len: block_len.max(1),
            have,
            avail: vec![0; count as usize],
            keys,
            startable,
            active: VecMap::new(),
            suspect: Bitfield::new(count),
            wanted: None,
        }
    }

    /// Fetches only the pieces set in `wanted` (of the piece count's length), or every piece with `None`. Pieces
    /// already being fetched finish; verified pieces stay, whatever is selected.
    pub(crate) fn select(&mut self, wanted: Option<Bitfield>) {
        self.wanted = wanted.filter(|w| w.len() == self.piece_count());
        self.startable.clear();
        for p in 0..self.piece_count() {
            if !self.have.get(p) && !self.active.contains_key(&p) && self.is_wanted(p) {
                self.startable.insert(self.startable_entry(p));
            }
        }
    }

    /// The pieces to fetch, if not every piece ([`Picker::select`]).
    pub(crate) fn wanted(&self) -> Option<&Bitfield> {
        self.wanted.as_ref()
    }

    fn is_wanted(&self, piece: u32) -> bool {
        self.wanted.as_ref().is_none_or(|w| w.get(piece))
    }

    /// Every wanted piece is verified and written.
    pub(crate) fn is_done(&self) -> bool {
        match &self.wanted {
            None => self.have.is_full(),
            Some(wanted) => wanted.iter_set().all(|p| self.have.get(p)),
        }
    }

    pub(crate) fn have(&self) -> &Bitfield {
        &self.have
    }

    pub(crate) fn piece_count(&self) -> u32 {
        self.have.len()
    }

    pub(crate) fn block_len(&self) -> u32 {
        self.block_len
    }

    /// Length of `piece` in bytes; 0 out of range.
    pub(crate) fn piece_len(&self, piece: u32) -> u32 {
        if piece >= self.piece_count() {
            return 0;
        }
        let start = u64::from(piece) * u64::from(self.piece_size);
        (self.file_size - start).min(u64::from(self.piece_size)) as u32
    }

    pub(crate) fn piece_offset(&self, piece: u32) -> u64 {
        u64::from(piece) * u64::from(self.piece_size)
    }

    pub(crate) fn blocks_in(&self, piece: u32) -> u32 {
        self.piece_len(piece).div_ceil(self.block_len)
    }

    /// Byte offset within the piece and length of block `block`.
    pub(crate) fn block_range(&self, piece: u32, block: u32) -> (u32, u32) {
        let offset = block * self.block_len;
        (offset, self.block_len.min(self.piece_len(piece).saturating_sub(offset)))
    }

    /// Pieces being assembled, verified or written.
    pub(crate) fn active_count(&self) -> usize {
        self.active.len()
    }

    /// Every missing piece is started: duplicates are allowed.
    pub(crate) fn in_endgame(&self) -> bool {
        self.startable.is_empty()
    }

    /// A connected peer has `piece`.
    pub(crate) fn add_available(&mut self, piece: u32) {
        self.change_available(piece, true);
    }

    /// A peer that had `piece` left.
    pub(crate) fn remove_available(&mut self, piece: u32) {
        self.change_available(piece, false);
    }

    fn change_available(&mut self, piece: u32, up: bool) {
        let Some(a) = self.avail.get(piece as usize).copied() else { return };
        let b = if up { a.saturating_add(1) } else { a.saturating_sub(1) };
        let key = self.keys[piece as usize];
        if self.startable.remove(&(u32::from(a), key, piece)) {
            self.startable.insert((u32::from(b), key, piece));
        }
        self.avail[piece as usize] = b;
    }

    /// Chooses a block to request from peer `conn`, which has the pieces in `has` and already has the requests
    /// `pending` outstanding; marks it requested. With a `hint` (a piece the peer just announced), looks only at
    /// that piece: the peer's pipeline was not full, so nothing else it has was wanted.
    pub(crate) fn pick(
        &mut self,
        conn: ConnId,
        has: &Bitfield,
        pending: &[Outstanding],
        max_active: usize,
        hint: Option<u32>,
    ) -> Option<(u32, u32)> {
        if let Some(p) = hint {
            if !has.get(p) || self.have.get(p) {
                return None;
            }
            if let Some(b) = self.take_unrequested(conn, p) {
                return Some((p, b));
            }
            if self.active.len() < max_active && self.startable.remove(&self.startable_entry(p)) {
                self.activate(p);
                return self.take_unrequested(conn, p).map(|b| (p, b));
            }
            return None;
        }
        // Finish started pieces first.
        let started: Vec<u32> = self
            .active
            .iter()
            .filter(|(p, a)| !a.writing && a.unrequested > 0 && has.get(**p))
            .map(|(p, _)| *p)
            .collect();
        for p in started {
            if let Some(b) = self.take_unrequested(conn, p) {
                return Some((p, b));
            }
        }
        if self.active.len() < max_active {
            let found = self.startable.iter().find(|(_, _, p)| has.get(*p)).copied();
            if let Some(entry) = found {
                self.startable.remove(&entry);
                self.activate(entry.2);
                return self.take_unrequested(conn, entry.2).map(|b| (entry.2, b));
            }
        }
        if self.in_endgame() {
            for (&p, a) in self.active.iter_mut() {
                if a.writing || a.single_source || !has.get(p) {
                    continue;
                }
                for (b, blk) in a.blocks.iter_mut().enumerate() {
                    let b = b as u32;
                    if blk.from.is_none()
                        && blk.requested > 0
                        && blk.requested < MAX_DUPLICATES
                        && !pending.iter().any(|r| r.piece == p && r.block == b)
                    {
                        blk.requested += 1;
                        return Some((p, b));
                    }
                }
            }
        }
        None
    }

    /// `piece`'s entry in `startable`.
    fn startable_entry(&self, piece: u32) -> (u32, u32, u32) {
        (u32::from(self.avail[piece as usize]), self.keys[piece as usize], piece)
    }

    fn activate(&mut self, piece: u32) {
        let n = self.blocks_in(piece);
        self.active.insert(
            piece,
            Active {
                blocks: vec![Block::default(); n as usize],
                buf: Vec::new(),
                received: 0,
                unrequested: n,
                single_source: self.suspect.get(piece),
                owner: None,
                writing: false,
            },
        );
    }

    fn take_unrequested(&mut self, conn: ConnId, piece: u32) -> Option<u32> {
        let a = self.active.get_mut(&piece)?;
        if a.writing || a.unrequested == 0 || (a.single_source && a.owner.is_some_and(|o| o != conn)) {
            return None;
        }
        let b = a.blocks.iter().position(|blk| blk.from.is_none() && blk.requested == 0)?;
        a.blocks[b].requested = 1;
        a.unrequested -= 1;
        if a.single_source {
            a.owner = Some(conn);
        }
        Some(b as u32)
    }

    /// A request for `(piece, block)` is no longer outstanding at one peer (answered, rejected, timed out,
    /// cancelled or the peer left). Returns how many peers still have it outstanding.
    pub(crate) fn unrequest(&mut self, piece: u32, block: u32) -> u8 {
        let Some(a) = self.active.get_mut(&piece) else { return 0 };
        let Some(blk) = a.blocks.get_mut(block as usize) else { return 0 };
        blk.requested = blk.requested.saturating_sub(1);
        if blk.requested == 0 && blk.from.is_none() {
            a.unrequested += 1;
        }
        blk.requested
    }

    /// Stores a block's payload (its length already checked against [`Picker::block_range`]).
    pub(crate) fn receive(&mut self, conn: ConnId, piece: u32, block: u32, data: &[u8]) -> Received {
        let (offset, _) = self.block_range(piece, block);
        let piece_len = self.piece_len(piece) as usize;
        let Some(a) = self.active.get_mut(&piece) else { return Received::Unwanted };
        if a.writing {
            return Received::Unwanted;
        }
        let Some(blk) = a.blocks.get_mut(block as usize) else { return Received::Unwanted };
        if blk.from.is_some() {
            return Received::Unwanted;
        }
        let start = offset as usize;
        let Some(end) = start.checked_add(data.len()).filter(|&e| e <= piece_len) else {
            return Received::Unwanted;
        };
        if blk.requested == 0 {
            a.unrequested = a.unrequested.saturating_sub(1);
        }
        blk.from = Some(conn);
        if a.buf.is_empty() {
            a.buf = vec![0; piece_len];
        }
        a.buf[start..end].copy_from_slice(data);
        a.received += 1;
        if a.received as usize == a.blocks.len() { Received::PieceComplete } else { Received::Stored }
    }

    /// Takes a complete piece's bytes for verification, with the distinct peers that sent them; the piece stays
    /// active (as being written) until [`Picker::written`] or [`Picker::failed`].
    pub(crate) fn take_complete(&mut self, piece: u32) -> Option<(Vec<u8>, Vec<ConnId>)> {
        let a = self.active.get_mut(&piece)?;
        if a.writing || a.received as usize != a.blocks.len() {
            return None;
        }
        a.writing = true;
        // Sorted and distinct; a piece has a few blocks, so insertion costs less code than a sort.
        let mut senders: Vec<ConnId> = Vec::new();
        for from in a.blocks.iter().filter_map(|b| b.from) {
            if let Err(i) = senders.binary_search(&from) {
                senders.insert(i, from);
            }
        }
        Some((core::mem::take(&mut a.buf), senders))
    }

    /// The piece failed verification (or its write failed): fetch it again; `single_source` if its senders
    /// could not be told apart.
    pub(crate) fn failed(&mut self, piece: u32, single_source: bool) {
        if self.active.remove(&piece).is_some() && !self.have.get(piece) {
            if single_source {
                self.suspect.set(piece);
            }
            if self.is_wanted(piece) {
                self.startable.insert(self.startable_entry(piece));
            }
        }
    }

    /// The verified piece's write completed.
    pub(crate) fn written(&mut self, piece: u32) -> bool {
        self.active.remove(&piece);
        self.have.set(piece)
    }

    /// A peer left: a single-source piece it owned starts over (its blocks came from that peer only, and the
    /// next owner's must not mix with them).
    pub(crate) fn forget_owner(&mut self, conn: ConnId) {
        let orphaned: Vec<u32> =
            self.active.iter().filter(|(_, a)| !a.writing && a.owner == Some(conn)).map(|(p, _)| *p).collect();
        for p in orphaned {
            self.failed(p, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ManifestBuilder;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    fn manifest(size: usize) -> Manifest {
        let mut b = ManifestBuilder::new("f", size as u64, "application/octet-stream").unwrap();
        b.update(&vec![7u8; size]);
        b.finish().unwrap()
    }

    fn picker(size: usize, block_len: u32) -> Picker {
        let m = manifest(size);
        let count = m.piece_count();
        Picker::new(&m, Bitfield::new(count), block_len, &mut ChaCha8Rng::seed_from_u64(1))
    }

    #[test]
    fn equally_rare_pieces_come_in_runs_of_run_bytes_in_random_run_order() {
        let mut p = picker(8 * 1024 * 1024, 128 * 1024);
        assert_eq!(p.piece_size, 128 * 1024);
        let run = RUN_BYTES / p.piece_size;
        let n = p.piece_count();
        let full = Bitfield::full(n);
        let picked: Vec<u32> = (0..n).map(|_| p.pick(ConnId(1), &full, &[], n as usize, None).unwrap().0).collect();
        let starts: Vec<u32> = picked.chunks(run as usize).map(|c| c[0]).collect();
        for chunk in picked.chunks(run as usize) {
            assert_eq!(chunk[0] % run, 0, "a run starts at a run boundary: {picked:?}");
            assert!(chunk.windows(2).all(|w| w[1] == w[0] + 1), "a run is in order: {picked:?}");
        }
        assert!(starts.windows(2).any(|w| w[1] < w[0]), "runs come in random order: {starts:?}");
    }

    #[test]
    fn picks_the_rarest_piece_the_peer_has() {
        let mut p = picker(4 * 1024 * 1024, 16 * 1024);
        let n = p.piece_count();
        assert!(n >= 3);
        // Every piece is on two peers except the last, which is on one.
        for piece in 0..n {
            p.add_available(piece);
            if piece != n - 1 {
                p.add_available(piece);
            }
        }
        let full = Bitfield::full(n);
        let (piece, block) = p.pick(ConnId(1), &full, &[], 8, None).unwrap();
        assert_eq!((piece, block), (n - 1, 0));
    }

    #[test]
    fn finishes_started_pieces_before_starting_new_ones() {
        let mut p = picker(4 * 1024 * 1024, 16 * 1024);
        let full = Bitfield::full(p.piece_count());
        let (first, _) = p.pick(ConnId(1), &full, &[], 8, None).unwrap();
        let (second, block) = p.pick(ConnId(2), &full, &[], 8, None).unwrap();
        assert_eq!((second, block), (first, 1));
    }

    #[test]
    fn endgame_requests_a_block_from_a_second_peer_only() {
        let mut p = picker(16 * 1024, 16 * 1024);
        let full = Bitfield::full(1);
        p.add_available(0);
        assert_eq!(p.pick(ConnId(1), &full, &[], 8, None), Some((0, 0)));
        assert!(p.in_endgame());
        assert_eq!(p.pick(ConnId(2), &full, &[], 8, None), Some((0, 0)));
        assert_eq!(p.pick(ConnId(3), &full, &[], 8, None), None);
    }

    #[test]
    fn no_endgame_while_a_missing_piece_is_not_started_even_if_no_peer_has_it() {
        let mut p = picker(256 * 1024, 128 * 1024);
        assert_eq!(p.piece_count(), 2);
        let mut only_first = Bitfield::new(2);
        only_first.set(0);
        p.add_available(0);
        assert_eq!(p.pick(ConnId(1), &only_first, &[], 8, None), Some((0, 0)));
        assert!(!p.in_endgame());
        assert_eq!(p.pick(ConnId(2), &only_first, &[], 8, None), None, "a duplicate before the endgame");
    }

    #[test]
    fn a_failed_piece_with_mixed_senders_comes_from_one_peer_next_time() {
        let mut p = picker(64 * 1024, 16 * 1024);
        let full = Bitfield::full(p.piece_count());
        let (piece, _) = p.pick(ConnId(1), &full, &[], 8, None).unwrap();
        p.failed(piece, true);
        assert_eq!(p.pick(ConnId(1), &full, &[], 8, Some(piece)), Some((piece, 0)));
        assert_eq!(p.pick(ConnId(2), &full, &[], 8, Some(piece)), None);
        assert_eq!(p.pick(ConnId(1), &full, &[], 8, Some(piece)), Some((piece, 1)));
    }

    #[test]
    fn at_most_max_active_pieces_are_started() {
        let mut p = picker(4 * 1024 * 1024, 1024 * 1024);
        let full = Bitfield::full(p.piece_count());
        let mut started = BTreeSet::new();
        while let Some((piece, _)) = p.pick(ConnId(1), &full, &[], 2, None) {
            started.insert(piece);
        }
        assert_eq!(started.len(), 2);
    }
}
