//! `use trusted_cors::*;` next to the crates its users import must compile: the facade exports
//! no module named after one of them (it once re-exported modules named `tower`, `axum` and
//! `actix`, which made these imports an E0659 ambiguity).

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::{service_fn, Layer, ServiceExt};
#[allow(unused_imports)]
use trusted_cors::*;
#[allow(unused_imports)]
use {actix_web::App, axum::Router};

#[tokio::test]
async fn the_prelude_and_tower_import_together() {
    let cors = Cors::new(CorsConfig::default(), Registry::new());
    let app = cors
        .guard()
        .layer(cors.route(RouteCors::default()).layer(service_fn(
            |_request: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            },
        )));
    // `oneshot` comes from `tower::ServiceExt`, which the glob import must not shadow.
    let response = app
        .oneshot(Request::get("/").body(Full::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["vary"], "Origin");
}

#[test]
fn the_adapters_are_reachable_beside_the_framework_crates() {
    // Both the framework crates and the adapters resolve, without ambiguity.
    let _router: Router = Router::new();
    let _cors = for_axum::CorsContext(CorsOutcome::default());
    let _app = App::new();
    let _outcome = for_actix::CorsContext(CorsOutcome::default());
}
