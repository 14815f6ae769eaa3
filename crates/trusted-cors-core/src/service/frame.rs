use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::ResponseFuture;
use crate::Cors;

/// Lets the route's pages be framed only by this service and by the ACTIVE trusted origins with
/// the IFRAME_EMBED scope: appends `Content-Security-Policy: frame-ancestors 'self' <origins>`,
/// read from the registry at each request. Built by [`Cors::frame_ancestors`].
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
    ResB: From<bytes::Bytes>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let decoration = self.cors.frame_ancestors_decoration();
        ResponseFuture::decorated(self.inner.call(request), decoration)
    }
}
