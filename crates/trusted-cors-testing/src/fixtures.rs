//! The fixture the workspace's suites share: the origins they send, the trusted origins they
//! start with, and the "get current user" route policy.
//!
//! The core's suites (`crates/trusted-cors-core/tests/common`) and the adapters' behaviour suite
//! (`tests/common`) build their registries and apps from these, so that one origin or policy
//! means the same in every suite.

use trusted_cors_core::{
    NewTrustedOrigin, OktaApp, RouteCors, RouteCorsBuilder, Scope, ScopeType, Status,
};

/// An ACTIVE trusted origin with the CORS and REDIRECT scopes.
pub const TRUSTED: &str = "https://app.example.com";
/// The wildcard trusted origin (CORS): any subdomain of `apps.example.org`.
pub const WILDCARD: &str = "https://*.apps.example.org";
/// An origin that [`WILDCARD`] matches.
pub const WILDCARD_MATCH: &str = "https://team.apps.example.org";
/// An INACTIVE trusted origin with the CORS scope: trusted for nothing.
pub const INACTIVE: &str = "https://old.example.com";
/// An ACTIVE trusted origin with the REDIRECT scope only: never trusted for CORS.
pub const REDIRECT_ONLY: &str = "https://login.example.net";
/// An origin that no entry trusts.
pub const UNTRUSTED: &str = "https://evil.example";
/// A Capacitor app's WebView: a trusted origin in [`hybrid_seeds`], of a scheme on the default
/// origin schemes.
pub const CAPACITOR: &str = "capacitor://localhost";
/// A browser extension: a trusted origin in [`hybrid_seeds`], of a scheme not on the default
/// origin schemes, so never trusted unless a config adds `chrome-extension`.
pub const EXTENSION: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";

/// The trusted origins every suite starts with: [`TRUSTED`], [`WILDCARD`], [`INACTIVE`] and
/// [`REDIRECT_ONLY`], in this order.
pub fn seeds() -> Vec<NewTrustedOrigin> {
    vec![
        NewTrustedOrigin::new("App", TRUSTED, [ScopeType::Cors, ScopeType::Redirect]),
        NewTrustedOrigin::new("Apps", WILDCARD, [ScopeType::Cors]),
        NewTrustedOrigin::new("Old", INACTIVE, [ScopeType::Cors]).with_status(Status::Inactive),
        NewTrustedOrigin::new("Login", REDIRECT_ONLY, [ScopeType::Redirect]),
    ]
}

/// An entry with the IFRAME_EMBED scope for Okta's end-user dashboard only, as a store must keep
/// it (its apps list) across a schema migration.
pub fn framed() -> NewTrustedOrigin {
    let mut framed = NewTrustedOrigin::new("Framed", "https://framed.example", []);
    framed.scopes = vec![Scope::iframe_embed([OktaApp::OktaEnduser])];
    framed
}

/// [`seeds`], then a hybrid app's and a browser extension's origins ([`CAPACITOR`],
/// [`EXTENSION`]) with the CORS scope.
pub fn hybrid_seeds() -> Vec<NewTrustedOrigin> {
    let mut seeds = seeds();
    seeds.push(NewTrustedOrigin::new(
        "Mobile",
        CAPACITOR,
        [ScopeType::Cors],
    ));
    seeds.push(NewTrustedOrigin::new(
        "Extension",
        EXTENSION,
        [ScopeType::Cors],
    ));
    seeds
}

/// "Get current user", to be built (or named first): `GET` and `PUT` from trusted origins with
/// cookies, bearer tokens from any origin, the `content-type` request header, `x-request-id`
/// exposed.
pub fn me_builder() -> RouteCorsBuilder {
    RouteCors::builder()
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type"])
        .expose_headers(["x-request-id"])
        .bearer_from_any_origin()
}

/// "Get current user" ([`me_builder`]), built.
pub fn me_policy() -> RouteCors {
    me_builder().build().expect("me policy")
}

/// "Get user": the defaults (trusted origins with cookies; `GET`, `HEAD`; `content-type`).
pub fn user_policy() -> RouteCors {
    RouteCors::builder().build().expect("user policy")
}
