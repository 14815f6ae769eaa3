use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::HeaderValue;
use actix_web::{Error, HttpMessage};
use pin_project_lite::pin_project;
use trusted_cors_core::adapter::{After, AppResponse, Decoration, RouteAnswered};

use crate::Outgoing;

pin_project! {
    /// The response future of the middlewares.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Ready { response: Option<ServiceResponse<EitherBody<B>>> },
        Inner { #[pin] future: F, after: After<HeaderValue> },
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn ready(response: ServiceResponse<EitherBody<B>>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn inner(future: F, after: After<HeaderValue>) -> Self {
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
            StateProj::Ready { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
            StateProj::Inner { future, after } => {
                // An error from an inner service has no request left to answer with; it passes
                // through undecorated (actix-cors 0.7.2, unlike this, decorates it).
                let mut response = ready!(future.poll(cx))?.map_into_left_body();
                if let Some(refusal) = after.finish(&mut Answered(&mut response)) {
                    let (request, _) = response.into_parts();
                    let refusal = crate::response(refusal, None);
                    let response = ServiceResponse::new(request, refusal);
                    return Poll::Ready(Ok(response.map_into_right_body()));
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// The application's response (which carries its request), as the end of a request sees it.
struct Answered<'r, B>(&'r mut ServiceResponse<B>);

impl<B> AppResponse for Answered<'_, B> {
    type Value = HeaderValue;

    fn status(&self) -> u16 {
        self.0.status().as_u16()
    }

    fn route_answered(&self) -> bool {
        self.0.request().extensions().contains::<RouteAnswered>()
    }

    fn mark_route_answered(&mut self) {
        self.0.request().extensions_mut().insert(RouteAnswered);
    }

    fn target(&self) -> (&str, Option<&str>) {
        let request = self.0.request();
        (
            request.path(),
            request.uri().authority().map(|a| a.as_str()),
        )
    }

    fn decorate(&mut self, decoration: Decoration<HeaderValue>) {
        decoration.apply(&mut Outgoing(self.0.headers_mut()));
    }
}
