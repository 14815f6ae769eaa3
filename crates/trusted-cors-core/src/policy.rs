//! Per-route CORS policy: what a route declares where it is defined.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::rejection::RuleOverrides;
use crate::{ConfigError, RejectionKind, RuleMode};

/// The default max-age. Chromium caps preflight caching at two hours; asking for more buys
/// nothing.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7200);

const MAX_MAX_AGE: u64 = 86_400;

/// Response headers scripts can never read, whatever `Access-Control-Expose-Headers` says.
const NEVER_EXPOSED: [&str; 2] = ["set-cookie", "set-cookie2"];

/// The CORS policy of one route.
///
/// A route with no policy is server-side only: its preflights are refused. Build one with
/// [`RouteCors::builder`]; invalid combinations are a [`ConfigError`], never a panic.
///
/// ```
/// use std::time::Duration;
/// use trusted_cors_core::RouteCors;
///
/// // "Get current user": trusted origins with cookies, bearer tokens from any origin.
/// let me = RouteCors::builder()
///     .allow_methods(["GET", "PUT"])
///     .allow_headers(["content-type", "authorization"])
///     .expose_headers(["x-request-id"])
///     .bearer_from_any_origin()
///     .max_age(Duration::from_secs(600))
///     .build()?;
/// assert!(me.is_cors_enabled());
/// assert!(me.allows_credentials());
///
/// // Refused at build time: `*` is a literal header name when cookies are allowed.
/// assert!(RouteCors::builder().expose_headers(["*"]).build().is_err());
/// # Ok::<(), trusted_cors_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct RouteCors(Arc<Inner>);

/// The header values a declared route sends, rendered once when the policy is built.
struct Inner {
    enabled: bool,
    credentials: bool,
    bearer_from_any_origin: bool,
    any_origin: bool,
    websocket_any_origin: bool,
    methods: Vec<Box<str>>,
    headers: AllowedHeaders,
    allow_methods: Bytes,
    /// `None` when no header is named.
    allow_headers: Option<Bytes>,
    expose: Option<Bytes>,
    max_age: Bytes,
    rules: RuleOverrides,
    name: Option<&'static str>,
}

impl Default for RouteCors {
    /// The common case: CORS-enabled for trusted origins with cookies, methods `GET` and `HEAD`,
    /// request header `content-type`, max-age 7200 s.
    fn default() -> Self {
        RouteCors::from_parts(RouteCorsBuilder::default())
    }
}

#[derive(Debug)]
pub(crate) enum AllowedHeaders {
    /// Lowercase names.
    List(Vec<Box<str>>),
    /// Any header; `authorization` only when also named.
    Any { authorization: bool },
}

impl AllowedHeaders {
    /// Whether a requested header name (its bytes, as requested) is allowed.
    pub(crate) fn allows(&self, name: &[u8]) -> bool {
        match self {
            // Browsers send lowercase names: an exact match first, then any case.
            AllowedHeaders::List(names) => {
                names.iter().any(|n| n.as_bytes() == name)
                    || names
                        .iter()
                        .any(|n| n.as_bytes().eq_ignore_ascii_case(name))
            }
            // A requested `*` is not echoed: in `Access-Control-Allow-Headers` it would read as
            // a wildcard on a request without credentials.
            AllowedHeaders::Any { authorization } => {
                name != b"*" && (*authorization || !name.eq_ignore_ascii_case(b"authorization"))
            }
        }
    }
}

impl RouteCors {
    /// Starts a CORS-enabled policy from the defaults of [`RouteCors::default`]: trusted origins
    /// with cookies, methods `GET` and `HEAD`, request header `content-type`, max-age 7200 s.
    pub fn builder() -> RouteCorsBuilder {
        RouteCorsBuilder::default()
    }

    /// A route that explicitly declares it is not CORS-enabled (server-side only). Its preflights
    /// are refused with `route_not_cors_enabled`.
    ///
    /// Declarations do not nest: the outermost declaration on a request's path decides, so do
    /// not wrap a route with two policies (for instance an actix scope and one of its
    /// resources).
    pub fn server_side_only() -> RouteCors {
        RouteCors(Arc::new(Inner {
            enabled: false,
            credentials: false,
            bearer_from_any_origin: false,
            any_origin: false,
            websocket_any_origin: false,
            methods: Vec::new(),
            headers: AllowedHeaders::List(Vec::new()),
            allow_methods: Bytes::new(),
            allow_headers: None,
            expose: None,
            max_age: Bytes::from_static(b"0"),
            rules: RuleOverrides::default(),
            name: None,
        }))
    }

    /// The mode this route sets for a rule, if it sets one (else the global config's applies).
    pub fn rule_mode(&self, rule: RejectionKind) -> Option<RuleMode> {
        self.0.rules.get(rule)
    }

    pub(crate) fn rule_overrides(&self) -> &RuleOverrides {
        &self.0.rules
    }

    /// The route's name in the metrics (the `route` label), if it was given one with
    /// [`RouteCorsBuilder::name`].
    pub fn name(&self) -> Option<&'static str> {
        self.0.name
    }

    /// Whether the route answers CORS at all.
    pub fn is_cors_enabled(&self) -> bool {
        self.0.enabled
    }

    /// Whether trusted origins get `Access-Control-Allow-Credentials: true`.
    pub fn allows_credentials(&self) -> bool {
        self.0.credentials
    }

    /// Whether bearer-token calls are accepted from any origin, without credentials.
    pub fn accepts_bearer_from_any_origin(&self) -> bool {
        self.0.bearer_from_any_origin
    }

    /// Whether every origin may read the route, without credentials (see
    /// [`RouteCorsBuilder::any_origin`]).
    pub fn accepts_any_origin(&self) -> bool {
        self.0.any_origin
    }

    /// Whether the route accepts WebSocket handshakes from any origin (see
    /// [`RouteCorsBuilder::websocket_from_any_origin`]); otherwise a handshake to it is judged
    /// by the global rule, `websocket_origin_not_trusted`.
    pub fn accepts_websocket_from_any_origin(&self) -> bool {
        self.0.websocket_any_origin
    }

    /// Whether the method may be used cross-origin (case-sensitive, as methods are).
    pub fn allows_method(&self, method: &str) -> bool {
        self.0.methods.iter().any(|m| &**m == method)
    }

    pub(crate) fn allowed_headers(&self) -> &AllowedHeaders {
        &self.0.headers
    }

    /// Whether a request header may be sent cross-origin. `authorization` only when named.
    pub fn allows_header(&self, name: &str) -> bool {
        self.0.headers.allows(name.as_bytes())
    }

    /// Whether any header is allowed (the preflight answer echoes the requested headers).
    pub fn allows_any_header(&self) -> bool {
        matches!(self.0.headers, AllowedHeaders::Any { .. })
    }

    /// The `Access-Control-Allow-Methods` value, e.g. `GET, HEAD`.
    pub(crate) fn allow_methods_value(&self) -> &Bytes {
        &self.0.allow_methods
    }

    /// The `Access-Control-Allow-Headers` value for the named headers, if any are named.
    pub(crate) fn allow_headers_value(&self) -> Option<&Bytes> {
        self.0.allow_headers.as_ref()
    }

    /// The `Access-Control-Expose-Headers` value, if any.
    pub(crate) fn expose_headers_value(&self) -> Option<&Bytes> {
        self.0.expose.as_ref()
    }

    /// The `Access-Control-Max-Age` value in seconds.
    pub(crate) fn max_age_value(&self) -> &Bytes {
        &self.0.max_age
    }

    fn from_parts(builder: RouteCorsBuilder) -> RouteCors {
        let RouteCorsBuilder {
            credentials,
            bearer_from_any_origin,
            any_origin,
            websocket_any_origin,
            methods,
            mut headers,
            any_header,
            expose,
            max_age,
            rules,
            name,
            error: _,
        } = builder;
        if bearer_from_any_origin && !headers.iter().any(|h| h == "authorization") {
            headers.push("authorization".into());
        }
        let authorization = headers.iter().any(|h| h == "authorization");
        let render = |items: &[String]| shared(items.join(", "));
        let allow_headers = (!headers.is_empty()).then(|| render(&headers));
        let headers = if any_header {
            AllowedHeaders::Any { authorization }
        } else {
            AllowedHeaders::List(headers.into_iter().map(String::into_boxed_str).collect())
        };
        RouteCors(Arc::new(Inner {
            enabled: true,
            credentials,
            bearer_from_any_origin,
            any_origin,
            websocket_any_origin,
            allow_methods: render(&methods),
            methods: methods.into_iter().map(String::into_boxed_str).collect(),
            headers,
            allow_headers,
            expose: (!expose.is_empty()).then(|| render(&expose)),
            max_age: shared(max_age.as_secs().to_string()),
            rules,
            name,
        }))
    }
}

impl fmt::Debug for RouteCors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteCors")
            .field("enabled", &self.0.enabled)
            .field("credentials", &self.0.credentials)
            .field("bearer_from_any_origin", &self.0.bearer_from_any_origin)
            .field("any_origin", &self.0.any_origin)
            .field("websocket_any_origin", &self.0.websocket_any_origin)
            .field("methods", &self.0.methods)
            .field("headers", &self.0.headers)
            .field("expose_headers", &self.0.expose)
            .field("max_age", &self.0.max_age)
            .field("rules", &self.0.rules)
            .field("name", &self.0.name)
            .finish()
    }
}

/// Builds a [`RouteCors`]. Errors are collected and reported by [`build`](Self::build).
#[derive(Debug)]
#[must_use]
pub struct RouteCorsBuilder {
    credentials: bool,
    bearer_from_any_origin: bool,
    any_origin: bool,
    websocket_any_origin: bool,
    methods: Vec<String>,
    headers: Vec<String>,
    any_header: bool,
    expose: Vec<String>,
    max_age: Duration,
    rules: RuleOverrides,
    name: Option<&'static str>,
    error: Option<ConfigError>,
}

impl Default for RouteCorsBuilder {
    fn default() -> Self {
        RouteCorsBuilder {
            credentials: true,
            bearer_from_any_origin: false,
            any_origin: false,
            websocket_any_origin: false,
            methods: vec!["GET".into(), "HEAD".into()],
            headers: vec!["content-type".into()],
            any_header: false,
            expose: Vec::new(),
            max_age: DEFAULT_MAX_AGE,
            rules: RuleOverrides::default(),
            name: None,
            error: None,
        }
    }
}

impl RouteCorsBuilder {
    /// The methods allowed cross-origin, replacing the default `GET, HEAD`. Case-sensitive, as
    /// methods are: `get` or `Put` is refused ([`ConfigError::MethodCase`]), since browsers send
    /// the standard methods upper-cased, and so is `*` ([`ConfigError::WildcardMethod`]).
    pub fn allow_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.methods.clear();
        for method in methods {
            let method = method.as_ref().trim();
            let standard = STANDARD_METHODS
                .iter()
                .find(|standard| standard.eq_ignore_ascii_case(method));
            if method == "*" {
                self.fail(ConfigError::WildcardMethod);
            } else if let Some(meant) = standard.filter(|meant| **meant != method) {
                self.fail(ConfigError::MethodCase {
                    given: method.to_owned(),
                    meant,
                });
            } else if !is_token(method) {
                self.fail(ConfigError::InvalidMethod(method.to_owned()));
            } else if !self.methods.iter().any(|m| m == method) {
                self.methods.push(method.to_owned());
            }
        }
        self
    }

    /// The request headers allowed cross-origin, replacing the default `content-type` and
    /// whatever an earlier call allowed (`*` included). `*` allows any header but
    /// `authorization`, as [`allow_any_header`](Self::allow_any_header) does; `authorization` is
    /// only ever allowed when named here (or by
    /// [`bearer_from_any_origin`](Self::bearer_from_any_origin)).
    pub fn allow_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.headers.clear();
        self.any_header = false;
        for header in headers {
            let header = header.as_ref().trim();
            if header == "*" {
                self.any_header = true;
            } else if !is_token(header) {
                self.fail(ConfigError::InvalidHeaderName {
                    setting: "allow_headers",
                    value: header.to_owned(),
                });
            } else {
                let lower = header.to_ascii_lowercase();
                if !self.headers.contains(&lower) {
                    self.headers.push(lower);
                }
            }
        }
        self
    }

    /// Allows any request header except `authorization`, which must still be named with
    /// [`allow_headers`](Self::allow_headers). The preflight answer lists the requested headers.
    pub fn allow_any_header(mut self) -> Self {
        self.any_header = true;
        self
    }

    /// Response headers scripts may read. `*` is refused when credentials are allowed.
    pub fn expose_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.expose.clear();
        for header in headers {
            let header = header.as_ref().trim();
            if header != "*" && !is_token(header) {
                self.fail(ConfigError::InvalidHeaderName {
                    setting: "expose_headers",
                    value: header.to_owned(),
                });
            } else {
                self.expose.push(header.to_ascii_lowercase());
            }
        }
        self
    }

    /// Whether trusted origins get cookies (`Access-Control-Allow-Credentials: true`). On by
    /// default.
    pub fn credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// Also accept bearer-token calls from any origin, without credentials. Implies that
    /// `authorization` is an allowed request header.
    pub fn bearer_from_any_origin(mut self) -> Self {
        self.bearer_from_any_origin = true;
        self
    }

    /// Opens the route to every origin, without credentials: public data, such as a status or
    /// an explanation of the CORS configuration. No origin gets
    /// `Access-Control-Allow-Credentials`, trusted ones included (the policy allows no
    /// credentials, and [`credentials(true)`](Self::credentials) is then a
    /// [`ConfigError::AnyOriginWithCredentials`]); a call from an untrusted origin that carries
    /// cookies is refused (`origin_not_trusted`), so the handler never acts on an ambient
    /// credential another site sent. Unsafe methods from untrusted origins still need a bearer
    /// token (the guard's rule).
    pub fn any_origin(mut self) -> Self {
        self.any_origin = true;
        self.credentials = false;
        self
    }

    /// Accepts WebSocket handshakes from any origin on this route: a socket meant for every
    /// site, whose data is public or that authenticates with a token sent in its first message,
    /// never with the cookies a browser attaches to the handshake. Without it, a handshake from
    /// another origin is accepted only from an ACTIVE trusted origin with the CORS scope (the
    /// global rule `websocket_origin_not_trusted`, judged by the guard for every route, declared
    /// or not): browsers open a socket to any site with that site's cookies and never ask the
    /// server's permission to read it, so a socket that trusts its cookies is otherwise open to
    /// cross-site WebSocket hijacking. It changes nothing else of the route's CORS policy.
    ///
    /// The rest of the policy does not apply to sockets: browsers make no CORS check of a
    /// handshake and send it with cookies, so a trusted origin's page opens a socket on a
    /// [server-side only](RouteCors::server_side_only) route or one without
    /// [credentials](Self::credentials) too. A socket no trusted origin may open is one whose
    /// handler refuses a handshake that carries an `Origin`.
    ///
    /// ```
    /// use trusted_cors_core::RouteCors;
    ///
    /// let ticker = RouteCors::builder().websocket_from_any_origin().build()?;
    /// assert!(ticker.accepts_websocket_from_any_origin());
    /// assert!(!RouteCors::default().accepts_websocket_from_any_origin());
    /// # Ok::<(), trusted_cors_core::ConfigError>(())
    /// ```
    pub fn websocket_from_any_origin(mut self) -> Self {
        self.websocket_any_origin = true;
        self
    }

    /// How long browsers may cache a preflight answer. Default 7200 s; at most a day.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets, for this route, whether a rule it judges refuses or only reports (see
    /// [`RuleMode`]), over the global config's mode: `origin_not_trusted`,
    /// `method_not_allowed` and `header_not_allowed`. The other rules are judged before
    /// routing and set globally only ([`ConfigError::RuleNotPerRoute`]). A route can put one of
    /// its rules in report mode while the others stay enforced, or enforce a rule that the
    /// global config reports.
    ///
    /// ```
    /// use trusted_cors_core::{RejectionKind, RouteCors, RuleMode};
    ///
    /// let rolling_out = RouteCors::builder()
    ///     .rule(RejectionKind::OriginNotTrusted, RuleMode::Report)
    ///     .build()?;
    /// assert_eq!(rolling_out.rule_mode(RejectionKind::OriginNotTrusted), Some(RuleMode::Report));
    /// assert!(RouteCors::builder()
    ///     .rule(RejectionKind::ApiTokenCrossOrigin, RuleMode::Report)
    ///     .build()
    ///     .is_err());
    /// # Ok::<(), trusted_cors_core::ConfigError>(())
    /// ```
    pub fn rule(mut self, rule: RejectionKind, mode: RuleMode) -> Self {
        if rule.is_global() {
            self.fail(ConfigError::RuleNotPerRoute(rule.code()));
        } else {
            self.rules.set(rule, mode);
        }
        self
    }

    /// Names the route in the metrics: the `route` label of its decisions (see
    /// [`crate::metrics`]), e.g. `"users_me"` or `"/api/v1/users/{id}"`. A name from the
    /// application's code, never from a request, so that the label's values stay few: 1 to 128
    /// characters without control characters, and not `guard` or `unnamed`, which the metrics
    /// use for the guard and for routes without a name ([`ConfigError::InvalidRouteName`]).
    /// Several routes may share a name; their decisions then add up.
    ///
    /// ```
    /// use trusted_cors_core::RouteCors;
    ///
    /// let me = RouteCors::builder().name("users_me").build()?;
    /// assert_eq!(me.name(), Some("users_me"));
    /// assert!(RouteCors::builder().name("guard").build().is_err());
    /// # Ok::<(), trusted_cors_core::ConfigError>(())
    /// ```
    pub fn name(mut self, name: &'static str) -> Self {
        let reserved = [crate::metrics::GUARD_ROUTE, crate::metrics::UNNAMED_ROUTE];
        if name.is_empty()
            || name.len() > 128
            || name.chars().any(char::is_control)
            || reserved.contains(&name)
        {
            self.fail(ConfigError::InvalidRouteName(name.to_owned()));
        } else {
            self.name = Some(name);
        }
        self
    }

    fn fail(&mut self, error: ConfigError) {
        self.error.get_or_insert(error);
    }

    /// Checks the policy and builds it.
    pub fn build(self) -> Result<RouteCors, ConfigError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.methods.is_empty() {
            return Err(ConfigError::NoMethods);
        }
        if self.any_origin && self.credentials {
            return Err(ConfigError::AnyOriginWithCredentials);
        }
        if self.max_age.as_secs() > MAX_MAX_AGE {
            return Err(ConfigError::MaxAgeTooLong(self.max_age.as_secs()));
        }
        for header in &self.expose {
            if header == "*" && self.credentials {
                return Err(ConfigError::WildcardWithCredentials("expose_headers"));
            }
            if NEVER_EXPOSED.contains(&header.as_str()) {
                return Err(ConfigError::ForbiddenExposeHeader(header.clone()));
            }
        }
        Ok(RouteCors::from_parts(self))
    }
}

/// The methods a policy must name upper-cased: the ones browsers normalise (Fetch's "normalize a
/// method"), and `PATCH`, which they send as written but everyone writes upper-cased.
const STANDARD_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];

/// Bytes whose clones share one allocation made now: the request path clones them without
/// allocating (a `Bytes` made from a `String` allocates on its first clone).
fn shared(text: String) -> Bytes {
    Bytes::from_owner(text.into_bytes())
}

/// An RFC 9110 token, as methods, header names and auth schemes are.
pub(crate) fn is_token(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(is_tchar)
}

#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// The bytes of an HTTP token (RFC 9110 `tchar`).
static TCHAR: [bool; 256] = {
    let mut class = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
            )
            || matches!(c, b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    class
};

#[cfg(test)]
mod tests;
