//! [`LazyStore`]: a store that connects on first use, so that a service can start while its
//! database is down (and serve from its `LastKnownGood` (feature `sqlite`) copy).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::OnceCell;
use trusted_cors_core::{CommittedChange, EntryWrite, TrustedOrigin};

use super::{Loaded, StoreError, StoreFuture, TrustedOriginStore};

/// How a [`LazyStore`] connects: a new attempt each time it is called.
type Connect = Box<dyn Fn() -> StoreFuture<'static, Arc<dyn TrustedOriginStore>> + Send + Sync>;

/// A store connected on first use: every call first connects (once connected, the store is kept)
/// and fails with the connection's [`StoreError`] while it cannot, so that callers see a store
/// that is down rather than no store at all. [`TrustedOrigins`](crate::TrustedOrigins) retries
/// with back-off as for any store that is down.
///
/// `PostgresStore::connect_lazy` (feature `postgres`) makes one for a PostgreSQL URL.
///
/// ```
/// use trusted_cors_admin::{LazyStore, MemoryStore, TrustedOriginStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = LazyStore::new("memory (connected later)", "memory", || async { Ok(MemoryStore::new()) });
/// assert_eq!(store.load().await?.revision, 0); // connects here
/// # Ok(())
/// # }
/// ```
pub struct LazyStore {
    describe: String,
    kind: &'static str,
    connect: Connect,
    store: OnceCell<Arc<dyn TrustedOriginStore>>,
}

impl fmt::Debug for LazyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyStore")
            .field("store", &self.describe)
            .field("connected", &self.store.initialized())
            .finish()
    }
}

impl LazyStore {
    /// A store that `connect` opens on first use; `describe` (never a password) and `kind` are
    /// what [`describe`](TrustedOriginStore::describe) and [`kind`](TrustedOriginStore::kind)
    /// say before it is connected.
    pub fn new<S, F, C>(describe: impl Into<String>, kind: &'static str, connect: C) -> Self
    where
        S: TrustedOriginStore,
        F: Future<Output = Result<S, StoreError>> + Send + 'static,
        C: Fn() -> F + Send + Sync + 'static,
    {
        let connect: Connect = Box::new(move || {
            let connecting = connect();
            Box::pin(async move {
                let store: Arc<dyn TrustedOriginStore> = Arc::new(connecting.await?);
                Ok(store)
            })
        });
        LazyStore {
            describe: describe.into(),
            kind,
            connect,
            store: OnceCell::new(),
        }
    }

    /// Whether it has connected.
    pub fn is_connected(&self) -> bool {
        self.store.initialized()
    }

    /// The store, connecting first if it is not yet.
    async fn get(&self) -> Result<&Arc<dyn TrustedOriginStore>, StoreError> {
        self.store.get_or_try_init(|| (self.connect)()).await
    }
}

impl TrustedOriginStore for LazyStore {
    fn load(&self) -> StoreFuture<'_, Loaded> {
        Box::pin(async move { self.get().await?.load().await })
    }

    fn seed<'a>(&'a self, origins: &'a [TrustedOrigin]) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.get().await?.seed(origins).await })
    }

    fn commit<'a>(&'a self, change: &'a EntryWrite) -> StoreFuture<'a, u64> {
        Box::pin(async move { self.get().await?.commit(change).await })
    }

    fn changes_after(&self, revision: u64) -> StoreFuture<'_, Vec<CommittedChange>> {
        Box::pin(async move { self.get().await?.changes_after(revision).await })
    }

    fn changed(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.get().await?.changed().await })
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn store_id(&self) -> StoreFuture<'_, Option<String>> {
        Box::pin(async move { self.get().await?.store_id().await })
    }

    fn kind(&self) -> &'static str {
        self.kind
    }
}

#[cfg(feature = "postgres")]
impl super::PostgresStore {
    /// A [`LazyStore`] that connects to the database at `url` on first use (see
    /// [`connect`](Self::connect)), and tries again at each call until it can: a service can
    /// then start while the database is down, from its `LastKnownGood` (feature `sqlite`)
    /// copy.
    pub fn connect_lazy(url: &str) -> LazyStore {
        let url = url.to_owned();
        LazyStore::new(super::postgres::describe(&url), "postgres", move || {
            let url = url.clone();
            async move { super::PostgresStore::connect(&url).await }
        })
    }
}
