use http::HeaderValue;

use crate::Decision;

/// What the per-route layer decided about a request that reached the handler, put in the
/// request extensions for handlers (the axum and actix adapters offer it as an extractor).
#[derive(Debug, Clone, Default)]
pub struct CorsOutcome {
    origin: Option<HeaderValue>,
    cross_origin: bool,
    trusted: bool,
    credentials: bool,
    declared: bool,
}

impl CorsOutcome {
    /// The outcome of a decision made on a declared route, for a request that reaches the
    /// handler; `origin` is the request's `Origin` value.
    pub fn from_decision(decision: &Decision<'_>, origin: Option<HeaderValue>) -> Self {
        let (cross_origin, trusted, credentials) = match decision {
            Decision::Allow(headers) => (true, headers.trusted, headers.allow_credentials),
            Decision::NotCors | Decision::SameOrigin => (false, false, false),
            _ => (true, false, false),
        };
        CorsOutcome {
            origin,
            cross_origin,
            trusted,
            credentials,
            declared: true,
        }
    }

    /// The same outcome with another `Origin` value (adapters that read `Origin` from another
    /// `http` version set it when a handler asks).
    pub fn with_origin(mut self, origin: Option<HeaderValue>) -> Self {
        self.origin = origin;
        self
    }

    /// The outcome seen on a route that declared no CORS policy.
    pub fn undeclared() -> Self {
        CorsOutcome::default()
    }

    /// The request's `Origin`, when it sent exactly one that is valid UTF-8.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_ref().and_then(|o| o.to_str().ok())
    }

    /// Whether the request came from another origin (and was allowed to reach the handler).
    pub fn is_cross_origin(&self) -> bool {
        self.cross_origin
    }

    /// Whether the origin is an ACTIVE trusted origin with the CORS scope.
    pub fn is_trusted(&self) -> bool {
        self.trusted
    }

    /// Whether the response will allow the browser to send and read with credentials (cookies).
    pub fn allows_credentials(&self) -> bool {
        self.credentials
    }

    /// Whether the route declared a CORS policy.
    pub fn is_declared(&self) -> bool {
        self.declared
    }
}
