//! Durable storage for the registry: a [`TrustedOriginStore`] receives every change before it is
//! applied, so an acknowledged change survives a crash. [`JsonFileStore`] is the embedded default.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Registry, TrustedOrigin};

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
        Ok(StoreLock(None))
    }
}

/// A held cross-process lock on a store; released when dropped.
#[derive(Debug)]
pub struct StoreLock(Option<File>);

impl Drop for StoreLock {
    fn drop(&mut self) {
        if let Some(file) = &self.0 {
            let _ = file.unlock();
        }
    }
}

/// A JSON file holding the list of trusted origins, written atomically: a temporary file in the
/// same directory, `fsync`, rename over the old file, `fsync` of the directory. A reader (or a
/// crash) sees the old list or the new one, never a mix. Changes take an advisory lock on
/// `<file>.lock`, so several processes can share the file.
///
/// ```
/// use trusted_cors_core::{JsonFileStore, NewTrustedOrigin, Registry, ScopeType, TrustedOriginStore};
///
/// let dir = std::env::temp_dir().join(format!("trusted-cors-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("trusted-origins.json");
/// # let _ = std::fs::remove_file(&path);
/// let store = JsonFileStore::new(&path);
/// let registry = Registry::open(store.clone(), [NewTrustedOrigin::new("App", "https://app.example.com", [ScopeType::Cors])])?;
/// registry.create(NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]))?;
///
/// // The change was on disk before `create` returned.
/// assert_eq!(store.load()?.unwrap().len(), 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsonFileStore {
    inner: Arc<FileInner>,
}

#[derive(Debug)]
struct FileInner {
    path: PathBuf,
    /// The bytes last loaded or saved here, to tell another process's change from our own.
    /// Only content that passed the checks is recorded.
    last_seen: Mutex<Option<Vec<u8>>>,
    temp_counter: AtomicU64,
}

impl JsonFileStore {
    /// A store at `path` (the file need not exist yet; its directory must).
    pub fn new(path: impl AsRef<Path>) -> Self {
        JsonFileStore {
            inner: Arc::new(FileInner {
                path: path.as_ref().to_path_buf(),
                last_seen: Mutex::new(None),
                temp_counter: AtomicU64::new(0),
            }),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn io_error(&self, what: &str, error: io::Error) -> StoreError {
        StoreError::Io {
            path: self.inner.path.display().to_string(),
            message: format!("{what}: {error}"),
        }
    }

    /// Parses and checks the content as the registry would: a file that parses but breaks the
    /// rules (a duplicate origin, an invalid name) is as unusable as one that does not parse.
    fn parse(&self, bytes: &[u8]) -> Result<Vec<TrustedOrigin>, StoreError> {
        let corrupt = |message: String| StoreError::Corrupt {
            path: self.inner.path.display().to_string(),
            message,
        };
        let origins: Vec<TrustedOrigin> =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        Registry::from_origins(origins.clone()).map_err(|e| corrupt(e.to_string()))?;
        Ok(origins)
    }

    fn read(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match fs::read(&self.inner.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_error("cannot read", e)),
        }
    }

    fn remember(&self, bytes: Option<Vec<u8>>) {
        *self
            .inner
            .last_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = bytes;
    }

    fn write_atomically(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let path = &self.inner.path;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(
            ".{file_name}.{}.{}.{}.tmp",
            std::process::id(),
            self.inner.temp_counter.fetch_add(1, Ordering::Relaxed),
            crate::random_id("", 8)
        ));
        let write = || -> io::Result<()> {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&temp);
            return Err(self.io_error("cannot write", e));
        }
        // The rename is durable once the directory entry is. The data was synced above; if the
        // directory cannot be, say so rather than report a change the file holds as lost.
        if let Err(e) = File::open(&dir).and_then(|d| d.sync_all()) {
            tracing::warn!(target: "trusted_cors", path = %path.display(), error = %e, "could not fsync the store's directory");
        }
        Ok(())
    }
}

impl TrustedOriginStore for JsonFileStore {
    fn load(&self) -> Result<Option<Vec<TrustedOrigin>>, StoreError> {
        let Some(bytes) = self.read()? else {
            self.remember(None);
            return Ok(None);
        };
        let origins = self.parse(&bytes)?;
        self.remember(Some(bytes));
        Ok(Some(origins))
    }

    fn save(&self, origins: &[TrustedOrigin]) -> Result<(), StoreError> {
        let mut bytes = serde_json::to_vec_pretty(origins).map_err(|e| StoreError::Io {
            path: self.inner.path.display().to_string(),
            message: format!("cannot serialize: {e}"),
        })?;
        bytes.push(b'\n');
        self.write_atomically(&bytes)?;
        self.remember(Some(bytes));
        Ok(())
    }

    fn poll_changes(&self) -> Result<Option<Vec<TrustedOrigin>>, StoreError> {
        let bytes = self.read()?;
        let last = self
            .inner
            .last_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if bytes == last {
            return Ok(None);
        }
        match bytes {
            // Removed by someone else: keep serving what we have rather than trusting nothing.
            None => Ok(None),
            Some(bytes) => {
                // Not recorded as seen unless it is valid: a bad file keeps being reported, and
                // changes keep being refused, until it is fixed; it is never overwritten.
                let origins = self.parse(&bytes)?;
                self.remember(Some(bytes));
                Ok(Some(origins))
            }
        }
    }

    fn lock(&self) -> Result<StoreLock, StoreError> {
        let mut lock_path = self.inner.path.clone().into_os_string();
        lock_path.push(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| self.io_error("cannot open the lock file", e))?;
        file.lock().map_err(|e| self.io_error("cannot lock", e))?;
        Ok(StoreLock(Some(file)))
    }
}

/// Polls a registry's store for changes made by another process and applies them. Stops when
/// dropped or when the registry is gone.
#[derive(Debug)]
pub struct StoreWatcher {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StoreWatcher {
    /// Checks the store of `registry` every `every` (e.g. 250 ms) on a background thread.
    pub fn start(registry: &Arc<Registry>, every: Duration) -> StoreWatcher {
        let weak: Weak<Registry> = Arc::downgrade(registry);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("trusted-cors-store-watcher".into())
            .spawn(move || {
                let mut last_error = None;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(every);
                    let Some(registry) = weak.upgrade() else {
                        return;
                    };
                    match registry.reload_from_store() {
                        Ok(_) => last_error = None,
                        Err(error) => {
                            let text = error.to_string();
                            if last_error.as_ref() != Some(&text) {
                                tracing::warn!(target: "trusted_cors", error = %text, "the trusted-origins store cannot be used; keeping the current entries and refusing changes until it is fixed");
                                last_error = Some(text);
                            }
                        }
                    }
                }
            })
            .ok();
        StoreWatcher { stop, thread }
    }
}

impl Drop for StoreWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
