//! Bounded, expiring memories of the discovery network: the entries heard from neighbours, the message ids
//! already seen, and the way back for results of queries passing through.

use std::collections::VecDeque;

use crate::id::ContentId;
use crate::time::Instant;
use crate::vec_map::VecMap;

use super::wire::Entry;

/// Entries heard in announcements, keyed by content id, at most `cap` of them; each expires at a fixed time after
/// it was last heard. When full, the entry that expires first is evicted. (Sorted-`Vec` maps: at most `cap`, 4,096 by
/// default, entries each, see [`VecMap`].)
#[derive(Debug)]
pub struct HeardCache {
    cap: usize,
    entries: VecMap<ContentId, (Entry, Instant)>,
    /// Expiry time -> content ids expiring then, for eviction and sweeping in order.
    by_expiry: VecMap<(Instant, ContentId), ()>,
}

impl HeardCache {
    pub fn new(cap: usize) -> Self {
        HeardCache { cap, entries: VecMap::new(), by_expiry: VecMap::new() }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records `entry` until `expires`, refreshing it if it is already known.
    pub fn insert(&mut self, entry: Entry, expires: Instant) {
        if self.cap == 0 {
            return;
        }
        if let Some((_, old)) = self.entries.remove(&entry.content) {
            self.by_expiry.remove(&(old, entry.content));
        } else if self.entries.len() >= self.cap
            && let Some((&(t, id), ())) = self.by_expiry.first_key_value()
        {
            self.by_expiry.remove(&(t, id));
            self.entries.remove(&id);
        }
        self.by_expiry.insert((expires, entry.content), ());
        self.entries.insert(entry.content, (entry, expires));
    }

    /// Forgets every entry that expired at or before `now`.
    pub fn expire(&mut self, now: Instant) {
        while let Some((&(t, id), ())) = self.by_expiry.first_key_value() {
            if t > now {
                break;
            }
            self.by_expiry.remove(&(t, id));
            self.entries.remove(&id);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().map(|(e, _)| e)
    }

    /// The earliest expiry, for the timer.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.by_expiry.first_key_value().map(|(&(t, _), ())| t)
    }
}

/// A bounded set of recently seen message ids with a value each (the way back for a query, or nothing):
/// first in, first out, and entries older than the time to live are forgotten.
#[derive(Debug)]
pub struct SeenIds<V> {
    cap: usize,
    map: VecMap<u64, (V, Instant)>,
    order: VecDeque<(u64, Instant)>,
}

impl<V> SeenIds<V> {
    pub fn new(cap: usize) -> Self {
        SeenIds { cap, map: VecMap::new(), order: VecDeque::new() }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn contains(&self, id: u64) -> bool {
        self.map.contains_key(&id)
    }

    pub fn get(&self, id: u64) -> Option<&V> {
        self.map.get(&id).map(|(v, _)| v)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut V> {
        self.map.get_mut(&id).map(|(v, _)| v)
    }

    /// Remembers `id` until `expires`; returns false (and changes nothing) if it was already there.
    pub fn insert(&mut self, id: u64, value: V, expires: Instant) -> bool {
        if self.cap == 0 || self.map.contains_key(&id) {
            return false;
        }
        while self.map.len() >= self.cap {
            match self.order.pop_front() {
                Some((old, _)) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.map.insert(id, (value, expires));
        self.order.push_back((id, expires));
        true
    }

    /// Forgets ids that expired at or before `now`. Ids expire in insertion order (one time to live per set).
    pub fn expire(&mut self, now: Instant) {
        while let Some(&(id, t)) = self.order.front() {
            if t > now {
                break;
            }
            self.order.pop_front();
            self.map.remove(&id);
        }
    }

    pub fn next_expiry(&self) -> Option<Instant> {
        self.order.front().map(|&(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8) -> Entry {
        Entry { content: ContentId([n; 32]), size: 1, name: format!("f{n}"), media_type: String::new() }
    }

    #[test]
    fn heard_cache_evicts_the_entry_expiring_first_when_full() {
        let mut c = HeardCache::new(2);
        c.insert(entry(1), Instant::from_millis(300));
        c.insert(entry(2), Instant::from_millis(100));
        c.insert(entry(3), Instant::from_millis(200));
        let mut names: Vec<_> = c.iter().map(|e| e.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["f1", "f3"]);
    }

    #[test]
    fn heard_cache_forgets_expired_entries_and_refreshes_known_ones() {
        let mut c = HeardCache::new(8);
        c.insert(entry(1), Instant::from_millis(100));
        c.insert(entry(2), Instant::from_millis(100));
        c.insert(entry(1), Instant::from_millis(500));
        c.expire(Instant::from_millis(100));
        assert_eq!(c.len(), 1);
        assert_eq!(c.next_expiry(), Some(Instant::from_millis(500)));
    }

    #[test]
    fn seen_ids_are_bounded_and_deduplicate() {
        let mut s = SeenIds::new(3);
        let t = Instant::from_millis(1000);
        assert!(s.insert(1, (), t));
        assert!(!s.insert(1, (), t));
        for id in 2..=10 {
            s.insert(id, (), t);
        }
        assert_eq!(s.len(), 3);
        assert!(s.contains(10) && !s.contains(1));
        s.expire(t);
        assert!(s.is_empty());
    }
}
