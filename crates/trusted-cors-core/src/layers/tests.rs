use super::*;
use crate::decision::{Decision, RouteScope};
use crate::request::RequestFacts;
use crate::{CorsConfig, NewTrustedOrigin, Registry, RouteCors, RuleMode, ScopeType};
use http::{HeaderMap, HeaderValue};

/// The Tower route layer sends a route's preflight answer as the decision gives it: the headers
/// of [`PreflightAnswer::reply`](crate::decision::PreflightAnswer::reply), header for header and in
/// the same order, the request's `Origin` echoed; a refusal for a refusal.
#[test]
fn the_route_sends_the_decisions_answers() {
    let registry = Registry::with_origins([NewTrustedOrigin::new(
        "App",
        "https://app.example.com",
        [ScopeType::Cors],
    )])
    .unwrap();
    let cors = Cors::new(CorsConfig::default(), registry);
    let policies = [
        RouteCors::default(),
        RouteCors::builder().credentials(false).build().unwrap(),
        RouteCors::builder()
            .allow_methods(["GET", "PUT"])
            .allow_any_header()
            .bearer_from_any_origin()
            .build()
            .unwrap(),
        RouteCors::builder()
            .allow_headers(["content-type", "authorization"])
            .bearer_from_any_origin()
            .build()
            .unwrap(),
    ];
    let requests: [&[(&str, &str)]; 4] = [
        &[("access-control-request-method", "GET")],
        &[
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "content-type"),
        ],
        &[
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", " x-a , authorization"),
        ],
        &[
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "authorization"),
        ],
    ];
    let mut answered = 0;
    for policy in policies {
        let route = cors.declare::<HeaderMap>(policy.clone());
        for origin in ["https://app.example.com", "https://elsewhere.example"] {
            for request in requests {
                let mut headers = HeaderMap::new();
                headers.insert("origin", HeaderValue::from_static(origin));
                for (name, value) in request {
                    headers.insert(*name, HeaderValue::from_static(value));
                }
                let facts = RequestFacts::read("OPTIONS", "/x", None, &headers);
                let decision = cors.decide(&facts, RouteScope::Declared(&policy));
                let step = route.handle("OPTIONS", "/x", None, &headers);
                match (decision, step) {
                    (Decision::Preflight(answer), RouteStep::Preflight(_)) => {
                        let expected = answer.reply();
                        let mut want = HeaderMap::new();
                        expected.write_headers(&mut want, Some(&headers));
                        let response = tower_answer(&cors, &policy, &headers);
                        assert_eq!(response.status(), 204);
                        assert_eq!(
                            response.headers().iter().collect::<Vec<_>>(),
                            want.iter().collect::<Vec<_>>()
                        );
                        assert!(response.extensions().get::<RouteAnswered>().is_some());
                        answered += 1;
                    }
                    (Decision::Reject(rejection), RouteStep::Answer(reply)) => {
                        assert_eq!(
                            reply.rejection().map(Rejection::kind),
                            Some(rejection.kind())
                        );
                    }
                    (decision, step) => panic!("{decision:?} but {step:?}"),
                }
            }
        }
    }
    assert!(answered >= 8, "{answered} preflights answered");
}

/// In report mode, a preflight from an origin that is not trusted gets the route's usual answer
/// and, last, the report header.
#[test]
fn a_usual_answer_in_report_mode_carries_the_report_last() {
    let got = answered_in_report_mode(&[crate::RejectionKind::OriginNotTrusted], None, true);
    assert_eq!(
        got["access-control-allow-origin"],
        "https://elsewhere.example"
    );
}

/// The same for an answer that is not the route's usual one: a requested header the route does
/// not allow, reported, is echoed.
#[test]
fn another_answer_in_report_mode_carries_the_report_last() {
    let kinds = [
        crate::RejectionKind::OriginNotTrusted,
        crate::RejectionKind::HeaderNotAllowed,
    ];
    let got = answered_in_report_mode(&kinds, Some("x-other"), false);
    assert_eq!(got["access-control-allow-headers"], "x-other");
    assert!(got["x-trusted-cors-report"]
        .to_str()
        .unwrap()
        .contains("header_not_allowed"));
}

/// The route's answer, in report mode for `kinds`, to a preflight from an origin that is not
/// trusted (asking for `request_headers`): whether it is the usual one as `usual` says, the
/// origin first and the report last, from the Tower layer. Returns the headers sent.
fn answered_in_report_mode(
    kinds: &[crate::RejectionKind],
    request_headers: Option<&'static str>,
    usual: bool,
) -> HeaderMap {
    let mut config = CorsConfig::builder().report_header(true);
    for kind in kinds {
        config = config.rule(*kind, RuleMode::Report);
    }
    let cors = Cors::new(config.build().unwrap(), Registry::new());
    let policy = RouteCors::default();
    let mut headers = HeaderMap::new();
    headers.insert(
        "origin",
        HeaderValue::from_static("https://elsewhere.example"),
    );
    headers.insert(
        "access-control-request-method",
        HeaderValue::from_static("GET"),
    );
    if let Some(requested) = request_headers {
        let value = HeaderValue::from_static(requested);
        headers.insert("access-control-request-headers", value);
    }
    let facts = RequestFacts::read("OPTIONS", "/x", None, &headers);
    let Decision::Preflight(answer) = cors.decide(&facts, RouteScope::Declared(&policy)) else {
        panic!("a preflight answer in report mode")
    };
    let own =
        |value: &std::borrow::Cow<'_, bytes::Bytes>| matches!(value, std::borrow::Cow::Borrowed(_));
    let is_usual = own(&answer.allow_methods)
        && answer.allow_headers.as_ref().is_none_or(own)
        && own(&answer.max_age);
    assert_eq!(is_usual, usual, "whether the route's usual answer");
    let got = tower_answer(&cors, &policy, &headers).headers().clone();
    let names: Vec<&str> = got.keys().map(|name| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"access-control-allow-origin"));
    assert_eq!(names.last(), Some(&"x-trusted-cors-report"));
    got
}

/// The response of the Tower route layer of `policy` to a preflight with `headers`.
fn tower_answer(cors: &Cors, policy: &RouteCors, headers: &HeaderMap) -> http::Response<Bytes> {
    use tower::{Layer, ServiceExt};
    let app = tower::service_fn(|_: http::Request<()>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(Bytes::new()))
    });
    let service = cors.route(policy.clone()).layer(app);
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::OPTIONS;
    *request.headers_mut() = headers.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(service.oneshot(request)).unwrap()
}

/// A decoration travels from the route into its response future and out again on every
/// forwarded request: at most 128 bytes, the compiler moves it with a few register copies
/// instead of a call to `memcpy` (BENCHMARKS.md, "Issue 21, third round").
#[test]
fn a_decoration_is_at_most_128_bytes() {
    assert!(std::mem::size_of::<Decoration<HeaderValue>>() <= 128);
}
