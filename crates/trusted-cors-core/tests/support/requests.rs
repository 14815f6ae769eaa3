//! Requests with adversarial headers.

use super::*;

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
    pub upgrade: Vec<Vec<u8>>,
    pub connection: Vec<Vec<u8>>,
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

/// `Upgrade` values: WebSocket in odd spellings and lists, and other protocols.
const UPGRADES: &[&str] = &[
    "websocket",
    "WebSocket",
    "h2c, websocket",
    " websocket\t",
    "websockets",
    "h2c",
    "TLS/1.2",
    "",
];

/// `Connection` values: `upgrade` among other tokens (Firefox's `keep-alive, Upgrade`) or
/// missing.
const CONNECTIONS: &[&str] = &[
    "Upgrade",
    "upgrade",
    "keep-alive, Upgrade",
    "keep-alive,\tupgrade ",
    "close",
    "keep-alive",
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
        (
            values(
                prop_oneof![4 => pool(UPGRADES), 1 => arbitrary_bytes()].boxed(),
                8,
            ),
            values(
                prop_oneof![4 => pool(CONNECTIONS), 1 => arbitrary_bytes()].boxed(),
                6,
            ),
        ),
    )
        .prop_map(
            |(
                (method, path, origin, acrm),
                (acrh, mut authorization, mut cookie, mut sec_fetch_site, host, shaped),
                (upgrade, connection),
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
                    upgrade,
                    connection,
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
            websocket: RequestFacts::is_websocket_handshake(
                &self.method,
                input(&self.upgrade),
                input(&self.connection),
            ),
        }
    }

    /// Whether the request is a WebSocket handshake, read independently of the core: a `GET`
    /// whose `Upgrade` and `Connection` (any of their values) contain `websocket` and
    /// `upgrade` in any case, or a `CONNECT`.
    pub fn is_handshake(&self) -> bool {
        // Several values count as naming it, as the core documents.
        let names = |values: &[Vec<u8>], token: &str| {
            values.len() > 1
                || values.iter().any(|value| {
                    String::from_utf8_lossy(value)
                        .to_ascii_lowercase()
                        .contains(token)
                })
        };
        match self.method.as_str() {
            "GET" => names(&self.upgrade, "websocket") && names(&self.connection, "upgrade"),
            "CONNECT" => true,
            _ => false,
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
            upgrade: keep(&self.upgrade),
            connection: keep(&self.connection),
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
            ("upgrade", &sent.upgrade),
            ("connection", &sent.connection),
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
