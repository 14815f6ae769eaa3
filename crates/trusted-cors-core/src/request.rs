//! What the decision reads from a request: a few headers as plain bytes, read once through
//! [`RequestHeaders`], which each adapter implements for its framework's header map.

use crate::Field;

/// The longest `Access-Control-Request-Headers` value looked at; longer ones are refused.
pub(crate) const MAX_REQUEST_HEADERS_LEN: usize = 4096;
/// The most header names looked at in `Access-Control-Request-Headers`; more are refused.
pub(crate) const MAX_REQUEST_HEADER_NAMES: usize = 64;

/// The values of one request header: absent, exactly one, or several (which for the headers the
/// decision reads is always treated as malformed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderInput<'a> {
    /// The header is not present.
    #[default]
    Absent,
    /// One value.
    One(&'a [u8]),
    /// More than one value.
    Many,
}

impl<'a> HeaderInput<'a> {
    /// From the values of a header, in any framework.
    pub fn from_values<I: IntoIterator<Item = &'a [u8]>>(values: I) -> Self {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (None, _) => HeaderInput::Absent,
            (Some(one), None) => HeaderInput::One(one),
            (Some(_), Some(_)) => HeaderInput::Many,
        }
    }

    /// Whether the header is present at all.
    pub fn is_present(&self) -> bool {
        !matches!(self, HeaderInput::Absent)
    }
}

/// A header's values as a framework holds them (or references to them): absent, the only one,
/// or the first of several. What [`RequestHeaders::get`] returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Found<V> {
    /// The header is not present.
    #[default]
    Absent,
    /// One value.
    One(V),
    /// The first of several values.
    Many(V),
}

impl<V: AsRef<[u8]>> Found<V> {
    /// The values as the decision reads them.
    pub fn input(&self) -> HeaderInput<'_> {
        match self {
            Found::Absent => HeaderInput::Absent,
            Found::One(value) => HeaderInput::One(value.as_ref()),
            Found::Many(_) => HeaderInput::Many,
        }
    }
}

impl<'a, V: AsRef<[u8]> + ?Sized> Found<&'a V> {
    /// The values as the decision reads them, for as long as the values live.
    pub fn into_input(self) -> HeaderInput<'a> {
        match self {
            Found::Absent => HeaderInput::Absent,
            Found::One(value) => HeaderInput::One(value.as_ref()),
            Found::Many(_) => HeaderInput::Many,
        }
    }
}

impl<V: Clone> Found<&V> {
    /// The values themselves, to keep beyond the request.
    pub fn cloned(self) -> Found<V> {
        match self {
            Found::Absent => Found::Absent,
            Found::One(value) => Found::One(value.clone()),
            Found::Many(value) => Found::Many(value.clone()),
        }
    }
}

impl<V> Found<V> {
    /// The first value.
    pub fn first(&self) -> Option<&V> {
        match self {
            Found::Absent => None,
            Found::One(value) | Found::Many(value) => Some(value),
        }
    }

    /// Whether the header is present at all.
    pub fn is_present(&self) -> bool {
        !matches!(self, Found::Absent)
    }

    /// From the values of a header (what an adapter's [`RequestHeaders::get`] returns).
    pub fn from_values<I: IntoIterator<Item = V>>(values: I) -> Self {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (None, _) => Found::Absent,
            (Some(one), None) => Found::One(one),
            (Some(first), Some(_)) => Found::Many(first),
        }
    }

    /// Adds a value of the header, found after these (in a pass over a map's entries).
    pub fn add(&mut self, value: V) {
        *self = match std::mem::take(self) {
            Found::Absent => Found::One(value),
            Found::One(first) | Found::Many(first) => Found::Many(first),
        };
    }
}

/// A request's header map, as the core reads it: one header, several at once, or whether one is
/// there. Implemented
/// for `http` 1.x's `HeaderMap` here, and by the actix-web adapter for actix's (`http` 0.2) map.
pub trait RequestHeaders {
    /// The framework's header value, cloned to echo a request value (the `Origin`) in the
    /// response without copying its bytes.
    type Value: Clone + AsRef<[u8]>;

    /// The values of one header: absent, the only one, or the first of several.
    fn get(&self, field: Field) -> Found<&Self::Value>;

    /// The values of several headers, into `found` (as long as `fields`, all absent), in the way
    /// the framework's map is cheapest to read several headers of: one pass over a map that is
    /// cheap to walk (`http`'s), a lookup each in one that is not (actix's).
    fn get_many<'a>(&'a self, fields: &[Field], found: &mut [Found<&'a Self::Value>]);

    /// Whether the header is present: what the guard asks of the headers that decide whether it
    /// must read a request in full. The default asks [`get`](Self::get); a map that can say so
    /// more cheaply than it finds the values says so.
    fn contains(&self, field: Field) -> bool {
        self.get(field).is_present()
    }

    /// Every value of the header, as the decision reads them.
    fn values(&self, field: Field) -> HeaderInput<'_> {
        self.get(field).into_input()
    }
}

/// What the decision reads from a request, as plain bytes.
///
/// Built by [`RequestFacts::read`] in the layers, or field by field in tests and tools.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFacts<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The path, for form-post exemptions and logs.
    pub path: &'a str,
    /// `Origin`.
    pub origin: HeaderInput<'a>,
    /// `Access-Control-Request-Method`.
    pub access_control_request_method: HeaderInput<'a>,
    /// `Access-Control-Request-Headers`.
    pub access_control_request_headers: HeaderInput<'a>,
    /// `Authorization`.
    pub authorization: HeaderInput<'a>,
    /// Whether a `Cookie` header is present.
    pub has_cookies: bool,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: HeaderInput<'a>,
    /// `Host` (or the `:authority` of an HTTP/2 request).
    pub host: HeaderInput<'a>,
    /// Whether the request is a WebSocket handshake: a `GET` whose `Upgrade` contains
    /// `websocket` and whose `Connection` contains `upgrade`, in any case, or an HTTP/2 extended
    /// `CONNECT`. Judged by the rule `websocket_origin_not_trusted`, and by no CORS rule of the
    /// route (browsers make no CORS check of a socket).
    pub websocket: bool,
}

/// Whether a method is safe: a request with it changes nothing, so a cross-site one needs no
/// proof of where it comes from.
pub(crate) fn is_safe(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// Whether `Sec-Fetch-Site` says the request comes from another site (`cross-site` or
/// `same-site`).
pub(crate) fn names_another_site(site: HeaderInput<'_>) -> bool {
    matches!(site, HeaderInput::One(b"cross-site" | b"same-site"))
}

impl<'a> RequestFacts<'a> {
    /// The host a request is addressed to: the request target's authority when it has one (HTTP/2's
    /// `:authority`, an HTTP/1.1 absolute-form target), which then wins over `Host` (RFC 9113
    /// §8.3.1 calls a `host` field that disagrees malformed; RFC 9112 §3.2.2 has `Host` ignored);
    /// else `Host`.
    ///
    /// ```
    /// use trusted_cors_core::{HeaderInput, RequestFacts};
    ///
    /// let host = HeaderInput::One(b"api.example.com");
    /// assert_eq!(RequestFacts::request_host(None, host), host);
    /// assert_eq!(RequestFacts::request_host(Some("other.example:8443"), host), HeaderInput::One(b"other.example:8443"));
    /// ```
    pub fn request_host(authority: Option<&'a str>, host: HeaderInput<'a>) -> HeaderInput<'a> {
        match authority {
            Some(authority) => HeaderInput::One(authority.as_bytes()),
            None => host,
        }
    }

    /// Whether a request is a WebSocket handshake, from its method and its `Upgrade` and `Connection`
    /// values:
    ///
    /// - HTTP/1.1 (RFC 6455): a `GET` whose `Upgrade` contains `websocket` and whose `Connection`
    ///   contains `upgrade`, in any case, anywhere in the value (`Upgrade: h2c, websocket`,
    ///   `Connection: keep-alive, Upgrade` as Firefox sends it, tabs and spaces). Containing, not
    ///   equal to a token: the guard must recognise at least every handshake a server upgrades, and
    ///   some check no more than that (actix-web's `Upgrade` check is a substring); browsers cannot
    ///   set either header, so this refuses no page anything. Several `Upgrade` or `Connection`
    ///   headers count as naming it.
    /// - HTTP/2 (RFC 8441): an extended `CONNECT`. Any `CONNECT` counts: its `:protocol` is not a
    ///   header, and reading it would need the server's types (hyper's `Protocol` extension), but a
    ///   page can never send a `CONNECT` itself (Fetch forbids the method), so one that carries an
    ///   `Origin` is a browser's extended `CONNECT`, a WebSocket.
    ///
    /// ```
    /// use trusted_cors_core::HeaderInput::{Absent, One};
    /// use trusted_cors_core::RequestFacts;
    ///
    /// assert!(RequestFacts::is_websocket_handshake("GET", One(b"WebSocket"), One(b"keep-alive, Upgrade")));
    /// assert!(RequestFacts::is_websocket_handshake("CONNECT", Absent, Absent));
    /// assert!(!RequestFacts::is_websocket_handshake("GET", Absent, One(b"upgrade")));
    /// assert!(!RequestFacts::is_websocket_handshake("POST", One(b"websocket"), One(b"upgrade")));
    /// ```
    pub fn is_websocket_handshake(
        method: &str,
        upgrade: HeaderInput<'_>,
        connection: HeaderInput<'_>,
    ) -> bool {
        fn names(input: HeaderInput<'_>, token: &[u8]) -> bool {
            match input {
                HeaderInput::Absent => false,
                HeaderInput::One(value) => value
                    .windows(token.len())
                    .any(|window| window.eq_ignore_ascii_case(token)),
                HeaderInput::Many => true,
            }
        }
        match method {
            "GET" => names(upgrade, b"websocket") && names(connection, b"upgrade"),
            "CONNECT" => true,
            _ => false,
        }
    }

    /// Reads the facts of a request without allocating. `authority` is the URI's authority (the
    /// `:authority` of an HTTP/2 request, an absolute-form target), used instead of `Host` when
    /// present.
    ///
    /// `Origin` is looked up first: without it nothing else is read (the request is not a CORS
    /// request), except `Sec-Fetch-Site`, `Authorization` and `Cookie` of an unsafe method (a
    /// browser's word that it comes from another site, see [`decide`](crate::decide)). With it,
    /// the others are read at once ([`RequestHeaders::get_many`]); the preflight headers only for
    /// `OPTIONS`, the one method the decision reads them for; `Upgrade` and `Connection` only for
    /// `GET` (see [`websocket`](Self::websocket)).
    pub fn read<H: RequestHeaders>(
        method: &'a str,
        path: &'a str,
        authority: Option<&'a str>,
        headers: &'a H,
    ) -> Self {
        let origin = headers.get(Field::Origin);
        RequestFacts::read_after_origin(method, path, authority, origin, headers, true)
    }

    /// [`read`](Self::read), `Origin` already looked up (the guard and the routes look it up
    /// first, alone). `handshakes`: whether to read a `GET`'s `Upgrade` and `Connection` (the
    /// guard knows whether `Upgrade` is there; a route reads them only when it judges
    /// handshakes, see `Cors::routes_judge_handshakes`).
    pub(crate) fn read_after_origin<H: RequestHeaders>(
        method: &'a str,
        path: &'a str,
        authority: Option<&'a str>,
        origin: Found<&'a H::Value>,
        headers: &'a H,
        handshakes: bool,
    ) -> Self {
        if !origin.is_present() {
            let facts = RequestFacts {
                method,
                path,
                ..RequestFacts::default()
            };
            if is_safe(method) {
                return facts;
            }
            let site = headers.values(Field::SecFetchSite);
            if !names_another_site(site) {
                return facts;
            }
            return RequestFacts {
                sec_fetch_site: site,
                authorization: headers.values(Field::Authorization),
                has_cookies: headers.get(Field::Cookie).is_present(),
                // An unsafe method is a handshake only as HTTP/2's `CONNECT`.
                websocket: method == "CONNECT",
                ..facts
            };
        }
        const FIELDS: [Field; 6] = [
            Field::SecFetchSite,
            Field::Host,
            Field::Authorization,
            Field::Cookie,
            Field::AccessControlRequestMethod,
            Field::AccessControlRequestHeaders,
        ];
        // A `GET` that may be a WebSocket handshake: its last two are `Upgrade` and `Connection`.
        const HANDSHAKE: [Field; 6] = [
            Field::SecFetchSite,
            Field::Host,
            Field::Authorization,
            Field::Cookie,
            Field::Upgrade,
            Field::Connection,
        ];
        // The preflight headers only for `OPTIONS` (other requests leave them absent).
        let (fields, reads_socket) = match method {
            "OPTIONS" => (&FIELDS[..], false),
            "GET" if handshakes => (&HANDSHAKE[..], true),
            _ => (&FIELDS[..4], false),
        };
        let mut found = [Found::Absent; FIELDS.len()];
        headers.get_many(fields, &mut found[..fields.len()]);
        let [sec_fetch_site, host, authorization, cookie, fifth, sixth] =
            found.map(Found::into_input);
        let (request_method, request_headers, websocket) = match reads_socket {
            true => (
                HeaderInput::Absent,
                HeaderInput::Absent,
                RequestFacts::is_websocket_handshake(method, fifth, sixth),
            ),
            // Judged by its method alone: HTTP/2's `CONNECT`.
            false => (fifth, sixth, method == "CONNECT"),
        };
        RequestFacts {
            method,
            path,
            origin: origin.into_input(),
            access_control_request_method: request_method,
            access_control_request_headers: request_headers,
            authorization,
            has_cookies: cookie.is_present(),
            sec_fetch_site,
            host: RequestFacts::request_host(authority, host),
            websocket,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{decide, Decision, RouteScope};
    use crate::layers::{After, Unanswered};
    use crate::{CorsConfig, NewTrustedOrigin, Registry, ScopeType};
    use proptest::prelude::*;

    fn header_value() -> impl Strategy<Value = Option<&'static str>> {
        proptest::option::of(prop::sample::select(vec![
            "https://app.example.com",
            "https://evil.example",
            "null",
            "Bearer t",
            "SSWS 00t",
            "Basic YTpi",
            "same-origin",
            "cross-site",
            "none",
            "GET",
            "PUT",
            "content-type",
            "authorization",
            "app.example.com",
            "sid=1",
            "websocket",
            "WebSocket",
            "h2c, websocket",
            "keep-alive, Upgrade",
            "upgrade",
        ]))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// What the one read leaves unread changes nothing decided, and the guard's verdict,
        /// with its shortcuts, is the decision's.
        #[test]
        fn the_read_and_the_guard_agree_with_the_decision(
            method in prop::sample::select(vec!["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "get", "CONNECT"]),
            values in prop::collection::vec(header_value(), NAMES.len()),
            repeated in prop::collection::vec(header_value(), NAMES.len()),
            filler in 0usize..30,
            public in any::<bool>(),
            public_socket in any::<bool>(),
        ) {
            let mut headers = http::HeaderMap::new();
            for (field, value) in NAMES.iter().zip(&values) {
                if let Some(value) = value {
                    headers.insert(*field, http::HeaderValue::from_static(value));
                }
            }
            // Some headers sent twice, and others besides.
            for (field, value) in NAMES.iter().zip(&repeated) {
                if let Some(value) = value {
                    headers.append(*field, http::HeaderValue::from_static(value));
                }
            }
            for i in 0..filler {
                let name = http::HeaderName::try_from(format!("x-filler-{i}")).unwrap();
                headers.insert(name, http::HeaderValue::from_static("1"));
            }
            let mut config = CorsConfig::builder().allow_cross_site_form_posts("/sso/{app}");
            if public {
                config = config.public_origin("https://evil.example");
            }
            let config = config.build().unwrap();
            let registry = Registry::with_origins([NewTrustedOrigin::new(
                "App",
                "https://app.example.com",
                [ScopeType::Cors],
            )])
            .unwrap();
            // Every fact, read in full.
            let input = |field| RequestHeaders::values(&headers, field);
            let full = RequestFacts {
                method,
                path: "/x",
                origin: input(Field::Origin),
                access_control_request_method: input(Field::AccessControlRequestMethod),
                access_control_request_headers: input(Field::AccessControlRequestHeaders),
                authorization: input(Field::Authorization),
                has_cookies: input(Field::Cookie).is_present(),
                sec_fetch_site: input(Field::SecFetchSite),
                host: input(Field::Host),
                websocket: RequestFacts::is_websocket_handshake(
                    method,
                    input(Field::Upgrade),
                    input(Field::Connection),
                ),
            };
            // Several headers read at once (one pass over `http`'s map) read what a lookup each
            // reads.
            let fields = [
                Field::Origin,
                Field::Host,
                Field::Authorization,
                Field::Cookie,
                Field::SecFetchSite,
                Field::AccessControlRequestMethod,
                Field::AccessControlRequestHeaders,
                Field::Upgrade,
            ];
            let mut found = [Found::Absent; 8];
            headers.get_many(&fields, &mut found);
            prop_assert_eq!(found, fields.map(|field| RequestHeaders::get(&headers, field)));
            // The guard's presence checks say what a lookup says.
            for (field, found) in fields.into_iter().zip(found) {
                prop_assert_eq!(headers.contains(field), found.is_present(), "{:?}", field);
            }
            let facts = RequestFacts::read(method, "/x", None, &headers);
            let policy = crate::RouteCors::default();
            for scope in [RouteScope::Unrouted, RouteScope::Undeclared, RouteScope::Declared(&policy)] {
                let summary = |facts: &RequestFacts<'_>| {
                    let decision = decide(facts, &config, scope, &registry.snapshot());
                    format!("{decision:?}")
                };
                prop_assert_eq!(summary(&facts), summary(&full), "{} {:?}", method, headers);
            }
            let decision = decide(&full, &config, RouteScope::Unrouted, &registry.snapshot());
            let kind = decision.rejection().map(|r| r.kind());
            let cors = crate::Cors::new(config, registry);
            if public_socket {
                let policy = crate::RouteCors::builder().websocket_from_any_origin().build().unwrap();
                let _route = cors.declare::<http::HeaderMap>(policy);
            }
            match cors.judge_unrouted(method, "/x", None, &headers) {
                Ok(After::Nothing) => prop_assert!(
                    !matches!(decision, Decision::Reject(_) | Decision::DeferPreflight)
                        && is_safe(method),
                    "{method} {headers:?}: passed, but {decision:?}"
                ),
                // Unsafe methods pass varying on `Origin`.
                Ok(After::Decorate(_)) => prop_assert!(
                    !matches!(decision, Decision::Reject(_) | Decision::DeferPreflight)
                        && !is_safe(method),
                    "{method} {headers:?}: passed varying, but {decision:?}"
                ),
                Err(reply) => {
                    prop_assert_eq!(reply.rejection().map(|r| r.kind()), kind);
                }
                Ok(After::Judge(_, deferred)) => {
                    let refusal = match cors.judge_unanswered(&deferred, "/x", None, 405) {
                        Unanswered::Refuse(reply) => reply.rejection().map(|r| r.kind()),
                        _ => None,
                    };
                    // A handshake refused is deferred only while a public socket is declared,
                    // and refused at the end if no route took it.
                    if kind == Some(crate::RejectionKind::WebSocketOriginNotTrusted) {
                        prop_assert!(public_socket);
                        prop_assert_eq!(refusal, kind);
                    } else {
                        prop_assert!(kind.is_none(), "{method} {headers:?}: deferred, but {decision:?}");
                        prop_assert_eq!(
                            refusal,
                            matches!(decision, Decision::DeferPreflight)
                                .then_some(crate::RejectionKind::RouteNotCorsEnabled)
                        );
                    }
                }
            }
        }
    }

    const NAMES: [&str; 10] = [
        "origin",
        "authorization",
        "sec-fetch-site",
        "access-control-request-method",
        "access-control-request-headers",
        "host",
        "cookie",
        "upgrade",
        "connection",
        "x-other",
    ];
}
