//! The durable store: real files, atomic writes, corrupt files refused and kept, changes by
//! another process picked up.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trusted_cors_admin::{JsonFileStore, StoreWatcher};
use trusted_cors_core::{
    NewTrustedOrigin, Registry, RegistryError, ScopeType, StoreError, TrustedOriginStore,
};

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("trusted-cors-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn seed() -> NewTrustedOrigin {
    NewTrustedOrigin::new("App", "https://app.example.com", [ScopeType::Cors])
}

#[test]
fn seeds_are_saved_and_changes_survive_a_reopen() {
    let dir = temp_dir("reopen");
    let path = dir.join("origins.json");
    let registry = Registry::open(JsonFileStore::new(&path), [seed()]).unwrap();
    assert!(path.exists(), "seeds were not saved");
    let shop = registry
        .create(NewTrustedOrigin::new(
            "Shop",
            "https://shop.example.com",
            [ScopeType::Cors],
        ))
        .unwrap();
    registry.deactivate(&shop.id).unwrap();
    drop(registry);

    // Seeds are only for an empty store: the file wins.
    let reopened = Registry::open(
        JsonFileStore::new(&path),
        [NewTrustedOrigin::new(
            "Other",
            "https://other.example",
            [ScopeType::Cors],
        )],
    )
    .unwrap();
    let snapshot = reopened.snapshot();
    assert_eq!(snapshot.len(), 2);
    assert_eq!(
        snapshot.get(&shop.id).unwrap().status,
        trusted_cors_core::Status::Inactive
    );
    assert!(snapshot
        .trusted("https://other.example", ScopeType::Cors)
        .is_none());
    // No temporary files are left behind (the lock file stays, by design).
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["origins.json", "origins.json.lock"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_corrupt_store_refuses_to_open_and_is_left_untouched() {
    let dir = temp_dir("corrupt");
    let path = dir.join("origins.json");
    std::fs::write(&path, b"[{\"id\": \"tos1\", \"name\": ").unwrap();
    let error = Registry::open(JsonFileStore::new(&path), [seed()]).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, RegistryError::Store(StoreError::Corrupt { .. })),
        "{error:?}"
    );
    assert!(text.contains("origins.json"), "{text}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"[{\"id\": \"tos1\", \"name\": "
    );

    // Valid JSON with an invalid entry is refused too, naming the problem.
    std::fs::write(&path, br#"[{"id":"tos1","name":"x","origin":"null","scopes":[{"type":"CORS"}],"status":"ACTIVE","created":"2024-01-01T00:00:00Z","lastUpdated":"2024-01-01T00:00:00Z"}]"#).unwrap();
    let text = Registry::open(JsonFileStore::new(&path), [seed()])
        .unwrap_err()
        .to_string();
    assert!(text.contains("null"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_change_that_cannot_be_stored_is_not_made() {
    let dir = temp_dir("unwritable");
    let path = dir.join("origins.json");
    let registry = Registry::open(JsonFileStore::new(&path), [seed()]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let error = registry
        .create(NewTrustedOrigin::new(
            "Shop",
            "https://shop.example.com",
            [ScopeType::Cors],
        ))
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::Store(StoreError::Io { .. })),
        "{error:?}"
    );
    assert_eq!(
        registry.snapshot().len(),
        1,
        "the change was applied without being stored"
    );
}

#[test]
fn changes_by_another_process_are_picked_up_within_a_second() {
    let dir = temp_dir("watch");
    let path = dir.join("origins.json");
    let registry = Arc::new(Registry::open(JsonFileStore::new(&path), [seed()]).unwrap());
    let _watcher = StoreWatcher::start(&registry, Duration::from_millis(100));

    // Our own writes are not reported as outside changes.
    let store = JsonFileStore::new(&path);
    registry
        .create(NewTrustedOrigin::new(
            "Shop",
            "https://shop.example.com",
            [ScopeType::Cors],
        ))
        .unwrap();
    assert!(!registry.reload_from_store().unwrap());

    // Another process (here: another registry on the same file) adds an origin.
    let other = Registry::open(store, []).unwrap();
    other
        .create(NewTrustedOrigin::new(
            "Partner",
            "https://partner.example",
            [ScopeType::Cors],
        ))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while registry
        .snapshot()
        .trusted("https://partner.example", ScopeType::Cors)
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the change was not picked up within a second"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(registry.snapshot().len(), 3);

    // A corrupt write by someone else is reported and changes nothing.
    std::fs::write(&path, b"not json").unwrap();
    assert!(registry.reload_from_store().is_err());
    assert_eq!(registry.snapshot().len(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn registries_sharing_a_file_never_lose_or_resurrect_each_others_changes() {
    let dir = temp_dir("shared");
    let path = dir.join("origins.json");
    let a = Registry::open(JsonFileStore::new(&path), [seed()]).unwrap();
    let b = Registry::open(JsonFileStore::new(&path), []).unwrap();
    let x = a
        .create(NewTrustedOrigin::new(
            "X",
            "https://x.example",
            [ScopeType::Cors],
        ))
        .unwrap();
    // `b` has not polled; its change must build on `a`'s, not overwrite it.
    b.create(NewTrustedOrigin::new(
        "Y",
        "https://y.example",
        [ScopeType::Cors],
    ))
    .unwrap();
    assert!(b
        .snapshot()
        .trusted("https://x.example", ScopeType::Cors)
        .is_some());
    a.delete(&x.id).unwrap();
    b.create(NewTrustedOrigin::new(
        "Z",
        "https://z.example",
        [ScopeType::Cors],
    ))
    .unwrap();
    let names: Vec<String> = JsonFileStore::new(&path)
        .load()
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(
        names,
        ["App", "Y", "Z"],
        "a deleted entry came back or a created one was lost"
    );

    // Concurrent writers in both "processes".
    let (a, b) = (Arc::new(a), Arc::new(b));
    let threads: Vec<_> = [Arc::clone(&a), Arc::clone(&b)]
        .into_iter()
        .enumerate()
        .map(|(t, registry)| {
            std::thread::spawn(move || {
                for i in 0..20 {
                    registry
                        .create(NewTrustedOrigin::new(
                            format!("p{t}-{i}"),
                            format!("https://p{t}-{i}.example"),
                            [ScopeType::Cors],
                        ))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(
        JsonFileStore::new(&path).load().unwrap().unwrap().len(),
        3 + 40
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_store_broken_while_running_refuses_changes_and_is_kept() {
    let dir = temp_dir("broken");
    let path = dir.join("origins.json");
    let registry = Registry::open(JsonFileStore::new(&path), [seed()]).unwrap();
    for bad in [
        b"not json".to_vec(),
        // Parses, but breaks the rules: the same origin twice.
        br#"[{"id":"tos1","name":"a","origin":"https://a.example","scopes":[{"type":"CORS"}],"status":"ACTIVE","created":"2024-01-01T00:00:00Z","lastUpdated":"2024-01-01T00:00:00Z"},{"id":"tos2","name":"b","origin":"https://a.example","scopes":[{"type":"CORS"}],"status":"ACTIVE","created":"2024-01-01T00:00:00Z","lastUpdated":"2024-01-01T00:00:00Z"}]"#.to_vec(),
    ] {
        std::fs::write(&path, &bad).unwrap();
        for _ in 0..2 {
            // Reported every time, not just once.
            assert!(registry.reload_from_store().is_err());
            let error = registry.create(NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors])).unwrap_err();
            assert!(matches!(error, RegistryError::Store(StoreError::Corrupt { .. })), "{error:?}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), bad, "the broken file was overwritten");
        assert_eq!(registry.snapshot().len(), 1, "the current entries were dropped");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
