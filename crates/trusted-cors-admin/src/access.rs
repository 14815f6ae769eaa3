//! OAuth 2.0 access tokens for the Trusted Origins API: Okta's scopes, what a token grants, and
//! the authorizer the application supplies to check tokens.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use crate::tokens::ApiTokens;

/// A scope of the Trusted Origins API, as Okta names it.
///
/// ```
/// use trusted_cors_admin::ApiScope;
///
/// let scope: ApiScope = "okta.trustedOrigins.manage".parse()?;
/// assert_eq!(scope, ApiScope::Manage);
/// assert!(scope.covers(ApiScope::Read)); // manage implies read, as in Okta
/// assert!(!ApiScope::Read.covers(ApiScope::Manage));
/// assert!("okta.users.read".parse::<ApiScope>().is_err());
/// # Ok::<(), trusted_cors_admin::UnknownScope>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ApiScope {
    /// `okta.trustedOrigins.read`: list and get trusted origins.
    Read,
    /// `okta.trustedOrigins.manage`: create, replace, delete, activate and deactivate them;
    /// implies `okta.trustedOrigins.read`.
    Manage,
}

impl ApiScope {
    /// Every scope.
    pub const ALL: [ApiScope; 2] = [ApiScope::Read, ApiScope::Manage];

    /// The scope's name, e.g. `okta.trustedOrigins.read`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Read => "okta.trustedOrigins.read",
            ApiScope::Manage => "okta.trustedOrigins.manage",
        }
    }

    /// Whether a token with this scope may do what `needed` allows.
    pub fn covers(self, needed: ApiScope) -> bool {
        self == needed || (self == ApiScope::Manage && needed == ApiScope::Read)
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiScope {
    type Err = UnknownScope;

    /// Reads a scope's exact name (scope names are case-sensitive).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ApiScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == name)
            .ok_or_else(|| UnknownScope(name.to_owned()))
    }
}

/// A scope name that is not one of the Trusted Origins API's: names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}`: the Trusted Origins API's scopes are okta.trustedOrigins.read and okta.trustedOrigins.manage")]
pub struct UnknownScope(String);

impl UnknownScope {
    /// The name that was not recognised.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// What a valid access token grants: its subject, recorded as the actor of the changes made
/// with it (`createdBy`, `lastUpdatedBy`, the audit trail), and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    subject: String,
    scopes: Vec<ApiScope>,
}

impl Grant {
    /// A grant of `scopes` to `subject` (e.g. the user's login, or a service app's client id).
    pub fn new(subject: impl Into<String>, scopes: impl IntoIterator<Item = ApiScope>) -> Self {
        let mut scopes: Vec<ApiScope> = scopes.into_iter().collect();
        scopes.sort_unstable();
        scopes.dedup();
        Grant {
            subject: subject.into(),
            scopes,
        }
    }

    /// Who the token was issued to.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The scopes granted, each once.
    pub fn scopes(&self) -> &[ApiScope] {
        &self.scopes
    }

    /// Whether the grant allows what `needed` allows (`okta.trustedOrigins.manage` implies
    /// `okta.trustedOrigins.read`).
    pub fn allows(&self, needed: ApiScope) -> bool {
        self.scopes.iter().any(|scope| scope.covers(needed))
    }
}

/// An access token could not be checked (e.g. the authorization server did not answer its
/// introspection request). The API answers 503 with `Retry-After`; the token is neither accepted
/// nor called invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthorizerError(String);

impl AuthorizerError {
    /// An error saying what could not be done, e.g. `the authorization server did not answer`.
    pub fn new(message: impl Into<String>) -> Self {
        AuthorizerError(message.into())
    }
}

/// What [`AccessTokenAuthorizer::authorize`] returns: a boxed future, so that authorizers can be
/// used as `Arc<dyn AccessTokenAuthorizer>`.
pub type AuthorizeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Grant>, AuthorizerError>> + Send + 'a>>;

/// Checks the OAuth 2.0 access tokens presented to the Trusted Origins API as
/// `Authorization: Bearer <token>` ([`TrustedOriginsApi::with_authorizer`]).
///
/// Return the token's [`Grant`] when it is valid (unexpired, issued for this API, not revoked),
/// `Ok(None)` when it is not (the API answers 401 `E0000011`), and an [`AuthorizerError`] when
/// it cannot be told (503). The API then checks the grant's scopes itself: 403 `E0000006`
/// naming the missing scope. Asynchronous, so that an implementation can validate a JWT against
/// keys it fetches, or ask the authorization server (RFC 7662 introspection); compare secrets in
/// constant time, as [`StaticAccessTokens`] does.
///
/// ```
/// use trusted_cors_admin::{AccessTokenAuthorizer, ApiScope, AuthorizeFuture, Grant};
///
/// /// Tokens introspected by the authorization server (here, a stand-in).
/// #[derive(Debug)]
/// struct Introspection;
///
/// impl AccessTokenAuthorizer for Introspection {
///     fn authorize<'a>(&'a self, token: &'a str) -> AuthorizeFuture<'a> {
///         Box::pin(async move {
///             // … POST the token to the introspection endpoint; the answer says:
///             let (active, subject, scope) = (token == "at-ops", "ops@example.com", "okta.trustedOrigins.read openid");
///             Ok(active.then(|| {
///                 // Scopes of other APIs are not the Trusted Origins API's business.
///                 Grant::new(subject, scope.split(' ').filter_map(|name| name.parse().ok()))
///             }))
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let grant = Introspection.authorize("at-ops").await.unwrap().unwrap();
/// assert_eq!(grant.scopes(), [ApiScope::Read]);
/// assert!(Introspection.authorize("at-other").await.unwrap().is_none());
/// # }
/// ```
///
/// [`TrustedOriginsApi::with_authorizer`]: crate::TrustedOriginsApi::with_authorizer
pub trait AccessTokenAuthorizer: Send + Sync + fmt::Debug + 'static {
    /// The grant of `token` (the text after `Bearer `), if it is a valid access token.
    fn authorize<'a>(&'a self, token: &'a str) -> AuthorizeFuture<'a>;
}

impl<A: AccessTokenAuthorizer + ?Sized> AccessTokenAuthorizer for Arc<A> {
    fn authorize<'a>(&'a self, token: &'a str) -> AuthorizeFuture<'a> {
        (**self).authorize(token)
    }
}

/// Access tokens known in advance (e.g. from a configuration file), each with its grant. Like the
/// `SSWS` tokens, they are kept only as SHA-256 digests and compared in constant time.
///
/// ```
/// use trusted_cors_admin::{AccessTokenAuthorizer, ApiScope, Grant, StaticAccessTokens};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let tokens = StaticAccessTokens::new([
///     ("at-ada", Grant::new("ada@example.com", [ApiScope::Manage])),
///     ("at-grace", Grant::new("grace@example.com", [ApiScope::Read])),
/// ]);
/// assert_eq!(tokens.grant("at-grace").map(Grant::subject), Some("grace@example.com"));
/// assert_eq!(tokens.grant("at-nobody"), None);
/// let grant = tokens.authorize("at-ada").await.unwrap().unwrap();
/// assert!(grant.allows(ApiScope::Read));
/// # }
/// ```
#[derive(Clone)]
pub struct StaticAccessTokens {
    tokens: ApiTokens,
    grants: Arc<[Grant]>,
}

impl StaticAccessTokens {
    /// The tokens and what each grants. When a token is listed twice, its first grant counts.
    pub fn new<I, T>(tokens: I) -> Self
    where
        I: IntoIterator<Item = (T, Grant)>,
        T: AsRef<str>,
    {
        let (tokens, grants): (Vec<T>, Vec<Grant>) = tokens.into_iter().unzip();
        StaticAccessTokens {
            tokens: ApiTokens::new(tokens),
            grants: grants.into(),
        }
    }

    /// The grant of `token`, if it is one of the tokens.
    pub fn grant(&self, token: &str) -> Option<&Grant> {
        self.grants.get(self.tokens.find(token.as_bytes())?)
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for StaticAccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The subjects and scopes, never the tokens.
        f.debug_struct("StaticAccessTokens")
            .field("grants", &self.grants)
            .finish()
    }
}

impl AccessTokenAuthorizer for StaticAccessTokens {
    fn authorize<'a>(&'a self, token: &'a str) -> AuthorizeFuture<'a> {
        Box::pin(std::future::ready(Ok(self.grant(token).cloned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_by_exact_name_and_manage_implies_read() {
        for scope in ApiScope::ALL {
            assert_eq!(scope.as_str().parse::<ApiScope>(), Ok(scope));
            assert_eq!(scope.to_string(), scope.as_str());
            assert!(scope.covers(scope));
        }
        for wrong in [
            "",
            "okta.trustedorigins.read",
            "okta.trustedOrigins.write",
            " okta.trustedOrigins.read",
        ] {
            let error = wrong.parse::<ApiScope>().unwrap_err();
            assert_eq!(error.name(), wrong);
            assert!(error.to_string().contains("okta.trustedOrigins.manage"));
        }
        assert!(ApiScope::Manage.covers(ApiScope::Read));
        assert!(!ApiScope::Read.covers(ApiScope::Manage));
    }

    #[test]
    fn grants_keep_each_scope_once() {
        let grant = Grant::new("ops", [ApiScope::Manage, ApiScope::Read, ApiScope::Manage]);
        assert_eq!(grant.scopes(), [ApiScope::Read, ApiScope::Manage]);
        assert!(grant.allows(ApiScope::Read) && grant.allows(ApiScope::Manage));
        let none = Grant::new("nobody", []);
        assert!(!none.allows(ApiScope::Read));
        assert!(!Grant::new("reader", [ApiScope::Read]).allows(ApiScope::Manage));
    }

    #[test]
    fn static_tokens_match_exactly_and_never_show_the_token() {
        let tokens = StaticAccessTokens::new([
            ("at-one", Grant::new("one", [ApiScope::Read])),
            ("at-two", Grant::new("two", [ApiScope::Manage])),
            ("at-one", Grant::new("shadowed", [ApiScope::Manage])),
        ]);
        assert_eq!(tokens.len(), 3);
        assert_eq!(tokens.grant("at-one").map(Grant::subject), Some("one"));
        assert_eq!(tokens.grant("at-two").map(Grant::subject), Some("two"));
        for wrong in ["at-on", "at-one ", "AT-ONE", "", "at-three"] {
            assert_eq!(tokens.grant(wrong), None, "{wrong:?}");
        }
        let shown = format!("{tokens:?}");
        assert!(
            !shown.contains("at-one") && shown.contains("one"),
            "{shown}"
        );
        assert!(StaticAccessTokens::new(Vec::<(String, Grant)>::new()).is_empty());
    }
}
