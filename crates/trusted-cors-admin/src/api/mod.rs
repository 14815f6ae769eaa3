//! The Trusted Origins management API as one framework-neutral handler: credentials, rate
//! limits and routing here; the list call in `list`, the JSON wire format in `wire`, the budgets
//! in `rate_limit`. The crate docs list the calls and the answers.

use std::fmt;
use std::sync::Arc;

use trusted_cors_core::{ChangeRequest, PreparedChange, Status};

use crate::access::{AccessTokenAuthorizer, ApiScope, Grant};
use crate::tokens::ApiTokens;
use crate::{TrustedOrigins, TrustedOriginsError};

use rate_limit::{Credential, Limiter};
use wire::{
    challenged, empty, error, forbidden, json_reply, method_not_allowed, parse_body,
    registry_error, request_id, store_error, too_many_requests, unavailable, Reply, REQUEST_ID,
};

pub use rate_limit::{InvalidRateLimit, RateLimit};
pub use wire::{body_too_large, trusted_origin_object};

mod list;
mod rate_limit;
mod wire;

/// The path the API is mounted at.
pub const TRUSTED_ORIGINS_PATH: &str = "/api/v1/trustedOrigins";
/// The page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest page.
pub const MAX_LIMIT: usize = 200;
/// The largest request body the API's mountings read (a trusted origin is a few hundred bytes);
/// they answer 413 to a larger one.
pub const MAX_BODY_LEN: usize = 64 * 1024;

/// One request to the API, as plain values.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiRequest<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The whole path, starting with `/api/v1/trustedOrigins`.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a [u8]>,
    /// The body.
    pub body: &'a [u8],
}

/// A base URL for the API's links that is not an `http`/`https` origin (with an optional path
/// prefix): names the value and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid base URL `{value}` for the Trusted Origins API links: {reason}")]
pub struct InvalidBaseUrl {
    value: String,
    reason: &'static str,
}

/// The Trusted Origins API over a service's [`TrustedOrigins`], guarded by `SSWS` API tokens and,
/// with [`with_authorizer`](Self::with_authorizer), by OAuth 2.0 access tokens with Okta's
/// scopes.
///
/// ```
/// use std::sync::Arc;
/// use trusted_cors_admin::{ApiRequest, TrustedOrigins, TrustedOriginsApi};
/// use trusted_cors_core::Registry;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let origins = Arc::new(TrustedOrigins::in_memory(Registry::new()));
/// let registry = Arc::clone(origins.registry());
/// let api = TrustedOriginsApi::new(origins, ["00secret-token"]);
/// let response = api.handle(ApiRequest {
///     method: "POST",
///     path: "/api/v1/trustedOrigins",
///     query: None,
///     authorization: Some(b"SSWS 00secret-token"),
///     body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
/// }).await;
/// assert_eq!(response.status(), 200);
/// assert_eq!(registry.snapshot().len(), 1);
///
/// let created: serde_json::Value = serde_json::from_slice(response.body())?;
/// let id = created["id"].as_str().unwrap_or_default();
/// assert_eq!(
///     created["_links"]["self"]["href"],
///     format!("/api/v1/trustedOrigins/{id}"), // absolute with `with_base_url`
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TrustedOriginsApi {
    origins: Arc<TrustedOrigins>,
    tokens: ApiTokens,
    authorizer: Option<Arc<dyn AccessTokenAuthorizer>>,
    base_url: Option<Arc<str>>,
    limiter: Option<Arc<Limiter>>,
}

impl fmt::Debug for TrustedOriginsApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedOriginsApi")
            .field("origins", &self.origins)
            .field("tokens", &self.tokens.len())
            .field("authorizer", &self.authorizer)
            .field("base_url", &self.base_url)
            .field("limiter", &self.limiter)
            .finish()
    }
}

enum Target<'a> {
    Collection,
    Item(&'a str),
    Lifecycle(&'a str, Status),
    Unknown,
}

impl TrustedOriginsApi {
    /// The API over `origins`, accepting `Authorization: SSWS <token>` for any of `tokens`, with
    /// every right; changes made with the N-th token are recorded as made by `apiTokenN`. Each
    /// caller may make [`RateLimit::OKTA_DEFAULT`] calls a minute (see
    /// [`with_rate_limit`](Self::with_rate_limit)).
    ///
    /// `SSWS<token>`, without the space, is accepted too: Okta's Python SDK (`okta` 3.x) sends
    /// API tokens that way, and Okta accepts it. Only for `SSWS`: `Bearer` needs its space.
    pub fn new<I, T>(origins: Arc<TrustedOrigins>, tokens: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        TrustedOriginsApi {
            origins,
            tokens: ApiTokens::new(tokens),
            authorizer: None,
            base_url: None,
            limiter: Some(Arc::new(Limiter::new(RateLimit::OKTA_DEFAULT))),
        }
    }

    /// Gives each caller `limit` calls a minute instead of [`RateLimit::OKTA_DEFAULT`]: each API
    /// token, each access token's subject, each [grant](Self::handle_with_grant)'s subject,
    /// and all the callers that fail to authenticate, together. That shared budget bounds the
    /// work failed calls cause; it does not slow the guessing of a token, which is checked
    /// before any budget is spent (a right token is charged to its own): use long random
    /// tokens.
    /// Every answer carries `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and
    /// `X-Rate-Limit-Reset` (when the budget is full again, in seconds since the Unix epoch), as
    /// Okta's do, and Okta's SDKs read them to pace themselves; a call past the budget is
    /// answered 429 `E0000047` with `Retry-After`, and nothing is done. With metrics on, such
    /// calls are counted (`trusted_cors_api_rate_limited_total`, by kind of credential).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use trusted_cors_admin::{ApiRequest, RateLimit, TrustedOrigins, TrustedOriginsApi};
    /// use trusted_cors_core::Registry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let origins = Arc::new(TrustedOrigins::in_memory(Registry::new()));
    /// let api = TrustedOriginsApi::new(origins, ["00secret-token"])
    ///     .with_rate_limit(RateLimit::per_minute(2)?);
    /// let list = ApiRequest {
    ///     method: "GET",
    ///     path: "/api/v1/trustedOrigins",
    ///     authorization: Some(b"SSWS 00secret-token"),
    ///     ..ApiRequest::default()
    /// };
    /// let first = api.handle(list).await;
    /// assert_eq!(first.headers()["x-rate-limit-limit"], "2");
    /// assert_eq!(first.headers()["x-rate-limit-remaining"], "1");
    /// assert_eq!(api.handle(list).await.status(), 200);
    ///
    /// let refused = api.handle(list).await;
    /// assert_eq!(refused.status(), 429);
    /// assert_eq!(refused.headers()["retry-after"], "30");
    /// let error: serde_json::Value = serde_json::from_slice(refused.body())?;
    /// assert_eq!(error["errorCode"], "E0000047");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.limiter = Some(Arc::new(Limiter::new(limit)));
        self
    }

    /// Turns the rate limit off: every caller may make any number of calls (e.g. when a proxy in
    /// front limits them). The answers then carry no `X-Rate-Limit-*` headers.
    #[must_use]
    pub fn without_rate_limit(mut self) -> Self {
        self.limiter = None;
        self
    }

    /// Accepts OAuth 2.0 access tokens too, as `Authorization: Bearer <token>`, checked by
    /// `authorizer`, with Okta's scopes: [`okta.trustedOrigins.read`](ApiScope::Read) to list and
    /// get (`GET`), [`okta.trustedOrigins.manage`](ApiScope::Manage) for every change (and to
    /// read). Changes are recorded as made by the token's [subject](crate::Grant::subject).
    ///
    /// | token | answer |
    /// |---|---|
    /// | unknown or invalid (or `Bearer` without an authorizer) | 401 `E0000011`, `WWW-Authenticate: Bearer error="invalid_token"` |
    /// | valid, without the scope the call needs | 403 `E0000006` naming the scope, `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` |
    /// | the authorizer cannot tell ([`AuthorizerError`](crate::AuthorizerError)) | 503 `E0000009`, `Retry-After` |
    ///
    /// ```
    /// use std::sync::Arc;
    /// use trusted_cors_admin::{ApiRequest, ApiScope, Grant, StaticAccessTokens, TrustedOrigins, TrustedOriginsApi};
    /// use trusted_cors_core::Registry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let origins = Arc::new(TrustedOrigins::in_memory(Registry::new()));
    /// let api = TrustedOriginsApi::new(origins, ["00secret-token"]).with_authorizer(
    ///     StaticAccessTokens::new([
    ///         ("at-ada", Grant::new("ada@example.com", [ApiScope::Manage])),
    ///         ("at-grace", Grant::new("grace@example.com", [ApiScope::Read])),
    ///     ]),
    /// );
    /// let create = |authorization| ApiRequest {
    ///     method: "POST",
    ///     path: "/api/v1/trustedOrigins",
    ///     authorization: Some(authorization),
    ///     body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
    ///     ..ApiRequest::default()
    /// };
    ///
    /// // Grace may read, not change.
    /// let response = api.handle(create(b"Bearer at-grace")).await;
    /// assert_eq!(response.status(), 403);
    /// let error: serde_json::Value = serde_json::from_slice(response.body())?;
    /// assert_eq!(error["errorCode"], "E0000006");
    /// assert_eq!(
    ///     error["errorCauses"][0]["errorSummary"],
    ///     "The access token lacks the scope okta.trustedOrigins.manage",
    /// );
    ///
    /// // Ada may; the change is recorded as hers.
    /// let response = api.handle(create(b"Bearer at-ada")).await;
    /// assert_eq!(response.status(), 200);
    /// let created: serde_json::Value = serde_json::from_slice(response.body())?;
    /// assert_eq!(created["createdBy"], "ada@example.com");
    ///
    /// assert_eq!(api.handle(create(b"Bearer at-unknown")).await.status(), 401);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_authorizer(mut self, authorizer: impl AccessTokenAuthorizer) -> Self {
        self.authorizer = Some(Arc::new(authorizer));
        self
    }

    /// Uses `base_url`, this service's public origin (e.g. `https://org.example.com`), in
    /// `_links` and `Link`, which are then absolute, as Okta's are. Set it: Okta's clients follow
    /// the links as given, and the Node SDK refuses a relative `next` link ("Only absolute URLs
    /// are supported"), so it would stop after the first page. Without one the links are
    /// references relative to the service (`/api/v1/trustedOrigins/…`): the request's `Host` is
    /// never used, as any client can set it and it does not tell `http` from `https`.
    ///
    /// Set it from configuration: the URL clients reach the service at, which behind a proxy is
    /// the proxy's (`https://org.example.com`); a service reached directly can use its listen
    /// address (`http://127.0.0.1:8080`), as the example org does when no `public_origin` is
    /// configured.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use trusted_cors_admin::{ApiRequest, TrustedOrigins, TrustedOriginsApi};
    /// use trusted_cors_core::Registry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let origins = Arc::new(TrustedOrigins::in_memory(Registry::new()));
    /// let api = TrustedOriginsApi::new(origins, ["00secret-token"])
    ///     .with_base_url("https://org.example.com/")
    ///     .expect("an https origin");
    /// let response = api.handle(ApiRequest {
    ///     method: "GET",
    ///     path: "/api/v1/trustedOrigins",
    ///     authorization: Some(b"SSWS 00secret-token"),
    ///     ..ApiRequest::default()
    /// }).await;
    /// assert_eq!(
    ///     response.headers()["link"],
    ///     r#"<https://org.example.com/api/v1/trustedOrigins?limit=20>; rel="self""#,
    /// );
    /// # }
    /// ```
    pub fn with_base_url(mut self, base_url: impl AsRef<str>) -> Result<Self, InvalidBaseUrl> {
        let value = base_url.as_ref();
        let invalid = |reason| InvalidBaseUrl {
            value: value.to_owned(),
            reason,
        };
        let url = url::Url::parse(value).map_err(|_| invalid("not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid("not an http or https URL with a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it has user information"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("it has a query or a fragment"));
        }
        let base = url.as_str().trim_end_matches('/');
        self.base_url = Some(base.into());
        Ok(self)
    }

    /// The configured base URL, if any.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    /// The trusted origins the API changes.
    pub fn origins(&self) -> &Arc<TrustedOrigins> {
        &self.origins
    }

    /// What the answers' links start with: the configured base URL, else nothing (links
    /// relative to the service).
    fn links_base(&self) -> &str {
        self.base_url.as_deref().unwrap_or("")
    }

    /// Answers one request. A change is answered once the store has committed it.
    pub async fn handle(&self, request: ApiRequest<'_>) -> Reply {
        let (credential, actor) = self
            .authenticate(request.authorization, request.method)
            .await;
        match actor {
            Ok(actor) => {
                self.limited(&credential, self.answer(request, &actor))
                    .await
            }
            Err(reply) => self.limited(&credential, async { *reply }).await,
        }
    }

    /// Answers with `answer` if `credential` has budget left, else 429; with the rate-limit
    /// headers and a request id either way.
    async fn limited(
        &self,
        credential: &Credential,
        answer: impl std::future::Future<Output = Reply>,
    ) -> Reply {
        let budget = self.limiter.as_ref().map(|limiter| {
            let metrics = self.origins.registry().metrics_enabled();
            limiter.spend(credential, metrics)
        });
        let mut reply = match budget {
            Some(budget) if budget.refused => too_many_requests(),
            _ => answer.await,
        };
        if let Some(budget) = budget {
            budget.tell(&mut reply);
        }
        if !reply.headers().contains_key(REQUEST_ID) {
            reply.headers_mut().insert(REQUEST_ID, request_id());
        }
        reply
    }

    /// Answers one request from a caller the application has already authenticated by means of
    /// its own, with what `grant` allows: the same scopes as an access token's
    /// ([`okta.trustedOrigins.read`](ApiScope::Read) for `GET`,
    /// [`okta.trustedOrigins.manage`](ApiScope::Manage) for changes), and changes recorded as
    /// made by the grant's [subject](Grant::subject). `request.authorization` is not read.
    ///
    /// For an administrator's session in the application's own admin pages, say. A session
    /// cookie is an ambient credential that the browser attaches to requests other sites make:
    /// answer with it only requests that come from the application's own pages (same-origin by
    /// `Sec-Fetch-Site`, or by `Origin` where a browser sends no fetch metadata), or any page on
    /// any trusted origin could forge changes with a form post.
    ///
    /// A grant without the scope the call needs is answered 403 `E0000006` naming the scope (and
    /// no `WWW-Authenticate`, as no token was presented).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use trusted_cors_admin::{ApiRequest, ApiScope, Grant, TrustedOrigins, TrustedOriginsApi};
    /// use trusted_cors_core::Registry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let origins = Arc::new(TrustedOrigins::in_memory(Registry::new()));
    /// let api = TrustedOriginsApi::new(origins, ["00secret-token"]);
    /// let create = ApiRequest {
    ///     method: "POST",
    ///     path: "/api/v1/trustedOrigins",
    ///     body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
    ///     ..ApiRequest::default()
    /// };
    ///
    /// // A signed-in administrator (the application checked the session).
    /// let admin = Grant::new("ada@example.com", [ApiScope::Manage]);
    /// let response = api.handle_with_grant(create, &admin).await;
    /// assert_eq!(response.status(), 200);
    /// let created: serde_json::Value = serde_json::from_slice(response.body())?;
    /// assert_eq!(created["createdBy"], "ada@example.com");
    ///
    /// // A signed-in user who is not one.
    /// let user = Grant::new("grace@example.com", []);
    /// let response = api.handle_with_grant(create, &user).await;
    /// assert_eq!(response.status(), 403);
    /// let error: serde_json::Value = serde_json::from_slice(response.body())?;
    /// assert_eq!(error["errorCode"], "E0000006");
    /// assert_eq!(
    ///     error["errorCauses"][0]["errorSummary"],
    ///     "grace@example.com is not granted the scope okta.trustedOrigins.manage",
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub async fn handle_with_grant(&self, request: ApiRequest<'_>, grant: &Grant) -> Reply {
        let credential = Credential::Grant(grant.subject().to_owned());
        let answer = async {
            if let Some(needed) = missing_scope(grant, request.method) {
                return forbidden(&format!(
                    "{} is not granted the scope {needed}",
                    grant.subject()
                ));
            }
            self.answer(request, grant.subject()).await
        };
        self.limited(&credential, answer).await
    }

    /// Routes an authenticated request; changes are recorded as made by `actor`.
    async fn answer(&self, request: ApiRequest<'_>, actor: &str) -> Reply {
        let base_url = self.links_base();
        match (parse_target(request.path), request.method) {
            (Target::Collection, "GET") => self.list(request.query, base_url),
            (Target::Collection, "POST") => match parse_body(request.body) {
                Ok(new) => {
                    self.change(ChangeRequest::Create(new), actor, base_url)
                        .await
                }
                Err(reply) => *reply,
            },
            (Target::Collection, _) => method_not_allowed("GET, POST"),
            (Target::Item(id), "GET") => match self.origins.registry().get(id) {
                Ok(origin) => json_reply(200, &trusted_origin_object(&origin, base_url)),
                Err(e) => registry_error(&e),
            },
            (Target::Item(id), "PUT") => match parse_body(request.body) {
                Ok(new) => {
                    let id = id.to_owned();
                    self.change(ChangeRequest::Replace { id, new }, actor, base_url)
                        .await
                }
                Err(reply) => *reply,
            },
            (Target::Item(id), "DELETE") => {
                let id = id.to_owned();
                self.change(ChangeRequest::Delete { id }, actor, base_url)
                    .await
            }
            (Target::Item(_), _) => method_not_allowed("GET, PUT, DELETE"),
            (Target::Lifecycle(id, status), "POST") => {
                let id = id.to_owned();
                self.change(ChangeRequest::SetStatus { id, status }, actor, base_url)
                    .await
            }
            (Target::Lifecycle(..), _) => method_not_allowed("POST"),
            (Target::Unknown, _) => error(404, "E0000007", "Not found: Resource not found", &[]),
        }
    }

    /// The credential a call is counted against, and the actor recorded for changes made with
    /// it: `apiToken<N>` for an API token (never the token), the subject of an access token that
    /// has the scope `method` needs; else the error to answer.
    async fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        method: &str,
    ) -> (Credential, Result<String, Box<Reply>>) {
        let value = authorization.map_or(&[][..], <[u8]>::trim_ascii);
        let (scheme, token) = match value.iter().position(|b| *b == b' ') {
            Some(space) => value.split_at(space),
            None => (value, &[][..]),
        };
        let token = token.trim_ascii();
        // Okta's Python SDK sends `SSWS<token>`, without the space (SSWS only).
        let ssws = match value.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case(b"ssws") => Some(value[4..].trim_ascii()),
            _ => None,
        };
        if let Some(token) = ssws {
            if let Some(index) = self.tokens.find(token) {
                let actor = format!("apiToken{}", index + 1);
                return (Credential::ApiToken(index + 1), Ok(actor));
            }
        } else if scheme.eq_ignore_ascii_case(b"bearer") {
            return self.authorize_bearer(token, method).await;
        }
        let mut cause = String::from("Send an API token as Authorization: SSWS <token>");
        if self.authorizer.is_some() {
            cause.push_str(", or an access token with the scope okta.trustedOrigins.read or okta.trustedOrigins.manage as Authorization: Bearer <token>");
        }
        let reply = error(401, "E0000011", "Invalid token provided", &[&cause]);
        let reply = match self.authorizer {
            Some(_) => challenged(reply, "Bearer"),
            None => reply,
        };
        (Credential::Unauthenticated, Err(Box::new(reply)))
    }

    /// The subject of a bearer access token that has the scope `method` needs.
    /// The credential is the token's subject once the token is known valid.
    async fn authorize_bearer(
        &self,
        token: &[u8],
        method: &str,
    ) -> (Credential, Result<String, Box<Reply>>) {
        let refused = |reply| (Credential::Unauthenticated, Err(reply));
        let invalid = |cause: &str| {
            let reply = error(401, "E0000011", "Invalid token provided", &[cause]);
            Box::new(challenged(reply, r#"Bearer error="invalid_token""#))
        };
        let Some(authorizer) = &self.authorizer else {
            return refused(invalid(
                "This API accepts no access tokens: send an API token as Authorization: SSWS <token>",
            ));
        };
        let token = std::str::from_utf8(token)
            .ok()
            .filter(|token| !token.is_empty());
        let grant = match token {
            Some(token) => authorizer.authorize(token).await,
            None => Ok(None),
        };
        let grant = match grant {
            Ok(Some(grant)) => grant,
            Ok(None) => {
                return refused(invalid(
                    "The access token is not valid: it is unknown, expired or revoked",
                ))
            }
            Err(e) => {
                tracing::warn!(target: "trusted_cors::admin", error = %e, "an access token could not be checked");
                return refused(Box::new(unavailable(
                    "E0000009",
                    "Internal Server Error",
                    "The access token could not be checked. Try again later.",
                )));
            }
        };
        let credential = Credential::AccessToken(grant.subject().to_owned());
        let Some(needed) = missing_scope(&grant, method) else {
            return (credential, Ok(grant.subject().to_owned()));
        };
        let reply = forbidden(&format!("The access token lacks the scope {needed}"));
        let challenge = match needed {
            ApiScope::Read => {
                r#"Bearer error="insufficient_scope", scope="okta.trustedOrigins.read""#
            }
            ApiScope::Manage => {
                r#"Bearer error="insufficient_scope", scope="okta.trustedOrigins.manage""#
            }
        };
        (credential, Err(Box::new(challenged(reply, challenge))))
    }

    /// Makes a change and answers with the entry after it (204 for a delete).
    async fn change(&self, edit: ChangeRequest, actor: &str, base_url: &str) -> Reply {
        match self.origins.change(&edit, Some(actor)).await {
            Ok(PreparedChange {
                after: Some(origin),
                ..
            }) => json_reply(200, &trusted_origin_object(&origin, base_url)),
            Ok(_) => empty(204),
            Err(TrustedOriginsError::Registry(e)) => registry_error(&e),
            Err(TrustedOriginsError::Store(e)) => store_error(&e),
        }
    }
}

/// The scope a call needs: reading for `GET` and `HEAD`, managing for everything else.
fn needed_scope(method: &str) -> ApiScope {
    match method {
        "GET" | "HEAD" => ApiScope::Read,
        _ => ApiScope::Manage,
    }
}

/// The permission rule, for every kind of caller: the scope a call with `method` needs, when
/// `grant` lacks it.
fn missing_scope(grant: &Grant, method: &str) -> Option<ApiScope> {
    let needed = needed_scope(method);
    (!grant.allows(needed)).then_some(needed)
}

fn parse_target(path: &str) -> Target<'_> {
    let Some(rest) = path.strip_prefix(TRUSTED_ORIGINS_PATH) else {
        return Target::Unknown;
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Target::Collection;
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return Target::Unknown;
    };
    let mut parts = rest.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(id), None, None, None) if !id.is_empty() => Target::Item(id),
        (Some(id), Some("lifecycle"), Some("activate"), None) => {
            Target::Lifecycle(id, Status::Active)
        }
        (Some(id), Some("lifecycle"), Some("deactivate"), None) => {
            Target::Lifecycle(id, Status::Inactive)
        }
        _ => Target::Unknown,
    }
}

#[cfg(test)]
mod tests;
