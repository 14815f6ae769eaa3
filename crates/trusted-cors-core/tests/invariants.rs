//! The ARCHITECTURE.md invariants as named properties, over random registries (exact and wildcard
//! patterns, every scope, both statuses), random route policies and adversarial request headers
//! (arbitrary bytes, repeated headers, very long values, comma bombs), checked on the pure
//! decision (`decision_*`) and on the Tower stack (`tower_*`: `cors.guard()` around
//! `cors.route(policy)` around a handler that counts its calls). Every answer that grants access
//! is also put through the browser's CORS checks, written from the Fetch standard in
//! `support/fetch_cors_check.rs`, and every refusal must be one a browser refuses too.
//!
//! 10 000 cases per property; `PROPTEST_CASES=100000 cargo test -p trusted-cors-core --test
//! invariants` runs more. Failures are saved in `proptest-regressions/invariants.txt` (kept in
//! the repository) and replayed first on every run.

mod support;
#[path = "invariants/tower.rs"]
mod tower;

use std::sync::Arc;

use proptest::prelude::*;
use support::fetch_cors_check::{
    cors_check, parse_token_list, preflight_check, BrowserRequest, CredentialsMode, Failure,
    ResponseView,
};
use support::*;
use trusted_cors_core::decision::{decide, decide_reporting, Decision, RouteScope};
use trusted_cors_core::{
    Cors, CorsConfig, Registry, RejectionKind, ReplyValue, RequestFacts, RouteCors,
};

const REGRESSIONS: &str = "proptest-regressions/invariants.txt";

/// A world made concrete: its registry, config and policy.
struct Ctx {
    world: World,
    registry: Arc<Registry>,
    accepted: Vec<bool>,
    config: CorsConfig,
    policy: RouteCors,
}

impl Ctx {
    /// `None` when the policy builder refuses the world's policy.
    fn new(world: &World) -> Option<Ctx> {
        let policy = world.policy()?;
        let (registry, accepted) = world.registry();
        Some(Ctx {
            world: world.clone(),
            registry: Arc::new(registry),
            accepted,
            config: world.config(),
            policy,
        })
    }

    fn trusted(&self, origin: &[u8]) -> bool {
        self.world.trusted(&self.accepted, origin)
    }

    /// The decision in the three places it is made: before routing, on the route as declared by
    /// the world (undeclared, server-side only, or its CORS policy).
    fn decisions<'a>(&'a self, facts: &RequestFacts<'a>) -> [(Where, Decision<'a>); 2] {
        let snapshot = self.registry.snapshot();
        let route = match self.world.route {
            RouteKind::Undeclared => RouteScope::Undeclared,
            _ => RouteScope::Declared(&self.policy),
        };
        [
            (
                Where::Unrouted,
                decide(facts, &self.config, RouteScope::Unrouted, &snapshot),
            ),
            (Where::Route, decide(facts, &self.config, route, &snapshot)),
        ]
    }

    /// Whether a request header name is allowed by the world's policy, by ARCHITECTURE.md's rules:
    /// listed (any case), or any header but `authorization` under `*`, or `authorization` for
    /// a route that accepts bearer tokens from any origin.
    fn policy_allows_header(&self, name: &[u8]) -> bool {
        let p = &self.world.policy;
        let authorization = name.eq_ignore_ascii_case(b"authorization");
        p.headers
            .iter()
            .any(|h| *h != "*" && h.as_bytes().eq_ignore_ascii_case(name))
            || (authorization && p.bearer_any)
            || (!authorization && (p.any_header || p.headers.contains(&"*")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Unrouted,
    Route,
}

/// `(Allow-Origin, Allow-Credentials)` of an answer that grants access.
fn granted<'a>(decision: &Decision<'a>) -> Option<(&'a str, bool)> {
    match decision {
        Decision::Preflight(a) => Some((a.allow_origin, a.allow_credentials)),
        Decision::Allow(h) => Some((h.allow_origin, h.allow_credentials)),
        _ => None,
    }
}

fn is_cross_origin(decision: &Decision<'_>) -> bool {
    !matches!(decision, Decision::NotCors | Decision::SameOrigin)
}

/// A serialized origin as browsers send it: lowercase scheme and host, `://`, no path, no
/// userinfo, no whitespace, no default port.
fn looks_serialized(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    let bad_byte =
        |b: u8| matches!(b, b'/' | b'@' | b'?' | b'#') || b.is_ascii_uppercase() || b <= b' ';
    let scheme_byte = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b);
    scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase())
        && scheme.bytes().all(scheme_byte)
        && !rest.is_empty()
        && !rest.bytes().any(bad_byte)
        && (default_port.is_empty() || !rest.ends_with(default_port))
}

fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| support::fetch_cors_check::is_tchar(*b))
}

/// The response headers of a decision that grants access, as the layers would send them.
fn response_of(decision: &Decision<'_>, origin: &[u8]) -> ResponseView {
    let mut view = ResponseView::default();
    match decision {
        Decision::Preflight(answer) => {
            let reply = answer.reply();
            view.status = reply.status();
            for (name, value) in reply.header_values() {
                let bytes = match value {
                    ReplyValue::Bytes(bytes) => bytes.to_vec(),
                    // The layers echo the request's own `Origin`.
                    _ => origin.to_vec(),
                };
                view.headers.push((name.to_owned(), bytes));
            }
        }
        Decision::Allow(h) => {
            view.status = 200;
            view.headers.push((
                "access-control-allow-origin".into(),
                h.allow_origin.as_bytes().to_vec(),
            ));
            if h.allow_credentials {
                view.headers
                    .push(("access-control-allow-credentials".into(), b"true".to_vec()));
            }
            if let Some(expose) = &h.expose_headers {
                view.headers
                    .push(("access-control-expose-headers".into(), expose.to_vec()));
            }
        }
        _ => {}
    }
    view
}

/// The browser's view of a preflight: the actual request it announces.
fn announced<'a>(req: &'a Req, credentials: CredentialsMode) -> Option<BrowserRequest<'a>> {
    Some(BrowserRequest {
        origin: req.single_origin()?,
        method: req.preflight_method()?,
        unsafe_header_names: req.requested_headers(),
        credentials,
    })
}

/// The browser's judgment of an answer that grants access: with credentials when the answer
/// allows them, and without. `cookies` is whether the actual request carried cookies (so its
/// credentials mode was "include").
fn browser_verdict(
    req: &Req,
    response: &ResponseView,
    preflight: bool,
    credentials_allowed: bool,
) -> Result<(), String> {
    let modes: &[CredentialsMode] = if credentials_allowed {
        &[CredentialsMode::Include, CredentialsMode::SameOrigin]
    } else {
        &[CredentialsMode::Omit]
    };
    for mode in modes {
        let result = if preflight {
            let request = announced(req, *mode).ok_or("not a preflight")?;
            preflight_check(&request, response, false).map(|_| ())
        } else {
            let request = BrowserRequest {
                origin: req.single_origin().ok_or("no single Origin")?,
                method: req.method.as_bytes(),
                unsafe_header_names: Vec::new(),
                credentials: *mode,
            };
            cors_check(&request, response)
        };
        result.map_err(|failure| format!("{mode:?}: {failure}"))?;
    }
    if let Some(expose) = response.get("access-control-expose-headers") {
        parse_token_list(&expose).map_err(|()| "Access-Control-Expose-Headers unparsable")?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config(REGRESSIONS))]

    /// The registry takes exactly the entries ARCHITECTURE.md allows: at least one scope, no
    /// plain-http wildcard with the CORS scope, one entry per canonical origin (normalised on input).
    #[test]
    fn decision_registry_takes_exactly_the_valid_entries(world in world()) {
        let (_, accepted) = world.registry();
        prop_assert_eq!(accepted, world.expected_accepted());
    }

    /// `Access-Control-Allow-Origin` is only ever the request's own single, serialized origin,
    /// never `*` nor `null`, and only on a declared CORS-enabled route.
    #[test]
    fn decision_allow_origin_is_the_exact_request_origin((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        for (place, decision) in c.decisions(&facts) {
            if let Some((origin, _)) = granted(&decision) {
                prop_assert_eq!(place, Where::Route);
                prop_assert!(world.cors_enabled());
                prop_assert_eq!(Some(origin.as_bytes()), req.single_origin());
                prop_assert!(origin != "*" && origin != "null");
                prop_assert!(looks_serialized(origin), "not a serialized origin: {:?}", origin);
            }
        }
    }

    /// `Access-Control-Allow-Credentials: true` only for an ACTIVE trusted origin with the CORS
    /// scope (by the oracle's own scan of the entries), on a route that allows cookies; and the
    /// decision's idea of "trusted" is the oracle's.
    #[test]
    fn decision_credentials_only_for_active_cors_trusted_origins((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        for (_, decision) in c.decisions(&facts) {
            match &decision {
                Decision::Allow(h) => {
                    let trusted = c.trusted(h.allow_origin.as_bytes());
                    prop_assert_eq!(h.trusted, trusted, "trust of {}", h.allow_origin);
                    prop_assert_eq!(h.allow_credentials, trusted && world.policy.credentials);
                }
                Decision::Preflight(a) => {
                    let trusted = c.trusted(a.allow_origin.as_bytes());
                    prop_assert_eq!(a.allow_credentials, trusted && world.policy.credentials);
                }
                _ => {}
            }
        }
    }

    /// An origin that is not trusted is reflected only on a route that accepts bearer tokens
    /// from any origin, never with credentials: an actual request with an allowed bearer-type
    /// `Authorization` and no cookies, or a preflight that asks for `authorization`; or on a
    /// route open to any origin, never with credentials, and for an actual request only without
    /// cookies.
    #[test]
    fn decision_untrusted_origins_are_reflected_only_for_bearer_calls((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        for (_, decision) in c.decisions(&facts) {
            let Some((origin, credentials)) = granted(&decision) else { continue };
            if c.trusted(origin.as_bytes()) {
                continue;
            }
            prop_assert!(!credentials);
            if world.policy.any_origin {
                if let Decision::Allow(_) = decision {
                    prop_assert!(req.cookie.is_empty());
                }
                continue;
            }
            prop_assert!(world.policy.bearer_any);
            match decision {
                Decision::Allow(_) => prop_assert!(
                    req.has_allowed_bearer(world.schemes()) && req.cookie.is_empty()
                ),
                _ => prop_assert!(req.requests_authorization()),
            }
        }
    }

    /// Report mode never weakens a rule left in enforce mode. With every rule reporting, the
    /// decision lists the rules that fire, in order; with any mix of modes, the request is
    /// refused by the first of them that is enforced (having reported the ones before it), and
    /// when none is enforced it gets exactly the all-reporting decision and reports. With every
    /// rule enforced (the default), it is refused by the first rule that fires.
    #[test]
    fn decision_report_mode_never_weakens_an_enforced_rule(
        (world, req) in case(),
        mask in 0u16..(1 << RejectionKind::ALL.len()),
    ) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        let snapshot = c.registry.snapshot();
        let reports = |kind: RejectionKind| {
            let bit = RejectionKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
            mask & (1 << bit) != 0
        };
        let all_reporting = world.config_reporting(|_| true);
        let chosen = world.config_reporting(reports);
        let route = match world.route {
            RouteKind::Undeclared => RouteScope::Undeclared,
            _ => RouteScope::Declared(&c.policy),
        };
        for scope in [RouteScope::Unrouted, route] {
            let mut fired = Vec::new();
            let all = decide_reporting(&facts, &all_reporting, scope, &snapshot, &mut fired);
            prop_assert!(fired.iter().all(|r| r.is_report_only()));
            // What report mode grants, a browser accepts: the request goes on as it would
            // without the rules.
            let origin = req.single_origin().unwrap_or_default();
            if let Some((_, credentials)) = granted(&all) {
                let preflight = matches!(all, Decision::Preflight(_));
                let response = response_of(&all, origin);
                browser_verdict(&req, &response, preflight, credentials).map_err(|e| {
                    TestCaseError::fail(format!("browser rejects a report-mode answer: {e}\n{response:?}"))
                })?;
            }
            let kinds: Vec<RejectionKind> = fired.iter().map(|r| r.kind()).collect();
            let mut reported = Vec::new();
            let decision = decide_reporting(&facts, &chosen, scope, &snapshot, &mut reported);
            let reported: Vec<RejectionKind> = reported.iter().map(|r| r.kind()).collect();
            match kinds.iter().position(|kind| !reports(*kind)) {
                Some(first) => {
                    prop_assert_eq!(decision.rejection().map(|r| r.kind()), Some(kinds[first]));
                    prop_assert!(!decision.rejection().is_some_and(|r| r.is_report_only()));
                    prop_assert_eq!(&reported[..], &kinds[..first]);
                }
                None => {
                    prop_assert_eq!(&decision, &all);
                    prop_assert_eq!(&reported, &kinds);
                }
            }
            let mut none = Vec::new();
            let enforced = decide_reporting(&facts, &c.config, scope, &snapshot, &mut none);
            prop_assert!(none.is_empty());
            match kinds.first() {
                Some(first) => {
                    prop_assert_eq!(enforced.rejection().map(|r| r.kind()), Some(*first));
                }
                None => prop_assert_eq!(&enforced, &all),
            }
        }
    }

    /// The explanation is the decision: the same outcome and reason; a refusal's last check is
    /// its rule, refused with the refusal's words; every other check passed or reported; each
    /// rule is checked at most once (the credential rule under one name).
    #[test]
    fn decision_explanations_are_the_decision((world, req) in case()) {
        use trusted_cors_core::explain::{explain, Outcome, Verdict};
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        let snapshot = c.registry.snapshot();
        let route = match world.route {
            RouteKind::Undeclared => RouteScope::Undeclared,
            _ => RouteScope::Declared(&c.policy),
        };
        let decision = decide(&facts, &c.config, route, &snapshot);
        let why = explain(&facts, &c.config, route, &snapshot);
        let expected = match &decision {
            // A socket the rules let open: browsers make no CORS check of it.
            Decision::Pass if facts.websocket => Outcome::Allowed,
            Decision::NotCors => Outcome::NotCors,
            Decision::SameOrigin => Outcome::SameOrigin,
            Decision::Preflight(_) | Decision::Allow(_) => Outcome::Allowed,
            Decision::Reject(_) => Outcome::Refused,
            _ => Outcome::Blocked,
        };
        prop_assert_eq!(why.outcome, expected);
        let credentials = match &decision {
            Decision::Pass if facts.websocket => !req.cookie.is_empty(),
            decision => granted(decision).map(|g| g.1).unwrap_or(false),
        };
        prop_assert_eq!(credentials, why.credentials);
        if matches!(expected, Outcome::NotCors | Outcome::SameOrigin) {
            prop_assert!(why.checks.is_empty());
        }
        if let Decision::Reject(rejection) = &decision {
            prop_assert_eq!(why.reason, Some(rejection.reason()));
            let last = why.checks.last().expect("the refusing rule is written down");
            prop_assert_eq!(last.rule, rejection.reason());
            prop_assert_eq!(last.verdict, Verdict::Refused);
            prop_assert_eq!(&last.finding, &rejection.cause());
        }
        let settled = why.checks.len() - usize::from(expected != Outcome::Allowed && !why.checks.is_empty());
        for check in &why.checks[..settled] {
            prop_assert!(matches!(check.verdict, Verdict::Passed | Verdict::Reported), "{:?}", why);
        }
        let mut rules: Vec<&str> = why.checks.iter().map(|c| c.rule).collect();
        rules.sort_unstable();
        let before = rules.len();
        rules.dedup();
        prop_assert_eq!(before, rules.len(), "a rule checked twice: {:?}", why);
    }

    /// The converse: a trusted origin (exact or wildcard, ACTIVE, CORS scope) reading a
    /// CORS-enabled route with a plain GET or HEAD gets its answer.
    #[test]
    fn decision_trusted_origins_are_served((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        let Some(origin) = req.single_origin() else { return Ok(()) };
        let plain_read = matches!(req.method.as_str(), "GET" | "HEAD") && req.authorization.is_empty();
        if !(world.cors_enabled() && plain_read && c.trusted(origin)) {
            return Ok(());
        }
        let [_, (_, decision)] = c.decisions(&facts);
        if is_cross_origin(&decision) {
            prop_assert!(
                matches!(&decision, Decision::Allow(h) if h.trusted
                    && h.allow_credentials == world.policy.credentials),
                "trusted origin {:?} not served: {:?}", String::from_utf8_lossy(origin), decision
            );
        }
    }

    /// `SSWS` API tokens, `Basic` and every scheme that is not an allowed bearer-type one never
    /// pass cross-origin, wherever the decision is made: `api_token_cross_origin` for `SSWS`,
    /// `credential_scheme_not_allowed` otherwise (several `Authorization` headers included).
    #[test]
    fn decision_foreign_credentials_never_cross_origin((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        for (_, decision) in c.decisions(&facts) {
            if !is_cross_origin(&decision) || !req.has_foreign_credential(world.schemes()) {
                continue;
            }
            let kind = decision.rejection().map(|r| r.kind());
            let expected = if req.is_api_token() {
                RejectionKind::ApiTokenCrossOrigin
            } else {
                RejectionKind::CredentialSchemeNotAllowed
            };
            prop_assert_eq!(kind, Some(expected), "{:?}", decision);
        }
    }

    /// A cross-origin unsafe method from an origin that is not an ACTIVE CORS-scoped trusted
    /// origin, without an allowed bearer token (or with cookies besides), is refused before
    /// routing, unless the path is exempt for cross-site form posts.
    #[test]
    fn decision_untrusted_cross_origin_writes_are_refused((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        let trusted = req.single_origin().is_some_and(|o| c.trusted(o));
        let bearer_only = req.has_allowed_bearer(world.schemes()) && req.cookie.is_empty();
        // A handshake (HTTP/2's `CONNECT`) is judged by its own rule (below).
        if req.is_safe_method() || req.is_handshake() || trusted || bearer_only || req.is_form_post_path() {
            return Ok(());
        }
        for (_, decision) in c.decisions(&facts) {
            if !is_cross_origin(&decision) {
                continue;
            }
            let kind = decision.rejection().map(|r| r.kind());
            if req.has_foreign_credential(world.schemes()) {
                prop_assert!(kind.is_some(), "{:?}", decision);
            } else {
                prop_assert_eq!(kind, Some(RejectionKind::UntrustedCrossOriginWrite), "{:?}", decision);
            }
        }
    }

    /// A cross-origin WebSocket handshake from an origin that is not an ACTIVE CORS-scoped
    /// trusted origin (by the oracle's own scan; `null`, malformed and several `Origin` headers
    /// included) is refused wherever it is judged, with or without cookies, unless the route
    /// declared its socket open to any origin (then only a foreign credential refuses it); one
    /// from a trusted origin is never refused by the WebSocket rule; and a request that is not
    /// a handshake never is.
    #[test]
    fn decision_websocket_handshakes_only_from_trusted_origins((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        prop_assert_eq!(facts.websocket, req.is_handshake());
        let trusted = req.single_origin().is_some_and(|o| c.trusted(o));
        for (place, decision) in c.decisions(&facts) {
            let kind = decision.rejection().map(|r| r.kind());
            if !req.is_handshake() || trusted {
                prop_assert_ne!(kind, Some(RejectionKind::WebSocketOriginNotTrusted));
                continue;
            }
            if !is_cross_origin(&decision) {
                continue;
            }
            let open = place == Where::Route && world.route == RouteKind::Cors && world.policy.socket;
            if req.has_foreign_credential(world.schemes()) {
                prop_assert!(kind.is_some(), "{:?}", decision);
            } else if open {
                prop_assert_eq!(&decision, &Decision::Pass);
            } else {
                prop_assert_eq!(kind, Some(RejectionKind::WebSocketOriginNotTrusted), "{:?}", decision);
            }
        }
    }

    /// A preflight (OPTIONS, cross-origin, one valid Access-Control-Request-Method) is answered
    /// only by a declared CORS-enabled route: before routing it waits for one (or is refused by a
    /// global rule); a route that declared nothing or is server-side only refuses it.
    #[test]
    fn decision_preflights_are_answered_only_by_cors_routes((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        let is_preflight = req.preflight_method().is_some_and(is_token);
        for (place, decision) in c.decisions(&facts) {
            if !is_cross_origin(&decision) {
                continue;
            }
            if matches!(decision, Decision::DeferPreflight | Decision::Preflight(_)) {
                prop_assert!(is_preflight);
            }
            if !is_preflight {
                continue;
            }
            match (place, world.cors_enabled()) {
                (Where::Unrouted, _) => prop_assert!(
                    matches!(decision, Decision::DeferPreflight | Decision::Reject(_)),
                    "{:?}", decision
                ),
                (Where::Route, false) => prop_assert!(
                    matches!(decision, Decision::Reject(_)), "{:?}", decision
                ),
                (Where::Route, true) => prop_assert!(
                    matches!(decision, Decision::Preflight(_) | Decision::Reject(_)), "{:?}", decision
                ),
            }
        }
    }

    /// An answered preflight asked only for what the policy allows (methods byte for byte,
    /// headers by name in any case, `authorization` only by name), lists `authorization` by name
    /// when it was asked for, answers `*` only as the echo of a requested header named `*`, sends the policy's max-age, and
    /// never answers a request-headers list past the limits (64 names, 4096 bytes).
    #[test]
    fn decision_preflight_answers_cover_exactly_what_was_asked((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        let [_, (_, decision)] = c.decisions(&facts);
        let Decision::Preflight(answer) = &decision else { return Ok(()) };
        let method = req.preflight_method().expect("a preflight");
        prop_assert!(world.policy.methods.iter().any(|m| m.as_bytes() == method));
        if let [acrh] = req.acrh.as_slice() {
            prop_assert!(acrh.len() <= 4096);
            prop_assert!(acrh.split(|b| *b == b',').count() <= 64);
        }
        for name in req.requested_headers() {
            prop_assert!(c.policy_allows_header(name), "{:?} not allowed", String::from_utf8_lossy(name));
        }
        let allow_headers: &[u8] = answer.allow_headers.as_deref().map_or(b"", |h| h);
        let listed = parse_token_list(allow_headers).map_err(|()| {
            TestCaseError::fail(format!("Allow-Headers unparsable: {allow_headers:?}"))
        })?;
        // `*` is only ever the echo of a requested header named `*` on a route that allows any
        // header (browsers read it as a wildcard without credentials, which grants no more than
        // the policy: any header but `authorization`).
        if listed.iter().any(|h| h == b"*") {
            prop_assert!(world.policy.any_header || world.policy.headers.contains(&"*"));
            prop_assert!(req.requested_headers().contains(&&b"*"[..]));
        }
        if req.requests_authorization() {
            prop_assert!(listed.iter().any(|h| h.eq_ignore_ascii_case(b"authorization")));
        }
        let max_age = world.policy.max_age.to_string();
        prop_assert_eq!(&answer.max_age[..], max_age.as_bytes());
    }

    /// Every refusal names a reason: a stable code, a cause in words, status 403, a printable
    /// origin; its response carries no `Allow-Origin`/`-Credentials` (so every browser refuses
    /// it), varies on `Origin` (and for a preflight on the request method and headers), and has
    /// the Okta-style JSON body.
    #[test]
    fn decision_every_refusal_has_a_reason((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        let cors = Cors::new(c.config.clone(), Registry::new());
        for (_, decision) in c.decisions(&facts) {
            let Decision::Reject(rejection) = decision else { continue };
            prop_assert!(RejectionKind::ALL.contains(&rejection.kind()));
            prop_assert_eq!(rejection.reason(), rejection.kind().code());
            prop_assert!(!rejection.cause().trim().is_empty());
            prop_assert_eq!(rejection.status(), 403);
            prop_assert!(!rejection.origin().chars().any(char::is_control));
            let reply = cors.refuse(rejection.clone());
            prop_assert_eq!(reply.status(), 403);
            let headers: Vec<(&str, Vec<u8>)> = reply
                .header_values()
                .map(|(n, v)| (n, match v { ReplyValue::Bytes(b) => b.to_vec(), _ => Vec::new() }))
                .collect();
            prop_assert!(!headers.iter().any(|(n, _)| n.starts_with("access-control-allow-")));
            let vary: Vec<String> = headers
                .iter()
                .filter(|(n, _)| *n == "vary")
                .flat_map(|(_, v)| String::from_utf8_lossy(v).split(',').map(|s| s.trim().to_ascii_lowercase()).collect::<Vec<_>>())
                .collect();
            prop_assert!(vary.iter().any(|v| v == "origin"));
            if rejection.is_preflight() {
                prop_assert!(vary.iter().any(|v| v == "access-control-request-method"));
                prop_assert!(vary.iter().any(|v| v == "access-control-request-headers"));
            }
            let body: serde_json::Value = serde_json::from_slice(reply.body_bytes())
                .map_err(|e| TestCaseError::fail(format!("body is not JSON: {e}")))?;
            prop_assert_eq!(&body["errorCode"], "E0000006");
            prop_assert!(body["errorCauses"][0]["errorSummary"].as_str().is_some_and(|s| !s.is_empty()));
        }
    }

    /// Requests without `Origin` are not CORS requests, except unsafe ones whose
    /// `Sec-Fetch-Site` names another site, which are refused unless they carry a bearer token
    /// and no cookies (or go to a form-post path); `Sec-Fetch-Site: same-origin` and `none` pass
    /// untouched; `cross-site` and `same-site` with an `Origin` are always judged cross-origin,
    /// whatever `Host` says.
    #[test]
    fn decision_classifies_same_and_cross_origin((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        for (_, decision) in c.decisions(&facts) {
            if req.origin.is_empty() {
                match req.sec_fetch_site() {
                    // Judged as a write from an origin that cannot be trusted.
                    Some(b"cross-site" | b"same-site") if !req.is_safe_method() => {
                        prop_assert!(is_cross_origin(&decision), "{:?}", decision);
                        prop_assert!(!matches!(decision, Decision::Allow(_) | Decision::Preflight(_)));
                    }
                    _ => prop_assert_eq!(&decision, &Decision::NotCors),
                }
                continue;
            }
            match req.sec_fetch_site() {
                Some(b"same-origin" | b"none") => prop_assert_eq!(&decision, &Decision::SameOrigin),
                Some(b"cross-site" | b"same-site") => prop_assert!(is_cross_origin(&decision)),
                _ => {}
            }
        }
    }

    /// Differential against the Fetch standard: a browser accepts every answer that grants
    /// access (with credentials when it sends `Allow-Credentials`, and without), reads the
    /// preflight's max-age as the policy's, and refuses every refusal.
    #[test]
    fn decision_browsers_accept_every_allowed_answer((world, req) in case()) {
        let Some(c) = Ctx::new(&world) else { return Ok(()) };
        let facts = req.facts();
        let cors = Cors::new(c.config.clone(), Registry::new());
        for (_, decision) in c.decisions(&facts) {
            let origin = req.single_origin().unwrap_or_default();
            match &decision {
                Decision::Preflight(answer) => {
                    let response = response_of(&decision, origin);
                    browser_verdict(&req, &response, true, answer.allow_credentials)
                        .map_err(|e| TestCaseError::fail(format!("browser rejects the preflight answer: {e}\n{response:?}")))?;
                    let request = announced(&req, CredentialsMode::Omit).expect("a preflight");
                    let outcome = preflight_check(&request, &response, false).expect("accepted above");
                    prop_assert_eq!(outcome.max_age, Some(world.policy.max_age));
                    if !answer.allow_credentials {
                        let request = announced(&req, CredentialsMode::Include).expect("a preflight");
                        prop_assert!(preflight_check(&request, &response, false).is_err());
                    }
                }
                Decision::Allow(headers) => {
                    let response = response_of(&decision, origin);
                    browser_verdict(&req, &response, false, headers.allow_credentials)
                        .map_err(|e| TestCaseError::fail(format!("browser rejects the answer: {e}\n{response:?}")))?;
                    // A request that carried cookies had credentials mode "include": the browser
                    // lets the page read the answer only if it allows credentials. The one answer
                    // that does not is by design: a trusted origin on a route without cookies.
                    if !req.cookie.is_empty() && !headers.allow_credentials {
                        prop_assert!(headers.trusted && !world.policy.credentials);
                    }
                }
                Decision::Reject(rejection) => {
                    let reply = cors.refuse(rejection.clone());
                    let response = ResponseView {
                        status: reply.status(),
                        headers: reply.headers().map(|(n, v)| (n.to_owned(), v.to_vec())).collect(),
                    };
                    let request = BrowserRequest {
                        origin,
                        method: req.method.as_bytes(),
                        unsafe_header_names: Vec::new(),
                        credentials: CredentialsMode::Omit,
                    };
                    prop_assert_eq!(cors_check(&request, &response), Err(Failure::NoAllowOrigin));
                }
                _ => {}
            }
        }
    }
}
