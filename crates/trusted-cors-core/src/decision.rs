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
//! 2. **global rules**: `Authorization` must use an allowed bearer-type scheme; an unsafe method
//!    from an origin that is not trusted needs a bearer token and no cookies (unless the path
//!    accepts cross-site form posts);
//! 3. **the route**: before routing, a preflight waits for a route to answer it; an undeclared
//!    route refuses preflights and adds nothing; a declared route answers preflights itself and
//!    decorates or refuses actual requests.
//!
//! The answers carry exactly what is sent: a [`PreflightAnswer`] says which answer a preflight
//! gets, and the layers send it header for header (see [`PreflightAnswer::reply`]); the
//! [`CorsHeaders`] are what they add to an application's response.

use std::borrow::Cow;

use bytes::Bytes;

use crate::explain::{Check, Verdict};
use crate::origin::{OriginParts, RequestOrigin};
use crate::policy::{is_tchar, is_token, AllowedHeaders};
use crate::registry::ExactLookup;
use crate::rejection::{
    printable, OriginForm, RejectionCause, ReportSet, RequestHeadersProblem, TrustHint,
};
use crate::reply::{static_bytes, Reply, ReplyValue, TRUE, VARY_PREFLIGHT};
use crate::request::{
    is_safe as is_safe_method, names_another_site, HeaderInput, RequestFacts,
    MAX_REQUEST_HEADERS_LEN, MAX_REQUEST_HEADER_NAMES,
};
use crate::{CorsConfig, Field, RegistrySnapshot, Rejection, RejectionKind, RouteCors, ScopeType};

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

/// Stage 1: what the request is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Classified<'a> {
    /// No `Origin` header.
    NotCors,
    /// From this service's own origin.
    SameOrigin,
    /// From another origin.
    CrossOrigin(CrossOrigin<'a>),
}

/// A cross-origin request, as the later stages see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CrossOrigin<'a> {
    origin_bytes: &'a [u8],
    origin: RequestOrigin<'a>,
    /// The requested method of a preflight.
    preflight: Option<&'a str>,
    /// `OPTIONS` with `Access-Control-Request-Method`, valid or not: a refusal then also varies
    /// on the request method and headers.
    asks_preflight: bool,
}

impl<'a> CrossOrigin<'a> {
    /// The validated origin, if it is a serialized one.
    pub(crate) fn origin(&self) -> Option<OriginParts<'a>> {
        match self.origin {
            RequestOrigin::Valid(parts) => Some(parts),
            _ => None,
        }
    }

    /// Whether the request is a preflight.
    pub(crate) fn is_preflight(&self) -> bool {
        self.preflight.is_some()
    }

    fn rejection(&self, facts: &RequestFacts<'_>, cause: RejectionCause) -> Rejection {
        Rejection::new(cause, self.origin_bytes, facts.path, self.asks_preflight)
    }

    fn origin_form(&self) -> OriginForm {
        match self.origin {
            RequestOrigin::Valid(_) => OriginForm::Serialized,
            RequestOrigin::Null => OriginForm::Null,
            RequestOrigin::Malformed => OriginForm::Malformed,
        }
    }
}

/// How a refusal names the origin of a cross-site write that sent no `Origin`.
const UNNAMED_ORIGIN: &str = "(no Origin header; Sec-Fetch-Site says another site)";

/// Stage 1: classifies a request. Reads nothing but the request, the configured public origins
/// and what the exact-origin index said of the `Origin` bytes: a hit gives the parts parsing
/// would give, without parsing.
fn classify<'a>(
    facts: &RequestFacts<'a>,
    config: &CorsConfig,
    lookup: ExactLookup<'a>,
) -> Classified<'a> {
    let (origin_bytes, origin) = match facts.origin {
        // A browser that says an unsafe request comes from another site but names no origin
        // (stripped by a privacy setting or an extension): a cross-origin write from an origin
        // that cannot be trusted, refused as Go's `CrossOriginProtection` refuses it.
        HeaderInput::Absent
            if !is_safe_method(facts.method) && names_another_site(facts.sec_fetch_site) =>
        {
            (UNNAMED_ORIGIN.as_bytes(), RequestOrigin::Malformed)
        }
        HeaderInput::Absent => return Classified::NotCors,
        // Fetch metadata decides alone (see `is_same_origin`): no need to parse the origin.
        HeaderInput::One(_) if says_same_origin(facts.sec_fetch_site) => {
            return Classified::SameOrigin
        }
        HeaderInput::One(bytes) => match lookup {
            ExactLookup::Hit { parts, .. } => (bytes, RequestOrigin::Valid(parts)),
            _ => (bytes, RequestOrigin::parse(bytes)),
        },
        HeaderInput::Many => (
            b"<several Origin headers>".as_slice(),
            RequestOrigin::Malformed,
        ),
    };
    if is_same_origin(facts, config, &origin) {
        return Classified::SameOrigin;
    }
    let preflight = match facts.access_control_request_method {
        HeaderInput::One(bytes) if facts.method == "OPTIONS" => requested_method(bytes),
        _ => None,
    };
    let asks_preflight =
        facts.method == "OPTIONS" && facts.access_control_request_method.is_present();
    Classified::CrossOrigin(CrossOrigin {
        origin_bytes,
        origin,
        preflight,
        asks_preflight,
    })
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
/// reports, while every rule is enforced.
///
/// ```
/// use trusted_cors_core::decision::{decide_reporting, Decision, RouteScope};
/// use trusted_cors_core::{CorsConfig, HeaderInput, Registry, RejectionKind, RequestFacts, RouteCors, RuleMode};
///
/// let config = CorsConfig::builder()
///     .rule(RejectionKind::OriginNotTrusted, RuleMode::Report)
///     .build()?;
/// let registry = Registry::new();
/// let route = RouteCors::default();
/// let facts = RequestFacts {
///     method: "GET",
///     path: "/api/v1/users/me",
///     origin: HeaderInput::One(b"https://not-yet-trusted.example"),
///     ..RequestFacts::default()
/// };
/// let mut reports = Vec::new();
/// let decision = decide_reporting(&facts, &config, RouteScope::Declared(&route), &registry.snapshot(), &mut reports);
/// assert!(matches!(decision, Decision::Allow(_)));
/// assert_eq!(reports[0].reason(), "origin_not_trusted");
/// assert!(reports[0].is_report_only());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`RuleMode::Report`]: crate::RuleMode::Report
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
                && (enabled || !is_safe_method(facts.method))
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

/// Stage 2, the first global rule: `Ok(true)` for an allowed bearer-type credential, `Ok(false)`
/// without `Authorization`, and the cause of the refusal for anything else.
fn credential(facts: &RequestFacts<'_>, config: &CorsConfig) -> Result<bool, RejectionCause> {
    if let HeaderInput::Many = facts.authorization {
        return Err(RejectionCause::SeveralAuthorizationHeaders);
    }
    if !facts.authorization.is_present() {
        return Ok(false);
    }
    let scheme = auth_scheme(facts);
    if scheme.eq_ignore_ascii_case(b"ssws") {
        return Err(RejectionCause::ApiToken);
    }
    match std::str::from_utf8(scheme) {
        Ok(s) if is_token(s) && config.allows_credential_scheme(s) => Ok(true),
        _ => Err(RejectionCause::CredentialScheme {
            scheme: printable(&scheme[..scheme.len().min(32)]).into_boxed_str(),
        }),
    }
}

struct HeaderScan<'a> {
    /// The requested names, trimmed, for echoing (ASCII: every name is a token).
    value: &'a [u8],
    authorization: bool,
    /// Whether a requested name is `*`.
    star: bool,
    denied: Option<&'a [u8]>,
}

/// Reads `Access-Control-Request-Headers` in O(min(len, limit)) and without allocating.
///
/// Read as bytes: a list that passes holds only token bytes, spaces, tabs and commas, so it is
/// ASCII and needs no UTF-8 pass (which cost more than the split on short lists). A list that
/// fails is refused as not text when it is not UTF-8, as before any other problem.
fn scan_request_headers<'a>(
    input: HeaderInput<'a>,
    allowed: &AllowedHeaders,
) -> Result<HeaderScan<'a>, RequestHeadersProblem> {
    let (bytes, scan) = match input {
        HeaderInput::One(bytes) if bytes.len() > MAX_REQUEST_HEADERS_LEN => {
            return Err(RequestHeadersProblem::TooLong)
        }
        HeaderInput::Many => return Err(RequestHeadersProblem::Several),
        HeaderInput::One(bytes) => (bytes, scan_names(bytes, allowed)),
        HeaderInput::Absent => (b"".as_slice(), scan_names(b"", allowed)),
    };
    scan.map_err(|problem| match (std::str::from_utf8(bytes), problem) {
        (Err(_), _) => RequestHeadersProblem::NotText,
        (Ok(_), NamesProblem::TooMany) => RequestHeadersProblem::TooMany,
        (Ok(_), NamesProblem::NotAName(name)) => {
            RequestHeadersProblem::NotAName(printable(name).into_boxed_str())
        }
    })
}

/// What [`scan_names`] found wrong, before the list's text is checked (the name is described
/// only if the list is text).
enum NamesProblem<'a> {
    TooMany,
    NotAName(&'a [u8]),
}

/// [`scan_request_headers`] on a list within the length limit, before its text is checked.
fn scan_names<'a>(
    bytes: &'a [u8],
    allowed: &AllowedHeaders,
) -> Result<HeaderScan<'a>, NamesProblem<'a>> {
    let value = trim_ows(bytes);
    let mut scan = HeaderScan {
        value,
        authorization: false,
        star: false,
        denied: None,
    };
    // Split by hand: `split` costs several times more per name than this byte search.
    let mut rest = Some(value);
    let mut count = 0;
    while let Some(list) = rest {
        let (name, tail) = match list.iter().position(|&b| b == b',') {
            Some(comma) => (&list[..comma], list.get(comma + 1..)),
            None => (list, None),
        };
        rest = tail;
        if count == MAX_REQUEST_HEADER_NAMES {
            return Err(NamesProblem::TooMany);
        }
        count += 1;
        let name = trim_ows(name);
        if name.is_empty() {
            continue;
        }
        if !name.iter().copied().all(is_tchar) {
            return Err(NamesProblem::NotAName(name));
        }
        if name.eq_ignore_ascii_case(b"authorization") {
            scan.authorization = true;
        }
        scan.star |= name == b"*";
        if scan.denied.is_none() && !allowed.allows(name) {
            scan.denied = Some(name);
        }
    }
    Ok(scan)
}

/// `Access-Control-Request-Method` as text, if it is a token: the usual methods are matched as
/// bytes (cheaper than a UTF-8 pass over a short value), any other is checked as text.
fn requested_method(bytes: &[u8]) -> Option<&str> {
    let usual = match bytes {
        b"GET" => "GET",
        b"POST" => "POST",
        b"PUT" => "PUT",
        b"PATCH" => "PATCH",
        b"DELETE" => "DELETE",
        b"HEAD" => "HEAD",
        _ => return std::str::from_utf8(bytes).ok().filter(|m| is_token(m)),
    };
    Some(usual)
}

/// `value` without the spaces and tabs around it (HTTP's optional whitespace).
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !ows(b))
        .map_or(start, |last| last + 1);
    &bytes[start..end]
}

/// The scheme of the `Authorization` value: the bytes before the first space.
fn auth_scheme<'a>(facts: &RequestFacts<'a>) -> &'a [u8] {
    let HeaderInput::One(value) = facts.authorization else {
        return b"";
    };
    let value = value.trim_ascii_start();
    let end = value
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(value.len());
    &value[..end]
}

/// Whether `Sec-Fetch-Site` says the browser judged the request same-origin (or a navigation the
/// user started); see `is_same_origin`.
fn says_same_origin(site: HeaderInput<'_>) -> bool {
    matches!(site, HeaderInput::One(b"same-origin" | b"none"))
}

fn is_same_origin(
    facts: &RequestFacts<'_>,
    config: &CorsConfig,
    origin: &RequestOrigin<'_>,
) -> bool {
    // A browser that sends `Sec-Fetch-Site` has judged the request itself: trust only that, so a
    // page on `http://host` cannot pass for `https://host` by matching `Host`. `none` is a
    // navigation the user started (address bar, bookmark): no page made it, so no other origin
    // can be reading or forging it; like Go's `CrossOriginProtection`, it counts as same-origin.
    match facts.sec_fetch_site {
        HeaderInput::One(_) => return says_same_origin(facts.sec_fetch_site),
        HeaderInput::Many => return false,
        HeaderInput::Absent => {}
    }
    let RequestOrigin::Valid(parts) = origin else {
        return false;
    };
    if config.is_public_origin(parts.serialized()) {
        return true;
    }
    // The fallback for browsers without fetch metadata, as Go's CrossOriginProtection does.
    match facts.host {
        HeaderInput::One(host) => host_matches(host, parts),
        _ => false,
    }
}

/// Whether `Host` names the origin's host and port (a default port may be explicit in `Host`).
/// Only an `http` or `https` origin can: `capacitor://localhost` is an app on the device, not a
/// page served by `http://localhost`.
fn host_matches(host: &[u8], origin: &OriginParts<'_>) -> bool {
    let default_port: &[u8] = match origin.scheme() {
        "https" => b":443",
        "http" => b":80",
        _ => return false,
    };
    let authority = origin.authority().as_bytes();
    if host.eq_ignore_ascii_case(authority) {
        return true;
    }
    origin.port().is_empty()
        && host.len() == authority.len() + default_port.len()
        && host[..authority.len()].eq_ignore_ascii_case(authority)
        && &host[authority.len()..] == default_port
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(value: &[u8]) -> Result<(String, bool, bool, Option<String>), RequestHeadersProblem> {
        let allowed = AllowedHeaders::List(vec!["content-type".into(), "x-b".into()]);
        let scan = scan_request_headers(HeaderInput::One(value), &allowed)?;
        let text =
            |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("a passing list is ASCII");
        Ok((
            text(scan.value),
            scan.authorization,
            scan.star,
            scan.denied.map(text),
        ))
    }

    #[test]
    fn request_header_lists_are_split_trimmed_and_bounded() {
        let ok = |value: &str, denied: Option<&str>| {
            let (echo, _, _, found) = scan(value.as_bytes()).unwrap();
            assert_eq!(found.as_deref(), denied, "{value:?}");
            echo
        };
        assert_eq!(ok("content-type", None), "content-type");
        assert_eq!(ok(" \tcontent-type ,x-b\t ", None), "content-type ,x-b");
        assert_eq!(ok(",,content-type,,", None), ",,content-type,,");
        assert_eq!(ok("", None), "");
        assert_eq!(ok(" , ", None), ",");
        assert_eq!(ok("Content-Type,X-B", None), "Content-Type,X-B");
        assert_eq!(
            ok("content-type, x-a, x-c", Some("x-a")),
            "content-type, x-a, x-c"
        );
        let (_, authorization, star, denied) = scan(b"x-b, Authorization, *").unwrap();
        assert!(authorization && star);
        assert_eq!(denied.as_deref(), Some("Authorization"));

        let names = |n: usize| vec!["x-b"; n].join(",");
        assert!(scan(names(MAX_REQUEST_HEADER_NAMES).as_bytes()).is_ok());
        assert_eq!(
            scan(names(MAX_REQUEST_HEADER_NAMES + 1).as_bytes()),
            Err(RequestHeadersProblem::TooMany)
        );
        // Empty items count too.
        assert_eq!(
            scan(",".repeat(MAX_REQUEST_HEADER_NAMES).as_bytes()),
            Err(RequestHeadersProblem::TooMany)
        );
        assert_eq!(
            scan(b"content-type, x b"),
            Err(RequestHeadersProblem::NotAName("x b".into()))
        );
        assert_eq!(scan(b"x-\xff"), Err(RequestHeadersProblem::NotText));
        // Not UTF-8 is the list's first problem, whatever else is wrong with it.
        let too_many_then_not_text = format!("{},", names(MAX_REQUEST_HEADER_NAMES + 1));
        let mut bytes = too_many_then_not_text.into_bytes();
        bytes.push(0xff);
        assert_eq!(scan(&bytes), Err(RequestHeadersProblem::NotText));
        assert_eq!(scan(b"x b, \xff"), Err(RequestHeadersProblem::NotText));
        assert_eq!(
            scan(b"content-type, \xc3\xa9"),
            Err(RequestHeadersProblem::NotAName("\u{e9}".into()))
        );
    }
}

/// The byte-level readings of the preflight headers decide as reading them as text first did.
#[cfg(test)]
mod read_as_bytes {
    use super::*;
    use proptest::prelude::*;

    type Scanned = Result<(Vec<u8>, bool, bool, Option<Vec<u8>>), RequestHeadersProblem>;

    /// `Access-Control-Request-Headers` read text first, as before: a UTF-8 pass, then the split.
    fn scan_as_text(bytes: &[u8], allowed: &AllowedHeaders) -> Scanned {
        if bytes.len() > MAX_REQUEST_HEADERS_LEN {
            return Err(RequestHeadersProblem::TooLong);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| RequestHeadersProblem::NotText)?;
        let ows: &[char] = &[' ', '\t'];
        let value = text.trim_matches(ows);
        let (mut authorization, mut star, mut denied) = (false, false, None);
        for (count, name) in value.split(',').enumerate() {
            if count == MAX_REQUEST_HEADER_NAMES {
                return Err(RequestHeadersProblem::TooMany);
            }
            let name = name.trim_matches(ows);
            if name.is_empty() {
                continue;
            }
            if !is_token(name) {
                return Err(RequestHeadersProblem::NotAName(
                    printable(name.as_bytes()).into_boxed_str(),
                ));
            }
            authorization |= name.eq_ignore_ascii_case("authorization");
            star |= name == "*";
            if denied.is_none() && !allowed.allows(name.as_bytes()) {
                denied = Some(name.as_bytes().to_vec());
            }
        }
        Ok((value.as_bytes().to_vec(), authorization, star, denied))
    }

    fn scan_as_bytes(bytes: &[u8], allowed: &AllowedHeaders) -> Scanned {
        let scan = scan_request_headers(HeaderInput::One(bytes), allowed)?;
        let denied = scan.denied.map(<[u8]>::to_vec);
        Ok((scan.value.to_vec(), scan.authorization, scan.star, denied))
    }

    /// A name long enough that a few of them pass the length limit.
    const LONG_NAME: &[u8] = &[b'x'; 300];

    /// Lists of names and separators, with runs of empty items (towards the limit on names) and
    /// long names (towards the limit on length); half of them spoiled at one place by a `*`,
    /// non-ASCII, bytes that are not UTF-8, a carriage return or a space inside a name.
    fn list() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            10 => prop::sample::select(vec![
                &b"content-type"[..],
                b"X-B",
                b"x-a",
                b"authorization",
                b",",
                b", ",
                b" ,",
                b"\t,\t",
            ]),
            1 => Just(&b",,,,,,,,,,,,,,,,"[..]),
            1 => Just(LONG_NAME),
        ];
        let spoiler = prop::sample::select(vec![&b"*"[..], b"\xc3\xa9", b"\xff", b"\r", b"x b"]);
        let spoiled = prop::option::weighted(0.5, (spoiler, any::<prop::sample::Index>()));
        // Mostly short lists; some of up to 20 long names, around the limit on length.
        let pieces = prop_oneof![
            4 => prop::collection::vec(piece, 0..50),
            1 => prop::collection::vec(prop_oneof![Just(LONG_NAME), Just(&b","[..])], 20..40),
        ];
        (pieces, spoiled).prop_map(|(mut pieces, spoiled)| {
            if let Some((spoiler, at)) = spoiled {
                pieces.insert(at.index(pieces.len() + 1), spoiler);
            }
            pieces.concat()
        })
    }

    fn allowed(kind: u8) -> AllowedHeaders {
        match kind {
            0 => AllowedHeaders::List(vec!["content-type".into(), "x-b".into()]),
            1 => AllowedHeaders::Any {
                authorization: false,
            },
            _ => AllowedHeaders::Any {
                authorization: true,
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn request_headers_scan_as_bytes_as_they_did_as_text(bytes in list(), kind in 0..3u8) {
            let allowed = allowed(kind);
            prop_assert_eq!(scan_as_bytes(&bytes, &allowed), scan_as_text(&bytes, &allowed));
        }
    }

    #[test]
    fn request_headers_at_the_limits_scan_as_they_did_as_text() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for len in [MAX_REQUEST_HEADERS_LEN, MAX_REQUEST_HEADERS_LEN + 1] {
            cases.push(vec![b'x'; len]);
            // Not UTF-8 past the limit, and at its last byte.
            let mut past = vec![b'x'; len];
            past.push(0xff);
            cases.push(past);
            let mut last = vec![b'x'; len];
            last[len - 1] = 0xff;
            cases.push(last);
        }
        for names in [MAX_REQUEST_HEADER_NAMES, MAX_REQUEST_HEADER_NAMES + 1] {
            cases.push(vec![&b"x-b"[..]; names].join(&b","[..]));
            cases.push([vec![&b"x-b"[..]; names].join(&b","[..]), b",\xff".to_vec()].concat());
        }
        for bytes in &cases {
            for kind in 0..3 {
                let allowed = allowed(kind);
                assert_eq!(
                    scan_as_bytes(bytes, &allowed),
                    scan_as_text(bytes, &allowed),
                    "{} bytes",
                    bytes.len()
                );
            }
        }
        let problem = |bytes: &[u8]| scan_as_bytes(bytes, &allowed(0)).err();
        assert_eq!(problem(&cases[0]), None);
        assert_eq!(problem(&cases[1]), Some(RequestHeadersProblem::TooLong));
        assert_eq!(problem(&cases[2]), Some(RequestHeadersProblem::NotText));
        assert_eq!(problem(&cases[3]), Some(RequestHeadersProblem::TooLong));
        assert_eq!(problem(&cases[4]), Some(RequestHeadersProblem::TooLong));
        assert_eq!(problem(&cases[8]), Some(RequestHeadersProblem::TooMany));
        assert_eq!(problem(&cases[9]), Some(RequestHeadersProblem::NotText));
    }

    #[test]
    fn requested_methods_read_as_bytes_as_they_did_as_text() {
        let methods: [&[u8]; 13] = [
            b"GET",
            b"POST",
            b"PUT",
            b"PATCH",
            b"DELETE",
            b"HEAD",
            b"OPTIONS",
            b"get",
            b"PU T",
            b"",
            b"\xff",
            b"PROPFIND",
            b"GE\xc3\xa9",
        ];
        for bytes in methods {
            let as_text = std::str::from_utf8(bytes).ok().filter(|m| is_token(m));
            assert_eq!(requested_method(bytes), as_text, "{bytes:?}");
        }
    }
}

#[cfg(test)]
mod lookup_first {
    use super::*;
    use crate::{NewTrustedOrigin, Registry, Status};
    use proptest::prelude::*;

    /// Origins a request may send: exact entries (active with the CORS scope, inactive, REDIRECT
    /// only), a wildcard's hosts, an app origin, and what matches none.
    const ORIGINS: [&[u8]; 14] = [
        b"https://app.example.com",
        b"https://old.example.com",
        b"https://redirect.example.com",
        b"https://a.wild.example",
        b"https://wild.example",
        b"capacitor://localhost",
        b"ionic://localhost",
        b"https://APP.example.com",
        b"https://app.example.com/",
        b"https://app.example.com:443",
        b"http://app.example.com",
        b"https://evil.example",
        b"null",
        b"https://api.example.com",
    ];

    fn registry() -> Registry {
        let registry = Registry::new();
        for (name, origin, scope) in [
            ("App", "https://app.example.com", ScopeType::Cors),
            ("Old", "https://old.example.com", ScopeType::Cors),
            (
                "Redirect",
                "https://redirect.example.com",
                ScopeType::Redirect,
            ),
            ("Wild", "https://*.wild.example", ScopeType::Cors),
            ("Capacitor", "capacitor://localhost", ScopeType::Cors),
        ] {
            let created = registry
                .create(NewTrustedOrigin::new(name, origin, [scope]))
                .unwrap();
            if name == "Old" {
                registry.deactivate(&created.id).unwrap();
                assert_eq!(
                    registry.snapshot().get(&created.id).unwrap().status,
                    Status::Inactive
                );
            }
        }
        registry
    }

    fn input(choice: Option<&'static [u8]>) -> HeaderInput<'static> {
        choice.map_or(HeaderInput::Absent, HeaderInput::One)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Looking the `Origin` bytes up before parsing them decides exactly as parsing them
        /// first, whatever the registry holds for them.
        #[test]
        fn looking_up_first_decides_as_parsing_first(
            origin in prop::sample::select(ORIGINS.to_vec()),
            method in prop::sample::select(vec!["GET", "HEAD", "OPTIONS", "POST", "DELETE"]),
            request_method in prop::option::of(prop::sample::select(vec![&b"PUT"[..], b"GET", b"x y"])),
            site in prop::option::of(prop::sample::select(vec![&b"cross-site"[..], b"same-origin", b"none", b"same-site"])),
            host in prop::option::of(prop::sample::select(vec![&b"api.example.com"[..], b"app.example.com"])),
            authorization in prop::option::of(prop::sample::select(vec![&b"Bearer t"[..], b"SSWS t", b"Basic x"])),
            cookies in any::<bool>(),
            route in 0usize..6,
            capacitor in any::<bool>(),
        ) {
            let mut config = CorsConfig::builder().public_origin("https://api.example.com");
            if !capacitor {
                config = config.origin_schemes(["ionic"]);
            }
            let config = config.build().unwrap();
            let registry = registry();
            let snapshot = registry.snapshot();
            let policies = [
                RouteCors::default(),
                RouteCors::builder().any_origin().build().unwrap(),
                RouteCors::builder().bearer_from_any_origin().allow_headers(["authorization"]).build().unwrap(),
                RouteCors::server_side_only(),
            ];
            let scope = match route {
                4 => RouteScope::Unrouted,
                5 => RouteScope::Undeclared,
                i => RouteScope::Declared(&policies[i]),
            };
            let facts = RequestFacts {
                method,
                path: "/x",
                origin: HeaderInput::One(origin),
                access_control_request_method: input(request_method),
                access_control_request_headers: HeaderInput::Absent,
                authorization: input(authorization),
                has_cookies: cookies,
                sec_fetch_site: input(site),
                host: input(host),
            };
            let decide = |read| {
                let mut reports = Vec::new();
                let decision = decide_traced(&facts, &config, scope, &snapshot, &mut reports, None, read);
                format!("{decision:?} {reports:?}")
            };
            prop_assert_eq!(decide(OriginRead::LookUpFirst), decide(OriginRead::ParseFirst));
        }
    }
}
