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

/// A request's header map, as the core reads it. Adapters implement it for their framework's
/// header type (the Tower layers for `http` 1.x, the actix-web adapter for actix's own map).
pub trait RequestHeaders {
    /// The framework's header value, cloned to echo a request value (the `Origin`) in the
    /// response without copying its bytes.
    type Value: Clone;

    /// Every value of the header.
    fn values(&self, field: Field) -> HeaderInput<'_>;

    /// The first value of the header, as the framework's own value.
    fn value(&self, field: Field) -> Option<Self::Value>;
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

impl<'a> RequestFacts<'a> {
    /// Reads the facts of a request without allocating. `authority` is the URI's authority (the
    /// `:authority` of an HTTP/2 request), used when there is no `Host` header. Without `Origin`
    /// nothing else is read: the request is not a CORS request.
    pub fn read<H: RequestHeaders>(
        method: &'a str,
        path: &'a str,
        authority: Option<&'a str>,
        headers: &'a H,
    ) -> Self {
        let origin = headers.values(Field::Origin);
        if !origin.is_present() {
            return RequestFacts {
                method,
                path,
                ..RequestFacts::default()
            };
        }
        let host = match headers.values(Field::Host) {
            HeaderInput::Absent => {
                authority.map_or(HeaderInput::Absent, |a| HeaderInput::One(a.as_bytes()))
            }
            host => host,
        };
        RequestFacts {
            method,
            path,
            origin,
            access_control_request_method: headers.values(Field::AccessControlRequestMethod),
            access_control_request_headers: headers.values(Field::AccessControlRequestHeaders),
            authorization: headers.values(Field::Authorization),
            has_cookies: headers.values(Field::Cookie).is_present(),
            sec_fetch_site: headers.values(Field::SecFetchSite),
            host,
        }
    }
}
