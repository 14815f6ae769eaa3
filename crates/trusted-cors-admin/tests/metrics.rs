//! The store metrics: each commit's latency recorded once under the store's kind, and the
//! changes of other instances counted as this instance applies them; nothing when metrics are
//! off.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use trusted_cors_admin::{MemoryStore, TrustedOrigins};
use trusted_cors_core::metrics::Metric;
use trusted_cors_core::{ChangeRequest, Cors, CorsConfig, NewTrustedOrigin, ScopeType};

#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

/// Counters and histograms by `name{label=value,…}`.
#[derive(Default)]
struct TestRecorder {
    counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<BTreeMap<String, Arc<Samples>>>,
}

fn name(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}={}", label.key(), label.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl TestRecorder {
    fn counter(&self, key: &str) -> u64 {
        let counters = self.counters.lock().unwrap();
        counters.get(key).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    fn samples(&self, key: &str) -> Vec<f64> {
        let histograms = self.histograms.lock().unwrap();
        histograms
            .get(key)
            .map_or_else(Vec::new, |h| h.0.lock().unwrap().clone())
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = self.counters.lock().unwrap();
        Counter::from_arc(Arc::clone(counters.entry(name(key)).or_default()))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut histograms = self.histograms.lock().unwrap();
        Histogram::from_arc(Arc::clone(histograms.entry(name(key)).or_default()))
    }
}

fn create(name: &str) -> ChangeRequest {
    let origin = format!("https://{}.example.com", name.to_ascii_lowercase());
    ChangeRequest::Create(NewTrustedOrigin::new(name, origin, [ScopeType::Cors]))
}

/// Two instances sharing one store, each with a `Cors` whose metrics are `on`: `a` makes two
/// changes, `b` one (catching up with `a`'s first), then `b` catches up with `a`'s second.
fn run(on: bool) -> TestRecorder {
    let recorder = TestRecorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store = MemoryStore::new();
            let a = TrustedOrigins::open(store.clone(), []).await.unwrap();
            let b = TrustedOrigins::open(store, []).await.unwrap();
            let config = || CorsConfig::builder().metrics(on).build().unwrap();
            let _cors_a = Cors::new(config(), Arc::clone(a.registry()));
            let _cors_b = Cors::new(config(), Arc::clone(b.registry()));
            a.change(&create("Shop"), None).await.unwrap();
            b.change(&create("Blog"), None).await.unwrap();
            a.change(&create("Docs"), None).await.unwrap();
            b.catch_up().await.unwrap();
            a.catch_up().await.unwrap();
            assert_eq!(a.revision(), b.revision());
            assert_eq!(a.registry().snapshot().len(), 3);
            assert_eq!(b.registry().snapshot().len(), 3);
        });
    });
    recorder
}

#[test]
fn store_writes_and_followed_changes_are_recorded() {
    let recorder = run(true);
    let writes = recorder.samples(&format!(
        "{}{{store=memory}}",
        Metric::StoreWriteSeconds.name()
    ));
    assert_eq!(writes.len(), 3, "{writes:?}");
    assert!(writes.iter().all(|s| (0.0..10.0).contains(s)), "{writes:?}");
    // b applied a's Shop (catching up before its own change) and Docs; a applied b's Blog.
    assert_eq!(
        recorder.counter(&format!(
            "{}{{}}",
            Metric::RegistryChangesAppliedTotal.name()
        )),
        3
    );
}

#[test]
fn nothing_is_recorded_when_metrics_are_off() {
    let recorder = run(false);
    assert!(recorder.counters.lock().unwrap().is_empty());
    assert!(recorder.histograms.lock().unwrap().is_empty());
}
