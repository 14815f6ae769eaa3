//! A registry's snapshot: the persistent maps the request path reads, and the one-entry
//! inserts and removals a change makes to a copy of them.

use std::collections::HashSet;
use std::fmt;
use std::ops::{Bound, Deref};
use std::sync::Arc;

use super::bulk::{join, Built};
use super::keys::{ExactHit, ExactOrigin, Hashed, Id, Indexed, Keyed, Map, Name, Probe, Tree};
use crate::origin::{OriginParts, RequestOrigin};
use crate::trusted_origin::RegistryError;
use crate::trusted_origin::{OktaApp, ScopeType, Status, TrustedOrigin};

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
pub(super) struct Slot {
    pub(super) entry: Arc<TrustedOrigin>,
    pub(super) seq: u64,
}

/// An immutable view of the registry, with indexes for the request path.
///
/// Exact origins are found by one hash lookup on the canonical bytes; wildcards by looking up each
/// proper suffix of the request host (at most one lookup per label). Cloning one is O(1).
#[derive(Clone, Default)]
pub struct RegistrySnapshot {
    /// entry, keyed by id -> creation sequence number
    pub(super) by_id: Tree<Hashed<Id>, u64>,
    /// creation sequence number -> entry
    pub(super) order: Tree<u64, Arc<TrustedOrigin>>,
    /// entries, keyed by ASCII-lowercased name
    pub(super) names: Tree<Hashed<Name>, ()>,
    /// entry, keyed by canonical exact origin -> its scope bits and split
    pub(super) exact: Map<Keyed<ExactOrigin>, ExactHit>,
    /// wildcard base domain -> entries (at most one per scheme and port)
    pub(super) wildcard: Map<Arc<str>, Arc<[Indexed]>>,
    /// The sequence number of the next entry added.
    pub(super) next_seq: u64,
    /// The revision of the registry this snapshot shows.
    pub(super) revision: u64,
    /// How many entries are ACTIVE.
    pub(super) active: usize,
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
    /// [`Registry::apply`](crate::Registry::apply)).
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
    /// let rest: Vec<&str> = snapshot.origins_after(&first.id).unwrap().map(|o| &*o.name).collect();
    /// assert_eq!(rest, ["b", "c"]);
    /// # Ok::<(), trusted_cors_core::RegistryError>(())
    /// ```
    pub fn origins_after(
        &self,
        id: &str,
    ) -> Option<impl DoubleEndedIterator<Item = &TrustedOrigin> + '_> {
        let seq = *self.by_id.get(&Probe::<Id>::new(id))?;
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
        self.by_id
            .get_key_value(&Probe::<Id>::new(id))
            .map(|(key, _)| &*key.entry)
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
        if let Some((entry, hit)) = self.exact.get_key_value(parts.serialized()) {
            if hit.bits & bit != 0 {
                return Some(&entry.0);
            }
        }
        self.trusted_by_wildcard(parts, bit)
    }

    /// The exact entry whose origin is these request bytes, if any: one hash lookup, no parse.
    pub(crate) fn exact_lookup<'a>(&self, bytes: &'a [u8]) -> ExactLookup<'a> {
        let Some(text) = std::str::from_utf8(bytes).ok() else {
            return ExactLookup::Miss;
        };
        let Some(hit) = self.exact.get(text) else {
            return ExactLookup::Miss;
        };
        // An entry always has its split (its origin parses as a request's); were one without,
        // the full lookup decides.
        match hit
            .split
            .and_then(|split| OriginParts::with_split(text, split))
        {
            Some(parts) => ExactLookup::Hit {
                parts,
                bits: hit.bits,
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
        frame_ancestors(self.active_with_scope(ScopeType::IframeEmbed))
    }

    /// The `Content-Security-Policy` value for the pages of the Okta application `app` (e.g.
    /// the end-user dashboard): framed by this service and by the ACTIVE `IFRAME_EMBED` trusted
    /// origins whose `allowedOktaApps` list it; the others may frame the sign-in page only
    /// ([`frame_ancestors`](Self::frame_ancestors)).
    pub fn frame_ancestors_for(&self, app: OktaApp) -> String {
        frame_ancestors(self.origins().filter(|o| o.frames_okta_app(app)))
    }

    /// ACTIVE entries with `scope`, in creation order, e.g. for a `frame-ancestors` list.
    pub fn active_with_scope(&self, scope: ScopeType) -> impl Iterator<Item = &TrustedOrigin> {
        self.origins().filter(move |o| o.grants(scope))
    }

    /// A snapshot of existing entries (e.g. loaded from a store), checked by the rules of
    /// [`NewTrustedOrigin`] and for unique ids, names and origins. O(n).
    pub(super) fn load(mut origins: Vec<TrustedOrigin>) -> Result<Self, RegistryError> {
        share_actors(&mut origins);
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
                0 => RegistryError::DuplicateId(entry.id.to_string()),
                2 => RegistryError::DuplicateName(entry.name.to_string()),
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
    pub(super) fn push(&mut self, entry: Arc<TrustedOrigin>) -> Result<(), RegistryError> {
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
    pub(super) fn insert(
        &mut self,
        entry: Arc<TrustedOrigin>,
        seq: u64,
    ) -> Result<(), RegistryError> {
        match self.by_id.entry(Hashed::new(&entry)) {
            imbl::ordmap::Entry::Occupied(_) => {
                return Err(RegistryError::DuplicateId(entry.id.to_string()))
            }
            imbl::ordmap::Entry::Vacant(none) => {
                none.insert(seq);
            }
        }
        if self.names.insert(Hashed::new(&entry), ()).is_some() {
            return Err(RegistryError::DuplicateName(entry.name.to_string()));
        }
        let duplicate_origin = || RegistryError::DuplicateOrigin(entry.origin.to_string());
        match entry.origin.wildcard_base() {
            None => {
                if self
                    .exact
                    .insert(Keyed::new(&entry), ExactHit::of(&entry))
                    .is_some()
                {
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
    pub(super) fn remove(&mut self, id: &str) -> Option<Slot> {
        let (Hashed { entry, .. }, seq) = self.by_id.remove_with_key(&Probe::<Id>::new(id))?;
        if entry.status == Status::Active {
            self.active = self.active.saturating_sub(1);
        }
        self.order.remove(&seq);
        self.names.remove(&Hashed::<Name>::new(&entry));
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
        Some(Slot { entry, seq })
    }

    /// Puts a changed entry in the place of the one with the same id, unless another entry has
    /// its name or origin (then the snapshot must be dropped, as after [`insert`](Self::insert)).
    pub(super) fn update(
        &mut self,
        entry: TrustedOrigin,
    ) -> Result<Arc<TrustedOrigin>, RegistryError> {
        let Some(old) = self.remove(&entry.id) else {
            return Err(RegistryError::NotFound(entry.id.into()));
        };
        let entry = Arc::new(entry);
        self.insert(Arc::clone(&entry), old.seq)?;
        Ok(entry)
    }

    /// Whether `self` is `other` unchanged (both share every node).
    pub(super) fn same_as(&self, other: &RegistrySnapshot) -> bool {
        self.by_id.ptr_eq(&other.by_id)
            && self.order.ptr_eq(&other.order)
            && self.next_seq == other.next_seq
            && self.revision == other.revision
    }
}

/// Makes the equal actor strings of `origins` (`created_by`, `last_updated_by`) one shared copy:
/// a store gives each entry its own, and a million entries changed by a few administrators would
/// otherwise hold a million copies.
fn share_actors(origins: &mut [TrustedOrigin]) {
    let mut shared: HashSet<Arc<str>, foldhash::quality::RandomState> = HashSet::default();
    for entry in origins {
        let actors = [&mut entry.created_by, &mut entry.last_updated_by];
        for actor in actors.into_iter().flatten() {
            match shared.get(&**actor) {
                Some(copy) => *actor = Arc::clone(copy),
                None => {
                    shared.insert(Arc::clone(actor));
                }
            }
        }
    }
}

/// The current [`RegistrySnapshot`], as [`Registry::snapshot`](crate::Registry::snapshot)
/// returns it (see there): it dereferences to the snapshot. A public type without a public path:
/// users hold it, never name it.
#[must_use = "a snapshot guard does nothing unless read"]
pub struct SnapshotGuard(pub(super) arc_swap::Guard<Arc<RegistrySnapshot>>);

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

/// `frame-ancestors 'self'` and the origins of `entries`.
fn frame_ancestors<'a>(entries: impl Iterator<Item = &'a TrustedOrigin>) -> String {
    let mut value = String::from("frame-ancestors 'self'");
    for entry in entries {
        value.push(' ');
        value.push_str(entry.origin.as_str());
    }
    value
}
