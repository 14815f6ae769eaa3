//! actix-specific behaviour: errors from inner services, and `RejectionError`.

use actix_web::dev::Service;
use actix_web::{test, web, App, HttpResponse, ResponseError};
use trusted_cors_actix::{RejectionError, RouteCorsMiddleware};
use trusted_cors_core::decision::RouteScope;
use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
use trusted_cors_core::{HeaderInput, RequestFacts};

const TRUSTED: &str = "https://app.example.com";

fn cors() -> Cors {
    let registry =
        Registry::with_origins([NewTrustedOrigin::new("App", TRUSTED, [ScopeType::Cors])]).unwrap();
    Cors::new(
        CorsConfig::builder()
            .diagnostics_header(true)
            .build()
            .unwrap(),
        registry,
    )
}

#[actix_rt::test]
async fn handler_errors_are_decorated_and_middleware_errors_pass_through() {
    let cors = cors();
    let policy = || RouteCors::builder().build().unwrap();
    let app = test::init_service(
        App::new()
            .service(
                web::resource("/handler-error")
                    .wrap(RouteCorsMiddleware::new(&cors, policy()))
                    .route(web::get().to(|| async {
                        Err::<HttpResponse, _>(actix_web::error::ErrorUnauthorized("sign in"))
                    })),
            )
            .service(
                web::resource("/middleware-error")
                    .wrap_fn(|_request, _service| async {
                        Err::<actix_web::dev::ServiceResponse, _>(
                            actix_web::error::ErrorUnauthorized("sign in"),
                        )
                    })
                    .wrap(RouteCorsMiddleware::new(&cors, policy()))
                    .route(web::get().to(HttpResponse::Ok)),
            ),
    )
    .await;
    let request = test::TestRequest::get()
        .uri("/handler-error")
        .insert_header(("origin", TRUSTED))
        .to_request();
    let response = app.call(request).await.expect("a response");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        TRUSTED
    );
    assert_eq!(response.headers().get("vary").unwrap(), "Origin");

    let request = test::TestRequest::get()
        .uri("/middleware-error")
        .insert_header(("origin", TRUSTED))
        .to_request();
    let Err(error) = app.call(request).await else {
        panic!("the middleware's error became a response")
    };
    assert_eq!(error.as_response_error().status_code(), 401);
}

#[actix_rt::test]
async fn a_policy_on_a_scope_routes_inside_it() {
    // The middleware must not hold the request while the scope routes it (actix needs it alone).
    let cors = cors();
    let app = test::init_service(
        App::new().service(
            web::scope("/api")
                .wrap(RouteCorsMiddleware::new(
                    &cors,
                    RouteCors::builder().build().unwrap(),
                ))
                .route("/users/{id}", web::get().to(HttpResponse::Ok)),
        ),
    )
    .await;
    let request = test::TestRequest::get()
        .uri("/api/users/1")
        .insert_header(("origin", TRUSTED))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        TRUSTED
    );
}

#[actix_rt::test]
async fn rejection_error_answers_like_the_middleware() {
    let cors = cors();
    let policy = RouteCors::builder().build().unwrap();
    let facts = RequestFacts {
        method: "GET",
        path: "/me",
        origin: HeaderInput::One(b"https://evil.example"),
        ..RequestFacts::default()
    };
    let rejection = cors
        .decide(&facts, RouteScope::Declared(&policy))
        .rejection()
        .cloned()
        .unwrap();

    let plain = RejectionError::from(rejection.clone());
    assert_eq!(plain.status_code(), 403);
    let response = plain.error_response();
    assert!(response.headers().get("x-trusted-cors-reason").is_none());

    let configured = RejectionError::with_cors(&cors, rejection);
    let response = configured.error_response();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers().get("x-trusted-cors-reason").unwrap(),
        "origin_not_trusted"
    );
    assert_eq!(response.headers().get("vary").unwrap(), "Origin");
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["errorCode"], "E0000006");
    assert_eq!(json["reason"], "origin_not_trusted");
}

#[actix_rt::test]
async fn handlers_read_the_outcome() {
    use trusted_cors_actix::CorsContext;
    async fn show(cors: CorsContext) -> HttpResponse {
        HttpResponse::Ok().body(format!(
            "{:?} {} {} {}",
            cors.origin(),
            cors.is_trusted(),
            cors.allows_credentials(),
            cors.is_declared()
        ))
    }
    let cors = cors();
    let policy = RouteCors::builder()
        .bearer_from_any_origin()
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .service(
                web::resource("/declared")
                    .wrap(RouteCorsMiddleware::new(&cors, policy))
                    .route(web::get().to(show)),
            )
            .route("/plain", web::get().to(show)),
    )
    .await;
    let body = |path: &'static str, origin: &'static str, auth: Option<&'static str>| {
        let mut request = test::TestRequest::get()
            .uri(path)
            .insert_header(("origin", origin));
        if let Some(auth) = auth {
            request = request.insert_header(("authorization", auth));
        }
        test::call_and_read_body(&app, request.to_request())
    };
    assert_eq!(
        body("/declared", TRUSTED, None).await,
        "Some(\"https://app.example.com\") true true true"
    );
    assert_eq!(
        body("/declared", "https://other.example", Some("Bearer t")).await,
        "Some(\"https://other.example\") false false true"
    );
    assert_eq!(
        body("/plain", TRUSTED, None).await,
        "None false false false"
    );
}

#[actix_rt::test]
async fn frame_ancestors_follow_the_registry() {
    use trusted_cors_actix::FrameAncestorsMiddleware;
    let cors = cors();
    cors.registry()
        .create(NewTrustedOrigin::new(
            "Portal",
            "https://portal.example.com",
            [ScopeType::IframeEmbed],
        ))
        .unwrap();
    let app = test::init_service(
        App::new().service(
            web::resource("/login")
                .wrap(FrameAncestorsMiddleware::new(&cors))
                .route(web::get().to(HttpResponse::Ok)),
        ),
    )
    .await;
    let response =
        test::call_service(&app, test::TestRequest::get().uri("/login").to_request()).await;
    assert_eq!(
        response.headers().get("content-security-policy").unwrap(),
        "frame-ancestors 'self' https://portal.example.com"
    );
}

/// An application's own OPTIONS answer on an undeclared resource is refused, even when it copies
/// a declared resource's answer word for word.
#[actix_rt::test]
async fn an_application_cannot_pass_for_a_route_declaration() {
    let cors = cors();
    let app = test::init_service(
        App::new()
            .wrap(trusted_cors_actix::GuardMiddleware::new(&cors))
            .route(
                "/own-options",
                web::method(actix_web::http::Method::OPTIONS).to(|| async {
                    HttpResponse::NoContent()
                        .insert_header(("access-control-allow-origin", TRUSTED))
                        .insert_header((
                            "vary",
                            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
                        ))
                        .finish()
                }),
            ),
    )
    .await;
    let request = test::TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/own-options")
        .insert_header(("origin", TRUSTED))
        .insert_header(("access-control-request-method", "GET"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 403);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}
