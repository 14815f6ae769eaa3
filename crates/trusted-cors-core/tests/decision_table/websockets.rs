//! WebSocket handshakes: the rule `websocket_origin_not_trusted`, before routing and on every
//! kind of route, and what counts as a handshake.

use trusted_cors_core::RejectionKind as K;

use super::Expect::*;
use super::Route::*;
use super::*;
use crate::common::TRUSTED;

/// A browser's handshake (Chromium's spelling), from `origin`, with the site's cookies.
macro_rules! handshake {
    ($origin:expr $(, $extra:expr)*) => {
        &[
            ("origin", $origin),
            ("upgrade", b"websocket"),
            ("connection", b"Upgrade"),
            ("cookie", b"sid=1"),
            $($extra,)*
        ]
    };
}

const REFUSED: Expect = Reject(K::WebSocketOriginNotTrusted);

pub(crate) const CASES: &[Case] = &[
    // Who may open a socket.
    case(
        "handshake from an untrusted origin, before routing",
        Unrouted,
        "GET",
        handshake!(UNTRUSTED_B),
        REFUSED,
    ),
    case(
        "handshake from an untrusted origin, undeclared route",
        Undeclared,
        "GET",
        handshake!(UNTRUSTED_B),
        REFUSED,
    ),
    case(
        "handshake from an untrusted origin, CORS route",
        Me,
        "GET",
        handshake!(UNTRUSTED_B),
        REFUSED,
    ),
    case(
        "handshake from an untrusted origin, route open to any origin for CORS only",
        Public,
        "GET",
        handshake!(UNTRUSTED_B),
        REFUSED,
    ),
    case(
        "handshake from an untrusted origin, server-side-only route",
        ServerSideOnly,
        "GET",
        handshake!(UNTRUSTED_B),
        REFUSED,
    ),
    case(
        "handshake from an untrusted origin without cookies",
        Unrouted,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("upgrade", b"websocket"),
            ("connection", b"Upgrade"),
        ],
        REFUSED,
    ),
    case(
        "handshake from an untrusted origin, socket declared open to any origin",
        Socket,
        "GET",
        handshake!(UNTRUSTED_B),
        Pass,
    ),
    case(
        "handshake from a trusted origin, before routing",
        Unrouted,
        "GET",
        handshake!(TRUSTED_B),
        Pass,
    ),
    case(
        "handshake from a trusted origin, CORS route: as the GET it is",
        Me,
        "GET",
        handshake!(TRUSTED_B),
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: Some("x-request-id"),
            trusted: true,
        },
    ),
    case(
        "handshake from a trusted origin, undeclared route",
        Undeclared,
        "GET",
        handshake!(TRUSTED_B),
        Pass,
    ),
    case(
        "handshake from a wildcard match",
        Unrouted,
        "GET",
        handshake!(WILDCARD_B),
        Pass,
    ),
    case(
        "handshake from an INACTIVE trusted origin",
        Unrouted,
        "GET",
        handshake!(INACTIVE_B),
        REFUSED,
    ),
    case(
        "handshake from a trusted origin without the CORS scope",
        Unrouted,
        "GET",
        handshake!(REDIRECT_ONLY_B),
        REFUSED,
    ),
    case(
        "handshake from Origin null",
        Unrouted,
        "GET",
        handshake!(b"null"),
        REFUSED,
    ),
    case(
        "handshake from a malformed origin",
        Unrouted,
        "GET",
        handshake!(b"https://app.example.com/"),
        REFUSED,
    ),
    case(
        "handshake with two Origin headers, one trusted",
        Unrouted,
        "GET",
        handshake!(TRUSTED_B, ("origin", TRUSTED_B)),
        REFUSED,
    ),
    case(
        "handshake without Origin (not a browser)",
        Unrouted,
        "GET",
        &[("upgrade", b"websocket"), ("connection", b"Upgrade")],
        NotCors,
    ),
    case(
        "same-origin handshake by Sec-Fetch-Site",
        Unrouted,
        "GET",
        handshake!(b"https://api.example", ("sec-fetch-site", b"same-origin")),
        SameOrigin,
    ),
    case(
        "same-origin handshake by Host",
        Unrouted,
        "GET",
        handshake!(b"https://api.example", ("host", b"api.example")),
        SameOrigin,
    ),
    case(
        "cross-site handshake whose Origin matches Host",
        Unrouted,
        "GET",
        handshake!(
            b"https://api.example",
            ("host", b"api.example"),
            ("sec-fetch-site", b"cross-site")
        ),
        REFUSED,
    ),
    case(
        "handshake carrying a bearer token from an untrusted origin",
        Unrouted,
        "GET",
        handshake!(UNTRUSTED_B, ("authorization", b"Bearer t")),
        REFUSED,
    ),
    case(
        "handshake carrying an API token: the credential rule first",
        Unrouted,
        "GET",
        handshake!(TRUSTED_B, ("authorization", b"SSWS 00t")),
        Reject(K::ApiTokenCrossOrigin),
    ),
    // What counts as a handshake.
    case(
        "Upgrade: WebSocket, any case",
        Unrouted,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("upgrade", b"WebSocket"),
            ("connection", b"upgrade"),
        ],
        REFUSED,
    ),
    case(
        "Upgrade: h2c, websocket",
        Unrouted,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("upgrade", b"h2c, websocket"),
            ("connection", b"Upgrade"),
        ],
        REFUSED,
    ),
    case(
        "Connection: keep-alive, Upgrade (Firefox)",
        Unrouted,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("upgrade", b"websocket"),
            ("connection", b"keep-alive, Upgrade"),
        ],
        REFUSED,
    ),
    case(
        "tabs and spaces around the tokens",
        Unrouted,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("upgrade", b"\t websocket "),
            ("connection", b"keep-alive,\tUpgrade "),
        ],
        REFUSED,
    ),
    case(
        "two Upgrade headers",
        Unrouted,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("upgrade", b"h2c"),
            ("upgrade", b"websocket"),
            ("connection", b"Upgrade"),
        ],
        REFUSED,
    ),
    case(
        "Connection: upgrade without Upgrade is a plain GET",
        Unrouted,
        "GET",
        &[("origin", UNTRUSTED_B), ("connection", b"upgrade")],
        Pass,
    ),
    case(
        "Upgrade: websocket without Connection: upgrade is a plain GET",
        Unrouted,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("upgrade", b"websocket"),
            ("connection", b"keep-alive"),
        ],
        Pass,
    ),
    case(
        "Upgrade: h2c is not a WebSocket",
        Unrouted,
        "GET",
        &[
            ("origin", UNTRUSTED_B),
            ("upgrade", b"h2c"),
            ("connection", b"Upgrade, HTTP2-Settings"),
        ],
        Pass,
    ),
    case(
        "HTTP/2 extended CONNECT from an untrusted origin",
        Unrouted,
        "CONNECT",
        &[("origin", UNTRUSTED_B), ("cookie", b"sid=1")],
        REFUSED,
    ),
    case(
        "HTTP/2 extended CONNECT from a trusted origin",
        Unrouted,
        "CONNECT",
        &[("origin", TRUSTED_B), ("cookie", b"sid=1")],
        Pass,
    ),
    case(
        "HTTP/2 extended CONNECT to a socket open to any origin",
        Socket,
        "CONNECT",
        &[("origin", UNTRUSTED_B), ("cookie", b"sid=1")],
        Pass,
    ),
    case(
        "HTTP/2 extended CONNECT from a trusted origin, CORS route: as the request it is",
        Me,
        "CONNECT",
        &[("origin", TRUSTED_B), ("cookie", b"sid=1")],
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: Some("x-request-id"),
            trusted: true,
        },
    ),
    // A socket open to any origin takes a trusted origin's handshake as the trusted origin's:
    // with its CORS headers, as on any CORS route.
    case(
        "handshake from a trusted origin, socket declared open to any origin",
        Socket,
        "GET",
        handshake!(TRUSTED_B),
        Allow {
            origin: TRUSTED,
            credentials: true,
            expose: None,
            trusted: true,
        },
    ),
];
