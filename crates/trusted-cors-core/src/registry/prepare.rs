//! Working a [`ChangeRequest`] out against a copy of the snapshot: validating it, giving a new
//! entry its id and timestamps, stamping a changed one.

use std::sync::Arc;

use super::snapshot::RegistrySnapshot;
use crate::change::{ChangeRequest, PreparedChange};
use crate::trusted_origin::RegistryError;
use crate::trusted_origin::{
    NewTrustedOrigin, Status, Timestamp, TrustedOrigin, ValidTrustedOrigin,
};

/// Changes the entry with this id by `change`, stamped as updated now by `actor`.
fn update(
    snapshot: &mut RegistrySnapshot,
    id: &str,
    actor: Option<&str>,
    change: impl FnOnce(&mut TrustedOrigin),
) -> Result<PreparedChange, RegistryError> {
    let before = found(snapshot, id)?.clone();
    let mut entry = before.clone();
    change(&mut entry);
    entry.last_updated = Timestamp::now();
    entry.last_updated_by = match (&entry.created_by, actor) {
        // The creator's copy, shared.
        (Some(creator), Some(actor)) if **creator == *actor => Some(Arc::clone(creator)),
        _ => actor.map(Arc::from),
    };
    let after = TrustedOrigin::clone(&*snapshot.update(entry)?);
    Ok(PreparedChange {
        before: Some(before),
        after: Some(after),
        revision: None,
    })
}

/// Makes `request` to `snapshot` (a copy: on error it is half changed and must be dropped) and
/// says what it did.
pub(super) fn work_out(
    snapshot: &mut RegistrySnapshot,
    request: &ChangeRequest,
    actor: Option<&str>,
) -> Result<PreparedChange, RegistryError> {
    match request {
        ChangeRequest::Create(new) => {
            let entry = push_new(snapshot, new, actor, &mut IdSource::single())?;
            Ok(PreparedChange {
                before: None,
                after: Some(TrustedOrigin::clone(&entry)),
                revision: None,
            })
        }
        ChangeRequest::Replace { id, new } => {
            // An unknown id first, then what is wrong with the input.
            found(snapshot, id)?;
            let valid = new.validate()?;
            update(snapshot, id, actor, |entry| {
                entry.name = valid.name.into();
                entry.origin = valid.origin;
                entry.scopes = valid.scopes;
                if let Some(status) = valid.status {
                    entry.status = status;
                }
            })
        }
        ChangeRequest::SetStatus { id, status } => {
            if found(snapshot, id)?.status == *status {
                let same = found(snapshot, id)?.clone();
                return Ok(PreparedChange {
                    before: Some(same.clone()),
                    after: Some(same),
                    revision: None,
                });
            }
            update(snapshot, id, actor, |entry| entry.status = *status)
        }
        ChangeRequest::Delete { id } => match snapshot.remove(id) {
            Some(slot) => Ok(PreparedChange {
                before: Some(TrustedOrigin::clone(&slot.entry)),
                after: None,
                revision: None,
            }),
            None => Err(RegistryError::NotFound(id.clone())),
        },
    }
}

/// The entry with this id.
fn found<'a>(snapshot: &'a RegistrySnapshot, id: &str) -> Result<&'a TrustedOrigin, RegistryError> {
    snapshot
        .get(id)
        .ok_or_else(|| RegistryError::NotFound(id.to_owned()))
}

/// Validates `new` and adds it last to `snapshot`, with a fresh id and timestamps.
fn push_new(
    snapshot: &mut RegistrySnapshot,
    new: &NewTrustedOrigin,
    actor: Option<&str>,
    ids: &mut IdSource,
) -> Result<Arc<TrustedOrigin>, RegistryError> {
    let mut entry = Arc::new(new_entry(new.validate()?, actor, ids, Timestamp::now()));
    loop {
        match snapshot.push(Arc::clone(&entry)) {
            Ok(()) => return Ok(entry),
            // Unlikely as it is (62^17 ids), a taken id is drawn again.
            Err(RegistryError::DuplicateId(_)) => Arc::make_mut(&mut entry).id = ids.next(),
            Err(error) => return Err(error),
        }
    }
}

/// A new entry, with a fresh id, created `now`.
fn new_entry(
    valid: ValidTrustedOrigin,
    actor: Option<&str>,
    ids: &mut IdSource,
    now: Timestamp,
) -> TrustedOrigin {
    let actor: Option<Arc<str>> = actor.map(Arc::from);
    TrustedOrigin {
        id: ids.next(),
        name: valid.name.into(),
        origin: valid.origin,
        scopes: valid.scopes,
        status: valid.status.unwrap_or(Status::Active),
        created: now,
        created_by: actor.clone(),
        last_updated: now,
        last_updated_by: actor,
    }
}

/// New entries for `seeds`, created `now`, up to the first invalid one, and its error.
pub(super) fn new_entries(
    seeds: &[NewTrustedOrigin],
    now: Timestamp,
) -> (Vec<Arc<TrustedOrigin>>, Option<RegistryError>) {
    let mut ids = IdSource::batched();
    let mut entries = Vec::with_capacity(seeds.len());
    for seed in seeds {
        match seed.validate() {
            Ok(valid) => entries.push(Arc::new(new_entry(valid, None, &mut ids, now))),
            Err(error) => return (entries, Some(error)),
        }
    }
    (entries, None)
}

/// Fresh Okta-style ids: `tos` and 17 base-62 characters, from the system's random source,
/// asked for many at once when many are wanted.
pub(super) struct IdSource {
    random: Vec<u8>,
    used: usize,
}

impl IdSource {
    const ID_LEN: usize = 17;
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// For one id.
    pub(super) fn single() -> Self {
        IdSource {
            random: Vec::new(),
            used: 0,
        }
    }

    /// For many ids: randomness for 256 at a time.
    pub(super) fn batched() -> Self {
        IdSource {
            random: vec![0; Self::ID_LEN * 256],
            used: Self::ID_LEN * 256,
        }
    }

    pub(super) fn next(&mut self) -> Box<str> {
        if self.random.is_empty() {
            return crate::random_id("tos", Self::ID_LEN).into();
        }
        if self.used == self.random.len() {
            if getrandom::fill(&mut self.random).is_err() {
                // No entropy source: the shared generator has the fallback.
                return crate::random_id("tos", Self::ID_LEN).into();
            }
            self.used = 0;
        }
        let bytes = &self.random[self.used..self.used + Self::ID_LEN];
        self.used += Self::ID_LEN;
        let mut id = String::with_capacity(3 + Self::ID_LEN);
        id.push_str("tos");
        id.extend(
            bytes
                .iter()
                .map(|b| Self::ALPHABET[usize::from(*b) % 62] as char),
        );
        id.into()
    }
}
