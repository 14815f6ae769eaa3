//! The shipped configuration's users reach the Trusted Origins API with the scopes it grants
//! their access tokens, on both example servers over loopback, and each change is in the audit
//! trail with the user as its actor.

mod common;

use std::path::Path;

use common::Proc;
use reqwest::Method;
use serde_json::{json, Value};

const SERVERS: [&str; 2] = [
    env!("CARGO_BIN_EXE_org-server"),
    env!("CARGO_BIN_EXE_org-server-actix"),
];
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/org.toml");

async fn call(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    token: &str,
) -> (u16, Value, String) {
    let response = client
        .request(method, format!("{base}/api/v1/trustedOrigins"))
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({ "name": "Shop", "origin": "https://shop.example.com", "scopes": [{ "type": "CORS" }] }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        challenge,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_access_tokens_carry_their_scopes() {
    let client = reqwest::Client::new();
    for server in SERVERS {
        let (org, base) = Proc::start_org(server, Path::new(CONFIG), &["--store", "memory"]);
        // Grace has okta.trustedOrigins.read.
        let (status, listed, _) = call(&client, &base, Method::GET, "at-grace-example").await;
        assert_eq!(status, 200, "{server}: {listed}");
        let (status, refused, challenge) =
            call(&client, &base, Method::POST, "at-grace-example").await;
        assert_eq!(status, 403, "{server}: {refused}");
        assert_eq!(refused["errorCode"], "E0000006");
        assert_eq!(
            refused["errorCauses"][0]["errorSummary"],
            "The access token lacks the scope okta.trustedOrigins.manage"
        );
        assert!(challenge.contains("insufficient_scope"), "{challenge}");

        // Ada has okta.trustedOrigins.manage; the change is hers, in the object and the log.
        let (status, created, _) = call(&client, &base, Method::POST, "at-ada-example").await;
        assert_eq!(status, 200, "{server}: {created}");
        assert_eq!(created["createdBy"], "ada@example.com");
        let id = created["id"].as_str().unwrap();
        let line = org.wait_for_log(&["trusted_cors::audit", "action=\"create\""]);
        assert!(line.contains("actor=\"ada@example.com\""), "{line}");
        assert!(line.contains(&format!("id=\"{id}\"")), "{line}");
        assert!(
            line.contains("origin=\"https://shop.example.com\""),
            "{line}"
        );

        let (status, unknown, challenge) = call(&client, &base, Method::GET, "at-nobody").await;
        assert_eq!(
            (status, &unknown["errorCode"]),
            (401, &json!("E0000011")),
            "{server}"
        );
        assert_eq!(challenge, r#"Bearer error="invalid_token""#);
    }
}
