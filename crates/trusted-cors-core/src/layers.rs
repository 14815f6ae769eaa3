//! What the two layers do, framework-neutral: the guard before routing and a declared route.
//! The Tower layers and the actix-web middleware call these and copy the result out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::decision::{Decision, RouteScope};
use crate::rejection::RejectionCause;
use crate::reply::{name, Decoration, Reply, ReplyValue, REASON_HEADER};
use crate::request::{self, HeaderInput, RequestFacts, RequestHeaders};
use crate::{Cors, Rejection, RouteCors};

/// The guard's verdict on a request, before routing.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum GuardVerdict {
    /// Pass the request on.
    Pass,
    /// A preflight: pass it on, and refuse it with
    /// [`Cors::refuse_unanswered_preflight`] unless a declared route answered it (a response
    /// built from a [`Reply::is_route_answer`] reply).
    Defer,
    /// Answer with this refusal; do not call the application.
    Refuse(Reply),
}

/// Response extension on the answers of declared routes, so the guard knows a route answered.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct RouteAnswered;

impl Cors {
    /// The guard's verdict: the global rules, before routing.
    #[doc(hidden)]
    pub fn judge_unrouted(&self, facts: &RequestFacts<'_>) -> GuardVerdict {
        match self.decide(facts, RouteScope::Unrouted) {
            Decision::DeferPreflight => GuardVerdict::Defer,
            Decision::Reject(rejection) => GuardVerdict::Refuse(self.refuse(rejection)),
            _ => GuardVerdict::Pass,
        }
    }

    /// The refusal of a preflight that no declared route answered.
    #[doc(hidden)]
    pub fn refuse_unanswered_preflight(&self, origin: &[u8], path: &str) -> Reply {
        self.refuse(Rejection::new(
            RejectionCause::RouteNotCorsEnabled,
            origin,
            path,
            true,
        ))
    }

    /// The reply that refuses a request, as the layers send it: the configured responder's
    /// output without any `Access-Control-Allow-*` header, `Vary` appended, the
    /// `X-Trusted-Cors-Reason` header when diagnostics are on, and the rejection attached (the
    /// adapters put it in the response extensions). Logs the denial.
    pub fn refuse(&self, rejection: Rejection) -> Reply {
        rejection.log();
        let mut reply = self.config().responder().respond(&rejection);
        // A refusal never grants access, whatever a custom responder wrote.
        reply.remove(name::ALLOW_ORIGIN);
        reply.remove(name::ALLOW_CREDENTIALS);
        reply.add_vary(rejection.vary());
        if self.config().diagnostics() {
            let reason = bytes::Bytes::from_static(rejection.reason().as_bytes());
            reply.set(REASON_HEADER, ReplyValue::Bytes(reason));
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

/// A route's declared policy, judged against a [`Cors`]: what the route layers run.
#[derive(Debug)]
#[doc(hidden)]
pub struct DeclaredRoute {
    cors: Cors,
    policy: RouteCors,
    warned: AtomicBool,
}

/// What a declared route does with a request.
#[derive(Debug)]
#[must_use]
#[doc(hidden)]
pub enum RouteStep<V> {
    /// Answer with this reply (a preflight answer or a refusal); do not call the handler.
    Answer(Reply),
    /// Call the handler with this outcome in the request extensions, then decorate its response.
    Forward(Recorded, Decoration<V>),
}

impl DeclaredRoute {
    pub(crate) fn new(cors: Cors, policy: RouteCors) -> Arc<Self> {
        Arc::new(DeclaredRoute {
            cors,
            policy,
            warned: AtomicBool::new(false),
        })
    }

    /// Decides a request to this route.
    pub fn handle<H: RequestHeaders>(
        &self,
        facts: &RequestFacts<'_>,
        headers: &H,
    ) -> RouteStep<H::Value> {
        let decision = self.cors.decide(facts, RouteScope::Declared(&self.policy));
        if !matches!(decision, Decision::NotCors | Decision::SameOrigin) {
            self.warn_if_unguarded();
        }
        let recorded = |cross_origin, trusted, credentials| Recorded {
            cross_origin,
            trusted,
            credentials,
            declared: true,
        };
        match decision {
            Decision::Reject(rejection) => {
                RouteStep::Answer(self.cors.refuse(rejection).answered_by_route())
            }
            Decision::Preflight(answer) => RouteStep::Answer(answer.reply()),
            Decision::Allow(allow) => match headers.value(request::name::ORIGIN) {
                Some(origin) => RouteStep::Forward(
                    recorded(true, allow.trusted, allow.allow_credentials),
                    Decoration::allow(origin, allow.allow_credentials, allow.expose_headers),
                ),
                None => RouteStep::Forward(recorded(true, false, false), Decoration::vary_only()),
            },
            Decision::NotCors | Decision::SameOrigin => {
                RouteStep::Forward(recorded(false, false, false), Decoration::vary_only())
            }
            _ => RouteStep::Forward(recorded(true, false, false), Decoration::vary_only()),
        }
    }

    /// Costs one relaxed load per cross-origin request: whether any guard was ever installed
    /// for this [`Cors`], and whether this route already said so.
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
                 `cors.guard()` (Tower, axum) or `CorsMiddleware` (actix-web)"
            );
        }
    }
}

/// What a declared route decided about a request that reaches its handler, as it is kept in the
/// request extensions.
#[derive(Debug, Clone, Copy, Default)]
#[doc(hidden)]
pub struct Recorded {
    cross_origin: bool,
    trusted: bool,
    credentials: bool,
    declared: bool,
}

/// What the route's CORS policy decided about the request that reached the handler: the origin,
/// whether it is trusted, whether credentials are allowed. The axum and actix-web adapters offer
/// it as the `CorsContext` extractor.
#[derive(Debug, Clone, Default)]
pub struct CorsOutcome {
    origin: Option<Box<str>>,
    recorded: Recorded,
}

impl CorsOutcome {
    /// From what the route recorded and the request's `Origin` values. On a route that declared
    /// nothing (no record), the outcome is empty.
    #[doc(hidden)]
    pub fn from_request(recorded: Option<&Recorded>, origin: HeaderInput<'_>) -> Self {
        let Some(recorded) = recorded else {
            return CorsOutcome::default();
        };
        let origin = match origin {
            HeaderInput::One(bytes) => std::str::from_utf8(bytes).ok().map(Box::from),
            _ => None,
        };
        CorsOutcome {
            origin,
            recorded: *recorded,
        }
    }

    /// The request's `Origin`, when it sent exactly one that is valid UTF-8.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Whether the request came from another origin (and was allowed to reach the handler).
    pub fn is_cross_origin(&self) -> bool {
        self.recorded.cross_origin
    }

    /// Whether the origin is an ACTIVE trusted origin with the CORS scope.
    pub fn is_trusted(&self) -> bool {
        self.recorded.trusted
    }

    /// Whether the response will allow the browser to send and read with credentials (cookies).
    pub fn allows_credentials(&self) -> bool {
        self.recorded.credentials
    }

    /// Whether the route declared a CORS policy.
    pub fn is_declared(&self) -> bool {
        self.recorded.declared
    }
}
