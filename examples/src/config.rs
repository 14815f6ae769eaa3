//! The org's configuration file (`examples/org.toml` by default): users, trusted origins, where
//! they are kept, the CORS settings and the limits on slow clients.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use trusted_cors::admin::RateLimit;
use trusted_cors::{CorsConfig, CorsSettings, NewTrustedOrigin, SeedOrigin};

use crate::{Reply, DEFAULT_CONFIG};

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
    /// Where an instance on a PostgreSQL store keeps its last-known-good copy of the trusted
    /// origins (default [`DEFAULT_SNAPSHOT_DIR`], relative to the working directory): it starts
    /// from it, and serves it, while the database is down.
    #[serde(default)]
    pub snapshot_dir: Option<PathBuf>,
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
    /// Where the server listens, once bound (set by [`start_org`](crate::cli::start_org), never
    /// read from the file): the API's links start with it when `public_origin` is not set.
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

    pub(crate) fn check(&self) -> Result<(), StartError> {
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
pub struct StartError(pub(crate) String);

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

/// The directory of the last-known-good copy when the configuration names none.
pub const DEFAULT_SNAPSHOT_DIR: &str = "trusted-origins-snapshot";

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

    /// The CORS configuration: `[cors]`, with `public_origin` among the public origins.
    pub fn cors_config(&self) -> Result<CorsConfig, StartError> {
        let mut settings = self.cors.clone();
        if let Some(public) = &self.public_origin {
            settings.public_origins.push(public.clone());
        }
        CorsConfig::try_from(settings).map_err(|e| StartError(format!("config: {e}")))
    }

    /// The seed trusted origins (`[[trusted_origins]]`), each checked as the registry checks
    /// it, with the origin schemes `cors` allows.
    pub fn seeds(&self, cors: &CorsConfig) -> Result<Vec<NewTrustedOrigin>, StartError> {
        SeedOrigin::validate_all(&self.trusted_origins, cors.origin_schemes())
            .map_err(|e| StartError(format!("config: {e}")))
    }

    /// Where the trusted origins are kept (`store`).
    pub fn store_location(&self) -> Result<StoreLocation, StartError> {
        StoreLocation::parse(self.store.as_deref())
    }

    /// The directory of the last-known-good copy (`snapshot_dir`).
    pub fn snapshot_dir(&self) -> PathBuf {
        self.snapshot_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SNAPSHOT_DIR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
