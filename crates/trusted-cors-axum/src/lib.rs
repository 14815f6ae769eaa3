//! axum adapter for trusted-cors.
//!
//! A route declares its CORS policy where it is defined, with [`MethodRouter::layer`]; the
//! application is wrapped in the guard last:
//!
//! ```
//! use axum::{routing::get, Router};
//! use http::Request;
//! use tower::ServiceExt;
//! use trusted_cors_axum::CorsContext;
//! use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
//!
//! async fn me(cors: CorsContext) -> String {
//!     format!("trusted: {}", cors.is_trusted())
//! }
//! async fn list_users() -> &'static str {
//!     "server-side only"
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::with_origins([
//!     NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors]),
//! ])?;
//! let cors = Cors::new(CorsConfig::default(), registry);
//! let me_policy = RouteCors::builder().allow_methods(["GET", "PUT"]).bearer_from_any_origin().build()?;
//!
//! let app = Router::new()
//!     .route("/api/v1/users/me", get(me).layer(cors.route(me_policy)))
//!     .route("/api/v1/users", get(list_users)) // declares nothing: server-side only
//!     .layer(cors.guard());
//!
//! // The preflight reaches the route's policy although the route has no OPTIONS handler.
//! let preflight = Request::options("/api/v1/users/me")
//!     .header("origin", "https://portal.example.com")
//!     .header("access-control-request-method", "PUT")
//!     .body(axum::body::Body::empty())?;
//! let response = app.clone().oneshot(preflight).await?;
//! assert_eq!(response.status(), 204);
//! assert_eq!(response.headers()["access-control-allow-credentials"], "true");
//!
//! // "List users" is not CORS-enabled: its preflight is refused with a reason.
//! let preflight = Request::options("/api/v1/users")
//!     .header("origin", "https://portal.example.com")
//!     .header("access-control-request-method", "GET")
//!     .body(axum::body::Body::empty())?;
//! let response = app.oneshot(preflight).await?;
//! assert_eq!(response.status(), 403);
//! # Ok(())
//! # }
//! ```
//!
//! # How it fits
//!
//! - [`Cors::route`](trusted_cors_core::Cors::route) returns a layer for one route. Use it with
//!   `MethodRouter::layer`, not `route_layer`: `route_layer` skips the 405 fallback, so a
//!   preflight to a route without an OPTIONS handler would never reach the policy.
//! - [`Cors::guard`](trusted_cors_core::Cors::guard) wraps the application. Add it with
//!   `Router::layer` after every route (axum applies a layer to the routes added before it), or
//!   wrap the finished router. It refuses API tokens and untrusted writes before routing and turns
//!   a preflight that no declared route answered into a `route_not_cors_enabled` rejection.
//! - Declarations live on the method routers, so they survive `Router::nest` and `Router::merge`.
//!
//! Pitfalls this avoids, which users hit with other CORS layers: a 405 answer to preflights on
//! routes without OPTIONS handlers; `Access-Control-Allow-Origin: *` with credentials (never sent
//! here: the exact origin is reflected, and only for trusted origins when cookies are allowed);
//! a missing `Vary: Origin`, which lets a cache serve one origin's CORS answer to another (always
//! appended here, never replacing the application's `Vary`).
//!
//! # Authentication goes inside the declaration
//!
//! Preflights never carry credentials. An authentication layer that sees one answers it 401, and
//! the browser blocks the call. Put authentication inside the route's CORS declaration: as an
//! extractor in the handler, or as a layer added to the method router *before*
//! `cors.route(..)` (the last layer added is the outermost). Never around the declaration with
//! `Router::layer`. Then the declaration answers preflights, and a call without a token gets
//! the 401 with the CORS headers, so the page can read it.
//!
//! ```
//! use axum::extract::Request;
//! use axum::middleware::{from_fn, Next};
//! use axum::response::{IntoResponse, Response};
//! use axum::{http::StatusCode, routing::get, Router};
//! use tower::ServiceExt;
//! use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
//!
//! async fn require_bearer(request: Request, next: Next) -> Response {
//!     match request.headers().get("authorization") {
//!         Some(value) if value == "Bearer good-token" => next.run(request).await,
//!         _ => StatusCode::UNAUTHORIZED.into_response(),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::with_origins([
//!     NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors]),
//! ])?;
//! let cors = Cors::new(CorsConfig::default(), registry);
//! let policy = RouteCors::builder().allow_headers(["authorization"]).build()?;
//! let app = Router::new()
//!     .route(
//!         "/api/v1/users/me",
//!         get(|| async { "me" })
//!             .route_layer(from_fn(require_bearer)) // authentication, inside
//!             .layer(cors.route(policy)), // the declaration, outside it
//!     )
//!     .layer(cors.guard());
//!
//! let request = |method: &str, token: Option<&str>| {
//!     let mut request = http::Request::builder()
//!         .method(method)
//!         .uri("/api/v1/users/me")
//!         .header("origin", "https://portal.example.com")
//!         .header("access-control-request-method", "GET");
//!     if let Some(token) = token {
//!         request = request.header("authorization", token);
//!     }
//!     request.body(axum::body::Body::empty())
//! };
//! // The preflight is answered by the declaration, never 401.
//! let preflight = app.clone().oneshot(request("OPTIONS", None)?).await?;
//! assert_eq!(preflight.status(), 204);
//! // Without a token: the 401, readable by the page.
//! let refused = app.clone().oneshot(request("GET", None)?).await?;
//! assert_eq!(refused.status(), 401);
//! assert_eq!(refused.headers()["access-control-allow-origin"], "https://portal.example.com");
//! let answered = app.oneshot(request("GET", Some("Bearer good-token"))?).await?;
//! assert_eq!(answered.status(), 200);
//! # Ok(())
//! # }
//! ```
//!
//! When a preflight reaches the guard unanswered on a path the application routes, the guard
//! refuses it (`route_not_cors_enabled`) and logs at `WARN` which fix applies: authentication
//! in front of the declaration (the application answered 401), a declaration added with the
//! method router's `route_layer` or none at all (405).
//!
//! [`MethodRouter::layer`]: https://docs.rs/axum/0.8/axum/routing/method_routing/struct.MethodRouter.html#method.layer

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "admin")]
mod admin;

use std::convert::Infallible;
use std::ops::Deref;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use trusted_cors_core::adapter::Field;
use trusted_cors_core::adapter::RequestHeaders;
use trusted_cors_core::{Cors, CorsOutcome, Rejection, Reply};

#[cfg(feature = "admin")]
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
pub use admin::*;

/// Extractor: what the route's CORS policy decided about the request (the origin, whether it is
/// trusted, whether credentials are allowed). On a route that declared nothing it reports
/// [`is_declared`](CorsOutcome::is_declared) `false`.
#[derive(Debug, Clone)]
pub struct CorsContext(pub CorsOutcome);

impl Deref for CorsContext {
    type Target = CorsOutcome;
    fn deref(&self) -> &CorsOutcome {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CorsContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(CorsContext(CorsOutcome::from_request(
            &parts.extensions,
            RequestHeaders::values(&parts.headers, Field::Origin),
        )))
    }
}

/// A [`Rejection`] as an axum response: answered as the layers of a [`Cors`] answer when built
/// with [`with_cors`](Self::with_cors) (its responder, `Vary`, the diagnostics header), else the
/// default Okta-style JSON error. Either way the denial is logged and the rejection is in the
/// response extensions.
#[derive(Debug, Clone)]
pub struct RejectionResponse {
    rejection: Rejection,
    cors: Option<Cors>,
}

impl RejectionResponse {
    /// Answers with the default Okta-style JSON error.
    pub fn new(rejection: Rejection) -> Self {
        RejectionResponse {
            rejection,
            cors: None,
        }
    }

    /// Answers as the layers of `cors` do (its responder and diagnostics setting).
    pub fn with_cors(cors: &Cors, rejection: Rejection) -> Self {
        RejectionResponse {
            rejection,
            cors: Some(cors.clone()),
        }
    }
}

impl From<Rejection> for RejectionResponse {
    fn from(rejection: Rejection) -> Self {
        RejectionResponse::new(rejection)
    }
}

impl IntoResponse for RejectionResponse {
    fn into_response(self) -> Response {
        let reply = match &self.cors {
            Some(cors) => cors.refuse(self.rejection),
            None => Reply::from(self.rejection),
        };
        reply.into_http_response().map(axum_core::body::Body::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use trusted_cors_core::decision::RouteScope;
    use trusted_cors_core::{
        CorsConfig, HeaderInput, NewTrustedOrigin, Registry, RequestFacts, RouteCors, ScopeType,
    };

    fn cors() -> Cors {
        let registry = Registry::with_origins([NewTrustedOrigin::new(
            "App",
            "https://app.example.com",
            [ScopeType::Cors],
        )])
        .unwrap();
        Cors::new(CorsConfig::default(), registry)
    }

    async fn outcome(context: CorsContext) -> String {
        format!(
            "{:?} {} {} {}",
            context.origin(),
            context.is_trusted(),
            context.allows_credentials(),
            context.is_declared()
        )
    }

    #[tokio::test]
    async fn extractor_reports_the_outcome() {
        let cors = cors();
        let policy = RouteCors::builder()
            .bearer_from_any_origin()
            .build()
            .unwrap();
        let app = Router::new()
            .route("/declared", get(outcome).layer(cors.route(policy)))
            .route("/plain", get(outcome))
            .layer(cors.guard());
        let body = |path: &'static str, origin: &'static str, auth: Option<&'static str>| {
            let app = app.clone();
            async move {
                let mut request = Request::get(path).header("origin", origin);
                if let Some(auth) = auth {
                    request = request.header("authorization", auth);
                }
                let response = app
                    .oneshot(request.body(axum::body::Body::empty()).unwrap())
                    .await
                    .unwrap();
                String::from_utf8(
                    response
                        .into_body()
                        .collect()
                        .await
                        .unwrap()
                        .to_bytes()
                        .to_vec(),
                )
                .unwrap()
            }
        };
        assert_eq!(
            body("/declared", "https://app.example.com", None).await,
            "Some(\"https://app.example.com\") true true true"
        );
        assert_eq!(
            body("/declared", "https://other.example", Some("Bearer t")).await,
            "Some(\"https://other.example\") false false true"
        );
        assert_eq!(
            body("/plain", "https://app.example.com", None).await,
            "None false false false"
        );
    }

    #[tokio::test]
    async fn rejection_into_response() {
        let cors = cors();
        let policy = RouteCors::builder().build().unwrap();
        let facts = RequestFacts {
            method: "GET",
            path: "/x",
            origin: HeaderInput::One(b"https://evil.example"),
            ..RequestFacts::default()
        };
        let rejection = cors
            .decide(&facts, RouteScope::Declared(&policy))
            .rejection()
            .cloned()
            .unwrap();
        for response in [
            RejectionResponse::from(rejection.clone()).into_response(),
            RejectionResponse::with_cors(&cors, rejection).into_response(),
        ] {
            assert_eq!(response.status(), 403);
            assert_eq!(
                response.extensions().get::<Rejection>().unwrap().reason(),
                "origin_not_trusted"
            );
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["errorCode"], "E0000006");
        }
    }
}
