use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::reply::Decoration;
use crate::Cors;

/// Lets the route's pages be framed only by this service and by the ACTIVE trusted origins with
/// the IFRAME_EMBED scope: appends `Content-Security-Policy: frame-ancestors 'self' <origins>`,
/// read from the registry at each request. Built by [`Cors::frame_ancestors`]; its service is
/// `<FrameAncestorsLayer as Layer<S>>::Service`.
///
/// It appends its own header, so a policy the application sets is enforced as well (browsers
/// enforce every `Content-Security-Policy` header).
#[derive(Debug, Clone)]
#[must_use]
pub struct FrameAncestorsLayer {
    cors: Cors,
}

impl FrameAncestorsLayer {
    pub(crate) fn new(cors: Cors) -> Self {
        FrameAncestorsLayer { cors }
    }
}

impl<S> Layer<S> for FrameAncestorsLayer {
    type Service = FrameAncestorsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        FrameAncestorsService {
            inner,
            cors: self.cors.clone(),
        }
    }
}

/// The service of [`FrameAncestorsLayer`].
#[derive(Debug, Clone)]
pub struct FrameAncestorsService<S> {
    pub(super) inner: S,
    cors: Cors,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for FrameAncestorsService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = FrameAncestorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        FrameAncestorsFuture {
            inner: self.inner.call(request),
            decoration: Some(self.cors.frame_ancestors_decoration()),
        }
    }
}

pin_project! {
    /// The response future of [`FrameAncestorsService`]: the application's response with the
    /// policy appended. It never answers by itself, so any body type goes.
    #[derive(Debug)]
    pub struct FrameAncestorsFuture<F> {
        #[pin]
        inner: F,
        decoration: Option<Decoration<HeaderValue>>,
    }
}

impl<F, B, E> Future for FrameAncestorsFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if let Some(decoration) = this.decoration.take() {
            decoration.apply(response.headers_mut());
        }
        Poll::Ready(Ok(response))
    }
}
