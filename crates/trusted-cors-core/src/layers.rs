//! What the two layers do, framework-neutral: the guard before routing and a declared route.
//! The Tower layers and the actix-web middleware call these and copy the result out.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::decision::{AnswerValue, Decision, PreflightAnswer, RouteScope};
use crate::metrics::{DecisionCounters, UNNAMED_ROUTE};
use crate::rejection::{AppAnswer, RejectionCause};
use crate::reply::{
    static_bytes, Decoration, Reply, ReplyValue, ResponseHeaders, ValueCache, REPORT_HEADER, TRUE,
    VARY_ORIGIN, VARY_PREFLIGHT,
};
use crate::request::{is_safe, request_host, Found, HeaderInput, RequestFacts, RequestHeaders};
use crate::{Cors, Field, Rejection, RouteCors, RuleMode};

/// The guard's verdict on a request, before routing.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum GuardVerdict<V> {
    /// Pass the request on.
    Pass,
    /// Perhaps a preflight: pass it on and, unless a declared route answered it (a response
    /// built from a [`Reply::is_route_answer`] reply or a [`PreflightReply`]), judge it with
    /// [`Cors::judge_unanswered`].
    Defer(Deferred<V>),
    /// Answer with this refusal; do not call the application.
    Refuse(Reply),
    /// Pass the request on, and vary the response on `Origin` (apply the decoration): an unsafe
    /// method, whose passing depended on the request's `Origin` (the cross-origin write rule).
    PassVarying(Decoration<V>),
}

/// What the guard keeps of a request it passed on without a verdict: the headers the global
/// rules read, as the framework's values. A declared route decides such a request fully (its
/// decision applies the global rules too), so the guard judges it only when no route answered.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Deferred<V> {
    origin: Found<V>,
    /// `Access-Control-Request-Method`, `Host` and `Sec-Fetch-Site` of a request not judged yet
    /// (an `OPTIONS` without `Authorization`); `None` for one already judged a preflight.
    unjudged: Option<[Found<V>; 3]>,
    /// An `OPTIONS` without `Authorization` of which only `Origin` and
    /// `Access-Control-Request-Method` were kept (what makes it a preflight, as it arrived):
    /// `Host` and `Sec-Fetch-Site`, which only tell whether it is same-origin, are read again
    /// when it is judged ([`read_again`](Self::read_again)). Judged without them, it counts as
    /// cross-origin: a forgotten `read_again` refuses, never lets through.
    later: bool,
}

impl<V: Clone> Deferred<V> {
    /// The deferred request completed with its `Host` and `Sec-Fetch-Site`, read from its
    /// headers now (after the application; a middleware inside the guard that rewrites them, as
    /// one taking `Host` from a trusted proxy's header does, is heeded).
    pub fn read_again<H: RequestHeaders<Value = V>>(self, headers: &H) -> Deferred<V> {
        let Deferred {
            origin,
            unjudged: Some([request_method, ..]),
            later: true,
        } = self
        else {
            return self;
        };
        let [host, sec_fetch_site] = headers.find([Field::Host, Field::SecFetchSite]);
        Deferred {
            origin,
            unjudged: Some([request_method, host.cloned(), sec_fetch_site.cloned()]),
            later: false,
        }
    }
}

/// The guard's verdict on a request it lets through: a response to an unsafe method varies on
/// `Origin`, since the same request from another origin would have been refused; `report` is
/// the `X-Trusted-Cors-Report` value, when rules in report mode would have refused it.
fn pass<H: RequestHeaders>(method: &str, report: Option<Bytes>) -> GuardVerdict<H::Value> {
    let vary = if is_safe(method) {
        None
    } else {
        H::origin_vary()
    };
    if vary.is_none() && report.is_none() {
        return GuardVerdict::Pass;
    }
    GuardVerdict::PassVarying(Decoration::vary_only(vary).with_report(report))
}

/// The guard's verdict on a preflight it deferred, once no declared route answered it.
#[derive(Debug)]
#[must_use]
#[doc(hidden)]
pub enum Unanswered<V> {
    /// Answer with this refusal instead of the application's response.
    Refuse(Reply),
    /// Let the application's response through.
    Pass,
    /// Let it through with this decoration (a report of the rule in report mode).
    Decorate(Decoration<V>),
}

/// Response extension on the answers of declared routes, so the guard knows a route answered.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct RouteAnswered;

impl Cors {
    /// The guard's verdict on a request: the global rules, before routing. `authority` is the
    /// URI's authority (HTTP/2's `:authority`), for requests without `Host`.
    ///
    /// An `OPTIONS` request with `Origin` and without `Authorization` is never refused before
    /// routing (no global rule applies to it: it carries no credential and its method is safe),
    /// so the guard does not judge it: it passes it on, or defers it if it asks for a preflight,
    /// keeping what it needs to judge it afterwards. The property tests check both shortcuts
    /// against the decision.
    #[doc(hidden)]
    pub fn judge_unrouted<H: RequestHeaders>(
        &self,
        method: &str,
        path: &str,
        authority: Option<&str>,
        headers: &H,
    ) -> GuardVerdict<H::Value> {
        if method == "OPTIONS" {
            let later = headers.read_again_later();
            let [origin, authorization, request_method, host, sec_fetch_site] = if later {
                let [origin, authorization, request_method] = headers.find([
                    Field::Origin,
                    Field::Authorization,
                    Field::AccessControlRequestMethod,
                ]);
                [
                    origin,
                    authorization,
                    request_method,
                    Found::Absent,
                    Found::Absent,
                ]
            } else if headers.origin_first() {
                // A lookup per header: `Host` only for a browser without fetch metadata (see
                // `RequestFacts::read_with`).
                let [origin, authorization, request_method, sec_fetch_site] = headers.find([
                    Field::Origin,
                    Field::Authorization,
                    Field::AccessControlRequestMethod,
                    Field::SecFetchSite,
                ]);
                let [host] = match sec_fetch_site.is_present() {
                    true => [Found::Absent],
                    false => headers.find([Field::Host]),
                };
                [origin, authorization, request_method, host, sec_fetch_site]
            } else {
                headers.find([
                    Field::Origin,
                    Field::Authorization,
                    Field::AccessControlRequestMethod,
                    Field::Host,
                    Field::SecFetchSite,
                ])
            };
            if !origin.is_present() || !authorization.is_present() && !request_method.is_present() {
                return GuardVerdict::Pass;
            }
            if !authorization.is_present() {
                if later {
                    return GuardVerdict::Defer(Deferred {
                        origin: origin.cloned(),
                        unjudged: Some([request_method.cloned(), Found::Absent, Found::Absent]),
                        later: true,
                    });
                }
                return GuardVerdict::Defer(Deferred {
                    origin: origin.cloned(),
                    unjudged: Some([request_method, host, sec_fetch_site].map(Found::cloned)),
                    later: false,
                });
            }
        } else if RequestFacts::guard_passes(method, headers) {
            return pass::<H>(method, None);
        }
        let facts = RequestFacts::read_unrouted(method, path, authority, headers);
        let mut reports = Vec::new();
        let decision = self.decide_reporting(&facts, RouteScope::Unrouted, &mut reports);
        let counters = self.guard_counters();
        let report = self.report(&reports, counters);
        match decision {
            Decision::DeferPreflight => GuardVerdict::Defer(Deferred {
                origin: headers.find([Field::Origin])[0].cloned(),
                unjudged: None,
                later: false,
            }),
            Decision::Reject(rejection) => {
                GuardVerdict::Refuse(self.refuse_counted(rejection, counters))
            }
            _ => pass::<H>(method, report),
        }
    }

    /// Logs (and counts, when metrics are on) the would-be rejections of rules in report mode;
    /// the `X-Trusted-Cors-Report` value naming them, when the config sends it. Out of line (it
    /// has nothing to do for most requests, and the code every request runs must stay small
    /// enough for the instruction cache).
    #[inline(never)]
    fn report(&self, reports: &[Rejection], counters: Option<&DecisionCounters>) -> Option<Bytes> {
        if reports.is_empty() {
            return None;
        }
        for rejection in reports {
            rejection.log();
            if let Some(counters) = counters {
                counters.reported(rejection.kind());
            }
        }
        if !self.config().report_header() {
            return None;
        }
        let reasons: Vec<&str> = reports.iter().map(Rejection::reason).collect();
        Some(Bytes::from(reasons.join(", ")))
    }

    /// The guard's verdict on a request it deferred, once no declared route answered it: the
    /// refusal of a preflight that no route answered (`route_not_cors_enabled`; in report mode,
    /// reported), or the application's response. `path` and `authority` are the request's.
    ///
    /// `status` is the application's answer: it tells the log which configuration mistake let
    /// the preflight through unanswered ([`Rejection::fix`]).
    #[doc(hidden)]
    pub fn judge_unanswered<V: AsRef<[u8]>>(
        &self,
        deferred: &Deferred<V>,
        path: &str,
        authority: Option<&str>,
        status: u16,
    ) -> Unanswered<V> {
        if let Some([request_method, host, sec_fetch_site]) = &deferred.unjudged {
            let host = request_host(authority, host.input());
            // What `RequestFacts::read_unrouted` reads of an `OPTIONS` without `Authorization`.
            let facts = RequestFacts {
                method: "OPTIONS",
                path,
                origin: deferred.origin.input(),
                access_control_request_method: request_method.input(),
                host,
                sec_fetch_site: sec_fetch_site.input(),
                ..RequestFacts::default()
            };
            // No rule before routing applies to it: nothing to report.
            match self.decide(&facts, RouteScope::Unrouted) {
                Decision::DeferPreflight => {}
                Decision::Reject(rejection) => {
                    return Unanswered::Refuse(
                        self.refuse_counted(rejection, self.guard_counters()),
                    )
                }
                _ => return Unanswered::Pass,
            }
        }
        let origin = deferred.origin.first().map_or(&[][..], |o| o.as_ref());
        let answer = AppAnswer::from_status(status);
        let cause = RejectionCause::PreflightNotAnswered { answer };
        let rejection = Rejection::new(cause, origin, path, true);
        let counters = self.guard_counters();
        if self.config().rule_mode(rejection.kind()) == RuleMode::Enforce {
            return Unanswered::Refuse(self.refuse_counted(rejection, counters));
        }
        match self.report(&[rejection.into_report()], counters) {
            Some(report) => {
                Unanswered::Decorate(Decoration::vary_only(None).with_report(Some(report)))
            }
            None => Unanswered::Pass,
        }
    }

    /// [`refuse`](Self::refuse), counting the refusal when metrics are on.
    fn refuse_counted(&self, rejection: Rejection, counters: Option<&DecisionCounters>) -> Reply {
        if let Some(counters) = counters {
            counters.rejected(rejection.kind());
        }
        self.refuse(rejection)
    }

    /// The reply that refuses a request, as the layers send it: the configured responder's
    /// output without `Access-Control-Allow-Origin` or `-Credentials`, `Vary` appended, the
    /// `X-Trusted-Cors-Reason` header when diagnostics are on, and the rejection attached (the
    /// adapters put it in the response extensions). Logs the denial.
    pub fn refuse(&self, rejection: Rejection) -> Reply {
        rejection.log();
        let mut reply = self.config().responder().respond(&rejection);
        // A refusal never grants access, whatever a custom responder wrote.
        reply.remove(Field::AccessControlAllowOrigin);
        reply.remove(Field::AccessControlAllowCredentials);
        reply.add_vary(rejection.vary());
        if self.config().diagnostics() {
            let reason = bytes::Bytes::from_static(rejection.reason().as_bytes());
            reply.set(Field::TrustedCorsReason, ReplyValue::Bytes(reason));
        }
        reply.with_rejection(rejection)
    }
}

impl From<Rejection> for Reply {
    /// The default refusal, without a [`Cors`] at hand: logged, the Okta-style JSON error of
    /// [`OktaErrorResponder`](crate::OktaErrorResponder), the rejection attached.
    fn from(rejection: Rejection) -> Reply {
        use crate::RejectionResponder;
        rejection.log();
        crate::OktaErrorResponder
            .respond(&rejection)
            .with_rejection(rejection)
    }
}

/// A route's declared policy, judged against a [`Cors`]: what the route layers run. Keeps the
/// header values the route sends on many responses in the framework's type `V`, converted once.
#[doc(hidden)]
pub struct DeclaredRoute<V> {
    cors: Cors,
    policy: RouteCors,
    warned: AtomicBool,
    values: ValueCache<V>,
    /// The headers after `Access-Control-Allow-Origin` of the route's usual preflight answers,
    /// with credentials and without.
    usual: [UsualHeaders<V>; 2],
    /// The route's decision counters, when metrics are on.
    counters: Option<DecisionCounters>,
}

impl<V> fmt::Debug for DeclaredRoute<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeclaredRoute")
            .field("cors", &self.cors)
            .field("policy", &self.policy)
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

/// What a declared route does with a request.
#[derive(Debug)]
#[must_use]
#[doc(hidden)]
pub enum RouteStep<V> {
    /// Answer with this refusal; do not call the handler.
    Answer(Reply),
    /// Answer the preflight; do not call the handler.
    Preflight(PreflightReply<V>),
    /// Call the handler with this outcome in the request extensions, then decorate its response.
    Forward(Recorded, Decoration<V>),
}

/// A preflight answer in a framework's header values: status 204, an empty body, and these
/// headers; a declared route answered it (the adapters mark the response so). Its headers are
/// those of [`PreflightAnswer::reply`](crate::decision::PreflightAnswer::reply), in the same
/// order (tested), with the route's values converted once instead of at every answer.
#[derive(Debug)]
#[must_use]
#[doc(hidden)]
pub struct PreflightReply<V> {
    headers: PreflightHeaders<V>,
    /// `X-Trusted-Cors-Report`, when rules in report mode would have refused the preflight.
    report: Option<V>,
}

/// The headers of a [`PreflightReply`] but the report.
#[derive(Debug)]
enum PreflightHeaders<V> {
    /// One of the route's usual answers: the echoed origin, then the route's own headers.
    Usual {
        origin: Option<V>,
        rest: UsualHeaders<V>,
    },
    /// Any other answer: its headers in the order they are sent, in a list of their own, so the
    /// usual answer, moved from the decision to the response, stays small (an answer of this
    /// kind echoes requested headers or adds a reported method, whose bytes it allocates
    /// anyway).
    Other(Vec<(Field, V)>),
}

/// The headers after `Access-Control-Allow-Origin` of a route's usual preflight answer, shared.
type UsualHeaders<V> = Arc<[(Field, V)]>;

/// A route's usual preflight answer: its own methods, request headers and max-age, for a
/// trusted origin with credentials or for another origin it admits without. Its headers are the
/// same for every request but for the echoed origin: the route keeps them converted, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usual {
    /// With `Access-Control-Allow-Credentials: true`.
    WithCredentials = 0,
    /// Without.
    WithoutCredentials = 1,
}

impl Usual {
    /// Both.
    const ALL: [Usual; 2] = [Usual::WithCredentials, Usual::WithoutCredentials];
}

impl<V> PreflightReply<V> {
    /// The status of a preflight answer.
    pub const STATUS: u16 = 204;

    /// How many headers it sends.
    pub fn header_count(&self) -> usize {
        let headers = match &self.headers {
            PreflightHeaders::Usual { origin, rest } => usize::from(origin.is_some()) + rest.len(),
            PreflightHeaders::Other(headers) => headers.len(),
        };
        headers + usize::from(self.report.is_some())
    }

    /// Writes the headers into a response's (empty) map.
    pub fn write_headers<W: ResponseHeaders<Value = V>>(self, response: &mut W)
    where
        V: Clone,
    {
        match self.headers {
            PreflightHeaders::Usual { origin, rest } => {
                if let Some(origin) = origin {
                    response.append(Field::AccessControlAllowOrigin, origin);
                }
                for (field, value) in rest.iter() {
                    response.append(*field, value.clone());
                }
            }
            PreflightHeaders::Other(headers) => {
                for (field, value) in headers {
                    response.append(field, value);
                }
            }
        }
        if let Some(report) = self.report {
            response.append(REPORT_HEADER, report);
        }
    }
}

impl<V: Clone> DeclaredRoute<V> {
    pub(crate) fn new<W: ResponseHeaders<Value = V>>(cors: Cors, policy: RouteCors) -> Arc<Self> {
        let statics = [TRUE, VARY_ORIGIN, VARY_PREFLIGHT].map(static_bytes);
        let policy_values = [
            Some(policy.allow_methods_value()),
            policy.allow_headers_value(),
            Some(policy.max_age_value()),
            policy.expose_headers_value(),
        ];
        let values = ValueCache::new::<W>(
            statics
                .into_iter()
                .chain(policy_values.into_iter().flatten().cloned()),
        );
        let name = policy.name().unwrap_or(UNNAMED_ROUTE);
        let counters = DecisionCounters::new(cors.config().metrics(), name);
        let usual = Usual::ALL.map(|usual| {
            let answer = PreflightAnswer {
                allow_origin: "",
                allow_credentials: usual == Usual::WithCredentials,
                allow_methods: Cow::Borrowed(policy.allow_methods_value()),
                allow_headers: policy.allow_headers_value().map(Cow::Borrowed),
                max_age: Cow::Borrowed(policy.max_age_value()),
            };
            let mut headers = Vec::new();
            answer.for_each_header(|field, value| {
                if let AnswerValue::Bytes(bytes) = value {
                    headers.extend(values.get(bytes).map(|value| (field, value)));
                }
            });
            Arc::from(headers)
        });
        Arc::new(DeclaredRoute {
            cors,
            policy,
            warned: AtomicBool::new(false),
            values,
            usual,
            counters,
        })
    }

    /// Which usual answer `answer` is, if it is one: the route's own methods, request headers
    /// and max-age, the very bytes (not a reported method added, nor requested headers echoed).
    fn usual(&self, answer: &PreflightAnswer<'_>) -> Option<Usual> {
        let same = |a: &Bytes, b: &Bytes| a.as_ptr() == b.as_ptr() && a.len() == b.len();
        let policy = &self.policy;
        let headers = match (&answer.allow_headers, policy.allow_headers_value()) {
            (None, None) => true,
            (Some(a), Some(b)) => same(a, b),
            _ => false,
        };
        let usual = headers
            && same(&answer.allow_methods, policy.allow_methods_value())
            && same(&answer.max_age, policy.max_age_value());
        usual.then_some(match answer.allow_credentials {
            true => Usual::WithCredentials,
            false => Usual::WithoutCredentials,
        })
    }

    /// Decides a request to this route. `authority` is the URI's authority (HTTP/2's
    /// `:authority`), for requests without `Host`.
    pub fn handle<H: RequestHeaders<Value = V>>(
        &self,
        method: &str,
        path: &str,
        authority: Option<&str>,
        headers: &H,
    ) -> RouteStep<V> {
        let (facts, origin) = RequestFacts::read_with_origin(method, path, authority, headers);
        let mut reports = Vec::new();
        let decision =
            (self.cors).decide_reporting(&facts, RouteScope::Declared(&self.policy), &mut reports);
        if !matches!(decision, Decision::NotCors | Decision::SameOrigin) {
            self.warn_if_unguarded();
        }
        if !reports.is_empty() && self.cors.guard_installed() {
            // The guard judged (and reported) these before routing, or judges this one after.
            reports.retain(|report| !report.kind().is_global());
        }
        let report = self.cors.report(&reports, self.counters.as_ref());
        let vary = || self.values.get_static(VARY_ORIGIN);
        let step = self.step(decision, origin, vary);
        match report {
            None => step,
            Some(report) => self.reported(step, report),
        }
    }

    /// `step` with the `X-Trusted-Cors-Report` value of rules in report mode that would have
    /// refused the request. Out of line, as `Cors::report` is: the code every request runs stays
    /// small enough for the instruction cache.
    #[cold]
    #[inline(never)]
    fn reported(&self, step: RouteStep<V>, report: Bytes) -> RouteStep<V> {
        match step {
            RouteStep::Preflight(mut reply) => {
                reply.report = self.values.get(&report);
                RouteStep::Preflight(reply)
            }
            RouteStep::Forward(recorded, decoration) => {
                RouteStep::Forward(recorded, decoration.with_report(Some(report)))
            }
            answer @ RouteStep::Answer(_) => answer,
        }
    }

    /// A preflight answer that is not one of the route's usual ones, its values converted now.
    #[cold]
    #[inline(never)]
    fn other_answer(&self, answer: &PreflightAnswer<'_>, origin: Option<&V>) -> PreflightReply<V> {
        let mut headers = Vec::with_capacity(6);
        answer.for_each_header(|field, value| {
            let value = match value {
                AnswerValue::Origin => origin.cloned(),
                AnswerValue::Bytes(bytes) => self.values.get(bytes),
            };
            headers.extend(value.map(|value| (field, value)));
        });
        PreflightReply {
            headers: PreflightHeaders::Other(headers),
            report: None,
        }
    }

    /// What the route does on a decision.
    fn step(
        &self,
        decision: Decision<'_>,
        origin: Option<&V>,
        vary: impl Fn() -> Option<V>,
    ) -> RouteStep<V> {
        match decision {
            Decision::Reject(rejection) => {
                let reply = (self.cors).refuse_counted(rejection, self.counters.as_ref());
                RouteStep::Answer(reply.answered_by_route())
            }
            Decision::Preflight(answer) => {
                if let Some(counters) = &self.counters {
                    counters.preflight();
                }
                if let Some(usual) = self.usual(&answer) {
                    let headers = PreflightHeaders::Usual {
                        origin: origin.cloned(),
                        rest: Arc::clone(&self.usual[usual as usize]),
                    };
                    return RouteStep::Preflight(PreflightReply {
                        headers,
                        report: None,
                    });
                }
                RouteStep::Preflight(self.other_answer(&answer, origin))
            }
            Decision::Allow(allow) => {
                if let Some(counters) = &self.counters {
                    counters.allowed();
                }
                let recorded = match (allow.trusted, allow.allow_credentials) {
                    (true, true) => Recorded::TrustedWithCredentials,
                    (true, false) => Recorded::Trusted,
                    (false, _) => Recorded::CrossOrigin,
                };
                match origin.cloned() {
                    Some(origin) => {
                        let credentials = match allow.allow_credentials {
                            true => self.values.get_static(TRUE),
                            false => None,
                        };
                        let expose = allow.expose_headers.and_then(|e| self.values.get(&e));
                        let decoration = Decoration::allow(origin, credentials, expose, vary());
                        RouteStep::Forward(recorded, decoration)
                    }
                    None => {
                        RouteStep::Forward(Recorded::CrossOrigin, Decoration::vary_only(vary()))
                    }
                }
            }
            Decision::NotCors | Decision::SameOrigin => {
                RouteStep::Forward(Recorded::NotCrossOrigin, Decoration::vary_only(vary()))
            }
            _ => RouteStep::Forward(Recorded::CrossOrigin, Decoration::vary_only(vary())),
        }
    }
}

impl<V> DeclaredRoute<V> {
    /// Costs one relaxed load per cross-origin request: whether any guard was ever installed
    /// for this [`Cors`], and whether this route already said so. It catches the common mistake
    /// (no guard at all); a guard applied to only part of an application goes unnoticed.
    fn warn_if_unguarded(&self) {
        if self.cors.guard_installed() || self.warned.load(Ordering::Relaxed) {
            return;
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "trusted_cors",
                "a CORS route declaration ran without the global guard layer: API tokens and \
                 untrusted cross-origin writes are not refused on undeclared routes, and \
                 preflights to them are not answered. Wrap the whole application with \
                 `cors.guard()` (Tower, axum) or `GuardMiddleware` (actix-web)"
            );
        }
    }
}

/// What a declared route decided about a request that reaches its handler. It is kept in the
/// request extensions as one of four zero-sized marks, so recording it allocates nothing once the
/// request has an extension map (as every request routed by axum or actix-web has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Recorded {
    /// Not a cross-origin request.
    NotCrossOrigin,
    /// Cross-origin, not trusted (a bearer call from any origin, or a route that adds nothing).
    CrossOrigin,
    /// From a trusted origin, on a route that allows no credentials.
    Trusted,
    /// From a trusted origin, with credentials.
    TrustedWithCredentials,
}

/// The zero-sized mark of one [`Recorded`] state.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Mark<const STATE: u8>;

/// A request's extensions, to put a mark in.
#[doc(hidden)]
pub trait MarkSink {
    /// Inserts a zero-sized mark.
    fn insert_mark<M: Clone + Send + Sync + 'static>(&mut self, mark: M);
}

/// A request's extensions, to look for a mark in.
#[doc(hidden)]
pub trait MarkSource {
    /// Whether the mark is present.
    fn has_mark<M: Send + Sync + 'static>(&self) -> bool;
}

impl Recorded {
    /// Puts the mark of this state in the request extensions.
    pub fn record(self, extensions: &mut impl MarkSink) {
        match self {
            Recorded::NotCrossOrigin => extensions.insert_mark(Mark::<0>),
            Recorded::CrossOrigin => extensions.insert_mark(Mark::<1>),
            Recorded::Trusted => extensions.insert_mark(Mark::<2>),
            Recorded::TrustedWithCredentials => extensions.insert_mark(Mark::<3>),
        }
    }

    /// The state marked in the request extensions, if a declared route marked one.
    pub fn read(extensions: &impl MarkSource) -> Option<Recorded> {
        [
            (extensions.has_mark::<Mark<0>>(), Recorded::NotCrossOrigin),
            (extensions.has_mark::<Mark<1>>(), Recorded::CrossOrigin),
            (extensions.has_mark::<Mark<2>>(), Recorded::Trusted),
            (
                extensions.has_mark::<Mark<3>>(),
                Recorded::TrustedWithCredentials,
            ),
        ]
        .into_iter()
        .find_map(|(present, state)| present.then_some(state))
    }
}

/// What the route's CORS policy decided about the request that reached the handler: the origin,
/// whether it is trusted, whether credentials are allowed. The axum and actix-web adapters offer
/// it as the `CorsContext` extractor.
#[derive(Debug, Clone, Default)]
pub struct CorsOutcome {
    origin: Option<Box<str>>,
    recorded: Option<Recorded>,
}

impl CorsOutcome {
    /// From what the route recorded in the request extensions and the request's `Origin`
    /// values. On a route that declared nothing (no record), the outcome is empty.
    #[doc(hidden)]
    pub fn from_request(extensions: &impl MarkSource, origin: HeaderInput<'_>) -> Self {
        let Some(recorded) = Recorded::read(extensions) else {
            return CorsOutcome::default();
        };
        let origin = match origin {
            HeaderInput::One(bytes) => std::str::from_utf8(bytes).ok().map(Box::from),
            _ => None,
        };
        CorsOutcome {
            origin,
            recorded: Some(recorded),
        }
    }

    /// The request's `Origin`, when it sent exactly one that is valid UTF-8.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Whether the request came from another origin (and was allowed to reach the handler).
    pub fn is_cross_origin(&self) -> bool {
        matches!(self.recorded, Some(state) if state != Recorded::NotCrossOrigin)
    }

    /// Whether the origin is an ACTIVE trusted origin with the CORS scope.
    pub fn is_trusted(&self) -> bool {
        matches!(
            self.recorded,
            Some(Recorded::Trusted | Recorded::TrustedWithCredentials)
        )
    }

    /// Whether the response will allow the browser to send and read with credentials (cookies).
    pub fn allows_credentials(&self) -> bool {
        self.recorded == Some(Recorded::TrustedWithCredentials)
    }

    /// Whether the route declared a CORS policy.
    pub fn is_declared(&self) -> bool {
        self.recorded.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CorsConfig, NewTrustedOrigin, Registry, ScopeType};
    use http::{HeaderMap, HeaderValue};

    /// A route's preflight answer, written with the values it converted once, is the decision's
    /// [`PreflightAnswer::reply`](crate::decision::PreflightAnswer::reply), header for header and
    /// in the same order.
    #[test]
    fn preflight_replies_are_the_decisions_answers() {
        let registry = Registry::with_origins([NewTrustedOrigin::new(
            "App",
            "https://app.example.com",
            [ScopeType::Cors],
        )])
        .unwrap();
        let cors = Cors::new(CorsConfig::default(), registry);
        let policies = [
            RouteCors::default(),
            RouteCors::builder().credentials(false).build().unwrap(),
            RouteCors::builder()
                .allow_methods(["GET", "PUT"])
                .allow_any_header()
                .bearer_from_any_origin()
                .build()
                .unwrap(),
            RouteCors::builder()
                .allow_headers(["content-type", "authorization"])
                .bearer_from_any_origin()
                .build()
                .unwrap(),
        ];
        let requests: [&[(&str, &str)]; 4] = [
            &[("access-control-request-method", "GET")],
            &[
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "content-type"),
            ],
            &[
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", " x-a , authorization"),
            ],
            &[
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "authorization"),
            ],
        ];
        let mut answered = 0;
        for policy in policies {
            let route = cors.declare::<HeaderMap>(policy.clone());
            for origin in ["https://app.example.com", "https://elsewhere.example"] {
                for request in requests {
                    let mut headers = HeaderMap::new();
                    headers.insert("origin", HeaderValue::from_static(origin));
                    for (name, value) in request {
                        headers.insert(*name, HeaderValue::from_static(value));
                    }
                    let facts = RequestFacts::read("OPTIONS", "/x", None, &headers);
                    let decision = cors.decide(&facts, RouteScope::Declared(&policy));
                    let step = route.handle("OPTIONS", "/x", None, &headers);
                    match (decision, step) {
                        (Decision::Preflight(answer), RouteStep::Preflight(reply)) => {
                            let expected = answer.reply();
                            let mut want = HeaderMap::new();
                            expected.write_headers(&mut want, Some(&headers));
                            let mut got = HeaderMap::new();
                            let count = reply.header_count();
                            reply.write_headers(&mut got);
                            assert_eq!(expected.status(), PreflightReply::<HeaderValue>::STATUS);
                            assert_eq!(count, expected.header_count());
                            assert_eq!(
                                got.iter().collect::<Vec<_>>(),
                                want.iter().collect::<Vec<_>>()
                            );
                            // The Tower layer's answer too, written into the request's maps.
                            let answer = tower_answer(&cors, &policy, &headers);
                            assert_eq!(answer.status(), 204);
                            assert_eq!(
                                answer.headers().iter().collect::<Vec<_>>(),
                                want.iter().collect::<Vec<_>>()
                            );
                            answered += 1;
                        }
                        (Decision::Reject(rejection), RouteStep::Answer(reply)) => {
                            assert_eq!(
                                reply.rejection().map(Rejection::kind),
                                Some(rejection.kind())
                            );
                        }
                        (decision, step) => panic!("{decision:?} but {step:?}"),
                    }
                }
            }
        }
        assert!(answered >= 8, "{answered} preflights answered");
    }

    /// In report mode, a preflight from an origin that is not trusted gets the route's usual
    /// answer and, last, the report header, from the route and from the Tower layer alike.
    #[test]
    fn a_usual_answer_in_report_mode_carries_the_report_last() {
        let got = answered_in_report_mode(&[crate::RejectionKind::OriginNotTrusted], None, true);
        assert_eq!(
            got["access-control-allow-origin"],
            "https://elsewhere.example"
        );
    }

    /// The same for an answer that is not the route's usual one: a requested header the route
    /// does not allow, reported, is echoed (the answer's values built apart, boxed).
    #[test]
    fn another_answer_in_report_mode_carries_the_report_last() {
        let kinds = [
            crate::RejectionKind::OriginNotTrusted,
            crate::RejectionKind::HeaderNotAllowed,
        ];
        let got = answered_in_report_mode(&kinds, Some("x-other"), false);
        assert_eq!(got["access-control-allow-headers"], "x-other");
        assert!(got["x-trusted-cors-report"]
            .to_str()
            .unwrap()
            .contains("header_not_allowed"));
    }

    /// The route's answer, in report mode for `kinds`, to a preflight from an origin that is
    /// not trusted (asking for `request_headers`): whether it is a usual one as `usual` says, its
    /// headers as counted, the origin first and the report last, and the Tower layer's answer
    /// the same. Returns the headers written.
    fn answered_in_report_mode(
        kinds: &[crate::RejectionKind],
        request_headers: Option<&'static str>,
        usual: bool,
    ) -> HeaderMap {
        let mut config = CorsConfig::builder().report_header(true);
        for kind in kinds {
            config = config.rule(*kind, RuleMode::Report);
        }
        let cors = Cors::new(config.build().unwrap(), Registry::new());
        let policy = RouteCors::default();
        let route = cors.declare::<HeaderMap>(policy.clone());
        let mut headers = HeaderMap::new();
        headers.insert(
            "origin",
            HeaderValue::from_static("https://elsewhere.example"),
        );
        headers.insert(
            "access-control-request-method",
            HeaderValue::from_static("GET"),
        );
        if let Some(requested) = request_headers {
            let value = HeaderValue::from_static(requested);
            headers.insert("access-control-request-headers", value);
        }
        let RouteStep::Preflight(reply) = route.handle("OPTIONS", "/x", None, &headers) else {
            panic!("a preflight answer in report mode")
        };
        assert_eq!(
            matches!(reply.headers, PreflightHeaders::Usual { .. }),
            usual,
            "whether the route's usual answer"
        );
        let count = reply.header_count();
        let mut got = HeaderMap::new();
        reply.write_headers(&mut got);
        assert_eq!(count, got.len());
        let names: Vec<&str> = got.keys().map(|name| name.as_str()).collect();
        assert_eq!(names.first(), Some(&"access-control-allow-origin"));
        assert_eq!(names.last(), Some(&"x-trusted-cors-report"));
        let answer = tower_answer(&cors, &policy, &headers);
        assert_eq!(
            answer.headers().iter().collect::<Vec<_>>(),
            got.iter().collect::<Vec<_>>()
        );
        got
    }

    /// The response of the Tower route layer of `policy` to a preflight with `headers`.
    fn tower_answer(
        cors: &Cors,
        policy: &RouteCors,
        headers: &HeaderMap,
    ) -> http::Response<bytes::Bytes> {
        use tower::{Layer, ServiceExt};
        let app = tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(bytes::Bytes::new()))
        });
        let service = cors.route(policy.clone()).layer(app);
        let mut request = http::Request::new(());
        *request.method_mut() = http::Method::OPTIONS;
        *request.headers_mut() = headers.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(service.oneshot(request)).unwrap()
    }
}
