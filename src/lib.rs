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
//! ```
//! use trusted_cors::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
//!
//! let registry = Registry::with_origins([
//!     NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors, ScopeType::Redirect]),
//! ])?;
//! let cors = Cors::new(CorsConfig::default(), registry.into());
//! let me = RouteCors::builder().allow_methods(["GET", "PUT"]).bearer_from_any_origin().build()?;
//! let _global_layer = cors.layer();
//! let _route_layer = cors.route(me);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use trusted_cors_core::*;

/// The README's code blocks, compiled as doc-tests so the quick starts stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
