//! Following the store: catching up from its change feed, the task that does it on every hint,
//! and the changes subscribers are told.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use trusted_cors_core::{
    AppliedChange, CommittedChange, EntryWrite, RegistrySnapshot, TrustedOrigin,
};

use super::{corrupt, TrustedOrigins, TrustedOriginsError};
use crate::store::TrustedOriginStore;

impl TrustedOrigins {
    /// Reads the store's change feed after the current revision and applies it, as one new
    /// snapshot. When the changes cannot be applied one by one (they clash with what this
    /// instance holds), the store is loaded whole. Returns the revision now shown. Without a
    /// store, does nothing.
    pub async fn catch_up(&self) -> Result<u64, TrustedOriginsError> {
        let Some(store) = &self.store else {
            return Ok(self.registry.revision());
        };
        let _guard = self.sync.lock().await;
        self.catch_up_locked(store, None).await
    }

    /// [`catch_up`](Self::catch_up), with `sync` held; `made` is the change this instance just
    /// committed, which the feed holds too.
    pub(super) async fn catch_up_locked(
        &self,
        store: &Arc<dyn TrustedOriginStore>,
        made: Option<&AppliedChange>,
    ) -> Result<u64, TrustedOriginsError> {
        let from = self.registry.revision();
        #[cfg(feature = "sqlite")]
        if self.served_copy_of_another(store).await? {
            return self.load_whole(store, from, made).await;
        }
        let changes = store.changes_after(from).await;
        let applied = changes.as_ref().is_ok_and(|changes| !changes.is_empty());
        let changes = self.note(changes, applied)?;
        if changes.is_empty() {
            return Ok(from);
        }
        #[cfg(feature = "sqlite")]
        let saved = self.copy.is_some().then(|| changes.clone());
        #[cfg(not(feature = "sqlite"))]
        let saved: Option<Vec<CommittedChange>> = None;
        let count = changes.len();
        // The changes other instances committed: all but the one this instance just made.
        let foreign = changes
            .iter()
            .filter(|change| made.is_none_or(|made| made.revision != change.revision))
            .count();
        let before = self.registry.snapshot_arc();
        // Worked out before the changes are moved into the registry; only for subscribers.
        let events = if self.events.receiver_count() > 0 {
            followed(&before, &changes, made)
        } else {
            Vec::new()
        };
        match self.registry.apply(changes) {
            Ok(to) => {
                tracing::debug!(target: "trusted_cors::store", from, to, changes = count, "applied trusted-origin changes from the store");
                if let Some(changes) = &saved {
                    self.save(from, Some(changes)).await;
                }
                self.count_applied(foreign);
                for event in events {
                    self.publish(Some(event));
                }
                Ok(to)
            }
            Err(clash) => {
                tracing::warn!(target: "trusted_cors::store", from, %clash, "the change feed could not be applied change by change; loading the store whole");
                let to = self.load_whole(store, from, made).await?;
                self.count_applied(foreign);
                Ok(to)
            }
        }
    }

    /// Replaces the registry with what the store holds, saves it to the copy, and tells
    /// subscribers what changed; returns the store's revision.
    async fn load_whole(
        &self,
        store: &Arc<dyn TrustedOriginStore>,
        from: u64,
        made: Option<&AppliedChange>,
    ) -> Result<u64, TrustedOriginsError> {
        let before = self.registry.snapshot_arc();
        let loaded = store.load().await;
        let loaded = self.note(loaded, true)?;
        let to = loaded.revision;
        self.registry
            .reset_at(to, loaded.origins)
            .map_err(|error| corrupt(&**store, &error))?;
        tracing::info!(target: "trusted_cors::store", from, to, "loaded the trusted-origins store whole");
        self.save(from, None).await;
        if self.events.receiver_count() > 0 {
            let after = self.registry.snapshot_arc();
            for event in differences(&before, &after, made) {
                self.publish(Some(event));
            }
        }
        Ok(to)
    }

    /// Whether the copy this instance started from is of another store than `store` (one of the
    /// same description with another id: a database made again at the same URL), whose
    /// revisions then mean nothing to `store`: asked once, the first time `store` answers.
    #[cfg(feature = "sqlite")]
    async fn served_copy_of_another(
        &self,
        store: &Arc<dyn TrustedOriginStore>,
    ) -> Result<bool, TrustedOriginsError> {
        let Some(copy_of) = self.served_copy_of_pending() else {
            return Ok(false);
        };
        let id = store.store_id().await;
        let id = self.note(id, false)?;
        *self
            .served_copy_of
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        // A store that keeps no id cannot say; one that does says whether it is the same.
        let other = id.as_ref().is_some_and(|id| *id != copy_of);
        if other {
            let copy = self
                .copy
                .as_ref()
                .map(|copy| copy.path().display().to_string());
            tracing::warn!(target: "trusted_cors::store", copy = %copy.as_deref().unwrap_or(""), store = %store.describe(), of = %copy_of, id = ?id, "the last-known-good copy served since the start is of another store with the same description: its revision means nothing here, the store is loaded whole");
        }
        Ok(other)
    }

    /// The id of the store the copy served at start is of, while not yet checked.
    #[cfg(feature = "sqlite")]
    fn served_copy_of_pending(&self) -> Option<String> {
        self.served_copy_of
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Counts changes of other instances applied here, when metrics are on.
    fn count_applied(&self, count: usize) {
        #[cfg(feature = "metrics")]
        if count > 0 && self.registry.metrics_enabled() {
            trusted_cors_core::metrics::record_changes_applied(count as u64);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = count;
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
        // Whether the store was reported lost (or the instance started from its copy) and not
        // yet back: one line when it is lost, one when it is back.
        let mut lost_reported = self.health.get().degraded();
        loop {
            let waited = tokio::time::timeout(every, store.changed()).await;
            let lost = matches!(waited, Ok(Err(_)));
            if let Ok(Err(error)) = waited {
                if !lost_reported {
                    tracing::warn!(target: "trusted_cors::store", store = %store.describe(), %error, "lost the trusted-origins store's notifications; serving the last snapshot and retrying");
                    lost_reported = true;
                }
                tokio::time::sleep(back_off).await;
                back_off = (back_off * 2).min(MAX_BACK_OFF);
            }
            let from = self.registry.revision();
            match self.catch_up().await {
                Ok(to) => {
                    if lost_reported {
                        tracing::info!(target: "trusted_cors::store", store = %store.describe(), from, to, "reconnected to the trusted-origins store and caught up");
                        lost_reported = false;
                    } else if to != from {
                        tracing::info!(target: "trusted_cors::store", from, to, "applied trusted-origin changes made by another instance");
                    }
                    // Notifications that keep failing while reads work (a pooler that breaks
                    // LISTEN) keep the back-off, and the feed is read at least every `every`.
                    if !lost {
                        back_off = MIN_BACK_OFF;
                    }
                }
                Err(error) => {
                    if !lost_reported {
                        tracing::warn!(target: "trusted_cors::store", store = %store.describe(), %error, "cannot read the trusted-origins store; serving the last snapshot and retrying");
                        lost_reported = true;
                    }
                    tokio::time::sleep(back_off).await;
                    back_off = (back_off * 2).min(MAX_BACK_OFF);
                }
            }
        }
    }
}

/// The changes a feed makes to `snapshot`, as subscribers receive them, in the order of their
/// revisions: `made` (the change this instance committed, if any) as it is, each other one as
/// another instance's, against the state the changes before it left. The feed holds the last
/// state of each entry only: when another instance changed an entry after `made`, the feed has
/// that later change and not `made`, which is then told first.
fn followed(
    snapshot: &RegistrySnapshot,
    changes: &[CommittedChange],
    made: Option<&AppliedChange>,
) -> Vec<AppliedChange> {
    enum Item<'a> {
        Feed(&'a CommittedChange),
        Made(&'a AppliedChange),
    }
    let revision = |item: &Item<'_>| match item {
        Item::Feed(change) => change.revision,
        Item::Made(made) => made.revision,
    };
    let mut items: Vec<Item<'_>> = changes
        .iter()
        .filter(|change| change.revision > snapshot.revision())
        .filter(|change| made.is_none_or(|made| made.revision != change.revision))
        .map(Item::Feed)
        .chain(made.map(Item::Made))
        .collect();
    items.sort_by_key(revision);
    let mut current: HashMap<&str, Option<&TrustedOrigin>> = HashMap::new();
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Made(made) => {
                current.insert(made.id(), made.after.as_ref());
                events.push(made.clone());
            }
            Item::Feed(change) => {
                let id = change.write.id();
                let before = current.get(id).copied().unwrap_or_else(|| snapshot.get(id));
                let after = match &change.write {
                    EntryWrite::Upsert(entry) => Some(entry),
                    EntryWrite::Delete(_) => None,
                };
                current.insert(id, after);
                events.extend(AppliedChange::followed(
                    change.revision,
                    before.cloned(),
                    after.cloned(),
                ));
            }
        }
    }
    events
}

/// What changed from `before` to `after` (the store loaded whole), one change per entry that
/// differs, at `after`'s revision: `made` for the entry this instance changed, the others as
/// other instances' changes.
fn differences(
    before: &RegistrySnapshot,
    after: &RegistrySnapshot,
    made: Option<&AppliedChange>,
) -> Vec<AppliedChange> {
    let revision = after.revision();
    let made = made.filter(|made| made.revision <= revision);
    let mine = made.map(AppliedChange::id);
    let gone = before
        .origins()
        .filter(|entry| after.get(&entry.id).is_none())
        .map(|entry| (Some(entry), None));
    let changed = after
        .origins()
        .map(|entry| (before.get(&entry.id), Some(entry)));
    let others = gone
        .chain(changed)
        .filter(|(old, new)| mine != old.or(*new).map(|entry| &*entry.id))
        .filter_map(|(old, new)| AppliedChange::followed(revision, old.cloned(), new.cloned()));
    made.cloned().into_iter().chain(others).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use trusted_cors_core::{ChangeAction, ScopeType, Status};
    use trusted_cors_core::{ChangeRequest, NewTrustedOrigin, Registry};

    fn entry(name: &str, origin: &str) -> TrustedOrigin {
        let new = NewTrustedOrigin::new(name, origin, [ScopeType::Cors]);
        Registry::new()
            .prepare(&ChangeRequest::Create(new), Some("seed"))
            .unwrap()
            .after
            .unwrap()
    }

    fn at(revision: u64, origins: Vec<TrustedOrigin>) -> Arc<RegistrySnapshot> {
        Registry::from_origins_at(revision, origins)
            .unwrap()
            .snapshot_arc()
    }

    #[test]
    fn this_instances_change_is_told_even_when_the_feed_kept_a_later_one() {
        let shop = entry("Shop", "https://shop.example.com");
        let registry = Registry::from_origins_at(5, vec![shop.clone()]).unwrap();
        let edit = ChangeRequest::SetStatus {
            id: shop.id.to_string(),
            status: Status::Inactive,
        };
        let prepared = registry.prepare(&edit, Some("me")).unwrap();
        let made = AppliedChange::made(&edit, &prepared, 6, Some("me")).unwrap();
        // Another instance renamed it at 7; the feed holds only that last state.
        let mut renamed = prepared.after.clone().unwrap();
        renamed.name = "Shop EU".into();
        renamed.last_updated_by = Some("other".into());
        let feed = [CommittedChange {
            revision: 7,
            write: EntryWrite::Upsert(renamed.clone()),
        }];
        let events = followed(&registry.snapshot_arc(), &feed, Some(&made));
        assert_eq!(events.len(), 2, "{events:#?}");
        assert_eq!(events[0], made);
        assert!(!events[1].made_here);
        assert_eq!(events[1].action, ChangeAction::Replace);
        assert_eq!(events[1].revision, 7);
        assert_eq!(events[1].actor.as_deref(), Some("other"));
        assert_eq!(events[1].before, prepared.after);
        assert_eq!(events[1].after, Some(renamed));
        // With the feed holding `made` itself, it is told once, as this instance's.
        let feed = [CommittedChange {
            revision: 6,
            write: prepared.write().unwrap(),
        }];
        assert_eq!(
            followed(&registry.snapshot_arc(), &feed, Some(&made)),
            [made]
        );
    }

    #[test]
    fn a_store_loaded_whole_is_told_entry_by_entry() {
        let kept = entry("Kept", "https://kept.example.com");
        let shop = entry("Shop", "https://shop.example.com");
        let gone = entry("Gone", "https://gone.example.com");
        let new = entry("New", "https://new.example.com");
        let mut inactive = shop.clone();
        inactive.status = Status::Inactive;
        let before = at(3, vec![kept.clone(), shop.clone(), gone.clone()]);
        let after = at(9, vec![kept, inactive.clone(), new.clone()]);
        let told = |events: Vec<AppliedChange>| -> Vec<(ChangeAction, String, bool, u64)> {
            events
                .iter()
                .map(|e| (e.action, e.id().to_owned(), e.made_here, e.revision))
                .collect()
        };
        let other = false;
        assert_eq!(
            told(differences(&before, &after, None)),
            [
                (ChangeAction::Delete, gone.id.to_string(), other, 9),
                (ChangeAction::Deactivate, shop.id.to_string(), other, 9),
                (ChangeAction::Create, new.id.to_string(), other, 9),
            ]
        );
        // This instance's change (the new entry, at 8) is told as made, once.
        let made = AppliedChange::followed(8, None, Some(new.clone())).map(|mut e| {
            e.made_here = true;
            e
        });
        assert_eq!(
            told(differences(&before, &after, made.as_ref())),
            [
                (ChangeAction::Create, new.id.to_string(), true, 8),
                (ChangeAction::Delete, gone.id.to_string(), other, 9),
                (ChangeAction::Deactivate, shop.id.to_string(), other, 9),
            ]
        );
    }
}
