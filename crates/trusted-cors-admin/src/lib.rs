//! Okta's Trusted Origins API and the stores that keep trusted origins, for trusted-cors.
//!
//! The core crate (`trusted-cors-core`) decides CORS against a [`Registry`] of trusted origins;
//! this crate is how administrators change that registry, and how the changes last and reach
//! every instance of a service:
//!
//! - [`TrustedOrigins`]: a registry and its store, changed together; a change is committed by
//!   the store before requests see it, and [`follow`](TrustedOrigins::follow) applies the
//!   changes other instances commit.
//! - Stores, behind one asynchronous interface ([`TrustedOriginStore`]: one entry per change,
//!   revisions, a change feed, uniqueness enforced by the store): [`MemoryStore`]; `SqliteStore`
//!   (feature `sqlite`), the embedded default, a file that the processes of one machine share;
//!   `PostgresStore` (feature `postgres`), for a fleet, with changes announced by
//!   `LISTEN`/`NOTIFY`; [`LazyStore`] (and `PostgresStore::connect_lazy`) connects on first use.
//! - `LastKnownGood` (feature `sqlite`): an instance's local copy of what it serves, so that it
//!   can start while its store is down (`TrustedOrigins::open_with_copy`); and
//!   [`TrustedOrigins::health`], whether the store answers and how current the snapshot is.
//! - [`TrustedOriginsApi`]: the management API in Okta's shape (`/api/v1/trustedOrigins`), one
//!   framework-neutral handler guarded by `SSWS` API tokens and scoped OAuth 2.0 access tokens
//!   ([`handle_with_grant`](TrustedOriginsApi::handle_with_grant) takes a caller the application
//!   authenticated itself, e.g. an administrator's session in its own admin pages).
//!   The axum and actix-web adapters mount it behind their `admin` feature
//!   (`trusted_origins_router`, `trusted_origins_scope`).
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/trustedOrigins?q=&filter=&limit=&after=` | 200, a page of objects, `Link` (`self`, `next`) |
//! | `POST /api/v1/trustedOrigins` | 200, the created object |
//! | `GET`, `PUT`, `DELETE /api/v1/trustedOrigins/{id}` | 200 object, 200 object, 204 |
//! | `POST /api/v1/trustedOrigins/{id}/lifecycle/activate` or `/deactivate` | 200 object |
//!
//! `filter` takes Okta's filter expressions: `eq`, `ne`, `sw`, `pr`, `gt`, `ge`, `lt`, `le` on
//! `id`, `name`, `origin`, `status`, `type`, `created` and `lastUpdated`, joined with `and`,
//! `or`, `not` and parentheses, values in JSON strings (`(id eq "a" or id eq "b")`,
//! `type eq "CORS" and not (status eq "INACTIVE")`), at most [`MAX_FILTER_LEN`] bytes nested at
//! most [`MAX_FILTER_DEPTH`] deep; `q` is a prefix of the name or the origin; pages hold
//! [`DEFAULT_LIMIT`] objects unless `limit` asks for another number up to [`MAX_LIMIT`].
//! Objects are Okta's: scopes in the order given (`IFRAME_EMBED` with `allowedOktaApps`, `[]` or
//! `["OKTA_ENDUSER"]`), dates with milliseconds (`2024-01-31T12:00:00.000Z`), `_links`
//! absolute once [`with_base_url`](TrustedOriginsApi::with_base_url) gives the service's public
//! origin.
//!
//! Every call needs `Authorization: SSWS <token>` (an API token, compared in constant time,
//! with every right; `SSWS<token>` without the space too, as Okta's Python SDK sends it) or, with [`with_authorizer`](TrustedOriginsApi::with_authorizer),
//! `Authorization: Bearer <token>`: an OAuth 2.0 access token that an [`AccessTokenAuthorizer`]
//! the application supplies (or [`StaticAccessTokens`]) maps to a [`Grant`] of Okta's scopes,
//! `okta.trustedOrigins.read` for `GET` and `okta.trustedOrigins.manage` for changes (and
//! reads). The API is never CORS-enabled, and the global CORS layer refuses `SSWS` tokens sent
//! from browsers on other origins. Errors are Okta error objects: 400 `E0000001` (validation,
//! with causes naming the field; also a name or origin another instance took first), 400
//! `E0000003` (malformed JSON), 401 `E0000011` (no valid token), 403 `E0000006` (an access
//! token without the scope the call needs, which the cause names), 404 `E0000007`, 405
//! `E0000022`, 429 `E0000047` with `Retry-After` (the caller's [`RateLimit`] is spent; every
//! answer carries `X-Rate-Limit-Limit`, `-Remaining` and `-Reset`), 503 `E0000010` with
//! `Retry-After` (the store is unavailable; nothing changed), 503
//! `E0000009` with `Retry-After` (the authorizer could not check a token), 500 `E0000009` (the
//! store holds what cannot be used). Every answer carries `X-Okta-Request-Id`, an error's equal
//! to its `errorId`.
//!
//! Every change is recorded in the audit trail, a `tracing` event on target
//! `trusted_cors::audit` ([`AUDIT_TARGET`](trusted_cors_core::AUDIT_TARGET)) naming the actor
//! (`apiToken<N>` or the access token's subject), the action, the entry before and after, and
//! the revision, on the instance that makes it; and
//! [`TrustedOrigins::subscribe`] delivers every change an instance applies, its own and other
//! instances', to forward to an audit log of the application's own.
//!
//! ```
//! use std::sync::Arc;
//! use trusted_cors_admin::{ApiRequest, MemoryStore, TrustedOrigins, TrustedOriginsApi, TrustedOriginStore};
//! use trusted_cors_core::{NewTrustedOrigin, ScopeType};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The store is seeded on first start (use `SqliteStore` or `PostgresStore` to keep it).
//! let store = MemoryStore::new();
//! let seeds = [NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors])];
//! let origins = Arc::new(TrustedOrigins::open(store.clone(), seeds).await?);
//! let api = TrustedOriginsApi::new(Arc::clone(&origins), ["00secret-token"]);
//!
//! // An administrator adds a trusted origin; the store has it before the API answers.
//! let response = api.handle(ApiRequest {
//!     method: "POST",
//!     path: "/api/v1/trustedOrigins",
//!     authorization: Some(b"SSWS 00secret-token"),
//!     body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
//!     ..ApiRequest::default()
//! }).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(store.load().await?.origins.len(), 2);
//! assert_eq!(origins.revision(), 2);
//!
//! // Without a valid token nothing changes.
//! let response = api.handle(ApiRequest {
//!     method: "DELETE",
//!     path: "/api/v1/trustedOrigins/anything",
//!     authorization: Some(b"SSWS wrong"),
//!     ..ApiRequest::default()
//! }).await;
//! assert_eq!(response.status(), 401);
//! # Ok(())
//! # }
//! ```
//!
//! [`Registry`]: trusted_cors_core::Registry

mod access;
mod api;
mod filter;
mod health;
#[cfg(feature = "sqlite")]
mod last_known_good;
mod origins;
mod store;
mod tokens;

pub use access::{
    AccessTokenAuthorizer, ApiScope, AuthorizeFuture, AuthorizerError, Grant, StaticAccessTokens,
    UnknownScope,
};
pub use api::{
    body_too_large, trusted_origin_object, ApiRequest, InvalidBaseUrl, InvalidRateLimit, RateLimit,
    TrustedOriginsApi, DEFAULT_LIMIT, MAX_BODY_LEN, MAX_LIMIT, TRUSTED_ORIGINS_PATH,
};
pub use filter::{MAX_FILTER_DEPTH, MAX_FILTER_LEN};
pub use health::StoreHealth;
#[cfg(feature = "sqlite")]
pub use last_known_good::{LastKnownGood, LAST_KNOWN_GOOD_FILE};
pub use origins::{
    Follower, TrustedOrigins, TrustedOriginsError, DEFAULT_FOLLOW_EVERY, SUBSCRIPTION_CAPACITY,
};
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{LazyStore, Loaded, MemoryStore, StoreError, StoreFuture, TrustedOriginStore};
