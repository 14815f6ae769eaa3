//! The API's unit tests: credentials, scopes and routing.

use serde_json::Value;

use super::*;

#[test]
fn links_use_the_configured_base_url_else_are_relative() {
    let api = TrustedOriginsApi::new(
        Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
        ["00token"],
    );
    assert_eq!(api.links_base(), "");
    let api = api.with_base_url("https://Org.Example.com:443/").unwrap();
    assert_eq!(api.links_base(), "https://org.example.com");
    let behind = api
        .clone()
        .with_base_url("https://example.com/okta/")
        .unwrap();
    assert_eq!(behind.links_base(), "https://example.com/okta");
    for bad in [
        "org.example.com",
        "ftp://org.example.com",
        "https://user:pw@org.example.com",
        "https://org.example.com/?x=1",
        "https://org.example.com/#top",
        "",
    ] {
        let error = api.clone().with_base_url(bad).unwrap_err();
        assert!(error.to_string().contains(bad), "{error}");
    }
}

/// An authorizer that cannot reach its authorization server.
#[derive(Debug)]
struct Unreachable;

impl AccessTokenAuthorizer for Unreachable {
    fn authorize<'a>(&'a self, _token: &'a str) -> crate::AuthorizeFuture<'a> {
        Box::pin(async { Err(crate::AuthorizerError::new("introspection timed out")) })
    }
}

fn scoped_api() -> TrustedOriginsApi {
    use crate::{Grant, StaticAccessTokens};
    TrustedOriginsApi::new(
        Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
        ["00token"],
    )
    .with_authorizer(StaticAccessTokens::new([
        (
            "at-reader",
            Grant::new("reader@example.com", [ApiScope::Read]),
        ),
        (
            "at-admin",
            Grant::new("admin@example.com", [ApiScope::Manage]),
        ),
        ("at-nothing", Grant::new("nobody@example.com", [])),
    ]))
}

async fn call(api: &TrustedOriginsApi, method: &str, authorization: &[u8]) -> (Reply, Value) {
    let reply = api
        .handle(ApiRequest {
            method,
            path: TRUSTED_ORIGINS_PATH,
            authorization: Some(authorization),
            body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
            ..ApiRequest::default()
        })
        .await;
    let body = serde_json::from_slice(reply.body()).unwrap_or(Value::Null);
    (reply, body)
}

fn challenge(reply: &Reply) -> &str {
    reply
        .headers()
        .get(http::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[test]
fn every_wrong_field_is_a_cause() {
    let body = br#"{"name":" ","origin":"https://a.example/path","scopes":[]}"#;
    let reply = wire::parse_body(body).unwrap_err();
    assert_eq!(reply.status(), 400);
    let body: Value = serde_json::from_slice(reply.body()).unwrap();
    assert_eq!(
        body["errorSummary"],
        "Api validation failed: name, origin, scopes"
    );
    let causes: Vec<&str> = body["errorCauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["errorSummary"].as_str().unwrap())
        .collect();
    assert_eq!(causes.len(), 3, "{causes:?}");
    for (cause, field) in causes.iter().zip(["name: ", "origin: ", "scopes: "]) {
        assert!(cause.starts_with(field), "{causes:?}");
    }
    // One field wrong is left to the registry; a valid body passes.
    assert!(wire::parse_body(
        br#"{"name":"","origin":"https://a.example","scopes":[{"type":"CORS"}]}"#
    )
    .is_ok());
    assert!(wire::parse_body(
        br#"{"name":"A","origin":"http://*.a.example","scopes":[{"type":"CORS"}]}"#
    )
    .is_ok());
    let wildcard = br#"{"name":"","origin":"http://*.a.example","scopes":[{"type":"CORS"}]}"#;
    let body: Value =
        serde_json::from_slice(wire::parse_body(wildcard).unwrap_err().body()).unwrap();
    assert_eq!(
        body["errorSummary"], "Api validation failed: name, origin",
        "{body}"
    );
    // allowedOktaApps on another scope, with a wrong name: both said.
    let apps = br#"{"name":"","origin":"https://a.example","scopes":[{"type":"CORS","allowedOktaApps":["OKTA_ENDUSER"]}]}"#;
    let body: Value = serde_json::from_slice(wire::parse_body(apps).unwrap_err().body()).unwrap();
    assert_eq!(
        body["errorSummary"], "Api validation failed: name, allowedOktaApps",
        "{body}"
    );
}

#[tokio::test]
async fn bearer_tokens_need_the_scope_of_the_call() {
    let api = scoped_api();
    // Read: GET only.
    let (reply, body) = call(&api, "GET", b"Bearer at-reader").await;
    assert_eq!(reply.status(), 200, "{body}");
    let (reply, body) = call(&api, "POST", b"bearer   at-reader ").await;
    assert_eq!(reply.status(), 403, "{body}");
    assert_eq!(body["errorCode"], "E0000006");
    assert_eq!(
        body["errorCauses"][0]["errorSummary"],
        "The access token lacks the scope okta.trustedOrigins.manage"
    );
    assert_eq!(
        challenge(&reply),
        r#"Bearer error="insufficient_scope", scope="okta.trustedOrigins.manage""#
    );
    // A known token with neither scope may not even read.
    let (reply, body) = call(&api, "GET", b"Bearer at-nothing").await;
    assert_eq!(reply.status(), 403, "{body}");
    assert_eq!(
        body["errorCauses"][0]["errorSummary"],
        "The access token lacks the scope okta.trustedOrigins.read"
    );
    assert!(api.origins().registry().snapshot().is_empty());
    // Manage: changes, recorded as the subject's, and reads.
    let (reply, body) = call(&api, "POST", b"Bearer at-admin").await;
    assert_eq!(reply.status(), 200, "{body}");
    assert_eq!(body["createdBy"], "admin@example.com");
    assert_eq!(body["lastUpdatedBy"], "admin@example.com");
    let (reply, body) = call(&api, "GET", b"Bearer at-admin").await;
    assert_eq!(reply.status(), 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    // SSWS as before.
    let (reply, _) = call(&api, "DELETE", b"SSWS 00token").await;
    assert_eq!(reply.status(), 405); // DELETE on the collection: authenticated, then routed
}

#[tokio::test]
async fn unknown_bearer_tokens_are_invalid() {
    let api = scoped_api();
    for authorization in [
        &b"Bearer at-unknown"[..],
        b"Bearer",
        b"Bearer ",
        b"Bearer 00token",
        b"Bearer at-admin\xff",
        b"Bearer \xffat-admin",
    ] {
        let (reply, body) = call(&api, "GET", authorization).await;
        assert_eq!(reply.status(), 401, "{authorization:?}: {body}");
        assert_eq!(body["errorCode"], "E0000011");
        assert_eq!(body["errorSummary"], "Invalid token provided");
        assert_eq!(challenge(&reply), r#"Bearer error="invalid_token""#);
    }
    // Neither credential: both ways are named, and Bearer is offered.
    let (reply, body) = call(&api, "GET", b"Basic YTpi").await;
    assert_eq!(reply.status(), 401);
    let cause = body["errorCauses"][0]["errorSummary"].to_string();
    assert!(
        cause.contains("SSWS") && cause.contains("Bearer"),
        "{cause}"
    );
    assert_eq!(challenge(&reply), "Bearer");
}

#[tokio::test]
async fn bearer_without_an_authorizer_is_invalid() {
    let api = TrustedOriginsApi::new(
        Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
        ["00token"],
    );
    let (reply, body) = call(&api, "GET", b"Bearer 00token").await;
    assert_eq!(reply.status(), 401, "{body}");
    assert_eq!(body["errorCode"], "E0000011");
    assert!(body["errorCauses"][0]["errorSummary"]
        .as_str()
        .is_some_and(|cause| cause.contains("SSWS")));
    // Without an authorizer, the other 401s offer no Bearer challenge.
    let (reply, _) = call(&api, "GET", b"SSWS wrong").await;
    assert_eq!(reply.status(), 401);
    assert_eq!(challenge(&reply), "");
}

#[tokio::test]
async fn an_authorizer_that_cannot_tell_is_unavailable() {
    let api = TrustedOriginsApi::new(
        Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
        ["00token"],
    )
    .with_authorizer(Unreachable);
    let (reply, body) = call(&api, "POST", b"Bearer at-admin").await;
    assert_eq!(reply.status(), 503, "{body}");
    assert_eq!(body["errorCode"], "E0000009");
    // The authorizer's own words (which may name internal hosts) go to the log only.
    assert!(
        body.to_string().contains("could not be checked")
            && !body.to_string().contains("introspection timed out"),
        "{body}"
    );
    assert_eq!(reply.headers()[http::header::RETRY_AFTER], "1");
    assert!(api.origins().registry().snapshot().is_empty());
}

#[tokio::test]
async fn established_grants_have_the_scopes_of_access_tokens() {
    let api = scoped_api();
    let call = |method, grant: Grant| {
        let api = api.clone();
        async move {
            let reply = api
                .handle_with_grant(
                    ApiRequest {
                        method,
                        path: TRUSTED_ORIGINS_PATH,
                        // Never read: the application established the grant.
                        authorization: Some(b"SSWS wrong"),
                        body: br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#,
                        ..ApiRequest::default()
                    },
                    &grant,
                )
                .await;
            let body = serde_json::from_slice(reply.body()).unwrap_or(Value::Null);
            (reply, body)
        }
    };
    let nobody = || Grant::new("grace@example.com", []);
    let reader = || Grant::new("grace@example.com", [ApiScope::Read]);
    let admin = || Grant::new("ada@example.com", [ApiScope::Manage]);
    for (method, grant, needed) in [
        ("GET", nobody(), "okta.trustedOrigins.read"),
        ("POST", nobody(), "okta.trustedOrigins.manage"),
        ("POST", reader(), "okta.trustedOrigins.manage"),
    ] {
        let (reply, body) = call(method, grant).await;
        assert_eq!(reply.status(), 403, "{method}: {body}");
        assert_eq!(body["errorCode"], "E0000006");
        assert_eq!(
            body["errorCauses"][0]["errorSummary"],
            format!("grace@example.com is not granted the scope {needed}")
        );
        assert_eq!(challenge(&reply), "", "no token, no challenge");
    }
    assert!(api.origins().registry().snapshot().is_empty());
    let (reply, body) = call("GET", reader()).await;
    assert_eq!(reply.status(), 200, "{body}");
    let (reply, body) = call("POST", admin()).await;
    assert_eq!(reply.status(), 200, "{body}");
    assert_eq!(body["createdBy"], "ada@example.com");
    let (reply, body) = call("GET", admin()).await;
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(reply.status(), 200);
}

#[test]
fn targets_parse() {
    assert!(matches!(
        parse_target("/api/v1/trustedOrigins"),
        Target::Collection
    ));
    assert!(matches!(
        parse_target("/api/v1/trustedOrigins/"),
        Target::Collection
    ));
    assert!(matches!(
        parse_target("/api/v1/trustedOrigins/tos1"),
        Target::Item("tos1")
    ));
    assert!(matches!(
        parse_target("/api/v1/trustedOrigins/tos1/lifecycle/activate"),
        Target::Lifecycle("tos1", Status::Active)
    ));
    assert!(matches!(
        parse_target("/api/v1/trustedOrigins/tos1/lifecycle/deactivate"),
        Target::Lifecycle("tos1", Status::Inactive)
    ));
    assert!(matches!(
        parse_target("/api/v1/trustedOrigins/tos1/lifecycle/explode"),
        Target::Unknown
    ));
    assert!(matches!(
        parse_target("/api/v1/trustedOriginsX"),
        Target::Unknown
    ));
}

async fn send(api: &TrustedOriginsApi, method: &str, path: &str, body: &str) -> (Reply, Value) {
    let reply = api
        .handle(ApiRequest {
            method,
            path,
            // Okta's Python SDK sends it without the space.
            authorization: Some(b"SSWS00token"),
            body: body.as_bytes(),
            ..ApiRequest::default()
        })
        .await;
    let body = serde_json::from_slice(reply.body()).unwrap_or(Value::Null);
    (reply, body)
}

#[tokio::test]
async fn allowed_okta_apps_round_trip_and_are_refused_outside_iframe_embed() {
    let api = TrustedOriginsApi::new(
        Arc::new(TrustedOrigins::in_memory(trusted_cors_core::Registry::new())),
        ["00token"],
    );
    let body = r#"{"name":"Portal","origin":"https://portal.example.com","scopes":[{"type":"REDIRECT"},{"type":"IFRAME_EMBED","allowedOktaApps":["OKTA_ENDUSER"]},{"type":"CORS","allowedOktaApps":[]}]}"#;
    let (reply, created) = send(&api, "POST", TRUSTED_ORIGINS_PATH, body).await;
    assert_eq!(reply.status(), 200, "{created}");
    // In the order given; Okta's dates, with milliseconds.
    assert_eq!(
        created["scopes"],
        serde_json::json!([{"type":"REDIRECT"},{"type":"IFRAME_EMBED","allowedOktaApps":["OKTA_ENDUSER"]},{"type":"CORS"}])
    );
    let created_at = created["created"].as_str().unwrap();
    assert!(
        created_at.len() == 24 && created_at.ends_with('Z') && created_at.as_bytes()[19] == b'.',
        "{created_at}"
    );
    let id = reply.headers()[wire::REQUEST_ID].to_str().unwrap();
    assert_eq!(id.len(), 20);
    // Replaced with IFRAME_EMBED framing the sign-in page only.
    let path = format!("{TRUSTED_ORIGINS_PATH}/{}", created["id"].as_str().unwrap());
    let body = r#"{"name":"Portal","origin":"https://portal.example.com","scopes":[{"type":"IFRAME_EMBED"}]}"#;
    let (reply, replaced) = send(&api, "PUT", &path, body).await;
    assert_eq!(reply.status(), 200, "{replaced}");
    assert_eq!(
        replaced["scopes"],
        serde_json::json!([{"type":"IFRAME_EMBED","allowedOktaApps":[]}])
    );
    for (body, cause) in [
        (
            r#"{"name":"X","origin":"https://x.example","scopes":[{"type":"CORS","allowedOktaApps":["OKTA_ENDUSER"]}]}"#,
            "allowedOktaApps: allowedOktaApps is for the IFRAME_EMBED scope only, not CORS",
        ),
        (
            r#"{"name":"X","origin":"https://x.example","scopes":[{"type":"IFRAME_EMBED","allowedOktaApps":["OKTA_ADMIN"]}]}"#,
            "allowedOktaApps: the only Okta application an IFRAME_EMBED scope may list is \"OKTA_ENDUSER\"",
        ),
        (
            r#"{"name":"X","origin":"https://x.example","scopes":[{"type":"IFRAME_EMBED","allowedOktaApps":"OKTA_ENDUSER"}]}"#,
            "allowedOktaApps: must be a list",
        ),
    ] {
        let (reply, error) = send(&api, "POST", TRUSTED_ORIGINS_PATH, body).await;
        assert_eq!(reply.status(), 400, "{error}");
        assert_eq!(error["errorCode"], "E0000001");
        assert_eq!(error["errorSummary"], "Api validation failed: allowedOktaApps");
        let told = error["errorCauses"][0]["errorSummary"].as_str().unwrap();
        assert!(told.starts_with(cause), "{told}");
        // The request id is the error's.
        assert_eq!(reply.headers()[wire::REQUEST_ID], error["errorId"].as_str().unwrap());
    }
}

#[tokio::test]
async fn ssws_without_a_space_is_accepted_and_every_answer_tells_the_budget() {
    // An API with an authorizer, so that a bearer token with its space would be accepted: the
    // refusals below are for the missing space, not for bearer tokens as such.
    let api = scoped_api();
    let (reply, _) = send(&api, "GET", TRUSTED_ORIGINS_PATH, "").await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["x-rate-limit-limit"], "600");
    assert_eq!(reply.headers()["x-rate-limit-remaining"], "599");
    assert!(reply.headers().contains_key("x-rate-limit-reset"));
    let (reply, body) = call(&api, "GET", b"Bearer at-admin").await;
    assert_eq!(reply.status(), 200, "{body}");
    // Bearer needs its space; a 401 tells the budget of the unauthenticated too.
    for authorization in [&b"Bearerat-admin"[..], b"SSWS00tokenX", b"SSWS"] {
        let (reply, body) = call(&api, "GET", authorization).await;
        assert_eq!(reply.status(), 401, "{body}");
        assert!(reply.headers().contains_key("x-rate-limit-remaining"));
    }
    let unlimited = api.clone().without_rate_limit();
    let (reply, _) = send(&unlimited, "GET", TRUSTED_ORIGINS_PATH, "").await;
    assert!(!reply.headers().contains_key("x-rate-limit-limit"));
    assert!(reply.headers().contains_key(wire::REQUEST_ID));
}

#[tokio::test]
async fn a_spent_budget_is_answered_429_and_nothing_is_done() {
    let api = scoped_api().with_rate_limit(RateLimit::per_minute(2).unwrap());
    for _ in 0..2 {
        assert_eq!(call(&api, "GET", b"SSWS 00token").await.0.status(), 200);
    }
    let (reply, body) = call(&api, "POST", b"SSWS 00token").await;
    assert_eq!(reply.status(), 429, "{body}");
    assert_eq!(body["errorCode"], "E0000047");
    assert_eq!(reply.headers()["x-rate-limit-remaining"], "0");
    assert_eq!(reply.headers()[http::header::RETRY_AFTER], "30");
    assert!(api.origins().registry().snapshot().is_empty());
    // Another credential has its own budget.
    let (reply, body) = call(&api, "POST", b"Bearer at-admin").await;
    assert_eq!(reply.status(), 200, "{body}");
}
