//! The example Okta-like org, shared by `org-server` (axum) and `org-server-actix`: its
//! configuration, users and sessions, and every endpoint as a framework-neutral function that
//! returns a [`Reply`]. The two binaries only translate requests and replies, so they behave
//! identically.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use trusted_cors::admin::{
    ApiScope, Follower, Grant, PostgresStore, RateLimit, SqliteStore, StaticAccessTokens,
    StoreError, TrustedOriginStore, TrustedOrigins, TrustedOriginsApi,
};
use trusted_cors::{
    Cors, CorsConfig, CorsOutcome, CorsSettings, OktaApp, OktaError, Registry, RouteCors,
    SeedOrigin, TrustedOrigin,
};

/// The embedded default configuration (`examples/org.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../org.toml");

pub mod explain;

/// The org's configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgConfig {
    /// This org's public origin, if browsers see another `Host`.
    #[serde(default)]
    pub public_origin: Option<String>,
    /// Tokens accepted as `Authorization: SSWS <token>`.
    #[serde(default)]
    pub api_tokens: Vec<String>,
    /// Where the trusted origins are kept (see [`StoreLocation`]): a SQLite file path (default
    /// `trusted-origins.db`, relative to the working directory), a `postgres://` URL, or
    /// `memory`. A store is seeded with `trusted_origins` when it is new, and loaded from then
    /// on.
    #[serde(default)]
    pub store: Option<String>,
    /// Global CORS settings.
    #[serde(default)]
    pub cors: CorsSettings,
    /// Users who can sign in.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Seed trusted origins.
    #[serde(default)]
    pub trusted_origins: Vec<SeedOrigin>,
    /// Limits that cut slow and idle clients off.
    #[serde(default)]
    pub server: ServerLimits,
    /// The Trusted Origins API's settings.
    #[serde(default)]
    pub api: ApiSettings,
    /// Where the server listens, once bound (set by [`start_org`], never read from the file):
    /// the API's links start with it when `public_origin` is not set.
    #[serde(skip)]
    pub listen_addr: Option<SocketAddr>,
}

/// The Trusted Origins API's settings (`[api]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// Calls a minute each caller may make (each API token, each access token's user, each
    /// administrator's console session): Okta's default, 600, unless set. Past it, 429.
    pub rate_limit_per_minute: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            rate_limit_per_minute: RateLimit::OKTA_DEFAULT.calls_per_minute(),
        }
    }
}

/// The origin clients reach a server listening on `addr` at: its address, or the loopback one
/// for an unspecified address (`0.0.0.0`, `[::]`).
pub fn listen_origin(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}")
}

/// How long a client may take and how many may be served at once (`[server]` in the
/// configuration). Both org servers apply them; they are the deployment advice for any service
/// using the layers: a CORS layer decides on headers, so a server must first make sure the
/// headers arrive in bounded time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLimits {
    /// A request's head (request line and headers) must arrive within this many milliseconds
    /// of the server starting to wait for it; else the connection is closed (actix-web answers
    /// 408 first).
    pub header_read_timeout_ms: u64,
    /// A connection on which the client sends nothing (before its first request, or between
    /// keep-alive requests) is closed after this many milliseconds.
    pub idle_timeout_ms: u64,
    /// A request, body included, must be answered within this many milliseconds; else 408.
    pub request_timeout_ms: u64,
    /// At most this many connections are served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout_ms: 5_000,
            idle_timeout_ms: 60_000,
            request_timeout_ms: 30_000,
            max_connections: 1_024,
        }
    }
}

impl ServerLimits {
    /// The head read timeout.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    fn check(&self) -> Result<(), StartError> {
        for (key, value) in [
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("max_connections", self.max_connections as u64),
        ] {
            if value == 0 {
                return Err(StartError(format!(
                    "config: server.{key} must be greater than 0"
                )));
            }
        }
        Ok(())
    }

    /// The answer when a request takes longer than [`request_timeout`](Self::request_timeout).
    pub fn timed_out(&self) -> Reply {
        Reply::error(
            408,
            "E0000009",
            "Request Timeout",
            Some(&format!(
                "The request was not received and answered within {} ms",
                self.request_timeout_ms
            )),
        )
    }
}

/// A user in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Okta-style id, e.g. `00u1ada`.
    pub id: String,
    /// Sign-in name.
    pub login: String,
    /// Password for the sign-in form.
    pub password: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Email address.
    pub email: String,
    /// Accepted as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// The scopes of the Trusted Origins API granted to the user's access token:
    /// `okta.trustedOrigins.read` (list and get), `okta.trustedOrigins.manage` (changes, and
    /// reads). None by default: the token is then refused there (403).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Whether the user is an administrator: signed in, they manage trusted origins in the
    /// admin console (`/admin/trusted-origins`), whose calls to the Trusted Origins API their
    /// session authenticates. `false` by default: other users' sessions get 403 there.
    #[serde(default)]
    pub admin: bool,
}

/// A configuration that could not be used, with what is wrong.
#[derive(Debug)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// The store the org keeps its trusted origins in, from the `store` setting or `--store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `memory`: nothing kept; the configuration's origins at every start.
    Memory,
    /// A SQLite file (the default: `trusted-origins.db`).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`), shared by a fleet.
    Postgres(String),
}

/// The SQLite file used when the configuration names no store.
pub const DEFAULT_STORE: &str = "trusted-origins.db";

impl StoreLocation {
    /// Reads a `store` value; `None` is the default SQLite file.
    pub fn parse(value: Option<&str>) -> Result<Self, StartError> {
        match value.map(str::trim) {
            None => Ok(StoreLocation::Sqlite(PathBuf::from(DEFAULT_STORE))),
            Some("") => Err(StartError(
                "config: store is empty; give a file path, a postgres:// URL or `memory`".into(),
            )),
            Some("memory") => Ok(StoreLocation::Memory),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(url.to_owned()))
            }
            Some(url) if url.contains("://") => Err(StartError(format!(
                "config: store: `{}` is neither a file path nor a postgres:// URL",
                url.split("://").next().unwrap_or_default()
            ))),
            Some(path) => Ok(StoreLocation::Sqlite(PathBuf::from(path))),
        }
    }
}

impl OrgConfig {
    /// Parses a TOML configuration; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self, StartError> {
        toml::from_str(text).map_err(|e| StartError(format!("{source}: {e}")))
    }

    /// Reads the file at `path`, or the embedded default when `None`.
    pub fn load(path: Option<&Path>) -> Result<Self, StartError> {
        match path {
            None => OrgConfig::parse(DEFAULT_CONFIG, "embedded examples/org.toml"),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    StartError(format!("cannot read config {}: {e}", path.display()))
                })?;
                OrgConfig::parse(&text, &path.display().to_string())
            }
        }
    }
}

/// One user, as the org keeps it.
#[derive(Debug, Clone)]
struct User {
    config: UserConfig,
}

impl User {
    fn json(&self) -> serde_json::Value {
        json!({
            "id": self.config.id,
            "status": "ACTIVE",
            "profile": {
                "login": self.config.login,
                "firstName": self.config.first_name,
                "lastName": self.config.last_name,
                "email": self.config.email,
            }
        })
    }
}

/// The body of a [`Reply`].
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyBody {
    /// `application/json`.
    Json(serde_json::Value),
    /// `text/html; charset=utf-8`.
    Html(String),
    /// `application/json`, already serialized (the Trusted Origins API's answers, as it wrote
    /// them).
    JsonBytes(Vec<u8>),
    /// Prometheus's text exposition format.
    Prometheus(String),
    /// No body.
    Empty,
}

/// A framework-neutral response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (`Location`, `Set-Cookie`, the Trusted Origins API's `Link`).
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body.
    pub body: ReplyBody,
}

impl Reply {
    fn json(status: u16, value: serde_json::Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(value),
        }
    }

    fn html(status: u16, html: String) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Html(html),
        }
    }

    fn error(status: u16, code: &str, summary: &str, cause: Option<&str>) -> Self {
        let mut error = OktaError::new(code, summary);
        if let Some(cause) = cause {
            error = error.cause(cause);
        }
        let value = serde_json::to_value(&error).unwrap_or_default();
        Reply::json(status, value)
    }

    fn redirect(location: String) -> Self {
        Reply {
            status: 303,
            headers: vec![("location".into(), location)],
            body: ReplyBody::Empty,
        }
    }

    /// 400 for a request whose `Host` is missing (HTTP/1.1), repeated, or differs from its
    /// `:authority` (HTTP/2).
    pub fn bad_host() -> Self {
        Reply::error(
            400,
            "E0000001",
            "Api validation failed: Host",
            Some("Send exactly one Host header (HTTP/1.1), or a host field equal to :authority (HTTP/2)"),
        )
    }

    /// An answer of the Trusted Origins API: its status, headers and body as they are.
    fn from_api<B: AsRef<[u8]>>(response: axum::http::Response<B>) -> Self {
        let (parts, body) = response.into_parts();
        let body = body.as_ref();
        let headers = parts
            .headers
            .iter()
            .filter(|(name, _)| {
                *name != axum::http::header::CONTENT_TYPE
                    && *name != axum::http::header::CONTENT_LENGTH
            })
            .filter_map(|(name, value)| {
                let value = value.to_str().ok()?;
                Some((Cow::Owned(name.as_str().to_owned()), value.to_owned()))
            })
            .collect();
        Reply {
            status: parts.status.as_u16(),
            headers,
            body: if body.is_empty() {
                ReplyBody::Empty
            } else {
                ReplyBody::JsonBytes(body.to_vec())
            },
        }
    }

    /// 413 for a request body larger than the Trusted Origins API reads.
    pub fn body_too_large() -> Self {
        Reply::from_api(trusted_cors::admin::body_too_large())
    }

    /// The `Content-Type` of the body, if any.
    pub fn content_type(&self) -> Option<&'static str> {
        match self.body {
            ReplyBody::Json(_) | ReplyBody::JsonBytes(_) => Some("application/json"),
            ReplyBody::Html(_) => Some("text/html; charset=utf-8"),
            ReplyBody::Prometheus(_) => Some("text/plain; version=0.0.4; charset=utf-8"),
            ReplyBody::Empty => None,
        }
    }

    /// The body bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            ReplyBody::Json(value) => serde_json::to_vec(value).unwrap_or_default(),
            ReplyBody::Html(html) | ReplyBody::Prometheus(html) => html.clone().into_bytes(),
            ReplyBody::JsonBytes(bytes) => bytes.clone(),
            ReplyBody::Empty => Vec::new(),
        }
    }
}

/// Who is calling.
enum Caller {
    User(usize),
    ApiToken,
    Anonymous,
    BadToken,
}

/// The sign-in form.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginForm {
    /// Sign-in name.
    pub login: String,
    /// Password.
    pub password: String,
    /// Where to go after signing in.
    #[serde(default)]
    pub redirect: Option<String>,
}

/// The optional `redirect` of `/login` and `/logout`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RedirectParam {
    /// Where to go afterwards.
    #[serde(default)]
    pub redirect: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileUpdate {
    profile: ProfileFields,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileFields {
    first_name: String,
    last_name: String,
}

/// The session cookie a handler may act on: on a cross-origin call only when the route's CORS
/// outcome allows credentials (the `CorsContext` extractor of either adapter), so a handler never
/// honours a cookie the CORS policy did not grant, whatever the layers in front of it.
pub fn session_cookie<'a>(cookie: Option<&'a str>, cors: &CorsOutcome) -> Option<&'a str> {
    cookie.filter(|_| !cors.is_cross_origin() || cors.allows_credentials())
}

/// A request's cookies as one value: every `Cookie` field that is text, joined with `"; "`. An
/// HTTP/2 client may split the cookie into several `cookie` fields (RFC 9113 §8.2.3; browsers do,
/// for better header compression), which are one cookie-string; reading only the first would
/// lose the session.
pub fn joined_cookies<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> Option<String> {
    let texts: Vec<&str> = fields
        .into_iter()
        .filter_map(|field| std::str::from_utf8(field).ok())
        .collect();
    (!texts.is_empty()).then(|| texts.join("; "))
}

/// The running org: CORS, trusted origins, users and sessions.
#[derive(Debug)]
pub struct Org {
    cors: Cors,
    api: TrustedOriginsApi,
    origins: Arc<TrustedOrigins>,
    limits: ServerLimits,
    users: Mutex<Vec<User>>,
    sessions: Mutex<HashMap<String, usize>>,
    api_tokens: Vec<String>,
    /// The Prometheus recorder's handle, when the configuration turns metrics on.
    metrics: Option<PrometheusHandle>,
    /// Applies the changes other instances commit to the store.
    _follower: Follower,
}

/// Opens trusted origins kept in `store`, seeded with `seeds` when it is new.
async fn open_store(
    store: Result<impl TrustedOriginStore, StoreError>,
    seeds: Vec<trusted_cors::NewTrustedOrigin>,
) -> Result<TrustedOrigins, StartError> {
    let store = store.map_err(|e| StartError(format!("store: {e}")))?;
    TrustedOrigins::open(store, seeds)
        .await
        .map_err(|e| StartError(format!("store: {e}")))
}

/// The users' access tokens, each granting its user's scopes of the Trusted Origins API to the
/// user's login. An unknown scope, or a token two users share, is an error naming the user.
fn access_tokens(users: &[UserConfig]) -> Result<StaticAccessTokens, StartError> {
    let mut tokens = std::collections::HashSet::new();
    let mut grants = Vec::with_capacity(users.len());
    for (index, user) in users.iter().enumerate() {
        let wrong =
            |what: String| StartError(format!("config: users[{index}] (`{}`): {what}", user.login));
        if !tokens.insert(user.access_token.as_str()) {
            return Err(wrong(
                "access_token is another user's too; give each user their own".into(),
            ));
        }
        let scopes = user
            .scopes
            .iter()
            .map(|name| name.parse::<ApiScope>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| wrong(format!("scopes: {e}")))?;
        grants.push((user.access_token.as_str(), Grant::new(&user.login, scopes)));
    }
    Ok(StaticAccessTokens::new(grants))
}

/// Whether a presented secret (password, token) equals a stored one. Both are hashed to 32
/// bytes, which `subtle` compares in constant time: the answer takes as long wherever the secrets
/// differ and whatever their lengths, except that hashing grows with a secret's length in steps
/// of 64 bytes.
fn secrets_match(stored: &str, presented: &str) -> bool {
    let stored = Sha256::digest(stored.as_bytes());
    let presented = Sha256::digest(presented.as_bytes());
    stored.ct_eq(&presented).into()
}

/// The process's Prometheus recorder: installed as the `metrics` facade's global recorder the
/// first time an org with metrics on opens, and shared by every org of the process (a process has
/// one global recorder). The store write histogram gets buckets from 0.5 ms to 2.5 s.
fn prometheus() -> Result<PrometheusHandle, StartError> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    let installed = HANDLE.get_or_init(|| {
        let buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ];
        let store_writes = Matcher::Full(trusted_cors::metrics::STORE_WRITE_SECONDS.to_owned());
        PrometheusBuilder::new()
            .set_buckets_for_metric(store_writes, &buckets)
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|e| e.to_string())
    });
    installed.clone().map_err(|e| {
        StartError(format!(
            "metrics: cannot install the Prometheus recorder: {e}"
        ))
    })
}

/// The CORS policy of "Get current user" and "Update current user": trusted origins with
/// cookies, bearer tokens from any origin.
pub fn me_policy() -> RouteCors {
    RouteCors::builder()
        .name("users_me")
        .allow_methods(["GET", "PUT"])
        .allow_headers(["content-type", "accept"])
        .bearer_from_any_origin()
        .build()
        .expect("a valid policy")
}

/// The CORS policy of "Get user": trusted origins with cookies.
pub fn user_policy() -> RouteCors {
    RouteCors::builder()
        .name("users_id")
        .allow_headers(["content-type", "accept"])
        .build()
        .expect("a valid policy")
}

impl Org {
    /// Builds the org from its configuration, opening (and when new, seeding) its store; any
    /// invalid value is an error naming it. Starts the task that applies the changes other
    /// instances commit, on the current Tokio runtime.
    pub async fn open(config: OrgConfig) -> Result<Arc<Org>, StartError> {
        config.server.check()?;
        let mut settings = config.cors.clone();
        if let Some(public) = &config.public_origin {
            settings.public_origins.push(public.clone());
        }
        let cors_config =
            CorsConfig::try_from(settings).map_err(|e| StartError(format!("config: {e}")))?;
        // Installed before anything reports to it (the store's seeding, the CORS handle).
        let metrics = match cors_config.metrics() {
            true => Some(prometheus()?),
            false => None,
        };
        let seeds = SeedOrigin::validate_all(&config.trusted_origins, cors_config.origin_schemes())
            .map_err(|e| StartError(format!("config: {e}")))?;
        let origins = match StoreLocation::parse(config.store.as_deref())? {
            StoreLocation::Memory => TrustedOrigins::in_memory(
                Registry::with_origins(seeds)
                    .map_err(|e| StartError(format!("config: trusted_origins: {e}")))?,
            ),
            // Durable: every change through the API is committed before the API answers.
            StoreLocation::Sqlite(path) => {
                open_store(SqliteStore::open(&path).await, seeds).await?
            }
            StoreLocation::Postgres(url) => {
                open_store(PostgresStore::connect(&url).await, seeds).await?
            }
        };
        let origins = Arc::new(origins);
        // Other instances sharing the store: apply their changes as they commit them.
        let follower = origins.follow();
        let registry = Arc::clone(origins.registry());
        let mut ids = std::collections::HashSet::new();
        for user in &config.users {
            if !ids.insert(user.id.clone()) {
                return Err(StartError(format!(
                    "config: users: duplicate id `{}`",
                    user.id
                )));
            }
        }
        // Users' access tokens reach the Trusted Origins API with their scopes, and the
        // changes made with them are recorded as the user's.
        let rate_limit = RateLimit::per_minute(config.api.rate_limit_per_minute)
            .map_err(|e| StartError(format!("config: api.rate_limit_per_minute: {e}")))?;
        let mut api = TrustedOriginsApi::new(Arc::clone(&origins), &config.api_tokens)
            .with_authorizer(access_tokens(&config.users)?)
            .with_rate_limit(rate_limit);
        // Absolute links, as Okta's (its SDKs follow them as given): to the public origin, else
        // to where the server listens. Never from the request's Host.
        let base_url = match (&config.public_origin, config.listen_addr) {
            (Some(public), _) => Some(("public_origin", public.clone())),
            (None, Some(addr)) => Some(("listen address", listen_origin(addr))),
            (None, None) => None,
        };
        if let Some((source, base_url)) = base_url {
            api = api
                .with_base_url(&base_url)
                .map_err(|e| StartError(format!("config: {source}: {e}")))?;
        }
        Ok(Arc::new(Org {
            cors: Cors::new(cors_config, registry),
            api,
            users: Mutex::new(
                config
                    .users
                    .into_iter()
                    .map(|config| User { config })
                    .collect(),
            ),
            sessions: Mutex::new(HashMap::new()),
            api_tokens: config.api_tokens,
            origins,
            limits: config.server,
            metrics,
            _follower: follower,
        }))
    }

    /// `GET /metrics`: the metrics in Prometheus's text format, or 404 when the configuration
    /// does not turn them on (`[cors] metrics = true`). Server-side only: no route declares it,
    /// so the guard refuses its preflights and browsers keep its answer from other origins.
    pub fn metrics(&self) -> Reply {
        match &self.metrics {
            Some(handle) => {
                // Drains the histograms' buffers into their buckets; Prometheus scrapes often
                // enough to keep them small, so no task of its own is needed.
                handle.run_upkeep();
                Reply {
                    status: 200,
                    headers: Vec::new(),
                    body: ReplyBody::Prometheus(handle.render()),
                }
            }
            None => Reply::error(
                404,
                "E0000007",
                "Not found: Resource not found: metrics (MetricsEndpoint)",
                Some("Metrics are off: set metrics = true under [cors] in the configuration"),
            ),
        }
    }

    /// The limits on slow and idle clients the server applies.
    pub fn limits(&self) -> ServerLimits {
        self.limits
    }

    /// `GET /health`: the revision of the trusted origins this instance serves, how many there
    /// are, and where they are kept. Instances sharing a store converge on one revision.
    pub fn health(&self) -> Reply {
        let store = self
            .origins
            .store()
            .map_or_else(|| "memory".to_owned(), |store| store.describe());
        Reply::json(
            200,
            json!({
                "status": "UP",
                "revision": self.origins.revision(),
                "trustedOrigins": self.origins.registry().snapshot().len(),
                "store": store,
            }),
        )
    }

    /// The Trusted Origins API, guarded by the configured API tokens and the users' access
    /// tokens with their scopes.
    pub fn api(&self) -> &TrustedOriginsApi {
        &self.api
    }

    /// The CORS handle shared by the layers.
    pub fn cors(&self) -> &Cors {
        &self.cors
    }

    fn caller(&self, cookie: Option<&str>, authorization: Option<&str>) -> Caller {
        if let Some(authorization) = authorization {
            let (scheme, token) = authorization
                .trim()
                .split_once(' ')
                .unwrap_or((authorization, ""));
            let token = token.trim();
            if scheme.eq_ignore_ascii_case("bearer") {
                let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
                return users
                    .iter()
                    .position(|u| secrets_match(&u.config.access_token, token))
                    .map_or(Caller::BadToken, Caller::User);
            }
            if scheme.eq_ignore_ascii_case("ssws") {
                let valid = self
                    .api_tokens
                    .iter()
                    .fold(false, |found, t| found | secrets_match(t, token));
                return if valid {
                    Caller::ApiToken
                } else {
                    Caller::BadToken
                };
            }
            return Caller::BadToken;
        }
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        cookie
            .and_then(|c| cookie_value(c, "sid"))
            .and_then(|sid| sessions.get(sid).copied())
            .map_or(Caller::Anonymous, Caller::User)
    }

    /// Where to send the browser after sign-in or sign-out: a path on this org, or a URL on an
    /// ACTIVE trusted origin with the REDIRECT scope. The answer is the parsed URL's own
    /// serialization, so tabs, newlines and backslashes that browsers would reinterpret never
    /// reach `Location`.
    fn redirect_target(&self, redirect: Option<&str>) -> Result<String, Reply> {
        let Some(target) = redirect.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok("/".to_owned());
        };
        let refuse = || {
            Reply::error(
                400,
                "E0000001",
                "Api validation failed: redirect",
                Some(&format!(
                    "{target} is not a path on this org nor on an ACTIVE trusted origin with the REDIRECT scope: add its origin under trusted origins with the Redirect scope"
                )),
            )
        };
        if target.chars().any(|c| c.is_control() || c == '\\') {
            return Err(refuse());
        }
        if target.starts_with('/') {
            // Resolve against a stand-in origin: anything that leaves it (`//host`) is refused.
            let base = url::Url::parse("http://org.invalid/").expect("a valid base");
            return match base.join(target) {
                Ok(url) if url.origin() == base.origin() => {
                    Ok(url[url::Position::BeforePath..].to_owned())
                }
                _ => Err(refuse()),
            };
        }
        match url::Url::parse(target) {
            Ok(url)
                if self
                    .cors
                    .registry()
                    .snapshot()
                    .redirect_allowed(url.as_str()) =>
            {
                Ok(url.into())
            }
            _ => Err(refuse()),
        }
    }

    /// `GET /`: who is signed in.
    pub fn home(&self, cookie: Option<&str>) -> Reply {
        let who = match self.caller(cookie, None) {
            Caller::User(index) => {
                let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
                let user = &users[index].config;
                let console = if user.admin {
                    format!(
                        " <a id=\"admin-console\" href=\"{}\">Manage trusted origins</a>.",
                        console::CONSOLE_PATH
                    )
                } else {
                    String::new()
                };
                format!("Signed in as <strong id=\"who\">{}</strong>.{console} <form method=\"post\" action=\"/logout\"><button id=\"sign-out\">Sign out</button></form>", html_escape(&user.login))
            }
            _ => "Not signed in. <a href=\"/login\">Sign in</a>".to_owned(),
        };
        let mut reply = Reply::html(
            200,
            page("Example org", &format!("<h1>Example org</h1><p>{who}</p>")),
        );
        reply.headers.push(self.end_user_frame_ancestors());
        reply
    }

    /// `Content-Security-Policy` for the end-user pages (the home page): framed by the org and
    /// by the ACTIVE IFRAME_EMBED trusted origins whose `allowedOktaApps` list `OKTA_ENDUSER`;
    /// the others may frame the sign-in page only.
    pub fn end_user_frame_ancestors(&self) -> (Cow<'static, str>, String) {
        let snapshot = self.cors.registry().snapshot();
        (
            "content-security-policy".into(),
            snapshot.frame_ancestors_for(OktaApp::OktaEnduser),
        )
    }

    /// `GET /login`: the sign-in form.
    pub fn login_page(&self, redirect: Option<&str>) -> Reply {
        let redirect = html_escape(redirect.unwrap_or(""));
        Reply::html(200, page("Sign in", &format!(
            "<h1>Sign in</h1><form method=\"post\" action=\"/login\">\
             <label>Username <input id=\"login\" name=\"login\" autocomplete=\"username\"></label>\
             <label>Password <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
             <input type=\"hidden\" name=\"redirect\" value=\"{redirect}\">\
             <button id=\"sign-in\" type=\"submit\">Sign in</button></form>"
        )))
    }

    /// `POST /login`: checks the password, opens a session, redirects.
    pub fn login(&self, form: &LoginForm) -> Reply {
        let target = match self.redirect_target(form.redirect.as_deref()) {
            Ok(target) => target,
            Err(reply) => return reply,
        };
        let index = {
            let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
            // Every password is compared, so the time taken does not tell which logins exist.
            users.iter().enumerate().fold(None, |found, (index, u)| {
                let password = secrets_match(&u.config.password, &form.password);
                let login = u.config.login.eq_ignore_ascii_case(form.login.trim());
                found.or((password && login).then_some(index))
            })
        };
        let Some(index) = index else {
            return Reply::error(
                401,
                "E0000004",
                "Authentication failed",
                Some("The username or password is wrong"),
            );
        };
        let sid = random_token();
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sid.clone(), index);
        let mut reply = Reply::redirect(target);
        reply.headers.push((
            "set-cookie".into(),
            format!("sid={sid}; HttpOnly; SameSite=Lax; Path=/"),
        ));
        reply
    }

    /// `POST /logout`: ends the session, redirects.
    pub fn logout(&self, cookie: Option<&str>, redirect: Option<&str>) -> Reply {
        let target = match self.redirect_target(redirect) {
            Ok(target) => target,
            Err(reply) => return reply,
        };
        if let Some(sid) = cookie.and_then(|c| cookie_value(c, "sid")) {
            self.sessions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(sid);
        }
        let mut reply = Reply::redirect(target);
        reply.headers.push((
            "set-cookie".into(),
            "sid=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0".to_owned(),
        ));
        reply
    }

    fn user_caller(
        &self,
        cookie: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<usize, Reply> {
        match self.caller(cookie, authorization) {
            Caller::User(index) => Ok(index),
            Caller::Anonymous => Err(Reply::error(
                403,
                "E0000005",
                "Invalid session",
                Some("Sign in to the org first"),
            )),
            Caller::ApiToken | Caller::BadToken => Err(invalid_token()),
        }
    }

    /// `GET /api/v1/users/me`.
    pub fn me(&self, cookie: Option<&str>, authorization: Option<&str>) -> Reply {
        let index = match self.user_caller(cookie, authorization) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        handler_ran("GET /api/v1/users/me", authorization);
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        Reply::json(200, users[index].json())
    }

    /// `PUT /api/v1/users/me` with `{"profile":{"firstName","lastName"}}`.
    pub fn update_me(
        &self,
        cookie: Option<&str>,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let index = match self.user_caller(cookie, authorization) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        handler_ran("PUT /api/v1/users/me", authorization);
        let update: ProfileUpdate = match serde_json::from_slice(body) {
            Ok(update) => update,
            Err(e) => {
                return Reply::error(
                    400,
                    "E0000001",
                    "Api validation failed: profile",
                    Some(&format!(
                        "The body is not {{\"profile\":{{\"firstName\",\"lastName\"}}}}: {e}"
                    )),
                )
            }
        };
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users[index].config.first_name = update.profile.first_name;
        users[index].config.last_name = update.profile.last_name;
        Reply::json(200, users[index].json())
    }

    /// `GET /api/v1/users/{id}`.
    pub fn user(&self, cookie: Option<&str>, authorization: Option<&str>, id: &str) -> Reply {
        match self.caller(cookie, authorization) {
            Caller::User(_) | Caller::ApiToken => {}
            Caller::Anonymous => {
                return Reply::error(
                    403,
                    "E0000005",
                    "Invalid session",
                    Some("Sign in to the org first"),
                )
            }
            Caller::BadToken => return invalid_token(),
        }
        handler_ran("GET /api/v1/users/{id}", authorization);
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        match users.iter().find(|u| u.config.id == id) {
            Some(user) => Reply::json(200, user.json()),
            None => Reply::error(
                404,
                "E0000007",
                &format!("Not found: Resource not found: {id} (User)"),
                None,
            ),
        }
    }

    /// `GET /api/v1/users`: server-side callers with an API token only.
    pub fn list_users(&self, authorization: Option<&str>) -> Reply {
        match authorization.map(|a| self.caller(None, Some(a))) {
            Some(Caller::ApiToken) => {
                handler_ran("GET /api/v1/users", authorization);
                let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
                Reply::json(200, users.iter().map(User::json).collect())
            }
            _ => invalid_token(),
        }
    }

    /// `GET /api/v1/cors/explain?origin=…&method=…&path=…&headers=…&credentials=…`: why a call
    /// from a page on `origin` is allowed, refused or blocked, rule by rule (see [`explain`]).
    pub fn explain(&self, raw_query: Option<&str>) -> Reply {
        explain::explain_reply(&self.cors, raw_query)
    }

    /// The trusted origins, for tests and the admin API.
    pub fn trusted_origins(&self) -> Vec<TrustedOrigin> {
        self.cors.registry().snapshot().to_vec()
    }
}

fn invalid_token() -> Reply {
    Reply::error(
        401,
        "E0000011",
        "Invalid token provided",
        Some("Send a valid access token as Bearer, or (server-side only) an API token as SSWS"),
    )
}

/// Logs that an application handler ran, so tests can tell that a refused request never did.
fn handler_ran(route: &str, authorization: Option<&str>) {
    let auth = match authorization.and_then(|a| a.split_whitespace().next()) {
        Some(scheme) if scheme.eq_ignore_ascii_case("ssws") => "api-token",
        Some(_) => "bearer",
        None => "session",
    };
    tracing::info!(target: "org", route, auth, "handler ran");
}

fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Escapes text for HTML.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>")
}

pub mod console;

/// Command-line flags shared by the binaries.
#[derive(Debug, Clone)]
pub struct Flags {
    /// `--addr HOST:PORT`.
    pub addr: SocketAddr,
    /// `--config PATH` (org servers).
    pub config: Option<PathBuf>,
    /// `--store LOCATION` (org servers): overrides the configuration's `store`.
    pub store: Option<String>,
    /// `--org URL` (tester).
    pub org: Option<String>,
}

impl Flags {
    /// Parses `--addr`, `--config` and `--org`; `allowed` names the flags this binary takes.
    pub fn parse(default_addr: &str, allowed: &[&str]) -> Result<Flags, String> {
        let mut flags = Flags {
            addr: default_addr.parse().map_err(|e| format!("{e}"))?,
            config: None,
            store: None,
            org: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err(format!(
                    "usage: {} {}",
                    std::env::args().next().unwrap_or_default(),
                    allowed
                        .iter()
                        .map(|f| format!("[{f} VALUE]"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
            if !allowed.contains(&flag.as_str()) {
                return Err(format!(
                    "unknown flag `{flag}`; this program takes {}",
                    allowed.join(", ")
                ));
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--addr" => {
                    flags.addr = value.parse().map_err(|e| {
                        format!("--addr {value}: {e} (expected HOST:PORT, e.g. 127.0.0.1:8080)")
                    })?
                }
                "--config" => flags.config = Some(PathBuf::from(value)),
                "--store" => flags.store = Some(value),
                "--org" => flags.org = Some(value),
                _ => unreachable!("checked above"),
            }
        }
        Ok(flags)
    }
}

/// What both org servers do first: parse `--addr` and `--config`, load the configuration (the
/// embedded one by default), listen on the address (so that the API's links can name it) and
/// build the org. On failure it prints why and returns the exit code.
pub async fn start_org(
    program: &str,
) -> Result<(Flags, Arc<Org>, std::net::TcpListener), std::process::ExitCode> {
    init_logging();
    let flags =
        Flags::parse("127.0.0.1:8080", &["--addr", "--config", "--store"]).map_err(|message| {
            eprintln!("{message}");
            std::process::ExitCode::from(2)
        })?;
    let fail = |error: StartError| {
        eprintln!("{program}: {error}");
        std::process::ExitCode::FAILURE
    };
    let mut config = OrgConfig::load(flags.config.as_deref()).map_err(fail)?;
    if let Some(store) = &flags.store {
        config.store = Some(store.clone());
    }
    let listener = std::net::TcpListener::bind(flags.addr)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map_err(|error| {
            eprintln!("{program}: cannot listen on {}: {error}", flags.addr);
            std::process::ExitCode::FAILURE
        })?;
    config.listen_addr = listener.local_addr().ok();
    let org = Org::open(config).await.map_err(fail)?;
    Ok((flags, org, listener))
}

/// Logs to stderr: the `trusted_cors` denials and the org's `handler ran` lines.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
}

/// The Okta-like Trusted Origins list for the home page and tests.
pub fn scope_names(origin: &TrustedOrigin) -> Vec<&'static str> {
    origin.scopes.iter().map(|s| s.kind.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded configuration, kept in memory.
    fn in_memory() -> OrgConfig {
        let mut config = OrgConfig::load(None).unwrap();
        config.store = Some("memory".into());
        config
    }

    #[tokio::test]
    async fn the_embedded_config_starts() {
        let org = Org::open(in_memory()).await.unwrap();
        assert_eq!(org.trusted_origins().len(), 1);
        assert_eq!(org.health().status, 200);
    }

    #[test]
    fn store_locations_are_read() {
        let parse = |value| StoreLocation::parse(value).map_err(|e| e.to_string());
        assert_eq!(
            parse(None),
            Ok(StoreLocation::Sqlite(PathBuf::from("trusted-origins.db")))
        );
        assert_eq!(parse(Some("memory")), Ok(StoreLocation::Memory));
        assert_eq!(
            parse(Some("/var/lib/org/origins.db")),
            Ok(StoreLocation::Sqlite(PathBuf::from(
                "/var/lib/org/origins.db"
            )))
        );
        assert_eq!(
            parse(Some("postgres://org@db/org")),
            Ok(StoreLocation::Postgres("postgres://org@db/org".into()))
        );
        let err = parse(Some("mysql://u:secret@db/org")).unwrap_err();
        assert!(err.contains("`mysql`") && !err.contains("secret"), "{err}");
        assert!(parse(Some(" ")).is_err());
    }

    #[tokio::test]
    async fn bad_configs_name_the_problem() {
        let err = OrgConfig::parse("colour = 1", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
        let config = OrgConfig::parse(
            "store = \"memory\"\n[[trusted_origins]]\nname = \"x\"\norigin = \"localhost:1\"\nscopes = [\"CORS\"]",
            "t.toml",
        )
        .unwrap();
        let err = Org::open(config).await.unwrap_err().to_string();
        assert!(err.contains("localhost:1"), "{err}");
        assert!(err.contains("trusted_origins[0].origin"), "{err}");

        let mut config = in_memory();
        config.users[1].scopes = vec![
            "okta.trustedOrigins.read".into(),
            "okta.users.manage".into(),
        ];
        let err = Org::open(config).await.unwrap_err().to_string();
        assert!(
            err.contains(
                "users[1] (`grace@example.com`): scopes: unknown scope `okta.users.manage`"
            ),
            "{err}"
        );
        let mut config = in_memory();
        config.users[1].access_token = config.users[0].access_token.clone();
        let err = Org::open(config).await.unwrap_err().to_string();
        assert!(
            err.contains("users[1] (`grace@example.com`): access_token"),
            "{err}"
        );
        assert!(!err.contains("at-ada-example"), "never the token: {err}");
    }

    #[tokio::test]
    async fn users_access_tokens_have_their_scopes_in_the_api() {
        use trusted_cors::admin::ApiRequest;
        let org = Org::open(in_memory()).await.unwrap();
        let call = |method, authorization: &'static [u8]| {
            org.api().handle(ApiRequest {
                method,
                path: "/api/v1/trustedOrigins",
                authorization: Some(authorization),
                body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
                ..ApiRequest::default()
            })
        };
        // Grace reads; Ada manages; the change is Ada's.
        assert_eq!(call("GET", b"Bearer at-grace-example").await.status(), 200);
        let refused = call("POST", b"Bearer at-grace-example").await;
        assert_eq!(refused.status(), 403);
        let body = String::from_utf8_lossy(refused.body()).into_owned();
        assert!(body.contains("okta.trustedOrigins.manage"), "{body}");
        let created = call("POST", b"Bearer at-ada-example").await;
        assert_eq!(created.status(), 200);
        let created: serde_json::Value = serde_json::from_slice(created.body()).unwrap();
        assert_eq!(created["createdBy"], "ada@example.com");
        assert_eq!(call("GET", b"Bearer at-nobody").await.status(), 401);
    }

    #[tokio::test]
    async fn redirects_are_checked() {
        let org = Org::open(in_memory()).await.unwrap();
        let form = |redirect: &str| LoginForm {
            login: "ada@example.com".into(),
            password: "correct horse battery staple".into(),
            redirect: Some(redirect.into()),
        };
        assert_eq!(org.login(&form("http://localhost:8081/")).status, 303);
        assert_eq!(org.login(&form("/home")).status, 303);
        assert_eq!(org.login(&form("//evil.example/")).status, 400);
        assert_eq!(org.login(&form("/\t/evil.example")).status, 400);
        assert_eq!(org.login(&form("/\\evil.example")).status, 400);
        assert_eq!(
            org.login(&form("/%09/evil.example")).headers[0].1,
            "/%09/evil.example"
        );
        assert_eq!(
            org.login(&form("http://localhost:8081/\r\nx: y")).status,
            400
        );
        assert_eq!(
            org.login(&form("http://LOCALHOST:8081/after")).headers[0].1,
            "http://localhost:8081/after"
        );
        assert_eq!(org.login(&form("http://127.0.0.1:8081/")).status, 400);
        let wrong = LoginForm {
            password: "nope".into(),
            ..form("/")
        };
        assert_eq!(org.login(&wrong).status, 401);
    }
}
