//! A hello-world server for the end-to-end benchmark (`scripts/bench-e2e.sh`): axum or actix-web,
//! bare, with trusted-cors, or with the framework's usual CORS layer (tower-http's `CorsLayer`,
//! actix-cors), all with the same policy. One worker thread, so that the load generator has the
//! other core.
//!
//! `e2e-server axum|actix bare|trusted-cors|peer 127.0.0.1:PORT`

use std::net::SocketAddr;

use trusted_cors::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};

const ORIGINS: [&str; 3] = [
    "https://app.example.com",
    "https://portal.example.com",
    "https://admin.example.com",
];

fn cors() -> Cors {
    let registry = Registry::with_origins(
        ORIGINS
            .iter()
            .enumerate()
            .map(|(i, o)| NewTrustedOrigin::new(format!("o{i}"), *o, [ScopeType::Cors])),
    )
    .expect("registry");
    Cors::new(CorsConfig::default(), registry)
}

fn policy() -> RouteCors {
    RouteCors::builder()
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type"])
        .build()
        .expect("policy")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, framework, stack, addr] = &args[..] else {
        eprintln!("usage: e2e-server axum|actix bare|trusted-cors|peer ADDR");
        std::process::exit(2);
    };
    let addr: SocketAddr = addr.parse().expect("address");
    match framework.as_str() {
        "axum" => axum_server(stack, addr),
        _ => actix_server(stack, addr),
    }
}

fn axum_server(stack: &str, addr: SocketAddr) {
    use axum::routing::get;
    use axum::Router;

    async fn hello() -> &'static str {
        "hello"
    }
    let cors = cors();
    let app = match stack {
        "bare" => Router::new().route("/hello", get(hello).put(hello)),
        "trusted-cors" => Router::new()
            .route("/hello", get(hello).put(hello).layer(cors.route(policy())))
            .layer(cors.guard()),
        _ => Router::new().route("/hello", get(hello).put(hello)).layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(ORIGINS.map(http::HeaderValue::from_static))
                .allow_credentials(true)
                .allow_methods([http::Method::GET, http::Method::PUT])
                .allow_headers([http::header::CONTENT_TYPE]),
        ),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
}

fn actix_server(stack: &str, addr: SocketAddr) {
    use actix_web::{web, App, HttpResponse, HttpServer};

    async fn hello() -> HttpResponse {
        HttpResponse::Ok().body("hello")
    }
    fn resource() -> actix_web::Resource {
        web::resource("/hello")
            .route(web::get().to(hello))
            .route(web::put().to(hello))
    }
    let cors = cors();
    let system = actix_web::rt::System::new();
    let served =
        match stack {
            "bare" => system.block_on(
                HttpServer::new(|| App::new().service(resource()))
                    .workers(1)
                    .bind(addr)
                    .expect("bind")
                    .run(),
            ),
            "trusted-cors" => system.block_on(
                HttpServer::new(move || {
                    App::new()
                        .wrap(trusted_cors::for_actix::GuardMiddleware::new(&cors))
                        .service(resource().wrap(
                            trusted_cors::for_actix::RouteCorsMiddleware::new(&cors, policy()),
                        ))
                })
                .workers(1)
                .bind(addr)
                .expect("bind")
                .run(),
            ),
            _ => system.block_on(
                HttpServer::new(|| {
                    let mut peer = actix_cors::Cors::default()
                        .supports_credentials()
                        .allowed_methods(["GET", "PUT"])
                        .allowed_header(actix_web::http::header::CONTENT_TYPE);
                    for origin in ORIGINS {
                        peer = peer.allowed_origin(origin);
                    }
                    App::new().wrap(peer).service(resource())
                })
                .workers(1)
                .bind(addr)
                .expect("bind")
                .run(),
            ),
        };
    served.expect("serve");
}
