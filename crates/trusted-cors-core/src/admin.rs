//! The Trusted Origins management API, in Okta's shape (`/api/v1/trustedOrigins`), as one
//! framework-neutral handler; the axum router and the actix scope only translate to and from it.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/trustedOrigins?q=&filter=&limit=&after=` | 200, a page of objects, `Link` (`self`, `next`) |
//! | `POST /api/v1/trustedOrigins` | 200, the created object |
//! | `GET`, `PUT`, `DELETE /api/v1/trustedOrigins/{id}` | 200 object, 200 object, 204 |
//! | `POST /api/v1/trustedOrigins/{id}/lifecycle/activate` or `/deactivate` | 200 object |
//!
//! Every call needs `Authorization: SSWS <token>` (compared in constant time); the API is never
//! CORS-enabled. Errors are Okta error objects: 400 `E0000001` (validation, with causes naming the
//! field), 400 `E0000003` (malformed JSON), 401 `E0000011`, 404 `E0000007`, 405 `E0000022`,
//! 500 `E0000009` (the change could not be stored; nothing changed).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::{
    NewTrustedOrigin, OktaError, OriginPattern, Registry, RegistryError, Scope, ScopeType, Status,
    TrustedOrigin,
};

/// The path the API is mounted at.
pub const TRUSTED_ORIGINS_PATH: &str = "/api/v1/trustedOrigins";
/// The page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest page.
pub const MAX_LIMIT: usize = 200;

/// One request to the API, as plain values.
#[derive(Debug, Clone, Copy)]
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
    /// The scheme and authority this service is reached at, e.g. `https://org.example.com`, for
    /// `_links` and `Link`.
    pub base_url: &'a str,
}

/// The Trusted Origins API over a registry, guarded by API tokens.
///
/// ```
/// use std::sync::Arc;
/// use trusted_cors_core::admin::{ApiRequest, TrustedOriginsApi};
/// use trusted_cors_core::Registry;
///
/// let registry = Arc::new(Registry::new());
/// let api = TrustedOriginsApi::new(Arc::clone(&registry), ["00secret-token"]);
/// let response = api.handle(ApiRequest {
///     method: "POST",
///     path: "/api/v1/trustedOrigins",
///     query: None,
///     authorization: Some(b"SSWS 00secret-token"),
///     body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
///     base_url: "https://org.example.com",
/// });
/// assert_eq!(response.status(), 200);
/// assert_eq!(registry.snapshot().len(), 1);
/// ```
#[derive(Clone)]
pub struct TrustedOriginsApi {
    registry: Arc<Registry>,
    tokens: Arc<[Box<[u8]>]>,
    base_url: Option<Arc<str>>,
}

impl fmt::Debug for TrustedOriginsApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedOriginsApi")
            .field("registry", &self.registry)
            .field("tokens", &self.tokens.len())
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
    /// The API over `registry`, accepting `Authorization: SSWS <token>` for any of `tokens`.
    pub fn new<I, T>(registry: Arc<Registry>, tokens: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        TrustedOriginsApi {
            registry,
            tokens: tokens
                .into_iter()
                .map(|t| t.as_ref().as_bytes().to_vec().into_boxed_slice())
                .collect(),
            base_url: None,
        }
    }

    /// Uses `base_url` (e.g. `https://org.example.com`) in `_links` and `Link` instead of the
    /// request's `Host`, for services behind a proxy.
    pub fn with_base_url(mut self, base_url: impl AsRef<str>) -> Self {
        self.base_url = Some(base_url.as_ref().trim_end_matches('/').into());
        self
    }

    /// The configured base URL, if any.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    /// The registry the API changes.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Answers one request.
    pub fn handle(&self, request: ApiRequest<'_>) -> Reply {
        let Some(actor) = self.authenticate(request.authorization) else {
            return error(
                401,
                "E0000011",
                "Invalid token provided",
                &["Send an API token as Authorization: SSWS <token>"],
            );
        };
        let actor = actor.as_str();
        match (parse_target(request.path), request.method) {
            (Target::Collection, "GET") => self.list(&request),
            (Target::Collection, "POST") => match parse_body(request.body) {
                Ok(new) => self.answer(self.registry.create_by(new, Some(actor)), &request),
                Err(reply) => *reply,
            },
            (Target::Collection, _) => method_not_allowed("GET, POST"),
            (Target::Item(id), "GET") => self.answer(self.registry.get(id), &request),
            (Target::Item(id), "PUT") => match parse_body(request.body) {
                Ok(new) => self.answer(self.registry.replace_by(id, new, Some(actor)), &request),
                Err(reply) => *reply,
            },
            (Target::Item(id), "DELETE") => match self.registry.delete(id) {
                Ok(_) => empty(204),
                Err(e) => registry_error(&e),
            },
            (Target::Item(_), _) => method_not_allowed("GET, PUT, DELETE"),
            (Target::Lifecycle(id, status), "POST") => {
                self.answer(self.registry.set_status(id, status, Some(actor)), &request)
            }
            (Target::Lifecycle(..), _) => method_not_allowed("POST"),
            (Target::Unknown, _) => error(404, "E0000007", "Not found: Resource not found", &[]),
        }
    }

    /// The actor recorded for changes made with the token: `apiToken<N>`, never the token.
    fn authenticate(&self, authorization: Option<&[u8]>) -> Option<String> {
        let value = authorization?.trim_ascii();
        let space = value.iter().position(|b| *b == b' ')?;
        let (scheme, token) = value.split_at(space);
        if !scheme.eq_ignore_ascii_case(b"ssws") {
            return None;
        }
        let token = token.trim_ascii();
        let mut found = None;
        for (index, known) in self.tokens.iter().enumerate() {
            // Every token is compared, each in constant time.
            if constant_time_eq(known, token) && found.is_none() {
                found = Some(index);
            }
        }
        found.map(|index| format!("apiToken{}", index + 1))
    }

    fn answer(
        &self,
        result: Result<TrustedOrigin, RegistryError>,
        request: &ApiRequest<'_>,
    ) -> Reply {
        match result {
            Ok(origin) => json_reply(200, &object(&origin, request.base_url)),
            Err(e) => registry_error(&e),
        }
    }

    fn list(&self, request: &ApiRequest<'_>) -> Reply {
        let mut q = None;
        let mut filter = None;
        let mut limit = DEFAULT_LIMIT;
        let mut after = None;
        for (key, value) in url::form_urlencoded::parse(request.query.unwrap_or("").as_bytes()) {
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
        let snapshot = self.registry.snapshot();
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
        let body: Vec<Value> = page.iter().map(|o| object(o, request.base_url)).collect();
        let mut reply = json_reply(200, &Value::Array(body));
        let link_for = |after: Option<&str>| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(q) = &q {
                query.append_pair("q", q);
            }
            for (key, value) in url::form_urlencoded::parse(request.query.unwrap_or("").as_bytes())
            {
                if key == "filter" {
                    query.append_pair("filter", &value);
                }
            }
            query.append_pair("limit", &limit.to_string());
            if let Some(after) = after {
                query.append_pair("after", after);
            }
            format!(
                "{}{TRUSTED_ORIGINS_PATH}?{}",
                request.base_url,
                query.finish()
            )
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
    Ok(NewTrustedOrigin {
        name,
        origin,
        scopes,
        status,
    })
}

/// A parsed `filter`: `field eq "value"` clauses joined with `and`.
struct Filter(Vec<(FilterField, String)>);

enum FilterField {
    Name,
    Origin,
    Status,
    Type,
}

impl Filter {
    fn parse(text: &str) -> Result<Filter, String> {
        let bad = || bad_filter(text);
        let mut clauses = Vec::new();
        let mut rest = text.trim();
        loop {
            let (field, after) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
            let field = match field {
                "name" => FilterField::Name,
                "origin" => FilterField::Origin,
                "status" => FilterField::Status,
                "type" => FilterField::Type,
                other => {
                    return Err(format!(
                        "filter: unknown field `{other}`: use name, origin, status or type"
                    ))
                }
            };
            let (operator, after) = after
                .trim_start()
                .split_once(char::is_whitespace)
                .ok_or_else(bad)?;
            if operator != "eq" {
                return Err(bad());
            }
            let quoted = after.trim_start().strip_prefix('"').ok_or_else(bad)?;
            let end = quoted.find('"').ok_or_else(bad)?;
            let value = &quoted[..end];
            let allowed: &[&str] = match field {
                FilterField::Status => &["ACTIVE", "INACTIVE"],
                FilterField::Type => &["CORS", "REDIRECT", "IFRAME_EMBED"],
                FilterField::Name | FilterField::Origin => &[],
            };
            if !allowed.is_empty() && !allowed.contains(&value) {
                return Err(format!(
                    "filter: `{value}` is not one of {}",
                    allowed.join(", ")
                ));
            }
            let value = match field {
                // Origins compare in canonical form, as they are stored.
                FilterField::Origin => {
                    OriginPattern::parse(value).map_or_else(|_| value.to_owned(), |p| p.to_string())
                }
                _ => value.to_owned(),
            };
            clauses.push((field, value));
            rest = quoted[end + 1..].trim_start();
            if rest.is_empty() {
                return Ok(Filter(clauses));
            }
            let (word, after) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
            if !word.eq_ignore_ascii_case("and") {
                return Err(bad());
            }
            rest = after.trim_start();
        }
    }

    fn matches(&self, origin: &TrustedOrigin) -> bool {
        self.0.iter().all(|(field, value)| match field {
            FilterField::Name => origin.name == *value,
            FilterField::Origin => origin.origin.as_str() == value,
            FilterField::Status => match value.as_str() {
                "ACTIVE" => origin.status == Status::Active,
                "INACTIVE" => origin.status == Status::Inactive,
                _ => false,
            },
            FilterField::Type => origin.scopes.iter().any(|s| s.kind.as_str() == value),
        })
    }
}

fn bad_filter(text: &str) -> String {
    format!("filter `{text}` is not of the form field eq \"value\" [and field eq \"value\"]")
}

/// The Okta JSON object of a trusted origin, with `_links`.
pub fn object(origin: &TrustedOrigin, base_url: &str) -> Value {
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
        RegistryError::Store(store) => error(
            500,
            "E0000009",
            "Internal Server Error",
            &[&format!(
                "The change was not stored, so it was not made: {store}"
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

fn error(status: u16, code: &str, summary: &str, causes: &[&str]) -> Reply {
    let mut error = OktaError::new(code, summary);
    for cause in causes {
        error = error.cause(*cause);
    }
    error.into_response(status)
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

/// Compares secrets without an early exit on the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let f =
            Filter::parse(r#"name eq "Shop" and type eq "CORS"  AND  status eq "ACTIVE""#).unwrap();
        assert_eq!(f.0.len(), 3);
        let f = Filter::parse(r#"origin eq "HTTPS://Shop.Example.com""#).unwrap();
        assert_eq!(f.0[0].1, "https://shop.example.com");
        for bad in [
            r#"status eq "active""#,
            r#"type eq "cors""#,
            "",
            "name",
            r#"name eq Shop"#,
            r#"name ne "Shop""#,
            r#"colour eq "red""#,
            r#"name eq "a" or name eq "b""#,
            r#"name eq "a" and"#,
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
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

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
