//! WebSocket handshakes through the real Tower layers (`cors.guard()` around a router of
//! `cors.route(policy)` declarations and undeclared routes) to a handler that counts its calls
//! and answers a handshake `101 Switching Protocols`, as axum's `WebSocketUpgrade` does: which
//! handshakes reach a handler, which are refused (and how), and that a refused one never gets
//! its `101` out.

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
use trusted_cors_core::{
    Cors, CorsConfig, NewTrustedOrigin, Rejection, RejectionKind, RouteCors, RuleMode, ScopeType,
};

type App = BoxCloneService<Request<Full<Bytes>>, Response<Full<Bytes>>, Infallible>;

/// A socket's handler: counts its calls, answers a request with `Upgrade` `101` (the upgrade a
/// server would then perform), any other `200`.
fn socket(calls: Arc<AtomicUsize>) -> App {
    BoxCloneService::new(service_fn(move |req: Request<Full<Bytes>>| {
        let calls = Arc::clone(&calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let mut response = Response::new(Full::new(Bytes::new()));
            if req.headers().contains_key("upgrade") {
                *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                let headers = response.headers_mut();
                headers.insert("upgrade", "websocket".parse().unwrap());
                headers.insert("connection", "Upgrade".parse().unwrap());
            }
            Ok::<_, Infallible>(response)
        }
    }))
}

/// `/me` declares the usual CORS policy, `/ticker` (when `public`) a socket open to any origin,
/// `/events` nothing.
fn app(cors: &Cors, public: bool, calls: &Arc<AtomicUsize>) -> App {
    let me = BoxCloneService::new(cors.route(me()).layer(socket(Arc::clone(calls))));
    let ticker = match public {
        true => {
            let open = RouteCors::builder()
                .websocket_from_any_origin()
                .build()
                .unwrap();
            BoxCloneService::new(cors.route(open).layer(socket(Arc::clone(calls))))
        }
        false => socket(Arc::clone(calls)),
    };
    let events = socket(Arc::clone(calls));
    let router = service_fn(move |req: Request<Full<Bytes>>| {
        let service = match req.uri().path() {
            "/me" => me.clone(),
            "/ticker" => ticker.clone(),
            _ => events.clone(),
        };
        service.oneshot(req)
    });
    BoxCloneService::new(cors.guard().layer(router))
}

/// A browser's handshake from `origin` (Chromium's headers), with the site's cookie.
fn handshake(origin: &str) -> Vec<(&str, &str)> {
    vec![
        ("origin", origin),
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("cookie", "sid=1"),
    ]
}

struct Sent {
    status: u16,
    reason: Option<&'static str>,
    handled: usize,
    upgrade: bool,
    allow_origin: bool,
    body: serde_json::Value,
}

async fn send(
    app: &App,
    calls: &AtomicUsize,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Sent {
    let before = calls.load(Ordering::SeqCst);
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let reason = response.extensions().get::<Rejection>().map(|r| r.reason());
    let status = response.status().as_u16();
    let upgrade = response.headers().contains_key("upgrade");
    let allow_origin = response
        .headers()
        .contains_key("access-control-allow-origin");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Sent {
        status,
        reason,
        handled: calls.load(Ordering::SeqCst) - before,
        upgrade,
        allow_origin,
        body: serde_json::from_slice(&body).unwrap_or_default(),
    }
}

const REFUSED: Option<&str> = Some("websocket_origin_not_trusted");

/// Without a socket declared open to any origin, the guard refuses a handshake before routing:
/// no handler runs, whatever the route.
#[tokio::test]
async fn untrusted_handshakes_never_reach_a_handler() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(&cors, false, &calls);
    let odd: &[&[(&str, &str)]] = &[
        &[
            ("origin", UNTRUSTED),
            ("upgrade", "WebSocket"),
            ("connection", "keep-alive, Upgrade"),
        ],
        &[
            ("origin", UNTRUSTED),
            ("upgrade", "h2c, websocket"),
            ("connection", "Upgrade,\tHTTP2-Settings"),
        ],
        &[
            ("origin", UNTRUSTED),
            ("upgrade", " websocket\t"),
            ("connection", "keep-alive,\tupgrade "),
        ],
        &[
            ("origin", TRUSTED),
            ("origin", UNTRUSTED),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
        ],
        &[
            ("origin", "null"),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
        ],
        &[
            ("origin", UNTRUSTED),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
        ],
        &[
            ("origin", INACTIVE),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
        ],
    ];
    for path in ["/events", "/me", "/ticker"] {
        let mut requests: Vec<Vec<(&str, &str)>> = vec![handshake(UNTRUSTED)];
        requests.extend(odd.iter().map(|h| h.to_vec()));
        for headers in requests {
            let sent = send(&app, &calls, "GET", path, &headers).await;
            assert_eq!(
                (sent.status, sent.reason, sent.handled, sent.upgrade),
                (403, REFUSED, 0, false),
                "{path} {headers:?}"
            );
            assert!(!sent.allow_origin);
            assert_eq!(sent.body["errorCode"], "E0000006");
            assert_eq!(sent.body["reason"], "websocket_origin_not_trusted");
            let cause = sent.body["errorCauses"][0]["errorSummary"]
                .as_str()
                .unwrap();
            assert!(cause.starts_with("A WebSocket connection"), "{cause}");
            if headers.iter().filter(|(name, _)| *name == "origin").count() == 1 {
                assert!(cause.contains("websocket_from_any_origin"), "{cause}");
            }
        }
    }
    // HTTP/2's extended CONNECT (`:protocol websocket`), as the request reaches the layers.
    let sent = send(
        &app,
        &calls,
        "CONNECT",
        "/events",
        &[("origin", UNTRUSTED), ("cookie", "sid=1")],
    )
    .await;
    assert_eq!((sent.status, sent.reason, sent.handled), (403, REFUSED, 0));
}

#[tokio::test]
async fn trusted_same_origin_and_non_browser_handshakes_are_upgraded() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(&cors, false, &calls);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        handshake(TRUSTED),
        handshake(WILDCARD_MATCH),
        // Same origin, by fetch metadata and by `Host`.
        [
            handshake(UNTRUSTED),
            vec![("sec-fetch-site", "same-origin")],
        ]
        .concat(),
        [
            handshake("http://api.example"),
            vec![("host", "api.example")],
        ]
        .concat(),
        // No `Origin`: not a browser.
        vec![("upgrade", "websocket"), ("connection", "Upgrade")],
    ];
    for path in ["/events", "/me", "/ticker"] {
        for headers in &cases {
            let sent = send(&app, &calls, "GET", path, headers).await;
            assert_eq!(
                (sent.status, sent.reason, sent.handled, sent.upgrade),
                (101, None, 1, true),
                "{path} {headers:?}"
            );
        }
    }
    // Not handshakes: a plain GET from anywhere is judged as before.
    for headers in [
        vec![("origin", UNTRUSTED), ("connection", "upgrade")],
        vec![
            ("origin", UNTRUSTED),
            ("upgrade", "websocket"),
            ("connection", "keep-alive"),
        ],
    ] {
        let sent = send(&app, &calls, "GET", "/events", &headers).await;
        assert_eq!((sent.reason, sent.handled), (None, 1), "{headers:?}");
    }
}

/// A socket declared open to any origin takes handshakes from anywhere; every other socket,
/// declared or not, still refuses them (the guard defers them to the routes, and refuses at the
/// end one that no declared route took: its `101` never goes out).
#[tokio::test]
async fn a_socket_declared_open_takes_handshakes_from_any_origin() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(&cors, true, &calls);
    let sent = send(&app, &calls, "GET", "/ticker", &handshake(UNTRUSTED)).await;
    assert_eq!(
        (sent.status, sent.reason, sent.handled, sent.upgrade),
        (101, None, 1, true)
    );
    let sent = send(&app, &calls, "GET", "/ticker", &handshake("null")).await;
    assert_eq!((sent.status, sent.handled), (101, 1));
    // A declared route refuses it itself, before its handler.
    let sent = send(&app, &calls, "GET", "/me", &handshake(UNTRUSTED)).await;
    assert_eq!(
        (sent.status, sent.reason, sent.handled, sent.upgrade),
        (403, REFUSED, 0, false)
    );
    // An undeclared route's handler answers, but its `101` is replaced by the refusal.
    let sent = send(&app, &calls, "GET", "/events", &handshake(UNTRUSTED)).await;
    assert_eq!(
        (sent.status, sent.reason, sent.upgrade),
        (403, REFUSED, false)
    );
    assert_eq!(sent.body["reason"], "websocket_origin_not_trusted");
    // Trusted ones everywhere.
    for path in ["/events", "/me", "/ticker"] {
        let sent = send(&app, &calls, "GET", path, &handshake(TRUSTED)).await;
        assert_eq!((sent.status, sent.handled, sent.upgrade), (101, 1, true));
    }
}

#[tokio::test]
async fn registry_changes_apply_to_the_next_handshake() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(&cors, false, &calls);
    let status = |sent: Sent| sent.status;
    assert_eq!(
        status(send(&app, &calls, "GET", "/events", &handshake(UNTRUSTED)).await),
        403
    );
    let entry = cors
        .registry()
        .create(NewTrustedOrigin::new(
            "Now trusted",
            UNTRUSTED,
            [ScopeType::Cors],
        ))
        .unwrap();
    assert_eq!(
        status(send(&app, &calls, "GET", "/events", &handshake(UNTRUSTED)).await),
        101
    );
    cors.registry().deactivate(&entry.id).unwrap();
    assert_eq!(
        status(send(&app, &calls, "GET", "/events", &handshake(UNTRUSTED)).await),
        403
    );
    // Redirect scope only is not enough.
    assert_eq!(
        status(send(&app, &calls, "GET", "/events", &handshake(REDIRECT_ONLY)).await),
        403
    );
}

/// While a public socket is declared, the guard defers a handshake it would refuse; if the origin
/// is trusted by the time the declared route reads the request, the route takes it and the
/// guard's earlier refusal does not replace its `101`.
#[tokio::test]
async fn a_handshake_trusted_after_the_guard_judged_it_is_taken_by_its_route() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let open = RouteCors::builder()
        .websocket_from_any_origin()
        .build()
        .unwrap();
    // Declared (never routed to) so that the guard defers the handshakes it would refuse.
    let _ticker = cors.route(open).layer(socket(Arc::clone(&calls)));
    let me = cors.route(me()).layer(socket(Arc::clone(&calls)));
    let registry = Arc::clone(cors.registry());
    // The origin is added between the guard and the route.
    let router = service_fn(move |req: Request<Full<Bytes>>| {
        registry
            .create(NewTrustedOrigin::new(
                "Trusted meanwhile",
                UNTRUSTED,
                [ScopeType::Cors],
            ))
            .unwrap();
        me.clone().oneshot(req)
    });
    let app = BoxCloneService::new(cors.guard().layer(router));
    let sent = send(&app, &calls, "GET", "/me", &handshake(UNTRUSTED)).await;
    assert_eq!(
        (sent.status, sent.reason, sent.handled, sent.upgrade),
        (101, None, 1, true)
    );
}

#[tokio::test]
async fn report_mode_lets_the_handshake_through_and_names_the_rule() {
    let config = CorsConfig::builder()
        .rule(RejectionKind::WebSocketOriginNotTrusted, RuleMode::Report)
        .report_header(true)
        .build()
        .unwrap();
    let cors = Cors::new(config, Arc::new(registry()));
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(&cors, false, &calls);
    let mut request = Request::get("/events");
    for (name, value) in handshake(UNTRUSTED) {
        request = request.header(name, value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(
        response.headers()["x-trusted-cors-report"],
        "websocket_origin_not_trusted"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
