//! The hub: every connected peer, every swarm and its members, behind one lock held only for map operations
//! and queue pushes and pops (never across an await).
//!
//! A peer is registered with an [`Outbox`] that other peers' actions fill and its own connection task drains.
//! Back-pressure lands on whoever causes it: a relay to a peer whose queue, or the sender's share of it, is full
//! is refused to the sender (`peer_busy`), and a departure that does not fit is dropped; no peer is ever dropped
//! because of what others send it. A peer that stops reading is dropped by its own connection's write timeout.
//! Departures are also bounded per swarm and per second, so join/leave churn cannot make the server fan out more
//! than that rate times the swarm's size, however many connections churn. Replies to a peer's own requests are
//! returned to its connection task, which writes them itself.
//!
//! In a cluster (`--redis`, see [`crate::cluster`]) the hub holds this instance's peers only. Ids carry the
//! instance number; a relay to a peer of another instance comes back as a [`RemoteRelay`] for the cluster to
//! publish, and one from another instance arrives through [`Hub::deliver`], which checks the common swarm on this
//! side, where the receiver's memberships are known. Departures are announced through the cluster, so that one
//! swarm rate holds across instances; the hub announces them itself ([`Hub::announce_departure`]) only when Redis
//! cannot be reached.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexSet;
use swarm::signal::{ErrorCode, MAX_FRAME_LEN, PeerId, ServerEvent, SignalPayload, SwarmName};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::id::Id;
use crate::metrics::{DepartureDrop, Metrics};
use crate::outbox::{Outbox, OutboxLimits};
use crate::rate::TokenBucket;

/// The hub's share of [`crate::Limits`].
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    pub max_swarms_per_peer: usize,
    pub max_swarm_members: usize,
    pub max_peers_per_join: usize,
    pub outbox: OutboxLimits,
    /// Departures announced per swarm per second; the burst is two seconds' worth.
    pub departures_per_sec: u32,
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
    swarms: HashMap<SwarmName, Swarm>,
    /// This instance's number in a cluster: ids carry it, and departures are announced through the cluster.
    instance: Option<u32>,
}

/// A relay whose receiver lives on another instance: what [`crate::cluster::Cluster::relay`] publishes there. The
/// receiving instance checks that `to` is a member of one of `swarms`, the sender's swarms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRelay {
    pub from: Id,
    pub to: Id,
    pub swarms: Vec<SwarmName>,
    /// The `signal` event as `to` will read it.
    pub text: String,
}

#[derive(Debug)]
struct Member {
    outbox: Outbox,
    /// At most `max_swarms_per_peer`, so a linear scan is cheap.
    swarms: Vec<SwarmName>,
}

#[derive(Debug)]
struct Swarm {
    /// Members in an IndexSet: O(1) insert and remove, and indexable for random sampling.
    members: IndexSet<Id>,
    /// The departures this swarm may still announce: what bounds the fan-out of churn.
    departures: TokenBucket,
}

impl Hub {
    /// A hub; `instance` is this instance's number in a cluster, `None` for a server on its own.
    pub fn new(limits: HubLimits, metrics: Arc<Metrics>, instance: Option<u32>) -> Hub {
        Hub { limits, metrics, peers: HashMap::new(), swarms: HashMap::new(), instance }
    }

    /// Registers a new peer under a fresh random id; `wake` is notified whenever its outbox gets an event.
    pub fn register(&mut self, wake: Arc<Notify>) -> Id {
        let random = || self.instance.map_or_else(Id::random, Id::random_on);
        let mut id = random();
        // 96 or 128 random bits do not collide in practice; the loop makes it a guarantee.
        while self.peers.contains_key(&id) {
            id = random();
        }
        self.peers.insert(id, Member { outbox: Outbox::new(wake), swarms: Vec::new() });
        id
    }

    /// Adds `id` to `swarm` and returns a random subset of the other members. Joining a swarm again is not an
    /// error: it returns a fresh subset.
    pub fn join(&mut self, id: Id, swarm: SwarmName, now: Instant) -> Result<Vec<PeerId>, ErrorCode> {
        let member = self.peers.get_mut(&id).ok_or(ErrorCode::UnknownPeer)?;
        let already = member.swarms.contains(&swarm);
        if !already {
            if member.swarms.len() >= self.limits.max_swarms_per_peer {
                return Err(ErrorCode::TooManySwarms);
            }
            if self.swarms.get(&swarm).is_some_and(|s| s.members.len() >= self.limits.max_swarm_members) {
                return Err(ErrorCode::SwarmFull);
            }
        }
        let per_sec = self.limits.departures_per_sec;
        let entry = self.swarms.entry(swarm.clone()).or_insert_with(|| Swarm {
            members: IndexSet::new(),
            departures: TokenBucket::new(per_sec, per_sec.saturating_mul(2), now),
        });
        let sample = sample_others(&entry.members, id, self.limits.max_peers_per_join);
        if !already {
            entry.members.insert(id);
            member.swarms.push(swarm);
        }
        Ok(sample)
    }

    /// Removes `id` from `swarm`; the other members are told.
    pub fn leave(&mut self, id: Id, swarm: &SwarmName, now: Instant) -> Result<(), ErrorCode> {
        let member = self.peers.get_mut(&id).ok_or(ErrorCode::UnknownPeer)?;
        let Some(i) = member.swarms.iter().position(|s| s == swarm) else {
            return Err(ErrorCode::NotInSwarm);
        };
        member.swarms.swap_remove(i);
        self.leave_swarm(id, swarm, now);
        Ok(())
    }

    /// Relays `payload` from `from` to the peer named `to`, stamped with the sender's id. `to` must be another
    /// peer that shares a swarm with the sender; any other id is `unknown_peer`, whether or not it exists, so ids
    /// outside one's swarms cannot be probed. A receiver whose queue, or this sender's share of it, is full
    /// makes it `peer_busy`: the sender is told, the receiver is not touched. In a cluster, a receiver on another
    /// instance makes it a [`RemoteRelay`] for the caller to publish; that instance checks the common swarm.
    pub fn relay(&mut self, from: Id, to: &PeerId, payload: SignalPayload) -> Result<Option<RemoteRelay>, ErrorCode> {
        let to = Id::parse(to).filter(|&to| to != from).ok_or(ErrorCode::UnknownPeer)?;
        let sender = self.peers.get(&from).ok_or(ErrorCode::UnknownPeer)?;
        if let Some(me) = self.instance
            && to.instance() != me
        {
            if sender.swarms.is_empty() {
                return Err(ErrorCode::UnknownPeer);
            }
            let text = signal_text(from, payload)?;
            return Ok(Some(RemoteRelay { from, to, swarms: sender.swarms.clone(), text }));
        }
        let shared = sender.swarms.iter().any(|s| self.swarms.get(s).is_some_and(|s| s.members.contains(&to)));
        if !shared {
            return Err(ErrorCode::UnknownPeer);
        }
        let text = signal_text(from, payload)?;
        self.push_relay(from, to, text).map(|()| None)
    }

    /// A relay from `from`, a peer of another instance that is a member of `swarms` (as that instance says), to
    /// `to` on this one: queued if `to` is a member of one of them, refused as [`Hub::relay`] would otherwise.
    pub fn deliver(&mut self, from: Id, to: Id, swarms: &[SwarmName], text: String) -> Result<(), ErrorCode> {
        let target = self.peers.get(&to).ok_or(ErrorCode::UnknownPeer)?;
        if !target.swarms.iter().any(|s| swarms.contains(s)) {
            return Err(ErrorCode::UnknownPeer);
        }
        self.push_relay(from, to, text)
    }

    fn push_relay(&mut self, from: Id, to: Id, text: String) -> Result<(), ErrorCode> {
        let target = self.peers.get_mut(&to).ok_or(ErrorCode::UnknownPeer)?;
        target.outbox.push_relay(from, text, self.limits.outbox).map_err(|_| ErrorCode::PeerBusy)?;
        self.metrics.message_relayed();
        Ok(())
    }

    /// Queues a server notice for `id` (an error about one of its relays that another instance refused) with
    /// its departures, dropped when that queue is full.
    pub fn push_notice(&mut self, id: Id, text: Arc<str>) {
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.outbox.push_departure(text, self.limits.outbox);
        }
    }

    /// The next event queued for `id`, if any (see [`Outbox::pop`]).
    pub fn pop(&mut self, id: Id) -> Option<String> {
        self.peers.get_mut(&id)?.outbox.pop()
    }

    /// Removes a peer and its memberships; the members of its swarms are told (in a cluster, by the caller).
    /// Returns the swarms it was in; removing an absent id does nothing.
    pub fn remove(&mut self, id: Id, now: Instant) -> Vec<SwarmName> {
        let Some(member) = self.peers.remove(&id) else { return Vec::new() };
        for swarm in &member.swarms {
            self.leave_swarm(id, swarm, now);
        }
        member.swarms
    }

    /// Whether `id` is a member of `swarm`.
    pub fn is_member(&self, id: Id, swarm: &SwarmName) -> bool {
        self.peers.get(&id).is_some_and(|m| m.swarms.contains(swarm))
    }

    /// Whether `swarm` has members on this instance.
    pub fn has_members(&self, swarm: &SwarmName) -> bool {
        self.swarms.contains_key(swarm)
    }

    /// Every swarm with members here: what a cluster instance subscribes to and keeps leased in Redis.
    pub fn swarm_names(&self) -> Vec<SwarmName> {
        self.swarms.keys().cloned().collect()
    }

    /// The members of `swarm` here (none if it has none).
    pub fn members(&self, swarm: &SwarmName) -> Vec<Id> {
        self.swarms.get(swarm).map_or_else(Vec::new, |s| s.members.iter().copied().collect())
    }

    /// Whether `id` is registered.
    pub fn contains(&self, id: Id) -> bool {
        self.peers.contains_key(&id)
    }

    pub fn state_size(&self) -> StateSize {
        StateSize {
            peers: self.peers.len(),
            swarms: self.swarms.len(),
            memberships: self.swarms.values().map(|s| s.members.len()).sum(),
            peer_swarm_entries: self.peers.values().map(|m| m.swarms.len()).sum(),
        }
    }

    /// Takes `id` out of the swarm's member set and drops the swarm if empty; on a server of its own, tells the
    /// remaining members (see [`Hub::announce_departure`]).
    fn leave_swarm(&mut self, id: Id, name: &SwarmName, now: Instant) {
        let Some(swarm) = self.swarms.get_mut(name) else { return };
        swarm.members.swap_remove(&id);
        if swarm.members.is_empty() {
            self.swarms.remove(name);
            return;
        }
        if self.instance.is_none() {
            self.announce_departure(id, name, now);
        }
    }

    /// Tells the members of `name` here that `id` left, if the swarm's departure rate allows; otherwise, or for
    /// a member whose departure queue is full, the announcement is dropped and counted. In a cluster, used when
    /// Redis cannot be reached (the rate is then this instance's own).
    pub fn announce_departure(&mut self, id: Id, name: &SwarmName, now: Instant) {
        let Some(swarm) = self.swarms.get_mut(name) else { return };
        if !swarm.departures.try_take(now) {
            self.metrics.departures_dropped(DepartureDrop::swarm_rate, swarm.members.len());
            return;
        }
        self.deliver_departure(id, name);
    }

    /// Queues `peer_left` for every member of `name` here but `id`, without the rate: a departure another instance
    /// (or Redis, for the whole cluster) already let through.
    pub fn deliver_departure(&mut self, id: Id, name: &SwarmName) {
        let Some(swarm) = self.swarms.get(name) else { return };
        let event = ServerEvent::PeerLeft { swarm: name.clone(), peer: id.to_peer_id() };
        let Ok(text) = serde_json::to_string(&event) else { return };
        let text: Arc<str> = Arc::from(text);
        let mut dropped = 0;
        for other in swarm.members.iter().filter(|&&other| other != id) {
            let Some(peer) = self.peers.get_mut(other) else { continue };
            if !peer.outbox.push_departure(Arc::clone(&text), self.limits.outbox) {
                dropped += 1;
            }
        }
        self.metrics.departures_dropped(DepartureDrop::recipient_full, dropped);
    }
}

/// The `signal` event that relays `payload` from `from`, refused as too large if it would not fit a frame.
fn signal_text(from: Id, payload: SignalPayload) -> Result<String, ErrorCode> {
    let text = serde_json::to_string(&ServerEvent::Signal { from: from.to_peer_id(), payload })
        .map_err(|_| ErrorCode::Malformed)?;
    // Every frame the server sends fits the protocol's frame limit, which peers enforce on what they read.
    if text.len() > MAX_FRAME_LEN {
        return Err(ErrorCode::TooLarge);
    }
    Ok(text)
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
    use std::time::Duration;

    use super::*;

    fn hub(limits: HubLimits) -> Hub {
        Hub::new(limits, Arc::new(Metrics::default()), None)
    }

    fn limits() -> HubLimits {
        HubLimits {
            max_swarms_per_peer: 4,
            max_swarm_members: 100,
            max_peers_per_join: 8,
            outbox: OutboxLimits { capacity: 6, per_sender: 3 },
            departures_per_sec: 2,
        }
    }

    fn name(s: &str) -> SwarmName {
        SwarmName::parse(s).unwrap()
    }

    fn peer(hub: &mut Hub) -> Id {
        hub.register(Arc::new(Notify::new()))
    }

    /// Everything queued for `id`, parsed.
    fn drain(hub: &mut Hub, id: Id) -> Vec<ServerEvent> {
        std::iter::from_fn(|| hub.pop(id)).map(|text| ServerEvent::parse(&text).unwrap()).collect()
    }

    fn offer(sdp: &str) -> SignalPayload {
        SignalPayload::Offer { sdp: sdp.into() }
    }

    #[test]
    fn joiner_gets_at_most_the_configured_number_of_other_members() {
        let mut hub = hub(limits());
        let now = Instant::now();
        for _ in 0..20 {
            let p = peer(&mut hub);
            hub.join(p, name("s"), now).unwrap();
        }
        let me = peer(&mut hub);
        let got = hub.join(me, name("s"), now).unwrap();
        assert_eq!(got.len(), 8);
        assert!(!got.contains(&me.to_peer_id()));
        // Joining again returns others, never oneself.
        let again = hub.join(me, name("s"), now).unwrap();
        assert_eq!(again.len(), 8);
        assert!(!again.contains(&me.to_peer_id()));
        assert_eq!(hub.state_size().memberships, 21);
    }

    #[test]
    fn a_relay_over_the_senders_share_is_refused_to_the_sender_and_the_receiver_stays() {
        let mut hub = hub(limits());
        let now = Instant::now();
        let [receiver, flooder, other] = [(); 3].map(|()| peer(&mut hub));
        for id in [receiver, flooder, other] {
            hub.join(id, name("s"), now).unwrap();
        }
        let share = limits().outbox.per_sender;
        for i in 0..share {
            hub.relay(flooder, &receiver.to_peer_id(), offer(&i.to_string())).unwrap();
        }
        assert_eq!(hub.relay(flooder, &receiver.to_peer_id(), offer("over")), Err(ErrorCode::PeerBusy));
        // Another sender still gets through, and the receiver is still there.
        hub.relay(other, &receiver.to_peer_id(), offer("other")).unwrap();
        assert!(hub.contains(receiver));
        let got = drain(&mut hub, receiver);
        assert_eq!(got.len(), share + 1);
        assert_eq!(got[share], ServerEvent::Signal { from: other.to_peer_id(), payload: offer("other") });
    }

    #[test]
    fn a_full_queue_refuses_every_sender_and_drops_nobody() {
        let mut hub = hub(limits());
        let now = Instant::now();
        let receiver = peer(&mut hub);
        hub.join(receiver, name("s"), now).unwrap();
        let senders: Vec<Id> = (0..3).map(|_| peer(&mut hub)).collect();
        for &s in &senders {
            hub.join(s, name("s"), now).unwrap();
        }
        // Two senders fill the queue with their shares; the third finds it full.
        for &s in &senders[..2] {
            for _ in 0..limits().outbox.per_sender {
                hub.relay(s, &receiver.to_peer_id(), offer("x")).unwrap();
            }
        }
        assert_eq!(hub.relay(senders[2], &receiver.to_peer_id(), offer("x")), Err(ErrorCode::PeerBusy));
        assert!(hub.contains(receiver));
        assert_eq!(hub.state_size().memberships, 4);
        // Once the receiver reads, there is room again.
        assert!(hub.pop(receiver).is_some());
        hub.relay(senders[2], &receiver.to_peer_id(), offer("x")).unwrap();
    }

    #[test]
    fn departures_are_announced_up_to_the_swarm_rate_and_the_rest_dropped_and_counted() {
        let limits = limits();
        let mut hub = hub(limits);
        let start = Instant::now();
        let member = peer(&mut hub);
        hub.join(member, name("s"), start).unwrap();
        let churner = peer(&mut hub);
        let burst = 2 * limits.departures_per_sec as usize;
        for _ in 0..burst + 3 {
            hub.join(churner, name("s"), start).unwrap();
            hub.leave(churner, &name("s"), start).unwrap();
        }
        let left = ServerEvent::PeerLeft { swarm: name("s"), peer: churner.to_peer_id() };
        assert_eq!(drain(&mut hub, member), vec![left.clone(); burst]);
        assert_eq!(hub.metrics.departures_dropped_count(DepartureDrop::swarm_rate), 3);
        // A second later, the swarm may announce `departures_per_sec` more.
        let later = start + Duration::from_secs(1);
        for _ in 0..limits.departures_per_sec + 1 {
            hub.join(churner, name("s"), later).unwrap();
            hub.leave(churner, &name("s"), later).unwrap();
        }
        assert_eq!(drain(&mut hub, member).len(), limits.departures_per_sec as usize);
        assert!(hub.contains(member));
    }

    #[test]
    fn disconnect_churn_is_bounded_by_the_same_swarm_rate() {
        let limits = limits();
        let mut hub = hub(limits);
        let now = Instant::now();
        let member = peer(&mut hub);
        hub.join(member, name("s"), now).unwrap();
        let burst = 2 * limits.departures_per_sec as usize;
        for _ in 0..burst + 4 {
            // A fresh connection each time, as a client reconnecting in a loop would make.
            let churner = peer(&mut hub);
            hub.join(churner, name("s"), now).unwrap();
            hub.remove(churner, now);
        }
        assert_eq!(drain(&mut hub, member).len(), burst);
        assert_eq!(hub.metrics.departures_dropped_count(DepartureDrop::swarm_rate), 4);
        assert_eq!(hub.state_size(), StateSize { peers: 1, swarms: 1, memberships: 1, peer_swarm_entries: 1 });
    }

    #[test]
    fn departures_beyond_a_members_queue_are_dropped_and_its_relays_still_delivered() {
        let mut limits = limits();
        limits.departures_per_sec = 1_000;
        let mut hub = hub(limits);
        let now = Instant::now();
        let [member, churner, sender] = [(); 3].map(|()| peer(&mut hub));
        hub.join(member, name("s"), now).unwrap();
        hub.join(sender, name("s"), now).unwrap();
        for _ in 0..limits.outbox.capacity + 5 {
            hub.join(churner, name("s"), now).unwrap();
            hub.leave(churner, &name("s"), now).unwrap();
        }
        // The sender had every departure too; its own queue dropped the same number.
        assert_eq!(hub.metrics.departures_dropped_count(DepartureDrop::recipient_full), 2 * 5);
        hub.relay(sender, &member.to_peer_id(), offer("still here")).unwrap();
        let got = drain(&mut hub, member);
        assert_eq!(got[0], ServerEvent::Signal { from: sender.to_peer_id(), payload: offer("still here") });
        assert_eq!(got.len(), 1 + limits.outbox.capacity);
        assert!(hub.contains(member));
    }

    #[test]
    fn in_a_cluster_a_relay_to_another_instance_is_routed_out_and_one_from_there_checked_here() {
        let mut hub = Hub::new(limits(), Arc::new(Metrics::default()), Some(1));
        let now = Instant::now();
        let [here, there_member] = [(); 2].map(|()| peer(&mut hub));
        hub.join(here, name("s"), now).unwrap();
        hub.join(there_member, name("t"), now).unwrap();
        // A peer of instance 2: the relay goes out with the sender's swarms, for instance 2 to check.
        let remote = Id::random_on(2);
        let out = hub.relay(here, &remote.to_peer_id(), offer("out")).unwrap().unwrap();
        assert_eq!((out.from, out.to, out.swarms.clone()), (here, remote, vec![name("s")]));
        // From instance 2: delivered only to a member of one of the sender's swarms, within the sender's share.
        let text = |i: usize| format!("{i}");
        assert_eq!(hub.deliver(remote, there_member, &[name("s")], text(0)), Err(ErrorCode::UnknownPeer));
        assert_eq!(hub.deliver(remote, Id::random_on(1), &[name("s")], text(0)), Err(ErrorCode::UnknownPeer));
        for i in 0..limits().outbox.per_sender {
            hub.deliver(remote, here, &[name("x"), name("s")], text(i)).unwrap();
        }
        assert_eq!(hub.deliver(remote, here, &[name("s")], text(9)), Err(ErrorCode::PeerBusy));
        hub.deliver(Id::random_on(3), here, &[name("s")], "other sender".into()).unwrap();
        // A departure is not announced by the hub in a cluster: the cluster does it.
        hub.leave(there_member, &name("t"), now).unwrap();
        hub.join(there_member, name("s"), now).unwrap();
        hub.leave(there_member, &name("s"), now).unwrap();
        assert_eq!(std::iter::from_fn(|| hub.pop(here)).count(), limits().outbox.per_sender + 1);
        assert_eq!(hub.pop(there_member), None);
    }

    #[test]
    fn a_departing_peer_takes_its_queue_and_memberships_with_it() {
        let mut hub = hub(limits());
        let now = Instant::now();
        let [a, b] = [(); 2].map(|()| peer(&mut hub));
        hub.join(a, name("s"), now).unwrap();
        hub.join(b, name("s"), now).unwrap();
        hub.relay(b, &a.to_peer_id(), offer("never read")).unwrap();
        hub.remove(a, now);
        assert_eq!(hub.pop(a), None);
        assert_eq!(drain(&mut hub, b), vec![ServerEvent::PeerLeft { swarm: name("s"), peer: a.to_peer_id() }]);
        assert_eq!(hub.state_size(), StateSize { peers: 1, swarms: 1, memberships: 1, peer_swarm_entries: 1 });
    }
}
