//! What the property tests share: random worlds (registry, config, route policy), adversarial
//! requests, an independent model of which origins are trusted, the Tower stack around a
//! counting handler, and the browser's CORS checks ([`fetch_cors_check`]).
#![allow(dead_code, unreachable_pub)]

pub mod fetch_cors_check;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use tower::{service_fn, Layer, Service, ServiceExt};
use trusted_cors_core::{
    Cors, CorsConfig, CorsConfigBuilder, HeaderInput, NewTrustedOrigin, Registry, Rejection,
    RejectionKind, RequestFacts, RouteCors, RuleMode, ScopeType, Status,
};

/// 10 000 cases per property unless `PROPTEST_CASES` asks for another number; failures are
/// kept in `proptest-regressions/<file>.txt` (committed) and replayed first.
pub fn proptest_config(file: &'static str) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The world: registry entries, the global config, the route.

/// A configured pattern and what it means, written out by hand (the oracle does not ask the
/// library how it normalises or matches).
#[derive(Debug, Clone, Copy)]
pub enum Canon {
    Exact(&'static str),
    Wild {
        scheme: &'static str,
        base: &'static str,
        port: &'static str,
    },
}

/// The patterns administrators type (some not in canonical form) and their canonical meaning.
pub const PATTERNS: [(&str, Canon); 14] = [
    ("https://a.example", Canon::Exact("https://a.example")),
    ("https://b.example", Canon::Exact("https://b.example")),
    (
        "http://localhost:3000",
        Canon::Exact("http://localhost:3000"),
    ),
    (
        "https://*.w.example",
        Canon::Wild {
            scheme: "https",
            base: "w.example",
            port: "",
        },
    ),
    (
        "https://c.example:8443",
        Canon::Exact("https://c.example:8443"),
    ),
    (
        "https://*.p.example:8443",
        Canon::Wild {
            scheme: "https",
            base: "p.example",
            port: ":8443",
        },
    ),
    // Refused with the CORS scope (a plain-http wildcard); fine with the others.
    (
        "http://*.h.example",
        Canon::Wild {
            scheme: "http",
            base: "h.example",
            port: "",
        },
    ),
    ("HTTPS://D.Example:443/", Canon::Exact("https://d.example")),
    (
        "https://bücher.example",
        Canon::Exact("https://xn--bcher-kva.example"),
    ),
    ("http://[::1]:8080", Canon::Exact("http://[::1]:8080")),
    (
        "https://*.a.example",
        Canon::Wild {
            scheme: "https",
            base: "a.example",
            port: "",
        },
    ),
    // App and extension origins: exact, and only of the config's origin schemes.
    (
        "Capacitor://LocalHost/",
        Canon::Exact("capacitor://localhost"),
    ),
    (
        "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
        Canon::Exact("chrome-extension://abcdefghijklmnopabcdefghijklmnop"),
    ),
    // Refused always: a wildcard over an app scheme.
    (
        "capacitor://*.localhost",
        Canon::Wild {
            scheme: "capacitor",
            base: "localhost",
            port: "",
        },
    ),
];

impl Canon {
    fn key(&self) -> String {
        match self {
            Canon::Exact(origin) => (*origin).to_owned(),
            Canon::Wild { scheme, base, port } => format!("{scheme}://*.{base}{port}"),
        }
    }

    /// Whether a request's `Origin` bytes match, by the rules of ARCHITECTURE.md: exact origins
    /// byte for byte; a wildcard for one or more whole non-empty labels left of its base, same
    /// scheme and port, in the serialized (lowercase) form browsers send.
    pub fn matches(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        match self {
            Canon::Exact(exact) => origin == *exact,
            Canon::Wild { scheme, base, port } => {
                let Some(rest) = origin
                    .strip_prefix(*scheme)
                    .and_then(|r| r.strip_prefix("://"))
                else {
                    return false;
                };
                let Some(host) = rest.strip_suffix(*port) else {
                    return false;
                };
                let Some(front) = host.strip_suffix(*base).and_then(|f| f.strip_suffix('.')) else {
                    return false;
                };
                !front.is_empty()
                    && front.split('.').all(|label| {
                        !label.is_empty()
                            && label.bytes().all(|b| {
                                b.is_ascii_lowercase()
                                    || b.is_ascii_digit()
                                    || b == b'-'
                                    || b == b'_'
                            })
                    })
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub pattern: usize,
    /// Bit 0 CORS, bit 1 REDIRECT, bit 2 IFRAME_EMBED.
    pub scopes: u8,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// No route layer at all: the guard alone (a route that declared nothing).
    Undeclared,
    /// `RouteCors::server_side_only()`.
    ServerSideOnly,
    /// A CORS-enabled policy.
    Cors,
}

#[derive(Debug, Clone)]
pub struct PolicySpec {
    pub credentials: bool,
    pub bearer_any: bool,
    /// Open to every origin, without credentials.
    pub any_origin: bool,
    pub methods: Vec<&'static str>,
    pub headers: Vec<&'static str>,
    pub any_header: bool,
    pub max_age: u64,
    pub expose: Vec<&'static str>,
}

pub const POLICY_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "purge", "X-SYNC",
];
pub const POLICY_HEADERS: [&str; 7] = [
    "content-type",
    "authorization",
    "x-custom",
    "accept",
    "dpop",
    "X-Upper",
    "*",
];
pub const EXPOSE: [&str; 4] = ["x-request-id", "content-length", "X-Total", "*"];
pub const MAX_AGES: [u64; 5] = [0, 5, 600, 7200, 86_400];

pub const PUBLIC: &str = "https://public.example";
pub const FORM_POST: &str = "/sso/saml2/{app}";

/// The credential schemes of each config variant (lowercase), as the oracle knows them.
pub const SCHEMES: [&[&str]; 3] = [
    &["bearer", "dpop"],
    &["bearer"],
    &["bearer", "dpop", "token"],
];

/// The origin schemes of each config variant besides http and https, as the oracle knows them.
pub const ORIGIN_SCHEMES: [&[&str]; 3] = [
    &["capacitor", "ionic"],
    &[],
    &["capacitor", "chrome-extension"],
];

#[derive(Debug, Clone)]
pub struct World {
    pub entries: Vec<Entry>,
    pub config: usize,
    pub diagnostics: bool,
    pub route: RouteKind,
    pub policy: PolicySpec,
    /// The application sets `Access-Control-Allow-Origin: *` and `-Credentials: true` itself.
    pub app_sets_cors: bool,
}

impl World {
    /// The registry, and for each entry whether the registry took it.
    pub fn registry(&self) -> (Registry, Vec<bool>) {
        let registry = Registry::new();
        // As `Cors::new` does.
        registry.set_origin_schemes(self.config().origin_schemes().clone());
        let accepted = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let scopes = [ScopeType::Cors, ScopeType::Redirect, ScopeType::IframeEmbed]
                    .into_iter()
                    .enumerate()
                    .filter(|(bit, _)| entry.scopes & (1 << bit) != 0)
                    .map(|(_, s)| s);
                let status = if entry.active {
                    Status::Active
                } else {
                    Status::Inactive
                };
                let new = NewTrustedOrigin::new(format!("e{i}"), PATTERNS[entry.pattern].0, scopes)
                    .with_status(status);
                registry.create(new).is_ok()
            })
            .collect();
        (registry, accepted)
    }

    /// Which entries the registry must take: at least one scope, no plain-http wildcard with
    /// the CORS scope, no wildcard over another scheme than http(s), only schemes the config
    /// allows, no second entry for the same canonical origin.
    pub fn expected_accepted(&self) -> Vec<bool> {
        let mut seen = Vec::new();
        self.entries
            .iter()
            .map(|entry| {
                let canon = PATTERNS[entry.pattern].1;
                let http_wild = matches!(canon, Canon::Wild { scheme: "http", .. });
                let (scheme, wild) = match canon {
                    Canon::Exact(origin) => (origin.split_once("://").map_or("", |s| s.0), false),
                    Canon::Wild { scheme, .. } => (scheme, true),
                };
                let web = scheme == "http" || scheme == "https";
                let scheme_ok = web || (!wild && ORIGIN_SCHEMES[self.config].contains(&scheme));
                let ok = entry.scopes != 0
                    && scheme_ok
                    && !(http_wild && entry.scopes & 1 != 0)
                    && !seen.contains(&canon.key());
                if ok {
                    seen.push(canon.key());
                }
                ok
            })
            .collect()
    }

    /// The oracle: whether `origin` is an ACTIVE trusted origin with the CORS scope, by a plain
    /// scan of the entries the registry took.
    pub fn trusted(&self, accepted: &[bool], origin: &[u8]) -> bool {
        self.entries.iter().zip(accepted).any(|(entry, ok)| {
            *ok && entry.active
                && entry.scopes & 1 != 0
                && PATTERNS[entry.pattern].1.matches(origin)
        })
    }

    /// The global config (built once per variant and thread: it is the same for every case).
    pub fn config(&self) -> CorsConfig {
        thread_local! {
            static CONFIGS: std::cell::RefCell<Vec<Option<CorsConfig>>> =
                std::cell::RefCell::new(vec![None; 2 * SCHEMES.len()]);
        }
        let slot = self.config * 2 + usize::from(self.diagnostics);
        CONFIGS.with(|configs| {
            configs.borrow_mut()[slot]
                .get_or_insert_with(|| self.build_config())
                .clone()
        })
    }

    /// The world's config with the rules `report` picks in report mode.
    pub fn config_reporting(&self, report: impl Fn(RejectionKind) -> bool) -> CorsConfig {
        let mut builder = self.builder();
        for kind in RejectionKind::ALL {
            if report(kind) {
                builder = builder.rule(kind, RuleMode::Report);
            }
        }
        builder.build().expect("valid config")
    }

    fn build_config(&self) -> CorsConfig {
        self.builder().build().expect("valid config")
    }

    fn builder(&self) -> CorsConfigBuilder {
        let builder = CorsConfig::builder()
            .public_origin(PUBLIC)
            .allow_cross_site_form_posts(FORM_POST)
            .diagnostics_header(self.diagnostics);
        let builder = match self.config {
            0 => builder,
            1 => builder.credential_schemes(["Bearer"]),
            _ => builder.credential_schemes(["Bearer", "DPoP", "Token"]),
        };
        builder.origin_schemes(ORIGIN_SCHEMES[self.config])
    }

    pub fn schemes(&self) -> &'static [&'static str] {
        SCHEMES[self.config]
    }

    /// The route's policy; `None` when the builder refuses the combination (the case is then
    /// skipped: the library is free to refuse more combinations than it does today).
    pub fn policy(&self) -> Option<RouteCors> {
        match self.route {
            RouteKind::Undeclared | RouteKind::ServerSideOnly => {
                Some(RouteCors::server_side_only())
            }
            RouteKind::Cors => {
                let p = &self.policy;
                let mut builder = RouteCors::builder()
                    .credentials(p.credentials)
                    .allow_methods(&p.methods)
                    .allow_headers(&p.headers)
                    .expose_headers(&p.expose)
                    .max_age(Duration::from_secs(p.max_age));
                if p.any_header {
                    builder = builder.allow_any_header();
                }
                if p.bearer_any {
                    builder = builder.bearer_from_any_origin();
                }
                if p.any_origin {
                    builder = builder.any_origin();
                }
                builder.build().ok()
            }
        }
    }

    pub fn cors_enabled(&self) -> bool {
        self.route == RouteKind::Cors
    }
}

fn entry() -> impl Strategy<Value = Entry> {
    let scopes = prop_oneof![3 => Just(1u8), 1 => 0u8..8];
    (0..PATTERNS.len(), scopes, prop::bool::weighted(0.8)).prop_map(|(pattern, scopes, active)| {
        Entry {
            pattern,
            scopes,
            active,
        }
    })
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    (
        any::<bool>(),
        prop::bool::weighted(0.4),
        prop::sample::subsequence(POLICY_METHODS.to_vec(), 1..5),
        prop::sample::subsequence(POLICY_HEADERS.to_vec(), 0..4),
        prop::bool::weighted(0.2),
        prop::sample::select(MAX_AGES.to_vec()),
        prop::sample::subsequence(EXPOSE.to_vec(), 0..3),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(
                credentials,
                bearer_any,
                methods,
                headers,
                any_header,
                max_age,
                mut expose,
                any_origin,
            )| {
                let credentials = credentials && !any_origin;
                if credentials {
                    expose.retain(|e| *e != "*");
                }
                PolicySpec {
                    credentials,
                    bearer_any,
                    any_origin,
                    methods,
                    headers,
                    any_header,
                    max_age,
                    expose,
                }
            },
        )
}

pub fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(entry(), 0..6),
        0..SCHEMES.len(),
        any::<bool>(),
        prop_oneof![
            1 => Just(RouteKind::Undeclared),
            1 => Just(RouteKind::ServerSideOnly),
            4 => Just(RouteKind::Cors),
        ],
        policy_spec(),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(entries, config, diagnostics, route, policy, app_sets_cors)| World {
                entries,
                config,
                diagnostics,
                route,
                policy,
                app_sets_cors,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Requests with adversarial headers.

/// Each header's values, in order: usually one, sometimes none or several.
#[derive(Debug, Clone, Default)]
pub struct Req {
    pub method: String,
    pub path: &'static str,
    pub origin: Vec<Vec<u8>>,
    pub acrm: Vec<Vec<u8>>,
    pub acrh: Vec<Vec<u8>>,
    pub authorization: Vec<Vec<u8>>,
    pub cookie: Vec<Vec<u8>>,
    pub sec_fetch_site: Vec<Vec<u8>>,
    pub host: Vec<Vec<u8>>,
}

pub const METHODS: [&str; 11] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "post", "X-SYNC", "CONNECT",
];

/// Origins some pattern can match (exactly or under a wildcard), and this service's own.
const MATCHING: &[&str] = &[
    "https://a.example",
    "https://b.example",
    "http://localhost:3000",
    "https://c.example:8443",
    "https://d.example",
    "https://xn--bcher-kva.example",
    "http://[::1]:8080",
    "https://x.w.example",
    "https://x.y.w.example",
    "https://x.p.example:8443",
    "http://x.h.example",
    "https://x.a.example",
    "https://public.example",
    "https://evil.example",
    "capacitor://localhost",
    "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
    "ionic://localhost",
    "capacitor://x.localhost",
];

/// Look-alikes and non-canonical forms: never trusted.
const LOOKALIKES: &[&str] = &[
    "https://w.example",
    "https://.w.example",
    "https://x..w.example",
    "https://xw.example",
    "https://x.w.example.",
    "https://x.w.example.evil",
    "https://X.w.example",
    "http://x.w.example",
    "https://x.w.example:443",
    "https://x.w.example:8443",
    "https://x.p.example",
    "https://A.example",
    "HTTPS://a.example",
    "https://a.example/",
    "https://a.example:443",
    "https://user@a.example",
    "https://a.example.evil",
    "https://evila.example",
    "http://a.example",
    "https://c.example",
    "https://c.example:08443",
    "https://bücher.example",
    "http://[::1]:80",
    "http://[::1]",
    "http://localhost:3000/",
    "null",
    "Null",
    "file://",
    "*",
    "Capacitor://localhost",
    "capacitor://localhost/",
    "capacitor://LOCALHOST",
    "capacitor://localhost:443",
    "chrome-extension://ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP",
    " https://a.example",
    "https://a.example ",
    "",
];

const BEARERS: &[&str] = &[
    "Bearer t", "bearer t", "BEARER t", "DPoP t", "dpop t", "Token t",
];

const AUTHORIZATIONS: &[&str] = &[
    "SSWS 00t",
    "ssws 00t",
    "SsWs\t00t",
    " SSWS 00t",
    "\tSSWS 00t",
    "SSWS",
    "Basic eDp5",
    "basic eDp5",
    "Digest x",
    "Negotiate x",
    "NTLM x",
    "Bearer",
    "Bearer,SSWS t",
    "Bearer\tt",
    "",
    " ",
];

const ACRHS: &[&str] = &[
    "content-type",
    "authorization",
    "Authorization",
    "authorization,content-type",
    "content-type, authorization",
    "x-custom, accept",
    "dpop,authorization",
    "x-upper",
    "x-other",
    "*",
    " , ,content-type,, ",
    "",
    "x custom",
    "x-custom;",
    "é",
];

const SEC_FETCH_SITES: &[&str] = &[
    "same-origin",
    "same-site",
    "cross-site",
    "none",
    "Same-Origin",
    "same-origin ",
    "",
];

const HOSTS: &[&str] = &[
    "public.example",
    "a.example",
    "A.EXAMPLE",
    "a.example:443",
    "x.w.example",
    "localhost:3000",
    "c.example:8443",
    "[::1]:8080",
    "evil.example",
    "",
];

fn pool(items: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop::sample::select(items)
        .prop_map(|s| s.as_bytes().to_vec())
        .boxed()
}

fn arbitrary_bytes() -> BoxedStrategy<Vec<u8>> {
    // One seed expanded by xorshift: far cheaper to generate than a vector of byte strategies,
    // and it still shrinks (towards shorter values).
    (any::<u64>(), 0usize..40, any::<bool>())
        .prop_map(|(seed, len, printable)| {
            let mut state = seed | 1;
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let byte = (state >> 24) as u8;
                    if printable {
                        0x20 + byte % 0x5f
                    } else {
                        byte
                    }
                })
                .collect()
        })
        .boxed()
}

/// A very long value: a pool item repeated past every limit.
fn long(items: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    (prop::sample::select(items), 200usize..1200)
        .prop_map(|(s, n)| s.repeat(n.max(1)).into_bytes())
        .boxed()
}

/// Hosts under the wildcard bases, with every kind of label.
fn wildcard_origin() -> BoxedStrategy<Vec<u8>> {
    const LABELS: &[&str] = &["x", "a-b", "_", "", "Q", "0", "xn--p1ai", "w"];
    (
        prop::sample::select(vec!["https://", "https://", "http://", "HTTPS://"]),
        prop::collection::vec(prop::sample::select(LABELS), 1..4),
        prop::sample::select(vec![".w.example", ".p.example", ".a.example", ".h.example"]),
        prop::sample::select(vec!["", "", ":8443", ":443", ":80", ":0"]),
    )
        .prop_map(|(scheme, labels, base, port)| {
            format!("{scheme}{}{base}{port}", labels.join(".")).into_bytes()
        })
        .boxed()
}

fn origin_value() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => own(OWN_ORIGIN),
        6 => pool(MATCHING),
        4 => wildcard_origin(),
        4 => pool(LOOKALIKES),
        1 => arbitrary_bytes(),
        1 => long(&["https://a", "a.", "x"]),
    ]
    .boxed()
}

fn acrh_value() -> BoxedStrategy<Vec<u8>> {
    const NAMES: &[&str] = &[
        "content-type",
        "authorization",
        "AUTHORIZATION",
        "x-custom",
        "accept",
        "dpop",
        "x-upper",
        "x-other",
        "*",
    ];
    const SEPARATORS: &[&str] = &[",", ", ", " ,\t", ",,"];
    prop_oneof![
        6 => pool(ACRHS),
        4 => (prop::collection::vec(prop::sample::select(NAMES), 1..5), prop::sample::select(SEPARATORS))
            .prop_map(|(names, sep)| names.join(sep).into_bytes()),
        // Comma bombs and lists around the limits (64 names, 4096 bytes).
        1 => (0usize..6000, prop::sample::select(vec![",", ", ", " ,\t"]))
            .prop_map(|(n, s)| s.repeat(n).into_bytes()),
        1 => (60usize..70, prop::sample::select(vec!["x-a", "content-type", ""]))
            .prop_map(|(n, s)| vec![s; n].join(",").into_bytes()),
        1 => (4080usize..4110).prop_map(|n| {
            let mut v = b"x-custom,".to_vec();
            v.resize(n, b'a');
            v
        }),
        1 => arbitrary_bytes(),
        1 => long(ACRHS),
    ]
    .boxed()
}

/// Values of one header: none, one (most often), or several.
fn values(value: BoxedStrategy<Vec<u8>>, absent: u32) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        absent => Just(Vec::new()),
        12 => value.clone().prop_map(|v| vec![v]),
        1 => prop::collection::vec(value, 2..4),
    ]
    .boxed()
}

/// A world and a request to it, whose `Origin` is often one the world's entries match and
/// whose preflight headers often ask for the route's own methods and headers.
pub fn case() -> impl Strategy<Value = (World, Req)> {
    (world(), req()).prop_map(|(world, mut req)| {
        req.resolve(&world);
        (world, req)
    })
}

/// Stand-ins the request strategy leaves for [`Req::resolve`] to fill from the world (cheaper
/// than a strategy built per world).
const OWN_ORIGIN: u8 = 0xf1;
const OWN_METHOD: u8 = 0xf2;
const OWN_HEADERS: u8 = 0xf3;

fn own(tag: u8) -> BoxedStrategy<Vec<u8>> {
    any::<u16>()
        .prop_map(move |n| vec![0xff, tag, (n >> 8) as u8, n as u8])
        .boxed()
}

impl Req {
    fn resolve(&mut self, world: &World) {
        let stand_in = |value: &[u8], tag: u8| match value {
            [0xff, t, hi, lo] if *t == tag => Some(usize::from(*hi) << 8 | usize::from(*lo)),
            _ => None,
        };
        for value in &mut self.origin {
            if let Some(n) = stand_in(value, OWN_ORIGIN) {
                *value = match world.entries.get(n % world.entries.len().max(1)) {
                    Some(entry) => match PATTERNS[entry.pattern].1 {
                        Canon::Exact(origin) => origin.as_bytes().to_vec(),
                        Canon::Wild { scheme, base, port } => {
                            format!("{scheme}://x.{base}{port}").into_bytes()
                        }
                    },
                    None => MATCHING[n % MATCHING.len()].as_bytes().to_vec(),
                };
            }
        }
        let methods = &world.policy.methods;
        for value in &mut self.acrm {
            if let Some(n) = stand_in(value, OWN_METHOD) {
                *value = methods[n % methods.len()].as_bytes().to_vec();
            }
        }
        let headers = &world.policy.headers;
        for value in &mut self.acrh {
            if let Some(mask) = stand_in(value, OWN_HEADERS) {
                let names: Vec<String> = headers
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, h)| h.to_ascii_lowercase())
                    .collect();
                *value = names.join(",").into_bytes();
            }
        }
    }
}

/// A request with adversarial headers.
pub fn req() -> impl Strategy<Value = Req> {
    let method = prop_oneof![
        4 => Just("OPTIONS".to_owned()),
        6 => prop::sample::select(METHODS.to_vec()).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["options", "M-SEARCH", "*", "~x!", "GETS"]).prop_map(str::to_owned),
    ];
    let acrm = prop_oneof![
        6 => own(OWN_METHOD),
        6 => prop::sample::select(METHODS.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
        1 => pool(&["*", "PUT ", "", "GET,PUT"]),
        1 => arbitrary_bytes(),
    ];
    let cookie = prop_oneof![3 => pool(&["sid=1", "sid=1; csrf=2"]), 1 => arbitrary_bytes()];
    let authorization = prop_oneof![
        4 => pool(BEARERS),
        4 => pool(AUTHORIZATIONS),
        1 => arbitrary_bytes(),
        1 => long(&["Bearer ", "SSWS "]),
    ];
    let sfs = prop_oneof![4 => pool(SEC_FETCH_SITES), 1 => arbitrary_bytes()];
    let host = prop_oneof![4 => pool(HOSTS), 1 => arbitrary_bytes(), 1 => long(&["a."])];
    (
        (
            method,
            prop::sample::select(vec!["/p", "/sso/saml2/0oa1", "/sso/saml2"]),
            values(origin_value(), 1),
            values(acrm.boxed(), 4),
        ),
        (
            values(
                prop_oneof![2 => own(OWN_HEADERS), 3 => acrh_value()].boxed(),
                12,
            ),
            values(authorization.boxed(), 14),
            values(cookie.boxed(), 10),
            values(sfs.boxed(), 8),
            values(host.boxed(), 2),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (method, path, origin, acrm),
                (acrh, mut authorization, mut cookie, mut sec_fetch_site, host, shaped),
            )| {
                // Half the preflights are shaped as browsers send them: no credentials, no
                // `Sec-Fetch-Site` other than `cross-site`.
                if shaped && method == "OPTIONS" {
                    authorization.clear();
                    cookie.clear();
                    sec_fetch_site.retain(|v| v == b"cross-site");
                }
                Req {
                    method,
                    path,
                    origin,
                    acrm,
                    acrh,
                    authorization,
                    cookie,
                    sec_fetch_site,
                    host,
                }
            },
        )
}

fn input(values: &[Vec<u8>]) -> HeaderInput<'_> {
    HeaderInput::from_values(values.iter().map(Vec::as_slice))
}

impl Req {
    /// The facts the decision reads, built field by field from the raw bytes.
    pub fn facts(&self) -> RequestFacts<'_> {
        RequestFacts {
            method: &self.method,
            path: self.path,
            origin: input(&self.origin),
            access_control_request_method: input(&self.acrm),
            access_control_request_headers: input(&self.acrh),
            authorization: input(&self.authorization),
            has_cookies: !self.cookie.is_empty(),
            sec_fetch_site: input(&self.sec_fetch_site),
            host: input(&self.host),
        }
    }

    /// The request the Tower stack gets: the values `http` can carry (others are dropped, as no
    /// client could send them); `None` when the method itself is not one.
    pub fn to_http(&self) -> Option<(Request<Full<Bytes>>, Req)> {
        let keep = |values: &[Vec<u8>]| -> Vec<Vec<u8>> {
            values
                .iter()
                .filter(|v| HeaderValue::from_bytes(v).is_ok())
                .cloned()
                .collect()
        };
        let sent = Req {
            method: self.method.clone(),
            path: self.path,
            origin: keep(&self.origin),
            acrm: keep(&self.acrm),
            acrh: keep(&self.acrh),
            authorization: keep(&self.authorization),
            cookie: keep(&self.cookie),
            sec_fetch_site: keep(&self.sec_fetch_site),
            host: keep(&self.host),
        };
        let mut builder = Request::builder()
            .method(self.method.as_str())
            .uri(self.path);
        for (name, values) in [
            ("origin", &sent.origin),
            ("access-control-request-method", &sent.acrm),
            ("access-control-request-headers", &sent.acrh),
            ("authorization", &sent.authorization),
            ("cookie", &sent.cookie),
            ("sec-fetch-site", &sent.sec_fetch_site),
            ("host", &sent.host),
        ] {
            for value in values {
                builder = builder.header(name, HeaderValue::from_bytes(value).ok()?);
            }
        }
        let request = builder.body(Full::new(Bytes::new())).ok()?;
        Some((request, sent))
    }

    /// The single `Origin`, if there is exactly one.
    pub fn single_origin(&self) -> Option<&[u8]> {
        match self.origin.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn is_safe_method(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }

    /// The `Authorization` scheme, read independently: the bytes before the first SP or HTAB,
    /// after leading whitespace.
    pub fn auth_scheme(&self) -> Option<&[u8]> {
        let [value] = self.authorization.as_slice() else {
            return None;
        };
        let value = value.trim_ascii_start();
        let end = value
            .iter()
            .position(|b| *b == b' ' || *b == b'\t')
            .unwrap_or(value.len());
        Some(&value[..end])
    }

    /// Whether `Authorization` is one allowed bearer-type credential.
    pub fn has_allowed_bearer(&self, schemes: &[&str]) -> bool {
        self.auth_scheme()
            .is_some_and(|s| schemes.iter().any(|a| s.eq_ignore_ascii_case(a.as_bytes())))
    }

    /// Whether `Authorization` is present and not one allowed bearer-type credential.
    pub fn has_foreign_credential(&self, schemes: &[&str]) -> bool {
        !self.authorization.is_empty() && !self.has_allowed_bearer(schemes)
    }

    pub fn is_api_token(&self) -> bool {
        self.auth_scheme()
            .is_some_and(|s| s.eq_ignore_ascii_case(b"ssws"))
    }

    /// The items of `Access-Control-Request-Headers` as a browser lists them.
    pub fn requested_headers(&self) -> Vec<&[u8]> {
        let [value] = self.acrh.as_slice() else {
            return Vec::new();
        };
        value
            .split(|b| *b == b',')
            .map(|item| item.trim_ascii())
            .filter(|item| !item.is_empty())
            .collect()
    }

    pub fn requests_authorization(&self) -> bool {
        self.requested_headers()
            .iter()
            .any(|h| h.eq_ignore_ascii_case(b"authorization"))
    }

    /// The single `Access-Control-Request-Method`, when the request is shaped like a preflight.
    pub fn preflight_method(&self) -> Option<&[u8]> {
        match (self.method.as_str(), self.acrm.as_slice()) {
            ("OPTIONS", [method]) => Some(method),
            _ => None,
        }
    }

    pub fn sec_fetch_site(&self) -> Option<&[u8]> {
        match self.sec_fetch_site.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn is_form_post_path(&self) -> bool {
        self.path.starts_with("/sso/saml2/")
    }
}

// ---------------------------------------------------------------------------------------------
// The Tower stack.

/// What came back from the Tower stack.
#[derive(Debug)]
pub struct Observed {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub rejection: Option<Rejection>,
    /// How many times the handler ran.
    pub handled: usize,
}

impl Observed {
    pub fn all(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .get_all(name)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect()
    }

    pub fn one(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name).map(HeaderValue::as_bytes)
    }

    /// The `Vary` items, in order.
    pub fn vary(&self) -> Vec<String> {
        self.all("vary")
            .iter()
            .flat_map(|v| v.split(|b| *b == b','))
            .map(|item| String::from_utf8_lossy(item.trim_ascii()).to_ascii_lowercase())
            .collect()
    }
}

/// Runs a future that never waits (the whole stack answers synchronously).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..16 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("the stack waited on something")
}

type Body = Full<Bytes>;

fn call<S>(service: S, request: Request<Body>) -> Response<Body>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    block_on(service.oneshot(request)).unwrap_or_else(|never| match never {})
}

/// `cors.guard()` around (for a declared route) `cors.route(policy)` around a handler that
/// counts its calls and sets `Vary: Accept-Encoding` (and, if the world says so, CORS headers
/// of its own).
pub fn run_tower(
    world: &World,
    cors: &Cors,
    policy: &RouteCors,
    request: Request<Body>,
) -> Observed {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let app_sets_cors = world.app_sets_cors;
    let handler = service_fn(move |_request: Request<Body>| {
        counter.fetch_add(1, Ordering::SeqCst);
        let mut response = Response::new(Full::new(Bytes::from_static(b"handled")));
        let headers = response.headers_mut();
        headers.insert("vary", HeaderValue::from_static("Accept-Encoding"));
        if app_sets_cors {
            headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            headers.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
        }
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let response = match world.route {
        RouteKind::Undeclared => call(cors.guard().layer(handler), request),
        RouteKind::ServerSideOnly | RouteKind::Cors => call(
            cors.guard()
                .layer(cors.route(policy.clone()).layer(handler)),
            request,
        ),
    };
    let (parts, body) = response.into_parts();
    let body = block_on(body.collect())
        .unwrap_or_else(|never| match never {})
        .to_bytes();
    Observed {
        status: parts.status.as_u16(),
        rejection: parts.extensions.get::<Rejection>().cloned(),
        headers: parts.headers,
        body,
        handled: calls.load(Ordering::SeqCst),
    }
}
