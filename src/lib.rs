//! # trusted-cors
//!
//! CORS for Tower services (and, through the adapter crates, axum and actix-web) in Okta's model:
//!
//! - **Per-route declarations.** A route is CORS-enabled only when it says so with a
//!   [`RouteCors`] policy; every other route is server-side only and its preflights are refused.
//! - **Trusted origins.** Cross-origin calls with cookies are allowed only from
//!   administrator-managed trusted origins ([`Registry`]) that are `ACTIVE` and have the `CORS`
//!   scope. Changes apply to the next request.
//! - **Bearer-only credentials.** Cross-origin `Authorization` is accepted only with bearer-type
//!   schemes (`Bearer`, `DPoP`). An `SSWS` API token or `Basic` credentials never work from a
//!   browser on another origin. A route may accept bearer tokens from any origin, without cookies.
//! - **Every denial explained.** Each refusal is a [`Rejection`] with a stable reason code, an
//!   Okta-style JSON error whose cause names the fix, and a `tracing` event (target
//!   `trusted_cors`).
//!
//! This package re-exports [`trusted_cors_core`]; see its documentation for the decision table
//! and the Tower quick start.
//!
//! # Features
//!
//! - `axum`: the axum adapter as [`trusted_cors::for_axum`](crate::for_axum) (extractor, rejection
//!   response; routes use [`Cors::route`] with `MethodRouter::layer`).
//! - `actix`: the actix-web adapter as [`trusted_cors::for_actix`](crate::for_actix) (app and resource
//!   middleware over the same decision).
//! - `admin`: Okta's Trusted Origins API and the stores as
//!   [`trusted_cors::admin`](crate::admin) (`TrustedOriginsApi`, `TrustedOrigins`,
//!   `MemoryStore`); with `axum` or `actix` on, the adapters' `trusted_origins_router` and
//!   `trusted_origins_scope` mount the API.
//! - `sqlite`: `admin::SqliteStore`, the embedded default store (one file, shared by the
//!   processes of one machine).
//! - `postgres`: `admin::PostgresStore`, for a fleet (changes announced with `LISTEN`/`NOTIFY`).
//! - `metrics`: decisions, trusted origins and store writes reported through the `metrics`
//!   facade, when [`CorsConfigBuilder::metrics`] turns them on; names, labels and costs in
//!   [`metrics`].
//!
//! ```
//! use trusted_cors::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
//!
//! let registry = Registry::with_origins([
//!     NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors, ScopeType::Redirect]),
//! ])?;
//! let cors = Cors::new(CorsConfig::default(), registry);
//! let me = RouteCors::builder().allow_methods(["GET", "PUT"]).bearer_from_any_origin().build()?;
//! let _global_layer = cors.guard();
//! let _route_layer = cors.route(me);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub use trusted_cors_core::*;

/// The axum adapter (feature `axum`). Named so that `use trusted_cors::*;` never shadows the
/// `axum` crate.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod for_axum {
    pub use trusted_cors_axum::*;
}

/// The actix-web adapter (feature `actix`). Named so that `use trusted_cors::*;` never shadows
/// a crate.
#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod for_actix {
    pub use trusted_cors_actix::*;
}

/// The Trusted Origins API and the durable stores (feature `admin`).
#[cfg(feature = "admin")]
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
pub mod admin {
    pub use trusted_cors_admin::*;
}

/// The README's code blocks, compiled as doc-tests so the quick starts stay true.
#[cfg(all(doctest, feature = "axum", feature = "actix"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The guide's code blocks (`docs/*.md`), compiled as doc-tests as the README's are, one page
/// each; `tests/docs.rs` checks that every page of `docs/` is listed here. They use every
/// feature (the stores, the metrics), so they are compiled with all of them.
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "actix",
    feature = "sqlite",
    feature = "postgres",
    feature = "metrics"
))]
mod guide {
    #[doc = include_str!("../docs/README.md")]
    pub struct Index;
    #[doc = include_str!("../docs/how-it-works.md")]
    pub struct HowItWorks;
    #[doc = include_str!("../docs/configuration.md")]
    pub struct Configuration;
    #[doc = include_str!("../docs/explain.md")]
    pub struct Explain;
    #[doc = include_str!("../docs/trusted-origins-api.md")]
    pub struct TrustedOriginsApi;
    #[doc = include_str!("../docs/deployment.md")]
    pub struct Deployment;
    #[doc = include_str!("../docs/metrics.md")]
    pub struct Metrics;
    #[doc = include_str!("../docs/example-org.md")]
    pub struct ExampleOrg;
    #[doc = include_str!("../docs/performance.md")]
    pub struct Performance;
    #[doc = include_str!("../docs/testing.md")]
    pub struct Testing;
}
