//! The Tower layers: [`CorsLayer`] around the whole application and [`RouteCorsLayer`] on each
//! CORS-enabled route. Both translate `http` 1.x requests into [`RequestFacts`] and the
//! [`Decision`] back into responses; neither changes the inner service's error type.
//!
//! # Deployment caveat
//!
//! Same-origin detection trusts `Sec-Fetch-Site`, the configured public origins, and then `Origin`
//! against `Host`. Behind a proxy that rewrites `Host`, configure the public origin
//! ([`CorsConfigBuilder::public_origin`](crate::CorsConfigBuilder::public_origin)) or same-origin
//! calls from old browsers are judged as cross-origin. A proxy that strips `Origin` turns every
//! browser call into a non-CORS request: the layer can then neither answer nor refuse it.

mod body;
mod frame;
mod future;
mod outcome;
mod response;

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

pub use body::CorsBody;
pub use frame::{FrameAncestorsFuture, FrameAncestorsLayer, FrameAncestorsService};
pub use future::ResponseFuture;
pub use outcome::CorsOutcome;
pub(crate) use response::rejection_response;
pub use response::REASON_HEADER;

use crate::decision::{
    Decision, HeaderInput, RequestFacts, RouteScope, VARY_ORIGIN, VARY_PREFLIGHT,
};
use crate::{Cors, RouteCors};
use future::{After, AllowHeaders, PendingPreflight, RouteHeaders};
use response::{add_vary, RouteDeclared};

/// Reads the decision's inputs from an `http` 1.x request, without allocating.
pub fn request_facts<B>(request: &Request<B>) -> RequestFacts<'_> {
    let headers = request.headers();
    let input =
        |name| HeaderInput::from_values(headers.get_all(name).iter().map(HeaderValue::as_bytes));
    let origin = input(header::ORIGIN);
    if !origin.is_present() {
        // Not a CORS request: the decision reads nothing else.
        return RequestFacts {
            method: request.method().as_str(),
            path: request.uri().path(),
            ..RequestFacts::default()
        };
    }
    let host = match input(header::HOST) {
        HeaderInput::Absent => request.uri().authority().map_or(HeaderInput::Absent, |a| {
            HeaderInput::One(a.as_str().as_bytes())
        }),
        host => host,
    };
    RequestFacts {
        method: request.method().as_str(),
        path: request.uri().path(),
        origin,
        access_control_request_method: input(header::ACCESS_CONTROL_REQUEST_METHOD),
        access_control_request_headers: input(header::ACCESS_CONTROL_REQUEST_HEADERS),
        authorization: input(header::AUTHORIZATION),
        has_cookies: headers.contains_key(header::COOKIE),
        sec_fetch_site: input(HeaderName::from_static("sec-fetch-site")),
        host,
    }
}

/// Wraps the whole application: applies the global rules before routing and refuses preflights
/// that no CORS-enabled route answered.
///
/// ```
/// use std::convert::Infallible;
/// use bytes::Bytes;
/// use http::{Request, Response};
/// use tower::{service_fn, Layer, ServiceExt};
/// use trusted_cors_core::{Cors, CorsConfig, Registry};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cors = Cors::new(CorsConfig::default(), Registry::new().into());
/// let app = cors.layer().layer(service_fn(|_req: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(http_body_util::Full::new(Bytes::from("users"))))
/// }));
///
/// // An API token from another origin never reaches the application.
/// let request = Request::get("/api/v1/users")
///     .header("origin", "https://app.example.com")
///     .header("authorization", "SSWS 00abc")
///     .body(String::new())?;
/// let response = app.oneshot(request).await?;
/// assert_eq!(response.status(), 403);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CorsLayer {
    cors: Cors,
}

impl CorsLayer {
    pub(crate) fn new(cors: Cors) -> Self {
        CorsLayer { cors }
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = CorsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CorsService {
            inner,
            cors: self.cors.clone(),
        }
    }
}

/// The service of [`CorsLayer`].
#[derive(Debug, Clone)]
pub struct CorsService<S> {
    inner: S,
    cors: Cors,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for CorsService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<CorsBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let facts = request_facts(&request);
        let mut after = After::default();
        match self.cors.decide(&facts, RouteScope::Unrouted) {
            Decision::Reject(rejection) => {
                return ResponseFuture::ready(rejection_response(
                    &self.cors,
                    rejection,
                    VARY_ORIGIN,
                ));
            }
            Decision::DeferPreflight => {
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
        ResponseFuture::inner(self.inner.call(request), after)
    }
}

/// Declares one route's CORS policy: answers its preflights without calling the handler, refuses
/// what the policy does not allow, and adds the CORS headers and `Vary` to its responses.
///
/// Built by [`Cors::route`].
#[derive(Debug, Clone)]
pub struct RouteCorsLayer {
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

impl RouteCorsLayer {
    pub(crate) fn new(cors: Cors, policy: RouteCors) -> Self {
        // The policy's values were checked to be tokens joined by ", " when it was built.
        let value = |text: &str| HeaderValue::from_str(text).ok();
        RouteCorsLayer {
            route: Arc::new(RouteState {
                allow_methods: value(policy.allow_methods_value())
                    .unwrap_or(HeaderValue::from_static("")),
                allow_headers: value(policy.allow_headers_value()).filter(|v| !v.is_empty()),
                expose_headers: policy.expose_headers_value().and_then(value),
                max_age: value(policy.max_age_value()).unwrap_or(HeaderValue::from_static("0")),
                cors,
                policy,
            }),
        }
    }
}

impl<S> Layer<S> for RouteCorsLayer {
    type Service = RouteCorsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RouteCorsService {
            inner,
            route: Arc::clone(&self.route),
        }
    }
}

/// The service of [`RouteCorsLayer`].
#[derive(Debug, Clone)]
pub struct RouteCorsService<S> {
    inner: S,
    route: Arc<RouteState>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for RouteCorsService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<CorsBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let route = &*self.route;
        let facts = request_facts(&request);
        let decision = route
            .cors
            .decide(&facts, RouteScope::Declared(&route.policy));
        let allow = match &decision {
            Decision::Reject(rejection) => {
                let preflight =
                    facts.method == "OPTIONS" && facts.access_control_request_method.is_present();
                let vary = if preflight {
                    VARY_PREFLIGHT
                } else {
                    VARY_ORIGIN
                };
                let mut response = route.cors.respond(rejection.clone(), vary);
                response.extensions_mut().insert(RouteDeclared);
                return ResponseFuture::ready(response);
            }
            Decision::Preflight(answer) => {
                return ResponseFuture::ready(
                    self.preflight_response(&request, answer.allow_credentials),
                );
            }
            Decision::Allow(cors) => Some(cors.allow_credentials),
            _ => None,
        };
        // The allowed origin is the request's own `Origin`; cloning the value shares its bytes.
        let origin = request.headers().get(header::ORIGIN).cloned();
        let outcome = CorsOutcome::from_decision(&decision, origin.clone());
        drop(decision);
        let allow = allow.zip(origin).map(|(credentials, origin)| AllowHeaders {
            origin,
            credentials,
            expose: route.expose_headers.clone(),
        });
        request.extensions_mut().insert(outcome);
        let after = After {
            route: Some(RouteHeaders { allow }),
            unanswered_preflight: None,
        };
        ResponseFuture::inner(self.inner.call(request), after)
    }
}

impl<S> RouteCorsService<S> {
    fn preflight_response<B>(&self, request: &Request<B>, credentials: bool) -> Response<Bytes> {
        let route = &*self.route;
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::NO_CONTENT;
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
            route.allow_methods.clone(),
        );
        let allow_headers = if route.policy.allows_any_header() {
            request
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .filter(|v| !v.as_bytes().trim_ascii().is_empty())
                .cloned()
        } else {
            route.allow_headers.clone()
        };
        if let Some(allow_headers) = allow_headers {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
        }
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, route.max_age.clone());
        add_vary(headers, VARY_PREFLIGHT);
        response.extensions_mut().insert(RouteDeclared);
        response
    }
}
