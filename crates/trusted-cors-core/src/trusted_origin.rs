//! Okta-shaped trusted origin objects.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{OriginError, OriginPattern};

/// The longest name or origin an entry may have, as in Okta.
pub(crate) const MAX_FIELD_LEN: usize = 255;

/// Why a registry change was refused. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No entry has this id.
    #[error("no trusted origin has the id `{0}`")]
    NotFound(String),
    /// Two of the entries being loaded have this id.
    #[error("two trusted origins have the id `{0}`")]
    DuplicateId(String),
    /// Another entry already has this name.
    #[error("a trusted origin named `{0}` already exists")]
    DuplicateName(String),
    /// Another entry already has this origin.
    #[error("the origin `{0}` is already a trusted origin")]
    DuplicateOrigin(String),
    /// The origin is not acceptable.
    #[error("invalid origin `{value}`: {reason}")]
    InvalidOrigin {
        /// The origin as given.
        value: String,
        /// Why it was refused.
        reason: OriginError,
    },
    /// The name is empty or too long.
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// No scope was given.
    #[error("a trusted origin needs at least one scope (CORS, REDIRECT or IFRAME_EMBED)")]
    NoScopes,
    /// The origin is longer than 255 characters (as in Okta).
    #[error("the origin is longer than {MAX_FIELD_LEN} characters")]
    OriginTooLong,
    /// A scope other than `IFRAME_EMBED` lists Okta applications (`allowedOktaApps`).
    #[error("allowedOktaApps is for the IFRAME_EMBED scope only, not {0}")]
    OktaAppsOutsideIframeEmbed(ScopeType),
}

impl RegistryError {
    /// The request field the error is about (`name`, `origin`, `scopes`, `allowedOktaApps` or
    /// `id`), for API error causes.
    pub fn field(&self) -> &'static str {
        match self {
            RegistryError::NotFound(_) | RegistryError::DuplicateId(_) => "id",
            RegistryError::DuplicateName(_) | RegistryError::InvalidName(_) => "name",
            RegistryError::DuplicateOrigin(_)
            | RegistryError::InvalidOrigin { .. }
            | RegistryError::OriginTooLong => "origin",
            RegistryError::NoScopes => "scopes",
            RegistryError::OktaAppsOutsideIframeEmbed(_) => "allowedOktaApps",
        }
    }
}

/// What a trusted origin is trusted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ScopeType {
    /// May call CORS-enabled routes from a browser, with cookies where the route allows them.
    Cors,
    /// May be the target of a redirect after sign-in or sign-out.
    Redirect,
    /// May embed this service's pages in an iframe.
    IframeEmbed,
}

impl ScopeType {
    pub(crate) const fn bit(self) -> u8 {
        match self {
            ScopeType::Cors => 1,
            ScopeType::Redirect => 2,
            ScopeType::IframeEmbed => 4,
        }
    }

    /// The Okta name, e.g. `CORS`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScopeType::Cors => "CORS",
            ScopeType::Redirect => "REDIRECT",
            ScopeType::IframeEmbed => "IFRAME_EMBED",
        }
    }
}

impl fmt::Display for ScopeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Okta application whose pages an `IFRAME_EMBED` trusted origin may frame besides the
/// sign-in page (Okta's `allowedOktaApps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OktaApp {
    /// `OKTA_ENDUSER`: the end-user dashboard and its pages.
    OktaEnduser,
}

impl OktaApp {
    /// Every Okta application a scope may list.
    pub const ALL: [OktaApp; 1] = [OktaApp::OktaEnduser];

    /// The Okta name, e.g. `OKTA_ENDUSER`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OktaApp::OktaEnduser => "OKTA_ENDUSER",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            OktaApp::OktaEnduser => 1,
        }
    }
}

/// The Okta applications a scope lists (Okta's `allowedOktaApps`): a set, one bit per
/// application, in JSON the list of their names in the order of [`OktaApp::ALL`].
///
/// ```
/// use trusted_cors_core::{OktaApp, OktaApps};
///
/// let apps: OktaApps = [OktaApp::OktaEnduser, OktaApp::OktaEnduser].into_iter().collect();
/// assert!(apps.contains(OktaApp::OktaEnduser));
/// assert_eq!(apps.iter().collect::<Vec<_>>(), [OktaApp::OktaEnduser]);
/// assert_eq!(serde_json::to_string(&apps).unwrap(), r#"["OKTA_ENDUSER"]"#);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct OktaApps(u8);

impl OktaApps {
    /// No application.
    pub const fn new() -> Self {
        OktaApps(0)
    }

    /// Whether `app` is in the set.
    pub const fn contains(self, app: OktaApp) -> bool {
        self.0 & app.bit() != 0
    }

    /// Adds `app`; adding it again changes nothing.
    pub fn insert(&mut self, app: OktaApp) {
        self.0 |= app.bit();
    }

    /// Whether the set is empty.
    pub const fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The applications, in the order of [`OktaApp::ALL`].
    pub fn iter(self) -> impl Iterator<Item = OktaApp> {
        OktaApp::ALL
            .into_iter()
            .filter(move |app| self.contains(*app))
    }
}

impl FromIterator<OktaApp> for OktaApps {
    fn from_iter<I: IntoIterator<Item = OktaApp>>(apps: I) -> Self {
        let mut set = OktaApps::new();
        set.extend(apps);
        set
    }
}

impl Extend<OktaApp> for OktaApps {
    fn extend<I: IntoIterator<Item = OktaApp>>(&mut self, apps: I) {
        for app in apps {
            self.insert(app);
        }
    }
}

impl fmt::Debug for OktaApps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for OktaApps {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for OktaApps {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<OktaApp>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

impl fmt::Display for OktaApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One scope entry, in Okta's JSON shape `{"type":"CORS"}` or
/// `{"type":"IFRAME_EMBED","allowedOktaApps":["OKTA_ENDUSER"]}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// The scope's type.
    #[serde(rename = "type")]
    pub kind: ScopeType,
    /// For `IFRAME_EMBED` only: the Okta applications the origin may frame besides the sign-in
    /// page (empty: the sign-in page only). Any other scope listing one is refused.
    #[serde(default, skip_serializing_if = "OktaApps::is_empty")]
    pub allowed_okta_apps: OktaApps,
}

impl From<ScopeType> for Scope {
    fn from(kind: ScopeType) -> Self {
        Scope {
            kind,
            allowed_okta_apps: OktaApps::new(),
        }
    }
}

impl Scope {
    /// An `IFRAME_EMBED` scope that lets the origin frame `apps` too, besides the sign-in page.
    pub fn iframe_embed(apps: impl IntoIterator<Item = OktaApp>) -> Self {
        Scope {
            kind: ScopeType::IframeEmbed,
            allowed_okta_apps: apps.into_iter().collect(),
        }
    }
}

/// Whether a trusted origin is in force. An inactive entry stays listed but trusts nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// In force.
    #[default]
    Active,
    /// Kept in the list, trusted for nothing.
    Inactive,
}

/// An instant to the millisecond, in UTC: when a [`TrustedOrigin`] was created or last changed.
/// Eight bytes (the milliseconds since the Unix epoch), where a `time::OffsetDateTime` takes
/// sixteen; in JSON an RFC 3339 string, as Okta shows it (`2023-11-14T22:13:20.123Z`).
///
/// ```
/// use trusted_cors_core::Timestamp;
///
/// let at = Timestamp::from_unix_millis(1_700_000_000_123).unwrap();
/// assert_eq!(serde_json::to_string(&at).unwrap(), r#""2023-11-14T22:13:20.123Z""#);
/// let to_the_nanosecond = time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
/// assert_eq!(Timestamp::from(to_the_nanosecond), at);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Now, to the millisecond.
    pub fn now() -> Self {
        Timestamp::from(OffsetDateTime::now_utc())
    }

    /// The instant `millis` milliseconds after the Unix epoch (before it, if negative); `None`
    /// outside the years `time::OffsetDateTime` holds.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .ok()
            .map(|_| Timestamp(millis))
    }

    /// The milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// As a `time::OffsetDateTime` in UTC.
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        // Always in range: a timestamp is made from one, or checked by `from_unix_millis`.
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The millisecond the instant falls in (the nanoseconds after it dropped).
impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        let millis = at.unix_timestamp_nanos().div_euclid(1_000_000);
        // `OffsetDateTime` holds at most ±999 999 years: always fits.
        Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(at: Timestamp) -> Self {
        at.to_offset_date_time()
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// RFC 3339, e.g. `2023-11-14T22:13:20.123Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self
            .to_offset_date_time()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::serialize(&self.to_offset_date_time(), serializer)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        time::serde::rfc3339::deserialize(deserializer).map(Timestamp::from)
    }
}

/// A trusted origin as the Okta Trusted Origins API shows it.
///
/// Built by [`Registry`](crate::Registry) operations, which assign `id` and the timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedOrigin {
    /// Opaque, unique identifier, e.g. `tosue7JvguwJ7U6kz0g3`.
    pub id: Box<str>,
    /// Unique display name.
    pub name: Box<str>,
    /// The canonical origin or wildcard pattern.
    pub origin: OriginPattern,
    /// What the origin is trusted for.
    pub scopes: Vec<Scope>,
    /// Whether the entry is in force.
    pub status: Status,
    /// When the entry was created.
    pub created: Timestamp,
    /// Who created it, if known. Shared: the entries a registry loads with the same actor hold
    /// one copy of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Arc<str>>,
    /// When the entry last changed.
    pub last_updated: Timestamp,
    /// Who last changed it, if known (shared as `created_by` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<Arc<str>>,
}

impl TrustedOrigin {
    /// Whether the entry has the scope, whatever its status.
    pub fn has_scope(&self, scope: ScopeType) -> bool {
        self.scopes.iter().any(|s| s.kind == scope)
    }

    /// Whether the entry is ACTIVE and has the scope.
    pub fn grants(&self, scope: ScopeType) -> bool {
        self.status == Status::Active && self.has_scope(scope)
    }

    /// Whether the entry is ACTIVE and its `IFRAME_EMBED` scope lists `app`: it may frame that
    /// application's pages, not only the sign-in page.
    pub fn frames_okta_app(&self, app: OktaApp) -> bool {
        self.status == Status::Active
            && self
                .scopes
                .iter()
                .any(|s| s.kind == ScopeType::IframeEmbed && s.allowed_okta_apps.contains(app))
    }

    pub(crate) fn scope_bits(&self) -> u8 {
        self.scopes.iter().fold(0, |bits, s| bits | s.kind.bit())
    }
}

/// What an administrator supplies to create or replace a trusted origin.
///
/// The registry accepts it by these rules (and refuses it with a [`RegistryError`] naming the
/// field otherwise): a name of 1 to 255 characters (trimmed), an origin of at most 255
/// characters (as in Okta) that parses as an origin or a wildcard pattern, at least one scope,
/// no Okta application (`allowedOktaApps`) listed on a scope other than `IFRAME_EMBED`, and no
/// plain-`http` wildcard trusted for CORS. Names and origins must also be unique.
///
/// ```
/// use trusted_cors_core::{NewTrustedOrigin, ScopeType};
///
/// let new = NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors, ScopeType::Redirect]);
/// assert_eq!(new.origin, "https://shop.example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTrustedOrigin {
    /// Unique display name.
    pub name: String,
    /// The origin or wildcard pattern, as typed; it is normalised on the way in.
    pub origin: String,
    /// What the origin is trusted for.
    pub scopes: Vec<Scope>,
    /// The status: when absent, a created entry is ACTIVE and a replaced one keeps its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

impl NewTrustedOrigin {
    /// An ACTIVE entry with the given scopes.
    pub fn new(
        name: impl Into<String>,
        origin: impl Into<String>,
        scopes: impl IntoIterator<Item = ScopeType>,
    ) -> Self {
        NewTrustedOrigin {
            name: name.into(),
            origin: origin.into(),
            scopes: scopes.into_iter().map(Scope::from).collect(),
            status: None,
        }
    }

    /// The same entry with an explicit status.
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// Checks the entry on its own, by every rule the registry applies except uniqueness (see
    /// [`NewTrustedOrigin`]), and returns the normalised parts; the first of
    /// [`errors`](Self::errors) otherwise.
    pub(crate) fn validate(&self) -> Result<ValidTrustedOrigin, RegistryError> {
        let (name, origin, scopes) = self.check_fields();
        let (name, origin, scopes) = (name?, origin?, scopes?);
        check_wildcard(&origin, &scopes, &self.origin)?;
        Ok(ValidTrustedOrigin {
            name: name.to_owned(),
            origin,
            scopes,
            status: self.status,
        })
    }

    /// Every rule the registry applies to a new entry (except uniqueness) that it breaks, at most one per field, in the
    /// order name, origin, scopes: empty when it would pass. For a form that shows every wrong
    /// field of a save at once.
    ///
    /// ```
    /// use trusted_cors_core::NewTrustedOrigin;
    ///
    /// let errors = NewTrustedOrigin::new(" ", "shop.example.com", []).errors();
    /// let fields: Vec<_> = errors.iter().map(|e| e.field()).collect();
    /// assert_eq!(fields, ["name", "origin", "scopes"]);
    /// ```
    #[must_use]
    pub fn errors(&self) -> Vec<RegistryError> {
        let (name, origin, scopes) = self.check_fields();
        let wildcard = match (&origin, &scopes) {
            (Ok(origin), Ok(scopes)) => check_wildcard(origin, scopes, &self.origin).err(),
            _ => None,
        };
        [name.err(), origin.err(), wildcard, scopes.err()]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Each field checked on its own; the rule that ties the origin to the scopes is
    /// [`check_wildcard`].
    fn check_fields(&self) -> CheckedFields<'_> {
        let origin = if self.origin.chars().count() > MAX_FIELD_LEN {
            Err(RegistryError::OriginTooLong)
        } else {
            OriginPattern::parse(&self.origin).map_err(|reason| RegistryError::InvalidOrigin {
                value: self.origin.clone(),
                reason,
            })
        };
        (check_name(&self.name), origin, check_scopes(&self.scopes))
    }
}

/// The name, the origin and the scopes of a [`NewTrustedOrigin`], each checked on its own.
type CheckedFields<'a> = (
    Result<&'a str, RegistryError>,
    Result<OriginPattern, RegistryError>,
    Result<Vec<Scope>, RegistryError>,
);

/// A [`NewTrustedOrigin`] that passed [`NewTrustedOrigin::validate`]: trimmed name, canonical
/// origin, the scopes in the order given, each type once. Only uniqueness is left to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidTrustedOrigin {
    /// The trimmed name.
    pub(crate) name: String,
    /// The canonical origin or wildcard pattern.
    pub(crate) origin: OriginPattern,
    /// The scopes in the order given, each type once (a repeated type's Okta applications
    /// joined to its first).
    pub(crate) scopes: Vec<Scope>,
    /// The status, as given.
    pub(crate) status: Option<Status>,
}

impl TrustedOrigin {
    /// Checks an existing entry (e.g. loaded from a store) by the rules of
    /// [`NewTrustedOrigin::validate`]. Its origin is canonical already (an [`OriginPattern`]
    /// exists only parsed), so it is not parsed again.
    pub(crate) fn check_rules(&self) -> Result<(), RegistryError> {
        check_name(&self.name)?;
        let origin = self.origin.as_str();
        if origin.chars().count() > MAX_FIELD_LEN {
            return Err(RegistryError::OriginTooLong);
        }
        check_wildcard(&self.origin, &check_scopes(&self.scopes)?, origin)
    }
}

/// The trimmed name, when it has 1 to [`MAX_FIELD_LEN`] characters.
fn check_name(name: &str) -> Result<&str, RegistryError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(RegistryError::InvalidName("the name is empty"));
    }
    if name.chars().count() > MAX_FIELD_LEN {
        return Err(RegistryError::InvalidName(
            "the name is longer than 255 characters",
        ));
    }
    Ok(name)
}

/// The scopes in the order given, each type once (Terraform keeps `scopes` as an ordered list,
/// so a reordering would show as a change), when there is one and only `IFRAME_EMBED` lists Okta
/// applications.
fn check_scopes(given: &[Scope]) -> Result<Vec<Scope>, RegistryError> {
    let mut scopes: Vec<Scope> = Vec::with_capacity(given.len());
    for scope in given {
        if scope.kind != ScopeType::IframeEmbed && !scope.allowed_okta_apps.is_empty() {
            return Err(RegistryError::OktaAppsOutsideIframeEmbed(scope.kind));
        }
        let kept = match scopes.iter_mut().find(|s| s.kind == scope.kind) {
            Some(kept) => kept,
            None => {
                scopes.push(Scope::from(scope.kind));
                scopes.last_mut().expect("just pushed")
            }
        };
        kept.allowed_okta_apps
            .extend(scope.allowed_okta_apps.iter());
    }
    if scopes.is_empty() {
        return Err(RegistryError::NoScopes);
    }
    Ok(scopes)
}

/// No wildcard over plain `http` trusted for CORS: CORS-scoped entries are trusted with cookies,
/// and such a wildcard would hand them to anyone on the network path. `as_given` is the origin
/// as the caller wrote it, for the error.
fn check_wildcard(
    origin: &OriginPattern,
    scopes: &[Scope],
    as_given: &str,
) -> Result<(), RegistryError> {
    if origin.is_wildcard()
        && origin.scheme() == "http"
        && scopes.iter().any(|s| s.kind == ScopeType::Cors)
    {
        return Err(RegistryError::InvalidOrigin {
            value: as_given.to_owned(),
            reason: OriginError::InsecureWildcard,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
