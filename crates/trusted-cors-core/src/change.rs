//! Changes to trusted origins, on both sides of the store's commit.
//!
//! Asked for (nothing applied yet):
//! - [`ChangeRequest`]: what an administrator asks of the registry (create, replace, set the
//!   status, delete);
//! - [`PreparedChange`]: a request worked out against the current snapshot (the entry before and
//!   after it), and the [`EntryWrite`] a store commits for it.
//!
//! Made (a record of a change committed or applied):
//! - [`CommittedChange`]: an [`EntryWrite`] and the store's revision for it, as a store's change
//!   feed gives it and [`Registry::apply`](crate::Registry::apply) takes it;
//! - [`AppliedChange`]: a change applied to this instance's registry, with its
//!   [`ChangeAction`], actor and whether this instance made it: what the audit trail records
//!   (see [`AUDIT_TARGET`](crate::AUDIT_TARGET)) and subscribers receive.

use std::fmt;

use crate::trusted_origin::{NewTrustedOrigin, Status, TrustedOrigin};

/// A change an administrator asks of a registry: [`Registry::change`](crate::Registry::change)
/// makes it in memory, [`Registry::prepare`](crate::Registry::prepare) works it out for a store
/// to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeRequest {
    /// Add an entry.
    Create(NewTrustedOrigin),
    /// Replace the name, origin, scopes and (when given) status of the entry with this id.
    Replace {
        /// The entry.
        id: String,
        /// What it becomes.
        new: NewTrustedOrigin,
    },
    /// Set the status of the entry with this id.
    SetStatus {
        /// The entry.
        id: String,
        /// Its new status.
        status: Status,
    },
    /// Remove the entry with this id.
    Delete {
        /// The entry.
        id: String,
    },
}

/// A [`ChangeRequest`] worked out against a snapshot: the entry before and after it, and, once
/// made by [`Registry::change`](crate::Registry::change), its revision. A create has no
/// `before`, a delete no `after`; a request that changes nothing (setting the status an entry
/// already has) has both equal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreparedChange {
    /// The entry before the change.
    pub before: Option<TrustedOrigin>,
    /// The entry after the change.
    pub after: Option<TrustedOrigin>,
    /// The revision the change was made as: set by [`Registry::change`](crate::Registry::change)
    /// when the request changed something; `None` from
    /// [`Registry::prepare`](crate::Registry::prepare) (the store numbers the change) and when
    /// nothing changed.
    pub revision: Option<u64>,
}

impl PreparedChange {
    /// The write for a store to commit (and the registry then to apply), or `None` when the
    /// request changes nothing.
    pub fn write(&self) -> Option<EntryWrite> {
        match (&self.before, &self.after) {
            (Some(before), Some(after)) if before == after => None,
            (_, Some(after)) => Some(EntryWrite::Upsert(after.clone())),
            (Some(before), None) => Some(EntryWrite::Delete(before.id.to_string())),
            (None, None) => None,
        }
    }
}

/// What a change writes of one entry: what a store commits, and its change feed holds. Stores
/// match on it, so it is exhaustive: a new kind of write would be a new major version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryWrite {
    /// The entry with this id now is this (created or changed).
    Upsert(TrustedOrigin),
    /// The entry with this id is gone.
    Delete(String),
}

impl EntryWrite {
    /// The id of the entry written.
    pub fn id(&self) -> &str {
        match self {
            EntryWrite::Upsert(entry) => &entry.id,
            EntryWrite::Delete(id) => id,
        }
    }
}

/// A change a store committed, and its revision: what a store's change feed gives and
/// [`Registry::apply`](crate::Registry::apply) takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedChange {
    /// The store's revision of the change: greater than every revision committed before it.
    pub revision: u64,
    /// What it wrote.
    pub write: EntryWrite,
}

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

impl From<&ChangeRequest> for ChangeAction {
    fn from(request: &ChangeRequest) -> Self {
        match request {
            ChangeRequest::Create(_) => ChangeAction::Create,
            ChangeRequest::Replace { .. } => ChangeAction::Replace,
            ChangeRequest::SetStatus {
                status: Status::Active,
                ..
            } => ChangeAction::Activate,
            ChangeRequest::SetStatus {
                status: Status::Inactive,
                ..
            } => ChangeAction::Deactivate,
            ChangeRequest::Delete { .. } => ChangeAction::Delete,
        }
    }
}

impl fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change applied to this instance's registry: what the audit event records (see
/// [`AUDIT_TARGET`](crate::AUDIT_TARGET)), and what subscribers to a service's trusted origins
/// receive (`TrustedOrigins::subscribe` in `trusted-cors-admin`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedChange {
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
    /// Whether this instance made it (and recorded its audit event); `false` for a change
    /// another instance sharing the store committed, applied here from the store's change feed.
    pub made_here: bool,
}

impl AppliedChange {
    /// The change made here by `actor`: `request`, worked out as `prepared`, committed as
    /// `revision`. `None` when the request changed nothing.
    pub fn made(
        request: &ChangeRequest,
        prepared: &PreparedChange,
        revision: u64,
        actor: Option<&str>,
    ) -> Option<Self> {
        prepared.write()?;
        Some(AppliedChange {
            revision,
            action: ChangeAction::from(request),
            before: prepared.before.clone(),
            after: prepared.after.clone(),
            actor: actor.map(str::to_owned),
            made_here: true,
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
        Some(AppliedChange {
            revision,
            action,
            actor: after
                .as_ref()
                .and_then(|entry| entry.last_updated_by.as_deref().map(str::to_owned)),
            before,
            after,
            made_here: false,
        })
    }

    /// The id of the entry changed.
    pub fn id(&self) -> &str {
        self.entry().map_or("", |entry| &*entry.id)
    }

    /// The origin of the entry changed: after the change, or before it for a delete.
    pub fn origin(&self) -> &str {
        self.entry().map_or("", |entry| entry.origin.as_str())
    }

    fn entry(&self) -> Option<&TrustedOrigin> {
        self.after.as_ref().or(self.before.as_ref())
    }
}
