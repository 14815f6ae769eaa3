//! Every row of the ARCHITECTURE.md decision table and every reason code, at the level of the pure
//! decision: the exact header values it asks for.

mod common;

use std::borrow::Cow;

use bytes::Bytes;
use common::*;
use trusted_cors_core::decision::{decide, CorsHeaders, Decision, PreflightAnswer, RouteScope};
use trusted_cors_core::{HeaderInput, RejectionKind, ReplyValue, RequestFacts, RouteCors};

#[derive(Debug, Clone, Copy)]
enum Route {
    Unrouted,
    Undeclared,
    ServerSideOnly,
    Me,
    User,
    NoCookies,
    Public,
}

#[derive(Debug)]
enum Expect {
    NotCors,
    SameOrigin,
    Pass,
    Defer,
    Preflight {
        origin: &'static str,
        credentials: bool,
        methods: &'static str,
        headers: &'static str,
    },
    Allow {
        origin: &'static str,
        credentials: bool,
        expose: Option<&'static str>,
        trusted: bool,
    },
    Reject(RejectionKind),
}

struct Case {
    name: &'static str,
    route: Route,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static [u8])],
    expect: Expect,
}

const fn case(
    name: &'static str,
    route: Route,
    method: &'static str,
    headers: &'static [(&'static str, &'static [u8])],
    expect: Expect,
) -> Case {
    Case {
        name,
        route,
        method,
        path: "/api/v1/users/me",
        headers,
        expect,
    }
}

use Expect::*;
use RejectionKind as K;
use Route::*;

const CASES: &[Case] = &[
    // Classification.
    case("no origin is not CORS", Me, "GET", &[], NotCors),
    case(
        "no origin with an API token is server-side",
        Undeclared,
        "GET",
        &[("authorization", b"SSWS 00t")],
        NotCors,
    ),
    case(
        "same origin by sec-fetch-site",
        Me,
        "PUT",
        &[
            ("origin", b"https://evil.example"),
            ("sec-fetch-site", b"same-origin"),
        ],
        SameOrigin,
    ),
    case(
        "same origin by public origin",
        Me,
        "PUT",
        &[("origin", b"https://org.example.com")],
        SameOrigin,
    ),
    case(
        "same origin by host",
        User,
        "POST",
        &[
            ("origin", b"http://localhost:8080"),
            ("host", b"localhost:8080"),
        ],
        SameOrigin,
    ),
    case(
        "same origin by host with explicit default port",
        User,
        "POST",
        &[
            ("origin", b"https://api.example"),
            ("host", b"API.example:443"),
        ],
        SameOrigin,
    ),
    case(
        "Host matches but Sec-Fetch-Site says cross-site",
        User,
        "POST",
        &[
            ("origin", b"http://api.example"),
            ("host", b"api.example"),
            ("sec-fetch-site", b"cross-site"),
        ],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "Sec-Fetch-Site none: a navigation the user started counts as same-origin",
        User,
        "POST",
        &[("origin", UNTRUSTED_B), ("sec-fetch-site", b"none")],
        SameOrigin,
    ),
    case(
        "a cross-site write without Origin is refused (Go's CrossOriginProtection)",
        Unrouted,
        "POST",
        &[("sec-fetch-site", b"cross-site"), ("cookie", b"sid=1")],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "a same-site write without Origin is refused too",
        Undeclared,
        "DELETE",
        &[("sec-fetch-site", b"same-site")],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "a cross-site read without Origin is not a CORS request",
        Unrouted,
        "GET",
        &[("sec-fetch-site", b"cross-site"), ("cookie", b"sid=1")],
        NotCors,
    ),
    case(
        "a same-origin write without Origin is not a CORS request",
        Unrouted,
        "POST",
        &[("sec-fetch-site", b"same-origin"), ("cookie", b"sid=1")],
        NotCors,
    ),
    Case {
        name: "a cross-site write without Origin to a form-post path passes",
        route: Unrouted,
        method: "POST",
        path: FORM_POST_PATH,
        headers: &[("sec-fetch-site", b"cross-site")],
        expect: Pass,
    },
    case(
        "same-site is still cross-origin",
        User,
        "GET",
        &[("origin", UNTRUSTED_B), ("sec-fetch-site", b"same-site")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "host with another port is cross-origin",
        User,
        "GET",
        &[
            ("origin", b"http://localhost:3000"),
            ("host", b"localhost:8080"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    // Global rules.
    case(
        "SSWS cross-origin on an enabled route",
        Me,
        "GET",
        &[("origin", TRUSTED_B), ("authorization", b"SSWS 00tok")],
        Reject(K::ApiTokenCrossOrigin),
    ),
    case(
        "SSWS any case",
        Undeclared,
        "GET",
        &[("origin", UNTRUSTED_B), ("authorization", b"ssws 00tok")],
        Reject(K::ApiTokenCrossOrigin),
    ),
    case(
        "SSWS before routing",
        Unrouted,
        "GET",
        &[("origin", UNTRUSTED_B), ("authorization", b"SSWS 00tok")],
        Reject(K::ApiTokenCrossOrigin),
    ),
    case(
        "Basic cross-origin",
        Me,
        "GET",
        &[
            ("origin", TRUSTED_B),
            ("authorization", b"Basic dXNlcjpwdw=="),
        ],
        Reject(K::CredentialSchemeNotAllowed),
    ),
    case(
        "empty authorization",
        Me,
        "GET",
        &[("origin", TRUSTED_B), ("authorization", b"")],
        Reject(K::CredentialSchemeNotAllowed),
    ),
    case(
        "two authorization headers",
        Me,
        "GET",
        &[
            ("origin", TRUSTED_B),
            ("authorization", b"Bearer a"),
            ("authorization", b"Bearer b"),
        ],
        Reject(K::CredentialSchemeNotAllowed),
    ),
    case(
        "untrusted POST without bearer",
        Undeclared,
        "POST",
        &[("origin", UNTRUSTED_B)],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "untrusted DELETE before routing",
        Unrouted,
        "DELETE",
        &[("origin", UNTRUSTED_B)],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "inactive origin POST",
        Undeclared,
        "POST",
        &[("origin", INACTIVE_B)],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "redirect-only origin POST",
        Undeclared,
        "POST",
        &[("origin", REDIRECT_ONLY_B)],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "null origin POST",
        Undeclared,
        "POST",
        &[("origin", b"null")],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "untrusted bearer POST with cookies",
        Undeclared,
        "POST",
        &[
            ("origin", UNTRUSTED_B),
            ("authorization", b"Bearer t"),
            ("cookie", b"sid=1"),
        ],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "lowercase method is not safe",
        Undeclared,
        "get",
        &[("origin", UNTRUSTED_B)],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    Case {
        name: "form post to an exempt path",
        route: Undeclared,
        method: "POST",
        path: FORM_POST_PATH,
        headers: &[("origin", UNTRUSTED_B)],
        expect: Pass,
    },
    case(
        "trusted POST to an undeclared route passes",
        Undeclared,
        "POST",
        &[("origin", TRUSTED_B)],
        Pass,
    ),
    case(
        "untrusted bearer POST without cookies passes the global rule",
        Undeclared,
        "POST",
        &[("origin", UNTRUSTED_B), ("authorization", b"Bearer t")],
        Pass,
    ),
    case(
        "DPoP is a bearer-type scheme",
        Undeclared,
        "POST",
        &[("origin", UNTRUSTED_B), ("authorization", b"DPoP t")],
        Pass,
    ),
    case(
        "untrusted GET to an undeclared route adds nothing",
        Undeclared,
        "GET",
        &[("origin", UNTRUSTED_B)],
        Pass,
    ),
    case(
        "preflight to an undeclared route",
        Undeclared,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::RouteNotCorsEnabled),
    ),
    case(
        "preflight to a server-side-only route",
        ServerSideOnly,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::RouteNotCorsEnabled),
    ),
    case(
        "preflight before routing is deferred",
        Unrouted,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Defer,
    ),
    case(
        "OPTIONS without request method is ordinary",
        Undeclared,
        "OPTIONS",
        &[("origin", UNTRUSTED_B)],
        Pass,
    ),
    case(
        "OPTIONS with an invalid request method is ordinary",
        Undeclared,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"G ET"),
        ],
        Pass,
    ),
    case(
        "GET before routing passes to the route",
        Unrouted,
        "GET",
        &[("origin", UNTRUSTED_B)],
        Pass,
    ),
    // Per-route preflights.
    case(
        "trusted preflight",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Preflight {
            origin: TRUSTED,
            credentials: true,
            methods: "GET, HEAD",
            headers: "content-type",
        },
    ),
    case(
        "wildcard preflight",
        Me,
        "OPTIONS",
        &[
            ("origin", WILDCARD_B),
            ("access-control-request-method", b"PUT"),
            ("access-control-request-headers", b"content-type"),
        ],
        Preflight {
            origin: WILDCARD_MATCH,
            credentials: true,
            methods: "GET, PUT",
            headers: "content-type, authorization",
        },
    ),
    case(
        "trusted preflight without cookies",
        NoCookies,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"POST"),
            ("access-control-request-headers", b"x-a,x-b"),
        ],
        Preflight {
            origin: TRUSTED,
            credentials: false,
            methods: "GET, POST",
            headers: "x-a,x-b",
        },
    ),
    case(
        "untrusted preflight",
        User,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "inactive preflight",
        User,
        "OPTIONS",
        &[
            ("origin", INACTIVE_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "CORS scope removed preflight",
        User,
        "OPTIONS",
        &[
            ("origin", REDIRECT_ONLY_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "wildcard does not match its base",
        User,
        "OPTIONS",
        &[
            ("origin", b"https://apps.example.org"),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "null origin preflight",
        User,
        "OPTIONS",
        &[
            ("origin", b"null"),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "malformed origin preflight",
        User,
        "OPTIONS",
        &[
            ("origin", b"https://app.example.com/"),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "duplicate origin preflight",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "method not allowed",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"DELETE"),
        ],
        Reject(K::MethodNotAllowed),
    ),
    case(
        "methods are case-sensitive",
        Me,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"put"),
        ],
        Reject(K::MethodNotAllowed),
    ),
    case(
        "header not allowed",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"content-type,x-secret"),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        "authorization not covered by any-header",
        NoCookies,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"authorization"),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        // Found by the `decide` fuzz target: `*` was echoed in Access-Control-Allow-Headers.
        "a requested `*` is not echoed by any-header",
        NoCookies,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"x-a,*"),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        "authorization not named",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"authorization"),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        "header list too long",
        Me,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", COMMA_BOMB),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        "untrusted preflight for a bearer call",
        Me,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"authorization"),
        ],
        Preflight {
            origin: UNTRUSTED,
            credentials: false,
            methods: "GET, PUT",
            headers: "content-type, authorization",
        },
    ),
    case(
        "untrusted preflight without authorization on a bearer route",
        Me,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"content-type"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "untrusted bearer preflight still checks the method",
        Me,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"DELETE"),
            ("access-control-request-headers", b"authorization"),
        ],
        Reject(K::MethodNotAllowed),
    ),
    case(
        "null origin bearer preflight",
        Me,
        "OPTIONS",
        &[
            ("origin", b"null"),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"authorization"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    // Per-route actual requests.
    case(
        "trusted GET",
        Me,
        "GET",
        &[("origin", TRUSTED_B), ("cookie", b"sid=1")],
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: Some("x-request-id"),
            trusted: true,
        },
    ),
    case(
        "trusted PUT",
        Me,
        "PUT",
        &[("origin", TRUSTED_B), ("cookie", b"sid=1")],
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: Some("x-request-id"),
            trusted: true,
        },
    ),
    case(
        "trusted GET without cookies policy",
        NoCookies,
        "GET",
        &[("origin", WILDCARD_B)],
        Allow {
            origin: WILDCARD_MATCH,
            credentials: false,
            expose: None,
            trusted: true,
        },
    ),
    case(
        "trusted bearer GET",
        Me,
        "GET",
        &[("origin", TRUSTED_B), ("authorization", b"Bearer t")],
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: Some("x-request-id"),
            trusted: true,
        },
    ),
    case(
        "untrusted bearer GET",
        Me,
        "GET",
        &[("origin", UNTRUSTED_B), ("authorization", b"bearer t")],
        Allow {
            origin: UNTRUSTED,
            credentials: false,
            expose: Some("x-request-id"),
            trusted: false,
        },
    ),
    case(
        "untrusted bearer PUT",
        Me,
        "PUT",
        &[("origin", UNTRUSTED_B), ("authorization", b"Bearer t")],
        Allow {
            origin: UNTRUSTED,
            credentials: false,
            expose: Some("x-request-id"),
            trusted: false,
        },
    ),
    case(
        "untrusted bearer GET with cookies",
        Me,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("authorization", b"Bearer t"),
            ("cookie", b"sid=1"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "untrusted bearer GET on a cookie-only route",
        User,
        "GET",
        &[("origin", UNTRUSTED_B), ("authorization", b"Bearer t")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "untrusted GET",
        Me,
        "GET",
        &[("origin", UNTRUSTED_B)],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "inactive GET",
        Me,
        "GET",
        &[("origin", INACTIVE_B)],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "CORS scope removed GET",
        Me,
        "GET",
        &[("origin", REDIRECT_ONLY_B)],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "null origin GET",
        Me,
        "GET",
        &[("origin", b"null")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "null origin bearer GET",
        Me,
        "GET",
        &[("origin", b"null"), ("authorization", b"Bearer t")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "malformed origin GET",
        Me,
        "GET",
        &[("origin", b"HTTPS://APP.EXAMPLE.COM")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "origin with default port is malformed",
        Me,
        "GET",
        &[("origin", b"https://app.example.com:443")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "duplicate origin GET",
        Me,
        "GET",
        &[("origin", TRUSTED_B), ("origin", UNTRUSTED_B)],
        Reject(K::OriginNotTrusted),
    ),
    // A route open to any origin, without credentials.
    case(
        "any origin reads a public route",
        Public,
        "GET",
        &[("origin", UNTRUSTED_B)],
        Allow {
            origin: UNTRUSTED,
            credentials: false,
            expose: None,
            trusted: false,
        },
    ),
    case(
        "any origin's preflight to a public route",
        Public,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Preflight {
            origin: UNTRUSTED,
            credentials: false,
            methods: "GET, HEAD",
            headers: "content-type",
        },
    ),
    case(
        "but never with cookies from an untrusted origin",
        Public,
        "GET",
        &[("origin", UNTRUSTED_B), ("cookie", b"sid=1")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "and no credentials for trusted origins either",
        Public,
        "GET",
        &[("origin", TRUSTED_B), ("cookie", b"sid=1")],
        Allow {
            origin: TRUSTED,
            credentials: false,
            expose: None,
            trusted: true,
        },
    ),
    case(
        "a public route's writes still need a bearer token",
        Public,
        "POST",
        &[("origin", UNTRUSTED_B)],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    // Origins of app and extension schemes: exact entries, and only of the allowed schemes.
    case(
        "a trusted Capacitor app reads with cookies",
        User,
        "GET",
        &[("origin", CAPACITOR_B), ("cookie", b"sid=1")],
        Allow {
            origin: CAPACITOR,
            credentials: true,
            expose: None,
            trusted: true,
        },
    ),
    case(
        "a trusted Capacitor app's preflight",
        Me,
        "OPTIONS",
        &[
            ("origin", CAPACITOR_B),
            ("access-control-request-method", b"PUT"),
            ("access-control-request-headers", b"content-type"),
        ],
        Preflight {
            origin: CAPACITOR,
            credentials: true,
            methods: "GET, PUT",
            headers: "content-type, authorization",
        },
    ),
    case(
        "a trusted Capacitor app writes",
        Undeclared,
        "POST",
        &[("origin", CAPACITOR_B), ("cookie", b"sid=1")],
        Pass,
    ),
    case(
        "an Ionic app that is not a trusted origin",
        User,
        "GET",
        &[("origin", b"ionic://localhost")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "an extension entry of a scheme not on origin_schemes is never trusted",
        User,
        "GET",
        &[("origin", EXTENSION_B), ("cookie", b"sid=1")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "nor may it write",
        Undeclared,
        "DELETE",
        &[("origin", EXTENSION_B), ("cookie", b"sid=1")],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "an app origin never matches Host",
        User,
        "POST",
        &[
            ("origin", b"capacitor://api.example"),
            ("host", b"api.example"),
        ],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "an app origin in capitals is malformed",
        User,
        "GET",
        &[("origin", b"Capacitor://localhost")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "file origins arrive as null",
        User,
        "GET",
        &[("origin", b"file://")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "untrusted OPTIONS without request method on a route",
        Me,
        "OPTIONS",
        &[("origin", UNTRUSTED_B)],
        Reject(K::OriginNotTrusted),
    ),
];

const TRUSTED_B: &[u8] = TRUSTED.as_bytes();
const WILDCARD_B: &[u8] = WILDCARD_MATCH.as_bytes();
const INACTIVE_B: &[u8] = INACTIVE.as_bytes();
const REDIRECT_ONLY_B: &[u8] = REDIRECT_ONLY.as_bytes();
const UNTRUSTED_B: &[u8] = UNTRUSTED.as_bytes();
const CAPACITOR_B: &[u8] = CAPACITOR.as_bytes();
const EXTENSION_B: &[u8] = EXTENSION.as_bytes();
const COMMA_BOMB: &[u8] = &[b','; 5000];

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
    let mut failures = Vec::new();
    for case in CASES {
        let scope = match case.route {
            Unrouted => RouteScope::Unrouted,
            Undeclared => RouteScope::Undeclared,
            ServerSideOnly => RouteScope::Declared(&server),
            Me => RouteScope::Declared(&me),
            User => RouteScope::Declared(&user),
            NoCookies => RouteScope::Declared(&no_cookies),
            Public => RouteScope::Declared(&public),
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
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn every_reason_code_is_covered() {
    for kind in RejectionKind::ALL {
        assert!(
            CASES
                .iter()
                .any(|c| matches!(c.expect, Reject(k) if k == kind)),
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
    let untrusted = CASES.iter().find(|c| c.name == "untrusted GET").unwrap();
    let text = cause(untrusted);
    assert!(
        text.contains("Origin https://evil.example is not a trusted origin with the CORS scope"),
        "{text}"
    );
    assert!(text.contains("add it under trusted origins"), "{text}");
    let token = CASES
        .iter()
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
    let case = CASES
        .iter()
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
