//! `GET /metrics` on both example org servers, as real processes on loopback sharing one SQLite
//! store: after a scripted mix of requests, the decision counter holds exactly what each request
//! was counted as; the trusted-origins gauge, the store write histogram and the counter of
//! changes applied from the other instance follow changes made through the Trusted Origins API.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Proc;
use reqwest::{Client, Method};
use serde_json::{json, Value};

const AXUM: &str = env!("CARGO_BIN_EXE_org-server");
const ACTIX: &str = env!("CARGO_BIN_EXE_org-server-actix");
/// The API token and the trusted origin of `org.toml`.
const TOKEN: &str = "00example-api-token";
const TRUSTED: &str = "http://localhost:8081";
const UNTRUSTED: &str = "https://evil.example";

/// One sample: the metric name and its labels.
type Series = (String, BTreeMap<String, String>);

/// The samples of a Prometheus text exposition, by name and labels.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = BTreeMap::new();
                for pair in rest.split("\",").filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once("=\"").expect("key=\"value\"");
                    labels.insert(key.to_owned(), value.trim_end_matches('"').to_owned());
                }
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), BTreeMap::new()),
        };
        samples.insert((name, labels), value);
    }
    samples
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    (name.to_owned(), labels)
}

/// The series of one metric.
fn of(samples: &BTreeMap<Series, f64>, name: &str) -> BTreeMap<Series, f64> {
    samples
        .iter()
        .filter(|((n, _), _)| n == name)
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

async fn scrape(client: &Client, base: &str) -> BTreeMap<Series, f64> {
    let response = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(
        text.contains("# HELP trusted_cors_decisions_total"),
        "{text}"
    );
    parse(&text)
}

/// The org's default configuration with the store in `dir`, and `header_not_allowed` in report
/// mode, so that the mix has a reported rule.
fn write_config(dir: &Path) -> PathBuf {
    let mut config: toml::Table = toml::from_str(trusted_cors_examples::DEFAULT_CONFIG).unwrap();
    let store = dir.join("trusted-origins.db");
    config.insert("store".into(), store.display().to_string().into());
    let cors = config["cors"].as_table_mut().expect("[cors]");
    assert_eq!(
        cors["metrics"].as_bool(),
        Some(true),
        "org.toml turns metrics on"
    );
    let mut rules = toml::Table::new();
    rules.insert("header_not_allowed".into(), "report".into());
    cors.insert("rules".into(), rules.into());
    let path = dir.join("org.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    path
}

/// Sends the scripted mix; returns the statuses.
async fn mix(client: &Client, base: &str) -> Vec<u16> {
    let me = format!("{base}/api/v1/users/me");
    let users = format!("{base}/api/v1/users");
    let same_origin = base.to_owned();
    let requests = [
        // allowed: a trusted origin (no session: the handler answers 403, with CORS headers)
        client.get(&me).header("origin", TRUSTED),
        // allowed on the other named route
        client
            .get(format!("{base}/api/v1/users/00u1ada"))
            .header("origin", TRUSTED),
        // preflight answered
        client
            .request(Method::OPTIONS, &me)
            .header("origin", TRUSTED)
            .header("access-control-request-method", "PUT"),
        // preflight answered, with a header the route does not allow: reported
        client
            .request(Method::OPTIONS, &me)
            .header("origin", TRUSTED)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "x-debug"),
        // rejected by the route: an untrusted origin
        client.get(&me).header("origin", UNTRUSTED),
        // rejected by the guard: an API token from a browser
        client
            .get(&users)
            .header("origin", TRUSTED)
            .header("authorization", format!("SSWS {TOKEN}")),
        // rejected by the guard: a preflight to a route that declared nothing
        client
            .request(Method::OPTIONS, &users)
            .header("origin", TRUSTED)
            .header("access-control-request-method", "GET"),
        // not counted: no Origin, same-origin, cross-origin to an undeclared route
        client.get(&me),
        client.get(&me).header("origin", same_origin),
        client
            .get(format!("{base}/health"))
            .header("origin", TRUSTED),
    ];
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.send().await.unwrap().status().as_u16());
    }
    statuses
}

const DECISIONS: &str = "trusted_cors_decisions_total";
const GAUGE: &str = "trusted_cors_trusted_origins";
const WRITES: &str = "trusted_cors_store_write_seconds_count";
const APPLIED: &str = "trusted_cors_registry_changes_applied_total";

fn expected_decisions() -> BTreeMap<Series, f64> {
    let decision = |outcome, reason, route| {
        series(
            DECISIONS,
            &[("outcome", outcome), ("reason", reason), ("route", route)],
        )
    };
    [
        (decision("allowed", "none", "users_me"), 1.0),
        (decision("allowed", "none", "users_id"), 1.0),
        (decision("preflight", "none", "users_me"), 2.0),
        (decision("reported", "header_not_allowed", "users_me"), 1.0),
        (decision("rejected", "origin_not_trusted", "users_me"), 1.0),
        (decision("rejected", "api_token_cross_origin", "guard"), 1.0),
        (decision("rejected", "route_not_cors_enabled", "guard"), 1.0),
    ]
    .into_iter()
    .collect()
}

fn gauge(samples: &BTreeMap<Series, f64>) -> (Option<f64>, Option<f64>) {
    (
        samples
            .get(&series(GAUGE, &[("status", "ACTIVE")]))
            .copied(),
        samples
            .get(&series(GAUGE, &[("status", "INACTIVE")]))
            .copied(),
    )
}

fn writes(samples: &BTreeMap<Series, f64>) -> f64 {
    let count = samples.get(&series(WRITES, &[("store", "sqlite")]));
    count.copied().unwrap_or(0.0)
}

fn applied(samples: &BTreeMap<Series, f64>) -> f64 {
    samples.get(&series(APPLIED, &[])).copied().unwrap_or(0.0)
}

async fn revision(client: &Client, base: &str) -> u64 {
    let body: Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["revision"].as_u64().expect("a revision")
}

/// Waits until `base` serves `revision` (the other instance's change, applied by its follower).
async fn wait_for_revision(client: &Client, base: &str, wanted: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while revision(client, base).await < wanted {
        assert!(Instant::now() < deadline, "{base} never reached {wanted}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_servers_count_a_scripted_mix_exactly() {
    let dir = common::temp_dir("metrics");
    let config = write_config(dir.path());
    // Both instances share the store: each applies the other's changes.
    let (_axum, axum) = Proc::start_org(AXUM, &config, &[]);
    let (_actix, actix) = Proc::start_org(ACTIX, &config, &[]);
    let client = Client::new();
    let bases = [axum.as_str(), actix.as_str()];

    for base in bases {
        let statuses = mix(&client, base).await;
        assert_eq!(
            statuses,
            [403, 403, 204, 204, 403, 403, 403, 403, 403, 200],
            "{base}"
        );
        let samples = scrape(&client, base).await;
        assert_eq!(of(&samples, DECISIONS), expected_decisions(), "{base}");
        assert_eq!(gauge(&samples), (Some(1.0), Some(0.0)), "{base}");
        assert_eq!(writes(&samples), 0.0, "{base}");
        assert_eq!(applied(&samples), 0.0, "{base}");
        // /metrics is server-side only: its preflight is refused before any handler.
        let preflight = client
            .request(Method::OPTIONS, format!("{base}/metrics"))
            .header("origin", TRUSTED)
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 403);
        assert!(preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none());
    }

    // A new trusted origin through the axum instance's API.
    let created: Value = client
        .post(format!("{axum}/api/v1/trustedOrigins"))
        .header("authorization", format!("SSWS {TOKEN}"))
        .json(&json!({"name": "Shop", "origin": "https://shop.example.com", "scopes": [{"type": "CORS"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("an id").to_owned();
    let samples = scrape(&client, &axum).await;
    assert_eq!(gauge(&samples), (Some(2.0), Some(0.0)));
    assert_eq!(writes(&samples), 1.0);
    assert_eq!(applied(&samples), 0.0);
    // The store answers, and the change was just applied.
    let up = samples.get(&series("trusted_cors_store_up", &[("store", "sqlite")]));
    assert_eq!(up, Some(&1.0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let applied_at = samples
        .get(&series(
            "trusted_cors_registry_last_applied_timestamp_seconds",
            &[],
        ))
        .copied()
        .expect("the last-applied timestamp");
    assert!(
        (now - 60.0..=now + 1.0).contains(&applied_at),
        "{applied_at} against {now}"
    );
    wait_for_revision(&client, &actix, revision(&client, &axum).await).await;
    let samples = scrape(&client, &actix).await;
    assert_eq!(gauge(&samples), (Some(2.0), Some(0.0)));
    assert_eq!(writes(&samples), 0.0);
    assert_eq!(applied(&samples), 1.0);

    // Deactivated through the actix instance's API.
    let deactivated = client
        .post(format!(
            "{actix}/api/v1/trustedOrigins/{id}/lifecycle/deactivate"
        ))
        .header("authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), 200);
    let samples = scrape(&client, &actix).await;
    assert_eq!(gauge(&samples), (Some(1.0), Some(1.0)));
    assert_eq!(writes(&samples), 1.0);
    wait_for_revision(&client, &axum, revision(&client, &actix).await).await;
    let samples = scrape(&client, &axum).await;
    assert_eq!(gauge(&samples), (Some(1.0), Some(1.0)));
    assert_eq!(writes(&samples), 1.0);
    assert_eq!(applied(&samples), 1.0);

    // The API calls and scrapes carried no Origin: the decisions are as the mix left them, and
    // the refused preflight to /metrics.
    let mut expected = expected_decisions();
    let refused = series(
        DECISIONS,
        &[
            ("outcome", "rejected"),
            ("reason", "route_not_cors_enabled"),
            ("route", "guard"),
        ],
    );
    *expected.get_mut(&refused).expect("counted in the mix") += 1.0;
    for base in bases {
        let samples = scrape(&client, base).await;
        assert_eq!(of(&samples, DECISIONS), expected, "{base}");
    }
    drop(dir);
}

#[test]
fn metrics_are_404_when_off() {
    let dir = common::temp_dir("metrics-off");
    let config = dir.path().join("org.toml");
    let text = trusted_cors_examples::DEFAULT_CONFIG.replace("metrics = true", "metrics = false");
    std::fs::write(&config, text).unwrap();
    for server in [AXUM, ACTIX] {
        let (_proc, base) = Proc::start_org(server, &config, &["--store", "memory"]);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let status = runtime.block_on(async {
            let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
            response.status().as_u16()
        });
        assert_eq!(status, 404, "{server}");
    }
    drop(dir);
}
