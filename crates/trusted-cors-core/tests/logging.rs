//! Every denial is logged with `tracing` on target `trusted_cors`, naming the origin, the route
//! and the reason.

mod common;

use common::*;
use trusted_cors_core::decision::RouteScope;
use trusted_cors_core::{HeaderInput, RequestFacts};

fn capture(f: impl FnOnce()) -> String {
    let captured = trusted_cors_testing::Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    captured.text()
}

#[test]
fn a_route_without_the_guard_says_so_once() {
    use std::convert::Infallible;
    use tower::{service_fn, Layer, ServiceExt};

    let handler = service_fn(|_: http::Request<()>| async {
        Ok::<_, Infallible>(http::Response::new(
            http_body_util::Full::<bytes::Bytes>::default(),
        ))
    });
    // A `Cors` whose guard was never applied, and one whose guard wraps the route.
    let route = cors().route(me()).layer(handler);
    let cors = cors();
    let guarded = cors.guard().layer(cors.route(me()).layer(handler));
    let request = || {
        http::Request::get("/api/v1/users/me")
            .header("origin", TRUSTED)
            .body(())
            .unwrap()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let log = capture(|| {
        runtime.block_on(async {
            for _ in 0..3 {
                let response = route.clone().oneshot(request()).await.unwrap();
                assert_eq!(response.status(), 200);
            }
        })
    });
    assert_eq!(
        log.matches("without the global guard layer").count(),
        1,
        "{log}"
    );
    assert!(log.contains("cors.guard()"), "{log}");

    let log = capture(|| {
        runtime.block_on(async {
            let response = guarded.oneshot(request()).await.unwrap();
            assert_eq!(response.status(), 200);
        })
    });
    assert!(!log.contains("guard layer"), "{log}");
}

#[test]
fn denials_are_logged_with_origin_route_and_reason() {
    let cors = cors();
    let policy = me();
    let log = capture(|| {
        let facts = RequestFacts {
            method: "GET",
            path: "/api/v1/users/me",
            origin: HeaderInput::One(UNTRUSTED.as_bytes()),
            ..RequestFacts::default()
        };
        let rejection = cors
            .decide(&facts, RouteScope::Declared(&policy))
            .rejection()
            .cloned()
            .expect("a rejection");
        let reply = cors.refuse(rejection);
        assert_eq!(reply.status(), 403);
    });
    assert!(log.contains("trusted_cors"), "{log}");
    assert!(log.contains("reason=\"origin_not_trusted\""), "{log}");
    assert!(log.contains("origin=https://evil.example"), "{log}");
    assert!(log.contains("route=/api/v1/users/me"), "{log}");
    assert!(log.contains("add it under trusted origins"), "{log}");
}

/// A rule in report mode logs what it would refuse as an enforced one logs its refusals, with
/// `report_only = true`, once per request even where the guard and the route both judge it.
#[test]
fn reports_are_logged_as_refusals_are_with_report_only() {
    use std::convert::Infallible;
    use std::sync::Arc;
    use tower::{service_fn, Layer, ServiceExt};
    use trusted_cors_core::{Cors, CorsConfig, RejectionKind, RuleMode};

    let handler = service_fn(|_: http::Request<()>| async {
        Ok::<_, Infallible>(http::Response::new(
            http_body_util::Full::<bytes::Bytes>::default(),
        ))
    });
    let config = CorsConfig::builder()
        .rule(RejectionKind::OriginNotTrusted, RuleMode::Report)
        .rule(RejectionKind::CredentialSchemeNotAllowed, RuleMode::Report)
        .build()
        .unwrap();
    let cors = Cors::new(config, Arc::new(registry()));
    let app = cors.guard().layer(cors.route(me()).layer(handler));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let log = capture(|| {
        runtime.block_on(async {
            let request = http::Request::get("/api/v1/users/me")
                .header("origin", UNTRUSTED)
                .header("authorization", "Basic dTpw")
                .body(())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
        })
    });
    assert_eq!(log.matches("report_only=true").count(), 2, "{log}");
    assert_eq!(
        log.matches("reason=\"credential_scheme_not_allowed\"")
            .count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("reason=\"origin_not_trusted\"").count(),
        1,
        "{log}"
    );
    assert!(log.contains("would be refused (report only)"), "{log}");
    assert!(log.contains("origin=https://evil.example"), "{log}");
    assert!(!log.contains("report_only=false"), "{log}");
}
