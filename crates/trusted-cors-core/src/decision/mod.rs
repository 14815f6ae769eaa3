//! The decision: a pure function from plain request facts, the global config, the route's policy
//! and a registry snapshot to what the server must do. No I/O, no framework types, no `http`
//! types, so the Tower layers (http 1.x) and the actix-web middleware (http 0.2) share it.
//!
//! It runs in three stages:
//! 1. **what the request is** (`classify`): no `Origin` → not a CORS request, except an unsafe
//!    method whose `Sec-Fetch-Site` says `cross-site` or `same-site` (a browser whose `Origin`
//!    was stripped), which is a cross-origin write from an origin that cannot be trusted, as in
//!    Go's `CrossOriginProtection`; same-origin → passes untouched (when the request carries
//!    `Sec-Fetch-Site`, only `same-origin` and `none` count — `none` is a navigation the user
//!    started, which no page can make, as Go's `CrossOriginProtection` and the Fetch Metadata
//!    spec have it; without it, a configured public origin or an `Origin` matching `Host` does);
//!    otherwise a cross-origin request, perhaps a preflight (`OPTIONS` with a valid
//!    `Access-Control-Request-Method`), with the credential it carries;
//! 2. **global rules**: `Authorization` must use an allowed bearer-type scheme; a WebSocket
//!    handshake must come from a trusted origin, unless the route declared its socket open to
//!    any origin; an unsafe method from an origin that is not trusted needs a bearer token and
//!    no cookies (unless the path accepts cross-site form posts);
//! 3. **the route**: before routing, a preflight waits for a route to answer it; an undeclared
//!    route refuses preflights and adds nothing; a declared route answers preflights itself and
//!    decorates or refuses actual requests.
//!
//! The answers carry exactly what is sent: a [`PreflightAnswer`] says which answer a preflight
//! gets, and the layers send it header for header (see [`PreflightAnswer::reply`]); the
//! [`CorsHeaders`] are what they add to an application's response.

mod classify;
mod request_headers;
#[cfg(test)]
mod tests;
pub(crate) mod trace;
mod websocket;

use std::borrow::Cow;

use bytes::Bytes;

use crate::origin::OriginParts;
use crate::registry::ExactLookup;
use crate::rejection::{printable, RejectionCause, ReportSet, TrustHint};
use crate::reply::{static_bytes, Reply, ReplyValue, TRUE, VARY_PREFLIGHT};
use crate::request::{is_safe as is_safe_method, HeaderInput, RequestFacts};
use crate::{CorsConfig, Field, RegistrySnapshot, Rejection, RejectionKind, RouteCors, ScopeType};
use classify::{classify, says_same_origin, Classified, CrossOrigin};
use request_headers::{credential, requested_method, scan_request_headers};
use trace::{Check, Verdict};

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
#[non_exhaustive]
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
    /// Answer the preflight with this answer; do not call the handler.
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

/// The answer to an allowed preflight, and which one it is: the route's usual answer (its own
/// methods, request headers and max-age, borrowed from the policy: [`Cow::Borrowed`]), with or
/// without credentials, or one made for this preflight ([`Cow::Owned`]: the requested headers
/// echoed, or a method added, by a rule in report mode). The layers send exactly this, in the
/// order of [`reply`](Self::reply), the route's own values converted to the framework's once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightAnswer<'a> {
    /// `Access-Control-Allow-Origin`: the request's origin, exactly (echoed from the request).
    pub allow_origin: &'a str,
    /// Whether to send `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
    /// `Access-Control-Allow-Methods`: the route's own value, borrowed, unless the answer adds a
    /// method (a rule in report mode).
    pub allow_methods: Cow<'a, Bytes>,
    /// `Access-Control-Allow-Headers`, when there is one to send: the route's own value,
    /// borrowed, or the requested headers echoed.
    pub allow_headers: Option<Cow<'a, Bytes>>,
    /// `Access-Control-Max-Age`: the route's own value.
    pub max_age: Cow<'a, Bytes>,
}

impl PreflightAnswer<'_> {
    /// The response the layers send: status 204 and the CORS headers, varying on the request's
    /// origin, method and headers. `Access-Control-Allow-Origin` is the request's own `Origin`
    /// value, echoed by the layer from the request it answers.
    pub fn reply(&self) -> Reply {
        let mut reply = Reply::with_capacity(204, 6);
        self.for_each_header(|field, value| {
            let value = match value {
                AnswerValue::Origin => ReplyValue::Echo(Field::Origin),
                AnswerValue::Route(bytes) | AnswerValue::Made(bytes) => {
                    ReplyValue::Bytes(bytes.clone())
                }
            };
            reply.push(field, value);
        });
        reply
    }

    /// The answer's headers in the order they are sent: the one rendering of an answer, which
    /// [`reply`](Self::reply) and the layers (with the route's values converted once) both write.
    pub(crate) fn for_each_header(&self, mut header: impl FnMut(Field, AnswerValue<'_>)) {
        // Whether the value is the route's own is the point: a `&Cow`, not a `&Bytes`.
        #[allow(clippy::ptr_arg)]
        fn value<'v>(cow: &'v Cow<'_, Bytes>) -> AnswerValue<'v> {
            match cow {
                Cow::Borrowed(bytes) => AnswerValue::Route(bytes),
                Cow::Owned(bytes) => AnswerValue::Made(bytes),
            }
        }
        header(Field::AccessControlAllowOrigin, AnswerValue::Origin);
        if self.allow_credentials {
            let value = static_bytes(TRUE);
            header(
                Field::AccessControlAllowCredentials,
                AnswerValue::Route(&value),
            );
        }
        header(Field::AccessControlAllowMethods, value(&self.allow_methods));
        if let Some(headers) = &self.allow_headers {
            header(Field::AccessControlAllowHeaders, value(headers));
        }
        header(Field::AccessControlMaxAge, value(&self.max_age));
        let vary = static_bytes(VARY_PREFLIGHT);
        header(Field::Vary, AnswerValue::Route(&vary));
    }
}

/// A header value of a preflight answer.
pub(crate) enum AnswerValue<'v> {
    /// The request's `Origin`, echoed.
    Origin,
    /// The route's own value for this header (the same for every answer of the route).
    Route(&'v Bytes),
    /// A value made for this answer.
    Made(&'v Bytes),
}

/// The headers to add to the response of an allowed cross-origin request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsHeaders<'a> {
    /// `Access-Control-Allow-Origin`: the request's origin, exactly (echoed from the request).
    pub allow_origin: &'a str,
    /// Whether to send `Access-Control-Allow-Credentials: true` (otherwise any the application
    /// set is removed).
    pub allow_credentials: bool,
    /// `Access-Control-Expose-Headers`, if any.
    pub expose_headers: Option<Bytes>,
    /// Whether the origin is an ACTIVE trusted origin with the CORS scope (otherwise it was
    /// allowed as a bearer-token call from any origin).
    pub trusted: bool,
}

/// Decides what to do with a request.
///
/// ```
/// use trusted_cors_core::decision::{decide, Decision, RouteScope};
/// use trusted_cors_core::{HeaderInput, RequestFacts};
/// use trusted_cors_core::{CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
///
/// let config = CorsConfig::default();
/// let registry = Registry::with_origins([NewTrustedOrigin::new("App", "https://app.example.com", [ScopeType::Cors])])?;
/// let me = RouteCors::default();
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
///         assert_eq!(answer.reply().status(), 204);
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
    decide_reporting(facts, config, route, registry, &mut Vec::new())
}

/// [`decide`], also giving the rejections that rules in report mode ([`RuleMode::Report`])
/// would have made, in the order the rules were judged: each is what the rule refuses when
/// enforced, marked [`is_report_only`](Rejection::is_report_only). The decision is what the
/// request gets with those rules set aside. Nothing is reported, and nothing allocated for
/// reports, while every rule is enforced. What the layers run; public in
/// [`adapter`](crate::adapter), for the tests.
///
/// [`RuleMode::Report`]: crate::RuleMode::Report
#[doc(hidden)]
pub fn decide_reporting<'a>(
    facts: &RequestFacts<'a>,
    config: &CorsConfig,
    route: RouteScope<'a>,
    registry: &RegistrySnapshot,
    reports: &mut Vec<Rejection>,
) -> Decision<'a> {
    decide_traced(
        facts,
        config,
        route,
        registry,
        reports,
        None,
        OriginRead::LookUpFirst,
    )
}

/// How the decision reads the `Origin` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OriginRead {
    /// Looked up in the exact-origin index before they are parsed, which spares parsing a
    /// trusted origin: what every request gets.
    LookUpFirst,
    /// Always parsed first: the tests' oracle for the lookup.
    #[cfg(test)]
    ParseFirst,
}

/// [`decide_reporting`], also writing down each rule checked, in order, with its verdict, when
/// `trace` is given (for [`explain`](crate::explain::explain)).
pub(crate) fn decide_traced<'a>(
    facts: &RequestFacts<'a>,
    config: &CorsConfig,
    route: RouteScope<'a>,
    registry: &RegistrySnapshot,
    reports: &mut Vec<Rejection>,
    trace: Option<&mut Vec<Check>>,
    read: OriginRead,
) -> Decision<'a> {
    // The registry is only consulted when a rule needs it: before routing, a safe request is
    // passed on without a lookup. When it will be, the `Origin` bytes are looked up in the
    // exact-origin index first, which spares parsing them when they are a trusted origin.
    let enabled = matches!(route, RouteScope::Declared(p) if p.is_cors_enabled());
    let lookup = match facts.origin {
        HeaderInput::One(bytes)
            if read == OriginRead::LookUpFirst
                && (enabled || facts.websocket || !is_safe_method(facts.method))
                && !says_same_origin(facts.sec_fetch_site) =>
        {
            registry.exact_lookup(bytes)
        }
        _ => ExactLookup::NotLooked,
    };
    let cross = match classify(facts, config, lookup) {
        Classified::NotCors => return Decision::NotCors,
        Classified::SameOrigin => return Decision::SameOrigin,
        Classified::CrossOrigin(cross) => cross,
    };
    let report = match route {
        RouteScope::Declared(policy) => config.report_set().overridden(policy.rule_overrides()),
        _ => config.report_set(),
    };
    let mut rules = Rules {
        facts,
        cross: &cross,
        report,
        reports,
        trace,
    };
    // Stage 2, the first global rule. Reported, the credential counts as none.
    let bearer = match credential(facts, config) {
        Ok(bearer) => {
            rules.pass(RejectionKind::CredentialSchemeNotAllowed, || {
                match bearer {
                    true => "Authorization carries a bearer-type token, accepted cross-origin",
                    false => "no Authorization header",
                }
                .to_owned()
            });
            bearer
        }
        // Several `Authorization` headers: no browser sends them, and one could hide an API
        // token behind a bearer one; refused in any mode.
        Err(cause @ RejectionCause::SeveralAuthorizationHeaders) => return rules.enforce(cause),
        Err(cause) => {
            if let Some(reject) = rules.refuse(cause) {
                return reject;
            }
            false
        }
    };

    // Stage 2, the WebSocket rule, for a handshake (a `GET`, or HTTP/2's `CONNECT` in its
    // place): it is judged by it, and then as the `GET` it is.
    if facts.websocket {
        return websocket::handshake(&mut rules, config, route, registry, lookup, bearer);
    }

    let safe = cross.is_preflight() || is_safe_method(facts.method);
    let trusted = (enabled || !safe)
        && cross.origin().is_some_and(|p| {
            config.origin_schemes().allows(p.scheme())
                && registry.trusted_after(&p, ScopeType::Cors, lookup)
        });

    // Stage 2: CORS headers alone do not stop a cross-site form post; refuse unsafe methods from
    // origins that are not trusted unless they carry a bearer token and no cookies.
    let bearer_only = bearer && !facts.has_cookies;
    let form_post = || config.is_form_post_path(facts.path);
    if safe || trusted || bearer_only || form_post() {
        rules.pass(RejectionKind::UntrustedCrossOriginWrite, || {
            match (safe, trusted, bearer_only) {
                (true, ..) => "a safe method (or a preflight) changes nothing",
                (_, true, _) => "the origin is a trusted origin with the CORS scope",
                (_, _, true) => "a bearer token and no cookies: no ambient credential to forge",
                _ => "the path accepts cross-site form posts",
            }
            .to_owned()
        });
    } else {
        let method = printable(facts.method.as_bytes()).into_boxed_str();
        let cause = RejectionCause::UntrustedWrite {
            method,
            bearer_with_cookies: bearer,
        };
        if let Some(reject) = rules.refuse(cause) {
            return reject;
        }
    }

    // Stage 3: the route.
    let policy = match route {
        RouteScope::Unrouted if cross.is_preflight() => return Decision::DeferPreflight,
        RouteScope::Unrouted => return Decision::Pass,
        RouteScope::Declared(policy) if policy.is_cors_enabled() => policy,
        RouteScope::Undeclared | RouteScope::Declared(_) => {
            if cross.is_preflight() {
                // Reported, the preflight goes on to the application.
                if let Some(reject) = rules.refuse(RejectionCause::RouteNotCorsEnabled) {
                    return reject;
                }
            } else {
                rules.blocked(RejectionKind::RouteNotCorsEnabled, || {
                    "the route declares no CORS policy: the request reaches it, but its answer \
                     carries no CORS headers, so the browser does not let the page read it"
                        .to_owned()
                });
            }
            return Decision::Pass;
        }
    };
    rules.pass(RejectionKind::RouteNotCorsEnabled, || {
        "the route declares a CORS policy".to_owned()
    });
    match cross.preflight {
        None => actual(&mut rules, policy, trusted, bearer),
        Some(method) => preflight(&mut rules, policy, trusted, method),
    }
}

/// The rules judging one cross-origin request: each refusal is enforced, or reported and set
/// aside.
struct Rules<'r, 'a> {
    facts: &'r RequestFacts<'a>,
    cross: &'r CrossOrigin<'a>,
    report: ReportSet,
    reports: &'r mut Vec<Rejection>,
    /// Each rule checked, when the decision is explained.
    trace: Option<&'r mut Vec<Check>>,
}

/// Writes a check down in an explanation. Out of line, with the finding's text: only an
/// explained decision runs it, and the code every request runs stays small enough for the
/// instruction cache.
#[cold]
#[inline(never)]
fn write_down(
    trace: &mut Vec<Check>,
    rule: RejectionKind,
    verdict: Verdict,
    finding: impl FnOnce() -> String,
) {
    trace.push(Check::new(rule, verdict, finding()));
}

impl Rules<'_, '_> {
    /// Writes down that `rule` passed, when the decision is explained.
    fn pass(&mut self, rule: RejectionKind, finding: impl FnOnce() -> String) {
        if let Some(trace) = self.trace.as_deref_mut() {
            write_down(trace, rule, Verdict::Passed, finding);
        }
    }

    /// Writes down that `rule` leaves the answer without CORS headers (the browser blocks it)
    /// without refusing the request, when the decision is explained.
    fn blocked(&mut self, rule: RejectionKind, finding: impl FnOnce() -> String) {
        if let Some(trace) = self.trace.as_deref_mut() {
            write_down(trace, rule, Verdict::Blocked, finding);
        }
    }

    fn record(&mut self, rejection: &Rejection, verdict: Verdict) {
        if let Some(trace) = self.trace.as_deref_mut() {
            write_down(trace, rejection.kind(), verdict, || rejection.cause());
        }
    }

    /// The refusal to return, or `None` when the rule is in report mode (the rejection is then
    /// reported, and the request goes on as it would without the rule).
    fn refuse(&mut self, cause: RejectionCause) -> Option<Decision<'static>> {
        let rejection = self.cross.rejection(self.facts, cause);
        if !self.report.contains(rejection.kind()) {
            self.record(&rejection, Verdict::Refused);
            return Some(Decision::Reject(rejection));
        }
        self.record(&rejection, Verdict::Reported);
        self.reports.push(rejection.into_report());
        None
    }

    /// A refusal that no mode sets aside: a request no browser makes.
    fn enforce(&mut self, cause: RejectionCause) -> Decision<'static> {
        let rejection = self.cross.rejection(self.facts, cause);
        self.record(&rejection, Verdict::Refused);
        Decision::Reject(rejection)
    }

    /// Writes down how the origin passed the trust rule, when the decision is explained.
    fn admit(&mut self, how: Admitted, origin: &OriginParts<'_>) {
        self.pass(RejectionKind::OriginNotTrusted, || how.finding(origin));
    }

    fn not_trusted(&mut self, hint: TrustHint) -> Option<Decision<'static>> {
        let origin = self.cross.origin_form();
        self.refuse(RejectionCause::OriginNotTrusted { origin, hint })
    }
}

/// How an origin passes the trust rule on a CORS-enabled route.
#[derive(Debug, Clone, Copy)]
enum Admitted {
    /// An ACTIVE trusted origin with the CORS scope.
    Trusted,
    /// Any origin, without cookies, on a route open to every origin.
    AnyOrigin,
    /// A bearer-token call without cookies, on a route that accepts them from any origin.
    Bearer,
}

impl Admitted {
    fn finding(self, origin: &OriginParts<'_>) -> String {
        match self {
            Admitted::Trusted => format!(
                "{} is an ACTIVE trusted origin with the CORS scope",
                origin.serialized()
            ),
            Admitted::AnyOrigin => {
                "not a trusted origin, but the route is open to any origin, without cookies"
                    .to_owned()
            }
            Admitted::Bearer => "not a trusted origin, but the route accepts bearer tokens from \
                                 any origin, without cookies"
                .to_owned(),
        }
    }
}

/// What else would have worked for an origin that is not trusted, on this route.
fn untrusted_hint(policy: &RouteCors) -> TrustHint {
    if policy.accepts_bearer_from_any_origin() {
        TrustHint::BearerAccepted
    } else {
        TrustHint::None
    }
}

/// An actual request to a CORS-enabled route.
fn actual<'a>(
    rules: &mut Rules<'_, 'a>,
    policy: &RouteCors,
    trusted: bool,
    bearer: bool,
) -> Decision<'a> {
    let Some(parts) = rules.cross.origin() else {
        // Reported, the request goes on without CORS headers: a `null` or malformed origin is
        // never echoed.
        return rules.not_trusted(TrustHint::None).unwrap_or(Decision::Pass);
    };
    let allow = |allow_credentials, trusted| {
        Decision::Allow(CorsHeaders {
            allow_origin: parts.serialized(),
            allow_credentials,
            expose_headers: policy.expose_headers_value().cloned(),
            trusted,
        })
    };
    if trusted {
        rules.admit(Admitted::Trusted, &parts);
        return allow(policy.allows_credentials(), true);
    }
    let refused = if policy.accepts_any_origin() {
        if !rules.facts.has_cookies {
            rules.admit(Admitted::AnyOrigin, &parts);
            return allow(false, false);
        }
        rules.not_trusted(TrustHint::AnyOriginWithoutCookies)
    } else if policy.accepts_bearer_from_any_origin() && bearer {
        if !rules.facts.has_cookies {
            rules.admit(Admitted::Bearer, &parts);
            return allow(false, false);
        }
        rules.not_trusted(TrustHint::BearerWithoutCookies)
    } else {
        rules.not_trusted(untrusted_hint(policy))
    };
    // Reported, the origin is served as a trusted one would be.
    refused.unwrap_or_else(|| allow(policy.allows_credentials(), false))
}

/// A preflight to a CORS-enabled route.
fn preflight<'a>(
    rules: &mut Rules<'_, 'a>,
    policy: &'a RouteCors,
    mut trusted: bool,
    method: &'a str,
) -> Decision<'a> {
    let scan = match scan_request_headers(
        rules.facts.access_control_request_headers,
        policy.allowed_headers(),
    ) {
        Ok(scan) => scan,
        Err(problem) => return rules.enforce(RejectionCause::RequestHeaders(problem)),
    };
    let Some(parts) = rules.cross.origin() else {
        // A `null` or malformed origin can never be answered (it is never echoed): refused in
        // any mode, so the preflight is not passed on to the application as an unanswered one.
        let origin = rules.cross.origin_form();
        return rules.enforce(RejectionCause::OriginNotTrusted {
            origin,
            hint: TrustHint::None,
        });
    };
    let admitted = if trusted {
        Some(Admitted::Trusted)
    } else if policy.accepts_any_origin() {
        Some(Admitted::AnyOrigin)
    } else if policy.accepts_bearer_from_any_origin() && scan.authorization {
        Some(Admitted::Bearer)
    } else {
        None
    };
    if let Some(how) = admitted {
        rules.admit(how, &parts);
    } else {
        if let Some(reject) = rules.not_trusted(untrusted_hint(policy)) {
            return reject;
        }
        // Reported: answered as for a trusted origin.
        trusted = true;
    }
    let mut allow_methods = Cow::Borrowed(policy.allow_methods_value());
    if policy.allows_method(method) {
        rules.pass(RejectionKind::MethodNotAllowed, || {
            format!(
                "{method} is allowed ({})",
                String::from_utf8_lossy(policy.allow_methods_value())
            )
        });
    } else {
        let cause = RejectionCause::MethodNotAllowed {
            method: printable(method.as_bytes()).into_boxed_str(),
            allowed: policy.allow_methods_value().clone(),
        };
        if let Some(reject) = rules.refuse(cause) {
            return reject;
        }
        // Reported: the requested method is allowed too.
        allow_methods = Cow::Owned(Bytes::from(format!(
            "{}, {method}",
            String::from_utf8_lossy(&allow_methods)
        )));
    }
    let mut echo_requested = policy.allows_any_header();
    if scan.denied.is_none() {
        rules.pass(RejectionKind::HeaderNotAllowed, || match scan.value {
            b"" => "no request headers beyond the safelisted ones".to_owned(),
            value => format!(
                "the requested headers are allowed: {}",
                String::from_utf8_lossy(value)
            ),
        });
    }
    if let Some(header) = scan.denied {
        let allowed = if policy.allows_any_header() {
            None
        } else {
            Some(policy.allow_headers_value().cloned().unwrap_or_default())
        };
        let cause = RejectionCause::HeaderNotAllowed {
            header: printable(header).into_boxed_str(),
            allowed,
        };
        // A requested `*` is never echoed, in any mode: it would read as a wildcard.
        if scan.star {
            return rules.enforce(cause);
        }
        if let Some(reject) = rules.refuse(cause) {
            return reject;
        }
        // Reported: the requested headers are allowed.
        echo_requested = true;
    }
    let allow_headers = if echo_requested {
        (!scan.value.is_empty()).then(|| Cow::Owned(Bytes::copy_from_slice(scan.value)))
    } else {
        policy.allow_headers_value().map(Cow::Borrowed)
    };
    Decision::Preflight(PreflightAnswer {
        allow_origin: parts.serialized(),
        allow_credentials: trusted && policy.allows_credentials(),
        allow_methods,
        allow_headers,
        max_age: Cow::Borrowed(policy.max_age_value()),
    })
}
