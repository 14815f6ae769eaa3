//! Durability of the Trusted Origins API in the example org servers, as real processes on
//! loopback with a real SQLite store file: restarts, SIGKILL at random moments during a stream of
//! writes, concurrent writers, two processes sharing one store, and a corrupt store.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{list_names, Proc};
use serde_json::{json, Value};
use trusted_cors::admin::{SqliteStore, TrustedOriginStore};
use trusted_cors::TrustedOrigin;

const TOKEN: &str = "00store-test-token";
const SERVERS: [&str; 2] = [
    env!("CARGO_BIN_EXE_org-server"),
    env!("CARGO_BIN_EXE_org-server-actix"),
];

fn temp_dir(name: &str) -> tempfile::TempDir {
    common::temp_dir(&format!("durability-{name}"))
}

fn write_config(dir: &Path) -> (PathBuf, PathBuf) {
    let store = dir.join("trusted-origins.db");
    let config = dir.join("org.toml");
    std::fs::write(
        &config,
        format!(
            "api_tokens = [\"{TOKEN}\"]\nstore = \"{}\"\n\n[[trusted_origins]]\nname = \"Seed\"\norigin = \"http://localhost:8081\"\nscopes = [\"CORS\"]\n",
            store.display()
        ),
    )
    .unwrap();
    (config, store)
}

/// What the store file holds, read as another process would.
async fn stored(path: &Path) -> Result<Vec<TrustedOrigin>, String> {
    let store = SqliteStore::open(path).await.map_err(|e| e.to_string())?;
    Ok(store.load().await.map_err(|e| e.to_string())?.origins)
}

fn start(server: &str, config: &Path) -> (Proc, String) {
    Proc::start_org(server, config, &[])
}

async fn create(client: &reqwest::Client, base: &str, name: &str) -> Result<String, String> {
    let response = client
        .post(format!("{base}/api/v1/trustedOrigins"))
        .header("authorization", format!("SSWS {TOKEN}"))
        .json(&json!({ "name": name, "origin": format!("https://{name}.example"), "scopes": [{ "type": "CORS" }] }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    Ok(body["id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_keep_every_acknowledged_change() {
    let client = reqwest::Client::new();
    for server in SERVERS {
        let dir = temp_dir("restart");
        let (config, _) = write_config(dir.path());
        let (proc, base) = start(server, &config);
        let a = create(&client, &base, "alpha").await.unwrap();
        let b = create(&client, &base, "beta").await.unwrap();
        create(&client, &base, "gamma").await.unwrap();
        let auth = format!("SSWS {TOKEN}");
        assert_eq!(
            client
                .post(format!(
                    "{base}/api/v1/trustedOrigins/{a}/lifecycle/deactivate"
                ))
                .header("authorization", &auth)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            client
                .delete(format!("{base}/api/v1/trustedOrigins/{b}"))
                .header("authorization", &auth)
                .send()
                .await
                .unwrap()
                .status(),
            204
        );
        drop(proc);

        let (_proc, base) = start(server, &config);
        let names = list_names(&client, &base, TOKEN).await;
        assert_eq!(names, ["Seed", "alpha", "gamma"], "{server}");
        // The sign-in page may only be framed by the org and its IFRAME_EMBED origins (its own
        // policy, on styles, is another Content-Security-Policy field).
        let csp = |base: String| {
            let client = client.clone();
            async move {
                let response = client.get(format!("{base}/login")).send().await.unwrap();
                let policies: Vec<String> = response
                    .headers()
                    .get_all("content-security-policy")
                    .iter()
                    .map(|v| v.to_str().unwrap().to_owned())
                    .collect();
                policies
                    .into_iter()
                    .find(|p| p.starts_with("frame-ancestors"))
                    .unwrap_or_default()
            }
        };
        assert_eq!(
            csp(base.clone()).await,
            "frame-ancestors 'self'",
            "{server}"
        );
        let embed = client
            .post(format!("{base}/api/v1/trustedOrigins"))
            .header("authorization", &auth)
            .json(&json!({ "name": "Portal", "origin": "https://portal.example.com", "scopes": [{ "type": "IFRAME_EMBED" }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(embed.status(), 200);
        assert_eq!(
            csp(base.clone()).await,
            "frame-ancestors 'self' https://portal.example.com",
            "{server}"
        );
        let alpha: Value = client
            .get(format!("{base}/api/v1/trustedOrigins/{a}"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(alpha["status"], "INACTIVE", "{server}");
        dir.close().unwrap();
    }
}

/// A small deterministic generator for kill delays, so a failing trial can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_writes_loses_no_acknowledged_change() {
    const TRIALS: usize = 50;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut random = Lcg(0x5eed);
    let dir = temp_dir("crash");
    let (config, store) = write_config(dir.path());
    let mut acknowledged: Vec<String> = Vec::new();
    for trial in 0..TRIALS {
        let server = SERVERS[trial % 2];
        let (mut proc, base) = start(server, &config);
        let kill_after = Duration::from_millis(random.next_below(60));
        let started = Instant::now();
        let mut i = 0;
        // A stream of writes; the process is killed at a random moment, possibly mid-request.
        while started.elapsed() < kill_after || i == 0 {
            let name = format!("t{trial}-{i}");
            if create(&client, &base, &name).await.is_ok() {
                acknowledged.push(name);
            }
            i += 1;
        }
        let killer = {
            let client = client.clone();
            let base = base.clone();
            let name = format!("t{trial}-inflight");
            tokio::spawn(async move { create(&client, &base, &name).await })
        };
        proc.child.kill().unwrap();
        let _ = proc.child.wait();
        if let Ok(Ok(_)) = killer.await {
            acknowledged.push(format!("t{trial}-inflight"));
        }
        drop(proc);

        // The store loads, and holds every acknowledged change.
        let stored = stored(&store)
            .await
            .unwrap_or_else(|e| panic!("trial {trial}: the store does not load: {e}"));
        let names: HashSet<&str> = stored.iter().map(|o| &*o.name).collect();
        for name in &acknowledged {
            assert!(
                names.contains(name.as_str()),
                "trial {trial} ({server}): acknowledged `{name}` is missing"
            );
        }
        assert_eq!(
            names.len(),
            stored.len(),
            "trial {trial}: duplicate entries"
        );
    }
    // And the servers start from it.
    let (_proc, base) = start(SERVERS[0], &config);
    let names: HashSet<String> = list_names(&client, &base, TOKEN)
        .await
        .into_iter()
        .collect();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|n| !names.contains(*n))
        .collect();
    assert!(missing.is_empty(), "missing after restart: {missing:?}");
    println!(
        "{TRIALS} SIGKILL trials, {} acknowledged writes, none lost",
        acknowledged.len()
    );
    dir.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_lose_nothing() {
    const CLIENTS: usize = 12;
    const EACH: usize = 8;
    let client = reqwest::Client::new();
    for server in SERVERS {
        let dir = temp_dir("concurrent");
        let (config, store) = write_config(dir.path());
        let (_proc, base) = start(server, &config);
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let client = client.clone();
                let base = base.clone();
                tokio::spawn(async move {
                    let mut ids = Vec::new();
                    for i in 0..EACH {
                        ids.push(
                            create(&client, &base, &format!("c{c}-{i}"))
                                .await
                                .expect("acknowledged"),
                        );
                    }
                    ids
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for task in tasks {
            ids.extend(task.await.unwrap());
        }
        assert_eq!(ids.len(), CLIENTS * EACH, "{server}: duplicate ids");
        let names = list_names(&client, &base, TOKEN).await;
        assert_eq!(names.len(), CLIENTS * EACH + 1, "{server}");
        assert_eq!(
            names.iter().collect::<HashSet<_>>().len(),
            names.len(),
            "{server}: duplicates"
        );
        let stored = stored(&store).await.unwrap();
        assert_eq!(
            stored.len(),
            CLIENTS * EACH + 1,
            "{server}: the store lags the API"
        );
        dir.close().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_store_see_each_others_changes_within_a_second() {
    let client = reqwest::Client::new();
    let dir = temp_dir("shared");
    let (config, _) = write_config(dir.path());
    let (_axum, axum_base) = start(SERVERS[0], &config);
    let (_actix, actix_base) = start(SERVERS[1], &config);
    create(&client, &axum_base, "partner").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let status = client
            .request(
                reqwest::Method::OPTIONS,
                format!("{actix_base}/api/v1/users/me"),
            )
            .header("origin", "https://partner.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap()
            .status();
        if status == 204 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other process did not pick up the change within a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    dir.close().unwrap();
}

#[test]
fn a_corrupt_store_refuses_to_start_and_is_kept() {
    for server in SERVERS {
        let dir = temp_dir("corrupt");
        let (config, store) = write_config(dir.path());
        std::fs::write(&store, b"{ not a database }").unwrap();
        let output = std::process::Command::new(server)
            .args([
                "--addr",
                "127.0.0.1:0",
                "--config",
                config.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "{server} started on a corrupt store"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("trusted-origins.db"), "{server}: {stderr}");
        assert_eq!(
            std::fs::read(&store).unwrap(),
            b"{ not a database }",
            "{server} overwrote the corrupt store"
        );
        dir.close().unwrap();
    }
}
