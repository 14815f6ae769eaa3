//! A declared route: its policy judged against a [`Cors`], what it does with a request, and how
//! it sends a preflight answer.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::outcome::Recorded;
use crate::decision::{AnswerValue, Decision, PreflightAnswer, RouteScope};
use crate::metrics::{DecisionCounters, UNNAMED_ROUTE};
use crate::reply::{
    static_bytes, Decoration, Reply, ResponseHeaders, REPORT_HEADER, VARY_PREFLIGHT,
};
use crate::request::{RequestFacts, RequestHeaders};
use crate::{Cors, Field, RouteCors};

/// A route's declared policy, judged against a [`Cors`]: what the route layers run. Keeps the
/// route's own header values in the framework's type `V`, converted once.
pub struct DeclaredRoute<V> {
    cors: Cors,
    policy: RouteCors,
    warned: AtomicBool,
    values: RouteValues<V>,
    /// The route's decision counters, when metrics are on.
    counters: Option<DecisionCounters>,
}

impl<V> fmt::Debug for DeclaredRoute<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeclaredRoute")
            .field("cors", &self.cors)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The header values a route sends on many responses, in the framework's type: its own values
/// of a preflight answer and of an allowed request's `Access-Control-Expose-Headers`. `None` for
/// bytes that are not a valid header value (then not sent).
struct RouteValues<V> {
    methods: Option<V>,
    headers: Option<V>,
    max_age: Option<V>,
    vary: Option<V>,
    expose: Option<V>,
}

impl<V: Clone> RouteValues<V> {
    fn new<W: ResponseHeaders<Value = V>>(policy: &RouteCors) -> Self {
        let convert = |bytes: Option<&Bytes>| bytes.cloned().and_then(W::to_value);
        RouteValues {
            methods: convert(Some(policy.allow_methods_value())),
            headers: convert(policy.allow_headers_value()),
            max_age: convert(Some(policy.max_age_value())),
            vary: W::to_value(static_bytes(VARY_PREFLIGHT)),
            expose: convert(policy.expose_headers_value()),
        }
    }

    /// The route's own value of a preflight answer's header (`true` is the adapter's constant).
    fn preflight<W: ResponseHeaders<Value = V>>(&self, field: Field) -> Option<V> {
        match field {
            Field::AccessControlAllowCredentials => Some(W::credentials_true()),
            Field::AccessControlAllowMethods => self.methods.clone(),
            Field::AccessControlAllowHeaders => self.headers.clone(),
            Field::AccessControlMaxAge => self.max_age.clone(),
            Field::Vary => self.vary.clone(),
            _ => None,
        }
    }
}

/// What a declared route does with a request.
#[derive(Debug)]
#[must_use]
pub enum RouteStep<'r, V> {
    /// Answer with this refusal; do not call the handler. (A route's own answer: the adapter
    /// marks it with [`RouteAnswered`](super::RouteAnswered).)
    Answer(Reply),
    /// Answer the preflight; do not call the handler. (Marked as an [`Answer`](Self::Answer).)
    Preflight(Preflight<'r, V>),
    /// Call the handler with this outcome in the request extensions, then decorate its response.
    Forward(Recorded, Decoration<V>),
}

/// A preflight answer as a route sends it: the decision's [`PreflightAnswer`], the request's
/// `Origin` to echo and the route's values. Status 204, an empty body.
#[must_use]
pub struct Preflight<'r, V> {
    /// The answer; its origin is echoed from the request (`origin`), not taken from here.
    answer: PreflightAnswer<'r>,
    origin: Option<V>,
    values: &'r RouteValues<V>,
    /// `X-Trusted-Cors-Report`, when rules in report mode would have refused the preflight.
    report: Option<Bytes>,
}

impl<V> fmt::Debug for Preflight<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Preflight")
            .field("answer", &self.answer)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl<V: Clone> Preflight<'_, V> {
    /// The status of a preflight answer.
    pub const STATUS: u16 = 204;

    /// Writes the answer's headers, in the order of [`PreflightAnswer::reply`], into a
    /// response's (empty) map: the route's own values as converted once, a value made for this
    /// answer converted now.
    pub fn write_headers<W: ResponseHeaders<Value = V>>(self, response: &mut W) {
        let Preflight {
            answer,
            mut origin,
            values,
            report,
        } = self;
        answer.for_each_header(|field, value| {
            let value = match value {
                AnswerValue::Origin => origin.take(),
                AnswerValue::Route(_) => values.preflight::<W>(field),
                AnswerValue::Made(bytes) => W::to_value(bytes.clone()),
            };
            if let Some(value) = value {
                response.append(field, value);
            }
        });
        if let Some(report) = report.and_then(W::to_value) {
            response.append(REPORT_HEADER, report);
        }
    }
}

impl<V: Clone> DeclaredRoute<V> {
    pub(crate) fn new<W: ResponseHeaders<Value = V>>(cors: Cors, policy: RouteCors) -> Self {
        let name = policy.name().unwrap_or(UNNAMED_ROUTE);
        let counters = DecisionCounters::new(cors.config().metrics(), name);
        DeclaredRoute {
            values: RouteValues::new::<W>(&policy),
            cors,
            policy,
            warned: AtomicBool::new(false),
            counters,
        }
    }

    /// Decides a request to this route. `authority` is the URI's authority (HTTP/2's
    /// `:authority`), for requests without `Host`.
    ///
    /// It reads the request itself, as [`RequestFacts::read`] does. Nothing is handed over from
    /// the guard's read: without an allocation, only a one-bit mark could be, and measured, it
    /// cost more than it saved (ARCHITECTURE.md, "No hand-off from the guard to the route").
    #[inline]
    pub fn handle<'r, H: RequestHeaders<Value = V>>(
        &'r self,
        method: &str,
        path: &str,
        authority: Option<&str>,
        headers: &H,
    ) -> RouteStep<'r, V> {
        let origin = headers.get(Field::Origin);
        let handshakes = self.cors.routes_judge_handshakes();
        let facts =
            RequestFacts::read_after_origin(method, path, authority, origin, headers, handshakes);
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
        self.step(decision, origin.first().copied(), facts.websocket, report)
    }

    /// What the route does on a decision; `handshake`: the request is a WebSocket handshake;
    /// `report`: the `X-Trusted-Cors-Report` value, when rules in report mode would have refused
    /// it (sent with a preflight answer or the handler's response).
    #[inline]
    fn step<'r>(
        &'r self,
        decision: Decision<'_>,
        origin: Option<&V>,
        handshake: bool,
        report: Option<Bytes>,
    ) -> RouteStep<'r, V> {
        match decision {
            Decision::Reject(rejection) => {
                RouteStep::Answer((self.cors).refuse_counted(rejection, self.counters.as_ref()))
            }
            Decision::Preflight(answer) => {
                if let Some(counters) = &self.counters {
                    counters.preflight();
                }
                RouteStep::Preflight(Preflight {
                    answer: self.keep(answer),
                    origin: origin.cloned(),
                    values: &self.values,
                    report,
                })
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
                let Some(origin) = origin.cloned() else {
                    let decoration = Decoration::vary_only(true).with_report(report);
                    return RouteStep::Forward(Recorded::CrossOrigin, decoration);
                };
                // The route's own value, the one an allowed request is sent.
                let expose = match allow.expose_headers {
                    Some(_) => self.values.expose.clone(),
                    None => None,
                };
                let decoration =
                    Decoration::allow(origin, allow.allow_credentials, expose).with_report(report);
                // A handshake allowed here is taken too: a guard that deferred it (the origin
                // was not trusted when it judged it) lets it through.
                let decoration = match handshake {
                    true => decoration.taking_handshake(),
                    false => decoration,
                };
                RouteStep::Forward(recorded, decoration)
            }
            Decision::NotCors | Decision::SameOrigin => RouteStep::Forward(
                Recorded::NotCrossOrigin,
                Decoration::vary_only(true).with_report(report),
            ),
            // A handshake the route took as open to any origin: marked, so that a guard that
            // deferred it lets it through.
            _ if handshake => RouteStep::Forward(
                Recorded::CrossOrigin,
                Decoration::vary_only(true)
                    .taking_handshake()
                    .with_report(report),
            ),
            _ => RouteStep::Forward(
                Recorded::CrossOrigin,
                Decoration::vary_only(true).with_report(report),
            ),
        }
    }

    /// The answer, kept beyond the request's headers: its borrowed values are the route's own
    /// (see [`PreflightAnswer`]), borrowed from the route instead; its origin, which the layers
    /// echo from the request, is left out.
    fn keep<'r>(&'r self, answer: PreflightAnswer<'_>) -> PreflightAnswer<'r> {
        fn own<'r>(value: Cow<'_, Bytes>, route: Option<&'r Bytes>) -> Cow<'r, Bytes> {
            match (value, route) {
                (Cow::Borrowed(_), Some(route)) => Cow::Borrowed(route),
                (value, _) => Cow::Owned(value.into_owned()),
            }
        }
        let policy = &self.policy;
        PreflightAnswer {
            allow_origin: "",
            allow_credentials: answer.allow_credentials,
            allow_methods: own(answer.allow_methods, Some(policy.allow_methods_value())),
            allow_headers: (answer.allow_headers).map(|h| own(h, policy.allow_headers_value())),
            max_age: own(answer.max_age, Some(policy.max_age_value())),
        }
    }

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
