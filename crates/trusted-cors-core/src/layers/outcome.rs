//! What a declared route recorded for the handler it calls, and what the handler reads of it.

use crate::request::HeaderInput;

/// What a declared route decided about a request that reaches its handler. It is kept in the
/// request extensions as one of four zero-sized marks, so recording it allocates nothing once the
/// request has an extension map (as every request routed by axum or actix-web has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Recorded {
    /// Not a cross-origin request.
    NotCrossOrigin,
    /// Cross-origin, not trusted (a bearer call from any origin, or a route that adds nothing).
    CrossOrigin,
    /// From a trusted origin, on a route that allows no credentials.
    Trusted,
    /// From a trusted origin, with credentials.
    TrustedWithCredentials,
}

/// The zero-sized mark of one [`Recorded`] state.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Mark<const STATE: u8>;

/// A request's extensions, to put a mark in.
#[doc(hidden)]
pub trait MarkSink {
    /// Inserts a zero-sized mark.
    fn insert_mark<M: Clone + Send + Sync + 'static>(&mut self, mark: M);
}

/// A request's extensions, to look for a mark in.
#[doc(hidden)]
pub trait MarkSource {
    /// Whether the mark is present.
    fn has_mark<M: Send + Sync + 'static>(&self) -> bool;
}

impl Recorded {
    /// Puts the mark of this state in the request extensions.
    pub fn record(self, extensions: &mut impl MarkSink) {
        match self {
            Recorded::NotCrossOrigin => extensions.insert_mark(Mark::<0>),
            Recorded::CrossOrigin => extensions.insert_mark(Mark::<1>),
            Recorded::Trusted => extensions.insert_mark(Mark::<2>),
            Recorded::TrustedWithCredentials => extensions.insert_mark(Mark::<3>),
        }
    }

    /// The state marked in the request extensions, if a declared route marked one.
    pub fn read(extensions: &impl MarkSource) -> Option<Recorded> {
        [
            (extensions.has_mark::<Mark<0>>(), Recorded::NotCrossOrigin),
            (extensions.has_mark::<Mark<1>>(), Recorded::CrossOrigin),
            (extensions.has_mark::<Mark<2>>(), Recorded::Trusted),
            (
                extensions.has_mark::<Mark<3>>(),
                Recorded::TrustedWithCredentials,
            ),
        ]
        .into_iter()
        .find_map(|(present, state)| present.then_some(state))
    }
}

/// What the route's CORS policy decided about the request that reached the handler: the origin,
/// whether it is trusted, whether credentials are allowed. The axum and actix-web adapters offer
/// it as the `CorsContext` extractor.
#[derive(Debug, Clone, Default)]
pub struct CorsOutcome {
    origin: Option<Box<str>>,
    recorded: Option<Recorded>,
}

impl CorsOutcome {
    /// From what the route recorded in the request extensions and the request's `Origin`
    /// values. On a route that declared nothing (no record), the outcome is empty.
    #[doc(hidden)]
    pub fn from_request(extensions: &impl MarkSource, origin: HeaderInput<'_>) -> Self {
        let Some(recorded) = Recorded::read(extensions) else {
            return CorsOutcome::default();
        };
        let origin = match origin {
            HeaderInput::One(bytes) => std::str::from_utf8(bytes).ok().map(Box::from),
            _ => None,
        };
        CorsOutcome {
            origin,
            recorded: Some(recorded),
        }
    }

    /// The request's `Origin`, when it sent exactly one that is valid UTF-8.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Whether the request came from another origin (and was allowed to reach the handler).
    pub fn is_cross_origin(&self) -> bool {
        matches!(self.recorded, Some(state) if state != Recorded::NotCrossOrigin)
    }

    /// Whether the origin is an ACTIVE trusted origin with the CORS scope.
    pub fn is_trusted(&self) -> bool {
        matches!(
            self.recorded,
            Some(Recorded::Trusted | Recorded::TrustedWithCredentials)
        )
    }

    /// Whether the response will allow the browser to send and read with credentials (cookies).
    pub fn allows_credentials(&self) -> bool {
        self.recorded == Some(Recorded::TrustedWithCredentials)
    }

    /// Whether the route declared a CORS policy.
    pub fn is_declared(&self) -> bool {
        self.recorded.is_some()
    }
}
