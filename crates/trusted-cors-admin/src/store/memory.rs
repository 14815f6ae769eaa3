//! [`MemoryStore`]: the store contract kept in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;
use trusted_cors_core::{CommittedChange, EntryWrite, TrustedOrigin};

use super::{Loaded, StoreError, StoreFuture, TrustedOriginStore};

/// The [store contract](TrustedOriginStore) in memory: revisions, a change feed, uniqueness, notifications;
/// nothing survives the process. For tests, and for a service that reads its trusted origins
/// from configuration at every start.
///
/// Clones share the entries but each has its own place in the notifications, as separate
/// instances of a service sharing a database would: a change committed through one clone wakes
/// [`changed`](TrustedOriginStore::changed) on the others.
///
/// ```
/// use trusted_cors_admin::{MemoryStore, TrustedOriginStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), trusted_cors_admin::StoreError> {
/// let store = MemoryStore::new();
/// assert_eq!(store.load().await?.revision, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    shared: Arc<Shared>,
    /// The revision the last `changed` saw.
    seen: Mutex<u64>,
}

#[derive(Debug)]
struct Shared {
    rows: Mutex<Rows>,
    revision: watch::Sender<u64>,
    /// The store's id (see [`TrustedOriginStore::store_id`]): one per store, its clones share it.
    store_id: String,
}

#[derive(Debug, Default)]
struct Rows {
    revision: u64,
    /// Creation order → row.
    rows: BTreeMap<u64, Row>,
    /// The place of the next row created.
    next_place: u64,
    /// id → creation order.
    ids: HashMap<String, u64>,
    /// Name in ASCII lowercase → id, for live entries.
    names: HashMap<String, String>,
    /// Origin → id, for live entries.
    origins: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct Row {
    id: String,
    /// `None` once deleted.
    entry: Option<TrustedOrigin>,
    revision: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl Clone for MemoryStore {
    fn clone(&self) -> Self {
        MemoryStore {
            shared: Arc::clone(&self.shared),
            seen: Mutex::new(*self.shared.revision.borrow()),
        }
    }
}

impl MemoryStore {
    /// An empty store, never written (revision 0).
    pub fn new() -> Self {
        MemoryStore {
            shared: Arc::new(Shared {
                rows: Mutex::new(Rows::default()),
                revision: watch::Sender::new(0),
                store_id: super::new_store_id(),
            }),
            seen: Mutex::new(0),
        }
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, Rows> {
        self.shared
            .rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Rows {
    /// Takes the name and origin of `entry` for `id`, unless another live entry has them.
    fn claim(&mut self, entry: &TrustedOrigin) -> Result<(), StoreError> {
        let name = entry.name.to_ascii_lowercase();
        let origin = entry.origin.to_string();
        if self.names.get(&name).is_some_and(|id| **id != *entry.id) {
            return Err(StoreError::Duplicate {
                field: "name",
                value: entry.name.to_string(),
            });
        }
        if self
            .origins
            .get(&origin)
            .is_some_and(|id| **id != *entry.id)
        {
            return Err(StoreError::Duplicate {
                field: "origin",
                value: origin,
            });
        }
        self.names.insert(name, entry.id.to_string());
        self.origins.insert(origin, entry.id.to_string());
        Ok(())
    }

    fn release(&mut self, entry: &TrustedOrigin) {
        self.names.remove(&entry.name.to_ascii_lowercase());
        self.origins.remove(entry.origin.as_str());
    }

    fn commit(&mut self, change: &EntryWrite) -> Result<u64, StoreError> {
        let revision = self.revision + 1;
        let id = change.id();
        let place = self.ids.get(id).copied();
        let live = place.and_then(|place| self.rows.get(&place)?.entry.clone());
        match (change, place, live) {
            (EntryWrite::Upsert(entry), None, _) => {
                self.claim(entry)?;
                let place = self.next_place;
                self.next_place += 1;
                self.ids.insert(entry.id.to_string(), place);
                let row = Row {
                    id: entry.id.to_string(),
                    entry: Some(entry.clone()),
                    revision,
                };
                self.rows.insert(place, row);
            }
            (EntryWrite::Upsert(entry), Some(place), Some(old)) => {
                self.release(&old);
                if let Err(error) = self.claim(entry) {
                    self.claim(&old)?;
                    return Err(error);
                }
                if let Some(row) = self.rows.get_mut(&place) {
                    row.entry = Some(entry.clone());
                    row.revision = revision;
                }
            }
            (EntryWrite::Delete(_), Some(place), Some(old)) => {
                self.release(&old);
                if let Some(row) = self.rows.get_mut(&place) {
                    row.entry = None;
                    row.revision = revision;
                }
            }
            (_, _, _) => return Err(StoreError::NotFound(id.to_owned())),
        }
        self.revision = revision;
        Ok(revision)
    }
}

impl TrustedOriginStore for MemoryStore {
    fn load(&self) -> StoreFuture<'_, Loaded> {
        let rows = self.rows();
        let loaded = Loaded::new(
            rows.revision,
            rows.rows
                .values()
                .filter_map(|row| row.entry.clone())
                .collect(),
        );
        Box::pin(std::future::ready(Ok(loaded)))
    }

    fn seed<'a>(&'a self, origins: &'a [TrustedOrigin]) -> StoreFuture<'a, bool> {
        let result = (|| {
            let mut rows = self.rows();
            if rows.revision != 0 {
                return Ok(false);
            }
            let mut fresh = Rows::default();
            for entry in origins {
                fresh.commit(&EntryWrite::Upsert(entry.clone()))?;
            }
            // One commit: every seed at one revision.
            let revision = 1;
            for row in fresh.rows.values_mut() {
                row.revision = revision;
            }
            fresh.revision = revision;
            *rows = fresh;
            self.shared.revision.send_replace(revision);
            Ok(true)
        })();
        Box::pin(std::future::ready(result))
    }

    fn commit<'a>(&'a self, change: &'a EntryWrite) -> StoreFuture<'a, u64> {
        let result = self.rows().commit(change);
        if let Ok(revision) = result {
            self.shared.revision.send_replace(revision);
        }
        Box::pin(std::future::ready(result))
    }

    fn changes_after(&self, revision: u64) -> StoreFuture<'_, Vec<CommittedChange>> {
        let rows = self.rows();
        let changes = rows
            .rows
            .values()
            .filter(|row| row.revision > revision)
            .map(|row| CommittedChange {
                revision: row.revision,
                write: match &row.entry {
                    Some(entry) => EntryWrite::Upsert(entry.clone()),
                    None => EntryWrite::Delete(row.id.clone()),
                },
            })
            .collect();
        Box::pin(std::future::ready(Ok(changes)))
    }

    fn changed(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut receiver = self.shared.revision.subscribe();
            loop {
                let now = *receiver.borrow_and_update();
                {
                    let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
                    if now > *seen {
                        *seen = now;
                        return Ok(());
                    }
                }
                if receiver.changed().await.is_err() {
                    return Err(StoreError::Unavailable {
                        store: self.describe(),
                        message: "the store was dropped".into(),
                    });
                }
            }
        })
    }

    fn describe(&self) -> String {
        "in memory".into()
    }

    fn store_id(&self) -> StoreFuture<'_, Option<String>> {
        Box::pin(async move { Ok(Some(self.shared.store_id.clone())) })
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}
