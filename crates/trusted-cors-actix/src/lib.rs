//! actix-web adapter for trusted-cors.
//!
//! [`GuardMiddleware`] wraps the whole app; [`RouteCorsMiddleware`] declares the CORS policy of
//! one resource or scope. Both call the same pure decision as the Tower layers. actix-web 4 uses
//! `http` 0.2, so requests are read as plain bytes and responses translated at the edge; no rule
//! is written twice.
//!
//! ```
//! use actix_web::{test, web, App, HttpResponse};
//! use trusted_cors_actix::{CorsContext, GuardMiddleware, RouteCorsMiddleware};
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
//! let cors = Cors::new(CorsConfig::default(), registry);
//! let me_policy = RouteCors::builder().allow_methods(["GET", "PUT"]).bearer_from_any_origin().build()?;
//!
//! let app = test::init_service(
//!     App::new()
//!         .wrap(GuardMiddleware::new(&cors))
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
//! - `App::wrap(GuardMiddleware::new(&cors))` applies the global rules to every request and
//!   refuses preflights that no declared resource answered (`route_not_cors_enabled`).
//! - `web::resource(..).wrap(RouteCorsMiddleware::new(&cors, policy))` (or `web::scope`)
//!   declares a policy. Resource middleware also wraps the resource's 405 answer, so preflights
//!   reach it without an OPTIONS route. A policy on a scope covers every path under it,
//!   including its 404s. Declarations do not nest: the outermost one decides, so do not declare
//!   both a scope and one of its resources.
//! - Handlers' errors become responses inside actix and are decorated like any response. An
//!   error returned by an inner *middleware* passes through as an error, undecorated: the request
//!   it would need to become a response is gone by then (actix-cors 0.7.2 does decorate them).
//! - Same pitfalls avoided as with the axum adapter: no 405 on preflights, never `*` with
//!   credentials, `Vary: Origin` always appended.
//!
//! # Authentication goes inside the declaration
//!
//! Preflights never carry credentials. An authentication middleware that sees one answers it
//! 401, and the browser blocks the call. Wrap each resource (or scope) with authentication
//! *first* and the CORS declaration *last* (the last `wrap` is the outermost), never with
//! authentication on the `App` or on a scope around the declaration. Let authentication answer
//! with a response rather than an `Err`, so that the declaration around it adds the CORS headers
//! and the page can read the 401.
//!
//! ```
//! use actix_web::body::MessageBody;
//! use actix_web::dev::{ServiceRequest, ServiceResponse};
//! use actix_web::middleware::{from_fn, Next};
//! use actix_web::{test, web, App, Error, HttpResponse};
//! use trusted_cors_actix::{GuardMiddleware, RouteCorsMiddleware};
//! use trusted_cors_core::{Cors, CorsConfig, NewTrustedOrigin, Registry, RouteCors, ScopeType};
//!
//! async fn require_bearer(
//!     request: ServiceRequest,
//!     next: Next<impl MessageBody + 'static>,
//! ) -> Result<ServiceResponse<impl MessageBody>, Error> {
//!     if request.headers().get("authorization").is_some_and(|v| v == "Bearer good-token") {
//!         return Ok(next.call(request).await?.map_into_left_body());
//!     }
//!     let refused = HttpResponse::Unauthorized().finish();
//!     Ok(request.into_response(refused).map_into_right_body())
//! }
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::with_origins([
//!     NewTrustedOrigin::new("Portal", "https://portal.example.com", [ScopeType::Cors]),
//! ])?;
//! let cors = Cors::new(CorsConfig::default(), registry);
//! let policy = RouteCors::builder().allow_headers(["authorization"]).build()?;
//! let app = test::init_service(
//!     App::new().wrap(GuardMiddleware::new(&cors)).service(
//!         web::resource("/api/v1/users/me")
//!             .wrap(from_fn(require_bearer)) // authentication, inside
//!             .wrap(RouteCorsMiddleware::new(&cors, policy)) // the declaration, outside it
//!             .route(web::get().to(|| async { "me" })),
//!     ),
//! )
//! .await;
//! let request = |method, token: Option<&str>| {
//!     let mut request = test::TestRequest::default()
//!         .method(method)
//!         .uri("/api/v1/users/me")
//!         .insert_header(("origin", "https://portal.example.com"))
//!         .insert_header(("access-control-request-method", "GET"));
//!     if let Some(token) = token {
//!         request = request.insert_header(("authorization", token));
//!     }
//!     request.to_request()
//! };
//! use actix_web::http::Method;
//! // The preflight is answered by the declaration, never 401.
//! let preflight = test::call_service(&app, request(Method::OPTIONS, None)).await;
//! assert_eq!(preflight.status(), 204);
//! // Without a token: the 401, readable by the page.
//! let refused = test::call_service(&app, request(Method::GET, None)).await;
//! assert_eq!(refused.status(), 401);
//! let allowed = refused.headers().get("access-control-allow-origin");
//! assert_eq!(allowed.and_then(|v| v.to_str().ok()), Some("https://portal.example.com"));
//! let answered = test::call_service(&app, request(Method::GET, Some("Bearer good-token"))).await;
//! assert_eq!(answered.status(), 200);
//! # Ok(())
//! # }
//! ```
//!
//! When a preflight reaches the guard unanswered on a path the application routes, the guard
//! refuses it (`route_not_cors_enabled`) and logs at `WARN` which fix applies: authentication
//! in front of the declaration (the application answered 401), or a resource without a
//! declaration (405, or 404 for routes added with `App::route`).

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "admin")]
mod admin;
mod future;

use std::borrow::Cow;
use std::future::{ready, Ready};
use std::sync::{Arc, LazyLock};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use trusted_cors_core::adapter::{
    field_name, After, DeclaredRoute, Field, Found, MarkSink, MarkSource, Preflight,
    RequestHeaders, ResponseHeaders, RouteAnswered, RouteStep, NAMED_FIELDS, TRUE, VARY_ORIGIN,
};
use trusted_cors_core::{Cors, CorsOutcome, Rejection, Reply, RouteCors};

#[cfg(feature = "admin")]
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
pub use admin::*;
pub use future::ResponseFuture;

/// actix's request headers, as the core reads them.
struct Incoming<'a>(&'a HeaderMap);

/// actix's response headers, as the core writes them.
struct Outgoing<'a>(&'a mut HeaderMap);

/// actix's names of the named fields, in the order of [`NAMED_FIELDS`], parsed once.
static NAMES: LazyLock<[HeaderName; NAMED_FIELDS.len()]> =
    LazyLock::new(|| NAMED_FIELDS.map(|field| HeaderName::from_static(field.as_str())));

/// actix's name of a field (see [`field_name`]).
fn name(field: Field) -> Option<Cow<'static, HeaderName>> {
    field_name(&*NAMES, field, |bytes| HeaderName::from_bytes(bytes).ok())
}

impl RequestHeaders for Incoming<'_> {
    type Value = HeaderValue;

    #[inline]
    fn get(&self, field: Field) -> Found<&HeaderValue> {
        name(field).map_or(Found::Absent, |name| {
            Found::from_values(self.0.get_all(&*name))
        })
    }

    fn contains(&self, field: Field) -> bool {
        name(field).is_some_and(|name| self.0.contains_key(&*name))
    }

    /// A lookup each: actix's map is a hash map of small vectors, quick to look a header up in,
    /// slower to walk than `http`'s (measured with callgrind).
    fn get_many<'a>(&'a self, fields: &[Field], found: &mut [Found<&'a HeaderValue>]) {
        for (slot, field) in found.iter_mut().zip(fields) {
            *slot = self.get(*field);
        }
    }
}

impl ResponseHeaders for Outgoing<'_> {
    type Value = HeaderValue;

    fn to_value(bytes: Bytes) -> Option<HeaderValue> {
        HeaderValue::from_maybe_shared(bytes).ok()
    }

    fn vary_origin() -> HeaderValue {
        const ORIGIN: HeaderValue = HeaderValue::from_static(VARY_ORIGIN);
        ORIGIN
    }

    fn credentials_true() -> HeaderValue {
        const VALUE: HeaderValue = HeaderValue::from_static(TRUE);
        VALUE
    }

    fn values(&self, field: Field) -> impl Iterator<Item = &[u8]> {
        let values = name(field).map(|name| self.0.get_all(&*name));
        values.into_iter().flatten().map(HeaderValue::as_bytes)
    }

    fn insert(&mut self, field: Field, value: HeaderValue) {
        if let Some(name) = name(field) {
            self.0.insert(name.into_owned(), value);
        }
    }

    fn append(&mut self, field: Field, value: HeaderValue) {
        if let Some(name) = name(field) {
            self.0.append(name.into_owned(), value);
        }
    }

    fn remove(&mut self, field: Field) {
        if let Some(name) = name(field) {
            self.0.remove(&*name);
        }
    }
}

/// actix's request extensions, as the core marks and reads them.
struct Marks<E>(E);

impl MarkSink for Marks<&mut actix_web::dev::Extensions> {
    fn insert_mark<M: Clone + Send + Sync + 'static>(&mut self, mark: M) {
        self.0.insert(mark);
    }
}

impl MarkSource for Marks<&actix_web::dev::Extensions> {
    fn has_mark<M: Send + Sync + 'static>(&self) -> bool {
        self.0.contains::<M>()
    }
}

/// The parts of an actix-web request the core reads: method, path, authority, headers.
fn parts(request: &HttpRequest) -> (&str, &str, Option<&str>, Incoming<'_>) {
    let authority = request.uri().authority().map(|a| a.as_str());
    let headers = Incoming(request.headers());
    (
        request.method().as_str(),
        request.path(),
        authority,
        headers,
    )
}

/// `Transform` for a middleware: the service it builds around the wrapped one. Every middleware
/// here answers with `EitherBody` (the application's body, or a reply of the core).
macro_rules! transform {
    ($middleware:ident => $service:ident, |$this:ident, $inner:ident| $build:expr) => {
        impl<S, B> Transform<S, ServiceRequest> for $middleware
        where
            S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
            B: MessageBody,
        {
            type Response = ServiceResponse<EitherBody<B>>;
            type Error = Error;
            type Transform = $service<S>;
            type InitError = ();
            type Future = Ready<Result<Self::Transform, ()>>;

            fn new_transform(&self, $inner: S) -> Self::Future {
                let $this = self;
                ready(Ok($build))
            }
        }
    };
}

/// The actix-web response for a reply of the core; echoed values come from `request`.
fn response(reply: Reply, request: Option<&HeaderMap>) -> HttpResponse {
    let mut headers = HeaderMap::with_capacity(reply.header_count().max(8));
    reply.write_headers(&mut Outgoing(&mut headers), request.map(Incoming).as_ref());
    let (status, body, rejection) = reply.into_parts();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, body).map_into_boxed_body();
    *response.headers_mut() = headers;
    if let Some(rejection) = rejection {
        response.extensions_mut().insert(rejection);
    }
    response
}

/// The actix-web response to a preflight that a declared resource answers: its headers written
/// into the response's own (pooled) map.
fn preflight_response(preflight: Preflight<'_, HeaderValue>) -> HttpResponse {
    let status = StatusCode::from_u16(Preflight::<HeaderValue>::STATUS)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, Bytes::new()).map_into_boxed_body();
    // Inserting into the pooled map costs less here than copying a ready-made one (actix's map
    // copies each header's vector of values; measured with callgrind).
    preflight.write_headers(&mut Outgoing(response.headers_mut()));
    response
}

/// Sends a declared resource's own answer, marked with [`RouteAnswered`] in the request's
/// extensions, which its response carries to the guard (they are pooled with their room, where
/// the response's would allocate a map for the mark).
fn route_answer<F, B>(request: ServiceRequest, response: HttpResponse) -> ResponseFuture<F, B> {
    request.extensions_mut().insert(RouteAnswered);
    ResponseFuture::ready(request.into_response(response).map_into_right_body())
}

/// App-level middleware, the guard: the global rules before routing, and refusal of preflights
/// that no declared resource answered. It adds no CORS headers.
#[derive(Debug, Clone)]
#[must_use]
pub struct GuardMiddleware {
    cors: Cors,
}

impl GuardMiddleware {
    /// The middleware for `cors`.
    pub fn new(cors: &Cors) -> Self {
        GuardMiddleware { cors: cors.clone() }
    }
}

transform!(GuardMiddleware => GuardService, |this, service| {
    this.cors.mark_guard_installed();
    GuardService {
        service,
        cors: this.cors.clone(),
    }
});

/// The service of [`GuardMiddleware`].
#[derive(Debug)]
pub struct GuardService<S> {
    service: S,
    cors: Cors,
}

impl<S, B> Service<ServiceRequest> for GuardService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let (method, path, authority, headers) = parts(request.request());
        match (self.cors).judge_unrouted(method, path, authority, &headers) {
            Err(reply) => {
                let response = response(reply, None);
                ResponseFuture::ready(request.into_response(response).map_into_right_body())
            }
            Ok(after) => ResponseFuture::inner(self.service.call(request), after),
        }
    }
}

/// Declares the CORS policy of a resource or scope: answers its preflights without calling the
/// handler, refuses what the policy does not allow, adds the CORS headers and `Vary`, and
/// records the outcome for handlers (read it with [`CorsContext`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct RouteCorsMiddleware {
    route: Arc<DeclaredRoute<HeaderValue>>,
}

impl RouteCorsMiddleware {
    /// The middleware declaring `policy`, judged against `cors`.
    pub fn new(cors: &Cors, policy: RouteCors) -> Self {
        RouteCorsMiddleware {
            route: Arc::new(cors.declare::<Outgoing<'static>>(policy)),
        }
    }
}

transform!(RouteCorsMiddleware => RouteCorsService, |this, service| RouteCorsService {
    service,
    route: Arc::clone(&this.route),
});

/// The service of [`RouteCorsMiddleware`].
#[derive(Debug)]
pub struct RouteCorsService<S> {
    service: S,
    route: Arc<DeclaredRoute<HeaderValue>>,
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
        let (method, path, authority, headers) = parts(request.request());
        match (self.route).handle(method, path, authority, &headers) {
            RouteStep::Answer(reply) => {
                let response = response(reply, Some(request.headers()));
                route_answer(request, response)
            }
            RouteStep::Preflight(preflight) => route_answer(request, preflight_response(preflight)),
            RouteStep::Forward(recorded, decoration) => {
                recorded.record(&mut Marks(&mut *request.extensions_mut()));
                ResponseFuture::inner(self.service.call(request), After::Decorate(decoration))
            }
        }
    }
}

/// Lets a resource's pages be framed only by this service and the ACTIVE trusted origins with
/// the IFRAME_EMBED scope: appends `Content-Security-Policy: frame-ancestors 'self' <origins>`,
/// read from the registry at each request. The same as the Tower `FrameAncestorsLayer`.
#[derive(Debug, Clone)]
#[must_use]
pub struct FrameAncestorsMiddleware {
    cors: Cors,
}

impl FrameAncestorsMiddleware {
    /// The middleware for `cors`.
    pub fn new(cors: &Cors) -> Self {
        FrameAncestorsMiddleware { cors: cors.clone() }
    }
}

transform!(FrameAncestorsMiddleware => FrameAncestorsService, |this, service| {
    FrameAncestorsService {
        service,
        cors: this.cors.clone(),
    }
});

/// The service of [`FrameAncestorsMiddleware`].
#[derive(Debug)]
pub struct FrameAncestorsService<S> {
    service: S,
    cors: Cors,
}

impl<S, B> Service<ServiceRequest> for FrameAncestorsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let decoration = self.cors.frame_ancestors_decoration();
        ResponseFuture::inner(self.service.call(request), After::Decorate(decoration))
    }
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
        let headers = Incoming(request.headers());
        let origin = headers.values(Field::Origin);
        let outcome = CorsOutcome::from_request(&Marks(&*request.extensions()), origin);
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
        let reply = match &self.cors {
            Some(cors) => cors.refuse(self.rejection.clone()),
            None => Reply::from(self.rejection.clone()),
        };
        response(reply, None)
    }
}

impl From<Rejection> for RejectionError {
    fn from(rejection: Rejection) -> Self {
        RejectionError::new(rejection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// actix's map read as the core reads it: the presence checks say what a lookup says (and
    /// several at once what a lookup each, as `get_many` is written), for a header present once,
    /// twice and not at all.
    #[test]
    fn reads_agree_with_lookups() {
        let mut map = HeaderMap::new();
        map.append(
            HeaderName::from_static("origin"),
            HeaderValue::from_static("https://a.example"),
        );
        map.append(
            HeaderName::from_static("upgrade"),
            HeaderValue::from_static("websocket"),
        );
        map.append(
            HeaderName::from_static("upgrade"),
            HeaderValue::from_static("h2c"),
        );
        let headers = Incoming(&map);
        let fields: [Field; 8] = std::array::from_fn(|i| NAMED_FIELDS[i]);
        let mut found = [Found::Absent; 8];
        headers.get_many(&fields, &mut found);
        assert_eq!(found, fields.map(|field| headers.get(field)));
        for (field, found) in fields.into_iter().zip(found) {
            assert_eq!(headers.contains(field), found.is_present(), "{field:?}");
        }
        assert!(matches!(headers.get(Field::Upgrade), Found::Many(_)));
        assert!(!headers.contains(Field::Authorization));
    }
}
