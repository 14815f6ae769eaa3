use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response, Uri};
use pin_project_lite::pin_project;

use crate::layers::{Deferred, RouteAnswered, Unanswered};
use crate::reply::Decoration;
use crate::Cors;

pin_project! {
    /// The response future of [`GuardService`](super::GuardService) and
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
#[derive(Debug)]
enum After {
    Nothing,
    /// A declared route's CORS headers and `Vary`.
    Decorate(Decoration<HeaderValue>),
    /// A request the guard passed on without a verdict: judged unless a declared route answered.
    Deferred(Cors, Deferred<HeaderValue>, Uri),
}

impl<F> ResponseFuture<F> {
    pub(super) fn ready(response: Response<Bytes>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(super) fn passed(future: F) -> Self {
        Self::inner(future, After::Nothing)
    }

    pub(super) fn decorated(future: F, decoration: Decoration<HeaderValue>) -> Self {
        Self::inner(future, After::Decorate(decoration))
    }

    pub(super) fn deferred(
        future: F,
        cors: Cors,
        deferred: Deferred<HeaderValue>,
        uri: Uri,
    ) -> Self {
        Self::inner(future, After::Deferred(cors, deferred, uri))
    }

    fn inner(future: F, after: After) -> Self {
        ResponseFuture {
            state: State::Inner { future, after },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<Bytes>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { response } => {
                let response = response
                    .take()
                    .expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(response.map(B::from)))
            }
            StateProj::Inner { future, after } => {
                let mut response = ready!(future.poll(cx))?;
                match after {
                    After::Nothing => {}
                    After::Decorate(_) => {
                        if let After::Decorate(decoration) =
                            std::mem::replace(after, After::Nothing)
                        {
                            decoration.apply(response.headers_mut());
                        }
                    }
                    After::Deferred(..) => {
                        if response.extensions().get::<RouteAnswered>().is_none() {
                            if let Some(refusal) = unanswered(after, &mut response) {
                                return Poll::Ready(Ok(refusal.map(B::from)));
                            }
                        }
                    }
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// The guard's judgement of a preflight that no declared route answered (`after`, taken: it is
/// judged once): the refusal to send instead of the application's `response`, or none (the
/// response decorated when a report is due). Out of line: the code every request runs stays
/// small enough for the instruction cache.
#[cold]
#[inline(never)]
fn unanswered<B>(after: &mut After, response: &mut Response<B>) -> Option<Response<Bytes>> {
    let After::Deferred(cors, deferred, uri) = std::mem::replace(after, After::Nothing) else {
        return None;
    };
    let authority = uri.authority().map(|a| a.as_str());
    let status = response.status().as_u16();
    match cors.judge_unanswered(&deferred, uri.path(), authority, status) {
        Unanswered::Refuse(reply) => return Some(super::response(reply, None)),
        Unanswered::Decorate(decoration) => decoration.apply(response.headers_mut()),
        _ => {}
    }
    None
}
