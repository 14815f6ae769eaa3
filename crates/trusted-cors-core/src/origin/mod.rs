//! Origins: parsing and normalising configured origins and patterns, and validating the bytes of a
//! request's `Origin` header.
//!
//! Configured origins go through the WHATWG URL parser (the `url` crate), so `HTTPS://Bücher.Example:443`
//! becomes `https://xn--bcher-kva.example`. A request's `Origin` header is never normalised: browsers
//! send the serialized form, so anything else is malformed and treated as untrusted.

use std::fmt;

use serde::{Deserialize, Serialize};

pub(crate) use header::OriginSplit;
use header::{all_in, HOST_BYTE, SCHEME_BYTE};
pub use header::{OriginParts, RequestOrigin};

mod header;
#[cfg(test)]
mod tests;

/// The longest `Origin` header value looked at ([`Origin::MAX_LEN`]).
pub(crate) const MAX_ORIGIN_LEN: usize = 512;

/// Why a configured origin or pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OriginError {
    /// The value is empty.
    #[error("the origin is empty")]
    Empty,
    /// `null` is the origin of sandboxed and `file:` documents and can never be trusted.
    #[error("`null` can never be a trusted origin")]
    Null,
    /// The value has no `scheme://` prefix.
    #[error("the origin has no scheme: write it as https://host[:port]")]
    NoScheme,
    /// A scheme whose documents have no origin a server could trust (`file`, `data`, `blob`,
    /// `javascript`, `about`, …) or that is no document's (`ws`, `ftp`).
    #[error("the scheme `{0}` can never be a trusted origin's: use https, or an app scheme such as capacitor")]
    UnsupportedScheme(String),
    /// An app or extension scheme (`capacitor`, `chrome-extension`, …) that is not on the
    /// allowed origin schemes ([`OriginSchemes`], `origin_schemes` in the CORS config).
    #[error("the scheme `{scheme}` is not an allowed origin scheme (allowed: http, https{allowed}): add it to origin_schemes in the CORS config")]
    SchemeNotAllowed {
        /// The scheme, lowercased.
        scheme: String,
        /// The allowed app schemes, each after `, `.
        allowed: String,
    },
    /// A wildcard over an app or extension scheme: those origins are trusted exactly only.
    #[error("a wildcard is only allowed over http or https: trust `{0}` origins one by one")]
    WildcardScheme(String),
    /// The value carries a path, query or fragment; an origin is scheme, host and port only.
    #[error("an origin has no path, query or fragment: remove `{0}`")]
    HasPath(String),
    /// The value carries a user name or password.
    #[error("an origin has no user name or password")]
    HasUserinfo,
    /// The URL parser refused the value.
    #[error("not a valid origin: {0}")]
    Invalid(String),
    /// The value is longer than an origin can be.
    #[error("the origin is longer than {MAX_ORIGIN_LEN} bytes")]
    TooLong,
    /// A `*` appears anywhere but as the whole leftmost label.
    #[error("a wildcard is only allowed as the leftmost label, as in https://*.example.com")]
    BadWildcard,
    /// The wildcard sits directly above a public suffix (`*.co.uk`), or on an IP address.
    #[error("`*.{0}` would match every site under a public suffix: name a registrable domain")]
    WildcardAbovePublicSuffix(String),
    /// A wildcard over plain `http` was used where it would be trusted with credentials.
    #[error("a wildcard over plain http cannot be trusted with credentials: use https")]
    InsecureWildcard,
}

/// A canonical, serialized origin such as `https://app.example.com:8443`, or, for hybrid apps
/// and browser extensions, `capacitor://localhost` or `chrome-extension://<id>`.
///
/// `http` and `https` origins go through the WHATWG URL parser. Origins of other schemes (which
/// the URL standard leaves opaque) are normalised here: the scheme and host lowercased, the host
/// plain ASCII (letters, digits, `-`, `_`, `.`), a port kept as written. Schemes whose documents
/// have no trustworthy origin (`file`, `data`, `blob`, `javascript`, `about`, …) are refused.
/// Which app schemes a service trusts is the CORS config's [`OriginSchemes`].
///
/// ```
/// use trusted_cors_core::Origin;
///
/// let origin: Origin = "HTTPS://App.Example.com:443/".parse()?;
/// assert_eq!(origin.as_str(), "https://app.example.com");
/// let app: Origin = "Capacitor://LocalHost".parse()?;
/// assert_eq!(app.as_str(), "capacitor://localhost");
/// assert!("file:///etc/passwd".parse::<Origin>().is_err());
/// # Ok::<(), trusted_cors_core::OriginError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(Box<str>);

impl Origin {
    /// The longest `Origin` header value looked at, and the longest origin accepted. A DNS name
    /// is at most 253 bytes, so no genuine serialized origin comes close; anything longer is
    /// malformed.
    pub const MAX_LEN: usize = MAX_ORIGIN_LEN;

    /// Parses and normalises `input` as an origin.
    pub fn parse(input: &str) -> Result<Self, OriginError> {
        match parse_origin(input)? {
            Parsed::Web(url) => Ok(Origin(url.origin().ascii_serialization().into_boxed_str())),
            Parsed::App(serialized) => Ok(Origin(serialized.into_boxed_str())),
        }
    }

    /// Whether this is an `http` or `https` origin (not an app or extension one).
    pub fn is_web(&self) -> bool {
        is_web_scheme(self.scheme())
    }

    /// The canonical serialization, as a browser sends it in `Origin`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scheme, e.g. `https` or `capacitor`.
    pub fn scheme(&self) -> &str {
        self.0.split_once("://").map_or("", |(scheme, _)| scheme)
    }

    /// The host and optional port, as they appear after `://`.
    pub fn authority(&self) -> &str {
        self.0
            .split_once("://")
            .map_or("", |(_, authority)| authority)
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Origin {
    type Err = OriginError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Origin::parse(s)
    }
}

impl TryFrom<String> for Origin {
    type Error = OriginError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Origin::parse(&value)
    }
}

impl From<Origin> for String {
    fn from(value: Origin) -> Self {
        value.0.into()
    }
}

/// What a trusted origin entry matches: one exact origin, or every subdomain of a registrable
/// domain (`https://*.example.com` matches `https://a.example.com` and `https://a.b.example.com`,
/// not `https://example.com`).
///
/// ```
/// use trusted_cors_core::OriginPattern;
///
/// let pattern = OriginPattern::parse("https://*.Example.com")?;
/// assert_eq!(pattern.to_string(), "https://*.example.com");
/// assert!(pattern.matches("https://app.example.com"));
/// assert!(!pattern.matches("https://example.com"));
/// assert!(!pattern.matches("https://app.example.com.evil.test"));
/// assert!(OriginPattern::parse("https://*.co.uk").is_err());
/// # Ok::<(), trusted_cors_core::OriginError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OriginPattern(PatternInner);

#[derive(Clone, PartialEq, Eq, Hash)]
enum PatternInner {
    Exact(Origin),
    /// Boxed, so that an exact pattern (most entries of a large registry) costs no more than its
    /// origin.
    Wildcard(Box<Wildcard>),
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Wildcard {
    /// `https://*.example.com:8443`, for display and equality.
    serialized: Box<str>,
    scheme: Box<str>,
    /// The registrable domain below the `*.` label, e.g. `example.com`.
    base: Box<str>,
    /// `:8443`, or empty for the default port.
    port: Box<str>,
}

const WILDCARD_PLACEHOLDER: &str = "trusted-cors-wildcard";

impl OriginPattern {
    /// Parses an exact origin or a `scheme://*.domain[:port]` wildcard.
    pub fn parse(input: &str) -> Result<Self, OriginError> {
        let trimmed = input.trim();
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return Origin::parse(trimmed).map(|o| OriginPattern(PatternInner::Exact(o)));
        };
        if !rest.contains('*') {
            return Origin::parse(trimmed).map(|o| OriginPattern(PatternInner::Exact(o)));
        }
        let Some(after_star) = rest.strip_prefix("*.") else {
            return Err(OriginError::BadWildcard);
        };
        if after_star.contains('*') {
            return Err(OriginError::BadWildcard);
        }
        let scheme_lower = scheme.to_ascii_lowercase();
        if !is_web_scheme(&scheme_lower) && is_scheme(&scheme_lower) {
            if NEVER_TRUSTED_SCHEMES.contains(&scheme_lower.as_str()) {
                return Err(OriginError::UnsupportedScheme(scheme_lower));
            }
            return Err(OriginError::WildcardScheme(scheme_lower));
        }
        // Let the URL parser normalise the rest by standing a real label in for the `*`.
        let stand_in = format!("{scheme}://{WILDCARD_PLACEHOLDER}.{after_star}");
        let Parsed::Web(url) = parse_origin(&stand_in)? else {
            return Err(OriginError::BadWildcard);
        };
        let host = match url.host() {
            Some(url::Host::Domain(domain)) => domain,
            _ => {
                return Err(OriginError::WildcardAbovePublicSuffix(
                    after_star.to_owned(),
                ))
            }
        };
        let base = host
            .strip_prefix(WILDCARD_PLACEHOLDER)
            .and_then(|h| h.strip_prefix('.'))
            .ok_or(OriginError::BadWildcard)?;
        if base.is_empty() || is_public_suffix(base) {
            return Err(OriginError::WildcardAbovePublicSuffix(base.to_owned()));
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let scheme = url.scheme().to_owned();
        Ok(OriginPattern(PatternInner::Wildcard(Box::new(Wildcard {
            serialized: format!("{scheme}://*.{base}{port}").into_boxed_str(),
            scheme: scheme.into_boxed_str(),
            base: base.into(),
            port: port.into_boxed_str(),
        }))))
    }

    /// The exact origin, if this is not a wildcard.
    pub fn exact(&self) -> Option<&Origin> {
        match &self.0 {
            PatternInner::Exact(origin) => Some(origin),
            PatternInner::Wildcard(_) => None,
        }
    }

    /// Whether this is a `*.` wildcard.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.0, PatternInner::Wildcard(_))
    }

    /// The scheme, e.g. `https` (a wildcard's is `http` or `https`).
    pub fn scheme(&self) -> &str {
        match &self.0 {
            PatternInner::Exact(origin) => origin.scheme(),
            PatternInner::Wildcard(wildcard) => &wildcard.scheme,
        }
    }

    /// The canonical text of the pattern.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            PatternInner::Exact(origin) => origin.as_str(),
            PatternInner::Wildcard(wildcard) => &wildcard.serialized,
        }
    }

    /// For a wildcard: the domain below `*.`, e.g. `example.com`.
    pub(crate) fn wildcard_base(&self) -> Option<&str> {
        match &self.0 {
            PatternInner::Exact(_) => None,
            PatternInner::Wildcard(wildcard) => Some(&wildcard.base),
        }
    }

    /// Whether a request origin (in serialized form, as sent by a browser) matches.
    pub fn matches(&self, request_origin: &str) -> bool {
        match &self.0 {
            PatternInner::Exact(origin) => origin.as_str() == request_origin,
            PatternInner::Wildcard(_) => match RequestOrigin::parse(request_origin.as_bytes()) {
                RequestOrigin::Valid(parts) => self.matches_parts(&parts),
                _ => false,
            },
        }
    }

    /// Matches a validated request origin: same scheme and port, and a host with at least one
    /// whole label in front of the base domain. Label-wise, never by substring.
    pub(crate) fn matches_parts(&self, request: &OriginParts<'_>) -> bool {
        match &self.0 {
            PatternInner::Exact(origin) => origin.as_str() == request.serialized,
            PatternInner::Wildcard(wildcard) => {
                request.scheme == &*wildcard.scheme
                    && request.port == &*wildcard.port
                    && request
                        .host
                        .strip_suffix(&*wildcard.base)
                        .and_then(|front| front.strip_suffix('.'))
                        // One or more whole labels, none of them empty (`.a`, `a..b`).
                        .is_some_and(|front| !front.split('.').any(str::is_empty))
            }
        }
    }
}

impl fmt::Debug for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for OriginPattern {
    type Err = OriginError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OriginPattern::parse(s)
    }
}

impl TryFrom<String> for OriginPattern {
    type Error = OriginError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        OriginPattern::parse(&value)
    }
}

impl From<OriginPattern> for String {
    fn from(value: OriginPattern) -> Self {
        value.as_str().to_owned()
    }
}

impl From<Origin> for OriginPattern {
    fn from(origin: Origin) -> Self {
        OriginPattern(PatternInner::Exact(origin))
    }
}

/// Whether a wildcard over `domain` would cover a whole public suffix: `domain` is itself a
/// suffix (`co.uk`), or the list has a wildcard rule under it (`*.kawasaki.jp`,
/// `*.compute.amazonaws.com`), so that `x.domain` is a suffix too.
fn is_public_suffix(domain: &str) -> bool {
    // psl applies the list's default rule (`*`), so an unlisted single label such as
    // `localhost` counts as a suffix too, which is the safe answer here.
    let probe = format!("{WILDCARD_PLACEHOLDER}.{domain}");
    psl::suffix(probe.as_bytes()).is_none_or(|suffix| suffix.as_bytes().len() >= domain.len())
}

/// Schemes that never name a trustworthy origin: their documents have an opaque origin (`Origin:
/// null`), run script from the address itself, or are no document's at all.
const NEVER_TRUSTED_SCHEMES: [&str; 12] = [
    "file",
    "data",
    "blob",
    "javascript",
    "vbscript",
    "about",
    "filesystem",
    "view-source",
    "ws",
    "wss",
    "ftp",
    "null",
];

/// Whether `scheme` (lowercase) is `http` or `https`.
pub(crate) fn is_web_scheme(scheme: &str) -> bool {
    scheme == "https" || scheme == "http"
}

/// Whether `scheme` is a URL scheme: a letter, then letters, digits, `+`, `-` and `.`.
fn is_scheme(scheme: &str) -> bool {
    match scheme.as_bytes().split_first() {
        Some((first, tail)) => {
            first.is_ascii_alphabetic()
                && tail
                    .iter()
                    .all(|b| SCHEME_BYTE[usize::from(b.to_ascii_lowercase())])
        }
        None => false,
    }
}

/// The schemes besides `http` and `https` whose origins may be trusted: hybrid-app WebViews
/// (`capacitor://localhost`, `ionic://localhost`, `tauri://localhost`), desktop apps (`app://…`)
/// and browser extensions (`chrome-extension://<id>`, `moz-extension://<uuid>`). Only exact
/// origins of these schemes can be trusted, never wildcards.
///
/// The default is Okta's own list, `capacitor` and `ionic`. Every origin of a scheme is every
/// app that registers it on a device: a page in any Capacitor app sends
/// `Origin: capacitor://localhost`. Add a scheme only when that is acceptable; an extension's
/// id is its own (`chrome-extension://<id>`).
///
/// ```
/// use trusted_cors_core::OriginSchemes;
///
/// let schemes = OriginSchemes::new(["capacitor", "Chrome-Extension"])?;
/// assert!(schemes.allows("https") && schemes.allows("chrome-extension"));
/// assert!(!schemes.allows("ionic"));
/// assert!(OriginSchemes::default().allows("ionic"));
/// assert!(OriginSchemes::new(["file"]).is_err());
/// # Ok::<(), trusted_cors_core::OriginError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginSchemes(Vec<Box<str>>);

impl Default for OriginSchemes {
    fn default() -> Self {
        OriginSchemes(vec!["capacitor".into(), "ionic".into()])
    }
}

impl OriginSchemes {
    /// Only `http` and `https`.
    pub fn web_only() -> Self {
        OriginSchemes(Vec::new())
    }

    /// `http`, `https` and these schemes (any case; `http` and `https` may be listed too). A
    /// scheme that never names a trustworthy origin (`file`, `data`, `blob`, `javascript`,
    /// `about`, `ws`, …) is [`OriginError::UnsupportedScheme`]; one that is no scheme,
    /// [`OriginError::Invalid`].
    pub fn new<I, S>(schemes: I) -> Result<Self, OriginError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list: Vec<Box<str>> = Vec::new();
        for scheme in schemes {
            let scheme = scheme.as_ref().trim().to_ascii_lowercase();
            if NEVER_TRUSTED_SCHEMES.contains(&scheme.as_str()) {
                return Err(OriginError::UnsupportedScheme(scheme));
            }
            if !is_scheme(&scheme) {
                return Err(OriginError::Invalid(format!(
                    "`{scheme}` is not a URL scheme"
                )));
            }
            if !is_web_scheme(&scheme) && !list.iter().any(|s| **s == *scheme) {
                list.push(scheme.into_boxed_str());
            }
        }
        Ok(OriginSchemes(list))
    }

    /// Whether origins of `scheme` (lowercase, as in a request's `Origin`) may be trusted.
    #[must_use]
    pub fn allows(&self, scheme: &str) -> bool {
        is_web_scheme(scheme) || self.0.iter().any(|s| **s == *scheme)
    }

    /// The allowed schemes besides `http` and `https`.
    pub fn app_schemes(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| &**s)
    }

    /// `Ok` when `origin` may be trusted, else [`OriginError::SchemeNotAllowed`].
    pub fn check(&self, origin: &OriginPattern) -> Result<(), OriginError> {
        if self.allows(origin.scheme()) {
            return Ok(());
        }
        Err(OriginError::SchemeNotAllowed {
            scheme: origin.scheme().to_owned(),
            allowed: self.0.iter().map(|s| format!(", {s}")).collect(),
        })
    }
}

/// An origin as parsed: by the URL parser (`http`, `https`), or an app origin, serialized.
enum Parsed {
    Web(url::Url),
    App(String),
}

fn parse_origin(input: &str) -> Result<Parsed, OriginError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(OriginError::Empty);
    }
    if input.len() > MAX_ORIGIN_LEN {
        return Err(OriginError::TooLong);
    }
    if input.eq_ignore_ascii_case("null") {
        return Err(OriginError::Null);
    }
    let Some((scheme, rest)) = input.split_once("://") else {
        return Err(match input.split_once(':') {
            Some((scheme, _))
                if NEVER_TRUSTED_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) =>
            {
                OriginError::UnsupportedScheme(scheme.to_ascii_lowercase())
            }
            _ => OriginError::NoScheme,
        });
    };
    let scheme_lower = scheme.to_ascii_lowercase();
    if NEVER_TRUSTED_SCHEMES.contains(&scheme_lower.as_str()) || !is_scheme(&scheme_lower) {
        return Err(OriginError::UnsupportedScheme(scheme_lower));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(OriginError::HasUserinfo);
    }
    // A lone trailing slash is how people copy origins from the address bar; anything more is a path.
    if !tail.is_empty() && tail != "/" {
        return Err(OriginError::HasPath(tail.to_owned()));
    }
    if !is_web_scheme(&scheme_lower) {
        return parse_app_origin(&scheme_lower, authority).map(Parsed::App);
    }
    let url = url::Url::parse(input).map_err(|e| OriginError::Invalid(e.to_string()))?;
    match url.host() {
        None => return Err(OriginError::Invalid("no host".to_owned())),
        Some(url::Host::Domain(domain)) if domain.split('.').any(str::is_empty) => {
            return Err(OriginError::Invalid(
                "the host has an empty label (a leading, repeated or trailing dot)".to_owned(),
            ))
        }
        // The URL parser keeps `,`, `!`, `$` and the like in a host, but a request whose
        // `Origin` holds them is malformed: such an entry could never match.
        Some(url::Host::Domain(domain)) if !all_in(domain.as_bytes(), &HOST_BYTE) => {
            return Err(OriginError::Invalid(
                "the host has a character no browser sends in Origin: use letters, digits, `-`, `_` and `.`"
                    .to_owned(),
            ))
        }
        Some(_) => {}
    }
    // Port 0 is no port a browser connects to, and `:0` is malformed in a request's `Origin`.
    if url.port() == Some(0) {
        return Err(OriginError::Invalid("port 0 is not a port".to_owned()));
    }
    // IDN labels can grow in punycode: the canonical form must fit too.
    if url.origin().ascii_serialization().len() > MAX_ORIGIN_LEN {
        return Err(OriginError::TooLong);
    }
    Ok(Parsed::Web(url))
}

/// The serialized origin of an app or extension scheme: `scheme://host[:port]`, lowercase, the
/// form its WebView or browser sends in `Origin` (no default port, no IDN: such hosts are names
/// apps pick, such as `localhost` or an extension id).
fn parse_app_origin(scheme: &str, authority: &str) -> Result<String, OriginError> {
    let invalid = |why: &str| OriginError::Invalid(format!("{why} in a `{scheme}` origin"));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    if !host.is_ascii() {
        return Err(invalid(
            "the host must be plain ASCII (letters, digits, `-`, `_`, `.`)",
        ));
    }
    let host = host.to_ascii_lowercase();
    if !all_in(host.as_bytes(), &HOST_BYTE) {
        return Err(invalid("the host has a character no browser sends in Origin: use letters, digits, `-`, `_` and `.`"));
    }
    if host.split('.').any(str::is_empty) {
        return Err(invalid(
            "the host has an empty label (a leading, repeated or trailing dot)",
        ));
    }
    let mut serialized = format!("{scheme}://{host}");
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && !port.starts_with('0')
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p <= 65535);
        if !valid {
            return Err(invalid("the port is not a number from 1 to 65535"));
        }
        serialized.push(':');
        serialized.push_str(port);
    }
    if serialized.len() > MAX_ORIGIN_LEN {
        return Err(OriginError::TooLong);
    }
    Ok(serialized)
}
