//! The Tower layers, for `http` 1.x services: [`GuardLayer`] around the whole application and
//! [`RouteCorsLayer`] on each CORS-enabled route. Their services and response future are public
//! types without a public path (name them through the traits, e.g. `<GuardLayer as
//! Layer<S>>::Service`), so that the crate's public names are what users write. They run the core
//! through its adapter protocol (see [`crate::adapter`], of which they are the model) and copy its
//! replies and decorations out; neither changes the inner service's error type nor its body type.
//! The body of a reply the layers send themselves (a preflight answer, a refusal) is made with
//! `From<Bytes>`, which axum's `Body` and http-body-util's `Full` implement; wrap another body with
//! `map_response` first.

mod frame;
mod future;
mod headers;

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use http::Uri;
use http::{Extensions, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

pub use frame::FrameAncestorsLayer;
use frame::FrameAncestorsService;
use future::ResponseFuture;

use crate::layers::{
    After, AppResponse, DeclaredRoute, MarkSink, MarkSource, Preflight, RouteAnswered, RouteStep,
};
use crate::reply::{Decoration, Reply};
use crate::{Cors, Rejection};

impl MarkSink for http::Extensions {
    fn insert_mark<M: Clone + Send + Sync + 'static>(&mut self, mark: M) {
        self.insert(mark);
    }
}

impl MarkSource for http::Extensions {
    fn has_mark<M: Send + Sync + 'static>(&self) -> bool {
        self.get::<M>().is_some()
    }
}

/// `get_ref`, `get_mut` and `into_inner` for a service wrapping `inner`.
macro_rules! inner_accessors {
    ($($service:ident),*) => {$(
        impl<S> $service<S> {
            /// The wrapped service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The wrapped service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// Unwraps the service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    )*};
}

inner_accessors!(GuardService, RouteCorsService, FrameAncestorsService);

impl Reply {
    /// The `http` 1.x response for this reply (the rejection in its extensions), e.g. for an
    /// axum handler that refuses a request itself.
    pub fn into_http_response(self) -> Response<Bytes> {
        response(self, None)
    }
}

/// An `http` 1.x response from the core's reply; echoed values come from `request`.
fn response(reply: Reply, request: Option<&HeaderMap>) -> Response<Bytes> {
    let mut headers = HeaderMap::with_capacity(reply.header_count().max(8));
    reply.write_headers(&mut headers, request);
    let (status, body, rejection) = reply.into_parts();
    assemble(status, body, headers, Extensions::new(), rejection, false)
}

/// The response that answers `request` with a reply of the core, in the request's own header and
/// extension maps (emptied): the request is answered here and never reaches the application, and
/// its maps' room saves allocating new ones. `route`: a declared route's own answer, marked so.
fn answer<B>(reply: Reply, request: &mut Request<B>, route: bool) -> Response<Bytes> {
    let (headers, extensions) = if reply.has_echo() {
        let mut headers = HeaderMap::with_capacity(reply.header_count().max(8));
        reply.write_headers(&mut headers, Some(request.headers()));
        (headers, Extensions::new())
    } else {
        let (mut headers, extensions) = recycle(request);
        reply.write_headers(&mut headers, None::<&HeaderMap>);
        (headers, extensions)
    };
    let (status, body, rejection) = reply.into_parts();
    assemble(status, body, headers, extensions, rejection, route)
}

/// The response to a preflight that a declared route answers, in the request's own maps. (A
/// copy of a ready-made header map per usual answer took ~480 instructions fewer than appending
/// into the emptied map, but two allocations, and measured no faster: dropped.)
fn answer_preflight<B>(
    preflight: Preflight<'_, HeaderValue>,
    request: &mut Request<B>,
) -> Response<Bytes> {
    let (mut headers, extensions) = recycle(request);
    preflight.write_headers(&mut headers);
    let status = Preflight::<HeaderValue>::STATUS;
    assemble(status, Bytes::new(), headers, extensions, None, true)
}

/// The request's header and extension maps, emptied (their room kept).
fn recycle<B>(request: &mut Request<B>) -> (HeaderMap, Extensions) {
    let mut headers = std::mem::take(request.headers_mut());
    headers.clear();
    let mut extensions = std::mem::take(request.extensions_mut());
    extensions.clear();
    (headers, extensions)
}

fn assemble(
    status: u16,
    body: Bytes,
    headers: HeaderMap,
    mut extensions: Extensions,
    rejection: Option<Rejection>,
    route: bool,
) -> Response<Bytes> {
    if let Some(rejection) = rejection {
        extensions.insert(rejection);
    }
    if route {
        extensions.insert(RouteAnswered);
    }
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = headers;
    *response.extensions_mut() = extensions;
    response
}

/// Guards the whole application: applies the global rules before routing and refuses preflights
/// that no CORS-enabled route answered. Built by [`Cors::guard`]. Its service is
/// `<GuardLayer as Layer<S>>::Service`.
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
/// let cors = Cors::new(CorsConfig::default(), Registry::new());
/// let app = cors.guard().layer(service_fn(|_req: Request<String>| async {
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
#[must_use]
pub struct GuardLayer {
    cors: Cors,
}

impl GuardLayer {
    pub(crate) fn new(cors: Cors) -> Self {
        GuardLayer { cors }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        self.cors.mark_guard_installed();
        GuardService {
            inner,
            cors: self.cors.clone(),
        }
    }
}

/// The service of [`GuardLayer`].
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    cors: Cors,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for GuardService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: From<Bytes>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let uri = request.uri();
        let authority = uri.authority().map(|a| a.as_str());
        let method = request.method().as_str();
        match (self.cors).judge_unrouted(method, uri.path(), authority, request.headers()) {
            Err(reply) => ResponseFuture::ready(answer(reply, &mut request, false)),
            Ok(after) => {
                // The target of a preflight judged at the end, should no route answer it.
                let uri = matches!(after, After::Judge(..)).then(|| request.uri().clone());
                ResponseFuture::inner(self.inner.call(request), after, uri)
            }
        }
    }
}

/// Declares one route's CORS policy: answers its preflights without calling the handler, refuses
/// what the policy does not allow, and adds the CORS headers and `Vary` to its responses. Handlers
/// read the outcome as a [`CorsOutcome`](crate::CorsOutcome) (the adapters' `CorsContext`).
///
/// Built by [`Cors::route`]. Its service is `<RouteCorsLayer as Layer<S>>::Service`.
#[derive(Debug, Clone)]
#[must_use]
pub struct RouteCorsLayer {
    route: Arc<DeclaredRoute<HeaderValue>>,
}

impl RouteCorsLayer {
    pub(crate) fn new(route: Arc<DeclaredRoute<HeaderValue>>) -> Self {
        RouteCorsLayer { route }
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
    route: Arc<DeclaredRoute<HeaderValue>>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for RouteCorsService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: From<Bytes>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let uri = request.uri();
        let authority = uri.authority().map(|a| a.as_str());
        let method = request.method().as_str();
        match (self.route).handle(method, uri.path(), authority, request.headers()) {
            RouteStep::Answer(reply) => ResponseFuture::ready(answer(reply, &mut request, true)),
            RouteStep::Preflight(preflight) => {
                ResponseFuture::ready(answer_preflight(preflight, &mut request))
            }
            RouteStep::Forward(recorded, decoration) => {
                recorded.record(request.extensions_mut());
                let after = After::Decorate(decoration);
                ResponseFuture::inner(self.inner.call(request), after, None)
            }
        }
    }
}

/// An application's response, with the target of the request it answers (kept only for a
/// preflight judged at the end).
struct Answered<'r, B> {
    response: &'r mut Response<B>,
    uri: Option<&'r Uri>,
}

impl<B> AppResponse for Answered<'_, B> {
    type Value = HeaderValue;

    fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    fn route_answered(&self) -> bool {
        self.response.extensions().get::<RouteAnswered>().is_some()
    }

    fn mark_route_answered(&mut self) {
        self.response.extensions_mut().insert(RouteAnswered);
    }

    fn target(&self) -> (&str, Option<&str>) {
        match self.uri {
            Some(uri) => (uri.path(), uri.authority().map(|a| a.as_str())),
            None => ("", None),
        }
    }

    fn decorate(&mut self, decoration: Decoration<HeaderValue>) {
        decoration.apply(self.response.headers_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CorsConfig, Registry};

    /// `After::finish` takes what it applies out of the `After`: a preflight that no declared route
    /// answered is refused by the first call, and the `After` left empty: a second refuses nothing.
    #[test]
    fn a_second_finish_does_nothing() {
        let cors = Cors::new(CorsConfig::default(), Registry::new());
        let headers = HeaderMap::from_iter([
            (
                http::header::ORIGIN,
                HeaderValue::from_static("https://app.example"),
            ),
            (
                http::header::ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_static("GET"),
            ),
        ]);
        let mut after = cors
            .judge_unrouted("OPTIONS", "/x", None, &headers)
            .unwrap();
        assert!(matches!(after, After::Judge(..)), "{after:?}");
        let uri: http::Uri = "/x".parse().unwrap();
        let mut response = http::Response::new(());
        let mut answered = Answered {
            response: &mut response,
            uri: Some(&uri),
        };
        let refusal = after.finish(&mut answered).expect("no route answered it");
        assert_eq!(
            refusal.rejection().map(|r| r.reason()),
            Some("route_not_cors_enabled")
        );
        assert!(matches!(after, After::Nothing));
        assert!(after.finish(&mut answered).is_none());
    }
}
