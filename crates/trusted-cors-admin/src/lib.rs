//! Okta's Trusted Origins API and durable stores for trusted-cors.
//!
//! The core crate (`trusted-cors-core`) decides CORS against a [`Registry`] of trusted origins;
//! this crate is how administrators change that registry and how the changes last:
//!
//! - [`TrustedOriginsApi`]: the management API in Okta's shape (`/api/v1/trustedOrigins`), one
//!   framework-neutral handler guarded by `SSWS` API tokens. The axum and actix-web adapters
//!   mount it behind their `admin` feature (`trusted_origins_router`, `trusted_origins_scope`).
//! - [`JsonFileStore`]: the embedded default [`TrustedOriginStore`], a JSON file written
//!   atomically before each change is applied, shared by several processes through a lock.
//! - [`StoreWatcher`]: applies the changes another process made to the store.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/trustedOrigins?q=&filter=&limit=&after=` | 200, a page of objects, `Link` (`self`, `next`) |
//! | `POST /api/v1/trustedOrigins` | 200, the created object |
//! | `GET`, `PUT`, `DELETE /api/v1/trustedOrigins/{id}` | 200 object, 200 object, 204 |
//! | `POST /api/v1/trustedOrigins/{id}/lifecycle/activate` or `/deactivate` | 200 object |
//!
//! `filter` takes `name eq "…"`, `origin eq "…"`, `status eq "ACTIVE"` and `type eq "CORS"`
//! clauses joined with `and`; `q` is a prefix of the name or the origin; pages hold
//! [`DEFAULT_LIMIT`] objects unless `limit` asks for another number up to [`MAX_LIMIT`].
//!
//! Every call needs `Authorization: SSWS <token>`, compared in constant time; the API is never
//! CORS-enabled, and the global CORS layer refuses `SSWS` tokens sent from browsers on other
//! origins. Errors are Okta error objects: 400 `E0000001` (validation, with causes naming the
//! field), 400 `E0000003` (malformed JSON), 401 `E0000011`, 404 `E0000007`, 405 `E0000022`,
//! 500 `E0000009` (the change could not be stored; nothing changed).
//!
//! ```
//! use std::sync::Arc;
//! use trusted_cors_admin::{ApiRequest, JsonFileStore, TrustedOriginsApi};
//! use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType, TrustedOriginStore};
//!
//! let dir = std::env::temp_dir().join(format!("trusted-cors-admin-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("trusted-origins.json");
//! # let _ = std::fs::remove_file(&path);
//!
//! // The registry lives in a file, seeded on first start.
//! let seeds = [NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors])];
//! let registry = Arc::new(Registry::open(JsonFileStore::new(&path), seeds)?);
//! let api = TrustedOriginsApi::new(Arc::clone(&registry), ["00secret-token"]);
//!
//! // An administrator adds a trusted origin; it is on disk before the API answers.
//! let response = api.handle(ApiRequest {
//!     method: "POST",
//!     path: "/api/v1/trustedOrigins",
//!     authorization: Some(b"SSWS 00secret-token"),
//!     body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
//!     host: Some(b"org.example.com"),
//!     ..ApiRequest::default()
//! });
//! assert_eq!(response.status(), 200);
//! assert_eq!(JsonFileStore::new(&path).load()?.map(|o| o.len()), Some(2));
//!
//! // Without a valid token nothing changes.
//! let response = api.handle(ApiRequest {
//!     method: "DELETE",
//!     path: "/api/v1/trustedOrigins/anything",
//!     authorization: Some(b"SSWS wrong"),
//!     ..ApiRequest::default()
//! });
//! assert_eq!(response.status(), 401);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Registry`]: trusted_cors_core::Registry
//! [`TrustedOriginStore`]: trusted_cors_core::TrustedOriginStore

mod api;
mod filter;
mod json_file;
mod tokens;
mod watcher;

pub use api::{
    trusted_origin_object, ApiRequest, TrustedOriginsApi, DEFAULT_LIMIT, MAX_LIMIT,
    TRUSTED_ORIGINS_PATH,
};
pub use json_file::JsonFileStore;
pub use watcher::StoreWatcher;
