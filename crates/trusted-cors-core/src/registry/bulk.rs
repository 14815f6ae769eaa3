//! Building a snapshot's indexes from many entries at once.
//!
//! Inserting a million keys one by one into a hash trie in the order they come is slow for want
//! of cache: every insert walks a path of its own through a structure far larger than the cache,
//! and every uniqueness check reads a key somewhere else in memory. So the keys of each index are
//! first copied, in entry order, into one buffer, then sorted by the path they take through the
//! trie (the trie takes 5 bits of the hash per level, lowest first), which also puts equal keys
//! side by side: duplicates are found by comparing neighbours, and each insert then follows the
//! path of the one before, through nodes still in cache, reading a key that was just written.
//! Only the speed depends on the trie's layout; any order builds the same map.

use std::hash::BuildHasher;
use std::sync::Arc;

use super::Map;

/// The keys of one index, with their values and entry indexes, gathered in entry order.
pub(super) struct Keys<V> {
    /// An empty map, for its hasher: the map built at the end is this one.
    map: Map<Arc<str>, V>,
    /// Every key, one after another.
    bytes: String,
    items: Vec<Item<V>>,
    sorted: bool,
}

struct Item<V> {
    /// The key's hash, its 5-bit groups reordered so that sorting follows the trie's levels.
    path: u64,
    start: usize,
    end: usize,
    /// The entry's place in the input.
    index: usize,
    value: V,
}

impl<V: Clone> Keys<V> {
    pub(super) fn with_capacity(n: usize) -> Self {
        Keys {
            map: Map::default(),
            bytes: String::new(),
            items: Vec::with_capacity(n),
            sorted: true,
        }
    }

    /// The keys that `add` adds for each entry.
    pub(super) fn gather<T>(entries: &[T], add: impl Fn(&mut Self, usize, &T)) -> Self {
        let mut keys = Keys::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            add(&mut keys, index, entry);
        }
        keys
    }

    pub(super) fn add(&mut self, key: &str, index: usize, value: V) {
        // The map hashes an `Arc<str>` key as the `str` it holds.
        let hash = self.map.hasher().hash_one(key) as u32;
        let path = (0..7).fold(0u64, |path, level| {
            (path << 5) | u64::from((hash >> (5 * level)) & 31)
        });
        let start = self.bytes.len();
        self.bytes.push_str(key);
        self.items.push(Item {
            path,
            start,
            end: self.bytes.len(),
            index,
            value,
        });
        self.sorted = false;
    }

    /// Sorts by trie path, then key (so that equal keys are neighbours), then entry index.
    fn sort(&mut self) {
        if self.sorted {
            return;
        }
        let bytes = &self.bytes;
        self.items.sort_unstable_by(|a, b| {
            a.path
                .cmp(&b.path)
                .then_with(|| bytes[a.start..a.end].cmp(&bytes[b.start..b.end]))
                .then(a.index.cmp(&b.index))
        });
        self.sorted = true;
    }

    fn same_key(&self, a: &Item<V>, b: &Item<V>) -> bool {
        a.path == b.path && self.bytes[a.start..a.end] == self.bytes[b.start..b.end]
    }

    /// The smallest entry index whose key an entry of a smaller index has too, if any.
    pub(super) fn first_duplicate(&mut self) -> Option<usize> {
        self.sort();
        self.items
            .windows(2)
            .filter(|pair| self.same_key(&pair[0], &pair[1]))
            .map(|pair| pair[1].index)
            .min()
    }

    /// Each key with its value. The keys must be unique.
    pub(super) fn into_map(mut self) -> Map<Arc<str>, V> {
        self.sort();
        let mut map = self.map;
        for item in self.items {
            map.insert(Arc::from(&self.bytes[item.start..item.end]), item.value);
        }
        map
    }

    /// Each key with its values, in entry order.
    pub(super) fn into_grouped(mut self) -> Map<Arc<str>, Arc<[V]>> {
        self.sort();
        let mut map = self.map.new_from();
        let mut items = self.items.into_iter().peekable();
        while let Some(first) = items.next() {
            let key = &self.bytes[first.start..first.end];
            let mut values = vec![first.value];
            while let Some(next) = items
                .next_if(|next| next.path == first.path && &self.bytes[next.start..next.end] == key)
            {
                values.push(next.value);
            }
            map.insert(Arc::from(key), Arc::from(values));
        }
        map
    }
}
