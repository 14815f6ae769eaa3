//! actix-web adapter for trusted-cors.
//!
//! [`CorsMiddleware`] wraps the whole app; [`RouteCorsMiddleware`] declares the CORS policy of
//! one resource or scope. Both call the same pure decision as the Tower layers. actix-web 4 uses
//! `http` 0.2, so requests are read as plain bytes and responses translated at the edge; no rule
//! is written twice.
//!
//! ```
//! use actix_web::{test, web, App, HttpResponse};
//! use trusted_cors_actix::{CorsContext, CorsMiddleware, RouteCorsMiddleware};
//! use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
//!
//! async fn me(cors: CorsContext) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("trusted: {}", cors.is_trusted()))
//! }
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::with_origins([
//!     NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors]),
//! ])?;
//! let cors = Cors::new(CorsConfig::default(), registry.into());
//! let me_policy = RouteCors::builder().allow_methods(["GET", "PUT"]).bearer_from_any_origin().build()?;
//!
//! let app = test::init_service(
//!     App::new()
//!         .wrap(CorsMiddleware::new(&cors))
//!         .service(
//!             web::resource("/api/v1/users/me")
//!                 .wrap(RouteCorsMiddleware::new(&cors, me_policy))
//!                 .route(web::get().to(me)),
//!         )
//!         .route("/api/v1/users", web::get().to(|| async { HttpResponse::Ok().body("server-side only") })),
//! )
//! .await;
//!
//! // The preflight reaches the resource's policy although it has no OPTIONS route.
//! let preflight = test::TestRequest::default()
//!     .method(actix_web::http::Method::OPTIONS)
//!     .uri("/api/v1/users/me")
//!     .insert_header(("origin", "https://portal.example.com"))
//!     .insert_header(("access-control-request-method", "PUT"))
//!     .to_request();
//! let response = test::call_service(&app, preflight).await;
//! assert_eq!(response.status(), 204);
//!
//! // "List users" declared nothing: its preflight is refused with a reason.
//! let preflight = test::TestRequest::default()
//!     .method(actix_web::http::Method::OPTIONS)
//!     .uri("/api/v1/users")
//!     .insert_header(("origin", "https://portal.example.com"))
//!     .insert_header(("access-control-request-method", "GET"))
//!     .to_request();
//! let response = test::call_service(&app, preflight).await;
//! assert_eq!(response.status(), 403);
//! # Ok(())
//! # }
//! ```
//!
//! # How it fits
//!
//! - `App::wrap(CorsMiddleware::new(&cors))` applies the global rules to every request and
//!   refuses preflights that no declared resource answered (`route_not_cors_enabled`).
//! - `web::resource(..).wrap(RouteCorsMiddleware::new(&cors, policy))` (or `web::scope`)
//!   declares a policy. Resource middleware also wraps the resource's 405 answer, so preflights
//!   reach it without an OPTIONS route. A policy on a scope covers every path under it,
//!   including its 404s. Declarations do not nest: the outermost one decides, so do not declare
//!   both a scope and one of its resources.
//! - Handlers' errors become responses inside actix and are decorated like any response. An
//!   error returned by an inner *middleware* passes through as an error, undecorated (as with
//!   actix-cors): the request it would need to become a response is gone by then.
//! - Same pitfalls avoided as with the axum adapter: no 405 on preflights, never `*` with
//!   credentials, `Vary: Origin` always appended.

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "admin")]
mod admin;
mod future;

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use trusted_cors_core::decision::{
    vary_covers, Decision, HeaderInput, RequestFacts, RouteScope, VARY_ORIGIN, VARY_PREFLIGHT,
};
use trusted_cors_core::tower::CorsOutcome;
use trusted_cors_core::{Cors, OktaErrorResponder, Rejection, RejectionResponder, RouteCors};

#[cfg(feature = "admin")]
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
pub use admin::*;
pub use future::ResponseFuture;
use future::{After, Allow, PendingPreflight};

/// Reads the decision's inputs from an actix-web request, without allocating.
pub fn request_facts(request: &HttpRequest) -> RequestFacts<'_> {
    let headers = request.headers();
    let input = |name: &HeaderName| {
        HeaderInput::from_values(headers.get_all(name).map(HeaderValue::as_bytes))
    };
    let origin = input(&header::ORIGIN);
    if !origin.is_present() {
        // Not a CORS request: the decision reads nothing else.
        return RequestFacts {
            method: request.method().as_str(),
            path: request.path(),
            ..RequestFacts::default()
        };
    }
    let host = match input(&header::HOST) {
        HeaderInput::Absent => request.uri().authority().map_or(HeaderInput::Absent, |a| {
            HeaderInput::One(a.as_str().as_bytes())
        }),
        host => host,
    };
    RequestFacts {
        method: request.method().as_str(),
        path: request.path(),
        origin,
        access_control_request_method: input(&header::ACCESS_CONTROL_REQUEST_METHOD),
        access_control_request_headers: input(&header::ACCESS_CONTROL_REQUEST_HEADERS),
        authorization: input(&header::AUTHORIZATION),
        has_cookies: headers.contains_key(header::COOKIE),
        sec_fetch_site: input(&HeaderName::from_static("sec-fetch-site")),
        host,
    }
}

/// Response extension set by [`RouteCorsMiddleware`], so the global middleware knows a declared
/// resource answered.
#[derive(Debug, Clone, Copy)]
struct RouteDeclared;

/// Translates an `http` 1.x response (from the core's responder) into an actix-web response.
fn to_actix(response: http::Response<Bytes>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::FORBIDDEN);
    let mut out = HttpResponse::with_body(status, body).map_into_boxed_body();
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    if let Some(rejection) = parts.extensions.get::<Rejection>() {
        out.extensions_mut().insert(rejection.clone());
    }
    out
}

fn add_vary(headers: &mut HeaderMap, value: &'static str) {
    if !vary_covers(
        headers.get_all(header::VARY).map(HeaderValue::as_bytes),
        value,
    ) {
        headers.append(header::VARY, HeaderValue::from_static(value));
    }
}

fn rejection_response(cors: &Cors, rejection: Rejection, vary: &'static str) -> HttpResponse {
    to_actix(cors.respond(rejection, vary))
}

/// App-level middleware: the global rules before routing, and refusal of preflights that no
/// declared resource answered.
#[derive(Debug, Clone)]
pub struct CorsMiddleware {
    cors: Cors,
}

impl CorsMiddleware {
    /// The middleware for `cors`.
    pub fn new(cors: &Cors) -> Self {
        CorsMiddleware { cors: cors.clone() }
    }
}

impl<S, B> Transform<S, ServiceRequest> for CorsMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CorsMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CorsMiddlewareService {
            service,
            cors: self.cors.clone(),
        }))
    }
}

/// The service of [`CorsMiddleware`].
#[derive(Debug)]
pub struct CorsMiddlewareService<S> {
    service: S,
    cors: Cors,
}

impl<S, B> Service<ServiceRequest> for CorsMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let facts = request_facts(request.request());
        let mut after = After::default();
        match self.cors.decide(&facts, RouteScope::Unrouted) {
            Decision::Reject(rejection) => {
                let response = rejection_response(&self.cors, rejection, VARY_ORIGIN);
                return ResponseFuture::ready(
                    request.into_response(response).map_into_right_body(),
                );
            }
            Decision::DeferPreflight => {
                // Refused later, and only if no declared resource answers it.
                if let Some(origin) = request.headers().get(header::ORIGIN) {
                    after.unanswered_preflight = Some(PendingPreflight {
                        cors: self.cors.clone(),
                        origin: origin.clone(),
                        uri: request.uri().clone(),
                    });
                }
            }
            _ => {}
        }
        ResponseFuture::inner(self.service.call(request), after)
    }
}

/// Declares the CORS policy of a resource or scope: answers its preflights without calling the
/// handler, refuses what the policy does not allow, adds the CORS headers and `Vary`, and puts a
/// [`CorsOutcome`] in the request extensions (read it with [`CorsContext`]).
#[derive(Debug, Clone)]
pub struct RouteCorsMiddleware {
    route: Arc<RouteState>,
}

#[derive(Debug)]
struct RouteState {
    cors: Cors,
    policy: RouteCors,
    allow_methods: HeaderValue,
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    max_age: HeaderValue,
}

impl RouteCorsMiddleware {
    /// The middleware declaring `policy`, judged against `cors`.
    pub fn new(cors: &Cors, policy: RouteCors) -> Self {
        // The policy's values were checked to be tokens joined by ", " when it was built.
        let value = |text: &str| HeaderValue::from_str(text).ok().filter(|v| !v.is_empty());
        RouteCorsMiddleware {
            route: Arc::new(RouteState {
                allow_methods: value(policy.allow_methods_value())
                    .unwrap_or(HeaderValue::from_static("")),
                allow_headers: value(policy.allow_headers_value()),
                expose_headers: policy.expose_headers_value().and_then(value),
                max_age: value(policy.max_age_value()).unwrap_or(HeaderValue::from_static("0")),
                cors: cors.clone(),
                policy,
            }),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RouteCorsMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RouteCorsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RouteCorsService {
            service,
            route: Arc::clone(&self.route),
        }))
    }
}

/// The service of [`RouteCorsMiddleware`].
#[derive(Debug)]
pub struct RouteCorsService<S> {
    service: S,
    route: Arc<RouteState>,
}

impl<S, B> Service<ServiceRequest> for RouteCorsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let route = &*self.route;
        let facts = request_facts(request.request());
        let decision = route
            .cors
            .decide(&facts, RouteScope::Declared(&route.policy));
        let credentials = match &decision {
            Decision::Reject(rejection) => {
                let preflight =
                    facts.method == "OPTIONS" && facts.access_control_request_method.is_present();
                let vary = if preflight {
                    VARY_PREFLIGHT
                } else {
                    VARY_ORIGIN
                };
                let mut response = rejection_response(&route.cors, rejection.clone(), vary);
                response.extensions_mut().insert(RouteDeclared);
                return ResponseFuture::ready(
                    request.into_response(response).map_into_right_body(),
                );
            }
            Decision::Preflight(answer) => {
                let response = route.preflight_response(&request, answer.allow_credentials);
                return ResponseFuture::ready(
                    request.into_response(response).map_into_right_body(),
                );
            }
            Decision::Allow(cors) => Some(cors.allow_credentials),
            _ => None,
        };
        let origin = request.headers().get(header::ORIGIN).cloned();
        // Handlers see the outcome through `CorsContext`, which converts the origin to the core's
        // http 1.x value only when asked.
        let outcome = CorsOutcome::from_decision(&decision, None);
        drop(decision);
        request.extensions_mut().insert(StoredOutcome {
            outcome,
            origin: origin.clone(),
        });
        let after = After {
            route: Some(credentials.zip(origin).map(|(credentials, origin)| Allow {
                origin,
                credentials,
                expose: route.expose_headers.clone(),
            })),
            unanswered_preflight: None,
        };
        ResponseFuture::inner(self.service.call(request), after)
    }
}

impl RouteState {
    fn preflight_response(&self, request: &ServiceRequest, credentials: bool) -> HttpResponse {
        let mut response = HttpResponse::NoContent().finish();
        let headers = response.headers_mut();
        if let Some(origin) = request.headers().get(header::ORIGIN) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
        if credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods.clone(),
        );
        let allow_headers = if self.policy.allows_any_header() {
            request
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .filter(|v| !v.as_bytes().trim_ascii().is_empty())
                .cloned()
        } else {
            self.allow_headers.clone()
        };
        if let Some(allow_headers) = allow_headers {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
        }
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        add_vary(headers, VARY_PREFLIGHT);
        response.extensions_mut().insert(RouteDeclared);
        response
    }
}

/// Lets a resource's pages be framed only by this service and the ACTIVE trusted origins with
/// the IFRAME_EMBED scope: appends `Content-Security-Policy: frame-ancestors 'self' <origins>`,
/// read from the registry at each request. The same as the Tower `FrameAncestorsLayer`.
#[derive(Debug, Clone)]
pub struct FrameAncestorsMiddleware {
    cors: Cors,
}

impl FrameAncestorsMiddleware {
    /// The middleware for `cors`.
    pub fn new(cors: &Cors) -> Self {
        FrameAncestorsMiddleware { cors: cors.clone() }
    }
}

impl<S, B> Transform<S, ServiceRequest> for FrameAncestorsMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = FrameAncestorsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(FrameAncestorsService {
            service,
            cors: self.cors.clone(),
        }))
    }
}

/// The service of [`FrameAncestorsMiddleware`].
#[derive(Debug)]
pub struct FrameAncestorsService<S> {
    service: S,
    cors: Cors,
}

impl<S, B> Service<ServiceRequest> for FrameAncestorsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = future::FrameAncestorsFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let policy = self.cors.registry().snapshot().frame_ancestors();
        future::FrameAncestorsFuture::new(
            self.service.call(request),
            HeaderValue::from_str(&policy).ok(),
        )
    }
}

/// The outcome as the route middleware stores it, with the actix (http 0.2) origin value.
#[derive(Debug, Clone)]
struct StoredOutcome {
    outcome: CorsOutcome,
    origin: Option<HeaderValue>,
}

/// Extractor: what the resource's CORS policy decided about the request. On a resource that
/// declared nothing it reports [`is_declared`](CorsOutcome::is_declared) `false`.
#[derive(Debug, Clone)]
pub struct CorsContext(pub CorsOutcome);

impl std::ops::Deref for CorsContext {
    type Target = CorsOutcome;
    fn deref(&self) -> &CorsOutcome {
        &self.0
    }
}

impl FromRequest for CorsContext {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let outcome = match request.extensions().get::<StoredOutcome>() {
            Some(stored) => {
                let origin = stored
                    .origin
                    .as_ref()
                    .and_then(|o| http::HeaderValue::from_bytes(o.as_bytes()).ok());
                stored.outcome.clone().with_origin(origin)
            }
            None => CorsOutcome::undeclared(),
        };
        ready(Ok(CorsContext(outcome)))
    }
}

/// A [`Rejection`] as an actix-web error: by default status 403 and the Okta-style JSON body;
/// built with [`with_cors`](Self::with_cors), answered as the middlewares answer (the configured
/// responder, `Vary`, the diagnostics header).
#[derive(Debug, Clone)]
pub struct RejectionError {
    rejection: Rejection,
    cors: Option<Cors>,
}

impl RejectionError {
    /// Answers with the default Okta-style JSON error.
    pub fn new(rejection: Rejection) -> Self {
        RejectionError {
            rejection,
            cors: None,
        }
    }

    /// Answers as the middlewares of `cors` do.
    pub fn with_cors(cors: &Cors, rejection: Rejection) -> Self {
        RejectionError {
            rejection,
            cors: Some(cors.clone()),
        }
    }

    /// The rejection.
    pub fn rejection(&self) -> &Rejection {
        &self.rejection
    }
}

impl std::fmt::Display for RejectionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.rejection, f)
    }
}

impl ResponseError for RejectionError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.rejection.status()).unwrap_or(StatusCode::FORBIDDEN)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        match &self.cors {
            Some(cors) => rejection_response(cors, self.rejection.clone(), VARY_ORIGIN),
            None => {
                self.rejection.log();
                let mut response = to_actix(OktaErrorResponder.respond(&self.rejection));
                response.extensions_mut().insert(self.rejection.clone());
                response
            }
        }
    }
}

impl From<Rejection> for RejectionError {
    fn from(rejection: Rejection) -> Self {
        RejectionError::new(rejection)
    }
}
