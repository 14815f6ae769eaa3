//! `http` 1.x's header map, as the core reads and writes it.

use std::borrow::Cow;
use std::sync::LazyLock;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::adapter::field_name;
use crate::field::NAMED_FIELDS;
use crate::reply::{ResponseHeaders, TRUE, VARY_ORIGIN};
use crate::request::{Found, RequestHeaders};
use crate::Field;

/// `http`'s names of the named fields, in the order of [`NAMED_FIELDS`], parsed once.
static NAMES: LazyLock<[HeaderName; NAMED_FIELDS.len()]> =
    LazyLock::new(|| NAMED_FIELDS.map(|field| HeaderName::from_static(field.as_str())));

/// `http`'s name of a field (see [`field_name`]).
fn name(field: Field) -> Option<Cow<'static, HeaderName>> {
    field_name(&*NAMES, field, |bytes| HeaderName::from_bytes(bytes).ok())
}

impl RequestHeaders for HeaderMap {
    type Value = HeaderValue;

    fn get(&self, field: Field) -> Found<&HeaderValue> {
        name(field).map_or(Found::Absent, |name| {
            Found::from_values(self.get_all(&*name))
        })
    }

    fn contains(&self, field: Field) -> bool {
        name(field).is_some_and(|name| self.contains_key(&*name))
    }

    /// One pass over the map's entries: cheaper than a hashed lookup for each of several headers
    /// (a request carries a few headers, and names compare cheaply).
    fn get_many<'a>(&'a self, fields: &[Field], found: &mut [Found<&'a HeaderValue>]) {
        let names = &*NAMES;
        let mut wanted: [Option<&HeaderName>; 8] = [None; 8];
        for (name, field) in wanted.iter_mut().zip(fields) {
            *name = field.index().and_then(|i| names.get(i));
        }
        for (name, value) in self {
            let slot = wanted.iter().position(|wanted| *wanted == Some(name));
            if let Some(slot) = slot.and_then(|i| found.get_mut(i)) {
                slot.add(value);
            }
        }
    }
}

impl ResponseHeaders for HeaderMap {
    type Value = HeaderValue;

    fn to_value(bytes: Bytes) -> Option<HeaderValue> {
        HeaderValue::from_maybe_shared(bytes).ok()
    }

    fn vary_origin() -> HeaderValue {
        const ORIGIN: HeaderValue = HeaderValue::from_static(VARY_ORIGIN);
        ORIGIN
    }

    fn credentials_true() -> HeaderValue {
        const VALUE: HeaderValue = HeaderValue::from_static(TRUE);
        VALUE
    }

    fn values(&self, field: Field) -> impl Iterator<Item = &[u8]> {
        let values = name(field).map(|name| self.get_all(&*name).into_iter());
        values.into_iter().flatten().map(HeaderValue::as_bytes)
    }

    fn insert(&mut self, field: Field, value: HeaderValue) {
        if let Some(name) = name(field) {
            HeaderMap::insert(self, name.into_owned(), value);
        }
    }

    fn append(&mut self, field: Field, value: HeaderValue) {
        if let Some(name) = name(field) {
            HeaderMap::append(self, name.into_owned(), value);
        }
    }

    fn remove(&mut self, field: Field) {
        if let Some(name) = name(field) {
            HeaderMap::remove(self, &*name);
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
