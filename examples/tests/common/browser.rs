//! The headless-Chromium harness of the browser tests (`browser.rs`, `admin_console.rs`):
//! chromedriver and a Chromium session, the tester page, sign-in, scripts in a page, and
//! screenshots written to the target directory. Included with `#[path]` by the tests that drive a
//! browser, so the other tests do not build it.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::common::Proc;

/// Chromium and chromedriver, from `CHROMIUM` / `CHROMEDRIVER` or `PATH`. Without them: a loud
/// notice and `None` locally, a failure under CI (`CI=true`).
pub fn chromium() -> Option<(PathBuf, PathBuf)> {
    let chromium = find_program(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        trusted_cors_testing::skip_or_fail(
            "browser tests need chromium and chromedriver, which were not found. Install them \
             (Debian: apt-get install chromium chromium-driver) or set CHROMIUM and CHROMEDRIVER.",
        );
        return None;
    };
    Some((chromium, chromedriver))
}

/// Where screenshots go: `screenshots/` in the target directory (`CARGO_TARGET_DIR`, else the
/// workspace's `target/`), never in the source tree.
pub fn screenshot_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the examples are in the workspace")
        .to_path_buf();
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    target.join("screenshots")
}

/// Writes a screenshot of the browser's window to `screenshots/{name}.png` in the target
/// directory, checks that it is a PNG with something in it, and returns its path.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("take a screenshot");
    assert!(
        png.len() > 1_000 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{name}: not a PNG with a picture ({} bytes)",
        png.len()
    );
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, &png).expect("write the screenshot");
    let written = std::fs::read(&path).expect("read the screenshot back");
    assert_eq!(written, png, "{}", path.display());
    println!("screenshot: {}", path.display());
    path
}

/// The variable that makes [`docs_screenshot`] update the documentation's screenshots.
pub const UPDATE_SCREENSHOTS: &str = "UPDATE_SCREENSHOTS";

/// A screenshot the documentation shows, `docs/images/{name}.png`: taken as [`screenshot`]
/// takes any, and copied there when `UPDATE_SCREENSHOTS` is set (to anything but `0`), as
/// `UPDATE_SCREENSHOTS=1 cargo test -p trusted-cors-examples --test browser --test
/// admin_console` does. Otherwise the committed image must exist, so that the documentation
/// never links to a screenshot no test takes; a test run leaves the source tree as it was.
pub async fn docs_screenshot(client: &Client, name: &str) -> PathBuf {
    let taken = screenshot(client, name).await;
    let docs = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/images")
        .join(format!("{name}.png"));
    if std::env::var_os(UPDATE_SCREENSHOTS).is_some_and(|v| v != "0") {
        std::fs::create_dir_all(docs.parent().unwrap()).unwrap();
        std::fs::copy(&taken, &docs).expect("update the documentation's screenshot");
        println!("screenshot for the documentation: {}", docs.display());
    } else {
        let committed = std::fs::read(&docs).unwrap_or_default();
        assert!(
            committed.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is missing: run the browser tests with {UPDATE_SCREENSHOTS}=1",
            docs.display()
        );
    }
    docs
}

/// Waits up to 15 s for `script` (a function body returning a value) to return something other
/// than `null`/`false` in the page, and returns it; `what` names the wait in the failure.
pub async fn wait_for(client: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let last = match client.execute(script, vec![]).await {
            Ok(value) if !value.is_null() && value != Value::Bool(false) => return value,
            Ok(value) => value,
            Err(e) => Value::String(e.to_string()),
        };
        assert!(
            Instant::now() < deadline,
            "waited in vain for {what}: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&paths).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver's legacy log endpoint, for what the browser's console said.
#[derive(Debug)]
pub struct BrowserLog;

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

pub async fn console(client: &Client) -> Vec<String> {
    match client.issue_cmd(BrowserLog).await {
        Ok(Value::Array(entries)) => entries
            .iter()
            .filter_map(|e| e["message"].as_str().map(str::to_owned))
            .collect(),
        Ok(other) => vec![format!("(unexpected log answer {other})")],
        Err(e) => vec![format!("(no console log: {e})")],
    }
}

/// A Chromium session. Dropped, it ends chromedriver (Chromium ends with its session, when the
/// test closes the client) and removes the Chromium profile.
pub struct Browser {
    pub client: Client,
    driver: Option<Proc>,
    profile: Option<tempfile::TempDir>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        drop(self.driver.take());
        let Some(profile) = self.profile.take() else {
            return;
        };
        // A session that was not closed (a test that failed half-way) leaves its Chromium
        // running when chromedriver ends: end the processes started with this profile, found
        // by their command line, which names the profile's unique directory.
        end_processes_naming(&format!("--user-data-dir={}", profile.path().display()));
        // Chromium may still be writing its profile as it exits: try again for a moment.
        let path = profile.path().to_path_buf();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = profile.close();
        while last.is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            last = std::fs::remove_dir_all(&path);
        }
        if let Err(error) = last {
            eprintln!(
                "cannot remove the Chromium profile {}: {error}",
                path.display()
            );
        }
    }
}

pub async fn start_browser(chromium: &Path, chromedriver: &Path, name: &str) -> Browser {
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
    let profile = crate::common::temp_dir(&format!("chromium-{name}"));
    let mut capabilities = Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.path().display()),
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
        driver: Some(Proc {
            child: driver,
            stderr,
        }),
        profile: Some(profile),
    }
}

/// Sends SIGTERM to every process whose command line has the argument `argument`.
fn end_processes_naming(argument: &str) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == argument.as_bytes())
        {
            let _ = Command::new("kill").arg(pid).status();
        }
    }
}

/// The value of the input `id` in the page open in `client`.
pub async fn value_of(client: &Client, id: &str) -> String {
    let input = client.find(Locator::Id(id)).await.unwrap();
    input.prop("value").await.unwrap().unwrap_or_default()
}

/// The attribute `name` of the element `id` in the page open in `client`.
pub async fn attr_of(client: &Client, id: &str, name: &str) -> Option<String> {
    let element = client.find(Locator::Id(id)).await.unwrap();
    element.attr(name).await.unwrap()
}

/// Checks that the page open in `client` is no wider than its window (no sideways scrolling);
/// `what` names the page in the failure.
pub async fn assert_fits_the_window(client: &Client, what: &str) {
    let size = client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (size[0].as_u64().unwrap(), size[1].as_u64().unwrap());
    assert!(
        scroll <= inner,
        "{what}: {scroll}px wide in a {inner}px window"
    );
}

/// Opens the tester page at `page`, runs a test in `mode`, and returns (outcome, text).
pub async fn run_tester(
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
    // The token field is shown only in the modes that send one.
    let token_input = client.find(Locator::Id("token")).await.unwrap();
    let shown = token_input.is_displayed().await.unwrap();
    assert_eq!(shown, !token.is_empty(), "the token field in {mode} mode");
    if shown {
        token_input.clear().await.unwrap();
        token_input.send_keys(token).await.unwrap();
    }
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

/// Runs `fetch(url, init)` in the current page; returns `{status, body}` or `{blocked}`.
pub async fn page_fetch(client: &Client, url: &str, init: Value) -> Value {
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

pub async fn sign_in(
    client: &Client,
    org: &str,
    (login, password): (&str, &str),
    redirect: Option<&str>,
) {
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
        .send_keys(login)
        .await
        .unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
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
            .contains("id=\"sign-in-error\"")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An example org binary by name: `org-server` (axum) or `org-server-actix`.
pub fn org_program(server: &str) -> &'static Path {
    match server {
        "org-server" => Path::new(env!("CARGO_BIN_EXE_org-server")),
        _ => Path::new(env!("CARGO_BIN_EXE_org-server-actix")),
    }
}

/// Writes `org.toml` into `dir` (made if missing) for an org with a fresh SQLite store there,
/// the API token `api_token`, the diagnostics header on, and `rest` (its users and trusted
/// origins), then starts `server` with it on a loopback port: the process and the org's URL,
/// with `localhost` as its host.
pub fn start_org_in(
    server: &str,
    dir: &Path,
    api_token: &str,
    rest: &str,
) -> (crate::common::Proc, String) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("org.toml");
    let store = dir.join("trusted-origins.db");
    let _ = std::fs::remove_file(&store);
    let config = format!(
        "api_tokens = [\"{api_token}\"]\nstore = \"{}\"\n\n[cors]\ndiagnostics_header = true\n{rest}",
        store.display()
    );
    std::fs::write(&path, config).unwrap();
    let path = path.to_str().unwrap();
    let args = ["--addr", "127.0.0.1:0", "--config", path];
    let (org, url) = crate::common::Proc::start(org_program(server), &args);
    (org, url.replace("127.0.0.1", "localhost"))
}
