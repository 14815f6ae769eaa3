//! [`StoreHealth`]: whether an instance's store is reachable, since when, and how current the
//! snapshot it serves is known to be.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// How an instance of [`TrustedOrigins`](crate::TrustedOrigins) stands with its store, from
/// [`TrustedOrigins::health`](crate::TrustedOrigins::health): what a `/health` endpoint shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreHealth {
    /// Whether the store answered the last time it was used (a read of its feed, a commit).
    pub up: bool,
    /// Since when it is up, or down.
    pub since: SystemTime,
    /// Whether the instance serves what its `LastKnownGood` (feature `sqlite`) copy held
    /// at start, not yet checked against the store.
    pub from_copy: bool,
    /// When the snapshot served was last known to be the store's latest: the last successful
    /// read of the store, or when the copy served was written.
    pub current_at: SystemTime,
    /// When a change was last applied to the snapshot served (or it was loaded).
    pub last_applied: SystemTime,
}

impl StoreHealth {
    /// Whether the instance serves a snapshot that may be behind the store: the store is down,
    /// or the instance serves its copy.
    pub fn degraded(&self) -> bool {
        !self.up || self.from_copy
    }

    /// How long ago the snapshot served was last known to be the store's latest.
    pub fn snapshot_age(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.current_at)
            .unwrap_or(Duration::ZERO)
    }
}

/// The health, kept by the instance; reported as metrics (when `metrics` is on) each time it is
/// updated, so that the gauges appear once metrics are turned on after the instance opened.
#[derive(Debug)]
pub(crate) struct HealthState {
    state: Mutex<StoreHealth>,
    kind: &'static str,
}

impl HealthState {
    /// Up, current now.
    pub(crate) fn up(kind: &'static str) -> Self {
        let now = SystemTime::now();
        HealthState {
            state: Mutex::new(StoreHealth {
                up: true,
                since: now,
                from_copy: false,
                current_at: now,
                last_applied: now,
            }),
            kind,
        }
    }

    /// Down from now, serving a copy written at `written`.
    #[cfg(feature = "sqlite")]
    pub(crate) fn from_copy(kind: &'static str, written: SystemTime) -> Self {
        HealthState {
            state: Mutex::new(StoreHealth {
                up: false,
                since: SystemTime::now(),
                from_copy: true,
                current_at: written,
                last_applied: written,
            }),
            kind,
        }
    }

    pub(crate) fn get(&self) -> StoreHealth {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store answered: what the instance serves is its latest; `applied` when that
    /// brought changes. Returns whether the store was down until now.
    pub(crate) fn answered(&self, applied: bool, metrics: bool) -> bool {
        let now = SystemTime::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let was_down = !state.up;
        if was_down {
            state.up = true;
            state.since = now;
        }
        if applied {
            state.last_applied = now;
        }
        state.from_copy = false;
        state.current_at = now;
        self.report(&state, metrics);
        was_down
    }

    /// The store could not be reached. Returns whether it was up until now.
    pub(crate) fn lost(&self, metrics: bool) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let was_up = state.up;
        if was_up {
            state.up = false;
            state.since = SystemTime::now();
        }
        self.report(&state, metrics);
        was_up
    }

    fn report(&self, state: &StoreHealth, metrics: bool) {
        #[cfg(feature = "metrics")]
        if metrics {
            trusted_cors_core::metrics::record_store_health(
                self.kind,
                state.up,
                state.last_applied,
            );
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (state, metrics, self.kind);
    }
}
