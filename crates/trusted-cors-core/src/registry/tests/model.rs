//! The registry against a plain list checked by linear scans.

use super::*;
use proptest::prelude::*;

const NAMES: &[&str] = &["a", "A", "b", "c", "d", " e "];
const ORIGINS: &[&str] = &[
    "https://a.example",
    "HTTPS://A.example:443",
    "https://b.example",
    "https://*.example.com",
    "http://*.example.com",
    "https://x.example.com",
    "https://*.x.example.com",
    "https://c.example:8443",
    "https://*.example.com:8443",
    "not an origin",
];
const PROBES: &[&str] = &[
    "https://a.example",
    "https://b.example",
    "https://x.example.com",
    "http://x.example.com",
    "https://y.x.example.com",
    "https://c.example:8443",
    "https://y.example.com:8443",
    "https://example.com",
];
const SCOPES: [ScopeType; 3] = [ScopeType::Cors, ScopeType::Redirect, ScopeType::IframeEmbed];

#[derive(Debug, Clone)]
enum Op {
    Create(NewTrustedOrigin),
    Replace(usize, NewTrustedOrigin),
    Delete(usize),
    Activate(usize),
    Deactivate(usize),
}

fn new_origin() -> impl Strategy<Value = NewTrustedOrigin> {
    (
        0..NAMES.len(),
        0..ORIGINS.len(),
        proptest::sample::subsequence(SCOPES.to_vec(), 0..=3),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(name, origin, scopes, status)| {
            let new = NewTrustedOrigin::new(NAMES[name], ORIGINS[origin], scopes);
            match status {
                Some(true) => new.with_status(Status::Active),
                Some(false) => new.with_status(Status::Inactive),
                None => new,
            }
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => new_origin().prop_map(Op::Create),
        2 => (any::<usize>(), new_origin()).prop_map(|(i, n)| Op::Replace(i, n)),
        1 => any::<usize>().prop_map(Op::Delete),
        1 => any::<usize>().prop_map(Op::Activate),
        1 => any::<usize>().prop_map(Op::Deactivate),
    ]
}

/// The id of the `i`th entry (modulo), or one no entry has.
fn target(model: &[TrustedOrigin], i: usize) -> String {
    if model.is_empty() || i.is_multiple_of(5) {
        "tosNoSuchEntry".into()
    } else {
        model[i % model.len()].id.to_string()
    }
}

/// The model's answer to a create or replace: `except` is the replaced entry.
fn model_check(
    model: &[TrustedOrigin],
    new: &NewTrustedOrigin,
    except: Option<&str>,
) -> Result<ValidTrustedOrigin, RegistryError> {
    let valid = new.validate()?;
    let others = || model.iter().filter(|o| Some(o.id.as_ref()) != except);
    if others().any(|o| o.name.eq_ignore_ascii_case(&valid.name)) {
        return Err(RegistryError::DuplicateName(valid.name));
    }
    if others().any(|o| o.origin == valid.origin) {
        return Err(RegistryError::DuplicateOrigin(valid.origin.to_string()));
    }
    Ok(valid)
}

fn same_fields(a: &TrustedOrigin, b: &TrustedOrigin) -> bool {
    a.id == b.id
        && a.name == b.name
        && a.origin == b.origin
        && a.scopes == b.scopes
        && a.status == b.status
}

fn check_against(registry: &Registry, model: &[TrustedOrigin]) {
    let snapshot = registry.snapshot();
    assert_eq!(snapshot.len(), model.len());
    let listed: Vec<&TrustedOrigin> = snapshot.origins().collect();
    assert_eq!(listed.len(), model.len());
    for (listed, modelled) in listed.iter().zip(model) {
        assert!(same_fields(listed, modelled), "{listed:?} != {modelled:?}");
        assert!(same_fields(snapshot.get(&modelled.id).unwrap(), modelled));
    }
    if let Some(first) = model.first() {
        let after: Vec<&str> = snapshot
            .origins_after(&first.id)
            .unwrap()
            .map(|o| o.id.as_ref())
            .collect();
        let expected: Vec<&str> = model[1..].iter().map(|o| o.id.as_ref()).collect();
        assert_eq!(after, expected);
    }
    for (i, a) in model.iter().enumerate() {
        for b in &model[i + 1..] {
            assert!(!a.name.eq_ignore_ascii_case(&b.name) && a.origin != b.origin);
        }
    }
    for probe in PROBES {
        for scope in SCOPES {
            let granted: Vec<&str> = model
                .iter()
                .filter(|o| o.grants(scope) && o.origin.matches(probe))
                .map(|o| o.id.as_ref())
                .collect();
            match snapshot.trusted(probe, scope) {
                Some(found) => assert!(
                    granted.contains(&found.id.as_ref()),
                    "{probe} {scope}: {found:?} not in {granted:?}"
                ),
                None => assert!(granted.is_empty(), "{probe} {scope}: {granted:?}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn registry_agrees_with_a_plain_list(ops in proptest::collection::vec(op(), 1..40)) {
        let registry = Registry::new();
        let mut model: Vec<TrustedOrigin> = Vec::new();
        for op in ops {
            match op {
                Op::Create(new) => {
                    let expected = model_check(&model, &new, None);
                    match (registry.create(new), expected) {
                        (Ok(entry), Ok(valid)) => {
                            prop_assert_eq!(&*entry.name, valid.name.as_str());
                            prop_assert_eq!(&entry.origin, &valid.origin);
                            prop_assert_eq!(&entry.scopes, &valid.scopes);
                            prop_assert_eq!(entry.status, valid.status.unwrap_or(Status::Active));
                            prop_assert!(model.iter().all(|o| o.id != entry.id));
                            model.push(entry);
                        }
                        (Err(got), Err(expected)) => prop_assert_eq!(got, expected),
                        (got, expected) => prop_assert!(false, "{:?} vs {:?}", got, expected),
                    }
                }
                Op::Replace(i, new) => {
                    let id = target(&model, i);
                    let position = model.iter().position(|o| *o.id == *id);
                    let expected = match position {
                        None => Err(RegistryError::NotFound(id.clone())),
                        Some(_) => model_check(&model, &new, Some(&id)),
                    };
                    match (registry.replace(&id, new), expected) {
                        (Ok(entry), Ok(valid)) => {
                            let index = position.unwrap();
                            let status = valid.status.unwrap_or(model[index].status);
                            prop_assert_eq!(&*entry.name, valid.name.as_str());
                            prop_assert_eq!(&entry.origin, &valid.origin);
                            prop_assert_eq!(entry.status, status);
                            prop_assert_eq!(entry.created, model[index].created);
                            model[index] = entry;
                        }
                        (Err(got), Err(expected)) => prop_assert_eq!(got, expected),
                        (got, expected) => prop_assert!(false, "{:?} vs {:?}", got, expected),
                    }
                }
                Op::Delete(i) => {
                    let id = target(&model, i);
                    match model.iter().position(|o| *o.id == *id) {
                        Some(index) => {
                            let entry = registry.delete(&id).unwrap();
                            prop_assert!(same_fields(&entry, &model.remove(index)));
                        }
                        None => prop_assert_eq!(
                            registry.delete(&id),
                            Err(RegistryError::NotFound(id))
                        ),
                    }
                }
                Op::Activate(i) | Op::Deactivate(i) => {
                    let status = if matches!(op, Op::Activate(_)) {
                        Status::Active
                    } else {
                        Status::Inactive
                    };
                    let id = target(&model, i);
                    match model.iter().position(|o| *o.id == *id) {
                        Some(index) => {
                            let entry = registry.set_status(&id, status, None).unwrap();
                            prop_assert_eq!(entry.status, status);
                            model[index] = entry;
                        }
                        None => prop_assert_eq!(
                            registry.set_status(&id, status, None),
                            Err(RegistryError::NotFound(id))
                        ),
                    }
                }
            }
            check_against(&registry, &model);
        }
        // Loaded again, all at once, the entries index the same way.
        let reloaded = Registry::from_origins(model.clone()).unwrap();
        check_against(&reloaded, &model);
        let reseeded = Registry::with_origins(model.iter().map(|o| NewTrustedOrigin {
            name: o.name.to_string(),
            origin: o.origin.to_string(),
            scopes: o.scopes.clone(),
            status: Some(o.status),
        }))
        .unwrap();
        prop_assert_eq!(reseeded.snapshot().len(), model.len());
    }
}
