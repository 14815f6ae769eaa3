//! Configuration errors, returned when a layer, route policy or config is built, never deferred to
//! the first request. (A registry's errors are with the trusted origins they are about:
//! [`RegistryError`](crate::RegistryError).)

use crate::OriginError;

/// A configuration value was refused. Each variant names the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An origin in the configuration is not acceptable.
    #[error("invalid origin `{value}` in {setting}: {reason}")]
    InvalidOrigin {
        /// The setting that held it, e.g. `public_origins`.
        setting: &'static str,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: OriginError,
    },
    /// A method is not an HTTP token.
    #[error("invalid method `{0}`: methods are HTTP tokens such as GET or PUT")]
    InvalidMethod(String),
    /// `*` in `allow_methods`: with credentials browsers read it as a method named `*`, and
    /// this layer checks the requested method against the list, so it could never mean "any".
    #[error(
        "`*` in allow_methods cannot mean any method: name the methods, e.g. [\"GET\", \"PUT\"]"
    )]
    WildcardMethod,
    /// A standard method in other than upper case: methods are case-sensitive and browsers send
    /// these upper-cased, so it would never match.
    #[error("method `{given}` in allow_methods would never match: browsers send `{meant}`")]
    MethodCase {
        /// As given.
        given: String,
        /// The method browsers send.
        meant: &'static str,
    },
    /// A header name is not an HTTP token.
    #[error("invalid header name `{value}` in {setting}")]
    InvalidHeaderName {
        /// `allow_headers` or `expose_headers`.
        setting: &'static str,
        /// The value as given.
        value: String,
    },
    /// `*` was used where browsers treat it as a literal name because credentials are allowed.
    #[error("`*` in {0} is a literal header name for requests with credentials: name the headers")]
    WildcardWithCredentials(&'static str),
    /// A response header that browsers never expose to scripts.
    #[error("`{0}` can never be exposed to scripts: remove it from expose_headers")]
    ForbiddenExposeHeader(String),
    /// A route allows no method at all.
    #[error("a CORS-enabled route must allow at least one method")]
    NoMethods,
    /// A credential scheme that must never be accepted from another origin.
    #[error("the `{0}` authorization scheme can never be allowed cross-origin: only bearer-type schemes such as Bearer or DPoP")]
    ForbiddenCredentialScheme(String),
    /// A credential scheme that is not an HTTP token.
    #[error("invalid authorization scheme `{0}`")]
    InvalidCredentialScheme(String),
    /// A path pattern that is not `/segment/{param}/…` with an optional trailing `*`.
    #[error("invalid path pattern `{value}`: {reason}")]
    InvalidPathPattern {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A seed trusted origin in a configuration file is not acceptable.
    #[error("{key} = `{value}`: {reason}")]
    TrustedOrigin {
        /// Where it is, e.g. `trusted_origins[1].origin`.
        key: String,
        /// The value as written.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A rule name that is no [`RejectionKind`](crate::RejectionKind) code.
    #[error("unknown rule `{0}` in rules: the rules are api_token_cross_origin, credential_scheme_not_allowed, untrusted_cross_origin_write, route_not_cors_enabled, origin_not_trusted, method_not_allowed and header_not_allowed")]
    UnknownRule(String),
    /// A route set the mode of a rule that is judged before routing.
    #[error("the rule `{0}` is judged before routing, for every route: set its mode in the global config's rules, not on a route")]
    RuleNotPerRoute(&'static str),
    /// A route open to any origin that allows credentials.
    #[error("a route open to any origin allows no credentials: remove credentials(true)")]
    AnyOriginWithCredentials,
    /// A route name for the metrics that is empty, too long, has control characters, or is one
    /// of the reserved `guard` and `unnamed`.
    #[error("invalid route name `{0}`: 1 to 128 characters, no control characters, not `guard` or `unnamed`")]
    InvalidRouteName(String),
    /// Metrics were asked for (`metrics = true`) in a build without the `metrics` feature.
    #[error("metrics = true, but this build has no metrics: enable the `metrics` feature of trusted-cors")]
    MetricsNotCompiled,
    /// A max-age beyond what any browser honours.
    #[error("max_age of {0} seconds is more than a day, which no browser honours")]
    MaxAgeTooLong(u64),
}
