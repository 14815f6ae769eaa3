use proptest::prelude::*;
use time::OffsetDateTime;
use trusted_cors_core::{OriginPattern, Scope, ScopeType, Status, TrustedOrigin};

use super::*;

fn entry(id: &str, name: &str, origin: &str, scopes: &[ScopeType], active: bool) -> TrustedOrigin {
    TrustedOrigin {
        id: id.into(),
        name: name.into(),
        origin: OriginPattern::parse(origin).unwrap(),
        scopes: scopes.iter().copied().map(Scope::from).collect(),
        status: if active {
            Status::Active
        } else {
            Status::Inactive
        },
        created: OffsetDateTime::from_unix_timestamp(1_700_000_000)
            .unwrap()
            .into(),
        created_by: None,
        last_updated: OffsetDateTime::from_unix_timestamp(1_700_086_400)
            .unwrap()
            .into(),
        last_updated_by: None,
    }
}

fn matching(filter: &str, entries: &[TrustedOrigin]) -> Vec<String> {
    let filter = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    entries
        .iter()
        .filter(|e| filter.matches(e))
        .map(|e| e.id.to_string())
        .collect()
}

#[test]
fn okta_documented_expressions_match() {
    let entries = [
        entry(
            "a",
            "Shop",
            "https://shop.example.com",
            &[ScopeType::Cors],
            true,
        ),
        entry(
            "b",
            "Blog",
            "https://blog.example.com",
            &[ScopeType::Redirect, ScopeType::IframeEmbed],
            false,
        ),
        entry(
            "c",
            "Shop EU",
            "https://eu.shop.example.com",
            &[ScopeType::Cors, ScopeType::Redirect],
            true,
        ),
    ];
    assert_eq!(
        matching(r#"(id eq "a" or id eq "b")"#, &entries),
        ["a", "b"]
    );
    assert_eq!(matching(r#"id EQ "a" OR id Eq "c""#, &entries), ["a", "c"]);
    assert_eq!(
        matching(r#"name sw "Shop" and status eq "ACTIVE""#, &entries),
        ["a", "c"]
    );
    assert_eq!(matching(r#"not (type eq "CORS")"#, &entries), ["b"]);
    assert_eq!(matching(r#"type ne "CORS""#, &entries), ["b"]);
    assert_eq!(
        matching(
            r#"type eq "REDIRECT" and (status eq "INACTIVE" or name eq "Shop EU")"#,
            &entries
        ),
        ["b", "c"]
    );
    assert_eq!(
        matching(r#"origin eq "HTTPS://Shop.Example.com:443""#, &entries),
        ["a"]
    );
    assert_eq!(matching(r#"origin sw "https://eu.""#, &entries), ["c"]);
    assert_eq!(matching(r#"name pr"#, &entries), ["a", "b", "c"]);
    assert_eq!(
        matching(r#"created lt "2023-11-14T22:13:21.000Z""#, &entries),
        ["a", "b", "c"]
    );
    assert_eq!(
        matching(r#"lastUpdated gt "2023-11-15T22:13:20Z""#, &entries),
        Vec::<String>::new()
    );
    assert_eq!(
        matching(r#"lastUpdated ge "2023-11-15T22:13:20Z""#, &entries),
        ["a", "b", "c"]
    );
    assert_eq!(matching(r#"name gt "C""#, &entries), ["a", "c"]);
    assert_eq!(matching(r#"name eq "Sh\u006fp""#, &entries), ["a"]);
    assert_eq!(matching(r#"not not id le "a""#, &entries), ["a"]);
}

#[test]
fn errors_say_what_and_where() {
    for (filter, expected) in [
        ("", "at character 1: expected a field"),
        ("name", "at character 5: expected an operator"),
        (r#"colour eq "red""#, "at character 1: expected a field (id, name, origin, status, type, created or lastUpdated) or `(`, found `colour`"),
        (r#"name is "x""#, "at character 6: expected an operator (eq, ne, sw, pr, gt, ge, lt, le), found `is`"),
        ("name eq Shop", "at character 9: expected a value in double quotes, found `Shop`"),
        (r#"name eq "Shop"#, "at character 9: the string is not closed"),
        (r#"status eq "active""#, "at character 11: expected one of ACTIVE, INACTIVE"),
        (r#"type eq "cors""#, "expected one of CORS, REDIRECT, IFRAME_EMBED"),
        (r#"created gt "yesterday""#, "at character 12: expected a date"),
        (r#"created sw "2024""#, "sw applies to text fields"),
        (r#"(name eq "a""#, "at character 13: expected `)`, found the end of the expression"),
        (r#"name eq "a" name eq "b""#, "at character 13: expected `and`, `or` or the end of the expression, found `name`"),
        (r#"name eq "a" and"#, "at character 16: expected a field"),
        (r#"name eq 'a'"#, "at character 9: unexpected `'`"),
        (r#"name eq "\x""#, "at character 9: the string is not a JSON string"),
        (r#"é eq "a""#, "at character 1: unexpected `é`"),
    ] {
        let error = Filter::parse(filter).unwrap_err();
        assert!(error.starts_with("filter: "), "{filter}: {error}");
        assert!(error.contains(expected), "{filter}: {error}");
    }
}

#[test]
fn length_and_nesting_are_bounded() {
    let deep = |n: usize| format!("{}name eq \"a\"{}", "(".repeat(n), ")".repeat(n));
    assert!(Filter::parse(&deep(MAX_FILTER_DEPTH)).is_ok());
    let error = Filter::parse(&deep(MAX_FILTER_DEPTH + 1)).unwrap_err();
    assert!(error.contains("nests deeper than 16 levels"), "{error}");
    let nots = format!("{}name eq \"a\"", "not ".repeat(MAX_FILTER_DEPTH + 1));
    assert!(Filter::parse(&nots).unwrap_err().contains("nests deeper"));
    // Far deeper than the stack could take, refused at the bound.
    assert!(Filter::parse(&deep(1000)).is_err());
    let long = format!("name eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
    let error = Filter::parse(&long).unwrap_err();
    assert!(error.contains("longer than 2048"), "{error}");
}

/// An expression as generated, evaluated by the plain rules below, and rendered as text.
#[derive(Debug, Clone)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Present(&'static str),
    Compare(&'static str, &'static str, String),
}

const TEXT_FIELDS: [&str; 5] = ["id", "name", "origin", "status", "type"];
const DATES: [&str; 3] = [
    "2023-11-14T22:13:20.000Z",
    "2023-11-15T00:00:00Z",
    "2023-11-16T22:13:20.500+01:00",
];

fn leaf() -> impl Strategy<Value = Expr> {
    let ops = prop::sample::select(vec!["eq", "ne", "sw", "gt", "ge", "lt", "le"]);
    let text = (
        prop::sample::select(TEXT_FIELDS.to_vec()),
        ops.clone(),
        prop::sample::select(vec![
            "a",
            "b",
            "A",
            "Shop",
            "Sh",
            "Shop EU",
            "https://a.example",
            "https://",
            "ACTIVE",
            "INACTIVE",
            "CORS",
            "REDIRECT",
            "IFRAME_EMBED",
            "",
        ]),
    )
        .prop_filter(
            "enumerated fields take their values for eq and ne",
            |(f, o, v)| {
                let allowed: &[&str] = match *f {
                    "status" => &["ACTIVE", "INACTIVE"],
                    "type" => &["CORS", "REDIRECT", "IFRAME_EMBED"],
                    _ => return true,
                };
                !matches!(*o, "eq" | "ne") || allowed.contains(v)
            },
        )
        .prop_map(|(f, o, v)| Expr::Compare(f, o, v.to_owned()));
    let date = (
        prop::sample::select(vec!["created", "lastUpdated"]),
        ops.prop_filter("no sw on dates", |o| *o != "sw"),
        prop::sample::select(DATES.to_vec()),
    )
        .prop_map(|(f, o, v)| Expr::Compare(f, o, v.to_owned()));
    let present =
        prop::sample::select(vec!["id", "name", "created", "type"]).prop_map(Expr::Present);
    prop_oneof![4 => text, 2 => date, 1 => present]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// The plain rules, straight from the description of the language.
fn plain(expr: &Expr, entry: &TrustedOrigin) -> bool {
    let status = if entry.status == Status::Active {
        "ACTIVE"
    } else {
        "INACTIVE"
    };
    match expr {
        Expr::Or(parts) => parts.iter().any(|p| plain(p, entry)),
        Expr::And(parts) => parts.iter().all(|p| plain(p, entry)),
        Expr::Not(part) => !plain(part, entry),
        Expr::Present(_) => true,
        Expr::Compare(field, op, value) => {
            let test = |actual: &str, value: &str| match *op {
                "eq" => actual == value,
                "ne" => actual != value,
                "sw" => actual.starts_with(value),
                "gt" => actual > value,
                "ge" => actual >= value,
                "lt" => actual < value,
                _ => actual <= value,
            };
            match *field {
                "created" | "lastUpdated" => {
                    let actual = if *field == "created" {
                        entry.created.to_offset_date_time()
                    } else {
                        entry.last_updated.to_offset_date_time()
                    };
                    let value = OffsetDateTime::parse(
                        value,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .unwrap();
                    match *op {
                        "eq" => actual == value,
                        "ne" => actual != value,
                        "gt" => actual > value,
                        "ge" => actual >= value,
                        "lt" => actual < value,
                        _ => actual <= value,
                    }
                }
                "type" if *op == "ne" => !entry.scopes.iter().any(|s| s.kind.as_str() == value),
                "type" => entry.scopes.iter().any(|s| test(s.kind.as_str(), value)),
                "origin" if matches!(*op, "eq" | "ne") => {
                    let value =
                        OriginPattern::parse(value).map_or(value.clone(), |p| p.to_string());
                    test(entry.origin.as_str(), &value)
                }
                "id" => test(&entry.id, value),
                "name" => test(&entry.name, value),
                "origin" => test(entry.origin.as_str(), value),
                _ => test(status, value),
            }
        }
    }
}

/// `word` in upper case when `upper` says so.
fn case(word: &str, upper: &mut dyn Iterator<Item = bool>) -> String {
    if upper.next().unwrap_or(false) {
        word.to_ascii_uppercase()
    } else {
        word.to_owned()
    }
}

/// The expression as text, with the keywords in the case `upper` gives.
fn render(expr: &Expr, upper: &mut dyn Iterator<Item = bool>) -> String {
    let grouped = |e: &Expr, upper: &mut dyn Iterator<Item = bool>| match e {
        Expr::Or(_) | Expr::And(_) => format!("({})", render(e, upper)),
        _ => render(e, upper),
    };
    match expr {
        Expr::Or(parts) | Expr::And(parts) => {
            let joiner = case(
                if matches!(expr, Expr::Or(_)) {
                    "or"
                } else {
                    "and"
                },
                upper,
            );
            let rendered: Vec<String> = parts.iter().map(|part| grouped(part, upper)).collect();
            rendered.join(&format!(" {joiner}  "))
        }
        Expr::Not(part) => {
            let not = case("not", upper);
            format!("{not} {}", grouped(part, upper))
        }
        Expr::Present(field) => format!("{field} {}", case("pr", upper)),
        Expr::Compare(field, op, value) => {
            format!(
                "{field}\t{} {}",
                case(op, upper),
                serde_json::to_string(value).unwrap()
            )
        }
    }
}

fn entries() -> impl Strategy<Value = Vec<TrustedOrigin>> {
    let one = (
        prop::sample::select(vec!["a", "b", "A", "tos1"]),
        prop::sample::select(vec!["Shop", "Shop EU", "A", "b"]),
        prop::sample::select(vec![
            "https://a.example",
            "https://b.example",
            "http://*.apps.example.com",
        ]),
        prop::sample::subsequence(
            vec![ScopeType::Cors, ScopeType::Redirect, ScopeType::IframeEmbed],
            1..=3,
        ),
        any::<bool>(),
        prop::sample::select(vec![1_700_000_000i64, 1_700_006_400, 1_700_172_800]),
    )
        .prop_map(|(id, name, origin, scopes, active, at)| {
            let scopes: Vec<ScopeType> = scopes
                .into_iter()
                .filter(|s| !origin.starts_with("http:") || *s != ScopeType::Cors)
                .collect();
            let mut e = entry(id, name, origin, &scopes, active);
            e.created = OffsetDateTime::from_unix_timestamp(at).unwrap().into();
            e.last_updated = OffsetDateTime::from_unix_timestamp(at + 86_400)
                .unwrap()
                .into();
            e
        });
    prop::collection::vec(one, 1..6)
}

proptest! {
    #[test]
    fn the_parser_agrees_with_the_plain_rules(expr in expr(), entries in entries(), upper in prop::collection::vec(any::<bool>(), 64)) {
        let text = render(&expr, &mut upper.into_iter().cycle());
        let filter = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        for entry in &entries {
            prop_assert_eq!(filter.matches(entry), plain(&expr, entry), "{} on {:?}", text, entry);
        }
    }

    #[test]
    fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,80}") {
        let _ = Filter::parse(&text);
    }

    #[test]
    fn near_misses_are_refused_with_a_position(expr in expr(), cut in 0usize..200) {
        let text = render(&expr, &mut std::iter::repeat(false));
        let cut = text.char_indices().map(|(i, _)| i).nth(cut % text.chars().count().max(1)).unwrap_or(0);
        if let Err(error) = Filter::parse(&text[..cut]) {
            prop_assert!(error.starts_with("filter: "), "{}", error);
        }
    }
}
