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

/// `RequestHeaders` and `ResponseHeaders` for a framework's header map, written once for every
/// `http` version: `header_maps!(request: T, response: U, map: |this| this.0, http: http::header,
/// scan_up_to: 8, origin_first: false, read_again_later: false)`. `map` reaches the framework's
/// `HeaderMap` from `this` (`&Self` or `&mut Self`); up to `scan_up_to` values, several headers are
/// read in one pass over the map instead of a hashed lookup each; `origin_first` looks `Origin` up
/// alone before reading the others (as every larger map is read); `read_again_later` says the
/// request outlives the application's answer (profile the framework's map to choose them).
///
/// Invoke it once per module: it defines items named `trusted_cors_*` (and a test) there.
///
/// The named fields' header names are parsed once, into one table that every method reads by
/// reference (a field's name is found by its index, with no code per field: the request path's
/// code stays small enough for the instruction cache); another field's name is parsed when used,
/// out of line.
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
        /// The framework's names of the named fields, in the order of `NAMED_FIELDS` (tested).
        static TRUSTED_CORS_NAMES: [$($header)::+::HeaderName; $crate::NAMED_FIELDS.len()] = {
            use $($header)::+ as header;
            [
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
            ]
        };

        /// The framework's name of a named field, from the table; `None` for another field.
        #[inline]
        fn trusted_cors_named(field: $crate::Field) -> Option<&'static $($header)::+::HeaderName> {
            field.index().and_then(|i| TRUSTED_CORS_NAMES.get(i))
        }

        /// Whether a map's entry is under a wanted name (a plain function, not a closure, so
        /// one pass serves every number of wanted names).
        fn trusted_cors_is(
            wanted: &Option<&'static $($header)::+::HeaderName>,
            name: &$($header)::+::HeaderName,
        ) -> bool {
            *wanted == Some(name)
        }

        /// The values under `names` in `map`, into `found`: one copy for every number of names
        /// (the code every request runs stays small enough for the instruction cache).
        #[inline(never)]
        fn trusted_cors_find<'a>(
            map: &'a $($header)::+::HeaderMap,
            names: &[Option<&'static $($header)::+::HeaderName>],
            found: &mut [$crate::Found<&'a $($header)::+::HeaderValue>],
        ) {
            // A pass over a small map compares pre-parsed names, which is cheap. A map never
            // scanned is not measured (actix's `len` walks the whole map).
            if $scan_up_to == 0 || map.len() > $scan_up_to {
                for (slot, name) in found.iter_mut().zip(names) {
                    if let Some(name) = name {
                        *slot = $crate::Found::from_values(map.get_all(*name).into_iter());
                    }
                }
                return;
            }
            $crate::scan_into(names, found, map.iter(), trusted_cors_is);
        }

        /// The framework's name of any field, owned: a named one's from the table, another's
        /// parsed.
        #[inline]
        fn trusted_cors_owned(field: $crate::Field) -> Option<$($header)::+::HeaderName> {
            match trusted_cors_named(field) {
                Some(name) => Some(name.clone()),
                None => trusted_cors_parsed(field),
            }
        }

        /// The framework's name of a field that is not named (a report header, a custom one),
        /// parsed.
        #[cold]
        #[inline(never)]
        fn trusted_cors_parsed(field: $crate::Field) -> Option<$($header)::+::HeaderName> {
            $($header)::+::HeaderName::from_bytes(field.as_str().as_bytes()).ok()
        }

        impl $crate::RequestHeaders for $request {
            type Value = $($header)::+::HeaderValue;

            fn values(&self, field: $crate::Field) -> $crate::HeaderInput<'_> {
                let $this = self;
                let parsed;
                let name = match trusted_cors_named(field) {
                    Some(name) => name,
                    None => match trusted_cors_parsed(field) {
                        Some(name) => {
                            parsed = name;
                            &parsed
                        }
                        None => return $crate::HeaderInput::Absent,
                    },
                };
                $crate::HeaderInput::from_values(
                    $map.get_all(name).into_iter().map(|value| value.as_bytes()),
                )
            }

            fn value(&self, field: $crate::Field) -> Option<Self::Value> {
                let $this = self;
                match trusted_cors_named(field) {
                    Some(name) => $map.get(name).cloned(),
                    None => $map.get(&trusted_cors_parsed(field)?).cloned(),
                }
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
                let $this = self;
                let names = fields.map(trusted_cors_named);
                let mut found = [const { $crate::Found::Absent }; N];
                trusted_cors_find($map, &names, &mut found);
                found
            }
        }

        impl $crate::ResponseHeaders for $response {
            type Value = $($header)::+::HeaderValue;

            fn to_value(bytes: $crate::__private::Bytes) -> Option<Self::Value> {
                $($header)::+::HeaderValue::from_maybe_shared(bytes).ok()
            }

            fn values(&self, field: $crate::Field) -> impl Iterator<Item = &[u8]> {
                let $this = self;
                let values = trusted_cors_owned(field).map(|name| $map.get_all(name).into_iter());
                values.into_iter().flatten().map(|value| value.as_bytes())
            }

            fn insert(&mut self, field: $crate::Field, value: Self::Value) {
                let $this = self;
                if let Some(name) = trusted_cors_owned(field) {
                    $map.insert(name, value);
                }
            }

            fn append(&mut self, field: $crate::Field, value: Self::Value) {
                let $this = self;
                if let Some(name) = trusted_cors_owned(field) {
                    $map.append(name, value);
                }
            }

            fn remove(&mut self, field: $crate::Field) {
                let $this = self;
                match trusted_cors_named(field) {
                    Some(name) => {
                        $map.remove(name);
                    }
                    None => {
                        if let Some(name) = trusted_cors_parsed(field) {
                            $map.remove(&name);
                        }
                    }
                }
            }
        }

        /// The name table matches `NAMED_FIELDS`, entry for entry.
        #[cfg(test)]
        #[test]
        fn trusted_cors_names_are_the_named_fields() {
            for (field, name) in $crate::NAMED_FIELDS.into_iter().zip(&TRUSTED_CORS_NAMES) {
                assert_eq!(name.as_str(), field.as_str());
                assert_eq!(trusted_cors_named(field).map(|n| n.as_str()), Some(field.as_str()));
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
