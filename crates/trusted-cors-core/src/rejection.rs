//! Denials: a stable reason code, plain words naming the fix, and an Okta-style error response.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Why a request was refused. The [`code`](Self::code)s are stable and part of the public API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// A cross-origin request carried an `SSWS` API token.
    ApiTokenCrossOrigin,
    /// A cross-origin request carried another scheme than the allowed bearer-type ones.
    CredentialSchemeNotAllowed,
    /// A cross-origin unsafe method from an origin that is not trusted, without a bearer token.
    UntrustedCrossOriginWrite,
    /// A preflight to a route that is not CORS-enabled.
    RouteNotCorsEnabled,
    /// The origin is not an ACTIVE trusted origin with the CORS scope (or is malformed or `null`).
    OriginNotTrusted,
    /// The preflight asked for a method the route does not allow.
    MethodNotAllowed,
    /// The preflight asked for a header the route does not allow.
    HeaderNotAllowed,
}

impl RejectionKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [RejectionKind; 7] = [
        RejectionKind::ApiTokenCrossOrigin,
        RejectionKind::CredentialSchemeNotAllowed,
        RejectionKind::UntrustedCrossOriginWrite,
        RejectionKind::RouteNotCorsEnabled,
        RejectionKind::OriginNotTrusted,
        RejectionKind::MethodNotAllowed,
        RejectionKind::HeaderNotAllowed,
    ];

    /// The stable snake_case reason code, e.g. `origin_not_trusted`.
    pub const fn code(self) -> &'static str {
        match self {
            RejectionKind::ApiTokenCrossOrigin => "api_token_cross_origin",
            RejectionKind::CredentialSchemeNotAllowed => "credential_scheme_not_allowed",
            RejectionKind::UntrustedCrossOriginWrite => "untrusted_cross_origin_write",
            RejectionKind::RouteNotCorsEnabled => "route_not_cors_enabled",
            RejectionKind::OriginNotTrusted => "origin_not_trusted",
            RejectionKind::MethodNotAllowed => "method_not_allowed",
            RejectionKind::HeaderNotAllowed => "header_not_allowed",
        }
    }

    /// The HTTP status of the default response: 403 for every kind.
    pub const fn status(self) -> u16 {
        403
    }

    /// The Okta error code of the default response: `E0000006` (permission denied).
    pub const fn error_code(self) -> &'static str {
        "E0000006"
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A denial: what kind, from which origin, to which path, and a cause in plain words that names
/// the fix. It is put in the response extensions of the rejection response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectionKind,
    origin: Box<str>,
    path: Box<str>,
    cause: Box<str>,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, origin: &[u8], path: &str, cause: String) -> Self {
        Rejection {
            kind,
            origin: printable(origin).into_boxed_str(),
            path: printable(path.as_bytes()).into_boxed_str(),
            cause: cause.into_boxed_str(),
        }
    }

    /// The rejection of a preflight to a route that declared nothing, for adapters that refuse
    /// it after routing.
    pub fn route_not_cors_enabled(origin: &[u8], path: &str) -> Self {
        Rejection::new(
            RejectionKind::RouteNotCorsEnabled,
            origin,
            path,
            format!(
                "This API ({}) does not support CORS: call it from a server",
                printable(path.as_bytes())
            ),
        )
    }

    /// The kind of denial.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The stable reason code, e.g. `origin_not_trusted`.
    pub fn reason(&self) -> &'static str {
        self.kind.code()
    }

    /// The request's `Origin`, made printable (control bytes escaped, at most 128 characters).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The request path, made printable.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What happened and how to fix it, in plain words.
    pub fn cause(&self) -> &str {
        &self.cause
    }

    /// The HTTP status of the default response.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// Logs the denial with `tracing` (target `trusted_cors`).
    pub fn log(&self) {
        tracing::info!(
            target: "trusted_cors",
            reason = self.reason(),
            origin = %self.origin,
            route = %self.path,
            cause = %self.cause,
            "cross-origin request refused"
        );
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason(), self.cause)
    }
}

impl std::error::Error for Rejection {}

/// Untrusted bytes made safe for logs and messages: lossy UTF-8, control characters escaped,
/// truncated.
pub(crate) fn printable(bytes: &[u8]) -> String {
    const MAX: usize = 128;
    // Four bytes per character at most: never convert more than can be shown.
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX * 4)]);
    let mut out = String::with_capacity(text.len().min(MAX + 3));
    for (count, c) in text.chars().enumerate() {
        if count == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Turns a [`Rejection`] into the response sent to the client.
///
/// Implemented for closures; the default is [`OktaErrorResponder`]. The layer adds `Vary`, the
/// optional diagnostics header and the rejection itself to whatever this returns.
///
/// ```
/// use bytes::Bytes;
/// use trusted_cors_core::{CorsConfig, Rejection};
///
/// let config = CorsConfig::builder()
///     .responder(|rejection: &Rejection| {
///         http::Response::builder()
///             .status(403)
///             .body(Bytes::from(format!("refused: {}", rejection.reason())))
///             .unwrap()
///     })
///     .build()?;
/// # Ok::<(), trusted_cors_core::ConfigError>(())
/// ```
pub trait RejectionResponder: Send + Sync + 'static {
    /// The response for this rejection.
    fn respond(&self, rejection: &Rejection) -> http::Response<Bytes>;
}

impl<F> RejectionResponder for F
where
    F: Fn(&Rejection) -> http::Response<Bytes> + Send + Sync + 'static,
{
    fn respond(&self, rejection: &Rejection) -> http::Response<Bytes> {
        self(rejection)
    }
}

/// The default responder: status 403 and an Okta error object with the cause and the reason.
///
/// ```json
/// {"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action",
///  "errorLink":"E0000006","errorId":"oae…","errorCauses":[{"errorSummary":"Origin https://app.example.com is not …"}],
///  "reason":"origin_not_trusted"}
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OktaErrorResponder;

impl RejectionResponder for OktaErrorResponder {
    fn respond(&self, rejection: &Rejection) -> http::Response<Bytes> {
        OktaError::new(
            rejection.kind.error_code(),
            "You do not have permission to perform the requested action",
        )
        .cause(rejection.cause())
        .reason(rejection.reason())
        .into_response(rejection.status())
    }
}

/// An Okta error object, as Okta's APIs answer errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaError {
    /// E.g. `E0000006`.
    pub error_code: String,
    /// One line saying what went wrong.
    pub error_summary: String,
    /// Okta sets this to the error code.
    pub error_link: String,
    /// A fresh id to find the matching log line.
    pub error_id: String,
    /// Details, each with its own summary.
    pub error_causes: Vec<ErrorCause>,
    /// The trusted-cors reason code, when the error is a CORS denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One entry of `errorCauses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCause {
    /// What this cause says.
    pub error_summary: String,
}

impl OktaError {
    /// An error with a fresh `errorId` and no causes.
    pub fn new(code: &str, summary: impl Into<String>) -> Self {
        OktaError {
            error_code: code.to_owned(),
            error_summary: summary.into(),
            error_link: code.to_owned(),
            error_id: crate::random_id("oae", 22),
            error_causes: Vec::new(),
            reason: None,
        }
    }

    /// Adds a cause.
    pub fn cause(mut self, summary: impl Into<String>) -> Self {
        self.error_causes.push(ErrorCause {
            error_summary: summary.into(),
        });
        self
    }

    /// Sets the reason code.
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// The JSON bytes.
    pub fn to_json(&self) -> Bytes {
        // Serializing plain strings into a Vec cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// A JSON response with this status.
    pub fn into_response(self, status: u16) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.to_json());
        *response.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::FORBIDDEN);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut codes: Vec<_> = RejectionKind::ALL.iter().map(|k| k.code()).collect();
        assert!(codes
            .iter()
            .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RejectionKind::ALL.len());
    }

    #[test]
    fn printable_escapes_and_truncates() {
        assert_eq!(printable(b"a\r\nb"), "a\\r\\nb");
        assert_eq!(printable(&[0xff]), "\u{fffd}");
        assert_eq!(printable("x".repeat(500).as_bytes()).chars().count(), 129);
    }

    #[test]
    fn okta_body_shape() {
        let rejection = Rejection::new(
            RejectionKind::OriginNotTrusted,
            b"https://a.example",
            "/x",
            "because".into(),
        );
        let response = OktaErrorResponder.respond(&rejection);
        assert_eq!(response.status(), 403);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["errorCode"], "E0000006");
        assert_eq!(body["errorLink"], "E0000006");
        assert_eq!(
            body["errorSummary"],
            "You do not have permission to perform the requested action"
        );
        assert_eq!(body["errorCauses"][0]["errorSummary"], "because");
        assert_eq!(body["reason"], "origin_not_trusted");
        let id = body["errorId"].as_str().unwrap();
        assert!(id.starts_with("oae") && id.len() == 25, "{id}");
    }
}
