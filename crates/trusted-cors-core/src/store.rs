//! Durable storage for the registry: a [`TrustedOriginStore`] receives every change before it is
//! applied, so an acknowledged change survives a crash. The core holds only the contract that
//! [`Registry`](crate::Registry) relies on; the stores themselves (`JsonFileStore`, the embedded
//! default, and the `StoreWatcher` that applies other processes' changes) live in the
//! `trusted-cors-admin` crate, so a service that keeps its trusted origins in memory compiles none
//! of them.

use std::fmt;

use crate::TrustedOrigin;

/// A store could not be read or written. Names the store and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The content is not a JSON list of trusted origins; it is left untouched.
    #[error("{path} is not a valid trusted-origins file ({message}); it was left untouched: fix or remove it")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Where the registry's entries live. `save` must be durable when it returns.
///
/// ```
/// use std::sync::Mutex;
/// use trusted_cors_core::{
///     NewTrustedOrigin, Registry, ScopeType, StoreError, TrustedOrigin, TrustedOriginStore,
/// };
///
/// /// Keeps the entries in memory: a stand-in for a database table.
/// #[derive(Debug, Default)]
/// struct MemoryStore(Mutex<Option<Vec<TrustedOrigin>>>);
///
/// impl TrustedOriginStore for MemoryStore {
///     fn load(&self) -> Result<Option<Vec<TrustedOrigin>>, StoreError> {
///         Ok(self.0.lock().unwrap().clone())
///     }
///     fn save(&self, origins: &[TrustedOrigin]) -> Result<(), StoreError> {
///         *self.0.lock().unwrap() = Some(origins.to_vec());
///         Ok(())
///     }
/// }
///
/// let registry = Registry::open(MemoryStore::default(), [
///     NewTrustedOrigin::new("App", "https://app.example.com", [ScopeType::Cors]),
/// ])?;
/// assert_eq!(registry.snapshot().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait TrustedOriginStore: Send + Sync + fmt::Debug + 'static {
    /// The stored entries, or `None` when nothing was stored yet.
    fn load(&self) -> Result<Option<Vec<TrustedOrigin>>, StoreError>;

    /// Replaces the stored entries; durable when it returns `Ok`.
    fn save(&self, origins: &[TrustedOrigin]) -> Result<(), StoreError>;

    /// The entries if something other than this process changed the store since it was last
    /// loaded or saved here, else `None`. The default never reports changes.
    fn poll_changes(&self) -> Result<Option<Vec<TrustedOrigin>>, StoreError> {
        Ok(None)
    }

    /// Excludes other processes from changing the store until the guard is dropped. The
    /// registry holds it while it reads outside changes, edits and saves, so two processes
    /// sharing a store never overwrite each other's changes. The default excludes nobody.
    fn lock(&self) -> Result<StoreLock, StoreError> {
        Ok(StoreLock::none())
    }
}

/// A held cross-process lock on a store; released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    /// Kept only to be dropped with the lock.
    _guard: Option<Box<dyn fmt::Debug + Send + Sync>>,
}

impl StoreLock {
    /// Holds `guard` until this lock is dropped. The guard releases the store's lock in its own
    /// `Drop` (an unlocked file, a released database advisory lock).
    ///
    /// ```
    /// use trusted_cors_core::StoreLock;
    ///
    /// #[derive(Debug)]
    /// struct Advisory(&'static str);
    /// impl Drop for Advisory {
    ///     fn drop(&mut self) { /* release it */ }
    /// }
    ///
    /// let lock = StoreLock::new(Advisory("trusted_origins"));
    /// drop(lock); // released here
    /// ```
    pub fn new(guard: impl fmt::Debug + Send + Sync + 'static) -> Self {
        StoreLock {
            _guard: Some(Box::new(guard)),
        }
    }

    /// A lock that excludes nobody, for stores that a single process writes.
    pub fn none() -> Self {
        StoreLock { _guard: None }
    }
}
