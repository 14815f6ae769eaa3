use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response};
use pin_project_lite::pin_project;

use super::body::CorsBody;
use super::response::{add_vary, RouteDeclared};
use crate::decision::VARY_ORIGIN;
use crate::decision::{Decision, HeaderInput, RequestFacts, RouteScope};
use crate::{Cors, Rejection};

pin_project! {
    /// The response future of [`CorsService`](super::CorsService) and
    /// [`RouteCorsService`](super::RouteCorsService).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        Ready { response: Option<Response<Bytes>> },
        Inner { #[pin] future: F, after: After },
    }
}

/// What to do to the application's response.
#[derive(Debug, Default)]
pub(crate) struct After {
    /// Set by the per-route layer: `Vary: Origin`, the route marker, and the CORS headers of an
    /// allowed request.
    pub(crate) route: Option<RouteHeaders>,
    /// Set by the global layer for a preflight: refuse it unless a route answered.
    pub(crate) unanswered_preflight: Option<PendingPreflight>,
}

/// What the global layer keeps of a preflight to refuse it later if no route answers. The
/// rejection itself is only built then.
#[derive(Debug)]
pub(crate) struct PendingPreflight {
    pub(crate) cors: Cors,
    pub(crate) origin: HeaderValue,
    pub(crate) uri: http::Uri,
}

impl PendingPreflight {
    fn refuse(self) -> Response<Bytes> {
        let facts = RequestFacts {
            method: "OPTIONS",
            path: self.uri.path(),
            origin: HeaderInput::One(self.origin.as_bytes()),
            access_control_request_method: HeaderInput::One(b"GET"),
            ..RequestFacts::default()
        };
        let rejection = match self.cors.decide(&facts, RouteScope::Undeclared) {
            Decision::Reject(rejection) => rejection,
            // Unreachable for a preflight to an undeclared route; refuse all the same.
            _ => Rejection::route_not_cors_enabled(self.origin.as_bytes(), self.uri.path()),
        };
        self.cors
            .respond(rejection, crate::decision::VARY_PREFLIGHT)
    }
}

#[derive(Debug)]
pub(crate) struct RouteHeaders {
    pub(crate) allow: Option<AllowHeaders>,
}

#[derive(Debug)]
pub(crate) struct AllowHeaders {
    pub(crate) origin: HeaderValue,
    pub(crate) credentials: bool,
    pub(crate) expose: Option<HeaderValue>,
}

impl<F> ResponseFuture<F> {
    pub(crate) fn ready(response: Response<Bytes>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn inner(future: F, after: After) -> Self {
        ResponseFuture {
            state: State::Inner { future, after },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<CorsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { response } => {
                let response = response
                    .take()
                    .expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(response.map(CorsBody::full)))
            }
            StateProj::Inner { future, after } => {
                let mut response = ready!(future.poll(cx))?;
                if let Some(pending) = after.unanswered_preflight.take() {
                    if response.extensions().get::<RouteDeclared>().is_none() {
                        return Poll::Ready(Ok(pending.refuse().map(CorsBody::full)));
                    }
                }
                if let Some(route) = after.route.take() {
                    let headers = response.headers_mut();
                    if let Some(allow) = route.allow {
                        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, allow.origin);
                        if allow.credentials {
                            headers.insert(
                                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                                HeaderValue::from_static("true"),
                            );
                        } else {
                            // The application must not grant credentials the policy did not.
                            headers.remove(http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
                        }
                        if let Some(expose) = allow.expose {
                            headers.insert(http::header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
                        }
                    }
                    add_vary(headers, VARY_ORIGIN);
                    response.extensions_mut().insert(RouteDeclared);
                }
                Poll::Ready(Ok(response.map(CorsBody::new)))
            }
        }
    }
}
