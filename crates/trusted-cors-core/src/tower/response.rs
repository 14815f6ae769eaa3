use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, VARY};
use http::Response;

use crate::decision::vary_covers;
use crate::{Cors, Rejection};

/// The diagnostics header, sent on rejections when enabled.
pub const REASON_HEADER: HeaderName = HeaderName::from_static("x-trusted-cors-reason");

/// Response extension set by the per-route layer, so the global layer knows the route is declared.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteDeclared;

/// Appends `value` to `Vary` unless already covered; never replaces what the application set.
pub(crate) fn add_vary(headers: &mut HeaderMap, value: &'static str) {
    if !vary_covers(
        headers.get_all(VARY).iter().map(HeaderValue::as_bytes),
        value,
    ) {
        headers.append(VARY, HeaderValue::from_static(value));
    }
}

/// The rejection response: the configured responder's output, plus `Vary`, the optional
/// diagnostics header, and the rejection in the extensions. Logs the denial.
pub(crate) fn rejection_response(
    cors: &Cors,
    rejection: Rejection,
    vary: &'static str,
) -> Response<Bytes> {
    rejection.log();
    let mut response = cors.config().responder().respond(&rejection);
    let headers = response.headers_mut();
    for name in [
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ] {
        // A refusal never grants access, whatever a custom responder wrote.
        headers.remove(name);
    }
    add_vary(headers, vary);
    if cors.config().diagnostics() {
        headers.insert(REASON_HEADER, HeaderValue::from_static(rejection.reason()));
    }
    response.extensions_mut().insert(rejection);
    response
}
