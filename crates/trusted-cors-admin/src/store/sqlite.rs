//! [`SqliteStore`]: the embedded default, one SQLite file.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row as _;
use trusted_cors_core::{CommittedChange, EntryWrite, TrustedOrigin};

use super::sql::{self, SCHEMA_VERSION};
use super::{Loaded, StoreError, StoreFuture, TrustedOriginStore};

/// The tables of schema version 1, for a new store ([`sql::upgrade`] migrates them on).
const CREATE: &[&str] = &[
    "CREATE TABLE trusted_cors_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
    )",
    "INSERT INTO trusted_cors_revision (id, revision) VALUES (1, 0)",
    "CREATE TABLE trusted_origins (
        place INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name_key TEXT NOT NULL,
        origin TEXT NOT NULL,
        entry TEXT NOT NULL,
        revision INTEGER NOT NULL,
        deleted BOOLEAN NOT NULL DEFAULT FALSE
    )",
    "CREATE UNIQUE INDEX trusted_origins_unique_name ON trusted_origins (name_key) WHERE NOT deleted",
    "CREATE UNIQUE INDEX trusted_origins_unique_origin ON trusted_origins (origin) WHERE NOT deleted",
    "CREATE INDEX trusted_origins_by_revision ON trusted_origins (revision)",
    "DELETE FROM trusted_cors_schema",
    "INSERT INTO trusted_cors_schema (version) VALUES (1)",
];

/// How often [`changed`](TrustedOriginStore::changed) looks for other processes' commits.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// Trusted origins in one SQLite file: the embedded default. The file is created, and its
/// schema created or migrated, when the store is opened.
///
/// - Write-ahead log, `synchronous = FULL`: a change is on disk when its commit returns, and a
///   crash at any moment leaves every acknowledged change.
/// - Several processes on one machine may share the file (not a network file system): commits
///   are serialized by SQLite's lock (waiting up to 5 s for it), and each process sees the
///   others' changes within a second ([`changed`](TrustedOriginStore::changed) looks every
///   100 ms).
/// - Uniqueness of names and origins is enforced by unique indexes. See the
///   [`TrustedOriginStore`] for the contract.
///
/// ```
/// use std::sync::Arc;
/// use trusted_cors_admin::{SqliteStore, TrustedOrigins};
/// use trusted_cors_core::{ChangeRequest, NewTrustedOrigin, ScopeType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("trusted-cors-sqlite-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("trusted-origins.db");
/// # let _ = std::fs::remove_file(&path);
///
/// let seeds = [NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors])];
/// let origins = TrustedOrigins::open(SqliteStore::open(&path).await?, seeds.clone()).await?;
/// let shop = NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]);
/// origins.change(&ChangeRequest::Create(shop), Some("admin")).await?;
/// drop(origins);
///
/// // After a restart: loaded from the file, the seeds not used again.
/// let origins = TrustedOrigins::open(SqliteStore::open(&path).await?, seeds).await?;
/// assert_eq!(origins.registry().snapshot().len(), 2);
/// assert_eq!(origins.revision(), 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
    /// The store's id (see [`TrustedOriginStore::store_id`]); `None` for a store opened read only
    /// that has none yet.
    store_id: Option<String>,
    /// The revision the last `changed` saw.
    seen: Mutex<u64>,
}

impl SqliteStore {
    /// Opens (creating it when missing) the SQLite file at `path` and creates or migrates its
    /// schema. A file that is not a SQLite database, or holds a newer schema, is an error and is
    /// left untouched.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let mut store = SqliteStore::connect(path, options, 4).await?;
        store.store_id = Some(store.migrate().await?);
        *store.seen.lock().unwrap_or_else(PoisonError::into_inner) = store.revision().await?;
        Ok(store)
    }

    /// Opens the SQLite file at `path` to read it only, for a tool that looks at a running
    /// service's store (the example org's `cors-explain`): nothing is created, migrated or
    /// seeded, and a commit through it fails. The file must exist and hold this crate's schema.
    /// No file is created next to it either: while no process has the database open (there is
    /// no write-ahead log beside it), it is read as immutable, since reading it otherwise would
    /// create the log and its shared-memory file.
    pub async fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true)
            .immutable(!Path::new(&wal).exists())
            .busy_timeout(Duration::from_secs(5));
        let mut store = SqliteStore::connect(path, options, 1).await?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM trusted_cors_schema")
                .fetch_one(&store.pool)
                .await
                .map_err(|e| store.error(e, None))?;
        match version {
            // Version 1 reads as version 2 does (its scopes list no Okta application).
            Some(1..=SCHEMA_VERSION) => {}
            Some(version) if version > SCHEMA_VERSION => {
                return Err(sql::newer_schema(&store.describe(), version))
            }
            _ => {
                return Err(StoreError::Corrupt {
                    store: store.describe(),
                    message: "it holds no trusted-origins schema".to_owned(),
                })
            }
        }
        // None when it never got the table (made by a program before it).
        store.store_id = sqlx::query_scalar(sql::STORE_ID)
            .fetch_optional(&store.pool)
            .await
            .ok()
            .flatten();
        *store.seen.lock().unwrap_or_else(PoisonError::into_inner) = store.revision().await?;
        Ok(store)
    }

    /// A store on a pool of at most `connections` connections to `path`, opened with `options`.
    async fn connect(
        path: PathBuf,
        options: SqliteConnectOptions,
        connections: u32,
    ) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|error| sql::store_error(&describe(&path), error, None))?;
        Ok(SqliteStore {
            pool,
            path,
            store_id: None,
            seen: Mutex::new(0),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, error: sqlx::Error, change: Option<&EntryWrite>) -> StoreError {
        sql::store_error(&self.describe(), error, change)
    }

    /// Creates or migrates the schema, and returns the store's id (given it here if new).
    async fn migrate(&self) -> Result<String, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.error(e, None))?;
        sqlx::query("CREATE TABLE IF NOT EXISTS trusted_cors_schema (version INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e, None))?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM trusted_cors_schema")
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.error(e, None))?;
        match version {
            Some(version) if version > SCHEMA_VERSION => {
                return Err(sql::newer_schema(&self.describe(), version))
            }
            _ => {}
        }
        let upgraded = version != Some(SCHEMA_VERSION);
        for statement in sql::upgrade(version, CREATE) {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e, None))?;
        }
        let store_id = sql::claim_store_id!(tx, |e| self.error(e, None));
        tx.commit().await.map_err(|e| self.error(e, None))?;
        if upgraded {
            tracing::info!(target: "trusted_cors::store", store = %self.describe(), from = version, version = SCHEMA_VERSION, "created or migrated the trusted-origins schema");
        }
        Ok(store_id)
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        let revision: i64 = sqlx::query_scalar(sql::CURRENT_REVISION)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.error(e, None))?;
        Ok(sql::revision_of(revision))
    }

    async fn commit_change(&self, change: &EntryWrite) -> Result<u64, StoreError> {
        let store = self.describe();
        let fail = |e| sql::store_error(&store, e, Some(change));
        // The first statement writes, so the transaction holds the write lock from its start.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(fail)?;
        let revision: i64 = sqlx::query_scalar(sql::NEXT_REVISION)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        sql::write_change!(tx, &store, change, revision, fail);
        tx.commit().await.map_err(fail)?;
        Ok(sql::revision_of(revision))
    }

    async fn seed_all(&self, origins: &[TrustedOrigin]) -> Result<bool, StoreError> {
        let store = self.describe();
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.error(e, None))?;
        let revision: i64 = sqlx::query_scalar(sql::CURRENT_REVISION)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.error(e, None))?;
        if revision != 0 {
            return Ok(false);
        }
        for entry in origins {
            let row = sql::encode(&store, entry)?;
            let change = EntryWrite::Upsert(entry.clone());
            sqlx::query(sql::INSERT_ENTRY)
                .bind(&entry.id)
                .bind(&row.name_key)
                .bind(&row.origin)
                .bind(&row.entry)
                .bind(1_i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e, Some(&change)))?;
        }
        sqlx::query(sql::SEEDED)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e, None))?;
        tx.commit().await.map_err(|e| self.error(e, None))?;
        Ok(true)
    }

    async fn load_all(&self) -> Result<Loaded, StoreError> {
        let store = self.describe();
        // One read transaction: the entries and the revision of one moment.
        let mut tx = self.pool.begin().await.map_err(|e| self.error(e, None))?;
        let revision: i64 = sqlx::query_scalar(sql::CURRENT_REVISION)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.error(e, None))?;
        let rows = sqlx::query(sql::LOAD_ENTRIES)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e, None))?;
        tx.commit().await.map_err(|e| self.error(e, None))?;
        let origins = sql::read_entries!(rows, &store, |e| self.error(e, None));
        Ok(Loaded::new(sql::revision_of(revision), origins))
    }

    async fn feed(&self, after: u64) -> Result<Vec<CommittedChange>, StoreError> {
        let store = self.describe();
        let rows = sqlx::query(sql::FEED)
            .bind(sql::db_revision(after))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.error(e, None))?;
        Ok(sql::read_feed!(rows, &store, |e| self.error(e, None)))
    }
}

fn describe(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

sql::sql_store!(SqliteStore, "sqlite");

impl SqliteStore {
    /// Resolves once another handle or process committed (the revision moved), looking every
    /// [`POLL_EVERY`].
    async fn notified(&self) -> Result<(), StoreError> {
        loop {
            let now = self.revision().await?;
            {
                let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
                if now != *seen {
                    *seen = now;
                    return Ok(());
                }
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    fn describe_store(&self) -> String {
        describe(&self.path)
    }
}
