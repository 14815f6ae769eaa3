//! The JSON wire format: request bodies read, trusted origins and Okta error objects written,
//! with the headers every answer carries.

use bytes::Bytes;
use serde_json::{json, Value};
use trusted_cors_core::{
    NewTrustedOrigin, OktaApp, OktaApps, OktaError, RegistryError, Scope, ScopeType, Status,
    TrustedOrigin,
};

use super::{MAX_BODY_LEN, TRUSTED_ORIGINS_PATH};
use crate::StoreError;

/// An answer of the API.
pub(crate) type Reply = http::Response<Bytes>;

/// The 413 a mounting answers when a request's body is longer than [`MAX_BODY_LEN`] (it reads
/// the body; the API never sees it).
pub fn body_too_large() -> http::Response<Bytes> {
    let cause = format!("The body is larger than {MAX_BODY_LEN} bytes");
    error(413, "E0000001", "Api validation failed: body", &[&cause])
}

/// 403 `E0000006` with `cause`.
pub(super) fn forbidden(cause: &str) -> Reply {
    error(
        403,
        "E0000006",
        OktaError::PERMISSION_DENIED_SUMMARY,
        &[cause],
    )
}

/// Reads `{"name","origin","scopes":[{"type","allowedOktaApps"?}],"status"?}`, naming the field
/// that is wrong. Fields Okta's clients send that the API does not keep (`id`, `created`,
/// `_links` …) are ignored, as Okta ignores them.
pub(super) fn parse_body(body: &[u8]) -> Result<NewTrustedOrigin, Box<Reply>> {
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
                let apps = match item.get("allowedOktaApps") {
                    None | Some(Value::Null) => OktaApps::new(),
                    Some(Value::Array(apps)) => {
                        let mut known = OktaApps::new();
                        for app in apps {
                            let app = OktaApp::ALL
                                .into_iter()
                                .find(|known| Some(known.as_str()) == app.as_str());
                            match app {
                                Some(app) => known.insert(app),
                                None => return Err(invalid(
                                    "allowedOktaApps",
                                    "the only Okta application an IFRAME_EMBED scope may list is \"OKTA_ENDUSER\"",
                                )),
                            }
                        }
                        known
                    }
                    Some(_) => {
                        return Err(invalid(
                            "allowedOktaApps",
                            "must be a list such as [\"OKTA_ENDUSER\"]",
                        ))
                    }
                };
                scopes.push(Scope {
                    kind,
                    allowed_okta_apps: apps,
                });
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
    let wrong = new.errors();
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
        // Okta's dates always have milliseconds: `2024-01-31T12:00:00.000Z`.
        map.insert("created".into(), okta_date(origin.created.into()).into());
        map.insert(
            "lastUpdated".into(),
            okta_date(origin.last_updated.into()).into(),
        );
        // Okta's IFRAME_EMBED scopes always say which Okta apps they may frame.
        if let Some(Value::Array(scopes)) = map.get_mut("scopes") {
            for scope in scopes {
                if scope["type"] == "IFRAME_EMBED" {
                    if let Value::Object(scope) = scope {
                        scope.entry("allowedOktaApps").or_insert_with(|| json!([]));
                    }
                }
            }
        }
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

/// A date as Okta writes it: UTC, milliseconds, `Z` (`2024-01-31T12:00:00.000Z`).
pub(crate) fn okta_date(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

pub(super) fn registry_error(e: &RegistryError) -> Reply {
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

pub(super) fn store_error(e: &StoreError) -> Reply {
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

pub(super) fn error(status: u16, code: &str, summary: &str, causes: &[&str]) -> Reply {
    let mut error = OktaError::new(code, summary);
    for cause in causes {
        error = error.cause(*cause);
    }
    // The request's id is the error's, as Okta's are.
    let id = http::HeaderValue::from_str(&error.error_id).ok();
    let mut reply = error.into_response(status);
    if let Some(id) = id {
        reply.headers_mut().insert(REQUEST_ID, id);
    }
    reply
}

/// `X-Okta-Request-Id`: on every answer; an error's is its `errorId`.
pub(super) const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-okta-request-id");

/// A fresh request id, for an answer that is not an error.
pub(super) fn request_id() -> http::HeaderValue {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 20];
    // Without randomness, a fixed id still tells nothing away.
    let _ = getrandom::fill(&mut bytes);
    let id: Vec<u8> = bytes.iter().map(|b| DIGITS[usize::from(*b) % 62]).collect();
    http::HeaderValue::from_bytes(&id).unwrap_or(http::HeaderValue::from_static("0"))
}

/// 429 `E0000047`: the caller's rate limit is spent; nothing was done.
pub(super) fn too_many_requests() -> Reply {
    error(
        429,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
        &["Wait for the time Retry-After gives (X-Rate-Limit-Reset says when the budget is full again), then try again"],
    )
}

/// 503 with `Retry-After`: nothing was done, and a retry may work.
pub(super) fn unavailable(code: &str, summary: &str, cause: &str) -> Reply {
    let mut reply = error(503, code, summary, &[cause]);
    reply.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    reply
}

/// `reply` with `WWW-Authenticate: challenge`.
pub(super) fn challenged(mut reply: Reply, challenge: &'static str) -> Reply {
    reply.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static(challenge),
    );
    reply
}

pub(super) fn method_not_allowed(allow: &'static str) -> Reply {
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

pub(super) fn json_reply(status: u16, value: &Value) -> Reply {
    let mut reply = http::Response::new(Bytes::from(serde_json::to_vec(value).unwrap_or_default()));
    *reply.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    reply.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    reply
}

pub(super) fn empty(status: u16) -> Reply {
    let mut reply = http::Response::new(Bytes::new());
    *reply.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::NO_CONTENT);
    reply
}
