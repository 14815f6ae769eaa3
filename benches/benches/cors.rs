//! trusted-cors against tower-http's `CorsLayer` and actix-cors, in the same run, on the same
//! requests: an allowed credentialed GET from a trusted origin, and an allowed preflight. Plus the
//! registry lookup at 10 and 10 000 trusted origins (exact lookups are O(1)).
//!
//! Run with `cargo bench -p trusted-cors-benches`.
#![allow(missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use futures_util::FutureExt;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::Full;
use tower::{service_fn, Layer, Service};
use trusted_cors::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};

const ORIGIN: &str = "https://app.example.com";

fn handler(
) -> impl Service<Request<()>, Response = Response<Full<Bytes>>, Error = Infallible, Future: Send> + Clone
{
    service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
    })
}

fn get_request() -> Request<()> {
    Request::get("/api/v1/users/me")
        .header("origin", ORIGIN)
        .header("cookie", "sid=1")
        .body(())
        .unwrap()
}

fn preflight_request() -> Request<()> {
    Request::options("/api/v1/users/me")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .body(())
        .unwrap()
}

fn trusted_cors() -> Cors {
    let registry =
        Registry::with_origins([NewTrustedOrigin::new("App", ORIGIN, [ScopeType::Cors])]).unwrap();
    Cors::new(CorsConfig::default(), Arc::new(registry))
}

fn policy() -> RouteCors {
    RouteCors::builder()
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type"])
        .build()
        .unwrap()
}

fn tower_http_layer() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin([HeaderValue::from_static(ORIGIN)])
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers([http::header::CONTENT_TYPE])
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

fn tower_layers(c: &mut Criterion) {
    let cors = trusted_cors();
    let mut ours = cors.guard().layer(cors.route(policy()).layer(handler()));
    let mut theirs = tower_http_layer().layer(handler());
    assert_eq!(
        call(&mut ours, get_request()).headers()["access-control-allow-origin"],
        ORIGIN
    );
    assert_eq!(
        call(&mut theirs, get_request()).headers()["access-control-allow-origin"],
        ORIGIN
    );
    assert_eq!(call(&mut ours, preflight_request()).status(), 204);
    assert!(call(&mut theirs, preflight_request()).status().is_success());

    let mut group = c.benchmark_group("tower/allowed_get");
    group.bench_function("trusted-cors", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut ours, r)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("tower-http", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut theirs, r)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("tower/preflight");
    group.bench_function("trusted-cors", |b| {
        b.iter_batched(
            preflight_request,
            |r| black_box(call(&mut ours, r)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("tower-http", |b| {
        b.iter_batched(
            preflight_request,
            |r| black_box(call(&mut theirs, r)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn actix_middleware(c: &mut Criterion) {
    use actix_web::{test, web, App, HttpResponse};

    let runtime = actix_rt::System::new();
    let cors = trusted_cors();
    let ours = runtime.block_on(test::init_service(
        App::new()
            .wrap(trusted_cors::actix::CorsMiddleware::new(&cors))
            .service(
                web::resource("/api/v1/users/me")
                    .wrap(trusted_cors::actix::RouteCorsMiddleware::new(
                        &cors,
                        policy(),
                    ))
                    .route(web::get().to(|| async { HttpResponse::Ok().body("{}") })),
            ),
    ));
    let theirs = runtime.block_on(test::init_service(
        App::new()
            .wrap(
                actix_cors::Cors::default()
                    .allowed_origin(ORIGIN)
                    .supports_credentials()
                    .allowed_methods(["GET", "PUT"])
                    .allowed_header(actix_web::http::header::CONTENT_TYPE),
            )
            .service(
                web::resource("/api/v1/users/me")
                    .route(web::get().to(|| async { HttpResponse::Ok().body("{}") })),
            ),
    ));
    let get = || {
        test::TestRequest::get()
            .uri("/api/v1/users/me")
            .insert_header(("origin", ORIGIN))
            .insert_header(("cookie", "sid=1"))
            .to_request()
    };
    runtime.block_on(async {
        for response in [
            test::call_service(&ours, get()).await,
            test::call_service(&theirs, get()).await,
        ] {
            let allowed = response
                .headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok());
            assert_eq!(allowed, Some(ORIGIN));
        }
    });

    let mut group = c.benchmark_group("actix/allowed_get");
    group.bench_function("trusted-cors", |b| {
        b.iter_batched(
            get,
            |r| runtime.block_on(async { black_box(test::call_service(&ours, r).await) }),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("actix-cors", |b| {
        b.iter_batched(
            get,
            |r| runtime.block_on(async { black_box(test::call_service(&theirs, r).await) }),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn registry_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("registry/trusted");
    for size in [10usize, 10_000] {
        let registry = Registry::with_origins((0..size).map(|i| {
            NewTrustedOrigin::new(
                format!("o{i}"),
                format!("https://app{i}.example.com"),
                [ScopeType::Cors],
            )
        }))
        .unwrap();
        registry
            .create(NewTrustedOrigin::new(
                "wild",
                "https://*.tenants.example.net",
                [ScopeType::Cors],
            ))
            .unwrap();
        let snapshot = registry.snapshot_arc();
        let exact = format!("https://app{}.example.com", size / 2);
        group.bench_with_input(BenchmarkId::new("exact", size), &exact, |b, origin| {
            b.iter(|| {
                black_box(
                    snapshot
                        .trusted(black_box(origin), ScopeType::Cors)
                        .is_some(),
                )
            })
        });
        group.bench_with_input(
            BenchmarkId::new("wildcard", size),
            "https://a.b.tenants.example.net",
            |b, origin| {
                b.iter(|| {
                    black_box(
                        snapshot
                            .trusted(black_box(origin), ScopeType::Cors)
                            .is_some(),
                    )
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, tower_layers, actix_middleware, registry_lookup);
criterion_main!(benches);
