//! [`Reply`]: what every endpoint of the org answers, framework-neutral; the two servers only
//! copy it into their framework's response.

use std::borrow::Cow;

use trusted_cors::OktaError;

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
    pub(crate) fn json(status: u16, value: serde_json::Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(value),
        }
    }

    pub(crate) fn html(status: u16, html: String) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Html(html),
        }
    }

    pub(crate) fn error(status: u16, code: &str, summary: &str, cause: Option<&str>) -> Self {
        let mut error = OktaError::new(code, summary);
        if let Some(cause) = cause {
            error = error.cause(cause);
        }
        let value = serde_json::to_value(&error).unwrap_or_default();
        Reply::json(status, value)
    }

    pub(crate) fn redirect(location: String) -> Self {
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
    pub(crate) fn from_api<B: AsRef<[u8]>>(response: axum::http::Response<B>) -> Self {
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
