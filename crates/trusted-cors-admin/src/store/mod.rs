//! Where trusted origins are kept: the [`TrustedOriginStore`] interface, made for databases, and
//! the stores that implement it ([`MemoryStore`]; `SqliteStore` with the `sqlite` feature;
//! `PostgresStore` with the `postgres` feature).
//!
//! The contract is documented on [`TrustedOriginStore`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use trusted_cors_core::{CommittedChange, EntryWrite, TrustedOrigin};

mod lazy;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use lazy::LazyStore;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// What a store's methods return: a boxed future, so that stores can be used as
/// `Arc<dyn TrustedOriginStore>`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store could not do what was asked. Nothing was committed when one is returned, with
/// one exception no database client can rule out: a connection lost after `COMMIT` was sent and
/// before its answer came back ([`StoreError::Unavailable`]) may leave the change committed.
/// The change feed then shows it, and every instance applies it as any other change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached or did not answer (a database that is down, a lost
    /// connection, a file that cannot be opened). Worth retrying later.
    #[error("the trusted-origins store {store} is unavailable: {message}")]
    Unavailable {
        /// Which store (its kind and location, never a password).
        store: String,
        /// What failed.
        message: String,
    },
    /// Another entry already has this name or origin (`field` is `name` or `origin`).
    #[error("another trusted origin already has the {field} `{value}`")]
    Duplicate {
        /// `name` or `origin`.
        field: &'static str,
        /// The value taken.
        value: String,
    },
    /// No entry has this id (it was deleted, perhaps by another instance).
    #[error("no trusted origin has the id `{0}`")]
    NotFound(String),
    /// What the store holds cannot be read as trusted origins (a row that breaks the rules, a
    /// schema newer than this program); it is left untouched.
    #[error("the trusted-origins store {store} holds what this program cannot use ({message}); it was left untouched")]
    Corrupt {
        /// Which store.
        store: String,
        /// What is wrong.
        message: String,
    },
}

/// A new random store id: 32 hexadecimal digits.
pub(crate) fn new_store_id() -> String {
    let mut bytes = [0u8; 16];
    // Without an entropy source, the time: still different for each store made.
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        bytes = now.to_le_bytes();
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Everything a store holds, and the revision of the last change it includes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Loaded {
    /// The store's revision: 0 for a store that was never written.
    pub revision: u64,
    /// The entries, in creation order.
    pub origins: Vec<TrustedOrigin>,
}

impl Loaded {
    /// The entries at a revision.
    pub fn new(revision: u64, origins: Vec<TrustedOrigin>) -> Self {
        Loaded { revision, origins }
    }
}

/// Where a service's trusted origins are kept: asynchronous, one entry per change, with
/// revisions and a change feed.
///
/// # The contract
///
/// - **A change is one entry** inserted, updated or deleted ([`EntryWrite`]), committed on its
///   own; nothing rewrites the whole list.
/// - **Every committed change has a revision**, greater than every revision committed before it
///   became visible, so that "the changes after revision r" never misses one.
/// - **A change feed**: [`changes_after`](TrustedOriginStore::changes_after) gives the last state
///   of every entry changed after a revision (a deleted entry as a [`EntryWrite::Delete`]), in
///   creation order. An instance catches up with it after a restart, a lost connection or a
///   missed notification.
/// - **The store enforces uniqueness** of ids, names (whatever their ASCII case) and origins
///   among the entries that exist: of two instances racing to create the same origin, one
///   commits and the other gets [`StoreError::Duplicate`].
/// - **Durable when acknowledged**: a commit that returned `Ok` survives a crash of the process.
///
/// [`TrustedOrigins`](crate::TrustedOrigins) puts a store and a [`Registry`] together: it
/// commits each change to the store, then applies the feed to the registry.
///
/// [`Registry`]: trusted_cors_core::Registry
///
/// Implement it for another database; the methods return [`StoreFuture`]s (boxed futures).
pub trait TrustedOriginStore: Send + Sync + fmt::Debug + 'static {
    /// Everything the store holds, and its revision, as of one moment.
    fn load(&self) -> StoreFuture<'_, Loaded>;

    /// Stores `origins` (new entries, e.g. from a configuration file) when the store was never
    /// written (revision 0), all in one commit, and returns `true`; returns `false` and stores
    /// nothing when it was written before (by this process or another one). Two instances
    /// starting at once on an empty store seed it once.
    fn seed<'a>(&'a self, origins: &'a [TrustedOrigin]) -> StoreFuture<'a, bool>;

    /// Commits one change and returns its revision; durable when it returns `Ok`. An upsert of
    /// an id the store never held inserts the entry, of a live one updates it; a delete or an
    /// update of an entry deleted meanwhile (perhaps by another instance), or a delete of an id
    /// never held, is [`StoreError::NotFound`]. Ids are never reused.
    fn commit<'a>(&'a self, change: &'a EntryWrite) -> StoreFuture<'a, u64>;

    /// The last state of every entry changed after `revision`, each with the revision of its
    /// last change, in creation order; deleted entries as [`EntryWrite::Delete`].
    fn changes_after(&self, revision: u64) -> StoreFuture<'_, Vec<CommittedChange>>;

    /// Resolves when another writer may have committed changes since the last call: a
    /// notification (PostgreSQL `LISTEN`), a changed file (SQLite), or after a short wait. It is
    /// a hint, never the change itself; the caller then reads the feed. An error means the hint
    /// cannot be had for now (a lost connection); the caller retries with back-off and catches
    /// up from the feed, so nothing is missed.
    fn changed(&self) -> StoreFuture<'_, ()>;

    /// The store's kind and location for logs and errors (never a password).
    fn describe(&self) -> String;

    /// A random id the store was given when it was made, kept in it: what tells it apart from
    /// another store of the same [description](Self::describe), e.g. a database dropped and made
    /// again at the same URL. A `LastKnownGood` (feature `sqlite`) copy records it, and an
    /// instance that served a copy of another store loads the store whole rather than catch up
    /// from the copy's revision. The stores of this crate have one (a memory store: one per
    /// value); `None`, the default, for a store that keeps none: copies then tell stores apart
    /// by their description only.
    fn store_id(&self) -> StoreFuture<'_, Option<String>> {
        Box::pin(async { Ok(None) })
    }

    /// The store's kind, a short fixed word: the `store` label of the store write latency
    /// metric (`trusted_cors_store_write_seconds`). `memory`, `sqlite` and `postgres` for the
    /// stores of this crate; `custom` unless another store says.
    fn kind(&self) -> &'static str {
        "custom"
    }
}
