//! Everything an adapter needs, and nothing a user writes: the protocol by which a framework's
//! middleware runs the core. Hidden from the documentation; stable only together with the
//! adapters of this repository.
//!
//! # Writing an adapter
//!
//! An adapter translates between its framework's types and the core's; every rule and every
//! header value is decided here.
//!
//! 1. **Headers.** Implement [`RequestHeaders`] for the framework's request header map (`get`:
//!    one header, [`Found::from_values`] over its values; `get_many`: several, the way the map
//!    is cheapest to read them; `contains`, where the map says whether a header is present more
//!    cheaply than it finds its values) and [`ResponseHeaders`] for its response header map (its
//!    constant values, `vary_origin` and `credentials_true`, built once), finding a
//!    field's name with [`field_name`] in a table of the framework's names of
//!    [`NAMED_FIELDS`], parsed once. The Tower layers do it for `http` 1.x's `HeaderMap`
//!    (`service/headers.rs`); the actix-web adapter for actix's (`http` 0.2).
//! 2. **The guard**, around the whole application: call [`Cors::mark_guard_installed`] when it
//!    wraps a service, and [`Cors::judge_unrouted`] on each request. `Err(reply)`: answer with
//!    the reply ([`Reply::write_headers`], [`Reply::into_parts`]; the rejection goes into the
//!    response's extensions) without calling the application. `Ok(after)`: call the
//!    application, then [`After::finish`] on its response.
//! 3. **A route declaration**: build a [`DeclaredRoute`] once with [`Cors::declare`], and call
//!    [`DeclaredRoute::handle`] on each request. [`RouteStep::Answer`] and
//!    [`RouteStep::Preflight`] are the route's own answers: send them
//!    ([`Preflight::write_headers`] into the response's empty map, status
//!    [`Preflight::STATUS`], an empty body) and mark them with [`RouteAnswered`], where the
//!    guard's [`AppResponse::route_answered`] looks. [`RouteStep::Forward`]: put the
//!    [`Recorded`] outcome into the request's extensions ([`Recorded::record`], through
//!    [`MarkSink`]), call the handler, then [`After::finish`] with the step's decoration
//!    ([`After::Decorate`]).
//! 4. **The end of a request**: implement [`AppResponse`] for the framework's response (its
//!    [`mark_route_answered`](AppResponse::mark_route_answered) puts the [`RouteAnswered`] mark
//!    where `route_answered` looks: a route took a WebSocket handshake), and call
//!    [`After::finish`] once the application answered; a returned reply replaces the response.
//! 5. **Handlers** read the outcome with [`CorsOutcome::from_request`], through
//!    [`MarkSource`].
//!
//! The Tower layers (`service/mod.rs`) are the model; the actix-web adapter follows them step
//! for step.
//!
//! [`Cors::mark_guard_installed`]: crate::Cors::mark_guard_installed
//! [`Cors::judge_unrouted`]: crate::Cors::judge_unrouted
//! [`Cors::declare`]: crate::Cors::declare
//! [`Reply::write_headers`]: crate::Reply::write_headers
//! [`Reply::into_parts`]: crate::Reply::into_parts
//! [`CorsOutcome::from_request`]: crate::CorsOutcome::from_request

pub use crate::decision::decide_reporting;
pub use crate::field::{Field, NAMED_FIELDS};
pub use crate::layers::{
    After, AppResponse, DeclaredRoute, Deferred, Mark, MarkSink, MarkSource, Preflight, Recorded,
    RouteAnswered, RouteStep,
};
pub use crate::reply::{Decoration, ReplyValue, ResponseHeaders, TRUE, VARY_ORIGIN};
pub use crate::request::{Found, RequestHeaders};
pub use bytes::Bytes;

use std::borrow::Cow;

/// A framework's name of a field: a named one's from `names` (the framework's names of
/// [`NAMED_FIELDS`], in that order, parsed once), borrowed; another's parsed by `parse` (`None`
/// if it is not a valid name).
pub fn field_name<N: Clone>(
    names: &[N],
    field: Field,
    parse: impl FnOnce(&[u8]) -> Option<N>,
) -> Option<Cow<'_, N>> {
    match field.index() {
        Some(i) => names.get(i).map(Cow::Borrowed),
        None => parse(field.as_str().as_bytes()).map(Cow::Owned),
    }
}
