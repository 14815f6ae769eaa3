//! The registry of trusted origins: snapshots swapped atomically, read without locks, changed in
//! O(log n).
//!
//! # Design
//!
//! A [`RegistrySnapshot`] is a handful of persistent (structurally shared) maps from the `imbl`
//! crate, each entry held once behind an `Arc`:
//!
//! - id → entry and its creation sequence number (lookups by id, id uniqueness);
//! - sequence number → entry (an ordered map: listing in creation order, paging after an id);
//! - ASCII-lowercased name → entry (name uniqueness, case-insensitive as in Okta);
//! - canonical exact origin → entry and its scope bits while ACTIVE (the request path; also
//!   origin uniqueness for exact origins);
//! - wildcard base domain → the few wildcard entries over it, at most one per scheme and port
//!   (the request path; also origin uniqueness for wildcards).
//!
//! Cloning a snapshot is O(1): the clone shares every node. A change, serialized by the writer
//! mutex, clones the current snapshot, applies one insert or removal to each map, which copies
//! only the O(log n) nodes on the path to the key and leaves the rest shared, and swaps the
//! result in with [`ArcSwap`]. Each insert is also the uniqueness check of its map; a change
//! refused half-way leaves only its copy half changed, and the copy is dropped. Nothing is
//! scanned, cloned or rebuilt whole. Readers take the current snapshot without a lock and keep
//! it unchanged for as long as they hold it, so a request never sees half a change and never
//! waits for one.
//!
//! Loading n entries ([`Registry::from_origins`], [`Registry::with_origins`]) builds each map
//! from all its keys at once: the keys are sorted by the path they take through the trie, which
//! puts duplicates side by side (uniqueness is checked by comparing neighbours) and makes each
//! insert follow the path of the one before through nodes still in cache. That is linear but for
//! the sort and the trie's depth (4 levels at a million entries); from 16 384 entries the
//! independent maps (and, for new entries, the parsing) are shared between two threads. Errors
//! are the ones adding the entries one by one would give: the first entry in order that breaks a
//! rule or repeats an id, name or origin.
//!
//! The request path pays for persistence with a few more pointer hops than a flat hash table:
//! the exact index is a hash array mapped trie, 32-way with SIMD-probed leaves. Measured (the
//! `registry` benchmark), an exact lookup costs the same at 10 and at 1 000 000 entries: the
//! hash of the origin and the parsing of the request's `Origin`, which any map pays, outweigh
//! the extra levels. A plain `HashMap` with a small delta in front would have to be rebuilt
//! whole every so often: an O(n) pause, and twice the memory, in the middle of a change.
//!
//! # Revisions and stores
//!
//! Every snapshot has a revision: 0 when built, and one more for each change made in memory. A
//! registry kept in a database (the stores of the `trusted-cors-admin` crate) uses the store's
//! revisions instead: a change is [prepared](Registry::prepare) against the current snapshot
//! (validated, given its id and timestamps, checked for uniqueness, nothing applied), committed
//! by the store, which numbers it, and then [applied](Registry::apply) with that revision, along
//! with any change another instance committed before it. The registry itself does no I/O.

use std::fmt;
use std::ops::{Bound, Deref};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use time::OffsetDateTime;

use crate::audit::{audit_reset, ChangeEvent};
use crate::origin::{OriginParts, OriginSplit, RequestOrigin};
use crate::trusted_origin::{
    NewTrustedOrigin, ScopeType, Status, TrustedOrigin, ValidTrustedOrigin,
};
use crate::{OriginError, OriginSchemes};

mod bulk;

/// The longest name or origin an entry may have, as in Okta.
pub const MAX_FIELD_LEN: usize = 255;

/// Why a registry change was refused. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No entry has this id.
    #[error("no trusted origin has the id `{0}`")]
    NotFound(String),
    /// Two of the entries being loaded have this id.
    #[error("two trusted origins have the id `{0}`")]
    DuplicateId(String),
    /// Another entry already has this name.
    #[error("a trusted origin named `{0}` already exists")]
    DuplicateName(String),
    /// Another entry already has this origin.
    #[error("the origin `{0}` is already a trusted origin")]
    DuplicateOrigin(String),
    /// The origin is not acceptable.
    #[error("invalid origin `{value}`: {reason}")]
    InvalidOrigin {
        /// The origin as given.
        value: String,
        /// Why it was refused.
        reason: OriginError,
    },
    /// The name is empty or too long.
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// No scope was given.
    #[error("a trusted origin needs at least one scope (CORS, REDIRECT or IFRAME_EMBED)")]
    NoScopes,
    /// The value is longer than [`MAX_FIELD_LEN`] characters.
    #[error("the origin is longer than {MAX_FIELD_LEN} characters")]
    OriginTooLong,
}

impl RegistryError {
    /// The request field the error is about (`name`, `origin`, `scopes` or `id`), for API error
    /// causes.
    pub fn field(&self) -> &'static str {
        match self {
            RegistryError::NotFound(_) | RegistryError::DuplicateId(_) => "id",
            RegistryError::DuplicateName(_) | RegistryError::InvalidName(_) => "name",
            RegistryError::DuplicateOrigin(_)
            | RegistryError::InvalidOrigin { .. }
            | RegistryError::OriginTooLong => "origin",
            RegistryError::NoScopes => "scopes",
        }
    }
}

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
type Map<K, V> =
    imbl::GenericHashMap<K, V, foldhash::quality::RandomState, imbl::shared_ptr::DefaultSharedPtr>;

/// An entry as an index holds it: with its scope bits while ACTIVE, else 0.
#[derive(Clone)]
struct Indexed {
    entry: Arc<TrustedOrigin>,
    bits: u8,
    /// For an exact origin, how its bytes split as a request's `Origin` (see
    /// [`RegistrySnapshot::exact_lookup`]).
    split: Option<OriginSplit>,
}

impl Indexed {
    fn new(entry: &Arc<TrustedOrigin>) -> Self {
        let bits = if entry.status == Status::Active {
            entry.scope_bits()
        } else {
            0
        };
        Indexed {
            entry: Arc::clone(entry),
            bits,
            split: None,
        }
    }

    /// The index entry of an exact origin.
    fn exact(entry: &Arc<TrustedOrigin>) -> Self {
        Indexed {
            split: OriginSplit::of(entry.origin.as_str()),
            ..Indexed::new(entry)
        }
    }
}

/// What the exact-origin index says of a request's `Origin` bytes, looked up before they are
/// parsed: a request from a trusted origin (most cross-origin requests a service answers) is
/// then split by the entry's stored split instead of being parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ExactLookup<'a> {
    /// Not looked up.
    NotLooked,
    /// No exact entry has these bytes (a wildcard entry may still match them).
    Miss,
    /// An exact entry has these bytes, which parse to `parts`; its scope bits while ACTIVE.
    Hit { parts: OriginParts<'a>, bits: u8 },
}

/// An entry and its place in creation order.
#[derive(Clone)]
struct Slot {
    entry: Arc<TrustedOrigin>,
    seq: u64,
}

/// An immutable view of the registry, with indexes for the request path.
///
/// Exact origins are found by one hash lookup on the canonical bytes; wildcards by looking up each
/// proper suffix of the request host (at most one lookup per label). Cloning one is O(1).
#[derive(Clone, Default)]
pub struct RegistrySnapshot {
    /// id -> entry and creation sequence number
    by_id: Map<Arc<str>, Slot>,
    /// creation sequence number -> entry
    order: imbl::OrdMap<u64, Arc<TrustedOrigin>>,
    /// ASCII-lowercased name -> entry
    names: Map<Arc<str>, Arc<TrustedOrigin>>,
    /// canonical exact origin -> entry
    exact: Map<Arc<str>, Indexed>,
    /// wildcard base domain -> entries (at most one per scheme and port)
    wildcard: Map<Arc<str>, Arc<[Indexed]>>,
    /// The sequence number of the next entry added.
    next_seq: u64,
    /// The revision of the registry this snapshot shows.
    revision: u64,
    /// How many entries are ACTIVE.
    active: usize,
}

impl fmt::Debug for RegistrySnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrySnapshot")
            .field("origins", &DebugOrigins(self))
            .finish()
    }
}

struct DebugOrigins<'a>(&'a RegistrySnapshot);

impl fmt::Debug for DebugOrigins<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.origins()).finish()
    }
}

impl RegistrySnapshot {
    /// The revision this snapshot shows: 0 for a registry as built, one more for each change
    /// made in memory, or the store's revision of the last change applied (see
    /// [`Registry::apply`]).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Every entry, in creation order.
    pub fn origins(
        &self,
    ) -> impl DoubleEndedIterator<Item = &TrustedOrigin> + ExactSizeIterator + '_ {
        self.order.values().map(|entry| &**entry)
    }

    /// The entries created after the one with this id, in creation order; `None` when no entry
    /// has this id. O(log n) to find the start, for paging through [`origins`](Self::origins).
    ///
    /// ```
    /// use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType};
    ///
    /// let registry = Registry::with_origins(["a", "b", "c"].map(|name| {
    ///     NewTrustedOrigin::new(name, format!("https://{name}.example"), [ScopeType::Cors])
    /// }))?;
    /// let snapshot = registry.snapshot();
    /// let first = snapshot.origins().next().unwrap();
    /// let rest: Vec<&str> = snapshot.origins_after(&first.id).unwrap().map(|o| o.name.as_str()).collect();
    /// assert_eq!(rest, ["b", "c"]);
    /// # Ok::<(), trusted_cors_core::RegistryError>(())
    /// ```
    pub fn origins_after(
        &self,
        id: &str,
    ) -> Option<impl DoubleEndedIterator<Item = &TrustedOrigin> + '_> {
        let seq = self.by_id.get(id)?.seq;
        Some(
            self.order
                .range((Bound::Excluded(seq), Bound::Unbounded))
                .map(|(_, entry)| &**entry),
        )
    }

    /// Every entry, in creation order, as owned values (e.g. to save them).
    pub fn to_vec(&self) -> Vec<TrustedOrigin> {
        self.origins().cloned().collect()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// How many entries are ACTIVE (the others, [`len`](Self::len) minus this, are INACTIVE).
    /// O(1): kept as entries come and go.
    pub fn active_len(&self) -> usize {
        self.active
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&TrustedOrigin> {
        self.by_id.get(id).map(|slot| &*slot.entry)
    }

    /// The ACTIVE entry that trusts this request origin (serialized form) for `scope`, if any.
    ///
    /// ```
    /// use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType};
    ///
    /// let registry = Registry::new();
    /// registry.create(NewTrustedOrigin::new("Apps", "https://*.example.com", [ScopeType::Cors]))?;
    /// let snapshot = registry.snapshot();
    /// assert!(snapshot.trusted("https://app.example.com", ScopeType::Cors).is_some());
    /// assert!(snapshot.trusted("https://app.example.com", ScopeType::Redirect).is_none());
    /// assert!(snapshot.trusted("https://example.com", ScopeType::Cors).is_none());
    /// # Ok::<(), trusted_cors_core::RegistryError>(())
    /// ```
    pub fn trusted(&self, origin: &str, scope: ScopeType) -> Option<&TrustedOrigin> {
        match RequestOrigin::parse(origin.as_bytes()) {
            RequestOrigin::Valid(parts) => self.trusted_parts(&parts, scope),
            _ => None,
        }
    }

    /// As [`trusted`](Self::trusted), for an origin already validated. Does not allocate.
    pub(crate) fn trusted_parts(
        &self,
        parts: &OriginParts<'_>,
        scope: ScopeType,
    ) -> Option<&TrustedOrigin> {
        let bit = scope.bit();
        if let Some(indexed) = self.exact.get(parts.serialized()) {
            if indexed.bits & bit != 0 {
                return Some(&indexed.entry);
            }
        }
        self.trusted_by_wildcard(parts, bit)
    }

    /// The exact entry whose origin is these request bytes, if any: one hash lookup, no parse.
    pub(crate) fn exact_lookup<'a>(&self, bytes: &'a [u8]) -> ExactLookup<'a> {
        let Some(text) = std::str::from_utf8(bytes).ok() else {
            return ExactLookup::Miss;
        };
        let Some(indexed) = self.exact.get(text) else {
            return ExactLookup::Miss;
        };
        // An entry always has its split (its origin parses as a request's); were one without,
        // the full lookup decides.
        match indexed
            .split
            .and_then(|split| OriginParts::with_split(text, split))
        {
            Some(parts) => ExactLookup::Hit {
                parts,
                bits: indexed.bits,
            },
            None => ExactLookup::NotLooked,
        }
    }

    /// Whether `parts` (from the bytes `lookup` looked up, when it did) are trusted for `scope`:
    /// [`trusted_parts`](Self::trusted_parts) without looking the exact index up again.
    pub(crate) fn trusted_after(
        &self,
        parts: &OriginParts<'_>,
        scope: ScopeType,
        lookup: ExactLookup<'_>,
    ) -> bool {
        let bit = scope.bit();
        match lookup {
            ExactLookup::NotLooked => self.trusted_parts(parts, scope).is_some(),
            ExactLookup::Hit { bits, .. } if bits & bit != 0 => true,
            ExactLookup::Hit { .. } | ExactLookup::Miss => {
                self.trusted_by_wildcard(parts, bit).is_some()
            }
        }
    }

    /// The ACTIVE wildcard entry that trusts `parts` for the scope `bit`.
    fn trusted_by_wildcard(&self, parts: &OriginParts<'_>, bit: u8) -> Option<&TrustedOrigin> {
        if self.wildcard.is_empty() {
            return None;
        }
        let host = parts.host();
        for (dot, _) in host.match_indices('.') {
            let Some(entries) = self.wildcard.get(&host[dot + 1..]) else {
                continue;
            };
            for indexed in entries.iter() {
                if indexed.bits & bit != 0 && indexed.entry.origin.matches_parts(parts) {
                    return Some(&indexed.entry);
                }
            }
        }
        None
    }

    /// Whether `target` is an acceptable redirect after sign-in or sign-out: an absolute
    /// `http`/`https` URL whose origin is an ACTIVE trusted origin with the REDIRECT scope.
    /// Relative targets are not judged here (treat them as this service's own paths).
    ///
    /// ```
    /// use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType};
    ///
    /// let registry = Registry::with_origins([
    ///     NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Redirect]),
    /// ])?;
    /// let snapshot = registry.snapshot();
    /// assert!(snapshot.redirect_allowed("https://portal.example.com/after/sign-in?x=1"));
    /// assert!(!snapshot.redirect_allowed("https://portal.example.com.evil.test/"));
    /// assert!(!snapshot.redirect_allowed("javascript:alert(1)"));
    /// # Ok::<(), trusted_cors_core::RegistryError>(())
    /// ```
    pub fn redirect_allowed(&self, target: &str) -> bool {
        let Ok(url) = url::Url::parse(target) else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return false;
        }
        let origin = url.origin().ascii_serialization();
        self.trusted(&origin, ScopeType::Redirect).is_some()
    }

    /// The `Content-Security-Policy` value that lets this service's pages be framed by itself
    /// and by the ACTIVE trusted origins with the IFRAME_EMBED scope, e.g.
    /// `frame-ancestors 'self' https://portal.example.com https://*.apps.example.com`.
    pub fn frame_ancestors(&self) -> String {
        let mut value = String::from("frame-ancestors 'self'");
        for origin in self.active_with_scope(ScopeType::IframeEmbed) {
            value.push(' ');
            value.push_str(origin.origin.as_str());
        }
        value
    }

    /// ACTIVE entries with `scope`, in creation order, e.g. for a `frame-ancestors` list.
    pub fn active_with_scope(&self, scope: ScopeType) -> impl Iterator<Item = &TrustedOrigin> {
        self.origins().filter(move |o| o.grants(scope))
    }

    /// A snapshot of existing entries (e.g. loaded from a store), checked by the rules of
    /// [`NewTrustedOrigin::validate`] and for unique ids, names and origins. O(n).
    fn load(origins: Vec<TrustedOrigin>) -> Result<Self, RegistryError> {
        let entries: Vec<Arc<TrustedOrigin>> = origins.into_iter().map(Arc::new).collect();
        let (invalid, built) = join(
            || {
                entries.iter().enumerate().find_map(|(index, entry)| {
                    entry.check_rules().err().map(|error| (index, error))
                })
            },
            || Built::new(&entries),
            entries.len(),
        );
        // The first error in entry order, as if the entries were added one by one; for one
        // entry: its id, then its fields, then its name, then its origin.
        let mut first = invalid.map(|(index, error)| (index, 1, error));
        let duplicates = [
            (built.duplicate_id, 0),
            (built.duplicate_name, 2),
            (built.duplicate_origin, 3),
        ];
        for (index, rank) in duplicates {
            let Some(index) = index else { continue };
            if first
                .as_ref()
                .is_some_and(|(first, first_rank, _)| (*first, *first_rank) < (index, rank))
            {
                continue;
            }
            let entry = &entries[index];
            let error = match rank {
                0 => RegistryError::DuplicateId(entry.id.clone()),
                2 => RegistryError::DuplicateName(entry.name.clone()),
                _ => RegistryError::DuplicateOrigin(entry.origin.to_string()),
            };
            first = Some((index, rank, error));
        }
        match first {
            Some((_, _, error)) => Err(error),
            None => Ok(built.snapshot),
        }
    }

    /// Adds an entry last in creation order, unless its id, name or origin is taken.
    fn push(&mut self, entry: Arc<TrustedOrigin>) -> Result<(), RegistryError> {
        let seq = self.next_seq;
        self.insert(entry, seq)?;
        self.next_seq += 1;
        Ok(())
    }

    /// Adds an entry at `seq` in creation order, unless its id, name or origin is taken: each
    /// index's insert is also its uniqueness check, so an entry costs one operation per index.
    ///
    /// On an error the snapshot may be left half changed: it must then be dropped. (Every change
    /// is made to a copy, dropped on error; a load is dropped whole.) Only a taken id leaves it
    /// as it was, so that the caller can pick another.
    fn insert(&mut self, entry: Arc<TrustedOrigin>, seq: u64) -> Result<(), RegistryError> {
        let id: Arc<str> = Arc::from(entry.id.as_str());
        let slot = Slot {
            entry: Arc::clone(&entry),
            seq,
        };
        if let Some(taken) = self.by_id.insert(Arc::clone(&id), slot) {
            self.by_id.insert(id, taken);
            return Err(RegistryError::DuplicateId(entry.id.clone()));
        }
        let name: Arc<str> = with_name_key(&entry.name, |key| Arc::from(key));
        if self.names.insert(name, Arc::clone(&entry)).is_some() {
            return Err(RegistryError::DuplicateName(entry.name.clone()));
        }
        let duplicate_origin = || RegistryError::DuplicateOrigin(entry.origin.to_string());
        match entry.origin.wildcard_base() {
            None => {
                let origin = Arc::from(entry.origin.as_str());
                if self.exact.insert(origin, Indexed::exact(&entry)).is_some() {
                    return Err(duplicate_origin());
                }
            }
            Some(base) => match self.wildcard.entry(Arc::from(base)) {
                imbl::hashmap::Entry::Occupied(mut over_base) => {
                    let entries = over_base.get();
                    if entries
                        .iter()
                        .any(|other| other.entry.origin == entry.origin)
                    {
                        return Err(duplicate_origin());
                    }
                    let mut entries = entries.to_vec();
                    entries.push(Indexed::new(&entry));
                    over_base.insert(entries.into());
                }
                imbl::hashmap::Entry::Vacant(none) => {
                    none.insert(Arc::from([Indexed::new(&entry)]));
                }
            },
        }
        if entry.status == Status::Active {
            self.active += 1;
        }
        self.order.insert(seq, entry);
        Ok(())
    }

    /// Removes the entry with this id from every index, returning it and its sequence number.
    fn remove(&mut self, id: &str) -> Option<Slot> {
        let slot = self.by_id.remove(id)?;
        let entry = &slot.entry;
        if entry.status == Status::Active {
            self.active = self.active.saturating_sub(1);
        }
        self.order.remove(&slot.seq);
        with_name_key(&entry.name, |name| self.names.remove(name));
        match entry.origin.wildcard_base() {
            None => {
                self.exact.remove(entry.origin.as_str());
            }
            Some(base) => {
                let rest: Vec<Indexed> = self
                    .wildcard
                    .get(base)
                    .into_iter()
                    .flat_map(|entries| entries.iter())
                    .filter(|indexed| indexed.entry.id != entry.id)
                    .cloned()
                    .collect();
                if rest.is_empty() {
                    self.wildcard.remove(base);
                } else {
                    self.wildcard.insert(Arc::from(base), rest.into());
                }
            }
        }
        Some(slot)
    }

    /// Puts a changed entry in the place of the one with the same id, unless another entry has
    /// its name or origin (then the snapshot must be dropped, as after [`insert`](Self::insert)).
    fn update(&mut self, entry: TrustedOrigin) -> Result<Arc<TrustedOrigin>, RegistryError> {
        let Some(old) = self.remove(&entry.id) else {
            return Err(RegistryError::NotFound(entry.id));
        };
        let entry = Arc::new(entry);
        self.insert(Arc::clone(&entry), old.seq)?;
        Ok(entry)
    }

    /// Whether `self` is `other` unchanged (both share every node).
    fn same_as(&self, other: &RegistrySnapshot) -> bool {
        self.by_id.ptr_eq(&other.by_id)
            && self.order.ptr_eq(&other.order)
            && self.next_seq == other.next_seq
            && self.revision == other.revision
    }
}

/// Sets the trusted-origins gauge from a snapshot's counts.
fn publish_gauge(snapshot: &RegistrySnapshot) {
    let active = snapshot.active_len();
    crate::metrics::set_trusted_origins(active, snapshot.len().saturating_sub(active));
}

/// Calls `f` with the key names are unique by: the name in ASCII lowercase (Okta compares names
/// whatever their case). Short names are lowered on the stack.
fn with_name_key<T>(name: &str, f: impl FnOnce(&str) -> T) -> T {
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

/// The current [`RegistrySnapshot`], as [`Registry::snapshot`] returns it: lock-free to take and
/// cheap to hold, and it dereferences to the snapshot.
///
/// Hold it only for the length of a request: while it is held, the snapshot it shows stays
/// alive after a change has replaced it, and a thread holding many guards at once makes taking
/// one slower. To keep a snapshot longer, use [`Registry::snapshot_arc`] or
/// [`into_arc`](Self::into_arc).
#[must_use = "a snapshot guard does nothing unless read"]
pub struct SnapshotGuard(arc_swap::Guard<Arc<RegistrySnapshot>>);

impl SnapshotGuard {
    /// The snapshot as an owned `Arc`, to keep beyond a request.
    pub fn into_arc(self) -> Arc<RegistrySnapshot> {
        arc_swap::Guard::into_inner(self.0)
    }
}

impl Deref for SnapshotGuard {
    type Target = RegistrySnapshot;

    fn deref(&self) -> &RegistrySnapshot {
        &self.0
    }
}

impl AsRef<RegistrySnapshot> for SnapshotGuard {
    fn as_ref(&self) -> &RegistrySnapshot {
        self
    }
}

impl fmt::Debug for SnapshotGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotGuard")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The trusted origins of a service, changed by administrators while requests read it.
///
/// Readers take a [`snapshot`](Self::snapshot) without locking; each change makes a new snapshot
/// and swaps it in whole, so no request sees half a change. Every change method (`create`,
/// `replace`, `delete`, `activate`, `deactivate`, `set_status`, `reset`, `apply`) can be called
/// concurrently with requests and with other changes: changes are serialized, and each
/// applies to future requests, not to a request that has already taken its snapshot.
///
/// A change costs O(log n) in memory: the snapshots are persistent maps that share all but the
/// few nodes a change touches, so a change copies neither the entries nor the indexes. Loading n
/// entries ([`from_origins`](Self::from_origins), [`with_origins`](Self::with_origins)) costs
/// O(n) but for a sort: one to three seconds per million entries.
///
/// The registry keeps nothing on disk. To keep trusted origins in a database, shared by every
/// instance of a service, use `TrustedOrigins` from the `trusted-cors-admin` crate: it commits
/// each change to its store before it [applies](Self::apply) it here.
///
/// ```
/// use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType};
///
/// let registry = Registry::new();
/// let shop = registry.create(NewTrustedOrigin::new("Shop", "https://Shop.Example.com/", [ScopeType::Cors]))?;
/// assert_eq!(shop.origin.as_str(), "https://shop.example.com");
/// assert!(registry.snapshot().trusted("https://shop.example.com", ScopeType::Cors).is_some());
///
/// // Deactivating keeps the entry listed but trusts it for nothing.
/// registry.deactivate(&shop.id)?;
/// assert!(registry.snapshot().trusted("https://shop.example.com", ScopeType::Cors).is_none());
/// assert_eq!(registry.snapshot().len(), 1);
/// assert_eq!(registry.snapshot().revision(), 2);
/// # Ok::<(), trusted_cors_core::RegistryError>(())
/// ```
#[derive(Debug, Default)]
pub struct Registry {
    current: ArcSwap<RegistrySnapshot>,
    writer: Mutex<()>,
    schemes: ArcSwap<OriginSchemes>,
    /// Whether changes update the trusted-origins gauge (see [`crate::metrics`]).
    metrics: AtomicBool,
}

/// A change to make to a registry, for [`Registry::prepare`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Edit {
    /// Add an entry.
    Create(NewTrustedOrigin),
    /// Replace the name, origin, scopes and (when given) status of the entry with this id.
    Replace {
        /// The entry.
        id: String,
        /// What it becomes.
        new: NewTrustedOrigin,
    },
    /// Set the status of the entry with this id.
    SetStatus {
        /// The entry.
        id: String,
        /// Its new status.
        status: Status,
    },
    /// Remove the entry with this id.
    Delete {
        /// The entry.
        id: String,
    },
}

/// An [`Edit`] worked out against a snapshot: the entry before and after it, and, once applied
/// by [`Registry::change`], its revision. A create has no `before`, a delete no `after`; an edit
/// that changes nothing (setting the status an entry already has) has both equal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Prepared {
    /// The entry before the change.
    pub before: Option<TrustedOrigin>,
    /// The entry after the change.
    pub after: Option<TrustedOrigin>,
    /// The revision the change was made as: set by [`Registry::change`] when the edit changed
    /// something; `None` from [`Registry::prepare`] (the store numbers the change) and when
    /// nothing changed.
    pub revision: Option<u64>,
}

impl Prepared {
    /// The change to commit and apply, or `None` when the edit changes nothing.
    pub fn change(&self) -> Option<ChangeKind> {
        match (&self.before, &self.after) {
            (Some(before), Some(after)) if before == after => None,
            (_, Some(after)) => Some(ChangeKind::Upsert(after.clone())),
            (Some(before), None) => Some(ChangeKind::Delete(before.id.clone())),
            (None, None) => None,
        }
    }
}

/// What a committed change does to one entry. Stores match on it, so it is exhaustive: a new
/// kind of change would be a new major version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// The entry with this id now is this (created or changed).
    Upsert(TrustedOrigin),
    /// The entry with this id is gone.
    Delete(String),
}

impl ChangeKind {
    /// The id of the entry changed.
    pub fn id(&self) -> &str {
        match self {
            ChangeKind::Upsert(entry) => &entry.id,
            ChangeKind::Delete(id) => id,
        }
    }
}

/// A committed change and its revision, as a store's change feed gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The store's revision of the change: greater than every revision committed before it.
    pub revision: u64,
    /// What it did.
    pub kind: ChangeKind,
}

impl Registry {
    /// An empty registry: nothing is trusted.
    pub fn new() -> Self {
        Registry::default()
    }

    fn from_snapshot(snapshot: RegistrySnapshot) -> Self {
        Registry {
            current: ArcSwap::from_pointee(snapshot),
            writer: Mutex::new(()),
            schemes: ArcSwap::default(),
            metrics: AtomicBool::new(false),
        }
    }

    /// A registry holding existing entries (e.g. loaded from a store), in this order, checked by
    /// the rules of [`NewTrustedOrigin::validate`] and for unique ids, names and origins, at
    /// revision 0. O(n).
    pub fn from_origins(origins: Vec<TrustedOrigin>) -> Result<Self, RegistryError> {
        Registry::from_origins_at(0, origins)
    }

    /// As [`from_origins`](Self::from_origins), at a store's `revision`: the revision of the last
    /// change the entries include.
    pub fn from_origins_at(
        revision: u64,
        origins: Vec<TrustedOrigin>,
    ) -> Result<Self, RegistryError> {
        let mut snapshot = RegistrySnapshot::load(origins)?;
        snapshot.revision = revision;
        Ok(Registry::from_snapshot(snapshot))
    }

    /// A registry seeded with new entries, e.g. from a configuration file, created in this order.
    /// One pass, O(n).
    pub fn with_origins(
        seeds: impl IntoIterator<Item = NewTrustedOrigin>,
    ) -> Result<Self, RegistryError> {
        let seeds: Vec<NewTrustedOrigin> = seeds.into_iter().collect();
        // The first error in seed order, as if the seeds were created one by one: the seeds
        // after an invalid one do not count, the ones before it are checked for uniqueness
        // first.
        // Seeded together, created at the same time (and so listed by id in the API, as
        // entries created in the same millisecond are).
        let now = now();
        let (front, back) = seeds.split_at(seeds.len() / 2);
        let ((mut entries, mut invalid), (back, back_invalid)) = join(
            || new_entries(front, now),
            || new_entries(back, now),
            seeds.len(),
        );
        if invalid.is_none() {
            entries.extend(back);
            invalid = back_invalid;
        }
        let mut built = Built::new(&entries);
        // Unlikely as it is (62^17 ids), a taken id is drawn again.
        while let Some(index) = built.duplicate_id {
            drop(built);
            Arc::make_mut(&mut entries[index]).id = IdSource::single().next();
            built = Built::new(&entries);
        }
        match (built.duplicate_name, built.duplicate_origin) {
            (Some(name), origin) if origin.is_none_or(|origin| name <= origin) => {
                return Err(RegistryError::DuplicateName(entries[name].name.clone()))
            }
            (_, Some(origin)) => {
                return Err(RegistryError::DuplicateOrigin(
                    entries[origin].origin.to_string(),
                ))
            }
            _ => {}
        }
        match invalid {
            Some(error) => Err(error),
            None => Ok(Registry::from_snapshot(built.snapshot)),
        }
    }

    /// The current snapshot. Lock-free and cheap; hold it only for the length of a request (see
    /// [`SnapshotGuard`]).
    pub fn snapshot(&self) -> SnapshotGuard {
        SnapshotGuard(self.current.load())
    }

    /// The current snapshot as an owned `Arc`, to keep beyond a request.
    pub fn snapshot_arc(&self) -> Arc<RegistrySnapshot> {
        self.current.load_full()
    }

    /// The revision of the current snapshot (see [`RegistrySnapshot::revision`]).
    pub fn revision(&self) -> u64 {
        self.current.load().revision
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Result<TrustedOrigin, RegistryError> {
        self.snapshot()
            .get(id)
            .cloned()
            .ok_or_else(|| RegistryError::NotFound(id.to_owned()))
    }

    /// Adds an entry and returns it with its id and timestamps.
    pub fn create(&self, new: NewTrustedOrigin) -> Result<TrustedOrigin, RegistryError> {
        self.create_by(new, None)
    }

    /// As [`create`](Self::create), recording who made the change.
    pub fn create_by(
        &self,
        new: NewTrustedOrigin,
        actor: Option<&str>,
    ) -> Result<TrustedOrigin, RegistryError> {
        self.edit(&Edit::Create(new), actor)
    }

    /// Replaces the name, origin, scopes and status of an entry.
    pub fn replace(&self, id: &str, new: NewTrustedOrigin) -> Result<TrustedOrigin, RegistryError> {
        self.replace_by(id, new, None)
    }

    /// As [`replace`](Self::replace), recording who made the change.
    pub fn replace_by(
        &self,
        id: &str,
        new: NewTrustedOrigin,
        actor: Option<&str>,
    ) -> Result<TrustedOrigin, RegistryError> {
        let id = id.to_owned();
        self.edit(&Edit::Replace { id, new }, actor)
    }

    /// Removes an entry and returns it.
    pub fn delete(&self, id: &str) -> Result<TrustedOrigin, RegistryError> {
        self.edit(&Edit::Delete { id: id.to_owned() }, None)
    }

    /// Sets an entry ACTIVE.
    pub fn activate(&self, id: &str) -> Result<TrustedOrigin, RegistryError> {
        self.set_status(id, Status::Active, None)
    }

    /// Sets an entry INACTIVE; it stays listed.
    pub fn deactivate(&self, id: &str) -> Result<TrustedOrigin, RegistryError> {
        self.set_status(id, Status::Inactive, None)
    }

    /// Sets an entry's status, recording who made the change.
    pub fn set_status(
        &self,
        id: &str,
        status: Status,
        actor: Option<&str>,
    ) -> Result<TrustedOrigin, RegistryError> {
        let id = id.to_owned();
        self.edit(&Edit::SetStatus { id, status }, actor)
    }

    /// Replaces every entry at once, as one change (one more revision), recorded in the audit
    /// trail as a `reset`.
    pub fn reset(&self, origins: Vec<TrustedOrigin>) -> Result<(), RegistryError> {
        let mut fresh = RegistrySnapshot::load(origins)?;
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let revision = self.current.load().revision + 1;
        fresh.revision = revision;
        let count = fresh.len();
        self.install(fresh);
        audit_reset(revision, count);
        Ok(())
    }

    /// Replaces every entry at once with what a store holds at `revision` (e.g. when an
    /// instance has fallen too far behind the store's change feed to catch up change by change).
    pub fn reset_at(
        &self,
        revision: u64,
        origins: Vec<TrustedOrigin>,
    ) -> Result<(), RegistryError> {
        let mut fresh = RegistrySnapshot::load(origins)?;
        fresh.revision = revision;
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.install(fresh);
        Ok(())
    }

    /// Works out `edit` against the current snapshot without applying it: validates the input,
    /// gives a new entry its id and timestamps, stamps a changed one, and checks that names and
    /// origins stay unique. A store commits [`Prepared::change`], and the registry then applies
    /// it with the store's revision ([`apply`](Self::apply)).
    ///
    /// ```
    /// use trusted_cors_core::{Change, Edit, NewTrustedOrigin, Registry, ScopeType};
    ///
    /// let registry = Registry::new();
    /// let new = NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]);
    /// let prepared = registry.prepare(&Edit::Create(new), Some("admin@example.com"))?;
    /// assert!(registry.snapshot().is_empty()); // nothing applied yet
    ///
    /// // … a store commits the change as its revision 41 …
    /// let kind = prepared.change().expect("a create changes something");
    /// registry.apply(vec![Change { revision: 41, kind }])?;
    /// assert_eq!(registry.revision(), 41);
    /// assert!(registry.snapshot().trusted("https://shop.example.com", ScopeType::Cors).is_some());
    /// # Ok::<(), trusted_cors_core::RegistryError>(())
    /// ```
    pub fn prepare(&self, edit: &Edit, actor: Option<&str>) -> Result<Prepared, RegistryError> {
        let mut copy = RegistrySnapshot::clone(&self.current.load());
        let prepared = work_out(&mut copy, edit, actor)?;
        self.check_scheme(&prepared)?;
        Ok(prepared)
    }

    /// Sets the schemes new entries may have: `http`, `https` and these app schemes (by default
    /// `capacitor` and `ionic`). [`Cors::new`](crate::Cors::new) sets the CORS config's list.
    /// Entries already held, or loaded from a store, are kept whatever their scheme (the
    /// decision trusts only origins of the config's schemes); a create, or a replace that
    /// changes the origin, to another scheme is refused with
    /// [`OriginError::SchemeNotAllowed`].
    pub fn set_origin_schemes(&self, schemes: OriginSchemes) {
        self.schemes.store(Arc::new(schemes));
    }

    /// The schemes new entries may have.
    pub fn origin_schemes(&self) -> Arc<OriginSchemes> {
        self.schemes.load_full()
    }

    /// Turns on this registry's metrics: the `trusted_cors_trusted_origins` gauge is set now and
    /// on every change, and the `TrustedOrigins` of the admin crate that owns the registry
    /// records its store's writes (see [`crate::metrics`]). [`Cors::new`](crate::Cors::new) calls
    /// it when the config's [`metrics`](crate::CorsConfig::metrics) are on. There is no turning
    /// them off: one `Cors` that wants them keeps them.
    #[cfg(feature = "metrics")]
    pub fn enable_metrics(&self) {
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.metrics.store(true, Ordering::Relaxed);
        publish_gauge(&self.current.load());
    }

    /// Whether this registry's metrics are on (`enable_metrics`, with the feature); always
    /// `false` without the `metrics` feature.
    pub fn metrics_enabled(&self) -> bool {
        self.metrics.load(Ordering::Relaxed)
    }

    /// Swaps `next` in (with the writer lock held), and sets the gauge when metrics are on.
    fn install(&self, next: RegistrySnapshot) {
        if self.metrics_enabled() {
            publish_gauge(&next);
        }
        self.current.store(Arc::new(next));
    }

    /// Refuses a change that brings in an origin of a scheme not allowed.
    fn check_scheme(&self, prepared: &Prepared) -> Result<(), RegistryError> {
        let Some(after) = &prepared.after else {
            return Ok(());
        };
        if prepared
            .before
            .as_ref()
            .is_some_and(|b| b.origin == after.origin)
        {
            return Ok(());
        }
        self.schemes
            .load()
            .check(&after.origin)
            .map_err(|reason| RegistryError::InvalidOrigin {
                value: after.origin.to_string(),
                reason,
            })
    }

    /// Applies committed changes (a store's change feed) as one new snapshot: requests see all
    /// of them or none. Changes at or below the current revision are already applied and
    /// skipped; the registry's revision becomes the highest one given. Several changes to one
    /// entry leave the state of the highest revision; a new entry is listed after the existing
    /// ones, in the order the changes are given (a store gives them in creation order). Returns
    /// the revision after the changes.
    ///
    /// The changes together must leave names and origins unique (a store that enforces both
    /// gives only such changes); when they do not, nothing is applied and the error names the
    /// clash, so that the caller can load the store whole instead ([`reset_at`](Self::reset_at)).
    pub fn apply(&self, changes: Vec<Change>) -> Result<u64, RegistryError> {
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load_full();
        let changes: Vec<Change> = changes
            .into_iter()
            .filter(|change| change.revision > current.revision)
            .collect();
        if changes.is_empty() {
            return Ok(current.revision);
        }
        let mut next = RegistrySnapshot::clone(&current);
        let revision = changes
            .iter()
            .map(|c| c.revision)
            .max()
            .unwrap_or(current.revision);
        // First out with every entry the changes touch, keeping its place in the listing; then
        // back in with the last state of each, so that the changes between them may swap names
        // or origins.
        let mut places: Vec<(String, Option<u64>)> = Vec::new();
        let mut last: std::collections::HashMap<&str, &Change> = std::collections::HashMap::new();
        for change in &changes {
            let id = change.kind.id();
            match last.entry(id) {
                std::collections::hash_map::Entry::Vacant(first) => {
                    first.insert(change);
                    places.push((id.to_owned(), next.remove(id).map(|slot| slot.seq)));
                }
                std::collections::hash_map::Entry::Occupied(mut seen) => {
                    if seen.get().revision < change.revision {
                        seen.insert(change);
                    }
                }
            }
        }
        for (id, place) in &places {
            let Some(Change {
                kind: ChangeKind::Upsert(entry),
                ..
            }) = last.get(id.as_str())
            else {
                continue;
            };
            entry.check_rules()?;
            let entry = Arc::new(entry.clone());
            match place {
                Some(seq) => next.insert(entry, *seq)?,
                None => next.push(entry)?,
            }
        }
        next.revision = revision;
        self.install(next);
        Ok(revision)
    }

    /// Makes `edit` here, in memory, as the next revision (none when it changes nothing), and
    /// says what it did: [`prepare`](Self::prepare) and [`apply`](Self::apply) in one step, under
    /// one lock, for a registry kept in memory only. A change is recorded in the audit trail
    /// ([`AUDIT_TARGET`](crate::AUDIT_TARGET)) as made by `actor`.
    pub fn change(&self, edit: &Edit, actor: Option<&str>) -> Result<Prepared, RegistryError> {
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load_full();
        let mut next = RegistrySnapshot::clone(&current);
        let mut prepared = work_out(&mut next, edit, actor)?;
        self.check_scheme(&prepared)?;
        if !next.same_as(&current) {
            let revision = current.revision + 1;
            next.revision = revision;
            self.install(next);
            prepared.revision = Some(revision);
            if let Some(event) = ChangeEvent::made(edit, &prepared, revision, actor) {
                event.audit();
            }
        }
        Ok(prepared)
    }

    /// [`change`](Self::change), returning the entry the edit is about: after it, or, for a
    /// delete, before it.
    fn edit(&self, edit: &Edit, actor: Option<&str>) -> Result<TrustedOrigin, RegistryError> {
        let Prepared { before, after, .. } = self.change(edit, actor)?;
        Ok(after.or(before).expect("every edit is about an entry"))
    }
}

/// Changes the entry with this id by `change`, stamped as updated now by `actor`.
fn update(
    snapshot: &mut RegistrySnapshot,
    id: &str,
    actor: Option<&str>,
    change: impl FnOnce(&mut TrustedOrigin),
) -> Result<Prepared, RegistryError> {
    let before = found(snapshot, id)?.clone();
    let mut entry = before.clone();
    change(&mut entry);
    entry.last_updated = now();
    entry.last_updated_by = actor.map(str::to_owned);
    let after = TrustedOrigin::clone(&*snapshot.update(entry)?);
    Ok(Prepared {
        before: Some(before),
        after: Some(after),
        revision: None,
    })
}

/// Makes `edit` to `snapshot` (a copy: on error it is half changed and must be dropped) and
/// says what it did.
fn work_out(
    snapshot: &mut RegistrySnapshot,
    edit: &Edit,
    actor: Option<&str>,
) -> Result<Prepared, RegistryError> {
    match edit {
        Edit::Create(new) => {
            let entry = push_new(snapshot, new, actor, &mut IdSource::single())?;
            Ok(Prepared {
                before: None,
                after: Some(TrustedOrigin::clone(&entry)),
                revision: None,
            })
        }
        Edit::Replace { id, new } => {
            // An unknown id first, then what is wrong with the input.
            found(snapshot, id)?;
            let valid = new.validate()?;
            update(snapshot, id, actor, |entry| {
                entry.name = valid.name;
                entry.origin = valid.origin;
                entry.scopes = valid.scopes;
                if let Some(status) = valid.status {
                    entry.status = status;
                }
            })
        }
        Edit::SetStatus { id, status } => {
            if found(snapshot, id)?.status == *status {
                let same = found(snapshot, id)?.clone();
                return Ok(Prepared {
                    before: Some(same.clone()),
                    after: Some(same),
                    revision: None,
                });
            }
            update(snapshot, id, actor, |entry| entry.status = *status)
        }
        Edit::Delete { id } => match snapshot.remove(id) {
            Some(slot) => Ok(Prepared {
                before: Some(TrustedOrigin::clone(&slot.entry)),
                after: None,
                revision: None,
            }),
            None => Err(RegistryError::NotFound(id.clone())),
        },
    }
}

/// The entry with this id.
fn found<'a>(snapshot: &'a RegistrySnapshot, id: &str) -> Result<&'a TrustedOrigin, RegistryError> {
    snapshot
        .get(id)
        .ok_or_else(|| RegistryError::NotFound(id.to_owned()))
}

/// Validates `new` and adds it last to `snapshot`, with a fresh id and timestamps.
fn push_new(
    snapshot: &mut RegistrySnapshot,
    new: &NewTrustedOrigin,
    actor: Option<&str>,
    ids: &mut IdSource,
) -> Result<Arc<TrustedOrigin>, RegistryError> {
    let mut entry = Arc::new(new_entry(new.validate()?, actor, ids, now()));
    loop {
        match snapshot.push(Arc::clone(&entry)) {
            Ok(()) => return Ok(entry),
            // Unlikely as it is (62^17 ids), a taken id is drawn again.
            Err(RegistryError::DuplicateId(_)) => Arc::make_mut(&mut entry).id = ids.next(),
            Err(error) => return Err(error),
        }
    }
}

/// A new entry, with a fresh id, created `now`.
fn new_entry(
    valid: ValidTrustedOrigin,
    actor: Option<&str>,
    ids: &mut IdSource,
    now: OffsetDateTime,
) -> TrustedOrigin {
    TrustedOrigin {
        id: ids.next(),
        name: valid.name,
        origin: valid.origin,
        scopes: valid.scopes,
        status: valid.status.unwrap_or(Status::Active),
        created: now,
        created_by: actor.map(str::to_owned),
        last_updated: now,
        last_updated_by: actor.map(str::to_owned),
    }
}

/// New entries for `seeds`, created `now`, up to the first invalid one, and its error.
fn new_entries(
    seeds: &[NewTrustedOrigin],
    now: OffsetDateTime,
) -> (Vec<Arc<TrustedOrigin>>, Option<RegistryError>) {
    let mut ids = IdSource::batched();
    let mut entries = Vec::with_capacity(seeds.len());
    for seed in seeds {
        match seed.validate() {
            Ok(valid) => entries.push(Arc::new(new_entry(valid, None, &mut ids, now))),
            Err(error) => return (entries, Some(error)),
        }
    }
    (entries, None)
}

/// From how many entries a load uses a second thread.
const PARALLEL_FROM: usize = 16_384;

/// Runs `a` and `b`, on two threads when there are enough entries to be worth it and a second
/// thread can be had, and returns their results.
fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B, n: usize) -> (A, B) {
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

/// A snapshot of many entries, in creation order, built at once (see [`bulk`]), with the first
/// entry (by index) whose id, name or origin an entry before it has; the snapshot is only good
/// when there is none.
struct Built {
    snapshot: RegistrySnapshot,
    duplicate_id: Option<usize>,
    duplicate_name: Option<usize>,
    duplicate_origin: Option<usize>,
}

impl Built {
    fn new(entries: &[Arc<TrustedOrigin>]) -> Self {
        let n = entries.len();
        let ((by_id, order, wildcard), (names, exact, patterns)) = join(
            || {
                let mut by_id = bulk::Keys::gather(entries, |keys, index, entry| {
                    let slot = Slot {
                        entry: Arc::clone(entry),
                        seq: index as u64,
                    };
                    keys.add(&entry.id, index, slot);
                });
                let mut order = imbl::OrdMap::new();
                for (seq, entry) in (0u64..).zip(entries) {
                    order.insert(seq, Arc::clone(entry));
                }
                let wildcard = bulk::Keys::gather(entries, |keys, index, entry| {
                    if let Some(base) = entry.origin.wildcard_base() {
                        keys.add(base, index, Indexed::new(entry));
                    }
                });
                (
                    (by_id.first_duplicate(), by_id.into_map()),
                    order,
                    wildcard.into_grouped(),
                )
            },
            || {
                let mut names = bulk::Keys::gather(entries, |keys, index, entry| {
                    with_name_key(&entry.name, |name| keys.add(name, index, Arc::clone(entry)));
                });
                let mut exact = bulk::Keys::gather(entries, |keys, index, entry| {
                    if !entry.origin.is_wildcard() {
                        keys.add(entry.origin.as_str(), index, Indexed::exact(entry));
                    }
                });
                let mut patterns = bulk::Keys::gather(entries, |keys, index, entry| {
                    if entry.origin.is_wildcard() {
                        keys.add(entry.origin.as_str(), index, ());
                    }
                });
                (
                    (names.first_duplicate(), names.into_map()),
                    (exact.first_duplicate(), exact.into_map()),
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

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    // Okta shows milliseconds.
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
}

/// Fresh Okta-style ids: `tos` and 17 base-62 characters, from the system's random source,
/// asked for many at once when many are wanted.
struct IdSource {
    random: Vec<u8>,
    used: usize,
}

impl IdSource {
    const ID_LEN: usize = 17;
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// For one id.
    fn single() -> Self {
        IdSource {
            random: Vec::new(),
            used: 0,
        }
    }

    /// For many ids: randomness for 256 at a time.
    fn batched() -> Self {
        IdSource {
            random: vec![0; Self::ID_LEN * 256],
            used: Self::ID_LEN * 256,
        }
    }

    fn next(&mut self) -> String {
        if self.random.is_empty() {
            return crate::random_id("tos", Self::ID_LEN);
        }
        if self.used == self.random.len() {
            if getrandom::fill(&mut self.random).is_err() {
                // No entropy source: the shared generator has the fallback.
                return crate::random_id("tos", Self::ID_LEN);
            }
            self.used = 0;
        }
        let bytes = &self.random[self.used..self.used + Self::ID_LEN];
        self.used += Self::ID_LEN;
        let mut id = String::with_capacity(3 + Self::ID_LEN);
        id.push_str("tos");
        id.extend(
            bytes
                .iter()
                .map(|b| Self::ALPHABET[usize::from(*b) % 62] as char),
        );
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OriginPattern, Scope};

    fn new(name: &str, origin: &str, scopes: &[ScopeType]) -> NewTrustedOrigin {
        NewTrustedOrigin::new(name, origin, scopes.iter().copied())
    }

    #[test]
    fn create_normalises_and_indexes() {
        let registry = Registry::new();
        let entry = registry
            .create(new(
                "A",
                "HTTPS://A.Example.com:443",
                &[ScopeType::Cors, ScopeType::Cors],
            ))
            .unwrap();
        assert!(entry.id.starts_with("tos") && entry.id.len() == 20);
        assert_eq!(entry.origin.as_str(), "https://a.example.com");
        assert_eq!(
            entry.scopes,
            vec![Scope {
                kind: ScopeType::Cors
            }]
        );
        assert_eq!(entry.created, entry.last_updated);
        let snapshot = registry.snapshot();
        assert!(snapshot
            .trusted("https://a.example.com", ScopeType::Cors)
            .is_some());
        assert!(snapshot
            .trusted("https://b.example.com", ScopeType::Cors)
            .is_none());
        assert!(snapshot
            .trusted("https://a.example.com:443", ScopeType::Cors)
            .is_none());
    }

    #[test]
    fn names_and_origins_are_unique() {
        let registry = Registry::new();
        let a = registry
            .create(new("A", "https://a.example", &[ScopeType::Cors]))
            .unwrap();
        assert_eq!(
            registry.create(new("a", "https://other.example", &[ScopeType::Cors])),
            Err(RegistryError::DuplicateName("a".into()))
        );
        assert_eq!(
            registry.create(new("B", "https://A.example/", &[ScopeType::Redirect])),
            Err(RegistryError::DuplicateOrigin("https://a.example".into()))
        );
        // Replacing an entry with its own name and origin is fine.
        registry
            .replace(&a.id, new("A", "https://a.example", &[ScopeType::Redirect]))
            .unwrap();
        assert_eq!(registry.snapshot().len(), 1);
    }

    #[test]
    fn invalid_input_changes_nothing() {
        let registry = Registry::new();
        for (input, field) in [
            (new("", "https://a.example", &[ScopeType::Cors]), "name"),
            (
                new(&"n".repeat(256), "https://a.example", &[ScopeType::Cors]),
                "name",
            ),
            (new("A", "null", &[ScopeType::Cors]), "origin"),
            (new("A", "a.example", &[ScopeType::Cors]), "origin"),
            (
                new("A", "https://a.example/x", &[ScopeType::Cors]),
                "origin",
            ),
            (new("A", "https://*.co.uk", &[ScopeType::Cors]), "origin"),
            (
                new("A", "http://*.example.com", &[ScopeType::Cors]),
                "origin",
            ),
            (
                new(
                    "A",
                    &format!("https://{}.example", "a".repeat(250)),
                    &[ScopeType::Cors],
                ),
                "origin",
            ),
            (new("A", "https://a.example", &[]), "scopes"),
        ] {
            let err = registry.create(input.clone()).unwrap_err();
            assert_eq!(err.field(), field, "{input:?}: {err}");
        }
        assert!(registry.snapshot().is_empty());
        // A plain-http wildcard is acceptable when it is not trusted with cookies.
        registry
            .create(new("R", "http://*.example.com", &[ScopeType::Redirect]))
            .unwrap();
    }

    #[test]
    fn status_and_scope_changes_keep_the_entry() {
        let registry = Registry::new();
        let a = registry
            .create(new(
                "A",
                "https://a.example",
                &[ScopeType::Cors, ScopeType::Redirect],
            ))
            .unwrap();
        registry.deactivate(&a.id).unwrap();
        let snapshot = registry.snapshot();
        assert!(snapshot
            .trusted("https://a.example", ScopeType::Cors)
            .is_none());
        assert!(snapshot
            .trusted("https://a.example", ScopeType::Redirect)
            .is_none());
        assert_eq!(snapshot.get(&a.id).unwrap().status, Status::Inactive);
        registry.activate(&a.id).unwrap();
        assert!(registry
            .snapshot()
            .trusted("https://a.example", ScopeType::Cors)
            .is_some());
        registry
            .replace(&a.id, new("A", "https://a.example", &[ScopeType::Redirect]))
            .unwrap();
        let snapshot = registry.snapshot();
        assert!(snapshot
            .trusted("https://a.example", ScopeType::Cors)
            .is_none());
        assert!(snapshot
            .trusted("https://a.example", ScopeType::Redirect)
            .is_some());
        assert_eq!(registry.delete(&a.id).unwrap().id, a.id);
        assert_eq!(
            registry.delete(&a.id),
            Err(RegistryError::NotFound(a.id.clone()))
        );
        assert!(registry.snapshot().is_empty());
    }

    #[test]
    fn looking_origin_bytes_up_before_parsing_them_changes_nothing() {
        let registry = Registry::new();
        let inactive = registry
            .create(new("Inactive", "https://a.example.com", &[ScopeType::Cors]))
            .unwrap();
        registry.deactivate(&inactive.id).unwrap();
        for (name, origin, scopes) in [
            ("Wild", "https://*.example.com", &[ScopeType::Cors][..]),
            ("Exact", "https://b.example.com:8443", &[ScopeType::Cors]),
            (
                "Redirect only",
                "https://c.example.com",
                &[ScopeType::Redirect],
            ),
            ("Other", "https://other.example", &[ScopeType::Cors]),
            ("App", "capacitor://localhost", &[ScopeType::Cors]),
        ] {
            registry.create(new(name, origin, scopes)).unwrap();
        }
        let snapshot = registry.snapshot();
        for request in [
            "https://a.example.com",
            "https://b.example.com:8443",
            "https://b.example.com",
            "https://c.example.com",
            "https://other.example",
            "https://x.other.example",
            "capacitor://localhost",
            "https://d.example.com",
            "HTTPS://other.example",
            "null",
        ] {
            let lookup = snapshot.exact_lookup(request.as_bytes());
            let parsed = RequestOrigin::parse(request.as_bytes());
            match (lookup, parsed) {
                (ExactLookup::Hit { parts, .. }, RequestOrigin::Valid(expected)) => {
                    assert_eq!(parts, expected, "{request}")
                }
                (ExactLookup::Hit { .. }, other) => {
                    panic!("{request}: a hit that parses {other:?}")
                }
                (ExactLookup::NotLooked, _) => panic!("{request}: looked up"),
                (ExactLookup::Miss, _) => {}
            }
            if let RequestOrigin::Valid(parts) = parsed {
                for scope in [ScopeType::Cors, ScopeType::Redirect] {
                    assert_eq!(
                        snapshot.trusted_after(&parts, scope, lookup),
                        snapshot.trusted_parts(&parts, scope).is_some(),
                        "{request} {scope:?}"
                    );
                }
            }
        }
        assert!(matches!(
            snapshot.exact_lookup(b"https://b.example.com:8443"),
            ExactLookup::Hit { .. }
        ));
    }

    #[test]
    fn wildcards_and_exact_entries_combine() {
        let registry = Registry::new();
        let exact = registry
            .create(new("Exact", "https://a.example.com", &[ScopeType::Cors]))
            .unwrap();
        registry
            .create(new("Wild", "https://*.example.com", &[ScopeType::Cors]))
            .unwrap();
        registry
            .create(new(
                "Wild http",
                "http://*.example.com",
                &[ScopeType::Redirect],
            ))
            .unwrap();
        registry.deactivate(&exact.id).unwrap();
        let snapshot = registry.snapshot();
        // The inactive exact entry does not hide the active wildcard.
        assert_eq!(
            snapshot
                .trusted("https://a.example.com", ScopeType::Cors)
                .unwrap()
                .name,
            "Wild"
        );
        assert!(snapshot
            .trusted("https://x.y.example.com", ScopeType::Cors)
            .is_some());
        assert!(snapshot
            .trusted("http://x.example.com", ScopeType::Cors)
            .is_none());
        assert!(snapshot
            .trusted("http://x.example.com", ScopeType::Redirect)
            .is_some());
        assert!(snapshot
            .trusted("https://example.com", ScopeType::Cors)
            .is_none());
        assert!(snapshot
            .trusted("https://evilexample.com", ScopeType::Cors)
            .is_none());
    }

    #[test]
    fn from_origins_checks_uniqueness() {
        let registry = Registry::with_origins([
            new("A", "https://a.example", &[ScopeType::Cors]),
            new("B", "https://b.example", &[ScopeType::Cors]),
        ])
        .unwrap();
        let mut entries = registry.snapshot().to_vec();
        assert!(Registry::from_origins(entries.clone()).is_ok());
        let mut unnamed = entries.clone();
        unnamed[0].name = " ".into();
        assert_eq!(Registry::from_origins(unnamed).unwrap_err().field(), "name");
        let mut insecure = entries.clone();
        insecure[0].origin = OriginPattern::parse("http://*.example.com").unwrap();
        assert_eq!(
            Registry::from_origins(insecure).unwrap_err().field(),
            "origin"
        );
        entries[1].origin = entries[0].origin.clone();
        assert!(matches!(
            Registry::from_origins(entries),
            Err(RegistryError::DuplicateOrigin(_))
        ));
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let registry = Arc::new(Registry::new());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        registry
                            .create(new(
                                &format!("t{t}-{i}"),
                                &format!("https://t{t}-{i}.example"),
                                &[ScopeType::Cors],
                            ))
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let snapshot = registry.snapshot();
        assert_eq!(snapshot.len(), 200);
        assert!(snapshot
            .trusted("https://t7-24.example", ScopeType::Cors)
            .is_some());
    }

    #[test]
    fn duplicate_ids_are_refused_on_load() {
        let registry = Registry::with_origins([
            new("A", "https://a.example", &[ScopeType::Cors]),
            new("B", "https://b.example", &[ScopeType::Cors]),
        ])
        .unwrap();
        let mut entries = registry.snapshot().to_vec();
        entries[1].id = entries[0].id.clone();
        let error = Registry::from_origins(entries.clone()).unwrap_err();
        assert_eq!(error, RegistryError::DuplicateId(entries[0].id.clone()));
        assert_eq!(error.field(), "id");
        // The id is reported before anything else wrong with the same entry.
        entries[1].name = "A".into();
        assert!(matches!(
            Registry::from_origins(entries),
            Err(RegistryError::DuplicateId(_))
        ));
    }

    #[test]
    fn loads_report_the_first_error_in_entry_order() {
        let a = new("A", "https://a.example", &[ScopeType::Cors]);
        let b = new("B", "https://b.example", &[ScopeType::Cors]);
        let unnamed = new(" ", "https://c.example", &[ScopeType::Cors]);
        assert_eq!(
            Registry::with_origins([a.clone(), a.clone(), unnamed.clone()]).unwrap_err(),
            RegistryError::DuplicateName("A".into())
        );
        assert_eq!(
            Registry::with_origins([a.clone(), unnamed.clone(), a.clone()])
                .unwrap_err()
                .field(),
            "name"
        );
        assert!(matches!(
            Registry::with_origins([a.clone(), unnamed, a.clone()]),
            Err(RegistryError::InvalidName(_))
        ));
        assert_eq!(
            Registry::with_origins([
                a.clone(),
                new("C", "https://b.example", &[ScopeType::Cors]),
                new("a", "https://z.example", &[ScopeType::Cors]),
                b.clone(),
            ])
            .unwrap_err(),
            RegistryError::DuplicateName("a".into())
        );

        let entries = Registry::with_origins([a, b]).unwrap().snapshot().to_vec();
        // Entry 1 repeats entry 0's origin; entry 2 has a rule broken: entry 1 is reported.
        let mut broken = entries.clone();
        broken[1].origin = broken[0].origin.clone();
        let mut third = broken[0].clone();
        third.id = "tos3".into();
        third.name = "Third".into();
        third.scopes.clear();
        broken.push(third);
        assert_eq!(
            Registry::from_origins(broken.clone()).unwrap_err(),
            RegistryError::DuplicateOrigin("https://a.example".into())
        );
        // A broken rule comes before a repeated name of the same entry.
        broken[1].origin = OriginPattern::parse("https://b.example").unwrap();
        broken[1].name = "a".into();
        broken[1].scopes.clear();
        assert_eq!(
            Registry::from_origins(broken).unwrap_err(),
            RegistryError::NoScopes
        );
    }

    /// Entries enough for the loads to use two threads, with the first repeat near the end.
    #[test]
    fn large_loads_find_the_first_repeat() {
        let n = PARALLEL_FROM + 100;
        let seeds = |n: usize| {
            (0..n).map(|i| {
                let origin = if i % 2 == 0 {
                    format!("https://app{i}.example.com")
                } else {
                    format!("https://*.t{i}.example.net")
                };
                new(&format!("o{i}"), &origin, &[ScopeType::Cors])
            })
        };
        let registry = Registry::with_origins(seeds(n)).unwrap();
        let snapshot = registry.snapshot();
        assert_eq!(snapshot.len(), n);
        assert!(snapshot
            .trusted("https://app4000.example.com", ScopeType::Cors)
            .is_some());
        assert!(snapshot
            .trusted("https://x.t4001.example.net", ScopeType::Cors)
            .is_some());
        let names: Vec<String> = snapshot.origins().map(|o| o.name.clone()).collect();
        assert_eq!(names, (0..n).map(|i| format!("o{i}")).collect::<Vec<_>>());

        let mut entries = snapshot.to_vec();
        let reloaded = Registry::from_origins(entries.clone()).unwrap();
        assert_eq!(reloaded.snapshot().to_vec(), entries);

        // Two repeats: the later-placed one comes first in entry order.
        entries[n - 2].name = "O5".into();
        entries[n - 10].origin = entries[4].origin.clone();
        assert_eq!(
            Registry::from_origins(entries.clone()).unwrap_err(),
            RegistryError::DuplicateOrigin("https://app4.example.com".into())
        );
        entries[n - 15].id = entries[3].id.clone();
        assert_eq!(
            Registry::from_origins(entries.clone()).unwrap_err(),
            RegistryError::DuplicateId(entries[3].id.clone())
        );
        let mut repeated: Vec<NewTrustedOrigin> = seeds(n).collect();
        repeated[n - 1].origin = "https://*.t1.example.net".into();
        assert_eq!(
            Registry::with_origins(repeated).unwrap_err(),
            RegistryError::DuplicateOrigin("https://*.t1.example.net".into())
        );
    }

    #[test]
    fn a_snapshot_never_changes() {
        let registry = Registry::new();
        let a = registry
            .create(new("A", "https://a.example", &[ScopeType::Cors]))
            .unwrap();
        let b = registry
            .create(new("B", "https://*.b.example", &[ScopeType::Cors]))
            .unwrap();
        let before = registry.snapshot_arc();
        let guard = registry.snapshot();
        let listed = before.to_vec();

        registry.deactivate(&a.id).unwrap();
        registry
            .replace(
                &b.id,
                new("B2", "https://c.example", &[ScopeType::Redirect]),
            )
            .unwrap();
        registry
            .create(new("D", "https://d.example", &[ScopeType::Cors]))
            .unwrap();
        registry.delete(&a.id).unwrap();

        for snapshot in [&*before, &*guard] {
            assert_eq!(snapshot.to_vec(), listed);
            assert_eq!(snapshot.get(&a.id), Some(&a));
            assert!(snapshot
                .trusted("https://a.example", ScopeType::Cors)
                .is_some());
            assert!(snapshot
                .trusted("https://x.b.example", ScopeType::Cors)
                .is_some());
            assert!(snapshot
                .trusted("https://c.example", ScopeType::Redirect)
                .is_none());
            assert!(snapshot
                .trusted("https://d.example", ScopeType::Cors)
                .is_none());
        }
        let now = registry.snapshot();
        assert_eq!(now.len(), 2);
        assert!(now.get(&a.id).is_none());
        assert!(now
            .trusted("https://x.b.example", ScopeType::Cors)
            .is_none());
        assert!(now
            .trusted("https://c.example", ScopeType::Redirect)
            .is_some());
    }

    #[test]
    fn listing_is_in_creation_order() {
        let registry = Registry::new();
        let ids: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|name| {
                registry
                    .create(new(
                        name,
                        &format!("https://{name}.example"),
                        &[ScopeType::Cors],
                    ))
                    .unwrap()
                    .id
            })
            .collect();
        // A replaced or deactivated entry keeps its place; a deleted one leaves none.
        registry
            .replace(&ids[1], new("B", "https://b2.example", &[ScopeType::Cors]))
            .unwrap();
        registry.deactivate(&ids[2]).unwrap();
        registry.delete(&ids[0]).unwrap();
        let d = registry
            .create(new("d", "https://d.example", &[ScopeType::Cors]))
            .unwrap();
        let snapshot = registry.snapshot();
        let names: Vec<&str> = snapshot.origins().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["B", "c", "d"]);
        assert_eq!(snapshot.origins().len(), 3);
        assert_eq!(snapshot.origins().next_back().unwrap().id, d.id);
        let after: Vec<&str> = snapshot
            .origins_after(&ids[1])
            .unwrap()
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(after, ["c", "d"]);
        assert_eq!(snapshot.origins_after(&d.id).unwrap().count(), 0);
        assert!(snapshot.origins_after(&ids[0]).is_none());
        // Saved and loaded again, the order is kept.
        let reloaded = Registry::from_origins(snapshot.to_vec()).unwrap();
        assert_eq!(reloaded.snapshot().to_vec(), snapshot.to_vec());
    }

    #[test]
    fn unchanged_status_is_no_change() {
        let registry = Registry::new();
        let a = registry
            .create(new("A", "https://a.example", &[ScopeType::Cors]))
            .unwrap();
        let before = registry.snapshot_arc();
        assert_eq!(registry.activate(&a.id).unwrap(), a);
        assert!(Arc::ptr_eq(&before, &registry.snapshot_arc()));
    }

    #[test]
    fn prepared_changes_apply_at_the_stores_revision() {
        let registry = Registry::new();
        let prepared = registry
            .prepare(
                &Edit::Create(new("a", "https://a.example", &[ScopeType::Cors])),
                Some("ada"),
            )
            .unwrap();
        assert!(registry.snapshot().is_empty(), "preparing applies nothing");
        let a = prepared.after.clone().unwrap();
        assert_eq!(a.created_by.as_deref(), Some("ada"));
        let kind = prepared.change().unwrap();
        assert_eq!(
            registry.apply(vec![Change {
                revision: 7,
                kind: kind.clone()
            }]),
            Ok(7)
        );
        assert_eq!(registry.revision(), 7);
        assert_eq!(registry.get(&a.id).unwrap(), a);
        // Replayed: already applied, skipped.
        assert_eq!(registry.apply(vec![Change { revision: 7, kind }]), Ok(7));
        assert_eq!(registry.snapshot().len(), 1);
        // Setting the status an entry has is no change.
        let same = registry
            .prepare(
                &Edit::SetStatus {
                    id: a.id.clone(),
                    status: Status::Active,
                },
                None,
            )
            .unwrap();
        assert_eq!(same.change(), None);
        let gone = registry
            .prepare(&Edit::Delete { id: a.id.clone() }, None)
            .unwrap();
        assert_eq!(gone.change(), Some(ChangeKind::Delete(a.id.clone())));
        assert_eq!(
            registry.prepare(&Edit::Delete { id: "nope".into() }, None),
            Err(RegistryError::NotFound("nope".into()))
        );
        // In memory, every change is one more revision.
        registry.deactivate(&a.id).unwrap();
        assert_eq!(registry.revision(), 8);
        registry.deactivate(&a.id).unwrap();
        assert_eq!(registry.revision(), 8, "no change, no revision");
    }

    #[test]
    fn a_batch_of_changes_applies_whole_and_in_place() {
        let registry = Registry::with_origins([
            new("a", "https://a.example", &[ScopeType::Cors]),
            new("b", "https://b.example", &[ScopeType::Cors]),
            new("c", "https://c.example", &[ScopeType::Cors]),
        ])
        .unwrap();
        let [a, b, c]: [TrustedOrigin; 3] = registry.snapshot().to_vec().try_into().unwrap();
        // a and b swap origins (only possible as one batch), c goes, d comes.
        let mut a2 = a.clone();
        a2.origin = b.origin.clone();
        let mut b2 = b.clone();
        b2.origin = a.origin.clone();
        let d = {
            let other = Registry::new();
            other
                .create(new("d", "https://d.example", &[ScopeType::Cors]))
                .unwrap()
        };
        let batch = vec![
            Change {
                revision: 12,
                kind: ChangeKind::Upsert(b2.clone()),
            },
            Change {
                revision: 11,
                kind: ChangeKind::Upsert(a2.clone()),
            },
            Change {
                revision: 13,
                kind: ChangeKind::Delete(c.id.clone()),
            },
            Change {
                revision: 14,
                kind: ChangeKind::Upsert(d.clone()),
            },
        ];
        assert_eq!(registry.apply(batch), Ok(14));
        let names: Vec<String> = registry
            .snapshot()
            .origins()
            .map(|o| o.name.clone())
            .collect();
        assert_eq!(names, ["a", "b", "d"], "changed entries keep their place");
        let snapshot = registry.snapshot();
        assert_eq!(
            snapshot
                .trusted("https://b.example", ScopeType::Cors)
                .unwrap()
                .id,
            a.id
        );
        assert_eq!(
            snapshot
                .trusted("https://a.example", ScopeType::Cors)
                .unwrap()
                .id,
            b.id
        );
        assert!(snapshot
            .trusted("https://c.example", ScopeType::Cors)
            .is_none());
        drop(snapshot);

        // A batch that would leave two entries with one origin applies nothing.
        let mut clash = d.clone();
        clash.origin = a.origin.clone();
        clash.id = "tosclash".into();
        clash.name = "clash".into();
        let before = registry.snapshot_arc();
        assert_eq!(
            registry.apply(vec![Change {
                revision: 20,
                kind: ChangeKind::Upsert(clash)
            }]),
            Err(RegistryError::DuplicateOrigin("https://a.example".into()))
        );
        assert!(Arc::ptr_eq(&before, &registry.snapshot_arc()));
        assert_eq!(registry.revision(), 14);

        // A full load at a revision.
        registry.reset_at(30, vec![a2]).unwrap();
        assert_eq!((registry.revision(), registry.snapshot().len()), (30, 1));
    }

    mod model {
        //! The registry against a plain list checked by linear scans.

        use super::*;
        use proptest::prelude::*;

        const NAMES: &[&str] = &["a", "A", "b", "c", "d", " e "];
        const ORIGINS: &[&str] = &[
            "https://a.example",
            "HTTPS://A.example:443",
            "https://b.example",
            "https://*.example.com",
            "http://*.example.com",
            "https://x.example.com",
            "https://*.x.example.com",
            "https://c.example:8443",
            "https://*.example.com:8443",
            "not an origin",
        ];
        const PROBES: &[&str] = &[
            "https://a.example",
            "https://b.example",
            "https://x.example.com",
            "http://x.example.com",
            "https://y.x.example.com",
            "https://c.example:8443",
            "https://y.example.com:8443",
            "https://example.com",
        ];
        const SCOPES: [ScopeType; 3] =
            [ScopeType::Cors, ScopeType::Redirect, ScopeType::IframeEmbed];

        #[derive(Debug, Clone)]
        enum Op {
            Create(NewTrustedOrigin),
            Replace(usize, NewTrustedOrigin),
            Delete(usize),
            Activate(usize),
            Deactivate(usize),
        }

        fn new_origin() -> impl Strategy<Value = NewTrustedOrigin> {
            (
                0..NAMES.len(),
                0..ORIGINS.len(),
                proptest::sample::subsequence(SCOPES.to_vec(), 0..=3),
                proptest::option::of(any::<bool>()),
            )
                .prop_map(|(name, origin, scopes, status)| {
                    let new = NewTrustedOrigin::new(NAMES[name], ORIGINS[origin], scopes);
                    match status {
                        Some(true) => new.with_status(Status::Active),
                        Some(false) => new.with_status(Status::Inactive),
                        None => new,
                    }
                })
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => new_origin().prop_map(Op::Create),
                2 => (any::<usize>(), new_origin()).prop_map(|(i, n)| Op::Replace(i, n)),
                1 => any::<usize>().prop_map(Op::Delete),
                1 => any::<usize>().prop_map(Op::Activate),
                1 => any::<usize>().prop_map(Op::Deactivate),
            ]
        }

        /// The id of the `i`th entry (modulo), or one no entry has.
        fn target(model: &[TrustedOrigin], i: usize) -> String {
            if model.is_empty() || i.is_multiple_of(5) {
                "tosNoSuchEntry".into()
            } else {
                model[i % model.len()].id.clone()
            }
        }

        /// The model's answer to a create or replace: `except` is the replaced entry.
        fn model_check(
            model: &[TrustedOrigin],
            new: &NewTrustedOrigin,
            except: Option<&str>,
        ) -> Result<ValidTrustedOrigin, RegistryError> {
            let valid = new.validate()?;
            let others = || model.iter().filter(|o| Some(o.id.as_str()) != except);
            if others().any(|o| o.name.eq_ignore_ascii_case(&valid.name)) {
                return Err(RegistryError::DuplicateName(valid.name));
            }
            if others().any(|o| o.origin == valid.origin) {
                return Err(RegistryError::DuplicateOrigin(valid.origin.to_string()));
            }
            Ok(valid)
        }

        fn same_fields(a: &TrustedOrigin, b: &TrustedOrigin) -> bool {
            a.id == b.id
                && a.name == b.name
                && a.origin == b.origin
                && a.scopes == b.scopes
                && a.status == b.status
        }

        fn check_against(registry: &Registry, model: &[TrustedOrigin]) {
            let snapshot = registry.snapshot();
            assert_eq!(snapshot.len(), model.len());
            let listed: Vec<&TrustedOrigin> = snapshot.origins().collect();
            assert_eq!(listed.len(), model.len());
            for (listed, modelled) in listed.iter().zip(model) {
                assert!(same_fields(listed, modelled), "{listed:?} != {modelled:?}");
                assert!(same_fields(snapshot.get(&modelled.id).unwrap(), modelled));
            }
            if let Some(first) = model.first() {
                let after: Vec<&str> = snapshot
                    .origins_after(&first.id)
                    .unwrap()
                    .map(|o| o.id.as_str())
                    .collect();
                let expected: Vec<&str> = model[1..].iter().map(|o| o.id.as_str()).collect();
                assert_eq!(after, expected);
            }
            for (i, a) in model.iter().enumerate() {
                for b in &model[i + 1..] {
                    assert!(!a.name.eq_ignore_ascii_case(&b.name) && a.origin != b.origin);
                }
            }
            for probe in PROBES {
                for scope in SCOPES {
                    let granted: Vec<&str> = model
                        .iter()
                        .filter(|o| o.grants(scope) && o.origin.matches(probe))
                        .map(|o| o.id.as_str())
                        .collect();
                    match snapshot.trusted(probe, scope) {
                        Some(found) => assert!(
                            granted.contains(&found.id.as_str()),
                            "{probe} {scope}: {found:?} not in {granted:?}"
                        ),
                        None => assert!(granted.is_empty(), "{probe} {scope}: {granted:?}"),
                    }
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(96))]

            #[test]
            fn registry_agrees_with_a_plain_list(ops in proptest::collection::vec(op(), 1..40)) {
                let registry = Registry::new();
                let mut model: Vec<TrustedOrigin> = Vec::new();
                for op in ops {
                    match op {
                        Op::Create(new) => {
                            let expected = model_check(&model, &new, None);
                            match (registry.create(new), expected) {
                                (Ok(entry), Ok(valid)) => {
                                    prop_assert_eq!(&entry.name, &valid.name);
                                    prop_assert_eq!(&entry.origin, &valid.origin);
                                    prop_assert_eq!(&entry.scopes, &valid.scopes);
                                    prop_assert_eq!(entry.status, valid.status.unwrap_or(Status::Active));
                                    prop_assert!(model.iter().all(|o| o.id != entry.id));
                                    model.push(entry);
                                }
                                (Err(got), Err(expected)) => prop_assert_eq!(got, expected),
                                (got, expected) => prop_assert!(false, "{:?} vs {:?}", got, expected),
                            }
                        }
                        Op::Replace(i, new) => {
                            let id = target(&model, i);
                            let position = model.iter().position(|o| o.id == id);
                            let expected = match position {
                                None => Err(RegistryError::NotFound(id.clone())),
                                Some(_) => model_check(&model, &new, Some(&id)),
                            };
                            match (registry.replace(&id, new), expected) {
                                (Ok(entry), Ok(valid)) => {
                                    let index = position.unwrap();
                                    let status = valid.status.unwrap_or(model[index].status);
                                    prop_assert_eq!(&entry.name, &valid.name);
                                    prop_assert_eq!(&entry.origin, &valid.origin);
                                    prop_assert_eq!(entry.status, status);
                                    prop_assert_eq!(entry.created, model[index].created);
                                    model[index] = entry;
                                }
                                (Err(got), Err(expected)) => prop_assert_eq!(got, expected),
                                (got, expected) => prop_assert!(false, "{:?} vs {:?}", got, expected),
                            }
                        }
                        Op::Delete(i) => {
                            let id = target(&model, i);
                            match model.iter().position(|o| o.id == id) {
                                Some(index) => {
                                    let entry = registry.delete(&id).unwrap();
                                    prop_assert!(same_fields(&entry, &model.remove(index)));
                                }
                                None => prop_assert_eq!(
                                    registry.delete(&id),
                                    Err(RegistryError::NotFound(id))
                                ),
                            }
                        }
                        Op::Activate(i) | Op::Deactivate(i) => {
                            let status = if matches!(op, Op::Activate(_)) {
                                Status::Active
                            } else {
                                Status::Inactive
                            };
                            let id = target(&model, i);
                            match model.iter().position(|o| o.id == id) {
                                Some(index) => {
                                    let entry = registry.set_status(&id, status, None).unwrap();
                                    prop_assert_eq!(entry.status, status);
                                    model[index] = entry;
                                }
                                None => prop_assert_eq!(
                                    registry.set_status(&id, status, None),
                                    Err(RegistryError::NotFound(id))
                                ),
                            }
                        }
                    }
                    check_against(&registry, &model);
                }
                // Loaded again, all at once, the entries index the same way.
                let reloaded = Registry::from_origins(model.clone()).unwrap();
                check_against(&reloaded, &model);
                let reseeded = Registry::with_origins(model.iter().map(|o| NewTrustedOrigin {
                    name: o.name.clone(),
                    origin: o.origin.to_string(),
                    scopes: o.scopes.clone(),
                    status: Some(o.status),
                }))
                .unwrap();
                prop_assert_eq!(reseeded.snapshot().len(), model.len());
            }
        }
    }
}
