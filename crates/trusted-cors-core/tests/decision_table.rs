//! Every row of the ARCHITECTURE.md decision table (its cases in `decision_table/`) and every
//! reason code, at the level of the pure decision: the exact header values it asks for.

#[path = "decision_table/cases.rs"]
mod cases;
mod common;

use std::borrow::Cow;

use bytes::Bytes;
use cases::{Case, Expect, Route, TRUSTED_B, UNTRUSTED_B};
use common::*;
use trusted_cors_core::decision::{decide, CorsHeaders, Decision, PreflightAnswer, RouteScope};
use trusted_cors_core::{HeaderInput, RejectionKind, ReplyValue, RequestFacts, RouteCors};

use Expect::*;
use RejectionKind as K;
use Route::*;

fn facts<'a>(case: &'a Case) -> RequestFacts<'a> {
    let input = |name: &str| {
        HeaderInput::from_values(
            case.headers
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| *v),
        )
    };
    RequestFacts {
        method: case.method,
        path: case.path,
        origin: input("origin"),
        access_control_request_method: input("access-control-request-method"),
        access_control_request_headers: input("access-control-request-headers"),
        authorization: input("authorization"),
        has_cookies: case.headers.iter().any(|(n, _)| *n == "cookie"),
        sec_fetch_site: input("sec-fetch-site"),
        host: input("host"),
        websocket: RequestFacts::is_websocket_handshake(
            case.method,
            input("upgrade"),
            input("connection"),
        ),
    }
}

/// The headers of a preflight answer, exactly as the layers send them.
fn sent(answer: &PreflightAnswer<'_>) -> Vec<(&'static str, String)> {
    answer
        .reply()
        .header_values()
        .map(|(name, value)| {
            let value = match value {
                ReplyValue::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                ReplyValue::Echo(from) => format!("<echo {}>", from.as_str()),
                other => format!("{other:?}"),
            };
            (name, value)
        })
        .collect()
}

fn expected_preflight(
    credentials: bool,
    methods: &str,
    headers: &str,
) -> Vec<(&'static str, String)> {
    let mut expected = vec![("access-control-allow-origin", "<echo origin>".to_owned())];
    if credentials {
        expected.push(("access-control-allow-credentials", "true".into()));
    }
    expected.push(("access-control-allow-methods", methods.into()));
    if !headers.is_empty() {
        expected.push(("access-control-allow-headers", headers.into()));
    }
    expected.push(("access-control-max-age", "7200".into()));
    expected.push((
        "vary",
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".into(),
    ));
    expected
}

#[test]
fn decision_table() {
    let config = config();
    let registry = registry();
    let snapshot = registry.snapshot();
    let (me, user, no_cookies, server) =
        (me(), user(), no_cookies(), RouteCors::server_side_only());
    let public = public();
    let socket = socket();
    let mut failures = Vec::new();
    for case in cases::all() {
        let scope = match case.route {
            Unrouted => RouteScope::Unrouted,
            Undeclared => RouteScope::Undeclared,
            ServerSideOnly => RouteScope::Declared(&server),
            Me => RouteScope::Declared(&me),
            User => RouteScope::Declared(&user),
            NoCookies => RouteScope::Declared(&no_cookies),
            Public => RouteScope::Declared(&public),
            Socket => RouteScope::Declared(&socket),
        };
        let facts = facts(case);
        let got = decide(&facts, &config, scope, &snapshot);
        let ok = match (&case.expect, &got) {
            (NotCors, Decision::NotCors)
            | (SameOrigin, Decision::SameOrigin)
            | (Pass, Decision::Pass)
            | (Defer, Decision::DeferPreflight) => true,
            (
                Preflight {
                    origin,
                    credentials,
                    methods,
                    headers,
                },
                Decision::Preflight(answer),
            ) => {
                *answer
                    == PreflightAnswer {
                        allow_origin: origin,
                        allow_credentials: *credentials,
                        allow_methods: Cow::Owned(Bytes::from_static(methods.as_bytes())),
                        allow_headers: (!headers.is_empty())
                            .then(|| Cow::Owned(Bytes::from_static(headers.as_bytes()))),
                        max_age: Cow::Owned(Bytes::from_static(b"7200")),
                    }
                    && sent(answer) == expected_preflight(*credentials, methods, headers)
            }
            (
                Allow {
                    origin,
                    credentials,
                    expose,
                    trusted,
                },
                Decision::Allow(headers),
            ) => {
                *headers
                    == CorsHeaders {
                        allow_origin: origin,
                        allow_credentials: *credentials,
                        expose_headers: expose.map(|e| Bytes::from_static(e.as_bytes())),
                        trusted: *trusted,
                    }
            }
            (Reject(kind), Decision::Reject(rejection)) => {
                rejection.kind() == *kind
                    && !rejection.cause().is_empty()
                    && rejection.path() == case.path
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.expect, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases::all().count(),
        failures.join("\n")
    );
}

#[test]
fn every_reason_code_is_covered() {
    for kind in RejectionKind::ALL {
        assert!(
            cases::all().any(|c| matches!(c.expect, Reject(k) if k == kind)),
            "no case for {kind}"
        );
    }
}

#[test]
fn causes_name_the_origin_and_the_fix() {
    let config = config();
    let registry = registry();
    let me = me();
    let cause = |case: &Case| match decide(
        &facts(case),
        &config,
        RouteScope::Declared(&me),
        &registry.snapshot(),
    ) {
        Decision::Reject(rejection) => rejection.cause().to_owned(),
        other => panic!("{}: {other:?}", case.name),
    };
    let untrusted = cases::all().find(|c| c.name == "untrusted GET").unwrap();
    let text = cause(untrusted);
    assert!(
        text.contains("Origin https://evil.example is not a trusted origin with the CORS scope"),
        "{text}"
    );
    assert!(text.contains("add it under trusted origins"), "{text}");
    let token = cases::all()
        .find(|c| c.name == "SSWS cross-origin on an enabled route")
        .unwrap();
    let text = cause(token);
    assert!(
        text.contains("API token") && text.contains("Bearer"),
        "{text}"
    );
}

#[test]
fn registry_changes_apply_to_the_next_decision() {
    let config = config();
    let registry = registry();
    let user = user();
    let case = cases::all()
        .find(|c| c.name == "untrusted preflight")
        .unwrap();
    let decide_now = || {
        decide(
            &facts(case),
            &config,
            RouteScope::Declared(&user),
            &registry.snapshot(),
        )
    };
    assert!(matches!(decide_now(), Decision::Reject(_)));
    let added = registry
        .create(trusted_cors_core::NewTrustedOrigin::new(
            "Evil",
            UNTRUSTED,
            [trusted_cors_core::ScopeType::Cors],
        ))
        .unwrap();
    assert!(matches!(decide_now(), Decision::Preflight(_)));
    registry.deactivate(&added.id).unwrap();
    assert!(matches!(decide_now(), Decision::Reject(_)));
}

/// A route sets the modes of the rules it judges over the global config's: report where the
/// config enforces, enforce where it reports.
#[test]
fn route_rule_modes_override_the_global_ones() {
    use trusted_cors_core::decision::decide_reporting;
    use trusted_cors_core::{ConfigError, CorsConfig, RuleMode};

    let registry = registry();
    let snapshot = registry.snapshot();
    let get = RequestFacts {
        method: "GET",
        path: "/api/v1/users/00u1",
        origin: HeaderInput::One(UNTRUSTED_B),
        has_cookies: true,
        ..RequestFacts::default()
    };
    let enforcing = CorsConfig::default();
    let reporting = CorsConfig::builder()
        .rule(K::OriginNotTrusted, RuleMode::Report)
        .build()
        .unwrap();
    let route_reports = RouteCors::builder()
        .rule(K::OriginNotTrusted, RuleMode::Report)
        .build()
        .unwrap();
    let route_enforces = RouteCors::builder()
        .rule(K::OriginNotTrusted, RuleMode::Enforce)
        .build()
        .unwrap();
    let run = |config: &CorsConfig, route: &RouteCors| {
        let mut reports = Vec::new();
        let decision = decide_reporting(
            &get,
            config,
            RouteScope::Declared(route),
            &snapshot,
            &mut reports,
        );
        let reasons: Vec<&str> = reports.iter().map(|r| r.reason()).collect();
        (
            matches!(decision, Decision::Allow(_)),
            decision.rejection().map(|r| r.reason()),
            reasons,
        )
    };
    assert_eq!(
        run(&enforcing, &route_reports),
        (true, None, vec!["origin_not_trusted"])
    );
    assert_eq!(
        run(&reporting, &route_enforces),
        (false, Some("origin_not_trusted"), vec![])
    );
    assert_eq!(
        run(&reporting, &user()),
        (true, None, vec!["origin_not_trusted"])
    );
    assert_eq!(
        run(&enforcing, &user()),
        (false, Some("origin_not_trusted"), vec![])
    );
    // The rules judged before routing are set globally only.
    for kind in [
        K::ApiTokenCrossOrigin,
        K::CredentialSchemeNotAllowed,
        K::UntrustedCrossOriginWrite,
        K::RouteNotCorsEnabled,
    ] {
        assert_eq!(
            RouteCors::builder()
                .rule(kind, RuleMode::Report)
                .build()
                .unwrap_err(),
            ConfigError::RuleNotPerRoute(kind.code())
        );
    }
}

/// A requested `*` header is never echoed, in report mode either: it would read as a wildcard.
#[test]
fn report_mode_never_echoes_a_wildcard_header() {
    use trusted_cors_core::{CorsConfig, RuleMode};

    let registry = registry();
    let config = CorsConfig::builder()
        .rule(K::HeaderNotAllowed, RuleMode::Report)
        .build()
        .unwrap();
    let route = no_cookies();
    for requested in [&b"*"[..], b"x-a, *", b"*, x-a"] {
        let facts = RequestFacts {
            method: "OPTIONS",
            path: "/x",
            origin: HeaderInput::One(TRUSTED_B),
            access_control_request_method: HeaderInput::One(b"GET"),
            access_control_request_headers: HeaderInput::One(requested),
            ..RequestFacts::default()
        };
        let declared = RouteScope::Declared(&route);
        assert_eq!(
            refusal_reporting(&facts, &config, declared, &registry),
            Some(K::HeaderNotAllowed),
            "{requested:?}"
        );
    }
}

/// The rule that refuses `facts` under `config` (with its rules in report mode set aside).
fn refusal_reporting(
    facts: &RequestFacts<'_>,
    config: &trusted_cors_core::CorsConfig,
    scope: RouteScope<'_>,
    registry: &trusted_cors_core::Registry,
) -> Option<K> {
    let mut reports = Vec::new();
    let snapshot = registry.snapshot();
    let decision = trusted_cors_core::decision::decide_reporting(
        facts,
        config,
        scope,
        &snapshot,
        &mut reports,
    );
    decision.rejection().map(|r| r.kind())
}

/// What no browser sends is refused in every mode: several `Authorization` headers (one could
/// hide an API token behind a bearer one), a preflight from a `null` or malformed origin.
#[test]
fn report_mode_never_lets_through_what_no_browser_sends() {
    use trusted_cors_core::{CorsConfig, RuleMode};

    let registry = registry();
    let mut builder = CorsConfig::builder();
    for kind in K::ALL {
        builder = builder.rule(kind, RuleMode::Report);
    }
    let config = builder.build().unwrap();
    let route = me();
    let two_credentials = RequestFacts {
        method: "GET",
        path: "/api/v1/users/me",
        origin: HeaderInput::One(TRUSTED_B),
        authorization: HeaderInput::Many,
        ..RequestFacts::default()
    };
    for origin in [&b"null"[..], b"HTTPS://APP.EXAMPLE.COM"] {
        let preflight = RequestFacts {
            method: "OPTIONS",
            path: "/api/v1/users/me",
            origin: HeaderInput::One(origin),
            access_control_request_method: HeaderInput::One(b"GET"),
            ..RequestFacts::default()
        };
        let declared = RouteScope::Declared(&route);
        assert_eq!(
            refusal_reporting(&preflight, &config, declared, &registry),
            Some(K::OriginNotTrusted),
            "{origin:?}"
        );
    }
    for scope in [RouteScope::Unrouted, RouteScope::Declared(&route)] {
        assert_eq!(
            refusal_reporting(&two_credentials, &config, scope, &registry),
            Some(K::CredentialSchemeNotAllowed)
        );
    }
}
