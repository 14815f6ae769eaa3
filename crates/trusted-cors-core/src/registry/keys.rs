//! The keys of a snapshot's indexes: each holds the entry's `Arc`, hashed or ordered by one of
//! its fields, so that no index copies an entry's text.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::hash::{BuildHasher, Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use equivalent::{Comparable, Equivalent};

use crate::origin::OriginSplit;
use crate::trusted_origin::{Status, TrustedOrigin};

/// A persistent hash map: O(1) clone, O(log n) change, old versions unchanged.
///
/// Hashed with foldhash's quality hasher rather than SipHash: a request's `Origin` is hashed
/// once per cross-origin request to a declared route, and on the short keys here foldhash costs
/// a fraction of SipHash (about 50 instructions against 220 for a 26-byte origin) and loads a
/// million entries faster. foldhash claims no resistance to hash flooding (its seed comes from
/// the process, not from a secure source), and none is needed here: the keys (ids, names,
/// origins) are written by administrators through a validated API, never by the requests that
/// are looked up; a request only looks one key up (and one per label of its host for
/// wildcards) and cannot grow or reshape the trie; and a trie that many colliding keys deepen
/// costs their writer, not the request path, which stays one lookup per index.
pub(super) type Map<K, V> =
    imbl::GenericHashMap<K, V, foldhash::quality::RandomState, imbl::shared_ptr::DefaultSharedPtr>;

/// A wildcard entry as its index holds it: with its scope bits while ACTIVE, else 0.
#[derive(Clone)]
pub(super) struct Indexed {
    pub(super) entry: Arc<TrustedOrigin>,
    pub(super) bits: u8,
}

impl Indexed {
    pub(super) fn new(entry: &Arc<TrustedOrigin>) -> Self {
        Indexed {
            entry: Arc::clone(entry),
            bits: active_bits(entry),
        }
    }
}

/// The entry's scope bits while ACTIVE, else 0.
fn active_bits(entry: &TrustedOrigin) -> u8 {
    if entry.status == Status::Active {
        entry.scope_bits()
    } else {
        0
    }
}

/// What the exact-origin index holds beside an entry (its key): its scope bits while ACTIVE,
/// and how its origin splits as a request's `Origin` (see [`RegistrySnapshot::exact_lookup`]).
#[derive(Clone, Copy)]
pub(super) struct ExactHit {
    pub(super) bits: u8,
    pub(super) split: Option<OriginSplit>,
}

impl ExactHit {
    pub(super) fn of(entry: &TrustedOrigin) -> Self {
        ExactHit {
            bits: active_bits(entry),
            split: OriginSplit::of(entry.origin.as_str()),
        }
    }
}

/// Which text of an entry a [`Keyed`] is hashed and compared by.
pub(super) trait KeyField {
    fn of(entry: &TrustedOrigin) -> &str;
}

/// Keys an entry by its (exact) origin.
pub(super) enum ExactOrigin {}

impl KeyField for ExactOrigin {
    fn of(entry: &TrustedOrigin) -> &str {
        entry.origin.as_str()
    }
}

/// An entry as the key of an index, hashed and compared as its text `F` (so that it is looked up
/// by a `&str`): the index holds no copy of the text, only the entry's `Arc`.
pub(super) struct Keyed<F>(pub(super) Arc<TrustedOrigin>, PhantomData<fn() -> F>);

impl<F> Keyed<F> {
    pub(super) fn new(entry: &Arc<TrustedOrigin>) -> Self {
        Keyed(Arc::clone(entry), PhantomData)
    }
}

impl<F> Clone for Keyed<F> {
    fn clone(&self) -> Self {
        Keyed::new(&self.0)
    }
}

impl<F: KeyField> Borrow<str> for Keyed<F> {
    fn borrow(&self) -> &str {
        F::of(&self.0)
    }
}

impl<F: KeyField> Hash for Keyed<F> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        F::of(&self.0).hash(state);
    }
}

impl<F: KeyField> PartialEq for Keyed<F> {
    fn eq(&self, other: &Self) -> bool {
        F::of(&self.0) == F::of(&other.0)
    }
}

impl<F: KeyField> Eq for Keyed<F> {}

/// Which text of an entry a [`Hashed`] key orders it by, and when two such texts are the same
/// key.
pub(super) trait HashedField {
    fn of(entry: &TrustedOrigin) -> &str;
    /// The hash the index orders by first: equal texts have equal hashes.
    fn hash(text: &str) -> u64;
    /// How two texts with the same hash are ordered: `Equal` when they are the same key.
    fn cmp(a: &str, b: &str) -> Ordering;
}

/// The hash of the id and name indexes: fixed, since nothing rests on it being secret (see
/// [`Hashed`]).
fn fixed_hash(text: &str) -> u64 {
    foldhash::quality::FixedState::with_seed(0).hash_one(text)
}

/// Keys an entry by its id.
pub(super) enum Id {}

impl HashedField for Id {
    fn of(entry: &TrustedOrigin) -> &str {
        &entry.id
    }

    fn hash(text: &str) -> u64 {
        fixed_hash(text)
    }

    fn cmp(a: &str, b: &str) -> Ordering {
        a.cmp(b)
    }
}

/// Keys an entry by its name in ASCII lowercase (Okta compares names whatever their case).
pub(super) enum Name {}

impl HashedField for Name {
    fn of(entry: &TrustedOrigin) -> &str {
        &entry.name
    }

    fn hash(text: &str) -> u64 {
        with_name_key(text, fixed_hash)
    }

    fn cmp(a: &str, b: &str) -> Ordering {
        let a = a.bytes().map(|byte| byte.to_ascii_lowercase());
        a.cmp(b.bytes().map(|byte| byte.to_ascii_lowercase()))
    }
}

/// An entry as the key of an ordered index (a B-tree), ordered by the hash of its text `F`, then
/// that text: a hash index in a tree whose nodes are full arrays of keys, a third to a half of
/// what the hash trie of the exact index costs per key. Its keys compare as two integers but
/// for equal hashes, which compare their texts: a lookup costs O(log n) whatever the keys, so
/// colliding keys cost no more than others and the hash needs no secret seed. The index holds no
/// copy of the text, only the entry's `Arc` and the hash.
pub(super) struct Hashed<F> {
    hash: u64,
    pub(super) entry: Arc<TrustedOrigin>,
    field: PhantomData<fn() -> F>,
}

impl<F: HashedField> Hashed<F> {
    pub(super) fn new(entry: &Arc<TrustedOrigin>) -> Self {
        Hashed {
            hash: F::hash(F::of(entry)),
            entry: Arc::clone(entry),
            field: PhantomData,
        }
    }
}

impl<F> Clone for Hashed<F> {
    fn clone(&self) -> Self {
        Hashed {
            hash: self.hash,
            entry: Arc::clone(&self.entry),
            field: PhantomData,
        }
    }
}

impl<F: HashedField> Ord for Hashed<F> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.hash
            .cmp(&other.hash)
            .then_with(|| F::cmp(F::of(&self.entry), F::of(&other.entry)))
    }
}

impl<F: HashedField> PartialOrd for Hashed<F> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<F: HashedField> PartialEq for Hashed<F> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<F: HashedField> Eq for Hashed<F> {}

/// A text looked up in an index of [`Hashed`] keys.
pub(super) struct Probe<'a, F> {
    hash: u64,
    text: &'a str,
    field: PhantomData<fn() -> F>,
}

impl<'a, F: HashedField> Probe<'a, F> {
    pub(super) fn new(text: &'a str) -> Self {
        Probe {
            hash: F::hash(text),
            text,
            field: PhantomData,
        }
    }
}

impl<F: HashedField> Comparable<Hashed<F>> for Probe<'_, F> {
    fn compare(&self, key: &Hashed<F>) -> Ordering {
        self.hash
            .cmp(&key.hash)
            .then_with(|| F::cmp(self.text, F::of(&key.entry)))
    }
}

impl<F: HashedField> Equivalent<Hashed<F>> for Probe<'_, F> {
    fn equivalent(&self, key: &Hashed<F>) -> bool {
        self.compare(key) == Ordering::Equal
    }
}

/// An ordered index: a persistent B-tree (O(1) clone, O(log n) change, old versions unchanged).
pub(super) type Tree<K, V> = imbl::OrdMap<K, V>;

/// Calls `f` with the key names are unique by: the name in ASCII lowercase (Okta compares names
/// whatever their case). Short names are lowered on the stack.
pub(super) fn with_name_key<T>(name: &str, f: impl FnOnce(&str) -> T) -> T {
    let mut buffer = [0u8; 256];
    match buffer.get_mut(..name.len()) {
        Some(lowered) => {
            lowered.copy_from_slice(name.as_bytes());
            lowered.make_ascii_lowercase();
            // Lowering ASCII letters keeps UTF-8 valid.
            f(std::str::from_utf8(lowered).unwrap_or(name))
        }
        None => f(&name.to_ascii_lowercase()),
    }
}
