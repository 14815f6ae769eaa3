//! The fixture shared by the core's integration tests: a registry with every kind of entry, a
//! global config and a set of route policies, over the workspace's shared fixture
//! (`trusted_cors_testing::fixtures`).
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::sync::Arc;

use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};

pub use trusted_cors_testing::fixtures::{
    me_policy as me, user_policy as user, INACTIVE, REDIRECT_ONLY, TRUSTED, UNTRUSTED,
    WILDCARD_MATCH,
};
pub const PUBLIC: &str = "https://org.example.com";
/// A Capacitor app's WebView: a trusted origin, of a scheme on the default list.
pub const CAPACITOR: &str = "capacitor://localhost";
/// A browser extension: a trusted origin entry, but `chrome-extension` is not on the fixture
/// config's origin schemes, so it is never trusted.
pub const EXTENSION: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
pub const FORM_POST_PATH: &str = "/sso/saml2/0oa1";

pub fn registry() -> Registry {
    let mut seeds = trusted_cors_testing::fixtures::seeds();
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
    Registry::with_origins(seeds).expect("fixture registry")
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

/// Trusted origins without cookies, any header but authorization.
pub fn no_cookies() -> RouteCors {
    RouteCors::builder()
        .credentials(false)
        .allow_methods(["GET", "POST"])
        .allow_any_header()
        .build()
        .expect("no-cookies policy")
}
