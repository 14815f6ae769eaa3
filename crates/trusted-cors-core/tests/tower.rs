//! The Tower layers around a counting application: exact response headers, `Vary`, rejection
//! bodies, and whether the handler ran.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::util::BoxCloneService;
use tower::{service_fn, Layer, ServiceExt};
use trusted_cors_core::{Cors, Rejection, Reply, RouteCors};

type App = BoxCloneService<Request<Full<Bytes>>, Response<Full<Bytes>>, Infallible>;

/// A handler that counts its calls and sets `Vary: Accept-Encoding`, like a compressing app.
fn handler(
    calls: Arc<AtomicUsize>,
) -> BoxCloneService<Request<Full<Bytes>>, Response<Full<Bytes>>, Infallible> {
    BoxCloneService::new(service_fn(move |req: Request<Full<Bytes>>| {
        let calls = Arc::clone(&calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let mut response =
                Response::new(Full::new(Bytes::from(format!("handled {}", req.method()))));
            response
                .headers_mut()
                .insert("vary", "Accept-Encoding".parse().unwrap());
            response
                .headers_mut()
                .insert("x-request-id", "r-1".parse().unwrap());
            Ok::<_, Infallible>(response)
        }
    }))
}

/// `/me` and `/users/1` are CORS-enabled; `/users` and `/options` are undeclared.
fn app(cors: &Cors, calls: Arc<AtomicUsize>) -> App {
    let me = BoxCloneService::new(cors.route(me()).layer(handler(Arc::clone(&calls))));
    let user = BoxCloneService::new(cors.route(user()).layer(handler(Arc::clone(&calls))));
    let plain = BoxCloneService::new(handler(Arc::clone(&calls)));
    let router = service_fn(move |req: Request<Full<Bytes>>| {
        let service = match req.uri().path() {
            "/me" => me.clone(),
            "/users/1" => user.clone(),
            _ => plain.clone(),
        };
        service.oneshot(req)
    });
    BoxCloneService::new(cors.guard().layer(router))
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    /// Each named header with its exact value, or `None` for must be absent.
    expect: &'static [(&'static str, Option<&'static str>)],
    handled: bool,
    reason: Option<&'static str>,
}

const NO_CORS: &[(&str, Option<&str>)] = &[
    ("access-control-allow-origin", None),
    ("access-control-allow-credentials", None),
    ("access-control-allow-methods", None),
];
const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

const CASES: &[Case] = &[
    Case {
        name: "refused OPTIONS with an invalid request method still varies like a preflight",
        method: "OPTIONS",
        path: "/me",
        headers: &[
            ("origin", UNTRUSTED),
            ("access-control-request-method", "G ET"),
        ],
        status: 403,
        handled: false,
        reason: Some("origin_not_trusted"),
        expect: &[
            ("access-control-allow-origin", None),
            ("vary", Some(VARY_PREFLIGHT)),
        ],
    },
    Case {
        name: "trusted preflight",
        method: "OPTIONS",
        path: "/me",
        headers: &[
            ("origin", TRUSTED),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type"),
        ],
        status: 204,
        handled: false,
        reason: None,
        expect: &[
            ("access-control-allow-origin", Some(TRUSTED)),
            ("access-control-allow-credentials", Some("true")),
            ("access-control-allow-methods", Some("GET, PUT")),
            (
                "access-control-allow-headers",
                Some("content-type, authorization"),
            ),
            ("access-control-max-age", Some("7200")),
            ("vary", Some(VARY_PREFLIGHT)),
            ("x-trusted-cors-reason", None),
        ],
    },
    Case {
        name: "bearer preflight from anywhere",
        method: "OPTIONS",
        path: "/me",
        headers: &[
            ("origin", UNTRUSTED),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ],
        status: 204,
        handled: false,
        reason: None,
        expect: &[
            ("access-control-allow-origin", Some(UNTRUSTED)),
            ("access-control-allow-credentials", None),
            ("vary", Some(VARY_PREFLIGHT)),
        ],
    },
    Case {
        name: "untrusted preflight",
        method: "OPTIONS",
        path: "/users/1",
        headers: &[
            ("origin", UNTRUSTED),
            ("access-control-request-method", "GET"),
        ],
        status: 403,
        handled: false,
        reason: Some("origin_not_trusted"),
        expect: &[
            ("access-control-allow-origin", None),
            ("access-control-allow-credentials", None),
            ("vary", Some(VARY_PREFLIGHT)),
            ("x-trusted-cors-reason", Some("origin_not_trusted")),
            ("content-type", Some("application/json")),
        ],
    },
    Case {
        name: "method refused",
        method: "OPTIONS",
        path: "/users/1",
        headers: &[
            ("origin", TRUSTED),
            ("access-control-request-method", "DELETE"),
        ],
        status: 403,
        handled: false,
        reason: Some("method_not_allowed"),
        expect: NO_CORS,
    },
    Case {
        name: "header refused",
        method: "OPTIONS",
        path: "/users/1",
        headers: &[
            ("origin", TRUSTED),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ],
        status: 403,
        handled: false,
        reason: Some("header_not_allowed"),
        expect: NO_CORS,
    },
    Case {
        name: "preflight to an undeclared route",
        method: "OPTIONS",
        path: "/users",
        headers: &[
            ("origin", TRUSTED),
            ("access-control-request-method", "GET"),
        ],
        status: 403,
        handled: true,
        reason: Some("route_not_cors_enabled"),
        expect: &[
            ("access-control-allow-origin", None),
            ("vary", Some(VARY_PREFLIGHT)),
            ("x-trusted-cors-reason", Some("route_not_cors_enabled")),
        ],
    },
    Case {
        name: "OPTIONS without request method reaches the app",
        method: "OPTIONS",
        path: "/options",
        headers: &[("origin", UNTRUSTED)],
        status: 200,
        handled: true,
        reason: None,
        expect: &[
            ("access-control-allow-origin", None),
            ("vary", Some("Accept-Encoding")),
        ],
    },
    Case {
        name: "trusted GET",
        method: "GET",
        path: "/me",
        headers: &[("origin", TRUSTED), ("cookie", "sid=1")],
        status: 200,
        handled: true,
        reason: None,
        expect: &[
            ("access-control-allow-origin", Some(TRUSTED)),
            ("access-control-allow-credentials", Some("true")),
            ("access-control-expose-headers", Some("x-request-id")),
            ("vary", Some("Accept-Encoding, Origin")),
        ],
    },
    Case {
        name: "untrusted bearer GET",
        method: "GET",
        path: "/me",
        headers: &[("origin", UNTRUSTED), ("authorization", "Bearer t")],
        status: 200,
        handled: true,
        reason: None,
        expect: &[
            ("access-control-allow-origin", Some(UNTRUSTED)),
            ("access-control-allow-credentials", None),
            ("vary", Some("Accept-Encoding, Origin")),
        ],
    },
    Case {
        name: "untrusted GET",
        method: "GET",
        path: "/me",
        headers: &[("origin", UNTRUSTED)],
        status: 403,
        handled: false,
        reason: Some("origin_not_trusted"),
        expect: &[
            ("access-control-allow-origin", None),
            ("vary", Some("Origin")),
        ],
    },
    Case {
        name: "no origin on a declared route still varies",
        method: "GET",
        path: "/me",
        headers: &[],
        status: 200,
        handled: true,
        reason: None,
        expect: &[
            ("access-control-allow-origin", None),
            ("vary", Some("Accept-Encoding, Origin")),
        ],
    },
    Case {
        name: "SSWS from another origin never reaches the handler",
        method: "GET",
        path: "/users",
        headers: &[("origin", TRUSTED), ("authorization", "SSWS 00tok")],
        status: 403,
        handled: false,
        reason: Some("api_token_cross_origin"),
        expect: &[
            ("access-control-allow-origin", None),
            ("vary", Some("Origin")),
        ],
    },
    Case {
        name: "SSWS server-side works",
        method: "GET",
        path: "/users",
        headers: &[("authorization", "SSWS 00tok")],
        status: 200,
        handled: true,
        reason: None,
        expect: &[("vary", Some("Accept-Encoding"))],
    },
    Case {
        name: "Basic from another origin",
        method: "GET",
        path: "/me",
        headers: &[("origin", TRUSTED), ("authorization", "Basic eDp5")],
        status: 403,
        handled: false,
        reason: Some("credential_scheme_not_allowed"),
        expect: NO_CORS,
    },
    Case {
        name: "untrusted form post",
        method: "POST",
        path: "/users",
        headers: &[("origin", UNTRUSTED), ("cookie", "sid=1")],
        status: 403,
        handled: false,
        reason: Some("untrusted_cross_origin_write"),
        expect: NO_CORS,
    },
    Case {
        name: "exempt form post",
        method: "POST",
        path: FORM_POST_PATH,
        headers: &[("origin", UNTRUSTED)],
        status: 200,
        handled: true,
        reason: None,
        expect: NO_CORS,
    },
    Case {
        name: "same-origin write",
        method: "PUT",
        path: "/me",
        headers: &[
            ("origin", "http://org.local:8080"),
            ("host", "org.local:8080"),
            ("cookie", "sid=1"),
        ],
        status: 200,
        handled: true,
        reason: None,
        expect: &[
            ("access-control-allow-origin", None),
            ("vary", Some("Accept-Encoding, Origin")),
        ],
    },
];

async fn send(
    app: &App,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response<Full<Bytes>> {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.clone()
        .oneshot(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap()
}

fn header_text(response: &Response<impl Sized>, name: &str) -> Option<String> {
    let values: Vec<_> = response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

#[tokio::test]
async fn responses_carry_exactly_the_expected_headers() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(&cors, Arc::clone(&calls));
    let mut failures = Vec::new();
    for case in CASES {
        let before = calls.load(Ordering::SeqCst);
        let response = send(&app, case.method, case.path, case.headers).await;
        let handled = calls.load(Ordering::SeqCst) > before;
        let mut problems = Vec::new();
        if response.status() != StatusCode::from_u16(case.status).unwrap() {
            problems.push(format!("status {}", response.status()));
        }
        if handled != case.handled {
            problems.push(format!("handler ran: {handled}"));
        }
        for (name, expected) in case.expect {
            let got = header_text(&response, name);
            if got.as_deref() != *expected {
                problems.push(format!("{name}: {got:?} instead of {expected:?}"));
            }
        }
        let rejection = response.extensions().get::<Rejection>().map(|r| r.reason());
        if rejection != case.reason {
            problems.push(format!("rejection extension {rejection:?}"));
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        if let Some(reason) = case.reason {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(json) if json["reason"] == reason && json["errorCode"] == "E0000006" => {}
                _ => problems.push(format!("body {}", String::from_utf8_lossy(&body))),
            }
        } else if case.status == 204 && !body.is_empty() {
            problems.push("preflight answer has a body".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn registry_changes_apply_to_the_next_request() {
    let cors = cors();
    let app = app(&cors, Arc::new(AtomicUsize::new(0)));
    let preflight = [
        ("origin", UNTRUSTED),
        ("access-control-request-method", "GET"),
    ];
    assert_eq!(
        send(&app, "OPTIONS", "/users/1", &preflight).await.status(),
        403
    );
    let entry = cors
        .registry()
        .create(trusted_cors_core::NewTrustedOrigin::new(
            "New",
            UNTRUSTED,
            [trusted_cors_core::ScopeType::Cors],
        ))
        .unwrap();
    assert_eq!(
        send(&app, "OPTIONS", "/users/1", &preflight).await.status(),
        204
    );
    cors.registry().deactivate(&entry.id).unwrap();
    assert_eq!(
        send(&app, "OPTIONS", "/users/1", &preflight).await.status(),
        403
    );
}

#[tokio::test]
async fn custom_responder_and_no_diagnostics() {
    let config = trusted_cors_core::CorsConfig::builder()
        .responder(|rejection: &Rejection| {
            // A responder cannot grant access by accident.
            Reply::new(401)
                .header("access-control-allow-origin", "*")
                .body(format!("no: {}", rejection.reason()))
        })
        .build()
        .unwrap();
    let cors = Cors::new(config, Arc::new(registry()));
    let app = app(&cors, Arc::new(AtomicUsize::new(0)));
    let response = send(&app, "GET", "/me", &[("origin", UNTRUSTED)]).await;
    assert_eq!(response.status(), 401);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert!(response.headers().get("x-trusted-cors-reason").is_none());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"no: origin_not_trusted");
}

#[tokio::test]
async fn route_layer_works_without_the_global_layer() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let route = cors
        .route(RouteCors::builder().build().unwrap())
        .layer(handler(Arc::clone(&calls)));
    let request = Request::get("/x")
        .header("origin", TRUSTED)
        .header("authorization", "SSWS 00tok")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = route.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn frame_ancestors_follow_the_registry() {
    let cors = cors();
    let page = cors
        .frame_ancestors()
        .layer(handler(Arc::new(AtomicUsize::new(0))));
    let get = || {
        Request::get("/login")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let response = page.clone().oneshot(get()).await.unwrap();
    assert_eq!(
        response.headers()["content-security-policy"],
        "frame-ancestors 'self'"
    );
    let portal = cors
        .registry()
        .create(trusted_cors_core::NewTrustedOrigin::new(
            "Portal",
            "https://portal.example.com",
            [trusted_cors_core::ScopeType::IframeEmbed],
        ))
        .unwrap();
    cors.registry()
        .create(trusted_cors_core::NewTrustedOrigin::new(
            "Embedded apps",
            "https://*.embed.example.com",
            [trusted_cors_core::ScopeType::IframeEmbed],
        ))
        .unwrap();
    let response = page.clone().oneshot(get()).await.unwrap();
    assert_eq!(
        response.headers()["content-security-policy"],
        "frame-ancestors 'self' https://portal.example.com https://*.embed.example.com"
    );
    cors.registry().deactivate(&portal.id).unwrap();
    let response = page.oneshot(get()).await.unwrap();
    assert_eq!(
        response.headers()["content-security-policy"],
        "frame-ancestors 'self' https://*.embed.example.com"
    );
}

/// An application's own answer to a preflight on an undeclared route is refused, even when it
/// copies a declared route's answer word for word (the guard knows a route's answer by more than
/// its words).
#[tokio::test]
async fn an_application_cannot_pass_for_a_route_declaration() {
    let cors = cors();
    let imitation = service_fn(|_req: Request<Full<Bytes>>| async {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert("access-control-allow-origin", TRUSTED.parse().unwrap());
        headers.insert(
            "vary",
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
                .parse()
                .unwrap(),
        );
        Ok::<_, Infallible>(response)
    });
    let app = cors.guard().layer(imitation);
    let request = Request::options("/own-options")
        .header("origin", TRUSTED)
        .header("access-control-request-method", "GET")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.extensions().get::<Rejection>().unwrap().reason(),
        "route_not_cors_enabled"
    );
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

/// The request target's authority (HTTP/2's `:authority`) wins over a `host` field that
/// disagrees with it: a forged `host` cannot make a cross-origin write pass as same-origin.
#[tokio::test]
async fn the_authority_wins_over_a_disagreeing_host() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = cors
        .guard()
        .layer(service_fn(move |_req: Request<Full<Bytes>>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::new()))) }
        }));
    let write = |host: &str| {
        Request::post("http://api.example/api/v1/echo")
            .header("host", host)
            .header("origin", "http://evil.example")
            .header("cookie", "sid=1")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let response = app.clone().oneshot(write("evil.example")).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // The same request to the origin it names is same-origin.
    let mut own = write("api.example");
    *own.uri_mut() = "http://evil.example/api/v1/echo".parse().unwrap();
    let response = app.oneshot(own).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// The frame-ancestors layer never answers by itself, so it takes any body (here one that cannot
/// be made from bytes).
#[tokio::test]
async fn frame_ancestors_take_any_body() {
    let cors = cors();
    let app = cors
        .frame_ancestors()
        .layer(service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(http_body_util::Empty::<Bytes>::new()))
        }));
    let response = app
        .oneshot(Request::get("/").body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-security-policy"],
        "frame-ancestors 'self'"
    );
}
