//! The browser's side of the CORS protocol, written for these tests from the WHATWG Fetch
//! standard (<https://fetch.spec.whatwg.org/>), independently of the library:
//!
//! - §4.9 "CORS check" (`#cors-check`): the `Access-Control-Allow-Origin` /
//!   `Access-Control-Allow-Credentials` test applied to every CORS response;
//! - §4.8 "CORS-preflight fetch" (`#cors-preflight-fetch`), step 7: what makes a preflight
//!   response acceptable (ok status, `Access-Control-Allow-Methods` and `-Headers` read as lists,
//!   the method and every CORS-unsafe header name covered, `*` only without credentials and never
//!   for `Authorization`, `Access-Control-Max-Age` read as delta-seconds);
//! - §2.2.2 header-list operations: "get" (values joined with `, `) and "extract header list
//!   values" (every header of the name parsed by its ABNF, failure if any does not parse, failure
//!   for several headers of a single-header ABNF), with the ABNF of §3.3.4 "HTTP new-header
//!   syntax" (`#method`, `#field-name`, `delta-seconds`, `%s"true"`).
//!
//! It knows nothing of trusted-cors: it takes a request as a browser would have made it and the
//! response headers, and says whether the browser would let the page read the response (or go on
//! to the actual request after a preflight), and if not, which step failed.
#![allow(dead_code)]

use std::fmt;

/// A request's credentials mode (Fetch §2.2.5 "request").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsMode {
    /// `fetch(url, {credentials: "omit"})`.
    Omit,
    /// The default of `fetch()`: no credentials cross-origin.
    SameOrigin,
    /// `credentials: "include"` / `withCredentials = true`.
    Include,
}

/// The request as the browser made it, as far as the checks read it.
#[derive(Debug, Clone)]
pub struct BrowserRequest<'a> {
    /// The byte-serialized request origin (what the browser sent in `Origin`).
    pub origin: &'a [u8],
    /// The request's method, as the preflight's `Access-Control-Request-Method` carried it.
    pub method: &'a [u8],
    /// The names in the request's header list that are not CORS-safelisted: the preflight's
    /// `Access-Control-Request-Headers` items (`Authorization` is never safelisted).
    pub unsafe_header_names: Vec<&'a [u8]>,
    /// The request's credentials mode.
    pub credentials: CredentialsMode,
}

/// A response as the checks read it: the status and the header list in order, names in any case.
#[derive(Debug, Clone, Default)]
pub struct ResponseView {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl ResponseView {
    pub fn from_http<B>(response: &http::Response<B>) -> Self {
        ResponseView {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
                .collect(),
        }
    }

    /// Fetch "contains": a header whose name is a byte-case-insensitive match.
    fn contains(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Fetch "get": null when absent, otherwise every value of the name joined by 0x2C 0x20.
    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        if !self.contains(name) {
            return None;
        }
        let mut combined = Vec::new();
        for (i, value) in self.all(name).enumerate() {
            if i > 0 {
                combined.extend_from_slice(b", ");
            }
            combined.extend_from_slice(value);
        }
        Some(combined)
    }
}

/// Why the browser refuses the response: the step of the standard that fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// CORS check step 2: no `Access-Control-Allow-Origin`.
    NoAllowOrigin,
    /// CORS check step 4: `Access-Control-Allow-Origin` is not the request's origin, byte for
    /// byte (`*` with credentials mode "include" lands here too).
    AllowOriginMismatch(Vec<u8>),
    /// CORS check step 7: credentials mode "include" without `Access-Control-Allow-Credentials:
    /// true` exactly.
    CredentialsNotTrue(Option<Vec<u8>>),
    /// Preflight step 7: the status is not an ok status (200–299).
    StatusNotOk(u16),
    /// Preflight step 7.3: `Access-Control-Allow-Methods` does not parse as `#method`.
    MethodsUnparsable,
    /// Preflight step 7.3: `Access-Control-Allow-Headers` does not parse as `#field-name`.
    HeadersUnparsable,
    /// Preflight step 7.5: the method is not listed (nor safelisted, nor covered by `*`).
    MethodNotAllowed(Vec<u8>),
    /// Preflight step 7.6: `Authorization` is not listed by name.
    NonWildcardHeaderNotListed(Vec<u8>),
    /// Preflight step 7.7: a CORS-unsafe header name is not listed (nor covered by `*`).
    HeaderNotAllowed(Vec<u8>),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self {
            Failure::NoAllowOrigin => f.write_str("no Access-Control-Allow-Origin"),
            Failure::AllowOriginMismatch(v) => {
                write!(
                    f,
                    "Access-Control-Allow-Origin `{}` is not the origin",
                    show(v)
                )
            }
            Failure::CredentialsNotTrue(v) => write!(
                f,
                "credentials mode include, Access-Control-Allow-Credentials {:?}",
                v.as_deref().map(show)
            ),
            Failure::StatusNotOk(s) => write!(f, "preflight status {s} is not ok"),
            Failure::MethodsUnparsable => f.write_str("Access-Control-Allow-Methods unparsable"),
            Failure::HeadersUnparsable => f.write_str("Access-Control-Allow-Headers unparsable"),
            Failure::MethodNotAllowed(m) => write!(f, "method `{}` not allowed", show(m)),
            Failure::NonWildcardHeaderNotListed(h) => {
                write!(f, "`{}` must be listed by name", show(h))
            }
            Failure::HeaderNotAllowed(h) => write!(f, "header `{}` not allowed", show(h)),
        }
    }
}

/// What a successful preflight leaves in the CORS-preflight cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightOutcome {
    /// The `Access-Control-Allow-Methods` items (null → empty).
    pub methods: Vec<Vec<u8>>,
    /// The `Access-Control-Allow-Headers` items (null → empty).
    pub header_names: Vec<Vec<u8>>,
    /// `Access-Control-Max-Age` as read (before any cap), or `None` when it was absent or did
    /// not parse, in which case the browser uses 5 seconds.
    pub max_age: Option<u64>,
}

/// Fetch §4.9, the CORS check.
pub fn cors_check(request: &BrowserRequest<'_>, response: &ResponseView) -> Result<(), Failure> {
    // 1–2: `get`, so two headers combine into one value that matches nothing.
    let Some(origin) = response.get("access-control-allow-origin") else {
        return Err(Failure::NoAllowOrigin);
    };
    // 3
    if request.credentials != CredentialsMode::Include && origin == b"*" {
        return Ok(());
    }
    // 4: byte equality with the byte-serialized request origin.
    if origin != request.origin {
        return Err(Failure::AllowOriginMismatch(origin));
    }
    // 5
    if request.credentials != CredentialsMode::Include {
        return Ok(());
    }
    // 6–8: exactly `true`, case-sensitive.
    match response.get("access-control-allow-credentials") {
        Some(value) if value == b"true" => Ok(()),
        other => Err(Failure::CredentialsNotTrue(other)),
    }
}

/// Fetch §4.8 step 7: whether the preflight response lets the actual request go ahead.
/// `use_cors_preflight_flag` is the request's use-CORS-preflight flag (set when the request
/// has upload listeners; otherwise the preflight happened for its method or headers).
pub fn preflight_check(
    request: &BrowserRequest<'_>,
    response: &ResponseView,
    use_cors_preflight_flag: bool,
) -> Result<PreflightOutcome, Failure> {
    // 7: the CORS check is done for the request (its credentials mode), and the status is ok.
    cors_check(request, response)?;
    if !(200..=299).contains(&response.status) {
        return Err(Failure::StatusNotOk(response.status));
    }
    // 7.1–7.3
    let methods = extract_header_list_values(response, "access-control-allow-methods", false)
        .map_err(|()| Failure::MethodsUnparsable)?;
    let header_names = extract_header_list_values(response, "access-control-allow-headers", false)
        .map_err(|()| Failure::HeadersUnparsable)?;
    // 7.4
    let methods = match methods {
        None if use_cors_preflight_flag => vec![request.method.to_vec()],
        None => Vec::new(),
        Some(methods) => methods,
    };
    let header_names = header_names.unwrap_or_default();
    let include = request.credentials == CredentialsMode::Include;
    // 7.5: methods compare byte for byte.
    let listed = methods.iter().any(|m| m == request.method);
    let star_method = methods.iter().any(|m| m == b"*");
    if !listed && !is_cors_safelisted_method(request.method) && (include || !star_method) {
        return Err(Failure::MethodNotAllowed(request.method.to_vec()));
    }
    let named = |name: &[u8]| header_names.iter().any(|h| h.eq_ignore_ascii_case(name));
    // 7.6: a CORS non-wildcard request-header name must be listed by name.
    for name in &request.unsafe_header_names {
        if is_cors_non_wildcard_request_header_name(name) && !named(name) {
            return Err(Failure::NonWildcardHeaderNotListed(name.to_vec()));
        }
    }
    // 7.7
    let star_header = header_names.iter().any(|h| h == b"*");
    for name in &request.unsafe_header_names {
        if !named(name) && (include || !star_header) {
            return Err(Failure::HeaderNotAllowed(name.to_vec()));
        }
    }
    // 7.8–7.9: failure or null means 5 seconds, not a network error.
    let max_age = match extract_header_list_values(response, "access-control-max-age", true) {
        Ok(Some(values)) => values.first().and_then(|v| parse_delta_seconds(v)),
        _ => None,
    };
    Ok(PreflightOutcome {
        methods,
        header_names,
        max_age,
    })
}

/// GET, HEAD and POST (Fetch §2.2.1 "CORS-safelisted method"), byte for byte.
pub fn is_cors_safelisted_method(method: &[u8]) -> bool {
    matches!(method, b"GET" | b"HEAD" | b"POST")
}

/// `Authorization` in any case (Fetch §2.2.2 "CORS non-wildcard request-header name").
pub fn is_cors_non_wildcard_request_header_name(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"authorization")
}

/// Fetch §2.2.2 "extract header list values" for the CORS list headers (`#method`,
/// `#field-name`) or, with `single`, for `delta-seconds` (one header only, one value).
/// `Ok(None)` is null; `Err(())` is failure.
fn extract_header_list_values(
    response: &ResponseView,
    name: &str,
    single: bool,
) -> Result<Option<Vec<Vec<u8>>>, ()> {
    if !response.contains(name) {
        return Ok(None);
    }
    if single && response.all(name).count() > 1 {
        return Err(());
    }
    let mut values = Vec::new();
    for value in response.all(name) {
        if single {
            if !is_delta_seconds(value) {
                return Err(());
            }
            values.push(value.to_vec());
        } else {
            values.extend(parse_token_list(value)?);
        }
    }
    Ok(Some(values))
}

/// RFC 9110 §5.6.1 `#token`: elements separated by commas with optional whitespace (SP, HTAB)
/// around them; empty elements are accepted and ignored; every other element is a token.
pub fn parse_token_list(value: &[u8]) -> Result<Vec<Vec<u8>>, ()> {
    let mut items = Vec::new();
    for element in value.split(|b| *b == b',') {
        let element = trim_ows(element);
        if element.is_empty() {
            continue;
        }
        if !element.iter().all(|b| is_tchar(*b)) {
            return Err(());
        }
        items.push(element.to_vec());
    }
    Ok(items)
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// RFC 9110 §5.6.2 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9111 §1.2.2 `delta-seconds = 1*DIGIT`.
fn is_delta_seconds(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(u8::is_ascii_digit)
}

/// A `delta-seconds` value, saturating (RFC 9111 §1.2.2 caps what cannot be represented).
pub fn parse_delta_seconds(value: &[u8]) -> Option<u64> {
    if !is_delta_seconds(value) {
        return None;
    }
    Some(value.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}
