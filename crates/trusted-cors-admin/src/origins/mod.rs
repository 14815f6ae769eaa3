//! [`TrustedOrigins`]: a registry and the store it is kept in, changed together.

use std::fmt;
use std::sync::Arc;

use tokio::sync::broadcast;
use trusted_cors_core::{
    AppliedChange, ChangeRequest, CommittedChange, EntryWrite, NewTrustedOrigin, PreparedChange,
    Registry, RegistryError,
};

use crate::health::{HealthState, StoreHealth};
#[cfg(feature = "sqlite")]
use crate::last_known_good::{Stamp, StoreOf};
use crate::store::{StoreError, TrustedOriginStore};
#[cfg(feature = "sqlite")]
use crate::LastKnownGood;

mod follow;

pub use follow::{Follower, DEFAULT_FOLLOW_EVERY};

/// How many changes a subscriber may fall behind before it is told it lagged
/// ([`TrustedOrigins::subscribe`]).
pub const SUBSCRIPTION_CAPACITY: usize = 1024;

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
/// Every change made here is recorded in the audit trail (a `tracing` event on target
/// [`trusted_cors_core::AUDIT_TARGET`], with the actor, the entry before and after, and the
/// revision) once the store has committed it, and every change applied here, made by this
/// instance or another, is delivered to [subscribers](Self::subscribe).
///
/// ```
/// use std::sync::Arc;
/// use trusted_cors_admin::{MemoryStore, TrustedOrigins};
/// use trusted_cors_core::{ChangeRequest, NewTrustedOrigin, ScopeType};
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
/// one.change(&ChangeRequest::Create(shop), Some("admin")).await?;
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
    /// Serializes catch-ups and this instance's changes, so that feeds are applied one at a
    /// time, and the changes this instance commits are told from the ones it follows.
    sync: tokio::sync::Mutex<()>,
    /// The subscribers' channel.
    events: broadcast::Sender<AppliedChange>,
    /// Whether the store answers, and how current the snapshot is.
    health: HealthState,
    /// The last-known-good copy, rewritten after each change applied.
    #[cfg(feature = "sqlite")]
    copy: Option<LastKnownGood>,
    /// The id of the store the copy served at start was of, until the store answers and shows
    /// it is the same one (see [`catch_up`](Self::catch_up)).
    #[cfg(feature = "sqlite")]
    served_copy_of: std::sync::Mutex<Option<String>>,
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
        let seeded = Registry::with_origins(seeds)?;
        Self::open_seeded(Arc::new(store), seeded).await
    }

    /// [`open`](Self::open), with the seeds checked into `seeded`.
    async fn open_seeded(
        store: Arc<dyn TrustedOriginStore>,
        seeded: Registry,
    ) -> Result<Self, TrustedOriginsError> {
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
            health: HealthState::up(store.kind()),
            store: Some(store),
            sync: tokio::sync::Mutex::new(()),
            events: broadcast::channel(SUBSCRIPTION_CAPACITY).0,
            #[cfg(feature = "sqlite")]
            copy: None,
            #[cfg(feature = "sqlite")]
            served_copy_of: std::sync::Mutex::new(None),
        })
    }

    /// [`open`](Self::open), keeping a [`LastKnownGood`] copy of what this instance serves: the
    /// copy is written when the store is loaded and after each change or batch of changes
    /// applied, and read when the store cannot be reached at start.
    ///
    /// When the store is [unavailable](StoreError::Unavailable) (give a store that can be made
    /// while its database is down, such as `PostgresStore::connect_lazy` or a [`LazyStore`]),
    /// the instance starts from the copy: it serves what the copy holds (fail static: as a
    /// running instance does when its store goes down), [`health`](Self::health) says so,
    /// changes are refused with [`StoreError::Unavailable`], and [`follow`](Self::follow)
    /// retries the store with back-off and catches up from the copy's revision once it answers.
    /// Without a sound copy of this store, the store's error is returned, naming the store and
    /// the copy: seeding from the configuration instead could trust again an origin an
    /// administrator deactivated.
    ///
    /// [`LazyStore`]: crate::LazyStore
    ///
    /// ```
    /// use trusted_cors_admin::{LastKnownGood, LazyStore, SqliteStore, StoreError, TrustedOrigins};
    /// use trusted_cors_core::{NewTrustedOrigin, ScopeType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("trusted-cors-lkg-doc-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # std::fs::create_dir_all(&dir)?;
    /// let seeds = [NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors])];
    /// let db = dir.join("origins.db");
    /// let up = {
    ///     let db = db.clone();
    ///     LazyStore::new("the database", "sqlite", move || SqliteStore::open(db.clone()))
    /// };
    /// let origins = TrustedOrigins::open_with_copy(up, seeds.clone(), LastKnownGood::open(&dir).await?).await?;
    /// assert!(!origins.health().degraded());
    /// drop(origins);
    ///
    /// // The database is down at the next start: served from the copy.
    /// let down = LazyStore::new("the database", "sqlite", || async {
    ///     Err::<SqliteStore, _>(StoreError::Unavailable { store: "the database".into(), message: "down".into() })
    /// });
    /// let origins = TrustedOrigins::open_with_copy(down, seeds, LastKnownGood::open(&dir).await?).await?;
    /// assert!(origins.health().degraded());
    /// assert!(origins.registry().snapshot().trusted("https://portal.example.com", ScopeType::Cors).is_some());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "sqlite")]
    pub async fn open_with_copy(
        store: impl TrustedOriginStore,
        seeds: impl IntoIterator<Item = NewTrustedOrigin>,
        copy: LastKnownGood,
    ) -> Result<Self, TrustedOriginsError> {
        let seeded = Registry::with_origins(seeds)?;
        let store: Arc<dyn TrustedOriginStore> = Arc::new(store);
        let describe = store.describe();
        match Self::open_seeded(Arc::clone(&store), seeded).await {
            Ok(mut this) => {
                let snapshot = this.registry.snapshot_arc();
                let of = store_of(&*store).await;
                let stamp = copy.stamp().await;
                if let Some(stamp) = stamp.as_ref().filter(|stamp| {
                    stamp.of.describe == of.describe
                        && stamp.of.id.is_some()
                        && stamp.of.id != of.id
                }) {
                    tracing::warn!(target: "trusted_cors::store", copy = %copy.path().display(), store = %describe, of = ?stamp.of.id, id = ?of.id, "the last-known-good copy is of another store with the same description: ignored, written anew");
                }
                let current = Stamp {
                    of,
                    revision: snapshot.revision(),
                };
                if stamp.as_ref() != Some(&current) {
                    if let Err(reason) = copy.write_all(&current.of, &snapshot).await {
                        tracing::warn!(target: "trusted_cors::store", copy = %copy.path().display(), %reason, "cannot write the last-known-good copy");
                    }
                }
                this.copy = Some(copy);
                Ok(this)
            }
            Err(TrustedOriginsError::Store(StoreError::Unavailable {
                store: name,
                message,
            })) => {
                let held = copy.read(&describe).await.and_then(|held| {
                    let (revision, written, count) =
                        (held.revision, held.written, held.origins.len());
                    let registry = Registry::from_origins_at(revision, held.origins)
                        .map_err(|error| tracing::warn!(target: "trusted_cors::store", copy = %copy.path().display(), %error, "the last-known-good copy holds what the registry refuses: ignored"))
                        .ok()?;
                    Some((registry, written, count, held.of.id))
                });
                let Some((registry, written, count, copy_of)) = held else {
                    return Err(StoreError::Unavailable {
                        store: name,
                        message: format!(
                            "{message}; and there is no sound last-known-good copy of it at {} to serve from",
                            copy.path().display()
                        ),
                    }
                    .into());
                };
                tracing::warn!(target: "trusted_cors::store", store = %describe, %message, copy = %copy.path().display(), revision = registry.revision(), origins = count, "the trusted-origins store is unavailable: serving the last-known-good copy; changes are refused until the store is back");
                Ok(TrustedOrigins {
                    registry: Arc::new(registry),
                    health: HealthState::from_copy(store.kind(), written),
                    store: Some(store),
                    sync: tokio::sync::Mutex::new(()),
                    events: broadcast::channel(SUBSCRIPTION_CAPACITY).0,
                    copy: Some(copy),
                    served_copy_of: std::sync::Mutex::new(copy_of),
                })
            }
            Err(other) => Err(other),
        }
    }

    /// How this instance stands with its store: up or down and since when, whether it serves
    /// its `LastKnownGood` (feature `sqlite`) copy, how current its snapshot is known to be.
    /// Trusted origins kept in memory are always up.
    pub fn health(&self) -> StoreHealth {
        self.health.get()
    }

    /// Writes the changes from `from` just applied (or, with `None`, the whole snapshot) to the
    /// copy, if there is one; a failure is logged, the change stands.
    async fn save(&self, from: u64, changes: Option<&[CommittedChange]>) {
        #[cfg(feature = "sqlite")]
        if let (Some(copy), Some(store)) = (&self.copy, &self.store) {
            let snapshot = self.registry.snapshot_arc();
            let of = store_of(&**store).await;
            let written = match changes {
                Some(changes) => copy.write_changes(&of, from, changes, &snapshot).await,
                None => copy.write_all(&of, &snapshot).await,
            };
            if let Err(reason) = written {
                tracing::warn!(target: "trusted_cors::store", copy = %copy.path().display(), %reason, "cannot write the last-known-good copy");
            }
        }
        #[cfg(not(feature = "sqlite"))]
        let _ = (from, changes);
    }

    /// Notes that the store answered (`Ok`) or not; returns the result.
    fn note<T>(&self, result: Result<T, StoreError>, applied: bool) -> Result<T, StoreError> {
        let metrics = self.registry.metrics_enabled();
        match &result {
            Ok(_) => {
                self.health.answered(applied, metrics);
            }
            Err(StoreError::Unavailable { .. }) => {
                self.health.lost(metrics);
            }
            Err(_) => {}
        }
        result
    }

    /// Trusted origins kept only in `registry`, in memory: changes apply there directly, each as
    /// the next revision.
    pub fn in_memory(registry: impl Into<Arc<Registry>>) -> Self {
        TrustedOrigins {
            registry: registry.into(),
            store: None,
            sync: tokio::sync::Mutex::new(()),
            events: broadcast::channel(SUBSCRIPTION_CAPACITY).0,
            health: HealthState::up("memory"),
            #[cfg(feature = "sqlite")]
            copy: None,
            #[cfg(feature = "sqlite")]
            served_copy_of: std::sync::Mutex::new(None),
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
    /// The change is recorded in the audit trail as made by `actor` once the store has
    /// committed it, and delivered to [subscribers](Self::subscribe) once applied here.
    ///
    /// When the store refuses it (a name or origin another instance took meanwhile, an entry
    /// another instance deleted, a store that is down), nothing changes and the error says why.
    pub async fn change(
        &self,
        edit: &ChangeRequest,
        actor: Option<&str>,
    ) -> Result<PreparedChange, TrustedOriginsError> {
        // Held until the change is applied here, so that no catch-up applies it first and
        // takes it for another instance's.
        let _guard = self.sync.lock().await;
        let Some(store) = &self.store else {
            // The registry records the change in the audit trail.
            let prepared = self.registry.change(edit, actor)?;
            if let Some(revision) = prepared.revision {
                self.publish(AppliedChange::made(edit, &prepared, revision, actor));
            }
            return Ok(prepared);
        };
        let mut prepared = self.registry.prepare(edit, actor)?;
        let Some(kind) = prepared.write() else {
            return Ok(prepared);
        };
        let metrics = self.registry.metrics_enabled();
        let committed = commit(store, kind.clone(), edit, &prepared, actor, metrics).await;
        let (revision, made) = self.note(committed, false)?;
        prepared.revision = Some(revision);
        if let Err(error) = self.catch_up_locked(store, made.as_ref()).await {
            // Committed, but the feed could not be read back. When nothing else was committed
            // in between, this change alone brings the registry up to date; otherwise the
            // follower catches up (and tells subscribers of it as if another instance made it).
            if self.registry.revision() + 1 == revision {
                let from = self.registry.revision();
                let change = [CommittedChange {
                    revision,
                    write: kind,
                }];
                self.registry.apply(change.to_vec())?;
                self.save(from, Some(&change)).await;
                self.publish(made);
            } else {
                tracing::warn!(target: "trusted_cors::store", revision, %error, "a committed change could not be read back; it applies once the store can be read");
            }
        }
        Ok(prepared)
    }

    /// Subscribes to the changes applied to this instance's registry from now on, as
    /// [`AppliedChange`]s: the ones made here ([`change`](Self::change), the Trusted Origins API;
    /// `made_here` true) and the ones other instances commit to the shared store, as this
    /// instance applies them ([`catch_up`](Self::catch_up), [`follow`](Self::follow); `made_here`
    /// false), each once, in the order applied, which is the order of their
    /// revisions. A change made directly on the [`Registry`] (bypassing this type) is not
    /// delivered. Forward them to an audit log, invalidate a cache, notify a team.
    ///
    /// The channel holds the last [`SUBSCRIPTION_CAPACITY`] changes. A subscriber that falls
    /// further behind receives [`RecvError::Lagged`](broadcast::error::RecvError::Lagged) with
    /// the number of changes it missed, then the oldest ones still held: it can re-read the whole
    /// [snapshot](Registry::snapshot) (whose revision says what it includes) and go on. When a
    /// catch-up cannot apply the feed change by change and loads the store whole, the
    /// subscribers receive one change per entry that differs, at the store's revision, worked
    /// out from the snapshots before and after.
    ///
    /// Changes from other instances come from the store's change feed, which holds the last
    /// state of each entry: when another instance changed one entry several times since this
    /// one last caught up (the follower catches up on each notification, so this takes changes
    /// in quick succession or a store out of reach), subscribers receive one change, from the
    /// state this instance had to the last one, at the revision of the last change, its action
    /// worked out from the two states (a change of status alone is an activation or a
    /// deactivation, any other a replace).
    ///
    /// The subscription lives here rather than on the core [`Registry`]: the registry is plain
    /// data with no runtime, and only this type knows which changes this instance committed,
    /// who made them, and what they replaced in the feed of other instances' changes.
    ///
    /// ```
    /// use trusted_cors_admin::{MemoryStore, TrustedOrigins};
    /// use trusted_cors_core::{ChangeAction, ChangeRequest, NewTrustedOrigin, ScopeType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let here = TrustedOrigins::open(store.clone(), []).await?;
    /// let there = TrustedOrigins::open(store, []).await?; // another instance
    /// let mut changes = here.subscribe();
    ///
    /// let shop = NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]);
    /// let shop = there.change(&ChangeRequest::Create(shop), Some("ada@example.com")).await?;
    /// here.catch_up().await?; // what `follow` does when the store says something changed
    ///
    /// let change = changes.recv().await?;
    /// assert_eq!(change.action, ChangeAction::Create);
    /// assert!(!change.made_here);
    /// assert_eq!(change.actor.as_deref(), Some("ada@example.com"));
    /// assert_eq!(change.after, shop.after);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "changes are delivered only while the receiver is kept"]
    pub fn subscribe(&self) -> broadcast::Receiver<AppliedChange> {
        self.events.subscribe()
    }

    /// Delivers a change to the subscribers, if there are any.
    fn publish(&self, event: Option<AppliedChange>) {
        if let Some(event) = event {
            // Without subscribers there is no one to tell.
            let _ = self.events.send(event);
        }
    }
}

/// Commits `kind`, the change of `prepared`, and records it in the audit trail; returns its revision and
/// event. On a task of its own when there is a runtime, so that a caller that stops waiting (a
/// client hanging up on the API) never leaves a committed change out of the audit trail. (Such a
/// change then reaches this instance's registry, and its subscribers, as the follower catches up,
/// as if another instance had made it.) With `metrics`, the commit's latency is recorded
/// (`trusted_cors_store_write_seconds`).
async fn commit(
    store: &Arc<dyn TrustedOriginStore>,
    kind: EntryWrite,
    edit: &ChangeRequest,
    prepared: &PreparedChange,
    actor: Option<&str>,
    metrics: bool,
) -> Result<(u64, Option<AppliedChange>), StoreError> {
    let work = {
        let store = Arc::clone(store);
        let (edit, prepared) = (edit.clone(), prepared.clone());
        let actor = actor.map(str::to_owned);
        async move {
            let started = metrics.then(std::time::Instant::now);
            let revision = store.commit(&kind).await?;
            #[cfg(feature = "metrics")]
            if let Some(started) = started {
                trusted_cors_core::metrics::record_store_write(store.kind(), started.elapsed());
            }
            #[cfg(not(feature = "metrics"))]
            let _ = started;
            tracing::info!(target: "trusted_cors::store", revision, id = kind.id(), change = change_name(&edit), actor = actor.as_deref().unwrap_or(""), "committed a trusted-origin change");
            let made = AppliedChange::made(&edit, &prepared, revision, actor.as_deref());
            if let Some(event) = &made {
                event.audit();
            }
            Ok((revision, made))
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.spawn(work).await.unwrap_or_else(|ended| {
            Err(StoreError::Unavailable {
                store: store.describe(),
                message: format!("the commit ended before the store answered: {ended}"),
            })
        }),
        Err(_) => work.await,
    }
}

fn change_name(edit: &ChangeRequest) -> &'static str {
    match edit {
        ChangeRequest::Create(_) => "create",
        ChangeRequest::Replace { .. } => "replace",
        ChangeRequest::SetStatus { .. } => "status",
        ChangeRequest::Delete { .. } => "delete",
        _ => "change",
    }
}

/// Which store `store` is, for its copy: its description and its id (`None` when it keeps none,
/// or cannot say now).
#[cfg(feature = "sqlite")]
async fn store_of(store: &dyn TrustedOriginStore) -> StoreOf {
    StoreOf {
        describe: store.describe(),
        id: store.store_id().await.ok().flatten(),
    }
}

/// The store holds entries that break the registry's rules.
fn corrupt(store: &dyn TrustedOriginStore, error: &RegistryError) -> TrustedOriginsError {
    TrustedOriginsError::Store(StoreError::Corrupt {
        store: store.describe(),
        message: error.to_string(),
    })
}
