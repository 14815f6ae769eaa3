//! The same application in axum and in actix-web, each served on a loopback port, with the same
//! CORS declarations. Used by the behaviour suite.
#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use trusted_cors::{Cors, CorsConfig, NewTrustedOrigin, Registry};

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use trusted_cors_testing::fixtures::{
    me_policy, seeds, user_policy, INACTIVE, REDIRECT_ONLY, TRUSTED, UNTRUSTED, WILDCARD_MATCH,
};
pub const API_TOKEN: &str = "00test-api-token";
/// An access token with `okta.trustedOrigins.read`, issued to [`READER`].
pub const READ_TOKEN: &str = "at-test-reader";
/// An access token with `okta.trustedOrigins.manage`, issued to [`MANAGER`].
pub const MANAGE_TOKEN: &str = "at-test-manager";
pub const READER: &str = "reader@example.com";
pub const MANAGER: &str = "manager@example.com";

/// The Trusted Origins API over the fixture's origins: the API token, and the two access tokens.
#[cfg(feature = "admin")]
pub fn api(fixture: &Fixture) -> trusted_cors::admin::TrustedOriginsApi {
    use trusted_cors::admin::{ApiScope, Grant, StaticAccessTokens};
    trusted_cors::admin::TrustedOriginsApi::new(Arc::clone(&fixture.origins), [API_TOKEN])
        .with_authorizer(StaticAccessTokens::new([
            (READ_TOKEN, Grant::new(READER, [ApiScope::Read])),
            (MANAGE_TOKEN, Grant::new(MANAGER, [ApiScope::Manage])),
        ]))
}

/// The CORS handle over `registry`.
pub fn cors_over(registry: Arc<Registry>) -> Cors {
    let config = CorsConfig::builder()
        .allow_cross_site_form_posts("/sso/saml2/{app}")
        .diagnostics_header(true)
        .build()
        .expect("fixture config");
    Cors::new(config, registry)
}

pub fn cors() -> Cors {
    cors_over(Arc::new(
        Registry::with_origins(seeds()).expect("fixture registry"),
    ))
}

/// What an app of the suite is built from: the CORS handle and, with the API, the trusted
/// origins it changes (in memory, or kept in a store).
#[derive(Clone)]
pub struct Fixture {
    pub cors: Cors,
    #[cfg(feature = "admin")]
    pub origins: Arc<trusted_cors::admin::TrustedOrigins>,
}

impl Fixture {
    /// The seeds, in memory.
    pub fn in_memory() -> Self {
        let cors = cors();
        Fixture {
            #[cfg(feature = "admin")]
            origins: Arc::new(trusted_cors::admin::TrustedOrigins::in_memory(Arc::clone(
                cors.registry(),
            ))),
            cors,
        }
    }

    /// This config over these trusted origins, in memory.
    pub fn with(config: CorsConfig, seeds: Vec<NewTrustedOrigin>) -> Self {
        let registry = Arc::new(Registry::with_origins(seeds).expect("fixture registry"));
        let cors = Cors::new(config, registry);
        Fixture {
            #[cfg(feature = "admin")]
            origins: Arc::new(trusted_cors::admin::TrustedOrigins::in_memory(Arc::clone(
                cors.registry(),
            ))),
            cors,
        }
    }

    /// Over trusted origins kept in a store.
    #[cfg(feature = "admin")]
    pub fn over(origins: Arc<trusted_cors::admin::TrustedOrigins>) -> Self {
        Fixture {
            cors: cors_over(Arc::clone(origins.registry())),
            origins,
        }
    }
}

/// A running app: its base URL, its registry handle and how many times a handler ran.
pub struct Served {
    pub base: String,
    pub cors: Cors,
    pub calls: Arc<AtomicUsize>,
}

impl Served {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

mod axum_app {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use axum::response::IntoResponse;
    use axum::routing::{get, options, post};
    use axum::Router;

    fn handled(calls: &Arc<AtomicUsize>) -> impl IntoResponse {
        calls.fetch_add(1, Ordering::SeqCst);
        let mut headers = HeaderMap::new();
        headers.insert("vary", HeaderValue::from_static("Accept-Encoding"));
        headers.insert("x-request-id", HeaderValue::from_static("req-1"));
        (headers, "handled")
    }

    pub fn router(fixture: &Fixture, calls: Arc<AtomicUsize>) -> Router {
        let cors = &fixture.cors;
        let app = routes(cors, calls);
        // The Trusted Origins API, when the suite is built with it.
        #[cfg(feature = "admin")]
        let app = app.merge(trusted_cors::for_axum::trusted_origins_router(api(fixture)));
        app.layer(cors.guard())
    }

    fn routes(cors: &Cors, calls: Arc<AtomicUsize>) -> Router {
        let h = move || {
            let calls = Arc::clone(&calls);
            move || {
                let calls = Arc::clone(&calls);
                async move { handled(&calls) }
            }
        };
        let nested = Router::new().route("/v1/me", get(h()).layer(cors.route(user_policy())));
        let merged = Router::new().route("/merged/me", get(h()).layer(cors.route(user_policy())));
        Router::new()
            .route(
                "/api/v1/users/me",
                get(h()).put(h()).layer(cors.route(me_policy())),
            )
            .route(
                "/api/v1/users/{id}",
                get(h()).layer(cors.route(user_policy())),
            )
            .route("/api/v1/users", get(h()))
            .route("/api/v1/options", options(h()))
            .route("/api/v1/echo", post(h()))
            .route("/sso/saml2/{app}", post(h()))
            .nest("/nested", nested)
            .merge(merged)
    }
}

mod actix_app {
    use super::*;
    use actix_web::{web, App, HttpResponse, HttpServer};
    use trusted_cors::for_actix::{GuardMiddleware, RouteCorsMiddleware};

    async fn handled(calls: web::Data<Arc<AtomicUsize>>) -> HttpResponse {
        calls.fetch_add(1, Ordering::SeqCst);
        HttpResponse::Ok()
            .insert_header(("vary", "Accept-Encoding"))
            .insert_header(("x-request-id", "req-1"))
            .body("handled")
    }

    pub fn serve(fixture: Fixture, calls: Arc<AtomicUsize>, listener: TcpListener) {
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let cors = &fixture.cors;
                    let app = App::new()
                        .app_data(web::Data::new(Arc::clone(&calls)))
                        .wrap(GuardMiddleware::new(cors));
                    // The Trusted Origins API, when the suite is built with it.
                    #[cfg(feature = "admin")]
                    let app = app.service(trusted_cors::for_actix::trusted_origins_scope(api(
                        &fixture,
                    )));
                    app.service(
                        web::resource("/api/v1/users/me")
                            .wrap(RouteCorsMiddleware::new(cors, me_policy()))
                            .route(web::get().to(handled))
                            .route(web::put().to(handled)),
                    )
                    .service(
                        web::resource("/api/v1/users/{id}")
                            .wrap(RouteCorsMiddleware::new(cors, user_policy()))
                            .route(web::get().to(handled)),
                    )
                    .route("/api/v1/users", web::get().to(handled))
                    .route(
                        "/api/v1/options",
                        web::method(actix_web::http::Method::OPTIONS).to(handled),
                    )
                    .route("/api/v1/echo", web::post().to(handled))
                    .route("/sso/saml2/{app}", web::post().to(handled))
                    .service(
                        web::scope("/nested").service(
                            web::resource("/v1/me")
                                .wrap(RouteCorsMiddleware::new(cors, user_policy()))
                                .route(web::get().to(handled)),
                        ),
                    )
                    .service(
                        web::resource("/merged/me")
                            .wrap(RouteCorsMiddleware::new(cors, user_policy()))
                            .route(web::get().to(handled)),
                    )
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run();
                server.await.expect("actix server");
            });
        });
    }
}

/// Starts the axum app on a loopback port.
pub fn serve_axum() -> Served {
    serve_axum_from(Fixture::in_memory())
}

/// Starts the axum app built from `fixture` on a loopback port.
pub fn serve_axum_from(fixture: Fixture) -> Served {
    let cors = fixture.cors.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let base = spawn_axum(axum_app::router(&fixture, Arc::clone(&calls)));
    Served { base, cors, calls }
}

/// Serves `app` on a free loopback port, on a thread of its own; returns its base URL.
pub fn spawn_axum(app: axum::Router) -> String {
    let (listener, addr) = listener();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            axum::serve(listener, app).await.expect("axum server");
        });
    });
    format!("http://{addr}")
}

/// Starts the actix-web app on a loopback port.
pub fn serve_actix() -> Served {
    serve_actix_from(Fixture::in_memory())
}

/// Starts the actix-web app built from `fixture` on a loopback port.
pub fn serve_actix_from(fixture: Fixture) -> Served {
    let cors = fixture.cors.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let (listener, addr) = listener();
    actix_app::serve(fixture, Arc::clone(&calls), listener);
    Served {
        base: format!("http://{addr}"),
        cors,
        calls,
    }
}

/// Waits until the server answers.
pub async fn wait_until_up(served: &Served) {
    for _ in 0..100 {
        if reqwest::get(format!("{}/api/v1/users", served.base))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("server at {} did not start", served.base);
}
