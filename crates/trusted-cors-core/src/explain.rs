//! "Why was this blocked?": the decision the layers make for a request, with each rule it
//! checked, in order, its verdict and what was found. The checks are written down by the
//! decision itself while it decides (never re-derived), so the explanation is the decision.
//!
//! [`explain_call`] explains a call a page would make (`fetch(url, {method, headers,
//! credentials})`): the preflight a browser sends first when it needs one, then the actual
//! request. An explanation reveals nothing a preflight from that origin would not: which rules
//! pass or refuse, with the same words the refusal carries.

use serde::Serialize;

pub use crate::decision::trace::{Check, Verdict};

use crate::decision::{decide_traced, Decision, OriginRead, RouteScope};
use crate::request::{HeaderInput, RequestFacts};
use crate::{CorsConfig, RegistrySnapshot};

/// The reason a call [blocked](Outcome::Blocked) by the browser because it sends cookies and
/// the answer does not allow credentials: no rule of the layers, the browser's own check.
pub const CREDENTIALS_NOT_ALLOWED: &str = "credentials_not_allowed";

/// What happens to a request, for the page that sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// No `Origin`: not a CORS request; no rule applies.
    NotCors,
    /// From the service's own origin: no rule applies.
    SameOrigin,
    /// The page may read the answer.
    Allowed,
    /// Refused with a reason (403).
    Refused,
    /// Passed on without CORS headers: the browser blocks the answer.
    Blocked,
}

/// The decision for one request, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Explanation {
    /// What happens to it.
    pub outcome: Outcome,
    /// The reason code of the rule that refused or blocked it.
    pub reason: Option<&'static str>,
    /// Whether the answer lets the page send and read with cookies.
    pub credentials: bool,
    /// Each rule checked, in order.
    pub checks: Vec<Check>,
}

/// Explains the decision for `facts`, made as the layers make it.
///
/// ```
/// use trusted_cors_core::decision::RouteScope;
/// use trusted_cors_core::explain::{explain, Outcome, Verdict};
/// use trusted_cors_core::{CorsConfig, HeaderInput, Registry, RequestFacts, RouteCors};
///
/// let registry = Registry::new();
/// let route = RouteCors::default();
/// let facts = RequestFacts {
///     method: "GET",
///     path: "/api/v1/users/me",
///     origin: HeaderInput::One(b"https://shop.example.com"),
///     ..RequestFacts::default()
/// };
/// let why = explain(&facts, &CorsConfig::default(), RouteScope::Declared(&route), &registry.snapshot());
/// assert_eq!(why.outcome, Outcome::Refused);
/// assert_eq!(why.reason, Some("origin_not_trusted"));
/// let last = why.checks.last().unwrap();
/// assert_eq!((last.rule, last.verdict), ("origin_not_trusted", Verdict::Refused));
/// assert!(last.finding.contains("add it under trusted origins"));
/// ```
pub fn explain(
    facts: &RequestFacts<'_>,
    config: &CorsConfig,
    route: RouteScope<'_>,
    registry: &RegistrySnapshot,
) -> Explanation {
    let mut checks = Vec::new();
    let mut reports = Vec::new();
    let decision = decide_traced(
        facts,
        config,
        route,
        registry,
        &mut reports,
        Some(&mut checks),
        OriginRead::LookUpFirst,
    );
    let (outcome, credentials) = match &decision {
        // A socket the rules let open, with the cookies sent: browsers make no CORS check of it.
        Decision::Pass if facts.websocket => (Outcome::Allowed, facts.has_cookies),
        Decision::NotCors => (Outcome::NotCors, false),
        Decision::SameOrigin => (Outcome::SameOrigin, false),
        Decision::Preflight(answer) => (Outcome::Allowed, answer.allow_credentials),
        Decision::Allow(headers) => (Outcome::Allowed, headers.allow_credentials),
        Decision::Reject(_) => (Outcome::Refused, false),
        _ => (Outcome::Blocked, false),
    };
    let reason = match &decision {
        Decision::Reject(rejection) => Some(rejection.reason()),
        _ => checks
            .iter()
            .find(|check| check.verdict == Verdict::Blocked)
            .map(|check| check.rule),
    };
    Explanation {
        outcome,
        reason,
        credentials,
        checks,
    }
}

/// A call a page would make: `fetch(origin-relative path, {method, headers, credentials})`
/// from a page on `origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call<'a> {
    /// The page's origin, as its browser sends it.
    pub origin: &'a str,
    /// The method, e.g. `PUT`.
    pub method: &'a str,
    /// The path called.
    pub path: &'a str,
    /// The request headers the page sets (names). `authorization` is taken to carry a bearer
    /// token.
    pub headers: Vec<&'a str>,
    /// Whether it sends cookies (`credentials: 'include'`).
    pub credentials: bool,
    /// Whether it opens a WebSocket (`new WebSocket(url)`) instead of calling `fetch`: the
    /// browser then sends one handshake, a `GET` with the page's origin and (as `SameSite`
    /// allows) the site's cookies, and no preflight; `method` and `headers` are not used.
    pub websocket: bool,
}

impl<'a> Call<'a> {
    /// A call from `origin` with `method` to `path`, without headers or cookies.
    pub fn new(origin: &'a str, method: &'a str, path: &'a str) -> Self {
        Call {
            origin,
            method,
            path,
            headers: Vec::new(),
            credentials: false,
            websocket: false,
        }
    }

    /// A page on `origin` opening a WebSocket to `path` (`new WebSocket(url)`), with cookies.
    ///
    /// ```
    /// use trusted_cors_core::decision::RouteScope;
    /// use trusted_cors_core::explain::{explain_call, Call, Outcome};
    /// use trusted_cors_core::{CorsConfig, Registry};
    ///
    /// let registry = Registry::new();
    /// let call = Call::websocket("https://evil.example", "/api/v1/users/me/events");
    /// let why = explain_call(&call, &CorsConfig::default(), RouteScope::Unrouted, &registry.snapshot());
    /// assert_eq!(why.outcome, Outcome::Refused);
    /// assert_eq!(why.reason, Some("websocket_origin_not_trusted"));
    /// assert!(why.preflight.is_none());
    /// ```
    pub fn websocket(origin: &'a str, path: &'a str) -> Self {
        Call {
            credentials: true,
            websocket: true,
            ..Call::new(origin, "GET", path)
        }
    }

    /// Whether a browser sends a preflight first: a method other than `GET`, `HEAD` and `POST`,
    /// or a header beyond the CORS-safelisted ones (`content-type` counts as one needing a
    /// preflight: only three form and text types are safelisted, and an API call sends JSON).
    pub fn needs_preflight(&self) -> bool {
        const SAFELISTED: [&str; 3] = ["accept", "accept-language", "content-language"];
        if self.websocket {
            return false;
        }
        !matches!(self.method, "GET" | "HEAD" | "POST")
            || self
                .headers
                .iter()
                .any(|h| !SAFELISTED.iter().any(|s| s.eq_ignore_ascii_case(h.trim())))
    }
}

/// A call explained: the preflight a browser sends first (when it needs one), then the actual
/// request (when the preflight lets it through).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CallExplanation {
    /// What happens to the call as a whole.
    pub outcome: Outcome,
    /// The reason code of the rule that refused or blocked it ([`CREDENTIALS_NOT_ALLOWED`] when
    /// the browser blocks a call with cookies whose answer does not allow credentials).
    pub reason: Option<&'static str>,
    /// The preflight, if the browser sends one.
    pub preflight: Option<Explanation>,
    /// The actual request, if the browser sends it.
    pub actual: Option<Explanation>,
}

/// Explains a call a page would make, as the layers decide it on `route`.
///
/// ```
/// use trusted_cors_core::decision::RouteScope;
/// use trusted_cors_core::explain::{explain_call, Call, Outcome};
/// use trusted_cors_core::{CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
///
/// let registry = Registry::with_origins([NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors])])?;
/// let route = RouteCors::default(); // GET, HEAD; content-type
/// let mut call = Call::new("https://shop.example.com", "PUT", "/api/v1/users/me");
/// call.credentials = true;
/// let why = explain_call(&call, &CorsConfig::default(), RouteScope::Declared(&route), &registry.snapshot());
/// assert_eq!(why.outcome, Outcome::Refused);
/// assert_eq!(why.reason, Some("method_not_allowed"));
/// assert!(why.actual.is_none(), "the browser never sends it");
/// # Ok::<(), trusted_cors_core::RegistryError>(())
/// ```
pub fn explain_call(
    call: &Call<'_>,
    config: &CorsConfig,
    route: RouteScope<'_>,
    registry: &RegistrySnapshot,
) -> CallExplanation {
    let requested = call.headers.join(", ");
    let origin = HeaderInput::One(call.origin.as_bytes());
    let preflight = call.needs_preflight().then(|| {
        let facts = RequestFacts {
            method: "OPTIONS",
            path: call.path,
            origin,
            access_control_request_method: HeaderInput::One(call.method.as_bytes()),
            access_control_request_headers: match requested.is_empty() {
                true => HeaderInput::Absent,
                false => HeaderInput::One(requested.as_bytes()),
            },
            ..RequestFacts::default()
        };
        explain(&facts, config, route, registry)
    });
    if let Some(refused) = preflight.as_ref().filter(|p| p.outcome != Outcome::Allowed) {
        return CallExplanation {
            outcome: refused.outcome,
            reason: refused.reason,
            actual: None,
            preflight,
        };
    }
    let bearer = call
        .headers
        .iter()
        .any(|h| h.trim().eq_ignore_ascii_case("authorization"));
    let facts = RequestFacts {
        method: if call.websocket { "GET" } else { call.method },
        path: call.path,
        origin,
        authorization: match bearer && !call.websocket {
            true => HeaderInput::One(b"Bearer <token>"),
            false => HeaderInput::Absent,
        },
        has_cookies: call.credentials,
        websocket: call.websocket,
        ..RequestFacts::default()
    };
    let mut actual = explain(&facts, config, route, registry);
    // With cookies, the browser also needs `Access-Control-Allow-Credentials: true`.
    if actual.outcome == Outcome::Allowed && call.credentials && !actual.credentials {
        actual.outcome = Outcome::Blocked;
        actual.reason = Some(CREDENTIALS_NOT_ALLOWED);
        actual.checks.push(Check {
            rule: CREDENTIALS_NOT_ALLOWED,
            verdict: Verdict::Blocked,
            finding: "the call sends cookies, but the answer does not allow credentials (the \
                      route allows none, or the origin is trusted only for bearer tokens): call \
                      with credentials: 'omit' and a bearer token"
                .to_owned(),
        });
    }
    let (outcome, reason) = (actual.outcome, actual.reason);
    CallExplanation {
        outcome,
        reason,
        preflight,
        actual: Some(actual),
    }
}
