//! The registry's control plane and its lookups, by number of entries: loading n entries
//! (`Registry::with_origins` from new entries, `Registry::from_origins` from stored ones), one
//! create / replace / deactivate at n entries, and exact and wildcard lookups at 10 to 1 000 000
//! entries.
//!
//! Before the timings, the bench prints the heap bytes a registry of 1 000 000 exact origins
//! holds per origin, beside a `HashSet<String>` of the same origins, counted by a counting global
//! allocator (`stats_alloc`; its few relaxed atomic adds per allocation are in every timing here
//! alike).
//!
//! Run with `cargo bench -p trusted-cors-benches --bench registry` (a few minutes; add a filter
//! such as `registry/lookup` to run one group; `registry/memory` prints the memory alone).
#![allow(missing_docs)]

use std::alloc::System;
use std::cell::Cell;
use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use trusted_cors::{NewTrustedOrigin, Registry, ScopeType, Status, TrustedOrigin};

/// `n` entries: even ones exact (`https://app{i}.example.com`), odd ones wildcards
/// (`https://*.t{i}.example.net`), all ACTIVE with the CORS scope.
fn entries(n: usize) -> impl Iterator<Item = NewTrustedOrigin> {
    (0..n).map(|i| {
        let origin = if i % 2 == 0 {
            format!("https://app{i}.example.com")
        } else {
            format!("https://*.t{i}.example.net")
        };
        NewTrustedOrigin::new(format!("o{i}"), origin, [ScopeType::Cors])
    })
}

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The heap bytes `build` leaves live, counting what it returns and nothing it dropped.
fn heap_bytes<T>(build: impl FnOnce() -> T) -> (T, usize) {
    let region = Region::new(ALLOCATOR);
    let built = build();
    let change = region.change();
    let live = change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated;
    (built, usize::try_from(live).unwrap_or(0))
}

/// Prints the heap bytes per origin of a registry of 1 000 000 exact origins
/// (`https://app{i}.example.com`, named `o{i}`, CORS, no actor), of its entries alone (as
/// [`RegistrySnapshot::to_vec`](trusted_cors::RegistrySnapshot::to_vec) copies them) and of a
/// `HashSet<String>` of the same origins. Runs with no filter or a filter naming `memory`; it
/// times nothing.
fn memory(_: &mut Criterion) {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|filter| filter.contains("memory")) {
        return;
    }
    let n = 1_000_000usize;
    let origins = || (0..n).map(|i| format!("https://app{i}.example.com"));
    let seeds: Vec<NewTrustedOrigin> = origins()
        .enumerate()
        .map(|(i, origin)| NewTrustedOrigin::new(format!("o{i}"), origin, [ScopeType::Cors]))
        .collect();
    let (registry, registry_bytes) = heap_bytes(|| Registry::with_origins(seeds).unwrap());
    // The first changes right after the load, which the timed groups below do not single out.
    let changes: Vec<Duration> = (0..3)
        .map(|i| {
            let new = NewTrustedOrigin::new(
                format!("first{i}"),
                format!("https://first{i}.example.org"),
                [ScopeType::Cors],
            );
            let started = Instant::now();
            registry.create(new).unwrap();
            started.elapsed()
        })
        .collect();
    eprintln!("registry/memory: the first three creates after the load took {changes:?}");
    let (set, set_bytes) = heap_bytes(|| origins().collect::<HashSet<String>>());
    drop(set);
    let (entries, entry_bytes) = heap_bytes(|| registry.snapshot().to_vec());
    drop(entries);
    let per = |bytes: usize| bytes as f64 / n as f64;
    eprintln!(
        "registry/memory: {n} exact origins: registry {:.0} heap bytes per origin \
         (its entries alone, as to_vec copies them: {:.0}); HashSet<String> {:.0}",
        per(registry_bytes),
        per(entry_bytes),
        per(set_bytes),
    );
    // Then one allocation of 4 KiB after the frees of the copies above: glibc's malloc sorts
    // every small block freed since its last large request (millions here) on the next request
    // of 1 KiB or more; a change right after such frees pays the same.
    let started = Instant::now();
    drop(black_box(Vec::<u8>::with_capacity(4096)));
    eprintln!(
        "registry/memory: the next 4 KiB allocation took {:?}",
        started.elapsed()
    );
}

fn registry(n: usize) -> Registry {
    Registry::with_origins(entries(n)).unwrap()
}

/// Settings for a group whose iterations take long: few samples, short measurement.
fn slow(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, n: usize) {
    if n >= 100_000 {
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(if n >= 1_000_000 { 20 } else { 5 }));
    } else {
        group.sample_size(30);
        group.measurement_time(Duration::from_secs(3));
    }
}

fn load(c: &mut Criterion) {
    for n in [1_000usize, 100_000, 1_000_000] {
        let mut group = c.benchmark_group("registry/load");
        slow(&mut group, n);
        let seeds: Vec<NewTrustedOrigin> = entries(n).collect();
        group.bench_with_input(BenchmarkId::new("with_origins", n), &seeds, |b, seeds| {
            b.iter_batched(
                || seeds.clone(),
                |seeds| Registry::with_origins(seeds).unwrap(),
                BatchSize::PerIteration,
            )
        });
        let stored: Vec<TrustedOrigin> = Registry::with_origins(seeds).unwrap().snapshot().to_vec();
        group.bench_with_input(BenchmarkId::new("from_origins", n), &stored, |b, stored| {
            b.iter_batched(
                || stored.clone(),
                |stored| Registry::from_origins(stored).unwrap(),
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

fn change(c: &mut Criterion) {
    let mut group = c.benchmark_group("registry/change");
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 1_000_000] {
        let registry = registry(n);
        let target = registry.snapshot().origins().nth(n / 2).unwrap().clone();

        // Each created entry is deleted again outside the timing, so that n stays n.
        let next = Cell::new(0u64);
        let created: Cell<Option<String>> = Cell::new(None);
        group.bench_function(BenchmarkId::new("create", n), |b| {
            b.iter_batched(
                || {
                    if let Some(id) = created.take() {
                        registry.delete(&id).unwrap();
                    }
                    let i = next.get();
                    next.set(i + 1);
                    NewTrustedOrigin::new(
                        format!("new{i}"),
                        format!("https://new{i}.example.org"),
                        [ScopeType::Cors],
                    )
                },
                |new| created.set(Some(registry.create(new).unwrap().id.into())),
                BatchSize::PerIteration,
            )
        });
        if let Some(id) = created.take() {
            registry.delete(&id).unwrap();
        }
        assert_eq!(registry.snapshot().len(), n);

        // Alternates between two names and origins, so that each call is a real change.
        let flip = Cell::new(false);
        group.bench_function(BenchmarkId::new("replace", n), |b| {
            b.iter(|| {
                let side = flip.get();
                flip.set(!side);
                let (name, origin) = if side {
                    ("flip-a", "https://flip-a.example.org")
                } else {
                    ("flip-b", "https://flip-b.example.org")
                };
                black_box(
                    registry
                        .replace(
                            &target.id,
                            NewTrustedOrigin::new(name, origin, [ScopeType::Cors]),
                        )
                        .unwrap(),
                )
            })
        });

        // Alternates INACTIVE and ACTIVE, so that each call is a real change.
        group.bench_function(BenchmarkId::new("deactivate", n), |b| {
            b.iter(|| {
                let side = flip.get();
                flip.set(!side);
                let status = if side {
                    Status::Inactive
                } else {
                    Status::Active
                };
                black_box(registry.set_status(&target.id, status, None).unwrap())
            })
        });
    }
    group.finish();
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("registry/lookup");
    for n in [10usize, 1_000, 100_000, 1_000_000] {
        let registry = registry(n);
        let snapshot = registry.snapshot_arc();
        // An entry in the middle; the wildcard one is matched two labels below its base.
        let middle = n / 2 / 2 * 2;
        let exact = format!("https://app{middle}.example.com");
        let wildcard = format!("https://a.b.t{}.example.net", middle + 1);
        assert!(snapshot.trusted(&exact, ScopeType::Cors).is_some());
        assert!(snapshot.trusted(&wildcard, ScopeType::Cors).is_some());
        group.bench_with_input(BenchmarkId::new("exact", n), &exact, |b, origin| {
            b.iter(|| {
                black_box(
                    snapshot
                        .trusted(black_box(origin), ScopeType::Cors)
                        .is_some(),
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("wildcard", n), &wildcard, |b, origin| {
            b.iter(|| {
                black_box(
                    snapshot
                        .trusted(black_box(origin), ScopeType::Cors)
                        .is_some(),
                )
            })
        });
        let untrusted = "https://nobody.example.org";
        group.bench_with_input(BenchmarkId::new("miss", n), untrusted, |b, origin| {
            b.iter(|| {
                black_box(
                    snapshot
                        .trusted(black_box(origin), ScopeType::Cors)
                        .is_some(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, memory, lookup, change, load);
criterion_main!(benches);
