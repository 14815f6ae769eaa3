//! Per-route preflights.

use trusted_cors_core::RejectionKind as K;

use super::Expect::*;
use super::Route::*;
use super::*;
use crate::common::*;

pub(crate) const CASES: &[Case] = &[
    // Per-route preflights.
    case(
        "trusted preflight",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Preflight {
            origin: TRUSTED,
            credentials: true,
            methods: "GET, HEAD",
            headers: "content-type",
        },
    ),
    case(
        "wildcard preflight",
        Me,
        "OPTIONS",
        &[
            ("origin", WILDCARD_B),
            ("access-control-request-method", b"PUT"),
            ("access-control-request-headers", b"content-type"),
        ],
        Preflight {
            origin: WILDCARD_MATCH,
            credentials: true,
            methods: "GET, PUT",
            headers: "content-type, authorization",
        },
    ),
    case(
        "trusted preflight without cookies",
        NoCookies,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"POST"),
            ("access-control-request-headers", b"x-a,x-b"),
        ],
        Preflight {
            origin: TRUSTED,
            credentials: false,
            methods: "GET, POST",
            headers: "x-a,x-b",
        },
    ),
    case(
        "untrusted preflight",
        User,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "inactive preflight",
        User,
        "OPTIONS",
        &[
            ("origin", INACTIVE_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "CORS scope removed preflight",
        User,
        "OPTIONS",
        &[
            ("origin", REDIRECT_ONLY_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "wildcard does not match its base",
        User,
        "OPTIONS",
        &[
            ("origin", b"https://apps.example.org"),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "null origin preflight",
        User,
        "OPTIONS",
        &[
            ("origin", b"null"),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "malformed origin preflight",
        User,
        "OPTIONS",
        &[
            ("origin", b"https://app.example.com/"),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "duplicate origin preflight",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "method not allowed",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"DELETE"),
        ],
        Reject(K::MethodNotAllowed),
    ),
    case(
        "methods are case-sensitive",
        Me,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"put"),
        ],
        Reject(K::MethodNotAllowed),
    ),
    case(
        "header not allowed",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"content-type,x-secret"),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        "authorization not covered by any-header",
        NoCookies,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"authorization"),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        // Found by the `decide` fuzz target: `*` was echoed in Access-Control-Allow-Headers.
        "a requested `*` is not echoed by any-header",
        NoCookies,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"x-a,*"),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        "authorization not named",
        User,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"authorization"),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        "header list too long",
        Me,
        "OPTIONS",
        &[
            ("origin", TRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", COMMA_BOMB),
        ],
        Reject(K::HeaderNotAllowed),
    ),
    case(
        "untrusted preflight for a bearer call",
        Me,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"authorization"),
        ],
        Preflight {
            origin: UNTRUSTED,
            credentials: false,
            methods: "GET, PUT",
            headers: "content-type, authorization",
        },
    ),
    case(
        "untrusted preflight without authorization on a bearer route",
        Me,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"content-type"),
        ],
        Reject(K::OriginNotTrusted),
    ),
    case(
        "untrusted bearer preflight still checks the method",
        Me,
        "OPTIONS",
        &[
            ("origin", UNTRUSTED_B),
            ("access-control-request-method", b"DELETE"),
            ("access-control-request-headers", b"authorization"),
        ],
        Reject(K::MethodNotAllowed),
    ),
    case(
        "null origin bearer preflight",
        Me,
        "OPTIONS",
        &[
            ("origin", b"null"),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"authorization"),
        ],
        Reject(K::OriginNotTrusted),
    ),
];
