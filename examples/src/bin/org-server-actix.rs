//! The example Okta-like org on actix-web: the same flags (`org-server-actix --help`),
//! endpoints, limits on slow clients (`[server]`) and behaviour as `org-server`. Every `GET` endpoint answers `HEAD` too, as
//! axum's routes do.

use std::process::ExitCode;

use actix_web::body::BoxBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{
    HeaderName, ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, ORIGIN,
};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use trusted_cors::admin::{MAX_BODY_LEN, TRUSTED_ORIGINS_PATH};
use trusted_cors::for_actix::{
    CorsContext, FrameAncestorsMiddleware, GuardMiddleware, RouteCorsMiddleware,
};
use trusted_cors::{HeaderInput, RequestFacts};
use trusted_cors_examples::cli::start_org;
use trusted_cors_examples::console::{ApiCall, CONSOLE_EVENTS_PATH, CONSOLE_PATH};
use trusted_cors_examples::events::{
    events_policy, not_a_websocket, EventSocket, Events, CLOSE_REASON, EVENTS_PATH,
    MAX_CLIENT_MESSAGE,
};
use trusted_cors_examples::explain::{explain_policy, EXPLAIN_PATH};
use trusted_cors_examples::{
    joined_cookies, me_policy, session_cookie, user_policy, Credentials, LoginForm, Org,
    RedirectParam, Reply, ServerLimits,
};

type Shared = web::Data<Org>;

const ABOUT: &str = "The example Okta-like org on actix-web, the same as org-server: sign-in, \
the users API (CORS-enabled), the Trusted Origins API and its admin console at \
/admin/trusted-origins, GET /api/v1/cors/explain, /health and /metrics. Logs every CORS refusal \
on standard error.";

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// A request not answered within the request timeout.
#[derive(Debug)]
struct TimedOut(ServerLimits);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request timed out after {} ms",
            self.0.request_timeout_ms
        )
    }
}

impl actix_web::ResponseError for TimedOut {
    fn status_code(&self) -> StatusCode {
        StatusCode::REQUEST_TIMEOUT
    }

    fn error_response(&self) -> HttpResponse {
        reply(self.0.timed_out())
    }
}

fn reply(reply: Reply) -> HttpResponse {
    let mut builder = HttpResponse::build(
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    if let Some(content_type) = reply.content_type() {
        builder.insert_header((CONTENT_TYPE, content_type));
    }
    for (name, value) in &reply.headers {
        builder.append_header((name.as_ref(), value.as_str()));
    }
    builder.body(reply.body_bytes())
}

fn header(request: &HttpRequest, name: actix_web::http::header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The request's cookies, from every `Cookie` field.
fn cookies(request: &HttpRequest) -> Option<String> {
    joined_cookies(request.headers().get_all(COOKIE).map(|v| v.as_bytes()))
}

async fn home(org: Shared, request: HttpRequest) -> HttpResponse {
    reply(org.home(cookies(&request).as_deref()))
}

async fn login_page(org: Shared, param: web::Query<RedirectParam>) -> HttpResponse {
    reply(org.login_page(param.redirect.as_deref()))
}

async fn login(org: Shared, request: HttpRequest, form: web::Form<LoginForm>) -> HttpResponse {
    reply(org.login(&form, header(&request, ACCEPT)))
}

/// What a call to the users API presents, with the session cookie only where the route's CORS
/// outcome allows credentials.
fn credentials<'a>(
    request: &'a HttpRequest,
    cookies: Option<&'a str>,
    cors: &CorsContext,
) -> Credentials<'a> {
    Credentials {
        cookie: session_cookie(cookies, cors),
        authorization: header(request, AUTHORIZATION),
        sec_fetch_site: header(request, SEC_FETCH_SITE),
    }
}

async fn logout(org: Shared, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let redirect = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "redirect")
        .map(|(_, value)| value.into_owned());
    reply(org.logout(cookies(&request).as_deref(), redirect.as_deref()))
}

async fn me(org: Shared, cors: CorsContext, request: HttpRequest) -> HttpResponse {
    let cookies = cookies(&request);
    reply(org.me(credentials(&request, cookies.as_deref(), &cors)))
}

async fn update_me(
    org: Shared,
    cors: CorsContext,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let cookies = cookies(&request);
    reply(org.update_me(credentials(&request, cookies.as_deref(), &cors), &body))
}

async fn user(
    org: Shared,
    cors: CorsContext,
    request: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let cookies = cookies(&request);
    reply(org.user(credentials(&request, cookies.as_deref(), &cors), &id))
}

/// `GET /api/v1/users/me/events`: authenticated before the upgrade.
async fn events(
    org: Shared,
    cors: CorsContext,
    request: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let cookies = cookies(&request);
    let events = org.user_events(credentials(&request, cookies.as_deref(), &cors));
    upgrade_to(&request, body, events)
}

/// The socket of `events` once accepted, or the answer refusing it.
fn upgrade_to(
    request: &HttpRequest,
    body: web::Payload,
    events: Result<Events, Reply>,
) -> HttpResponse {
    let events = match events {
        Ok(events) => events,
        Err(refused) => return reply(refused),
    };
    match actix_ws::handle(request, body) {
        Ok((response, session, messages)) => {
            let messages = messages.max_frame_size(MAX_CLIENT_MESSAGE);
            actix_web::rt::spawn(events.run(ActixSocket { session, messages }));
            response
        }
        Err(_) => reply(not_a_websocket(request.path())),
    }
}

/// actix-ws's socket: the session sends, the stream receives.
struct ActixSocket {
    session: actix_ws::Session,
    messages: actix_ws::MessageStream,
}

impl EventSocket for ActixSocket {
    async fn send_text(&mut self, text: String) -> bool {
        self.session.text(text).await.is_ok()
    }

    async fn ping(&mut self) -> bool {
        self.session.ping(b"").await.is_ok()
    }

    async fn receive(&mut self) -> bool {
        match self.messages.recv().await {
            Some(Ok(actix_ws::Message::Ping(bytes))) => self.session.pong(&bytes).await.is_ok(),
            Some(Ok(actix_ws::Message::Close(reason))) => {
                let _ = self.session.clone().close(reason).await;
                false
            }
            Some(Ok(_)) => true,
            Some(Err(_)) | None => false,
        }
    }

    async fn close(self) {
        let reason = actix_ws::CloseReason {
            code: actix_ws::CloseCode::Normal,
            description: Some(CLOSE_REASON.to_owned()),
        };
        let _ = self.session.close(Some(reason)).await;
    }
}

async fn explain(org: Shared, request: HttpRequest) -> HttpResponse {
    reply(org.explain(Some(request.query_string())))
}

async fn console_page(org: Shared, request: HttpRequest) -> HttpResponse {
    reply(org.console_page(cookies(&request).as_deref()))
}

/// A call to the Trusted Origins API or the console's socket, as the org reads it.
fn api_call<'a>(request: &'a HttpRequest, cookies: Option<&'a str>, body: &'a [u8]) -> ApiCall<'a> {
    let headers = request.headers();
    let values = |name: HeaderName| headers.get_all(name).map(|v| v.as_bytes());
    ApiCall {
        method: request.method().as_str(),
        path: request.path(),
        query: Some(request.query_string()).filter(|q| !q.is_empty()),
        authorization: headers.get(AUTHORIZATION).map(|v| v.as_bytes()),
        cookie: cookies,
        origin: HeaderInput::from_values(values(ORIGIN)),
        sec_fetch_site: HeaderInput::from_values(values(SEC_FETCH_SITE)),
        host: RequestFacts::request_host(
            request.uri().authority().map(|a| a.as_str()),
            HeaderInput::from_values(values(HOST)),
        ),
        content_type: HeaderInput::from_values(values(CONTENT_TYPE)),
        body,
    }
}

/// The Trusted Origins API, with the tokens it accepts or the session of the admin console.
async fn trusted_origins_api(org: Shared, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let cookies = cookies(&request);
    reply(
        org.trusted_origins_call(api_call(&request, cookies.as_deref(), &body))
            .await,
    )
}

/// The console's socket: an administrator's session, from the org's own pages.
async fn console_events(org: Shared, request: HttpRequest, body: web::Payload) -> HttpResponse {
    let cookies = cookies(&request);
    let events = org.console_events(api_call(&request, cookies.as_deref(), &[]));
    upgrade_to(&request, body, events)
}

async fn health(org: Shared) -> HttpResponse {
    reply(org.health())
}

async fn metrics(org: Shared) -> HttpResponse {
    reply(org.metrics())
}

async fn users(org: Shared, request: HttpRequest) -> HttpResponse {
    reply(org.list_users(header(&request, AUTHORIZATION)))
}

#[actix_web::main]
async fn main() -> ExitCode {
    let (listener, org) = match start_org("org-server-actix", ABOUT).await {
        Ok((_args, org, listener)) => (listener, web::Data::from(org)),
        Err(code) => return code,
    };
    let cors = org.cors().clone();
    let limits = org.limits();
    const WORKERS: usize = 2;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(org.clone())
            .wrap(actix_web::middleware::from_fn(
                move |request: ServiceRequest, next: Next<BoxBody>| async move {
                    // The request is routed, so it cannot be kept for the answer: the timeout
                    // is an error that actix-web turns into the 408.
                    match actix_web::rt::time::timeout(limits.request_timeout(), next.call(request))
                        .await
                    {
                        Ok(response) => response,
                        Err(_) => Err(TimedOut(limits).into()),
                    }
                },
            ))
            .wrap(GuardMiddleware::new(&cors))
            // The sign-in page may be framed by the org and its ACTIVE IFRAME_EMBED trusted
            // origins; the end-user home page (its own header) only by those whose
            // allowedOktaApps list OKTA_ENDUSER.
            .service(
                web::resource("/")
                    .route(web::get().to(home))
                    .route(web::head().to(home)),
            )
            .service(
                web::resource("/login")
                    .wrap(FrameAncestorsMiddleware::new(&cors))
                    .route(web::get().to(login_page))
                    .route(web::head().to(login_page))
                    .route(web::post().to(login)),
            )
            .route("/logout", web::post().to(logout))
            // CORS-enabled: trusted origins with cookies, bearer tokens from any origin.
            .service(
                web::resource("/api/v1/users/me")
                    .wrap(RouteCorsMiddleware::new(&cors, me_policy()))
                    .route(web::get().to(me))
                    .route(web::head().to(me))
                    .route(web::put().to(update_me)),
            )
            // A WebSocket: handshakes from trusted origins only (the guard's global rule), with
            // the session cookie or, from clients other than browsers, a bearer token.
            .service(
                web::resource(EVENTS_PATH)
                    .wrap(RouteCorsMiddleware::new(&cors, events_policy()))
                    .route(web::get().to(events))
                    .route(web::head().to(events)),
            )
            // CORS-enabled: trusted origins with cookies.
            .service(
                web::resource("/api/v1/users/{id}")
                    .wrap(RouteCorsMiddleware::new(&cors, user_policy()))
                    .route(web::get().to(user))
                    .route(web::head().to(user)),
            )
            // Open to any origin, without credentials: why a call is allowed, refused or blocked.
            .service(
                web::resource(EXPLAIN_PATH)
                    .wrap(RouteCorsMiddleware::new(&cors, explain_policy()))
                    .route(web::get().to(explain))
                    .route(web::head().to(explain)),
            )
            // Not CORS-enabled: server-side callers with an API token.
            .service(
                web::resource("/api/v1/users")
                    .route(web::get().to(users))
                    .route(web::head().to(users)),
            )
            // Server-side only: the revision of the trusted origins this instance serves.
            .service(
                web::resource("/health")
                    .route(web::get().to(health))
                    .route(web::head().to(health)),
            )
            // Server-side only: the metrics, for Prometheus.
            .service(web::resource("/metrics").route(web::get().to(metrics)))
            // The admin console: never framed (its own header says so), never CORS-enabled.
            .service(
                web::resource(CONSOLE_PATH)
                    .route(web::get().to(console_page))
                    .route(web::head().to(console_page)),
            )
            // Its WebSocket, same-origin with the session: not declared, so the guard's global
            // rule refuses handshakes from untrusted origins.
            .service(
                web::resource(CONSOLE_EVENTS_PATH)
                    .route(web::get().to(console_events))
                    .route(web::head().to(console_events)),
            )
            // The Trusted Origins API: server-side only (API tokens, access tokens), and the
            // admin console's same-origin calls with the session.
            .service(
                web::scope(TRUSTED_ORIGINS_PATH)
                    .app_data(web::PayloadConfig::new(MAX_BODY_LEN))
                    .default_service(web::to(trusted_origins_api)),
            )
    })
    .workers(WORKERS)
    // A request's head must arrive in time (else 408); an idle keep-alive connection is closed;
    // at most `max_connections` in all (actix counts per worker).
    .client_request_timeout(limits.header_read_timeout())
    .keep_alive(actix_web::http::KeepAlive::Timeout(limits.idle_timeout()))
    .max_connections(limits.max_connections.div_ceil(WORKERS));
    let server = match server.listen(listener) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("org-server-actix: cannot listen: {error}");
            return ExitCode::FAILURE;
        }
    };
    for addr in server.addrs() {
        println!("listening on http://{addr}");
    }
    if let Err(error) = server.run().await {
        eprintln!("org-server-actix: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
