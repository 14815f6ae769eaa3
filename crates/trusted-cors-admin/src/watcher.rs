//! [`StoreWatcher`]: applies changes that another process made to a registry's store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use trusted_cors_core::Registry;

/// Polls a registry's store for changes made by another process and applies them. Stops when
/// dropped or when the registry is gone.
#[derive(Debug)]
pub struct StoreWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StoreWatcher {
    /// Checks the store of `registry` every `every` (e.g. 250 ms) on a background thread. A
    /// store that cannot be read is logged (once per distinct error) and the current entries are
    /// kept.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use trusted_cors_admin::{JsonFileStore, StoreWatcher};
    /// use trusted_cors_core::Registry;
    ///
    /// let dir = std::env::temp_dir().join(format!("trusted-cors-watch-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("trusted-origins.json");
    /// # let _ = std::fs::remove_file(&path);
    /// let registry = Arc::new(Registry::open(JsonFileStore::new(&path), [])?);
    /// // Changes that another process saves to the file apply here within 250 ms.
    /// let watcher = StoreWatcher::start(&registry, Duration::from_millis(250));
    /// drop(watcher); // stops the thread
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start(registry: &Arc<Registry>, every: Duration) -> StoreWatcher {
        let weak: Weak<Registry> = Arc::downgrade(registry);
        let stop = Arc::new(AtomicBool::new(false));
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
