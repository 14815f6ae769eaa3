//! The decision table: each case a request (route, method, headers) and what the decision must
//! answer, in three parts.

mod actual;
mod before_routing;
mod preflights;
mod websockets;

use trusted_cors_core::RejectionKind;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Route {
    Unrouted,
    Undeclared,
    ServerSideOnly,
    Me,
    User,
    NoCookies,
    Public,
    /// Declared `websocket_from_any_origin`.
    Socket,
}

#[derive(Debug)]
pub(crate) enum Expect {
    NotCors,
    SameOrigin,
    Pass,
    Defer,
    Preflight {
        origin: &'static str,
        credentials: bool,
        methods: &'static str,
        headers: &'static str,
    },
    Allow {
        origin: &'static str,
        credentials: bool,
        expose: Option<&'static str>,
        trusted: bool,
    },
    Reject(RejectionKind),
}

pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) route: Route,
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) headers: &'static [(&'static str, &'static [u8])],
    pub(crate) expect: Expect,
}

const fn case(
    name: &'static str,
    route: Route,
    method: &'static str,
    headers: &'static [(&'static str, &'static [u8])],
    expect: Expect,
) -> Case {
    Case {
        name,
        route,
        method,
        path: "/api/v1/users/me",
        headers,
        expect,
    }
}

/// Every case, part by part.
pub(crate) fn all() -> impl Iterator<Item = &'static Case> {
    [
        before_routing::CASES,
        preflights::CASES,
        actual::CASES,
        websockets::CASES,
    ]
    .into_iter()
    .flatten()
}

/// Header values of the cases.
pub(crate) const TRUSTED_B: &[u8] = super::common::TRUSTED.as_bytes();
pub(crate) const WILDCARD_B: &[u8] = super::common::WILDCARD_MATCH.as_bytes();
pub(crate) const INACTIVE_B: &[u8] = super::common::INACTIVE.as_bytes();
pub(crate) const REDIRECT_ONLY_B: &[u8] = super::common::REDIRECT_ONLY.as_bytes();
pub(crate) const UNTRUSTED_B: &[u8] = super::common::UNTRUSTED.as_bytes();
pub(crate) const CAPACITOR_B: &[u8] = super::common::CAPACITOR.as_bytes();
pub(crate) const EXTENSION_B: &[u8] = super::common::EXTENSION.as_bytes();
pub(crate) const COMMA_BOMB: &[u8] = &[b','; 5000];
