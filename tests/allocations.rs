//! How many heap allocations the layers add to a request, counted with a counting allocator
//! around the same application with and without them (the difference is the layers' own).
//!
//! Requests without `Origin`, same-origin requests and allowed actual requests cost nothing once
//! the request has an extension map — as every request routed by axum has, and every request of
//! an actix-web server that has served one before (actix pools requests and keeps the map). On a
//! request with no extension map at all, the one mark a declared route leaves for handlers costs
//! the map itself. Preflight answers and refusals build a response (mostly in the request's own
//! maps), and their counts are pinned here so that they only ever go down.

mod common;

use std::convert::Infallible;

use actix_web::dev::Service as _;
use actix_web::{test as actix_test, web, App, HttpMessage, HttpResponse};
use bytes::Bytes;
use futures_util::FutureExt;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, Layer, ServiceExt};

use common::{cors, me_policy, TRUSTED, UNTRUSTED};

fn allocations(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

/// A request case: method, path, headers.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const NO_ORIGIN: Case = ("GET", "/me", &[("cookie", "sid=1")]);
const SAME_ORIGIN: Case = (
    "GET",
    "/me",
    &[("origin", TRUSTED), ("sec-fetch-site", "same-origin")],
);
const ALLOWED_GET: Case = ("GET", "/me", &[("origin", TRUSTED), ("cookie", "sid=1")]);
const ALLOWED_BEARER: Case = (
    "GET",
    "/me",
    &[("origin", UNTRUSTED), ("authorization", "Bearer at-1")],
);
const PREFLIGHT: Case = (
    "OPTIONS",
    "/me",
    &[
        ("origin", TRUSTED),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type"),
    ],
);
const REFUSED: Case = ("GET", "/me", &[("origin", UNTRUSTED)]);
/// A WebSocket handshake from a trusted origin (the handler answers it as a `GET` here).
const TRUSTED_HANDSHAKE: Case = (
    "GET",
    "/me",
    &[
        ("origin", TRUSTED),
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
        ("cookie", "sid=1"),
    ],
);
const UNDECLARED_GET: Case = ("GET", "/plain", &[("origin", TRUSTED), ("cookie", "sid=1")]);

/// Header values share their bytes, as those a server parses from its read buffer do (a value
/// copied from a string would allocate when a layer clones it to echo it).
fn http_request(case: Case) -> Request<axum::body::Body> {
    let (method, path, headers) = case;
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, http::HeaderValue::from_static(value));
    }
    request.body(axum::body::Body::empty()).unwrap()
}

mod axum_stack {
    use super::*;
    use axum::routing::{any, get};
    use axum::Router;

    async fn handler() -> impl axum::response::IntoResponse {
        ([("content-type", "text/plain")], StatusCode::NO_CONTENT)
    }

    /// The same router with layers that do nothing at the same places, so that what axum itself
    /// spends on a layer (boxing the route and its future) is on both sides.
    ///
    /// Both are finalized with `with_state(())`, as `axum::serve` does: a router that is not
    /// builds its routes, and applies their layers, again on every request.
    fn apps() -> (Router, Router) {
        let cors = cors();
        let identity = tower::layer::util::Identity::new;
        // The bare `/me` answers every method, so a preflight costs it what a handler costs.
        let bare = Router::new()
            .route("/me", any(handler).layer(identity()))
            .route("/plain", get(handler))
            .layer(identity());
        let layered = Router::new()
            .route("/me", any(handler).layer(cors.route(me_policy())))
            .route("/plain", get(handler))
            .layer(cors.guard());
        (bare.with_state(()), layered.with_state(()))
    }

    /// What the layers add to one request through an axum `Router`.
    fn added(case: Case) -> i64 {
        let (bare, layered) = apps();
        run_counted(&layered, case) as i64 - run_counted(&bare, case) as i64
    }

    /// The allocations of one call after a warm-up call (thread-locals, lazily built state);
    /// the request is built before counting.
    fn run_counted(app: &Router, case: Case) -> u64 {
        let call = || {
            let request = http_request(case);
            let app = app.clone();
            allocations(|| {
                let response = app
                    .oneshot(request)
                    .now_or_never()
                    .expect("ready")
                    .expect("infallible");
                drop(response);
            })
        };
        call();
        call()
    }

    #[test]
    fn axum_allowed_requests_allocate_nothing() {
        assert_eq!(added(NO_ORIGIN), 0, "no Origin");
        assert_eq!(added(SAME_ORIGIN), 0, "same-origin");
        assert_eq!(added(ALLOWED_GET), 0, "allowed credentialed GET");
        assert_eq!(added(ALLOWED_BEARER), 0, "allowed bearer GET");
        assert_eq!(added(TRUSTED_HANDSHAKE), 0, "trusted WebSocket handshake");
        assert_eq!(added(UNDECLARED_GET), 0, "GET to an undeclared route");
    }

    #[test]
    fn axum_answers_and_refusals_cost_what_they_build() {
        let preflight = added(PREFLIGHT);
        let refused = added(REFUSED);
        println!("axum: preflight +{preflight} allocations, refusal +{refused}");
        assert_eq!(preflight, AXUM_PREFLIGHT);
        assert_eq!(refused, AXUM_REFUSAL);
    }
}

/// A preflight answer builds nothing the request did not have: on Tower and axum its headers go
/// into the request's own header map and its typed mark (by which the guard knows a declared
/// route answered) into the request's extension map, both emptied; on actix-web the headers go
/// into the pooled response and the mark into the request's pooled extensions. So a preflight
/// costs one allocation less than the handler the bare app runs instead on Tower and axum (on
/// Tower: the handler's response header map takes two; the guard's copy of a URI whose bytes are
/// not shared yet, one), two less on actix-web (the handler's response). Measured, and pinned
/// here so that a change that adds one is seen.
const TOWER_PREFLIGHT: i64 = -1;
const AXUM_PREFLIGHT: i64 = -1;
/// A refusal: the rejection's origin and path texts, the cause in words, the Okta error object
/// and its JSON, the reply's header list (its header and extension maps are the request's on
/// Tower and axum). Measured and pinned.
const TOWER_REFUSAL: i64 = 17;
const AXUM_REFUSAL: i64 = 16;

mod tower_stack {
    use super::*;

    /// A handler whose response has a header, as every real response has (`content-type`,
    /// `content-length`): on an empty header map, any first header costs the map's storage.
    pub(super) fn handler(
        _request: Request<()>,
    ) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
        let mut response = Response::new(Full::default());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        );
        std::future::ready(Ok(response))
    }

    pub(super) fn request(case: Case, with_extension_map: bool) -> Request<()> {
        let (method, path, headers) = case;
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, http::HeaderValue::from_static(value));
        }
        let mut request = request.body(()).unwrap();
        if with_extension_map {
            // What a router leaves on every request it routes (axum puts the path parameters).
            request.extensions_mut().insert(7u32);
        }
        request
    }

    fn added(case: Case, with_extension_map: bool) -> i64 {
        let cors = cors();
        let layered = cors
            .guard()
            .layer(cors.route(me_policy()).layer(service_fn(handler)));
        let bare = service_fn(handler);
        let count = |call: &dyn Fn(Request<()>)| {
            call(request(case, with_extension_map));
            let request = request(case, with_extension_map);
            allocations(|| call(request))
        };
        let layered = count(&|request| {
            drop(layered.clone().oneshot(request).now_or_never().unwrap());
        });
        let bare = count(&|request| {
            drop(bare.oneshot(request).now_or_never().unwrap());
        });
        layered as i64 - bare as i64
    }

    #[test]
    fn tower_allowed_requests_allocate_nothing() {
        for (name, case) in [
            ("no Origin", NO_ORIGIN),
            ("same-origin", SAME_ORIGIN),
            ("allowed credentialed GET", ALLOWED_GET),
            ("allowed bearer GET", ALLOWED_BEARER),
            ("trusted WebSocket handshake", TRUSTED_HANDSHAKE),
        ] {
            assert_eq!(added(case, true), 0, "{name}");
            // Without any extension map, the handlers' mark costs the map: its box and table.
            assert_eq!(
                added(case, false),
                2,
                "{name} on a request with no extension map"
            );
        }
    }

    #[test]
    fn tower_answers_and_refusals_cost_what_they_build() {
        let preflight = added(PREFLIGHT, true);
        let refused = added(REFUSED, true);
        println!("tower: preflight +{preflight} allocations, refusal +{refused}");
        assert_eq!(preflight, TOWER_PREFLIGHT);
        assert_eq!(refused, TOWER_REFUSAL);
    }
}

/// With metrics on, the layers count every decision and still allocate nothing of their own: the
/// counters' keys are made when the route is declared, with shared label lists, and each count
/// asks the installed recorder for the counter by reference. What the recorder does then is its
/// own: one that hands out the handle it keeps (as [`SharedHandles`] here) adds nothing, and the
/// Prometheus exporter (`metrics-exporter-prometheus` 0.18) allocates one small `Arc` per count,
/// the generational wrapper metrics-util puts around its handle. Both are measured and pinned.
/// (The first request of each outcome, reason and route registers its counter, which allocates
/// in the recorder; counts are taken after one warm-up call.)
#[cfg(feature = "metrics")]
mod metrics_on {
    use super::*;
    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };
    use metrics_exporter_prometheus::PrometheusBuilder;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicU64;
    use std::sync::{Arc, Mutex};

    /// A recorder that keeps one counter per key (by the key's hash) and hands out clones of
    /// its `Arc`: a count costs a lock and a lookup, no allocation.
    #[derive(Default)]
    struct SharedHandles(Mutex<HashMap<u64, Arc<AtomicU64>>>);

    impl Recorder for SharedHandles {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let mut counters = self.0.lock().unwrap();
            Counter::from_arc(Arc::clone(counters.entry(key.get_hash()).or_default()))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }
    use trusted_cors::{Cors, CorsConfig, Registry};

    use super::tower_stack::handler;

    /// The Tower stack's request, with the extension map a router leaves.
    fn request(case: Case) -> Request<()> {
        super::tower_stack::request(case, true)
    }

    fn cors(metrics: bool) -> Cors {
        let config = CorsConfig::builder()
            .allow_cross_site_form_posts("/sso/saml2/{app}")
            .diagnostics_header(true)
            .metrics(metrics)
            .build()
            .unwrap();
        Cors::new(
            config,
            Arc::new(Registry::with_origins(common::seeds()).unwrap()),
        )
    }

    /// What the layers add to one request over the bare handler, with metrics `on`.
    fn added(case: Case, on: bool) -> i64 {
        let cors = cors(on);
        let policy = trusted_cors_testing::fixtures::me_builder()
            .name("users_me")
            .build()
            .unwrap();
        let layered = cors
            .guard()
            .layer(cors.route(policy).layer(service_fn(handler)));
        let bare = service_fn(handler);
        let count = |call: &dyn Fn(Request<()>)| {
            call(request(case));
            let request = request(case);
            allocations(|| call(request))
        };
        let layered = count(&|request| {
            drop(layered.clone().oneshot(request).now_or_never().unwrap());
        });
        let bare = count(&|request| {
            drop(bare.oneshot(request).now_or_never().unwrap());
        });
        layered as i64 - bare as i64
    }

    /// Allowed requests, preflights and refusals cost with metrics on what they cost without,
    /// plus `per_count` for each decision counted (0 for requests that are not counted).
    fn assert_costs(per_count: i64) {
        for (name, case, counted) in [
            ("allowed credentialed GET", ALLOWED_GET, 1),
            ("allowed bearer GET", ALLOWED_BEARER, 1),
            ("no Origin", NO_ORIGIN, 0),
            ("same-origin", SAME_ORIGIN, 0),
            ("preflight", PREFLIGHT, 1),
            ("refusal", REFUSED, 1),
        ] {
            let off = added(case, false);
            assert_eq!(added(case, true), off + counted * per_count, "{name}");
        }
        assert_eq!(added(ALLOWED_GET, false), 0);
    }

    #[test]
    fn counting_decisions_allocates_nothing_in_the_layers() {
        let recorder = SharedHandles::default();
        metrics::with_local_recorder(&recorder, || assert_costs(0));
        let counted: u64 = (recorder.0.lock().unwrap().values())
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .sum();
        // Two calls (warm-up and measured) of each counted case.
        assert_eq!(counted, 8);
    }

    #[test]
    fn the_prometheus_exporter_allocates_one_handle_per_count() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || assert_costs(1));
        // The calls were counted (two per `added`: the warm-up and the measured one).
        let text = handle.render();
        for line in [
            r#"trusted_cors_decisions_total{outcome="allowed",reason="none",route="users_me"} 4"#,
            r#"trusted_cors_decisions_total{outcome="preflight",reason="none",route="users_me"} 2"#,
            r#"trusted_cors_decisions_total{outcome="rejected",reason="origin_not_trusted",route="users_me"} 2"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }
    }
}

const ACTIX_PREFLIGHT: i64 = -2;
const ACTIX_REFUSAL: i64 = 19;

mod actix_stack {
    use super::*;

    async fn handler() -> HttpResponse {
        HttpResponse::NoContent()
            .insert_header(("content-type", "text/plain"))
            .finish()
    }

    fn service_request(case: Case, with_extension_map: bool) -> actix_http::Request {
        let (method, path, headers) = case;
        let mut request = actix_test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path);
        for (name, value) in headers {
            let value = actix_web::http::header::HeaderValue::from_static(value);
            request = request.insert_header((*name, value));
        }
        let request = request.to_request();
        if with_extension_map {
            // A pooled request of a running server keeps its map's capacity.
            request.extensions_mut().insert(7u32);
            request.extensions_mut().remove::<u32>();
        }
        request
    }

    async fn added(case: Case, with_extension_map: bool) -> i64 {
        let cors = cors();
        let layered = actix_test::init_service(
            App::new()
                .wrap(trusted_cors::for_actix::GuardMiddleware::new(&cors))
                .service(
                    web::resource("/me")
                        .wrap(trusted_cors::for_actix::RouteCorsMiddleware::new(
                            &cors,
                            me_policy(),
                        ))
                        .route(web::route().to(handler)),
                )
                .route("/plain", web::get().to(handler)),
        )
        .await;
        let bare = actix_test::init_service(
            App::new()
                // Every method, so a preflight costs the bare app what a handler costs.
                .service(web::resource("/me").route(web::route().to(handler)))
                .route("/plain", web::get().to(handler)),
        )
        .await;
        let mut counts = [0i64; 2];
        for _ in 0..2 {
            let request = service_request(case, with_extension_map);
            counts[0] = allocations(|| {
                drop(layered.call(request).now_or_never().unwrap().unwrap());
            }) as i64;
            let request = service_request(case, with_extension_map);
            counts[1] = allocations(|| {
                drop(bare.call(request).now_or_never().unwrap().unwrap());
            }) as i64;
        }
        counts[0] - counts[1]
    }

    #[actix_rt::test]
    async fn actix_allowed_requests_allocate_nothing() {
        for (name, case) in [
            ("no Origin", NO_ORIGIN),
            ("same-origin", SAME_ORIGIN),
            ("allowed credentialed GET", ALLOWED_GET),
            ("allowed bearer GET", ALLOWED_BEARER),
            ("GET to an undeclared route", UNDECLARED_GET),
            ("trusted WebSocket handshake", TRUSTED_HANDSHAKE),
        ] {
            assert_eq!(added(case, true).await, 0, "{name}");
            // On a request that never had an extension map, the handlers' mark of a declared
            // resource costs the map's table.
            let declared = case.1 == "/me";
            let fresh = added(case, false).await;
            assert_eq!(fresh, i64::from(declared), "{name} on a fresh request");
        }
        let preflight = added(PREFLIGHT, true).await;
        let refused = added(REFUSED, true).await;
        println!("actix: preflight +{preflight} allocations, refusal +{refused}");
        assert_eq!(preflight, ACTIX_PREFLIGHT);
        assert_eq!(refused, ACTIX_REFUSAL);
    }
}
