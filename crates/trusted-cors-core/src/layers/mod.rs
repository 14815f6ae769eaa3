//! What the layers do, framework-neutral: the guard before routing ([`Cors::judge_unrouted`]),
//! a declared route ([`DeclaredRoute::handle`]) and the end of a request, once the application
//! has answered ([`After::finish`]). The Tower layers and the actix-web middleware call these and
//! copy the result out (see [`crate::adapter`]).

mod guard;
mod outcome;
mod route;
#[cfg(test)]
mod tests;

use bytes::Bytes;

pub use guard::Deferred;
pub(crate) use guard::Unanswered;
pub use outcome::{CorsOutcome, Mark, MarkSink, MarkSource, Recorded};
pub use route::{DeclaredRoute, Preflight, RouteStep};

use crate::metrics::DecisionCounters;
use crate::reply::{Decoration, Reply, ReplyValue, VARY_ORIGIN, VARY_PREFLIGHT};
use crate::{Cors, Field, Rejection};

/// The mark of a declared route's own answer (its preflight answer or its refusal), or of the
/// response to a WebSocket handshake it took, by which the guard knows that a route answered a
/// preflight (or took a handshake) it deferred. The adapters put it on the answer
/// of a [`RouteStep::Answer`] or [`RouteStep::Preflight`], in the extensions the guard sees with
/// the response: the response's on Tower; on actix-web the request's, which its response carries
/// (they are pooled with their room, where a response's map would be allocated for the mark).
#[derive(Debug, Clone, Copy)]
pub struct RouteAnswered;

/// What to do once the application has answered a request that a layer passed on.
#[derive(Debug)]
#[must_use]
pub enum After<V> {
    /// Nothing.
    Nothing,
    /// Add these headers (a declared route's CORS headers and `Vary`, the guard's `Vary` on an
    /// unsafe method, a report, the frame-ancestors policy).
    Decorate(Decoration<V>),
    /// A preflight (or a WebSocket handshake) the guard passed on without a verdict: judged
    /// unless a declared route answered (or took) it.
    Judge(Cors, Deferred<V>),
}

/// The application's response, as the end of a request sees it. Each adapter implements it for
/// its framework's response.
pub trait AppResponse {
    /// The framework's header value.
    type Value;

    /// The status.
    fn status(&self) -> u16;

    /// Whether it carries the [`RouteAnswered`] mark.
    fn route_answered(&self) -> bool;

    /// Marks it [`RouteAnswered`]: a declared route took a WebSocket handshake that the guard
    /// deferred (where [`route_answered`](Self::route_answered) looks).
    fn mark_route_answered(&mut self);

    /// The request's path and URI authority.
    fn target(&self) -> (&str, Option<&str>);

    /// Adds the decoration's headers.
    fn decorate(&mut self, decoration: Decoration<Self::Value>);
}

impl<V: AsRef<[u8]>> After<V> {
    /// The end of a request: decorates the application's response, or judges a deferred
    /// preflight that no declared route answered. Returns the refusal to send instead of the
    /// response, if any. It takes what it applies out of the `After` the response future keeps
    /// (an `After` is large: moving it out whole costs a copy), so a second call does nothing.
    #[inline]
    pub fn finish<R: AppResponse<Value = V>>(&mut self, response: &mut R) -> Option<Reply> {
        match self {
            After::Nothing => None,
            After::Decorate(decoration) => {
                if decoration.takes_handshake() {
                    response.mark_route_answered();
                }
                // What is left adds nothing.
                let decoration = std::mem::replace(decoration, Decoration::vary_only(false));
                response.decorate(decoration);
                None
            }
            After::Judge(..) => unanswered(self, response),
        }
    }
}

/// The guard's judgement of a preflight it deferred (`after` is an [`After::Judge`]), once the
/// application answered: nothing if a declared route answered it, else the refusal to send
/// instead of the application's `response`, or none (the response decorated when a report is
/// due). `after` is left [`After::Nothing`]. Out of line: the code every request runs stays
/// small enough for the instruction cache.
#[cold]
#[inline(never)]
fn unanswered<V: AsRef<[u8]>, R: AppResponse<Value = V>>(
    after: &mut After<V>,
    response: &mut R,
) -> Option<Reply> {
    let After::Judge(cors, deferred) = &*after else {
        return None;
    };
    let mut refusal = None;
    if !response.route_answered() {
        let (path, authority) = response.target();
        match cors.judge_unanswered(deferred, path, authority, response.status()) {
            Unanswered::Refuse(reply) => refusal = Some(reply),
            Unanswered::Decorate(decoration) => response.decorate(decoration),
            Unanswered::Pass => {}
        }
    }
    *after = After::Nothing;
    refusal
}

impl Cors {
    /// Logs (and counts, when metrics are on) the would-be rejections of rules in report mode;
    /// the `X-Trusted-Cors-Report` value naming them, when the config sends it. Most requests
    /// have none: the work is out of line, so that the code every request runs stays small
    /// enough for the instruction cache.
    #[inline]
    fn report(&self, reports: &[Rejection], counters: Option<&DecisionCounters>) -> Option<Bytes> {
        match reports.is_empty() {
            true => None,
            false => self.report_some(reports, counters),
        }
    }

    #[cold]
    #[inline(never)]
    fn report_some(
        &self,
        reports: &[Rejection],
        counters: Option<&DecisionCounters>,
    ) -> Option<Bytes> {
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
        // A refused preflight also depends on the requested method and headers.
        reply.add_vary(if rejection.is_preflight() {
            VARY_PREFLIGHT
        } else {
            VARY_ORIGIN
        });
        if self.config().diagnostics() {
            let reason = bytes::Bytes::from_static(rejection.reason().as_bytes());
            reply.set(Field::TrustedCorsReason, ReplyValue::Bytes(reason));
        }
        reply.with_rejection(rejection)
    }
}

impl From<Rejection> for Reply {
    /// The default refusal, without a [`Cors`] at hand: logged, the Okta-style JSON error of
    /// the default responder ([`OktaError`](crate::OktaError)), the rejection attached.
    fn from(rejection: Rejection) -> Reply {
        use crate::RejectionResponder;
        rejection.log();
        crate::respond::OktaErrorResponder
            .respond(&rejection)
            .with_rejection(rejection)
    }
}
