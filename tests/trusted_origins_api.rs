//! The Trusted Origins API over real HTTP on loopback, against the axum router and the actix
//! scope: every endpoint, every error, pagination with `Link`, filters and `q`, and changes that
//! alter CORS decisions on the next request.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PATH: &str = "/api/v1/trustedOrigins";

struct Api<'a> {
    served: &'a Served,
    client: reqwest::Client,
}

impl Api<'_> {
    fn url(&self, rest: &str) -> String {
        format!("{}{PATH}{rest}", self.served.base)
    }

    async fn call(
        &self,
        method: Method,
        rest: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        self.call_as(&format!("SSWS {API_TOKEN}"), method, rest, body)
            .await
    }

    /// A call with this `Authorization`.
    async fn call_as(
        &self,
        authorization: &str,
        method: Method,
        rest: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut request = self
            .client
            .request(method, self.url(rest))
            .header("authorization", authorization);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value, headers)
    }

    async fn create(&self, name: &str, origin: &str, scopes: &[&str]) -> Value {
        let scopes: Vec<Value> = scopes.iter().map(|s| json!({ "type": s })).collect();
        let (status, body, _) = self
            .call(
                Method::POST,
                "",
                Some(json!({ "name": name, "origin": origin, "scopes": scopes })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn assert_error(
    status: StatusCode,
    body: &Value,
    expected_status: u16,
    code: &str,
    summary: &str,
    cause: &str,
) {
    assert_eq!(status.as_u16(), expected_status, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["errorLink"], code, "{body}");
    assert!(
        body["errorSummary"]
            .as_str()
            .unwrap_or_default()
            .contains(summary),
        "{body}"
    );
    assert!(
        body["errorId"]
            .as_str()
            .is_some_and(|id| id.starts_with("oae")),
        "{body}"
    );
    if !cause.is_empty() {
        let causes = body["errorCauses"].to_string();
        assert!(causes.contains(cause), "cause {cause:?} not in {body}");
    }
}

async fn preflight(served: &Served, origin: &str) -> StatusCode {
    reqwest::Client::new()
        .request(
            Method::OPTIONS,
            format!("{}/api/v1/users/00u1", served.base),
        )
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap()
        .status()
}

/// Access tokens: read to `GET`, manage to change; the subject is the actor; unknown tokens are
/// invalid. Leaves the origins as it found them.
async fn scoped_access(api: &Api<'_>) {
    let reader = format!("Bearer {READ_TOKEN}");
    let manager = format!("Bearer {MANAGE_TOKEN}");
    let blog = json!({ "name": "Blog", "origin": "https://blog.example.com", "scopes": [{ "type": "CORS" }] });
    let challenge = |headers: &reqwest::header::HeaderMap| {
        headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };

    // Unknown access tokens (an API token sent as Bearer, too) are invalid.
    for authorization in ["Bearer at-unknown", "Bearer 00test-api-token", "Bearer "] {
        let (status, body, headers) = api.call_as(authorization, Method::GET, "", None).await;
        assert_error(
            status,
            &body,
            401,
            "E0000011",
            "Invalid token provided",
            "access token is not valid",
        );
        assert_eq!(
            challenge(&headers),
            r#"Bearer error="invalid_token""#,
            "{authorization}"
        );
    }

    // Read: lists and gets; every change is 403 naming the scope it lacks.
    let (status, listed, _) = api.call_as(&reader, Method::GET, "", None).await;
    assert_eq!(status, 200, "{listed}");
    let first = listed[0]["id"].as_str().unwrap().to_owned();
    let (status, got, _) = api
        .call_as(&reader, Method::GET, &format!("/{first}"), None)
        .await;
    assert_eq!(
        (status, &got["id"]),
        (StatusCode::OK, &listed[0]["id"]),
        "{got}"
    );
    let lacks_manage = "The access token lacks the scope okta.trustedOrigins.manage";
    for (method, rest, body) in [
        (Method::POST, String::new(), Some(blog.clone())),
        (Method::PUT, format!("/{first}"), Some(blog.clone())),
        (Method::DELETE, format!("/{first}"), None),
        (Method::POST, format!("/{first}/lifecycle/deactivate"), None),
    ] {
        let (status, body, headers) = api.call_as(&reader, method.clone(), &rest, body).await;
        assert_error(
            status,
            &body,
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
            lacks_manage,
        );
        assert_eq!(
            challenge(&headers),
            r#"Bearer error="insufficient_scope", scope="okta.trustedOrigins.manage""#,
            "{method} {rest}"
        );
    }
    let (status, unchanged, _) = api.call(Method::GET, "", None).await;
    assert_eq!((status, &unchanged), (StatusCode::OK, &listed));

    // Manage: changes, recorded as made by the token's subject; and reads.
    let (status, created, _) = api.call_as(&manager, Method::POST, "", Some(blog)).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["createdBy"], MANAGER);
    assert_eq!(created["lastUpdatedBy"], MANAGER);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, deactivated, _) = api
        .call(Method::POST, &format!("/{id}/lifecycle/deactivate"), None)
        .await;
    assert_eq!(status, 200, "{deactivated}");
    assert_eq!(
        (&deactivated["createdBy"], &deactivated["lastUpdatedBy"]),
        (&json!(MANAGER), &json!("apiToken1"))
    );
    let (status, activated, _) = api
        .call_as(
            &manager,
            Method::POST,
            &format!("/{id}/lifecycle/activate"),
            None,
        )
        .await;
    assert_eq!(
        (status, &activated["lastUpdatedBy"]),
        (StatusCode::OK, &json!(MANAGER)),
        "{activated}"
    );
    let (status, got, _) = api
        .call_as(&manager, Method::GET, &format!("/{id}"), None)
        .await;
    assert_eq!(
        (status, &got["status"]),
        (StatusCode::OK, &json!("ACTIVE")),
        "{got}"
    );
    let (status, _, _) = api
        .call_as(&manager, Method::DELETE, &format!("/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, after, _) = api.call_as(&reader, Method::GET, "", None).await;
    assert_eq!((status, &after), (StatusCode::OK, &listed));
}

/// Origins of app and extension schemes: created exactly and normalised when their scheme is
/// on the config's `origin_schemes` (here the default, `capacitor` and `ionic`), served by the
/// layers at once; other schemes, wildcards over them, `file:` and `null` refused, naming the
/// field and why.
async fn app_origins(api: &Api<'_>) {
    const CAPACITOR: &str = "capacitor://localhost";
    assert_eq!(
        preflight(api.served, CAPACITOR).await,
        StatusCode::FORBIDDEN
    );
    let body = json!({ "name": "Mobile", "origin": "Capacitor://LocalHost/", "scopes": [{ "type": "CORS" }] });
    let (status, created, _) = api.call(Method::POST, "", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["origin"], CAPACITOR);
    assert_eq!(
        preflight(api.served, CAPACITOR).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        preflight(api.served, "Capacitor://localhost").await,
        StatusCode::FORBIDDEN
    );
    for (origin, cause) in [
        (
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
            "`chrome-extension` is not an allowed origin scheme",
        ),
        ("ionic://*.localhost", "only allowed over http or https"),
        (
            "file:///etc/passwd",
            "`file` can never be a trusted origin's",
        ),
        ("null", "`null` can never be a trusted origin"),
        ("ionic://localhost/app", "no path"),
        ("capacitor://local host", "in a `capacitor` origin"),
    ] {
        let body =
            json!({ "name": "Refused app", "origin": origin, "scopes": [{ "type": "CORS" }] });
        let (status, answer, _) = api.call(Method::POST, "", Some(body)).await;
        assert_error(
            status,
            &answer,
            400,
            "E0000001",
            "Api validation failed",
            cause,
        );
        assert!(
            answer["errorCauses"].to_string().contains("origin"),
            "{answer}"
        );
    }
    let id = created["id"].as_str().unwrap();
    let (status, _, _) = api.call(Method::DELETE, &format!("/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight(api.served, CAPACITOR).await,
        StatusCode::FORBIDDEN
    );
}

async fn api_suite(served: &Served) {
    let api = Api {
        served,
        client: reqwest::Client::new(),
    };
    app_origins(&api).await;

    // Authentication: SSWS with a known token, or a known access token.
    for authorization in [None, Some("SSWS wrong"), Some(API_TOKEN)] {
        let mut request = api.client.get(api.url(""));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_error(
            status,
            &body,
            401,
            "E0000011",
            "Invalid token provided",
            "SSWS",
        );
    }

    scoped_access(&api).await;

    // Create: normalised, Okta-shaped, with _links.
    let shop = api
        .create(
            "Shop",
            "HTTPS://Shop.Example.com:443/",
            &["CORS", "REDIRECT"],
        )
        .await;
    let id = shop["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tos"), "{shop}");
    assert_eq!(shop["name"], "Shop");
    assert_eq!(shop["origin"], "https://shop.example.com");
    assert_eq!(
        shop["scopes"],
        json!([{ "type": "CORS" }, { "type": "REDIRECT" }])
    );
    assert_eq!(shop["status"], "ACTIVE");
    assert_eq!(shop["createdBy"], "apiToken1");
    assert_eq!(shop["lastUpdatedBy"], "apiToken1");
    assert!(shop["created"].as_str().is_some() && shop["lastUpdated"].as_str().is_some());
    assert_eq!(shop["_links"]["self"]["href"], format!("{PATH}/{id}"));
    assert_eq!(
        shop["_links"]["self"]["hints"]["allow"],
        json!(["GET", "PUT", "DELETE"])
    );
    assert_eq!(
        shop["_links"]["deactivate"]["href"],
        format!("{PATH}/{id}/lifecycle/deactivate")
    );
    assert_eq!(
        shop["_links"]["deactivate"]["hints"]["allow"],
        json!(["POST"])
    );

    // Validation errors name the field and why; nothing is created.
    let long = format!("https://{}.example", "a".repeat(250));
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "name": "A", "origin": "shop2.example.com", "scopes": [{ "type": "CORS" }] }),
            "no scheme",
        ),
        (
            json!({ "name": "A", "origin": "https://shop2.example.com/path", "scopes": [{ "type": "CORS" }] }),
            "no path",
        ),
        (
            json!({ "name": "A", "origin": "ftp://shop2.example.com", "scopes": [{ "type": "CORS" }] }),
            "`ftp` can never be a trusted origin's",
        ),
        (
            json!({ "name": "A", "origin": "null", "scopes": [{ "type": "CORS" }] }),
            "`null`",
        ),
        (
            json!({ "name": "A", "origin": "https://a.*.example.com", "scopes": [{ "type": "CORS" }] }),
            "wildcard",
        ),
        (
            json!({ "name": "A", "origin": "https://*.co.uk", "scopes": [{ "type": "CORS" }] }),
            "public suffix",
        ),
        (
            json!({ "name": "A", "origin": long, "scopes": [{ "type": "CORS" }] }),
            "longer than 255",
        ),
        (
            json!({ "name": "n".repeat(256), "origin": "https://shop2.example.com", "scopes": [{ "type": "CORS" }] }),
            "longer than 255",
        ),
        (
            json!({ "name": "Shop", "origin": "https://shop2.example.com", "scopes": [{ "type": "CORS" }] }),
            "An object with this field already exists",
        ),
        (
            json!({ "name": "Shop 2", "origin": "https://SHOP.example.com", "scopes": [{ "type": "CORS" }] }),
            "An object with this field already exists",
        ),
        (
            json!({ "name": "A", "origin": "https://shop2.example.com", "scopes": [{ "type": "EVERYTHING" }] }),
            "scopes",
        ),
        (
            json!({ "name": "A", "origin": "https://shop2.example.com" }),
            "scopes: is required",
        ),
        (
            json!({ "origin": "https://shop2.example.com", "scopes": [] }),
            "name: is required",
        ),
    ];
    for (body, cause) in cases {
        let (status, answer, _) = api.call(Method::POST, "", Some(body.clone())).await;
        assert_error(
            status,
            &answer,
            400,
            "E0000001",
            "Api validation failed",
            cause,
        );
    }
    let (status, answer, _) = api.call(Method::POST, "", None).await;
    assert_error(status, &answer, 400, "E0000003", "not well-formed", "JSON");
    let response = api
        .client
        .post(api.url(""))
        .header("authorization", format!("SSWS {API_TOKEN}"))
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_error(
        status,
        &response.json().await.unwrap(),
        400,
        "E0000003",
        "not well-formed",
        "JSON",
    );

    // Get, replace, lifecycle, delete; unknown ids are 404.
    let (status, got, _) = api.call(Method::GET, &format!("/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(got["id"], id.as_str());
    let (status, answer, _) = api.call(Method::GET, "/tosNOPE", None).await;
    assert_error(status, &answer, 404, "E0000007", "Not found", "");
    let (status, answer, _) = api.call(Method::PUT, "/tosNOPE", Some(json!({ "name": "X", "origin": "https://x.example", "scopes": [{ "type": "CORS" }] }))).await;
    assert_error(status, &answer, 404, "E0000007", "Not found", "");
    let (status, answer, _) = api.call(Method::DELETE, "/tosNOPE", None).await;
    assert_error(status, &answer, 404, "E0000007", "Not found", "");
    let (status, answer, _) = api
        .call(Method::POST, "/tosNOPE/lifecycle/activate", None)
        .await;
    assert_error(status, &answer, 404, "E0000007", "Not found", "");
    let (status, answer, headers) = api.call(Method::PATCH, "", None).await;
    assert_error(
        status,
        &answer,
        405,
        "E0000022",
        "does not support the provided HTTP method",
        "",
    );
    assert_eq!(headers["allow"], "GET, POST");
    let (status, answer, _) = api
        .call(Method::GET, &format!("/{id}/lifecycle/activate"), None)
        .await;
    assert_error(status, &answer, 405, "E0000022", "HTTP method", "POST");

    // Changes apply to the next request's CORS decision.
    assert_eq!(preflight(served, "https://shop.example.com").await, 204);
    let (status, answer, _) = api
        .call(Method::POST, &format!("/{id}/lifecycle/deactivate"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "INACTIVE");
    assert_eq!(
        answer["_links"]["activate"]["href"],
        format!("{PATH}/{id}/lifecycle/activate")
    );
    assert_eq!(preflight(served, "https://shop.example.com").await, 403);
    // Replacing without a status keeps it: a rename does not re-activate a deactivated origin.
    let renamed = json!({ "name": "Shop", "origin": "https://shop.example.com", "scopes": [{ "type": "CORS" }, { "type": "REDIRECT" }] });
    let (status, answer, _) = api
        .call(Method::PUT, &format!("/{id}"), Some(renamed))
        .await;
    assert_eq!(
        (status.as_u16(), answer["status"].as_str()),
        (200, Some("INACTIVE")),
        "{answer}"
    );
    assert_eq!(preflight(served, "https://shop.example.com").await, 403);
    let bad_status = json!({ "name": "Shop", "origin": "https://shop.example.com", "scopes": [{ "type": "CORS" }], "status": 5 });
    let (status, answer, _) = api
        .call(Method::PUT, &format!("/{id}"), Some(bad_status))
        .await;
    assert_error(
        status,
        &answer,
        400,
        "E0000001",
        "Api validation failed: status",
        "ACTIVE",
    );
    let (status, answer, _) = api
        .call(Method::POST, &format!("/{id}/lifecycle/activate"), None)
        .await;
    assert_eq!(
        (status.as_u16(), answer["status"].as_str()),
        (200, Some("ACTIVE"))
    );
    assert_eq!(preflight(served, "https://shop.example.com").await, 204);
    // Removing the CORS scope refuses the origin but keeps the entry listed.
    let (status, answer, _) = api.call(Method::PUT, &format!("/{id}"), Some(json!({ "name": "Shop", "origin": "https://shop.example.com", "scopes": [{ "type": "REDIRECT" }] }))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["scopes"], json!([{ "type": "REDIRECT" }]));
    assert_eq!(preflight(served, "https://shop.example.com").await, 403);
    let (_, listed, _) = api.call(Method::GET, "?q=Shop", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // Pagination across pages with Link, filters and q.
    for i in 0..5 {
        api.create(
            &format!("Partner {i}"),
            &format!("https://partner{i}.example"),
            if i % 2 == 0 { &["CORS"] } else { &["REDIRECT"] },
        )
        .await;
    }
    let (_, all, _) = api.call(Method::GET, "?limit=200", None).await;
    let all_ids: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        all_ids.len(),
        4 + 1 + 5,
        "fixture entries, Shop, partners: {all}"
    );
    let mut seen = Vec::new();
    let mut next = Some(api.url("?limit=3"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let response = api
            .client
            .get(&url)
            .header("authorization", format!("SSWS {API_TOKEN}"))
            // A client cannot steer the links with `Host`.
            .header("host", "evil.example")
            .send()
            .await
            .unwrap();
        let links: Vec<String> = response
            .headers()
            .get_all("link")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(
            links.iter().any(|l| l.ends_with("rel=\"self\"")),
            "{links:?}"
        );
        next = links
            .iter()
            .find(|l| l.ends_with("rel=\"next\""))
            // Relative to the service: no configured public origin, and `Host` is never used.
            .map(|l| format!("{}{}", api.served.base, &l[1..l.find('>').unwrap()]));
        let page: Value = response.json().await.unwrap();
        assert!(page.as_array().unwrap().len() <= 3);
        seen.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen, all_ids, "pages missed or repeated entries");
    assert_eq!(pages, 4);

    let count = |value: &Value| value.as_array().map_or(0, Vec::len);
    let filters = [
        ("?filter=status%20eq%20%22INACTIVE%22", 1),
        ("?filter=type%20eq%20%22REDIRECT%22", 5),
        (
            "?filter=type%20eq%20%22CORS%22%20and%20status%20eq%20%22ACTIVE%22",
            5,
        ),
        ("?filter=name%20eq%20%22Partner%203%22", 1),
        (
            "?filter=origin%20eq%20%22HTTPS%3A%2F%2FPartner4.example%22",
            1,
        ),
        ("?q=partner", 5),
        ("?q=https%3A%2F%2Fpartner1", 1),
        ("?q=nobody", 0),
    ];
    for (query, expected) in filters {
        let (status, answer, _) = api.call(Method::GET, query, None).await;
        assert_eq!(status, 200, "{query}: {answer}");
        assert_eq!(count(&answer), expected, "{query}: {answer}");
    }
    let (status, answer, _) = api
        .call(Method::GET, "?filter=colour%20eq%20%22red%22", None)
        .await;
    assert_error(
        status,
        &answer,
        400,
        "E0000001",
        "filter",
        "at character 1: expected a field",
    );
    let (status, answer, _) = api.call(Method::GET, "?limit=0", None).await;
    assert_error(status, &answer, 400, "E0000001", "limit", "");

    // Delete: 204, then gone.
    let (status, _, _) = api.call(Method::DELETE, &format!("/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _, _) = api.call(Method::GET, &format!("/{id}"), None).await;
    assert_eq!(status, 404);

    // The API itself is never CORS-enabled.
    let response = api
        .client
        .request(Method::OPTIONS, api.url(""))
        .header("origin", TRUSTED)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-trusted-cors-reason"],
        "route_not_cors_enabled"
    );
    let response = api
        .client
        .get(api.url(""))
        .header("origin", TRUSTED)
        .header("authorization", format!("SSWS {API_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["x-trusted-cors-reason"],
        "api_token_cross_origin"
    );
}

#[tokio::test]
async fn axum_serves_the_trusted_origins_api() {
    let served = serve_axum();
    wait_until_up(&served).await;
    api_suite(&served).await;
}

#[tokio::test]
async fn actix_serves_the_trusted_origins_api() {
    let served = serve_actix();
    wait_until_up(&served).await;
    api_suite(&served).await;
}

/// The fixture's origins kept in a fresh SQLite file, and the file's directory.
#[cfg(feature = "sqlite")]
async fn on_sqlite(name: &str) -> (Fixture, std::path::PathBuf) {
    use trusted_cors::admin::{SqliteStore, TrustedOrigins};
    let dir = std::env::temp_dir().join(format!("trusted-cors-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("trusted-origins.db"))
        .await
        .unwrap();
    let origins = TrustedOrigins::open(store, seeds()).await.unwrap();
    (Fixture::over(std::sync::Arc::new(origins)), dir)
}

/// The suite again with every change committed to SQLite; afterwards the file holds exactly
/// what the API shows.
#[cfg(feature = "sqlite")]
async fn sqlite_suite(name: &str, serve: fn(Fixture) -> Served) {
    let (fixture, dir) = on_sqlite(name).await;
    let origins = std::sync::Arc::clone(&fixture.origins);
    let served = serve(fixture);
    wait_until_up(&served).await;
    api_suite(&served).await;
    let stored = origins.store().unwrap().load().await.unwrap();
    assert_eq!(stored.revision, origins.revision());
    assert_eq!(stored.origins, origins.registry().snapshot().to_vec());
    std::fs::remove_dir_all(&dir).ok();
}

/// The suite with every change committed to a private PostgreSQL cluster (a loud skip without
/// PostgreSQL; a failure under `CI=true`).
#[cfg(feature = "postgres")]
async fn postgres_suite(serve: fn(Fixture) -> Served) {
    use trusted_cors::admin::{PostgresStore, TrustedOrigins};
    let Some(cluster) = trusted_cors_testing::PgCluster::start() else {
        return;
    };
    let store = PostgresStore::connect(&cluster.url()).await.unwrap();
    let origins = std::sync::Arc::new(TrustedOrigins::open(store, seeds()).await.unwrap());
    let served = serve(Fixture::over(std::sync::Arc::clone(&origins)));
    wait_until_up(&served).await;
    api_suite(&served).await;
    let stored = origins.store().unwrap().load().await.unwrap();
    assert_eq!(stored.revision, origins.revision());
    assert_eq!(stored.origins, origins.registry().snapshot().to_vec());
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_serves_the_trusted_origins_api_on_postgres() {
    postgres_suite(serve_axum_from).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_serves_the_trusted_origins_api_on_postgres() {
    postgres_suite(serve_actix_from).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn axum_serves_the_trusted_origins_api_on_sqlite() {
    sqlite_suite("axum", serve_axum_from).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn actix_serves_the_trusted_origins_api_on_sqlite() {
    sqlite_suite("actix", serve_actix_from).await;
}
