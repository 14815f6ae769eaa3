//! trusted-cors against tower-http's `CorsLayer` and actix-cors, in the same run, on the same
//! requests, with the same origin list; each beside the bare inner service (the floor).
//!
//! Scenarios: no `Origin`; same-origin; an allowed credentialed GET; an allowed preflight asking
//! for `content-type`; a denied origin. Registry sizes: 10, 1 000, 100 000 and 1 000 000 exact
//! origins (the allowed origin is the last one), and 1 000 wildcard patterns.
//!
//! Run with `cargo bench -p trusted-cors-benches --bench cors`; `CORS_BENCH_SIZES=10,1000`
//! limits the sizes (the default is all of them).
//!
//! The `metrics/…` groups compare trusted-cors with metrics off and on (10 origins, an allowed GET
//! and a preflight, behind the guard): off; on with no recorder installed; on with the Prometheus
//! exporter's recorder. Run only them with `-- metrics/`.
#![allow(missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion};
use futures_util::FutureExt;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::Full;
use tower::{service_fn, Layer, Service};
use trusted_cors::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};

const THIS_ORIGIN: &str = "https://api.example.com";
const DENIED: &str = "https://evil.example";

/// One registry configuration: its origins (exact, or `*.` patterns) and the allowed origin.
struct Setup {
    label: String,
    origins: Vec<String>,
    allowed: String,
    wildcard: bool,
}

fn setups() -> Vec<Setup> {
    let sizes: Vec<usize> = std::env::var("CORS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 1_000, 100_000, 1_000_000]);
    let mut setups: Vec<Setup> = sizes
        .iter()
        .map(|&n| {
            let origins: Vec<String> = (0..n)
                .map(|i| format!("https://app{i}.example.com"))
                .collect();
            Setup {
                label: format!("exact-{n}"),
                allowed: origins[n - 1].clone(),
                origins,
                wildcard: false,
            }
        })
        .collect();
    let patterns: Vec<String> = (0..1_000)
        .map(|i| format!("https://*.tenant{i}.example.net"))
        .collect();
    setups.push(Setup {
        label: "wildcard-1000".into(),
        origins: patterns,
        allowed: "https://shop.tenant999.example.net".into(),
        wildcard: true,
    });
    setups
}

/// A request of one scenario.
#[derive(Clone, Copy)]
enum Scenario {
    NoOrigin,
    SameOrigin,
    AllowedGet,
    Preflight,
    Denied,
}

const SCENARIOS: [(Scenario, &str); 5] = [
    (Scenario::NoOrigin, "no_origin"),
    (Scenario::SameOrigin, "same_origin"),
    (Scenario::AllowedGet, "allowed_get"),
    (Scenario::Preflight, "preflight"),
    (Scenario::Denied, "denied"),
];

/// Header values share their bytes, as those a server parses from its read buffer do.
fn headers(scenario: Scenario, allowed: &str) -> Vec<(&'static str, HeaderValue)> {
    let value = |s: &str| HeaderValue::from_maybe_shared(Bytes::copy_from_slice(s.as_bytes()));
    let value = |s: &str| value(s).expect("header value");
    let mut headers = vec![("host", value("api.example.com"))];
    match scenario {
        Scenario::NoOrigin => headers.push(("cookie", value("sid=1"))),
        Scenario::SameOrigin => {
            headers.push(("origin", value(THIS_ORIGIN)));
            headers.push(("sec-fetch-site", value("same-origin")));
            headers.push(("cookie", value("sid=1")));
        }
        Scenario::AllowedGet => {
            headers.push(("origin", value(allowed)));
            headers.push(("cookie", value("sid=1")));
        }
        Scenario::Preflight => {
            headers.push(("origin", value(allowed)));
            headers.push(("access-control-request-method", value("PUT")));
            headers.push(("access-control-request-headers", value("content-type")));
        }
        Scenario::Denied => headers.push(("origin", value(DENIED))),
    }
    headers
}

fn method(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Preflight => "OPTIONS",
        _ => "GET",
    }
}

/// The request target, parsed from bytes shared as a server's are (hyper slices the target
/// from its read buffer), so that cloning the URI counts a reference rather than copying it.
fn target() -> http::Uri {
    thread_local! {
        static TARGET: Bytes = bytes::BytesMut::from(&b"/api/v1/users/me"[..]).split().freeze();
    }
    let bytes = TARGET.with(Bytes::clone);
    http::Uri::from_maybe_shared(bytes).expect("uri")
}

fn http_request(scenario: Scenario, headers: &[(&'static str, HeaderValue)]) -> Request<()> {
    let mut request = Request::builder().method(method(scenario)).uri(target());
    for (name, value) in headers {
        request = request.header(*name, value.clone());
    }
    let mut request = request.body(()).expect("request");
    // Every request a router hands on carries an extension map (axum's path parameters).
    request.extensions_mut().insert(0u8);
    request
}

fn trusted_cors(setup: &Setup) -> Cors {
    trusted_cors_with(setup, false)
}

fn trusted_cors_with(setup: &Setup, metrics: bool) -> Cors {
    let registry = Registry::with_origins(setup.origins.iter().enumerate().map(|(i, origin)| {
        NewTrustedOrigin::new(format!("o{i}"), origin.clone(), [ScopeType::Cors])
    }))
    .expect("registry");
    let config = CorsConfig::builder()
        .public_origin(THIS_ORIGIN)
        .metrics(metrics)
        .build()
        .expect("config");
    Cors::new(config, registry)
}

fn policy() -> RouteCors {
    RouteCors::builder()
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type"])
        .build()
        .expect("policy")
}

/// Whether `origin` matches one of the `https://*.domain` patterns, label by label.
fn matches_pattern(patterns: &[String], origin: &[u8]) -> bool {
    let Some(host) = origin.strip_prefix(b"https://") else {
        return false;
    };
    patterns.iter().any(|pattern| {
        let base = &pattern.as_bytes()["https://*".len()..];
        host.len() > base.len() && host.ends_with(base)
    })
}

fn tower_http_layer(setup: &Setup) -> tower_http::cors::CorsLayer {
    let allow_origin = if setup.wildcard {
        let patterns = setup.origins.clone();
        tower_http::cors::AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            matches_pattern(&patterns, origin.as_bytes())
        })
    } else {
        tower_http::cors::AllowOrigin::list(
            setup
                .origins
                .iter()
                .map(|o| HeaderValue::from_str(o).expect("origin")),
        )
    };
    tower_http::cors::CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers([http::header::CONTENT_TYPE])
}

fn handler(
) -> impl Service<Request<()>, Response = Response<Full<Bytes>>, Error = Infallible, Future: Send> + Clone
{
    service_fn(|_req: Request<()>| async {
        let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok::<_, Infallible>(response)
    })
}

/// Calls a service whose future is ready at once (no runtime needed); the response is dropped
/// inside the timing (it is part of the cost), only its status leaves.
fn status<S, B>(service: &mut S, request: Request<()>) -> u16
where
    S: Service<Request<()>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    call(service, request).status().as_u16()
}

/// Calls a service whose future is ready at once (no runtime needed).
fn call<S, B>(service: &mut S, request: Request<()>) -> Response<B>
where
    S: Service<Request<()>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    service
        .call(request)
        .now_or_never()
        .expect("ready")
        .expect("ok")
}

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, size: usize) {
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(if size >= 100_000 {
            1_500
        } else {
            800
        }))
        .sample_size(20);
}

fn size_of(setup: &Setup) -> usize {
    setup.origins.len()
}

fn tower_layers(c: &mut Criterion) {
    for setup in setups() {
        let cors = trusted_cors(&setup);
        let mut bare = handler();
        let mut ours = cors.guard().layer(cors.route(policy()).layer(handler()));
        let mut theirs = tower_http_layer(&setup).layer(handler());
        for (scenario, name) in SCENARIOS {
            let headers = headers(scenario, &setup.allowed);
            let request = || http_request(scenario, &headers);
            check_tower(scenario, &mut ours, &mut theirs, request);
            let mut group = c.benchmark_group(format!("tower/{name}/{}", setup.label));
            configure(&mut group, size_of(&setup));
            group.bench_function("bare", |b| {
                b.iter_batched(
                    request,
                    |r| black_box(status(&mut bare, r)),
                    BatchSize::SmallInput,
                )
            });
            group.bench_function("trusted-cors", |b| {
                b.iter_batched(
                    request,
                    |r| black_box(status(&mut ours, r)),
                    BatchSize::SmallInput,
                )
            });
            group.bench_function("tower-http", |b| {
                b.iter_batched(
                    request,
                    |r| black_box(status(&mut theirs, r)),
                    BatchSize::SmallInput,
                )
            });
            group.finish();
        }
    }
}

/// Metrics off against on, in one run: the cost of counting a decision.
fn metrics_overhead(c: &mut Criterion) {
    let setup = setups().into_iter().min_by_key(size_of).expect("a setup");
    let named = || {
        RouteCors::builder()
            .name("users_me")
            .allow_methods(["GET", "PUT"])
            .allow_headers(["content-type"])
            .build()
            .expect("policy")
    };
    let app = |metrics: bool| {
        let cors = trusted_cors_with(&setup, metrics);
        cors.guard().layer(cors.route(named()).layer(handler()))
    };
    let (mut off, mut on) = (app(false), app(true));
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = prometheus.handle();
    // Whether the Prometheus runs ran (a filter given to `cargo bench` may leave them out).
    let ran = std::cell::Cell::new(false);
    for (scenario, name) in [
        (Scenario::AllowedGet, "allowed_get"),
        (Scenario::Preflight, "preflight"),
    ] {
        let headers = headers(scenario, &setup.allowed);
        let request = || http_request(scenario, &headers);
        let expected = status(&mut off, request());
        assert_eq!(status(&mut on, request()), expected);
        let mut group = c.benchmark_group(format!("metrics/{name}/{}", setup.label));
        configure(&mut group, size_of(&setup));
        group.bench_function("metrics-off", |b| {
            b.iter_batched(
                request,
                |r| black_box(status(&mut off, r)),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("metrics-on-no-recorder", |b| {
            b.iter_batched(
                request,
                |r| black_box(status(&mut on, r)),
                BatchSize::SmallInput,
            )
        });
        // The thread's recorder while this runs (criterion runs on this thread).
        let _installed = metrics::set_default_local_recorder(&prometheus);
        group.bench_function("metrics-on-prometheus", |b| {
            ran.set(true);
            b.iter_batched(
                request,
                |r| black_box(status(&mut on, r)),
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
    // The Prometheus runs were counted.
    assert!(!ran.get() || handle.render().contains("trusted_cors_decisions_total"));
}

/// Both layers answer the scenario as it is meant (so the benchmark measures real work).
fn check_tower<A, B, BA, BB>(
    scenario: Scenario,
    ours: &mut A,
    theirs: &mut B,
    request: impl Fn() -> Request<()>,
) where
    A: Service<Request<()>, Response = Response<BA>>,
    B: Service<Request<()>, Response = Response<BB>>,
    A::Error: std::fmt::Debug,
    B::Error: std::fmt::Debug,
{
    let ours = call(ours, request());
    let theirs = call(theirs, request());
    let allowed = |r: &http::HeaderMap| r.contains_key("access-control-allow-origin");
    match scenario {
        Scenario::AllowedGet | Scenario::Preflight => {
            assert!(allowed(ours.headers()) && allowed(theirs.headers()));
        }
        Scenario::Denied => {
            assert_eq!(ours.status(), 403);
            assert!(!allowed(theirs.headers()));
        }
        Scenario::NoOrigin | Scenario::SameOrigin => {
            assert_eq!(ours.status(), 200);
            assert!(!allowed(ours.headers()));
        }
    }
}

fn actix_middleware(c: &mut Criterion) {
    use actix_web::{test, web, App, HttpMessage, HttpResponse};

    let runtime = actix_rt::System::new();
    let handler = || async {
        HttpResponse::Ok()
            .insert_header(("content-type", "application/json"))
            .body("{}")
    };
    for setup in setups() {
        let cors = trusted_cors(&setup);
        let bare = runtime.block_on(test::init_service(
            App::new().service(web::resource("/api/v1/users/me").route(web::route().to(handler))),
        ));
        let ours = runtime.block_on(test::init_service(
            App::new()
                .wrap(trusted_cors::for_actix::GuardMiddleware::new(&cors))
                .service(
                    web::resource("/api/v1/users/me")
                        .wrap(trusted_cors::for_actix::RouteCorsMiddleware::new(
                            &cors,
                            policy(),
                        ))
                        .route(web::route().to(handler)),
                ),
        ));
        let mut peer = actix_cors::Cors::default()
            .supports_credentials()
            .allowed_methods(["GET", "PUT"])
            .allowed_header(actix_web::http::header::CONTENT_TYPE);
        if setup.wildcard {
            let patterns = setup.origins.clone();
            peer = peer
                .allowed_origin_fn(move |origin, _| matches_pattern(&patterns, origin.as_bytes()));
        } else {
            for origin in &setup.origins {
                peer = peer.allowed_origin(origin);
            }
        }
        let theirs =
            runtime.block_on(test::init_service(App::new().wrap(peer).service(
                web::resource("/api/v1/users/me").route(web::route().to(handler)),
            )));
        for (scenario, name) in SCENARIOS {
            let headers = headers(scenario, &setup.allowed);
            let request = || {
                let mut request = test::TestRequest::default()
                    .method(method(scenario).parse().expect("method"))
                    .uri("/api/v1/users/me");
                for (name, value) in &headers {
                    // Shared, as a server's parsed values are (see `headers`): cloned once.
                    let bytes = Bytes::copy_from_slice(value.as_bytes());
                    let value =
                        actix_web::http::header::HeaderValue::from_maybe_shared(bytes.clone())
                            .expect("value");
                    request = request.insert_header((*name, value));
                }
                let request = request.to_request();
                // A running server's requests are pooled and keep their extension map's room.
                request.extensions_mut().insert(0u8);
                request.extensions_mut().remove::<u8>();
                request
            };
            let mut group = c.benchmark_group(format!("actix/{name}/{}", setup.label));
            configure(&mut group, size_of(&setup));
            group.bench_function("bare", |b| {
                b.iter_batched(request, |r| run(&runtime, &bare, r), BatchSize::SmallInput)
            });
            group.bench_function("trusted-cors", |b| {
                b.iter_batched(request, |r| run(&runtime, &ours, r), BatchSize::SmallInput)
            });
            group.bench_function("actix-cors", |b| {
                b.iter_batched(
                    request,
                    |r| run(&runtime, &theirs, r),
                    BatchSize::SmallInput,
                )
            });
            group.finish();
        }
    }

    /// One call on the actix system; the status, whether the app answered or erred.
    fn run<S, B>(runtime: &actix_rt::SystemRunner, app: &S, request: actix_http::Request) -> u16
    where
        S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    {
        runtime.block_on(async {
            match app.call(request).await {
                Ok(response) => black_box(response).status().as_u16(),
                Err(error) => error.as_response_error().status_code().as_u16(),
            }
        })
    }
}

criterion_group!(benches, tower_layers, actix_middleware, metrics_overhead);
criterion_main!(benches);
