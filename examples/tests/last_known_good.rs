//! Restarts during a database outage: org server processes on a private PostgreSQL cluster,
//! each with its last-known-good copy (`--snapshot-dir`). An instance restarted while the
//! database is down serves the origins it knew, says DEGRADED on `/health`, refuses writes with
//! 503 `E0000010`, and catches up with the fleet once the database is back; an instance with no
//! copy, or only a corrupt or truncated one, refuses to start and names the store.
//!
//! Needs PostgreSQL (Debian `postgresql`): without it the tests print a loud skip notice, and
//! fail under `CI=true`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Proc;
use serde_json::{json, Value};
use trusted_cors_testing::PgCluster;

const TOKEN: &str = "00lkg-test-token";
const AXUM: &str = env!("CARGO_BIN_EXE_org-server");
const ACTIX: &str = env!("CARGO_BIN_EXE_org-server-actix");
const SEED: &str = "http://localhost:8081";
/// A password the test database does not check (trust authentication): `/health` must not show it.
const PASSWORD: &str = "s3cret-never-shown";

fn write_config(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("org.toml");
    std::fs::write(
        &config,
        format!(
            "api_tokens = [\"{TOKEN}\"]\n\n[[trusted_origins]]\nname = \"Seed\"\norigin = \"{SEED}\"\nscopes = [\"CORS\"]\n"
        ),
    )
    .unwrap();
    config
}

/// The cluster's URL with a password in it.
fn url_with_password(cluster: &PgCluster) -> String {
    cluster
        .url()
        .replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1)
}

fn start(server: &str, config: &Path, store: &str, copy: &Path) -> (Proc, String) {
    let copy = copy.to_str().unwrap();
    Proc::start_org(server, config, &["--store", store, "--snapshot-dir", copy])
}

/// Runs an org server that is expected not to start; returns its exit code and standard error.
fn run_to_exit(server: &str, config: &Path, store: &str, copy: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(server)
        .args(["--addr", "127.0.0.1:0", "--config"])
        .arg(config)
        .args(["--store", store, "--snapshot-dir"])
        .arg(copy)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return (status.code(), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{server} with the database down and no sound copy did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn create(client: &reqwest::Client, base: &str, name: &str, origin: &str) -> (u16, Value) {
    let response = client
        .post(format!("{base}/api/v1/trustedOrigins"))
        .header("authorization", format!("SSWS {TOKEN}"))
        .json(&json!({ "name": name, "origin": origin, "scopes": [{ "type": "CORS" }] }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn deactivate(client: &reqwest::Client, base: &str, id: &str) -> u16 {
    client
        .post(format!(
            "{base}/api/v1/trustedOrigins/{id}/lifecycle/deactivate"
        ))
        .header("authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Whether the instance answers a preflight from `origin` (204).
async fn trusts(client: &reqwest::Client, base: &str, origin: &str) -> bool {
    client
        .request(reqwest::Method::OPTIONS, format!("{base}/api/v1/users/me"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .map(|r| r.status() == 204)
        .unwrap_or(false)
}

async fn health(client: &reqwest::Client, base: &str) -> Value {
    let response = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "health answers 200, degraded or not"
    );
    response.json().await.unwrap()
}

/// Polls `done` every 50 ms until it holds, for at most `limit`.
async fn until<F, Fut>(limit: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_restarted_during_an_outage_serves_its_copy_and_catches_up() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let dir = common::temp_dir("lkg-restart");
    let config = write_config(dir.path());
    let url = url_with_password(&cluster);
    let (copy_one, copy_two) = (dir.path().join("one"), dir.path().join("two"));
    let one = start(AXUM, &config, &url, &copy_one);
    let two = start(ACTIX, &config, &url, &copy_two);
    let client = client();

    let (status, body) = create(&client, &one.1, "Kept", "https://kept.example").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = create(&client, &one.1, "Gone", "https://gone.example").await;
    assert_eq!(status, 200, "{body}");
    let gone = body["id"].as_str().unwrap().to_owned();
    assert_eq!(deactivate(&client, &one.1, &gone).await, 200);
    let up = health(&client, &one.1).await;
    assert_eq!(up["status"], "UP", "{up}");
    assert_eq!(up["store"]["status"], "UP", "{up}");
    assert_eq!(up["store"]["kind"], "postgres", "{up}");
    assert!(!up.to_string().contains(PASSWORD), "{up}");
    let known = up["revision"].as_u64().unwrap();
    until(
        Duration::from_secs(10),
        "the other instance follows",
        || async { health(&client, &two.1).await["revision"].as_u64() == Some(known) },
    )
    .await;

    // The instance stops, the database goes down, the instance starts again from its place.
    drop(one);
    cluster.stop_immediate();
    let one = start(AXUM, &config, &url, &copy_one);
    assert!(trusts(&client, &one.1, "https://kept.example").await);
    assert!(trusts(&client, &one.1, SEED).await);
    assert!(
        !trusts(&client, &one.1, "https://gone.example").await,
        "deactivated before"
    );
    assert!(!trusts(&client, &one.1, "https://evil.example").await);
    let degraded = health(&client, &one.1).await;
    assert_eq!(degraded["status"], "DEGRADED", "{degraded}");
    assert_eq!(degraded["store"]["status"], "DOWN", "{degraded}");
    assert_eq!(degraded["store"]["fromCopy"], true, "{degraded}");
    assert_eq!(degraded["revision"].as_u64(), Some(known), "{degraded}");
    assert_eq!(degraded["trustedOrigins"], 3, "{degraded}");
    assert!(degraded["store"]["since"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(degraded["snapshotAge"].as_u64().is_some(), "{degraded}");
    assert!(!degraded.to_string().contains(PASSWORD), "{degraded}");
    let (status, body) = create(&client, &one.1, "Down", "https://down.example").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errorCode"], "E0000010", "{body}");
    one.0.wait_for_log(&["serving the last-known-good copy"]);
    println!(
        "restarted during the outage: served revision {known} from the copy, DEGRADED, writes 503"
    );

    // The database is back: UP within seconds, writes work, and it reaches the fleet's revision.
    cluster.start_again();
    let back = Instant::now();
    until(
        Duration::from_secs(20),
        "the restarted instance is UP",
        || async {
            let now = health(&client, &one.1).await;
            now["status"] == "UP" && now["store"]["status"] == "UP"
        },
    )
    .await;
    let up_after = back.elapsed();
    let (status, body) = create(&client, &two.1, "Fleet", "https://fleet.example").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = create(&client, &one.1, "After", "https://after.example").await;
    assert_eq!(status, 200, "{body}");
    until(Duration::from_secs(10), "both on one revision", || async {
        let (a, b) = (health(&client, &one.1).await, health(&client, &two.1).await);
        a["revision"] == b["revision"] && a["revision"].as_u64() > Some(known)
    })
    .await;
    assert!(trusts(&client, &one.1, "https://fleet.example").await);
    assert!(trusts(&client, &two.1, "https://after.example").await);
    println!(
        "database back: the restarted instance UP after {:.1} s, on the fleet's revision",
        up_after.as_secs_f64()
    );
    let log = one.0.log();
    let recoveries = log
        .lines()
        .filter(|line| line.contains("reconnected to the trusted-origins store and caught up"))
        .count();
    assert_eq!(recoveries, 1, "one line per recovery:\n{log}");
    assert!(!log.contains("already exists, skipping"), "{log}");
    assert!(!log.contains(PASSWORD), "{log}");
    drop((one, two));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_sound_copy_an_instance_does_not_start_while_the_database_is_down() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let dir = common::temp_dir("lkg-refuse");
    let config = write_config(dir.path());
    let url = cluster.url();
    // One copy written while the database is up, to be truncated.
    let truncated = dir.path().join("truncated");
    let (instance, base) = start(AXUM, &config, &url, &truncated);
    let (status, body) = create(&client(), &base, "Kept", "https://kept.example").await;
    assert_eq!(status, 200, "{body}");
    drop(instance);
    cluster.stop_immediate();

    let file = truncated.join(trusted_cors::admin::LAST_KNOWN_GOOD_FILE);
    let length = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    let garbage = dir.path().join("garbage");
    std::fs::create_dir_all(&garbage).unwrap();
    std::fs::write(
        garbage.join(trusted_cors::admin::LAST_KNOWN_GOOD_FILE),
        b"not a SQLite file at all, though named like one".repeat(100),
    )
    .unwrap();

    let never = dir.path().join("never");
    for (copy, server, corrupt) in [
        (&never, AXUM, false),
        (&garbage, ACTIX, true),
        (&truncated, AXUM, true),
    ] {
        let (code, stderr) = run_to_exit(server, &config, &url, copy);
        assert!(
            code.is_some_and(|c| c != 0),
            "{copy:?}: exit {code:?}\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("the trusted-origins store {url}"))
                && stderr.contains("is unavailable")
                && stderr.contains("no sound last-known-good copy"),
            "{copy:?}: the error names the store:\n{stderr}"
        );
        if corrupt {
            assert!(
                stderr.contains("the last-known-good copy is corrupt"),
                "{copy:?}: the corrupt copy is logged:\n{stderr}"
            );
            assert!(copy
                .join(format!(
                    "{}.corrupt",
                    trusted_cors::admin::LAST_KNOWN_GOOD_FILE
                ))
                .exists());
        }
    }
    println!("no copy, a garbage copy, a truncated copy: each refused to start, naming the store");
}
