//! What the decision reads of header values, as bytes: the `Authorization` scheme, and what a
//! preflight asks for (its `Access-Control-Request-Headers` list and its
//! `Access-Control-Request-Method`).

use crate::policy::{is_tchar, is_token, AllowedHeaders};
use crate::rejection::{printable, RejectionCause, RequestHeadersProblem};
use crate::request::{
    HeaderInput, RequestFacts, MAX_REQUEST_HEADERS_LEN, MAX_REQUEST_HEADER_NAMES,
};
use crate::CorsConfig;

pub(super) struct HeaderScan<'a> {
    /// The requested names, trimmed, for echoing (ASCII: every name is a token).
    pub(super) value: &'a [u8],
    pub(super) authorization: bool,
    /// Whether a requested name is `*`.
    pub(super) star: bool,
    pub(super) denied: Option<&'a [u8]>,
}

/// Reads `Access-Control-Request-Headers` in O(min(len, limit)) and without allocating.
///
/// Read as bytes: a list that passes holds only token bytes, spaces, tabs and commas, so it is
/// ASCII and needs no UTF-8 pass (which cost more than the split on short lists). A list that
/// fails is refused as not text when it is not UTF-8, as before any other problem.
pub(super) fn scan_request_headers<'a>(
    input: HeaderInput<'a>,
    allowed: &AllowedHeaders,
) -> Result<HeaderScan<'a>, RequestHeadersProblem> {
    let (bytes, scan) = match input {
        HeaderInput::One(bytes) if bytes.len() > MAX_REQUEST_HEADERS_LEN => {
            return Err(RequestHeadersProblem::TooLong)
        }
        HeaderInput::Many => return Err(RequestHeadersProblem::Several),
        HeaderInput::One(bytes) => (bytes, scan_names(bytes, allowed)),
        HeaderInput::Absent => (b"".as_slice(), scan_names(b"", allowed)),
    };
    scan.map_err(|problem| match (std::str::from_utf8(bytes), problem) {
        (Err(_), _) => RequestHeadersProblem::NotText,
        (Ok(_), NamesProblem::TooMany) => RequestHeadersProblem::TooMany,
        (Ok(_), NamesProblem::NotAName(name)) => {
            RequestHeadersProblem::NotAName(printable(name).into_boxed_str())
        }
    })
}

/// What [`scan_names`] found wrong, before the list's text is checked (the name is described
/// only if the list is text).
enum NamesProblem<'a> {
    TooMany,
    NotAName(&'a [u8]),
}

/// [`scan_request_headers`] on a list within the length limit, before its text is checked.
fn scan_names<'a>(
    bytes: &'a [u8],
    allowed: &AllowedHeaders,
) -> Result<HeaderScan<'a>, NamesProblem<'a>> {
    let value = trim_ows(bytes);
    let mut scan = HeaderScan {
        value,
        authorization: false,
        star: false,
        denied: None,
    };
    // Split by hand: `split` costs several times more per name than this byte search.
    let mut rest = Some(value);
    let mut count = 0;
    while let Some(list) = rest {
        let (name, tail) = match list.iter().position(|&b| b == b',') {
            Some(comma) => (&list[..comma], list.get(comma + 1..)),
            None => (list, None),
        };
        rest = tail;
        if count == MAX_REQUEST_HEADER_NAMES {
            return Err(NamesProblem::TooMany);
        }
        count += 1;
        let name = trim_ows(name);
        if name.is_empty() {
            continue;
        }
        if !name.iter().copied().all(is_tchar) {
            return Err(NamesProblem::NotAName(name));
        }
        if name.eq_ignore_ascii_case(b"authorization") {
            scan.authorization = true;
        }
        scan.star |= name == b"*";
        if scan.denied.is_none() && !allowed.allows(name) {
            scan.denied = Some(name);
        }
    }
    Ok(scan)
}

/// `Access-Control-Request-Method` as text, if it is a token: the usual methods are matched as
/// bytes (cheaper than a UTF-8 pass over a short value), any other is checked as text.
pub(super) fn requested_method(bytes: &[u8]) -> Option<&str> {
    let usual = match bytes {
        b"GET" => "GET",
        b"POST" => "POST",
        b"PUT" => "PUT",
        b"PATCH" => "PATCH",
        b"DELETE" => "DELETE",
        b"HEAD" => "HEAD",
        _ => return std::str::from_utf8(bytes).ok().filter(|m| is_token(m)),
    };
    Some(usual)
}

/// `value` without the spaces and tabs around it (HTTP's optional whitespace).
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !ows(b))
        .map_or(start, |last| last + 1);
    &bytes[start..end]
}

/// Stage 2, the first global rule: `Ok(true)` for an allowed bearer-type credential, `Ok(false)`
/// without `Authorization`, and the cause of the refusal for anything else.
pub(super) fn credential(
    facts: &RequestFacts<'_>,
    config: &CorsConfig,
) -> Result<bool, RejectionCause> {
    if let HeaderInput::Many = facts.authorization {
        return Err(RejectionCause::SeveralAuthorizationHeaders);
    }
    if !facts.authorization.is_present() {
        return Ok(false);
    }
    let scheme = auth_scheme(facts);
    if scheme.eq_ignore_ascii_case(b"ssws") {
        return Err(RejectionCause::ApiToken);
    }
    match std::str::from_utf8(scheme) {
        Ok(s) if is_token(s) && config.allows_credential_scheme(s) => Ok(true),
        _ => Err(RejectionCause::CredentialScheme {
            scheme: printable(&scheme[..scheme.len().min(32)]).into_boxed_str(),
        }),
    }
}

/// The scheme of the `Authorization` value: the bytes before the first space.
fn auth_scheme<'a>(facts: &RequestFacts<'a>) -> &'a [u8] {
    let HeaderInput::One(value) = facts.authorization else {
        return b"";
    };
    let value = value.trim_ascii_start();
    let end = value
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(value.len());
    &value[..end]
}
