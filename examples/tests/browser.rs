//! The example org in a real browser: Debian's headless Chromium, driven through chromedriver,
//! against `org-server` and `org-server-actix` started as processes on loopback ports, with the
//! tester page served by `cors-tester`. CORS is a browser protocol; only a browser proves it.
//!
//! Without a browser the test prints a loud notice and passes locally; with `CI` set it fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::Proc;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const LOGIN: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
const ACCESS_TOKEN: &str = "at-ada-example";
const API_TOKEN: &str = "00browser-test-api-token";

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&paths).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver's legacy log endpoint, for what the browser's console said.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

async fn console(client: &Client) -> Vec<String> {
    match client.issue_cmd(BrowserLog).await {
        Ok(Value::Array(entries)) => entries
            .iter()
            .filter_map(|e| e["message"].as_str().map(str::to_owned))
            .collect(),
        Ok(other) => vec![format!("(unexpected log answer {other})")],
        Err(e) => vec![format!("(no console log: {e})")],
    }
}

struct Browser {
    client: Client,
    _driver: Proc,
    _profile: PathBuf,
}

async fn start_browser(chromium: &Path, chromedriver: &Path, name: &str) -> Browser {
    let port = free_port();
    let port_flag = format!("--port={port}");
    let mut driver = Command::new(chromedriver)
        .arg(&port_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver_url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{driver_url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = std::env::temp_dir().join(format!(
        "trusted-cors-chromium-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let mut capabilities = Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver_url)
        .await
        .unwrap_or_else(|e| {
            let _ = driver.kill();
            panic!("cannot open a Chromium session: {e}")
        });
    let stderr = Arc::new(Mutex::new(String::new()));
    Browser {
        client,
        _driver: Proc {
            child: driver,
            stderr,
        },
        _profile: profile,
    }
}

/// Opens the tester page at `page`, runs a test in `mode`, and returns (outcome, text).
async fn run_tester(
    client: &Client,
    page: &str,
    org: &str,
    mode: &str,
    token: &str,
) -> (String, String) {
    client.goto(page).await.expect("open the tester page");
    let org_url = client.find(Locator::Id("org-url")).await.expect("#org-url");
    org_url.clear().await.unwrap();
    org_url.send_keys(org).await.unwrap();
    client
        .find(Locator::Id("mode"))
        .await
        .unwrap()
        .select_by_value(mode)
        .await
        .unwrap();
    let token_input = client.find(Locator::Id("token")).await.unwrap();
    token_input.clear().await.unwrap();
    token_input.send_keys(token).await.unwrap();
    client
        .find(Locator::Id("test"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let result = client.find(Locator::Id("result")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let outcome = result
            .attr("data-outcome")
            .await
            .unwrap()
            .unwrap_or_default();
        if !outcome.is_empty() {
            return (outcome, result.text().await.unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "the tester never finished ({mode} from {page})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the test run writes screenshots for a person to look at: `screenshots/` in the target
/// directory (`CARGO_TARGET_DIR`, else the workspace's `target/`).
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("screenshots")
}

/// Saves a PNG screenshot of the current page as `NAME.png` in [`screenshot_dir`]; checks it
/// is one.
async fn save_screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "not a PNG"
    );
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    path
}

/// Runs `fetch(url, init)` in the current page; returns `{status, body}` or `{blocked}`.
async fn page_fetch(client: &Client, url: &str, init: Value) -> Value {
    let script = r#"
        const [url, init, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
        fetch(url, init)
            .then(r => r.text().then(body => done({ status: r.status, body })))
            .catch(e => done({ blocked: String(e) }));
    "#;
    client
        .execute_async(script, vec![json!(url), init])
        .await
        .expect("run the page script")
}

async fn sign_in(client: &Client, org: &str, redirect: Option<&str>) {
    let url = match redirect {
        Some(target) => format!(
            "{org}/login?redirect={}",
            url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
        ),
        None => format!("{org}/login"),
    };
    client.goto(&url).await.unwrap();
    client
        .find(Locator::Id("login"))
        .await
        .unwrap()
        .send_keys(LOGIN)
        .await
        .unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Let the navigation that follows the form post finish.
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.current_url().await.unwrap().path() == "/login" && Instant::now() < deadline {
        if client
            .source()
            .await
            .unwrap_or_default()
            .contains("errorCode")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn write_config(dir: &Path, tester_port: u16) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("org.toml");
    let store = dir.join("trusted-origins.db");
    let _ = std::fs::remove_file(&store);
    let store = store.display();
    let config = format!(
        r#"
api_tokens = ["{API_TOKEN}"]
store = "{store}"

[cors]
diagnostics_header = true

[[users]]
id = "00u1ada"
login = "{LOGIN}"
password = "{PASSWORD}"
first_name = "Ada"
last_name = "Lovelace"
email = "{LOGIN}"
access_token = "{ACCESS_TOKEN}"

[[trusted_origins]]
name = "CORS tester"
origin = "http://localhost:{tester_port}"
scopes = ["CORS", "REDIRECT"]
"#
    );
    std::fs::write(&path, config).unwrap();
    path
}

async fn profile_first_name(org: &str) -> String {
    let me: Value = reqwest::Client::new()
        .get(format!("{org}/api/v1/users/me"))
        .header("authorization", format!("Bearer {ACCESS_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["profile"]["firstName"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn exercise(server: &str, chromium: &Path, chromedriver: &Path) {
    println!("== {server}");
    let (tester, tester_url) = Proc::start(
        Path::new(env!("CARGO_BIN_EXE_cors-tester")),
        &["--addr", "127.0.0.1:0"],
    );
    let tester_port: u16 = tester_url.rsplit(':').next().unwrap().parse().unwrap();
    let dir = std::env::temp_dir().join(format!(
        "trusted-cors-browser-{}-{server}",
        std::process::id()
    ));
    let config = write_config(&dir, tester_port);
    let program = match server {
        "org-server" => Path::new(env!("CARGO_BIN_EXE_org-server")),
        _ => Path::new(env!("CARGO_BIN_EXE_org-server-actix")),
    };
    let (org_proc, org_url) = Proc::start(
        program,
        &[
            "--addr",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let org = org_url.replace("127.0.0.1", "localhost");
    let trusted_page = format!("http://localhost:{tester_port}/");
    let untrusted_page = format!("http://127.0.0.1:{tester_port}/");
    let browser = start_browser(chromium, chromedriver, server).await;
    let client = &browser.client;

    // 2. Not signed in: the trusted page can read the error and shows its summary.
    let (outcome, text) = run_tester(client, &trusted_page, &org, "fetch", "").await;
    assert_eq!(outcome, "http-error", "{text}");
    assert!(text.contains("Invalid session"), "{text}");
    println!("not signed in: {outcome}: {text}");

    // 1. Signed in through the real form: fetch and XHR from the trusted page show the profile.
    sign_in(client, &org, None).await;
    assert_eq!(
        client
            .find(Locator::Id("who"))
            .await
            .expect("signed in")
            .text()
            .await
            .unwrap(),
        LOGIN
    );
    for mode in ["fetch", "xhr"] {
        let (outcome, text) = run_tester(client, &trusted_page, &org, mode, "").await;
        assert_eq!(outcome, "ok", "{mode}: {text}");
        assert!(text.contains(LOGIN), "{mode}: {text}");
        println!("trusted {mode}: {outcome}: {text}");
    }

    // 3. The same page from an origin that is not trusted is blocked, and the server says why:
    //    the page asks the org's explain endpoint and shows the real cause, rule by rule.
    let (outcome, text) = run_tester(client, &untrusted_page, &org, "fetch", "").await;
    assert_eq!(outcome, "blocked", "{text}");
    assert!(text.contains("Why (explained by the org)"), "{text}");
    assert!(text.contains("\u{2717} origin_not_trusted"), "{text}");
    assert!(text.contains("\u{2713} route_not_cors_enabled"), "{text}");
    assert!(text.contains("not a trusted origin"), "{text}");
    let reason = client
        .find(Locator::Id("result"))
        .await
        .unwrap()
        .attr("data-reason")
        .await
        .unwrap();
    assert_eq!(reason.as_deref(), Some("origin_not_trusted"));
    client
        .execute("document.getElementById('result').scrollIntoView()", vec![])
        .await
        .unwrap();
    let shot = save_screenshot(client, &format!("tester-explanation-{server}")).await;
    println!("screenshot: {}", shot.display());
    let line = org_proc.wait_for_log(&[
        "origin_not_trusted",
        &format!("origin=http://127.0.0.1:{tester_port}"),
    ]);
    println!("untrusted fetch: blocked; server: {line}");
    println!("  console: {:?}", console(client).await);

    // 4. An API token from the trusted page is blocked and never reaches a handler.
    let (outcome, text) = run_tester(client, &trusted_page, &org, "api-token", API_TOKEN).await;
    assert_eq!(outcome, "blocked", "{text}");
    assert!(text.contains("API tokens"), "{text}");
    let line = org_proc.wait_for_log(&["api_token_cross_origin"]);
    assert!(
        !org_proc.log().contains("auth=\"api-token\""),
        "a handler ran for the API token:\n{}",
        org_proc.log()
    );
    println!("api token: blocked; server: {line}");
    println!("  console: {:?}", console(client).await);

    // 5. A bearer token works from the untrusted origin (no cookies involved).
    let (outcome, text) = run_tester(client, &untrusted_page, &org, "bearer", ACCESS_TOKEN).await;
    assert_eq!(outcome, "ok", "{text}");
    println!("untrusted bearer: {outcome}: {text}");

    // 6. A script calling the server-side-only List Users is stopped at the preflight.
    client.goto(&trusted_page).await.unwrap();
    let answer = page_fetch(
        client,
        &format!("{org}/api/v1/users"),
        json!({ "headers": { "authorization": format!("Bearer {ACCESS_TOKEN}") } }),
    )
    .await;
    assert!(answer.get("blocked").is_some(), "{answer}");
    let line = org_proc.wait_for_log(&["route_not_cors_enabled", "/api/v1/users"]);
    println!("list users from a page: blocked; server: {line}");
    println!("  console: {:?}", console(client).await);

    // 7. A trusted PUT with cookies changes the profile; the same from the untrusted origin is
    //    blocked and changes nothing.
    let put = |first: &str| {
        json!({
            "method": "PUT",
            "credentials": "include",
            "headers": { "content-type": "application/json" },
            "body": json!({ "profile": { "firstName": first, "lastName": "Lovelace" } }).to_string(),
        })
    };
    let answer = page_fetch(client, &format!("{org}/api/v1/users/me"), put("Augusta")).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(profile_first_name(&org).await, "Augusta");
    client.goto(&untrusted_page).await.unwrap();
    let answer = page_fetch(client, &format!("{org}/api/v1/users/me"), put("Mallory")).await;
    assert!(answer.get("blocked").is_some(), "{answer}");
    assert_eq!(
        profile_first_name(&org).await,
        "Augusta",
        "the untrusted PUT changed the profile"
    );
    println!("PUT: trusted ok, untrusted blocked and nothing changed");
    println!("  console: {:?}", console(client).await);

    // 8. Sign-in with a redirect lands on a trusted REDIRECT origin, never on another.
    sign_in(client, &org, Some(&trusted_page)).await;
    let landed = client.current_url().await.unwrap();
    assert_eq!(
        landed.as_str(),
        trusted_page,
        "sign-in did not land on the trusted origin"
    );
    sign_in(client, &org, Some(&untrusted_page)).await;
    let landed = client.current_url().await.unwrap();
    assert!(
        landed.as_str().starts_with(&org),
        "sign-in went to {landed}"
    );
    assert!(
        client.source().await.unwrap().contains("REDIRECT"),
        "no explanation shown"
    );
    println!("sign-in redirect: trusted lands at {trusted_page}; untrusted stays at {landed}");

    browser.client.close().await.unwrap();
    drop(tester);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_org_in_chromium() {
    let chromium = find_program(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let notice = "\n\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                      !!  BROWSER TESTS SKIPPED: chromium and chromedriver were not found.        !!\n\
                      !!  Install them (Debian: apt-get install chromium chromium-driver) or set  !!\n\
                      !!  CHROMIUM and CHROMEDRIVER. In CI (CI set) this is a failure.            !!\n\
                      !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n";
        assert!(std::env::var_os("CI").is_none(), "{notice}");
        eprintln!("{notice}");
        return;
    };
    for server in ["org-server", "org-server-actix"] {
        exercise(server, &chromium, &chromedriver).await;
    }
}
