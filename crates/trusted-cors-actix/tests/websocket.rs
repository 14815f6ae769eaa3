//! WebSocket handshakes through `GuardMiddleware` and `RouteCorsMiddleware` (actix-web's test
//! service) to handlers that count their calls and answer a handshake `101`: a refused one
//! never reaches a handler (nor, on an undeclared resource while a public socket is declared,
//! gets its `101` out), a trusted one does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, web, App, HttpRequest, HttpResponse};
use trusted_cors_actix::{GuardMiddleware, RouteCorsMiddleware};
use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};

const TRUSTED: &str = "https://app.example.com";
const UNTRUSTED: &str = "https://evil.example";

fn cors() -> Cors {
    let registry =
        Registry::with_origins([NewTrustedOrigin::new("App", TRUSTED, [ScopeType::Cors])]).unwrap();
    Cors::new(CorsConfig::default(), registry)
}

/// A socket's handler: counts its calls; `101` to a request with `Upgrade`.
fn socket(
    calls: Arc<AtomicUsize>,
) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone {
    move |request: HttpRequest| {
        calls.fetch_add(1, Ordering::SeqCst);
        let response = match request.headers().contains_key("upgrade") {
            true => HttpResponse::SwitchingProtocols()
                .insert_header(("upgrade", "websocket"))
                .insert_header(("connection", "Upgrade"))
                .finish(),
            false => HttpResponse::Ok().finish(),
        };
        std::future::ready(response)
    }
}

/// `/me` declares the usual CORS policy, `/ticker` (when `public`) a socket open to any origin,
/// `/events` nothing.
macro_rules! app {
    ($cors:expr, $public:expr, $calls:expr) => {{
        let (cors, calls): (&Cors, &Arc<AtomicUsize>) = ($cors, $calls);
        let ticker = match $public {
            true => RouteCors::builder()
                .websocket_from_any_origin()
                .build()
                .unwrap(),
            false => RouteCors::default(),
        };
        test::init_service(
            App::new()
                .wrap(GuardMiddleware::new(cors))
                .service(
                    web::resource("/me")
                        .wrap(RouteCorsMiddleware::new(cors, RouteCors::default()))
                        .route(web::get().to(socket(Arc::clone(calls)))),
                )
                .service(
                    web::resource("/ticker")
                        .wrap(RouteCorsMiddleware::new(cors, ticker))
                        .route(web::get().to(socket(Arc::clone(calls)))),
                )
                .route("/events", web::get().to(socket(Arc::clone(calls)))),
        )
        .await
    }};
}

fn handshake(path: &str, origin: &str, connection: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(path)
        .insert_header(("origin", origin))
        .insert_header(("upgrade", "websocket"))
        .insert_header(("connection", connection))
        .insert_header(("sec-websocket-version", "13"))
        .insert_header(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="))
        .insert_header(("cookie", "sid=1"))
}

async fn reason(response: ServiceResponse<impl actix_web::body::MessageBody>) -> String {
    let body = test::read_body(response).await;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    json["reason"].as_str().unwrap_or_default().to_owned()
}

#[actix_rt::test]
async fn untrusted_handshakes_never_reach_a_handler() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app!(&cors, false, &calls);
    for path in ["/events", "/me", "/ticker"] {
        for (origin, connection) in [
            (UNTRUSTED, "Upgrade"),
            (UNTRUSTED, "keep-alive, Upgrade"),
            ("null", "Upgrade"),
        ] {
            let response = app
                .call(handshake(path, origin, connection).to_request())
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{path} {origin}");
            assert!(response.headers().get("upgrade").is_none());
            assert_eq!(reason(response).await, "websocket_origin_not_trusted");
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // A trusted one does, on every resource.
    for path in ["/events", "/me", "/ticker"] {
        let response = app
            .call(handshake(path, TRUSTED, "Upgrade").to_request())
            .await
            .unwrap();
        assert_eq!(response.status(), 101, "{path}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[actix_rt::test]
async fn a_socket_declared_open_takes_handshakes_from_any_origin() {
    let cors = cors();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app!(&cors, true, &calls);
    let response = app
        .call(handshake("/ticker", UNTRUSTED, "Upgrade").to_request())
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // A declared resource without it refuses it before its handler.
    let response = app
        .call(handshake("/me", UNTRUSTED, "Upgrade").to_request())
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(reason(response).await, "websocket_origin_not_trusted");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // An undeclared one: its handler answers, but its `101` is replaced by the refusal.
    let response = app
        .call(handshake("/events", UNTRUSTED, "Upgrade").to_request())
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("upgrade").is_none());
    assert_eq!(reason(response).await, "websocket_origin_not_trusted");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the handler ran");
    let response = app
        .call(handshake("/events", TRUSTED, "Upgrade").to_request())
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}
