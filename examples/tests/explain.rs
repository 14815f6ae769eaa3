//! "Why was this blocked?" against both example org servers over loopback: for a set of calls,
//! what `GET /api/v1/cors/explain` says (outcome and reason) is what the server does when the
//! browser's requests arrive (the preflight when one is needed, then the actual request); the
//! endpoint is open to any origin without credentials and names a bad parameter; `cors-explain`
//! prints the same from a terminal.

mod common;

use common::Proc;
use serde_json::Value;

const AXUM: &str = env!("CARGO_BIN_EXE_org-server");
const ACTIX: &str = env!("CARGO_BIN_EXE_org-server-actix");
const EXPLAIN_BIN: &str = env!("CARGO_BIN_EXE_cors-explain");
/// A trusted origin with the CORS scope in the shipped org.toml (the tester page's).
const TRUSTED: &str = "http://localhost:8081";
const UNTRUSTED: &str = "https://shop.example.com";

struct Call {
    origin: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [&'static str],
    credentials: bool,
    /// The expected outcome and reason.
    expect: (&'static str, Option<&'static str>),
}

const CALLS: &[Call] = &[
    Call {
        origin: TRUSTED,
        method: "GET",
        path: "/api/v1/users/me",
        headers: &[],
        credentials: true,
        expect: ("allowed", None),
    },
    Call {
        origin: TRUSTED,
        method: "PUT",
        path: "/api/v1/users/me",
        headers: &["content-type"],
        credentials: true,
        expect: ("allowed", None),
    },
    Call {
        origin: UNTRUSTED,
        method: "PUT",
        path: "/api/v1/users/me",
        headers: &["content-type"],
        credentials: true,
        expect: ("refused", Some("origin_not_trusted")),
    },
    Call {
        origin: UNTRUSTED,
        method: "GET",
        path: "/api/v1/users/me",
        headers: &["authorization"],
        credentials: false,
        expect: ("allowed", None),
    },
    Call {
        origin: TRUSTED,
        method: "DELETE",
        path: "/api/v1/users/me",
        headers: &[],
        credentials: true,
        expect: ("refused", Some("method_not_allowed")),
    },
    Call {
        origin: TRUSTED,
        method: "GET",
        path: "/api/v1/users/00u1ada",
        headers: &["x-custom"],
        credentials: true,
        expect: ("refused", Some("header_not_allowed")),
    },
    Call {
        origin: TRUSTED,
        method: "GET",
        path: "/api/v1/users",
        headers: &[],
        credentials: true,
        expect: ("blocked", Some("route_not_cors_enabled")),
    },
    Call {
        origin: TRUSTED,
        method: "PUT",
        path: "/api/v1/users",
        headers: &["content-type"],
        credentials: false,
        expect: ("refused", Some("route_not_cors_enabled")),
    },
    Call {
        origin: UNTRUSTED,
        method: "GET",
        path: "/api/v1/cors/explain",
        headers: &[],
        credentials: false,
        expect: ("allowed", None),
    },
    Call {
        origin: UNTRUSTED,
        method: "GET",
        path: "/api/v1/cors/explain",
        headers: &[],
        credentials: true,
        expect: ("refused", Some("origin_not_trusted")),
    },
];

/// A directory holding the shipped configuration as `org.toml`, and its path.
fn config() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = common::temp_dir("explain");
    let config = dir.path().join("org.toml");
    std::fs::write(&config, trusted_cors_examples::DEFAULT_CONFIG).unwrap();
    (dir, config)
}

async fn explained(client: &reqwest::Client, base: &str, call: &Call) -> Value {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("origin", call.origin)
        .append_pair("method", call.method)
        .append_pair("path", call.path)
        .append_pair("headers", &call.headers.join(","))
        .append_pair(
            "credentials",
            if call.credentials { "true" } else { "false" },
        );
    let url = format!("{base}/api/v1/cors/explain?{}", query.finish());
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// What the server does with the call, as the browser sends it: `(outcome, reason)`.
async fn observed(client: &reqwest::Client, base: &str, call: &Call) -> (String, Option<String>) {
    let url = format!("{base}{}", call.path);
    let needs_preflight = !matches!(call.method, "GET" | "HEAD" | "POST")
        || call.headers.iter().any(|h| *h != "accept");
    let reason = |body: &Value| body["reason"].as_str().map(str::to_owned);
    if needs_preflight {
        let mut preflight = client
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", call.origin)
            .header("access-control-request-method", call.method);
        if !call.headers.is_empty() {
            preflight = preflight.header("access-control-request-headers", call.headers.join(", "));
        }
        let answer = preflight.send().await.unwrap();
        if answer.status() == 403 {
            let body: Value = answer.json().await.unwrap();
            return ("refused".into(), reason(&body));
        }
        assert_eq!(answer.status(), 204, "{url}");
    }
    let mut actual = client
        .request(call.method.parse().unwrap(), &url)
        .header("origin", call.origin);
    for header in call.headers {
        actual = match *header {
            "authorization" => actual.header("authorization", "Bearer at-unknown"),
            "content-type" => actual.header("content-type", "application/json"),
            other => actual.header(other, "1"),
        };
    }
    if call.credentials {
        actual = actual.header("cookie", "sid=not-a-session");
    }
    let answer = actual.send().await.unwrap();
    let status = answer.status();
    let headers = answer.headers().clone();
    let allow_origin = headers.get("access-control-allow-origin");
    if answer.status() == 403 && allow_origin.is_none() {
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if let Some(reason) = reason(&body) {
            return ("refused".into(), Some(reason));
        }
    }
    let readable = allow_origin.is_some_and(|v| v == call.origin)
        && (!call.credentials
            || headers
                .get("access-control-allow-credentials")
                .is_some_and(|v| v == "true"));
    if !readable {
        // Blocked: the route itself answered (no refusal by the layers, no missing route, no
        // failure); only the browser keeps the answer from the page.
        assert!(
            status != 404 && !status.is_server_error(),
            "{url}: not an answer of the route: {status}"
        );
    }
    match readable {
        true => ("allowed".into(), None),
        false => ("blocked".into(), None),
    }
}

async fn check(server: &str) {
    let (_dir, config) = config();
    let (_proc, base) = Proc::start_org(server, &config, &["--store", "memory"]);
    let client = reqwest::Client::new();
    for call in CALLS {
        let why = explained(&client, &base, call).await;
        let name = format!(
            "{server}: {} {} from {}",
            call.method, call.path, call.origin
        );
        assert_eq!(why["outcome"], call.expect.0, "{name}: {why:#}");
        assert_eq!(why["reason"].as_str(), call.expect.1, "{name}: {why:#}");
        assert!(
            why["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name}"
        );
        let (outcome, reason) = observed(&client, &base, call).await;
        assert_eq!(outcome, call.expect.0, "{name}: the server disagrees");
        if outcome == "refused" {
            assert_eq!(
                reason.as_deref(),
                call.expect.1,
                "{name}: the server disagrees"
            );
        }
        // Every check is written down, in order, the failing one last: every check of an
        // allowed step passed; the step that failed ends with the rule named as the reason.
        for step in ["preflight", "actual"] {
            let Some(checks) = why[step]["checks"].as_array() else {
                continue;
            };
            assert!(!checks.is_empty(), "{name}: {step}");
            let (last, before) = checks.split_last().unwrap();
            assert!(
                before.iter().all(|c| c["verdict"] == "passed"),
                "{name}: {step}: {why:#}"
            );
            match why[step]["outcome"].as_str() {
                Some("allowed") => assert_eq!(last["verdict"], "passed", "{name}: {step}"),
                _ => {
                    assert_eq!(last["rule"], why[step]["reason"], "{name}: {step}");
                    assert!(
                        matches!(last["verdict"].as_str(), Some("refused" | "blocked")),
                        "{name}: {step}: {why:#}"
                    );
                }
            }
        }
    }

    // The endpoint itself: open to any origin, without credentials.
    let answer = client
        .get(format!(
            "{base}/api/v1/cors/explain?origin=https%3A%2F%2Fa.example&path=%2Fapi%2Fv1%2Fusers%2Fme"
        ))
        .header("origin", "https://anyone.example")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://anyone.example"
    );
    assert!(answer
        .headers()
        .get("access-control-allow-credentials")
        .is_none());

    // A bad parameter is named.
    for (query, field) in [
        ("path=%2Fx", "origin"),
        ("origin=https%3A%2F%2Fa.example", "path"),
        (
            "origin=https%3A%2F%2Fa.example&path=%2Fx&headers=a%20b",
            "headers",
        ),
    ] {
        let answer = client
            .get(format!("{base}/api/v1/cors/explain?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{query}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000001");
        assert!(body["errorCauses"].to_string().contains(field), "{body}");
    }
}

#[tokio::test]
async fn axum_org_explains_its_decisions() {
    check(AXUM).await;
}

#[tokio::test]
async fn actix_org_explains_its_decisions() {
    check(ACTIX).await;
}

#[test]
fn cors_explain_prints_the_same_from_a_terminal() {
    let (_dir, config) = config();
    let run = |args: &[&str]| {
        std::process::Command::new(EXPLAIN_BIN)
            .args(["--config", config.to_str().unwrap(), "--store", "memory"])
            .args(args)
            .output()
            .unwrap()
    };
    let refused = run(&[
        "--origin",
        UNTRUSTED,
        "--path",
        "/api/v1/users/me",
        "--method",
        "PUT",
        "--header",
        "content-type",
        "--credentials",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let text = String::from_utf8(refused.stdout).unwrap();
    assert!(text.contains("Refused (origin_not_trusted)"), "{text}");
    assert!(
        text.contains("The page's origin is allowed by the route: failed (origin_not_trusted)"),
        "{text}"
    );
    assert!(
        text.contains("The route is CORS-enabled: held (route_not_cors_enabled)"),
        "{text}"
    );

    let allowed = run(&["--origin", TRUSTED, "--path", "/api/v1/users/me", "--json"]);
    assert_eq!(allowed.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&allowed.stdout).unwrap();
    assert_eq!(json["outcome"], "allowed");
    assert_eq!(json["actual"]["checks"][3]["rule"], "origin_not_trusted");
    assert_eq!(json["actual"]["checks"][3]["verdict"], "passed");

    // Every call the servers explain (and do, see `check`), explained the same from a terminal:
    // the outcome, the reason, and the exit code (0 allowed, 1 refused or blocked).
    for call in CALLS {
        let mut args = vec![
            "--origin",
            call.origin,
            "--method",
            call.method,
            "--path",
            call.path,
        ];
        for header in call.headers {
            args.extend(["--header", header]);
        }
        if call.credentials {
            args.push("--credentials");
        }
        args.push("--json");
        let output = run(&args);
        let name = format!("{} {} from {}", call.method, call.path, call.origin);
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["outcome"], call.expect.0, "{name}: {json:#}");
        assert_eq!(json["reason"].as_str(), call.expect.1, "{name}: {json:#}");
        let exit = if call.expect.0 == "allowed" { 0 } else { 1 };
        assert_eq!(output.status.code(), Some(exit), "{name}");
    }

    let usage = run(&["--path", "/x"]);
    assert_eq!(usage.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&usage.stderr);
    assert!(stderr.contains("--origin <ORIGIN>"), "{stderr}");
    let bad = run(&["--origin", "https://a.example", "--path", "x"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--path: must start with `/`"), "{stderr}");
}

/// `cors-explain` reads the store it is pointed at and changes nothing: run where no store
/// exists, it creates none and explains against the configuration's trusted origins, saying so;
/// pointed at an org's store, it sees the origins added through the API, whether the org is
/// running or not, and leaves no file behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_explain_reads_the_store_and_changes_nothing() {
    let dir = common::temp_dir("explain-store");
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let added = "http://localhost:8082";
    let explain = |store: Option<&str>| {
        let mut command = std::process::Command::new(EXPLAIN_BIN);
        command.current_dir(dir.path()).args([
            "--origin",
            added,
            "--path",
            "/api/v1/users/me",
            "--credentials",
        ]);
        if let Some(store) = store {
            command.args(["--store", store]);
        }
        command.output().unwrap()
    };

    // No store where it runs: the embedded configuration's origins; nothing created.
    let output = explain(None);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no store at trusted-origins.db: explaining against the configuration's trusted origins"),
        "{stderr}"
    );
    assert!(files().is_empty(), "{:?}", files());

    // An org's store, with an origin added through the API.
    let store = dir.path().join("trusted-origins.db");
    let store = store.to_str().unwrap();
    let (_config_dir, config) = config();
    let (org, base) = Proc::start_org(AXUM, &config, &["--store", store]);
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/trustedOrigins"))
        .header("authorization", "SSWS 00example-api-token")
        .json(&serde_json::json!({ "name": "Second tester", "origin": added, "scopes": [{ "type": "CORS" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let running = files();
    let output = explain(Some(store));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    assert_eq!(files(), running, "a file was created next to the store");
    drop(org);

    // The org stopped: its store holds the origin still, read as it is.
    let stopped = files();
    let output = explain(Some(store));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(files(), stopped, "a file was created next to the store");
}

/// A store no process has open (no write-ahead log beside it) is read as it is, and still
/// nothing is created next to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_is_read_without_a_file_beside_it() {
    use trusted_cors::admin::{SqliteStore, TrustedOrigins};
    use trusted_cors::{NewTrustedOrigin, ScopeType};

    let dir = common::temp_dir("explain-closed");
    let path = dir.path().join("trusted-origins.db");
    let seeds = [NewTrustedOrigin::new(
        "Second tester",
        "http://localhost:8082",
        [ScopeType::Cors],
    )];
    let store = SqliteStore::open(&path).await.unwrap();
    drop(TrustedOrigins::open(store, seeds).await.unwrap());
    // SQLite removes the log when the last connection closes, which sqlx does in the background.
    // When the pool's connections close at the same moment, each can see another still open and
    // none removes it: then the store is opened and dropped again (one connection, the last).
    let wal = dir.path().join("trusted-origins.db-wal");
    let mut reopened = 0;
    let mut deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while wal.exists() {
        if std::time::Instant::now() >= deadline {
            assert!(reopened < 5, "the store was never closed");
            reopened += 1;
            drop(SqliteStore::open(&path).await.unwrap());
            deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let files = || {
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = files();
    let output = std::process::Command::new(EXPLAIN_BIN)
        .args([
            "--store",
            path.to_str().unwrap(),
            "--origin",
            "http://localhost:8082",
        ])
        .args(["--path", "/api/v1/users/me", "--credentials"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    assert_eq!(files(), before, "a file was created next to the store");
}
