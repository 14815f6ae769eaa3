//! The store contract (see `trusted_cors_admin::TrustedOriginStore`), one suite run against every
//! store: in memory, SQLite (a temporary file) and PostgreSQL (a private cluster, started by the
//! test; skipped loudly without PostgreSQL, an error under `CI=true`).
//!
//! Each suite works through several handles on one store, as instances of a service sharing a
//! database would: clones of a `MemoryStore`, `SqliteStore`s opened on one file, `PostgresStore`s
//! connected to one database.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::timeout;
use trusted_cors_admin::{
    Loaded, MemoryStore, StoreError, TrustedOriginStore, TrustedOrigins, TrustedOriginsError,
};
use trusted_cors_core::{
    ChangeRequest, CommittedChange, EntryWrite, NewTrustedOrigin, Registry, ScopeType, Status,
    TrustedOrigin,
};

/// A new entry, as an instance's registry would make it (a fresh id).
fn entry(name: &str, origin: &str) -> TrustedOrigin {
    Registry::new()
        .prepare(
            &ChangeRequest::Create(NewTrustedOrigin::new(name, origin, [ScopeType::Cors])),
            Some("contract"),
        )
        .expect("a valid entry")
        .after
        .expect("a create makes an entry")
}

fn upsert(entry: &TrustedOrigin) -> EntryWrite {
    EntryWrite::Upsert(entry.clone())
}

fn delete(entry: &TrustedOrigin) -> EntryWrite {
    EntryWrite::Delete(entry.id.to_string())
}

fn new(name: &str, origin: &str) -> NewTrustedOrigin {
    NewTrustedOrigin::new(name, origin, [ScopeType::Cors])
}

/// The contract, through handles that `open` makes on one store that was never written.
async fn contract<S, F, Fut>(open: F)
where
    S: TrustedOriginStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let one = open().await;
    let two = open().await;
    let kind = one.describe();

    // The store's id, random (32 hexadecimal digits), the same through every handle.
    let id = one.store_id().await.unwrap();
    assert!(
        id.as_deref()
            .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())),
        "{kind}: {id:?}"
    );
    assert_eq!(two.store_id().await.unwrap(), id, "{kind}");

    // A store never written is at revision 0, empty.
    assert_eq!(
        one.load().await.unwrap(),
        Loaded::new(0, Vec::new()),
        "{kind}"
    );
    assert!(one.changes_after(0).await.unwrap().is_empty(), "{kind}");

    // Two instances seeding at once: one seeds, in one commit (revision 1), the other stores
    // nothing.
    let seeds_one = vec![
        entry("Portal", "https://portal.example.com"),
        entry("Docs", "https://docs.example.com"),
    ];
    let seeds_two = vec![entry("Other", "https://other.example.com")];
    let (a, b) = tokio::join!(one.seed(&seeds_one), two.seed(&seeds_two));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a != b, "{kind}: seeded by one: {a}, by two: {b}");
    let seeds = if a { seeds_one } else { seeds_two };
    assert_eq!(
        two.load().await.unwrap(),
        Loaded::new(1, seeds.clone()),
        "{kind}"
    );
    assert!(
        !one.seed(&[entry("Late", "https://late.example.com")])
            .await
            .unwrap(),
        "{kind}"
    );
    assert_eq!(one.load().await.unwrap().revision, 1, "{kind}");
    let first = seeds[0].clone();

    // Insert, update, delete: one entry each, each at a higher revision, through either handle.
    let shop = entry("Shop", "https://shop.example.com");
    let r_insert = one.commit(&upsert(&shop)).await.unwrap();
    assert!(r_insert > 1, "{kind}");
    let mut renamed = shop.clone();
    renamed.name = "Shop Two".into();
    let r_update = two.commit(&upsert(&renamed)).await.unwrap();
    assert!(r_update > r_insert, "{kind}");
    let loaded = one.load().await.unwrap();
    assert_eq!(loaded.revision, r_update, "{kind}");
    assert_eq!(loaded.origins.last(), Some(&renamed), "{kind}");
    assert_eq!(loaded.origins.len(), seeds.len() + 1, "{kind}");
    let r_delete = one.commit(&delete(&shop)).await.unwrap();
    assert!(r_delete > r_update, "{kind}");
    assert_eq!(
        two.load().await.unwrap(),
        Loaded::new(r_delete, seeds.clone()),
        "{kind}"
    );

    // A deleted entry cannot be updated or deleted again, nor an id never held; nothing is
    // committed.
    for change in [
        delete(&shop),
        upsert(&renamed),
        EntryWrite::Delete("tosNeverHeld".into()),
    ] {
        assert_eq!(
            two.commit(&change).await,
            Err(StoreError::NotFound(change.id().to_owned())),
            "{kind}: {change:?}"
        );
    }
    assert_eq!(one.load().await.unwrap().revision, r_delete, "{kind}");

    // The deleted entry's name and origin are free again (a new entry, a new id).
    let again = entry("shop", "https://shop.example.com");
    let r_again = two.commit(&upsert(&again)).await.unwrap();
    assert!(r_again > r_delete, "{kind}");

    // Names (whatever their ASCII case) and origins are unique among live entries: for new
    // entries and for updates; nothing is committed.
    let cases = [
        (
            entry("SHOP", "https://elsewhere.example.com"),
            StoreError::Duplicate {
                field: "name",
                value: "SHOP".into(),
            },
        ),
        (
            entry("Elsewhere", "https://shop.example.com"),
            StoreError::Duplicate {
                field: "origin",
                value: "https://shop.example.com".into(),
            },
        ),
        (
            TrustedOrigin {
                name: "sHoP".into(),
                ..first.clone()
            },
            StoreError::Duplicate {
                field: "name",
                value: "sHoP".into(),
            },
        ),
        (
            TrustedOrigin {
                origin: again.origin.clone(),
                ..first.clone()
            },
            StoreError::Duplicate {
                field: "origin",
                value: "https://shop.example.com".into(),
            },
        ),
    ];
    for (candidate, expected) in cases {
        assert_eq!(
            one.commit(&upsert(&candidate)).await,
            Err(expected),
            "{kind}: {candidate:?}"
        );
    }
    assert_eq!(two.load().await.unwrap().revision, r_again, "{kind}");

    // An update that keeps its own name and origin is no clash.
    let first_inactive = TrustedOrigin {
        status: Status::Inactive,
        ..first.clone()
    };
    let r_status = one.commit(&upsert(&first_inactive)).await.unwrap();
    assert!(r_status > r_again, "{kind}");

    // The feed: the last state of every entry changed after a revision, tombstones included,
    // in creation order (the seed, then the deleted shop, then the new one).
    let feed = two.changes_after(1).await.unwrap();
    assert_eq!(
        feed,
        vec![
            CommittedChange {
                revision: r_status,
                write: upsert(&first_inactive),
            },
            CommittedChange {
                revision: r_delete,
                write: delete(&shop),
            },
            CommittedChange {
                revision: r_again,
                write: upsert(&again),
            },
        ],
        "{kind}"
    );
    assert_eq!(
        one.changes_after(r_again).await.unwrap(),
        feed[..1],
        "{kind}"
    );
    assert!(
        one.changes_after(r_status).await.unwrap().is_empty(),
        "{kind}"
    );
    let everything = one.changes_after(0).await.unwrap();
    assert_eq!(everything.len(), seeds.len() + 2, "{kind}");
    assert!(
        everything[1..seeds.len()].iter().all(|c| c.revision == 1),
        "{kind}"
    );

    // Two instances on the store converge through the feed.
    let a = Arc::new(TrustedOrigins::open(open().await, []).await.unwrap());
    let b = Arc::new(TrustedOrigins::open(open().await, []).await.unwrap());
    assert_eq!((a.revision(), b.revision()), (r_status, r_status), "{kind}");
    let blog = a
        .change(
            &ChangeRequest::Create(new("Blog", "https://blog.example.com")),
            Some("a"),
        )
        .await
        .unwrap()
        .after
        .unwrap();
    // b changes another entry before it heard of the blog: its change lands after it, and
    // brings the blog along.
    b.change(
        &ChangeRequest::SetStatus {
            id: again.id.to_string(),
            status: Status::Inactive,
        },
        Some("b"),
    )
    .await
    .unwrap();
    assert!(b.registry().snapshot().get(&blog.id).is_some(), "{kind}");
    assert!(b.revision() > a.revision(), "{kind}");
    a.catch_up().await.unwrap();
    assert_eq!(a.revision(), b.revision(), "{kind}");
    assert_eq!(
        a.registry().snapshot().to_vec(),
        b.registry().snapshot().to_vec(),
        "{kind}"
    );
    // b deletes the blog; a, not caught up, changes it: the store refuses, a's snapshot stays.
    b.change(
        &ChangeRequest::Delete {
            id: blog.id.to_string(),
        },
        Some("b"),
    )
    .await
    .unwrap();
    let shown = a.registry().snapshot().to_vec();
    let refused = a
        .change(
            &ChangeRequest::Replace {
                id: blog.id.to_string(),
                new: new("Blog 2", "https://blog.example.com"),
            },
            Some("a"),
        )
        .await;
    assert_eq!(
        refused.unwrap_err(),
        TrustedOriginsError::Store(StoreError::NotFound(blog.id.to_string())),
        "{kind}"
    );
    assert_eq!(a.registry().snapshot().to_vec(), shown, "{kind}");
    // a and b, racing to create the same origin: the store takes one.
    let race_a = ChangeRequest::Create(new("Race A", "https://race.example.com"));
    let race_b = ChangeRequest::Create(new("Race B", "https://race.example.com"));
    let (x, y) = tokio::join!(a.change(&race_a, None), b.change(&race_b, None));
    let refused = match (x, y) {
        (Ok(_), Err(error)) | (Err(error), Ok(_)) => error,
        (x, y) => panic!("{kind}: not one success and one refusal: {x:?} {y:?}"),
    };
    assert_eq!(
        refused,
        TrustedOriginsError::Store(StoreError::Duplicate {
            field: "origin",
            value: "https://race.example.com".into()
        }),
        "{kind}"
    );
    a.catch_up().await.unwrap();
    b.catch_up().await.unwrap();
    assert_eq!(a.revision(), b.revision(), "{kind}");
    assert_eq!(
        a.registry().snapshot().to_vec(),
        b.registry().snapshot().to_vec(),
        "{kind}"
    );
    assert_eq!(
        a.registry().snapshot().to_vec(),
        one.load().await.unwrap().origins,
        "{kind}"
    );

    // `changed` wakes on another handle's commit. First use up the hints already due.
    while timeout(Duration::from_millis(300), two.changed())
        .await
        .is_ok()
    {}
    let (woke, committed) = tokio::join!(
        async {
            let woke = timeout(Duration::from_secs(5), two.changed()).await;
            (woke, Instant::now())
        },
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let started = Instant::now();
            let committed = one
                .commit(&upsert(&entry("Wake", "https://wake.example.com")))
                .await;
            (committed, started, Instant::now())
        }
    );
    let ((woke, woke_at), (committed, started, acknowledged)) = (woke, committed);
    committed.unwrap();
    assert!(
        matches!(woke, Ok(Ok(()))),
        "{kind}: changed() did not wake: {woke:?}"
    );
    eprintln!(
        "{kind}: the commit took {:?}; changed() woke {:?} after it started",
        acknowledged - started,
        woke_at.saturating_duration_since(started)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_keeps_the_contract() {
    let store = MemoryStore::new();
    contract(|| {
        let handle = store.clone();
        async move { handle }
    })
    .await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_keeps_the_contract() {
    use trusted_cors_admin::SqliteStore;
    let dir = std::env::temp_dir().join(format!("trusted-cors-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trusted-origins.db");
    contract(|| {
        let path = path.clone();
        async move { SqliteStore::open(&path).await.unwrap() }
    })
    .await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_keeps_the_contract() {
    use trusted_cors_admin::PostgresStore;
    let Some(pg) = trusted_cors_testing::PgCluster::start() else {
        return;
    };
    let url = pg.url();
    contract(|| {
        let url = url.clone();
        async move { PostgresStore::connect(&url).await.unwrap() }
    })
    .await;
}
