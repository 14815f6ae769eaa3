//! The registry of trusted origins: snapshots swapped atomically, read without locks, changed in
//! O(log n).
//!
//! # Design
//!
//! A [`RegistrySnapshot`] is a handful of persistent (structurally shared) maps from the `imbl`
//! crate, each entry held once behind an `Arc`. The maps keyed by an entry's text (id, name,
//! exact origin) hold the entry's `Arc` as the key, hashed and compared as that text, so that no
//! text is copied into an index:
//!
//! - id → entry and its creation sequence number (lookups by id, id uniqueness): a B-tree
//!   ordered by a hash of the id, then the id;
//! - sequence number → entry (a B-tree: listing in creation order, paging after an id);
//! - ASCII-lowercased name → entry (name uniqueness, case-insensitive as in Okta): a B-tree
//!   ordered as the ids are;
//! - canonical exact origin → entry and its scope bits while ACTIVE (the request path; also
//!   origin uniqueness for exact origins): a hash trie;
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
//! from all its keys at once: the keys are sorted (by the path they take through a trie, or in
//! a B-tree's order), which puts duplicates side by side (uniqueness is checked by comparing
//! neighbours) and makes each insert follow the path of the one before through nodes still in
//! cache; a B-tree is filled in two passes so that its nodes end full. That is linear but for
//! the sort and the depth (4 levels at a million entries); from 16 384 entries the
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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use crate::audit::audit_reset;
use crate::change::{AppliedChange, ChangeRequest, CommittedChange, EntryWrite, PreparedChange};
use crate::origin::OriginSchemes;
use crate::trusted_origin::RegistryError;
use crate::trusted_origin::{NewTrustedOrigin, Status, Timestamp, TrustedOrigin};

use bulk::{join, Built};
use prepare::{new_entries, work_out, IdSource};

mod bulk;
mod keys;
mod prepare;
mod snapshot;
#[cfg(test)]
mod tests;

pub(crate) use snapshot::ExactLookup;
pub use snapshot::RegistrySnapshot;
use snapshot::SnapshotGuard;

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
    /// the rules of [`NewTrustedOrigin`] and for unique ids, names and origins, at
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
        let now = Timestamp::now();
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
        // The seeds' strings are freed before the indexes are built, not after: glibc's malloc
        // sorts the small blocks freed since its last large request on its next one, and the
        // build's buffers pay for that here instead of the first change after the load (tens of
        // milliseconds at a million seeds).
        drop(seeds);
        let mut built = Built::new(&entries);
        // Unlikely as it is (62^17 ids), a taken id is drawn again.
        while let Some(index) = built.duplicate_id {
            drop(built);
            Arc::make_mut(&mut entries[index]).id = IdSource::single().next();
            built = Built::new(&entries);
        }
        match (built.duplicate_name, built.duplicate_origin) {
            (Some(name), origin) if origin.is_none_or(|origin| name <= origin) => {
                return Err(RegistryError::DuplicateName(entries[name].name.to_string()))
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

    /// The current snapshot: lock-free to take and cheap to hold, a guard that dereferences to
    /// the [`RegistrySnapshot`].
    ///
    /// Hold it only for the length of a request: while it is held, the snapshot it shows stays
    /// alive after a change has replaced it, and a thread holding many guards at once makes
    /// taking one slower. To keep a snapshot longer, use [`snapshot_arc`](Self::snapshot_arc) or
    /// the guard's `into_arc`.
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
        self.make(&ChangeRequest::Create(new), actor)
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
        self.make(&ChangeRequest::Replace { id, new }, actor)
    }

    /// Removes an entry and returns it.
    pub fn delete(&self, id: &str) -> Result<TrustedOrigin, RegistryError> {
        self.make(&ChangeRequest::Delete { id: id.to_owned() }, None)
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
        self.make(&ChangeRequest::SetStatus { id, status }, actor)
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

    /// Works out `request` against the current snapshot without applying it: validates the input,
    /// gives a new entry its id and timestamps, stamps a changed one, and checks that names and
    /// origins stay unique. A store commits [`PreparedChange::write`], and the registry then applies
    /// it with the store's revision ([`apply`](Self::apply)).
    ///
    /// ```
    /// use trusted_cors_core::{CommittedChange, ChangeRequest, NewTrustedOrigin, Registry, ScopeType};
    ///
    /// let registry = Registry::new();
    /// let new = NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]);
    /// let prepared = registry.prepare(&ChangeRequest::Create(new), Some("admin@example.com"))?;
    /// assert!(registry.snapshot().is_empty()); // nothing applied yet
    ///
    /// // … a store commits the change as its revision 41 …
    /// let write = prepared.write().expect("a create changes something");
    /// registry.apply(vec![CommittedChange { revision: 41, write }])?;
    /// assert_eq!(registry.revision(), 41);
    /// assert!(registry.snapshot().trusted("https://shop.example.com", ScopeType::Cors).is_some());
    /// # Ok::<(), trusted_cors_core::RegistryError>(())
    /// ```
    pub fn prepare(
        &self,
        request: &ChangeRequest,
        actor: Option<&str>,
    ) -> Result<PreparedChange, RegistryError> {
        let mut copy = RegistrySnapshot::clone(&self.current.load());
        let prepared = work_out(&mut copy, request, actor)?;
        self.check_scheme(&prepared)?;
        Ok(prepared)
    }

    /// Sets the schemes new entries may have: `http`, `https` and these app schemes (by default
    /// `capacitor` and `ionic`). [`Cors::new`](crate::Cors::new) sets the CORS config's list.
    /// Entries already held, or loaded from a store, are kept whatever their scheme (the
    /// decision trusts only origins of the config's schemes); a create, or a replace that
    /// changes the origin, to another scheme is refused with
    /// [`OriginError::SchemeNotAllowed`](crate::OriginError::SchemeNotAllowed).
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
    fn check_scheme(&self, prepared: &PreparedChange) -> Result<(), RegistryError> {
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
    pub fn apply(&self, changes: Vec<CommittedChange>) -> Result<u64, RegistryError> {
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load_full();
        let changes: Vec<CommittedChange> = changes
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
        let mut last: std::collections::HashMap<&str, &CommittedChange> =
            std::collections::HashMap::new();
        for change in &changes {
            let id = change.write.id();
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
            let Some(CommittedChange {
                write: EntryWrite::Upsert(entry),
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

    /// Makes `request` here, in memory, as the next revision (none when it changes nothing), and
    /// says what it did: [`prepare`](Self::prepare) and [`apply`](Self::apply) in one step, under
    /// one lock, for a registry kept in memory only. A change is recorded in the audit trail
    /// ([`AUDIT_TARGET`](crate::AUDIT_TARGET)) as made by `actor`.
    pub fn change(
        &self,
        request: &ChangeRequest,
        actor: Option<&str>,
    ) -> Result<PreparedChange, RegistryError> {
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load_full();
        let mut next = RegistrySnapshot::clone(&current);
        let mut prepared = work_out(&mut next, request, actor)?;
        self.check_scheme(&prepared)?;
        if !next.same_as(&current) {
            let revision = current.revision + 1;
            next.revision = revision;
            self.install(next);
            prepared.revision = Some(revision);
            if let Some(event) = AppliedChange::made(request, &prepared, revision, actor) {
                event.audit();
            }
        }
        Ok(prepared)
    }

    /// [`change`](Self::change), returning the entry the request is about: after it, or, for a
    /// delete, before it.
    fn make(
        &self,
        request: &ChangeRequest,
        actor: Option<&str>,
    ) -> Result<TrustedOrigin, RegistryError> {
        let PreparedChange { before, after, .. } = self.change(request, actor)?;
        Ok(after.or(before).expect("every request is about an entry"))
    }
}

/// Sets the trusted-origins gauge from a snapshot's counts.
fn publish_gauge(snapshot: &RegistrySnapshot) {
    let active = snapshot.active_len();
    crate::metrics::set_trusted_origins(active, snapshot.len().saturating_sub(active));
}
