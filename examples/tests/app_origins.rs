//! Hybrid-app and browser-extension origins, end to end against both example org servers over
//! loopback: added through the Trusted Origins API, normalised, refused when their scheme is not
//! on the org's `origin_schemes`, and then served by the CORS layers without a restart.

mod common;

use common::Proc;
use serde_json::{json, Value};

const AXUM: &str = env!("CARGO_BIN_EXE_org-server");
const ACTIX: &str = env!("CARGO_BIN_EXE_org-server-actix");
const TOKEN: &str = "SSWS 00example-api-token";
const CAPACITOR: &str = "capacitor://localhost";
const EXTENSION: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";

fn config() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = common::temp_dir("app-origins");
    let config = dir.path().join("org.toml");
    // The example org as shipped: `origin_schemes = ["capacitor", "ionic", "chrome-extension"]`.
    std::fs::write(&config, trusted_cors_examples::DEFAULT_CONFIG).unwrap();
    (dir, config)
}

async fn create(client: &reqwest::Client, base: &str, name: &str, origin: &str) -> (u16, Value) {
    let response = client
        .post(format!("{base}/api/v1/trustedOrigins"))
        .header("authorization", TOKEN)
        .json(&json!({"name": name, "origin": origin, "scopes": [{"type": "CORS"}]}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn preflight(client: &reqwest::Client, base: &str, origin: &str) -> reqwest::Response {
    client
        .request(reqwest::Method::OPTIONS, format!("{base}/api/v1/users/me"))
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

async fn check(server: &str) {
    let (_dir, config) = config();
    let (_proc, base) = Proc::start_org(server, &config, &["--store", "memory"]);
    let client = reqwest::Client::new();

    // Not trusted yet.
    for origin in [CAPACITOR, EXTENSION] {
        let refused = preflight(&client, &base, origin).await;
        assert_eq!(refused.status(), 403, "{server} {origin}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["reason"], "origin_not_trusted", "{server} {origin}");
    }

    // Added through the API, as an administrator types them.
    let (status, capacitor) = create(&client, &base, "Mobile app", "Capacitor://LocalHost/").await;
    assert_eq!(status, 200, "{server}: {capacitor}");
    assert_eq!(capacitor["origin"], CAPACITOR);
    let (status, extension) = create(&client, &base, "Extension", EXTENSION).await;
    assert_eq!(status, 200, "{server}: {extension}");

    // Refused, with the field and the reason named.
    for (origin, needle) in [
        ("tauri://localhost", "origin_schemes"),
        ("capacitor://*.localhost", "wildcard"),
        ("file:///etc/passwd", "file"),
        ("null", "null"),
        ("capacitor://localhost/index.html", "path"),
    ] {
        let (status, body) = create(&client, &base, "Refused", origin).await;
        assert_eq!(status, 400, "{server} {origin}: {body}");
        assert_eq!(body["errorCode"], "E0000001", "{server} {origin}");
        let causes = body["errorCauses"].to_string();
        assert!(causes.contains("origin"), "{server} {origin}: {causes}");
        assert!(causes.contains(needle), "{server} {origin}: {causes}");
    }

    // Served now, without a restart, with credentials.
    for origin in [CAPACITOR, EXTENSION] {
        let answer = preflight(&client, &base, origin).await;
        assert_eq!(answer.status(), 204, "{server} {origin}");
        assert_eq!(answer.headers()["access-control-allow-origin"], origin);
        assert_eq!(answer.headers()["access-control-allow-credentials"], "true");
    }
    // Exactly: not in another case, not with a path, not another app of the same scheme.
    for origin in [
        "Capacitor://localhost",
        "capacitor://localhost/",
        "capacitor://other",
        "ionic://localhost",
    ] {
        let refused = preflight(&client, &base, origin).await;
        assert_eq!(refused.status(), 403, "{server} {origin}");
    }

    // Deactivated: refused again.
    let id = capacitor["id"].as_str().unwrap();
    let deactivated = client
        .post(format!(
            "{base}/api/v1/trustedOrigins/{id}/lifecycle/deactivate"
        ))
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), 200);
    assert_eq!(preflight(&client, &base, CAPACITOR).await.status(), 403);
}

#[tokio::test]
async fn axum_org_serves_app_and_extension_origins() {
    check(AXUM).await;
}

#[tokio::test]
async fn actix_org_serves_app_and_extension_origins() {
    check(ACTIX).await;
}
