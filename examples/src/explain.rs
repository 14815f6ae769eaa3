//! "Why was this blocked?": `GET /api/v1/cors/explain` on the org and the `cors-explain` command
//! run the decision the layers run, for a call a page would make, and give each rule checked in
//! order with its verdict and the fix.
//!
//! The org's CORS routes are listed once, in [`DeclaredRoutes::org`], with the policies the
//! servers declare; `tests/explain.rs` checks that each explanation agrees with what the servers
//! answer to the same call.

use std::sync::OnceLock;

use serde_json::{json, Value};
use trusted_cors::admin::{PostgresStore, SqliteStore, TrustedOriginStore};
use trusted_cors::decision::RouteScope;
use trusted_cors::explain::{Call, CallExplanation, Check, Explanation, Outcome, Verdict};
use trusted_cors::{Cors, Origin, Registry, RouteCors};

use crate::cli::OrgSource;
use crate::events::{events_policy, EVENTS_PATH};
use crate::{me_policy, user_policy, Reply, StartError, StoreLocation};

/// The path of the explain endpoint.
pub const EXPLAIN_PATH: &str = "/api/v1/cors/explain";

/// The CORS policy of the explain endpoint: open to any origin, without credentials (it reveals
/// nothing a preflight from that origin would not).
pub fn explain_policy() -> RouteCors {
    RouteCors::builder()
        .name("cors_explain")
        .any_origin()
        .allow_headers(["accept"])
        .build()
        .expect("a valid policy")
}

/// The org's CORS-enabled routes, by path pattern, with their policies.
#[derive(Debug)]
pub struct DeclaredRoutes {
    router: matchit::Router<RouteCors>,
}

impl DeclaredRoutes {
    /// The routes both org servers declare.
    pub fn org() -> &'static DeclaredRoutes {
        static ROUTES: OnceLock<DeclaredRoutes> = OnceLock::new();
        ROUTES.get_or_init(|| {
            let mut router = matchit::Router::new();
            for (pattern, policy) in [
                ("/api/v1/users/me", me_policy()),
                (EVENTS_PATH, events_policy()),
                ("/api/v1/users/{id}", user_policy()),
                (EXPLAIN_PATH, explain_policy()),
            ] {
                router.insert(pattern, policy).expect("distinct patterns");
            }
            DeclaredRoutes { router }
        })
    }

    /// The policy declared for `path`, if any.
    pub fn policy(&self, path: &str) -> Option<&RouteCors> {
        self.router.at(path).ok().map(|found| found.value)
    }
}

/// A call to explain, as given in the query or on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSpec {
    /// The page's origin.
    pub origin: String,
    /// The method, `GET` by default.
    pub method: String,
    /// The path called.
    pub path: String,
    /// The request headers the page sets.
    pub headers: Vec<String>,
    /// Whether the page sends cookies (`credentials: 'include'`).
    pub credentials: bool,
    /// Whether the page opens a WebSocket (`new WebSocket(url)`) rather than calling: one
    /// handshake, a `GET` with the page's origin and (as `SameSite` allows) its cookies;
    /// `method` and `headers` are then not used.
    pub websocket: bool,
}

/// The most request headers a call may name.
const MAX_HEADERS: usize = 32;

impl CallSpec {
    /// Reads `origin`, `method`, `path`, `headers` (comma-separated), `credentials`
    /// (`true`/`false`) and `websocket` (`true`/`false`) from a query string. An error names the
    /// parameter and why.
    pub fn from_query(query: &str) -> Result<CallSpec, String> {
        let mut origin = None;
        let mut method = None;
        let mut path = None;
        let mut headers = Vec::new();
        let mut credentials = false;
        let mut websocket = false;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "origin" => origin = Some(value.into_owned()),
                "method" => method = Some(value.into_owned()),
                "path" => path = Some(value.into_owned()),
                "headers" => headers.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .map(str::to_owned),
                ),
                "credentials" => {
                    credentials = match &*value {
                        "true" | "include" => true,
                        "false" | "omit" | "same-origin" | "" => false,
                        other => {
                            return Err(format!(
                                "credentials: `{other}` is not true, false, include or omit"
                            ))
                        }
                    }
                }
                "websocket" => {
                    websocket = match &*value {
                        "true" => true,
                        "false" | "" => false,
                        other => return Err(format!("websocket: `{other}` is not true or false")),
                    }
                }
                _ => {}
            }
        }
        CallSpec {
            origin: origin.ok_or("origin: is required")?,
            method: method.unwrap_or_else(|| "GET".to_owned()),
            path: path.ok_or("path: is required")?,
            headers,
            credentials,
            websocket,
        }
        .checked()
    }

    /// The spec, if every field is one a page can send; with cookies when it opens a WebSocket.
    pub fn checked(mut self) -> Result<CallSpec, String> {
        // A browser sends a handshake with every cookie `SameSite` allows: there is no
        // `credentials: 'omit'` for a WebSocket.
        self.credentials |= self.websocket;
        if self.origin.is_empty() || self.origin.len() > Origin::MAX_LEN {
            return Err(format!(
                "origin: must be 1 to {} bytes, as browsers send it (https://host[:port])",
                Origin::MAX_LEN
            ));
        }
        if !is_token(&self.method) {
            return Err("method: is not an HTTP method".to_owned());
        }
        if !self.path.starts_with('/') || self.path.len() > 2048 {
            return Err("path: must start with `/` (at most 2048 bytes)".to_owned());
        }
        if self.headers.len() > MAX_HEADERS {
            return Err(format!("headers: at most {MAX_HEADERS} names"));
        }
        if let Some(bad) = self.headers.iter().find(|h| !is_token(h)) {
            return Err(format!(
                "headers: `{}` is not a header name",
                bad.escape_debug()
            ));
        }
        Ok(self)
    }

    /// The call as the core explains it.
    pub fn call(&self) -> Call<'_> {
        let mut call = Call::new(&self.origin, &self.method, &self.path);
        call.headers = self.headers.iter().map(String::as_str).collect();
        call.credentials = self.credentials;
        call.websocket = self.websocket;
        call
    }
}

fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A call explained as the org's layers decide it, and whether its path is one of the org's
/// CORS-enabled routes.
#[derive(Debug)]
pub struct Explained {
    /// The explanation.
    pub why: CallExplanation,
    /// Whether the path has a declared CORS policy.
    pub declared: bool,
}

impl Explained {
    /// Whether the call gets through (exit code 0 of `cors-explain`).
    pub fn gets_through(&self) -> bool {
        matches!(
            self.why.outcome,
            Outcome::Allowed | Outcome::NotCors | Outcome::SameOrigin
        )
    }
}

/// Explains `spec` as the org's layers decide it.
pub fn explain(cors: &Cors, spec: &CallSpec) -> Explained {
    let policy = DeclaredRoutes::org().policy(&spec.path);
    let route = match policy {
        Some(policy) => RouteScope::Declared(policy),
        None => RouteScope::Undeclared,
    };
    Explained {
        why: cors.explain_call(&spec.call(), route),
        declared: policy.is_some(),
    }
}

/// One sentence saying what happens to the call (or the WebSocket handshake, for `spec`s with
/// `websocket`) and, when it fails, the first cause and fix.
pub fn summary(spec: &CallSpec, why: &CallExplanation) -> String {
    let failing = [&why.preflight, &why.actual]
        .into_iter()
        .flatten()
        .flat_map(|e| &e.checks)
        .find(|check| matches!(check.verdict, Verdict::Refused | Verdict::Blocked));
    match (why.outcome, failing) {
        (Outcome::Allowed, _) => {
            let cookies = why.actual.as_ref().is_some_and(|a| a.credentials);
            if spec.websocket {
                return "Allowed: the page can open this WebSocket (the handshake passes; the \
                        application still authenticates it)."
                    .to_owned();
            }
            match cookies {
                true => "Allowed: the page can call this API and read the answer, with cookies."
                    .to_owned(),
                false => {
                    "Allowed: the page can call this API and read the answer (without cookies)."
                        .to_owned()
                }
            }
        }
        (Outcome::NotCors | Outcome::SameOrigin, _) => {
            "Not a cross-origin call: no CORS rule applies.".to_owned()
        }
        (Outcome::Refused, Some(check)) => format!("Refused ({}): {}", check.rule, check.finding),
        (_, Some(check)) => format!("Blocked by the browser ({}): {}", check.rule, check.finding),
        (outcome, None) => format!("{outcome:?}"),
    }
}

/// What a rule checks, as a statement that holds when the rule lets the call through.
pub fn what_it_checks(rule: &str) -> &'static str {
    match rule {
        "api_token_cross_origin" => "No API token (SSWS) is sent from another origin",
        "credential_scheme_not_allowed" => {
            "Any Authorization header uses a bearer scheme (Bearer, DPoP)"
        }
        "untrusted_cross_origin_write" => {
            "A change (POST, PUT, DELETE …) from an untrusted origin carries a bearer token and no cookies"
        }
        "route_not_cors_enabled" => "The route is CORS-enabled",
        "websocket_origin_not_trusted" => {
            "A WebSocket handshake from another origin comes from an ACTIVE trusted origin with the CORS scope, or the route declares its socket open to any origin"
        }
        "origin_not_trusted" => "The page's origin is allowed by the route",
        "method_not_allowed" => "The route allows the method",
        "header_not_allowed" => "The route allows the request headers",
        CallExplanation::CREDENTIALS_NOT_ALLOWED => {
            "The answer lets the page send cookies (Access-Control-Allow-Credentials)"
        }
        _ => "A rule of the CORS layers",
    }
}

/// Whether the rule held, in words: `held`, `failed`, `would fail (report mode)`.
fn held(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "held",
        Verdict::Reported => "would fail (report mode)",
        _ => "failed",
    }
}

fn check_json(check: &Check) -> Value {
    json!({
        "rule": check.rule,
        "verdict": check.verdict,
        "finding": check.finding,
        "checks": what_it_checks(check.rule),
        "held": held(check.verdict),
    })
}

fn explanation_json(e: &Explanation) -> Value {
    json!({
        "outcome": e.outcome,
        "reason": e.reason,
        "credentials": e.credentials,
        "checks": e.checks.iter().map(check_json).collect::<Vec<_>>(),
    })
}

/// The endpoint's answer: 200 with the explanation, or 400 naming the parameter.
pub fn explain_reply(cors: &Cors, raw_query: Option<&str>) -> Reply {
    let spec = match CallSpec::from_query(raw_query.unwrap_or_default()) {
        Ok(spec) => spec,
        Err(cause) => {
            return Reply::error(
                400,
                "E0000001",
                "Api validation failed: explain",
                Some(&cause),
            )
        }
    };
    Reply::json(200, explanation_value(&spec, &explain(cors, &spec)))
}

/// The explanation of `spec` as JSON: the endpoint's body and `cors-explain --json`.
pub fn explanation_value(spec: &CallSpec, explained: &Explained) -> Value {
    let Explained { why, declared } = explained;
    json!({
        "call": {
            "origin": spec.origin,
            "method": spec.method,
            "path": spec.path,
            "headers": spec.headers,
            "credentials": spec.credentials,
            "websocket": spec.websocket,
        },
        "route": if *declared { "cors_enabled" } else { "not_cors_enabled" },
        "outcome": why.outcome,
        "reason": why.reason,
        "summary": summary(spec, why),
        "preflight": why.preflight.as_ref().map(explanation_json),
        "actual": why.actual.as_ref().map(explanation_json),
    })
}

/// The explanation of `spec` for a terminal.
pub fn explanation_text(spec: &CallSpec, explained: &Explained) -> String {
    let why = &explained.why;
    let mut out = format!(
        "{} {} from {}{}{}\n{}\n",
        if spec.websocket {
            "WebSocket"
        } else {
            &spec.method
        },
        spec.path,
        spec.origin,
        if spec.headers.is_empty() {
            String::new()
        } else {
            format!(", headers: {}", spec.headers.join(", "))
        },
        if spec.credentials {
            ", with cookies"
        } else {
            ""
        },
        summary(spec, why),
    );
    let steps = [
        ("preflight (OPTIONS)", &why.preflight),
        (
            if spec.websocket {
                "handshake (GET with Upgrade: websocket)"
            } else {
                "actual request"
            },
            &why.actual,
        ),
    ];
    for (name, step) in steps {
        let Some(step) = step else { continue };
        out.push_str(&format!("\n{name}: {:?}\n", step.outcome));
        for check in &step.checks {
            out.push_str(&format!(
                "  {}: {} ({})\n",
                what_it_checks(check.rule),
                held(check.verdict),
                check.rule
            ));
        }
    }
    out
}

/// The CORS decisions of the org that `source` describes, read without changing anything: its
/// configuration, and the trusted origins in its store opened read-only (a SQLite file is never
/// created). When there is no store to read (`memory`, or no SQLite file yet), the
/// configuration's own trusted origins, with a note saying so.
pub async fn read_only_cors(source: &OrgSource) -> Result<(Cors, Option<String>), StartError> {
    let config = source.load()?;
    let cors_config = config.cors_config()?;
    let seeds = config.seeds(&cors_config)?;
    let in_memory = |why: String| {
        let registry = Registry::with_origins(seeds.clone())
            .map_err(|e| StartError(format!("config: trusted_origins: {e}")))?;
        let note =
            format!("{why}: explaining against the configuration's trusted origins, in memory");
        Ok((Cors::new(cors_config.clone(), registry), Some(note)))
    };
    let store_error = |e| StartError(format!("store: {e}"));
    let loaded = match config.store_location()? {
        StoreLocation::Sqlite(path) if path.exists() => {
            let store = SqliteStore::open_read_only(&path)
                .await
                .map_err(store_error)?;
            store.load().await.map_err(store_error)?
        }
        StoreLocation::Postgres(url) => match PostgresStore::connect_read_only(&url).await {
            Ok(Some(store)) => store.load().await.map_err(store_error)?,
            Ok(None) => {
                return in_memory("the PostgreSQL database holds no trusted origins yet".to_owned())
            }
            Err(e) => return Err(store_error(e)),
        },
        StoreLocation::Sqlite(path) => return in_memory(format!("no store at {}", path.display())),
        StoreLocation::Memory => return in_memory("the store is `memory`".to_owned()),
    };
    let registry = Registry::from_origins_at(loaded.revision, loaded.origins)
        .map_err(|e| StartError(format!("store: {e}")))?;
    Ok((Cors::new(cors_config, registry), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_name_the_bad_parameter() {
        let ok = CallSpec::from_query(
            "origin=https%3A%2F%2Fshop.example&method=PUT&path=%2Fapi%2Fv1%2Fusers%2Fme&headers=content-type,%20authorization&credentials=include",
        )
        .unwrap();
        assert_eq!(ok.origin, "https://shop.example");
        assert_eq!(ok.headers, ["content-type", "authorization"]);
        assert!(ok.credentials);
        assert!(!ok.websocket);
        let socket = CallSpec::from_query("origin=null&path=/ws&websocket=true").unwrap();
        assert!(socket.websocket && socket.call().websocket);
        for (query, field) in [
            ("path=/x", "origin"),
            ("origin=https://a.example", "path"),
            ("origin=https://a.example&path=x", "path"),
            ("origin=https://a.example&path=/x&method=P%20T", "method"),
            ("origin=https://a.example&path=/x&headers=a%20b", "headers"),
            (
                "origin=https://a.example&path=/x&credentials=maybe",
                "credentials",
            ),
            (
                "origin=https://a.example&path=/x&websocket=yes",
                "websocket",
            ),
        ] {
            let error = CallSpec::from_query(query).unwrap_err();
            assert!(error.starts_with(field), "{query}: {error}");
        }
        let long = format!("origin={}&path=/x", "a".repeat(Origin::MAX_LEN + 1));
        assert!(CallSpec::from_query(&long)
            .unwrap_err()
            .starts_with("origin"));
    }

    #[test]
    fn the_org_routes_are_found_by_path() {
        let routes = DeclaredRoutes::org();
        assert!(routes
            .policy("/api/v1/users/me")
            .is_some_and(|p| p.accepts_bearer_from_any_origin()));
        assert!(routes
            .policy("/api/v1/users/00u1")
            .is_some_and(|p| !p.accepts_bearer_from_any_origin()));
        assert!(routes
            .policy(EXPLAIN_PATH)
            .is_some_and(RouteCors::accepts_any_origin));
        assert!(routes.policy("/api/v1/users").is_none());
        assert!(routes.policy("/api/v1/trustedOrigins").is_none());
    }
}
