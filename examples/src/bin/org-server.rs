//! The example Okta-like org on axum; `org-server --help` lists its flags.
//!
//! Served by hyper directly (HTTP/1.1, and HTTP/2 with prior knowledge) rather than
//! `axum::serve`, so that slow and idle clients are cut off by the configuration's `[server]`
//! limits: a head read timeout, an idle timeout on the connection, a request timeout and a cap
//! on connections served at once.

use std::process::ExitCode;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Form, Path, Query, RawQuery, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use trusted_cors::admin::{MAX_BODY_LEN, TRUSTED_ORIGINS_PATH};
use trusted_cors::for_axum::CorsContext;
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

type Shared = State<Arc<Org>>;

const ABOUT: &str = "The example Okta-like org on axum: sign-in, the users API (CORS-enabled), \
the Trusted Origins API and its admin console at /admin/trusted-origins, GET /api/v1/cors/explain, \
/health and /metrics. Logs every CORS refusal on standard error.";

const SEC_FETCH_SITE: axum::http::HeaderName =
    axum::http::HeaderName::from_static("sec-fetch-site");

fn reply(reply: Reply) -> Response {
    let mut builder = Response::builder().status(reply.status);
    if let Some(content_type) = reply.content_type() {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    for (name, value) in &reply.headers {
        builder = builder.header(name.as_ref(), value);
    }
    builder
        .body(Body::from(reply.body_bytes()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn header(headers: &HeaderMap, name: axum::http::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request's cookies, from every `Cookie` field (HTTP/2 clients split them).
fn cookies(headers: &HeaderMap) -> Option<String> {
    joined_cookies(headers.get_all(COOKIE).iter().map(|v| v.as_bytes()))
}

async fn home(State(org): Shared, headers: HeaderMap) -> Response {
    reply(org.home(cookies(&headers).as_deref()))
}

async fn login_page(State(org): Shared, Query(param): Query<RedirectParam>) -> Response {
    reply(org.login_page(param.redirect.as_deref()))
}

async fn login(State(org): Shared, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    reply(org.login(&form, header(&headers, ACCEPT)))
}

/// What a call to the users API presents, with the session cookie only where the route's CORS
/// outcome allows credentials.
fn credentials<'a>(
    headers: &'a HeaderMap,
    cookies: Option<&'a str>,
    cors: &CorsContext,
) -> Credentials<'a> {
    Credentials {
        cookie: session_cookie(cookies, cors),
        authorization: header(headers, AUTHORIZATION),
        sec_fetch_site: header(headers, SEC_FETCH_SITE),
    }
}

async fn logout(State(org): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let redirect = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "redirect")
        .map(|(_, value)| value.into_owned());
    reply(org.logout(cookies(&headers).as_deref(), redirect.as_deref()))
}

async fn me(State(org): Shared, cors: CorsContext, headers: HeaderMap) -> Response {
    let cookies = cookies(&headers);
    reply(org.me(credentials(&headers, cookies.as_deref(), &cors)))
}

async fn update_me(
    State(org): Shared,
    cors: CorsContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cookies = cookies(&headers);
    reply(org.update_me(credentials(&headers, cookies.as_deref(), &cors), &body))
}

async fn user(
    State(org): Shared,
    cors: CorsContext,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let cookies = cookies(&headers);
    reply(org.user(credentials(&headers, cookies.as_deref(), &cors), &id))
}

/// `GET /api/v1/users/me/events`: authenticated before the upgrade.
async fn events(
    State(org): Shared,
    cors: CorsContext,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let cookies = cookies(&headers);
    let events = org.user_events(credentials(&headers, cookies.as_deref(), &cors));
    upgrade_to(EVENTS_PATH, events, upgrade)
}

/// The socket of `events` once accepted, or the answer refusing it.
fn upgrade_to(
    path: &str,
    events: Result<Events, Reply>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let events = match events {
        Ok(events) => events,
        Err(refused) => return reply(refused),
    };
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(MAX_CLIENT_MESSAGE)
            .max_frame_size(MAX_CLIENT_MESSAGE)
            .on_upgrade(move |socket| events.run(AxumSocket(socket))),
        Err(_) => reply(not_a_websocket(path)),
    }
}

/// axum's WebSocket (tungstenite answers pings and closes by itself).
struct AxumSocket(WebSocket);

impl EventSocket for AxumSocket {
    async fn send_text(&mut self, text: String) -> bool {
        self.0.send(Message::Text(text.into())).await.is_ok()
    }

    async fn ping(&mut self) -> bool {
        self.0.send(Message::Ping(Bytes::new())).await.is_ok()
    }

    async fn receive(&mut self) -> bool {
        match self.0.recv().await {
            // Reading on sends tungstenite's answer to the close.
            Some(Ok(Message::Close(_))) => {
                let _ = self.0.recv().await;
                false
            }
            Some(Ok(_)) => true,
            Some(Err(_)) | None => false,
        }
    }

    async fn close(mut self) {
        let frame = CloseFrame {
            code: close_code::NORMAL,
            reason: CLOSE_REASON.into(),
        };
        if self.0.send(Message::Close(Some(frame))).await.is_ok() {
            // The client's answer completes the closing handshake; not waited for long.
            let wait = std::time::Duration::from_secs(1);
            let _ = tokio::time::timeout(wait, async {
                while let Some(Ok(_)) = self.0.recv().await {}
            })
            .await;
        }
    }
}

async fn explain(State(org): Shared, RawQuery(query): RawQuery) -> Response {
    reply(org.explain(query.as_deref()))
}

async fn console_page(State(org): Shared, headers: HeaderMap) -> Response {
    reply(org.console_page(cookies(&headers).as_deref()))
}

/// A call to the Trusted Origins API or the console's socket, as the org reads it.
fn api_call<'a>(
    parts: &'a axum::http::request::Parts,
    cookies: Option<&'a str>,
    body: &'a [u8],
) -> ApiCall<'a> {
    let headers = &parts.headers;
    let values = |name: axum::http::HeaderName| headers.get_all(name).iter().map(|v| v.as_bytes());
    ApiCall {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        authorization: headers.get(AUTHORIZATION).map(|v| v.as_bytes()),
        cookie: cookies,
        origin: HeaderInput::from_values(values(ORIGIN)),
        sec_fetch_site: HeaderInput::from_values(values(SEC_FETCH_SITE)),
        host: RequestFacts::request_host(
            parts.uri.authority().map(|a| a.as_str()),
            HeaderInput::from_values(values(HOST)),
        ),
        content_type: HeaderInput::from_values(values(CONTENT_TYPE)),
        body,
    }
}

/// The Trusted Origins API, with the tokens it accepts or the session of the admin console.
async fn trusted_origins_api(State(org): Shared, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_LEN).await else {
        return reply(Reply::body_too_large());
    };
    let cookies = cookies(&parts.headers);
    reply(
        org.trusted_origins_call(api_call(&parts, cookies.as_deref(), &body))
            .await,
    )
}

/// The console's socket: an administrator's session, from the org's own pages.
async fn console_events(
    State(org): Shared,
    parts: axum::http::request::Parts,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let cookies = cookies(&parts.headers);
    let events = org.console_events(api_call(&parts, cookies.as_deref(), &[]));
    upgrade_to(CONSOLE_EVENTS_PATH, events, upgrade)
}

async fn health(State(org): Shared) -> Response {
    reply(org.health())
}

async fn metrics(State(org): Shared) -> Response {
    reply(org.metrics())
}

async fn users(State(org): Shared, headers: HeaderMap) -> Response {
    reply(org.list_users(header(&headers, AUTHORIZATION)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (_args, org, listener) = match start_org("org-server", ABOUT).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let cors = org.cors().clone();
    let limits = org.limits();
    let app = Router::new()
        // The sign-in page may be framed by the org and its ACTIVE IFRAME_EMBED trusted origins;
        // the end-user home page (its own header) only by those whose allowedOktaApps list
        // OKTA_ENDUSER.
        .route("/", get(home))
        .route(
            "/login",
            get(login_page).post(login).layer(cors.frame_ancestors()),
        )
        .route("/logout", post(logout))
        // CORS-enabled: trusted origins with cookies, bearer tokens from any origin.
        .route(
            "/api/v1/users/me",
            get(me).put(update_me).layer(cors.route(me_policy())),
        )
        // A WebSocket: handshakes from trusted origins only (the guard's global rule), with the
        // session cookie or, from clients other than browsers, a bearer token.
        .route(EVENTS_PATH, get(events).layer(cors.route(events_policy())))
        // CORS-enabled: trusted origins with cookies.
        .route(
            "/api/v1/users/{id}",
            get(user).layer(cors.route(user_policy())),
        )
        // Open to any origin, without credentials: why a call is allowed, refused or blocked.
        .route(
            EXPLAIN_PATH,
            get(explain).layer(cors.route(explain_policy())),
        )
        // Not CORS-enabled: server-side callers with an API token.
        .route("/api/v1/users", get(users))
        // Server-side only: the revision of the trusted origins this instance serves.
        .route("/health", get(health))
        // Server-side only: the metrics, for Prometheus.
        .route("/metrics", get(metrics))
        // The admin console: never framed (its own header says so), never CORS-enabled.
        .route(CONSOLE_PATH, get(console_page))
        // Its WebSocket, same-origin with the session: not declared, so the guard's global rule
        // refuses handshakes from untrusted origins.
        .route(CONSOLE_EVENTS_PATH, get(console_events))
        // The Trusted Origins API: server-side only (API tokens, access tokens), and the admin
        // console's same-origin calls with the session.
        .route(TRUSTED_ORIGINS_PATH, any(trusted_origins_api))
        .route(
            &format!("{TRUSTED_ORIGINS_PATH}/{{*rest}}"),
            any(trusted_origins_api),
        )
        .with_state(org)
        .layer(cors.guard());
    let app = app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| async move {
            if !host_is_valid(&request) {
                return reply(Reply::bad_host());
            }
            match tokio::time::timeout(limits.request_timeout(), next.run(request)).await {
                Ok(response) => response,
                Err(_) => reply(limits.timed_out()),
            }
        },
    ));
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("org-server: cannot listen: {error}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on http://{addr}"),
        Err(error) => {
            eprintln!("org-server: {error}");
            return ExitCode::FAILURE;
        }
    }
    serve(listener, app, limits).await;
    ExitCode::SUCCESS
}

/// Whether the request's `Host` is acceptable: never more than one; an HTTP/1.1 request must
/// carry one (RFC 9112 §3.2: a server MUST answer 400 otherwise), as actix-web's parser enforces;
/// an HTTP/2 request that carries a `host` field as well as `:authority` must name the same
/// authority in both (RFC 9113 §8.3.1: otherwise malformed). hyper checks none of this, so
/// `org-server` does, before the CORS layers, whose same-origin fallback reads `Host` first.
fn host_is_valid(request: &axum::extract::Request) -> bool {
    use axum::http::Version;
    let mut hosts = request.headers().get_all(axum::http::header::HOST).iter();
    let (host, another) = (hosts.next(), hosts.next());
    if another.is_some() {
        return false;
    }
    match (request.version(), host, request.uri().authority()) {
        (Version::HTTP_11, None, _) => false,
        (Version::HTTP_2, Some(host), Some(authority)) => host
            .as_bytes()
            .eq_ignore_ascii_case(authority.as_str().as_bytes()),
        _ => true,
    }
}

/// Serves `app` on `listener` within `limits`, until the process ends.
async fn serve(listener: tokio::net::TcpListener, app: Router, limits: ServerLimits) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout());
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.idle_timeout() / 2)
        .keep_alive_timeout(limits.header_read_timeout());
    let builder = Arc::new(builder);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        // Past the cap, connections wait in the listen backlog until one ends.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: wait a moment rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // A read that waits longer than the idle timeout ends the connection: a client that
        // sends nothing, before its first request or between requests.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_read_timeout(Some(limits.idle_timeout()));
        let service = TowerToHyperService::new(app.clone());
        let builder = Arc::clone(&builder);
        tokio::spawn(async move {
            // The place goes with the stream: past an upgrade, hyper hands the stream to the
            // socket's task, and the connection is still served.
            let io = TokioIo::new(Counted {
                stream: Box::pin(stream),
                _permit: permit,
            });
            // With upgrades: the events WebSocket.
            if let Err(error) = builder.serve_connection_with_upgrades(io, service).await {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
}

/// A connection and its place under `max_connections`, freed when the stream is dropped: when
/// the connection ends, or the WebSocket it was upgraded to closes.
struct Counted {
    stream: std::pin::Pin<Box<tokio_io_timeout::TimeoutStream<tokio::net::TcpStream>>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.stream.as_mut().poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.stream.as_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.stream.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.stream.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.stream.as_mut().poll_shutdown(cx)
    }
}
