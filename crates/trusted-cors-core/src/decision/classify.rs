//! Stage 1 of the decision: what the request is (not a CORS request, same-origin, or
//! cross-origin, perhaps a preflight).

use super::requested_method;
use crate::origin::{OriginParts, RequestOrigin};
use crate::registry::ExactLookup;
use crate::rejection::{OriginForm, RejectionCause};
use crate::request::{is_safe as is_safe_method, names_another_site, HeaderInput, RequestFacts};
use crate::{CorsConfig, Rejection};

/// Stage 1: what the request is.
#[derive(Debug, Clone, Copy)]
pub(super) enum Classified<'a> {
    /// No `Origin` header.
    NotCors,
    /// From this service's own origin.
    SameOrigin,
    /// From another origin.
    CrossOrigin(CrossOrigin<'a>),
}

/// A cross-origin request, as the later stages see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct CrossOrigin<'a> {
    origin_bytes: &'a [u8],
    origin: RequestOrigin<'a>,
    /// The requested method of a preflight.
    pub(super) preflight: Option<&'a str>,
    /// `OPTIONS` with `Access-Control-Request-Method`, valid or not: a refusal then also varies
    /// on the request method and headers.
    asks_preflight: bool,
}

impl<'a> CrossOrigin<'a> {
    /// The validated origin, if it is a serialized one.
    pub(super) fn origin(&self) -> Option<OriginParts<'a>> {
        match self.origin {
            RequestOrigin::Valid(parts) => Some(parts),
            _ => None,
        }
    }

    /// Whether the request is a preflight.
    pub(super) fn is_preflight(&self) -> bool {
        self.preflight.is_some()
    }

    pub(super) fn rejection(&self, facts: &RequestFacts<'_>, cause: RejectionCause) -> Rejection {
        Rejection::new(cause, self.origin_bytes, facts.path, self.asks_preflight)
    }

    pub(super) fn origin_form(&self) -> OriginForm {
        match self.origin {
            RequestOrigin::Valid(_) => OriginForm::Serialized,
            RequestOrigin::Null => OriginForm::Null,
            RequestOrigin::Malformed => OriginForm::Malformed,
        }
    }
}

/// How a refusal names the origin of a cross-site write that sent no `Origin`.
const UNNAMED_ORIGIN: &str = "(no Origin header; Sec-Fetch-Site says another site)";

/// Stage 1: classifies a request. Reads nothing but the request, the configured public origins
/// and what the exact-origin index said of the `Origin` bytes: a hit gives the parts parsing
/// would give, without parsing.
pub(super) fn classify<'a>(
    facts: &RequestFacts<'a>,
    config: &CorsConfig,
    lookup: ExactLookup<'a>,
) -> Classified<'a> {
    let (origin_bytes, origin) = match facts.origin {
        // A browser that says an unsafe request comes from another site but names no origin
        // (stripped by a privacy setting or an extension): a cross-origin write from an origin
        // that cannot be trusted, refused as Go's `CrossOriginProtection` refuses it.
        HeaderInput::Absent
            if !is_safe_method(facts.method) && names_another_site(facts.sec_fetch_site) =>
        {
            (UNNAMED_ORIGIN.as_bytes(), RequestOrigin::Malformed)
        }
        HeaderInput::Absent => return Classified::NotCors,
        // Fetch metadata decides alone (see `is_same_origin`): no need to parse the origin.
        HeaderInput::One(_) if says_same_origin(facts.sec_fetch_site) => {
            return Classified::SameOrigin
        }
        HeaderInput::One(bytes) => match lookup {
            ExactLookup::Hit { parts, .. } => (bytes, RequestOrigin::Valid(parts)),
            _ => (bytes, RequestOrigin::parse(bytes)),
        },
        HeaderInput::Many => (
            b"<several Origin headers>".as_slice(),
            RequestOrigin::Malformed,
        ),
    };
    if is_same_origin(facts, config, &origin) {
        return Classified::SameOrigin;
    }
    let preflight = match facts.access_control_request_method {
        HeaderInput::One(bytes) if facts.method == "OPTIONS" => requested_method(bytes),
        _ => None,
    };
    let asks_preflight =
        facts.method == "OPTIONS" && facts.access_control_request_method.is_present();
    Classified::CrossOrigin(CrossOrigin {
        origin_bytes,
        origin,
        preflight,
        asks_preflight,
    })
}

/// Whether `Sec-Fetch-Site` says the browser judged the request same-origin (or a navigation the
/// user started); see `is_same_origin`.
pub(super) fn says_same_origin(site: HeaderInput<'_>) -> bool {
    matches!(site, HeaderInput::One(b"same-origin" | b"none"))
}

fn is_same_origin(
    facts: &RequestFacts<'_>,
    config: &CorsConfig,
    origin: &RequestOrigin<'_>,
) -> bool {
    // A browser that sends `Sec-Fetch-Site` has judged the request itself: trust only that, so a
    // page on `http://host` cannot pass for `https://host` by matching `Host`. `none` is a
    // navigation the user started (address bar, bookmark): no page made it, so no other origin
    // can be reading or forging it; like Go's `CrossOriginProtection`, it counts as same-origin.
    match facts.sec_fetch_site {
        HeaderInput::One(_) => return says_same_origin(facts.sec_fetch_site),
        HeaderInput::Many => return false,
        HeaderInput::Absent => {}
    }
    let RequestOrigin::Valid(parts) = origin else {
        return false;
    };
    if config.is_public_origin(parts.serialized()) {
        return true;
    }
    // The fallback for browsers without fetch metadata, as Go's CrossOriginProtection does.
    match facts.host {
        HeaderInput::One(host) => host_matches(host, parts),
        _ => false,
    }
}

/// Whether `Host` names the origin's host and port (a default port may be explicit in `Host`).
/// Only an `http` or `https` origin can: `capacitor://localhost` is an app on the device, not a
/// page served by `http://localhost`.
fn host_matches(host: &[u8], origin: &OriginParts<'_>) -> bool {
    let default_port: &[u8] = match origin.scheme() {
        "https" => b":443",
        "http" => b":80",
        _ => return false,
    };
    let authority = origin.authority().as_bytes();
    if host.eq_ignore_ascii_case(authority) {
        return true;
    }
    origin.port().is_empty()
        && host.len() == authority.len() + default_port.len()
        && host[..authority.len()].eq_ignore_ascii_case(authority)
        && &host[authority.len()..] == default_port
}
