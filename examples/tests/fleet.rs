//! A fleet: several org server processes (axum and actix-web) on one private PostgreSQL cluster.
//! Changes made through one instance's Trusted Origins API change the CORS decisions of the
//! others (propagation delay measured and printed); two instances racing to create one origin
//! give one success and one duplicate error; with the database down, instances keep deciding
//! from their snapshot, refuse writes with an Okta-shaped 503, and converge once it is back. An
//! instance restarted while the database is down serves its last-known-good copy
//! (`--snapshot-dir`), says DEGRADED on `/health` and catches up after; one with no copy, or only
//! a corrupt or truncated one, refuses to start and names the store.
//!
//! Needs PostgreSQL (Debian `postgresql`): without it the tests print a loud skip notice, and
//! fail under `CI=true`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Proc;
use serde_json::{json, Value};
use trusted_cors_testing::PgCluster;

const TOKEN: &str = "00fleet-test-token";
const AXUM: &str = env!("CARGO_BIN_EXE_org-server");
const ACTIX: &str = env!("CARGO_BIN_EXE_org-server-actix");

fn write_config(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = common::temp_dir(&format!("fleet-{name}"));
    let config = dir.path().join("org.toml");
    std::fs::write(
        &config,
        format!(
            "api_tokens = [\"{TOKEN}\"]\n\n[[trusted_origins]]\nname = \"Seed\"\norigin = \"http://localhost:8081\"\nscopes = [\"CORS\"]\n"
        ),
    )
    .unwrap();
    (dir, config)
}

/// Starts an instance, its last-known-good copy in a directory of its own beside `config`.
fn start(server: &str, config: &Path, store: &str) -> (Proc, String) {
    static INSTANCES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    start_with_copy(
        server,
        config,
        store,
        &config.with_file_name(format!("copy-{n}")),
    )
}

/// Starts an instance with its last-known-good copy in `copy`.
fn start_with_copy(server: &str, config: &Path, store: &str, copy: &Path) -> (Proc, String) {
    let copy = copy.to_str().expect("a UTF-8 path");
    Proc::start_org(server, config, &["--store", store, "--snapshot-dir", copy])
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `POST /api/v1/trustedOrigins`: the status and the body.
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

/// `POST .../lifecycle/{activate,deactivate}`.
async fn set_active(client: &reqwest::Client, base: &str, id: &str, active: bool) -> u16 {
    let verb = if active { "activate" } else { "deactivate" };
    client
        .post(format!(
            "{base}/api/v1/trustedOrigins/{id}/lifecycle/{verb}"
        ))
        .header("authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Whether the instance at `base` now answers a preflight from `origin` (204) or refuses it.
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

/// The revision an instance serves (`GET /health`).
async fn revision(client: &reqwest::Client, base: &str) -> Option<u64> {
    let response = client.get(format!("{base}/health")).send().await.ok()?;
    let body: Value = response.json().await.ok()?;
    body["revision"].as_u64()
}

/// Waits until every instance in `bases` gives `expected` for `origin`; returns how long it took.
async fn until_all(
    client: &reqwest::Client,
    bases: &[&str],
    origin: &str,
    expected: bool,
) -> Duration {
    let started = Instant::now();
    for base in bases {
        while trusts(client, base, origin).await != expected {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{base} did not see {origin} become {expected} within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_one_instance_reach_the_others() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (dir, config) = write_config("propagation");
    let url = cluster.url();
    let instances = [
        start(AXUM, &config, &url),
        start(ACTIX, &config, &url),
        start(AXUM, &config, &url),
    ];
    let bases: Vec<&str> = instances.iter().map(|(_, base)| base.as_str()).collect();
    let client = client();
    const CHANGES: usize = 240;
    let mut delays = Vec::with_capacity(CHANGES);
    let mut ids: Vec<(String, String)> = Vec::new();
    for change in 0..CHANGES {
        let writer = change % bases.len();
        let others: Vec<&str> = (0..bases.len())
            .filter(|i| *i != writer)
            .map(|i| bases[i])
            .collect();
        // Create a new origin, or deactivate / reactivate one made before.
        let (origin, expected) = if change % 3 == 0 || ids.is_empty() {
            let origin = format!("https://p{change}.example");
            let (status, body) =
                create(&client, bases[writer], &format!("p{change}"), &origin).await;
            assert_eq!(status, 200, "{body}");
            ids.push((body["id"].as_str().unwrap().to_owned(), origin.clone()));
            (origin, true)
        } else {
            let (id, origin) = &ids[change % ids.len()];
            let active = trusts(&client, bases[writer], origin).await;
            assert_eq!(set_active(&client, bases[writer], id, !active).await, 200);
            (origin.clone(), !active)
        };
        delays.push(until_all(&client, &others, &origin, expected).await);
    }
    delays.sort();
    let (p50, p99, max) = (
        percentile(&delays, 0.50),
        percentile(&delays, 0.99),
        delays[delays.len() - 1],
    );
    println!(
        "fleet of 3 on PostgreSQL: {CHANGES} changes, propagation to both other instances p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 200 ms)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
    );
    // Every instance ends on the same revision.
    let first = revision(&client, bases[0]).await;
    for base in &bases {
        assert_eq!(revision(&client, base).await, first);
    }
    drop(instances);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_instances_create_an_origin_once() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (dir, config) = write_config("race");
    let url = cluster.url();
    let one = start(AXUM, &config, &url);
    let two = start(ACTIX, &config, &url);
    let client = client();
    for round in 0..100 {
        let origin = format!("https://race{round}.example");
        let (name_a, name_b) = (format!("race{round}-a"), format!("race{round}-b"));
        let (a, b) = tokio::join!(
            create(&client, &one.1, &name_a, &origin),
            create(&client, &two.1, &name_b, &origin),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "round {round}: {a:?} {b:?}");
        let refused = if a.0 == 400 { &a.1 } else { &b.1 };
        assert_eq!(refused["errorCode"], "E0000001", "{refused}");
        assert!(
            refused["errorCauses"].to_string().contains("origin"),
            "{refused}"
        );
    }
    println!("100 races between two instances: one success and one duplicate error each time");
    drop((one, two));
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_instances_serve_their_snapshot_and_converge_after() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (dir, config) = write_config("faults");
    let url = cluster.url();
    let one = start(AXUM, &config, &url);
    let two = start(ACTIX, &config, &url);
    let bases = [one.1.as_str(), two.1.as_str()];
    let client = client();
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let (status, body) = create(
            &client,
            bases[i % 2],
            &format!("up{i}"),
            &format!("https://up{i}.example"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        acknowledged.push(format!("up{i}"));
    }
    until_all(&client, &bases, "https://up19.example", true).await;

    // The database goes away at once, its backends killed mid-stream.
    cluster.stop_immediate();
    let down = Instant::now();
    let mut refused = 0;
    const WRITES_DOWN: usize = 6;
    for i in 0..WRITES_DOWN {
        let (status, body) = create(
            &client,
            bases[i % 2],
            &format!("down{i}"),
            &format!("https://down{i}.example"),
        )
        .await;
        match status {
            200 => acknowledged.push(format!("down{i}")),
            503 => {
                assert_eq!(body["errorCode"], "E0000010", "{body}");
                refused += 1;
            }
            other => panic!("a write with the database down answered {other}: {body}"),
        }
        // CORS decisions go on from the last snapshot: never open, never empty.
        for base in bases {
            assert!(trusts(&client, base, "https://up7.example").await);
            assert!(trusts(&client, base, "http://localhost:8081").await);
            assert!(!trusts(&client, base, "https://evil.example").await);
        }
    }
    assert!(refused > 0, "every write succeeded with the database down");
    println!(
        "database down for {:.1} s: {refused} of {WRITES_DOWN} writes refused with 503, CORS answered from the snapshot",
        down.elapsed().as_secs_f64()
    );

    // Back: both instances reconnect and converge on one revision within 5 s.
    cluster.start_again();
    let back = Instant::now();
    let (status, body) = loop {
        let attempt = create(&client, bases[0], "after", "https://after.example").await;
        if attempt.0 != 503 || back.elapsed() > Duration::from_secs(5) {
            break attempt;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "{body}");
    acknowledged.push("after".into());
    loop {
        let revisions = [
            revision(&client, bases[0]).await,
            revision(&client, bases[1]).await,
        ];
        if revisions[0].is_some()
            && revisions[0] == revisions[1]
            && trusts(&client, bases[1], "https://after.example").await
        {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "instances did not converge within 5 s: {revisions:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "database back: instances converged in {:.0} ms",
        back.elapsed().as_secs_f64() * 1e3
    );
    // Nothing acknowledged was lost.
    let names = common::list_names(&client, bases[1], TOKEN).await;
    for name in &acknowledged {
        assert!(names.contains(name), "acknowledged {name} lost");
    }
    drop((one, two));
    drop(dir);
}

/// A password the test database does not check (trust authentication): `/health` must not show it.
const PASSWORD: &str = "s3cret-never-shown";

/// The cluster's URL with a password in it.
fn url_with_password(cluster: &PgCluster) -> String {
    cluster
        .url()
        .replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1)
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
    let (dir, config) = write_config("lkg-restart");
    let url = url_with_password(&cluster);
    let (copy_one, copy_two) = (dir.path().join("one"), dir.path().join("two"));
    let one = start_with_copy(AXUM, &config, &url, &copy_one);
    let two = start_with_copy(ACTIX, &config, &url, &copy_two);
    let client = client();

    let (status, body) = create(&client, &one.1, "Kept", "https://kept.example").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = create(&client, &one.1, "Gone", "https://gone.example").await;
    assert_eq!(status, 200, "{body}");
    let gone = body["id"].as_str().unwrap().to_owned();
    assert_eq!(set_active(&client, &one.1, &gone, false).await, 200);
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
    let one = start_with_copy(AXUM, &config, &url, &copy_one);
    assert!(trusts(&client, &one.1, "https://kept.example").await);
    assert!(trusts(&client, &one.1, "http://localhost:8081").await);
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
    let (dir, config) = write_config("lkg-refuse");
    let url = cluster.url();
    // One copy written while the database is up, to be truncated.
    let truncated = dir.path().join("truncated");
    let (instance, base) = start_with_copy(AXUM, &config, &url, &truncated);
    let (status, body) = create(&client(), &base, "Kept", "https://kept.example").await;
    assert_eq!(status, 200, "{body}");
    drop(instance);
    cluster.stop_immediate();

    let file = truncated.join(trusted_cors::admin::LAST_KNOWN_GOOD_FILE);
    trusted_cors_testing::cut_in_half(&file);
    // The instance was killed: its write-ahead log, which would make up for the cut, goes too.
    for companion in ["-wal", "-shm"] {
        let mut log = file.clone().into_os_string();
        log.push(companion);
        let _ = std::fs::remove_file(log);
    }
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
