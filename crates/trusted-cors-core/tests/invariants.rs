//! Property tests of the DESIGN.md invariants over random registries, route policies and
//! requests, with arbitrary bytes in every header the decision reads.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use proptest::prelude::*;
use tower::{service_fn, Layer, ServiceExt};
use trusted_cors_core::decision::{decide, Decision, RouteScope};
use trusted_cors_core::{
    Cors, CorsConfig, NewTrustedOrigin, Registry, RejectionKind, RouteCors, ScopeType, Status,
};
use trusted_cors_core::{HeaderInput, RequestFacts};

const PATTERNS: [&str; 5] = [
    "https://a.example",
    "https://b.example",
    "http://localhost:3000",
    "https://*.w.example",
    "https://c.example:8443",
];
const ORIGINS: [&str; 10] = [
    "https://a.example",
    "https://b.example",
    "http://localhost:3000",
    "https://x.w.example",
    "https://x.y.w.example",
    "https://w.example",
    "https://c.example:8443",
    "https://c.example",
    "null",
    "https://public.example",
];
const PUBLIC: &str = "https://public.example";
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get"];
const HEADER_NAMES: [&str; 5] = [
    "content-type",
    "authorization",
    "x-custom",
    "accept",
    "dpop",
];

#[derive(Debug, Clone)]
struct World {
    entries: Vec<(usize, u8, bool)>,
    declared: bool,
    credentials: bool,
    bearer_any: bool,
    methods: Vec<&'static str>,
    headers: Option<Vec<&'static str>>,
}

impl World {
    fn registry(&self) -> Registry {
        let registry = Registry::new();
        for (i, (pattern, bits, active)) in self.entries.iter().enumerate() {
            let scopes = [ScopeType::Cors, ScopeType::Redirect, ScopeType::IframeEmbed]
                .into_iter()
                .filter(|s| bits & (1 << (*s as u8)) != 0);
            let status = if *active {
                Status::Active
            } else {
                Status::Inactive
            };
            // Duplicates and an http wildcard are refused by the registry; that is fine here.
            let _ = registry.create(
                NewTrustedOrigin::new(format!("e{i}"), PATTERNS[*pattern], scopes)
                    .with_status(status),
            );
        }
        registry
    }

    fn policy(&self) -> RouteCors {
        if !self.declared {
            return RouteCors::server_side_only();
        }
        let mut builder = RouteCors::builder()
            .credentials(self.credentials)
            .allow_methods(&self.methods);
        builder = match &self.headers {
            Some(names) => builder.allow_headers(names),
            None => builder.allow_any_header(),
        };
        if self.bearer_any {
            builder = builder.bearer_from_any_origin();
        }
        builder.build().expect("valid policy")
    }
}

fn world() -> impl Strategy<Value = World> {
    (
        proptest::collection::vec((0..PATTERNS.len(), 0u8..8, any::<bool>()), 0..6),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        // Policies name methods as they must (upper-cased); requests may send any.
        proptest::sample::subsequence(METHODS[..6].to_vec(), 1..4),
        proptest::option::of(proptest::sample::subsequence(HEADER_NAMES.to_vec(), 0..4)),
    )
        .prop_map(
            |(entries, declared, credentials, bearer_any, methods, headers)| World {
                entries,
                declared,
                credentials,
                bearer_any,
                methods,
                headers,
            },
        )
}

/// Header bytes: usually meaningful, sometimes anything at all.
fn bytes_from(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::sample::select(pool).prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..48),
    ]
}

#[derive(Debug, Clone)]
struct Req {
    method: String,
    origin: Vec<Vec<u8>>,
    acrm: Option<Vec<u8>>,
    acrh: Option<Vec<u8>>,
    authorization: Option<Vec<u8>>,
    cookie: bool,
    sec_fetch_site: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
}

fn req() -> impl Strategy<Value = Req> {
    const AUTH: &[&str] = &[
        "Bearer t",
        "DPoP t",
        "SSWS 00t",
        "ssws x",
        "Basic eDp5",
        "bearer",
        "Token t",
    ];
    const ACRH: &[&str] = &[
        "content-type",
        "authorization",
        "Authorization,content-type",
        "x-custom, accept",
        "dpop,authorization",
        "",
    ];
    const SFS: &[&str] = &["same-origin", "same-site", "cross-site", "none"];
    const HOSTS: &[&str] = &[
        "a.example",
        "org.local:8080",
        "localhost:3000",
        "c.example:8443",
    ];
    (
        prop_oneof![4 => proptest::sample::select(&METHODS[..]).prop_map(str::to_owned), 1 => "[A-Za-z!#]{1,8}"],
        proptest::collection::vec(bytes_from(&ORIGINS), 0..3),
        proptest::option::of(bytes_from(&METHODS)),
        proptest::option::of(bytes_from(ACRH)),
        proptest::option::of(bytes_from(AUTH)),
        any::<bool>(),
        proptest::option::of(bytes_from(SFS)),
        proptest::option::of(bytes_from(HOSTS)),
    )
        .prop_map(|(method, origin, acrm, acrh, authorization, cookie, sec_fetch_site, host)| Req {
            method,
            origin,
            acrm,
            acrh,
            authorization,
            cookie,
            sec_fetch_site,
            host,
        })
}

fn config() -> CorsConfig {
    CorsConfig::builder().public_origin(PUBLIC).build().unwrap()
}

/// The oracle: trusted by a plain scan of the entries, not by the registry's indexes.
fn oracle_trusted(registry: &Registry, origin: &[u8]) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    registry
        .snapshot()
        .origins()
        .any(|e| e.grants(ScopeType::Cors) && e.origin.matches(origin))
}

fn one(value: &Option<Vec<u8>>) -> HeaderInput<'_> {
    value
        .as_deref()
        .map_or(HeaderInput::Absent, HeaderInput::One)
}

fn requests_authorization(acrh: &Option<Vec<u8>>) -> bool {
    acrh.as_deref().is_some_and(|v| {
        v.split(|b| *b == b',')
            .any(|item| item.trim_ascii().eq_ignore_ascii_case(b"authorization"))
    })
}

fn is_bearer_scheme(authorization: &Option<Vec<u8>>) -> bool {
    authorization.as_deref().is_some_and(|v| {
        let scheme = v
            .trim_ascii_start()
            .split(|b| *b == b' ' || *b == b'\t')
            .next()
            .unwrap_or(b"");
        scheme.eq_ignore_ascii_case(b"bearer") || scheme.eq_ignore_ascii_case(b"dpop")
    })
}

fn is_api_token(authorization: &Option<Vec<u8>>) -> bool {
    authorization.as_deref().is_some_and(|v| {
        v.trim_ascii_start()
            .split(|b| *b == b' ' || *b == b'\t')
            .next()
            .unwrap_or(b"")
            .eq_ignore_ascii_case(b"ssws")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decisions_keep_the_invariants(world in world(), req in req()) {
        let registry = world.registry();
        let policy = world.policy();
        let config = config();
        let facts = RequestFacts {
            method: &req.method,
            path: "/p",
            origin: HeaderInput::from_values(req.origin.iter().map(Vec::as_slice)),
            access_control_request_method: one(&req.acrm),
            access_control_request_headers: one(&req.acrh),
            authorization: one(&req.authorization),
            has_cookies: req.cookie,
            sec_fetch_site: one(&req.sec_fetch_site),
            host: one(&req.host),
        };
        for scope in [RouteScope::Unrouted, RouteScope::Undeclared, RouteScope::Declared(&policy)] {
            let decision = decide(&facts, &config, scope, &registry.snapshot());
            let single_origin = match req.origin.as_slice() { [one] => Some(one.as_slice()), _ => None };
            let (allow_origin, credentials) = match &decision {
                Decision::Preflight(a) => (Some(a.allow_origin), a.allow_credentials),
                Decision::Allow(h) => (Some(h.allow_origin), h.allow_credentials),
                _ => (None, false),
            };
            if let Some(allow_origin) = allow_origin {
                // Only a declared, CORS-enabled route grants anything, and only to the exact origin.
                prop_assert!(matches!(scope, RouteScope::Declared(p) if p.is_cors_enabled()));
                prop_assert_ne!(allow_origin, "*");
                prop_assert_ne!(allow_origin, "null");
                prop_assert_eq!(Some(allow_origin.as_bytes()), single_origin);
                let trusted = oracle_trusted(&registry, allow_origin.as_bytes());
                if credentials {
                    prop_assert!(trusted, "credentials for an untrusted origin");
                }
                if !trusted {
                    prop_assert!(world.bearer_any && !credentials);
                    match &decision {
                        Decision::Allow(_) => prop_assert!(is_bearer_scheme(&req.authorization) && !req.cookie),
                        _ => prop_assert!(requests_authorization(&req.acrh)),
                    }
                }
            }
            if let Decision::Preflight(answer) = &decision {
                if requests_authorization(&req.acrh) {
                    let allowed = String::from_utf8_lossy(answer.allow_headers.as_deref().unwrap_or_default()).into_owned();
                    prop_assert!(allowed.split(',').any(|h| h.trim().eq_ignore_ascii_case("authorization")));
                }
                prop_assert_ne!(answer.allow_headers.as_deref().map(<[u8]>::trim_ascii), Some(b"*".as_slice()));
            }
            let cross_origin = !matches!(decision, Decision::NotCors | Decision::SameOrigin);
            if cross_origin && is_api_token(&req.authorization) {
                prop_assert!(matches!(&decision, Decision::Reject(r) if r.kind() == RejectionKind::ApiTokenCrossOrigin));
            }
            if let Decision::Reject(rejection) = &decision {
                prop_assert!(!rejection.cause().is_empty());
                prop_assert!(rejection.origin().chars().all(|c| !c.is_control()));
            }
        }
    }
}

/// A cross-origin request as a browser would judge it: not same-origin by the three rules.
fn is_cross_origin(req: &Req, origin: &HeaderValue) -> bool {
    if let Some(site) = &req.sec_fetch_site {
        if HeaderValue::from_bytes(site).is_ok() {
            // `none`: a navigation the user started, which no other origin can make.
            return !matches!(site.as_slice(), b"same-origin" | b"none");
        }
    }
    let origin = origin.as_bytes();
    if origin == PUBLIC.as_bytes() {
        return false;
    }
    match (
        &req.host,
        std::str::from_utf8(origin)
            .ok()
            .and_then(|o| o.split_once("://")),
    ) {
        (Some(host), Some((scheme, authority)))
            if trusted_cors_core::RequestOrigin::parse(origin)
                != trusted_cors_core::RequestOrigin::Malformed =>
        {
            let default = if scheme == "https" { ":443" } else { ":80" };
            !(host.eq_ignore_ascii_case(authority.as_bytes())
                || (!authority.contains(':')
                    && host.eq_ignore_ascii_case(format!("{authority}{default}").as_bytes())))
        }
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn tower_responses_keep_the_invariants(world in world(), req in req()) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let registry = Arc::new(world.registry());
        let cors = Cors::new(config(), Arc::clone(&registry));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let handler = service_fn(move |_req: Request<Full<Bytes>>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                response.headers_mut().insert("vary", HeaderValue::from_static("Accept-Encoding"));
                Ok::<_, Infallible>(response)
            }
        });
        let app = cors.guard().layer(cors.route(world.policy()).layer(handler));

        let mut builder = Request::builder().method(req.method.as_str()).uri("/p");
        let header = |bytes: &Vec<u8>| HeaderValue::from_bytes(bytes).ok();
        let mut origin_values = Vec::new();
        for origin in &req.origin {
            if let Some(value) = header(origin) {
                origin_values.push(value.clone());
                builder = builder.header("origin", value);
            }
        }
        for (name, value) in [
            ("access-control-request-method", &req.acrm),
            ("access-control-request-headers", &req.acrh),
            ("authorization", &req.authorization),
            ("sec-fetch-site", &req.sec_fetch_site),
            ("host", &req.host),
        ] {
            if let Some(value) = value.as_ref().and_then(header) {
                builder = builder.header(name, value);
            }
        }
        if req.cookie {
            builder = builder.header("cookie", "sid=1");
        }
        let Ok(request) = builder.body(Full::new(Bytes::new())) else { return Ok(()) };
        let response = runtime.block_on(app.oneshot(request)).unwrap();
        let handled = calls.load(Ordering::SeqCst) > 0;
        let headers = response.headers();
        let acao = headers.get("access-control-allow-origin");
        let acac = headers.get("access-control-allow-credentials");
        let vary: Vec<_> = headers.get_all("vary").iter().map(|v| v.to_str().unwrap().to_owned()).collect();

        prop_assert_eq!(headers.get_all("access-control-allow-origin").iter().count() <= 1, true);
        if let Some(acao) = acao {
            prop_assert_ne!(acao.as_bytes(), b"*");
            prop_assert_eq!(origin_values.len(), 1);
            prop_assert_eq!(acao, &origin_values[0]);
            let trusted = oracle_trusted(&registry, acao.as_bytes());
            if acac.is_some() {
                prop_assert!(trusted);
            }
            if !trusted {
                prop_assert!(world.bearer_any && acac.is_none());
            }
        } else {
            prop_assert!(acac.is_none());
        }
        if handled {
            prop_assert_eq!(vary.first().map(String::as_str), Some("Accept-Encoding"), "the application's Vary survives");
        }
        if world.declared || acao.is_some() {
            prop_assert!(vary.iter().any(|v| v.starts_with("Origin")), "declared route without Vary: Origin");
        }
        if let [origin] = origin_values.as_slice() {
            if is_cross_origin(&req, origin) && is_api_token(&req.authorization) {
                prop_assert!(!handled, "an API token from another origin reached the handler");
                prop_assert_eq!(response.status(), 403);
            }
        }
        if response.status() == 204 && acao.is_some() {
            prop_assert!(!handled, "the handler ran for a preflight");
        }
        if let Some(rejection) = response.extensions().get::<trusted_cors_core::Rejection>() {
            prop_assert_eq!(response.status(), 403);
            prop_assert!(vary.iter().any(|v| v.starts_with("Origin")));
            // Only a preflight to an undeclared route is refused after the application answered.
            if rejection.kind() != RejectionKind::RouteNotCorsEnabled || world.declared {
                prop_assert!(!handled, "the handler ran for a rejection: {}", rejection);
            }
        }
    }
}
