//! Runs one scenario through one stack a given number of times, for profilers:
//! `valgrind --tool=callgrind target/release/cors-profile trusted-cors allowed_get 10000`
//! (Tower stacks: bare, trusted-cors, tower-http; actix-web stacks: actix-bare,
//! actix-trusted-cors, actix-cors; scenarios: no_origin, same_origin, allowed_get, preflight,
//! denied). Compare two iteration counts to get the cost of one request.

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::Full;
use tower::{service_fn, Layer, Service};
use trusted_cors::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (stack, scenario, count) = match &args[..] {
        [_, stack, scenario, count] => (
            stack.as_str(),
            scenario.as_str(),
            count.parse().unwrap_or(1),
        ),
        _ => {
            eprintln!("usage: cors-profile STACK SCENARIO COUNT");
            std::process::exit(2);
        }
    };
    // `CORS_PROFILE_ORIGINS=N`: N trusted origins instead of 10 (the allowed one is the last).
    let n = std::env::var("CORS_PROFILE_ORIGINS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10usize);
    let origins: Vec<String> = (0..n)
        .map(|i| format!("https://app{i}.example.com"))
        .collect();
    let allowed = origins[n - 1].clone();
    let shared =
        |s: &str| HeaderValue::from_maybe_shared(Bytes::copy_from_slice(s.as_bytes())).unwrap();
    let mut headers = vec![("host", shared("api.example.com"))];
    let mut method = "GET";
    match scenario {
        "no_origin" => headers.push(("cookie", shared("sid=1"))),
        "same_origin" => {
            headers.push(("origin", shared("https://api.example.com")));
            headers.push(("sec-fetch-site", shared("same-origin")));
        }
        "allowed_get" => {
            headers.push(("origin", shared(&allowed)));
            headers.push(("cookie", shared("sid=1")));
        }
        "preflight" => {
            method = "OPTIONS";
            headers.push(("origin", shared(&allowed)));
            headers.push(("access-control-request-method", shared("PUT")));
            headers.push(("access-control-request-headers", shared("content-type")));
        }
        _ => headers.push(("origin", shared("https://evil.example"))),
    }
    // `CORS_PROFILE_BROWSER=1`: the other headers a browser sends with such a request.
    if std::env::var_os("CORS_PROFILE_BROWSER").is_some() {
        let site = match scenario {
            "no_origin" | "same_origin" => "same-origin",
            _ => "cross-site",
        };
        if scenario != "same_origin" {
            headers.push(("sec-fetch-site", shared(site)));
        }
        for (name, value) in [
            ("connection", "keep-alive"),
            (
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Chrome/142.0.0.0 Safari/537.36",
            ),
            ("accept", "*/*"),
            ("accept-encoding", "gzip, deflate, br, zstd"),
            ("accept-language", "en-US,en;q=0.9"),
            ("referer", "https://app9.example.com/"),
            ("sec-fetch-mode", "cors"),
            ("sec-fetch-dest", "empty"),
            ("priority", "u=1, i"),
        ] {
            headers.push((name, shared(value)));
        }
    }
    let target = bytes::BytesMut::from(&b"/api/v1/users/me"[..])
        .split()
        .freeze();
    /// One request. Out of line, so that every stack's loop runs the same code to build it and
    /// a build's inlining choices do not move what the bare service counts.
    #[inline(never)]
    fn tower_request(
        target: &Bytes,
        method: &str,
        headers: &[(&'static str, HeaderValue)],
    ) -> Request<()> {
        // The target parsed from bytes shared as a server's are (hyper slices the target from
        // its read buffer): cloning the URI counts a reference rather than copying it.
        let target = http::Uri::from_maybe_shared(target.clone()).unwrap();
        let mut request = Request::builder().method(method).uri(target);
        for (name, value) in headers {
            request = request.header(*name, value.clone());
        }
        let mut request = request.body(()).unwrap();
        request.extensions_mut().insert(0u8);
        request
    }
    let request = || tower_request(&target, method, &headers);
    let handler = service_fn(|_req: Request<()>| async {
        let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok::<_, Infallible>(response)
    });
    let registry = Registry::with_origins(
        origins
            .iter()
            .enumerate()
            .map(|(i, o)| NewTrustedOrigin::new(format!("o{i}"), o.clone(), [ScopeType::Cors])),
    )
    .unwrap();
    let cors = Cors::new(
        CorsConfig::builder()
            .public_origin("https://api.example.com")
            .build()
            .unwrap(),
        registry,
    );
    let policy = RouteCors::builder()
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type"])
        .build()
        .unwrap();
    // Not inlined, so that a profiler can count it alone (`--toggle-collect=*profiled_loop*`).
    #[inline(never)]
    fn profiled_loop<S, B>(mut service: S, request: impl Fn() -> Request<()>, count: usize)
    where
        S: Service<Request<()>, Response = Response<B>>,
        S::Error: std::fmt::Debug,
    {
        for _ in 0..count {
            let response = service.call(request()).now_or_never().unwrap().unwrap();
            black_box(response.status());
        }
    }
    if let Some(stack) = stack.strip_prefix("actix-") {
        actix::run(stack, &cors, policy, &origins, method, &headers, count);
        return;
    }
    match stack {
        "bare" => profiled_loop(handler, request, count),
        "trusted-cors" => profiled_loop(
            cors.guard().layer(cors.route(policy).layer(handler)),
            request,
            count,
        ),
        _ => profiled_loop(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::AllowOrigin::list(
                    origins.iter().map(|o| HeaderValue::from_str(o).unwrap()),
                ))
                .allow_credentials(true)
                .allow_methods([Method::GET, Method::PUT])
                .allow_headers([http::header::CONTENT_TYPE])
                .layer(handler),
            request,
            count,
        ),
    }
}

mod actix {
    use super::*;
    use actix_web::dev::ServiceResponse;
    use actix_web::{test, web, App, HttpMessage, HttpResponse};

    /// Runs `count` requests through one actix-web stack: `bare`, `trusted-cors` or `cors`.
    pub(super) fn run(
        stack: &str,
        cors: &Cors,
        policy: RouteCors,
        origins: &[String],
        method: &str,
        headers: &[(&str, HeaderValue)],
        count: usize,
    ) {
        let handler = || async {
            HttpResponse::Ok()
                .insert_header(("content-type", "application/json"))
                .body("{}")
        };
        /// One request, out of line (see `tower_request`).
        #[inline(never)]
        fn actix_request(method: &str, headers: &[(&str, HeaderValue)]) -> actix_http::Request {
            let mut request = test::TestRequest::default()
                .method(method.parse().expect("method"))
                .uri("/api/v1/users/me");
            for (name, value) in headers {
                // Bytes shared as a server's parsed values are (actix-http slices them from its
                // read buffer), as the Tower requests' are: a middleware that clones a value
                // counts a reference instead of moving a fresh copy to shared storage.
                let bytes = Bytes::copy_from_slice(value.as_bytes());
                let shared = bytes.clone();
                drop(bytes);
                let value =
                    actix_web::http::header::HeaderValue::from_maybe_shared(shared).expect("value");
                request = request.insert_header((*name, value));
            }
            let request = request.to_request();
            // A running server's requests are pooled and keep their extension map's room.
            request.extensions_mut().insert(0u8);
            request.extensions_mut().remove::<u8>();
            request
        }
        let request = || actix_request(method, headers);
        #[inline(never)]
        fn profiled_loop<S, B>(app: S, request: impl Fn() -> actix_http::Request, count: usize)
        where
            S: actix_web::dev::Service<
                actix_http::Request,
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
            >,
        {
            for _ in 0..count {
                let response = app.call(request()).now_or_never().expect("ready");
                black_box(response.map(|r| r.status()).ok());
            }
        }
        let system = actix_web::rt::System::new();
        match stack {
            "bare" => profiled_loop(
                system.block_on(test::init_service(App::new().service(
                    web::resource("/api/v1/users/me").route(web::route().to(handler)),
                ))),
                request,
                count,
            ),
            "trusted-cors" => profiled_loop(
                system.block_on(test::init_service(
                    App::new()
                        .wrap(trusted_cors::for_actix::GuardMiddleware::new(cors))
                        .service(
                            web::resource("/api/v1/users/me")
                                .wrap(trusted_cors::for_actix::RouteCorsMiddleware::new(
                                    cors, policy,
                                ))
                                .route(web::route().to(handler)),
                        ),
                )),
                request,
                count,
            ),
            _ => {
                let mut peer = actix_cors::Cors::default()
                    .supports_credentials()
                    .allowed_methods(["GET", "PUT"])
                    .allowed_header(actix_web::http::header::CONTENT_TYPE);
                for origin in origins {
                    peer = peer.allowed_origin(origin);
                }
                profiled_loop(
                    system.block_on(test::init_service(App::new().wrap(peer).service(
                        web::resource("/api/v1/users/me").route(web::route().to(handler)),
                    ))),
                    request,
                    count,
                )
            }
        }
    }
}
