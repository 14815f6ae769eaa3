//! Okta's own SDKs, unmodified, against both example org servers over loopback: Python `okta`
//! (pinned in `tests/sdk/requirements.txt`) and Node `@okta/okta-sdk-nodejs` (pinned in
//! `tests/sdk/package-lock.json`), each running its script from `tests/sdk/`: every operation,
//! paging through three pages, filters with `or` and parentheses, `allowedOktaApps` round trip,
//! errors parsed into the SDK's error type, and a 429 the SDK backs off from (which the server's
//! metrics count). Also, on the same servers, `frame-ancestors` for the sign-in page and the
//! end-user pages follows the IFRAME_EMBED scopes' `allowedOktaApps`.
//!
//! `.ci/run` installs the SDKs: a virtual environment at `target/okta-sdk-venv` and
//! `npm ci` in `tests/sdk`. Without Python, Node or an SDK, the test prints a loud notice and
//! passes locally; under CI (`CI` set) it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Proc;

const SERVERS: [&str; 2] = [
    env!("CARGO_BIN_EXE_org-server"),
    env!("CARGO_BIN_EXE_org-server-actix"),
];
const SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk");

/// Two tokens per SDK: one for the calls, one whose budget the script spends to meet a 429.
const CONFIG: &str = r#"
api_tokens = ["00python-token", "00python-spare", "00node-token", "00node-spare"]
[api]
# A small budget, so that spending it takes a moment; refilled every half second.
rate_limit_per_minute = 120
[cors]
metrics = true
"#;

/// The Python with the pinned `okta` installed: `OKTA_SDK_PYTHON`, else the virtual environment
/// `.ci/run` makes, else `python3` from `PATH`.
fn python() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/okta-sdk-venv/bin/python");
    let python = std::env::var_os("OKTA_SDK_PYTHON")
        .map(PathBuf::from)
        .or_else(|| venv.exists().then_some(venv))
        .unwrap_or_else(|| PathBuf::from("python3"));
    let output = Command::new(&python)
        .args(["-c", "import okta; print(okta.__version__)"])
        .output()
        .map_err(|e| format!("{} cannot run: {e}", python.display()))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || version != "3.4.6" {
        return Err(format!(
            "{} has no okta 3.4.6 (found {version:?}): {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(python)
}

/// `node`, with the pinned SDK installed in `tests/sdk/node_modules`.
fn node() -> Result<PathBuf, String> {
    let node = PathBuf::from("node");
    Command::new(&node)
        .arg("--version")
        .output()
        .map_err(|e| format!("node cannot run: {e}"))?;
    let sdk = Path::new(SDK_DIR).join("node_modules/@okta/okta-sdk-nodejs/package.json");
    if !sdk.exists() {
        return Err(format!("{} is missing", sdk.display()));
    }
    Ok(node)
}

/// The interpreter, or a loud notice (and a failure under CI) when it is missing.
fn required(what: &str, found: Result<PathBuf, String>) -> Option<PathBuf> {
    match found {
        Ok(path) => Some(path),
        Err(why) => {
            let notice = format!(
                "Okta {what} SDK tests: {why}.\n\
                 Install them as .ci/run does (python3 -m venv target/okta-sdk-venv && \
                 target/okta-sdk-venv/bin/pip install -r examples/tests/sdk/requirements.txt; \
                 npm ci --prefix examples/tests/sdk)."
            );
            trusted_cors_testing::skip_or_fail(&notice);
            None
        }
    }
}

/// Runs an SDK's script against `base`; panics with its output unless every check passed.
fn run_script(server: &str, interpreter: &Path, script: &str, tokens: [&str; 2], base: &str) {
    let output = Command::new(interpreter)
        .current_dir(SDK_DIR)
        .arg(Path::new(SDK_DIR).join(script))
        .args([base, tokens[0], tokens[1]])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.lines().last() == Some("done"),
        "{server}: {script} failed:\n{stdout}\n{stderr}"
    );
    for check in [
        "ok create",
        "ok allowedOktaApps round trip on get",
        "ok paging follows Link across 3 pages",
        "ok filter with or and parentheses",
        "ok a bad filter is E0000001",
        "ok the SDK backs off from a 429 and succeeds",
        "ok deleted is gone",
    ] {
        assert!(
            stdout.lines().any(|line| line == check),
            "{server}: {script} did not report `{check}`:\n{stdout}"
        );
    }
}

/// The calls the server refused for their rate limit, from its metrics.
async fn rate_limited(client: &reqwest::Client, base: &str) -> u64 {
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|line| line.starts_with("trusted_cors_api_rate_limited_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The `frame-ancestors` policy of `path` (among the page's `Content-Security-Policy` fields).
async fn policy(client: &reqwest::Client, base: &str, path: &str) -> String {
    let response = client.get(format!("{base}{path}")).send().await.unwrap();
    let policies = response.headers().get_all("content-security-policy");
    let mut framing = policies
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|p| p.starts_with("frame-ancestors"));
    let policy = framing.next().unwrap_or_default();
    assert_eq!(framing.next(), None, "one frame-ancestors policy on {path}");
    policy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_user_pages_are_framed_only_by_origins_allowed_okta_enduser() {
    let dir = common::temp_dir("framing");
    let config = dir.path().join("org.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let client = reqwest::Client::new();
    for server in SERVERS {
        let (_org, base) = Proc::start_org(server, &config, &["--store", "memory"]);
        for (name, origin, apps) in [
            (
                "Dashboard host",
                "https://dashboard.example.com",
                serde_json::json!(["OKTA_ENDUSER"]),
            ),
            (
                "Sign-in host",
                "https://signin.example.com",
                serde_json::json!([]),
            ),
            (
                "Inactive host",
                "https://inactive.example.com",
                serde_json::json!(["OKTA_ENDUSER"]),
            ),
        ] {
            let mut body = serde_json::json!({
                "name": name,
                "origin": origin,
                "scopes": [{ "type": "IFRAME_EMBED", "allowedOktaApps": apps }],
            });
            if name.starts_with("Inactive") {
                body["status"] = "INACTIVE".into();
            }
            let response = client
                .post(format!("{base}/api/v1/trustedOrigins"))
                .header("authorization", "SSWS 00node-token")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                200,
                "{server}: {}",
                response.text().await.unwrap()
            );
        }
        assert_eq!(
            policy(&client, &base, "/login").await,
            "frame-ancestors 'self' https://dashboard.example.com https://signin.example.com",
            "{server}"
        );
        assert_eq!(
            policy(&client, &base, "/").await,
            "frame-ancestors 'self' https://dashboard.example.com",
            "{server}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_sdks_work_unmodified_against_both_servers() {
    let python = required("PYTHON", python());
    let node = required("NODE", node());
    if python.is_none() && node.is_none() {
        return;
    }
    let dir = common::temp_dir("okta-sdks");
    let config = dir.path().join("org.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let client = reqwest::Client::new();
    for server in SERVERS {
        // A SQLite store, as the example's default: allowedOktaApps is kept in its schema.
        let store = dir
            .path()
            .join(format!("{}.db", server.rsplit('/').next().unwrap()));
        let (org, base) = Proc::start_org(server, &config, &["--store", store.to_str().unwrap()]);
        let scripts = [
            (
                &python,
                "okta_python.py",
                ["00python-token", "00python-spare"],
            ),
            (&node, "okta_node.js", ["00node-token", "00node-spare"]),
        ];
        let mut ran = 0;
        for (interpreter, script, tokens) in scripts {
            if let Some(interpreter) = interpreter {
                run_script(server, interpreter, script, tokens, &base);
                ran += 1;
            }
        }
        // Each script met a 429 twice: spending the spare budget, and the SDK's first try.
        let limited = rate_limited(&client, &base).await;
        assert!(
            limited >= 2 * ran,
            "{server}: {limited} calls limited\n{}",
            org.log()
        );
    }
}
