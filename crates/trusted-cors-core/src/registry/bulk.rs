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
//!
//! The ordered indexes (B-trees: creation order, ids, names) are built from their keys sorted,
//! duplicates side by side as well, and inserted in two passes, every other key first: inserted
//! in order, a B-tree that splits a full node in halves would keep every node half full; the
//! second pass fills the half-full nodes of the first (see [`dense`]).

use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex, PoisonError};

use super::keys::{
    ExactHit, ExactOrigin, Hashed, HashedField, Id, Indexed, Keyed, Map, Name, Tree,
};
use super::snapshot::RegistrySnapshot;
use crate::trusted_origin::{Status, TrustedOrigin};

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
        // The map hashes each key as the `str` it is added with.
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

    /// Each key, as `key` makes it from its entry's index (hashed as the text it was added
    /// with), with its value. The keys must be unique.
    pub(super) fn into_map<K: Hash + Eq + Clone>(mut self, key: impl Fn(usize) -> K) -> Map<K, V> {
        self.sort();
        let mut map = self.map.new_from();
        for item in self.items {
            map.insert(key(item.index), item.value);
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

/// From how many entries a load uses a second thread.
pub(super) const PARALLEL_FROM: usize = 16_384;

/// Runs `a` and `b`, on two threads when there are enough entries to be worth it and a second
/// thread can be had, and returns their results.
pub(super) fn join<A: Send, B>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B,
    n: usize,
) -> (A, B) {
    if n < PARALLEL_FROM
        || std::thread::available_parallelism().map_or(true, |cores| cores.get() < 2)
    {
        return (a(), b());
    }
    let a = Mutex::new(Some(a));
    let run_a = || {
        a.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|a| a())
    };
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("trusted-cors-load".into())
            .spawn_scoped(scope, run_a)
        {
            Ok(handle) => {
                let b = b();
                match handle.join() {
                    Ok(Some(a)) => (a, b),
                    Ok(None) => unreachable!("`a` runs once"),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            // No thread to be had: both here.
            Err(_) => match run_a() {
                Some(a) => (a, b()),
                None => unreachable!("`a` runs once"),
            },
        }
    })
}

/// A snapshot of many entries, in creation order, built at once (see the module doc), with the first
/// entry (by index) whose id, name or origin an entry before it has; the snapshot is only good
/// when there is none.
pub(super) struct Built {
    pub(super) snapshot: RegistrySnapshot,
    pub(super) duplicate_id: Option<usize>,
    pub(super) duplicate_name: Option<usize>,
    pub(super) duplicate_origin: Option<usize>,
}

impl Built {
    pub(super) fn new(entries: &[Arc<TrustedOrigin>]) -> Self {
        let n = entries.len();
        let ((by_id, order, wildcard), (names, exact, patterns)) = join(
            || {
                let by_id = hashed_tree::<Id, _>(entries, |index| index as u64);
                let order = dense((0u64..).zip(entries.iter().cloned()).collect());
                let wildcard = Keys::gather(entries, |keys, index, entry| {
                    if let Some(base) = entry.origin.wildcard_base() {
                        keys.add(base, index, Indexed::new(entry));
                    }
                });
                (by_id, order, wildcard.into_grouped())
            },
            || {
                let names = hashed_tree::<Name, _>(entries, |_| ());
                let mut exact = Keys::gather(entries, |keys, index, entry| {
                    if !entry.origin.is_wildcard() {
                        keys.add(entry.origin.as_str(), index, ExactHit::of(entry));
                    }
                });
                let mut patterns = Keys::gather(entries, |keys, index, entry| {
                    if entry.origin.is_wildcard() {
                        keys.add(entry.origin.as_str(), index, ());
                    }
                });
                (
                    names,
                    (
                        exact.first_duplicate(),
                        exact.into_map(|index| Keyed::<ExactOrigin>::new(&entries[index])),
                    ),
                    patterns.first_duplicate(),
                )
            },
            n,
        );
        // An exact origin and a wildcard pattern are never equal.
        let duplicate_origin = match (exact.0, patterns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Built {
            snapshot: RegistrySnapshot {
                by_id: by_id.1,
                order,
                names: names.1,
                exact: exact.1,
                wildcard,
                next_seq: n as u64,
                revision: 0,
                active: entries
                    .iter()
                    .filter(|entry| entry.status == Status::Active)
                    .count(),
            },
            duplicate_id: by_id.0,
            duplicate_name: names.0,
            duplicate_origin,
        }
    }
}

/// The index of `entries` by their text `F`, each with the value `value` gives for its entry's
/// index, and the smallest entry index whose key an entry of a smaller index has too, if any (the
/// index is only good when there is none).
fn hashed_tree<F: HashedField, V: Clone>(
    entries: &[Arc<TrustedOrigin>],
    value: impl Fn(usize) -> V,
) -> (Option<usize>, Tree<Hashed<F>, V>) {
    let mut keys: Vec<(Hashed<F>, usize)> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| (Hashed::new(entry), index))
        .collect();
    keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let duplicate = keys
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| pair[1].1)
        .min();
    let tree = dense(
        keys.into_iter()
            .map(|(key, index)| (key, value(index)))
            .collect(),
    );
    (duplicate, tree)
}

/// A B-tree of `sorted` (in ascending order of key, each key once), its leaves full: every
/// other key first, which leaves each leaf half full (a full leaf splits in halves), then the
/// others, each of which falls in the half-full leaf of its neighbours and fills it. Inserted in
/// one pass, in order, the leaves would stay half full: twice the memory.
pub(super) fn dense<K: Ord + Clone, V: Clone>(sorted: Vec<(K, V)>) -> Tree<K, V> {
    let mut tree = Tree::new();
    for (key, value) in sorted.iter().step_by(2) {
        tree.insert(key.clone(), value.clone());
    }
    for (key, value) in sorted.into_iter().skip(1).step_by(2) {
        tree.insert(key, value);
    }
    tree
}
