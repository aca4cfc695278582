//! [`VecMap`]: an ordered map in one sorted `Vec`, for the small bounded maps of the state machines.
//!
//! Why not `BTreeMap` or `HashMap`: each key and value type of those instantiates several kilobytes of node
//! balancing or table code, and the browser downloads every byte of it (BENCHMARKS.md, "browser-size"). Our maps
//! are bounded (peers, operations in flight, neighbours, pieces being assembled, searches; at most a few thousand
//! heard entries or seen ids), so a sorted `Vec` with binary search costs little code per type and no time that
//! matters: lookups are O(log n), inserts and removals move at most n entries (a few hundred kilobytes at the
//! largest bound, microseconds). Iteration is in key order, like `BTreeMap`, so everything built on it stays
//! deterministic. The method names are `BTreeMap`'s, so a map can switch between the two by its type alone.

use std::ops::{Bound, RangeBounds};

/// Binary search of `key` among `len` sorted keys, the `i`th given by `key_at`; `binary_search`'s result. Generic
/// over the key type only: a search per map type (key and value) was the largest part of this module's wasm.
fn search<'a, K: Ord + 'a>(len: usize, key: &K, key_at: &dyn Fn(usize) -> &'a K) -> Result<usize, usize> {
    let (mut low, mut high) = (0, len);
    while low < high {
        let mid = low + (high - low) / 2;
        match key_at(mid).cmp(key) {
            std::cmp::Ordering::Less => low = mid + 1,
            std::cmp::Ordering::Greater => high = mid,
            std::cmp::Ordering::Equal => return Ok(mid),
        }
    }
    Err(low)
}

/// A map from `K` to `V` in key order (see the module docs for when to use it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    /// Sorted by key, no two equal keys.
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { entries: Vec::new() }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub const fn new() -> Self {
        VecMap { entries: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `key` is (`Ok`) or would be inserted (`Err`).
    fn find(&self, key: &K) -> Result<usize, usize> {
        search(self.entries.len(), key, &|i| &self.entries[i].0)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_ok()
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`, inserted with `make` first if it is missing.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(self.entries.iter())
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&K, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The entries whose keys are in `range`, in key order.
    pub fn range(&self, range: impl RangeBounds<K>) -> Iter<'_, K, V> {
        let start = match range.start_bound() {
            Bound::Included(s) => self.entries.partition_point(|(k, _)| k < s),
            Bound::Excluded(s) => self.entries.partition_point(|(k, _)| k <= s),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(e) => self.entries.partition_point(|(k, _)| k <= e),
            Bound::Excluded(e) => self.entries.partition_point(|(k, _)| k < e),
            Bound::Unbounded => self.entries.len(),
        };
        Iter(self.entries[start..end.max(start)].iter())
    }
}

/// Entries of a [`VecMap`] in key order.
#[derive(Debug, Clone)]
pub struct Iter<'a, K, V>(std::slice::Iter<'a, (K, V)>);

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<'a, K: Ord, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u32),
        Remove(u8),
        Retain(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<u8>(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            any::<u8>().prop_map(Op::Remove),
            any::<u8>().prop_map(Op::Retain),
        ]
    }

    proptest! {
        /// Every operation gives what `BTreeMap` gives, and iteration and ranges are in the same order.
        #[test]
        fn behaves_like_btreemap(ops in proptest::collection::vec(op(), 0..200), lo in any::<u8>(), hi in any::<u8>()) {
            let mut ours = VecMap::new();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(ours.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(ours.remove(&k), model.remove(&k)),
                    Op::Retain(m) => {
                        let m = m.max(1);
                        ours.retain(|k, _| k % m != 0);
                        model.retain(|k, _| k % m != 0);
                    }
                }
                prop_assert_eq!(ours.len(), model.len());
            }
            prop_assert!(ours.iter().eq(model.iter()));
            prop_assert_eq!(ours.first_key_value(), model.first_key_value());
            for k in 0..=u8::MAX {
                prop_assert_eq!(ours.get(&k), model.get(&k));
            }
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            prop_assert!(ours.range(lo..hi).eq(model.range(lo..hi)));
            prop_assert!(ours.range(lo..=hi).eq(model.range(lo..=hi)));
            prop_assert!(ours.range(..=lo).eq(model.range(..=lo)));
            prop_assert!(
                ours.range((Bound::Excluded(lo), Bound::Unbounded))
                    .eq(model.range((Bound::Excluded(lo), Bound::Unbounded)))
            );
        }
    }

    #[test]
    fn get_or_insert_with_inserts_once() {
        let mut m = VecMap::new();
        *m.get_or_insert_with(3, || 10) += 1;
        *m.get_or_insert_with(3, || 100) += 1;
        *m.get_or_insert_with(1, || 5) += 1;
        assert_eq!(m.iter().collect::<Vec<_>>(), [(&1, &6), (&3, &12)]);
    }
}
