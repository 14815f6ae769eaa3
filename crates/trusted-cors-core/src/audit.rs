//! The audit trail: every change to a trusted origin as one structured `tracing` event on
//! target [`AUDIT_TARGET`] ([`AppliedChange::audit`]).

use std::fmt;

use crate::change::AppliedChange;
use crate::trusted_origin::TrustedOrigin;

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
/// The fields of a change's event ([`AppliedChange::audit`]):
///
/// | field | value |
/// |---|---|
/// | `actor` | who made the change (absent when unknown) |
/// | `action` | `create`, `replace`, `activate`, `deactivate` or `delete` ([`ChangeAction`](crate::ChangeAction)) |
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

impl AppliedChange {
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
