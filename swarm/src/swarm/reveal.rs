//! Seeding by revealing pieces a few at a time (like BitTorrent's super-seeding, BEP 16, but with several pieces
//! per peer).
//!
//! A peer that has the whole file and tells every downloader so gets asked for whatever each downloader's
//! rarest-first choice happens to be; downloaders choose without knowing each other's requests, so the same piece
//! leaves the seeder several times while other pieces have not left it once, and the downloaders have little to
//! trade among themselves. Instead, a complete peer shows each downloader only a few pieces (its have-map and
//! later `Have`s name only those), always the pieces it has shown least so far. Every piece leaves the seeder
//! about once before any leaves it twice, and each downloader soon holds pieces the others want.
//!
//! [`Reveal`] is the seeder's side of it: how often each piece was shown, ordered so that the least-shown piece
//! is found from the front. The per-peer part (which pieces were shown to it) lives in [`super::peer::Peer`].

use std::collections::BTreeSet;

use rand_core::Rng;

/// Pieces shown and not yet held, summed over all downloaders (each gets an equal part of it, at least
/// [`MIN_SHOWN_PER_PEER`]): enough to keep one fast downloader's pipeline full, few enough that many downloaders
/// each hold distinct pieces.
pub(crate) const SHOWN_BUDGET: usize = 64;
/// Pieces shown to one downloader and not yet held by it, at least: one being fetched and one to ask for next.
pub(crate) const MIN_SHOWN_PER_PEER: usize = 2;
/// Entries of the order walked before falling back to a scan of every piece: keeps the common case O(small).
const WALK: usize = 256;

/// How often each piece was shown to a downloader.
#[derive(Debug)]
pub(crate) struct Reveal {
    /// (times shown, random tie-break, piece).
    order: BTreeSet<(u32, u32, u32)>,
    shown: Vec<u32>,
    keys: Vec<u32>,
}

impl Reveal {
    /// Pieces of `piece_size` bytes; equally shown pieces come in runs, in order ([`super::picker::run_keys`]).
    pub(crate) fn new(pieces: u32, piece_size: u32, rng: &mut impl Rng) -> Self {
        let keys = super::picker::run_keys(pieces, piece_size, rng);
        let mut order = BTreeSet::new();
        for p in 0..pieces {
            order.insert((0, keys[p as usize], p));
        }
        Reveal { order, shown: vec![0; pieces as usize], keys }
    }

    /// The least-shown piece for which `eligible` holds (random among equals), counted as shown once more.
    pub(crate) fn next(&mut self, eligible: impl Fn(u32) -> bool) -> Option<u32> {
        let found = match self.order.iter().take(WALK).find(|(_, _, p)| eligible(*p)) {
            Some(&entry) => Some(entry),
            None if self.order.len() > WALK => (0..self.shown.len() as u32)
                .filter(|&p| eligible(p))
                .map(|p| (self.shown[p as usize], self.keys[p as usize], p))
                .min(),
            None => None,
        };
        let (count, key, piece) = found?;
        self.order.remove(&(count, key, piece));
        self.order.insert((count.saturating_add(1), key, piece));
        self.shown[piece as usize] = count.saturating_add(1);
        Some(piece)
    }

    /// Pieces to keep shown and not yet held for each of `downloaders` peers.
    pub(crate) fn per_peer(downloaders: usize) -> usize {
        (SHOWN_BUDGET / downloaders.max(1)).max(MIN_SHOWN_PER_PEER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    #[test]
    fn every_piece_is_shown_once_before_any_is_shown_twice() {
        let mut r = Reveal::new(10, 16 * 1024 * 1024, &mut ChaCha8Rng::seed_from_u64(3));
        let mut first: Vec<u32> = (0..10).map(|_| r.next(|_| true).unwrap()).collect();
        first.sort();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        let again = r.next(|_| true).unwrap();
        assert!(again < 10);
    }

    #[test]
    fn only_eligible_pieces_are_shown_also_past_the_walk() {
        let n = (WALK as u32) * 2;
        let mut r = Reveal::new(n, 16 * 1024 * 1024, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(r.next(|p| p == n - 1), Some(n - 1));
        assert_eq!(r.next(|_| false), None);
    }
}
