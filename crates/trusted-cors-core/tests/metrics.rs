//! The metrics the layers and the registry report through the `metrics` facade, read back from a
//! recorder of the test's own: each request counted once, under the outcome, reason and route it
//! got; nothing when metrics are off; the trusted-origins gauge following every change.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use tower::{service_fn, Layer, ServiceExt};
use trusted_cors_core::metrics::Metric;
use trusted_cors_core::{
    Cors, CorsConfig, NewTrustedOrigin, Registry, RejectionKind, RouteCors, RuleMode, ScopeType,
    Status,
};

const DECISIONS_TOTAL: &str = Metric::DecisionsTotal.name();
const TRUSTED_ORIGINS: &str = Metric::TrustedOrigins.name();

const TRUSTED: &str = "https://app.example.com";
const UNTRUSTED: &str = "https://evil.example";

/// Counters and gauges by `name{label=value,…}`, as registered.
#[derive(Default)]
struct TestRecorder {
    values: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    described: Mutex<Vec<String>>,
}

impl TestRecorder {
    fn cell(&self, key: &Key) -> Arc<AtomicU64> {
        let labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let mut values = self.values.lock().unwrap();
        Arc::clone(values.entry(name).or_default())
    }

    /// Every counter that is not zero.
    fn counts(&self) -> BTreeMap<String, u64> {
        let values = self.values.lock().unwrap();
        values
            .iter()
            .filter(|(name, _)| name.starts_with(DECISIONS_TOTAL))
            .map(|(name, value)| (name.clone(), value.load(Ordering::Relaxed)))
            .filter(|(_, value)| *value > 0)
            .collect()
    }

    fn gauge(&self, status: &str) -> Option<f64> {
        let values = self.values.lock().unwrap();
        let name = format!("{TRUSTED_ORIGINS}{{status={status}}}");
        values
            .get(&name)
            .map(|bits| f64::from_bits(bits.load(Ordering::Relaxed)))
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn registry() -> Registry {
    Registry::with_origins([
        NewTrustedOrigin::new("App", TRUSTED, [ScopeType::Cors]),
        NewTrustedOrigin::new("Old", "https://old.example.com", [ScopeType::Cors])
            .with_status(Status::Inactive),
    ])
    .unwrap()
}

type Body = Full<Bytes>;

async fn handler(_request: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Full::default()))
}

/// Sends each request to the app for its path: `/me` (a named route), `/rollout` (a route
/// that reports untrusted origins), `/anon` (an unnamed route), anything else undeclared; every
/// app behind the guard. Returns the statuses.
fn send(cors: &Cors, requests: Vec<Request<Body>>) -> Vec<u16> {
    let me = trusted_cors_testing::fixtures::me_builder()
        .name("users_me")
        .build()
        .unwrap();
    let rollout = RouteCors::builder()
        .name("rollout")
        .rule(RejectionKind::OriginNotTrusted, RuleMode::Report)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut statuses = Vec::new();
        for request in requests {
            let handler = service_fn(handler);
            let response = match request.uri().path() {
                "/me" => {
                    let app = cors.guard().layer(cors.route(me.clone()).layer(handler));
                    app.oneshot(request).await
                }
                "/rollout" => {
                    let app = cors
                        .guard()
                        .layer(cors.route(rollout.clone()).layer(handler));
                    app.oneshot(request).await
                }
                "/anon" => {
                    let route = cors.route(RouteCors::default());
                    cors.guard()
                        .layer(route.layer(handler))
                        .oneshot(request)
                        .await
                }
                _ => cors.guard().layer(handler).oneshot(request).await,
            };
            statuses.push(response.unwrap().status().as_u16());
        }
        statuses
    })
}

fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Full::default()).unwrap()
}

fn preflight(path: &str, origin: &str, method: &str) -> Request<Body> {
    Request::options(path)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .body(Full::default())
        .unwrap()
}

/// The scripted mix, and what each request is counted as.
fn mix() -> (Vec<Request<Body>>, Vec<u16>) {
    let requests = vec![
        // allowed, twice
        get("/me", &[("origin", TRUSTED), ("cookie", "sid=1")]),
        get(
            "/me",
            &[("origin", UNTRUSTED), ("authorization", "Bearer at")],
        ),
        // preflight answered
        preflight("/me", TRUSTED, "PUT"),
        // rejected by the route: origin not trusted; method not allowed
        get("/me", &[("origin", UNTRUSTED)]),
        preflight("/me", TRUSTED, "DELETE"),
        // rejected by the guard: an API token; a preflight no route answered; a write
        get(
            "/me",
            &[("origin", TRUSTED), ("authorization", "SSWS 00token")],
        ),
        preflight("/plain", TRUSTED, "GET"),
        Request::post("/plain")
            .header("origin", UNTRUSTED)
            .body(Full::default())
            .unwrap(),
        // ... and a WebSocket handshake from an untrusted origin
        get(
            "/plain",
            &[
                ("origin", UNTRUSTED),
                ("upgrade", "websocket"),
                ("connection", "Upgrade"),
            ],
        ),
        // reported (and allowed)
        get("/rollout", &[("origin", UNTRUSTED)]),
        // unnamed route
        get("/anon", &[("origin", TRUSTED)]),
        // not counted: no Origin, same-origin, cross-origin to an undeclared route
        get("/me", &[("cookie", "sid=1")]),
        get(
            "/me",
            &[("origin", TRUSTED), ("sec-fetch-site", "same-origin")],
        ),
        get("/plain", &[("origin", TRUSTED)]),
    ];
    let statuses = vec![
        200, 200, 204, 403, 403, 403, 403, 403, 403, 200, 200, 200, 200, 200,
    ];
    (requests, statuses)
}

fn counter(outcome: &str, reason: &str, route: &str) -> String {
    format!("{DECISIONS_TOTAL}{{outcome={outcome},reason={reason},route={route}}}")
}

#[test]
fn each_request_is_counted_once_under_its_outcome_reason_and_route() {
    let recorder = TestRecorder::default();
    let statuses = metrics::with_local_recorder(&recorder, || {
        let config = CorsConfig::builder().metrics(true).build().unwrap();
        let cors = Cors::new(config, registry());
        let (requests, expected) = mix();
        let statuses = send(&cors, requests);
        assert_eq!(statuses, expected);
        statuses
    });
    assert_eq!(statuses.len(), 14);
    let expected: BTreeMap<String, u64> = [
        (counter("allowed", "none", "users_me"), 2),
        (counter("preflight", "none", "users_me"), 1),
        (counter("rejected", "origin_not_trusted", "users_me"), 1),
        (counter("rejected", "method_not_allowed", "users_me"), 1),
        (counter("rejected", "api_token_cross_origin", "guard"), 1),
        (counter("rejected", "route_not_cors_enabled", "guard"), 1),
        (
            counter("rejected", "untrusted_cross_origin_write", "guard"),
            1,
        ),
        (
            counter("rejected", "websocket_origin_not_trusted", "guard"),
            1,
        ),
        (counter("allowed", "none", "rollout"), 1),
        (counter("reported", "origin_not_trusted", "rollout"), 1),
        (counter("allowed", "none", "unnamed"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(recorder.counts(), expected);
    let described = recorder.described.lock().unwrap().clone();
    for name in Metric::ALL.map(Metric::name) {
        assert!(described.iter().any(|d| d == name), "{name} not described");
    }
}

#[test]
fn a_global_rule_in_report_mode_is_reported_once_by_the_guard() {
    let recorder = TestRecorder::default();
    metrics::with_local_recorder(&recorder, || {
        let config = CorsConfig::builder()
            .metrics(true)
            .rule(RejectionKind::UntrustedCrossOriginWrite, RuleMode::Report)
            .build()
            .unwrap();
        let cors = Cors::new(config, registry());
        let write = Request::put("/me")
            .header("origin", TRUSTED)
            .header("authorization", "Bearer at")
            .body(Full::default())
            .unwrap();
        let untrusted_write = Request::put("/me")
            .header("origin", UNTRUSTED)
            .header("cookie", "sid=1")
            .body(Full::default())
            .unwrap();
        // The untrusted write passes the guard (reported), then the route refuses the origin.
        assert_eq!(send(&cors, vec![write, untrusted_write]), [200, 403]);
    });
    let expected: BTreeMap<String, u64> = [
        (counter("allowed", "none", "users_me"), 1),
        (
            counter("reported", "untrusted_cross_origin_write", "guard"),
            1,
        ),
        (counter("rejected", "origin_not_trusted", "users_me"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(recorder.counts(), expected);
}

#[test]
fn nothing_is_recorded_when_metrics_are_off() {
    let recorder = TestRecorder::default();
    metrics::with_local_recorder(&recorder, || {
        let cors = Cors::new(CorsConfig::default(), registry());
        let (requests, expected) = mix();
        assert_eq!(send(&cors, requests), expected);
        cors.registry()
            .create(NewTrustedOrigin::new(
                "Shop",
                "https://shop.example.com",
                [ScopeType::Cors],
            ))
            .unwrap();
    });
    assert!(recorder.values.lock().unwrap().is_empty());
    assert!(recorder.described.lock().unwrap().is_empty());
}

#[test]
fn the_trusted_origins_gauge_follows_every_change() {
    let recorder = TestRecorder::default();
    metrics::with_local_recorder(&recorder, || {
        let config = CorsConfig::builder().metrics(true).build().unwrap();
        let cors = Cors::new(config, registry());
        let registry = cors.registry();
        assert!(registry.metrics_enabled());
        let gauges = || (recorder.gauge("ACTIVE"), recorder.gauge("INACTIVE"));
        assert_eq!(gauges(), (Some(1.0), Some(1.0)));
        let shop = registry
            .create(NewTrustedOrigin::new(
                "Shop",
                "https://shop.example.com",
                [ScopeType::Cors],
            ))
            .unwrap();
        assert_eq!(gauges(), (Some(2.0), Some(1.0)));
        registry.deactivate(&shop.id).unwrap();
        assert_eq!(gauges(), (Some(1.0), Some(2.0)));
        registry.activate(&shop.id).unwrap();
        registry.delete(&shop.id).unwrap();
        assert_eq!(gauges(), (Some(1.0), Some(1.0)));
        let old = registry
            .snapshot()
            .origins()
            .find(|o| &*o.name == "Old")
            .unwrap()
            .id
            .clone();
        registry.activate(&old).unwrap();
        assert_eq!(gauges(), (Some(2.0), Some(0.0)));
        registry.reset(Vec::new()).unwrap();
        assert_eq!(gauges(), (Some(0.0), Some(0.0)));
        assert_eq!(registry.snapshot().active_len(), 0);
    });
}

#[test]
fn route_names_are_checked() {
    for bad in ["", "guard", "unnamed", "a\nb"] {
        assert!(
            RouteCors::builder().name(bad).build().is_err(),
            "{bad:?} accepted"
        );
    }
    let long: &'static str = Box::leak("x".repeat(129).into_boxed_str());
    assert!(RouteCors::builder().name(long).build().is_err());
    assert_eq!(
        RouteCors::builder()
            .name("/api/v1/users/{id}")
            .build()
            .unwrap()
            .name(),
        Some("/api/v1/users/{id}")
    );
    assert_eq!(RouteCors::default().name(), None);
}
