//! Bounded, expiring memories of the discovery network: the entries heard from neighbours, the message ids
//! already seen, and the way back for results of queries passing through.

use std::collections::VecDeque;

use crate::ConnId;
use crate::id::ContentId;
use crate::time::Instant;
use crate::vec_map::VecMap;

use super::wire::Entry;
#[cfg(test)]
use super::words::Words;

/// Entries heard in announcements, keyed by content id, at most `cap` of them, each charged to the neighbour that
/// announced it first (its announcer) and expiring at a fixed time after that neighbour last announced it.
///
/// What one neighbour announces can only cost that neighbour: when the cache is full, the entry evicted is the one
/// expiring first among those of the announcer holding the most (so a neighbour announcing thousands of entries
/// evicts its own), and a known content keeps the name, the announcer and the expiry it has when another neighbour
/// announces it (a second announcer can neither rename it nor keep it alive). (Sorted-`Vec` maps: at most `cap`,
/// 4,096 by default, entries each, see [`VecMap`].) An entry holds at most 255 bytes of name, 127 of media type
/// and [`super::words::MAX_WORDS_LEN`] (512) of words, so a full cache of 4,096 holds under 4 MiB of them.
#[derive(Debug)]
pub struct HeardCache {
    cap: usize,
    entries: VecMap<ContentId, Heard>,
    /// Expiry time -> content ids expiring then, for sweeping in order.
    by_expiry: VecMap<(Instant, ContentId), ()>,
    /// The same per announcer, for eviction from the announcer holding the most.
    by_announcer: VecMap<(ConnId, Instant, ContentId), ()>,
    /// Entries held per announcer; announcers with none are not listed.
    held: VecMap<ConnId, usize>,
}

#[derive(Debug)]
struct Heard {
    entry: Entry,
    from: ConnId,
    expires: Instant,
}

impl HeardCache {
    pub fn new(cap: usize) -> Self {
        HeardCache {
            cap,
            entries: VecMap::new(),
            by_expiry: VecMap::new(),
            by_announcer: VecMap::new(),
            held: VecMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many entries are charged to `from`.
    pub fn held_by(&self, from: ConnId) -> usize {
        self.held.get(&from).copied().unwrap_or(0)
    }

    /// The entry remembered for `content`: the first one heard.
    pub fn get(&self, content: &ContentId) -> Option<&Entry> {
        self.entries.get(content).map(|h| &h.entry)
    }

    /// Records `entry` as announced by `from` until `expires`. A content already known from `from` is kept until
    /// `expires` instead, and takes the words `entry` carries if it carries any (it may have come first in the form
    /// without words); one known from another neighbour is left as it is.
    pub fn insert(&mut self, entry: Entry, from: ConnId, expires: Instant) {
        if self.cap == 0 {
            return;
        }
        if let Some(known) = self.entries.get(&entry.content) {
            if known.from == from
                && let Some(mut heard) = self.remove(&entry.content)
            {
                heard.expires = expires;
                if !entry.words.is_empty() {
                    heard.entry.words = entry.words;
                }
                self.add(heard);
            }
            return;
        }
        if self.entries.len() >= self.cap {
            self.evict_one();
        }
        self.add(Heard { entry, from, expires });
    }

    /// Forgets `content` if `from` is its announcer (a withdrawal): another neighbour cannot make a peer forget an
    /// entry. Whether it was forgotten.
    pub fn withdraw(&mut self, content: &ContentId, from: ConnId) -> bool {
        if self.entries.get(content).is_some_and(|h| h.from == from) {
            self.remove(content);
            return true;
        }
        false
    }

    /// Forgets every entry that expired at or before `now`.
    pub fn expire(&mut self, now: Instant) {
        while let Some((&(t, id), ())) = self.by_expiry.first_key_value() {
            if t > now {
                break;
            }
            self.remove(&id);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().map(|h| &h.entry)
    }

    /// The earliest expiry, for the timer.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.by_expiry.first_key_value().map(|(&(t, _), ())| t)
    }

    /// Evicts the entry expiring first of the announcer holding the most (the lowest connection id among equals).
    fn evict_one(&mut self) {
        let mut most: Option<(ConnId, usize)> = None;
        for (&from, &n) in self.held.iter() {
            if most.is_none_or(|(_, m)| n > m) {
                most = Some((from, n));
            }
        }
        let Some((from, _)) = most else { return };
        let first = self.by_announcer.range((from, Instant::ZERO, ContentId([0; 32]))..).next();
        if let Some((&(f, _, id), ())) = first
            && f == from
        {
            self.remove(&id);
        }
    }

    fn add(&mut self, heard: Heard) {
        let id = heard.entry.content;
        self.by_expiry.insert((heard.expires, id), ());
        self.by_announcer.insert((heard.from, heard.expires, id), ());
        *self.held.get_or_insert_with(heard.from, || 0) += 1;
        self.entries.insert(id, heard);
    }

    fn remove(&mut self, content: &ContentId) -> Option<Heard> {
        let heard = self.entries.remove(content)?;
        self.by_expiry.remove(&(heard.expires, *content));
        self.by_announcer.remove(&(heard.from, heard.expires, *content));
        if let Some(n) = self.held.get_mut(&heard.from) {
            *n -= 1;
            if *n == 0 {
                self.held.remove(&heard.from);
            }
        }
        Some(heard)
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
        Entry {
            content: ContentId([n; 32]),
            size: 1,
            name: format!("f{n}"),
            media_type: String::new(),
            words: Words::none(),
        }
    }

    const A: ConnId = ConnId(1);
    const B: ConnId = ConnId(2);

    fn names(c: &HeardCache) -> Vec<String> {
        let mut names: Vec<_> = c.iter().map(|e| e.name.clone()).collect();
        names.sort();
        names
    }

    #[test]
    fn heard_cache_evicts_the_entry_expiring_first_when_full() {
        let mut c = HeardCache::new(2);
        c.insert(entry(1), A, Instant::from_millis(300));
        c.insert(entry(2), A, Instant::from_millis(100));
        c.insert(entry(3), A, Instant::from_millis(200));
        assert_eq!(names(&c), ["f1", "f3"]);
    }

    #[test]
    fn heard_cache_forgets_expired_entries_and_refreshes_known_ones() {
        let mut c = HeardCache::new(8);
        c.insert(entry(1), A, Instant::from_millis(100));
        c.insert(entry(2), A, Instant::from_millis(100));
        c.insert(entry(1), A, Instant::from_millis(500));
        c.expire(Instant::from_millis(100));
        assert_eq!(c.len(), 1);
        assert_eq!(c.next_expiry(), Some(Instant::from_millis(500)));
        assert_eq!(c.held_by(A), 1);
    }

    #[test]
    fn a_full_heard_cache_evicts_from_the_announcer_holding_the_most() {
        let mut c = HeardCache::new(4);
        // B's entry expires first of all, but A holds more.
        c.insert(entry(1), B, Instant::from_millis(100));
        for n in 2..=10 {
            c.insert(entry(n), A, Instant::from_millis(1000 + u64::from(n)));
        }
        assert_eq!(names(&c), ["f1", "f10", "f8", "f9"]);
        assert_eq!((c.held_by(A), c.held_by(B)), (3, 1));
    }

    #[test]
    fn another_announcer_neither_renames_nor_refreshes_a_known_entry() {
        let mut c = HeardCache::new(8);
        c.insert(entry(1), A, Instant::from_millis(100));
        let renamed = Entry { name: "other".into(), ..entry(1) };
        c.insert(renamed.clone(), B, Instant::from_millis(900));
        assert_eq!(c.get(&ContentId([1; 32])).map(|e| e.name.as_str()), Some("f1"));
        assert_eq!((c.held_by(A), c.held_by(B)), (1, 0));
        // Its first announcer renaming it only refreshes it.
        c.insert(renamed, A, Instant::from_millis(900));
        assert_eq!(c.get(&ContentId([1; 32])).map(|e| e.name.as_str()), Some("f1"));
        c.expire(Instant::from_millis(100));
        assert_eq!(c.len(), 1);
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
