//! What only the SQLite store has to show: a file that is not a store is refused and kept, a
//! schema newer than the program is refused, one of version 1 is migrated, and two handles on one file (as two processes
//! would have) see each other's changes through the follower within a second.
#![cfg(feature = "sqlite")]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trusted_cors_admin::{SqliteStore, StoreError, TrustedOrigins};
use trusted_cors_core::{ChangeRequest, NewTrustedOrigin, OktaApp, Scope, ScopeType};
use trusted_cors_testing::fixtures;

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("trusted-cors-sqlite-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn seed() -> NewTrustedOrigin {
    NewTrustedOrigin::new("Seed", "https://seed.example", [ScopeType::Cors])
}

#[tokio::test]
async fn a_file_that_is_not_a_store_is_refused_and_kept() {
    let dir = temp_dir("corrupt");
    let path = dir.join("trusted-origins.db");
    std::fs::write(&path, b"{ these are not the origins you are looking for }").unwrap();
    let error = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("trusted-origins.db"), "{error}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{ these are not the origins you are looking for }"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = temp_dir("newer");
    let path = dir.join("trusted-origins.db");
    drop(SqliteStore::open(&path).await.unwrap());
    {
        use sqlx::ConnectOptions as _;
        let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE trusted_cors_schema SET version = 99")
            .execute(&mut connection)
            .await
            .unwrap();
    }
    let error = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        error.to_string().contains("schema version is 99"),
        "{error}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_version_1_store_is_migrated_and_keeps_allowed_okta_apps_from_then_on() {
    let dir = temp_dir("migrate");
    let path = dir.join("trusted-origins.db");
    let store = SqliteStore::open(&path).await.unwrap();
    drop(TrustedOrigins::open(store, [seed()]).await.unwrap());
    // As version 1 left it: the version, and entries whose scopes list no Okta application.
    assert_eq!(schema_version(&path, Some(1)).await, 1);
    let origins = TrustedOrigins::open(SqliteStore::open(&path).await.unwrap(), [])
        .await
        .unwrap();
    assert_eq!(schema_version(&path, None).await, 2);
    assert_eq!(origins.registry().snapshot().len(), 1);
    origins
        .change(&ChangeRequest::Create(fixtures::framed()), None)
        .await
        .unwrap();
    drop(origins);
    let again = TrustedOrigins::open(SqliteStore::open(&path).await.unwrap(), [])
        .await
        .unwrap();
    let snapshot = again.registry().snapshot();
    let entry = snapshot.origins().find(|o| &*o.name == "Framed").unwrap();
    assert_eq!(entry.scopes, [Scope::iframe_embed([OktaApp::OktaEnduser])]);
    std::fs::remove_dir_all(dir).ok();
}

/// The store's schema version, after setting it to `set` if given.
async fn schema_version(path: &std::path::Path, set: Option<i64>) -> i64 {
    use sqlx::ConnectOptions as _;
    let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    if let Some(set) = set {
        sqlx::query("UPDATE trusted_cors_schema SET version = ?")
            .bind(set)
            .execute(&mut connection)
            .await
            .unwrap();
    }
    sqlx::query_scalar("SELECT version FROM trusted_cors_schema")
        .fetch_one(&mut connection)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_see_each_others_changes_within_a_second() {
    let dir = temp_dir("shared");
    let path = dir.join("trusted-origins.db");
    let one = Arc::new(
        TrustedOrigins::open(SqliteStore::open(&path).await.unwrap(), [seed()])
            .await
            .unwrap(),
    );
    let two = Arc::new(
        TrustedOrigins::open(SqliteStore::open(&path).await.unwrap(), [seed()])
            .await
            .unwrap(),
    );
    assert_eq!(two.registry().snapshot().len(), 1, "seeded once");
    let _following = two.follow();
    for round in 0..5 {
        let origin = format!("https://shared{round}.example");
        let new = NewTrustedOrigin::new(format!("shared{round}"), &origin, [ScopeType::Cors]);
        let created = one
            .change(&ChangeRequest::Create(new), Some("test"))
            .await
            .unwrap();
        let id = created.after.unwrap().id;
        let started = Instant::now();
        while two.registry().snapshot().get(&id).is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "round {round}: the other handle did not see the change within a second"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert_eq!(one.revision(), two.revision());
    std::fs::remove_dir_all(dir).ok();
}
