//! The fixture shared by the core's integration tests: a registry with every kind of entry, a
//! global config and a set of route policies.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use trusted_cors_core::{
    Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType, Status,
};

pub const TRUSTED: &str = "https://app.example.com";
pub const WILDCARD_MATCH: &str = "https://team.apps.example.org";
pub const INACTIVE: &str = "https://old.example.com";
pub const REDIRECT_ONLY: &str = "https://login.example.net";
pub const UNTRUSTED: &str = "https://evil.example";
pub const PUBLIC: &str = "https://org.example.com";
/// A Capacitor app's WebView: a trusted origin, of a scheme on the default list.
pub const CAPACITOR: &str = "capacitor://localhost";
/// A browser extension: a trusted origin entry, but `chrome-extension` is not on the fixture
/// config's origin schemes, so it is never trusted.
pub const EXTENSION: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
pub const FORM_POST_PATH: &str = "/sso/saml2/0oa1";

pub fn registry() -> Registry {
    Registry::with_origins([
        NewTrustedOrigin::new("App", TRUSTED, [ScopeType::Cors, ScopeType::Redirect]),
        NewTrustedOrigin::new("Apps", "https://*.apps.example.org", [ScopeType::Cors]),
        NewTrustedOrigin::new("Old", INACTIVE, [ScopeType::Cors]).with_status(Status::Inactive),
        NewTrustedOrigin::new("Login", REDIRECT_ONLY, [ScopeType::Redirect]),
        NewTrustedOrigin::new("Mobile", CAPACITOR, [ScopeType::Cors]),
        NewTrustedOrigin::new("Extension", EXTENSION, [ScopeType::Cors]),
    ])
    .expect("fixture registry")
}

pub fn config() -> CorsConfig {
    CorsConfig::builder()
        .public_origin(PUBLIC)
        .allow_cross_site_form_posts("/sso/saml2/{app}")
        .diagnostics_header(true)
        .build()
        .expect("fixture config")
}

pub fn cors() -> Cors {
    Cors::new(config(), Arc::new(registry()))
}

/// "Get current user": trusted origins with cookies, bearer tokens from any origin.
pub fn me() -> RouteCors {
    RouteCors::builder()
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type"])
        .expose_headers(["x-request-id"])
        .bearer_from_any_origin()
        .build()
        .expect("me policy")
}

/// "Get user": trusted origins with cookies only, the defaults.
pub fn user() -> RouteCors {
    RouteCors::builder().build().expect("user policy")
}

/// Open to every origin, without credentials.
pub fn public() -> RouteCors {
    RouteCors::builder()
        .any_origin()
        .build()
        .expect("public policy")
}

/// Trusted origins without cookies, any header but authorization.
pub fn no_cookies() -> RouteCors {
    RouteCors::builder()
        .credentials(false)
        .allow_methods(["GET", "POST"])
        .allow_any_header()
        .build()
        .expect("no-cookies policy")
}
