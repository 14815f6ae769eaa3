//! What the decision reads from a request: a few headers as plain bytes, read once through
//! [`RequestHeaders`], which each adapter implements for its framework's header map.

use crate::Field;

/// The longest `Access-Control-Request-Headers` value looked at; longer ones are refused.
pub const MAX_REQUEST_HEADERS_LEN: usize = 4096;
/// The most header names looked at in `Access-Control-Request-Headers`; more are refused.
pub const MAX_REQUEST_HEADER_NAMES: usize = 64;

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
/// or the first of several.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[doc(hidden)]
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

    /// From the values of a header.
    pub fn from_values<I: IntoIterator<Item = V>>(values: I) -> Self {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (None, _) => Found::Absent,
            (Some(one), None) => Found::One(one),
            (Some(first), Some(_)) => Found::Many(first),
        }
    }

    fn add(&mut self, value: V) {
        *self = match std::mem::take(self) {
            Found::Absent => Found::One(value),
            Found::One(first) | Found::Many(first) => Found::Many(first),
        };
    }
}

/// A request's header map, as the core reads it. Adapters implement it for their framework's
/// header type (the Tower layers for `http` 1.x, the actix-web adapter for actix's own map).
pub trait RequestHeaders {
    /// The framework's header value, cloned to echo a request value (the `Origin`) in the
    /// response without copying its bytes.
    type Value: Clone + AsRef<[u8]>;

    /// Every value of the header.
    fn values(&self, field: Field) -> HeaderInput<'_>;

    /// The first value of the header, as the framework's own value.
    fn value(&self, field: Field) -> Option<Self::Value>;

    /// Several headers as the framework holds them, in the order asked: absent, the only value,
    /// or the first of several. Adapters whose map is cheap to walk read them in one pass with
    /// [`scan_values`] (or [`scan_into`], written once for every number of fields).
    fn find<const N: usize>(&self, fields: [Field; N]) -> [Found<&Self::Value>; N];

    /// Whether to look `Origin` up alone first, and then only the headers a request's method
    /// needs: for a map in which [`find`](Self::find) looks each header up.
    #[doc(hidden)]
    fn origin_first(&self) -> bool {
        false
    }

    /// `Origin` as a value of this framework, for `Vary`; `None` (the default) sends no
    /// `Vary: Origin` on the responses the guard lets through.
    #[doc(hidden)]
    fn origin_vary() -> Option<Self::Value> {
        None
    }

    /// Whether the request these headers belong to is still at hand once the application has
    /// answered (actix-web's responses carry their request): the guard then keeps nothing of a
    /// preflight it passes on and reads it again only if no declared route answered it
    /// ([`Deferred::read_again`](crate::Deferred::read_again)).
    #[doc(hidden)]
    fn read_again_later(&self) -> bool {
        false
    }

    /// Every value of several headers, in the order asked.
    fn values_of<const N: usize>(&self, fields: [Field; N]) -> [HeaderInput<'_>; N] {
        self.find(fields).map(Found::into_input)
    }
}

/// Reads several headers in one pass over a map's entries (name and value bytes): cheaper than a
/// hashed lookup for each when a request carries a few headers, as requests do.
pub fn scan_headers<'a, const N: usize>(
    fields: [Field; N],
    entries: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> [HeaderInput<'a>; N] {
    let names = fields.map(|field| field.as_str().as_bytes());
    // Lengths first: most names differ in length, and comparing two lengths is cheap.
    let eq = |key: &&[u8], name: &[u8]| key.len() == name.len() && *key == name;
    scan_values(&names, entries, eq).map(Found::into_input)
}

/// [`scan_headers`] for any kind of names and values, e.g. a framework's pre-parsed names (which
/// compare cheaply) and its values: the values under each key, in the order of `keys`.
pub fn scan_values<'a, K, Q, V, const N: usize>(
    keys: &[K; N],
    entries: impl Iterator<Item = (&'a Q, &'a V)>,
    eq: impl Fn(&K, &Q) -> bool,
) -> [Found<&'a V>; N]
where
    Q: ?Sized + 'a,
    V: ?Sized + 'a,
{
    let mut found = [const { Found::Absent }; N];
    scan_into(keys, &mut found, entries, eq);
    found
}

/// The pass of [`scan_values`], into `found` (as long as `keys`), not generic over the number of
/// keys: it is on every request's path, where a copy per number of keys made the code the
/// requests run outgrow the instruction cache.
#[doc(hidden)]
pub fn scan_into<'a, K, Q, V>(
    keys: &[K],
    found: &mut [Found<&'a V>],
    entries: impl Iterator<Item = (&'a Q, &'a V)>,
    eq: impl Fn(&K, &Q) -> bool,
) where
    Q: ?Sized + 'a,
    V: ?Sized + 'a,
{
    debug_assert_eq!(keys.len(), found.len());
    for (name, value) in entries {
        if let Some(i) = keys.iter().position(|key| eq(key, name)) {
            if let Some(slot) = found.get_mut(i) {
                slot.add(value);
            }
        }
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
}

/// The host a request is addressed to: the request target's authority when it has one (HTTP/2's
/// `:authority`, an HTTP/1.1 absolute-form target), which then wins over `Host` (RFC 9113
/// §8.3.1 calls a `host` field that disagrees malformed; RFC 9112 §3.2.2 has `Host` ignored);
/// else `Host`.
///
/// ```
/// use trusted_cors_core::{request_host, HeaderInput};
///
/// let host = HeaderInput::One(b"api.example.com");
/// assert_eq!(request_host(None, host), host);
/// assert_eq!(request_host(Some("other.example:8443"), host), HeaderInput::One(b"other.example:8443"));
/// ```
pub fn request_host<'a>(authority: Option<&'a str>, host: HeaderInput<'a>) -> HeaderInput<'a> {
    match authority {
        Some(authority) => HeaderInput::One(authority.as_bytes()),
        None => host,
    }
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
    /// Whether the guard, before routing, can pass the request without reading more: without
    /// `Origin`, or a `GET`/`HEAD` without `Authorization`, no global rule applies (they refuse
    /// credentials, unsafe methods and preflights). Checked against the decision by the property
    /// tests.
    pub(crate) fn guard_passes<H: RequestHeaders>(method: &str, headers: &H) -> bool {
        let get_or_head = matches!(method, "GET" | "HEAD");
        if headers.origin_first() {
            // A `GET` or `HEAD` passes unless it carries both `Authorization` and `Origin`: one
            // lookup for most.
            if get_or_head {
                return !headers.values(Field::Authorization).is_present()
                    || !headers.values(Field::Origin).is_present();
            }
            if headers.values(Field::Origin).is_present() {
                return false;
            }
        } else {
            let [origin, authorization] = headers.find([Field::Origin, Field::Authorization]);
            if origin.is_present() {
                return get_or_head && !authorization.is_present();
            }
        }
        // Without `Origin`: not a CORS request, unless a browser says that an unsafe request
        // comes from another site (see `classify`).
        is_safe(method) || !names_another_site(headers.values(Field::SecFetchSite))
    }

    /// What the guard reads before routing: [`read`](Self::read) without what only a route's
    /// rules look at (`Access-Control-Request-Headers`, and `Cookie` on a safe method).
    pub(crate) fn read_unrouted<H: RequestHeaders>(
        method: &'a str,
        path: &'a str,
        authority: Option<&'a str>,
        headers: &'a H,
    ) -> Self {
        RequestFacts::read_with(method, path, authority, headers, false, true).0
    }

    /// Reads the facts of a request without allocating. `authority` is the URI's authority (the
    /// `:authority` of an HTTP/2 request, an absolute-form target), used instead of `Host` when
    /// present. Without `Origin`
    /// nothing else is read: the request is not a CORS request. The preflight headers are read
    /// only for `OPTIONS`, the one method the decision reads them for.
    pub fn read<H: RequestHeaders>(
        method: &'a str,
        path: &'a str,
        authority: Option<&'a str>,
        headers: &'a H,
    ) -> Self {
        RequestFacts::read_with(method, path, authority, headers, true, false).0
    }

    /// [`read`](Self::read), and the request's first `Origin` value as the framework holds it.
    pub(crate) fn read_with_origin<H: RequestHeaders>(
        method: &'a str,
        path: &'a str,
        authority: Option<&'a str>,
        headers: &'a H,
    ) -> (Self, Option<&'a H::Value>) {
        RequestFacts::read_with(method, path, authority, headers, true, true)
    }

    fn read_with<H: RequestHeaders>(
        method: &'a str,
        path: &'a str,
        authority: Option<&'a str>,
        headers: &'a H,
        route: bool,
        lean: bool,
    ) -> (Self, Option<&'a H::Value>) {
        // Without `Origin`, only an unsafe method is read further, for a browser's word that it
        // comes from another site (see `classify`).
        let no_cors = || {
            let facts = RequestFacts {
                method,
                path,
                ..RequestFacts::default()
            };
            if is_safe(method) {
                return facts;
            }
            let [site, authorization, cookie] =
                headers.find([Field::SecFetchSite, Field::Authorization, Field::Cookie]);
            let site = site.into_input();
            if !names_another_site(site) {
                return facts;
            }
            RequestFacts {
                sec_fetch_site: site,
                authorization: authorization.into_input(),
                has_cookies: cookie.is_present(),
                ..facts
            }
        };
        // Without `Origin` nothing else is read; the preflight headers only for `OPTIONS`, the
        // one method the decision reads them for.
        // `Host`, when read apart from the others.
        let mut host = None;
        let found = if headers.origin_first() {
            let [origin] = headers.find([Field::Origin]);
            if !origin.is_present() {
                return (no_cors(), None);
            }
            let rest = [Field::Authorization, Field::Cookie, Field::SecFetchSite];
            let [authorization, cookie, sec_fetch_site] = headers.find(rest);
            // `Host` serves only the same-origin fallback for browsers without fetch metadata,
            // which the decision never reaches when `Sec-Fetch-Site` is sent (the layers read
            // leanly; `read` gives every fact).
            host = match lean && sec_fetch_site.is_present() {
                true => Some(HeaderInput::Absent),
                false => Some(headers.values(Field::Host)),
            };
            let (request_method, request_headers) = match method {
                "OPTIONS" => {
                    let preflight = [
                        Field::AccessControlRequestMethod,
                        Field::AccessControlRequestHeaders,
                    ];
                    let [request_method, request_headers] = headers.find(preflight);
                    (request_method, request_headers)
                }
                _ => (Found::Absent, Found::Absent),
            };
            [
                origin,
                Found::Absent,
                authorization,
                cookie,
                sec_fetch_site,
                request_method,
                request_headers,
            ]
        } else {
            headers.find([
                Field::Origin,
                Field::Host,
                Field::Authorization,
                Field::Cookie,
                Field::SecFetchSite,
                Field::AccessControlRequestMethod,
                Field::AccessControlRequestHeaders,
            ])
        };
        let Some(origin_value) = found[0].first().copied() else {
            return (no_cors(), None);
        };
        let [origin, scanned_host, authorization, cookie, sec_fetch_site, request_method, request_headers] =
            found.map(Found::into_input);
        let host = request_host(authority, host.unwrap_or(scanned_host));
        let (request_method, request_headers) = match (method, route) {
            ("OPTIONS", true) => (request_method, request_headers),
            ("OPTIONS", false) => (request_method, HeaderInput::Absent),
            _ => (HeaderInput::Absent, HeaderInput::Absent),
        };
        let safe = matches!(method, "GET" | "HEAD" | "OPTIONS");
        let facts = RequestFacts {
            method,
            path,
            origin,
            access_control_request_method: request_method,
            access_control_request_headers: request_headers,
            authorization,
            has_cookies: (route || !safe) && cookie.is_present(),
            sec_fetch_site,
            host,
        };
        (facts, Some(origin_value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{decide, Decision, RouteScope};
    use crate::layers::GuardVerdict;
    use crate::{CorsConfig, NewTrustedOrigin, Registry, ScopeType, NAMED_FIELDS};
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
        ]))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The guard's shortcut never passes what the full decision would refuse or defer.
        #[test]
        fn the_guard_shortcut_agrees_with_the_decision(
            method in prop::sample::select(vec!["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "get"]),
            values in prop::collection::vec(header_value(), 8),
            repeated in prop::collection::vec(header_value(), 8),
            filler in 0usize..30,
            public in any::<bool>(),
        ) {
            let mut headers = http::HeaderMap::new();
            for (field, value) in NAMES.iter().zip(&values) {
                if let Some(value) = value {
                    headers.insert(*field, http::HeaderValue::from_static(value));
                }
            }
            // Some headers sent twice, and enough others to take the hashed-lookup path too.
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
            let facts = RequestFacts::read(method, "/x", None, &headers);
            let decision = decide(&facts, &config, RouteScope::Unrouted, &registry.snapshot());
            if RequestFacts::guard_passes(method, &headers) {
                prop_assert!(
                    !matches!(decision, Decision::Reject(_) | Decision::DeferPreflight),
                    "{method} {headers:?}: {decision:?}"
                );
            }
            // One pass over the map reads what a lookup per header reads.
            let fields: [Field; 7] = NAMED_FIELDS[..7].try_into().unwrap();
            let entries = headers.iter().map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
            let scanned = scan_headers(fields, entries);
            let looked = fields.map(|field| RequestHeaders::values(&headers, field));
            prop_assert_eq!(scanned, looked);
            // What the guard leaves unread changes nothing it decides.
            let unrouted = RequestFacts::read_unrouted(method, "/x", None, &headers);
            let lean = decide(&unrouted, &config, RouteScope::Unrouted, &registry.snapshot());
            prop_assert_eq!(
                lean.rejection().map(|r| r.kind()),
                decision.rejection().map(|r| r.kind())
            );
            prop_assert_eq!(
                matches!(lean, Decision::DeferPreflight),
                matches!(decision, Decision::DeferPreflight)
            );
            // A map read as actix-web's is (`Origin` or `Authorization` looked up first, a lookup
            // per header, a deferred preflight read again when judged) gets the same verdicts.
            let looked_up = LookedUp(&headers);
            // What a route leaves unread (`Host` when `Sec-Fetch-Site` says more) changes
            // nothing it decides, on either kind of map.
            let policy = crate::RouteCors::default();
            let declared = |facts: &RequestFacts<'_>| {
                let decision = decide(facts, &config, RouteScope::Declared(&policy), &registry.snapshot());
                (format!("{decision:?}").split(['(', ' ']).next().map(str::to_owned), decision.rejection().map(|r| r.kind()))
            };
            let full = declared(&facts);
            prop_assert_eq!(declared(&RequestFacts::read_with_origin(method, "/x", None, &headers).0), full.clone());
            prop_assert_eq!(declared(&RequestFacts::read_with_origin(method, "/x", None, &looked_up).0), full);
            prop_assert_eq!(
                RequestFacts::guard_passes(method, &looked_up),
                RequestFacts::guard_passes(method, &headers)
            );
            // The guard's verdict, with its shortcuts (an `OPTIONS` without `Authorization` is
            // passed on unjudged, and judged afterwards from what the guard kept), is the
            // decision's.
            let cors = crate::Cors::new(config, registry);
            // (The same verdict on the map read as actix-web's.)
            prop_assert_eq!(
                verdict(&cors, method, &looked_up),
                verdict(&cors, method, &headers),
                "{} {:?}", method, headers
            );
            let lean_kind = lean.rejection().map(|r| r.kind());
            match cors.judge_unrouted(method, "/x", None, &headers) {
                GuardVerdict::Pass => prop_assert!(
                    !matches!(lean, Decision::Reject(_) | Decision::DeferPreflight)
                        && matches!(method, "GET" | "HEAD" | "OPTIONS"),
                    "{method} {headers:?}: passed, but {lean:?}"
                ),
                // Unsafe methods pass varying on `Origin`.
                GuardVerdict::PassVarying(_) => prop_assert!(
                    !matches!(lean, Decision::Reject(_) | Decision::DeferPreflight)
                        && !matches!(method, "GET" | "HEAD" | "OPTIONS"),
                    "{method} {headers:?}: passed varying, but {lean:?}"
                ),
                GuardVerdict::Refuse(reply) => {
                    prop_assert_eq!(reply.rejection().map(|r| r.kind()), lean_kind);
                }
                GuardVerdict::Defer(deferred) => {
                    prop_assert!(lean_kind.is_none(), "{method} {headers:?}: deferred, but {lean:?}");
                    let refusal = match cors.judge_unanswered(&deferred, "/x", None, 405) {
                        crate::layers::Unanswered::Refuse(reply) => {
                            reply.rejection().map(|r| r.kind())
                        }
                        _ => None,
                    };
                    prop_assert_eq!(
                        refusal,
                        matches!(lean, Decision::DeferPreflight)
                            .then_some(crate::RejectionKind::RouteNotCorsEnabled)
                    );
                }
            }
        }
    }

    /// An `http` map read as the actix-web adapter reads its own.
    #[derive(Debug)]
    struct LookedUp<'a>(&'a http::HeaderMap);

    /// The macro's response side, which these tests do not write to.
    #[allow(dead_code)]
    #[derive(Debug)]
    struct LookedUpOut<'a>(&'a mut http::HeaderMap);

    crate::header_maps!(
        request: LookedUp<'_>,
        response: LookedUpOut<'_>,
        map: |this| this.0,
        http: http::header,
        scan_up_to: 0,
        origin_first: true,
        read_again_later: true
    );

    /// The guard's verdict on a request, as one comparable value: passed (varying or not),
    /// refused for a reason, or deferred and then refused (or not) when no route answered.
    fn verdict<H: RequestHeaders<Value = http::HeaderValue>>(
        cors: &crate::Cors,
        method: &str,
        headers: &H,
    ) -> String {
        match cors.judge_unrouted(method, "/x", None, headers) {
            GuardVerdict::Pass => "pass".to_owned(),
            GuardVerdict::PassVarying(_) => "pass varying".to_owned(),
            GuardVerdict::Refuse(reply) => {
                format!("refuse {:?}", reply.rejection().map(|r| r.kind()))
            }
            GuardVerdict::Defer(deferred) => {
                let deferred = deferred.read_again(headers);
                match cors.judge_unanswered(&deferred, "/x", None, 405) {
                    crate::layers::Unanswered::Refuse(reply) => {
                        format!("defer, refuse {:?}", reply.rejection().map(|r| r.kind()))
                    }
                    _ => "defer, pass".to_owned(),
                }
            }
        }
    }

    const NAMES: [&str; 8] = [
        "origin",
        "authorization",
        "sec-fetch-site",
        "access-control-request-method",
        "access-control-request-headers",
        "host",
        "cookie",
        "x-other",
    ];
}
