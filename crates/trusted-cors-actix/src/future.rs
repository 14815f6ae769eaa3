use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::Error;
use pin_project_lite::pin_project;
use trusted_cors_core::decision::{
    Decision, HeaderInput, RequestFacts, RouteScope, VARY_ORIGIN, VARY_PREFLIGHT,
};
use trusted_cors_core::{Cors, Rejection};

use crate::{add_vary, rejection_response, RouteDeclared};

pin_project! {
    /// The response future of both middlewares.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Ready { response: Option<ServiceResponse<EitherBody<B>>> },
        Inner { #[pin] future: F, after: After },
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[derive(Default)]
pub(crate) struct After {
    /// Set by the route middleware: `Some(None)` adds `Vary` and the marker, `Some(Some(..))`
    /// also the CORS headers of an allowed request.
    pub(crate) route: Option<Option<Allow>>,
    /// Set by the global middleware for a preflight: refuse it unless a route answered.
    pub(crate) unanswered_preflight: Option<PendingPreflight>,
}

/// What the global middleware keeps of a preflight to refuse it if no declared resource answers.
/// actix's router needs the request to itself, so only the origin value and the URI are kept.
pub(crate) struct PendingPreflight {
    pub(crate) cors: Cors,
    pub(crate) origin: HeaderValue,
    pub(crate) uri: actix_web::http::Uri,
}

impl PendingPreflight {
    fn rejection(&self) -> Rejection {
        let facts = RequestFacts {
            method: "OPTIONS",
            path: self.uri.path(),
            origin: HeaderInput::One(self.origin.as_bytes()),
            access_control_request_method: HeaderInput::One(b"GET"),
            ..RequestFacts::default()
        };
        match self.cors.decide(&facts, RouteScope::Undeclared) {
            Decision::Reject(rejection) => rejection,
            // A deferred preflight is always refused on an undeclared route.
            _ => Rejection::route_not_cors_enabled(self.origin.as_bytes(), self.uri.path()),
        }
    }
}

pub(crate) struct Allow {
    pub(crate) origin: HeaderValue,
    pub(crate) credentials: bool,
    pub(crate) expose: Option<HeaderValue>,
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn ready(response: ServiceResponse<EitherBody<B>>) -> Self {
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

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { response } => Poll::Ready(response.take().ok_or_else(|| {
                actix_web::error::ErrorInternalServerError("polled after completion")
            })),
            StateProj::Inner { future, after } => {
                // An error from an inner service has no request left to answer with; it passes
                // through undecorated, as with actix-cors.
                let mut response = ready!(future.poll(cx))?.map_into_left_body();
                if let Some(pending) = after.unanswered_preflight.take() {
                    if response
                        .response()
                        .extensions()
                        .get::<RouteDeclared>()
                        .is_none()
                    {
                        let rejection = pending.rejection();
                        let (request, _) = response.into_parts();
                        let refusal = rejection_response(&pending.cors, rejection, VARY_PREFLIGHT);
                        return Poll::Ready(Ok(
                            ServiceResponse::new(request, refusal).map_into_right_body()
                        ));
                    }
                }
                if let Some(allow) = after.route.take() {
                    let headers = response.headers_mut();
                    if let Some(allow) = allow {
                        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow.origin);
                        if allow.credentials {
                            headers.insert(
                                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                                HeaderValue::from_static("true"),
                            );
                        } else {
                            // The application must not grant credentials the policy did not.
                            headers.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
                        }
                        if let Some(expose) = allow.expose {
                            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
                        }
                    }
                    add_vary(headers, VARY_ORIGIN);
                    response
                        .response_mut()
                        .extensions_mut()
                        .insert(RouteDeclared);
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}

pin_project! {
    /// The response future of [`FrameAncestorsService`](crate::FrameAncestorsService).
    pub struct FrameAncestorsFuture<F> {
        #[pin]
        inner: F,
        policy: Option<HeaderValue>,
    }
}

impl<F> FrameAncestorsFuture<F> {
    pub(crate) fn new(inner: F, policy: Option<HeaderValue>) -> Self {
        FrameAncestorsFuture { inner, policy }
    }
}

impl<F> std::fmt::Debug for FrameAncestorsFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameAncestorsFuture")
            .finish_non_exhaustive()
    }
}

impl<F, B> Future for FrameAncestorsFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<B>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if let Some(policy) = this.policy.take() {
            response
                .headers_mut()
                .append(header::CONTENT_SECURITY_POLICY, policy);
        }
        Poll::Ready(Ok(response))
    }
}
