//! The `filter` parameter of the list call: `field eq "value"` clauses joined with `and`, on
//! `name`, `origin`, `status` and `type`.

use trusted_cors_core::{OriginPattern, Status, TrustedOrigin};

/// A parsed `filter`: `field eq "value"` clauses joined with `and`.
pub(crate) struct Filter(Vec<(FilterField, String)>);

enum FilterField {
    Name,
    Origin,
    Status,
    Type,
}

impl Filter {
    pub(crate) fn parse(text: &str) -> Result<Filter, String> {
        let bad = || bad_filter(text);
        let mut clauses = Vec::new();
        let mut rest = text.trim();
        loop {
            let (field, after) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
            let field = match field {
                "name" => FilterField::Name,
                "origin" => FilterField::Origin,
                "status" => FilterField::Status,
                "type" => FilterField::Type,
                other => {
                    return Err(format!(
                        "filter: unknown field `{other}`: use name, origin, status or type"
                    ))
                }
            };
            let (operator, after) = after
                .trim_start()
                .split_once(char::is_whitespace)
                .ok_or_else(bad)?;
            if operator != "eq" {
                return Err(bad());
            }
            let quoted = after.trim_start().strip_prefix('"').ok_or_else(bad)?;
            let end = quoted.find('"').ok_or_else(bad)?;
            let value = &quoted[..end];
            let allowed: &[&str] = match field {
                FilterField::Status => &["ACTIVE", "INACTIVE"],
                FilterField::Type => &["CORS", "REDIRECT", "IFRAME_EMBED"],
                FilterField::Name | FilterField::Origin => &[],
            };
            if !allowed.is_empty() && !allowed.contains(&value) {
                return Err(format!(
                    "filter: `{value}` is not one of {}",
                    allowed.join(", ")
                ));
            }
            let value = match field {
                // Origins compare in canonical form, as they are stored.
                FilterField::Origin => {
                    OriginPattern::parse(value).map_or_else(|_| value.to_owned(), |p| p.to_string())
                }
                _ => value.to_owned(),
            };
            clauses.push((field, value));
            rest = quoted[end + 1..].trim_start();
            if rest.is_empty() {
                return Ok(Filter(clauses));
            }
            let (word, after) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
            if !word.eq_ignore_ascii_case("and") {
                return Err(bad());
            }
            rest = after.trim_start();
        }
    }

    pub(crate) fn matches(&self, origin: &TrustedOrigin) -> bool {
        self.0.iter().all(|(field, value)| match field {
            FilterField::Name => origin.name == *value,
            FilterField::Origin => origin.origin.as_str() == value,
            FilterField::Status => match value.as_str() {
                "ACTIVE" => origin.status == Status::Active,
                "INACTIVE" => origin.status == Status::Inactive,
                _ => false,
            },
            FilterField::Type => origin.scopes.iter().any(|s| s.kind.as_str() == value),
        })
    }
}

fn bad_filter(text: &str) -> String {
    format!("filter `{text}` is not of the form field eq \"value\" [and field eq \"value\"]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let f =
            Filter::parse(r#"name eq "Shop" and type eq "CORS"  AND  status eq "ACTIVE""#).unwrap();
        assert_eq!(f.0.len(), 3);
        let f = Filter::parse(r#"origin eq "HTTPS://Shop.Example.com""#).unwrap();
        assert_eq!(f.0[0].1, "https://shop.example.com");
        for bad in [
            r#"status eq "active""#,
            r#"type eq "cors""#,
            "",
            "name",
            r#"name eq Shop"#,
            r#"name ne "Shop""#,
            r#"colour eq "red""#,
            r#"name eq "a" or name eq "b""#,
            r#"name eq "a" and"#,
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }
}
