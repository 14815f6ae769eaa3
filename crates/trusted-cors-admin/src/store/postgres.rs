//! [`PostgresStore`]: for a fleet, changes announced with `LISTEN`/`NOTIFY`.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::Row as _;
use trusted_cors_core::{CommittedChange, EntryWrite, TrustedOrigin};

use super::sql::{self, SCHEMA_VERSION};
use super::{Loaded, StoreError, StoreFuture, TrustedOriginStore};

/// The tables of schema version 1, for a new store ([`sql::upgrade`] migrates them on).
const CREATE: &[&str] = &[
    "CREATE TABLE trusted_cors_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision BIGINT NOT NULL
    )",
    "INSERT INTO trusted_cors_revision (id, revision) VALUES (1, 0)",
    "CREATE TABLE trusted_origins (
        place BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name_key TEXT NOT NULL,
        origin TEXT NOT NULL,
        entry TEXT NOT NULL,
        revision BIGINT NOT NULL,
        deleted BOOLEAN NOT NULL DEFAULT FALSE
    )",
    "CREATE UNIQUE INDEX trusted_origins_unique_name ON trusted_origins (name_key) WHERE NOT deleted",
    "CREATE UNIQUE INDEX trusted_origins_unique_origin ON trusted_origins (origin) WHERE NOT deleted",
    "CREATE INDEX trusted_origins_by_revision ON trusted_origins (revision)",
    "DELETE FROM trusted_cors_schema",
    "INSERT INTO trusted_cors_schema (version) VALUES (1)",
];

/// The channel every commit is announced on, with its revision as the payload.
const NOTIFY_CHANNEL: &str = "trusted_cors_origins";

/// How long getting a connection may take before the store counts as unavailable: a database
/// that is down fails a change in about this long.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Connections per store (one of them listens for notifications).
const MAX_CONNECTIONS: u32 = 10;

/// Session settings: a commit waits at most 5 s for the revision row (held by another
/// instance's commit), and the server ends a session left idle inside a transaction for 15 s (a
/// frozen instance holding the row), so that one stuck instance cannot stop every other one's
/// writes. The server sends no notices below warnings (`relation … already exists, skipping` at
/// each start), which sqlx would log at INFO.
const SESSION_SETTINGS: [(&str, &str); 3] = [
    ("lock_timeout", "5s"),
    ("idle_in_transaction_session_timeout", "15s"),
    ("client_min_messages", "warning"),
];

/// The key of the advisory lock that serializes schema creation and migration.
const SCHEMA_LOCK: i64 = 0x7472_7573_7465_6463; // "trustedc"

/// Seeds are inserted this many rows per statement.
const SEED_CHUNK: usize = 5_000;

/// Trusted origins in a PostgreSQL database, shared by a fleet of instances. The schema is
/// created or migrated when the store connects (in one transaction, under an advisory lock, so
/// that instances starting together do not race).
///
/// - **Every commit is one transaction** that first increments the revision row (serializing
///   commits, so that revisions become visible in the order they are numbered), then writes the
///   entry, then announces the revision with `NOTIFY trusted_cors_origins`,
///   which PostgreSQL delivers when, and only if, the transaction commits.
/// - **Uniqueness** of ids, names (whatever their ASCII case) and origins is enforced by unique
///   indexes on the live rows: of two instances racing to create the same origin, one commits
///   and the other gets [`StoreError::Duplicate`].
/// - **Notifications**: [`changed`](TrustedOriginStore::changed) listens on a connection of its
///   own, opened on first use. When that connection is lost it returns
///   [`StoreError::Unavailable`] and opens a new one on the next call, which resolves at once
///   (a change may have been missed meanwhile); the caller then reads the change feed, so
///   nothing is missed.
/// - **A database that is down** makes every call fail with [`StoreError::Unavailable`] within
///   about 2 s; the connections come back by themselves once it is up. A commit waits at most
///   5 s for another instance's commit (`lock_timeout`), and a session left idle inside a
///   transaction for 15 s is ended by the server, so that one frozen instance cannot hold up the
///   others' writes.
/// - A change whose `COMMIT` was sent when the connection broke may have been committed even
///   though [`commit`](TrustedOriginStore::commit) reports it unavailable; the change feed shows
///   it either way.
///
/// See [`TrustedOriginStore`] for the contract. The tables: `trusted_cors_schema` (the layout's
/// version), `trusted_cors_revision` (one row: the revision of the last commit) and
/// `trusted_origins` (one row per entry ever created, in creation order, a deleted one kept as a
/// tombstone for the change feed).
///
/// ```no_run
/// use std::sync::Arc;
/// use trusted_cors_admin::{PostgresStore, TrustedOriginStore, TrustedOrigins};
/// use trusted_cors_core::{NewTrustedOrigin, ScopeType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://cors:secret@db.internal:5432/cors").await?;
/// assert_eq!(store.describe(), "postgres://cors@db.internal:5432/cors"); // no password
/// let seeds = [NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors])];
/// let origins = Arc::new(TrustedOrigins::open(store, seeds).await?);
/// // Apply the changes other instances make, as they are announced.
/// let _following = origins.follow();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
    describe: String,
    /// The store's id (see [`TrustedOriginStore::store_id`]); `None` for a store connected read
    /// only that has none yet.
    store_id: Option<String>,
    /// Listens on [`NOTIFY_CHANNEL`]; `None` until first used and after its connection was lost.
    listener: tokio::sync::Mutex<Option<PgListener>>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, with
    /// the query parameters of [`PgConnectOptions`]) and creates or migrates the schema. A
    /// database that holds a newer schema is an error and is left untouched; one that cannot be
    /// reached within about 2 s is [`StoreError::Unavailable`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut store = PostgresStore::open_pool(url, &[]).await?;
        store.store_id = Some(store.migrate().await?);
        Ok(store)
    }

    /// Connects to the database at `url` to read it only (as `cors-explain` does): every
    /// transaction is read-only (`default_transaction_read_only`), and the schema is neither
    /// created nor migrated. `None` when the database holds no trusted-origins schema; a newer
    /// schema is an error; a schema of an earlier version reads as the current one (each
    /// migration so far only adds).
    pub async fn connect_read_only(url: &str) -> Result<Option<Self>, StoreError> {
        let mut store =
            PostgresStore::open_pool(url, &[("default_transaction_read_only", "on")]).await?;
        let version: Result<Option<i64>, _> =
            sqlx::query_scalar("SELECT max(version) FROM trusted_cors_schema")
                .fetch_one(&store.pool)
                .await;
        match version {
            Ok(Some(1..=SCHEMA_VERSION)) => {
                // None when it never got the table (made by a program before it).
                store.store_id = sqlx::query_scalar(sql::STORE_ID)
                    .fetch_optional(&store.pool)
                    .await
                    .ok()
                    .flatten();
                Ok(Some(store))
            }
            Ok(Some(version)) if version > SCHEMA_VERSION => {
                Err(sql::newer_schema(&store.describe, version))
            }
            Ok(_) => Ok(None),
            // PostgreSQL's undefined_table: the schema was never created.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Ok(None),
            Err(e) => Err(store.error(e, None)),
        }
    }

    /// A pool on `url` with the session settings (and `extra` ones), the schema untouched.
    async fn open_pool(
        url: &str,
        extra: &[(&'static str, &'static str)],
    ) -> Result<Self, StoreError> {
        let describe = describe(url);
        let mut options =
            PgConnectOptions::from_str(url).map_err(|error| StoreError::Unavailable {
                store: describe.clone(),
                message: format!("not a PostgreSQL URL: {}", without_secrets(&error, url)),
            })?;
        // Settings the URL makes itself (`?options=-c lock_timeout=…`) win.
        let given = options.get_options().unwrap_or("").to_owned();
        options = options.options(
            SESSION_SETTINGS
                .into_iter()
                .chain(extra.iter().copied())
                .filter(|(name, _)| !given.contains(name)),
        );
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|error| store_error(&describe, error, None))?;
        Ok(PostgresStore {
            pool,
            describe,
            store_id: None,
            listener: tokio::sync::Mutex::new(None),
        })
    }

    fn error(&self, error: sqlx::Error, change: Option<&EntryWrite>) -> StoreError {
        store_error(&self.describe, error, change)
    }

    /// Creates or migrates the schema, and returns the store's id (given it here if new).
    async fn migrate(&self) -> Result<String, StoreError> {
        let fail = |e| self.error(e, None);
        let mut tx = self.pool.begin().await.map_err(fail)?;
        // Held until the transaction ends: one instance at a time creates or migrates.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS trusted_cors_schema (version BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM trusted_cors_schema")
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
        match version {
            Some(version) if version > SCHEMA_VERSION => {
                return Err(sql::newer_schema(&self.describe, version))
            }
            _ => {}
        }
        let upgraded = version != Some(SCHEMA_VERSION);
        for statement in sql::upgrade(version, CREATE) {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        let store_id = sql::claim_store_id!(tx, fail);
        tx.commit().await.map_err(fail)?;
        if upgraded {
            tracing::info!(target: "trusted_cors::store", store = %self.describe, from = version, version = SCHEMA_VERSION, "created or migrated the trusted-origins schema");
        }
        Ok(store_id)
    }

    async fn commit_change(&self, change: &EntryWrite) -> Result<u64, StoreError> {
        let store = &self.describe;
        let fail = |e| store_error(store, e, Some(change));
        let mut tx = self.pool.begin().await.map_err(fail)?;
        // Locks the revision row until the commit: commits happen one at a time, in the order
        // of their revisions, and each statement below sees every earlier commit.
        let revision: i64 = sqlx::query_scalar(sql::NEXT_REVISION)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        sql::write_change!(tx, store, change, revision, fail);
        notify(&mut tx, revision).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(sql::revision_of(revision))
    }

    async fn seed_all(&self, origins: &[TrustedOrigin]) -> Result<bool, StoreError> {
        let store = &self.describe;
        let fail = |e| store_error(store, e, None);
        let mut tx = self.pool.begin().await.map_err(fail)?;
        // Locked until the commit: of instances seeding at once, the others wait, then see 1.
        let revision: i64 = sqlx::query_scalar(
            "SELECT revision FROM trusted_cors_revision WHERE id = 1 FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        if revision != 0 {
            return Ok(false);
        }
        for chunk in origins.chunks(SEED_CHUNK) {
            let (mut ids, mut names, mut keys, mut entries) = (
                Vec::with_capacity(chunk.len()),
                Vec::with_capacity(chunk.len()),
                Vec::with_capacity(chunk.len()),
                Vec::with_capacity(chunk.len()),
            );
            for entry in chunk {
                let row = sql::encode(store, entry)?;
                ids.push(&*entry.id);
                names.push(row.name_key);
                keys.push(row.origin);
                entries.push(row.entry);
            }
            // One statement per chunk, the rows created in the order given.
            sqlx::query(
                "INSERT INTO trusted_origins (id, name_key, origin, entry, revision)
                 SELECT id, name_key, origin, entry, 1
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                      WITH ORDINALITY AS seed (id, name_key, origin, entry, n)
                 ORDER BY n",
            )
            .bind(&ids)
            .bind(&names)
            .bind(&keys)
            .bind(&entries)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        sqlx::query(sql::SEEDED)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        notify(&mut tx, 1).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn load_all(&self) -> Result<Loaded, StoreError> {
        let store = &self.describe;
        let fail = |e| store_error(store, e, None);
        // One snapshot for both reads: the entries and the revision of one moment.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(fail)?;
        let revision: i64 = sqlx::query_scalar(sql::CURRENT_REVISION)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let rows = sqlx::query(sql::LOAD_ENTRIES)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let origins = sql::read_entries!(rows, store, fail);
        Ok(Loaded::new(sql::revision_of(revision), origins))
    }

    async fn feed(&self, after: u64) -> Result<Vec<CommittedChange>, StoreError> {
        let store = &self.describe;
        let fail = |e| store_error(store, e, None);
        // One statement, one snapshot; commits are serialized, so no revision at or below the
        // highest one seen can still be in flight.
        let rows = sqlx::query(sql::FEED)
            .bind(sql::db_revision(after))
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        Ok(sql::read_feed!(rows, store, fail))
    }

    async fn notified(&self) -> Result<(), StoreError> {
        let mut slot = self.listener.lock().await;
        let Some(listener) = slot.as_mut() else {
            let mut listener = PgListener::connect_with(&self.pool)
                .await
                .map_err(|e| self.error(e, None))?;
            // A lost connection is reported, not silently replaced: notifications sent while it
            // was gone are lost, and the caller must read the feed.
            listener.eager_reconnect(false);
            listener
                .listen(NOTIFY_CHANNEL)
                .await
                .map_err(|e| self.error(e, None))?;
            *slot = Some(listener);
            tracing::debug!(target: "trusted_cors::store", store = %self.describe, channel = NOTIFY_CHANNEL, "listening for trusted-origin changes");
            // Listening from now on; a change committed before may have gone unheard.
            return Ok(());
        };
        let lost = match listener.try_recv().await {
            Ok(Some(_)) => {
                // One hint for everything already announced.
                while listener.next_buffered().is_some() {}
                return Ok(());
            }
            Ok(None) => "the connection listening for changes was lost".to_owned(),
            Err(error) => format!("the connection listening for changes failed: {error}"),
        };
        *slot = None;
        tracing::debug!(target: "trusted_cors::store", store = %self.describe, reason = %lost, "stopped listening for trusted-origin changes");
        Err(StoreError::Unavailable {
            store: self.describe.clone(),
            message: lost,
        })
    }
}

/// What a driver error means; see [`sql::store_error`].
fn store_error(store: &str, error: sqlx::Error, change: Option<&EntryWrite>) -> StoreError {
    if let sqlx::Error::PoolTimedOut = error {
        // The pool says no more: it retried connecting until the time was up.
        return StoreError::Unavailable {
            store: store.to_owned(),
            message: format!(
                "no connection within {ACQUIRE_TIMEOUT:?} (the database is down, unreachable or refusing connections)"
            ),
        };
    }
    sql::store_error(store, error, change)
}

/// Announces `revision` on [`NOTIFY_CHANNEL`] when `tx` commits.
async fn notify(tx: &mut sqlx::PgConnection, revision: i64) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(NOTIFY_CHANNEL)
        .bind(revision.to_string())
        .execute(tx)
        .await
        .map(|_| ())
}

/// `postgres://user@host:port/database`: the URL without its password or parameters.
pub(super) fn describe(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let user = match parsed.username() {
                "" => String::new(),
                user => format!("{user}@"),
            };
            let host = parsed.host_str().unwrap_or("");
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("postgres://{user}{host}{port}{}", parsed.path())
        }
        Err(_) => "postgres (an unreadable URL)".to_owned(),
    }
}

/// An error about `url`, without the URL's password should the error quote it.
fn without_secrets(error: &sqlx::Error, url: &str) -> String {
    let text = error.to_string();
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        Some(password) if !password.is_empty() => text.replace(&password, "***"),
        _ => text,
    }
}

sql::sql_store!(PostgresStore, "postgres");

impl PostgresStore {
    fn describe_store(&self) -> String {
        self.describe.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn the_description_never_holds_the_password() {
        assert_eq!(
            describe("postgres://cors:s3cret@db.internal:6543/origins?sslmode=require&password=x"),
            "postgres://cors@db.internal:6543/origins"
        );
        assert_eq!(
            describe("postgresql://db.internal/origins"),
            "postgres://db.internal/origins"
        );
        assert_eq!(describe("not a url"), "postgres (an unreadable URL)");
    }
}
