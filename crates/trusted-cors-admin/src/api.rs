//! The Trusted Origins management API as one framework-neutral handler: routing, method checks,
//! body parsing, paging and Okta error objects. The crate docs list the calls and the answers.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};
use trusted_cors_core::{
    ChangeRequest, NewTrustedOrigin, OktaError, PreparedChange, RegistryError, Scope, ScopeType,
    Status, TrustedOrigin,
};

use crate::access::{AccessTokenAuthorizer, ApiScope, Grant};
use crate::filter::Filter;
use crate::tokens::ApiTokens;
use crate::{StoreError, TrustedOrigins, TrustedOriginsError};

/// The path the API is mounted at.
pub const TRUSTED_ORIGINS_PATH: &str = "/api/v1/trustedOrigins";
/// The page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest page.
pub const MAX_LIMIT: usize = 200;
/// The largest request body the API's mountings read (a trusted origin is a few hundred bytes);
/// they answer 413 to a larger one.
pub const MAX_BODY_LEN: usize = 64 * 1024;

/// The 413 a mounting answers when a request's body is longer than [`MAX_BODY_LEN`] (it reads
/// the body; the API never sees it).
pub fn body_too_large() -> http::Response<Bytes> {
    let cause = format!("The body is larger than {MAX_BODY_LEN} bytes");
    error(413, "E0000001", "Api validation failed: body", &[&cause])
}

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
}

impl fmt::Debug for TrustedOriginsApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedOriginsApi")
            .field("origins", &self.origins)
            .field("tokens", &self.tokens.len())
            .field("authorizer", &self.authorizer)
            .field("base_url", &self.base_url)
            .finish()
    }
}

enum Target<'a> {
    Collection,
    Item(&'a str),
    Lifecycle(&'a str, Status),
    Unknown,
}

type Reply = http::Response<Bytes>;

impl TrustedOriginsApi {
    /// The API over `origins`, accepting `Authorization: SSWS <token>` for any of `tokens`, with
    /// every right; changes made with the N-th token are recorded as made by `apiTokenN`.
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
        }
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
    /// `_links` and `Link`, which are then absolute, as Okta's are. Without one they are
    /// references relative to the service (`/api/v1/trustedOrigins/…`): the request's `Host` is
    /// never used, as any client can set it and it does not tell `http` from `https`.
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
        let actor = match self
            .authenticate(request.authorization, request.method)
            .await
        {
            Ok(actor) => actor,
            Err(reply) => return *reply,
        };
        self.answer(request, &actor).await
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
        if let Some(needed) = missing_scope(grant, request.method) {
            return forbidden(&format!(
                "{} is not granted the scope {needed}",
                grant.subject()
            ));
        }
        self.answer(request, grant.subject()).await
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

    /// The actor recorded for changes made with the credentials: `apiToken<N>` for an API
    /// token (never the token), the subject of an access token that has the scope `method`
    /// needs; else the error to answer.
    async fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        method: &str,
    ) -> Result<String, Box<Reply>> {
        let value = authorization.map_or(&[][..], <[u8]>::trim_ascii);
        let (scheme, token) = match value.iter().position(|b| *b == b' ') {
            Some(space) => value.split_at(space),
            None => (value, &[][..]),
        };
        let token = token.trim_ascii();
        if scheme.eq_ignore_ascii_case(b"ssws") {
            if let Some(index) = self.tokens.find(token) {
                return Ok(format!("apiToken{}", index + 1));
            }
        } else if scheme.eq_ignore_ascii_case(b"bearer") {
            return self.authorize_bearer(token, method).await;
        }
        let mut cause = String::from("Send an API token as Authorization: SSWS <token>");
        if self.authorizer.is_some() {
            cause.push_str(", or an access token with the scope okta.trustedOrigins.read or okta.trustedOrigins.manage as Authorization: Bearer <token>");
        }
        let reply = error(401, "E0000011", "Invalid token provided", &[&cause]);
        Err(Box::new(match self.authorizer {
            Some(_) => challenged(reply, "Bearer"),
            None => reply,
        }))
    }

    /// The subject of a bearer access token that has the scope `method` needs.
    async fn authorize_bearer(&self, token: &[u8], method: &str) -> Result<String, Box<Reply>> {
        let invalid = |cause: &str| {
            let reply = error(401, "E0000011", "Invalid token provided", &[cause]);
            Box::new(challenged(reply, r#"Bearer error="invalid_token""#))
        };
        let Some(authorizer) = &self.authorizer else {
            return Err(invalid(
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
                return Err(invalid(
                    "The access token is not valid: it is unknown, expired or revoked",
                ))
            }
            Err(e) => {
                tracing::warn!(target: "trusted_cors::admin", error = %e, "an access token could not be checked");
                return Err(Box::new(unavailable(
                    "E0000009",
                    "Internal Server Error",
                    "The access token could not be checked. Try again later.",
                )));
            }
        };
        let Some(needed) = missing_scope(&grant, method) else {
            return Ok(grant.subject().to_owned());
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
        Err(Box::new(challenged(reply, challenge)))
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

    fn list(&self, raw_query: Option<&str>, base_url: &str) -> Reply {
        let mut q = None;
        let mut filter = None;
        let mut limit = DEFAULT_LIMIT;
        let mut after = None;
        for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
            match &*key {
                "q" => q = Some(value.to_lowercase()),
                "filter" => match Filter::parse(&value) {
                    Ok(parsed) => filter = Some(parsed),
                    Err(cause) => {
                        return error(400, "E0000001", "Api validation failed: filter", &[&cause])
                    }
                },
                "limit" => match value.parse::<usize>() {
                    Ok(n) if n >= 1 => limit = n.min(MAX_LIMIT),
                    _ => {
                        return error(
                            400,
                            "E0000001",
                            "Api validation failed: limit",
                            &["limit must be a whole number from 1 to 200"],
                        )
                    }
                },
                "after" => after = Some(value.into_owned()),
                _ => {}
            }
        }
        let snapshot = self.origins.registry().snapshot();
        let mut matching: Vec<&TrustedOrigin> = snapshot
            .origins()
            .filter(|o| {
                q.as_deref().is_none_or(|q| {
                    o.name.to_lowercase().starts_with(q) || o.origin.as_str().starts_with(q)
                })
            })
            .filter(|o| filter.as_ref().is_none_or(|f| f.matches(o)))
            .collect();
        matching.sort_by_cached_key(|o| cursor(o));
        let start = match &after {
            Some(after) => matching.partition_point(|o| cursor(o) <= *after),
            None => 0,
        };
        let page: Vec<&TrustedOrigin> = matching.iter().skip(start).take(limit).copied().collect();
        let body: Vec<Value> = page
            .iter()
            .map(|o| trusted_origin_object(o, base_url))
            .collect();
        let mut reply = json_reply(200, &Value::Array(body));
        let link_for = |after: Option<&str>| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(q) = &q {
                query.append_pair("q", q);
            }
            for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
                if key == "filter" {
                    query.append_pair("filter", &value);
                }
            }
            query.append_pair("limit", &limit.to_string());
            if let Some(after) = after {
                query.append_pair("after", after);
            }
            format!("{base_url}{TRUSTED_ORIGINS_PATH}?{}", query.finish())
        };
        let mut links = vec![format!("<{}>; rel=\"self\"", link_for(after.as_deref()))];
        if start + page.len() < matching.len() {
            if let Some(last) = page.last() {
                links.push(format!("<{}>; rel=\"next\"", link_for(Some(&cursor(last)))));
            }
        }
        for link in links {
            if let Ok(value) = http::HeaderValue::from_str(&link) {
                reply.headers_mut().append(http::header::LINK, value);
            }
        }
        reply
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

/// 403 `E0000006` with `cause`.
fn forbidden(cause: &str) -> Reply {
    error(
        403,
        "E0000006",
        trusted_cors_core::OktaError::PERMISSION_DENIED_SUMMARY,
        &[cause],
    )
}

/// A page cursor that sorts in creation order and survives deletions: creation time, then id.
fn cursor(origin: &TrustedOrigin) -> String {
    format!(
        "{:020}_{}",
        origin.created.unix_timestamp_nanos().max(0),
        origin.id
    )
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

/// Reads `{"name","origin","scopes":[{"type"}],"status"?}`, naming the field that is wrong.
fn parse_body(body: &[u8]) -> Result<NewTrustedOrigin, Box<Reply>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            400,
            "E0000003",
            "The request body was not well-formed.",
            &[&format!("The body is not valid JSON: {e}")],
        ))
    })?;
    let invalid = |field: &str, why: &str| {
        Box::new(error(
            400,
            "E0000001",
            &format!("Api validation failed: {field}"),
            &[&format!("{field}: {why}")],
        ))
    };
    let text = |field: &str| -> Result<String, Box<Reply>> {
        match value.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(field, "must be a string")),
            None => Err(invalid(field, "is required")),
        }
    };
    let name = text("name")?;
    let origin = text("origin")?;
    let scopes = match value.get("scopes") {
        Some(Value::Array(items)) => {
            let mut scopes = Vec::with_capacity(items.len());
            for item in items {
                let kind = match item.get("type").and_then(Value::as_str) {
                    Some("CORS") => ScopeType::Cors,
                    Some("REDIRECT") => ScopeType::Redirect,
                    Some("IFRAME_EMBED") => ScopeType::IframeEmbed,
                    _ => return Err(invalid("scopes", "each scope is {\"type\":\"CORS\"}, {\"type\":\"REDIRECT\"} or {\"type\":\"IFRAME_EMBED\"}")),
                };
                scopes.push(Scope { kind });
            }
            scopes
        }
        Some(_) => {
            return Err(invalid(
                "scopes",
                "must be a list such as [{\"type\":\"CORS\"}]",
            ))
        }
        None => return Err(invalid("scopes", "is required")),
    };
    let status = match value.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "ACTIVE" => Some(Status::Active),
        Some(Value::String(s)) if s == "INACTIVE" => Some(Status::Inactive),
        Some(_) => return Err(invalid("status", "is \"ACTIVE\" or \"INACTIVE\"")),
    };
    let new = NewTrustedOrigin {
        name,
        origin,
        scopes,
        status,
    };
    // Several fields wrong: every cause at once, so that a form shows them all. One is left to
    // the registry, whose error is the same.
    let wrong = field_errors(&new);
    if wrong.len() > 1 {
        let fields: Vec<_> = wrong.iter().map(RegistryError::field).collect();
        let causes: Vec<_> = wrong
            .iter()
            .map(|e| format!("{}: {e}", e.field()))
            .collect();
        let causes: Vec<_> = causes.iter().map(String::as_str).collect();
        let summary = format!("Api validation failed: {}", fields.join(", "));
        return Err(Box::new(error(400, "E0000001", &summary, &causes)));
    }
    Ok(new)
}

/// What is wrong with each of the name, the origin and the scopes of `new`, each checked on its
/// own by the registry's rules (which stop at the first), at most one per field: as a creation in
/// an empty registry, so that uniqueness never counts.
fn field_errors(new: &NewTrustedOrigin) -> Vec<RegistryError> {
    let empty = trusted_cors_core::Registry::new();
    let check = |name: &str, origin: &str, scopes: &[Scope]| {
        let new = NewTrustedOrigin::new(name, origin, scopes.iter().map(|s| s.kind));
        empty.prepare(&ChangeRequest::Create(new), None).err()
    };
    let (valid_origin, any_scope) = (
        "https://valid.example",
        [Scope {
            kind: ScopeType::Redirect,
        }],
    );
    let mut wrong: Vec<RegistryError> = [
        check(&new.name, valid_origin, &any_scope),
        check("valid", &new.origin, &any_scope),
        check("valid", valid_origin, &new.scopes),
        // The origin and the scopes together (a plain-http wildcard trusted for CORS).
        check("valid", &new.origin, &new.scopes),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut fields = Vec::new();
    wrong.retain(|e| {
        let first = !fields.contains(&e.field());
        fields.push(e.field());
        first
    });
    wrong
}

/// The Okta JSON object of a trusted origin, with `_links` under `base_url` (e.g.
/// `https://org.example.com`), as the API answers it.
///
/// ```
/// use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType};
///
/// let registry = Registry::new();
/// let shop = registry.create(NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]))?;
/// let object = trusted_cors_admin::trusted_origin_object(&shop, "https://org.example.com");
/// assert_eq!(object["origin"], "https://shop.example.com");
/// assert_eq!(object["status"], "ACTIVE");
/// assert_eq!(
///     object["_links"]["deactivate"]["href"],
///     format!("https://org.example.com/api/v1/trustedOrigins/{}/lifecycle/deactivate", shop.id),
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn trusted_origin_object(origin: &TrustedOrigin, base_url: &str) -> Value {
    let mut value = serde_json::to_value(origin).unwrap_or(Value::Null);
    let href = format!("{base_url}{TRUSTED_ORIGINS_PATH}/{}", origin.id);
    let (verb, next) = match origin.status {
        Status::Active => ("deactivate", "deactivate"),
        Status::Inactive => ("activate", "activate"),
    };
    if let Value::Object(map) = &mut value {
        map.insert(
            "_links".into(),
            json!({
                "self": { "href": href, "hints": { "allow": ["GET", "PUT", "DELETE"] } },
                verb: { "href": format!("{href}/lifecycle/{next}"), "hints": { "allow": ["POST"] } },
            }),
        );
    }
    value
}

fn registry_error(e: &RegistryError) -> Reply {
    match e {
        RegistryError::NotFound(id) => error(
            404,
            "E0000007",
            &format!("Not found: Resource not found: {id} (TrustedOrigin)"),
            &[],
        ),
        RegistryError::DuplicateName(_) | RegistryError::DuplicateOrigin(_) => error(
            400,
            "E0000001",
            &format!("Api validation failed: {}", e.field()),
            &[&format!(
                "{}: An object with this field already exists in the current organization",
                e.field()
            )],
        ),
        _ => error(
            400,
            "E0000001",
            &format!("Api validation failed: {}", e.field()),
            &[&format!("{}: {e}", e.field())],
        ),
    }
}

fn store_error(e: &StoreError) -> Reply {
    match e {
        StoreError::NotFound(id) => registry_error(&RegistryError::NotFound(id.clone())),
        StoreError::Duplicate { field, .. } => error(
            400,
            "E0000001",
            &format!("Api validation failed: {field}"),
            &[&format!(
                "{field}: An object with this field already exists in the current organization"
            )],
        ),
        StoreError::Unavailable { .. } => unavailable(
            "E0000010",
            "Service is in read only mode",
            &format!("The change was not made: {e}. Try again later."),
        ),
        _ => error(
            500,
            "E0000009",
            "Internal Server Error",
            &[&format!("The change was not made: {e}")],
        ),
    }
}

fn error(status: u16, code: &str, summary: &str, causes: &[&str]) -> Reply {
    let mut error = OktaError::new(code, summary);
    for cause in causes {
        error = error.cause(*cause);
    }
    error.into_response(status)
}

/// 503 with `Retry-After`: nothing was done, and a retry may work.
fn unavailable(code: &str, summary: &str, cause: &str) -> Reply {
    let mut reply = error(503, code, summary, &[cause]);
    reply.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    reply
}

/// `reply` with `WWW-Authenticate: challenge`.
fn challenged(mut reply: Reply, challenge: &'static str) -> Reply {
    reply.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static(challenge),
    );
    reply
}

fn method_not_allowed(allow: &'static str) -> Reply {
    let mut reply = error(
        405,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
        &[&format!("Use one of {allow}")],
    );
    reply
        .headers_mut()
        .insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
    reply
}

fn json_reply(status: u16, value: &Value) -> Reply {
    let mut reply = http::Response::new(Bytes::from(serde_json::to_vec(value).unwrap_or_default()));
    *reply.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    reply.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    reply
}

fn empty(status: u16) -> Reply {
    let mut reply = http::Response::new(Bytes::new());
    *reply.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::NO_CONTENT);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_use_the_configured_base_url_else_are_relative() {
        let api = TrustedOriginsApi::new(
            Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
            ["00token"],
        );
        assert_eq!(api.links_base(), "");
        let api = api.with_base_url("https://Org.Example.com:443/").unwrap();
        assert_eq!(api.links_base(), "https://org.example.com");
        let behind = api
            .clone()
            .with_base_url("https://example.com/okta/")
            .unwrap();
        assert_eq!(behind.links_base(), "https://example.com/okta");
        for bad in [
            "org.example.com",
            "ftp://org.example.com",
            "https://user:pw@org.example.com",
            "https://org.example.com/?x=1",
            "https://org.example.com/#top",
            "",
        ] {
            let error = api.clone().with_base_url(bad).unwrap_err();
            assert!(error.to_string().contains(bad), "{error}");
        }
    }

    /// An authorizer that cannot reach its authorization server.
    #[derive(Debug)]
    struct Unreachable;

    impl AccessTokenAuthorizer for Unreachable {
        fn authorize<'a>(&'a self, _token: &'a str) -> crate::AuthorizeFuture<'a> {
            Box::pin(async { Err(crate::AuthorizerError::new("introspection timed out")) })
        }
    }

    fn scoped_api() -> TrustedOriginsApi {
        use crate::{Grant, StaticAccessTokens};
        TrustedOriginsApi::new(
            Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
            ["00token"],
        )
        .with_authorizer(StaticAccessTokens::new([
            (
                "at-reader",
                Grant::new("reader@example.com", [ApiScope::Read]),
            ),
            (
                "at-admin",
                Grant::new("admin@example.com", [ApiScope::Manage]),
            ),
            ("at-nothing", Grant::new("nobody@example.com", [])),
        ]))
    }

    async fn call(api: &TrustedOriginsApi, method: &str, authorization: &[u8]) -> (Reply, Value) {
        let reply = api
            .handle(ApiRequest {
                method,
                path: TRUSTED_ORIGINS_PATH,
                authorization: Some(authorization),
                body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
                ..ApiRequest::default()
            })
            .await;
        let body = serde_json::from_slice(reply.body()).unwrap_or(Value::Null);
        (reply, body)
    }

    fn challenge(reply: &Reply) -> &str {
        reply
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[test]
    fn every_wrong_field_is_a_cause() {
        let body = br#"{"name":" ","origin":"https://a.example/path","scopes":[]}"#;
        let reply = parse_body(body).unwrap_err();
        assert_eq!(reply.status(), 400);
        let body: Value = serde_json::from_slice(reply.body()).unwrap();
        assert_eq!(
            body["errorSummary"],
            "Api validation failed: name, origin, scopes"
        );
        let causes: Vec<&str> = body["errorCauses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["errorSummary"].as_str().unwrap())
            .collect();
        assert_eq!(causes.len(), 3, "{causes:?}");
        for (cause, field) in causes.iter().zip(["name: ", "origin: ", "scopes: "]) {
            assert!(cause.starts_with(field), "{causes:?}");
        }
        // One field wrong is left to the registry; a valid body passes.
        assert!(parse_body(
            br#"{"name":"","origin":"https://a.example","scopes":[{"type":"CORS"}]}"#
        )
        .is_ok());
        assert!(parse_body(
            br#"{"name":"A","origin":"http://*.a.example","scopes":[{"type":"CORS"}]}"#
        )
        .is_ok());
        let wildcard = br#"{"name":"","origin":"http://*.a.example","scopes":[{"type":"CORS"}]}"#;
        let body: Value = serde_json::from_slice(parse_body(wildcard).unwrap_err().body()).unwrap();
        assert_eq!(
            body["errorSummary"], "Api validation failed: name, origin",
            "{body}"
        );
    }

    #[tokio::test]
    async fn bearer_tokens_need_the_scope_of_the_call() {
        let api = scoped_api();
        // Read: GET only.
        let (reply, body) = call(&api, "GET", b"Bearer at-reader").await;
        assert_eq!(reply.status(), 200, "{body}");
        let (reply, body) = call(&api, "POST", b"bearer   at-reader ").await;
        assert_eq!(reply.status(), 403, "{body}");
        assert_eq!(body["errorCode"], "E0000006");
        assert_eq!(
            body["errorCauses"][0]["errorSummary"],
            "The access token lacks the scope okta.trustedOrigins.manage"
        );
        assert_eq!(
            challenge(&reply),
            r#"Bearer error="insufficient_scope", scope="okta.trustedOrigins.manage""#
        );
        // A known token with neither scope may not even read.
        let (reply, body) = call(&api, "GET", b"Bearer at-nothing").await;
        assert_eq!(reply.status(), 403, "{body}");
        assert_eq!(
            body["errorCauses"][0]["errorSummary"],
            "The access token lacks the scope okta.trustedOrigins.read"
        );
        assert!(api.origins().registry().snapshot().is_empty());
        // Manage: changes, recorded as the subject's, and reads.
        let (reply, body) = call(&api, "POST", b"Bearer at-admin").await;
        assert_eq!(reply.status(), 200, "{body}");
        assert_eq!(body["createdBy"], "admin@example.com");
        assert_eq!(body["lastUpdatedBy"], "admin@example.com");
        let (reply, body) = call(&api, "GET", b"Bearer at-admin").await;
        assert_eq!(reply.status(), 200, "{body}");
        assert_eq!(body.as_array().map(Vec::len), Some(1));
        // SSWS as before.
        let (reply, _) = call(&api, "DELETE", b"SSWS 00token").await;
        assert_eq!(reply.status(), 405); // DELETE on the collection: authenticated, then routed
    }

    #[tokio::test]
    async fn unknown_bearer_tokens_are_invalid() {
        let api = scoped_api();
        for authorization in [
            &b"Bearer at-unknown"[..],
            b"Bearer",
            b"Bearer ",
            b"Bearer 00token",
            b"Bearer at-admin\xff",
            b"Bearer \xffat-admin",
        ] {
            let (reply, body) = call(&api, "GET", authorization).await;
            assert_eq!(reply.status(), 401, "{authorization:?}: {body}");
            assert_eq!(body["errorCode"], "E0000011");
            assert_eq!(body["errorSummary"], "Invalid token provided");
            assert_eq!(challenge(&reply), r#"Bearer error="invalid_token""#);
        }
        // Neither credential: both ways are named, and Bearer is offered.
        let (reply, body) = call(&api, "GET", b"Basic YTpi").await;
        assert_eq!(reply.status(), 401);
        let cause = body["errorCauses"][0]["errorSummary"].to_string();
        assert!(
            cause.contains("SSWS") && cause.contains("Bearer"),
            "{cause}"
        );
        assert_eq!(challenge(&reply), "Bearer");
    }

    #[tokio::test]
    async fn bearer_without_an_authorizer_is_invalid() {
        let api = TrustedOriginsApi::new(
            Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
            ["00token"],
        );
        let (reply, body) = call(&api, "GET", b"Bearer 00token").await;
        assert_eq!(reply.status(), 401, "{body}");
        assert_eq!(body["errorCode"], "E0000011");
        assert!(body["errorCauses"][0]["errorSummary"]
            .as_str()
            .is_some_and(|cause| cause.contains("SSWS")));
        // Without an authorizer, the other 401s offer no Bearer challenge.
        let (reply, _) = call(&api, "GET", b"SSWS wrong").await;
        assert_eq!(reply.status(), 401);
        assert_eq!(challenge(&reply), "");
    }

    #[tokio::test]
    async fn an_authorizer_that_cannot_tell_is_unavailable() {
        let api = TrustedOriginsApi::new(
            Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
            ["00token"],
        )
        .with_authorizer(Unreachable);
        let (reply, body) = call(&api, "POST", b"Bearer at-admin").await;
        assert_eq!(reply.status(), 503, "{body}");
        assert_eq!(body["errorCode"], "E0000009");
        // The authorizer's own words (which may name internal hosts) go to the log only.
        assert!(
            body.to_string().contains("could not be checked")
                && !body.to_string().contains("introspection timed out"),
            "{body}"
        );
        assert_eq!(reply.headers()[http::header::RETRY_AFTER], "1");
        assert!(api.origins().registry().snapshot().is_empty());
    }

    #[tokio::test]
    async fn established_grants_have_the_scopes_of_access_tokens() {
        let api = scoped_api();
        let call = |method, grant: Grant| {
            let api = api.clone();
            async move {
                let reply = api
                    .handle_with_grant(
                        ApiRequest {
                            method,
                            path: TRUSTED_ORIGINS_PATH,
                            // Never read: the application established the grant.
                            authorization: Some(b"SSWS wrong"),
                            body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
                            ..ApiRequest::default()
                        },
                        &grant,
                    )
                    .await;
                let body = serde_json::from_slice(reply.body()).unwrap_or(Value::Null);
                (reply, body)
            }
        };
        let nobody = || Grant::new("grace@example.com", []);
        let reader = || Grant::new("grace@example.com", [ApiScope::Read]);
        let admin = || Grant::new("ada@example.com", [ApiScope::Manage]);
        for (method, grant, needed) in [
            ("GET", nobody(), "okta.trustedOrigins.read"),
            ("POST", nobody(), "okta.trustedOrigins.manage"),
            ("POST", reader(), "okta.trustedOrigins.manage"),
        ] {
            let (reply, body) = call(method, grant).await;
            assert_eq!(reply.status(), 403, "{method}: {body}");
            assert_eq!(body["errorCode"], "E0000006");
            assert_eq!(
                body["errorCauses"][0]["errorSummary"],
                format!("grace@example.com is not granted the scope {needed}")
            );
            assert_eq!(challenge(&reply), "", "no token, no challenge");
        }
        assert!(api.origins().registry().snapshot().is_empty());
        let (reply, body) = call("GET", reader()).await;
        assert_eq!(reply.status(), 200, "{body}");
        let (reply, body) = call("POST", admin()).await;
        assert_eq!(reply.status(), 200, "{body}");
        assert_eq!(body["createdBy"], "ada@example.com");
        let (reply, body) = call("GET", admin()).await;
        assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
        assert_eq!(reply.status(), 200);
    }

    #[test]
    fn targets_parse() {
        assert!(matches!(
            parse_target("/api/v1/trustedOrigins"),
            Target::Collection
        ));
        assert!(matches!(
            parse_target("/api/v1/trustedOrigins/"),
            Target::Collection
        ));
        assert!(matches!(
            parse_target("/api/v1/trustedOrigins/tos1"),
            Target::Item("tos1")
        ));
        assert!(matches!(
            parse_target("/api/v1/trustedOrigins/tos1/lifecycle/activate"),
            Target::Lifecycle("tos1", Status::Active)
        ));
        assert!(matches!(
            parse_target("/api/v1/trustedOrigins/tos1/lifecycle/deactivate"),
            Target::Lifecycle("tos1", Status::Inactive)
        ));
        assert!(matches!(
            parse_target("/api/v1/trustedOrigins/tos1/lifecycle/explode"),
            Target::Unknown
        ));
        assert!(matches!(
            parse_target("/api/v1/trustedOriginsX"),
            Target::Unknown
        ));
    }
}
