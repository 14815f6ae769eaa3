use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::Error;
use pin_project_lite::pin_project;
use trusted_cors_core::decision::{VARY_ORIGIN, VARY_PREFLIGHT};
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
    /// The request, to turn an inner service's error into its response and decorate that.
    pub(crate) request: Option<actix_web::HttpRequest>,
    /// Set by the route middleware: `Some(None)` adds `Vary` and the marker, `Some(Some(..))`
    /// also the CORS headers of an allowed request.
    pub(crate) route: Option<Option<Allow>>,
    /// Set by the global middleware for a preflight: refuse it unless a route answered.
    pub(crate) unanswered_preflight: Option<Box<(Cors, Rejection)>>,
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
                let mut response: ServiceResponse<EitherBody<B>> = match ready!(future.poll(cx)) {
                    Ok(response) => response.map_into_left_body(),
                    Err(error) => match after.request.take() {
                        Some(request) => {
                            ServiceResponse::from_err(error, request).map_into_right_body()
                        }
                        None => return Poll::Ready(Err(error)),
                    },
                };
                if let Some(pending) = after.unanswered_preflight.take() {
                    if response
                        .response()
                        .extensions()
                        .get::<RouteDeclared>()
                        .is_none()
                    {
                        let (cors, rejection) = *pending;
                        let (request, _) = response.into_parts();
                        let refusal = rejection_response(&cors, rejection, VARY_PREFLIGHT);
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
