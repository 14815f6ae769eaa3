//! `http` 1.x's header map, as the core reads and writes it.

use std::sync::LazyLock;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::field::NAMED_FIELDS;
use crate::reply::ResponseHeaders;
use crate::request::{Found, RequestHeaders};
use crate::Field;

/// `http`'s names of the named fields, in the order of [`NAMED_FIELDS`], parsed once.
static NAMES: LazyLock<[HeaderName; NAMED_FIELDS.len()]> =
    LazyLock::new(|| NAMED_FIELDS.map(|field| HeaderName::from_static(field.as_str())));

/// `http`'s name of a field: a named one's from the table, another's parsed (`None` if it is not
/// a valid name).
fn name(field: Field) -> Option<HeaderName> {
    match field.index() {
        Some(i) => NAMES.get(i).cloned(),
        None => HeaderName::from_bytes(field.as_str().as_bytes()).ok(),
    }
}

impl RequestHeaders for HeaderMap {
    type Value = HeaderValue;

    fn get(&self, field: Field) -> Found<&HeaderValue> {
        name(field).map_or(Found::Absent, |name| Found::from_values(self.get_all(name)))
    }
}

impl ResponseHeaders for HeaderMap {
    type Value = HeaderValue;

    fn to_value(bytes: Bytes) -> Option<HeaderValue> {
        HeaderValue::from_maybe_shared(bytes).ok()
    }

    fn values(&self, field: Field) -> impl Iterator<Item = &[u8]> {
        let values = name(field).map(|name| self.get_all(name).into_iter());
        values.into_iter().flatten().map(HeaderValue::as_bytes)
    }

    fn insert(&mut self, field: Field, value: HeaderValue) {
        if let Some(name) = name(field) {
            HeaderMap::insert(self, name, value);
        }
    }

    fn append(&mut self, field: Field, value: HeaderValue) {
        if let Some(name) = name(field) {
            HeaderMap::append(self, name, value);
        }
    }

    fn remove(&mut self, field: Field) {
        if let Some(name) = name(field) {
            HeaderMap::remove(self, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name table holds each named field's own name.
    #[test]
    fn names_are_the_named_fields() {
        for field in NAMED_FIELDS {
            assert_eq!(
                name(field).map(|n| n.as_str().to_owned()).as_deref(),
                Some(field.as_str())
            );
        }
        assert_eq!(name(Field::Other("x-custom")).unwrap().as_str(), "x-custom");
        assert_eq!(name(Field::Other("not a name")), None);
    }
}
