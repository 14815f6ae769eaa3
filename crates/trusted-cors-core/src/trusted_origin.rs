//! Okta-shaped trusted origin objects.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{RegistryError, MAX_FIELD_LEN};
use crate::{OriginError, OriginPattern};

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

/// One scope entry, in Okta's JSON shape `{"type":"CORS"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    /// The scope's type.
    #[serde(rename = "type")]
    pub kind: ScopeType,
}

impl From<ScopeType> for Scope {
    fn from(kind: ScopeType) -> Self {
        Scope { kind }
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

/// A trusted origin as the Okta Trusted Origins API shows it.
///
/// Built by [`Registry`](crate::Registry) operations, which assign `id` and the timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedOrigin {
    /// Opaque, unique identifier, e.g. `tosue7JvguwJ7U6kz0g3`.
    pub id: String,
    /// Unique display name.
    pub name: String,
    /// The canonical origin or wildcard pattern.
    pub origin: OriginPattern,
    /// What the origin is trusted for.
    pub scopes: Vec<Scope>,
    /// Whether the entry is in force.
    pub status: Status,
    /// When the entry was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Who created it, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// When the entry last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub last_updated: OffsetDateTime,
    /// Who last changed it, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
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

    pub(crate) fn scope_bits(&self) -> u8 {
        self.scopes.iter().fold(0, |bits, s| bits | s.kind.bit())
    }
}

/// What an administrator supplies to create or replace a trusted origin.
///
/// The registry accepts it by these rules (and refuses it with a [`RegistryError`] naming the
/// field otherwise): a name of 1 to 255 characters (trimmed), an origin of at most 255
/// characters (as in Okta) that parses as an origin or a wildcard pattern, at least one scope,
/// and no plain-`http` wildcard trusted for CORS. Names and origins must also be unique.
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
    /// [`NewTrustedOrigin`]), and returns the normalised parts.
    pub(crate) fn validate(&self) -> Result<ValidTrustedOrigin, RegistryError> {
        let name = check_name(&self.name)?;
        if self.origin.chars().count() > MAX_FIELD_LEN {
            return Err(RegistryError::OriginTooLong);
        }
        let origin =
            OriginPattern::parse(&self.origin).map_err(|reason| RegistryError::InvalidOrigin {
                value: self.origin.clone(),
                reason,
            })?;
        let scopes = check_scopes(&self.scopes, &origin, &self.origin)?;
        Ok(ValidTrustedOrigin {
            name: name.to_owned(),
            origin,
            scopes,
            status: self.status,
        })
    }
}

/// A [`NewTrustedOrigin`] that passed [`NewTrustedOrigin::validate`]: trimmed name, canonical
/// origin, sorted scopes without repeats. Only uniqueness is left to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidTrustedOrigin {
    /// The trimmed name.
    pub(crate) name: String,
    /// The canonical origin or wildcard pattern.
    pub(crate) origin: OriginPattern,
    /// The scopes, sorted, each once.
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
        check_scopes(&self.scopes, &self.origin, origin).map(drop)
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

/// The scopes sorted without repeats, when there is one and they suit the origin.
fn check_scopes(
    scopes: &[Scope],
    origin: &OriginPattern,
    as_given: &str,
) -> Result<Vec<Scope>, RegistryError> {
    let mut scopes = scopes.to_vec();
    scopes.sort_by_key(|s| s.kind);
    scopes.dedup();
    if scopes.is_empty() {
        return Err(RegistryError::NoScopes);
    }
    // CORS-scoped entries are trusted with cookies; a wildcard over plain http would hand them to
    // anyone on the network path.
    if origin.is_wildcard()
        && origin.scheme() == "http"
        && scopes.iter().any(|s| s.kind == ScopeType::Cors)
    {
        return Err(RegistryError::InvalidOrigin {
            value: as_given.to_owned(),
            reason: OriginError::InsecureWildcard,
        });
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_in_okta_field_names() {
        let origin = TrustedOrigin {
            id: "tosue7JvguwJ7U6kz0g3".into(),
            name: "Shop".into(),
            origin: OriginPattern::parse("https://shop.example.com").unwrap(),
            scopes: vec![ScopeType::Cors.into(), ScopeType::IframeEmbed.into()],
            status: Status::Inactive,
            created: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            created_by: Some("00u1".into()),
            last_updated: OffsetDateTime::from_unix_timestamp(1_700_000_060).unwrap(),
            last_updated_by: None,
        };
        let json = serde_json::to_value(&origin).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "tosue7JvguwJ7U6kz0g3",
                "name": "Shop",
                "origin": "https://shop.example.com",
                "scopes": [{"type": "CORS"}, {"type": "IFRAME_EMBED"}],
                "status": "INACTIVE",
                "created": "2023-11-14T22:13:20Z",
                "createdBy": "00u1",
                "lastUpdated": "2023-11-14T22:14:20Z",
            })
        );
        let back: TrustedOrigin = serde_json::from_value(json).unwrap();
        assert_eq!(back, origin);
    }

    #[test]
    fn validate_normalises_and_names_the_field() {
        let valid =
            NewTrustedOrigin::new(" Shop ", "HTTPS://Shop.Example.com:443", [ScopeType::Cors])
                .validate()
                .unwrap();
        assert_eq!(valid.name, "Shop");
        assert_eq!(valid.origin.as_str(), "https://shop.example.com");

        let error = NewTrustedOrigin::new("Shop", "shop.example.com", [ScopeType::Cors])
            .validate()
            .unwrap_err();
        assert_eq!(error.field(), "origin");
    }

    #[test]
    fn new_origin_defaults_to_active() {
        let new: NewTrustedOrigin = serde_json::from_str(
            r#"{"name":"A","origin":"https://a.example","scopes":[{"type":"REDIRECT"}]}"#,
        )
        .unwrap();
        assert_eq!(new.status, None);
        assert_eq!(
            new.scopes,
            vec![Scope {
                kind: ScopeType::Redirect
            }]
        );
    }
}
