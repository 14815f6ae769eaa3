//! The list call: `q`, `filter`, paging with `limit` and `after`, and the `Link` header.

use serde_json::Value;
use trusted_cors_core::TrustedOrigin;

use super::wire::{error, json_reply, trusted_origin_object, Reply};
use super::{TrustedOriginsApi, DEFAULT_LIMIT, MAX_LIMIT, TRUSTED_ORIGINS_PATH};
use crate::filter::Filter;

impl TrustedOriginsApi {
    /// `GET /api/v1/trustedOrigins`: a page of the entries that match `q` and `filter`.
    pub(super) fn list(&self, raw_query: Option<&str>, base_url: &str) -> Reply {
        let mut q = None;
        let mut filter = None;
        let mut limit = DEFAULT_LIMIT;
        let mut after = None;
        for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
            match &*key {
                "q" => q = Some(value.to_lowercase()),
                "filter" => match Filter::parse(&value) {
                    Ok(parsed) => filter = Some(parsed),
                    Err(cause) => {
                        return error(400, "E0000001", "Api validation failed: filter", &[&cause])
                    }
                },
                "limit" => match value.parse::<usize>() {
                    Ok(n) if n >= 1 => limit = n.min(MAX_LIMIT),
                    _ => {
                        return error(
                            400,
                            "E0000001",
                            "Api validation failed: limit",
                            &["limit must be a whole number from 1 to 200"],
                        )
                    }
                },
                "after" => after = Some(value.into_owned()),
                _ => {}
            }
        }
        let snapshot = self.origins.registry().snapshot();
        let mut matching: Vec<&TrustedOrigin> = snapshot
            .origins()
            .filter(|o| {
                q.as_deref().is_none_or(|q| {
                    o.name.to_lowercase().starts_with(q) || o.origin.as_str().starts_with(q)
                })
            })
            .filter(|o| filter.as_ref().is_none_or(|f| f.matches(o)))
            .collect();
        matching.sort_by_cached_key(|o| cursor(o));
        let start = match &after {
            Some(after) => matching.partition_point(|o| cursor(o) <= *after),
            None => 0,
        };
        let page: Vec<&TrustedOrigin> = matching.iter().skip(start).take(limit).copied().collect();
        let body: Vec<Value> = page
            .iter()
            .map(|o| trusted_origin_object(o, base_url))
            .collect();
        let mut reply = json_reply(200, &Value::Array(body));
        let link_for = |after: Option<&str>| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(q) = &q {
                query.append_pair("q", q);
            }
            for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
                if key == "filter" {
                    query.append_pair("filter", &value);
                }
            }
            query.append_pair("limit", &limit.to_string());
            if let Some(after) = after {
                query.append_pair("after", after);
            }
            format!("{base_url}{TRUSTED_ORIGINS_PATH}?{}", query.finish())
        };
        let mut links = vec![format!("<{}>; rel=\"self\"", link_for(after.as_deref()))];
        if start + page.len() < matching.len() {
            if let Some(last) = page.last() {
                links.push(format!("<{}>; rel=\"next\"", link_for(Some(&cursor(last)))));
            }
        }
        for link in links {
            if let Ok(value) = http::HeaderValue::from_str(&link) {
                reply.headers_mut().append(http::header::LINK, value);
            }
        }
        reply
    }
}

/// A page cursor that sorts in creation order and survives deletions: creation time, then id.
fn cursor(origin: &TrustedOrigin) -> String {
    format!(
        "{:020}_{}",
        i128::from(origin.created.unix_millis()).max(0) * 1_000_000,
        origin.id
    )
}
