use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::HeaderValue;
use actix_web::{Error, HttpMessage};
use pin_project_lite::pin_project;
use trusted_cors_core::{Cors, Decoration, Deferred, RouteAnswered, Unanswered};

use crate::{Incoming, Outgoing};

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
        Inner { #[pin] future: F, after: After },
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// What to do to the application's response.
pub(crate) enum After {
    Nothing,
    /// A declared resource's CORS headers and `Vary`, or the frame-ancestors policy.
    Decorate(Decoration<HeaderValue>),
    /// A request the guard passed on without a verdict: judged unless a declared resource
    /// answered it.
    Deferred(Cors, Deferred<HeaderValue>),
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
            StateProj::Ready { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
            StateProj::Inner { future, after } => {
                // An error from an inner service has no request left to answer with; it passes
                // through undecorated (actix-cors 0.7.2, unlike this, decorates it).
                let mut response = ready!(future.poll(cx))?.map_into_left_body();
                match std::mem::replace(after, After::Nothing) {
                    After::Nothing => {}
                    After::Decorate(decoration) => {
                        decoration.apply(&mut Outgoing(response.headers_mut()));
                    }
                    After::Deferred(cors, deferred) => {
                        let request = response.request();
                        let answered = request.extensions().contains::<RouteAnswered>();
                        let authority = request.uri().authority().map(|a| a.as_str());
                        let status = response.status().as_u16();
                        let verdict = match answered {
                            true => Unanswered::Pass,
                            false => {
                                let deferred = deferred.read_again(&Incoming(request.headers()));
                                cors.judge_unanswered(&deferred, request.path(), authority, status)
                            }
                        };
                        match verdict {
                            Unanswered::Refuse(reply) => {
                                let (request, _) = response.into_parts();
                                let refusal = crate::response(reply, None);
                                return Poll::Ready(Ok(
                                    ServiceResponse::new(request, refusal).map_into_right_body()
                                ));
                            }
                            Unanswered::Decorate(decoration) => {
                                decoration.apply(&mut Outgoing(response.headers_mut()));
                            }
                            _ => {}
                        }
                    }
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}
