//! [`Org`]: the running org (its CORS handle, trusted origins and their store, the Trusted
//! Origins API, users and sessions), built from an [`OrgConfig`], and its server-side
//! endpoints (`/health`, `/metrics`).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use trusted_cors::admin::{
    ApiScope, Follower, Grant, LastKnownGood, PostgresStore, RateLimit, SqliteStore,
    StaticAccessTokens, StoreError, TrustedOriginStore, TrustedOrigins, TrustedOriginsApi,
};
use trusted_cors::{Cors, Registry, RouteCors, TrustedOrigin};

use crate::sessions::{session_id, Sessions};
use crate::users::User;
use crate::{
    explain, listen_origin, OrgConfig, Reply, ReplyBody, ServerLimits, StartError, StoreLocation,
    UserConfig,
};

/// Who is calling.
pub(crate) enum Caller {
    User(usize),
    ApiToken,
    Anonymous,
    BadToken,
}

/// The running org: CORS, trusted origins, users and sessions.
#[derive(Debug)]
pub struct Org {
    pub(crate) cors: Cors,
    pub(crate) api: TrustedOriginsApi,
    origins: Arc<TrustedOrigins>,
    limits: ServerLimits,
    pub(crate) users: Mutex<Vec<User>>,
    pub(crate) sessions: Sessions,
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
pub(crate) fn secrets_match(stored: &str, presented: &str) -> bool {
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
        let store_writes = Matcher::Full(
            trusted_cors::metrics::Metric::StoreWriteSeconds
                .name()
                .to_owned(),
        );
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
        let cors_config = config.cors_config()?;
        // Installed before anything reports to it (the store's seeding, the CORS handle).
        let metrics = match cors_config.metrics() {
            true => Some(prometheus()?),
            false => None,
        };
        let seeds = config.seeds(&cors_config)?;
        let origins = match config.store_location()? {
            StoreLocation::Memory => TrustedOrigins::in_memory(
                Registry::with_origins(seeds)
                    .map_err(|e| StartError(format!("config: trusted_origins: {e}")))?,
            ),
            // Durable: every change through the API is committed before the API answers.
            StoreLocation::Sqlite(path) => {
                open_store(SqliteStore::open(&path).await, seeds).await?
            }
            // A fleet: started from the last-known-good copy while the database is down.
            StoreLocation::Postgres(url) => {
                let dir = config.snapshot_dir();
                let copy = LastKnownGood::open(&dir)
                    .await
                    .map_err(|e| StartError(format!("snapshot_dir {}: {e}", dir.display())))?;
                TrustedOrigins::open_with_copy(PostgresStore::connect_lazy(&url), seeds, copy)
                    .await
                    .map_err(|e| StartError(format!("store: {e}")))?
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
            sessions: Sessions::default(),
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

    /// `GET /health`: `DEGRADED` (still 200: CORS is decided, from the last snapshot) while
    /// the store is down or the instance serves its last-known-good copy, else `UP`; the store's
    /// status since when, its kind and location (never a password); the revision of the trusted
    /// origins this instance serves, how many there are, and how many seconds ago they were
    /// last known to be the store's latest. Instances sharing a store converge on one revision.
    pub fn health(&self) -> Reply {
        let (kind, location) = self
            .origins
            .store()
            .map_or(("memory", "memory".to_owned()), |store| {
                (store.kind(), store.describe())
            });
        let health = self.origins.health();
        let since = time::OffsetDateTime::from(health.since)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Reply::json(
            200,
            json!({
                "status": if health.degraded() { "DEGRADED" } else { "UP" },
                "store": {
                    "status": if health.up { "UP" } else { "DOWN" },
                    "kind": kind,
                    "location": location,
                    "since": since,
                    "fromCopy": health.from_copy,
                },
                "revision": self.origins.revision(),
                "trustedOrigins": self.origins.registry().snapshot().len(),
                "snapshotAge": health.snapshot_age().as_secs(),
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

    pub(crate) fn caller(&self, cookie: Option<&str>, authorization: Option<&str>) -> Caller {
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
        session_id(cookie)
            .and_then(|sid| self.sessions.user(sid))
            .map_or(Caller::Anonymous, Caller::User)
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
}
