//! [`Peer`]: one remote peer's connection as the node sees it, and the negotiation rules both sides follow.
//!
//! Negotiation is the W3C "perfect negotiation" pattern, decided here so the page and `swarm-peer` agree:
//! - the *polite* side is the peer whose id sorts first (byte order of the server-assigned ids);
//! - the side that wants a connection first creates its channels, then makes the offer ([`super::Output::MakeOffer`]);
//! - glare (an offer arrives while this side's own offer is out): the polite side gives its offer up and answers
//!   ([`super::Output::AcceptOffer`] with `rollback`; an offer the shell was still making then is not sent); the
//!   impolite side ignores the remote offer, and the candidates that follow it, and waits for the answer to its own;
//! - an answer with no offer of ours outstanding is stale and dropped;
//! - two channels of one topic between the same two peers (both opened one at once): both keep the one the
//!   impolite side created, without a round trip.

use super::label::Topic;
use crate::bucket::TokenBucket;
use crate::proof::{Fingerprint, FingerprintError};
use crate::signal::PeerId;
use crate::time::Instant;
use crate::{ConnId, VecMap};

/// Offers a remote peer may send at once, and then one a second: a connection needs one, a glare one more.
/// Beyond, offers are dropped, so a flood costs the sender only.
pub const OFFER_BURST: u32 = 4;
pub const OFFERS_PER_SEC: u32 = 1;
/// Candidates a remote peer may send at once, and per second after.
pub const CANDIDATE_BURST: u32 = 64;
pub const CANDIDATES_PER_SEC: u32 = 8;

/// What to do with an offer from this peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferDecision {
    /// Apply it (rolling back our own offer first when `rollback`) and answer.
    Accept { rollback: bool },
    /// Glare on the impolite side, or over the rate: drop it.
    Ignore,
}

/// One remote peer with a connection (being set up or up).
#[derive(Debug)]
pub struct Peer {
    pub polite: bool,
    /// This side asked the shell for an offer, or sent it, and no answer has come (a collision if an offer
    /// arrives meanwhile).
    pub offering: bool,
    /// The impolite side ignored an offer: the candidates that follow it are for a negotiation that is not
    /// happening, and are dropped until the next exchange.
    pub ignoring: bool,
    /// The shell reported the connection established.
    pub connected: bool,
    /// The path the shell reported the connection took ([`super::Input::PeerPath`]): through a TURN relay or not.
    pub relayed: Option<bool>,
    /// The DTLS fingerprint of this side's last description sent, and of the remote's last one applied (or why
    /// it has none): what the content channels' handshake proofs cover (PROTOCOL.md 2.11).
    pub local_fingerprint: Option<Result<Fingerprint, FingerprintError>>,
    pub remote_fingerprint: Option<Result<Fingerprint, FingerprintError>>,
    /// This side's id when the connection was made: what the remote knows it by, and what the proofs cover, also
    /// after a signaling reconnection gave this side a new id.
    pub me: PeerId,
    pub created: Instant,
    /// Since when no channel uses the connection (for the idle limit); `None` while one does.
    pub idle_since: Option<Instant>,
    /// Channels on this connection, by topic.
    pub channels: VecMap<Topic, ConnId>,
    offers: TokenBucket,
    candidates: TokenBucket,
}

impl Peer {
    /// `me` and `them` are the two server-assigned ids.
    pub fn new(me: &PeerId, them: &PeerId, now: Instant) -> Peer {
        Peer {
            polite: polite(me, them),
            offering: false,
            ignoring: false,
            connected: false,
            relayed: None,
            local_fingerprint: None,
            remote_fingerprint: None,
            me: me.clone(),
            created: now,
            idle_since: Some(now),
            channels: VecMap::new(),
            offers: TokenBucket::full(OFFER_BURST, OFFERS_PER_SEC, now),
            candidates: TokenBucket::full(CANDIDATE_BURST, CANDIDATES_PER_SEC, now),
        }
    }

    /// An offer arrived from this peer.
    pub fn on_offer(&mut self, now: Instant) -> OfferDecision {
        if !self.offers.try_take(now) {
            return OfferDecision::Ignore;
        }
        let collision = self.offering;
        if collision && !self.polite {
            self.ignoring = true;
            return OfferDecision::Ignore;
        }
        self.ignoring = false;
        self.offering = false;
        OfferDecision::Accept { rollback: collision }
    }

    /// An answer arrived: whether it answers our offer.
    pub fn on_answer(&mut self) -> bool {
        if !self.offering {
            return false;
        }
        self.offering = false;
        self.ignoring = false;
        true
    }

    /// A remote candidate arrived: whether to give it to the connection.
    pub fn on_candidate(&mut self, now: Instant) -> bool {
        !self.ignoring && self.candidates.try_take(now)
    }

    /// A channel of this topic already exists and the remote opened another: whether the remote's one wins.
    /// Both sides keep the impolite side's channel: the remote's when this side is polite.
    pub fn remote_channel_wins(&self) -> bool {
        self.polite
    }

    /// Keeps the idle clock: started when the last channel goes, stopped when one comes.
    pub fn update_idle(&mut self, now: Instant) {
        if self.channels.is_empty() {
            self.idle_since.get_or_insert(now);
        } else {
            self.idle_since = None;
        }
    }
}

/// Whether `me` is the polite side towards `them`: the peer whose id sorts first.
pub fn polite(me: &PeerId, them: &PeerId) -> bool {
    me < them
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Peer, Peer) {
        let (a, b) = (PeerId("a".into()), PeerId("b".into()));
        let now = Instant::ZERO;
        (Peer::new(&a, &b, now), Peer::new(&b, &a, now))
    }

    #[test]
    fn exactly_one_side_is_polite() {
        let (a, b) = pair();
        assert!(a.polite && !b.polite);
    }

    #[test]
    fn glare_the_polite_side_rolls_back_and_answers_the_impolite_side_ignores() {
        let (mut a, mut b) = pair();
        a.offering = true;
        b.offering = true;
        assert_eq!(a.on_offer(Instant::ZERO), OfferDecision::Accept { rollback: true });
        assert_eq!(b.on_offer(Instant::ZERO), OfferDecision::Ignore);
        assert!(!b.on_candidate(Instant::ZERO), "candidates of an ignored offer are dropped");
        // The polite side's answer reaches the impolite side, whose offer it answers.
        assert!(b.on_answer());
        assert!(!a.on_answer(), "the polite side has no offer out any more");
    }

    #[test]
    fn a_flood_of_offers_is_cut_to_the_burst_then_the_rate() {
        let (mut a, _) = pair();
        let accepted = (0..100).filter(|_| a.on_offer(Instant::ZERO) != OfferDecision::Ignore).count();
        assert_eq!(accepted, OFFER_BURST as usize);
        assert_ne!(a.on_offer(Instant::from_millis(1_000)), OfferDecision::Ignore);
    }
}
