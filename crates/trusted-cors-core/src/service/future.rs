use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response, Uri};
use pin_project_lite::pin_project;

use super::Answered;
use crate::layers::After;

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
        Inner {
            #[pin]
            future: F,
            // What to do to the application's response.
            after: After<HeaderValue>,
            // The request's target, for a preflight judged at the end.
            uri: Option<Uri>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn ready(response: Response<Bytes>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(super) fn inner(future: F, after: After<HeaderValue>, uri: Option<Uri>) -> Self {
        ResponseFuture {
            state: State::Inner { future, after, uri },
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
            StateProj::Inner { future, after, uri } => {
                let mut response = ready!(future.poll(cx))?;
                let mut answered = Answered {
                    response: &mut response,
                    uri: uri.as_ref(),
                };
                match after.finish(&mut answered) {
                    Some(refusal) => Poll::Ready(Ok(super::response(refusal, None).map(B::from))),
                    None => Poll::Ready(Ok(response)),
                }
            }
        }
    }
}
