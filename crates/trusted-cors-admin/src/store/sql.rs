//! What the SQL stores share: the layout, the encoding of an entry, and the reading of errors.
//!
//! # Layout (schema version 2)
//!
//! - `trusted_cors_schema (version)`: one row, the version of this layout. A store newer than
//!   the program is refused, never changed.
//! - `trusted_cors_revision (id = 1, revision)`: one row, the revision of the last commit. Every
//!   commit first increments it, which also serializes commits: revisions become visible in the
//!   order they are numbered, so "the changes after r" never misses a change still in flight.
//! - `trusted_origins (place, id, name_key, origin, entry, revision, deleted)`: one row per entry
//!   ever created, in creation order (`place`); `entry` is the entry as JSON, `revision` the
//!   revision of its last change. A deleted entry stays as a tombstone (`deleted`), so that the
//!   feed can tell other instances it is gone; the unique indexes on `id`, `name_key` (the name in
//!   ASCII lowercase) and `origin` cover live rows only.
//!
//! - `trusted_cors_store (id = 1, store_id)`: one row, a random id given to the store when it
//!   got the table, which tells it apart from another store of the same description (a database
//!   dropped and made again at the same URL). Made, when missing, by every program that knows
//!   it, whatever the version: a program that does not know it has no use for it and is not
//!   harmed by it.
//!
//! Version 2 has the tables of version 1; its entries' scopes may list `allowedOktaApps`
//! (Okta's `IFRAME_EMBED` option), which a program that reads version 1 would drop when it
//! rewrites an entry, so such a program must refuse the store. A version 1 store is migrated
//! in place ([`MIGRATIONS`]): its entries read unchanged, listing no Okta application.

use trusted_cors_core::{CommittedChange, EntryWrite, TrustedOrigin};

use super::StoreError;

/// The layout this program reads and writes.
pub(super) const SCHEMA_VERSION: i64 = 2;

/// What takes a store from the version before each to that version, in order.
const MIGRATIONS: [(i64, &[&str]); 1] = [(2, &["UPDATE trusted_cors_schema SET version = 2"])];

/// The statements that bring a store at `version` (`None`: new) to [`SCHEMA_VERSION`], to run in
/// the transaction that found it: `create` (the store's own statements for the tables of version
/// 1; the types differ by store) when it is new, then each migration after its version, then the
/// store's id table when missing ([`STORE_ID_TABLE`], whatever the version).
pub(super) fn upgrade(version: Option<i64>, create: &'static [&'static str]) -> Vec<&'static str> {
    let created: &[&str] = if version.is_none() { create } else { &[] };
    let from = version.unwrap_or(1);
    let migrations = MIGRATIONS.iter().filter(|(to, _)| *to > from);
    let migrations = migrations.flat_map(|(_, statements)| statements.iter());
    created
        .iter()
        .chain(migrations)
        .chain([&STORE_ID_TABLE])
        .copied()
        .collect()
}

/// Gives the store an id unless it has one, and reads it, in the transaction `$tx` that creates
/// or migrates the schema, the same on both drivers; `$fail` maps a driver error.
macro_rules! claim_store_id {
    ($tx:expr, $fail:expr) => {{
        sqlx::query(sql::CLAIM_STORE_ID)
            .bind(super::new_store_id())
            .execute(&mut *$tx)
            .await
            .map_err($fail)?;
        let store_id: String = sqlx::query_scalar(sql::STORE_ID)
            .fetch_one(&mut *$tx)
            .await
            .map_err($fail)?;
        store_id
    }};
}
pub(super) use claim_store_id;

/// Makes the store's id table when missing (see the layout).
pub(super) const STORE_ID_TABLE: &str = "CREATE TABLE IF NOT EXISTS trusted_cors_store (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    store_id TEXT NOT NULL
)";

/// Gives the store the id `$1`, unless it has one.
pub(super) const CLAIM_STORE_ID: &str =
    "INSERT INTO trusted_cors_store (id, store_id) VALUES (1, $1) ON CONFLICT (id) DO NOTHING";

/// The store's id.
pub(super) const STORE_ID: &str = "SELECT store_id FROM trusted_cors_store WHERE id = 1";

/// Inserts a new entry: `$1` id, `$2` name key, `$3` origin, `$4` entry JSON, `$5` revision.
pub(super) const INSERT_ENTRY: &str = "INSERT INTO trusted_origins (id, name_key, origin, entry, revision) VALUES ($1, $2, $3, $4, $5)";

/// Updates a live entry, with the parameters of [`INSERT_ENTRY`].
pub(super) const UPDATE_ENTRY: &str = "UPDATE trusted_origins SET name_key = $2, origin = $3, entry = $4, revision = $5 WHERE id = $1";

/// Turns an entry into a tombstone: `$1` id, `$2` revision.
pub(super) const DELETE_ENTRY: &str =
    "UPDATE trusted_origins SET deleted = TRUE, revision = $2 WHERE id = $1";

/// The revision of the last commit.
pub(super) const CURRENT_REVISION: &str = "SELECT revision FROM trusted_cors_revision WHERE id = 1";

/// Whether the entry `$1` is a tombstone (no row: never held).
pub(super) const ENTRY_STATE: &str = "SELECT deleted FROM trusted_origins WHERE id = $1";

/// Marks the seeds' commit, revision 1.
pub(super) const SEEDED: &str = "UPDATE trusted_cors_revision SET revision = 1 WHERE id = 1";

/// Increments the revision and returns it; first in every commit.
pub(super) const NEXT_REVISION: &str =
    "UPDATE trusted_cors_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision";

/// The live entries in creation order: `id`, `entry`.
pub(super) const LOAD_ENTRIES: &str =
    "SELECT id, entry FROM trusted_origins WHERE NOT deleted ORDER BY place";

/// The feed after `$1`: `id`, `entry`, `revision`, `deleted`, in creation order.
pub(super) const FEED: &str =
    "SELECT id, entry, revision, deleted FROM trusted_origins WHERE revision > $1 ORDER BY place";

/// The statements of a commit once its revision is taken, the same on both drivers: the entry's
/// row inserted, updated or made a tombstone. `$tx` is the open transaction, `$fail` maps a
/// driver error; returns early with [`StoreError::NotFound`] for an entry that is not live.
macro_rules! write_change {
    ($tx:expr, $store:expr, $change:expr, $revision:expr, $fail:expr) => {{
        let deleted: Option<bool> = sqlx::query_scalar(sql::ENTRY_STATE)
            .bind($change.id())
            .fetch_optional(&mut *$tx)
            .await
            .map_err($fail)?;
        match ($change, deleted) {
            (EntryWrite::Upsert(entry), None | Some(false)) => {
                let statement = if deleted.is_none() {
                    sql::INSERT_ENTRY
                } else {
                    sql::UPDATE_ENTRY
                };
                let row = sql::encode($store, entry)?;
                sqlx::query(statement)
                    .bind(&entry.id)
                    .bind(&row.name_key)
                    .bind(&row.origin)
                    .bind(&row.entry)
                    .bind($revision)
                    .execute(&mut *$tx)
                    .await
                    .map_err($fail)?;
            }
            (EntryWrite::Delete(id), Some(false)) => {
                sqlx::query(sql::DELETE_ENTRY)
                    .bind(id)
                    .bind($revision)
                    .execute(&mut *$tx)
                    .await
                    .map_err($fail)?;
            }
            _ => return Err(StoreError::NotFound($change.id().to_owned())),
        }
    }};
}
pub(super) use write_change;

/// The entries of rows of [`LOAD_ENTRIES`], on either driver.
macro_rules! read_entries {
    ($rows:expr, $store:expr, $fail:expr) => {{
        let mut origins = Vec::with_capacity($rows.len());
        for row in $rows {
            let id: String = row.try_get(0).map_err($fail)?;
            let entry: String = row.try_get(1).map_err($fail)?;
            origins.push(sql::decode($store, &id, &entry)?);
        }
        origins
    }};
}
pub(super) use read_entries;

/// The changes of rows of [`FEED`], on either driver.
macro_rules! read_feed {
    ($rows:expr, $store:expr, $fail:expr) => {{
        let mut changes = Vec::with_capacity($rows.len());
        for row in $rows {
            let id: String = row.try_get(0).map_err($fail)?;
            let entry: String = row.try_get(1).map_err($fail)?;
            let revision: i64 = row.try_get(2).map_err($fail)?;
            let deleted: bool = row.try_get(3).map_err($fail)?;
            changes.push(sql::change($store, id, &entry, revision, deleted)?);
        }
        changes
    }};
}
pub(super) use read_feed;

/// The store interface of a SQL store, from its inherent `load_all`, `seed_all`,
/// `commit_change`, `feed`, `notified` and `describe_store`.
macro_rules! sql_store {
    ($store:ty, $kind:literal) => {
        impl TrustedOriginStore for $store {
            fn load(&self) -> StoreFuture<'_, Loaded> {
                Box::pin(self.load_all())
            }

            fn seed<'a>(&'a self, origins: &'a [TrustedOrigin]) -> StoreFuture<'a, bool> {
                Box::pin(self.seed_all(origins))
            }

            fn commit<'a>(&'a self, change: &'a EntryWrite) -> StoreFuture<'a, u64> {
                Box::pin(self.commit_change(change))
            }

            fn changes_after(&self, revision: u64) -> StoreFuture<'_, Vec<CommittedChange>> {
                Box::pin(self.feed(revision))
            }

            fn changed(&self) -> StoreFuture<'_, ()> {
                Box::pin(self.notified())
            }

            fn describe(&self) -> String {
                self.describe_store()
            }

            fn store_id(&self) -> StoreFuture<'_, Option<String>> {
                Box::pin(async move { Ok(self.store_id.clone()) })
            }

            fn kind(&self) -> &'static str {
                $kind
            }
        }
    };
}
pub(super) use sql_store;

/// An entry as its row holds it.
pub(super) struct Encoded {
    pub(super) name_key: String,
    pub(super) origin: String,
    pub(super) entry: String,
}

pub(super) fn encode(store: &str, entry: &TrustedOrigin) -> Result<Encoded, StoreError> {
    let json = serde_json::to_string(entry).map_err(|error| StoreError::Corrupt {
        store: store.to_owned(),
        message: format!("entry {} cannot be written: {error}", entry.id),
    })?;
    Ok(Encoded {
        name_key: entry.name.to_ascii_lowercase(),
        origin: entry.origin.to_string(),
        entry: json,
    })
}

pub(super) fn decode(store: &str, id: &str, entry: &str) -> Result<TrustedOrigin, StoreError> {
    serde_json::from_str(entry).map_err(|error| StoreError::Corrupt {
        store: store.to_owned(),
        message: format!("the row of {id} is not a trusted origin: {error}"),
    })
}

/// A row of the feed as a change.
pub(super) fn change(
    store: &str,
    id: String,
    entry: &str,
    revision: i64,
    deleted: bool,
) -> Result<CommittedChange, StoreError> {
    let kind = if deleted {
        EntryWrite::Delete(id)
    } else {
        EntryWrite::Upsert(decode(store, &id, entry)?)
    };
    Ok(CommittedChange {
        revision: revision_of(revision),
        write: kind,
    })
}

/// A revision as the database holds it (a signed 64-bit integer, never negative).
pub(super) fn revision_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A revision as the database holds it.
pub(super) fn db_revision(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// What a driver error means for a commit of `change` (if any).
pub(super) fn store_error(
    store: &str,
    error: sqlx::Error,
    change: Option<&EntryWrite>,
) -> StoreError {
    if let sqlx::Error::Database(database) = &error {
        // SQLITE_NOTADB: a file that is not a SQLite database is what it holds, not an outage.
        if database.code().as_deref() == Some("26") {
            return StoreError::Corrupt {
                store: store.to_owned(),
                message: database.message().to_owned(),
            };
        }
        if database.is_unique_violation() {
            let what = format!(
                "{} {}",
                database.constraint().unwrap_or(""),
                database.message()
            );
            if let Some(EntryWrite::Upsert(entry)) = change {
                return if what.contains("name_key") || what.contains("unique_name") {
                    StoreError::Duplicate {
                        field: "name",
                        value: entry.name.to_string(),
                    }
                } else if what.contains("unique_origin") || what.contains(".origin") {
                    StoreError::Duplicate {
                        field: "origin",
                        value: entry.origin.to_string(),
                    }
                } else {
                    // The id: drawn at random, taken (62^17 ids) only by a replayed commit.
                    StoreError::Duplicate {
                        field: "id",
                        value: entry.id.to_string(),
                    }
                };
            }
        }
    }
    if let sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) = &error {
        return StoreError::Corrupt {
            store: store.to_owned(),
            message: error.to_string(),
        };
    }
    StoreError::Unavailable {
        store: store.to_owned(),
        message: error.to_string(),
    }
}

/// The schema version a store holds is newer than this program's.
pub(super) fn newer_schema(store: &str, version: i64) -> StoreError {
    StoreError::Corrupt {
        store: store.to_owned(),
        message: format!(
            "its schema version is {version}, newer than this program's {SCHEMA_VERSION}: upgrade the program"
        ),
    }
}
