//! The framework-neutral core of trusted-cors: CORS in Okta's trusted-origins model.
//!
//! - Each route declares whether it is CORS-enabled ([`RouteCors`]); a route that declares nothing
//!   is server-side only and its preflights are refused.
//! - Cross-origin calls with cookies are allowed only from administrator-managed trusted origins
//!   ([`Registry`] of [`TrustedOrigin`]s) that are ACTIVE and have the CORS scope.
//! - Cross-origin `Authorization` is accepted only with bearer-type schemes (`Bearer`, `DPoP`);
//!   an `SSWS` API token or `Basic` never works cross-origin. A route may accept bearer tokens
//!   from any origin, without cookies.
//! - A cross-origin WebSocket handshake (which browsers send with the site's cookies and no CORS
//!   check) is accepted only from such a trusted origin, unless its route declared the socket
//!   open to any origin ([`RouteCorsBuilder::websocket_from_any_origin`]): no cross-site
//!   WebSocket hijacking.
//! - Every denial is a [`Rejection`] with a stable reason code, a cause that names the fix, an
//!   Okta-style JSON body and a `tracing` event (target `trusted_cors`).
//!
//! The whole behaviour is one pure function, [`decision::decide`], and the replies it leads to
//! ([`Reply`], and the headers added to an application's response) are built here too: the Tower
//! layers ([`GuardLayer`], [`RouteCorsLayer`]) and the axum and actix-web adapters only copy them
//! into their framework's types (the adapters' protocol is a hidden module, `adapter`).
//!
//! Around it:
//! - the [`Registry`] keeps no files: it is changed in memory, or [prepared](Registry::prepare)
//!   and [applied](Registry::apply) around a store's commit. The stores (in memory, SQLite and
//!   PostgreSQL, each with a change feed that keeps every instance of a service on the same
//!   revision) and Okta's Trusted Origins API (`TrustedOriginsApi`, mounted by the axum and
//!   actix adapters behind their `admin` feature) live in the `trusted-cors-admin` crate;
//! - [`RegistrySnapshot::redirect_allowed`] for sign-in redirects, and [`Cors::frame_ancestors`]
//!   for `Content-Security-Policy: frame-ancestors` from the IFRAME_EMBED scope;
//! - [`CorsSettings`] and [`SeedOrigin`] to read the configuration from TOML or JSON.
//!
//! # Design
//!
//! - **One pure decision.** [`decision::decide`] is a synchronous function of plain inputs (the
//!   request's facts, the config, the route's policy, a registry snapshot): no I/O, no framework
//!   types and no `http` types in its signature, so that Tower and axum (`http` 1) and actix-web
//!   (`http` 0.2) share it. The adapters translate their framework's types and hold no rule.
//! - **The registry is data, swapped whole.** Requests read a snapshot without a lock; a change
//!   makes a new one. Changes are asked for ([`ChangeRequest`], worked out into a
//!   [`PreparedChange`]), committed by a store ([`EntryWrite`], [`CommittedChange`]) and applied
//!   ([`AppliedChange`], what the audit trail records).
//! - **Configuration errors are values** ([`ConfigError`], [`RegistryError`]), returned when a
//!   layer, policy or config is built; no request bytes make the layers panic, and the work per
//!   request is bounded.
//!
//! `ARCHITECTURE.md` at the root of the repository follows a request through the code, with the
//! decision table and the invariants the tests check.
//!
//! # Quick start (Tower)
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use tower::{service_fn, Layer, ServiceExt};
//! use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::with_origins([
//!     NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors]),
//! ])?;
//! let cors = Cors::new(CorsConfig::default(), registry);
//!
//! // "Get current user" is CORS-enabled; the guard wraps the whole application.
//! let me = RouteCors::builder().allow_methods(["GET"]).build()?;
//! let handler = service_fn(|_req: Request<String>| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(r#"{"id":"00u1"}"#))))
//! });
//! let app = cors.guard().layer(cors.route(me).layer(handler));
//!
//! let request = Request::get("/api/v1/users/me")
//!     .header("origin", "https://portal.example.com")
//!     .header("cookie", "sid=abc")
//!     .body(String::new())?;
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.headers()["access-control-allow-origin"], "https://portal.example.com");
//! assert_eq!(response.headers()["access-control-allow-credentials"], "true");
//! assert_eq!(response.headers()["vary"], "Origin");
//!
//! let preflight = Request::options("/api/v1/users/me")
//!     .header("origin", "https://evil.example")
//!     .header("access-control-request-method", "GET")
//!     .body(String::new())?;
//! let response = app.oneshot(preflight).await?;
//! assert_eq!(response.status(), 403);
//! assert!(response.headers().get("access-control-allow-origin").is_none());
//! # Ok(())
//! # }
//! ```
//!
//! # Deployment caveat
//!
//! Same-origin detection trusts `Sec-Fetch-Site`, the configured public origins, and then `Origin`
//! against `Host`. Behind a proxy that rewrites `Host`, configure the public origin
//! ([`CorsConfigBuilder::public_origin`]) or same-origin calls from old browsers are judged as
//! cross-origin. A proxy that strips `Origin` turns every browser call into a non-CORS request:
//! the layer can then neither answer nor refuse it.

#[doc(hidden)]
pub mod adapter;
mod audit;
mod change;
mod config;
pub mod decision;
mod error;
pub mod explain;
mod field;
mod layers;
pub mod metrics;
mod origin;
mod policy;
mod registry;
mod rejection;
mod reply;
mod request;
mod respond;
mod service;
mod trusted_origin;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use audit::AUDIT_TARGET;
pub use change::{
    AppliedChange, ChangeAction, ChangeRequest, CommittedChange, EntryWrite, PreparedChange,
};
pub use config::{CorsConfig, CorsConfigBuilder, CorsSettings, SeedOrigin};
pub use decision::{decide, Decision};
pub use error::ConfigError;
use field::Field;
pub use layers::CorsOutcome;
pub use origin::{Origin, OriginError, OriginPattern, OriginSchemes};
/// A request's `Origin` bytes validated: the decision's own reading, public for the fuzz targets
/// (`fuzz/`), which check it against their own oracle.
#[doc(hidden)]
pub use origin::{OriginParts, RequestOrigin};
pub use policy::{RouteCors, RouteCorsBuilder};
pub use registry::{Registry, RegistrySnapshot};
pub use rejection::{
    OriginForm, Rejection, RejectionCause, RejectionKind, RequestHeadersProblem, RuleMode,
    TrustHint,
};
pub use reply::Reply;
pub use request::{HeaderInput, RequestFacts};
pub use respond::{OktaError, RejectionResponder};
pub use service::{FrameAncestorsLayer, GuardLayer, RouteCorsLayer};
pub use trusted_origin::{
    NewTrustedOrigin, OktaApp, OktaApps, RegistryError, Scope, ScopeType, Status, Timestamp,
    TrustedOrigin,
};

use decision::RouteScope;
use layers::DeclaredRoute;
use reply::{Decoration, ResponseHeaders};

/// The CORS configuration of a service and its registry of trusted origins, shared by the guard
/// and every route declaration. Cheap to clone.
///
/// Registry changes can be made concurrently with requests; they apply to requests that start
/// after the change.
#[derive(Clone)]
pub struct Cors {
    inner: Arc<CorsInner>,
}

struct CorsInner {
    config: CorsConfig,
    registry: Arc<Registry>,
    /// Whether a guard wraps a service for this `Cors`; route declarations warn otherwise.
    guard_installed: AtomicBool,
    /// Whether a route declared with this `Cors` accepts WebSocket handshakes from any origin:
    /// the guard then defers the handshakes it would refuse to the route (see
    /// `Cors::judge_unrouted`).
    public_sockets: AtomicBool,
    /// The guard's decision counters, when metrics are on.
    guard_counters: Option<metrics::DecisionCounters>,
}

impl Cors {
    /// Combines the global settings with the registry that administrators change at run time
    /// (a [`Registry`] or an `Arc<Registry>` shared with the Trusted Origins API).
    ///
    /// The registry takes the config's [`origin_schemes`](CorsConfig::origin_schemes): from now
    /// on it refuses new entries of schemes the layers would not trust.
    ///
    /// When the config's [`metrics`](CorsConfig::metrics) are on, it describes them to the
    /// installed recorder (`metrics::describe`) and turns on the registry's
    /// (`Registry::enable_metrics`).
    pub fn new(config: CorsConfig, registry: impl Into<Arc<Registry>>) -> Self {
        let registry = registry.into();
        registry.set_origin_schemes(config.origin_schemes().clone());
        let guard_counters = metrics::DecisionCounters::new(config.metrics(), metrics::GUARD_ROUTE);
        #[cfg(feature = "metrics")]
        if config.metrics() {
            metrics::describe();
            registry.enable_metrics();
        }
        Cors {
            inner: Arc::new(CorsInner {
                config,
                registry,
                guard_installed: AtomicBool::new(false),
                public_sockets: AtomicBool::new(false),
                guard_counters,
            }),
        }
    }

    /// The guard's decision counters, when metrics are on.
    pub(crate) fn guard_counters(&self) -> Option<&metrics::DecisionCounters> {
        self.inner.guard_counters.as_ref()
    }

    /// The global settings.
    pub fn config(&self) -> &CorsConfig {
        &self.inner.config
    }

    /// The registry of trusted origins.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    /// Decides a request against the current registry snapshot.
    pub fn decide<'a>(&self, facts: &RequestFacts<'a>, route: RouteScope<'a>) -> Decision<'a> {
        decide(
            facts,
            &self.inner.config,
            route,
            &self.inner.registry.snapshot(),
        )
    }

    /// The decision for `facts`, made as the layers make it, explained rule by rule (see
    /// [`explain`]).
    ///
    /// ```
    /// use trusted_cors_core::decision::RouteScope;
    /// use trusted_cors_core::explain::{Outcome, Verdict};
    /// use trusted_cors_core::{Cors, CorsConfig, HeaderInput, Registry, RequestFacts, RouteCors};
    ///
    /// let cors = Cors::new(CorsConfig::default(), Registry::new());
    /// let route = RouteCors::default();
    /// let facts = RequestFacts {
    ///     method: "GET",
    ///     path: "/api/v1/users/me",
    ///     origin: HeaderInput::One(b"https://shop.example.com"),
    ///     ..RequestFacts::default()
    /// };
    /// let why = cors.explain(&facts, RouteScope::Declared(&route));
    /// assert_eq!(why.outcome, Outcome::Refused);
    /// assert_eq!(why.reason, Some("origin_not_trusted"));
    /// let last = why.checks.last().unwrap();
    /// assert_eq!((last.rule, last.verdict), ("origin_not_trusted", Verdict::Refused));
    /// assert!(last.finding.contains("add it under trusted origins"));
    /// ```
    pub fn explain(&self, facts: &RequestFacts<'_>, route: RouteScope<'_>) -> explain::Explanation {
        explain::explain(
            facts,
            &self.inner.config,
            route,
            &self.inner.registry.snapshot(),
        )
    }

    /// A call a page would make, explained as the layers decide it on `route`: its preflight
    /// (when the browser sends one) and its actual request (when the preflight lets it
    /// through).
    ///
    /// ```
    /// use trusted_cors_core::decision::RouteScope;
    /// use trusted_cors_core::explain::{Call, Outcome};
    /// use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
    ///
    /// let registry = Registry::with_origins([NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors])])?;
    /// let cors = Cors::new(CorsConfig::default(), registry);
    /// let route = RouteCors::default(); // GET, HEAD; content-type
    /// let mut call = Call::new("https://shop.example.com", "PUT", "/api/v1/users/me");
    /// call.credentials = true;
    /// let why = cors.explain_call(&call, RouteScope::Declared(&route));
    /// assert_eq!(why.outcome, Outcome::Refused);
    /// assert_eq!(why.reason, Some("method_not_allowed"));
    /// assert!(why.actual.is_none(), "the browser never sends it");
    /// # Ok::<(), trusted_cors_core::RegistryError>(())
    /// ```
    pub fn explain_call(
        &self,
        call: &explain::Call<'_>,
        route: RouteScope<'_>,
    ) -> explain::CallExplanation {
        explain::explain_call(
            call,
            &self.inner.config,
            route,
            &self.inner.registry.snapshot(),
        )
    }

    /// As [`decide`](Self::decide), also giving the would-be rejections of rules in report
    /// mode (see `decision::decide_reporting`).
    pub(crate) fn decide_reporting<'a>(
        &self,
        facts: &RequestFacts<'a>,
        route: RouteScope<'a>,
        reports: &mut Vec<Rejection>,
    ) -> Decision<'a> {
        decision::decide_reporting(
            facts,
            &self.inner.config,
            route,
            &self.inner.registry.snapshot(),
            reports,
        )
    }

    /// The Tower layer that guards the whole application: before routing it refuses API tokens
    /// and other non-bearer credentials from other origins and unsafe cross-origin writes from
    /// untrusted origins, and it refuses preflights that no declared route answered. It adds no
    /// CORS headers: routes declare those with [`route`](Self::route).
    pub fn guard(&self) -> GuardLayer {
        GuardLayer::new(self.clone())
    }

    /// The Tower layer that lets a route's pages be framed only by this service and the ACTIVE
    /// trusted origins with the IFRAME_EMBED scope (`Content-Security-Policy: frame-ancestors`).
    pub fn frame_ancestors(&self) -> FrameAncestorsLayer {
        FrameAncestorsLayer::new(self.clone())
    }

    /// The Tower layer that declares one route's CORS policy: it answers the route's preflights,
    /// refuses what the policy does not allow and adds the CORS headers to its responses.
    pub fn route(&self, policy: RouteCors) -> RouteCorsLayer {
        RouteCorsLayer::new(Arc::new(self.declare::<http::HeaderMap>(policy)))
    }

    /// What the frame-ancestors layers add to a response: `Content-Security-Policy:
    /// frame-ancestors 'self' <origins>` from the current registry (see
    /// [`RegistrySnapshot::frame_ancestors`]).
    #[doc(hidden)]
    pub fn frame_ancestors_decoration<V>(&self) -> Decoration<V> {
        let policy = self.inner.registry.snapshot().frame_ancestors();
        Decoration::frame_ancestors(bytes::Bytes::from(policy))
    }

    /// Records that a guard wraps a service (the Tower guard layer and the actix-web middleware
    /// call it when they are applied).
    #[doc(hidden)]
    pub fn mark_guard_installed(&self) {
        self.inner.guard_installed.store(true, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn guard_installed(&self) -> bool {
        self.inner.guard_installed.load(Ordering::Relaxed)
    }

    /// Whether a route declared with this `Cors` accepts WebSocket handshakes from any origin
    /// ([`RouteCorsBuilder::websocket_from_any_origin`]).
    #[inline]
    pub(crate) fn has_public_sockets(&self) -> bool {
        self.inner.public_sockets.load(Ordering::Relaxed)
    }

    /// Whether a declared route reads a `GET`'s `Upgrade` and `Connection` to judge WebSocket
    /// handshakes itself: when the guard defers the ones it would refuse (a public socket is
    /// declared), or when no guard judges them.
    #[inline]
    pub(crate) fn routes_judge_handshakes(&self) -> bool {
        self.has_public_sockets() || !self.guard_installed()
    }

    /// A route's policy prepared for the layers of a framework whose response headers are `W`
    /// (see [`adapter`]).
    #[doc(hidden)]
    pub fn declare<W>(&self, policy: RouteCors) -> DeclaredRoute<W::Value>
    where
        W: ResponseHeaders,
        W::Value: Clone,
    {
        if policy.accepts_websocket_from_any_origin() {
            self.inner.public_sockets.store(true, Ordering::Relaxed);
        }
        DeclaredRoute::new::<W>(self.clone(), policy)
    }
}

impl fmt::Debug for Cors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cors")
            .field("config", &self.inner.config)
            .field("trusted_origins", &self.inner.registry.snapshot().len())
            .finish()
    }
}

/// A random identifier: `prefix` and `len` base-62 characters.
pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 32];
    let len = len.min(bytes.len());
    if getrandom::fill(&mut bytes[..len]).is_err() {
        // No entropy source: fall back to the clock, still unique enough for ids of this kind.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(97);
        }
    }
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    id.extend(
        bytes[..len]
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % 62] as char),
    );
    id
}
