//! Every denial is logged with `tracing` on target `trusted_cors`, naming the origin, the route
//! and the reason.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use trusted_cors_core::decision::RouteScope;
use trusted_cors_core::{HeaderInput, RequestFacts};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn denials_are_logged_with_origin_route_and_reason() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let cors = cors();
    let policy = me();
    tracing::subscriber::with_default(subscriber, || {
        let facts = RequestFacts {
            method: "GET",
            path: "/api/v1/users/me",
            origin: HeaderInput::One(UNTRUSTED.as_bytes()),
            ..RequestFacts::default()
        };
        let rejection = cors
            .decide(&facts, RouteScope::Declared(&policy))
            .rejection()
            .cloned()
            .expect("a rejection");
        let reply = cors.refuse(rejection);
        assert_eq!(reply.status(), 403);
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("trusted_cors"), "{log}");
    assert!(log.contains("reason=\"origin_not_trusted\""), "{log}");
    assert!(log.contains("origin=https://evil.example"), "{log}");
    assert!(log.contains("route=/api/v1/users/me"), "{log}");
    assert!(log.contains("add it under trusted origins"), "{log}");
}
