//! What the fuzz targets share: the input format, a small fixed registry with an independent
//! oracle of what it trusts, the route policies and the configurations the targets run against.
//!
//! Inputs are line-based so that the seed corpus can be written by hand: most targets read a few
//! flag bytes, then fields separated by `\n` (header values can never hold a line feed).

use std::sync::OnceLock;
use std::time::Duration;

use trusted_cors_core::{
    CorsConfig, NewTrustedOrigin, Origin, Registry, RequestOrigin, RouteCors, ScopeType, Status,
};

/// Reads an input: a few flag bytes, then `\n`-separated fields. Missing bytes and fields read
/// as zero and absent.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    flags: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    /// Splits `flags` bytes off the front of `data`.
    pub fn new(data: &'a [u8], flags: usize) -> Self {
        let (flags, rest) = data.split_at(flags.min(data.len()));
        Input { flags, rest }
    }

    /// Flag byte `i` (zero when the input is shorter).
    pub fn flag(&self, i: usize) -> u8 {
        self.flags.get(i).copied().unwrap_or(0)
    }

    /// Two bits of the flags, numbered from bit 0 of byte 0.
    pub fn bits2(&self, bit: usize) -> u8 {
        (self.flag(bit / 8) >> (bit % 8)) & 0b11
    }

    /// One bit of the flags.
    pub fn bit(&self, bit: usize) -> bool {
        (self.flag(bit / 8) >> (bit % 8)) & 1 == 1
    }

    /// The `\n`-separated fields after the flags.
    pub fn fields(&self) -> Vec<&'a [u8]> {
        if self.rest.is_empty() {
            return Vec::new();
        }
        self.rest.split(|b| *b == b'\n').collect()
    }

    /// What follows the flags.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

/// One entry of the fixed registry: name, pattern, scopes, active.
pub type Entry = (&'static str, &'static str, &'static [ScopeType], bool);

/// The fixed registry of the decision and Tower targets: exact and wildcard entries, every scope,
/// both statuses, a port and plain http.
pub const ENTRIES: [Entry; 8] = [
    ("A", "https://a.example", &[ScopeType::Cors], true),
    ("B", "https://b.example", &[ScopeType::Cors], false),
    (
        "C",
        "https://c.example",
        &[ScopeType::Redirect, ScopeType::IframeEmbed],
        true,
    ),
    ("W", "https://*.w.example", &[ScopeType::Cors], true),
    (
        "L",
        "http://localhost:3000",
        &[ScopeType::Cors, ScopeType::Redirect],
        true,
    ),
    ("P", "https://p.example:8443", &[ScopeType::Cors], true),
    ("X", "https://*.x.example", &[ScopeType::Cors], false),
    (
        "R",
        "https://*.r.example",
        &[ScopeType::Redirect, ScopeType::Cors],
        true,
    ),
];

/// This service's configured public origin.
pub const PUBLIC_ORIGIN: &str = "https://public.example";

/// The path pattern exempt from the untrusted-write rule.
pub const FORM_POST_PATH: &str = "/sso/saml2/{app}";

/// A new registry holding [`ENTRIES`].
pub fn registry() -> Registry {
    Registry::with_origins(ENTRIES.iter().map(|(name, pattern, scopes, active)| {
        let status = if *active {
            Status::Active
        } else {
            Status::Inactive
        };
        NewTrustedOrigin::new(*name, *pattern, scopes.iter().copied()).with_status(status)
    }))
    .expect("the fixed registry is valid")
}

/// The oracle of trust, written without the library's matcher: whether `origin` (request bytes)
/// is an ACTIVE entry of [`ENTRIES`] with `scope`. A wildcard `scheme://*.base[:port]` matches
/// `scheme://labels.base[:port]` where every label is non-empty and made of lowercase letters,
/// digits, `-` and `_`.
pub fn oracle_trusted(origin: &[u8], scope: ScopeType) -> bool {
    ENTRIES
        .iter()
        .filter(|(_, _, scopes, active)| *active && scopes.contains(&scope))
        .any(|(_, pattern, _, _)| oracle_matches(pattern, origin))
}

/// Whether `pattern` (canonical, exact or `*.` wildcard) matches request origin bytes. An origin
/// longer than [`Origin::MAX_LEN`] is malformed: the work per request is bounded.
pub fn oracle_matches(pattern: &str, origin: &[u8]) -> bool {
    if origin.len() > Origin::MAX_LEN {
        return false;
    }
    let Some((scheme, rest)) = pattern.split_once("://") else {
        return false;
    };
    let Some(wild) = rest.strip_prefix("*.") else {
        return origin == pattern.as_bytes();
    };
    let (base, port) = match wild.rfind(':') {
        Some(colon) => wild.split_at(colon),
        None => (wild, ""),
    };
    let Some(after_scheme) = origin
        .strip_prefix(scheme.as_bytes())
        .and_then(|o| o.strip_prefix(b"://"))
    else {
        return false;
    };
    let Some(host) = after_scheme.strip_suffix(port.as_bytes()) else {
        return false;
    };
    let Some(front) = host
        .strip_suffix(base.as_bytes())
        .and_then(|h| h.strip_suffix(b"."))
    else {
        return false;
    };
    !front.is_empty()
        && front.split(|b| *b == b'.').all(|label| {
            !label.is_empty()
                && label
                    .iter()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
        })
}

/// The route policies the targets declare, by index. Index 0 is server-side only.
pub fn policies() -> &'static [RouteCors] {
    static POLICIES: OnceLock<Vec<RouteCors>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        vec![
            RouteCors::server_side_only(),
            RouteCors::default(),
            RouteCors::builder()
                .credentials(false)
                .allow_methods(["GET", "POST"])
                .build()
                .expect("valid"),
            RouteCors::builder()
                .allow_methods(["GET", "PUT", "DELETE"])
                .allow_headers(["content-type", "authorization", "x-request-id"])
                .bearer_from_any_origin()
                .expose_headers(["x-request-id"])
                .max_age(Duration::from_secs(600))
                .build()
                .expect("valid"),
            RouteCors::builder()
                .allow_any_header()
                .allow_methods(["GET", "POST", "PATCH"])
                .build()
                .expect("valid"),
            RouteCors::builder()
                .allow_headers(["authorization"])
                .allow_any_header()
                .bearer_from_any_origin()
                .credentials(false)
                .build()
                .expect("valid"),
            RouteCors::builder()
                .allow_methods(["GET", "X-CUSTOM"])
                .allow_headers(Vec::<String>::new())
                .max_age(Duration::ZERO)
                .build()
                .expect("valid"),
            RouteCors::builder()
                .bearer_from_any_origin()
                .websocket_from_any_origin()
                .build()
                .expect("valid"),
        ]
    })
}

/// The configurations, by index: 0 the defaults with a public origin and a form-post path; 1
/// only `Bearer`, diagnostics on.
pub fn configs() -> &'static [CorsConfig] {
    static CONFIGS: OnceLock<Vec<CorsConfig>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        vec![
            CorsConfig::builder()
                .public_origin(PUBLIC_ORIGIN)
                .allow_cross_site_form_posts(FORM_POST_PATH)
                .build()
                .expect("valid"),
            CorsConfig::builder()
                .credential_schemes(["Bearer"])
                .public_origin(PUBLIC_ORIGIN)
                .diagnostics_header(true)
                .build()
                .expect("valid"),
        ]
    })
}

/// The credential schemes config `index` accepts cross-origin (lowercase).
pub fn allowed_schemes(index: usize) -> &'static [&'static str] {
    match index {
        0 => &["bearer", "dpop"],
        _ => &["bearer"],
    }
}

/// Whether config `index` exempts `path` from the untrusted-write rule (`/sso/saml2/{app}`).
pub fn oracle_form_post(index: usize, path: &str) -> bool {
    index == 0
        && path
            .strip_prefix("/sso/saml2/")
            .is_some_and(|app| !app.is_empty() && !app.contains('/'))
}

/// The scheme of an `Authorization` value: the bytes before the first space or tab, after
/// leading whitespace.
pub fn auth_scheme(value: &[u8]) -> &[u8] {
    let value = value.trim_ascii_start();
    let end = value
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(value.len());
    &value[..end]
}

/// Whether the request is same-origin by ARCHITECTURE.md's rules: `Sec-Fetch-Site: same-origin` (or
/// `none`, a navigation the user started) when the header is there, else a public origin, else
/// an `http` or `https` origin whose `host[:port]` is `Host` (an app origin such as
/// `capacitor://api.example` is never a page served by `Host`).
pub fn oracle_same_origin(
    origin: &[u8],
    sec_fetch_site: Option<Option<&[u8]>>,
    host: Option<Option<&[u8]>>,
) -> bool {
    // `None`: absent; `Some(None)`: several values; `Some(Some(v))`: one.
    match sec_fetch_site {
        Some(Some(site)) => return site == b"same-origin" || site == b"none",
        Some(None) => return false,
        None => {}
    }
    let RequestOrigin::Valid(parts) = RequestOrigin::parse(origin) else {
        return false;
    };
    if origin == PUBLIC_ORIGIN.as_bytes() {
        return true;
    }
    let Some(Some(host)) = host else {
        return false;
    };
    let default: &[u8] = match parts.scheme() {
        "https" => b":443",
        "http" => b":80",
        _ => return false,
    };
    let authority = &origin[parts.scheme().len() + 3..];
    if host.eq_ignore_ascii_case(authority) {
        return true;
    }
    parts.port().is_empty()
        && host.len() == authority.len() + default.len()
        && host[..authority.len()].eq_ignore_ascii_case(authority)
        && host.ends_with(default)
}

/// The comma-separated items of a header value, trimmed of spaces and tabs, empty ones left out.
pub fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(|item| item.trim_ascii())
        .filter(|item| !item.is_empty())
}

/// Whether `value` is an RFC 9110 token (a method, a header name, an auth scheme).
pub fn is_token(value: &[u8]) -> bool {
    !value.is_empty()
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
}

/// Checks a rejection body: an Okta error object.
pub fn assert_okta_error(body: &[u8], what: &str) {
    let value: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{what}: the body is not JSON ({e}): {body:?}"));
    for key in ["errorCode", "errorSummary", "errorLink", "errorId"] {
        assert!(value[key].is_string(), "{what}: no {key} in {value}");
    }
    assert!(
        value["errorCauses"].is_array(),
        "{what}: no errorCauses in {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracle_matches_labels() {
        assert!(oracle_matches(
            "https://*.w.example",
            b"https://a.w.example"
        ));
        assert!(oracle_matches(
            "https://*.w.example",
            b"https://a.b.w.example"
        ));
        assert!(!oracle_matches("https://*.w.example", b"https://w.example"));
        assert!(!oracle_matches(
            "https://*.w.example",
            b"https://.a.w.example"
        ));
        assert!(!oracle_matches(
            "https://*.w.example",
            b"https://a..w.example"
        ));
        assert!(!oracle_matches(
            "https://*.w.example",
            b"https://A.w.example"
        ));
        assert!(!oracle_matches(
            "https://*.w.example",
            b"http://a.w.example"
        ));
        assert!(oracle_matches(
            "https://*.w.example:8443",
            b"https://a.w.example:8443"
        ));
        assert!(!oracle_matches(
            "https://*.w.example:8443",
            b"https://a.w.example"
        ));
        assert!(oracle_matches("https://a.example", b"https://a.example"));
        let long = format!("https://{}.w.example", "a".repeat(Origin::MAX_LEN));
        assert!(!oracle_matches("https://*.w.example", long.as_bytes()));
        assert!(registry().snapshot().len() == ENTRIES.len());
    }
}
