//! [`TrustedOrigins`]: a registry and the store it is kept in, changed together.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use trusted_cors_core::{Change, Edit, NewTrustedOrigin, Prepared, Registry, RegistryError};

use crate::store::{StoreError, TrustedOriginStore};

/// Why a change, or opening a store, failed. Nothing changed when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustedOriginsError {
    /// The change itself is not acceptable (an invalid origin, a name already taken here, an
    /// unknown id), or the seeds are not.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The store refused the change or could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A service's trusted origins: the [`Registry`] its requests read, and the store the registry is
/// kept in, changed together.
///
/// A change ([`change`](Self::change)) is prepared against the current snapshot (validated, so
/// bad input is refused without touching the store), committed by the store (which numbers it
/// and enforces uniqueness across every instance), and then applied to the registry together
/// with every change other instances committed before it, by reading the store's change feed.
/// The registry never shows a change the store has not committed, and never half a change.
///
/// Changes that other instances make reach this one through [`follow`](Self::follow), a task
/// that waits for the store's notifications and catches up from the feed; when the store cannot
/// be reached, requests go on being decided on the last snapshot (never an empty one, never a
/// wider one), and the task retries with back-off and catches up once it can.
///
/// ```
/// use std::sync::Arc;
/// use trusted_cors_admin::{MemoryStore, TrustedOrigins};
/// use trusted_cors_core::{Edit, NewTrustedOrigin, ScopeType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let seeds = [NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors])];
/// // Two instances of a service sharing one store (a database, in production).
/// let one = Arc::new(TrustedOrigins::open(store.clone(), seeds.clone()).await?);
/// let two = Arc::new(TrustedOrigins::open(store, seeds).await?);
/// assert_eq!(two.registry().snapshot().len(), 1, "seeded once");
/// let _following = two.follow();
///
/// let shop = NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]);
/// one.change(&Edit::Create(shop), Some("admin")).await?;
/// assert!(one.registry().snapshot().trusted("https://shop.example.com", ScopeType::Cors).is_some());
///
/// two.catch_up().await?; // what the follower does when notified
/// assert_eq!(two.revision(), one.revision());
/// # Ok(())
/// # }
/// ```
pub struct TrustedOrigins {
    registry: Arc<Registry>,
    store: Option<Arc<dyn TrustedOriginStore>>,
    /// Serializes catch-ups, so that feeds are applied one at a time.
    sync: tokio::sync::Mutex<()>,
}

impl fmt::Debug for TrustedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedOrigins")
            .field("store", &self.store)
            .field("revision", &self.registry.revision())
            .field("origins", &self.registry.snapshot().len())
            .finish()
    }
}

impl TrustedOrigins {
    /// Opens `store`: loads what it holds, or, when it was never written, stores the `seeds`
    /// first (once, even when several instances start at once). The seeds are checked even when
    /// they are not used, so a configuration mistake shows at every start.
    pub async fn open(
        store: impl TrustedOriginStore,
        seeds: impl IntoIterator<Item = NewTrustedOrigin>,
    ) -> Result<Self, TrustedOriginsError> {
        let store: Arc<dyn TrustedOriginStore> = Arc::new(store);
        let seeded = Registry::with_origins(seeds)?;
        let mut loaded = store.load().await?;
        if loaded.revision == 0 {
            let seeds = seeded.snapshot().to_vec();
            if store.seed(&seeds).await? {
                tracing::info!(target: "trusted_cors::store", store = %store.describe(), origins = seeds.len(), "seeded the trusted-origins store from the configuration");
            }
            loaded = store.load().await?;
        }
        let count = loaded.origins.len();
        let registry = Registry::from_origins_at(loaded.revision, loaded.origins)
            .map_err(|error| corrupt(&*store, &error))?;
        tracing::info!(target: "trusted_cors::store", store = %store.describe(), revision = loaded.revision, origins = count, "loaded trusted origins");
        Ok(TrustedOrigins {
            registry: Arc::new(registry),
            store: Some(store),
            sync: tokio::sync::Mutex::new(()),
        })
    }

    /// Trusted origins kept only in `registry`, in memory: changes apply there directly, each as
    /// the next revision.
    pub fn in_memory(registry: impl Into<Arc<Registry>>) -> Self {
        TrustedOrigins {
            registry: registry.into(),
            store: None,
            sync: tokio::sync::Mutex::new(()),
        }
    }

    /// The registry the CORS layers read (hand it to `Cors::new`).
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The store, unless the origins are kept in memory only.
    pub fn store(&self) -> Option<&Arc<dyn TrustedOriginStore>> {
        self.store.as_ref()
    }

    /// The revision of the registry's current snapshot: the store's revision of the last change
    /// applied here.
    pub fn revision(&self) -> u64 {
        self.registry.revision()
    }

    /// Makes a change: prepared here, committed by the store, then applied (with whatever
    /// other instances committed before it). Returns the entry before and after the change.
    ///
    /// When the store refuses it (a name or origin another instance took meanwhile, an entry
    /// another instance deleted, a store that is down), nothing changes and the error says why.
    pub async fn change(
        &self,
        edit: &Edit,
        actor: Option<&str>,
    ) -> Result<Prepared, TrustedOriginsError> {
        let Some(store) = &self.store else {
            return Ok(self.registry.change(edit, actor)?);
        };
        let prepared = self.registry.prepare(edit, actor)?;
        let Some(kind) = prepared.change() else {
            return Ok(prepared);
        };
        let revision = store.commit(&kind).await?;
        tracing::info!(target: "trusted_cors::store", revision, id = kind.id(), change = change_name(edit), actor = actor.unwrap_or(""), "committed a trusted-origin change");
        if let Err(error) = self.catch_up().await {
            // Committed, but the feed could not be read back. When nothing else was committed
            // in between, this change alone brings the registry up to date; otherwise the
            // follower catches up.
            let _guard = self.sync.lock().await;
            if self.registry.revision() + 1 == revision {
                self.registry.apply(vec![Change { revision, kind }])?;
            } else {
                tracing::warn!(target: "trusted_cors::store", revision, %error, "a committed change could not be read back; it applies once the store can be read");
            }
        }
        Ok(prepared)
    }

    /// Reads the store's change feed after the current revision and applies it, as one new
    /// snapshot. When the changes cannot be applied one by one (they clash with what this
    /// instance holds), the store is loaded whole. Returns the revision now shown. Without a
    /// store, does nothing.
    pub async fn catch_up(&self) -> Result<u64, TrustedOriginsError> {
        let Some(store) = &self.store else {
            return Ok(self.registry.revision());
        };
        let _guard = self.sync.lock().await;
        let from = self.registry.revision();
        let changes = store.changes_after(from).await?;
        if changes.is_empty() {
            return Ok(from);
        }
        let count = changes.len();
        match self.registry.apply(changes) {
            Ok(to) => {
                tracing::debug!(target: "trusted_cors::store", from, to, changes = count, "applied trusted-origin changes from the store");
                Ok(to)
            }
            Err(clash) => {
                let loaded = store.load().await?;
                let to = loaded.revision;
                self.registry
                    .reset_at(to, loaded.origins)
                    .map_err(|error| corrupt(&**store, &error))?;
                tracing::warn!(target: "trusted_cors::store", from, to, %clash, "the change feed could not be applied change by change; loaded the store whole");
                Ok(to)
            }
        }
    }

    /// Starts a task (on the current Tokio runtime) that keeps this instance up to date with
    /// changes other instances commit: it waits for the store's hint (a notification, or a
    /// short wait), then catches up from the feed; at least every
    /// [`DEFAULT_FOLLOW_EVERY`] even without a hint. When the store cannot be reached it keeps the
    /// last snapshot, retries with back-off (up to 5 s), and catches up once it can. Stops when
    /// the returned [`Follower`] is dropped.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    #[must_use = "the follower stops when dropped"]
    pub fn follow(self: &Arc<Self>) -> Follower {
        self.follow_every(DEFAULT_FOLLOW_EVERY)
    }

    /// As [`follow`](Self::follow), catching up at least every `every`.
    #[must_use = "the follower stops when dropped"]
    pub fn follow_every(self: &Arc<Self>, every: Duration) -> Follower {
        let this = Arc::clone(self);
        Follower {
            task: tokio::spawn(async move { this.follow_loop(every).await }),
        }
    }

    async fn follow_loop(&self, every: Duration) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let mut back_off = MIN_BACK_OFF;
        let mut failing = false;
        loop {
            let waited = tokio::time::timeout(every, store.changed()).await;
            let lost = matches!(waited, Ok(Err(_)));
            if let Ok(Err(error)) = waited {
                if !failing {
                    tracing::warn!(target: "trusted_cors::store", store = %store.describe(), %error, "lost the trusted-origins store's notifications; serving the last snapshot and retrying");
                }
                failing = true;
                tokio::time::sleep(back_off).await;
                back_off = (back_off * 2).min(MAX_BACK_OFF);
            }
            let from = self.registry.revision();
            match self.catch_up().await {
                Ok(to) => {
                    if failing {
                        tracing::info!(target: "trusted_cors::store", store = %store.describe(), from, to, "reconnected to the trusted-origins store and caught up");
                    } else if to != from {
                        tracing::info!(target: "trusted_cors::store", from, to, "applied trusted-origin changes made by another instance");
                    }
                    if !lost {
                        failing = false;
                        back_off = MIN_BACK_OFF;
                    }
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(target: "trusted_cors::store", store = %store.describe(), %error, "cannot read the trusted-origins store; serving the last snapshot and retrying");
                    }
                    failing = true;
                    tokio::time::sleep(back_off).await;
                    back_off = (back_off * 2).min(MAX_BACK_OFF);
                }
            }
        }
    }
}

/// How often [`TrustedOrigins::follow`] catches up even without a hint from the store.
pub const DEFAULT_FOLLOW_EVERY: Duration = Duration::from_secs(5);
const MIN_BACK_OFF: Duration = Duration::from_millis(50);
const MAX_BACK_OFF: Duration = Duration::from_secs(5);

/// The task started by [`TrustedOrigins::follow`]; stops it when dropped.
#[derive(Debug)]
pub struct Follower {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn change_name(edit: &Edit) -> &'static str {
    match edit {
        Edit::Create(_) => "create",
        Edit::Replace { .. } => "replace",
        Edit::SetStatus { .. } => "status",
        Edit::Delete { .. } => "delete",
        _ => "change",
    }
}

/// The store holds entries that break the registry's rules.
fn corrupt(store: &dyn TrustedOriginStore, error: &RegistryError) -> TrustedOriginsError {
    TrustedOriginsError::Store(StoreError::Corrupt {
        store: store.describe(),
        message: error.to_string(),
    })
}
