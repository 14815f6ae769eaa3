//! The decision: a pure function from plain request facts, the global config, the route's policy
//! and a registry snapshot to what the server must do. No I/O, no framework types, no `http`
//! types, so the Tower layer (http 1.x) and the actix-web middleware (http 0.2) share it.
//!
//! The order of the rules:
//! 1. no `Origin` → not a CORS request; same-origin → passes untouched. When the request carries
//!    `Sec-Fetch-Site`, only `same-origin` counts; without it (older browsers), a configured public
//!    origin or an `Origin` matching `Host` does;
//! 2. global rules: `Authorization` must use an allowed bearer-type scheme; an unsafe method from
//!    an origin that is not trusted needs a bearer token and no cookies (unless the path accepts
//!    cross-site form posts);
//! 3. the route: an undeclared route refuses preflights and adds nothing; a declared route
//!    answers preflights itself and decorates or refuses actual requests.

use crate::origin::{OriginParts, RequestOrigin};
use crate::policy::{is_tchar, is_token, AllowedHeaders};
use crate::rejection::printable;
use crate::{CorsConfig, RegistrySnapshot, Rejection, RejectionKind, RouteCors, ScopeType};

/// The longest `Access-Control-Request-Headers` value looked at; longer ones are refused.
pub const MAX_REQUEST_HEADERS_LEN: usize = 4096;
/// The most header names looked at in `Access-Control-Request-Headers`; more are refused.
pub const MAX_REQUEST_HEADER_NAMES: usize = 64;

/// `Vary` for responses whose CORS outcome depends on `Origin`.
pub const VARY_ORIGIN: &str = "Origin";
/// `Vary` for preflight answers and refusals.
pub const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// Whether the `Vary` values already cover `item` (`*`, the item itself, or the whole value), so
/// an adapter appends `item` only when needed and never replaces what the application set.
pub fn vary_covers<'v>(values: impl IntoIterator<Item = &'v [u8]>, item: &str) -> bool {
    values.into_iter().any(|value| {
        value.trim_ascii() == b"*"
            || value.eq_ignore_ascii_case(item.as_bytes())
            || value
                .split(|b| *b == b',')
                .any(|part| part.trim_ascii().eq_ignore_ascii_case(item.as_bytes()))
    })
}

/// The values of one request header: absent, exactly one, or several (which for the headers the
/// decision reads is always treated as malformed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderInput<'a> {
    /// The header is not present.
    #[default]
    Absent,
    /// One value.
    One(&'a [u8]),
    /// More than one value.
    Many,
}

impl<'a> HeaderInput<'a> {
    /// From the values of a header, in any framework.
    pub fn from_values<I: IntoIterator<Item = &'a [u8]>>(values: I) -> Self {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (None, _) => HeaderInput::Absent,
            (Some(one), None) => HeaderInput::One(one),
            (Some(_), Some(_)) => HeaderInput::Many,
        }
    }

    /// Whether the header is present at all.
    pub fn is_present(&self) -> bool {
        !matches!(self, HeaderInput::Absent)
    }
}

/// What the decision reads from a request, as plain bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFacts<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The path, for form-post exemptions and logs.
    pub path: &'a str,
    /// `Origin`.
    pub origin: HeaderInput<'a>,
    /// `Access-Control-Request-Method`.
    pub access_control_request_method: HeaderInput<'a>,
    /// `Access-Control-Request-Headers`.
    pub access_control_request_headers: HeaderInput<'a>,
    /// `Authorization`.
    pub authorization: HeaderInput<'a>,
    /// Whether a `Cookie` header is present.
    pub has_cookies: bool,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: HeaderInput<'a>,
    /// `Host` (or the `:authority` of an HTTP/2 request).
    pub host: HeaderInput<'a>,
}

/// Where the decision is made.
#[derive(Debug, Clone, Copy)]
pub enum RouteScope<'a> {
    /// Around the whole application, before routing: the route is not known yet.
    Unrouted,
    /// A route that declared nothing: server-side only.
    Undeclared,
    /// A route with a declared policy.
    Declared(&'a RouteCors),
}

/// What the server must do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Decision<'a> {
    /// No `Origin` header: not a CORS request.
    NotCors,
    /// A same-origin request: passes untouched.
    SameOrigin,
    /// A cross-origin request that passed the global rules; this scope adds no CORS headers
    /// (before routing, the route decides; on an undeclared route, none are sent).
    Pass,
    /// Before routing, a preflight: the route must answer it, or it is refused with
    /// `route_not_cors_enabled`.
    DeferPreflight,
    /// Answer the preflight with these headers and status 204; do not call the handler.
    Preflight(PreflightAnswer<'a>),
    /// Call the handler and add these headers to its response.
    Allow(CorsHeaders<'a>),
    /// Refuse: do not call the handler.
    Reject(Rejection),
}

impl Decision<'_> {
    /// The rejection, if the decision is one.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Decision::Reject(rejection) => Some(rejection),
            _ => None,
        }
    }
}

/// The headers of a preflight answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreflightAnswer<'a> {
    /// `Access-Control-Allow-Origin`: the request's origin, exactly.
    pub allow_origin: &'a str,
    /// Whether to send `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
    /// `Access-Control-Allow-Methods`.
    pub allow_methods: &'a str,
    /// `Access-Control-Allow-Headers`; omit the header when empty.
    pub allow_headers: &'a str,
    /// `Access-Control-Max-Age`.
    pub max_age: &'a str,
}

/// The headers to add to the response of an allowed cross-origin request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorsHeaders<'a> {
    /// `Access-Control-Allow-Origin`: the request's origin, exactly.
    pub allow_origin: &'a str,
    /// Whether to send `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
    /// `Access-Control-Expose-Headers`, if any.
    pub expose_headers: Option<&'a str>,
    /// Whether the origin is an ACTIVE trusted origin with the CORS scope (otherwise it was
    /// allowed as a bearer-token call from any origin).
    pub trusted: bool,
}

/// Decides what to do with a request.
///
/// ```
/// use trusted_cors_core::decision::{decide, Decision, HeaderInput, RequestFacts, RouteScope};
/// use trusted_cors_core::{CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
///
/// let config = CorsConfig::default();
/// let registry = Registry::with_origins([NewTrustedOrigin::new("App", "https://app.example.com", [ScopeType::Cors])])?;
/// let me = RouteCors::builder().build()?;
///
/// let facts = RequestFacts {
///     method: "OPTIONS",
///     path: "/api/v1/users/me",
///     origin: HeaderInput::One(b"https://app.example.com"),
///     access_control_request_method: HeaderInput::One(b"GET"),
///     ..RequestFacts::default()
/// };
/// match decide(&facts, &config, RouteScope::Declared(&me), &registry.snapshot()) {
///     Decision::Preflight(answer) => {
///         assert_eq!(answer.allow_origin, "https://app.example.com");
///         assert!(answer.allow_credentials);
///     }
///     other => panic!("expected a preflight answer, got {other:?}"),
/// }
///
/// // The same preflight from elsewhere is refused, with a reason.
/// let evil = RequestFacts { origin: HeaderInput::One(b"https://evil.example"), ..facts };
/// let decision = decide(&evil, &config, RouteScope::Declared(&me), &registry.snapshot());
/// assert_eq!(decision.rejection().map(|r| r.reason()), Some("origin_not_trusted"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decide<'a>(
    facts: &RequestFacts<'a>,
    config: &CorsConfig,
    route: RouteScope<'a>,
    registry: &RegistrySnapshot,
) -> Decision<'a> {
    let (origin_bytes, origin): (&[u8], RequestOrigin<'a>) = match facts.origin {
        HeaderInput::Absent => return Decision::NotCors,
        HeaderInput::One(bytes) => (bytes, RequestOrigin::parse(bytes)),
        HeaderInput::Many => (b"<several Origin headers>", RequestOrigin::Malformed),
    };
    if is_same_origin(facts, config, &origin) {
        return Decision::SameOrigin;
    }
    let reject = |kind, cause: String| {
        let rejection = Rejection::new(kind, origin_bytes, facts.path, cause);
        Decision::Reject(rejection)
    };

    let request_method = match facts.access_control_request_method {
        HeaderInput::One(bytes) if facts.method == "OPTIONS" => {
            std::str::from_utf8(bytes).ok().filter(|m| is_token(m))
        }
        _ => None,
    };
    let is_preflight = request_method.is_some();

    // Global rule: bearer-type credentials only.
    let bearer = match facts.authorization {
        HeaderInput::Absent => false,
        HeaderInput::One(value) => {
            let scheme = auth_scheme(value);
            if scheme.eq_ignore_ascii_case(b"ssws") {
                return reject(
                    RejectionKind::ApiTokenCrossOrigin,
                    "An API token (SSWS) was sent from a browser on another origin. API tokens \
                     must never be exposed in a front end: use a scoped OAuth access token as a \
                     Bearer token instead"
                        .to_owned(),
                );
            }
            match std::str::from_utf8(scheme) {
                Ok(s) if is_token(s) && config.allows_credential_scheme(s) => true,
                _ => {
                    return reject(
                        RejectionKind::CredentialSchemeNotAllowed,
                        format!(
                            "The Authorization scheme `{}` is not accepted on cross-origin \
                             requests: send a scoped access token as a Bearer (or DPoP) token",
                            printable(&scheme[..scheme.len().min(32)])
                        ),
                    );
                }
            }
        }
        HeaderInput::Many => {
            return reject(
                RejectionKind::CredentialSchemeNotAllowed,
                "Several Authorization headers were sent on a cross-origin request: send one \
                 Bearer token"
                    .to_owned(),
            );
        }
    };

    let parts = match origin {
        RequestOrigin::Valid(parts) => Some(parts),
        _ => None,
    };
    // The registry is only consulted when a rule needs it: before routing, a safe request is
    // passed on without a lookup.
    let needs_trust = matches!(route, RouteScope::Declared(p) if p.is_cors_enabled())
        || !(is_preflight || is_safe_method(facts.method));
    let trusted =
        needs_trust && parts.is_some_and(|p| registry.trusted_parts(&p, ScopeType::Cors).is_some());

    // Global rule: CORS headers alone do not stop a cross-site form post; refuse unsafe methods
    // from origins that are not trusted unless they carry a bearer token and no cookies.
    let bearer_only = bearer && !facts.has_cookies;
    let exempt = is_preflight
        || is_safe_method(facts.method)
        || trusted
        || bearer_only
        || config.is_form_post_path(facts.path);
    if !exempt {
        let how = if bearer {
            "it also carried cookies, which the server could act on"
        } else {
            "it carried no bearer token"
        };
        return reject(
            RejectionKind::UntrustedCrossOriginWrite,
            format!(
                "A cross-origin {} from {}, which is not a trusted origin with the CORS scope, \
                 was refused to prevent cross-site request forgery ({how}): add the origin as a \
                 trusted origin with the CORS scope, or call the API with a bearer access token \
                 and no cookies",
                printable(facts.method.as_bytes()),
                describe_origin(origin_bytes, &origin),
            ),
        );
    }

    let policy = match route {
        RouteScope::Unrouted if is_preflight => return Decision::DeferPreflight,
        RouteScope::Unrouted => return Decision::Pass,
        RouteScope::Declared(policy) if policy.is_cors_enabled() => policy,
        RouteScope::Undeclared | RouteScope::Declared(_) => {
            if is_preflight {
                return reject(
                    RejectionKind::RouteNotCorsEnabled,
                    format!(
                        "This API ({}) does not support CORS, so browsers cannot call it from \
                         another origin: call it from a server, or use a CORS-enabled API",
                        printable(facts.path.as_bytes())
                    ),
                );
            }
            return Decision::Pass;
        }
    };

    let not_trusted = |extra: &str| {
        reject(
            RejectionKind::OriginNotTrusted,
            match origin {
                RequestOrigin::Valid(p) => format!(
                    "Origin {} is not a trusted origin with the CORS scope: add it under trusted \
                     origins with the CORS scope{extra}",
                    p.serialized
                ),
                RequestOrigin::Null => "Origin null (a sandboxed or file: page) can never be \
                                        trusted: serve the page from an https origin and add it \
                                        as a trusted origin"
                    .to_owned(),
                RequestOrigin::Malformed => format!(
                    "The Origin header {} is not a serialized origin (scheme://host[:port]); \
                     browsers never send this, so the request is refused",
                    describe_origin(origin_bytes, &origin)
                ),
            },
        )
    };

    let Some(request_method) = request_method else {
        // An actual request to a CORS-enabled route.
        let Some(parts) = parts else {
            return not_trusted("");
        };
        if trusted {
            return Decision::Allow(CorsHeaders {
                allow_origin: parts.serialized,
                allow_credentials: policy.allows_credentials(),
                expose_headers: policy.expose_headers_value(),
                trusted: true,
            });
        }
        if policy.accepts_bearer_from_any_origin() && bearer {
            if facts.has_cookies {
                return not_trusted(
                    "; a bearer-token call from an untrusted origin must not carry cookies \
                     (use credentials: 'omit')",
                );
            }
            return Decision::Allow(CorsHeaders {
                allow_origin: parts.serialized,
                allow_credentials: false,
                expose_headers: policy.expose_headers_value(),
                trusted: false,
            });
        }
        return not_trusted(if policy.accepts_bearer_from_any_origin() {
            ", or call this API with a bearer access token"
        } else {
            ""
        });
    };

    // A preflight to a CORS-enabled route.
    let scan = match scan_request_headers(
        facts.access_control_request_headers,
        policy.allowed_headers(),
    ) {
        Ok(scan) => scan,
        Err(cause) => return reject(RejectionKind::HeaderNotAllowed, cause),
    };
    let Some(parts) = parts else {
        return not_trusted("");
    };
    let bearer_from_anywhere = policy.accepts_bearer_from_any_origin() && scan.authorization;
    if !trusted && !bearer_from_anywhere {
        return not_trusted(if policy.accepts_bearer_from_any_origin() {
            ", or call this API with a bearer access token"
        } else {
            ""
        });
    }
    if !policy.allows_method(request_method) {
        return reject(
            RejectionKind::MethodNotAllowed,
            format!(
                "Method {} is not allowed for cross-origin calls to this API; it allows {}",
                printable(request_method.as_bytes()),
                policy.allow_methods_value()
            ),
        );
    }
    if let Some(header) = scan.denied {
        let hint = if header.eq_ignore_ascii_case("authorization") {
            ": this API does not accept credentials in Authorization from other origins"
        } else {
            ""
        };
        return reject(
            RejectionKind::HeaderNotAllowed,
            format!(
                "Request header {} is not allowed for cross-origin calls to this API{hint}; it \
                 allows {}",
                printable(header.as_bytes()),
                if policy.allows_any_header() {
                    "any header but authorization"
                } else {
                    policy.allow_headers_value()
                }
            ),
        );
    }
    Decision::Preflight(PreflightAnswer {
        allow_origin: parts.serialized,
        allow_credentials: trusted && policy.allows_credentials(),
        allow_methods: policy.allow_methods_value(),
        allow_headers: if policy.allows_any_header() {
            scan.value
        } else {
            policy.allow_headers_value()
        },
        max_age: policy.max_age_value(),
    })
}

struct HeaderScan<'a> {
    /// The requested names, trimmed, for echoing.
    value: &'a str,
    authorization: bool,
    denied: Option<&'a str>,
}

/// Reads `Access-Control-Request-Headers` in O(min(len, limit)) and without allocating.
fn scan_request_headers<'a>(
    input: HeaderInput<'a>,
    allowed: &AllowedHeaders,
) -> Result<HeaderScan<'a>, String> {
    let bytes = match input {
        HeaderInput::Absent => b"".as_slice(),
        HeaderInput::One(bytes) => bytes,
        HeaderInput::Many => {
            return Err(
                "Several Access-Control-Request-Headers headers were sent; browsers send one"
                    .to_owned(),
            )
        }
    };
    if bytes.len() > MAX_REQUEST_HEADERS_LEN {
        return Err(format!(
            "Access-Control-Request-Headers is longer than {MAX_REQUEST_HEADERS_LEN} bytes"
        ));
    }
    let Ok(value) = std::str::from_utf8(bytes) else {
        return Err("Access-Control-Request-Headers is not a list of header names".to_owned());
    };
    let value = value.trim_matches([' ', '\t']);
    let mut scan = HeaderScan {
        value,
        authorization: false,
        denied: None,
    };
    for (count, name) in value.split(',').enumerate() {
        if count == MAX_REQUEST_HEADER_NAMES {
            return Err(format!(
                "Access-Control-Request-Headers names more than {MAX_REQUEST_HEADER_NAMES} headers"
            ));
        }
        let name = name.trim_matches([' ', '\t']);
        if name.is_empty() {
            continue;
        }
        if !name.bytes().all(is_tchar) {
            return Err(format!(
                "Access-Control-Request-Headers holds `{}`, which is not a header name",
                printable(name.as_bytes())
            ));
        }
        if name.eq_ignore_ascii_case("authorization") {
            scan.authorization = true;
        }
        if scan.denied.is_none() && !allowed.allows(name) {
            scan.denied = Some(name);
        }
    }
    Ok(scan)
}

/// The scheme of an `Authorization` value: the bytes before the first space.
fn auth_scheme(value: &[u8]) -> &[u8] {
    let value = value.trim_ascii_start();
    let end = value
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(value.len());
    &value[..end]
}

fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

fn is_same_origin(
    facts: &RequestFacts<'_>,
    config: &CorsConfig,
    origin: &RequestOrigin<'_>,
) -> bool {
    // A browser that sends `Sec-Fetch-Site` has judged the request itself: trust only that, so a
    // page on `http://host` cannot pass for `https://host` by matching `Host`.
    match facts.sec_fetch_site {
        HeaderInput::One(site) => return site == b"same-origin",
        HeaderInput::Many => return false,
        HeaderInput::Absent => {}
    }
    let RequestOrigin::Valid(parts) = origin else {
        return false;
    };
    if config.is_public_origin(parts.serialized) {
        return true;
    }
    // The fallback for browsers without fetch metadata, as Go's CrossOriginProtection does.
    match facts.host {
        HeaderInput::One(host) => host_matches(host, parts),
        _ => false,
    }
}

/// Whether `Host` names the origin's host and port (a default port may be explicit in `Host`).
fn host_matches(host: &[u8], origin: &OriginParts<'_>) -> bool {
    let authority = origin.authority().as_bytes();
    if host.eq_ignore_ascii_case(authority) {
        return true;
    }
    let default_port: &[u8] = match origin.scheme {
        "https" => b":443",
        "http" => b":80",
        _ => return false,
    };
    origin.port.is_empty()
        && host.len() == authority.len() + default_port.len()
        && host[..authority.len()].eq_ignore_ascii_case(authority)
        && &host[authority.len()..] == default_port
}

fn describe_origin(bytes: &[u8], origin: &RequestOrigin<'_>) -> String {
    match origin {
        RequestOrigin::Null => "null".to_owned(),
        _ => printable(bytes),
    }
}
