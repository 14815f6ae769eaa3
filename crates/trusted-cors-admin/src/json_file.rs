//! [`JsonFileStore`], the embedded default store: one JSON file, replaced atomically, shared by
//! processes through an advisory lock.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use trusted_cors_core::{Registry, StoreError, StoreLock, TrustedOrigin, TrustedOriginStore};

/// A JSON file holding the list of trusted origins, written atomically: a temporary file in the
/// same directory, `fsync`, rename over the old file, `fsync` of the directory. A reader (or a
/// crash) sees the old list or the new one, never a mix. Changes take an advisory lock on
/// `<file>.lock`, so several processes can share the file.
///
/// ```
/// use trusted_cors_admin::JsonFileStore;
/// use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType, TrustedOriginStore};
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
            random_suffix()
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
        Ok(StoreLock::new(FileLock(file)))
    }
}

/// The advisory lock on `<file>.lock`, released when dropped.
#[derive(Debug)]
struct FileLock(File);

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Random hex for temporary file names, so two stores on one file in one process never collide.
fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    if getrandom::fill(&mut bytes).is_err() {
        // No entropy source: the clock, with the process id and counter already in the name.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        bytes[..4].copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().fold(String::with_capacity(12), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}
