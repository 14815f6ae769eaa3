//! The audit trail (one `tracing` event on target `trusted_cors::audit` per change, on the
//! instance that makes it) and the subscription to the changes an instance applies, its own and
//! the ones other instances sharing its store commit.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Once};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;
use trusted_cors_admin::{
    Loaded, MemoryStore, StoreFuture, TrustedOriginStore, TrustedOrigins, SUBSCRIPTION_CAPACITY,
};
use trusted_cors_core::{
    ChangeAction, ChangeRequest, CommittedChange, EntryWrite, NewTrustedOrigin, Registry,
    ScopeType, Status, TrustedOrigin, AUDIT_TARGET,
};

type Fields = BTreeMap<String, String>;

thread_local! {
    /// The audit events of the capture running on this thread, if any.
    static CAPTURED: RefCell<Option<Vec<Fields>>> = const { RefCell::new(None) };
}

/// Records the audit events on the threads that capture them. Installed once, globally: a
/// subscriber per test (`with_default`) can miss events when tests on other threads register
/// the same call sites.
struct Capture;

struct Visitor<'a>(&'a mut Fields);

impl tracing::field::Visit for Visitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != AUDIT_TARGET {
            return;
        }
        CAPTURED.with(|captured| {
            if let Some(events) = captured.borrow_mut().as_mut() {
                let mut fields = Fields::new();
                event.record(&mut Visitor(&mut fields));
                events.push(fields);
            }
        });
    }
}

/// Runs `f` on a current-thread runtime (so on this thread); returns the audit events it caused.
fn audited<F: std::future::Future<Output = ()>>(f: impl FnOnce() -> F) -> Vec<Fields> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("no other global subscriber in this test binary");
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    runtime.block_on(f());
    CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default())
}

fn shop() -> NewTrustedOrigin {
    NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors])
}

/// Creates, replaces, deactivates (twice: the second changes nothing) and deletes an entry.
async fn four_changes(
    origins: &TrustedOrigins,
) -> Vec<(Option<TrustedOrigin>, Option<TrustedOrigin>)> {
    let mut entries = Vec::new();
    let created = origins
        .change(&ChangeRequest::Create(shop()), Some("ada@example.com"))
        .await
        .unwrap();
    let id = created.after.clone().unwrap().id.to_string();
    entries.push((created.before, created.after));
    let renamed = NewTrustedOrigin::new(
        "Shop EU",
        "https://eu.shop.example.com",
        [ScopeType::Cors, ScopeType::Redirect],
    );
    let replaced = origins
        .change(
            &ChangeRequest::Replace {
                id: id.clone(),
                new: renamed,
            },
            Some("grace@example.com"),
        )
        .await
        .unwrap();
    entries.push((replaced.before, replaced.after));
    let deactivate = ChangeRequest::SetStatus {
        id: id.clone(),
        status: Status::Inactive,
    };
    let deactivated = origins
        .change(&deactivate, Some("apiToken1"))
        .await
        .unwrap();
    entries.push((deactivated.before, deactivated.after));
    let unchanged = origins
        .change(&deactivate, Some("apiToken1"))
        .await
        .unwrap();
    assert_eq!(
        unchanged.revision, None,
        "nothing changed, nothing recorded"
    );
    let deleted = origins
        .change(&ChangeRequest::Delete { id }, Some("ada@example.com"))
        .await
        .unwrap();
    entries.push((deleted.before, deleted.after));
    entries
}

fn json(entry: &Option<TrustedOrigin>) -> Option<Value> {
    entry
        .as_ref()
        .map(|entry| serde_json::to_value(entry).unwrap())
}

/// One audit event per change, with who, what, before, after and the revision.
fn assert_audited(
    events: &[Fields],
    entries: &[(Option<TrustedOrigin>, Option<TrustedOrigin>)],
    first_revision: u64,
) {
    let expected = [
        ("ada@example.com", "create", "https://shop.example.com"),
        (
            "grace@example.com",
            "replace",
            "https://eu.shop.example.com",
        ),
        ("apiToken1", "deactivate", "https://eu.shop.example.com"),
        ("ada@example.com", "delete", "https://eu.shop.example.com"),
    ];
    assert_eq!(events.len(), expected.len(), "{events:#?}");
    for (index, ((event, (actor, action, origin)), (before, after))) in
        events.iter().zip(expected).zip(entries).enumerate()
    {
        assert_eq!(event["actor"], actor, "{event:?}");
        assert_eq!(event["action"], action, "{event:?}");
        assert_eq!(event["origin"], origin, "{event:?}");
        let id = &after.as_ref().or(before.as_ref()).unwrap().id;
        assert_eq!(event["id"], **id, "{event:?}");
        assert_eq!(
            event["revision"],
            (first_revision + index as u64).to_string(),
            "{event:?}"
        );
        let field = |name: &str| {
            event
                .get(name)
                .map(|text| serde_json::from_str::<Value>(text).unwrap())
        };
        assert_eq!(field("before"), json(before), "{action}: {event:?}");
        assert_eq!(field("after"), json(after), "{action}: {event:?}");
    }
    assert!(!events[0].contains_key("before") && !events[3].contains_key("after"));
    assert!(events[2]["before"].contains("\"ACTIVE\""));
    assert!(events[2]["after"].contains("\"INACTIVE\""));
}

#[test]
fn changes_committed_to_a_store_are_audited_once() {
    let mut entries = Vec::new();
    let events = audited(|| async {
        let seeds = [NewTrustedOrigin::new(
            "Portal",
            "https://portal.example.com",
            [ScopeType::Cors],
        )];
        let origins = TrustedOrigins::open(MemoryStore::new(), seeds)
            .await
            .unwrap();
        entries = four_changes(&origins).await;
    });
    // The seed (revision 1) is loaded, not a change made here.
    assert_audited(&events, &entries, 2);
}

#[test]
fn changes_made_in_memory_are_audited_once() {
    let mut entries = Vec::new();
    let events = audited(|| async {
        let origins = TrustedOrigins::in_memory(Registry::new());
        entries = four_changes(&origins).await;
    });
    assert_audited(&events, &entries, 1);
}

#[test]
fn changes_followed_from_other_instances_are_not_audited_again() {
    let events = audited(|| async {
        let store = MemoryStore::new();
        let other = TrustedOrigins::open(store.clone(), []).await.unwrap();
        let here = TrustedOrigins::open(store, []).await.unwrap();
        let made = other
            .change(&ChangeRequest::Create(shop()), Some("ada"))
            .await
            .unwrap();
        assert_eq!(Some(here.catch_up().await.unwrap()), made.revision);
    });
    assert_eq!(events.len(), 1, "{events:?}");
}

#[test]
fn the_registry_alone_audits_its_changes() {
    let events = audited(|| async {
        let registry = Registry::new();
        let shop = registry.create_by(shop(), Some("ada")).unwrap();
        registry.deactivate(&shop.id).unwrap();
        registry.reset(Vec::new()).unwrap();
    });
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["create", "deactivate", "reset"], "{events:?}");
    assert_eq!(events[0]["actor"], "ada");
    assert!(
        !events[1].contains_key("actor"),
        "no actor given: {:?}",
        events[1]
    );
    assert_eq!(events[2]["origins"], "0");
    assert_eq!(events[2]["revision"], "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_receive_this_and_other_instances_changes() {
    let store = MemoryStore::new();
    let here = Arc::new(TrustedOrigins::open(store.clone(), []).await.unwrap());
    let there = TrustedOrigins::open(store, []).await.unwrap();
    let mut changes = here.subscribe();
    // Opening the store (seeding it with nothing) is its first revision; no change to tell.
    let base = here.revision();

    // Made here: delivered once, as this instance's.
    let created = here
        .change(&ChangeRequest::Create(shop()), Some("ada@example.com"))
        .await
        .unwrap();
    let event = changes.try_recv().unwrap();
    assert!(event.made_here);
    assert_eq!(event.action, ChangeAction::Create);
    assert_eq!(event.revision, base + 1);
    assert_eq!(event.actor.as_deref(), Some("ada@example.com"));
    assert_eq!((&event.before, &event.after), (&None, &created.after));
    assert_eq!(event.id(), &*created.after.as_ref().unwrap().id);
    assert_eq!(event.origin(), "https://shop.example.com");
    assert_eq!(changes.try_recv().unwrap_err(), TryRecvError::Empty);
    let id = event.id().to_owned();

    // Two changes by another instance, applied here in one catch-up, in the order made.
    there.catch_up().await.unwrap();
    let inactive = ChangeRequest::SetStatus {
        id: id.clone(),
        status: Status::Inactive,
    };
    let deactivated = there
        .change(&inactive, Some("grace@example.com"))
        .await
        .unwrap();
    let blog = NewTrustedOrigin::new("Blog", "https://blog.example.com", [ScopeType::Redirect]);
    let blog = there
        .change(&ChangeRequest::Create(blog), Some("apiToken2"))
        .await
        .unwrap();
    assert_eq!(changes.try_recv().unwrap_err(), TryRecvError::Empty);
    assert_eq!(here.catch_up().await.unwrap(), base + 3);
    let first = changes.try_recv().unwrap();
    assert!(!first.made_here);
    assert_eq!(first.action, ChangeAction::Deactivate);
    assert_eq!(first.revision, base + 2);
    assert_eq!(first.actor.as_deref(), Some("grace@example.com"));
    assert_eq!(first.before, created.after);
    assert_eq!(first.after, deactivated.after);
    let second = changes.try_recv().unwrap();
    assert_eq!(
        (second.action, second.made_here),
        (ChangeAction::Create, false)
    );
    assert_eq!(
        (second.revision, second.actor.as_deref()),
        (base + 3, Some("apiToken2"))
    );
    assert_eq!((second.before, second.after), (None, blog.after));
    assert_eq!(changes.try_recv().unwrap_err(), TryRecvError::Empty);

    // Through the follower: a delete by another instance (the feed does not say who).
    let _following = here.follow_every(Duration::from_millis(20));
    there
        .change(
            &ChangeRequest::Delete { id: id.clone() },
            Some("ada@example.com"),
        )
        .await
        .unwrap();
    let deleted = tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .expect("the follower applies the delete")
        .unwrap();
    assert!(!deleted.made_here);
    assert_eq!(deleted.action, ChangeAction::Delete);
    assert_eq!((deleted.revision, deleted.actor), (base + 4, None));
    assert_eq!((deleted.before, deleted.after), (deactivated.after, None));

    // A change made here while the follower runs is still this instance's, and delivered once.
    here.change(&ChangeRequest::Create(shop()), Some("ada@example.com"))
        .await
        .unwrap();
    let event = changes.recv().await.unwrap();
    assert_eq!((event.made_here, event.revision), (true, base + 5));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(changes.try_recv().unwrap_err(), TryRecvError::Empty);
}

#[tokio::test]
async fn a_lagging_subscriber_is_told_how_many_changes_it_missed() {
    let origins = TrustedOrigins::in_memory(Registry::new());
    let mut changes = origins.subscribe();
    let shop = origins
        .change(&ChangeRequest::Create(shop()), None)
        .await
        .unwrap();
    let id = shop.after.unwrap().id.to_string();
    for round in 0..SUBSCRIPTION_CAPACITY {
        let status = if round % 2 == 0 {
            Status::Inactive
        } else {
            Status::Active
        };
        let edit = ChangeRequest::SetStatus {
            id: id.clone(),
            status,
        };
        origins.change(&edit, None).await.unwrap();
    }
    assert_eq!(changes.recv().await.unwrap_err(), RecvError::Lagged(1));
    // Then the oldest change still held; the snapshot has them all.
    let next = changes.recv().await.unwrap();
    assert_eq!(next.revision, 2);
    assert_eq!(origins.revision(), SUBSCRIPTION_CAPACITY as u64 + 1);
}

/// A memory store whose commits take a while, as a database's do.
#[derive(Debug, Clone)]
struct SlowStore(MemoryStore);

impl TrustedOriginStore for SlowStore {
    fn load(&self) -> StoreFuture<'_, Loaded> {
        self.0.load()
    }
    fn seed<'a>(&'a self, origins: &'a [TrustedOrigin]) -> StoreFuture<'a, bool> {
        self.0.seed(origins)
    }
    fn commit<'a>(&'a self, change: &'a EntryWrite) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.0.commit(change).await
        })
    }
    fn changes_after(&self, revision: u64) -> StoreFuture<'_, Vec<CommittedChange>> {
        self.0.changes_after(revision)
    }
    fn changed(&self) -> StoreFuture<'_, ()> {
        self.0.changed()
    }
    fn describe(&self) -> String {
        "slow memory".into()
    }
}

#[test]
fn a_change_whose_caller_stops_waiting_is_still_committed_and_audited() {
    let store = MemoryStore::new();
    let events = audited(|| async {
        let origins = TrustedOrigins::open(SlowStore(store.clone()), [])
            .await
            .unwrap();
        let mut changes = origins.subscribe();
        // The API's client hangs up while the store commits.
        let create = ChangeRequest::Create(shop());
        let change = origins.change(&create, Some("ada@example.com"));
        assert!(tokio::time::timeout(Duration::from_millis(10), change)
            .await
            .is_err());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(store.load().await.unwrap().origins.len(), 1, "committed");
        // Applied as the follower would, and told to subscribers.
        origins.catch_up().await.unwrap();
        let event = changes.try_recv().unwrap();
        assert_eq!(event.action, ChangeAction::Create);
    });
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], "ada@example.com");
    assert_eq!(events[0]["action"], "create");
}
