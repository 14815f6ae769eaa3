//! Denials: a stable reason code, a typed cause, and an Okta-style error response. The cause is
//! rendered to words only when a response or a log needs them.

use std::fmt;

use bytes::Bytes;

use crate::request::{MAX_REQUEST_HEADERS_LEN, MAX_REQUEST_HEADER_NAMES};

mod rules;
#[cfg(test)]
mod tests;

pub use rules::{RejectionKind, RuleMode};
pub(crate) use rules::{ReportSet, RuleOverrides};

/// What exactly was refused: typed data for applications that handle rejections, rendered to
/// words (naming the fix) by its `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionCause {
    /// `Authorization: SSWS …` on a cross-origin request.
    ApiToken,
    /// An `Authorization` scheme that is not an allowed bearer-type one.
    CredentialScheme {
        /// The scheme, made printable (at most 32 bytes of it).
        scheme: Box<str>,
    },
    /// Several `Authorization` headers on a cross-origin request.
    SeveralAuthorizationHeaders,
    /// An unsafe method from an origin that is not trusted.
    UntrustedWrite {
        /// The method, made printable.
        method: Box<str>,
        /// Whether it carried a bearer token (and so was refused for its cookies).
        bearer_with_cookies: bool,
    },
    /// A preflight to a route that declared no CORS policy.
    RouteNotCorsEnabled,
    /// A preflight that no declared route answered, as the global guard saw it come back from
    /// the application: the status tells which mistake it is, and [`Rejection::fix`] names the
    /// fix (in the log, never in the response).
    PreflightNotAnswered {
        /// What the application answered.
        answer: AppAnswer,
    },
    /// The origin is not an ACTIVE trusted origin with the CORS scope.
    OriginNotTrusted {
        /// What the `Origin` header held.
        origin: OriginForm,
        /// What else would have worked.
        hint: TrustHint,
    },
    /// The preflight asked for a method the route does not allow.
    MethodNotAllowed {
        /// The requested method, made printable.
        method: Box<str>,
        /// The route's `Access-Control-Allow-Methods` value.
        allowed: Bytes,
    },
    /// The preflight asked for a header the route does not allow.
    HeaderNotAllowed {
        /// The requested header name.
        header: Box<str>,
        /// The route's `Access-Control-Allow-Headers` value; `None` when it allows any header
        /// but `authorization`.
        allowed: Option<Bytes>,
    },
    /// `Access-Control-Request-Headers` could not be read as a list of header names.
    RequestHeaders(RequestHeadersProblem),
    /// A WebSocket handshake from an origin that is not an ACTIVE trusted origin with the CORS
    /// scope, to a socket not declared open to any origin.
    WebSocketOriginNotTrusted {
        /// What the `Origin` header held.
        origin: OriginForm,
    },
}

/// What the application answered to a preflight that no CORS route declaration answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppAnswer {
    /// 404: no route matches the path.
    NoRoute,
    /// 405: the path is routed for other methods, and no CORS declaration ran for it: the
    /// declaration is missing, or (axum) it was added with `route_layer`, which does not run
    /// for a method the route does not handle.
    OtherMethods,
    /// 401 or 403: a layer before the route's declaration (authentication) refused it.
    Refused(u16),
    /// Another status: the application handles `OPTIONS` on this path itself.
    Answered(u16),
}

impl AppAnswer {
    /// The answer of this status.
    #[must_use]
    pub fn from_status(status: u16) -> AppAnswer {
        match status {
            404 => AppAnswer::NoRoute,
            405 => AppAnswer::OtherMethods,
            401 | 403 => AppAnswer::Refused(status),
            other => AppAnswer::Answered(other),
        }
    }
}

/// What the `Origin` header of a refused request held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginForm {
    /// A serialized origin.
    Serialized,
    /// `null` (a sandboxed or `file:` document).
    Null,
    /// Not a serialized origin, or several `Origin` headers.
    Malformed,
}

/// What would have made a request from an untrusted origin work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustHint {
    /// Only adding the origin as a trusted origin.
    None,
    /// The route accepts bearer tokens from any origin.
    BearerAccepted,
    /// The route accepts bearer tokens from any origin, but the call also carried cookies.
    BearerWithoutCookies,
    /// The route is open to any origin, but the call carried cookies.
    AnyOriginWithoutCookies,
}

/// Why `Access-Control-Request-Headers` was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestHeadersProblem {
    /// Several such headers.
    Several,
    /// Longer than 4096 bytes.
    TooLong,
    /// Not UTF-8.
    NotText,
    /// More than 64 names (empty items count).
    TooMany,
    /// An item that is not a header name, made printable.
    NotAName(Box<str>),
}

impl RejectionCause {
    /// The reason this cause is reported under.
    pub fn kind(&self) -> RejectionKind {
        match self {
            RejectionCause::ApiToken => RejectionKind::ApiTokenCrossOrigin,
            RejectionCause::CredentialScheme { .. }
            | RejectionCause::SeveralAuthorizationHeaders => {
                RejectionKind::CredentialSchemeNotAllowed
            }
            RejectionCause::UntrustedWrite { .. } => RejectionKind::UntrustedCrossOriginWrite,
            RejectionCause::RouteNotCorsEnabled | RejectionCause::PreflightNotAnswered { .. } => {
                RejectionKind::RouteNotCorsEnabled
            }
            RejectionCause::OriginNotTrusted { .. } => RejectionKind::OriginNotTrusted,
            RejectionCause::MethodNotAllowed { .. } => RejectionKind::MethodNotAllowed,
            RejectionCause::HeaderNotAllowed { .. } | RejectionCause::RequestHeaders(_) => {
                RejectionKind::HeaderNotAllowed
            }
            RejectionCause::WebSocketOriginNotTrusted { .. } => {
                RejectionKind::WebSocketOriginNotTrusted
            }
        }
    }
}

/// A denial: what was refused and why, from which origin, to which path. It is put in the
/// response extensions of the rejection response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    cause: RejectionCause,
    origin: Box<str>,
    path: Box<str>,
    preflight: bool,
    report_only: bool,
}

impl Rejection {
    pub(crate) fn new(cause: RejectionCause, origin: &[u8], path: &str, preflight: bool) -> Self {
        Rejection {
            cause,
            origin: printable(origin).into_boxed_str(),
            path: printable(path.as_bytes()).into_boxed_str(),
            preflight,
            report_only: false,
        }
    }

    /// Whether the rule was in [`RuleMode::Report`]: the request was not refused, and this is
    /// what the rule would have refused.
    pub fn is_report_only(&self) -> bool {
        self.report_only
    }

    /// Whether this is the process's first refusal of a preflight the application answered
    /// this way (a configuration mistake, logged at `WARN` once).
    fn first_of_its_kind(&self) -> bool {
        use std::sync::atomic::{AtomicBool, Ordering};
        static SEEN: [AtomicBool; 4] = [const { AtomicBool::new(false) }; 4];
        let RejectionCause::PreflightNotAnswered { answer } = self.cause else {
            return false;
        };
        let kind = match answer {
            AppAnswer::NoRoute => 0,
            AppAnswer::OtherMethods => 1,
            AppAnswer::Refused(_) => 2,
            AppAnswer::Answered(_) => 3,
        };
        !SEEN[kind].swap(true, Ordering::Relaxed)
    }

    /// The same rejection, reported by a rule in report mode instead of enforced.
    pub(crate) fn into_report(mut self) -> Self {
        self.report_only = true;
        self
    }

    /// The kind of denial.
    pub fn kind(&self) -> RejectionKind {
        self.cause.kind()
    }

    /// The stable reason code, e.g. `origin_not_trusted`.
    pub fn reason(&self) -> &'static str {
        self.kind().code()
    }

    /// What exactly was refused, as data.
    pub fn detail(&self) -> &RejectionCause {
        &self.cause
    }

    /// The request's `Origin`, made printable (control bytes escaped, at most 128 characters).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The request path, made printable.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the refused request was, or claimed to be, a preflight (`OPTIONS` with
    /// `Access-Control-Request-Method`, valid or not).
    pub fn is_preflight(&self) -> bool {
        self.preflight
    }

    /// What happened and how to fix it, in plain words.
    pub fn cause(&self) -> String {
        self.explain().to_string()
    }

    /// The cause in plain words, written out only when formatted.
    fn explain(&self) -> Explain<'_> {
        Explain(self)
    }

    /// For the server's operators, how to fix the configuration, when the refusal points at a
    /// mistake in it: a preflight to a path the application routes that no CORS declaration
    /// answered. Logged with the denial; never sent to the client, whom it does not concern.
    #[must_use]
    pub fn fix(&self) -> Option<String> {
        let RejectionCause::PreflightNotAnswered { answer } = self.cause else {
            return None;
        };
        let path = &self.path;
        Some(match answer {
            AppAnswer::NoRoute => format!(
                "nothing answered OPTIONS on {path} (404): if the application routes {path} for \
                 other methods, declare the route's CORS policy on it (actix-web: routes added \
                 with `App::route` answer 404 to other methods; wrap a `web::resource` with \
                 `RouteCorsMiddleware`); otherwise, check the URL the page calls"
            ),
            AppAnswer::OtherMethods => format!(
                "the application routes {path} for other methods, but no CORS declaration \
                 answered the preflight: declare the route's policy on it (axum: \
                 `get(handler).layer(cors.route(policy))`; a declaration added with \
                 `route_layer` does not run for OPTIONS; actix-web: \
                 `.wrap(RouteCorsMiddleware::new(&cors, policy))` on its resource or scope), or \
                 leave it server-side only"
            ),
            AppAnswer::Refused(status) => format!(
                "a layer before the CORS declaration of {path} answered the preflight {status} \
                 (authentication, most likely): preflights carry no credentials, so put \
                 authentication inside the declaration (axum: \
                 `get(handler).route_layer(auth).layer(cors.route(policy))`, or an extractor; \
                 actix-web: `.wrap(auth).wrap(RouteCorsMiddleware::new(&cors, policy))` on the \
                 resource, the CORS middleware last)"
            ),
            AppAnswer::Answered(status) => format!(
                "the application answers OPTIONS on {path} itself ({status}), but declared no \
                 CORS policy for it: declare one, and let the declaration answer preflights"
            ),
        })
    }

    /// The HTTP status of the default response.
    pub fn status(&self) -> u16 {
        self.kind().status()
    }

    /// Logs the denial with `tracing` (target `trusted_cors`), with `report_only = true` when a
    /// rule in report mode would have refused the request. A refusal that points at a
    /// configuration mistake is logged with the [`fix`](Self::fix): at `WARN` the first time
    /// the process sees each kind of mistake, at `INFO` afterwards (any page can send such
    /// preflights, and the log must not be theirs to flood).
    pub fn log(&self) {
        // One event, at a level and with a message chosen below.
        macro_rules! event {
            ($level:ident, $message:literal $(, $field:ident = $value:expr)?) => {
                tracing::$level!(
                    target: "trusted_cors",
                    reason = self.reason(),
                    origin = %self.origin,
                    route = %self.path,
                    cause = %self.explain(),
                    report_only = self.report_only,
                    $($field = %$value,)?
                    $message
                )
            };
        }
        match self.fix() {
            Some(fix) if self.first_of_its_kind() => event!(
                warn,
                "preflight not answered by any CORS route declaration",
                fix = fix
            ),
            Some(fix) => event!(
                info,
                "preflight not answered by any CORS route declaration",
                fix = fix
            ),
            None if self.report_only => {
                event!(info, "cross-origin request would be refused (report only)")
            }
            None => event!(info, "cross-origin request refused"),
        }
    }
}

struct Explain<'a>(&'a Rejection);

impl fmt::Display for Explain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Rejection {
            cause,
            origin,
            path,
            ..
        } = self.0;
        match cause {
            RejectionCause::ApiToken => f.write_str(
                "An API token (SSWS) was sent from a browser on another origin. API tokens must \
                 never be exposed in a front end: use a scoped OAuth access token as a Bearer \
                 token instead",
            ),
            RejectionCause::CredentialScheme { scheme } => write!(
                f,
                "The Authorization scheme `{scheme}` is not accepted on cross-origin requests: \
                 send a scoped access token as a Bearer (or DPoP) token"
            ),
            RejectionCause::SeveralAuthorizationHeaders => f.write_str(
                "Several Authorization headers were sent on a cross-origin request: send one \
                 Bearer token",
            ),
            RejectionCause::UntrustedWrite {
                method,
                bearer_with_cookies,
            } => {
                let how = if *bearer_with_cookies {
                    "it also carried cookies, which the server could act on"
                } else {
                    "it carried no bearer token"
                };
                write!(
                    f,
                    "A cross-origin {method} from {origin}, which is not a trusted origin with the \
                     CORS scope, was refused to prevent cross-site request forgery ({how}): add \
                     the origin as a trusted origin with the CORS scope, or call the API with a \
                     bearer access token and no cookies"
                )
            }
            RejectionCause::RouteNotCorsEnabled | RejectionCause::PreflightNotAnswered { .. } => {
                write!(
                f,
                "This API ({path}) does not support CORS, so browsers cannot call it from another \
                 origin: call it from a server, or use a CORS-enabled API"
            )
            }
            RejectionCause::OriginNotTrusted { origin: form, hint } => match form {
                OriginForm::Serialized => {
                    let extra = match hint {
                        TrustHint::None => "",
                        TrustHint::BearerAccepted => {
                            ", or call this API with a bearer access token"
                        }
                        TrustHint::BearerWithoutCookies => {
                            "; a bearer-token call from an untrusted origin must not carry \
                             cookies (use credentials: 'omit')"
                        }
                        TrustHint::AnyOriginWithoutCookies => {
                            "; this API is open to any origin, but only without cookies (use \
                             credentials: 'omit')"
                        }
                    };
                    write!(
                        f,
                        "Origin {origin} is not a trusted origin with the CORS scope: add it \
                         under trusted origins with the CORS scope{extra}"
                    )
                }
                OriginForm::Null => f.write_str(
                    "Origin null (a sandboxed or file: page) can never be trusted: serve the page \
                     from an https origin and add it as a trusted origin",
                ),
                OriginForm::Malformed => write!(
                    f,
                    "The Origin header {origin} is not a serialized origin \
                     (scheme://host[:port]); browsers never send this, so the request is refused"
                ),
            },
            RejectionCause::MethodNotAllowed { method, allowed } => write!(
                f,
                "Method {method} is not allowed for cross-origin calls to this API; it allows {}",
                String::from_utf8_lossy(allowed)
            ),
            RejectionCause::HeaderNotAllowed { header, allowed } => {
                let hint = if header.eq_ignore_ascii_case("authorization") {
                    ": this API does not accept credentials in Authorization from other origins"
                } else {
                    ""
                };
                write!(
                    f,
                    "Request header {header} is not allowed for cross-origin calls to this \
                     API{hint}; it allows "
                )?;
                match allowed {
                    Some(list) => f.write_str(&String::from_utf8_lossy(list)),
                    None => f.write_str("any header but authorization"),
                }
            }
            RejectionCause::RequestHeaders(problem) => match problem {
                RequestHeadersProblem::Several => f.write_str(
                    "Several Access-Control-Request-Headers headers were sent; browsers send one",
                ),
                RequestHeadersProblem::TooLong => write!(
                    f,
                    "Access-Control-Request-Headers is longer than {MAX_REQUEST_HEADERS_LEN} bytes"
                ),
                RequestHeadersProblem::NotText => {
                    f.write_str("Access-Control-Request-Headers is not a list of header names")
                }
                RequestHeadersProblem::TooMany => write!(
                    f,
                    "Access-Control-Request-Headers names more than \
                     {MAX_REQUEST_HEADER_NAMES} headers"
                ),
                RequestHeadersProblem::NotAName(name) => write!(
                    f,
                    "Access-Control-Request-Headers holds `{name}`, which is not a header name"
                ),
            },
            RejectionCause::WebSocketOriginNotTrusted { origin: form } => match form {
                OriginForm::Serialized => write!(
                    f,
                    "A WebSocket connection from {origin}, which is not a trusted origin with \
                         the CORS scope, was refused to prevent cross-site WebSocket hijacking \
                         (browsers open sockets to any site, with its cookies, and no CORS check): \
                         add the origin as an ACTIVE trusted origin with the CORS scope, or, for \
                         a socket meant for every origin (public data, a token sent in the first \
                         message), declare it open with websocket_from_any_origin"
                ),
                OriginForm::Null => f.write_str(
                    "A WebSocket connection from Origin null (a sandboxed or file: page) was \
                         refused: it can never be trusted; serve the page from an https origin \
                         and add it as a trusted origin with the CORS scope, or declare the \
                         socket open with websocket_from_any_origin",
                ),
                OriginForm::Malformed => write!(
                    f,
                    "A WebSocket connection with the Origin header {origin}, which is not a \
                         serialized origin (scheme://host[:port]) or was sent more than once, \
                         was refused; browsers never send this"
                ),
            },
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason(), self.explain())
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
