//! Per-route actual requests, a route open to any origin, and origins of app and extension schemes.

use trusted_cors_core::RejectionKind as K;

use super::Expect::*;
use super::Route::*;
use super::*;
use crate::common::*;

pub(crate) const CASES: &[Case] = &[
    // Per-route actual requests.
    case(
        "trusted GET",
        Me,
        "GET",
        &[("origin", TRUSTED_B), ("cookie", b"sid=1")],
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: Some("x-request-id"),
            trusted: true,
        },
    ),
    case(
        "trusted PUT",
        Me,
        "PUT",
        &[("origin", TRUSTED_B), ("cookie", b"sid=1")],
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: Some("x-request-id"),
            trusted: true,
        },
    ),
    case(
        "trusted GET without cookies policy",
        NoCookies,
        "GET",
        &[("origin", WILDCARD_B)],
        Allow {
            origin: WILDCARD_MATCH,
            credentials: false,
            expose: None,
            trusted: true,
        },
    ),
    case(
        "trusted bearer GET",
        Me,
        "GET",
        &[("origin", TRUSTED_B), ("authorization", b"Bearer t")],
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: Some("x-request-id"),
            trusted: true,
        },
    ),
    case(
        "untrusted bearer GET",
        Me,
        "GET",
        &[("origin", UNTRUSTED_B), ("authorization", b"bearer t")],
        Allow {
            origin: UNTRUSTED,
            credentials: false,
            expose: Some("x-request-id"),
            trusted: false,
        },
    ),
    case(
        "untrusted bearer PUT",
        Me,
        "PUT",
        &[("origin", UNTRUSTED_B), ("authorization", b"Bearer t")],
        Allow {
            origin: UNTRUSTED,
            credentials: false,
            expose: Some("x-request-id"),
            trusted: false,
        },
    ),
    case(
        "untrusted bearer GET with cookies",
        Me,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("authorization", b"Bearer t"),
            ("cookie", b"sid=1"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "untrusted bearer GET on a cookie-only route",
        User,
        "GET",
        &[("origin", UNTRUSTED_B), ("authorization", b"Bearer t")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "untrusted GET",
        Me,
        "GET",
        &[("origin", UNTRUSTED_B)],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "inactive GET",
        Me,
        "GET",
        &[("origin", INACTIVE_B)],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "CORS scope removed GET",
        Me,
        "GET",
        &[("origin", REDIRECT_ONLY_B)],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "null origin GET",
        Me,
        "GET",
        &[("origin", b"null")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "null origin bearer GET",
        Me,
        "GET",
        &[("origin", b"null"), ("authorization", b"Bearer t")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "malformed origin GET",
        Me,
        "GET",
        &[("origin", b"HTTPS://APP.EXAMPLE.COM")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "origin with default port is malformed",
        Me,
        "GET",
        &[("origin", b"https://app.example.com:443")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "duplicate origin GET",
        Me,
        "GET",
        &[("origin", TRUSTED_B), ("origin", UNTRUSTED_B)],
        Reject(K::OriginNotTrusted),
    ),
    // A route open to any origin, without credentials.
    case(
        "any origin reads a public route",
        Public,
        "GET",
        &[("origin", UNTRUSTED_B)],
        Allow {
            origin: UNTRUSTED,
            credentials: false,
            expose: None,
            trusted: false,
        },
    ),
    case(
        "any origin's preflight to a public route",
        Public,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Preflight {
            origin: UNTRUSTED,
            credentials: false,
            methods: "GET, HEAD",
            headers: "content-type",
        },
    ),
    case(
        "but never with cookies from an untrusted origin",
        Public,
        "GET",
        &[("origin", UNTRUSTED_B), ("cookie", b"sid=1")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "and no credentials for trusted origins either",
        Public,
        "GET",
        &[("origin", TRUSTED_B), ("cookie", b"sid=1")],
        Allow {
            origin: TRUSTED,
            credentials: false,
            expose: None,
            trusted: true,
        },
    ),
    case(
        "a public route's writes still need a bearer token",
        Public,
        "POST",
        &[("origin", UNTRUSTED_B)],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    // Origins of app and extension schemes: exact entries, and only of the allowed schemes.
    case(
        "a trusted Capacitor app reads with cookies",
        User,
        "GET",
        &[("origin", CAPACITOR_B), ("cookie", b"sid=1")],
        Allow {
            origin: CAPACITOR,
            credentials: true,
            expose: None,
            trusted: true,
        },
    ),
    case(
        "a trusted Capacitor app's preflight",
        Me,
        "OPTIONS",
        &[
            ("origin", CAPACITOR_B),
            ("access-control-request-method", b"PUT"),
            ("access-control-request-headers", b"content-type"),
        ],
        Preflight {
            origin: CAPACITOR,
            credentials: true,
            methods: "GET, PUT",
            headers: "content-type, authorization",
        },
    ),
    case(
        "a trusted Capacitor app writes",
        Undeclared,
        "POST",
        &[("origin", CAPACITOR_B), ("cookie", b"sid=1")],
        Pass,
    ),
    case(
        "an Ionic app that is not a trusted origin",
        User,
        "GET",
        &[("origin", b"ionic://localhost")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "an extension entry of a scheme not on origin_schemes is never trusted",
        User,
        "GET",
        &[("origin", EXTENSION_B), ("cookie", b"sid=1")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "nor may it write",
        Undeclared,
        "DELETE",
        &[("origin", EXTENSION_B), ("cookie", b"sid=1")],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "an app origin never matches Host",
        User,
        "POST",
        &[
            ("origin", b"capacitor://api.example"),
            ("host", b"api.example"),
        ],
        Reject(K::UntrustedCrossOriginWrite),
    ),
    case(
        "an app origin in capitals is malformed",
        User,
        "GET",
        &[("origin", b"Capacitor://localhost")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "file origins arrive as null",
        User,
        "GET",
        &[("origin", b"file://")],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "untrusted OPTIONS without request method on a route",
        Me,
        "OPTIONS",
        &[("origin", UNTRUSTED_B)],
        Reject(K::OriginNotTrusted),
    ),
];
