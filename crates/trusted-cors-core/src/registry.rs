//! The registry of trusted origins: whole snapshots swapped atomically, read without locks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use time::OffsetDateTime;

use crate::origin::{OriginParts, RequestOrigin};
use crate::store::{StoreError, TrustedOriginStore};
use crate::trusted_origin::{NewTrustedOrigin, ScopeType, Status, TrustedOrigin};
use crate::{OriginError, OriginPattern};

/// The longest name or origin an entry may have, as in Okta.
pub const MAX_FIELD_LEN: usize = 255;

/// Why a registry change was refused. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No entry has this id.
    #[error("no trusted origin has the id `{0}`")]
    NotFound(String),
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
    /// The change could not be made durable; nothing changed.
    #[error("the change could not be stored: {0}")]
    Store(#[from] StoreError),
}

impl RegistryError {
    /// The request field the error is about (`name`, `origin`, `scopes` or `id`), for API error
    /// causes.
    pub fn field(&self) -> &'static str {
        match self {
            RegistryError::NotFound(_) => "id",
            RegistryError::DuplicateName(_) | RegistryError::InvalidName(_) => "name",
            RegistryError::DuplicateOrigin(_)
            | RegistryError::InvalidOrigin { .. }
            | RegistryError::OriginTooLong => "origin",
            RegistryError::NoScopes => "scopes",
            RegistryError::Store(_) => "store",
        }
    }
}

/// An immutable view of the registry, with indexes for the request path.
///
/// Exact origins are found by one hash lookup on the canonical bytes; wildcards by looking up each
/// proper suffix of the request host (at most one lookup per label).
#[derive(Debug, Default)]
pub struct RegistrySnapshot {
    origins: Vec<TrustedOrigin>,
    /// canonical origin -> (index, scope bits when ACTIVE, else 0)
    exact: HashMap<Box<str>, (usize, u8)>,
    /// wildcard base domain -> entries
    wildcard: HashMap<Box<str>, Vec<(usize, u8)>>,
}

impl RegistrySnapshot {
    fn build(origins: Vec<TrustedOrigin>) -> Self {
        let mut exact = HashMap::with_capacity(origins.len());
        let mut wildcard: HashMap<Box<str>, Vec<(usize, u8)>> = HashMap::new();
        for (index, entry) in origins.iter().enumerate() {
            let bits = if entry.status == Status::Active {
                entry.scope_bits()
            } else {
                0
            };
            match entry.origin.wildcard_base() {
                None => {
                    exact.insert(entry.origin.as_str().into(), (index, bits));
                }
                Some(base) => wildcard.entry(base.into()).or_default().push((index, bits)),
            }
        }
        RegistrySnapshot {
            origins,
            exact,
            wildcard,
        }
    }

    /// Every entry, in creation order.
    pub fn origins(&self) -> &[TrustedOrigin] {
        &self.origins
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&TrustedOrigin> {
        self.origins.iter().find(|o| o.id == id)
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
        if let Some(&(index, bits)) = self.exact.get(parts.serialized) {
            if bits & bit != 0 {
                return Some(&self.origins[index]);
            }
        }
        if self.wildcard.is_empty() {
            return None;
        }
        let host = parts.host;
        for (dot, _) in host.match_indices('.') {
            let Some(entries) = self.wildcard.get(&host[dot + 1..]) else {
                continue;
            };
            for &(index, bits) in entries {
                let entry = &self.origins[index];
                if bits & bit != 0 && entry.origin.matches_parts(parts) {
                    return Some(entry);
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

    /// ACTIVE entries with `scope`, e.g. for a `frame-ancestors` list.
    pub fn active_with_scope(&self, scope: ScopeType) -> impl Iterator<Item = &TrustedOrigin> {
        self.origins.iter().filter(move |o| o.grants(scope))
    }
}

/// The trusted origins of a service, changed by administrators while requests read it.
///
/// Readers take a [`snapshot`](Self::snapshot) without locking; each change builds a new
/// snapshot and swaps it in whole, so no request sees half a change. Changes are serialized.
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
/// # Ok::<(), trusted_cors_core::RegistryError>(())
/// ```
#[derive(Debug, Default)]
pub struct Registry {
    current: ArcSwap<RegistrySnapshot>,
    writer: Mutex<()>,
    store: Option<Arc<dyn TrustedOriginStore>>,
}

impl Registry {
    /// An empty registry: nothing is trusted.
    pub fn new() -> Self {
        Registry::default()
    }

    /// A registry holding existing entries (e.g. loaded from a store), checked for unique ids,
    /// names and origins.
    pub fn from_origins(origins: Vec<TrustedOrigin>) -> Result<Self, RegistryError> {
        let mut checked: Vec<TrustedOrigin> = Vec::with_capacity(origins.len());
        for entry in origins {
            if checked.iter().any(|o| o.id == entry.id) {
                return Err(RegistryError::InvalidName(
                    "duplicate id in the loaded entries",
                ));
            }
            // Loaded entries obey the same rules as created ones.
            validate(&NewTrustedOrigin {
                name: entry.name.clone(),
                origin: entry.origin.to_string(),
                scopes: entry.scopes.clone(),
                status: Some(entry.status),
            })?;
            check_unique(&checked, &entry.name, &entry.origin, None)?;
            checked.push(entry);
        }
        Ok(Registry {
            current: ArcSwap::from_pointee(RegistrySnapshot::build(checked)),
            writer: Mutex::new(()),
            store: None,
        })
    }

    /// A registry kept in `store`: its entries are loaded, or, when the store is empty, the
    /// `seeds` are created and saved. Every later change is saved before it is applied, so an
    /// acknowledged change is durable. A store that cannot be read is an error naming it, and is
    /// never overwritten.
    pub fn open(
        store: impl TrustedOriginStore,
        seeds: impl IntoIterator<Item = NewTrustedOrigin>,
    ) -> Result<Self, RegistryError> {
        let store: Arc<dyn TrustedOriginStore> = Arc::new(store);
        // Two processes starting on an empty store seed it once.
        let store_lock = store.lock()?;
        let mut registry = match store.load()? {
            Some(origins) => Registry::from_origins(origins)?,
            None => {
                let registry = Registry::with_origins(seeds)?;
                store.save(registry.snapshot().origins())?;
                registry
            }
        };
        drop(store_lock);
        registry.store = Some(store);
        Ok(registry)
    }

    /// Applies a change another process made to the store, if any (see `StoreWatcher` in the
    /// `trusted-cors-admin` crate). Returns whether the entries changed. Invalid content is an
    /// error and changes nothing.
    pub fn reload_from_store(&self) -> Result<bool, RegistryError> {
        let Some(store) = &self.store else {
            return Ok(false);
        };
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let _store_lock = store.lock()?;
        match store.poll_changes()? {
            None => Ok(false),
            Some(origins) => {
                let fresh = Registry::from_origins(origins)?;
                self.current.store(fresh.current.load_full());
                Ok(true)
            }
        }
    }

    /// A registry seeded with new entries, e.g. from a configuration file.
    pub fn with_origins(
        seeds: impl IntoIterator<Item = NewTrustedOrigin>,
    ) -> Result<Self, RegistryError> {
        let registry = Registry::new();
        for seed in seeds {
            registry.create(seed)?;
        }
        Ok(registry)
    }

    /// The current snapshot. Lock-free; hold it only for the length of a request.
    pub fn snapshot(&self) -> arc_swap::Guard<Arc<RegistrySnapshot>> {
        self.current.load()
    }

    /// The current snapshot as an owned `Arc`, to keep beyond a request.
    pub fn snapshot_arc(&self) -> Arc<RegistrySnapshot> {
        self.current.load_full()
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
        self.change(|origins| {
            let (name, pattern, scopes) = validate(&new)?;
            check_unique(origins, &name, &pattern, None)?;
            let now = now();
            let entry = TrustedOrigin {
                id: new_id(),
                name,
                origin: pattern,
                scopes,
                status: new.status.unwrap_or(Status::Active),
                created: now,
                created_by: actor.map(str::to_owned),
                last_updated: now,
                last_updated_by: actor.map(str::to_owned),
            };
            origins.push(entry.clone());
            Ok(entry)
        })
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
        self.change(|origins| {
            let index = position(origins, id)?;
            let (name, pattern, scopes) = validate(&new)?;
            check_unique(origins, &name, &pattern, Some(index))?;
            let entry = &mut origins[index];
            entry.name = name;
            entry.origin = pattern;
            entry.scopes = scopes;
            if let Some(status) = new.status {
                entry.status = status;
            }
            entry.last_updated = now();
            entry.last_updated_by = actor.map(str::to_owned);
            Ok(entry.clone())
        })
    }

    /// Removes an entry and returns it.
    pub fn delete(&self, id: &str) -> Result<TrustedOrigin, RegistryError> {
        self.change(|origins| {
            let index = position(origins, id)?;
            Ok(origins.remove(index))
        })
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
        self.change(|origins| {
            let index = position(origins, id)?;
            let entry = &mut origins[index];
            if entry.status != status {
                entry.status = status;
                entry.last_updated = now();
                entry.last_updated_by = actor.map(str::to_owned);
            }
            Ok(entry.clone())
        })
    }

    /// Replaces every entry at once, saving them first when the registry has a store.
    pub fn reset(&self, origins: Vec<TrustedOrigin>) -> Result<(), RegistryError> {
        let fresh = Registry::from_origins(origins)?;
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = &self.store {
            let _store_lock = store.lock()?;
            store.save(fresh.snapshot().origins())?;
        }
        self.current.store(fresh.current.load_full());
        Ok(())
    }

    /// Runs `edit` on a copy of the entries, under the writer lock, and swaps the result in when
    /// it succeeds; on error nothing changes.
    fn change<T>(
        &self,
        edit: impl FnOnce(&mut Vec<TrustedOrigin>) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let _guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        // Another process sharing the store must not be overwritten: hold the store's lock and
        // start from what it holds now. A store that cannot be read refuses the change.
        let _store_lock = match &self.store {
            Some(store) => {
                let lock = store.lock()?;
                if let Some(outside) = store.poll_changes()? {
                    let fresh = Registry::from_origins(outside)?;
                    self.current.store(fresh.current.load_full());
                }
                Some(lock)
            }
            None => None,
        };
        let mut origins = self.current.load().origins.clone();
        let out = edit(&mut origins)?;
        // Durable first: a change the caller sees acknowledged is on disk.
        if let Some(store) = &self.store {
            store.save(&origins)?;
        }
        self.current
            .store(Arc::new(RegistrySnapshot::build(origins)));
        Ok(out)
    }
}

fn position(origins: &[TrustedOrigin], id: &str) -> Result<usize, RegistryError> {
    origins
        .iter()
        .position(|o| o.id == id)
        .ok_or_else(|| RegistryError::NotFound(id.to_owned()))
}

fn validate(
    new: &NewTrustedOrigin,
) -> Result<(String, OriginPattern, Vec<crate::Scope>), RegistryError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(RegistryError::InvalidName("the name is empty"));
    }
    if name.chars().count() > MAX_FIELD_LEN {
        return Err(RegistryError::InvalidName(
            "the name is longer than 255 characters",
        ));
    }
    if new.origin.chars().count() > MAX_FIELD_LEN {
        return Err(RegistryError::OriginTooLong);
    }
    let invalid = |reason| RegistryError::InvalidOrigin {
        value: new.origin.clone(),
        reason,
    };
    let pattern = OriginPattern::parse(&new.origin).map_err(invalid)?;
    let mut scopes = new.scopes.clone();
    scopes.sort_by_key(|s| s.kind);
    scopes.dedup();
    if scopes.is_empty() {
        return Err(RegistryError::NoScopes);
    }
    // CORS-scoped entries are trusted with cookies; a wildcard over plain http would hand them to
    // anyone on the network path.
    if pattern.is_wildcard()
        && pattern.scheme() == "http"
        && scopes.iter().any(|s| s.kind == ScopeType::Cors)
    {
        return Err(invalid(OriginError::InsecureWildcard));
    }
    Ok((name.to_owned(), pattern, scopes))
}

fn check_unique(
    origins: &[TrustedOrigin],
    name: &str,
    pattern: &OriginPattern,
    except: Option<usize>,
) -> Result<(), RegistryError> {
    for (index, other) in origins.iter().enumerate() {
        if Some(index) == except {
            continue;
        }
        if other.name.eq_ignore_ascii_case(name) {
            return Err(RegistryError::DuplicateName(name.to_owned()));
        }
        if other.origin == *pattern {
            return Err(RegistryError::DuplicateOrigin(pattern.to_string()));
        }
    }
    Ok(())
}

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    // Okta shows milliseconds.
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
}

/// A fresh Okta-style id: `tos` and 17 base-62 characters.
fn new_id() -> String {
    crate::random_id("tos", 17)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;

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
        let mut entries = registry.snapshot().origins().to_vec();
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
}
