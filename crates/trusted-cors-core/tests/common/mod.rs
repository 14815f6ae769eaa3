//! The fixture shared by the core's integration tests: a registry with every kind of entry, a
//! global config and a set of route policies, over the workspace's shared fixture
//! (`trusted_cors_testing::fixtures`).
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use trusted_cors_core::{Cors, CorsConfig, Registry, RouteCors};

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use trusted_cors_testing::fixtures::{
    me_policy as me, user_policy as user, CAPACITOR, EXTENSION, INACTIVE, REDIRECT_ONLY, TRUSTED,
    UNTRUSTED, WILDCARD_MATCH,
};
pub const PUBLIC: &str = "https://org.example.com";
pub const FORM_POST_PATH: &str = "/sso/saml2/0oa1";

pub fn registry() -> Registry {
    Registry::with_origins(trusted_cors_testing::fixtures::hybrid_seeds())
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

/// Open to every origin, without credentials.
pub fn public() -> RouteCors {
    RouteCors::builder()
        .any_origin()
        .build()
        .expect("public policy")
}

/// A WebSocket open to every origin (`websocket_from_any_origin`); otherwise the default policy.
pub fn socket() -> RouteCors {
    RouteCors::builder()
        .websocket_from_any_origin()
        .build()
        .expect("socket policy")
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
