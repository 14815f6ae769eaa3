//! The guard, before routing: the global rules, and the refusal of preflights that no declared
//! route answered.

use bytes::Bytes;

use super::After;
use crate::decision::{Decision, RouteScope};
use crate::rejection::RejectionCause;
use crate::reply::{Decoration, Reply};
use crate::request::{is_safe, names_another_site, Found, RequestFacts, RequestHeaders};
use crate::{Cors, Field, Rejection, RejectionKind, RuleMode};

/// What the guard keeps of a request it passed on without a verdict, to judge it if no declared
/// route answers it. A declared route decides such a request fully (its decision applies the
/// global rules too), so the guard judges it only when no route answered.
#[derive(Debug, Clone)]
pub struct Deferred<V>(Pending<V>);

#[derive(Debug, Clone)]
enum Pending<V> {
    /// A preflight, with the headers the global rules read, as the framework's values.
    Preflight {
        origin: Found<V>,
        /// `Access-Control-Request-Method`, `Host` and `Sec-Fetch-Site` of a request not judged
        /// yet (an `OPTIONS` without `Authorization`); `None` for one already judged a
        /// preflight.
        unjudged: Option<[Found<V>; 3]>,
    },
    /// A WebSocket handshake the guard refuses unless a route declared open to any origin took
    /// it: the refusal, made before routing (boxed: the rare case keeps `After` small).
    Handshake(Box<Rejection>),
}

/// The guard's verdict on a preflight it deferred, once no declared route answered it.
#[derive(Debug)]
pub(crate) enum Unanswered<V> {
    /// Answer with this refusal instead of the application's response.
    Refuse(Reply),
    /// Let the application's response through.
    Pass,
    /// Let it through with this decoration (a report of the rule in report mode).
    Decorate(Decoration<V>),
}

/// What the guard does with a request it lets through: a response to an unsafe method varies on
/// `Origin`, since the same request from another origin would have been refused; `report` is
/// the `X-Trusted-Cors-Report` value, when rules in report mode would have refused it.
fn pass<V>(method: &str, report: Option<Bytes>) -> After<V> {
    let vary = !is_safe(method);
    if !vary && report.is_none() {
        return After::Nothing;
    }
    After::Decorate(Decoration::vary_only(vary).with_report(report))
}

impl Cors {
    /// The guard's verdict on a request, before routing: the refusal to answer with (the
    /// application is not called), or what to do once the application has answered.
    /// `authority` is the URI's authority (HTTP/2's `:authority`), for requests without `Host`.
    ///
    /// It reads what its rules need, `Origin` first: a request without it costs one lookup. A
    /// `GET` without `Authorization` or `Upgrade` (two presence checks), a `HEAD` or an `OPTIONS`
    /// without `Authorization`, is never refused before routing (no global rule applies to it:
    /// it carries no credential, its method is safe and it is no WebSocket handshake), so the
    /// guard does not judge it: it passes it on or, if it asks for a preflight, defers it,
    /// keeping what it needs to judge it if no declared route answers. Any other request is read
    /// in full ([`RequestFacts::read`]) and decided. The property tests check both shortcuts
    /// against the decision.
    ///
    /// A WebSocket handshake it refuses (`websocket_origin_not_trusted`) is refused here, before
    /// routing, unless a route of this `Cors` was declared
    /// [open to any origin](crate::RouteCorsBuilder::websocket_from_any_origin): the guard cannot
    /// tell which route a request goes to, so it then defers the handshake as it defers a
    /// preflight. A declared route judges it (it refuses it before its handler, or takes it and
    /// marks its response); one that no declared route took is refused at the end, the
    /// application's answer (its `101`) replaced by the refusal, so the connection is never
    /// upgraded.
    #[doc(hidden)]
    pub fn judge_unrouted<H: RequestHeaders>(
        &self,
        method: &str,
        path: &str,
        authority: Option<&str>,
        headers: &H,
    ) -> Result<After<H::Value>, Reply> {
        let origin = headers.get(Field::Origin);
        // Whether a `GET` may be a WebSocket handshake (it has an `Upgrade`).
        let mut handshakes = false;
        if !origin.is_present() {
            // Not a CORS request, unless a browser says that an unsafe one comes from another
            // site (see `classify`).
            if is_safe(method) || !names_another_site(headers.values(Field::SecFetchSite)) {
                return Ok(pass(method, None));
            }
        } else if matches!(method, "GET" | "HEAD") {
            // A WebSocket handshake is a `GET` with an `Upgrade`: one more lookup (cheaper than
            // reading both in one pass over a browser's headers; BENCHMARKS.md, "Issue 21"). A
            // `HEAD` is never upgraded.
            handshakes = method == "GET" && headers.contains(Field::Upgrade);
            if !handshakes && !headers.contains(Field::Authorization) {
                return Ok(After::Nothing);
            }
        } else if method == "OPTIONS" {
            // What a preflight's passing depends on, read at once.
            let fields = [
                Field::Authorization,
                Field::AccessControlRequestMethod,
                Field::SecFetchSite,
                Field::Host,
            ];
            let mut found = [Found::Absent; 4];
            headers.get_many(&fields, &mut found);
            let [authorization, request_method, sec_fetch_site, host] = found;
            if !authorization.is_present() {
                if !request_method.is_present() {
                    return Ok(After::Nothing);
                }
                let deferred = Deferred(Pending::Preflight {
                    origin: origin.cloned(),
                    unjudged: Some([
                        request_method.cloned(),
                        host.cloned(),
                        sec_fetch_site.cloned(),
                    ]),
                });
                return Ok(After::Judge(self.clone(), deferred));
            }
        }
        self.judge_read(method, path, authority, origin, headers, handshakes)
    }

    /// [`judge_unrouted`](Self::judge_unrouted) for a request its shortcuts do not settle: read
    /// in full and decided. Out of line: the code every request runs stays small enough to be
    /// inlined into the layers (measured: BENCHMARKS.md, "Issue 21").
    #[inline(never)]
    fn judge_read<'h, H: RequestHeaders>(
        &self,
        method: &str,
        path: &str,
        authority: Option<&str>,
        origin: Found<&'h H::Value>,
        headers: &'h H,
        handshakes: bool,
    ) -> Result<After<H::Value>, Reply> {
        let facts =
            RequestFacts::read_after_origin(method, path, authority, origin, headers, handshakes);
        let mut reports = Vec::new();
        let decision = self.decide_reporting(&facts, RouteScope::Unrouted, &mut reports);
        let counters = self.guard_counters();
        let report = self.report(&reports, counters);
        match decision {
            Decision::DeferPreflight => {
                let deferred = Deferred(Pending::Preflight {
                    origin: origin.cloned(),
                    unjudged: None,
                });
                Ok(After::Judge(self.clone(), deferred))
            }
            // A route may have declared this socket open to any origin: it judges the handshake
            // (refusing it, or marking its response taken); the guard refuses it at the end if
            // no declared route did. Only when such a route exists: otherwise no handler ever
            // sees a refused handshake.
            Decision::Reject(rejection)
                if rejection.kind() == RejectionKind::WebSocketOriginNotTrusted
                    && self.has_public_sockets() =>
            {
                let deferred = Deferred(Pending::Handshake(Box::new(rejection)));
                Ok(After::Judge(self.clone(), deferred))
            }
            Decision::Reject(rejection) => Err(self.refuse_counted(rejection, counters)),
            _ => Ok(pass(method, report)),
        }
    }

    /// The guard's verdict on a request it deferred, once no declared route answered it: the
    /// refusal of a preflight that no route answered (`route_not_cors_enabled`; in report mode,
    /// reported) or of a WebSocket handshake that no route declared open to any origin took
    /// (`websocket_origin_not_trusted`: the application's answer, a `101` included, is never
    /// sent), or the application's response. `path` and `authority` are the request's.
    ///
    /// `status` is the application's answer: it tells the log which configuration mistake let
    /// the preflight through unanswered ([`Rejection::fix`]).
    pub(crate) fn judge_unanswered<V: AsRef<[u8]>>(
        &self,
        deferred: &Deferred<V>,
        path: &str,
        authority: Option<&str>,
        status: u16,
    ) -> Unanswered<V> {
        let (origin, unjudged) = match &deferred.0 {
            Pending::Preflight { origin, unjudged } => (origin, unjudged),
            Pending::Handshake(rejection) => {
                let rejection = Rejection::clone(rejection);
                return Unanswered::Refuse(self.refuse_counted(rejection, self.guard_counters()));
            }
        };
        if let Some([request_method, host, sec_fetch_site]) = unjudged {
            let host = RequestFacts::request_host(authority, host.input());
            // What `RequestFacts::read` reads of an `OPTIONS` without `Authorization`.
            let facts = RequestFacts {
                method: "OPTIONS",
                path,
                origin: origin.input(),
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
        let origin = origin.first().map_or(&[][..], |o| o.as_ref());
        let cause = RejectionCause::PreflightNotAnswered { status };
        let rejection = Rejection::new(cause, origin, path, true);
        let counters = self.guard_counters();
        if self.config().rule_mode(rejection.kind()) == RuleMode::Enforce {
            return Unanswered::Refuse(self.refuse_counted(rejection, counters));
        }
        match self.report(&[rejection.into_report()], counters) {
            Some(report) => {
                Unanswered::Decorate(Decoration::vary_only(false).with_report(Some(report)))
            }
            None => Unanswered::Pass,
        }
    }
}
