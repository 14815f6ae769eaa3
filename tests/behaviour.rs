//! One behaviour suite, run against the axum app and the equivalent actix-web app, each served on
//! a real loopback port and called with a real HTTP client. For every case: the status, each CORS
//! response header (exact value or absent), `Vary`, the JSON error's `errorCode` and reason, and
//! whether a handler ran.

mod common;

use common::*;
use trusted_cors::{CorsConfig, RejectionKind, RuleMode};

const ACAO: &str = "access-control-allow-origin";
const ACAC: &str = "access-control-allow-credentials";
const ACAM: &str = "access-control-allow-methods";
const ACAH: &str = "access-control-allow-headers";
const ACMA: &str = "access-control-max-age";
const ACEH: &str = "access-control-expose-headers";
const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
/// Stands for the server's own origin (`http://127.0.0.1:PORT`).
const SELF: &str = "{self}";

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    /// Each header with its exact value (several values joined by ", "), or `None` for absent.
    expect: &'static [(&'static str, Option<&'static str>)],
    /// The reason of a rejection (checked in the JSON body and the diagnostics header).
    reason: Option<&'static str>,
    handled: bool,
}

const NONE: &[(&str, Option<&str>)] = &[(ACAO, None), (ACAC, None), (ACAM, None), (ACAH, None)];

macro_rules! preflight {
    ($origin:expr, $method:expr) => {
        &[
            ("origin", $origin),
            ("access-control-request-method", $method),
        ]
    };
    ($origin:expr, $method:expr, $headers:expr) => {
        &[
            ("origin", $origin),
            ("access-control-request-method", $method),
            ("access-control-request-headers", $headers),
        ]
    };
}

/// A refusal: 403, no CORS grant, the given `Vary`, the reason in the diagnostics header.
macro_rules! refused {
    ($name:expr, $method:expr, $path:expr, $headers:expr, $reason:expr, $vary:expr) => {
        Case {
            name: $name,
            method: $method,
            path: $path,
            headers: $headers,
            status: 403,
            expect: &[
                (ACAO, None),
                (ACAC, None),
                (ACAM, None),
                ("vary", Some($vary)),
                ("x-trusted-cors-reason", Some($reason)),
            ],
            reason: Some($reason),
            handled: false,
        }
    };
}

const CASES: &[Case] = &[
    // Preflights to CORS-enabled routes.
    Case {
        name: "trusted preflight",
        method: "OPTIONS",
        path: "/api/v1/users/me",
        headers: preflight!(TRUSTED, "PUT", "content-type"),
        status: 204,
        expect: &[
            (ACAO, Some(TRUSTED)),
            (ACAC, Some("true")),
            (ACAM, Some("GET, PUT")),
            (ACAH, Some("content-type, authorization")),
            (ACMA, Some("7200")),
            ("vary", Some(VARY_PREFLIGHT)),
        ],
        reason: None,
        handled: false,
    },
    Case {
        name: "wildcard preflight",
        method: "OPTIONS",
        path: "/api/v1/users/00u1",
        headers: preflight!(WILDCARD_MATCH, "GET"),
        status: 204,
        expect: &[
            (ACAO, Some(WILDCARD_MATCH)),
            (ACAC, Some("true")),
            (ACAM, Some("GET, HEAD")),
            (ACAH, Some("content-type")),
            ("vary", Some(VARY_PREFLIGHT)),
        ],
        reason: None,
        handled: false,
    },
    Case {
        name: "bearer preflight from an untrusted origin",
        method: "OPTIONS",
        path: "/api/v1/users/me",
        headers: preflight!(UNTRUSTED, "GET", "authorization"),
        status: 204,
        expect: &[
            (ACAO, Some(UNTRUSTED)),
            (ACAC, None),
            (ACAH, Some("content-type, authorization")),
        ],
        reason: None,
        handled: false,
    },
    Case {
        name: "preflight to a nested declared route",
        method: "OPTIONS",
        path: "/nested/v1/me",
        headers: preflight!(TRUSTED, "GET"),
        status: 204,
        expect: &[(ACAO, Some(TRUSTED)), (ACAC, Some("true"))],
        reason: None,
        handled: false,
    },
    Case {
        name: "preflight to a merged declared route",
        method: "OPTIONS",
        path: "/merged/me",
        headers: preflight!(TRUSTED, "GET"),
        status: 204,
        expect: &[(ACAO, Some(TRUSTED)), (ACAC, Some("true"))],
        reason: None,
        handled: false,
    },
    refused!(
        "untrusted preflight",
        "OPTIONS",
        "/api/v1/users/me",
        preflight!(UNTRUSTED, "GET"),
        "origin_not_trusted",
        VARY_PREFLIGHT
    ),
    refused!(
        "inactive origin preflight",
        "OPTIONS",
        "/api/v1/users/00u1",
        preflight!(INACTIVE, "GET"),
        "origin_not_trusted",
        VARY_PREFLIGHT
    ),
    refused!(
        "CORS scope removed preflight",
        "OPTIONS",
        "/api/v1/users/00u1",
        preflight!(REDIRECT_ONLY, "GET"),
        "origin_not_trusted",
        VARY_PREFLIGHT
    ),
    refused!(
        "wildcard base is not matched",
        "OPTIONS",
        "/api/v1/users/00u1",
        preflight!("https://apps.example.org", "GET"),
        "origin_not_trusted",
        VARY_PREFLIGHT
    ),
    refused!(
        "null origin preflight",
        "OPTIONS",
        "/api/v1/users/me",
        preflight!("null", "GET", "authorization"),
        "origin_not_trusted",
        VARY_PREFLIGHT
    ),
    refused!(
        "method refused",
        "OPTIONS",
        "/api/v1/users/me",
        preflight!(TRUSTED, "DELETE"),
        "method_not_allowed",
        VARY_PREFLIGHT
    ),
    refused!(
        "methods are case-sensitive",
        "OPTIONS",
        "/api/v1/users/me",
        preflight!(TRUSTED, "put"),
        "method_not_allowed",
        VARY_PREFLIGHT
    ),
    refused!(
        "header refused",
        "OPTIONS",
        "/api/v1/users/me",
        preflight!(TRUSTED, "GET", "content-type,x-secret"),
        "header_not_allowed",
        VARY_PREFLIGHT
    ),
    refused!(
        "authorization must be named",
        "OPTIONS",
        "/api/v1/users/00u1",
        preflight!(TRUSTED, "GET", "authorization"),
        "header_not_allowed",
        VARY_PREFLIGHT
    ),
    // Preflights to routes that declared nothing.
    refused!(
        "preflight to a server-side-only API",
        "OPTIONS",
        "/api/v1/users",
        preflight!(TRUSTED, "GET"),
        "route_not_cors_enabled",
        VARY_PREFLIGHT
    ),
    refused!(
        "preflight to an unknown path",
        "OPTIONS",
        "/nope",
        preflight!(TRUSTED, "GET"),
        "route_not_cors_enabled",
        VARY_PREFLIGHT
    ),
    refused!(
        "SSWS preflight-less call to a server-side-only API",
        "GET",
        "/api/v1/users",
        &[("origin", TRUSTED), ("authorization", "SSWS 00token")],
        "api_token_cross_origin",
        "Origin"
    ),
    Case {
        name: "OPTIONS without a request method reaches the app's own handler",
        method: "OPTIONS",
        path: "/api/v1/options",
        headers: &[("origin", UNTRUSTED)],
        status: 200,
        expect: &[(ACAO, None), ("vary", Some("Accept-Encoding"))],
        reason: None,
        handled: true,
    },
    // Actual requests to CORS-enabled routes.
    Case {
        name: "trusted GET with cookies",
        method: "GET",
        path: "/api/v1/users/me",
        headers: &[("origin", TRUSTED), ("cookie", "sid=1")],
        status: 200,
        expect: &[
            (ACAO, Some(TRUSTED)),
            (ACAC, Some("true")),
            (ACEH, Some("x-request-id")),
            ("vary", Some("Accept-Encoding, Origin")),
        ],
        reason: None,
        handled: true,
    },
    Case {
        name: "trusted PUT with cookies",
        method: "PUT",
        path: "/api/v1/users/me",
        headers: &[("origin", TRUSTED), ("cookie", "sid=1")],
        status: 200,
        expect: &[(ACAO, Some(TRUSTED)), (ACAC, Some("true"))],
        reason: None,
        handled: true,
    },
    Case {
        name: "wildcard GET, several labels deep",
        method: "GET",
        path: "/api/v1/users/00u1",
        headers: &[("origin", "https://a.b.apps.example.org")],
        status: 200,
        expect: &[
            (ACAO, Some("https://a.b.apps.example.org")),
            (ACAC, Some("true")),
            (ACEH, None),
        ],
        reason: None,
        handled: true,
    },
    Case {
        name: "untrusted bearer GET",
        method: "GET",
        path: "/api/v1/users/me",
        headers: &[("origin", UNTRUSTED), ("authorization", "Bearer at-1")],
        status: 200,
        expect: &[
            (ACAO, Some(UNTRUSTED)),
            (ACAC, None),
            ("vary", Some("Accept-Encoding, Origin")),
        ],
        reason: None,
        handled: true,
    },
    Case {
        name: "untrusted bearer PUT",
        method: "PUT",
        path: "/api/v1/users/me",
        headers: &[("origin", UNTRUSTED), ("authorization", "Bearer at-1")],
        status: 200,
        expect: &[(ACAO, Some(UNTRUSTED)), (ACAC, None)],
        reason: None,
        handled: true,
    },
    Case {
        name: "untrusted DPoP GET",
        method: "GET",
        path: "/api/v1/users/me",
        headers: &[("origin", UNTRUSTED), ("authorization", "DPoP at-1")],
        status: 200,
        expect: &[(ACAO, Some(UNTRUSTED)), (ACAC, None)],
        reason: None,
        handled: true,
    },
    Case {
        name: "trusted bearer GET keeps credentials",
        method: "GET",
        path: "/api/v1/users/me",
        headers: &[("origin", TRUSTED), ("authorization", "Bearer at-1")],
        status: 200,
        expect: &[(ACAO, Some(TRUSTED)), (ACAC, Some("true"))],
        reason: None,
        handled: true,
    },
    refused!(
        "untrusted GET",
        "GET",
        "/api/v1/users/me",
        &[("origin", UNTRUSTED), ("cookie", "sid=1")],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "inactive origin GET",
        "GET",
        "/api/v1/users/me",
        &[("origin", INACTIVE)],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "CORS scope removed GET",
        "GET",
        "/api/v1/users/me",
        &[("origin", REDIRECT_ONLY)],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "untrusted bearer GET with cookies",
        "GET",
        "/api/v1/users/me",
        &[
            ("origin", UNTRUSTED),
            ("authorization", "Bearer at-1"),
            ("cookie", "sid=1")
        ],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "untrusted bearer on a cookie-only route",
        "GET",
        "/api/v1/users/00u1",
        &[("origin", UNTRUSTED), ("authorization", "Bearer at-1")],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "Origin null",
        "GET",
        "/api/v1/users/me",
        &[("origin", "null"), ("authorization", "Bearer at-1")],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "malformed Origin with a trailing slash",
        "GET",
        "/api/v1/users/me",
        &[("origin", "https://app.example.com/")],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "malformed Origin in upper case",
        "GET",
        "/api/v1/users/me",
        &[("origin", "HTTPS://APP.EXAMPLE.COM")],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "duplicate Origin headers",
        "GET",
        "/api/v1/users/me",
        &[("origin", TRUSTED), ("origin", TRUSTED)],
        "origin_not_trusted",
        "Origin"
    ),
    // Global rules.
    refused!(
        "SSWS from a trusted origin on an enabled route",
        "GET",
        "/api/v1/users/me",
        &[("origin", TRUSTED), ("authorization", "SSWS 00token")],
        "api_token_cross_origin",
        "Origin"
    ),
    refused!(
        "Basic from a trusted origin",
        "GET",
        "/api/v1/users/me",
        &[("origin", TRUSTED), ("authorization", "Basic dXNlcjpwdw==")],
        "credential_scheme_not_allowed",
        "Origin"
    ),
    refused!(
        "untrusted form post with cookies",
        "POST",
        "/api/v1/echo",
        &[("origin", UNTRUSTED), ("cookie", "sid=1")],
        "untrusted_cross_origin_write",
        "Origin"
    ),
    refused!(
        "Origin null form post",
        "POST",
        "/api/v1/echo",
        &[("origin", "null")],
        "untrusted_cross_origin_write",
        "Origin"
    ),
    refused!(
        "inactive origin write",
        "POST",
        "/api/v1/echo",
        &[("origin", INACTIVE)],
        "untrusted_cross_origin_write",
        "Origin"
    ),
    Case {
        name: "SSWS server-side (no Origin) works",
        method: "GET",
        path: "/api/v1/users",
        headers: &[("authorization", "SSWS 00token")],
        status: 200,
        expect: NONE,
        reason: None,
        handled: true,
    },
    Case {
        name: "trusted write to a server-side-only API reaches it, without CORS headers, varying on Origin",
        method: "POST",
        path: "/api/v1/echo",
        headers: &[("origin", TRUSTED), ("cookie", "sid=1")],
        status: 200,
        expect: &[
            (ACAO, None),
            (ACAC, None),
            ("vary", Some("Accept-Encoding, Origin")),
        ],
        reason: None,
        handled: true,
    },
    Case {
        name: "cross-site write without Origin (stripped) is refused before the handler",
        method: "POST",
        path: "/api/v1/echo",
        headers: &[("sec-fetch-site", "cross-site"), ("cookie", "sid=1")],
        status: 403,
        expect: NONE,
        reason: Some("untrusted_cross_origin_write"),
        handled: false,
    },
    Case {
        name: "Sec-Fetch-Site none (typed in the address bar) is same-origin",
        method: "POST",
        path: "/api/v1/echo",
        headers: &[
            ("origin", UNTRUSTED),
            ("sec-fetch-site", "none"),
            ("cookie", "sid=1"),
        ],
        status: 200,
        expect: NONE,
        reason: None,
        handled: true,
    },
    Case {
        name: "untrusted bearer write without cookies",
        method: "POST",
        path: "/api/v1/echo",
        headers: &[("origin", UNTRUSTED), ("authorization", "Bearer at-1")],
        status: 200,
        expect: NONE,
        reason: None,
        handled: true,
    },
    Case {
        name: "cross-site form post to the exempt SAML callback",
        method: "POST",
        path: "/sso/saml2/0oa1",
        headers: &[("origin", UNTRUSTED), ("cookie", "sid=1")],
        status: 200,
        expect: NONE,
        reason: None,
        handled: true,
    },
    Case {
        name: "untrusted GET to a server-side-only API gets no CORS headers",
        method: "GET",
        path: "/api/v1/users",
        headers: &[("origin", UNTRUSTED)],
        status: 200,
        expect: NONE,
        reason: None,
        handled: true,
    },
    // Same origin and non-CORS.
    Case {
        name: "same-origin write by Host",
        method: "PUT",
        path: "/api/v1/users/me",
        headers: &[("origin", SELF), ("cookie", "sid=1")],
        status: 200,
        expect: &[
            (ACAO, None),
            (ACAC, None),
            ("vary", Some("Accept-Encoding, Origin")),
        ],
        reason: None,
        handled: true,
    },
    Case {
        name: "same-origin by Sec-Fetch-Site",
        method: "POST",
        path: "/api/v1/echo",
        headers: &[("origin", UNTRUSTED), ("sec-fetch-site", "same-origin")],
        status: 200,
        expect: NONE,
        reason: None,
        handled: true,
    },
    Case {
        name: "no Origin on a declared route still varies",
        method: "GET",
        path: "/api/v1/users/me",
        headers: &[],
        status: 200,
        expect: &[(ACAO, None), ("vary", Some("Accept-Encoding, Origin"))],
        reason: None,
        handled: true,
    },
];

use trusted_cors_testing::fixtures::{hybrid_seeds, CAPACITOR, EXTENSION};

/// The suite's app with the origins of a hybrid app and a browser extension as trusted origins,
/// every rule enforced, the default origin schemes (`capacitor`, `ionic`).
fn apps() -> Fixture {
    let seeds = hybrid_seeds();
    let config = CorsConfig::builder()
        .allow_cross_site_form_posts("/sso/saml2/{app}")
        .diagnostics_header(true)
        .build()
        .expect("apps config");
    Fixture::with(config, seeds)
}

const APP_CASES: &[Case] = &[
    Case {
        name: "a trusted Capacitor app's preflight",
        method: "OPTIONS",
        path: "/api/v1/users/me",
        headers: preflight!(CAPACITOR, "PUT", "content-type"),
        status: 204,
        expect: &[
            (ACAO, Some(CAPACITOR)),
            (ACAC, Some("true")),
            (ACAM, Some("GET, PUT")),
            (ACAH, Some("content-type, authorization")),
        ],
        reason: None,
        handled: false,
    },
    Case {
        name: "a trusted Capacitor app reads with cookies",
        method: "GET",
        path: "/api/v1/users/00u1",
        headers: &[("origin", CAPACITOR), ("cookie", "sid=1")],
        status: 200,
        expect: &[(ACAO, Some(CAPACITOR)), (ACAC, Some("true"))],
        reason: None,
        handled: true,
    },
    Case {
        name: "a trusted Capacitor app writes",
        method: "POST",
        path: "/api/v1/echo",
        headers: &[("origin", CAPACITOR), ("cookie", "sid=1")],
        status: 200,
        expect: &[(ACAO, None)],
        reason: None,
        handled: true,
    },
    refused!(
        "an extension whose scheme is not on origin_schemes is never trusted",
        "GET",
        "/api/v1/users/00u1",
        &[("origin", EXTENSION), ("cookie", "sid=1")],
        "origin_not_trusted",
        "Origin"
    ),
    refused!(
        "nor may it write",
        "POST",
        "/api/v1/echo",
        &[("origin", EXTENSION), ("cookie", "sid=1")],
        "untrusted_cross_origin_write",
        "Origin"
    ),
    refused!(
        "an Ionic app that is not a trusted origin",
        "OPTIONS",
        "/api/v1/users/00u1",
        preflight!("ionic://localhost", "GET"),
        "origin_not_trusted",
        VARY_PREFLIGHT
    ),
];

/// The suite's app rolling out: four rules in report mode, the report header on.
fn rollout() -> Fixture {
    let config = CorsConfig::builder()
        .allow_cross_site_form_posts("/sso/saml2/{app}")
        .diagnostics_header(true)
        .rule(RejectionKind::OriginNotTrusted, RuleMode::Report)
        .rule(RejectionKind::MethodNotAllowed, RuleMode::Report)
        .rule(RejectionKind::RouteNotCorsEnabled, RuleMode::Report)
        .rule(RejectionKind::CredentialSchemeNotAllowed, RuleMode::Report)
        .report_header(true)
        .build()
        .expect("rollout config");
    Fixture::with(config, seeds())
}

const REPORT: &str = "x-trusted-cors-report";

const ROLLOUT_CASES: &[Case] = &[
    Case {
        name: "reported: an untrusted origin is served as a trusted one",
        method: "GET",
        path: "/api/v1/users/00u1",
        headers: &[("origin", UNTRUSTED), ("cookie", "sid=1")],
        status: 200,
        expect: &[
            (ACAO, Some(UNTRUSTED)),
            (ACAC, Some("true")),
            (REPORT, Some("origin_not_trusted")),
        ],
        reason: None,
        handled: true,
    },
    Case {
        name: "reported: an untrusted origin's preflight",
        method: "OPTIONS",
        path: "/api/v1/users/00u1",
        headers: preflight!(UNTRUSTED, "GET"),
        status: 204,
        expect: &[
            (ACAO, Some(UNTRUSTED)),
            (ACAC, Some("true")),
            (ACAM, Some("GET, HEAD")),
            (REPORT, Some("origin_not_trusted")),
        ],
        reason: None,
        handled: false,
    },
    Case {
        name: "reported twice: an untrusted origin asking for a method not allowed",
        method: "OPTIONS",
        path: "/api/v1/users/00u1",
        headers: preflight!(UNTRUSTED, "DELETE"),
        status: 204,
        expect: &[
            (ACAO, Some(UNTRUSTED)),
            (ACAM, Some("GET, HEAD, DELETE")),
            (REPORT, Some("origin_not_trusted, method_not_allowed")),
        ],
        reason: None,
        handled: false,
    },
    Case {
        name: "reported: a credential scheme, once, by the guard",
        method: "GET",
        path: "/api/v1/users/00u1",
        headers: &[("origin", TRUSTED), ("authorization", "Basic dTpw")],
        status: 200,
        expect: &[
            (ACAO, Some(TRUSTED)),
            (REPORT, Some("credential_scheme_not_allowed")),
        ],
        reason: None,
        handled: true,
    },
    Case {
        name: "reported: a preflight no route answers goes on to the application",
        method: "OPTIONS",
        path: "/api/v1/options",
        headers: preflight!(TRUSTED, "GET"),
        status: 200,
        expect: &[(ACAO, None), (REPORT, Some("route_not_cors_enabled"))],
        reason: None,
        handled: true,
    },
    Case {
        name: "nothing to report: no report header",
        method: "GET",
        path: "/api/v1/users/00u1",
        headers: &[("origin", TRUSTED), ("cookie", "sid=1")],
        status: 200,
        expect: &[(ACAO, Some(TRUSTED)), (REPORT, None)],
        reason: None,
        handled: true,
    },
    // Rules left in enforce mode refuse as ever.
    refused!(
        "enforced: a header not allowed",
        "OPTIONS",
        "/api/v1/users/00u1",
        preflight!(TRUSTED, "GET", "x-custom"),
        "header_not_allowed",
        VARY_PREFLIGHT
    ),
    refused!(
        "enforced: an untrusted cross-origin write",
        "POST",
        "/api/v1/echo",
        &[("origin", UNTRUSTED), ("cookie", "sid=1")],
        "untrusted_cross_origin_write",
        "Origin"
    ),
    refused!(
        "enforced: an API token",
        "GET",
        "/api/v1/users/00u1",
        &[("origin", TRUSTED), ("authorization", "SSWS 00t")],
        "api_token_cross_origin",
        "Origin"
    ),
];

async fn run_suite(served: &Served) {
    assert!(CASES.len() >= 40, "the suite has {} cases", CASES.len());
    run_cases(served, CASES).await;
}

async fn run_cases(served: &Served, cases: &[Case]) {
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    for case in cases {
        let mut request = client.request(
            case.method.parse().unwrap(),
            format!("{}{}", served.base, case.path),
        );
        for (name, value) in case.headers {
            let value = if *value == SELF {
                served.base.clone()
            } else {
                (*value).to_owned()
            };
            request = request.header(*name, value);
        }
        let before = served.calls();
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                failures.push(format!("{}: request failed: {error}", case.name));
                continue;
            }
        };
        let handled = served.calls() > before;
        let mut problems = Vec::new();
        if response.status().as_u16() != case.status {
            problems.push(format!("status {}", response.status()));
        }
        if handled != case.handled {
            problems.push(format!("handler ran: {handled}"));
        }
        for (name, expected) in case.expect {
            let values: Vec<_> = response
                .headers()
                .get_all(*name)
                .iter()
                .map(|v| v.to_str().unwrap_or("<bytes>").to_owned())
                .collect();
            let got = (!values.is_empty()).then(|| values.join(", "));
            if got.as_deref() != *expected {
                problems.push(format!("{name}: {got:?} instead of {expected:?}"));
            }
        }
        let body = response.bytes().await.unwrap_or_default();
        if let Some(reason) = case.reason {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(json)
                    if json["errorCode"] == "E0000006"
                        && json["reason"] == reason
                        && json["errorCauses"][0]["errorSummary"]
                            .as_str()
                            .is_some_and(|s| !s.is_empty()) => {}
                _ => problems.push(format!("error body {}", String::from_utf8_lossy(&body))),
            }
        } else if case.status == 204 && !body.is_empty() {
            problems.push("preflight answer with a body".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed against {}:\n{}",
        failures.len(),
        cases.len(),
        served.base,
        failures.join("\n")
    );
}

async fn registry_changes_apply_to_the_next_request(served: &Served) {
    let client = reqwest::Client::new();
    let preflight = || {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/v1/users/00u1", served.base),
            )
            .header("origin", UNTRUSTED)
            .header("access-control-request-method", "GET")
            .send()
    };
    assert_eq!(preflight().await.unwrap().status(), 403);
    let entry = served
        .cors
        .registry()
        .create(trusted_cors::NewTrustedOrigin::new(
            "Added",
            UNTRUSTED,
            [trusted_cors::ScopeType::Cors],
        ))
        .unwrap();
    let response = preflight().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["access-control-allow-origin"], UNTRUSTED);
    served.cors.registry().deactivate(&entry.id).unwrap();
    assert_eq!(preflight().await.unwrap().status(), 403);
    served.cors.registry().activate(&entry.id).unwrap();
    assert_eq!(preflight().await.unwrap().status(), 204);
    served.cors.registry().delete(&entry.id).unwrap();
    assert_eq!(preflight().await.unwrap().status(), 403);
}

#[tokio::test]
async fn axum_serves_app_origins_and_reports() {
    let served = serve_axum_from(apps());
    wait_until_up(&served).await;
    run_cases(&served, APP_CASES).await;
    let served = serve_axum_from(rollout());
    wait_until_up(&served).await;
    run_cases(&served, ROLLOUT_CASES).await;
}

#[tokio::test]
async fn actix_serves_app_origins_and_reports() {
    let served = serve_actix_from(apps());
    wait_until_up(&served).await;
    run_cases(&served, APP_CASES).await;
    let served = serve_actix_from(rollout());
    wait_until_up(&served).await;
    run_cases(&served, ROLLOUT_CASES).await;
}

#[tokio::test]
async fn axum_passes_the_behaviour_suite() {
    let served = serve_axum();
    wait_until_up(&served).await;
    run_suite(&served).await;
    registry_changes_apply_to_the_next_request(&served).await;
}

#[tokio::test]
async fn actix_passes_the_behaviour_suite() {
    let served = serve_actix();
    wait_until_up(&served).await;
    run_suite(&served).await;
    registry_changes_apply_to_the_next_request(&served).await;
}
