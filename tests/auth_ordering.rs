//! Where authentication goes relative to the CORS layers, on axum and on actix-web, as the README
//! shows it: inside each route's CORS declaration, so that preflights (which never carry
//! credentials) are answered by the declaration and never reach authentication, and so that the
//! 401 of a call without a token still carries the CORS headers the page needs to read it.
//!
//! And the mistakes, caught early: authentication in front of the declaration, a declaration
//! added with axum's `route_layer`, a routed path without a declaration. The preflight is
//! refused (`route_not_cors_enabled`), and the log says which fix applies (at `WARN` the first
//! time the process sees each kind of mistake, then at `INFO`).

mod common;

use std::net::TcpListener;

use trusted_cors::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};

const TRUSTED: &str = "https://app.example.com";
const TOKEN: &str = "Bearer good-token";

fn cors() -> Cors {
    let registry =
        Registry::with_origins([NewTrustedOrigin::new("App", TRUSTED, [ScopeType::Cors])])
            .expect("registry");
    Cors::new(CorsConfig::default(), registry)
}

fn me_policy() -> RouteCors {
    RouteCors::builder()
        .allow_headers(["authorization"])
        .build()
        .expect("policy")
}

/// Every log line of this test binary (the global subscriber, installed by the first call).
fn log() -> &'static trusted_cors_testing::Captured {
    trusted_cors_testing::global_log()
}

/// The log lines that mention `path`.
fn logged_for(path: &str) -> String {
    log()
        .text()
        .lines()
        .filter(|line| line.contains(&format!("route={path} ")))
        .collect::<Vec<_>>()
        .join("\n")
}

mod axum_app {
    use super::*;
    use axum::extract::Request;
    use axum::http::{header, StatusCode};
    use axum::middleware::{from_fn, Next};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use axum::Router;

    async fn require_bearer(request: Request, next: Next) -> Response {
        match request.headers().get(header::AUTHORIZATION) {
            Some(value) if value == TOKEN => next.run(request).await,
            _ => (StatusCode::UNAUTHORIZED, "sign in").into_response(),
        }
    }

    async fn me() -> &'static str {
        "me"
    }

    pub(crate) fn app(cors: &Cors) -> Router {
        // Right: authentication inside the route's CORS declaration (the last layer added to a
        // method router is the outermost); `route_layer` runs it for the methods the route
        // handles.
        let right = Router::new().route(
            "/axum/me",
            get(me)
                .route_layer(from_fn(require_bearer))
                .layer(cors.route(me_policy())),
        );
        // Wrong: `Router::layer` puts authentication around every route, declaration included.
        let auth_outside = Router::new()
            .route("/axum/auth-outside", get(me).layer(cors.route(me_policy())))
            .layer(from_fn(require_bearer));
        // Wrong: a method router's `route_layer` does not run for a method the route does not
        // handle, such as OPTIONS.
        let route_layered = Router::new().route(
            "/axum/route-layer",
            get(me).route_layer(cors.route(me_policy())),
        );
        // Wrong: no declaration on a routed path.
        let undeclared = Router::new().route("/axum/undeclared", get(me));
        Router::new()
            .merge(right)
            .merge(auth_outside)
            .merge(route_layered)
            .merge(undeclared)
            .layer(cors.guard())
    }

    pub(crate) fn serve(cors: Cors) -> String {
        crate::common::spawn_axum(app(&cors))
    }
}

mod actix_app {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::dev::{ServiceRequest, ServiceResponse};
    use actix_web::middleware::{from_fn, Next};
    use actix_web::{web, App, Error, HttpResponse, HttpServer};
    use trusted_cors::for_actix::{GuardMiddleware, RouteCorsMiddleware};

    async fn require_bearer(
        request: ServiceRequest,
        next: Next<impl MessageBody + 'static>,
    ) -> Result<ServiceResponse<impl MessageBody>, Error> {
        let authorized = request
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .is_some_and(|value| value == TOKEN);
        if authorized {
            return Ok(next.call(request).await?.map_into_left_body());
        }
        // A response, not an `Err`: the CORS declaration around it decorates it.
        let response = HttpResponse::Unauthorized().body("sign in");
        Ok(request.into_response(response).map_into_right_body())
    }

    async fn me() -> &'static str {
        "me"
    }

    pub(crate) fn serve(cors: Cors) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                HttpServer::new(move || {
                    App::new()
                        // Right: on the resource, authentication first, the CORS declaration
                        // last (the last `wrap` is the outermost).
                        .service(
                            web::resource("/actix/me")
                                .wrap(from_fn(require_bearer))
                                .wrap(RouteCorsMiddleware::new(&cors, me_policy()))
                                .route(web::get().to(me)),
                        )
                        // Wrong: authentication on a scope around the declared resource.
                        .service(
                            web::scope("/actix/auth-outside")
                                .wrap(from_fn(require_bearer))
                                .service(
                                    web::resource("")
                                        .wrap(RouteCorsMiddleware::new(&cors, me_policy()))
                                        .route(web::get().to(me)),
                                ),
                        )
                        // Wrong: no declaration on a routed path (a resource answers 405 to
                        // other methods, `App::route` 404).
                        .service(web::resource("/actix/undeclared").route(web::get().to(me)))
                        .route("/actix/undeclared-route", web::get().to(me))
                        .wrap(GuardMiddleware::new(&cors))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run()
                .await
                .expect("serve");
            });
        });
        base
    }
}

async fn wait_until_up(base: &str, path: &str) {
    for _ in 0..100 {
        if reqwest::get(format!("{base}{path}")).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{base} did not start");
}

async fn preflight(base: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{base}{path}"))
        .header("origin", TRUSTED)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight")
}

async fn get(base: &str, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("origin", TRUSTED);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("get")
}

/// Authentication inside the declaration: the preflight is answered, never 401; a call without
/// a token gets the application's 401 with the CORS headers, so the page can read it; with one,
/// the answer.
async fn right_order(base: &str, prefix: &str) {
    let path = format!("/{prefix}/me");
    let answer = preflight(base, &path).await;
    assert_eq!(answer.status(), 204, "{path}");
    assert_eq!(answer.headers()["access-control-allow-origin"], TRUSTED);
    let unauthenticated = get(base, &path, None).await;
    assert_eq!(unauthenticated.status(), 401, "{path}");
    assert_eq!(
        unauthenticated.headers()["access-control-allow-origin"],
        TRUSTED
    );
    let authenticated = get(base, &path, Some(TOKEN)).await;
    assert_eq!(authenticated.status(), 200, "{path}");
    assert_eq!(
        authenticated.headers()["access-control-allow-origin"],
        TRUSTED
    );
}

/// A mistake: the preflight is refused with `route_not_cors_enabled`, and the log names `fix`.
async fn caught(base: &str, path: &str, fix: &str) {
    let answer = preflight(base, path).await;
    assert_eq!(answer.status(), 403, "{path}");
    let body: serde_json::Value = answer.json().await.expect("JSON error");
    assert_eq!(body["reason"], "route_not_cors_enabled", "{path}");
    let text = body.to_string();
    assert!(
        !text.contains("route_layer") && !text.contains("authentication"),
        "the fix is for the log, not the client: {text}"
    );
    let logged = logged_for(path);
    assert!(
        logged.contains("preflight not answered by any CORS route declaration"),
        "{path}: {logged}"
    );
    assert!(
        logged.contains(fix),
        "{path}: expected `{fix}` in\n{logged}"
    );
}

#[tokio::test]
async fn axum_authentication_goes_inside_the_declaration() {
    log();
    let base = axum_app::serve(cors());
    wait_until_up(&base, "/axum/undeclared").await;
    right_order(&base, "axum").await;
    caught(
        &base,
        "/axum/auth-outside",
        "answered the preflight 401 (authentication, most likely)",
    )
    .await;
    caught(
        &base,
        "/axum/route-layer",
        "a declaration added with `route_layer` does not run for OPTIONS",
    )
    .await;
    caught(
        &base,
        "/axum/undeclared",
        "routes /axum/undeclared for other methods",
    )
    .await;
    // `route_layer` does run for the methods the route handles: the mistake shows on
    // preflights only.
    let read = get(&base, "/axum/route-layer", None).await;
    assert_eq!(read.headers()["access-control-allow-origin"], TRUSTED);
}

#[tokio::test]
async fn actix_authentication_goes_inside_the_declaration() {
    log();
    let base = actix_app::serve(cors());
    wait_until_up(&base, "/actix/undeclared").await;
    right_order(&base, "actix").await;
    caught(
        &base,
        "/actix/auth-outside",
        "answered the preflight 401 (authentication, most likely)",
    )
    .await;
    caught(
        &base,
        "/actix/undeclared",
        "routes /actix/undeclared for other methods",
    )
    .await;
    caught(
        &base,
        "/actix/undeclared-route",
        "if the application routes /actix/undeclared-route for other methods",
    )
    .await;
}

/// The first of each kind of mistake is a warning, the rest are not: pages cannot flood the log.
#[tokio::test]
async fn each_kind_of_mistake_warns_once() {
    log();
    let base = axum_app::serve(cors());
    wait_until_up(&base, "/axum/undeclared").await;
    for _ in 0..3 {
        assert_eq!(preflight(&base, "/axum/undeclared").await.status(), 403);
    }
    let all = log().text();
    let warnings = all
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains("but no CORS declaration answered"))
        .count();
    assert_eq!(
        warnings, 1,
        "one warning for the kind in the process:\n{all}"
    );
    let infos = all
        .lines()
        .filter(|l| l.contains(" INFO ") && l.contains("but no CORS declaration answered"))
        .count();
    assert!(infos >= 2, "{all}");
}
