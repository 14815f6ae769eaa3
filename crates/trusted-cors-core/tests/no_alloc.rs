//! The hot path allocates nothing: reading the facts from an `http` request, loading the registry
//! snapshot and deciding an allowed request (exact or wildcard origin, preflight or actual).

mod common;

use common::*;
use http::Request;
use trusted_cors_core::decision::{Decision, RouteScope};
use trusted_cors_core::RequestFacts;

fn request_facts<B>(request: &Request<B>) -> RequestFacts<'_> {
    RequestFacts::read(
        request.method().as_str(),
        request.uri().path(),
        request.uri().authority().map(|a| a.as_str()),
        request.headers(),
    )
}

fn allocations(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

#[test]
fn allowed_requests_are_decided_without_allocating() {
    let cors = cors();
    let me = me();
    let requests = [
        Request::get("/api/v1/users/me")
            .header("origin", TRUSTED)
            .header("cookie", "sid=1"),
        Request::get("/api/v1/users/me").header("origin", WILDCARD_MATCH),
        Request::put("/api/v1/users/me")
            .header("origin", UNTRUSTED)
            .header("authorization", "Bearer at-1"),
        Request::options("/api/v1/users/me")
            .header("origin", TRUSTED)
            .header("access-control-request-method", "PUT")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            ),
        Request::get("/api/v1/users/me")
            .header("origin", "http://org.local")
            .header("host", "org.local"),
        Request::get("/api/v1/users/me"),
        // A WebSocket handshake from a trusted origin.
        Request::get("/api/v1/users/me")
            .header("origin", TRUSTED)
            .header("upgrade", "websocket")
            .header("connection", "keep-alive, Upgrade")
            .header("cookie", "sid=1"),
    ]
    .map(|builder| builder.body(()).unwrap());

    // The first snapshot load on a thread may set up arc-swap's thread-local state.
    let _ = cors.registry().snapshot();
    for request in &requests {
        let mut allowed = false;
        let count = allocations(|| {
            let facts = request_facts(request);
            let decision = cors.decide(&facts, RouteScope::Declared(&me));
            allowed = !matches!(decision, Decision::Reject(_));
        });
        assert!(allowed, "{request:?} was refused");
        assert_eq!(count, 0, "deciding {request:?} allocated");
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test above against a counter that never counts.
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 64]))) > 0);
}
