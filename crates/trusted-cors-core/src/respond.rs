//! Turning a [`Rejection`] into the response sent to the client: the default, an Okta-style JSON
//! error, or an application's own.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::rejection::Rejection;
use crate::reply::{Reply, ReplyValue};
use crate::Field;

/// Turns a [`Rejection`] into the response sent to the client.
///
/// Implemented for closures. The default answers with status 403 and the Okta error object of
/// the rejection (`OktaError::from(rejection).into_reply(rejection.status())`, see
/// [`OktaError`]), which a custom responder can fall back to. The layers add `Vary`, the
/// optional diagnostics header and the rejection itself to whatever this returns, and remove any
/// `Access-Control-Allow-Origin` and `-Credentials` from it: a refusal never grants access.
///
/// ```
/// use trusted_cors_core::{CorsConfig, Rejection, Reply};
///
/// let config = CorsConfig::builder()
///     .responder(|rejection: &Rejection| {
///         Reply::new(403)
///             .header("content-type", "text/plain")
///             .body(format!("refused: {}", rejection.reason()))
///     })
///     .build()?;
/// # Ok::<(), trusted_cors_core::ConfigError>(())
/// ```
pub trait RejectionResponder: Send + Sync + 'static {
    /// The response for this rejection.
    fn respond(&self, rejection: &Rejection) -> Reply;
}

impl<F> RejectionResponder for F
where
    F: Fn(&Rejection) -> Reply + Send + Sync + 'static,
{
    fn respond(&self, rejection: &Rejection) -> Reply {
        self(rejection)
    }
}

/// The default responder: status 403 and the rejection's Okta error object.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OktaErrorResponder;

impl RejectionResponder for OktaErrorResponder {
    fn respond(&self, rejection: &Rejection) -> Reply {
        OktaError::from(rejection).into_reply(rejection.status())
    }
}

impl From<&Rejection> for OktaError {
    /// The error object of a refusal, as the default responder sends it: the reason's error
    /// code, Okta's permission-denied summary, the cause in words and the reason code.
    ///
    /// ```json
    /// {"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action",
    ///  "errorLink":"E0000006","errorId":"oae…","errorCauses":[{"errorSummary":"Origin https://app.example.com is not …"}],
    ///  "reason":"origin_not_trusted"}
    /// ```
    fn from(rejection: &Rejection) -> OktaError {
        OktaError::new(
            rejection.kind().error_code(),
            OktaError::PERMISSION_DENIED_SUMMARY,
        )
        .cause(rejection.cause())
        .reason(rejection.reason())
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
    /// Details, each with its own summary (see [`causes`](Self::causes)).
    pub(crate) error_causes: Vec<ErrorCause>,
    /// The trusted-cors reason code, when the error is a CORS denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One entry of `errorCauses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorCause {
    /// What this cause says.
    pub(crate) error_summary: String,
}

impl OktaError {
    /// The `errorSummary` of Okta's `E0000006`, the error of every refusal for want of
    /// permission (the layers' refusals, the Trusted Origins API's missing scope, a session call
    /// the admin console refuses).
    pub const PERMISSION_DENIED_SUMMARY: &str =
        "You do not have permission to perform the requested action";

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

    /// The summaries of the causes, in order.
    pub fn causes(&self) -> impl Iterator<Item = &str> {
        self.error_causes
            .iter()
            .map(|cause| cause.error_summary.as_str())
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

    /// A JSON reply with this status, as the layers send it.
    pub fn into_reply(self, status: u16) -> Reply {
        // The field itself, not its name: a name is looked up among the named fields.
        let json = ReplyValue::Bytes(Bytes::from_static(b"application/json"));
        let mut reply = Reply::new(status).body(self.to_json());
        reply.push(Field::ContentType, json);
        reply
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
    fn okta_body_shape() {
        let rejection = Rejection::new(
            crate::RejectionCause::OriginNotTrusted {
                origin: crate::OriginForm::Serialized,
                hint: crate::TrustHint::None,
            },
            b"https://a.example",
            "/x",
            false,
        );
        let reply = OktaErrorResponder.respond(&rejection);
        assert_eq!(reply.status(), 403);
        assert_eq!(
            reply.headers().collect::<Vec<_>>(),
            [("content-type", b"application/json".as_slice())]
        );
        let body: serde_json::Value = serde_json::from_slice(reply.body_bytes()).unwrap();
        assert_eq!(body["errorCode"], "E0000006");
        assert_eq!(body["errorLink"], "E0000006");
        assert_eq!(
            body["errorSummary"],
            "You do not have permission to perform the requested action"
        );
        assert_eq!(
            body["errorCauses"][0]["errorSummary"],
            "Origin https://a.example is not a trusted origin with the CORS scope: add it under \
             trusted origins with the CORS scope"
        );
        assert_eq!(body["reason"], "origin_not_trusted");
        let id = body["errorId"].as_str().unwrap();
        assert!(id.starts_with("oae") && id.len() == 25, "{id}");

        // Read back, the causes are the summaries.
        let error: OktaError = serde_json::from_value(body).unwrap();
        assert_eq!(
            error.causes().collect::<Vec<_>>(),
            [rejection.cause().as_str()]
        );
    }
}
