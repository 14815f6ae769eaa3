//! [`LastKnownGood`]: an instance's local copy of the snapshot it serves, in a SQLite file, so
//! that it can start, and serve, while its store is down.
//!
//! # Layout (copy schema version 2, its own tables, apart from the store's)
//!
//! - `trusted_cors_copy_schema (version)`: one row.
//! - `trusted_cors_copy (id = 1, store, revision, written, store_id)`: what the copy is of (the
//!   store's description, never a password, and its id when it keeps one: see
//!   `TrustedOriginStore::store_id`), the revision it holds, and when it was written (Unix
//!   seconds). No row: never written.
//!
//! A file of version 1 (no store id) is set aside as a damaged one is, and a new copy written.
//! - `trusted_cors_copy_origins (place, id, entry)`: the entries, in creation order, as JSON.
//!
//! Every write is one SQLite transaction, in write-ahead-log mode with `synchronous = NORMAL`: a
//! crash of the process or of the machine leaves the copy as it was after some write, never
//! between two (a power loss may lose the last writes, not the copy: it is then older, and the
//! catch-up from its revision makes up for it). No `fsync` per write: the log is synced when it
//! is folded into the file, at each open and every 1000 pages. A read checks the whole file first
//! (`PRAGMA integrity_check`), then reads everything in one transaction; anything wrong and the
//! copy is not used at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row as _;
use trusted_cors_core::{CommittedChange, EntryWrite, RegistrySnapshot, TrustedOrigin};

use crate::StoreError;

/// The copy's layout version.
const COPY_SCHEMA_VERSION: i64 = 2;

/// The file a [`LastKnownGood`] keeps in its directory.
pub const LAST_KNOWN_GOOD_FILE: &str = "last-known-good.db";

/// An instance's last-known-good copy of its trusted origins: a SQLite file beside the process,
/// rewritten (in one transaction) after every change or batch of changes the instance applies.
///
/// Give it to [`TrustedOrigins::open_with_copy`](crate::TrustedOrigins::open_with_copy): when the
/// store cannot be reached at start, the instance loads the copy and serves from it (fail
/// static, as a running instance does when its store goes down), refuses changes until the store
/// is back, and then catches up from the copy's revision. A copy that is damaged (truncated, not
/// SQLite, rows that are not trusted origins) or of another store is ignored with a warning and
/// never used in part; a damaged file is set aside as `<file>.corrupt` and a new copy written.
///
/// One copy per instance: instances on one machine each get a directory of their own (sharing
/// one is safe, every write being a whole consistent snapshot, but then the copy is whichever
/// wrote last).
#[derive(Debug, Clone)]
pub struct LastKnownGood {
    /// The open file: opened by [`open`](Self::open) when it exists, else made (with its
    /// directory) by the first write.
    pool: Arc<tokio::sync::OnceCell<SqlitePool>>,
    path: PathBuf,
}

/// Which store a copy is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreOf {
    /// Its description.
    pub(crate) describe: String,
    /// Its id, if it keeps one.
    pub(crate) id: Option<String>,
}

/// What a copy says it is: of which store, at which revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) of: StoreOf,
    pub(crate) revision: u64,
}

/// What a copy held when read.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    /// The store it is a copy of.
    pub(crate) of: StoreOf,
    /// Its revision.
    pub(crate) revision: u64,
    /// When it was written.
    pub(crate) written: SystemTime,
    /// The entries, in creation order.
    pub(crate) origins: Vec<TrustedOrigin>,
}

impl LastKnownGood {
    /// Opens the copy in `dir` ([`LAST_KNOWN_GOOD_FILE`]). When the file is missing, neither it
    /// nor the directory is made here, but by the first write: an instance that then refuses to
    /// start (no copy, and its store down) leaves nothing behind. A file SQLite finds damaged
    /// (not a database, or failing its integrity check) is set aside as `<file>.corrupt` with
    /// its log (and a warning on target `trusted_cors::store`), and a new one made by the first
    /// write. Fails when the file exists and cannot be opened for another reason (locked, a copy
    /// of a newer program; that file is left as it is) or set aside; a directory or a file that
    /// cannot be made or written fails the writes (each logged), not this.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = dir.as_ref().join(LAST_KNOWN_GOOD_FILE);
        let copy = LastKnownGood {
            pool: Arc::default(),
            path,
        };
        let path = &copy.path;
        let failed = |message: String| StoreError::Unavailable {
            store: format!("last-known-good copy {}", path.display()),
            message,
        };
        if !path.try_exists().map_err(|e| failed(e.to_string()))? {
            return Ok(copy);
        }
        match connect(path).await {
            Ok(pool) => {
                copy.pool.set(pool).map_err(|e| failed(e.to_string()))?;
                return Ok(copy);
            }
            // Anything but a damaged file (a lock held too long, a full disk, a copy of a newer
            // program) leaves the file as it is: it may be sound, and is needed most when the
            // database is down.
            Err(Opening::Failed(reason)) => return Err(failed(reason)),
            Err(Opening::Damaged(reason)) => {
                let aside = path.with_extension("db.corrupt");
                tracing::warn!(target: "trusted_cors::store", copy = %path.display(), %reason, set_aside = %aside.display(), "the last-known-good copy is corrupt: ignored, set aside, and written anew");
                // The file's log goes with it: a new file must not meet the old one's log.
                for companion in ["", "-wal", "-shm", "-journal"] {
                    let (mut from, mut to) = (
                        path.clone().into_os_string(),
                        aside.clone().into_os_string(),
                    );
                    from.push(companion);
                    to.push(companion);
                    match std::fs::rename(&from, &to) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(failed(e.to_string()))
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(copy)
    }

    /// The open file, made (with its directory) when missing.
    async fn pool(&self) -> Result<&SqlitePool, String> {
        self.pool
            .get_or_try_init(|| async {
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                connect(&self.path)
                    .await
                    .map_err(|reason| reason.to_string())
            })
            .await
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the file (what is written stays), for a clean shutdown: the write-ahead log is
    /// folded into the file and removed. A copy still held by a
    /// [`TrustedOrigins`](crate::TrustedOrigins) fails its next write (logged), and nothing else.
    pub async fn close(&self) {
        if let Some(pool) = self.pool.get() {
            pool.close().await;
        }
    }

    /// What the copy holds, when it is a whole, sound copy of `store`; `None` (with a warning
    /// saying why, unless it was never written) otherwise.
    pub(crate) async fn read(&self, store: &str) -> Option<Held> {
        match self.read_all().await {
            Ok(Some(held)) if held.of.describe == store => Some(held),
            Ok(Some(held)) => {
                tracing::warn!(target: "trusted_cors::store", copy = %self.path.display(), of = %held.of.describe, store, "the last-known-good copy is of another store: ignored");
                None
            }
            Ok(None) => None,
            Err(reason) => {
                tracing::warn!(target: "trusted_cors::store", copy = %self.path.display(), %reason, "the last-known-good copy is corrupt: ignored");
                None
            }
        }
    }

    async fn read_all(&self) -> Result<Option<Held>, String> {
        // No file: never written.
        let Some(pool) = self.pool.get() else {
            return Ok(None);
        };
        check(pool).await.map_err(|reason| reason.to_string())?;
        let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
        let meta = sqlx::query(
            "SELECT store, revision, written, store_id FROM trusted_cors_copy WHERE id = 1",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
        let Some(meta) = meta else {
            return Ok(None);
        };
        let rows = sqlx::query("SELECT id, entry FROM trusted_cors_copy_origins ORDER BY place")
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        let mut origins = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0).map_err(|e| e.to_string())?;
            let entry: String = row.try_get(1).map_err(|e| e.to_string())?;
            let entry: TrustedOrigin = serde_json::from_str(&entry)
                .map_err(|e| format!("the row of {id} is not a trusted origin: {e}"))?;
            origins.push(entry);
        }
        let revision: i64 = meta.try_get(1).map_err(|e| e.to_string())?;
        let written: i64 = meta.try_get(2).map_err(|e| e.to_string())?;
        Ok(Some(Held {
            of: StoreOf {
                describe: meta.try_get(0).map_err(|e| e.to_string())?,
                id: meta.try_get(3).map_err(|e| e.to_string())?,
            },
            revision: u64::try_from(revision).map_err(|e| e.to_string())?,
            written: UNIX_EPOCH + Duration::from_secs(u64::try_from(written).unwrap_or(0)),
            origins,
        }))
    }

    /// What the copy says it is, if it was written (a cheap look, no check).
    pub(crate) async fn stamp(&self) -> Option<Stamp> {
        stamp_in(self.pool.get()?).await.ok()?
    }

    /// Makes the copy `snapshot`, the state of `store`, in one transaction.
    pub(crate) async fn write_all(
        &self,
        store: &StoreOf,
        snapshot: &RegistrySnapshot,
    ) -> Result<(), String> {
        self.write(store, None, snapshot).await
    }

    /// Applies `changes` (the feed from revision `from` to `snapshot`'s) to the copy, in one
    /// transaction; when the copy is not at `from` (an earlier write failed, or another instance
    /// sharing the file wrote it), writes `snapshot` whole instead.
    pub(crate) async fn write_changes(
        &self,
        store: &StoreOf,
        from: u64,
        changes: &[CommittedChange],
        snapshot: &RegistrySnapshot,
    ) -> Result<(), String> {
        self.write(store, Some((from, changes)), snapshot).await
    }

    async fn write(
        &self,
        store: &StoreOf,
        changes: Option<(u64, &[CommittedChange])>,
        snapshot: &RegistrySnapshot,
    ) -> Result<(), String> {
        // Holds the file's write lock from here to the commit: what is read is what is changed.
        let mut tx = self
            .pool()
            .await?
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| e.to_string())?;
        let held = stamp_in(&mut *tx).await?;
        let in_step = |from: u64| {
            held.as_ref()
                .is_some_and(|held| held.of == *store && held.revision == from)
        };
        match changes {
            Some((from, changes)) if in_step(from) => {
                for change in changes {
                    match &change.write {
                        EntryWrite::Upsert(entry) => upsert(&mut tx, entry).await?,
                        EntryWrite::Delete(id) => {
                            sqlx::query("DELETE FROM trusted_cors_copy_origins WHERE id = $1")
                                .bind(id)
                                .execute(&mut *tx)
                                .await
                                .map_err(|e| e.to_string())?;
                        }
                    }
                }
            }
            _ => {
                sqlx::query("DELETE FROM trusted_cors_copy_origins")
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                for entry in snapshot.origins() {
                    upsert(&mut tx, entry).await?;
                }
            }
        }
        stamp(&mut tx, store, snapshot.revision()).await?;
        tx.commit().await.map_err(|e| e.to_string())
    }
}

/// A pool on the copy at `path`, its file checked and its tables made; `Err` says why the file
/// is not a sound copy.
/// Why the copy could not be opened.
enum Opening {
    /// The file is not a sound SQLite database: set it aside and make a new one.
    Damaged(String),
    /// Anything else: the file is left as it is.
    Failed(String),
}

impl std::fmt::Display for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Opening::Damaged(reason) | Opening::Failed(reason) => f.write_str(reason),
        }
    }
}

impl From<sqlx::Error> for Opening {
    /// SQLite's `SQLITE_CORRUPT` and `SQLITE_NOTADB` (primary codes 11 and 26) are a damaged
    /// file; every other error is not.
    fn from(error: sqlx::Error) -> Self {
        let primary = match &error {
            sqlx::Error::Database(e) => e.code().and_then(|code| code.parse::<i32>().ok()),
            _ => None,
        };
        match primary.map(|code| code & 0xff) {
            Some(11 | 26) => Opening::Damaged(error.to_string()),
            _ => Opening::Failed(error.to_string()),
        }
    }
}

async fn connect(path: &Path) -> Result<SqlitePool, Opening> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    if let Err(reason) = prepare(&pool).await {
        pool.close().await;
        return Err(reason);
    }
    // What the last run left in the log, folded into the file.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await?;
    Ok(pool)
}

/// Checks the file and makes the copy's tables when missing.
async fn prepare(pool: &SqlitePool) -> Result<(), Opening> {
    check(pool).await?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for statement in [
        "CREATE TABLE IF NOT EXISTS trusted_cors_copy_schema (version INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS trusted_cors_copy (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            store TEXT NOT NULL,
            revision INTEGER NOT NULL,
            written INTEGER NOT NULL,
            store_id TEXT
        )",
        "CREATE TABLE IF NOT EXISTS trusted_cors_copy_origins (
            place INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            entry TEXT NOT NULL
        )",
    ] {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM trusted_cors_copy_schema")
            .fetch_one(&mut *tx)
            .await?;
    match version {
        None => {
            sqlx::query("INSERT INTO trusted_cors_copy_schema (version) VALUES ($1)")
                .bind(COPY_SCHEMA_VERSION)
                .execute(&mut *tx)
                .await?;
        }
        Some(COPY_SCHEMA_VERSION) => {}
        // An earlier build's copy, which does not say which store it is of by id.
        Some(1) => {
            return Err(Opening::Damaged(
                "its copy schema version is 1, which has no store id".to_owned(),
            ))
        }
        Some(other) => {
            return Err(Opening::Failed(format!(
                "its copy schema version is {other}, not {COPY_SCHEMA_VERSION}"
            )))
        }
    }
    Ok(tx.commit().await?)
}

/// SQLite's own check of the whole file: every page, every index against its table.
async fn check(pool: &SqlitePool) -> Result<(), Opening> {
    let found: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(pool)
        .await?;
    match found.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        problems => Err(Opening::Damaged(format!(
            "integrity check: {}",
            problems.join("; ")
        ))),
    }
}

async fn upsert(tx: &mut sqlx::SqliteConnection, entry: &TrustedOrigin) -> Result<(), String> {
    let json = serde_json::to_string(entry).map_err(|e| e.to_string())?;
    sqlx::query(
        "INSERT INTO trusted_cors_copy_origins (id, entry) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET entry = excluded.entry",
    )
    .bind(&entry.id)
    .bind(json)
    .execute(tx)
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// What the copy at `connection` says it is, if it was written.
async fn stamp_in<'c>(connection: impl sqlx::SqliteExecutor<'c>) -> Result<Option<Stamp>, String> {
    let row: Option<(String, i64, Option<String>)> =
        sqlx::query_as("SELECT store, revision, store_id FROM trusted_cors_copy WHERE id = 1")
            .fetch_optional(connection)
            .await
            .map_err(|e| e.to_string())?;
    row.map(|(describe, revision, id)| {
        Ok(Stamp {
            of: StoreOf { describe, id },
            revision: u64::try_from(revision).map_err(|e| e.to_string())?,
        })
    })
    .transpose()
}

async fn stamp(
    tx: &mut sqlx::SqliteConnection,
    store: &StoreOf,
    revision: u64,
) -> Result<(), String> {
    let written = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    sqlx::query(
        "INSERT INTO trusted_cors_copy (id, store, revision, written, store_id) VALUES (1, $1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET store = excluded.store, revision = excluded.revision, written = excluded.written, store_id = excluded.store_id",
    )
    .bind(&store.describe)
    .bind(i64::try_from(revision).unwrap_or(i64::MAX))
    .bind(i64::try_from(written).unwrap_or(i64::MAX))
    .bind(&store.id)
    .execute(tx)
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}
