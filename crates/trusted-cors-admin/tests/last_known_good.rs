//! The last-known-good copy on real SQLite files: it follows every change applied (this
//! instance's and another's), an instance whose store is down at start serves it and catches up
//! once the store is back, and a damaged copy, or one of another store, is never used.

#![cfg(feature = "sqlite")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use trusted_cors_admin::{
    LastKnownGood, LazyStore, SqliteStore, StoreError, TrustedOrigins, TrustedOriginsError,
    LAST_KNOWN_GOOD_FILE,
};
use trusted_cors_core::{ChangeRequest, NewTrustedOrigin, ScopeType, Status};

fn new(name: &str, origin: &str) -> NewTrustedOrigin {
    NewTrustedOrigin::new(name, origin, [ScopeType::Cors])
}

fn seeds() -> Vec<NewTrustedOrigin> {
    vec![new("Portal", "https://portal.example.com")]
}

/// A database file that is "down" while `up` is false: connecting to it then fails as a
/// database that cannot be reached does.
fn database(path: &Path, up: &Arc<AtomicBool>) -> LazyStore {
    database_at(&Arc::new(Mutex::new(path.to_path_buf())), up)
}

/// The database at the path `at` holds (whichever file it is, described as the same one), down
/// while `up` is false.
fn database_at(at: &Arc<Mutex<PathBuf>>, up: &Arc<AtomicBool>) -> LazyStore {
    let (at, up) = (Arc::clone(at), Arc::clone(up));
    LazyStore::new("the test database", "sqlite", move || {
        let path = at.lock().unwrap().clone();
        let up = up.load(Ordering::SeqCst);
        async move {
            if !up {
                return Err(StoreError::Unavailable {
                    store: "the test database".into(),
                    message: "connection refused".into(),
                });
            }
            SqliteStore::open(path).await
        }
    })
}

/// A directory of this test's own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("trusted-cors-lkg-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// The log lines that name the copy `file`.
fn logged_for(file: &Path) -> Vec<String> {
    let needle = format!("copy={} ", file.display());
    trusted_cors_testing::global_log()
        .text()
        .lines()
        .filter(|line| line.contains(&needle))
        .map(str::to_owned)
        .collect()
}

fn trusts(origins: &TrustedOrigins, origin: &str) -> bool {
    origins
        .registry()
        .snapshot()
        .trusted(origin, ScopeType::Cors)
        .is_some()
}

async fn open(
    db: &Path,
    up: &Arc<AtomicBool>,
    copy: &Path,
) -> Result<TrustedOrigins, TrustedOriginsError> {
    let copy = LastKnownGood::open(copy).await.unwrap();
    TrustedOrigins::open_with_copy(database(db, up), seeds(), copy).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_store_is_down_serves_its_copy_and_catches_up() {
    let dir = dir("restart");
    let (db, copy) = (dir.path().join("origins.db"), dir.path().join("copy"));
    let up = Arc::new(AtomicBool::new(true));
    let here = open(&db, &up, &copy).await.unwrap();
    assert!(!here.health().degraded());
    let shop = here
        .change(
            &ChangeRequest::Create(new("Shop", "https://shop.example.com")),
            Some("a"),
        )
        .await
        .unwrap()
        .after
        .unwrap();
    let gone = here
        .change(
            &ChangeRequest::Create(new("Gone", "https://gone.example.com")),
            Some("a"),
        )
        .await
        .unwrap()
        .after
        .unwrap();
    here.change(
        &ChangeRequest::SetStatus {
            id: shop.id.to_string(),
            status: Status::Inactive,
        },
        Some("a"),
    )
    .await
    .unwrap();
    // Another instance's changes reach the copy as this one applies them.
    let there = TrustedOrigins::open(SqliteStore::open(&db).await.unwrap(), seeds())
        .await
        .unwrap();
    there
        .change(
            &ChangeRequest::Delete {
                id: gone.id.to_string(),
            },
            Some("b"),
        )
        .await
        .unwrap();
    there
        .change(
            &ChangeRequest::Create(new("Docs", "https://docs.example.com")),
            Some("b"),
        )
        .await
        .unwrap();
    here.catch_up().await.unwrap();
    let served = here.registry().snapshot().to_vec();
    let revision = here.revision();
    drop(here);

    // Down at start: the copy, whole, at its revision.
    up.store(false, Ordering::SeqCst);
    let restarted = open(&db, &up, &copy).await.unwrap();
    assert_eq!(restarted.registry().snapshot().to_vec(), served);
    assert_eq!(restarted.revision(), revision);
    assert!(trusts(&restarted, "https://docs.example.com"));
    assert!(
        !trusts(&restarted, "https://shop.example.com"),
        "deactivated before"
    );
    assert!(
        !trusts(&restarted, "https://gone.example.com"),
        "deleted before"
    );
    let health = restarted.health();
    assert!(
        health.degraded() && !health.up && health.from_copy,
        "{health:?}"
    );
    let refused = restarted
        .change(
            &ChangeRequest::Create(new("Late", "https://late.example.com")),
            None,
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(TrustedOriginsError::Store(StoreError::Unavailable { .. }))
        ),
        "{refused:?}"
    );
    assert_eq!(restarted.revision(), revision, "nothing changed");

    // The fleet moved on meanwhile; the store is back: caught up from the copy's revision.
    there
        .change(
            &ChangeRequest::Create(new("Fleet", "https://fleet.example.com")),
            Some("b"),
        )
        .await
        .unwrap();
    up.store(true, Ordering::SeqCst);
    assert_eq!(restarted.catch_up().await.unwrap(), there.revision());
    assert!(trusts(&restarted, "https://fleet.example.com"));
    let health = restarted.health();
    assert!(!health.degraded(), "{health:?}");
    assert_eq!(
        restarted.registry().snapshot().to_vec(),
        there.registry().snapshot().to_vec()
    );
}

/// Makes a sound copy, in `copy`, of the store at `db`, with one change (an origin named after
/// the copy's directory), and returns its file.
async fn sound_copy(db: &Path, copy: &Path) -> PathBuf {
    let up = Arc::new(AtomicBool::new(true));
    let file = LastKnownGood::open(copy).await.unwrap();
    let origins = TrustedOrigins::open_with_copy(database(db, &up), seeds(), file.clone())
        .await
        .unwrap();
    let name = copy.file_name().unwrap().to_str().unwrap();
    let origin = format!("https://{name}.example.com");
    origins
        .change(&ChangeRequest::Create(new(name, &origin)), None)
        .await
        .unwrap();
    drop(origins);
    // Closed as at a clean shutdown: everything in the file, no log beside it.
    file.close().await;
    copy.join(LAST_KNOWN_GOOD_FILE)
}

async fn refused_to_start(db: &Path, copy: &Path) {
    let down = Arc::new(AtomicBool::new(false));
    let error = open(db, &down, copy).await.unwrap_err().to_string();
    assert!(
        error.contains("the trusted-origins store the test database is unavailable")
            && error.contains("no sound last-known-good copy")
            && error.contains(&copy.join(LAST_KNOWN_GOOD_FILE).display().to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn a_damaged_copy_or_one_of_another_store_is_never_used() {
    trusted_cors_testing::global_log();
    let dir = dir("damaged");
    let db = dir.path().join("origins.db");

    // No copy at all: and none made by the instance that refused to start.
    let never = dir.path().join("never");
    refused_to_start(&db, &never).await;
    assert!(!never.exists(), "the copy's directory was made");

    // Not SQLite.
    let garbage = dir.path().join("garbage");
    std::fs::create_dir_all(&garbage).unwrap();
    std::fs::write(garbage.join(LAST_KNOWN_GOOD_FILE), [0x5a_u8; 8192]).unwrap();
    refused_to_start(&db, &garbage).await;
    assert!(garbage
        .join(format!("{LAST_KNOWN_GOOD_FILE}.corrupt"))
        .exists());

    // Truncated.
    let truncated = dir.path().join("truncated");
    let file = sound_copy(&db, &truncated).await;
    trusted_cors_testing::cut_in_half(&file);
    refused_to_start(&db, &truncated).await;
    assert!(truncated
        .join(format!("{LAST_KNOWN_GOOD_FILE}.corrupt"))
        .exists());

    // Sound SQLite, but a row that is not a trusted origin: not used, not even in part.
    let bad_row = dir.path().join("bad-row");
    let file = sound_copy(&db, &bad_row).await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE trusted_cors_copy_origins SET entry = '{\"id\": 1}' WHERE place = (SELECT max(place) FROM trusted_cors_copy_origins)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    refused_to_start(&db, &bad_row).await;
    let logged = logged_for(&file);
    assert!(
        logged.iter().any(|line| line.contains("WARN")
            && line.contains("the last-known-good copy is corrupt: ignored")
            && line.contains("is not a trusted origin")),
        "{logged:#?}"
    );

    // A sound copy of another store.
    let other = dir.path().join("other");
    let file = sound_copy(&dir.path().join("another.db"), &other).await;
    let copy = LastKnownGood::open(&other).await.unwrap();
    let store = LazyStore::new("a third database", "sqlite", || async {
        Err::<SqliteStore, _>(StoreError::Unavailable {
            store: "a third database".into(),
            message: "connection refused".into(),
        })
    });
    let error = TrustedOrigins::open_with_copy(store, seeds(), copy)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("no sound last-known-good copy"),
        "{error}"
    );
    let logged = logged_for(&file);
    assert!(
        logged.iter().any(|line| line.contains("WARN")
            && line.contains("the last-known-good copy is of another store: ignored")
            && line.contains("store=\"a third database\"")),
        "{logged:#?}"
    );

    // A sound copy of this store is used.
    let sound = dir.path().join("sound");
    sound_copy(&db, &sound).await;
    let down = Arc::new(AtomicBool::new(false));
    let origins = open(&db, &down, &sound).await.unwrap();
    assert!(trusts(&origins, "https://sound.example.com"));
    assert!(trusts(&origins, "https://truncated.example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_one_copy_leave_it_whole() {
    let dir = dir("shared");
    let (db, copy) = (dir.path().join("origins.db"), dir.path().join("copy"));
    let up = Arc::new(AtomicBool::new(true));
    let one = open(&db, &up, &copy).await.unwrap();
    let two = open(&db, &up, &copy).await.unwrap();
    for i in 0..6 {
        // Each applies its own change first and the other's after: the copy is written out of
        // step half of the time, and then whole.
        let (writer, other) = if i % 2 == 0 {
            (&one, &two)
        } else {
            (&two, &one)
        };
        let name = format!("n{i}");
        writer
            .change(
                &ChangeRequest::Create(new(&name, &format!("https://{name}.example.com"))),
                None,
            )
            .await
            .unwrap();
        other.catch_up().await.unwrap();
    }
    let latest = one.registry().snapshot().to_vec();
    drop((one, two));
    let down = Arc::new(AtomicBool::new(false));
    let restarted = open(&db, &down, &copy).await.unwrap();
    assert_eq!(restarted.registry().snapshot().to_vec(), latest);
}

async fn open_at(at: &Arc<Mutex<PathBuf>>, up: &Arc<AtomicBool>, copy: &Path) -> TrustedOrigins {
    let copy = LastKnownGood::open(copy).await.unwrap();
    TrustedOrigins::open_with_copy(database_at(at, up), seeds(), copy)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_another_store_with_the_same_description_is_never_caught_up_from() {
    trusted_cors_testing::global_log();
    let dir = dir("same-description");
    let (one, two) = (dir.path().join("one.db"), dir.path().join("two.db"));
    // Two databases at the same revision, each with an origin of its own, described alike (a
    // database dropped and made again at the same URL).
    for (db, name) in [(&one, "one"), (&two, "two")] {
        let origins = TrustedOrigins::open(SqliteStore::open(db).await.unwrap(), seeds())
            .await
            .unwrap();
        let origin = format!("https://{name}.example.com");
        origins
            .change(&ChangeRequest::Create(new(name, &origin)), None)
            .await
            .unwrap();
        assert_eq!(origins.revision(), 2);
    }
    let at = Arc::new(Mutex::new(one.clone()));
    let (up, down) = (
        Arc::new(AtomicBool::new(true)),
        Arc::new(AtomicBool::new(false)),
    );

    // Started on `two` while it is up, with a copy of `one` at the same revision: the copy is
    // written anew, and served at the next start.
    let copy = dir.path().join("copy");
    drop(open_at(&at, &up, &copy).await);
    *at.lock().unwrap() = two.clone();
    drop(open_at(&at, &up, &copy).await);
    let logged = logged_for(&copy.join(LAST_KNOWN_GOOD_FILE));
    assert!(
        logged.iter().any(|line| line.contains("WARN")
            && line.contains("the last-known-good copy is of another store with the same description: ignored, written anew")),
        "{logged:#?}"
    );
    let served = open_at(&at, &down, &copy).await;
    assert!(trusts(&served, "https://two.example.com"));
    assert!(!trusts(&served, "https://one.example.com"));
    drop(served);

    // A copy of `one` served while the store is down; the store comes back as `two`: loaded
    // whole, not caught up from the copy's revision (which would keep `one`'s origin).
    *at.lock().unwrap() = one.clone();
    let copy = dir.path().join("copy-of-one");
    drop(open_at(&at, &up, &copy).await);
    let restarted = open_at(&at, &down, &copy).await;
    assert!(trusts(&restarted, "https://one.example.com"));
    assert!(restarted.health().degraded());
    *at.lock().unwrap() = two.clone();
    down.store(true, Ordering::SeqCst);
    assert_eq!(restarted.catch_up().await.unwrap(), 2);
    assert!(trusts(&restarted, "https://two.example.com"));
    assert!(!trusts(&restarted, "https://one.example.com"));
    let two_now = TrustedOrigins::open(SqliteStore::open(&two).await.unwrap(), seeds())
        .await
        .unwrap();
    assert_eq!(
        restarted.registry().snapshot().to_vec(),
        two_now.registry().snapshot().to_vec()
    );
    assert!(!restarted.health().degraded());
    let logged = logged_for(&copy.join(LAST_KNOWN_GOOD_FILE));
    assert!(
        logged.iter().any(|line| line.contains("WARN")
            && line.contains("the last-known-good copy served since the start is of another store with the same description")),
        "{logged:#?}"
    );
}
