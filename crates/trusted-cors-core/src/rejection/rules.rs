//! The rules a request can break, by their stable codes, and whether each refuses or only
//! reports.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a request was refused. The [`code`](Self::code)s are stable and part of the public API.
///
/// Each kind is also the name of the rule that refuses: [`RuleMode`] sets whether it refuses
/// (`enforce`, the default) or only reports what it would refuse (`report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// A cross-origin request carried an `SSWS` API token.
    ApiTokenCrossOrigin,
    /// A cross-origin request carried another scheme than the allowed bearer-type ones.
    CredentialSchemeNotAllowed,
    /// A cross-origin unsafe method from an origin that is not trusted, without a bearer token.
    UntrustedCrossOriginWrite,
    /// A preflight to a route that is not CORS-enabled.
    RouteNotCorsEnabled,
    /// The origin is not an ACTIVE trusted origin with the CORS scope (or is malformed or `null`).
    OriginNotTrusted,
    /// The preflight asked for a method the route does not allow.
    MethodNotAllowed,
    /// The preflight asked for a header the route does not allow.
    HeaderNotAllowed,
    /// A WebSocket handshake from another origin that is not an ACTIVE trusted origin with the
    /// CORS scope (or `null`, malformed, several `Origin` headers), to a socket not declared
    /// open to any origin: cross-site WebSocket hijacking.
    WebSocketOriginNotTrusted,
}

impl RejectionKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [RejectionKind; 8] = [
        RejectionKind::ApiTokenCrossOrigin,
        RejectionKind::CredentialSchemeNotAllowed,
        RejectionKind::UntrustedCrossOriginWrite,
        RejectionKind::RouteNotCorsEnabled,
        RejectionKind::OriginNotTrusted,
        RejectionKind::MethodNotAllowed,
        RejectionKind::HeaderNotAllowed,
        RejectionKind::WebSocketOriginNotTrusted,
    ];

    /// The stable snake_case reason code, e.g. `origin_not_trusted`.
    pub const fn code(self) -> &'static str {
        match self {
            RejectionKind::ApiTokenCrossOrigin => "api_token_cross_origin",
            RejectionKind::CredentialSchemeNotAllowed => "credential_scheme_not_allowed",
            RejectionKind::UntrustedCrossOriginWrite => "untrusted_cross_origin_write",
            RejectionKind::RouteNotCorsEnabled => "route_not_cors_enabled",
            RejectionKind::OriginNotTrusted => "origin_not_trusted",
            RejectionKind::MethodNotAllowed => "method_not_allowed",
            RejectionKind::HeaderNotAllowed => "header_not_allowed",
            RejectionKind::WebSocketOriginNotTrusted => "websocket_origin_not_trusted",
        }
    }

    /// The kind whose [`code`](Self::code) this is.
    pub fn from_code(code: &str) -> Option<RejectionKind> {
        RejectionKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
    }

    /// Whether the rule is judged before routing (by the guard layer), so that only the global
    /// config can set its [`RuleMode`]: the API token and credential scheme rules, the untrusted
    /// cross-origin write rule, the refusal of preflights no declared route answered, and the
    /// WebSocket handshake rule. The others are judged by the route and may be set per route
    /// too.
    pub const fn is_global(self) -> bool {
        matches!(
            self,
            RejectionKind::ApiTokenCrossOrigin
                | RejectionKind::CredentialSchemeNotAllowed
                | RejectionKind::UntrustedCrossOriginWrite
                | RejectionKind::RouteNotCorsEnabled
                | RejectionKind::WebSocketOriginNotTrusted
        )
    }

    /// The kind's bit in a [`ReportSet`] (eight kinds fill its `u8`: widen it for a ninth).
    const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The HTTP status of the default response: 403 for every kind.
    pub const fn status(self) -> u16 {
        403
    }

    /// The Okta error code of the default response: `E0000006` (permission denied).
    pub const fn error_code(self) -> &'static str {
        "E0000006"
    }
}

/// Whether a refusing rule refuses requests or only reports the requests it would refuse.
///
/// In `report` mode the request goes on as it would without the rule, and the would-be
/// rejection is recorded as an enforced one is: the same reason and cause, logged with
/// `report_only = true`, and, when the config's
/// [`report_header`](crate::CorsConfigBuilder::report_header) is on, named in the
/// `X-Trusted-Cors-Report` response header. A rule left in `enforce` mode refuses exactly what
/// it refuses with every rule enforced.
///
/// Report mode is for rolling trusted-cors out on a live service: it weakens the rules set to
/// it. `origin_not_trusted` in report mode serves every origin as if it were trusted, with the
/// credentials the route allows; `api_token_cross_origin` lets API tokens through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RuleMode {
    /// The rule refuses (the default).
    #[default]
    Enforce,
    /// The rule only reports what it would refuse.
    Report,
}

/// The rules in report mode, one bit per [`RejectionKind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReportSet(u8);

impl ReportSet {
    pub(crate) fn contains(self, kind: RejectionKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub(crate) fn set(&mut self, kind: RejectionKind, mode: RuleMode) {
        match mode {
            RuleMode::Report => self.0 |= kind.bit(),
            RuleMode::Enforce => self.0 &= !kind.bit(),
        }
    }

    /// These rules, with `overrides` (a route's) set where it sets them.
    pub(crate) fn overridden(self, overrides: &RuleOverrides) -> ReportSet {
        ReportSet((self.0 | overrides.report.0) & !overrides.enforce.0)
    }
}

/// A route's own rule modes, over the global config's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RuleOverrides {
    pub(crate) report: ReportSet,
    pub(crate) enforce: ReportSet,
}

impl RuleOverrides {
    pub(crate) fn set(&mut self, kind: RejectionKind, mode: RuleMode) {
        let (on, off) = match mode {
            RuleMode::Report => (&mut self.report, &mut self.enforce),
            RuleMode::Enforce => (&mut self.enforce, &mut self.report),
        };
        on.set(kind, RuleMode::Report);
        off.set(kind, RuleMode::Enforce);
    }

    pub(crate) fn get(&self, kind: RejectionKind) -> Option<RuleMode> {
        if self.report.contains(kind) {
            Some(RuleMode::Report)
        } else if self.enforce.contains(kind) {
            Some(RuleMode::Enforce)
        } else {
            None
        }
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
