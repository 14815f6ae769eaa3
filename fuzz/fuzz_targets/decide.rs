//! `decide` over arbitrary request facts, against the fixed registry, a route policy and a
//! configuration chosen by the input, in all three scopes (before routing, undeclared, declared).
//!
//! Input: 3 flag bytes, then the lines `method`, `path`, `Origin`,
//! `Access-Control-Request-Method`, `Access-Control-Request-Headers`, `Authorization`,
//! `Sec-Fetch-Site`, `Host`. Flags, from bit 0 of byte 0, two bits per header in that order
//! (0 absent, 1 and 3 one value, 2 several); then bit 12 cookies, bits 13-15 the policy, bit 16
//! the configuration, bit 17 a WebSocket handshake.
//!
//! Invariants (ARCHITECTURE.md): only a declared CORS-enabled route grants, only to the exact
//! origin, never `*` or `null`; credentials only for an ACTIVE CORS-scoped trusted origin on a route
//! that allows them; an untrusted origin only as a bearer call without cookies on a
//! bearer-from-any-origin route; an API token or any scheme not configured is refused
//! cross-origin; an unsafe method from an untrusted origin without a bearer token is refused;
//! the global rules decide the same in every scope; a WebSocket handshake from an origin that is
//! not trusted is refused unless the route declared its socket open to any origin, one from a
//! trusted origin never is by that rule; a trusted origin is granted; an allowed
//! preflight answers what was asked, as a browser would check it; a refusal is a 403 Okta error
//! with no CORS grant and `Vary: Origin`.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use trusted_cors_core::decision::{decide, Decision, RouteScope};
use trusted_cors_core::{
    Cors, HeaderInput, Registry, RejectionKind, RequestFacts, RequestOrigin, ScopeType,
};
use trusted_cors_fuzz::{
    allowed_schemes, assert_okta_error, auth_scheme, configs, is_token, list_items,
    oracle_form_post, oracle_same_origin, oracle_trusted, policies, registry, Input,
};

/// The fixed registry and a `Cors` per configuration over it, built once.
fn world() -> &'static (Arc<Registry>, Vec<Cors>) {
    static WORLD: OnceLock<(Arc<Registry>, Vec<Cors>)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let registry = Arc::new(registry());
        let cors = configs()
            .iter()
            .map(|c| Cors::new(c.clone(), Arc::clone(&registry)))
            .collect();
        (registry, cors)
    })
}

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data, 3);
    let fields = input.fields();
    let field = |i: usize| fields.get(i).copied().unwrap_or_default();
    let header = |i: usize| -> HeaderInput<'_> {
        match (input.bits2(2 * (i - 2)), fields.get(i)) {
            (0, _) | (_, None) => HeaderInput::Absent,
            (2, Some(_)) => HeaderInput::Many,
            (_, Some(value)) => HeaderInput::One(value),
        }
    };
    let Ok(method) = std::str::from_utf8(field(0)) else {
        return;
    };
    let path = String::from_utf8_lossy(field(1));
    let config_index = usize::from(input.bit(16));
    let policy = &policies()[usize::from((input.flag(1) >> 5) & 0b111)];
    let facts = RequestFacts {
        method,
        path: &path,
        origin: header(2),
        access_control_request_method: header(3),
        access_control_request_headers: header(4),
        authorization: header(5),
        has_cookies: input.bit(12),
        sec_fetch_site: header(6),
        host: header(7),
        // As the layers read it: only a `GET` (with `Upgrade` and `Connection`) or a `CONNECT`.
        websocket: input.bit(17) && matches!(method, "GET" | "CONNECT"),
    };
    let (registry, cors) = world();
    let cors = &cors[config_index];
    let config = cors.config();
    let snapshot = registry.snapshot();

    let scopes = [
        RouteScope::Unrouted,
        RouteScope::Undeclared,
        RouteScope::Declared(policy),
    ];
    let decisions = scopes.map(|scope| (scope, decide(&facts, config, scope, &snapshot)));

    // The global rules decide the same before routing and on every route.
    let global = |d: &Decision<'_>| {
        d.rejection().map(|r| r.kind()).filter(|k| {
            matches!(
                k,
                RejectionKind::ApiTokenCrossOrigin
                    | RejectionKind::CredentialSchemeNotAllowed
                    | RejectionKind::UntrustedCrossOriginWrite
            )
        })
    };
    let first = global(&decisions[0].1);
    for (_, decision) in &decisions[1..] {
        assert_eq!(global(decision), first, "scopes disagree: {decisions:?}");
    }

    for (scope, decision) in &decisions {
        check(&facts, config_index, cors, *scope, decision);
    }
});

fn check(
    facts: &RequestFacts<'_>,
    config_index: usize,
    cors: &Cors,
    scope: RouteScope<'_>,
    decision: &Decision<'_>,
) {
    let enabled = matches!(scope, RouteScope::Declared(p) if p.is_cors_enabled());
    let origin = match facts.origin {
        HeaderInput::Absent => {
            // Not CORS, unless a browser says an unsafe request comes from another site: then a
            // write from an origin that cannot be trusted, never granted anything.
            let safe = matches!(facts.method, "GET" | "HEAD" | "OPTIONS");
            let other_site = matches!(
                facts.sec_fetch_site,
                HeaderInput::One(b"cross-site" | b"same-site")
            );
            if safe || !other_site {
                assert_eq!(*decision, Decision::NotCors);
            } else {
                assert!(
                    !matches!(
                        decision,
                        Decision::NotCors
                            | Decision::SameOrigin
                            | Decision::Allow(_)
                            | Decision::Preflight(_)
                    ),
                    "{facts:?} → {decision:?}"
                );
            }
            return;
        }
        HeaderInput::One(origin) => Some(origin),
        HeaderInput::Many => None,
    };
    let same = origin.is_some_and(|o| {
        oracle_same_origin(o, as_option(facts.sec_fetch_site), as_option(facts.host))
    });
    assert_eq!(
        matches!(decision, Decision::SameOrigin),
        same,
        "same-origin: {facts:?} → {decision:?}"
    );
    if same {
        return;
    }

    // Cross-origin from here on.
    let trusted = origin.is_some_and(|o| oracle_trusted(o, ScopeType::Cors));
    let scheme = match facts.authorization {
        HeaderInput::One(value) => Some(auth_scheme(value).to_ascii_lowercase()),
        _ => None,
    };
    let bearer = scheme.as_deref().is_some_and(|s| {
        allowed_schemes(config_index)
            .iter()
            .any(|a| a.as_bytes() == s)
    });
    let kind = decision.rejection().map(|r| r.kind());
    match facts.authorization {
        HeaderInput::Many => assert_eq!(kind, Some(RejectionKind::CredentialSchemeNotAllowed)),
        HeaderInput::One(_) if scheme.as_deref() == Some(b"ssws") => {
            assert_eq!(kind, Some(RejectionKind::ApiTokenCrossOrigin), "{facts:?}");
        }
        HeaderInput::One(_) if !bearer => {
            assert_eq!(
                kind,
                Some(RejectionKind::CredentialSchemeNotAllowed),
                "{facts:?} → {decision:?}"
            );
        }
        _ => assert!(!matches!(
            kind,
            Some(RejectionKind::ApiTokenCrossOrigin | RejectionKind::CredentialSchemeNotAllowed)
        )),
    }
    let credential_ok = matches!(facts.authorization, HeaderInput::Absent) || bearer;

    let requested_method = match facts.access_control_request_method {
        HeaderInput::One(m) if facts.method == "OPTIONS" => std::str::from_utf8(m)
            .ok()
            .filter(|m| is_token(m.as_bytes())),
        _ => None,
    };
    let preflight = requested_method.is_some();
    // A handshake is judged by its own rule, not as a write.
    let safe = preflight || facts.websocket || matches!(facts.method, "GET" | "HEAD" | "OPTIONS");
    let open_socket =
        matches!(scope, RouteScope::Declared(p) if p.accepts_websocket_from_any_origin());
    if credential_ok {
        assert_eq!(
            kind == Some(RejectionKind::WebSocketOriginNotTrusted),
            facts.websocket && !trusted && !open_socket,
            "websocket: {facts:?} → {decision:?}"
        );
    }
    let exempt =
        trusted || (bearer && !facts.has_cookies) || oracle_form_post(config_index, facts.path);
    if credential_ok {
        assert_eq!(
            kind == Some(RejectionKind::UntrustedCrossOriginWrite),
            !safe && !exempt,
            "untrusted write: {facts:?} → {decision:?}"
        );
    }

    match decision {
        Decision::NotCors | Decision::SameOrigin => panic!("{facts:?} → {decision:?}"),
        // A CORS-enabled route passes only an untrusted handshake to a socket open to any origin
        // (a trusted one is the request it is there, with its CORS headers).
        Decision::Pass => {
            assert!(!preflight && (!enabled || (facts.websocket && open_socket && !trusted)))
        }
        Decision::DeferPreflight => {
            assert!(matches!(scope, RouteScope::Unrouted) && preflight);
        }
        Decision::Allow(headers) => {
            assert!(enabled && !preflight);
            let RouteScope::Declared(policy) = scope else {
                unreachable!()
            };
            check_grant(
                facts,
                headers.allow_origin,
                headers.allow_credentials,
                trusted,
            );
            assert_eq!(headers.trusted, trusted);
            if headers.allow_credentials {
                assert!(policy.allows_credentials());
            }
            if !trusted {
                assert!(policy.accepts_bearer_from_any_origin() && bearer && !facts.has_cookies);
            }
        }
        Decision::Preflight(answer) => {
            assert!(enabled && preflight);
            let RouteScope::Declared(policy) = scope else {
                unreachable!()
            };
            check_grant(
                facts,
                answer.allow_origin,
                answer.allow_credentials,
                trusted,
            );
            if answer.allow_credentials {
                assert!(policy.allows_credentials());
            }
            let requested_headers: Vec<&[u8]> = match facts.access_control_request_headers {
                HeaderInput::One(v) => list_items(v).collect(),
                _ => Vec::new(),
            };
            let asks_authorization = requested_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(b"authorization"));
            if !trusted {
                assert!(policy.accepts_bearer_from_any_origin() && asks_authorization);
            }
            // What a browser checks (Fetch, CORS-preflight fetch): the method and every
            // requested header are listed; `*` never covers `authorization`, and with
            // credentials `*` is a plain name.
            let methods: Vec<&[u8]> = list_items(&answer.allow_methods).collect();
            let method = requested_method.unwrap_or_default();
            assert!(
                methods.contains(&method.as_bytes()) || is_cors_safelisted_method(method),
                "method {method:?} not in {methods:?}"
            );
            let allowed: Vec<&[u8]> = answer
                .allow_headers
                .as_deref()
                .map(|v| list_items(v).collect())
                .unwrap_or_default();
            assert!(!allowed.contains(&b"*".as_slice()), "Allow-Headers: *");
            for name in &requested_headers {
                assert!(
                    allowed.iter().any(|a| a.eq_ignore_ascii_case(name)),
                    "requested header {name:?} not in {allowed:?}"
                );
            }
            assert!(answer.max_age.iter().all(u8::is_ascii_digit) && !answer.max_age.is_empty());
            let reply = answer.reply();
            assert_eq!(reply.status(), 204);
            assert!(reply.headers().any(|(n, v)| n.eq_ignore_ascii_case("vary")
                && list_items(v).any(|i| i.eq_ignore_ascii_case(b"origin"))));
        }
        Decision::Reject(rejection) => {
            if trusted && enabled && credential_ok {
                // A trusted origin is refused only a preflight that asks too much.
                assert!(
                    matches!(
                        rejection.kind(),
                        RejectionKind::MethodNotAllowed | RejectionKind::HeaderNotAllowed
                    ),
                    "trusted origin refused: {facts:?} → {rejection:?}"
                );
            }
            if rejection.kind() == RejectionKind::RouteNotCorsEnabled {
                assert!(preflight && !enabled && !matches!(scope, RouteScope::Unrouted));
            }
            assert!(!rejection.cause().is_empty());
            assert!(rejection
                .reason()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert!(!rejection.origin().chars().any(char::is_control));
            assert!(!rejection.path().chars().any(char::is_control));
            // At most 128 characters, each escaped to at most ten.
            assert!(rejection.origin().chars().count() <= 128 * 10 + 1);
            let reply = cors.refuse(rejection.clone());
            assert_eq!(reply.status(), 403);
            assert_eq!(reply.rejection(), Some(rejection));
            for (name, value) in reply.headers() {
                assert!(
                    !name.eq_ignore_ascii_case("access-control-allow-origin")
                        && !name.eq_ignore_ascii_case("access-control-allow-credentials"),
                    "a refusal grants: {name}: {value:?}"
                );
            }
            assert!(reply.headers().any(|(n, v)| n.eq_ignore_ascii_case("vary")
                && list_items(v).any(|i| i.eq_ignore_ascii_case(b"origin"))));
            assert_okta_error(reply.body_bytes(), "rejection");
        }
        _ => {}
    }
    if enabled && trusted && credential_ok && !preflight {
        let RouteScope::Declared(policy) = scope else {
            unreachable!()
        };
        match decision {
            Decision::Allow(headers) => {
                assert_eq!(headers.allow_credentials, policy.allows_credentials());
            }
            other => panic!("a trusted origin was not granted: {facts:?} → {other:?}"),
        }
    }
}

/// What every grant satisfies: the exact, single, serialized origin; credentials only for a
/// trusted one.
fn check_grant(facts: &RequestFacts<'_>, allow_origin: &str, credentials: bool, trusted: bool) {
    let HeaderInput::One(origin) = facts.origin else {
        panic!("granted with several origins: {facts:?}");
    };
    assert_eq!(allow_origin.as_bytes(), origin);
    assert!(allow_origin != "*" && allow_origin != "null");
    assert!(matches!(
        RequestOrigin::parse(origin),
        RequestOrigin::Valid(_)
    ));
    if credentials {
        assert!(trusted, "credentials for an untrusted origin: {facts:?}");
    }
}

fn is_cors_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// `None` absent, `Some(None)` several values, `Some(Some(v))` one, as the oracles take them.
fn as_option(header: HeaderInput<'_>) -> Option<Option<&[u8]>> {
    match header {
        HeaderInput::Absent => None,
        HeaderInput::One(v) => Some(Some(v)),
        HeaderInput::Many => Some(None),
    }
}
