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
    /// `Upgrade` (a WebSocket handshake's `websocket`).
    Upgrade,
    /// `Connection` (a WebSocket handshake's `upgrade`).
    Connection,
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

/// Every field with a name of its own; the request headers the decision reads come first. The
/// adapters parse their framework's names of these once, in this order (see
/// [`Field::index`]).
pub const NAMED_FIELDS: [Field; 19] = [
    Field::Origin,
    Field::Host,
    Field::Authorization,
    Field::Cookie,
    Field::SecFetchSite,
    Field::AccessControlRequestMethod,
    Field::AccessControlRequestHeaders,
    Field::Upgrade,
    Field::Connection,
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
            Field::Upgrade => "upgrade",
            Field::Connection => "connection",
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
            Field::Upgrade => 7,
            Field::Connection => 8,
            Field::AccessControlAllowOrigin => 9,
            Field::AccessControlAllowCredentials => 10,
            Field::AccessControlAllowMethods => 11,
            Field::AccessControlAllowHeaders => 12,
            Field::AccessControlMaxAge => 13,
            Field::AccessControlExposeHeaders => 14,
            Field::Vary => 15,
            Field::ContentSecurityPolicy => 16,
            Field::ContentType => 17,
            Field::TrustedCorsReason => 18,
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
