//! `use trusted_cors::*;` next to `use tower::ServiceExt;` must compile: the facade exports no
//! module named after a crate its users import (it once re-exported a module named `tower`,
//! which made this an E0659 ambiguity).

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::{service_fn, Layer, ServiceExt};
#[allow(unused_imports)]
use trusted_cors::*;

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
