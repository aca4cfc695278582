//! One peer's outbox: the events other peers' actions queue for it (relayed signals, departures), held in the
//! hub and drained one at a time by the peer's own connection task.
//!
//! What one party sends can only cost that party, so nothing a sender does can get the receiver dropped:
//! - Relayed signals: at most `capacity` in all, and at most `per_sender` from any one sender, so one sender
//!   cannot take the whole queue from the others. A relay over either bound is refused to its sender
//!   ([`Busy`]); the receiver is not touched.
//! - Departures (`peer_left`), in a queue of their own of the same capacity: beyond it they are dropped (peers
//!   learn of a departure on their data channels anyway), and they never take a relay's place.
//!
//! The share is found by counting the sender's entries in the queue itself, so no per-pair state is kept: a
//! scan of at most `capacity` ids per relay, under the hub's lock. Both queues free their memory when empty,
//! so an idle peer's outbox costs no heap. A receiver that does not read is dropped by its connection's write
//! timeout, not by its queue.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::id::Id;

/// The bounds of every outbox.
#[derive(Debug, Clone, Copy)]
pub struct OutboxLimits {
    /// Relayed signals queued for one receiver, from all senders together; departures queued, separately.
    pub capacity: usize,
    /// Relayed signals queued for one receiver from any one sender.
    pub per_sender: usize,
}

/// Why a relay was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The receiver's queue holds `capacity` relays.
    Full,
    /// The receiver's queue holds `per_sender` relays from this sender.
    OverShare,
}

#[derive(Debug)]
pub struct Outbox {
    relays: VecDeque<Relay>,
    /// The `peer_left` text, serialized once per departure and shared by every receiver.
    departures: VecDeque<Arc<str>>,
    /// Wakes the connection task: one permit is stored if it is not waiting, so no push is missed.
    wake: Arc<Notify>,
}

#[derive(Debug)]
struct Relay {
    from: Id,
    text: String,
}

impl Outbox {
    pub fn new(wake: Arc<Notify>) -> Outbox {
        Outbox { relays: VecDeque::new(), departures: VecDeque::new(), wake }
    }

    /// Queues a relayed signal from `from`, unless the queue or the sender's share of it is full.
    pub fn push_relay(&mut self, from: Id, text: String, limits: OutboxLimits) -> Result<(), Busy> {
        if self.relays.len() >= limits.capacity {
            return Err(Busy::Full);
        }
        if self.relays.iter().filter(|r| r.from == from).count() >= limits.per_sender {
            return Err(Busy::OverShare);
        }
        self.relays.push_back(Relay { from, text });
        self.wake.notify_one();
        Ok(())
    }

    /// Queues a departure; false if it was dropped because `capacity` departures are waiting.
    pub fn push_departure(&mut self, text: Arc<str>, limits: OutboxLimits) -> bool {
        if self.departures.len() >= limits.capacity {
            return false;
        }
        self.departures.push_back(text);
        self.wake.notify_one();
        true
    }

    /// The next event to write, relays first (a departure can wait; an offer's answer should not). Wakes the
    /// connection task again if more are waiting.
    pub fn pop(&mut self) -> Option<String> {
        let next = match self.relays.pop_front() {
            Some(relay) => Some(relay.text),
            None => self.departures.pop_front().map(|text| text.to_string()),
        };
        if self.relays.is_empty() {
            self.relays = VecDeque::new();
        }
        if self.departures.is_empty() {
            self.departures = VecDeque::new();
        }
        if !self.relays.is_empty() || !self.departures.is_empty() {
            self.wake.notify_one();
        }
        next
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.relays.len() + self.departures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: OutboxLimits = OutboxLimits { capacity: 4, per_sender: 2 };

    fn outbox() -> Outbox {
        Outbox::new(Arc::new(Notify::new()))
    }

    #[test]
    fn a_sender_over_its_share_is_refused_while_others_still_fit() {
        let mut outbox = outbox();
        let (a, b) = (Id::random(), Id::random());
        outbox.push_relay(a, "a1".into(), LIMITS).unwrap();
        outbox.push_relay(a, "a2".into(), LIMITS).unwrap();
        assert_eq!(outbox.push_relay(a, "a3".into(), LIMITS), Err(Busy::OverShare));
        outbox.push_relay(b, "b1".into(), LIMITS).unwrap();
        outbox.push_relay(b, "b2".into(), LIMITS).unwrap();
        assert_eq!(outbox.push_relay(Id::random(), "c1".into(), LIMITS), Err(Busy::Full));
        // Delivering one of a's frees one place of a's share.
        assert_eq!(outbox.pop().as_deref(), Some("a1"));
        outbox.push_relay(a, "a3".into(), LIMITS).unwrap();
        let order: Vec<String> = std::iter::from_fn(|| outbox.pop()).collect();
        assert_eq!(order, ["a2", "b1", "b2", "a3"]);
    }

    #[test]
    fn departures_beyond_the_capacity_are_dropped_and_never_block_relays() {
        let mut outbox = outbox();
        let left: Arc<str> = Arc::from("left");
        let kept = (0..10).filter(|_| outbox.push_departure(Arc::clone(&left), LIMITS)).count();
        assert_eq!(kept, LIMITS.capacity);
        let a = Id::random();
        outbox.push_relay(a, "relay".into(), LIMITS).unwrap();
        // The relay goes first, then the departures that were kept.
        assert_eq!(outbox.pop().as_deref(), Some("relay"));
        assert_eq!(std::iter::from_fn(|| outbox.pop()).count(), LIMITS.capacity);
    }

    #[test]
    fn an_emptied_outbox_holds_no_heap() {
        let mut outbox = outbox();
        for i in 0..LIMITS.per_sender {
            outbox.push_relay(Id::random(), i.to_string(), LIMITS).unwrap();
            assert!(outbox.push_departure(Arc::from("left"), LIMITS));
        }
        while outbox.pop().is_some() {}
        assert!(outbox.is_empty());
        assert_eq!((outbox.relays.capacity(), outbox.departures.capacity()), (0, 0));
    }

    #[tokio::test]
    async fn every_push_wakes_the_reader_and_a_partial_drain_wakes_it_again() {
        let wake = Arc::new(Notify::new());
        let mut outbox = Outbox::new(Arc::clone(&wake));
        outbox.push_relay(Id::random(), "one".into(), LIMITS).unwrap();
        outbox.push_relay(Id::random(), "two".into(), LIMITS).unwrap();
        // The permit stored by the pushes.
        wake.notified().await;
        assert_eq!(outbox.pop().as_deref(), Some("one"));
        // One is left: pop stored a permit again.
        wake.notified().await;
        assert_eq!(outbox.pop().as_deref(), Some("two"));
        assert!(outbox.is_empty());
    }
}
