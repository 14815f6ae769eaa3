//! The database stores at 100 000 trusted origins: starting an instance (opening the store and
//! loading every entry into a registry) and one change end to end (prepared, committed by the
//! store, read back from the change feed and applied), on SQLite (a file) and PostgreSQL (a
//! private cluster on loopback, skipped with a notice when PostgreSQL is not installed); and one
//! change with a last-known-good copy kept (the same, then the copy's write).
//!
//! Run with `cargo bench -p trusted-cors-benches --bench stores` (about two minutes).
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use trusted_cors::admin::{
    LastKnownGood, PostgresStore, SqliteStore, TrustedOriginStore, TrustedOrigins,
};
use trusted_cors::{ChangeRequest, NewTrustedOrigin, Registry, ScopeType, Status};
use trusted_cors_testing::PgCluster;

const N: usize = 100_000;

fn entries() -> Vec<trusted_cors::TrustedOrigin> {
    let seeds = (0..N).map(|i| {
        NewTrustedOrigin::new(
            format!("o{i}"),
            format!("https://app{i}.example.com"),
            [ScopeType::Cors],
        )
    });
    Registry::with_origins(seeds).unwrap().snapshot().to_vec()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Benchmarks one store kind: `open` opens a fresh handle on the same data.
fn bench_store<S, F, Fut>(
    c: &mut Criterion,
    kind: &str,
    runtime: &tokio::runtime::Runtime,
    copy: &std::path::Path,
    open: F,
) where
    S: TrustedOriginStore,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    runtime.block_on(async {
        let store = open().await;
        assert!(store.seed(&entries()).await.unwrap(), "a fresh store");
    });
    let mut group = c.benchmark_group(format!("stores/{kind}"));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(format!("open_and_load/{N}"), |b| {
        b.iter(|| {
            runtime.block_on(async {
                let origins = TrustedOrigins::open(open().await, []).await.unwrap();
                assert_eq!(origins.registry().snapshot().len(), N);
                origins
            })
        })
    });
    let origins =
        Arc::new(runtime.block_on(async { TrustedOrigins::open(open().await, []).await.unwrap() }));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(5));
    bench_change(&mut group, "one_change", runtime, &origins);
    let with_copy = Arc::new(runtime.block_on(async {
        let copy = LastKnownGood::open(copy).await.unwrap();
        TrustedOrigins::open_with_copy(open().await, [], copy)
            .await
            .unwrap()
    }));
    bench_change(&mut group, "one_change_with_copy", runtime, &with_copy);
    group.finish();
}

/// One change of an entry's status, end to end.
fn bench_change(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    runtime: &tokio::runtime::Runtime,
    origins: &TrustedOrigins,
) {
    let id = origins
        .registry()
        .snapshot()
        .origins()
        .nth(N / 2)
        .unwrap()
        .id
        .to_string();
    let mut active = origins.registry().snapshot().get(&id).unwrap().status == Status::Active;
    group.bench_function(format!("{name}/{N}"), |b| {
        b.iter(|| {
            active = !active;
            let status = if active {
                Status::Active
            } else {
                Status::Inactive
            };
            let edit = ChangeRequest::SetStatus {
                id: id.clone(),
                status,
            };
            runtime
                .block_on(origins.change(&edit, Some("bench")))
                .unwrap()
        })
    });
}

fn stores(c: &mut Criterion) {
    let runtime = runtime();
    let dir = std::env::temp_dir().join(format!("trusted-cors-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trusted-origins.db");
    bench_store(c, "sqlite", &runtime, &dir.join("copy-sqlite"), || {
        let path = path.clone();
        async move { SqliteStore::open(&path).await.unwrap() }
    });
    std::fs::remove_dir_all(&dir).ok();

    match PgCluster::start() {
        Some(cluster) => {
            let url = cluster.url();
            let copy = std::env::temp_dir()
                .join(format!("trusted-cors-bench-copy-{}", std::process::id()));
            bench_store(c, "postgres", &runtime, &copy, || {
                let url = url.clone();
                async move { PostgresStore::connect(&url).await.unwrap() }
            });
            std::fs::remove_dir_all(&copy).ok();
        }
        None => eprintln!("stores/postgres: skipped, PostgreSQL is not installed"),
    }
}

criterion_group!(benches, stores);
criterion_main!(benches);
