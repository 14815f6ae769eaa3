//! Metrics through the [`metrics`](https://docs.rs/metrics) facade: the application installs the
//! exporter it likes (Prometheus, StatsD, OpenTelemetry …) and trusted-cors reports to it.
//!
//! # Enabling
//!
//! Two switches, both off by default:
//!
//! - the cargo feature `metrics` (of `trusted-cors`, or of `trusted-cors-core` and
//!   `trusted-cors-admin`) compiles the metrics in and adds the `metrics` crate as a dependency;
//!   without it nothing of this module's recording exists in the binary, and a configuration that
//!   asks for metrics is refused ([`ConfigError::MetricsNotCompiled`](crate::ConfigError));
//! - [`CorsConfigBuilder::metrics(true)`](crate::CorsConfigBuilder::metrics) (settings key
//!   `metrics = true`) turns them on for one [`Cors`](crate::Cors) and for its registry (and so for
//!   the `TrustedOrigins` of the admin crate that owns that registry).
//!
//! The feature keeps the dependency out of applications that do not want it; the runtime switch
//! lets one binary run with or without metrics (and lets tests and benchmarks compare both). Off,
//! the request path pays one branch on a field of the route (nothing else: no recorder lookup, no
//! clock read); without the feature, not even that. On, counting a decision looks the counter up
//! in the installed recorder by a key built when the route was declared (no allocation on the
//! request path: label values are `&'static str` and the keys are made once), then increments it.
//!
//! # The metrics
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | [`trusted_cors_decisions_total`](Metric::DecisionsTotal) | counter | `outcome`, `reason`, `route` | CORS decisions, see below |
//! | [`trusted_cors_trusted_origins`](Metric::TrustedOrigins) | gauge | `status` (`ACTIVE`, `INACTIVE`) | trusted origins in the registry, updated on every change |
//! | [`trusted_cors_store_write_seconds`](Metric::StoreWriteSeconds) | histogram | `store` (`memory`, `sqlite`, `postgres`, or a custom store's kind) | how long the store took to commit a change made through `TrustedOrigins::change` (committed changes only) |
//! | [`trusted_cors_registry_changes_applied_total`](Metric::RegistryChangesAppliedTotal) | counter | none | changes committed by other instances and applied to this one's registry |
//! | [`trusted_cors_api_rate_limited_total`](Metric::ApiRateLimitedTotal) | counter | `credential` (`api_token`, `access_token`, `grant`, `unauthenticated`) | Trusted Origins API calls answered 429 because the caller's budget was spent |
//! | [`trusted_cors_store_up`](Metric::StoreUp) | gauge | `store` | 1 while the trusted-origins store answers, 0 while it is down (the instance then serves its last snapshot) |
//! | [`trusted_cors_registry_last_applied_timestamp_seconds`](Metric::LastAppliedTimestamp) | gauge | none | when a change was last applied to the registry (or it was loaded), in Unix seconds: `time() - trusted_cors_registry_last_applied_timestamp_seconds` is the seconds since |
//!
//! `trusted_cors_decisions_total` counts, once per request and outcome:
//!
//! - `outcome="allowed"`: a cross-origin actual request a declared route allowed (its handler
//!   runs and the response gets CORS headers); `reason="none"`;
//! - `outcome="preflight"`: a preflight a declared route answered with 204; `reason="none"`;
//! - `outcome="rejected"`: a request the guard or a route refused, `reason` its code (e.g.
//!   `origin_not_trusted`);
//! - `outcome="reported"`: a rule in report mode that would have refused the request, `reason` its
//!   code; counted besides the outcome the request got (usually `allowed`), once per rule.
//!
//! `route` is the route's [name](crate::RouteCorsBuilder::name) (`unnamed` if it has none), or
//! `guard` for what the guard decides before routing (API tokens, untrusted writes, preflights no
//! route answered, WebSocket handshakes from untrusted origins). Label values come from a fixed set and the names the application gives its
//! routes: never the origin or the path, so the number of series stays bounded.
//!
//! Not counted: requests without `Origin`, same-origin requests, a WebSocket handshake from an
//! untrusted origin that a route declared open to any origin takes (it is no CORS request: the
//! route adds no CORS header), and cross-origin requests that pass to a route that declared nothing (they get no CORS headers; the browser keeps the
//! response from the page). Counting them would cost every request of the application a recorder
//! lookup, for numbers a server's own request metrics already give. Refusals a handler makes
//! itself (`RejectionResponse`, `RejectionError`) are the application's, not counted either.
//!
//! # Describing
//!
//! `describe()` (with the feature) gives each metric its help text and unit in the installed recorder; call it once
//! after installing the recorder (the Prometheus exporter prints it as `# HELP`). `Cors::new` calls
//! it too when metrics are on.

/// A metric trusted-cors reports; [`name`](Self::name) is what the recorder sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Metric {
    /// `trusted_cors_decisions_total`: counter of CORS decisions, labelled `outcome`, `reason`
    /// and `route`.
    DecisionsTotal,
    /// `trusted_cors_trusted_origins`: gauge of trusted origins in the registry, labelled
    /// `status`.
    TrustedOrigins,
    /// `trusted_cors_store_write_seconds`: histogram of store commit latency in seconds,
    /// labelled `store`.
    StoreWriteSeconds,
    /// `trusted_cors_registry_changes_applied_total`: counter of changes committed by other
    /// instances and applied to this instance's registry.
    RegistryChangesAppliedTotal,
    /// `trusted_cors_api_rate_limited_total`: counter of Trusted Origins API calls refused for
    /// their caller's rate limit, labelled `credential`.
    ApiRateLimitedTotal,
    /// `trusted_cors_store_up`: gauge, 1 while the trusted-origins store answers, 0 while it is
    /// down; labelled `store`.
    StoreUp,
    /// `trusted_cors_registry_last_applied_timestamp_seconds`: gauge, when a change was last
    /// applied to the registry, in Unix seconds (a timestamp rather than an age, as Prometheus
    /// advises, so that it needs no updating while nothing happens).
    LastAppliedTimestamp,
}

impl Metric {
    /// Every metric, in the order of the table above.
    pub const ALL: [Metric; 7] = [
        Metric::DecisionsTotal,
        Metric::TrustedOrigins,
        Metric::StoreWriteSeconds,
        Metric::RegistryChangesAppliedTotal,
        Metric::ApiRateLimitedTotal,
        Metric::StoreUp,
        Metric::LastAppliedTimestamp,
    ];

    /// The metric's name, e.g. `trusted_cors_decisions_total`.
    ///
    /// ```
    /// use trusted_cors_core::metrics::Metric;
    ///
    /// assert_eq!(Metric::DecisionsTotal.name(), "trusted_cors_decisions_total");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Metric::DecisionsTotal => DECISIONS_TOTAL,
            Metric::TrustedOrigins => TRUSTED_ORIGINS,
            Metric::StoreWriteSeconds => STORE_WRITE_SECONDS,
            Metric::RegistryChangesAppliedTotal => REGISTRY_CHANGES_APPLIED_TOTAL,
            Metric::ApiRateLimitedTotal => API_RATE_LIMITED_TOTAL,
            Metric::StoreUp => STORE_UP,
            Metric::LastAppliedTimestamp => LAST_APPLIED_TIMESTAMP,
        }
    }
}

const DECISIONS_TOTAL: &str = "trusted_cors_decisions_total";
const TRUSTED_ORIGINS: &str = "trusted_cors_trusted_origins";
const STORE_WRITE_SECONDS: &str = "trusted_cors_store_write_seconds";
const REGISTRY_CHANGES_APPLIED_TOTAL: &str = "trusted_cors_registry_changes_applied_total";
const API_RATE_LIMITED_TOTAL: &str = "trusted_cors_api_rate_limited_total";
const STORE_UP: &str = "trusted_cors_store_up";
const LAST_APPLIED_TIMESTAMP: &str = "trusted_cors_registry_last_applied_timestamp_seconds";

/// The `route` label of what the guard decides before routing.
pub(crate) const GUARD_ROUTE: &str = "guard";
/// The `route` label of a declared route without a [name](crate::RouteCorsBuilder::name).
pub(crate) const UNNAMED_ROUTE: &str = "unnamed";
/// The `reason` label of an allowed request or an answered preflight.
#[cfg(feature = "metrics")]
const NO_REASON: &str = "none";

#[cfg(feature = "metrics")]
pub use enabled::describe;
#[cfg(feature = "metrics")]
#[doc(hidden)]
pub use enabled::{
    record_changes_applied, record_rate_limited, record_store_health, record_store_write,
};
pub(crate) use enabled::{set_trusted_origins, DecisionCounters};

#[cfg(feature = "metrics")]
mod enabled {
    use std::time::Duration;

    use ::metrics::{Key, Label, Level, Metadata, Unit};

    use super::{
        API_RATE_LIMITED_TOTAL, DECISIONS_TOTAL, LAST_APPLIED_TIMESTAMP, NO_REASON,
        REGISTRY_CHANGES_APPLIED_TOTAL, STORE_UP, STORE_WRITE_SECONDS, TRUSTED_ORIGINS,
    };
    use crate::RejectionKind;

    static METADATA: Metadata<'static> =
        Metadata::new("trusted_cors", Level::INFO, Some(module_path!()));

    /// Gives each metric its help text and unit in the installed recorder (the global one, or
    /// the thread's local one). Call it once after installing the recorder; calling it again
    /// does no harm.
    pub fn describe() {
        ::metrics::describe_counter!(
            DECISIONS_TOTAL,
            Unit::Count,
            "CORS decisions by outcome (allowed, preflight, rejected, reported), reason code and \
             route name (guard: before routing)"
        );
        ::metrics::describe_gauge!(
            TRUSTED_ORIGINS,
            Unit::Count,
            "Trusted origins in the registry, by status (ACTIVE, INACTIVE)"
        );
        ::metrics::describe_histogram!(
            STORE_WRITE_SECONDS,
            Unit::Seconds,
            "Time the trusted-origins store took to commit a change, by store kind"
        );
        ::metrics::describe_counter!(
            REGISTRY_CHANGES_APPLIED_TOTAL,
            Unit::Count,
            "Trusted-origin changes committed by other instances and applied to this one"
        );
        ::metrics::describe_counter!(
            API_RATE_LIMITED_TOTAL,
            Unit::Count,
            "Trusted Origins API calls answered 429 for the caller's rate limit, by kind of \
             credential"
        );
        ::metrics::describe_gauge!(
            STORE_UP,
            "1 while the trusted-origins store answers, 0 while it is down"
        );
        ::metrics::describe_gauge!(
            LAST_APPLIED_TIMESTAMP,
            Unit::Seconds,
            "When a change was last applied to the registry (or it was loaded), in Unix seconds"
        );
    }

    /// The keys of one route's decision counter, made once: `allowed`, `preflight`, then
    /// `rejected` and `reported` for each rejection kind, in the order of
    /// [`RejectionKind::ALL`].
    pub(crate) struct DecisionCounters {
        keys: Box<[Key]>,
    }

    const KINDS: usize = RejectionKind::ALL.len();

    impl DecisionCounters {
        /// The counters of `route`, when metrics are `on`.
        pub(crate) fn new(on: bool, route: &'static str) -> Option<Self> {
            if !on {
                return None;
            }
            let key = |outcome: &'static str, reason: &'static str| {
                Key::from_parts(
                    DECISIONS_TOTAL,
                    vec![
                        Label::from_static_parts("outcome", outcome),
                        Label::from_static_parts("reason", reason),
                        Label::from_static_parts("route", route),
                    ],
                )
                // Shared: a recorder that keeps the key (`to_retained`) clones an `Arc`, where
                // it would copy the label list of an owned key, on every increment.
                .to_retained()
            };
            let mut keys = Vec::with_capacity(2 + 2 * KINDS);
            keys.push(key("allowed", NO_REASON));
            keys.push(key("preflight", NO_REASON));
            for outcome in ["rejected", "reported"] {
                keys.extend(RejectionKind::ALL.map(|kind| key(outcome, kind.code())));
            }
            Some(DecisionCounters {
                keys: keys.into_boxed_slice(),
            })
        }

        fn increment(&self, index: usize) {
            // An index past the keys (a kind missing from `ALL`) counts nothing.
            if let Some(key) = self.keys.get(index) {
                ::metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA))
                    .increment(1);
            }
        }

        /// The place of `kind` among the `rejected` (or `reported`) keys: every kind is in
        /// [`RejectionKind::ALL`] (tested there).
        fn kind_index(kind: RejectionKind) -> usize {
            RejectionKind::ALL
                .iter()
                .position(|k| *k == kind)
                .unwrap_or(usize::MAX - 2 * KINDS)
        }

        pub(crate) fn allowed(&self) {
            self.increment(0);
        }

        pub(crate) fn preflight(&self) {
            self.increment(1);
        }

        pub(crate) fn rejected(&self, kind: RejectionKind) {
            self.increment(2 + Self::kind_index(kind));
        }

        pub(crate) fn reported(&self, kind: RejectionKind) {
            self.increment(2 + KINDS + Self::kind_index(kind));
        }
    }

    /// Sets the trusted-origins gauge.
    pub(crate) fn set_trusted_origins(active: usize, inactive: usize) {
        static ACTIVE: [Label; 1] = [Label::from_static_parts("status", "ACTIVE")];
        static INACTIVE: [Label; 1] = [Label::from_static_parts("status", "INACTIVE")];
        static KEYS: [Key; 2] = [
            Key::from_static_parts(TRUSTED_ORIGINS, &ACTIVE),
            Key::from_static_parts(TRUSTED_ORIGINS, &INACTIVE),
        ];
        for (key, count) in KEYS.iter().zip([active, inactive]) {
            ::metrics::with_recorder(|recorder| recorder.register_gauge(key, &METADATA))
                .set(count as f64);
        }
    }

    /// Records one store commit of `store` kind that took `took` (the admin crate calls it).
    pub fn record_store_write(store: &'static str, took: Duration) {
        ::metrics::histogram!(STORE_WRITE_SECONDS, "store" => store).record(took.as_secs_f64());
    }

    /// Counts `count` changes of other instances applied here (the admin crate calls it).
    pub fn record_changes_applied(count: u64) {
        ::metrics::counter!(REGISTRY_CHANGES_APPLIED_TOTAL).increment(count);
    }

    /// Counts one API call refused for the rate limit of a `credential` kind (the admin crate
    /// calls it).
    pub fn record_rate_limited(credential: &'static str) {
        ::metrics::counter!(API_RATE_LIMITED_TOTAL, "credential" => credential).increment(1);
    }

    /// Sets the store's up gauge and the last-applied timestamp (the admin crate calls it).
    pub fn record_store_health(store: &'static str, up: bool, last_applied: std::time::SystemTime) {
        ::metrics::gauge!(STORE_UP, "store" => store).set(if up { 1.0 } else { 0.0 });
        let at = last_applied
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        ::metrics::gauge!(LAST_APPLIED_TIMESTAMP).set(at);
    }
}

/// Without the feature: nothing to count, and no value of it can be made.
#[cfg(not(feature = "metrics"))]
mod enabled {
    use crate::RejectionKind;

    pub(crate) enum DecisionCounters {}

    impl DecisionCounters {
        pub(crate) fn new(_on: bool, _route: &'static str) -> Option<Self> {
            None
        }

        pub(crate) fn allowed(&self) {
            match *self {}
        }

        pub(crate) fn preflight(&self) {
            match *self {}
        }

        pub(crate) fn rejected(&self, _kind: RejectionKind) {
            match *self {}
        }

        pub(crate) fn reported(&self, _kind: RejectionKind) {
            match *self {}
        }
    }

    /// Never called: a registry's metrics cannot be turned on without the feature.
    pub(crate) fn set_trusted_origins(_active: usize, _inactive: usize) {}
}
