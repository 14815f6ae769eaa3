//! The example org in a real browser: Debian's headless Chromium, driven through chromedriver,
//! against `org-server` and `org-server-actix` started as processes on loopback ports, with the
//! tester page served by `cors-tester`. CORS is a browser protocol; only a browser proves it.
//!
//! Without a browser the test prints a loud notice and passes locally; with `CI` set it fails.

use std::path::Path;

mod common;
#[path = "common/browser.rs"]
mod harness;

use common::Proc;
use fantoccini::Client;
use fantoccini::Locator;
use harness::{
    assert_fits_the_window, attr_of, chromium, console, docs_screenshot, page_fetch, run_tester,
    screenshot, sign_in, start_browser, start_org_in, value_of,
};
use serde_json::{json, Value};

const LOGIN: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
const ACCESS_TOKEN: &str = "at-ada-example";
const API_TOKEN: &str = "00browser-test-api-token";

/// The org's users and trusted origins: Ada, and the tester page's origin.
fn org_config(tester_port: u16) -> String {
    format!(
        r#"

[[users]]
id = "00u1ada"
login = "{LOGIN}"
password = "{PASSWORD}"
first_name = "Ada"
last_name = "Lovelace"
email = "{LOGIN}"
access_token = "{ACCESS_TOKEN}"
admin = true

[[trusted_origins]]
name = "CORS tester"
origin = "http://localhost:{tester_port}"
scopes = ["CORS", "REDIRECT"]
"#
    )
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
    let dir = common::temp_dir(&format!("browser-{server}"));
    let (org_proc, org) = start_org_in(server, dir.path(), API_TOKEN, &org_config(tester_port));
    let trusted_page = format!("http://localhost:{tester_port}/");
    let untrusted_page = format!("http://127.0.0.1:{tester_port}/");
    let browser = start_browser(chromium, chromedriver, server).await;
    let client = &browser.client;

    client.set_window_size(1280, 900).await.unwrap();
    let shots = server == "org-server";

    // 2. Not signed in: the trusted page can read the error and shows its summary and cause.
    let (outcome, text) = run_tester(client, &trusted_page, &org, "fetch", "").await;
    assert_eq!(outcome, "http-error", "{text}");
    assert!(text.contains("Invalid session"), "{text}");
    assert!(
        text.contains("sign in to the org in this browser first"),
        "{text}"
    );
    println!("not signed in: {outcome}: {text}");

    // A wrong password: the form again, with the error on it (never the API's JSON).
    sign_in(client, &org, (LOGIN, "not the password"), None).await;
    let error = client
        .find(Locator::Id("sign-in-error"))
        .await
        .expect("the error on the form");
    assert!(error.text().await.unwrap().contains("wrong"));
    assert_eq!(
        value_of(client, "login").await,
        LOGIN,
        "the username is kept"
    );
    if shots {
        check_pages_fit(client, "sign-in").await;
    }

    // 1. Signed in through the real form: fetch and XHR from the trusted page show the profile.
    sign_in(client, &org, (LOGIN, PASSWORD), None).await;
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
    // An administrator's home page leads to the admin console.
    let console_link = client.find(Locator::Id("admin-console")).await.unwrap();
    assert_eq!(
        console_link.attr("href").await.unwrap().as_deref(),
        Some("/admin/trusted-origins")
    );
    if shots {
        check_pages_fit(client, "home").await;
    }
    for mode in ["fetch", "xhr"] {
        let (outcome, text) = run_tester(client, &trusted_page, &org, mode, "").await;
        assert_eq!(outcome, "ok", "{mode}: {text}");
        assert!(text.contains(LOGIN), "{mode}: {text}");
        println!("trusted {mode}: {outcome}: {text}");
    }
    websockets(client, &org, &org_proc, tester_port, shots).await;

    // 3. The same page from an origin that is not trusted is blocked, and the server says why:
    //    the page asks the org's explain endpoint and shows the real cause, rule by rule.
    let (outcome, text) = run_tester(client, &untrusted_page, &org, "fetch", "").await;
    assert_eq!(outcome, "blocked", "{text}");
    assert!(text.contains("The org explains why"), "{text}");
    assert!(
        text.contains("The page's origin is allowed by the route: failed (origin_not_trusted)"),
        "{text}"
    );
    assert!(
        text.contains("The route is CORS-enabled: held (route_not_cors_enabled)"),
        "{text}"
    );
    // The cause and its fix, said once.
    assert_eq!(text.matches("is not a trusted origin").count(), 1, "{text}");
    let reason = attr_of(client, "result", "data-reason").await;
    assert_eq!(reason.as_deref(), Some("origin_not_trusted"));
    if shots {
        // The whole page at desktop width; then a phone's, scrolled to the explanation.
        client.set_window_size(1280, 1060).await.unwrap();
        docs_screenshot(client, "tester-blocked").await;
        client.set_window_size(390, 844).await.unwrap();
        assert_fits_the_window(client, "the tester").await;
        client
            .execute("document.getElementById('result').scrollIntoView()", vec![])
            .await
            .unwrap();
        docs_screenshot(client, "tester-blocked-phone").await;
        client.set_window_size(1280, 900).await.unwrap();
    } else {
        screenshot(client, &format!("tester-explanation-{server}")).await;
    }
    let line = org_proc.wait_for_log(&[
        "reason=\"origin_not_trusted\"",
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
    sign_in(client, &org, (LOGIN, PASSWORD), Some(&trusted_page)).await;
    let landed = client.current_url().await.unwrap();
    assert_eq!(
        landed.as_str(),
        trusted_page,
        "sign-in did not land on the trusted origin"
    );
    sign_in(client, &org, (LOGIN, PASSWORD), Some(&untrusted_page)).await;
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

    // A trusted origin on another site gets no session cookie: the browser does not send a
    // SameSite=Lax cookie cross-site, and the org's answer says so, with what to do.
    let cross_site = format!("http://127.0.0.1:{tester_port}");
    let response = reqwest::Client::new()
        .post(format!("{org}/api/v1/trustedOrigins"))
        .header("authorization", format!("SSWS {API_TOKEN}"))
        .json(
            &json!({ "name": "Cross-site", "origin": cross_site, "scopes": [{ "type": "CORS" }] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (outcome, text) = run_tester(client, &untrusted_page, &org, "fetch", "").await;
    assert_eq!(outcome, "http-error", "{text}");
    for words in [
        "Invalid session",
        "cross-site",
        "SameSite=Lax",
        "Authorization: Bearer",
    ] {
        assert!(text.contains(words), "{words}: {text}");
    }
    if shots {
        docs_screenshot(client, "tester-samesite").await;
    }
    println!("trusted but cross-site: {text}");

    browser.client.clone().close().await.unwrap();
    drop(tester);
    drop((browser, org_proc));
    dir.close().unwrap();
}

/// The events WebSocket, with the session signed in: a page on the trusted origin opens it and
/// gets the profile; pages on untrusted origins get a failed socket (no `open`) and the org logs
/// the reason. One is on the org's own site (`localhost`, another port), like the trusted page,
/// so its handshake carries the session cookie as the trusted page's does: the cross-site
/// WebSocket hijack that the guard refuses.
async fn websockets(client: &Client, org: &str, org_proc: &Proc, tester_port: u16, shots: bool) {
    let trusted_page = format!("http://localhost:{tester_port}/");
    // Another tester, on a port no trusted origin names: same site as the org, so the browser
    // sends the session cookie with the handshake.
    let (_hijacker, hijacker_url) = Proc::start(
        Path::new(env!("CARGO_BIN_EXE_cors-tester")),
        &["--addr", "127.0.0.1:0"],
    );
    let hijacker_port = hijacker_url.rsplit(':').next().unwrap();
    let hijacker_page = format!("http://localhost:{hijacker_port}/");
    let events = format!("{}/api/v1/users/me/events", org.replacen("http", "ws", 1));

    let (outcome, text) = run_tester(client, &trusted_page, org, "websocket", "").await;
    assert_eq!(outcome, "ok", "{text}");
    assert!(text.contains("The socket opened"), "{text}");
    assert!(text.contains(LOGIN), "{text}");
    if shots {
        docs_screenshot(client, "tester-websocket").await;
    }
    let opened = page_socket(client, &events).await;
    assert_eq!(opened["opened"], true, "{opened}");
    let profile: Value = serde_json::from_str(opened["message"].as_str().unwrap()).unwrap();
    assert_eq!(profile["profile"]["login"], LOGIN, "{opened}");
    println!("trusted socket: {opened}");

    for page in [hijacker_page, format!("http://127.0.0.1:{tester_port}/")] {
        let (outcome, text) = run_tester(client, &page, org, "websocket", "").await;
        assert_eq!(outcome, "blocked", "{page}: {text}");
        assert!(
            text.contains("The org refused the socket"),
            "{page}: {text}"
        );
        assert!(
            text.contains("websocket_origin_not_trusted"),
            "{page}: {text}"
        );
        let reason = attr_of(client, "result", "data-reason").await;
        assert_eq!(reason.as_deref(), Some("websocket_origin_not_trusted"));
        let failed = page_socket(client, &events).await;
        assert_eq!(failed["opened"], false, "{page}: {failed}");
        assert_eq!(failed["error"], true, "{page}: {failed}");
        assert_eq!(failed["message"], Value::Null, "{page}: {failed}");
        let origin = page.trim_end_matches('/');
        let line =
            org_proc.wait_for_log(&["websocket_origin_not_trusted", &format!("origin={origin}")]);
        println!("socket from {origin}: {failed}; server: {line}");
        if shots && page.contains("localhost") {
            client.set_window_size(1280, 1060).await.unwrap();
            docs_screenshot(client, "tester-websocket-refused").await;
            client.set_window_size(1280, 900).await.unwrap();
        }
    }
    // No handler ran for the refused handshakes: the two sockets opened above, no more.
    let opened = org_proc
        .log()
        .lines()
        .filter(|l| l.contains("handler ran") && l.contains("/api/v1/users/me/events"))
        .count();
    assert_eq!(opened, 2, "{}", org_proc.log());
}

/// Opens `new WebSocket(url)` in the current page and waits for its first message or its close:
/// `{opened, error, message, code}`.
async fn page_socket(client: &Client, url: &str) -> Value {
    let script = r#"
        const [url, done] = [arguments[0], arguments[arguments.length - 1]];
        const seen = { opened: false, error: false, message: null, code: null };
        const socket = new WebSocket(url);
        socket.onopen = () => { seen.opened = true; };
        socket.onerror = () => { seen.error = true; };
        socket.onmessage = (event) => {
            seen.message = String(event.data);
            socket.close(1000);
        };
        socket.onclose = (event) => { seen.code = event.code; done(seen); };
    "#;
    client
        .execute_async(script, vec![json!(url)])
        .await
        .expect("run the page script")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_org_in_chromium() {
    let Some((chromium, chromedriver)) = chromium() else {
        return;
    };
    for server in ["org-server", "org-server-actix"] {
        exercise(server, &chromium, &chromedriver).await;
    }
}

/// The org's page open in `client` (`name`: `sign-in` or `home`) at desktop and phone width:
/// styled by the org's stylesheet, nothing wider than the window; screenshots of both.
async fn check_pages_fit(client: &Client, name: &str) {
    let styled = client
        .execute(
            "return getComputedStyle(document.querySelector('header.top')).display;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(styled, "flex", "{name}: the stylesheet did not apply");
    for (width, height, suffix) in [(1280, 900, "desktop"), (390, 844, "phone")] {
        client.set_window_size(width, height).await.unwrap();
        assert_fits_the_window(client, &format!("{name} ({suffix})")).await;
        docs_screenshot(client, &format!("{name}-{suffix}")).await;
    }
    client.set_window_size(1280, 900).await.unwrap();
}
