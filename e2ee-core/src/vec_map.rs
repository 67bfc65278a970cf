//! A map kept as a vector sorted by key, for the small or append-mostly
//! maps of a group's state (resumption PSKs per epoch, the leaves a past
//! epoch changed, a ratchet's retained keys).
//!
//! Why not `BTreeMap`: each key/value type instantiates the B-tree's node
//! code again, several KB of WebAssembly per type, while these maps are
//! either bounded small or filled in key order, where a sorted vector is as
//! fast and far less code.

use alloc::vec::Vec;

/// Entries with strictly increasing keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K: Ord + Copy, V> VecMap<K, V> {
    /// The map of `entries`, or `None` unless their keys strictly increase:
    /// the canonical form of a stored map, so a duplicate key cannot
    /// silently replace an earlier entry.
    pub(crate) fn from_sorted(entries: impl IntoIterator<Item = (K, V)>) -> Option<Self> {
        let entries: Vec<(K, V)> = entries.into_iter().collect();
        entries.windows(2).all(|w| w[0].0 < w[1].0).then_some(Self(entries))
    }

    fn find(&self, key: &K) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.cmp(key))
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// Sets the value of `key`, returning the one it replaces. Inserting in
    /// increasing key order appends.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(core::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes the entry of `key`, returning its value.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// Removes the entries with the smallest keys until at most `n` are
    /// left, in one move of the rest (not one per removed entry).
    pub(crate) fn keep_last(&mut self, n: usize) {
        self.0.drain(..self.0.len().saturating_sub(n));
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The entries in increasing key order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_keys_sorted_and_unique() {
        let mut map = VecMap::default();
        assert_eq!(map.insert(5u32, 'a'), None);
        assert_eq!(map.insert(1, 'b'), None);
        assert_eq!(map.insert(9, 'c'), None);
        assert_eq!(map.insert(5, 'd'), Some('a'));
        let entries: Vec<_> = map.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(entries, [(1, 'b'), (5, 'd'), (9, 'c')]);
        assert_eq!((map.get(&5), map.get(&4), map.len()), (Some(&'d'), None, 3));
        assert_eq!((map.remove(&4), map.remove(&9), map.len()), (None, Some('c'), 2));
        assert_eq!(map.insert(9, 'c'), None);
        map.keep_last(5);
        assert_eq!(map.len(), 3);
        map.keep_last(2);
        let entries: Vec<_> = map.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(entries, [(5, 'd'), (9, 'c')]);
        map.keep_last(0);
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn from_sorted_takes_only_strictly_increasing_keys() {
        assert!(VecMap::from_sorted([(1u8, ()), (2, ()), (7, ())]).is_some());
        assert!(VecMap::from_sorted([(1u8, ()), (1, ())]).is_none());
        assert!(VecMap::from_sorted([(2u8, ()), (1, ())]).is_none());
        assert!(VecMap::<u8, ()>::from_sorted([]).is_some());
    }
}
