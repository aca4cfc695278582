//! [`PieceMap`]: what the page's piece map shows for each piece of a download: missing, in flight (requested
//! from a peer) or verified.

use swarm::bitfield::Bitfield;

/// One byte a piece, as `Client::pieceMap` hands it to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PieceState {
    Missing = 0,
    InFlight = 1,
    Verified = 2,
}

/// The state of every piece of one content; empty until the manifest is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PieceMap(Vec<u8>);

impl PieceMap {
    /// Verified where `have` says so, missing elsewhere.
    pub fn from_have(have: &Bitfield) -> Self {
        PieceMap(
            (0..have.len())
                .map(|i| if have.get(i) { PieceState::Verified } else { PieceState::Missing } as u8)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// A request for `piece` was sent. A verified piece stays verified; out of range is ignored.
    pub fn requested(&mut self, piece: u32) {
        if let Some(slot) = self.0.get_mut(piece as usize)
            && *slot != PieceState::Verified as u8
        {
            *slot = PieceState::InFlight as u8;
        }
    }

    /// `piece` was verified and stored.
    pub fn verified(&mut self, piece: u32) {
        if let Some(slot) = self.0.get_mut(piece as usize) {
            *slot = PieceState::Verified as u8;
        }
    }

    /// `piece` failed verification: it is missing again (it will be requested anew).
    pub fn failed(&mut self, piece: u32) {
        if let Some(slot) = self.0.get_mut(piece as usize)
            && *slot == PieceState::InFlight as u8
        {
            *slot = PieceState::Missing as u8;
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn have(len: u32, set: &[u32]) -> Bitfield {
        let mut b = Bitfield::new(len);
        for &i in set {
            b.set(i);
        }
        b
    }

    #[test]
    fn restored_pieces_start_verified_and_the_rest_missing() {
        assert_eq!(PieceMap::from_have(&have(4, &[1, 3])).as_bytes(), &[0, 2, 0, 2]);
    }

    #[test]
    fn requested_piece_is_in_flight_until_verified() {
        let mut m = PieceMap::from_have(&have(3, &[]));
        m.requested(1);
        assert_eq!(m.as_bytes(), &[0, 1, 0]);
        m.verified(1);
        assert_eq!(m.as_bytes(), &[0, 2, 0]);
    }

    #[test]
    fn request_for_a_verified_piece_leaves_it_verified() {
        let mut m = PieceMap::from_have(&have(2, &[0]));
        m.requested(0);
        assert_eq!(m.as_bytes(), &[2, 0]);
    }

    #[test]
    fn failed_piece_goes_back_to_missing() {
        let mut m = PieceMap::from_have(&have(2, &[]));
        m.requested(1);
        m.failed(1);
        assert_eq!(m.as_bytes(), &[0, 0]);
    }

    #[test]
    fn pieces_out_of_range_are_ignored() {
        let mut m = PieceMap::from_have(&have(2, &[]));
        m.requested(7);
        m.verified(u32::MAX);
        m.failed(2);
        assert_eq!(m.as_bytes(), &[0, 0]);
    }
}
