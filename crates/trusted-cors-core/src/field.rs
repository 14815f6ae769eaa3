//! The headers the core reads and writes, named by a type so that adapters look them up by their
//! framework's pre-parsed names instead of parsing a string on every request.

/// A header the core reads from requests or writes to responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `Origin`.
    Origin,
    /// `Host`.
    Host,
    /// `Authorization`.
    Authorization,
    /// `Cookie`.
    Cookie,
    /// `Sec-Fetch-Site`.
    SecFetchSite,
    /// `Access-Control-Request-Method`.
    AccessControlRequestMethod,
    /// `Access-Control-Request-Headers`.
    AccessControlRequestHeaders,
    /// `Access-Control-Allow-Origin`.
    AccessControlAllowOrigin,
    /// `Access-Control-Allow-Credentials`.
    AccessControlAllowCredentials,
    /// `Access-Control-Allow-Methods`.
    AccessControlAllowMethods,
    /// `Access-Control-Allow-Headers`.
    AccessControlAllowHeaders,
    /// `Access-Control-Max-Age`.
    AccessControlMaxAge,
    /// `Access-Control-Expose-Headers`.
    AccessControlExposeHeaders,
    /// `Vary`.
    Vary,
    /// `Content-Security-Policy`.
    ContentSecurityPolicy,
    /// `Content-Type`.
    ContentType,
    /// `X-Trusted-Cors-Reason`, the opt-in diagnostics header.
    TrustedCorsReason,
    /// Any other header, by its lowercase name (from a custom rejection responder).
    Other(&'static str),
}

/// Every field with a name of its own; the request headers the decision reads come first.
pub const NAMED_FIELDS: [Field; 17] = [
    Field::Origin,
    Field::Host,
    Field::Authorization,
    Field::Cookie,
    Field::SecFetchSite,
    Field::AccessControlRequestMethod,
    Field::AccessControlRequestHeaders,
    Field::AccessControlAllowOrigin,
    Field::AccessControlAllowCredentials,
    Field::AccessControlAllowMethods,
    Field::AccessControlAllowHeaders,
    Field::AccessControlMaxAge,
    Field::AccessControlExposeHeaders,
    Field::Vary,
    Field::ContentSecurityPolicy,
    Field::ContentType,
    Field::TrustedCorsReason,
];

impl Field {
    /// The lowercase header name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Origin => "origin",
            Field::Host => "host",
            Field::Authorization => "authorization",
            Field::Cookie => "cookie",
            Field::SecFetchSite => "sec-fetch-site",
            Field::AccessControlRequestMethod => "access-control-request-method",
            Field::AccessControlRequestHeaders => "access-control-request-headers",
            Field::AccessControlAllowOrigin => "access-control-allow-origin",
            Field::AccessControlAllowCredentials => "access-control-allow-credentials",
            Field::AccessControlAllowMethods => "access-control-allow-methods",
            Field::AccessControlAllowHeaders => "access-control-allow-headers",
            Field::AccessControlMaxAge => "access-control-max-age",
            Field::AccessControlExposeHeaders => "access-control-expose-headers",
            Field::Vary => "vary",
            Field::ContentSecurityPolicy => "content-security-policy",
            Field::ContentType => "content-type",
            Field::TrustedCorsReason => "x-trusted-cors-reason",
            Field::Other(name) => name,
        }
    }

    /// The position of the field in [`NAMED_FIELDS`]; `None` for [`Field::Other`].
    #[doc(hidden)]
    pub const fn index(self) -> Option<usize> {
        Some(match self {
            Field::Origin => 0,
            Field::Host => 1,
            Field::Authorization => 2,
            Field::Cookie => 3,
            Field::SecFetchSite => 4,
            Field::AccessControlRequestMethod => 5,
            Field::AccessControlRequestHeaders => 6,
            Field::AccessControlAllowOrigin => 7,
            Field::AccessControlAllowCredentials => 8,
            Field::AccessControlAllowMethods => 9,
            Field::AccessControlAllowHeaders => 10,
            Field::AccessControlMaxAge => 11,
            Field::AccessControlExposeHeaders => 12,
            Field::Vary => 13,
            Field::ContentSecurityPolicy => 14,
            Field::ContentType => 15,
            Field::TrustedCorsReason => 16,
            Field::Other(_) => return None,
        })
    }

    /// The field of a header name (any case); names the core does not know are [`Field::Other`]
    /// (which keeps the name as given: adapters send it only if it is a valid lowercase name).
    pub fn from_name(name: &'static str) -> Field {
        NAMED_FIELDS
            .into_iter()
            .find(|field| field.as_str().eq_ignore_ascii_case(name))
            .unwrap_or(Field::Other(name))
    }
}

/// The header name of a [`Field`] as a framework's `http` crate spells it, from its pre-parsed
/// constants: `header_name!(field, http::header)` gives an `Option<http::HeaderName>`. For the
/// adapters, whose `http` versions differ (actix-web 4 uses `http` 0.2).
#[doc(hidden)]
#[macro_export]
macro_rules! header_name {
    ($field:expr, $($header:ident)::+) => {{
        use $crate::Field;
        use $($header)::+ as header;
        const SEC_FETCH_SITE: header::HeaderName = header::HeaderName::from_static("sec-fetch-site");
        const TRUSTED_CORS_REASON: header::HeaderName =
            header::HeaderName::from_static("x-trusted-cors-reason");
        match $field {
            Field::Origin => Some(header::ORIGIN),
            Field::Host => Some(header::HOST),
            Field::Authorization => Some(header::AUTHORIZATION),
            Field::Cookie => Some(header::COOKIE),
            Field::SecFetchSite => Some(SEC_FETCH_SITE),
            Field::AccessControlRequestMethod => Some(header::ACCESS_CONTROL_REQUEST_METHOD),
            Field::AccessControlRequestHeaders => Some(header::ACCESS_CONTROL_REQUEST_HEADERS),
            Field::AccessControlAllowOrigin => Some(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Field::AccessControlAllowCredentials => Some(header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
            Field::AccessControlAllowMethods => Some(header::ACCESS_CONTROL_ALLOW_METHODS),
            Field::AccessControlAllowHeaders => Some(header::ACCESS_CONTROL_ALLOW_HEADERS),
            Field::AccessControlMaxAge => Some(header::ACCESS_CONTROL_MAX_AGE),
            Field::AccessControlExposeHeaders => Some(header::ACCESS_CONTROL_EXPOSE_HEADERS),
            Field::Vary => Some(header::VARY),
            Field::ContentSecurityPolicy => Some(header::CONTENT_SECURITY_POLICY),
            Field::ContentType => Some(header::CONTENT_TYPE),
            Field::TrustedCorsReason => Some(TRUSTED_CORS_REASON),
            other => header::HeaderName::from_bytes(other.as_str().as_bytes()).ok(),
        }
    }};
}

/// `RequestHeaders` and `ResponseHeaders` for a framework's header map, written once for every
/// `http` version: `header_maps!(request: T, response: U, map: |this| this.0, http: http::header,
/// scan_up_to: 8, origin_first: false, read_again_later: false)`. `map` reaches the framework's
/// `HeaderMap` from `this` (`&Self` or `&mut Self`); up to `scan_up_to` values, several headers are
/// read in one pass over the map instead of a hashed lookup each; `origin_first` looks `Origin` up
/// alone before reading the others (as every larger map is read); `read_again_later` says the
/// request outlives the application's answer (profile the framework's map to choose them).
#[doc(hidden)]
#[macro_export]
macro_rules! header_maps {
    (
        request: $request:ty,
        response: $response:ty,
        map: |$this:ident| $map:expr,
        http: $($header:ident)::+,
        scan_up_to: $scan_up_to:expr,
        origin_first: $origin_first:expr,
        read_again_later: $read_again_later:expr
    ) => {
        impl $crate::RequestHeaders for $request {
            type Value = $($header)::+::HeaderValue;

            fn values(&self, field: $crate::Field) -> $crate::HeaderInput<'_> {
                let $this = self;
                match $crate::header_name!(field, $($header)::+) {
                    Some(name) => $crate::HeaderInput::from_values(
                        $map.get_all(name).into_iter().map(|value| value.as_bytes()),
                    ),
                    None => $crate::HeaderInput::Absent,
                }
            }

            fn value(&self, field: $crate::Field) -> Option<Self::Value> {
                let $this = self;
                $map.get($crate::header_name!(field, $($header)::+)?).cloned()
            }

            fn origin_first(&self) -> bool {
                // A map too large to scan is read a lookup per header: `Origin` first too.
                let $this = self;
                $origin_first || $map.len() > $scan_up_to
            }

            fn read_again_later(&self) -> bool {
                $read_again_later
            }

            fn origin_vary() -> Option<Self::Value> {
                Some($($header)::+::HeaderValue::from_static("Origin"))
            }

            fn find<const N: usize>(
                &self,
                fields: [$crate::Field; N],
            ) -> [$crate::Found<&Self::Value>; N] {
                use $($header)::+ as header;
                /// The pre-parsed names of the named fields, in the order of `NAMED_FIELDS`.
                static NAMES: [header::HeaderName; 17] = [
                    header::ORIGIN,
                    header::HOST,
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::HeaderName::from_static("sec-fetch-site"),
                    header::ACCESS_CONTROL_REQUEST_METHOD,
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    header::ACCESS_CONTROL_MAX_AGE,
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    header::VARY,
                    header::CONTENT_SECURITY_POLICY,
                    header::CONTENT_TYPE,
                    header::HeaderName::from_static("x-trusted-cors-reason"),
                ];
                let $this = self;
                let map = $map;
                let names = fields.map(|field| field.index().map(|i| &NAMES[i]));
                // A pass over a small map compares pre-parsed names, which is cheap. A map never
                // scanned is not measured (actix's `len` walks the whole map).
                if $scan_up_to == 0 || map.len() > $scan_up_to {
                    return names.map(|name| match name {
                        Some(name) => $crate::Found::from_values(map.get_all(name).into_iter()),
                        None => $crate::Found::Absent,
                    });
                }
                $crate::scan_values(&names, map.iter(), |key, name| *key == Some(name))
            }
        }

        impl $crate::ResponseHeaders for $response {
            type Value = $($header)::+::HeaderValue;

            fn to_value(bytes: $crate::__private::Bytes) -> Option<Self::Value> {
                $($header)::+::HeaderValue::from_maybe_shared(bytes).ok()
            }

            fn values(&self, field: $crate::Field) -> impl Iterator<Item = &[u8]> {
                let $this = self;
                let name = $crate::header_name!(field, $($header)::+);
                let values = name.map(|name| $map.get_all(name).into_iter());
                values.into_iter().flatten().map(|value| value.as_bytes())
            }

            fn insert(&mut self, field: $crate::Field, value: Self::Value) {
                let $this = self;
                if let Some(name) = $crate::header_name!(field, $($header)::+) {
                    $map.insert(name, value);
                }
            }

            fn append(&mut self, field: $crate::Field, value: Self::Value) {
                let $this = self;
                if let Some(name) = $crate::header_name!(field, $($header)::+) {
                    $map.append(name, value);
                }
            }

            fn remove(&mut self, field: $crate::Field) {
                let $this = self;
                if let Some(name) = $crate::header_name!(field, $($header)::+) {
                    $map.remove(name);
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (i, field) in NAMED_FIELDS.into_iter().enumerate() {
            assert_eq!(Field::from_name(field.as_str()), field);
            assert_eq!(field.index(), Some(i));
        }
        assert_eq!(Field::Other("x-custom").index(), None);
        assert_eq!(Field::from_name("Content-Type"), Field::ContentType);
        assert_eq!(Field::from_name("x-custom"), Field::Other("x-custom"));
    }
}
