//! The Tower stack.

use super::*;

/// What came back from the Tower stack.
#[derive(Debug)]
pub struct Observed {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub rejection: Option<Rejection>,
    /// How many times the handler ran.
    pub handled: usize,
}

impl Observed {
    pub fn all(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .get_all(name)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect()
    }

    pub fn one(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name).map(HeaderValue::as_bytes)
    }

    /// The `Vary` items, in order.
    pub fn vary(&self) -> Vec<String> {
        self.all("vary")
            .iter()
            .flat_map(|v| v.split(|b| *b == b','))
            .map(|item| String::from_utf8_lossy(item.trim_ascii()).to_ascii_lowercase())
            .collect()
    }
}

/// Runs a future that never waits (the whole stack answers synchronously).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..16 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("the stack waited on something")
}

type Body = Full<Bytes>;

fn call<S>(service: S, request: Request<Body>) -> Response<Body>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    block_on(service.oneshot(request)).unwrap_or_else(|never| match never {})
}

/// `cors.guard()` around (for a declared route) `cors.route(policy)` around a handler that
/// counts its calls and sets `Vary: Accept-Encoding` (and, if the world says so, CORS headers
/// of its own).
pub fn run_tower(
    world: &World,
    cors: &Cors,
    policy: &RouteCors,
    request: Request<Body>,
) -> Observed {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let app_sets_cors = world.app_sets_cors;
    let handler = service_fn(move |_request: Request<Body>| {
        counter.fetch_add(1, Ordering::SeqCst);
        let mut response = Response::new(Full::new(Bytes::from_static(b"handled")));
        let headers = response.headers_mut();
        headers.insert("vary", HeaderValue::from_static("Accept-Encoding"));
        if app_sets_cors {
            headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            headers.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
        }
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let response = match world.route {
        RouteKind::Undeclared => call(cors.guard().layer(handler), request),
        RouteKind::ServerSideOnly | RouteKind::Cors => call(
            cors.guard()
                .layer(cors.route(policy.clone()).layer(handler)),
            request,
        ),
    };
    let (parts, body) = response.into_parts();
    let body = block_on(body.collect())
        .unwrap_or_else(|never| match never {})
        .to_bytes();
    Observed {
        status: parts.status.as_u16(),
        rejection: parts.extensions.get::<Rejection>().cloned(),
        headers: parts.headers,
        body,
        handled: calls.load(Ordering::SeqCst),
    }
}
