//! Rejection codes, causes and the Okta-style body.

use super::*;
use crate::{OktaError, OktaErrorResponder, RejectionResponder};

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
        RejectionCause::OriginNotTrusted {
            origin: OriginForm::Serialized,
            hint: TrustHint::None,
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
