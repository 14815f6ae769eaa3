//! The hostile-input catalogue (issue 11, item 4): one table of named requests, each with its
//! expected outcome, sent as exact bytes over loopback to BOTH example servers (`org-server` on
//! axum, `org-server-actix`), which must agree with the table and with each other.
//!
//! Every expectation comes from the documented rules: the decision table in ARCHITECTURE.md, the
//! `decision` module docs of `trusted-cors-core` (stage 1: classification, `Sec-Fetch-Site`,
//! the `Host` fallback; stage 2: the global rules; stage 3: the route) and the reason codes in
//! README.md. The example org's only trusted origin is `http://localhost:8081` (CORS, REDIRECT).
//!
//! For each case the test records:
//! - the status, `Access-Control-Allow-Origin` and `Access-Control-Allow-Credentials` (exact
//!   values, at most one of each), and `X-Trusted-Cors-Reason` (the example config turns the
//!   diagnostics header on);
//! - whether an application handler acted: the org logs `handler ran` when a handler of
//!   `/api/v1/users/me`, `/api/v1/users/{id}` or `/api/v1/users` served a caller. A sentinel
//!   request before and after the case brackets the case's log lines, so no sleep is needed;
//! - what changed server-side: the signed-in user's profile (read with the session cookie and no
//!   `Origin`, which also proves the session is still alive) and the list of trusted origins
//!   (read with the API token and no `Origin`). Every refused write must leave both as they were.
//!
//! Requests go over raw TCP because HTTP clients normalize or refuse what is needed here:
//! several `Origin` headers, non-UTF-8 and control bytes, lowercase methods, an odd `Host`.

mod common;

use std::fmt;
use std::time::{Duration, Instant};

use common::raw::{exchange, RawResponse};
use common::Proc;

const SERVERS: [&str; 2] = [
    env!("CARGO_BIN_EXE_org-server"),
    env!("CARGO_BIN_EXE_org-server-actix"),
];

/// The example org's trusted origin (CORS, REDIRECT).
const T: &str = "http://localhost:8081";
/// An origin that is not trusted.
const E: &str = "https://evil.example";
const API_TOKEN: &str = "00example-api-token";
const ADA_TOKEN: &str = "at-ada-example";
/// What a profile write sends; `{CASE}` becomes the case's name, so a change is attributable.
const PROFILE: &str = r#"{"profile":{"firstName":"{CASE}","lastName":"Mallory"}}"#;
/// The request that brackets a case in the server log: its handler logs this route.
const SENTINEL_ROUTE: &str = "GET /api/v1/users\"";

// ---------------------------------------------------------------------------------------------
// The table's vocabulary.

/// A request, as exact bytes. `{HOST}` (the server's `127.0.0.1:port`), `{PORT}`, `{SID}` (a
/// session of ada@example.com), `{TOID}` (the id of the seeded trusted origin) and `{CASE}` are
/// filled in per server.
#[derive(Clone)]
struct Req {
    method: &'static str,
    path: &'static str,
    /// `None`: `Host: {HOST}`; `Some(v)`: `Host: v` (or no `Host` when `v` is empty).
    host: Option<&'static [u8]>,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Option<(&'static str, Vec<u8>)>,
}

fn req(method: &'static str, path: &'static str) -> Req {
    Req {
        method,
        path,
        host: None,
        headers: Vec::new(),
        body: None,
    }
}

const ME: &str = "/api/v1/users/me";
const ORIGINS_API: &str = "/api/v1/trustedOrigins";

impl Req {
    fn h(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }
    fn origin(self, value: impl AsRef<[u8]>) -> Self {
        self.h("Origin", value)
    }
    fn cookie(self) -> Self {
        self.h("Cookie", "theme=dark; sid={SID}")
    }
    fn auth(self, value: impl AsRef<[u8]>) -> Self {
        self.h("Authorization", value)
    }
    fn bearer(self) -> Self {
        self.auth(format!("Bearer {ADA_TOKEN}"))
    }
    fn ssws(self) -> Self {
        self.auth(format!("SSWS {API_TOKEN}"))
    }
    fn site(self, value: &'static str) -> Self {
        self.h("Sec-Fetch-Site", value)
    }
    fn host(mut self, value: &'static [u8]) -> Self {
        self.host = Some(value);
        self
    }
    fn acrm(self, value: impl AsRef<[u8]>) -> Self {
        self.h("Access-Control-Request-Method", value)
    }
    fn acrh(self, value: impl AsRef<[u8]>) -> Self {
        self.h("Access-Control-Request-Headers", value)
    }
    /// A profile update for `PUT /api/v1/users/me`.
    fn profile(mut self) -> Self {
        self.body = Some(("application/json", PROFILE.as_bytes().to_vec()));
        self
    }
    fn json(mut self, body: &str) -> Self {
        self.body = Some(("application/json", body.as_bytes().to_vec()));
        self
    }
    fn form(mut self, body: &str) -> Self {
        self.body = Some((
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
        ));
        self
    }

    fn bytes(&self, vars: &Vars, case: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&vars.fill(self.path.as_bytes(), case));
        out.extend_from_slice(b" HTTP/1.1\r\n");
        match self.host {
            None => out.extend_from_slice(format!("Host: {}\r\n", vars.host).as_bytes()),
            Some(b"") => {}
            Some(host) => {
                out.extend_from_slice(b"Host: ");
                out.extend_from_slice(&vars.fill(host, case));
                out.extend_from_slice(b"\r\n");
            }
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&vars.fill(value, case));
            out.extend_from_slice(b"\r\n");
        }
        if let Some((content_type, body)) = &self.body {
            let body = vars.fill(body, case);
            out.extend_from_slice(
                format!(
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(b"Connection: close\r\n\r\n");
            out.extend_from_slice(&body);
        } else {
            out.extend_from_slice(b"Connection: close\r\n\r\n");
        }
        out
    }
}

/// What changed server-side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Nothing,
    /// The profile of ada@example.com (or her session).
    Profile,
    /// The list of trusted origins.
    Origins,
    Both,
}

/// An outcome, expected or observed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    status: u16,
    allow_origin: Option<String>,
    allow_credentials: Option<String>,
    reason: Option<String>,
    /// An application handler served the request (logged `handler ran`).
    handler: bool,
    effect: Effect,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ACAO={:?} ACAC={:?} reason={:?} handler={} effect={:?}",
            self.status,
            self.allow_origin,
            self.allow_credentials,
            self.reason,
            self.handler,
            self.effect
        )
    }
}

/// Refused by the CORS layer, before any handler: 403, no CORS headers, this reason.
fn refused(reason: &str) -> Outcome {
    Outcome {
        status: 403,
        allow_origin: None,
        allow_credentials: None,
        reason: Some(reason.to_owned()),
        handler: false,
        effect: Effect::Nothing,
    }
}

/// Answered with `status`, no CORS headers, no handler acting, nothing changed (add to it).
fn answered(status: u16) -> Outcome {
    Outcome {
        status,
        allow_origin: None,
        allow_credentials: None,
        reason: None,
        handler: false,
        effect: Effect::Nothing,
    }
}

impl Outcome {
    fn acao(mut self, origin: &str) -> Self {
        self.allow_origin = Some(origin.to_owned());
        self
    }
    /// `Access-Control-Allow-Credentials: true`.
    fn creds(mut self) -> Self {
        self.allow_credentials = Some("true".to_owned());
        self
    }
    fn ran(mut self) -> Self {
        self.handler = true;
        self
    }
    fn changes(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }
}

struct Case {
    name: &'static str,
    req: Req,
    expect: Outcome,
}

fn case(name: &'static str, req: Req, expect: Outcome) -> Case {
    Case { name, req, expect }
}

// ---------------------------------------------------------------------------------------------
// The catalogue.

#[allow(clippy::too_many_lines)]
fn catalogue() -> Vec<Case> {
    let get_me = || req("GET", ME).cookie();
    let put_me = || req("PUT", ME).profile();
    let long_origin = format!("https://{}.example", "a".repeat(9000));
    let comma_bomb = ",".repeat(20_000);
    let many_names = "accept,".repeat(200);
    let create_origin = r#"{"name":"Created {CASE}","origin":"https://created.example","scopes":[{"type":"CORS"}]}"#;
    let create_server_side = r#"{"name":"Server side","origin":"https://server-side.example","scopes":[{"type":"CORS"}]}"#;
    let ok_me = || answered(200).ran();
    vec![
        // --- Origin forms, on a CORS-enabled route with the session cookie. Only the exact
        // serialized trusted origin is trusted; anything not serialized is malformed.
        case(
            "trusted_origin_exact",
            get_me().origin(T),
            ok_me().acao(T).creds(),
        ),
        case(
            "trusted_origin_head",
            req("HEAD", ME).cookie().origin(T),
            ok_me().acao(T).creds(),
        ),
        case(
            "uppercase_host",
            get_me().origin("http://LOCALHOST:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "uppercase_scheme",
            get_me().origin("HTTP://localhost:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "trailing_slash",
            get_me().origin("http://localhost:8081/"),
            refused("origin_not_trusted"),
        ),
        case(
            "with_path",
            get_me().origin("http://localhost:8081/app"),
            refused("origin_not_trusted"),
        ),
        case(
            "with_query",
            get_me().origin("http://localhost:8081?x"),
            refused("origin_not_trusted"),
        ),
        case(
            "https_instead_of_http",
            get_me().origin("https://localhost:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "other_port",
            get_me().origin("http://localhost:8082"),
            refused("origin_not_trusted"),
        ),
        case(
            "no_port",
            get_me().origin("http://localhost"),
            refused("origin_not_trusted"),
        ),
        case(
            "explicit_default_port",
            get_me().origin("http://localhost:80"),
            refused("origin_not_trusted"),
        ),
        case(
            "port_leading_zero",
            get_me().origin("http://localhost:08081"),
            refused("origin_not_trusted"),
        ),
        case(
            "port_out_of_range",
            get_me().origin("http://localhost:80811"),
            refused("origin_not_trusted"),
        ),
        case(
            "userinfo",
            get_me().origin("http://ada@localhost:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "userinfo_hiding_evil_host",
            get_me().origin("http://localhost:8081@evil.example"),
            refused("origin_not_trusted"),
        ),
        case(
            "ipv4_loopback",
            get_me().origin("http://127.0.0.1:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "ipv4_decimal",
            get_me().origin("http://2130706433:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "ipv6_loopback",
            get_me().origin("http://[::1]:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "ipv6_mapped_ipv4",
            get_me().origin("http://[::ffff:127.0.0.1]:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "punycode_lookalike",
            get_me().origin("http://xn--lcalhost-9uf:8081"),
            refused("origin_not_trusted"),
        ),
        // `localhost` with a Cyrillic `о`, as raw UTF-8 bytes.
        case(
            "unicode_lookalike",
            get_me().origin("http://l\u{43e}calhost:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "suffix_lookalike_port_label",
            get_me().origin("https://localhost:8081.evil.example"),
            refused("origin_not_trusted"),
        ),
        case(
            "suffix_lookalike_http",
            get_me().origin("http://localhost:8081.evil.example"),
            refused("origin_not_trusted"),
        ),
        case(
            "prefix_lookalike",
            get_me().origin("https://evillocalhost:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "prefix_lookalike_http",
            get_me().origin("http://evillocalhost:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "subdomain_lookalike",
            get_me().origin("http://localhost.evil.example:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "null_origin",
            get_me().origin("null"),
            refused("origin_not_trusted"),
        ),
        case(
            "null_origin_uppercase",
            get_me().origin("NULL"),
            refused("origin_not_trusted"),
        ),
        case(
            "file_origin",
            get_me().origin("file://"),
            refused("origin_not_trusted"),
        ),
        case(
            "file_url_origin",
            get_me().origin("file:///etc/passwd"),
            refused("origin_not_trusted"),
        ),
        case(
            "empty_origin",
            get_me().origin(""),
            refused("origin_not_trusted"),
        ),
        // The cookie-string split across two `Cookie` fields is still one cookie-string (what
        // HTTP/2 clients send; see tests/http2.rs): the session in the second field counts.
        case(
            "two_cookie_fields_trusted",
            req("GET", ME)
                .h("Cookie", "theme=dark")
                .h("Cookie", "sid={SID}")
                .origin(T),
            ok_me().acao(T).creds(),
        ),
        case(
            "two_cookie_fields_bearer_untrusted_put",
            put_me()
                .bearer()
                .h("Cookie", "theme=dark")
                .h("Cookie", "sid={SID}")
                .origin(E),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "two_origins_both_trusted",
            get_me().origin(T).origin(T),
            refused("origin_not_trusted"),
        ),
        case(
            "two_origins_trusted_then_evil",
            get_me().origin(T).origin(E),
            refused("origin_not_trusted"),
        ),
        case(
            "two_origins_evil_then_trusted",
            get_me().origin(E).origin(T),
            refused("origin_not_trusted"),
        ),
        case(
            "origin_non_utf8_byte",
            get_me().origin(b"http://localhost:8081\xff"),
            refused("origin_not_trusted"),
        ),
        case(
            "origin_latin1_host",
            get_me().origin(b"http://localh\xf6st:8081"),
            refused("origin_not_trusted"),
        ),
        case(
            "origin_tab_inside",
            get_me().origin("http://local\thost:8081"),
            refused("origin_not_trusted"),
        ),
        // Control bytes other than HTAB are not field-value bytes: the HTTP parser refuses the
        // request before any application code (RFC 9110 §5.5).
        case(
            "origin_control_byte",
            get_me().origin(b"http://localhost:8081\x01"),
            answered(400),
        ),
        case(
            "origin_nul_byte",
            get_me().origin(b"http://localhost:8081\x00"),
            answered(400),
        ),
        case(
            "origin_bare_carriage_return",
            get_me().origin(b"http://localhost:8081\rx"),
            answered(400),
        ),
        case(
            "origin_obsolete_line_folding",
            get_me().origin(b"https://evil.example\r\n http://localhost:8081"),
            answered(400),
        ),
        case(
            "origin_very_long",
            get_me().origin(long_origin.as_str()),
            refused("origin_not_trusted"),
        ),
        // HTTP's optional whitespace around a field value is not part of it (RFC 9110 §5.5).
        case(
            "origin_surrounding_whitespace",
            get_me().origin("  http://localhost:8081\t "),
            ok_me().acao(T).creds(),
        ),
        // --- Preflights (OPTIONS /api/v1/users/me: GET, PUT; content-type, accept; bearer
        // tokens from any origin). No handler ever runs for a preflight.
        case(
            "preflight_trusted",
            req("OPTIONS", ME)
                .origin(T)
                .acrm("PUT")
                .acrh("content-type"),
            answered(204).acao(T).creds(),
        ),
        case(
            "preflight_untrusted",
            req("OPTIONS", ME)
                .origin(E)
                .acrm("PUT")
                .acrh("content-type"),
            refused("origin_not_trusted"),
        ),
        case(
            "preflight_untrusted_asking_authorization",
            req("OPTIONS", ME)
                .origin(E)
                .acrm("GET")
                .acrh("authorization"),
            answered(204).acao(E),
        ),
        case(
            "preflight_null_asking_authorization",
            req("OPTIONS", ME)
                .origin("null")
                .acrm("GET")
                .acrh("authorization"),
            refused("origin_not_trusted"),
        ),
        case(
            "preflight_method_not_allowed",
            req("OPTIONS", ME).origin(T).acrm("DELETE"),
            refused("method_not_allowed"),
        ),
        case(
            "preflight_lowercase_request_method",
            req("OPTIONS", ME).origin(T).acrm("put"),
            refused("method_not_allowed"),
        ),
        case(
            "preflight_header_not_allowed",
            req("OPTIONS", ME).origin(T).acrm("PUT").acrh("x-evil"),
            refused("header_not_allowed"),
        ),
        case(
            "preflight_request_headers_comma_bomb",
            req("OPTIONS", ME)
                .origin(T)
                .acrm("PUT")
                .acrh(comma_bomb.as_str()),
            refused("header_not_allowed"),
        ),
        case(
            "preflight_request_headers_too_many_names",
            req("OPTIONS", ME)
                .origin(T)
                .acrm("PUT")
                .acrh(many_names.as_str()),
            refused("header_not_allowed"),
        ),
        case(
            "preflight_request_headers_non_utf8",
            req("OPTIONS", ME)
                .origin(T)
                .acrm("PUT")
                .acrh(b"content-type,\xff"),
            refused("header_not_allowed"),
        ),
        case(
            "preflight_request_headers_twice",
            req("OPTIONS", ME)
                .origin(T)
                .acrm("PUT")
                .acrh("content-type")
                .acrh("accept"),
            refused("header_not_allowed"),
        ),
        case(
            "preflight_to_undeclared_route",
            req("OPTIONS", "/api/v1/users").origin(T).acrm("GET"),
            refused("route_not_cors_enabled"),
        ),
        case(
            "preflight_to_trusted_origins_api",
            req("OPTIONS", ORIGINS_API)
                .origin(T)
                .acrm("POST")
                .acrh("authorization"),
            refused("route_not_cors_enabled"),
        ),
        // Not a preflight (the requested method is not a token): an actual OPTIONS request from
        // an untrusted origin to a CORS-enabled route.
        case(
            "preflight_invalid_request_method_untrusted",
            req("OPTIONS", ME).origin(E).acrm("P UT"),
            refused("origin_not_trusted"),
        ),
        case(
            "options_without_request_method_untrusted",
            req("OPTIONS", ME).origin(E),
            refused("origin_not_trusted"),
        ),
        // Methods compare case-sensitively: `options` is not OPTIONS, and not a safe method.
        case(
            "lowercase_options_preflight_untrusted",
            req("options", ME).origin(E).acrm("PUT"),
            refused("untrusted_cross_origin_write"),
        ),
        // --- Writes: PUT /api/v1/users/me changes the profile. Refused writes change nothing.
        case(
            "put_untrusted_with_cookie",
            put_me().cookie().origin(E),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_untrusted_bearer_and_cookie",
            put_me().cookie().bearer().origin(E),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_untrusted_bearer_only",
            put_me().bearer().origin(E),
            ok_me().acao(E).changes(Effect::Profile),
        ),
        case(
            "put_trusted_with_cookie",
            put_me().cookie().origin(T),
            ok_me().acao(T).creds().changes(Effect::Profile),
        ),
        case(
            "put_null_with_cookie",
            put_me().cookie().origin("null"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_file_origin_with_cookie",
            put_me().cookie().origin("file://"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_two_origins",
            put_me().cookie().origin(T).origin(T),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_lookalike_origin",
            put_me()
                .cookie()
                .origin("https://localhost:8081.evil.example"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_lowercase_method_untrusted",
            req("put", ME).profile().cookie().origin(E),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "custom_method_untrusted",
            req("FOO", ME).profile().cookie().origin(E),
            refused("untrusted_cross_origin_write"),
        ),
        // From the trusted origin an unsafe method passes the global rules: the router answers
        // 405 for a method the route lacks, with the route's CORS headers.
        case(
            "lowercase_get_from_trusted",
            req("get", ME).cookie().origin(T),
            answered(405).acao(T).creds(),
        ),
        case(
            "patch_from_trusted",
            req("PATCH", ME).profile().cookie().origin(T),
            answered(405).acao(T).creds(),
        ),
        case(
            "delete_untrusted",
            req("DELETE", ME).cookie().origin(E),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "patch_untrusted",
            req("PATCH", ME).profile().cookie().origin(E),
            refused("untrusted_cross_origin_write"),
        ),
        // --- Sec-Fetch-Site. With it, the browser's judgement alone decides same-origin
        // (`same-origin` and `none`); without `Origin`, an unsafe request it says comes from
        // another site is a cross-origin write from an origin that cannot be trusted.
        case(
            "put_no_origin_cross_site",
            put_me().cookie().site("cross-site"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_no_origin_same_site",
            put_me().cookie().site("same-site"),
            refused("untrusted_cross_origin_write"),
        ),
        // Bearer-only passes the global rules, but there is no origin to answer to.
        case(
            "put_no_origin_cross_site_bearer",
            put_me().bearer().site("cross-site"),
            refused("origin_not_trusted"),
        ),
        case(
            "put_no_origin_same_origin",
            put_me().cookie().site("same-origin"),
            ok_me().changes(Effect::Profile),
        ),
        case(
            "put_no_origin_site_none",
            put_me().cookie().site("none"),
            ok_me().changes(Effect::Profile),
        ),
        case(
            "put_no_origin_server_side",
            put_me().cookie(),
            ok_me().changes(Effect::Profile),
        ),
        case(
            "get_no_origin_cross_site",
            get_me().site("cross-site"),
            ok_me(),
        ),
        case(
            "put_untrusted_but_site_same_origin",
            put_me().cookie().origin(E).site("same-origin"),
            ok_me().changes(Effect::Profile),
        ),
        case(
            "put_untrusted_but_site_none",
            put_me().cookie().origin(E).site("none"),
            ok_me().changes(Effect::Profile),
        ),
        case(
            "put_untrusted_site_cross_site",
            put_me().cookie().origin(E).site("cross-site"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_untrusted_site_uppercase",
            put_me().cookie().origin(E).site("Same-Origin"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_untrusted_site_twice",
            put_me()
                .cookie()
                .origin(E)
                .site("same-origin")
                .site("same-origin"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "get_trusted_site_cross_site",
            get_me().origin(T).site("cross-site"),
            ok_me().acao(T).creds(),
        ),
        // --- Host: without Sec-Fetch-Site, an Origin whose host[:port] is Host is same-origin.
        case(
            "put_own_origin_by_host",
            put_me().cookie().origin("http://{HOST}"),
            ok_me().changes(Effect::Profile),
        ),
        case(
            "put_own_origin_host_case",
            put_me()
                .cookie()
                .origin("http://localhost:{PORT}")
                .host(b"LOCALHOST:{PORT}"),
            ok_me().changes(Effect::Profile),
        ),
        case(
            "put_own_origin_host_default_port",
            put_me()
                .cookie()
                .origin("http://org.example")
                .host(b"org.example:80"),
            ok_me().changes(Effect::Profile),
        ),
        case(
            "put_host_mismatch",
            put_me()
                .cookie()
                .origin("http://{HOST}")
                .host(b"other.example"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_host_port_mismatch",
            put_me()
                .cookie()
                .origin("http://127.0.0.1:1")
                .host(b"127.0.0.1:{PORT}"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "put_own_origin_but_site_cross_site",
            put_me().cookie().origin("http://{HOST}").site("cross-site"),
            refused("untrusted_cross_origin_write"),
        ),
        // The documented proxy caveat: the fallback trusts Host, which a browser cannot forge.
        // RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host is answered 400 (actix-web's
        // parser does; org-server checks it before the CORS layers).
        case(
            "put_no_host_header",
            put_me().cookie().origin("http://{HOST}").host(b""),
            answered(400),
        ),
        case(
            "put_two_host_headers",
            put_me()
                .cookie()
                .origin("http://{HOST}")
                .h("Host", "{HOST}"),
            answered(400),
        ),
        case(
            "put_forged_host_matching_origin",
            put_me()
                .cookie()
                .origin("http://evil.example")
                .host(b"evil.example"),
            ok_me().changes(Effect::Profile),
        ),
        // --- Authorization schemes, cross-origin from an untrusted origin, no cookie.
        case(
            "auth_bearer",
            req("GET", ME).origin(E).bearer(),
            ok_me().acao(E),
        ),
        case(
            "auth_bearer_lowercase",
            req("GET", ME).origin(E).auth(format!("bearer {ADA_TOKEN}")),
            ok_me().acao(E),
        ),
        case(
            "auth_bearer_uppercase",
            req("GET", ME).origin(E).auth(format!("BEARER {ADA_TOKEN}")),
            ok_me().acao(E),
        ),
        // DPoP is an allowed scheme; the org's handler knows no DPoP token: 401, still readable.
        case(
            "auth_dpop",
            req("GET", ME).origin(E).auth("DPoP eyJhbGciOiJFUzI1NiJ9"),
            answered(401).acao(E),
        ),
        case(
            "auth_dpop_lowercase",
            req("GET", ME).origin(E).auth("dpop eyJhbGciOiJFUzI1NiJ9"),
            answered(401).acao(E),
        ),
        case(
            "auth_bearer_without_token",
            req("GET", ME).origin(E).auth("Bearer"),
            answered(401).acao(E),
        ),
        case(
            "auth_bearer_very_long",
            req("GET", ME)
                .origin(E)
                .auth(format!("Bearer {}", "x".repeat(9000))),
            answered(401).acao(E),
        ),
        case(
            "cookie_very_long_with_bearer_untrusted_put",
            put_me()
                .bearer()
                .origin(E)
                .h("Cookie", format!("big={}", "y".repeat(9000))),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "auth_ssws_api_token",
            req("GET", ME).origin(E).ssws(),
            refused("api_token_cross_origin"),
        ),
        case(
            "auth_ssws_lowercase",
            req("GET", ME).origin(E).auth(format!("ssws {API_TOKEN}")),
            refused("api_token_cross_origin"),
        ),
        case(
            "auth_ssws_from_trusted_origin",
            req("GET", ME).origin(T).ssws(),
            refused("api_token_cross_origin"),
        ),
        case(
            "auth_basic",
            req("GET", ME).origin(E).auth("Basic YWRhOnB3"),
            refused("credential_scheme_not_allowed"),
        ),
        case(
            "auth_unknown_scheme",
            req("GET", ME).origin(E).auth("Negotiate YWRh"),
            refused("credential_scheme_not_allowed"),
        ),
        case(
            "auth_empty",
            req("GET", ME).origin(E).auth(""),
            refused("credential_scheme_not_allowed"),
        ),
        case(
            "auth_non_token_scheme",
            req("GET", ME).origin(E).auth("Bea/rer x"),
            refused("credential_scheme_not_allowed"),
        ),
        case(
            "auth_two_bearer_headers",
            req("GET", ME).origin(E).bearer().bearer(),
            refused("credential_scheme_not_allowed"),
        ),
        case(
            "auth_bearer_then_ssws",
            req("GET", ME).origin(E).bearer().ssws(),
            refused("credential_scheme_not_allowed"),
        ),
        case(
            "auth_bearer_with_cookie_untrusted",
            req("GET", ME).origin(E).bearer().cookie(),
            refused("origin_not_trusted"),
        ),
        case(
            "auth_none_untrusted_no_cookie",
            req("GET", ME).origin(E),
            refused("origin_not_trusted"),
        ),
        case(
            "auth_bearer_route_without_bearer_from_anywhere",
            req("GET", "/api/v1/users/00u1ada").origin(E).bearer(),
            refused("origin_not_trusted"),
        ),
        case(
            "user_by_id_trusted_cookie",
            req("GET", "/api/v1/users/00u1ada").origin(T).cookie(),
            ok_me().acao(T).creds(),
        ),
        case(
            "list_users_api_token_cross_origin",
            req("GET", "/api/v1/users").origin(T).ssws(),
            refused("api_token_cross_origin"),
        ),
        // An undeclared route adds no CORS headers; the handler refuses the missing token.
        case(
            "list_users_trusted_origin_no_token",
            req("GET", "/api/v1/users").origin(T),
            answered(401),
        ),
        // --- The Trusted Origins API: an API token from a browser origin never reaches it.
        case(
            "api_create_from_untrusted",
            req("POST", ORIGINS_API)
                .origin(E)
                .ssws()
                .json(create_origin),
            refused("api_token_cross_origin"),
        ),
        case(
            "api_create_from_trusted",
            req("POST", ORIGINS_API)
                .origin(T)
                .ssws()
                .json(create_origin),
            refused("api_token_cross_origin"),
        ),
        case(
            "api_create_from_null",
            req("POST", ORIGINS_API)
                .origin("null")
                .ssws()
                .json(create_origin),
            refused("api_token_cross_origin"),
        ),
        case(
            "api_create_no_origin_cross_site",
            req("POST", ORIGINS_API)
                .site("cross-site")
                .ssws()
                .json(create_origin),
            refused("api_token_cross_origin"),
        ),
        case(
            "api_create_lowercase_ssws",
            req("POST", ORIGINS_API)
                .origin(E)
                .auth(format!("ssws {API_TOKEN}"))
                .json(create_origin),
            refused("api_token_cross_origin"),
        ),
        case(
            "api_create_cookie_no_token_untrusted",
            req("POST", ORIGINS_API)
                .origin(E)
                .cookie()
                .json(create_origin),
            refused("untrusted_cross_origin_write"),
        ),
        // Allowed through by the CORS layer (a trusted origin), refused by the org: Ada's session
        // (an administrator's) manages trusted origins only from the org's own pages, never from
        // another origin's, trusted or not (the admin console's session rule).
        case(
            "api_create_cookie_from_trusted",
            req("POST", ORIGINS_API)
                .origin(T)
                .cookie()
                .json(create_origin),
            answered(403),
        ),
        // A bearer token is no ambient credential: the CORS layer lets it through from any
        // origin (a browser page never gets past the preflight: the API is not CORS-enabled), and
        // the API judges its scopes. Grace's token reads only (Ada's, which manages, would change
        // the registry the later cases rely on).
        case(
            "api_deactivate_bearer_from_untrusted",
            req("POST", "/api/v1/trustedOrigins/{TOID}/lifecycle/deactivate")
                .origin(E)
                .auth("Bearer at-grace-example"),
            answered(403),
        ),
        case(
            "api_deactivate_from_untrusted",
            req("POST", "/api/v1/trustedOrigins/{TOID}/lifecycle/deactivate")
                .origin(E)
                .ssws(),
            refused("api_token_cross_origin"),
        ),
        case(
            "api_delete_from_untrusted",
            req("DELETE", "/api/v1/trustedOrigins/{TOID}")
                .origin(E)
                .ssws(),
            refused("api_token_cross_origin"),
        ),
        case(
            "api_replace_from_trusted",
            req("PUT", "/api/v1/trustedOrigins/{TOID}")
                .origin(T)
                .ssws()
                .json(create_origin),
            refused("api_token_cross_origin"),
        ),
        case(
            "api_list_from_untrusted",
            req("GET", ORIGINS_API).origin(E).ssws(),
            refused("api_token_cross_origin"),
        ),
        // The same write from a server (no Origin, no fetch metadata) is what the API is for.
        case(
            "api_create_server_side",
            req("POST", ORIGINS_API).ssws().json(create_server_side),
            answered(200).changes(Effect::Origins),
        ),
        // --- Sign-in and sign-out: cross-site form posts are refused (login CSRF).
        case(
            "login_form_post_from_untrusted",
            req("POST", "/login")
                .origin(E)
                .form("login=ada%40example.com&password=correct+horse+battery+staple"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "login_form_post_from_null",
            req("POST", "/login")
                .origin("null")
                .form("login=ada%40example.com&password=correct+horse+battery+staple"),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "logout_from_untrusted",
            req("POST", "/logout").origin(E).cookie().form(""),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "logout_no_origin_cross_site",
            req("POST", "/logout").site("cross-site").cookie().form(""),
            refused("untrusted_cross_origin_write"),
        ),
        case(
            "login_form_post_from_trusted",
            req("POST", "/login")
                .origin(T)
                .form("login=ada%40example.com&password=nope"),
            answered(401),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Running the table against a server.

struct Vars {
    host: String,
    port: String,
    sid: String,
    toid: String,
}

impl Vars {
    fn fill(&self, bytes: &[u8], case: &str) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for (key, value) in [
            ("{HOST}", self.host.as_str()),
            ("{PORT}", self.port.as_str()),
            ("{SID}", self.sid.as_str()),
            ("{TOID}", self.toid.as_str()),
            ("{CASE}", case),
        ] {
            out = replace(&out, key.as_bytes(), value.as_bytes());
        }
        out
    }
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

struct Server {
    name: &'static str,
    proc: Proc,
    vars: Vars,
    /// How many sentinel lines the log holds so far.
    sentinels: usize,
}

fn config_dir() -> tempfile::TempDir {
    let dir = common::temp_dir("hostile");
    let config = dir.path().join("org.toml");
    // The example org as shipped, kept in memory.
    std::fs::write(&config, trusted_cors_examples::DEFAULT_CONFIG).unwrap();
    dir
}

impl Server {
    fn start(path: &'static str, config: &std::path::Path) -> Server {
        let (proc, base) = Proc::start_org(path, config, &["--store", "memory"]);
        let host = base.trim_start_matches("http://").to_owned();
        let port = host.rsplit(':').next().unwrap().to_owned();
        let name = if path.ends_with("actix") {
            "actix"
        } else {
            "axum"
        };
        let mut server = Server {
            name,
            proc,
            vars: Vars {
                port,
                host,
                sid: String::new(),
                toid: String::new(),
            },
            sentinels: 0,
        };
        // Sign in as ada@example.com.
        let login = server.send(
            &req("POST", "/login")
                .form("login=ada%40example.com&password=correct+horse+battery+staple"),
        );
        assert_eq!(login.status, 303, "{name}: sign-in failed");
        let cookie = login.one("set-cookie").expect("a session cookie");
        server.vars.sid = cookie
            .strip_prefix("sid=")
            .and_then(|c| c.split(';').next())
            .expect("sid=")
            .to_owned();
        let list = server.send(&req("GET", ORIGINS_API).ssws());
        server.vars.toid = list.json()[0]["id"].as_str().expect("an id").to_owned();
        server
    }

    fn send(&self, req: &Req) -> RawResponse {
        exchange(&self.vars.host, &req.bytes(&self.vars, ""))
    }

    /// What a refused write must not change: the profile as the session sees it (status and
    /// names), and the trusted origins.
    fn state(&self) -> (String, String) {
        let me = self.send(&req("GET", ME).cookie());
        let profile = me.json();
        let profile = format!(
            "{} {} {}",
            me.status, profile["profile"]["firstName"], profile["profile"]["lastName"]
        );
        let list = self.send(&req("GET", "/api/v1/trustedOrigins?limit=200").ssws());
        assert_eq!(list.status, 200);
        let mut origins: Vec<String> = list
            .json()
            .as_array()
            .expect("a list")
            .iter()
            .map(|o| {
                format!(
                    "{} {} {} {}",
                    o["origin"], o["name"], o["status"], o["scopes"]
                )
            })
            .collect();
        origins.sort();
        (profile, origins.join("\n"))
    }

    /// Sends the sentinel and waits for its log line; returns the log's length up to it.
    fn bracket(&mut self) -> usize {
        let answer = self.send(&req("GET", "/api/v1/users").ssws());
        assert_eq!(answer.status, 200, "{}: sentinel", self.name);
        self.sentinels += 1;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.proc.log();
            let mut seen = 0;
            let mut offset = 0;
            for line in log.split_inclusive('\n') {
                offset += line.len();
                if line.contains("handler ran") && line.contains(SENTINEL_ROUTE) {
                    seen += 1;
                    if seen == self.sentinels {
                        return offset;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "{}: sentinel {} not logged:\n{log}",
                self.name,
                self.sentinels
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn run(&mut self, case: &Case) -> (Outcome, RawResponse) {
        let before = self.state();
        let start = self.bracket();
        let response = exchange(&self.vars.host, &case.req.bytes(&self.vars, case.name));
        let end = self.bracket();
        let log = self.proc.log();
        let handler = log[start..end]
            .lines()
            .any(|l| l.contains("handler ran") && !l.contains(SENTINEL_ROUTE));
        let after = self.state();
        let effect = match (before.0 != after.0, before.1 != after.1) {
            (false, false) => Effect::Nothing,
            (true, false) => Effect::Profile,
            (false, true) => Effect::Origins,
            (true, true) => Effect::Both,
        };
        let outcome = Outcome {
            status: response.status,
            allow_origin: response.one("access-control-allow-origin"),
            allow_credentials: response.one("access-control-allow-credentials"),
            reason: response.one("x-trusted-cors-reason"),
            handler,
            effect,
        };
        (outcome, response)
    }
}

/// The invariants of ARCHITECTURE.md, on every response.
fn invariants(server: &str, case: &Case, outcome: &Outcome, response: &RawResponse) -> Vec<String> {
    let mut broken = Vec::new();
    if outcome.allow_origin.as_deref() == Some("*") {
        broken.push("Access-Control-Allow-Origin: *".to_owned());
    }
    if outcome.allow_credentials.is_some() && outcome.allow_origin.as_deref() != Some(T) {
        broken.push(format!(
            "credentials allowed for {:?}, not the trusted origin",
            outcome.allow_origin
        ));
    }
    if outcome.reason.is_some() && outcome.allow_origin.is_some() {
        broken.push("a refusal carries Access-Control-Allow-Origin".to_owned());
    }
    if outcome.allow_origin.is_some() || outcome.reason.is_some() {
        let vary = response.all("vary").join(",").to_ascii_lowercase();
        if !vary.split(',').any(|v| v.trim() == "origin") {
            broken.push(format!("no `Vary: Origin` (Vary: {vary:?})"));
        }
    }
    if outcome.reason.is_some() && outcome.status != 403 {
        broken.push(format!("a refusal with status {}", outcome.status));
    }
    broken
        .into_iter()
        .map(|b| format!("{server} {}: invariant broken: {b}", case.name))
        .collect()
}

#[test]
fn hostile_input_catalogue() {
    let started = Instant::now();
    let cases = catalogue();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(names.insert(case.name), "duplicate case name {}", case.name);
    }
    let dir = config_dir();
    let config = dir.path().join("org.toml");
    let mut servers: Vec<Server> = SERVERS.iter().map(|s| Server::start(s, &config)).collect();
    let mut failures = Vec::new();
    for case in &cases {
        let mut seen = Vec::new();
        for server in &mut servers {
            let (outcome, response) = server.run(case);
            failures.extend(invariants(server.name, case, &outcome, &response));
            if outcome != case.expect {
                failures.push(format!(
                    "{} {}:\n    expected {}\n    observed {}",
                    server.name, case.name, case.expect, outcome
                ));
            }
            seen.push((server.name, outcome));
        }
        if seen[0].1 != seen[1].1 {
            failures.push(format!(
                "servers disagree on {}:\n    {} {}\n    {} {}",
                case.name, seen[0].0, seen[0].1, seen[1].0, seen[1].1
            ));
        }
    }
    for server in &servers {
        let log = server.proc.log();
        assert!(!log.contains("panicked"), "{}: {log}", server.name);
    }
    println!(
        "{} cases against {} servers in {:?}",
        cases.len(),
        servers.len(),
        started.elapsed()
    );
    drop(servers);
    drop(dir);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
