//! The hub: every connected peer, every swarm and its members, behind one lock held only for map operations
//! and non-blocking queue pushes (never across an await).
//!
//! A peer is registered with the sending half of its bounded outbound queue. Events for other peers (relayed
//! signals, departures) are pushed with `try_send`: a peer whose queue is full does not read, and is evicted on
//! the spot (its departure announced like any other) rather than buffered for or waited on, so one slow client
//! never slows the others. Replies to a peer's own requests are returned to its connection task, which writes
//! them itself.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexSet;
use swarm::signal::{ErrorCode, MAX_FRAME_LEN, PeerId, ServerEvent, SignalPayload, SwarmName};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::id::Id;
use crate::metrics::{Metrics, Refusal};

/// The hub's share of [`crate::Limits`].
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    pub max_swarms_per_peer: usize,
    pub max_swarm_members: usize,
    pub max_peers_per_join: usize,
}

/// How much the hub holds: what the leak tests and `/metrics` count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateSize {
    pub peers: usize,
    pub swarms: usize,
    /// Sum over swarms of their member counts.
    pub memberships: usize,
    /// Sum over peers of the swarms each one lists (equal to `memberships` when the hub is consistent).
    pub peer_swarm_entries: usize,
}

#[derive(Debug)]
pub struct Hub {
    limits: HubLimits,
    metrics: Arc<Metrics>,
    peers: HashMap<Id, Member>,
    /// Members in an IndexSet: O(1) insert and remove, and indexable for random sampling.
    swarms: HashMap<SwarmName, IndexSet<Id>>,
}

#[derive(Debug)]
struct Member {
    tx: mpsc::Sender<String>,
    /// At most `max_swarms_per_peer`, so a linear scan is cheap.
    swarms: Vec<SwarmName>,
}

impl Hub {
    pub fn new(limits: HubLimits, metrics: Arc<Metrics>) -> Hub {
        Hub { limits, metrics, peers: HashMap::new(), swarms: HashMap::new() }
    }

    /// Registers a new peer under a fresh random id.
    pub fn register(&mut self, tx: mpsc::Sender<String>) -> Id {
        let mut id = Id::random();
        // 128 random bits do not collide in practice; the loop makes it a guarantee.
        while self.peers.contains_key(&id) {
            id = Id::random();
        }
        self.peers.insert(id, Member { tx, swarms: Vec::new() });
        id
    }

    /// Adds `id` to `swarm` and returns a random subset of the other members. Joining a swarm again is not an
    /// error: it returns a fresh subset.
    pub fn join(&mut self, id: Id, swarm: SwarmName) -> Result<Vec<PeerId>, ErrorCode> {
        let member = self.peers.get_mut(&id).ok_or(ErrorCode::UnknownPeer)?;
        let already = member.swarms.contains(&swarm);
        if !already {
            if member.swarms.len() >= self.limits.max_swarms_per_peer {
                return Err(ErrorCode::TooManySwarms);
            }
            if self.swarms.get(&swarm).is_some_and(|m| m.len() >= self.limits.max_swarm_members) {
                return Err(ErrorCode::SwarmFull);
            }
        }
        let members = self.swarms.entry(swarm.clone()).or_default();
        let sample = sample_others(members, id, self.limits.max_peers_per_join);
        if !already {
            members.insert(id);
            member.swarms.push(swarm);
        }
        Ok(sample)
    }

    /// Removes `id` from `swarm`; the other members are told.
    pub fn leave(&mut self, id: Id, swarm: &SwarmName) -> Result<(), ErrorCode> {
        let member = self.peers.get_mut(&id).ok_or(ErrorCode::UnknownPeer)?;
        let Some(i) = member.swarms.iter().position(|s| s == swarm) else {
            return Err(ErrorCode::NotInSwarm);
        };
        member.swarms.swap_remove(i);
        let mut evicted = Vec::new();
        self.leave_swarm(id, swarm, &mut evicted);
        self.evict_all(evicted);
        Ok(())
    }

    /// Relays `payload` from `from` to the peer named `to`, stamped with the sender's id. `to` must be another
    /// peer that shares a swarm with the sender; any other id is `unknown_peer`, whether or not it exists, so ids
    /// outside one's swarms cannot be probed.
    pub fn relay(&mut self, from: Id, to: &PeerId, payload: SignalPayload) -> Result<(), ErrorCode> {
        let to = Id::parse(to).filter(|&to| to != from).ok_or(ErrorCode::UnknownPeer)?;
        let sender = self.peers.get(&from).ok_or(ErrorCode::UnknownPeer)?;
        let shared = sender.swarms.iter().any(|s| self.swarms.get(s).is_some_and(|m| m.contains(&to)));
        let target = self.peers.get(&to).filter(|_| shared).ok_or(ErrorCode::UnknownPeer)?;
        let text = serde_json::to_string(&ServerEvent::Signal { from: from.to_peer_id(), payload })
            .map_err(|_| ErrorCode::Malformed)?;
        // Every frame the server sends fits the protocol's frame limit, which peers enforce on what they read.
        if text.len() > MAX_FRAME_LEN {
            return Err(ErrorCode::TooLarge);
        }
        match target.tx.try_send(text) {
            Ok(()) => {
                self.metrics.message_relayed();
                Ok(())
            }
            Err(TrySendError::Full(_)) => {
                self.metrics.message_refused(Refusal::slow_consumer);
                self.evict_all(vec![to]);
                Err(ErrorCode::UnknownPeer)
            }
            // Its connection is ending and removes it from the hub right after.
            Err(TrySendError::Closed(_)) => Err(ErrorCode::UnknownPeer),
        }
    }

    /// Removes a peer and its memberships; the members of its swarms are told. Removing an absent id does
    /// nothing (a peer evicted as slow is removed again when its connection ends).
    pub fn remove(&mut self, id: Id) {
        self.evict_all(vec![id]);
    }

    /// Whether `id` is still registered (false once evicted).
    pub fn contains(&self, id: Id) -> bool {
        self.peers.contains_key(&id)
    }

    pub fn state_size(&self) -> StateSize {
        StateSize {
            peers: self.peers.len(),
            swarms: self.swarms.len(),
            memberships: self.swarms.values().map(IndexSet::len).sum(),
            peer_swarm_entries: self.peers.values().map(|m| m.swarms.len()).sum(),
        }
    }

    /// Removes each peer in the work list; announcing a departure can evict more slow peers, which join the list.
    fn evict_all(&mut self, mut work: Vec<Id>) {
        while let Some(id) = work.pop() {
            let Some(member) = self.peers.remove(&id) else { continue };
            for swarm in &member.swarms {
                self.leave_swarm(id, swarm, &mut work);
            }
        }
    }

    /// Takes `id` out of the swarm's member set, drops the swarm if empty, and tells the remaining members.
    /// Members whose queue is full are pushed onto `evicted`.
    fn leave_swarm(&mut self, id: Id, swarm: &SwarmName, evicted: &mut Vec<Id>) {
        let Some(members) = self.swarms.get_mut(swarm) else { return };
        members.swap_remove(&id);
        if members.is_empty() {
            self.swarms.remove(swarm);
            return;
        }
        let event = ServerEvent::PeerLeft { swarm: swarm.clone(), peer: id.to_peer_id() };
        let Ok(text) = serde_json::to_string(&event) else { return };
        for other in members.iter() {
            let Some(peer) = self.peers.get(other) else { continue };
            if let Err(TrySendError::Full(_)) = peer.tx.try_send(text.clone()) {
                self.metrics.message_refused(Refusal::slow_consumer);
                evicted.push(*other);
            }
        }
    }
}

/// Up to `k` members other than `me`, chosen uniformly at random.
fn sample_others(members: &IndexSet<Id>, me: Id, k: usize) -> Vec<PeerId> {
    let mut rng = rand::rng();
    // One more than needed, in case `me` is among them.
    let amount = (k + 1).min(members.len());
    rand::seq::index::sample(&mut rng, members.len(), amount)
        .into_iter()
        .filter_map(|i| members.get_index(i).copied())
        .filter(|&id| id != me)
        .take(k)
        .map(Id::to_peer_id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(limits: HubLimits) -> Hub {
        Hub::new(limits, Arc::new(Metrics::default()))
    }

    fn limits() -> HubLimits {
        HubLimits { max_swarms_per_peer: 4, max_swarm_members: 100, max_peers_per_join: 8 }
    }

    fn name(s: &str) -> SwarmName {
        SwarmName::parse(s).unwrap()
    }

    fn peer(hub: &mut Hub, queue: usize) -> (Id, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(queue);
        (hub.register(tx), rx)
    }

    #[test]
    fn joiner_gets_at_most_the_configured_number_of_other_members() {
        let mut hub = hub(limits());
        let mut keep = Vec::new();
        for _ in 0..20 {
            let (id, rx) = peer(&mut hub, 4);
            hub.join(id, name("s")).unwrap();
            keep.push((id, rx));
        }
        let (me, _rx) = peer(&mut hub, 4);
        let got = hub.join(me, name("s")).unwrap();
        assert_eq!(got.len(), 8);
        assert!(!got.contains(&me.to_peer_id()));
        // Joining again returns others, never oneself.
        let again = hub.join(me, name("s")).unwrap();
        assert_eq!(again.len(), 8);
        assert!(!again.contains(&me.to_peer_id()));
        assert_eq!(hub.state_size().memberships, 21);
    }

    #[test]
    fn a_full_queue_evicts_its_peer_and_tells_the_others() {
        let mut hub = hub(limits());
        let (slow, _slow_rx) = peer(&mut hub, 1);
        let (a, mut a_rx) = peer(&mut hub, 16);
        hub.join(slow, name("s")).unwrap();
        hub.join(a, name("s")).unwrap();
        let offer = SignalPayload::Offer { sdp: "v=0".into() };
        hub.relay(a, &slow.to_peer_id(), offer.clone()).unwrap();
        assert_eq!(hub.relay(a, &slow.to_peer_id(), offer), Err(ErrorCode::UnknownPeer));
        assert!(!hub.contains(slow));
        let left = ServerEvent::parse(&a_rx.try_recv().unwrap()).unwrap();
        assert_eq!(left, ServerEvent::PeerLeft { swarm: name("s"), peer: slow.to_peer_id() });
        assert_eq!(hub.state_size(), StateSize { peers: 1, swarms: 1, memberships: 1, peer_swarm_entries: 1 });
    }
}
