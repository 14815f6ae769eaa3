//! The WebSocket rule (`websocket_origin_not_trusted`): a cross-origin handshake only from a
//! trusted origin, unless its route declared the socket open to any origin.

use super::{actual, Decision, RouteScope, Rules};
use crate::registry::ExactLookup;
use crate::rejection::RejectionCause;
use crate::{CorsConfig, RegistrySnapshot, RejectionKind, RouteCors, ScopeType};

/// A cross-origin WebSocket handshake, after the credential rule. Browsers open a socket to any
/// site with that site's cookies and make no CORS check of it, so only a trusted origin may,
/// unless the route declared its socket open to any origin. Then it is the `GET` it is: on a
/// CORS-enabled route (its handshake from a trusted origin, or one the rule only reported) as
/// an actual request; elsewhere, and when the route took it as open to any origin, without
/// CORS headers (none is read on a socket). Out of line: the request path of every other
/// request stays as it was.
#[inline(never)]
pub(super) fn handshake<'a>(
    rules: &mut Rules<'_, 'a>,
    config: &CorsConfig,
    route: RouteScope<'a>,
    registry: &RegistrySnapshot,
    lookup: ExactLookup<'a>,
    bearer: bool,
) -> Decision<'a> {
    let cross = rules.cross;
    let trusted = cross.origin().is_some_and(|p| {
        config.origin_schemes().allows(p.scheme())
            && registry.trusted_after(&p, ScopeType::Cors, lookup)
    });
    let declared = match route {
        RouteScope::Declared(policy) => Some(policy),
        _ => None,
    };
    // Taken by a route open to any origin.
    let open = !trusted && declared.is_some_and(RouteCors::accepts_websocket_from_any_origin);
    if trusted || open {
        rules.pass(RejectionKind::WebSocketOriginNotTrusted, || {
            match trusted {
                true => "a WebSocket handshake from an ACTIVE trusted origin with the CORS scope",
                false => {
                    "a WebSocket handshake to a route declared open to any origin \
                          (websocket_from_any_origin)"
                }
            }
            .to_owned()
        });
    } else {
        let origin = cross.origin_form();
        if let Some(reject) = rules.refuse(RejectionCause::WebSocketOriginNotTrusted { origin }) {
            return reject;
        }
    }
    rules.pass(RejectionKind::UntrustedCrossOriginWrite, || {
        "a WebSocket handshake is judged by websocket_origin_not_trusted".to_owned()
    });
    match declared {
        None if matches!(route, RouteScope::Unrouted) => Decision::Pass,
        Some(policy) if policy.is_cors_enabled() && !open => {
            rules.pass(RejectionKind::RouteNotCorsEnabled, || {
                "the route declares a CORS policy".to_owned()
            });
            actual(rules, policy, trusted, bearer)
        }
        _ => {
            rules.pass(RejectionKind::RouteNotCorsEnabled, || {
                "a WebSocket handshake needs no CORS headers: browsers make no CORS check of a \
                 socket"
                    .to_owned()
            });
            Decision::Pass
        }
    }
}
