//! What the property tests share: random worlds (registry, config, route policy), adversarial
//! requests, an independent model of which origins are trusted, the Tower stack around a
//! counting handler, and the browser's CORS checks ([`fetch_cors_check`]).
#![allow(dead_code, unreachable_pub)]

pub mod fetch_cors_check;
mod requests;
mod tower_stack;
mod world;

pub use requests::*;
pub use tower_stack::*;
pub use world::*;

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
