//! The invariants on the Tower stack (`tower_*`): `cors.guard()` around `cors.route(policy)`
//! around a handler that counts its calls.

use super::*;

/// What the Tower stack must do, from the decision on the same request (the values `http` can
/// carry).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// Refused with this reason; the handler does not run.
    Refuse(RejectionKind),
    /// A preflight passed on by the guard to a route that declared nothing: refused with
    /// `route_not_cors_enabled` after the application answered.
    RefuseAfterwards,
    /// The route answers the preflight itself.
    Answer {
        credentials: bool,
        methods: Vec<u8>,
        headers: Option<Vec<u8>>,
        max_age: Vec<u8>,
    },
    /// The handler runs and the route adds these headers.
    Allow {
        credentials: bool,
        trusted: bool,
        expose: Option<Vec<u8>>,
    },
    /// The handler runs; nothing but `Vary` is added.
    Pass { cross_origin: bool },
}

/// One request through the Tower stack, with what the decision says about it.
struct TowerCase {
    c: Ctx,
    sent: Req,
    expect: Expect,
    seen: Observed,
}

impl TowerCase {
    fn run(world: &World, req: &Req) -> Option<TowerCase> {
        let c = Ctx::new(world)?;
        let (request, sent) = req.to_http()?;
        let facts = sent.facts();
        let [(_, unrouted), (_, routed)] = c.decisions(&facts);
        // A handshake the guard refuses is deferred to the route while a route is declared
        // open to any origin: the route's decision is then the one sent.
        let deferred = world.route == RouteKind::Cors
            && world.policy.socket
            && unrouted.rejection().map(|r| r.kind())
                == Some(RejectionKind::WebSocketOriginNotTrusted);
        let unrouted = if deferred { Decision::Pass } else { unrouted };
        let expect = match (unrouted, routed, world.route) {
            (Decision::Reject(r), _, _)
            | (_, Decision::Reject(r), RouteKind::ServerSideOnly | RouteKind::Cors) => {
                Expect::Refuse(r.kind())
            }
            (Decision::DeferPreflight, _, RouteKind::Undeclared) => Expect::RefuseAfterwards,
            (_, Decision::Preflight(a), _) => Expect::Answer {
                credentials: a.allow_credentials,
                methods: a.allow_methods.to_vec(),
                headers: a.allow_headers.as_ref().map(|h| h.to_vec()),
                max_age: a.max_age.to_vec(),
            },
            (_, Decision::Allow(h), _) => Expect::Allow {
                credentials: h.allow_credentials,
                trusted: h.trusted,
                expose: h.expose_headers.as_ref().map(|e| e.to_vec()),
            },
            (unrouted, _, _) => Expect::Pass {
                cross_origin: is_cross_origin(&unrouted),
            },
        };
        let cors = Cors::new(c.config.clone(), Arc::clone(&c.registry));
        let seen = run_tower(world, &cors, &c.policy, request);
        Some(TowerCase {
            c,
            sent,
            expect,
            seen,
        })
    }

    /// Whether the layers decided the CORS headers of this response (rather than passing the
    /// application's own through untouched).
    fn layers_own_cors_headers(&self) -> bool {
        !self.c.world.app_sets_cors
            || matches!(
                self.expect,
                Expect::Refuse(_)
                    | Expect::RefuseAfterwards
                    | Expect::Answer { .. }
                    | Expect::Allow { .. }
            )
            || (self.c.world.cors_enabled()
                && matches!(self.expect, Expect::Pass { cross_origin: true })
                // A socket a route took as open to any origin: its answer is no CORS grant.
                && !self.sent.is_handshake())
    }
}

proptest! {
    #![proptest_config(proptest_config(REGRESSIONS))]

    /// The Tower stack is a translation of the decision: the same refusals (before the handler),
    /// the same preflight answers (without the handler), the same headers on allowed requests
    /// (replacing what the application set), and nothing added to what passes.
    #[test]
    fn tower_agrees_with_the_decision((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        let seen = &t.seen;
        let origin = t.sent.single_origin();
        match &t.expect {
            Expect::Refuse(kind) => {
                prop_assert_eq!(seen.status, 403);
                prop_assert_eq!(seen.rejection.as_ref().map(|r| r.kind()), Some(*kind));
                prop_assert_eq!(seen.handled, 0);
            }
            Expect::RefuseAfterwards => {
                prop_assert_eq!(seen.status, 403);
                prop_assert_eq!(seen.rejection.as_ref().map(|r| r.kind()), Some(RejectionKind::RouteNotCorsEnabled));
            }
            Expect::Answer { credentials, methods, headers, max_age } => {
                prop_assert_eq!(seen.status, 204);
                prop_assert_eq!(seen.handled, 0);
                prop_assert_eq!(seen.all("access-control-allow-origin"), vec![origin.expect("one origin")]);
                prop_assert_eq!(seen.one("access-control-allow-credentials").is_some(), *credentials);
                prop_assert_eq!(seen.one("access-control-allow-methods"), Some(&methods[..]));
                prop_assert_eq!(seen.one("access-control-allow-headers"), headers.as_deref());
                prop_assert_eq!(seen.one("access-control-max-age"), Some(&max_age[..]));
            }
            Expect::Allow { credentials, expose, .. } => {
                prop_assert_eq!(seen.status, 200);
                prop_assert_eq!(seen.handled, 1);
                prop_assert_eq!(seen.all("access-control-allow-origin"), vec![origin.expect("one origin")]);
                let acac = seen.all("access-control-allow-credentials");
                prop_assert_eq!(acac, if *credentials { vec![&b"true"[..]] } else { vec![] });
                prop_assert_eq!(seen.one("access-control-expose-headers"), expose.as_deref());
            }
            Expect::Pass { .. } => {
                prop_assert_eq!(seen.status, 200);
                prop_assert_eq!(seen.handled, 1);
                prop_assert!(seen.rejection.is_none());
                if !world.app_sets_cors {
                    prop_assert!(seen.one("access-control-allow-origin").is_none());
                    prop_assert!(seen.one("access-control-allow-credentials").is_none());
                }
            }
        }
    }

    /// No application code runs for a refusal made before routing or by a declared route, nor
    /// for a preflight a declared route answers or refuses. (A preflight to a route that declared
    /// nothing still reaches the application today; see the ignored property below.)
    #[test]
    fn tower_handlers_never_run_for_refusals_or_preflights((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        let seen = &t.seen;
        if seen.status == 204 || matches!(t.expect, Expect::Refuse(_)) {
            prop_assert_eq!(seen.handled, 0);
        }
        if let Some(rejection) = &seen.rejection {
            let deferred = world.route == RouteKind::Undeclared
                && rejection.kind() == RejectionKind::RouteNotCorsEnabled;
            if !deferred {
                prop_assert_eq!(seen.handled, 0, "handler ran for {}", rejection.reason());
            }
        }
        let cross = !matches!(t.expect, Expect::Pass { cross_origin: false });
        if world.route != RouteKind::Undeclared && cross && t.sent.preflight_method().is_some_and(is_token) {
            prop_assert_eq!(seen.handled, 0, "handler ran for a preflight to a declared route");
        }
    }

    /// Pins the deployment caveat of SECURITY.md: before routing the guard cannot know whether a
    /// route will answer a preflight, so a preflight to a route that declared nothing reaches the
    /// application (once at most), and the application's answer is replaced by the refusal: no
    /// CORS grant, whatever the application set.
    #[test]
    fn tower_preflights_to_undeclared_routes_are_refused_after_the_application((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        let cross = !matches!(t.expect, Expect::Pass { cross_origin: false });
        if world.route == RouteKind::Undeclared && cross && t.sent.preflight_method().is_some_and(is_token) {
            prop_assert!(t.seen.handled <= 1);
            prop_assert!(t.seen.one("access-control-allow-origin").is_none());
            prop_assert!(t.seen.one("access-control-allow-credentials").is_none());
            prop_assert_ne!(t.seen.status, 204);
        }
    }

    /// `Allow-Origin` is never `*` and never doubled; `Allow-Credentials` only with the exact
    /// origin of an ACTIVE CORS-scoped trusted origin on a route that allows cookies, even when
    /// the application sets `*` and `true` itself; an untrusted origin only without credentials
    /// on a bearer-from-any-origin route.
    #[test]
    fn tower_never_grants_wildcards_or_untrusted_credentials((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        if !t.layers_own_cors_headers() {
            return Ok(());
        }
        let seen = &t.seen;
        let acao = seen.all("access-control-allow-origin");
        let acac = seen.one("access-control-allow-credentials");
        prop_assert!(acao.len() <= 1);
        match acao.first() {
            None => prop_assert!(acac.is_none()),
            Some(acao) => {
                prop_assert_ne!(*acao, b"*");
                prop_assert_eq!(Some(*acao), t.sent.single_origin());
                let trusted = t.c.trusted(acao);
                if acac.is_some() {
                    prop_assert_eq!(acac, Some(&b"true"[..]));
                    prop_assert!(trusted && world.policy.credentials);
                }
                if !trusted {
                    prop_assert!(
                        (world.policy.bearer_any || world.policy.any_origin) && acac.is_none()
                    );
                }
            }
        }
    }

    /// An `SSWS` API token, `Basic` or any other scheme that is not an allowed bearer-type one,
    /// from another origin, never reaches a handler, on any route.
    #[test]
    fn tower_foreign_credentials_never_reach_a_handler((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        let cross = !matches!(t.expect, Expect::Pass { cross_origin: false });
        if !cross || !t.sent.has_foreign_credential(world.schemes()) {
            return Ok(());
        }
        let seen = &t.seen;
        prop_assert_eq!(seen.handled, 0);
        prop_assert_eq!(seen.status, 403);
        prop_assert!(seen.one("access-control-allow-origin").is_none());
        let expected = if t.sent.is_api_token() {
            RejectionKind::ApiTokenCrossOrigin
        } else {
            RejectionKind::CredentialSchemeNotAllowed
        };
        prop_assert_eq!(seen.rejection.as_ref().map(|r| r.kind()), Some(expected));
    }

    /// `Vary: Origin` on every response whose outcome depends on `Origin`: every response of a
    /// declared route, every refusal, every preflight answer (refusals of preflights and answers
    /// also vary on the request method and headers); appended after the application's own
    /// `Vary`, never replacing it.
    #[test]
    fn tower_vary_origin_wherever_the_outcome_depends_on_it((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        let seen = &t.seen;
        let vary = seen.vary();
        let has = |item: &str| vary.iter().any(|v| v == item || v == "*");
        if seen.handled > 0 && seen.rejection.is_none() {
            prop_assert_eq!(vary.first().map(String::as_str), Some("accept-encoding"), "the application's Vary first");
        }
        if world.route != RouteKind::Undeclared || seen.rejection.is_some() || seen.status == 204 {
            prop_assert!(has("origin"), "no Vary: Origin: {:?} {:?}", t.expect, vary);
        }
        let preflight_refusal = seen.rejection.as_ref().is_some_and(|r| r.is_preflight());
        if seen.status == 204 || preflight_refusal {
            prop_assert!(has("access-control-request-method") && has("access-control-request-headers"), "{:?}", vary);
        }
    }

    /// A response of a route that declared nothing, to an unsafe method, depends on `Origin`
    /// (an untrusted origin would have been refused) and varies on it.
    #[test]
    fn tower_vary_origin_on_undeclared_routes_for_unsafe_methods((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        if world.route == RouteKind::Undeclared && !req.is_safe_method() && !t.sent.origin.is_empty() {
            prop_assert!(t.seen.vary().iter().any(|v| v == "origin"), "{:?}", t.seen.vary());
        }
    }

    /// Differential against the Fetch standard, on the responses the stack sends: a browser
    /// accepts every answer the layers grant (a preflight answer for the actual request it
    /// announced; an actual response for its credentials mode) and refuses every refusal.
    #[test]
    fn tower_browsers_accept_every_allowed_answer((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        if !t.layers_own_cors_headers() {
            return Ok(());
        }
        let seen = &t.seen;
        let response = ResponseView { status: seen.status, headers: seen.headers.iter().map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())).collect() };
        let credentials = seen.one("access-control-allow-credentials").is_some();
        match &t.expect {
            Expect::Answer { .. } => {
                browser_verdict(&t.sent, &response, true, credentials)
                    .map_err(|e| TestCaseError::fail(format!("browser rejects the preflight answer: {e}\n{response:?}")))?;
            }
            Expect::Allow { credentials: allowed, trusted, .. } => {
                browser_verdict(&t.sent, &response, false, credentials)
                    .map_err(|e| TestCaseError::fail(format!("browser rejects the answer: {e}\n{response:?}")))?;
                if !t.sent.cookie.is_empty() && !*allowed {
                    // Credentials mode "include" on a route without cookies: by design.
                    prop_assert!(*trusted && !world.policy.credentials);
                }
            }
            Expect::Refuse(_) | Expect::RefuseAfterwards => {
                let request = BrowserRequest {
                    origin: t.sent.single_origin().unwrap_or_default(),
                    method: t.sent.method.as_bytes(),
                    unsafe_header_names: Vec::new(),
                    credentials: CredentialsMode::Omit,
                };
                prop_assert_eq!(cors_check(&request, &response), Err(Failure::NoAllowOrigin));
            }
            Expect::Pass { .. } => {}
        }
    }

    /// Every refusal the stack sends explains itself: 403, the rejection in the response
    /// extensions, the Okta-style JSON body naming the cause, and `X-Trusted-Cors-Reason` exactly
    /// when diagnostics are on.
    #[test]
    fn tower_refusals_explain_themselves((world, req) in case()) {
        let Some(t) = TowerCase::run(&world, &req) else { return Ok(()) };
        let seen = &t.seen;
        if matches!(t.expect, Expect::Refuse(_) | Expect::RefuseAfterwards) {
            prop_assert!(seen.rejection.is_some());
        }
        let Some(rejection) = &seen.rejection else { return Ok(()) };
        prop_assert_eq!(seen.status, 403);
        let body: serde_json::Value = serde_json::from_slice(&seen.body)
            .map_err(|e| TestCaseError::fail(format!("body is not JSON: {e}")))?;
        prop_assert_eq!(&body["errorCode"], "E0000006");
        prop_assert!(body["errorSummary"].as_str().is_some_and(|s| !s.is_empty()));
        let cause = rejection.cause();
        prop_assert_eq!(body["errorCauses"][0]["errorSummary"].as_str(), Some(cause.as_str()));
        let reason = seen.one("x-trusted-cors-reason");
        prop_assert_eq!(reason, world.diagnostics.then_some(rejection.reason().as_bytes()));
    }
}
