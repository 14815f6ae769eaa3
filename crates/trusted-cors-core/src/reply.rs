//! What the layers send, in framework-neutral form: the [`Reply`] for a request the layers answer
//! themselves (a preflight answer, a refusal), and the [`Decoration`] of an application response.
//! Adapters copy them into their framework's response through [`ResponseHeaders`]; every header
//! value is decided here.

use std::fmt;

use bytes::Bytes;

use crate::request::RequestHeaders;
use crate::{Field, Rejection};

/// `Vary` for responses whose CORS outcome depends on `Origin` (what
/// [`ResponseHeaders::vary_origin`] holds).
pub const VARY_ORIGIN: &str = "Origin";
/// `Vary` for preflight answers and refusals.
pub(crate) const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
/// The value of `Access-Control-Allow-Credentials` (what [`ResponseHeaders::credentials_true`]
/// holds).
pub const TRUE: &str = "true";

/// The bytes of one of the constants above, without copying them.
pub(crate) fn static_bytes(value: &'static str) -> Bytes {
    Bytes::from_static(value.as_bytes())
}

/// A response's header map, as the core writes it. Adapters implement it for their framework's
/// header type.
pub trait ResponseHeaders {
    /// The framework's header value.
    type Value;

    /// Converts bytes to a header value (without copying them where the framework allows);
    /// `None` for bytes that are not a valid header value.
    fn to_value(bytes: Bytes) -> Option<Self::Value>;

    /// `Origin`, the `Vary` value of a response whose CORS outcome depends on it (a constant:
    /// it is sent on most responses).
    fn vary_origin() -> Self::Value;

    /// `true`, the value of `Access-Control-Allow-Credentials` (a constant, as
    /// [`vary_origin`](Self::vary_origin) is).
    fn credentials_true() -> Self::Value;

    /// Every value of the header.
    fn values(&self, field: Field) -> impl Iterator<Item = &[u8]>;

    /// Sets the header to `value`, replacing any value.
    fn insert(&mut self, field: Field, value: Self::Value);

    /// Adds a value for the header, keeping the others.
    fn append(&mut self, field: Field, value: Self::Value);

    /// Removes every value of the header.
    fn remove(&mut self, field: Field);
}

/// One header value of a [`Reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyValue {
    /// These bytes.
    Bytes(Bytes),
    /// The value of this request header, echoed (the request's `Origin`). Echoed as the
    /// framework holds it, without copying.
    Echo(Field),
}

/// A response the layers send themselves: a preflight answer or a refusal.
///
/// Rejection responders build one with [`Reply::new`]; the adapters turn it into their
/// framework's response.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct Reply {
    status: u16,
    headers: Vec<(Field, ReplyValue)>,
    body: Bytes,
    /// Boxed: a reply is moved into and out of futures, and most replies refuse nothing.
    rejection: Option<Box<Rejection>>,
}

impl Reply {
    /// An empty reply with this status (an invalid status is sent as 500).
    pub fn new(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            rejection: None,
        }
    }

    /// Adds a header. `name` is a header name (the names the layers know match in any case;
    /// others must be lowercase) and `value` a valid header value; anything else is left out
    /// when the reply is sent.
    pub fn header(mut self, name: &'static str, value: impl Into<Bytes>) -> Self {
        let field = Field::from_name(name);
        self.headers.push((field, ReplyValue::Bytes(value.into())));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers in the order they are sent, with echoed values shown as the name of the
    /// request header they echo (for the tests, through [`crate::adapter`]'s `ReplyValue`).
    #[doc(hidden)]
    pub fn header_values(&self) -> impl Iterator<Item = (&'static str, &ReplyValue)> {
        self.headers
            .iter()
            .map(|(field, value)| (field.as_str(), value))
    }

    /// The headers that are plain bytes, in the order they are sent.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &[u8])> {
        self.headers
            .iter()
            .filter_map(|(field, value)| match value {
                ReplyValue::Bytes(bytes) => Some((field.as_str(), &bytes[..])),
                ReplyValue::Echo(_) => None,
            })
    }

    /// How many headers the reply sends.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// The body.
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }

    /// The rejection this reply refuses, if it is a refusal.
    pub fn rejection(&self) -> Option<&Rejection> {
        self.rejection.as_deref()
    }

    /// Writes the headers into a response's map; echoed values are read from `request` (without
    /// it they are left out). For adapters.
    #[doc(hidden)]
    pub fn write_headers<W, R>(&self, response: &mut W, request: Option<&R>)
    where
        W: ResponseHeaders,
        W::Value: Clone,
        R: RequestHeaders<Value = W::Value>,
    {
        for (field, value) in &self.headers {
            let value = match value {
                ReplyValue::Bytes(bytes) => W::to_value(bytes.clone()),
                ReplyValue::Echo(from) => {
                    request.and_then(|r| r.get(*from).first().cloned().cloned())
                }
            };
            if let Some(value) = value {
                response.append(*field, value);
            }
        }
    }

    /// Whether a header echoes a request header (so the request's map must still be there when
    /// the headers are written).
    pub(crate) fn has_echo(&self) -> bool {
        self.headers
            .iter()
            .any(|(_, value)| matches!(value, ReplyValue::Echo(_)))
    }

    /// Splits off the status, the body and the rejection, once the headers are written. For
    /// adapters.
    #[doc(hidden)]
    pub fn into_parts(self) -> (u16, Bytes, Option<Rejection>) {
        (self.status, self.body, self.rejection.map(|r| *r))
    }

    /// An empty reply with room for `headers` headers.
    pub(crate) fn with_capacity(status: u16, headers: usize) -> Self {
        let mut reply = Reply::new(status);
        reply.headers.reserve_exact(headers);
        reply
    }

    pub(crate) fn set(&mut self, field: Field, value: ReplyValue) {
        self.remove(field);
        self.headers.push((field, value));
    }

    pub(crate) fn remove(&mut self, field: Field) {
        self.headers.retain(|(f, _)| *f != field);
    }

    pub(crate) fn add_vary(&mut self, item: &'static str) {
        let present = vary_covers(
            self.headers
                .iter()
                .filter(|(f, _)| *f == Field::Vary)
                .filter_map(|(_, v)| match v {
                    ReplyValue::Bytes(bytes) => Some(&bytes[..]),
                    ReplyValue::Echo(_) => None,
                }),
            item,
        );
        if !present {
            let value = ReplyValue::Bytes(static_bytes(item));
            self.headers.push((Field::Vary, value));
        }
    }

    pub(crate) fn with_rejection(mut self, rejection: Rejection) -> Self {
        self.rejection = Some(Box::new(rejection));
        self
    }

    pub(crate) fn push(&mut self, field: Field, value: ReplyValue) {
        self.headers.push((field, value));
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .field("rejection", &self.rejection().map(Rejection::reason))
            .finish()
    }
}

/// What a layer does to the application's response: for a declared route, the CORS headers of
/// an allowed cross-origin request and `Vary: Origin` on every response; for the guard, `Vary:
/// Origin` on an unsafe method's; for the frame-ancestors layer, its `Content-Security-Policy`.
/// The route's values are already in the framework's type.
#[derive(Debug, Clone)]
#[must_use]
pub struct Decoration<V> {
    kind: DecorationKind<V>,
    /// `X-Trusted-Cors-Report`: the rules in report mode that would have refused the request.
    report: Option<Box<Bytes>>,
}

/// The header naming the rules in report mode that would have refused a request.
pub(crate) const REPORT_HEADER: Field = Field::Other("x-trusted-cors-report");

#[derive(Debug, Clone)]
enum DecorationKind<V> {
    Route {
        allow: Option<Allow<V>>,
        /// Whether to append `Origin` to `Vary`, unless the application's `Vary` covers it.
        vary: bool,
        /// Whether a declared route took a WebSocket handshake (its response is then marked
        /// [`RouteAnswered`](crate::layers::RouteAnswered), so that a guard that deferred the
        /// handshake lets it through).
        handshake: bool,
    },
    /// Appended, so a policy the application sets is enforced as well.
    FrameAncestors(Bytes),
}

#[derive(Debug, Clone)]
struct Allow<V> {
    origin: V,
    /// Whether to send `Access-Control-Allow-Credentials: true`; otherwise any the application
    /// set is removed.
    credentials: bool,
    expose: Option<V>,
}

impl<V> Decoration<V> {
    pub(crate) fn vary_only(vary: bool) -> Self {
        Decoration {
            kind: DecorationKind::Route {
                allow: None,
                vary,
                handshake: false,
            },
            report: None,
        }
    }

    pub(crate) fn allow(origin: V, credentials: bool, expose: Option<V>) -> Self {
        Decoration {
            kind: DecorationKind::Route {
                allow: Some(Allow {
                    origin,
                    credentials,
                    expose,
                }),
                vary: true,
                handshake: false,
            },
            report: None,
        }
    }

    pub(crate) fn frame_ancestors(policy: Bytes) -> Self {
        Decoration {
            kind: DecorationKind::FrameAncestors(policy),
            report: None,
        }
    }

    /// The decoration of a WebSocket handshake a declared route took (see
    /// [`takes_handshake`](Self::takes_handshake)).
    pub(crate) fn taking_handshake(mut self) -> Self {
        if let DecorationKind::Route { handshake, .. } = &mut self.kind {
            *handshake = true;
        }
        self
    }

    /// Whether a declared route took a WebSocket handshake: the end of the request marks the
    /// response [`RouteAnswered`](crate::layers::RouteAnswered).
    pub(crate) fn takes_handshake(&self) -> bool {
        matches!(
            self.kind,
            DecorationKind::Route {
                handshake: true,
                ..
            }
        )
    }

    /// Also sends `X-Trusted-Cors-Report` with this value, if any (most requests have none: the
    /// boxing is out of line).
    #[inline]
    pub(crate) fn with_report(self, report: Option<Bytes>) -> Self {
        match report {
            None => self,
            Some(report) => self.reporting(report),
        }
    }

    #[cold]
    #[inline(never)]
    fn reporting(mut self, report: Bytes) -> Self {
        self.report = Some(Box::new(report));
        self
    }

    /// Writes the decoration into the application's response headers.
    pub fn apply<W: ResponseHeaders<Value = V>>(self, headers: &mut W) {
        if let Some(value) = self.report.and_then(|report| W::to_value(*report)) {
            headers.append(REPORT_HEADER, value);
        }
        let (allow, vary) = match self.kind {
            DecorationKind::Route { allow, vary, .. } => (allow, vary),
            DecorationKind::FrameAncestors(policy) => {
                if let Some(value) = W::to_value(policy) {
                    headers.append(Field::ContentSecurityPolicy, value);
                }
                return;
            }
        };
        if let Some(allow) = allow {
            headers.insert(Field::AccessControlAllowOrigin, allow.origin);
            match allow.credentials {
                true => headers.insert(Field::AccessControlAllowCredentials, W::credentials_true()),
                // The application must not grant credentials the policy did not.
                false => headers.remove(Field::AccessControlAllowCredentials),
            }
            if let Some(value) = allow.expose {
                headers.insert(Field::AccessControlExposeHeaders, value);
            }
        }
        // Appended unless the values already cover it; never replaces what the application set.
        if vary && !vary_covers(headers.values(Field::Vary), VARY_ORIGIN) {
            headers.append(Field::Vary, W::vary_origin());
        }
    }
}

/// Whether the `Vary` values already cover `item` (`*`, the item itself, or each of its parts).
fn vary_covers<'v>(values: impl Iterator<Item = &'v [u8]>, item: &str) -> bool {
    let mut values = values.peekable();
    if values.peek().is_none() {
        return false;
    }
    let mut missing = item.split(',').map(str::trim).collect::<ItemSet>();
    for value in values {
        if value.trim_ascii() == b"*" {
            return true;
        }
        for part in value.split(|b| *b == b',') {
            missing.remove(part.trim_ascii());
        }
        if missing.is_empty() {
            return true;
        }
    }
    missing.is_empty()
}

/// The items of a `Vary` value still to find, without allocating: the layers' own values have at
/// most three.
struct ItemSet<'a> {
    items: [&'a str; 3],
    len: usize,
}

impl<'a> FromIterator<&'a str> for ItemSet<'a> {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut set = ItemSet {
            items: [""; 3],
            len: 0,
        };
        for item in iter.into_iter().take(3) {
            set.items[set.len] = item;
            set.len += 1;
        }
        set
    }
}

impl ItemSet<'_> {
    fn remove(&mut self, part: &[u8]) {
        if let Some(i) = self.items[..self.len]
            .iter()
            .position(|item| item.as_bytes().eq_ignore_ascii_case(part))
        {
            self.items.swap(i, self.len - 1);
            self.len -= 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_coverage() {
        let covers = |values: &[&str], item| vary_covers(values.iter().map(|v| v.as_bytes()), item);
        assert!(covers(&["*"], VARY_PREFLIGHT));
        assert!(!covers(&["Origin"], "Accept-Encoding"));
        assert!(covers(&["accept-encoding"], "Accept-Encoding"));
        assert!(covers(&["origin"], VARY_ORIGIN));
        assert!(covers(&["Accept-Encoding, Origin"], VARY_ORIGIN));
        assert!(!covers(&["Accept-Encoding"], VARY_ORIGIN));
        assert!(!covers(&[], VARY_ORIGIN));
        assert!(!covers(&["Origin"], VARY_PREFLIGHT));
        assert!(covers(
            &[
                "origin",
                "access-control-request-method, Access-Control-Request-Headers"
            ],
            VARY_PREFLIGHT
        ));
    }
}
