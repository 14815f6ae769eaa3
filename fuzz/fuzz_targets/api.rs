//! The Trusted Origins API (`TrustedOriginsApi::handle`) over arbitrary methods, paths, query
//! strings, hosts and bodies, in memory, starting from a registry of four entries.
//!
//! Input: up to four requests separated by the byte 0xFE; each is the lines `method`, `target`
//! (`path[?query]`; `{0}`..`{3}` stand for the ids of the four entries, `{new}` for the last one
//! created), `Authorization` (empty: a valid `SSWS` token; `-`: none), the base URL the API is
//! configured with (empty: none, relative links), then the body (the rest, line feeds
//! included).
//!
//! Invariants: the status is a documented one (200, 204, 400, 401, 404, 405); a 204 is an empty
//! answer to `DELETE`, anything else is JSON, an error is an Okta error object and a 405 says
//! what is allowed; a 4xx or a `GET` leaves the registry unchanged; only a valid token changes
//! anything; an entry answered is the registry's entry, its links under the configured base URL
//! (or relative); the registry always holds entries a
//! store could load back (unique ids, names and origins, every rule kept) and that survive a
//! JSON round trip; a listing is a page of at most 200 with a `self` link.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trusted_cors_admin::{
    trusted_origin_object, ApiRequest, TrustedOrigins, TrustedOriginsApi, MAX_LIMIT,
};
use trusted_cors_core::{NewTrustedOrigin, Registry, ScopeType, Status, TrustedOrigin};
use trusted_cors_fuzz::assert_okta_error;

const TOKEN: &str = "00fuzz-token";

fn registry() -> Registry {
    Registry::with_origins([
        NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors]),
        NewTrustedOrigin::new(
            "Apps",
            "https://*.apps.example.com",
            [ScopeType::Cors, ScopeType::Redirect],
        ),
        NewTrustedOrigin::new("Local", "http://localhost:3000", [ScopeType::IframeEmbed])
            .with_status(Status::Inactive),
        NewTrustedOrigin::new(
            "Partner",
            "https://partner.example:8443",
            [ScopeType::Redirect, ScopeType::IframeEmbed],
        ),
    ])
    .expect("a valid registry")
}

fuzz_target!(|data: &[u8]| {
    let origins = Arc::new(TrustedOrigins::in_memory(registry()));
    let registry = Arc::clone(origins.registry());
    let ids: Vec<String> = registry
        .snapshot()
        .origins()
        .map(|o| o.id.to_string())
        .collect();
    let api = TrustedOriginsApi::new(origins, [TOKEN]);
    let mut last_created = String::from("none");

    for request in data.split(|b| *b == 0xFE).take(4) {
        let mut parts = request.splitn(5, |b| *b == b'\n');
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        let authorization = parts.next().unwrap_or_default();
        let base_url = parts.next().unwrap_or_default();
        let body = parts.next().unwrap_or_default();
        let Ok(method) = std::str::from_utf8(method) else {
            continue;
        };
        let Ok(target) = std::str::from_utf8(target) else {
            continue;
        };
        let mut target = target.replace("{new}", &last_created);
        for (i, id) in ids.iter().enumerate() {
            target = target.replace(&format!("{{{i}}}"), id);
        }
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target.as_str(), None),
        };
        let valid_token = format!("SSWS {TOKEN}");
        let authorization = match authorization {
            b"" => Some(valid_token.as_bytes()),
            b"-" => None,
            other => Some(other),
        };
        let authenticated = authorization.is_some_and(authenticates);
        let base_url = std::str::from_utf8(base_url).ok().filter(|b| !b.is_empty());
        let configured = base_url.and_then(|b| api.clone().with_base_url(b).ok());
        let base = configured
            .as_ref()
            .and_then(TrustedOriginsApi::base_url)
            .unwrap_or("")
            .to_owned();
        let api = configured.as_ref().unwrap_or(&api);

        let before = registry.snapshot_arc();
        let response = futures_executor::block_on(api.handle(ApiRequest {
            method,
            path,
            query,
            authorization,
            body,
        }));
        let after = registry.snapshot_arc();
        let status = response.status().as_u16();
        let unchanged = before.revision() == after.revision() && before.to_vec() == after.to_vec();

        assert!(
            matches!(status, 200 | 204 | 400 | 401 | 404 | 405),
            "status {status}: {method} {target}"
        );
        assert_eq!(status == 401, !authenticated, "{method} {target}: {status}");
        if status >= 400 || method == "GET" || !authenticated {
            assert!(
                unchanged,
                "{method} {target} answered {status} and changed the registry"
            );
        }
        let body = response.body();
        if status == 204 {
            assert_eq!(method, "DELETE");
            assert!(body.is_empty());
            assert_eq!(after.len() + 1, before.len());
        } else {
            assert_eq!(
                response.headers().get("content-type").map(|v| v.as_bytes()),
                Some(b"application/json".as_slice())
            );
            let value: Value = serde_json::from_slice(body)
                .unwrap_or_else(|e| panic!("{method} {target}: the answer is not JSON: {e}"));
            if status >= 400 {
                assert_okta_error(body, "API error");
            }
            if status == 405 {
                assert!(response.headers().contains_key("allow"));
            }
            if status == 200 {
                check_ok(&value, method, &response, &after, &base);
                if method == "POST" && before.len() < after.len() {
                    last_created = value["id"].as_str().unwrap_or_default().to_owned();
                }
            }
        }
        check_registry(&after.to_vec());
    }
});

/// Whether the `Authorization` value carries the API token: `SSWS <token>`, or `SSWS<token>`
/// without the space as Okta's Python SDK sends it.
fn authenticates(value: &[u8]) -> bool {
    let value = value.trim_ascii();
    match value.split_at_checked(4) {
        Some((scheme, token)) => {
            scheme.eq_ignore_ascii_case(b"ssws") && token.trim_ascii() == TOKEN.as_bytes()
        }
        None => false,
    }
}

fn check_ok(
    value: &Value,
    method: &str,
    response: &http::Response<bytes::Bytes>,
    after: &trusted_cors_core::RegistrySnapshot,
    base: &str,
) {
    if let Value::Array(items) = value {
        assert_eq!(method, "GET");
        assert!(items.len() <= MAX_LIMIT);
        let links: Vec<&[u8]> = response
            .headers()
            .get_all("link")
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        assert!(
            links.iter().any(|l| l.ends_with(b"rel=\"self\"")),
            "no self link: {links:?}"
        );
        let prefix = format!("<{base}/api/v1/trustedOrigins?");
        assert!(
            links.iter().all(|l| l.starts_with(prefix.as_bytes())),
            "links not under {base:?}: {links:?}"
        );
        for item in items {
            check_object(item, after, base);
        }
    } else {
        check_object(value, after, base);
    }
}

/// An object answered is the registry's entry, as `trusted_origin_object` shows it under the
/// configured base URL.
fn check_object(value: &Value, after: &trusted_cors_core::RegistrySnapshot, base: &str) {
    let id = value["id"].as_str().expect("an id");
    let entry = after
        .get(id)
        .expect("the answered entry is in the registry");
    assert_eq!(*value, trusted_origin_object(entry, base));
}

/// What a store would hold: entries that load back, unique, and survive a JSON round trip.
fn check_registry(entries: &[TrustedOrigin]) {
    if let Err(error) = Registry::from_origins(entries.to_vec()) {
        panic!("the registry holds entries it cannot load back: {error}: {entries:?}");
    }
    for entry in entries {
        let json = serde_json::to_string(entry).expect("serializes");
        let back: TrustedOrigin = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("does not load back from JSON: {e}: {json}"));
        assert_eq!(&back, entry);
    }
}
