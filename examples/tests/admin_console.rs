//! The admin console (`/admin/trusted-origins`) on `org-server` and `org-server-actix`:
//!
//! - over loopback, the servers pass what the session rules read (`Sec-Fetch-Site`, `Origin`,
//!   `Host`, `Content-Type`) to them, so an administrator's session manages only from the org's
//!   own pages;
//! - in headless Chromium (the harness of `browser.rs`), an administrator adds an origin in the
//!   page and the tester page served from it works at once; edits it; searches and pages; deletes
//!   with a confirmation; deactivates it, and the tester page is blocked; field errors show next
//!   to the field; a trusted origin's page cannot forge a change with the administrator's cookie;
//!   a signed-in user who is not an administrator sees 403 in the page; the page fits a phone;
//!   what the API changes meanwhile shows in the open page, by the console's socket.
//!   Screenshots of the page go to `screenshots/` in the target directory.

mod common;
#[path = "common/browser.rs"]
mod harness;

use std::path::Path;

use common::Proc;
use fantoccini::{Client, Locator};
use harness::{
    assert_fits_the_window, attr_of, chromium, docs_screenshot, org_program, page_fetch,
    run_tester, screenshot, sign_in, start_browser, start_org_in, value_of, wait_for,
};
use serde_json::{json, Value};

const SERVERS: [&str; 2] = ["org-server", "org-server-actix"];
const ADA: (&str, &str) = ("ada@example.com", "correct horse battery staple");
const GRACE: (&str, &str) = ("grace@example.com", "cobol forever");
const API_TOKEN: &str = "00console-test-api-token";
/// The cause the console's session rule gives when it refuses a call.
const OWN_PAGES: &str = "only on calls from this org's own pages";
const CONSOLE: &str = "/admin/trusted-origins";
/// A trusted origin (CORS) of the shipped configuration.
const TRUSTED: &str = "http://localhost:8081";

/// The org's users and trusted origins: Ada is an administrator, Grace is not; one seed origin.
fn org_config() -> String {
    let (ada, ada_password) = ADA;
    let (grace, grace_password) = GRACE;
    format!(
        r#"

[[users]]
id = "00u1ada"
login = "{ada}"
password = "{ada_password}"
first_name = "Ada"
last_name = "Lovelace"
email = "{ada}"
access_token = "at-console-ada"
admin = true

[[users]]
id = "00u2grace"
login = "{grace}"
password = "{grace_password}"
first_name = "Grace"
last_name = "Hopper"
email = "{grace}"
access_token = "at-console-grace"

[[trusted_origins]]
name = "Partner portal"
origin = "https://portal.example.com"
scopes = ["CORS", "REDIRECT"]
"#
    )
}

/// Every trusted origin, through the API with the API token.
async fn listed(org: &str) -> Vec<Value> {
    common::list_origins(&reqwest::Client::new(), org, API_TOKEN).await
}

async fn find_listed(org: &str, origin: &str) -> Option<Value> {
    listed(org)
        .await
        .into_iter()
        .find(|o| o["origin"] == origin)
}

/// Signs in through the org's form; the session's `Cookie` value.
async fn session(client: &reqwest::Client, org: &str, (login, password): (&str, &str)) -> String {
    let response = client
        .post(format!("{org}/login"))
        .form(&[("login", login), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{login} could not sign in");
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_servers_apply_the_session_rules() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("org.toml");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let shop = |name: &str| {
        json!({ "name": name, "origin": format!("https://{}.example.com", name.to_lowercase()), "scopes": [{ "type": "CORS" }] })
            .to_string()
    };
    for server in SERVERS {
        let (org, base) = Proc::start_org(
            org_program(server).to_str().unwrap(),
            &config,
            &["--store", "memory"],
        );
        let own = base.clone(); // http://127.0.0.1:PORT, what `Host` names
        let ada = session(&client, &base, ADA).await;
        let grace = session(&client, &base, GRACE).await;

        // The page: to sign in first without a session; never framed, no inline script but its own.
        let response = client.get(format!("{base}{CONSOLE}")).send().await.unwrap();
        assert_eq!(response.status(), 303, "{server}");
        assert_eq!(
            response.headers()["location"],
            "/login?redirect=%2Fadmin%2Ftrusted-origins"
        );
        let response = client
            .get(format!("{base}{CONSOLE}"))
            .header("cookie", &ada)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{server}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'nonce-"),
            "{server}: {csp}"
        );
        assert!(response.text().await.unwrap().contains("Trusted Origins"));

        // (cookie, Sec-Fetch-Site, Origin, Content-Type, status, what)
        let cases = [
            (
                &ada,
                Some("same-origin"),
                Some(own.as_str()),
                "application/json",
                200,
                "the console",
                "",
            ),
            (
                &ada,
                None,
                Some(own.as_str()),
                "application/json",
                200,
                "no fetch metadata, own Origin",
                "",
            ),
            // The shipped configuration trusts http://localhost:8081 (CORS): the layers let its
            // calls through, the session rule does not.
            (
                &ada,
                Some("same-site"),
                Some(TRUSTED),
                "application/json",
                403,
                "a trusted origin",
                OWN_PAGES,
            ),
            (
                &ada,
                Some("cross-site"),
                Some("https://evil.example"),
                "text/plain",
                403,
                "another site",
                // Refused before the session rule, by the CORS guard.
                "reason untrusted_cross_origin_write",
            ),
            (
                &ada,
                None,
                Some(TRUSTED),
                "application/json",
                403,
                "no fetch metadata, a trusted Origin",
                OWN_PAGES,
            ),
            (
                &ada,
                None,
                None,
                "application/json",
                403,
                "no Origin on a POST",
                OWN_PAGES,
            ),
            (
                &ada,
                Some("same-origin"),
                Some(own.as_str()),
                "text/plain",
                415,
                "a form's type",
                "",
            ),
            (
                &grace,
                Some("same-origin"),
                Some(own.as_str()),
                "application/json",
                403,
                "not an administrator",
                "is signed in but is not an administrator",
            ),
        ];
        for (index, (cookie, site, origin, content_type, status, what, refused_by)) in
            cases.into_iter().enumerate()
        {
            let mut request = client
                .post(format!("{base}/api/v1/trustedOrigins"))
                .header("cookie", cookie.as_str())
                .header("content-type", content_type)
                .body(shop(&format!("Shop{index}")));
            if let Some(site) = site {
                request = request.header("sec-fetch-site", site);
            }
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            let response = request.send().await.unwrap();
            let got = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(got, status, "{server}: {what}: {body}");
            match status {
                200 => assert_eq!(body["createdBy"], ADA.0, "{server}: {what}"),
                403 => {
                    assert_eq!(body["errorCode"], "E0000006", "{server}: {what}");
                    // Which rule refused: the cause it gives, or the CORS guard's reason.
                    let named = match refused_by.strip_prefix("reason ") {
                        Some(reason) => body["reason"] == reason,
                        None => body["errorCauses"][0]["errorSummary"]
                            .as_str()
                            .is_some_and(|cause| cause.contains(refused_by)),
                    };
                    assert!(
                        named,
                        "{server}: {what}: not refused by {refused_by}: {body}"
                    );
                }
                _ => assert_eq!(body["errorCode"], "E0000001", "{server}: {what}"),
            }
        }
        org.wait_for_log(&["session call to the Trusted Origins API refused", TRUSTED]);
        // A same-origin GET names no Origin; without a session, 401.
        let response = client
            .get(format!("{base}/api/v1/trustedOrigins?q=shop&limit=1"))
            .header("cookie", &ada)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{server}");
        assert!(
            response
                .headers()
                .get_all("link")
                .iter()
                .any(|l| l.to_str().unwrap_or_default().ends_with("rel=\"next\"")),
            "{server}: the API's Link header comes through"
        );
        let response = client
            .get(format!("{base}/api/v1/trustedOrigins"))
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{server}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000011");
        // The body limit of the API holds on this route too.
        let response = client
            .post(format!("{base}/api/v1/trustedOrigins"))
            .header("authorization", "SSWS 00example-api-token")
            .header("content-type", "application/json")
            .body(vec![b' '; 70 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{server}");
    }
}

/// Clicks the element `css` finds.
async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

/// Replaces the text of the input `css` finds.
async fn fill(client: &Client, css: &str, text: &str) {
    let input = client.find(Locator::Css(css)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// The text of the element `id`.
async fn text_of(client: &Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits for the console to have loaded a page of origins, and returns the origins shown.
async fn shown(client: &Client) -> Vec<String> {
    let value = wait_for(
        client,
        "the console's table",
        "return document.body.dataset.state === 'ready' \
         && Array.from(document.querySelectorAll('#rows tr[data-origin]')).map(r => r.dataset.origin);",
    )
    .await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits for the console to show exactly the rows of `origins`, in order.
async fn wait_shown(client: &Client, what: &str, origins: &[String]) {
    let script = format!(
        "const want = {}; \
         const got = Array.from(document.querySelectorAll('#rows tr[data-origin]')).map(r => r.dataset.origin); \
         return document.body.dataset.state === 'ready' && JSON.stringify(got) === JSON.stringify(want);",
        json!(origins)
    );
    wait_for(client, what, &script).await;
}

/// Waits for the row of `origin` to show `status` (`ACTIVE`, `INACTIVE`, or `gone`).
async fn wait_for_row(client: &Client, origin: &str, status: &str) {
    let script = format!(
        "const row = document.querySelector('#rows tr[data-origin=\"{origin}\"]'); \
         return document.body.dataset.state === 'ready' && (row ? row.dataset.status : 'gone') === '{status}';"
    );
    wait_for(client, &format!("{origin} to be {status}"), &script).await;
}

/// Opens the add form, fills it and saves.
async fn add_in_form(client: &Client, name: &str, origin: &str) {
    click(client, "#add").await;
    fill(client, "#name", name).await;
    fill(client, "#origin", origin).await;
    click(client, "#save").await;
}

/// Presses `action` on the row of `origin`, then the confirmation dialog's OK (or Cancel).
async fn act_confirmed(client: &Client, origin: &str, action: &str, confirm: bool) {
    click(
        client,
        &format!("#rows tr[data-origin=\"{origin}\"] button[data-action=\"{action}\"]"),
    )
    .await;
    wait_for(
        client,
        "the confirmation dialog",
        "return document.getElementById('confirm').open;",
    )
    .await;
    let text = text_of(client, "confirm-text").await;
    assert!(text.contains(origin), "the dialog names the origin: {text}");
    click(
        client,
        if confirm {
            "#confirm-ok"
        } else {
            "#confirm-cancel"
        },
    )
    .await;
}

/// An origin added, deactivated and deleted through the API with the API token, each change
/// shown by the open console without a reload.
async fn live_updates(client: &Client, org: &str, server: &str) {
    const LIVE: &str = "https://live.example.com";
    wait_for(
        client,
        "the console's socket to open",
        "window.notReloaded = true; return document.body.dataset.live === 'true';",
    )
    .await;
    let api = reqwest::Client::new();
    let call = |request: reqwest::RequestBuilder| async move {
        let response = request
            .header("authorization", format!("SSWS {API_TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16() / 100, 2, "{server}");
        response.bytes().await.unwrap()
    };
    let base = format!("{org}/api/v1/trustedOrigins");
    let added = call(
        api.post(&base)
            .json(&json!({ "name": "Live", "origin": LIVE, "scopes": [{ "type": "CORS" }] })),
    )
    .await;
    let id = serde_json::from_slice::<Value>(&added).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for_row(client, LIVE, "ACTIVE").await;
    call(api.post(format!("{base}/{id}/lifecycle/deactivate"))).await;
    wait_for_row(client, LIVE, "INACTIVE").await;
    call(api.delete(format!("{base}/{id}"))).await;
    wait_for_row(client, LIVE, "gone").await;
    let same_page = client
        .execute("return window.notReloaded === true;", vec![])
        .await
        .unwrap();
    assert_eq!(
        same_page,
        Value::Bool(true),
        "{server}: the page was reloaded"
    );
    println!("{server}: the console showed an API's add, deactivation and delete live");
}

async fn exercise(server: &str, chromium: &Path, chromedriver: &Path) {
    println!("== {server}");
    let (_tester, tester_url) = Proc::start(
        Path::new(env!("CARGO_BIN_EXE_cors-tester")),
        &["--addr", "127.0.0.1:0"],
    );
    let tester_port: u16 = tester_url.rsplit(':').next().unwrap().parse().unwrap();
    let tester_origin = format!("http://localhost:{tester_port}");
    let tester_page = format!("{tester_origin}/");
    let dir = common::temp_dir(&format!("console-{server}"));
    let (org_proc, org) = start_org_in(server, dir.path(), API_TOKEN, &org_config());
    let console = format!("{org}{CONSOLE}");
    let browser = start_browser(chromium, chromedriver, &format!("console-{server}")).await;
    let client = &browser.client;
    client.set_window_size(1280, 900).await.unwrap();

    // Without a session the console sends the browser to sign in, and back after.
    client.goto(&console).await.unwrap();
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), "/login", "{server}: {url}");
    sign_in(client, &org, ADA, Some(CONSOLE)).await;
    assert_eq!(client.current_url().await.unwrap().as_str(), console);
    assert_eq!(shown(client).await, ["https://portal.example.com"]);
    assert!(text_of(client, "who").await.contains(ADA.0));

    // Live: what another administrator changes through the API shows in the table at once,
    // by the console's socket, without a reload of the page.
    live_updates(client, &org, server).await;

    // The tester page's origin is not trusted yet: its call is blocked.
    let (outcome, text) = run_tester(client, &tester_page, &org, "fetch", "").await;
    assert_eq!(outcome, "blocked", "{server}: {text}");

    // Added in the form (CORS is checked by default): the tester works at once, no restart.
    client.goto(&console).await.unwrap();
    shown(client).await;
    add_in_form(client, "Tester", &tester_origin).await;
    wait_for_row(client, &tester_origin, "ACTIVE").await;
    assert!(text_of(client, "message").await.contains("Added"));
    let added = find_listed(&org, &tester_origin).await.expect("added");
    assert_eq!(added["createdBy"], ADA.0, "recorded as the administrator's");
    assert_eq!(added["scopes"], json!([{ "type": "CORS" }]));
    let line = org_proc.wait_for_log(&["trusted_cors::audit", &tester_origin]);
    assert!(line.contains(ADA.0), "the audit names the actor: {line}");
    let shots = server == "org-server";
    match shots {
        true => docs_screenshot(client, "admin-console").await,
        false => screenshot(client, &format!("admin-console-{server}-table")).await,
    };
    let (outcome, text) = run_tester(client, &tester_page, &org, "fetch", "").await;
    assert_eq!(outcome, "ok", "{server}: {text}");
    assert!(text.contains(ADA.0), "{text}");
    println!("added in the console: the tester works: {text}");

    // A page on that trusted origin cannot use the administrator's cookie against the API: a
    // simple cross-origin form-like post (cookie sent, answer unreadable) is refused, and a
    // JSON call never gets past the preflight.
    let forged = json!({ "name": "Forged", "origin": "https://forged.example", "scopes": [{ "type": "CORS" }] })
        .to_string();
    let answer = page_fetch(
        client,
        &format!("{org}/api/v1/trustedOrigins"),
        json!({ "method": "POST", "mode": "no-cors", "credentials": "include",
                "headers": { "content-type": "text/plain" }, "body": forged }),
    )
    .await;
    assert_eq!(answer["status"], 0, "{server}: an opaque answer: {answer}");
    org_proc.wait_for_log(&[
        "session call to the Trusted Origins API refused",
        &tester_origin,
    ]);
    let answer = page_fetch(
        client,
        &format!("{org}/api/v1/trustedOrigins"),
        json!({ "method": "POST", "credentials": "include",
                "headers": { "content-type": "application/json" }, "body": forged }),
    )
    .await;
    assert!(answer.get("blocked").is_some(), "{server}: {answer}");
    let id = added["id"].as_str().unwrap();
    page_fetch(
        client,
        &format!("{org}/api/v1/trustedOrigins/{id}/lifecycle/deactivate"),
        json!({ "method": "POST", "mode": "no-cors", "credentials": "include" }),
    )
    .await;
    assert!(find_listed(&org, "https://forged.example").await.is_none());
    assert_eq!(
        find_listed(&org, &tester_origin).await.unwrap()["status"],
        "ACTIVE",
        "{server}: a forged deactivation went through"
    );
    println!("forged calls from the trusted origin: refused");

    // Field errors, next to the field the API names.
    client.goto(&console).await.unwrap();
    shown(client).await;
    for bad in ["https://a.example/path", "file:///x"] {
        add_in_form(client, "Bad", bad).await;
        let error = wait_for(
            client,
            "an error next to the origin field",
            "const e = document.getElementById('origin-error'); return e.textContent !== '' && e.textContent;",
        )
        .await;
        println!("origin {bad}: {error}");
        assert_eq!(text_of(client, "name-error").await, "");
        let invalid = attr_of(client, "origin", "aria-invalid").await;
        assert_eq!(invalid.as_deref(), Some("true"));
        if bad.starts_with("https") {
            screenshot(client, &format!("admin-console-{server}-field-error")).await;
        }
        click(client, "#cancel").await;
    }
    // Every field wrong at once: every error shown at once, each next to its field.
    click(client, "#add").await;
    fill(client, "#name", " ").await;
    fill(client, "#origin", "https://a.example/path").await;
    click(client, "#scope-cors").await;
    click(client, "#save").await;
    wait_for(
        client,
        "an error next to each field",
        "return ['name-error', 'origin-error', 'scopes-error'].every(id => document.getElementById(id).textContent !== '');",
    )
    .await;
    if shots {
        docs_screenshot(client, "admin-console-field-errors").await;
    }
    click(client, "#cancel").await;
    add_in_form(client, "Tester", "https://another.example.com").await;
    let error = wait_for(
        client,
        "an error next to the name field",
        "const e = document.getElementById('name-error'); return e.textContent !== '' && e.textContent;",
    )
    .await;
    assert!(error.to_string().contains("already exists"), "{error}");
    assert_eq!(text_of(client, "origin-error").await, "");
    // No scope at all.
    click(client, "#scope-cors").await;
    fill(client, "#name", "Unscoped").await;
    click(client, "#save").await;
    wait_for(
        client,
        "an error next to the scopes",
        "return document.getElementById('scopes-error').textContent !== '';",
    )
    .await;
    click(client, "#cancel").await;
    assert_eq!(
        listed(&org).await.len(),
        2,
        "{server}: nothing invalid was added"
    );

    // Edit: rename, add the Redirect scope, and let it frame the end-user pages
    // (allowedOktaApps, which needs the iFrame embed scope).
    click(
        client,
        &format!("#rows tr[data-origin=\"{tester_origin}\"] button[data-action=\"edit\"]"),
    )
    .await;
    assert_eq!(value_of(client, "origin").await, tester_origin);
    fill(client, "#name", "CORS tester").await;
    click(client, "#scope-redirect").await;
    click(client, "#scope-iframe").await;
    click(client, "#allow-enduser").await;
    click(client, "#save").await;
    wait_for(
        client,
        "the edited row",
        &format!(
            "const row = document.querySelector('#rows tr[data-origin=\"{tester_origin}\"]'); \
             return document.body.dataset.state === 'ready' && row && row.querySelector('.name').textContent === 'CORS tester' \
             && row.querySelector('.badge.redirect') !== null;"
        ),
    )
    .await;
    let edited = find_listed(&org, &tester_origin).await.unwrap();
    assert_eq!(edited["name"], "CORS tester");
    assert_eq!(edited["status"], "ACTIVE");
    assert_eq!(edited["lastUpdatedBy"], ADA.0);
    assert_eq!(
        edited["scopes"],
        json!([{ "type": "CORS" }, { "type": "REDIRECT" }, { "type": "IFRAME_EMBED", "allowedOktaApps": ["OKTA_ENDUSER"] }])
    );

    // Search and paging: six more origins, five to a page.
    let api = reqwest::Client::new();
    for n in 1..=6 {
        let response = api
            .post(format!("{org}/api/v1/trustedOrigins"))
            .header("authorization", format!("SSWS {API_TOKEN}"))
            .json(&json!({ "name": format!("Filler {n}"), "origin": format!("https://filler-{n}.example.com"), "scopes": [{ "type": "IFRAME_EMBED" }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    client.goto(&console).await.unwrap();
    assert_eq!(shown(client).await.len(), 8);
    client
        .find(Locator::Id("page-size"))
        .await
        .unwrap()
        .select_by_value("5")
        .await
        .unwrap();
    let filler = |n: u32| format!("https://filler-{n}.example.com");
    let first = [
        "https://portal.example.com".to_owned(),
        tester_origin.clone(),
        filler(1),
        filler(2),
        filler(3),
    ];
    wait_shown(client, "the first page of five", &first).await;
    click(client, "#next").await;
    wait_shown(
        client,
        "the second page",
        &[filler(4), filler(5), filler(6)],
    )
    .await;
    assert!(text_of(client, "page-info").await.starts_with("Page 2"));
    let next_disabled = client
        .find(Locator::Id("next"))
        .await
        .unwrap()
        .prop("disabled")
        .await
        .unwrap();
    assert_eq!(next_disabled.as_deref(), Some("true"));
    click(client, "#prev").await;
    wait_shown(client, "the first page again", &first).await;
    // Search by origin, by name (a prefix, in any case).
    fill(client, "#search", "https://filler-3").await;
    wait_shown(client, "the search by origin", &[filler(3)]).await;
    fill(client, "#search", "CORS").await;
    wait_shown(
        client,
        "the search by name",
        std::slice::from_ref(&tester_origin),
    )
    .await;
    fill(client, "#search", "nothing like it").await;
    wait_shown(client, "no match", &[]).await;

    // Delete, confirmed (cancelled first).
    fill(client, "#search", "https://filler-3").await;
    wait_for_row(client, "https://filler-3.example.com", "ACTIVE").await;
    act_confirmed(client, "https://filler-3.example.com", "delete", false).await;
    wait_for_row(client, "https://filler-3.example.com", "ACTIVE").await;
    assert!(find_listed(&org, "https://filler-3.example.com")
        .await
        .is_some());
    act_confirmed(client, "https://filler-3.example.com", "delete", true).await;
    wait_for_row(client, "https://filler-3.example.com", "gone").await;
    assert!(find_listed(&org, "https://filler-3.example.com")
        .await
        .is_none());

    // Deactivate the tester's origin, confirmed: the tester page is blocked at once.
    fill(client, "#search", "").await;
    client
        .find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys("\u{E007}") // Enter: search now
        .await
        .unwrap();
    wait_for_row(client, &tester_origin, "ACTIVE").await;
    act_confirmed(client, &tester_origin, "deactivate", true).await;
    wait_for_row(client, &tester_origin, "INACTIVE").await;
    assert_eq!(
        find_listed(&org, &tester_origin).await.unwrap()["status"],
        "INACTIVE"
    );
    screenshot(client, &format!("admin-console-{server}-deactivated")).await;
    let (outcome, text) = run_tester(client, &tester_page, &org, "fetch", "").await;
    assert_eq!(outcome, "blocked", "{server}: {text}");
    // ... and shows the cause the org explains: the origin is no longer trusted.
    assert!(text.contains("The org explains why"), "{server}: {text}");
    assert!(
        text.contains("The page's origin is allowed by the route: failed (origin_not_trusted)"),
        "{server}: {text}"
    );
    let reason = client
        .find(fantoccini::Locator::Id("result"))
        .await
        .unwrap()
        .attr("data-reason")
        .await
        .unwrap();
    assert_eq!(reason.as_deref(), Some("origin_not_trusted"), "{server}");
    client
        .execute("document.getElementById('result').scrollIntoView()", vec![])
        .await
        .unwrap();
    screenshot(client, &format!("tester-deactivated-explained-{server}")).await;
    println!("deactivated in the console: the tester is blocked, explained as origin_not_trusted");
    // Activated again in the page.
    client.goto(&console).await.unwrap();
    shown(client).await;
    act_confirmed(client, &tester_origin, "activate", true).await;
    wait_for_row(client, &tester_origin, "ACTIVE").await;

    // A phone-width window: nothing wider than the screen.
    client.set_window_size(390, 844).await.unwrap();
    client.goto(&console).await.unwrap();
    shown(client).await;
    assert_fits_the_window(client, server).await;
    // Origins may wrap between their parts: after `//`, dots, colons and hyphens.
    let breaks = client
        .execute(
            "return document.querySelectorAll('#rows td.origin wbr').length;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        breaks.as_u64().unwrap() > 0,
        "{server}: no <wbr> in the origins"
    );
    match shots {
        true => docs_screenshot(client, "admin-console-phone").await,
        false => screenshot(client, &format!("admin-console-{server}-phone")).await,
    };
    client.set_window_size(1280, 900).await.unwrap();

    // Signed in, but not an administrator: the page says 403, and shows no table.
    sign_in(client, &org, GRACE, Some(CONSOLE)).await;
    wait_for(
        client,
        "the 403 message",
        "return document.body.dataset.state === 'forbidden';",
    )
    .await;
    let detail = text_of(client, "forbidden-detail").await;
    assert!(
        detail.contains("403") && detail.contains("E0000006"),
        "{server}: {detail}"
    );
    assert!(
        detail.contains("grace@example.com is signed in but is not an administrator"),
        "{server}: {detail}"
    );
    assert!(text_of(client, "forbidden").await.contains("permission"));
    let table_hidden = client
        .find(Locator::Id("list"))
        .await
        .unwrap()
        .prop("hidden")
        .await
        .unwrap();
    assert_eq!(table_hidden.as_deref(), Some("true"));
    screenshot(client, &format!("admin-console-{server}-forbidden")).await;
    println!("not an administrator: {detail}");

    browser.client.clone().close().await.unwrap();
    drop((browser, org_proc));
    dir.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_console_in_chromium() {
    let Some((chromium, chromedriver)) = chromium() else {
        return;
    };
    for server in SERVERS {
        exercise(server, &chromium, &chromedriver).await;
    }
}
