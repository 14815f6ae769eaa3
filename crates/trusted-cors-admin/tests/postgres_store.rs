//! The PostgreSQL store on a real, private PostgreSQL cluster (started by each test; skipped
//! loudly without PostgreSQL, an error under `CI=true`): instances starting together, racing
//! instances, a database that goes away and comes back, lost connections, and how fast a change
//! reaches another instance.

#![cfg(feature = "postgres")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use trusted_cors_admin::{
    PostgresStore, StoreError, TrustedOriginStore, TrustedOrigins, TrustedOriginsError,
};
use trusted_cors_core::{ChangeRequest, NewTrustedOrigin, OktaApp, Scope, ScopeType, Status};
use trusted_cors_testing::{fixtures, PgCluster};

fn new(name: &str, origin: &str) -> NewTrustedOrigin {
    NewTrustedOrigin::new(name, origin, [ScopeType::Cors])
}

fn seeds() -> Vec<NewTrustedOrigin> {
    vec![
        new("Portal", "https://portal.example.com"),
        new("Docs", "https://docs.example.com"),
    ]
}

async fn instance(url: &str) -> Arc<TrustedOrigins> {
    let store = PostgresStore::connect(url).await.unwrap();
    Arc::new(TrustedOrigins::open(store, seeds()).await.unwrap())
}

fn trusts(origins: &TrustedOrigins, origin: &str) -> bool {
    origins
        .registry()
        .snapshot()
        .trusted(origin, ScopeType::Cors)
        .is_some()
}

/// Waits (up to `limit`) until `done` holds; returns how long that took.
async fn until(limit: Duration, what: &str, done: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_create_the_schema_and_seed_once() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.url();
    // Five instances on an empty database, each with its own seeds: the schema is created once,
    // one instance's seeds are stored, and every instance shows the same.
    let opened = join_in_order((0..5).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            let store = PostgresStore::connect(&url).await?;
            let seeds = [new(
                &format!("Seed {i}"),
                &format!("https://seed-{i}.example.com"),
            )];
            TrustedOrigins::open(store, seeds)
                .await
                .map_err(|error| match error {
                    TrustedOriginsError::Store(error) => error,
                    other => panic!("{other}"),
                })
        })
    }))
    .await;
    let opened: Vec<TrustedOrigins> = opened.into_iter().map(Result::unwrap).collect();
    let first = opened[0].registry().snapshot().to_vec();
    assert_eq!(first.len(), 1);
    for origins in &opened {
        assert_eq!(origins.revision(), 1);
        assert_eq!(origins.registry().snapshot().to_vec(), first);
    }
    assert_eq!(
        pg.psql("trusted_cors", "SELECT version FROM trusted_cors_schema")
            .unwrap()
            .trim(),
        "2"
    );
}

/// `join_all` without a dependency: spawned tasks, awaited in order.
async fn join_in_order<T: Send + 'static>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut done = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        done.push(task.await.unwrap());
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_newer_schema_is_refused_and_left_untouched() {
    let Some(pg) = PgCluster::start() else { return };
    drop(PostgresStore::connect(&pg.url()).await.unwrap());
    pg.psql("trusted_cors", "UPDATE trusted_cors_schema SET version = 3")
        .unwrap();
    let error = PostgresStore::connect(&pg.url()).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Corrupt { message, .. } if message.contains("schema version is 3")),
        "{error:?}"
    );
    assert_eq!(
        pg.psql("trusted_cors", "SELECT version FROM trusted_cors_schema")
            .unwrap()
            .trim(),
        "3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_version_1_store_is_migrated_and_keeps_allowed_okta_apps_from_then_on() {
    let Some(pg) = PgCluster::start() else { return };
    let origins = TrustedOrigins::open(PostgresStore::connect(&pg.url()).await.unwrap(), seeds())
        .await
        .unwrap();
    drop(origins);
    // As version 1 left it: the version, and entries whose scopes list no Okta application.
    pg.psql("trusted_cors", "UPDATE trusted_cors_schema SET version = 1")
        .unwrap();
    let origins = TrustedOrigins::open(PostgresStore::connect(&pg.url()).await.unwrap(), [])
        .await
        .unwrap();
    assert_eq!(
        pg.psql("trusted_cors", "SELECT version FROM trusted_cors_schema")
            .unwrap()
            .trim(),
        "2"
    );
    assert_eq!(origins.registry().snapshot().len(), seeds().len());
    origins
        .change(&ChangeRequest::Create(fixtures::framed()), None)
        .await
        .unwrap();
    drop(origins);
    let again = TrustedOrigins::open(PostgresStore::connect(&pg.url()).await.unwrap(), [])
        .await
        .unwrap();
    let snapshot = again.registry().snapshot();
    let entry = snapshot.origins().find(|o| &*o.name == "Framed").unwrap();
    assert_eq!(entry.scopes, [Scope::iframe_embed([OktaApp::OktaEnduser])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_password_never_shows_and_an_unreachable_database_fails_fast() {
    let Some(pg) = PgCluster::start() else { return };
    // Trust authentication accepts any password: the URL has one, the description does not.
    let url = format!(
        "postgres://postgres:Sup3rSecret@127.0.0.1:{}/trusted_cors",
        pg.port()
    );
    let store = PostgresStore::connect(&url).await.unwrap();
    assert_eq!(
        store.describe(),
        format!("postgres://postgres@127.0.0.1:{}/trusted_cors", pg.port())
    );
    assert!(!format!("{store:?}").contains("Sup3rSecret"));
    drop(store);

    tokio::task::block_in_place(|| pg.stop());
    let started = Instant::now();
    let error = PostgresStore::connect(&url).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(!error.to_string().contains("Sup3rSecret"), "{error}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    eprintln!("connecting to a stopped database failed in {took:?}: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_instance_holding_the_revision_row_does_not_block_the_others_for_long() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.url();
    let a = instance(&url).await;
    // Another session takes the revision row, as a commit does, and stays in its transaction.
    let mut frozen = std::process::Command::new(pg.bin_dir().join("psql"))
        .args(["-X", "-h", &pg.dir().display().to_string(), "-p", &pg.port().to_string()])
        .args(["-U", "postgres", "-d", "trusted_cors", "-c"])
        .arg("BEGIN; SELECT revision FROM trusted_cors_revision FOR UPDATE; SELECT pg_sleep(8); COMMIT;")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let error = a
        .change(
            &ChangeRequest::Create(new("Shop", "https://shop.example.com")),
            None,
        )
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&error, TrustedOriginsError::Store(StoreError::Unavailable { message, .. }) if message.contains("lock timeout")),
        "{error:?}"
    );
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(7)).contains(&took),
        "{took:?}"
    );
    eprintln!("a commit waiting for a frozen session failed after {took:?}: {error}");
    frozen.wait().unwrap();
    // Once the other session is gone, commits go through.
    a.change(
        &ChangeRequest::Create(new("Shop", "https://shop.example.com")),
        None,
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_instances_create_the_same_origin_once() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.url();
    let a = instance(&url).await;
    let b = instance(&url).await;
    let rounds = 100;
    let mut wins = [0usize; 2];
    for round in 0..rounds {
        let origin = format!("https://race-{round}.example.com");
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = [&a, &b]
            .into_iter()
            .enumerate()
            .map(|(i, origins)| {
                let (origins, barrier) = (Arc::clone(origins), Arc::clone(&barrier));
                let edit = ChangeRequest::Create(new(&format!("Race {round} {i}"), &origin));
                tokio::spawn(async move {
                    barrier.wait().await;
                    origins.change(&edit, None).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        match (&results[0], &results[1]) {
            (Ok(_), Err(refused)) | (Err(refused), Ok(_)) => assert_eq!(
                *refused,
                TrustedOriginsError::Store(StoreError::Duplicate {
                    field: "origin",
                    value: origin.clone()
                }),
                "round {round}"
            ),
            other => panic!("round {round}: not one success and one refusal: {other:?}"),
        }
        wins[usize::from(results[0].is_err())] += 1;
    }
    eprintln!(
        "racing instances: {rounds} rounds, exactly one success each; instance A won {}, B won {}",
        wins[0], wins[1]
    );
    a.catch_up().await.unwrap();
    b.catch_up().await.unwrap();
    assert_eq!(a.revision(), b.revision());
    let snapshot = a.registry().snapshot().to_vec();
    assert_eq!(snapshot, b.registry().snapshot().to_vec());
    assert_eq!(snapshot.len(), seeds().len() + rounds);
    assert_eq!(
        pg.psql(
            "trusted_cors",
            "SELECT count(*) FROM trusted_origins WHERE origin LIKE 'https://race-%'"
        )
        .unwrap()
        .trim(),
        rounds.to_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_that_goes_away_leaves_instances_serving_and_they_catch_up_when_it_returns() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.url();
    let a = instance(&url).await;
    let b = instance(&url).await;
    let _following = b.follow();

    let shop = "https://shop.example.com";
    a.change(&ChangeRequest::Create(new("Shop", shop)), Some("admin"))
        .await
        .unwrap();
    until(Duration::from_secs(5), "b sees the shop", || {
        trusts(&b, shop)
    })
    .await;
    let revision = b.revision();
    let shown = b.registry().snapshot().to_vec();

    // PostgreSQL goes away, ending every connection.
    tokio::task::block_in_place(|| pg.stop());

    // Changes fail quickly with `Unavailable`, and change nothing.
    for origins in [&a, &b] {
        let started = Instant::now();
        let error = origins
            .change(
                &ChangeRequest::Create(new("Lost", "https://lost.example.com")),
                None,
            )
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(
                error,
                TrustedOriginsError::Store(StoreError::Unavailable { .. })
            ),
            "{error:?}"
        );
        assert!(
            took < Duration::from_secs(4),
            "the change failed after {took:?}"
        );
        eprintln!("a change with the database down failed in {took:?}: {error}");
        assert!(!trusts(origins, "https://lost.example.com"));
    }

    // Meanwhile the follower keeps the last snapshot: never empty, never wider.
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(2) {
        assert_eq!(b.revision(), revision);
        assert_eq!(b.registry().snapshot().to_vec(), shown);
        assert!(trusts(&b, shop));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // PostgreSQL returns. Another instance makes a change at once, while b is still cut off;
    // b reconnects and catches up.
    tokio::task::block_in_place(|| pg.start_again());
    let up = Instant::now();
    let blog = "https://blog.example.com";
    a.change(&ChangeRequest::Create(new("Blog", blog)), Some("admin"))
        .await
        .unwrap();
    let committed = up.elapsed();
    until(
        Duration::from_secs(5),
        "b catches up after the restart",
        || trusts(&b, blog),
    )
    .await;
    let recovered = up.elapsed();
    assert_eq!(b.revision(), a.revision());
    assert_eq!(
        b.registry().snapshot().to_vec(),
        a.registry().snapshot().to_vec()
    );
    eprintln!(
        "after PostgreSQL restarted: the first change committed in {committed:?}; \
         the disconnected instance caught up {recovered:?} after the restart"
    );
    // And is live again: the next change arrives by notification.
    let shop2 = "https://shop2.example.com";
    a.change(&ChangeRequest::Create(new("Shop 2", shop2)), None)
        .await
        .unwrap();
    until(Duration::from_secs(1), "b follows again", || {
        trusts(&b, shop2)
    })
    .await;

    // Now a crash (no shutdown, connections cut) in the middle of a stream of writes: every
    // change acknowledged before it is kept, and both instances converge after the restart.
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let a = Arc::clone(&a);
        let written = Arc::clone(&written);
        tokio::spawn(async move {
            let (mut acknowledged, mut refused) = (Vec::new(), 0);
            for i in 0.. {
                let edit = ChangeRequest::Create(new(
                    &format!("Stream {i}"),
                    &format!("https://stream-{i}.example.com"),
                ));
                match a.change(&edit, None).await {
                    Ok(prepared) => {
                        acknowledged.push(prepared.after.unwrap().id);
                        written.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Err(TrustedOriginsError::Store(StoreError::Unavailable { .. })) => refused += 1,
                    Err(other) => panic!("{other:?}"),
                }
                if refused >= 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (acknowledged, refused)
        })
    };
    // The crash comes in the middle of the stream, once it is well under way (how fast the
    // writes go depends on the machine: wait for them, not for a fixed time).
    until(
        Duration::from_secs(30),
        "a stream of writes under way",
        || written.load(std::sync::atomic::Ordering::SeqCst) > 10,
    )
    .await;
    tokio::task::block_in_place(|| pg.stop_immediate());
    let (acknowledged, refused) = writer.await.unwrap();
    assert!(
        acknowledged.len() > 10,
        "only {} writes before the crash",
        acknowledged.len()
    );
    let revision = b.revision();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        b.revision(),
        revision,
        "b's snapshot changed with the database down"
    );
    tokio::task::block_in_place(|| pg.start_again());
    let up = Instant::now();
    let store = PostgresStore::connect(&url).await.unwrap();
    let held = store.load().await.unwrap();
    for id in &acknowledged {
        assert!(
            held.origins.iter().any(|entry| entry.id == *id),
            "acknowledged {id} is lost"
        );
    }
    until(
        Duration::from_secs(5),
        "b converges after the crash",
        || b.revision() == held.revision,
    )
    .await;
    a.catch_up().await.unwrap();
    assert_eq!(a.revision(), held.revision);
    assert_eq!(b.registry().snapshot().to_vec(), held.origins);
    assert_eq!(a.registry().snapshot().to_vec(), held.origins);
    eprintln!(
        "crash during a stream of writes: {} acknowledged, all kept ({} refused while down); \
         b converged {:?} after the restart",
        acknowledged.len(),
        refused,
        up.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_connections_are_replaced_and_nothing_is_missed() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.url();
    let a = instance(&url).await;
    let b = instance(&url).await;
    let _following = b.follow();
    a.change(
        &ChangeRequest::Create(new("One", "https://one.example.com")),
        None,
    )
    .await
    .unwrap();
    until(Duration::from_secs(5), "b sees one", || {
        trusts(&b, "https://one.example.com")
    })
    .await;

    for round in 0..3 {
        let killed = tokio::task::block_in_place(|| pg.kill_backends());
        assert!(
            killed >= 2,
            "round {round}: only {killed} connections ended"
        );
        let origin = format!("https://after-kill-{round}.example.com");
        let started = Instant::now();
        a.change(
            &ChangeRequest::Create(new(&format!("After {round}"), &origin)),
            None,
        )
        .await
        .unwrap();
        let took = until(
            Duration::from_secs(5),
            "b catches up after the kill",
            || trusts(&b, &origin),
        )
        .await;
        eprintln!(
            "round {round}: ended {killed} connections; a's change committed, b had it {:?} after it started",
            started.elapsed().max(took)
        );
    }
    assert_eq!(b.revision(), a.revision());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_reach_another_instance_within_milliseconds() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.url();
    let a = instance(&url).await;
    let b = instance(&url).await;
    let _following = b.follow();
    // Let the follower start listening.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // For each change: how long a's change took (commit, then applied on a: the API's answer),
    // how long until b applied it (end to end), and how long b lagged behind a's answer.
    let (mut answered, mut end_to_end, mut lag) = (Vec::new(), Vec::new(), Vec::new());
    let mut created: Vec<String> = Vec::new();
    for i in 0..250 {
        let edit = match i {
            0..100 => ChangeRequest::Create(new(
                &format!("Site {i}"),
                &format!("https://site-{i}.example.com"),
            )),
            100..200 => ChangeRequest::SetStatus {
                id: created[i - 100].clone(),
                status: Status::Inactive,
            },
            _ => ChangeRequest::Delete {
                id: created[i - 200].clone(),
            },
        };
        let started = Instant::now();
        let prepared = a.change(&edit, Some("admin")).await.unwrap();
        let took = started.elapsed();
        if i < 100 {
            created.push(prepared.after.unwrap().id.to_string());
        }
        let target = a.revision();
        while b.revision() < target {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "change {i} did not arrive"
            );
            tokio::task::yield_now().await;
        }
        let arrived = started.elapsed();
        answered.push(took);
        end_to_end.push(arrived);
        lag.push(arrived.saturating_sub(took));
    }
    for samples in [&mut answered, &mut end_to_end, &mut lag] {
        samples.sort();
    }
    let p = |samples: &[Duration]| {
        format!(
            "p50 {:?} p99 {:?} max {:?}",
            percentile(samples, 0.50),
            percentile(samples, 0.99),
            samples[samples.len() - 1]
        )
    };
    eprintln!(
        "PostgreSQL, {} changes (100 creates, 100 deactivations, 50 deletes), two instances in one process:\n  \
         a's change answered: {}\n  \
         on b (end to end, from the start of a's change): {}\n  \
         b after a's answer: {}",
        end_to_end.len(),
        p(&answered),
        p(&end_to_end),
        p(&lag)
    );
    let p99 = percentile(&end_to_end, 0.99);
    assert!(p99 <= Duration::from_millis(200), "p99 {p99:?}");
    assert_eq!(
        b.registry().snapshot().to_vec(),
        a.registry().snapshot().to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_origins_are_seeded_in_order_and_loaded() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.url();
    // 100 000 in an optimized build (`cargo test --release`); fewer, but several seed chunks,
    // in a debug build, which is slower at this by an order of magnitude.
    let count = if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    let seeds: Vec<NewTrustedOrigin> = (0..count)
        .map(|i| {
            new(
                &format!("Tenant {i}"),
                &format!("https://tenant-{i}.example.com"),
            )
        })
        .collect();
    let started = Instant::now();
    let store = PostgresStore::connect(&url).await.unwrap();
    let a = TrustedOrigins::open(store, seeds).await.unwrap();
    let seeded = started.elapsed();
    let started = Instant::now();
    let b = TrustedOrigins::open(PostgresStore::connect(&url).await.unwrap(), [])
        .await
        .unwrap();
    let loaded = started.elapsed();
    let snapshot = b.registry().snapshot().to_vec();
    assert_eq!(snapshot.len(), count);
    assert!(snapshot
        .iter()
        .enumerate()
        .all(|(i, entry)| *entry.name == *format!("Tenant {i}")));
    assert_eq!(snapshot, a.registry().snapshot().to_vec());
    // One change at that size, end to end (prepare, commit, read back, apply), 20 times.
    let mut changes = Vec::new();
    for i in 0..20 {
        let edit = ChangeRequest::SetStatus {
            id: snapshot[count / 2 + i].id.to_string(),
            status: Status::Inactive,
        };
        let started = Instant::now();
        a.change(&edit, None).await.unwrap();
        changes.push(started.elapsed());
    }
    let started = Instant::now();
    a.registry()
        .prepare(
            &ChangeRequest::SetStatus {
                id: snapshot[0].id.to_string(),
                status: Status::Inactive,
            },
            None,
        )
        .unwrap();
    let prepare = started.elapsed();
    changes.sort();
    eprintln!(
        "{count} origins (this build's profile): seeded and opened in {seeded:?}, opened by \
         another instance in {loaded:?}; one change at that size: p50 {:?}, max {:?} (of which \
         preparing it {prepare:?})",
        percentile(&changes, 0.5),
        changes[changes.len() - 1]
    );
}

/// `cors-explain`'s connection: it never creates or migrates the schema, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_connection_creates_nothing_and_writes_nothing() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.url();
    // An empty database: no schema, and none made by looking.
    assert!(PostgresStore::connect_read_only(&url)
        .await
        .unwrap()
        .is_none());
    assert!(PostgresStore::connect_read_only(&url)
        .await
        .unwrap()
        .is_none());
    // Made by an instance: read as it is.
    let origins = instance(&url).await;
    let reader = PostgresStore::connect_read_only(&url)
        .await
        .unwrap()
        .expect("the schema exists now");
    let loaded = reader.load().await.unwrap();
    assert_eq!(loaded.revision, origins.registry().snapshot().revision());
    assert_eq!(loaded.origins.len(), seeds().len());
    // A write through it is refused by the database, and nothing changes.
    let entry = loaded.origins[0].clone();
    let error = reader
        .commit(&trusted_cors_core::EntryWrite::Delete(entry.id.to_string()))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("read-only"), "{error}");
    assert_eq!(reader.load().await.unwrap(), loaded);
}
