//! The Tower stack, `cors.guard()` around `cors.route(policy)` (or around nothing: an undeclared
//! route) around a trivial handler, over arbitrary methods, request targets and headers.
//!
//! Input: 1 flag byte (bits 0-2 the policy, bit 3 an undeclared route, bits 4-5 what the
//! handler sets: nothing, `Access-Control-Allow-Origin: *`, `Access-Control-Allow-Credentials:
//! true`; bit 6 the configuration), then the lines `method`, `request target`, and one
//! `name:value` header per line (the value trimmed as an HTTP parser does).
//!
//! Invariants on the response: at most one `Access-Control-Allow-Origin` and never `*` with
//! `Access-Control-Allow-Credentials: true`; a grant is the request's single origin, with
//! credentials only for an ACTIVE CORS-scoped trusted origin; a refusal is a 403 Okta error that
//! grants nothing; an API token, another scheme not configured, or an unsafe method from an
//! untrusted origin without a bearer token never reaches the handler from another origin, nor
//! does a WebSocket handshake from an untrusted origin unless the route declared its socket
//! open to any origin (then only the guard's refusal of an undeclared route's answer); the
//! handler never runs for an answered preflight; the handler's `Vary` is kept and a declared
//! route adds `Origin`; a trusted origin's actual request is granted.

#![no_main]

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, Layer, ServiceExt};
use trusted_cors_core::{Cors, Registry, Rejection, RejectionKind, ScopeType};
use trusted_cors_fuzz::{
    allowed_schemes, assert_okta_error, auth_scheme, configs, is_token, list_items,
    oracle_form_post, oracle_same_origin, oracle_trusted, policies, registry, Input,
};

/// The fixed registry, built once. Each input gets its own `Cors` over it: declaring a route
/// open to WebSockets changes what its guard does, which must not leak into the next input.
fn world() -> &'static Arc<Registry> {
    static WORLD: OnceLock<Arc<Registry>> = OnceLock::new();
    WORLD.get_or_init(|| Arc::new(registry()))
}

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data, 1);
    let fields = input.fields();
    let Some(&method) = fields.first() else {
        return;
    };
    let Ok(method) = Method::from_bytes(method) else {
        return;
    };
    let target = fields.get(1).copied().unwrap_or(b"/");
    let Ok(uri) = Uri::try_from(target) else {
        return;
    };
    let mut request = Request::new(Full::new(Bytes::new()));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    for line in fields.iter().skip(2) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            request.headers_mut().append(name, value);
        }
    }

    let config_index = usize::from(input.bit(6));
    let cors = &Cors::new(configs()[config_index].clone(), Arc::clone(world()));
    let declared = !input.bit(3);
    let policy = &policies()[usize::from(input.flag(0) & 0b111)];
    let handler_sets = input.bits2(4);

    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let handler = service_fn(move |_request: Request<Full<Bytes>>| {
        counter.fetch_add(1, Ordering::SeqCst);
        let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
        let headers = response.headers_mut();
        headers.insert("vary", HeaderValue::from_static("Accept-Encoding"));
        match handler_sets {
            1 => {
                headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            }
            2 => {
                headers.insert(
                    "access-control-allow-credentials",
                    HeaderValue::from_static("true"),
                );
            }
            _ => {}
        }
        std::future::ready(Ok::<_, Infallible>(response))
    });

    let facts = Facts::of(&request);
    let response = if declared {
        let app = cors
            .guard()
            .layer(cors.route(policy.clone()).layer(handler));
        futures_executor::block_on(app.oneshot(request))
    } else {
        let app = cors.guard().layer(handler);
        futures_executor::block_on(app.oneshot(request))
    };
    let Ok(response) = response;
    let handled = calls.load(Ordering::SeqCst) > 0;
    let enabled = declared && policy.is_cors_enabled();
    let headers = response.headers();
    let acao: Vec<&HeaderValue> = headers
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    let acac: Vec<&HeaderValue> = headers
        .get_all("access-control-allow-credentials")
        .iter()
        .collect();
    let vary: Vec<&[u8]> = headers
        .get_all("vary")
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();

    assert!(acao.len() <= 1 && acac.len() <= 1, "{headers:?}");
    let acao = acao.first().map(|v| v.as_bytes());
    let acac = acac.first().map(|v| v.as_bytes());
    if acao == Some(b"*") {
        assert!(
            acac.is_none(),
            "Allow-Origin: * with credentials: {headers:?}"
        );
    }
    if let Some(acac) = acac {
        assert_eq!(acac, b"true");
    }

    let rejection = response.extensions().get::<Rejection>();
    if let Some(rejection) = rejection {
        assert_eq!(response.status(), 403);
        assert!(
            acao.is_none() && acac.is_none(),
            "a refusal grants: {headers:?}"
        );
        assert!(
            vary.iter()
                .any(|v| list_items(v).any(|i| i.eq_ignore_ascii_case(b"origin"))),
            "a refusal without Vary: Origin: {headers:?}"
        );
        // Only a preflight to an undeclared route is refused after the application answered.
        if rejection.kind() != RejectionKind::RouteNotCorsEnabled || enabled {
            assert!(!handled, "the handler ran for {rejection:?}");
        }
        let body = futures_executor::block_on(response.into_body().collect())
            .expect("a full body")
            .to_bytes();
        assert_okta_error(&body, "refusal");
        return;
    }
    if handled {
        assert_eq!(response.status(), 200);
        assert_eq!(vary.first().copied(), Some(b"Accept-Encoding".as_slice()));
    } else {
        assert_eq!(
            response.status(),
            204,
            "the handler did not run: {response:?}"
        );
        assert!(facts.preflight && enabled && facts.cross_origin(config_index));
    }

    let granted_by_layer = acao.is_some() && !(handler_sets == 1 && acao == Some(b"*"));
    if granted_by_layer {
        assert!(enabled, "an undeclared route granted: {headers:?}");
        let [origin] = facts.origins.as_slice() else {
            panic!("granted with {} origins", facts.origins.len());
        };
        assert_eq!(acao, Some(origin.as_slice()));
        let trusted = oracle_trusted(origin, ScopeType::Cors);
        if !trusted {
            assert!(policy.accepts_bearer_from_any_origin() && acac.is_none());
        }
    }
    if acac.is_some() && handler_sets != 2 {
        assert!(granted_by_layer, "credentials without a grant: {headers:?}");
        assert!(policy.allows_credentials());
        assert!(oracle_trusted(facts.origins[0].as_slice(), ScopeType::Cors));
    }
    if enabled {
        assert!(
            vary.iter()
                .any(|v| list_items(v).any(|i| i.eq_ignore_ascii_case(b"origin"))),
            "a declared route without Vary: Origin: {headers:?}"
        );
    }

    if handled && facts.cross_origin(config_index) {
        let bearer = facts.bearer(config_index);
        assert!(
            facts.authorization.is_empty() || bearer,
            "a credential other than a bearer token reached the handler from another origin"
        );
        let trusted = matches!(facts.origins.as_slice(), [o] if oracle_trusted(o, ScopeType::Cors));
        if facts.handshake() {
            assert!(
                trusted || (declared && policy.accepts_websocket_from_any_origin()),
                "a WebSocket handshake from an untrusted origin reached the handler"
            );
        } else if !facts.safe() {
            assert!(
                trusted
                    || (bearer && !facts.cookies)
                    || oracle_form_post(config_index, &facts.path),
                "an unsafe cross-origin request from an untrusted origin reached the handler"
            );
        }
    }
    if enabled && facts.cross_origin(config_index) && !facts.preflight {
        if let [origin] = facts.origins.as_slice() {
            let credential_ok = facts.authorization.is_empty() || facts.bearer(config_index);
            if oracle_trusted(origin, ScopeType::Cors) && credential_ok {
                assert!(handled);
                assert_eq!(
                    acao,
                    Some(origin.as_slice()),
                    "a trusted origin was not granted"
                );
            }
        }
    }
});

/// What the oracles read from the request, independently of the library.
struct Facts {
    path: String,
    origins: Vec<Vec<u8>>,
    authorization: Vec<Vec<u8>>,
    sec_fetch_site: Vec<Vec<u8>>,
    host: Vec<Vec<u8>>,
    cookies: bool,
    preflight: bool,
    method: String,
    upgrade: Vec<Vec<u8>>,
    connection: Vec<Vec<u8>>,
}

impl Facts {
    fn of(request: &Request<Full<Bytes>>) -> Self {
        let all = |name: &str| -> Vec<Vec<u8>> {
            request
                .headers()
                .get_all(name)
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect()
        };
        // The request target's authority wins over `Host` (RFC 9113 §8.3.1, RFC 9112 §3.2.2).
        let host = match request.uri().authority() {
            Some(authority) => vec![authority.as_str().as_bytes().to_vec()],
            None => all("host"),
        };
        let acrm = all("access-control-request-method");
        let preflight =
            request.method() == Method::OPTIONS && matches!(acrm.as_slice(), [m] if is_token(m));
        Facts {
            path: request.uri().path().to_owned(),
            origins: all("origin"),
            authorization: all("authorization"),
            sec_fetch_site: all("sec-fetch-site"),
            host,
            cookies: request.headers().contains_key("cookie"),
            preflight,
            method: request.method().as_str().to_owned(),
            upgrade: all("upgrade"),
            connection: all("connection"),
        }
    }

    /// A WebSocket handshake, as ARCHITECTURE.md defines it: a `GET` whose `Upgrade` and
    /// `Connection` contain `websocket` and `upgrade` in any case (several values count), or a
    /// `CONNECT`.
    fn handshake(&self) -> bool {
        let names = |values: &[Vec<u8>], token: &str| {
            values.len() > 1
                || values
                    .iter()
                    .any(|v| v.to_ascii_lowercase().windows(token.len()).any(|w| w == token.as_bytes()))
        };
        match self.method.as_str() {
            "GET" => names(&self.upgrade, "websocket") && names(&self.connection, "upgrade"),
            "CONNECT" => true,
            _ => false,
        }
    }

    fn cross_origin(&self, _config: usize) -> bool {
        let one = |values: &[Vec<u8>]| match values {
            [] => None,
            [one] => Some(Some(one.clone())),
            _ => Some(None),
        };
        match self.origins.as_slice() {
            [] => false,
            [origin] => {
                let sfs = one(&self.sec_fetch_site);
                let host = one(&self.host);
                !oracle_same_origin(
                    origin,
                    sfs.as_ref().map(|v| v.as_deref()),
                    host.as_ref().map(|v| v.as_deref()),
                )
            }
            _ => true,
        }
    }

    fn bearer(&self, config: usize) -> bool {
        match self.authorization.as_slice() {
            [value] => {
                let scheme = auth_scheme(value).to_ascii_lowercase();
                allowed_schemes(config)
                    .iter()
                    .any(|s| s.as_bytes() == scheme)
            }
            _ => false,
        }
    }

    fn safe(&self) -> bool {
        self.preflight || matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}
