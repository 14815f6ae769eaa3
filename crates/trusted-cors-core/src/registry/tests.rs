//! The registry's unit tests.

use super::bulk::PARALLEL_FROM;
use super::*;
use crate::origin::RequestOrigin;
use crate::trusted_origin::{ScopeType, ValidTrustedOrigin};
use crate::{OriginPattern, Scope};

fn new(name: &str, origin: &str, scopes: &[ScopeType]) -> NewTrustedOrigin {
    NewTrustedOrigin::new(name, origin, scopes.iter().copied())
}

#[test]
fn create_normalises_and_indexes() {
    let registry = Registry::new();
    let entry = registry
        .create(new(
            "A",
            "HTTPS://A.Example.com:443",
            &[ScopeType::Cors, ScopeType::Cors],
        ))
        .unwrap();
    assert!(entry.id.starts_with("tos") && entry.id.len() == 20);
    assert_eq!(entry.origin.as_str(), "https://a.example.com");
    assert_eq!(entry.scopes, vec![Scope::from(ScopeType::Cors)]);
    assert_eq!(entry.created, entry.last_updated);
    let snapshot = registry.snapshot();
    assert!(snapshot
        .trusted("https://a.example.com", ScopeType::Cors)
        .is_some());
    assert!(snapshot
        .trusted("https://b.example.com", ScopeType::Cors)
        .is_none());
    assert!(snapshot
        .trusted("https://a.example.com:443", ScopeType::Cors)
        .is_none());
}

#[test]
fn names_and_origins_are_unique() {
    let registry = Registry::new();
    let a = registry
        .create(new("A", "https://a.example", &[ScopeType::Cors]))
        .unwrap();
    assert_eq!(
        registry.create(new("a", "https://other.example", &[ScopeType::Cors])),
        Err(RegistryError::DuplicateName("a".into()))
    );
    assert_eq!(
        registry.create(new("B", "https://A.example/", &[ScopeType::Redirect])),
        Err(RegistryError::DuplicateOrigin("https://a.example".into()))
    );
    // Replacing an entry with its own name and origin is fine.
    registry
        .replace(&a.id, new("A", "https://a.example", &[ScopeType::Redirect]))
        .unwrap();
    assert_eq!(registry.snapshot().len(), 1);
}

#[test]
fn invalid_input_changes_nothing() {
    let registry = Registry::new();
    for (input, field) in [
        (new("", "https://a.example", &[ScopeType::Cors]), "name"),
        (
            new(&"n".repeat(256), "https://a.example", &[ScopeType::Cors]),
            "name",
        ),
        (new("A", "null", &[ScopeType::Cors]), "origin"),
        (new("A", "a.example", &[ScopeType::Cors]), "origin"),
        (
            new("A", "https://a.example/x", &[ScopeType::Cors]),
            "origin",
        ),
        (new("A", "https://*.co.uk", &[ScopeType::Cors]), "origin"),
        (
            new("A", "http://*.example.com", &[ScopeType::Cors]),
            "origin",
        ),
        (
            new(
                "A",
                &format!("https://{}.example", "a".repeat(250)),
                &[ScopeType::Cors],
            ),
            "origin",
        ),
        (new("A", "https://a.example", &[]), "scopes"),
    ] {
        let err = registry.create(input.clone()).unwrap_err();
        assert_eq!(err.field(), field, "{input:?}: {err}");
    }
    assert!(registry.snapshot().is_empty());
    // A plain-http wildcard is acceptable when it is not trusted with cookies.
    registry
        .create(new("R", "http://*.example.com", &[ScopeType::Redirect]))
        .unwrap();
}

#[test]
fn status_and_scope_changes_keep_the_entry() {
    let registry = Registry::new();
    let a = registry
        .create(new(
            "A",
            "https://a.example",
            &[ScopeType::Cors, ScopeType::Redirect],
        ))
        .unwrap();
    registry.deactivate(&a.id).unwrap();
    let snapshot = registry.snapshot();
    assert!(snapshot
        .trusted("https://a.example", ScopeType::Cors)
        .is_none());
    assert!(snapshot
        .trusted("https://a.example", ScopeType::Redirect)
        .is_none());
    assert_eq!(snapshot.get(&a.id).unwrap().status, Status::Inactive);
    registry.activate(&a.id).unwrap();
    assert!(registry
        .snapshot()
        .trusted("https://a.example", ScopeType::Cors)
        .is_some());
    registry
        .replace(&a.id, new("A", "https://a.example", &[ScopeType::Redirect]))
        .unwrap();
    let snapshot = registry.snapshot();
    assert!(snapshot
        .trusted("https://a.example", ScopeType::Cors)
        .is_none());
    assert!(snapshot
        .trusted("https://a.example", ScopeType::Redirect)
        .is_some());
    assert_eq!(registry.delete(&a.id).unwrap().id, a.id);
    assert_eq!(
        registry.delete(&a.id),
        Err(RegistryError::NotFound(a.id.to_string()))
    );
    assert!(registry.snapshot().is_empty());
}

#[test]
fn looking_origin_bytes_up_before_parsing_them_changes_nothing() {
    let registry = Registry::new();
    let inactive = registry
        .create(new("Inactive", "https://a.example.com", &[ScopeType::Cors]))
        .unwrap();
    registry.deactivate(&inactive.id).unwrap();
    for (name, origin, scopes) in [
        ("Wild", "https://*.example.com", &[ScopeType::Cors][..]),
        ("Exact", "https://b.example.com:8443", &[ScopeType::Cors]),
        (
            "Redirect only",
            "https://c.example.com",
            &[ScopeType::Redirect],
        ),
        ("Other", "https://other.example", &[ScopeType::Cors]),
        ("App", "capacitor://localhost", &[ScopeType::Cors]),
    ] {
        registry.create(new(name, origin, scopes)).unwrap();
    }
    let snapshot = registry.snapshot();
    for request in [
        "https://a.example.com",
        "https://b.example.com:8443",
        "https://b.example.com",
        "https://c.example.com",
        "https://other.example",
        "https://x.other.example",
        "capacitor://localhost",
        "https://d.example.com",
        "HTTPS://other.example",
        "null",
    ] {
        let lookup = snapshot.exact_lookup(request.as_bytes());
        let parsed = RequestOrigin::parse(request.as_bytes());
        match (lookup, parsed) {
            (ExactLookup::Hit { parts, .. }, RequestOrigin::Valid(expected)) => {
                assert_eq!(parts, expected, "{request}")
            }
            (ExactLookup::Hit { .. }, other) => {
                panic!("{request}: a hit that parses {other:?}")
            }
            (ExactLookup::NotLooked, _) => panic!("{request}: looked up"),
            (ExactLookup::Miss, _) => {}
        }
        if let RequestOrigin::Valid(parts) = parsed {
            for scope in [ScopeType::Cors, ScopeType::Redirect] {
                assert_eq!(
                    snapshot.trusted_after(&parts, scope, lookup),
                    snapshot.trusted_parts(&parts, scope).is_some(),
                    "{request} {scope:?}"
                );
            }
        }
    }
    assert!(matches!(
        snapshot.exact_lookup(b"https://b.example.com:8443"),
        ExactLookup::Hit { .. }
    ));
}

#[test]
fn wildcards_and_exact_entries_combine() {
    let registry = Registry::new();
    let exact = registry
        .create(new("Exact", "https://a.example.com", &[ScopeType::Cors]))
        .unwrap();
    registry
        .create(new("Wild", "https://*.example.com", &[ScopeType::Cors]))
        .unwrap();
    registry
        .create(new(
            "Wild http",
            "http://*.example.com",
            &[ScopeType::Redirect],
        ))
        .unwrap();
    registry.deactivate(&exact.id).unwrap();
    let snapshot = registry.snapshot();
    // The inactive exact entry does not hide the active wildcard.
    assert_eq!(
        snapshot
            .trusted("https://a.example.com", ScopeType::Cors)
            .unwrap()
            .name,
        "Wild".into()
    );
    assert!(snapshot
        .trusted("https://x.y.example.com", ScopeType::Cors)
        .is_some());
    assert!(snapshot
        .trusted("http://x.example.com", ScopeType::Cors)
        .is_none());
    assert!(snapshot
        .trusted("http://x.example.com", ScopeType::Redirect)
        .is_some());
    assert!(snapshot
        .trusted("https://example.com", ScopeType::Cors)
        .is_none());
    assert!(snapshot
        .trusted("https://evilexample.com", ScopeType::Cors)
        .is_none());
}

#[test]
fn from_origins_checks_uniqueness() {
    let registry = Registry::with_origins([
        new("A", "https://a.example", &[ScopeType::Cors]),
        new("B", "https://b.example", &[ScopeType::Cors]),
    ])
    .unwrap();
    let mut entries = registry.snapshot().to_vec();
    assert!(Registry::from_origins(entries.clone()).is_ok());
    let mut unnamed = entries.clone();
    unnamed[0].name = " ".into();
    assert_eq!(Registry::from_origins(unnamed).unwrap_err().field(), "name");
    let mut insecure = entries.clone();
    insecure[0].origin = OriginPattern::parse("http://*.example.com").unwrap();
    assert_eq!(
        Registry::from_origins(insecure).unwrap_err().field(),
        "origin"
    );
    entries[1].origin = entries[0].origin.clone();
    assert!(matches!(
        Registry::from_origins(entries),
        Err(RegistryError::DuplicateOrigin(_))
    ));
}

#[test]
fn concurrent_writers_lose_nothing() {
    let registry = Arc::new(Registry::new());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let registry = Arc::clone(&registry);
            std::thread::spawn(move || {
                for i in 0..25 {
                    registry
                        .create(new(
                            &format!("t{t}-{i}"),
                            &format!("https://t{t}-{i}.example"),
                            &[ScopeType::Cors],
                        ))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let snapshot = registry.snapshot();
    assert_eq!(snapshot.len(), 200);
    assert!(snapshot
        .trusted("https://t7-24.example", ScopeType::Cors)
        .is_some());
}

#[test]
fn duplicate_ids_are_refused_on_load() {
    let registry = Registry::with_origins([
        new("A", "https://a.example", &[ScopeType::Cors]),
        new("B", "https://b.example", &[ScopeType::Cors]),
    ])
    .unwrap();
    let mut entries = registry.snapshot().to_vec();
    entries[1].id = entries[0].id.clone();
    let error = Registry::from_origins(entries.clone()).unwrap_err();
    assert_eq!(error, RegistryError::DuplicateId(entries[0].id.to_string()));
    assert_eq!(error.field(), "id");
    // The id is reported before anything else wrong with the same entry.
    entries[1].name = "A".into();
    assert!(matches!(
        Registry::from_origins(entries),
        Err(RegistryError::DuplicateId(_))
    ));
}

#[test]
fn loads_report_the_first_error_in_entry_order() {
    let a = new("A", "https://a.example", &[ScopeType::Cors]);
    let b = new("B", "https://b.example", &[ScopeType::Cors]);
    let unnamed = new(" ", "https://c.example", &[ScopeType::Cors]);
    assert_eq!(
        Registry::with_origins([a.clone(), a.clone(), unnamed.clone()]).unwrap_err(),
        RegistryError::DuplicateName("A".into())
    );
    assert_eq!(
        Registry::with_origins([a.clone(), unnamed.clone(), a.clone()])
            .unwrap_err()
            .field(),
        "name"
    );
    assert!(matches!(
        Registry::with_origins([a.clone(), unnamed, a.clone()]),
        Err(RegistryError::InvalidName(_))
    ));
    assert_eq!(
        Registry::with_origins([
            a.clone(),
            new("C", "https://b.example", &[ScopeType::Cors]),
            new("a", "https://z.example", &[ScopeType::Cors]),
            b.clone(),
        ])
        .unwrap_err(),
        RegistryError::DuplicateName("a".into())
    );

    let entries = Registry::with_origins([a, b]).unwrap().snapshot().to_vec();
    // Entry 1 repeats entry 0's origin; entry 2 has a rule broken: entry 1 is reported.
    let mut broken = entries.clone();
    broken[1].origin = broken[0].origin.clone();
    let mut third = broken[0].clone();
    third.id = "tos3".into();
    third.name = "Third".into();
    third.scopes.clear();
    broken.push(third);
    assert_eq!(
        Registry::from_origins(broken.clone()).unwrap_err(),
        RegistryError::DuplicateOrigin("https://a.example".into())
    );
    // A broken rule comes before a repeated name of the same entry.
    broken[1].origin = OriginPattern::parse("https://b.example").unwrap();
    broken[1].name = "a".into();
    broken[1].scopes.clear();
    assert_eq!(
        Registry::from_origins(broken).unwrap_err(),
        RegistryError::NoScopes
    );
}

/// Entries enough for the loads to use two threads, with the first repeat near the end.
#[test]
fn large_loads_find_the_first_repeat() {
    let n = PARALLEL_FROM + 100;
    let seeds = |n: usize| {
        (0..n).map(|i| {
            let origin = if i % 2 == 0 {
                format!("https://app{i}.example.com")
            } else {
                format!("https://*.t{i}.example.net")
            };
            new(&format!("o{i}"), &origin, &[ScopeType::Cors])
        })
    };
    let registry = Registry::with_origins(seeds(n)).unwrap();
    let snapshot = registry.snapshot();
    assert_eq!(snapshot.len(), n);
    assert!(snapshot
        .trusted("https://app4000.example.com", ScopeType::Cors)
        .is_some());
    assert!(snapshot
        .trusted("https://x.t4001.example.net", ScopeType::Cors)
        .is_some());
    let names: Vec<String> = snapshot.origins().map(|o| o.name.to_string()).collect();
    assert_eq!(names, (0..n).map(|i| format!("o{i}")).collect::<Vec<_>>());

    let mut entries = snapshot.to_vec();
    let reloaded = Registry::from_origins(entries.clone()).unwrap();
    assert_eq!(reloaded.snapshot().to_vec(), entries);

    // The B-trees built at once find every entry by id, page after any id, and keep names
    // unique whatever their case, as entries added one by one do.
    for (place, entry) in entries.iter().enumerate().step_by(97) {
        assert_eq!(snapshot.get(&entry.id), Some(entry));
        assert_eq!(
            snapshot.origins_after(&entry.id).unwrap().count(),
            n - place - 1
        );
    }
    assert!(snapshot.get("tos00000000000000000").is_none());
    assert_eq!(
        registry
            .create(new("O77", "https://fresh.example.org", &[ScopeType::Cors]))
            .unwrap_err(),
        RegistryError::DuplicateName("O77".into())
    );
    let last = &entries[n - 1];
    registry.delete(&last.id).unwrap();
    registry
        .create(new(
            &last.name.to_uppercase(),
            "https://fresh.example.org",
            &[ScopeType::Cors],
        ))
        .unwrap();

    // Two repeats: the later-placed one comes first in entry order.
    entries[n - 2].name = "O5".into();
    entries[n - 10].origin = entries[4].origin.clone();
    assert_eq!(
        Registry::from_origins(entries.clone()).unwrap_err(),
        RegistryError::DuplicateOrigin("https://app4.example.com".into())
    );
    entries[n - 15].id = entries[3].id.clone();
    assert_eq!(
        Registry::from_origins(entries.clone()).unwrap_err(),
        RegistryError::DuplicateId(entries[3].id.to_string())
    );
    let mut repeated: Vec<NewTrustedOrigin> = seeds(n).collect();
    repeated[n - 1].origin = "https://*.t1.example.net".into();
    assert_eq!(
        Registry::with_origins(repeated).unwrap_err(),
        RegistryError::DuplicateOrigin("https://*.t1.example.net".into())
    );
}

#[test]
fn a_snapshot_never_changes() {
    let registry = Registry::new();
    let a = registry
        .create(new("A", "https://a.example", &[ScopeType::Cors]))
        .unwrap();
    let b = registry
        .create(new("B", "https://*.b.example", &[ScopeType::Cors]))
        .unwrap();
    let before = registry.snapshot_arc();
    let guard = registry.snapshot();
    let listed = before.to_vec();

    registry.deactivate(&a.id).unwrap();
    registry
        .replace(
            &b.id,
            new("B2", "https://c.example", &[ScopeType::Redirect]),
        )
        .unwrap();
    registry
        .create(new("D", "https://d.example", &[ScopeType::Cors]))
        .unwrap();
    registry.delete(&a.id).unwrap();

    for snapshot in [&*before, &*guard] {
        assert_eq!(snapshot.to_vec(), listed);
        assert_eq!(snapshot.get(&a.id), Some(&a));
        assert!(snapshot
            .trusted("https://a.example", ScopeType::Cors)
            .is_some());
        assert!(snapshot
            .trusted("https://x.b.example", ScopeType::Cors)
            .is_some());
        assert!(snapshot
            .trusted("https://c.example", ScopeType::Redirect)
            .is_none());
        assert!(snapshot
            .trusted("https://d.example", ScopeType::Cors)
            .is_none());
    }
    let now = registry.snapshot();
    assert_eq!(now.len(), 2);
    assert!(now.get(&a.id).is_none());
    assert!(now
        .trusted("https://x.b.example", ScopeType::Cors)
        .is_none());
    assert!(now
        .trusted("https://c.example", ScopeType::Redirect)
        .is_some());
}

#[test]
fn listing_is_in_creation_order() {
    let registry = Registry::new();
    let ids: Vec<Box<str>> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            registry
                .create(new(
                    name,
                    &format!("https://{name}.example"),
                    &[ScopeType::Cors],
                ))
                .unwrap()
                .id
        })
        .collect();
    // A replaced or deactivated entry keeps its place; a deleted one leaves none.
    registry
        .replace(&ids[1], new("B", "https://b2.example", &[ScopeType::Cors]))
        .unwrap();
    registry.deactivate(&ids[2]).unwrap();
    registry.delete(&ids[0]).unwrap();
    let d = registry
        .create(new("d", "https://d.example", &[ScopeType::Cors]))
        .unwrap();
    let snapshot = registry.snapshot();
    let names: Vec<&str> = snapshot.origins().map(|o| o.name.as_ref()).collect();
    assert_eq!(names, ["B", "c", "d"]);
    assert_eq!(snapshot.origins().len(), 3);
    assert_eq!(snapshot.origins().next_back().unwrap().id, d.id);
    let after: Vec<&str> = snapshot
        .origins_after(&ids[1])
        .unwrap()
        .map(|o| o.name.as_ref())
        .collect();
    assert_eq!(after, ["c", "d"]);
    assert_eq!(snapshot.origins_after(&d.id).unwrap().count(), 0);
    assert!(snapshot.origins_after(&ids[0]).is_none());
    // Saved and loaded again, the order is kept.
    let reloaded = Registry::from_origins(snapshot.to_vec()).unwrap();
    assert_eq!(reloaded.snapshot().to_vec(), snapshot.to_vec());
}

#[test]
fn unchanged_status_is_no_change() {
    let registry = Registry::new();
    let a = registry
        .create(new("A", "https://a.example", &[ScopeType::Cors]))
        .unwrap();
    let before = registry.snapshot_arc();
    assert_eq!(registry.activate(&a.id).unwrap(), a);
    assert!(Arc::ptr_eq(&before, &registry.snapshot_arc()));
}

#[test]
fn prepared_changes_apply_at_the_stores_revision() {
    let registry = Registry::new();
    let prepared = registry
        .prepare(
            &ChangeRequest::Create(new("a", "https://a.example", &[ScopeType::Cors])),
            Some("ada"),
        )
        .unwrap();
    assert!(registry.snapshot().is_empty(), "preparing applies nothing");
    let a = prepared.after.clone().unwrap();
    assert_eq!(a.created_by.as_deref(), Some("ada"));
    let write = prepared.write().unwrap();
    assert_eq!(
        registry.apply(vec![CommittedChange {
            revision: 7,
            write: write.clone()
        }]),
        Ok(7)
    );
    assert_eq!(registry.revision(), 7);
    assert_eq!(registry.get(&a.id).unwrap(), a);
    // Replayed: already applied, skipped.
    assert_eq!(
        registry.apply(vec![CommittedChange { revision: 7, write }]),
        Ok(7)
    );
    assert_eq!(registry.snapshot().len(), 1);
    // Setting the status an entry has is no change.
    let same = registry
        .prepare(
            &ChangeRequest::SetStatus {
                id: a.id.to_string(),
                status: Status::Active,
            },
            None,
        )
        .unwrap();
    assert_eq!(same.write(), None);
    let gone = registry
        .prepare(
            &ChangeRequest::Delete {
                id: a.id.to_string(),
            },
            None,
        )
        .unwrap();
    assert_eq!(gone.write(), Some(EntryWrite::Delete(a.id.to_string())));
    assert_eq!(
        registry.prepare(&ChangeRequest::Delete { id: "nope".into() }, None),
        Err(RegistryError::NotFound("nope".into()))
    );
    // In memory, every change is one more revision.
    registry.deactivate(&a.id).unwrap();
    assert_eq!(registry.revision(), 8);
    registry.deactivate(&a.id).unwrap();
    assert_eq!(registry.revision(), 8, "no change, no revision");
}

#[test]
fn a_batch_of_changes_applies_whole_and_in_place() {
    let registry = Registry::with_origins([
        new("a", "https://a.example", &[ScopeType::Cors]),
        new("b", "https://b.example", &[ScopeType::Cors]),
        new("c", "https://c.example", &[ScopeType::Cors]),
    ])
    .unwrap();
    let [a, b, c]: [TrustedOrigin; 3] = registry.snapshot().to_vec().try_into().unwrap();
    // a and b swap origins (only possible as one batch), c goes, d comes.
    let mut a2 = a.clone();
    a2.origin = b.origin.clone();
    let mut b2 = b.clone();
    b2.origin = a.origin.clone();
    let d = {
        let other = Registry::new();
        other
            .create(new("d", "https://d.example", &[ScopeType::Cors]))
            .unwrap()
    };
    let batch = vec![
        CommittedChange {
            revision: 12,
            write: EntryWrite::Upsert(b2.clone()),
        },
        CommittedChange {
            revision: 11,
            write: EntryWrite::Upsert(a2.clone()),
        },
        CommittedChange {
            revision: 13,
            write: EntryWrite::Delete(c.id.to_string()),
        },
        CommittedChange {
            revision: 14,
            write: EntryWrite::Upsert(d.clone()),
        },
    ];
    assert_eq!(registry.apply(batch), Ok(14));
    let names: Vec<String> = registry
        .snapshot()
        .origins()
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(names, ["a", "b", "d"], "changed entries keep their place");
    let snapshot = registry.snapshot();
    assert_eq!(
        snapshot
            .trusted("https://b.example", ScopeType::Cors)
            .unwrap()
            .id,
        a.id
    );
    assert_eq!(
        snapshot
            .trusted("https://a.example", ScopeType::Cors)
            .unwrap()
            .id,
        b.id
    );
    assert!(snapshot
        .trusted("https://c.example", ScopeType::Cors)
        .is_none());
    drop(snapshot);

    // A batch that would leave two entries with one origin applies nothing.
    let mut clash = d.clone();
    clash.origin = a.origin.clone();
    clash.id = "tosclash".into();
    clash.name = "clash".into();
    let before = registry.snapshot_arc();
    assert_eq!(
        registry.apply(vec![CommittedChange {
            revision: 20,
            write: EntryWrite::Upsert(clash)
        }]),
        Err(RegistryError::DuplicateOrigin("https://a.example".into()))
    );
    assert!(Arc::ptr_eq(&before, &registry.snapshot_arc()));
    assert_eq!(registry.revision(), 14);

    // A full load at a revision.
    registry.reset_at(30, vec![a2]).unwrap();
    assert_eq!((registry.revision(), registry.snapshot().len()), (30, 1));
}

mod model;
