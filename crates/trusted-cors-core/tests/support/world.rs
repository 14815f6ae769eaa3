//! The world: registry entries, the global config, the route.

use super::*;

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
    /// Accepts WebSocket handshakes from any origin.
    pub socket: bool,
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
                if p.socket {
                    builder = builder.websocket_from_any_origin();
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
        (prop::bool::weighted(0.15), prop::bool::weighted(0.25)),
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
                (any_origin, socket),
            )| {
                let credentials = credentials && !any_origin;
                if credentials {
                    expose.retain(|e| *e != "*");
                }
                PolicySpec {
                    credentials,
                    bearer_any,
                    any_origin,
                    socket,
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
