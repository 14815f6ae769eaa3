//! The audit trail: every change to a trusted origin as a value ([`ChangeEvent`]) and as one
//! structured `tracing` event on target [`AUDIT_TARGET`].

use std::fmt;

use crate::registry::{Edit, Prepared};
use crate::trusted_origin::{Status, TrustedOrigin};

/// The `tracing` target of the audit trail: one INFO event for every change to a trusted origin.
///
/// A change is recorded once, by the instance that makes it, when it is made:
/// [`Registry::change`](crate::Registry::change) (and so `create`, `replace`, `delete`, …)
/// records the changes made in memory, and `TrustedOrigins::change` (crate
/// `trusted-cors-admin`, behind the Trusted Origins API) the ones its store commits. Changes that
/// other instances commit and this one only applies are recorded by them, not again here: the
/// audit trail of a fleet is the union of its instances' trails. Loading entries whole
/// (`Registry::from_origins`, `with_origins`, `reset_at`) records nothing, as it shows what was
/// already recorded; [`Registry::reset`](crate::Registry::reset), which replaces every entry,
/// records one event with `action = "reset"`, `origins` (how many) and `revision`.
///
/// The fields of a change's event ([`ChangeEvent::audit`]):
///
/// | field | value |
/// |---|---|
/// | `actor` | who made the change (absent when unknown) |
/// | `action` | `create`, `replace`, `activate`, `deactivate` or `delete` ([`ChangeAction`]) |
/// | `id` | the entry's id |
/// | `origin` | the entry's origin: after the change, before it for a delete |
/// | `before` | the entry before, as compact JSON (absent for a create) |
/// | `after` | the entry after, as compact JSON (absent for a delete) |
/// | `revision` | the revision of the change |
///
/// ```
/// use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType};
///
/// // With a `tracing` subscriber installed, this logs on target `trusted_cors::audit`:
/// // actor="ada@example.com" action="create" id="tos…" origin="https://shop.example.com"
/// // after={"id":"tos…",…} revision=1
/// let registry = Registry::new();
/// let new = NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]);
/// registry.create_by(new, Some("ada@example.com"))?;
/// # Ok::<(), trusted_cors_core::RegistryError>(())
/// ```
pub const AUDIT_TARGET: &str = "trusted_cors::audit";

/// What a change did to a trusted origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeAction {
    /// A new entry.
    Create,
    /// An entry's name, origin, scopes (and perhaps status) replaced.
    Replace,
    /// An entry set ACTIVE.
    Activate,
    /// An entry set INACTIVE.
    Deactivate,
    /// An entry removed.
    Delete,
}

impl ChangeAction {
    /// The action's name in the audit event: `create`, `replace`, `activate`, `deactivate` or
    /// `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Create => "create",
            ChangeAction::Replace => "replace",
            ChangeAction::Activate => "activate",
            ChangeAction::Deactivate => "deactivate",
            ChangeAction::Delete => "delete",
        }
    }

    /// What a change from `before` to `after` did, when only the entries are known (a change
    /// another instance made): a create or a delete when one side is missing; an activation or
    /// a deactivation when only the status (and the stamps) changed; a replace otherwise.
    fn between(before: Option<&TrustedOrigin>, after: Option<&TrustedOrigin>) -> Option<Self> {
        match (before, after) {
            (None, None) => None,
            (None, Some(_)) => Some(ChangeAction::Create),
            (Some(_), None) => Some(ChangeAction::Delete),
            (Some(before), Some(after)) => {
                let status_only = before.name == after.name
                    && before.origin == after.origin
                    && before.scopes == after.scopes
                    && before.status != after.status;
                Some(match (status_only, after.status) {
                    (true, Status::Active) => ChangeAction::Activate,
                    (true, Status::Inactive) => ChangeAction::Deactivate,
                    (false, _) => ChangeAction::Replace,
                })
            }
        }
    }
}

impl From<&Edit> for ChangeAction {
    fn from(edit: &Edit) -> Self {
        match edit {
            Edit::Create(_) => ChangeAction::Create,
            Edit::Replace { .. } => ChangeAction::Replace,
            Edit::SetStatus {
                status: Status::Active,
                ..
            } => ChangeAction::Activate,
            Edit::SetStatus {
                status: Status::Inactive,
                ..
            } => ChangeAction::Deactivate,
            Edit::Delete { .. } => ChangeAction::Delete,
        }
    }
}

impl fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeSource {
    /// This instance made it (and recorded its audit event).
    ThisInstance,
    /// Another instance sharing the store committed it; this one applied it from the store's
    /// change feed.
    OtherInstance,
}

/// One change to a trusted origin: what the audit event records, and what subscribers to a
/// service's trusted origins receive (`TrustedOrigins::subscribe` in `trusted-cors-admin`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangeEvent {
    /// The revision of the change.
    pub revision: u64,
    /// What it did.
    pub action: ChangeAction,
    /// The entry before it (`None` for a create).
    pub before: Option<TrustedOrigin>,
    /// The entry after it (`None` for a delete).
    pub after: Option<TrustedOrigin>,
    /// Who made it, as the caller said (the API records the API token's name or the access
    /// token's subject). For a change another instance made, the entry's `lastUpdatedBy`, and
    /// `None` for its deletions: the stores' change feeds do not say who deleted an entry (that
    /// instance's audit event does).
    pub actor: Option<String>,
    /// Whether this instance made it.
    pub source: ChangeSource,
}

impl ChangeEvent {
    /// The change made here by `actor`: `edit`, worked out as `prepared`, committed as
    /// `revision`. `None` when the edit changed nothing.
    pub fn made(
        edit: &Edit,
        prepared: &Prepared,
        revision: u64,
        actor: Option<&str>,
    ) -> Option<Self> {
        prepared.change()?;
        Some(ChangeEvent {
            revision,
            action: ChangeAction::from(edit),
            before: prepared.before.clone(),
            after: prepared.after.clone(),
            actor: actor.map(str::to_owned),
            source: ChangeSource::ThisInstance,
        })
    }

    /// A change another instance made, applied here: the entry went from `before` to `after`
    /// at `revision`. `None` when the entries are equal or both missing.
    pub fn followed(
        revision: u64,
        before: Option<TrustedOrigin>,
        after: Option<TrustedOrigin>,
    ) -> Option<Self> {
        if before == after {
            return None;
        }
        let action = ChangeAction::between(before.as_ref(), after.as_ref())?;
        Some(ChangeEvent {
            revision,
            action,
            actor: after
                .as_ref()
                .and_then(|entry| entry.last_updated_by.clone()),
            before,
            after,
            source: ChangeSource::OtherInstance,
        })
    }

    /// The id of the entry changed.
    pub fn id(&self) -> &str {
        self.entry().map_or("", |entry| entry.id.as_str())
    }

    /// The origin of the entry changed: after the change, or before it for a delete.
    pub fn origin(&self) -> &str {
        self.entry().map_or("", |entry| entry.origin.as_str())
    }

    fn entry(&self) -> Option<&TrustedOrigin> {
        self.after.as_ref().or(self.before.as_ref())
    }

    /// Emits the audit event: target [`AUDIT_TARGET`], level INFO, the fields listed there.
    /// trusted-cors calls it once for every change an instance makes; call it yourself only for
    /// changes made some other way.
    pub fn audit(&self) {
        tracing::info!(
            target: AUDIT_TARGET,
            actor = self.actor.as_deref(),
            action = self.action.as_str(),
            id = self.id(),
            origin = self.origin(),
            before = self.before.as_ref().map(|entry| tracing::field::display(Json(entry))),
            after = self.after.as_ref().map(|entry| tracing::field::display(Json(entry))),
            revision = self.revision,
            "trusted origin changed"
        );
    }
}

/// An entry as compact JSON, written only when a subscriber records it.
struct Json<'a>(&'a TrustedOrigin);

impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An entry always serializes; were it not to, the field says so rather than failing.
        match serde_json::to_string(self.0) {
            Ok(json) => f.write_str(&json),
            Err(_) => f.write_str("null"),
        }
    }
}

/// Records that every entry was replaced at once (`Registry::reset`).
pub(crate) fn audit_reset(revision: u64, origins: usize) {
    tracing::info!(
        target: AUDIT_TARGET,
        action = "reset",
        origins,
        revision,
        "trusted origins replaced whole"
    );
}
