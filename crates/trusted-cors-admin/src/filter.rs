//! The `filter` parameter of the list call: Okta's filter expression language over trusted
//! origins.
//!
//! ```text
//! expression := term ("or" term)*
//! term       := factor ("and" factor)*
//! factor     := "not" factor | "(" expression ")" | field "pr" | field operator value
//! operator   := eq | ne | sw | gt | ge | lt | le
//! field      := id | name | origin | status | type | created | lastUpdated
//! value      := a JSON string, e.g. "Shop" or "2024-01-01T00:00:00.000Z"
//! ```
//!
//! Operators and `and`, `or`, `not` are case-insensitive, field names are not (as in Okta).
//! `type` matches when any of the entry's scopes does (`type ne "CORS"`: none is CORS);
//! `created` and `lastUpdated` compare as instants, their values RFC 3339 dates; `sw` applies to
//! text fields only; `pr` is true of every field (each is always present). An expression is at
//! most [`MAX_FILTER_LEN`] bytes and nests at most [`MAX_FILTER_DEPTH`] levels (parentheses and
//! `not`), so parsing and matching are bounded; the parser is a small recursive descent whose
//! depth is that bound. Errors say what is wrong and at which character (counted from 1).

use std::cmp::Ordering;

use time::OffsetDateTime;
use trusted_cors_core::{OriginPattern, TrustedOrigin};

/// The longest `filter` accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 2048;
/// The deepest nesting of parentheses and `not` accepted in a `filter`.
pub const MAX_FILTER_DEPTH: usize = 16;

/// A field of a trusted origin that a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    Name,
    Origin,
    Status,
    Type,
    Created,
    LastUpdated,
}

impl Field {
    const ALL: [(&'static str, Field); 7] = [
        ("id", Field::Id),
        ("name", Field::Name),
        ("origin", Field::Origin),
        ("status", Field::Status),
        ("type", Field::Type),
        ("created", Field::Created),
        ("lastUpdated", Field::LastUpdated),
    ];

    fn is_date(self) -> bool {
        matches!(self, Field::Created | Field::LastUpdated)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Sw,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    const ALL: [(&'static str, Op); 7] = [
        ("eq", Op::Eq),
        ("ne", Op::Ne),
        ("sw", Op::Sw),
        ("gt", Op::Gt),
        ("ge", Op::Ge),
        ("lt", Op::Lt),
        ("le", Op::Le),
    ];

    /// Whether `ordering` (the entry's value against the filter's) satisfies the operator.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering.is_eq(),
            Op::Ne => ordering.is_ne(),
            Op::Gt => ordering.is_gt(),
            Op::Ge => ordering.is_ge(),
            Op::Lt => ordering.is_lt(),
            Op::Le => ordering.is_le(),
            // Decided on the text itself.
            Op::Sw => false,
        }
    }
}

/// The value a comparison tests against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Text(String),
    Date(OffsetDateTime),
}

/// A parsed `filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Present(Field),
    Compare(Field, Op, Value),
}

impl Filter {
    /// Parses `text`; the error names what is wrong and at which character.
    pub(crate) fn parse(text: &str) -> Result<Filter, String> {
        if text.len() > MAX_FILTER_LEN {
            return Err(format!(
                "filter: the expression is {} bytes long, longer than {MAX_FILTER_LEN}",
                text.len()
            ));
        }
        let mut parser = Parser {
            text,
            tokens: tokenize(text)?,
            next: 0,
        };
        let filter = parser.expression(0)?;
        match parser.peek() {
            None => Ok(filter),
            Some(token) => {
                Err(parser.error_at(token, "expected `and`, `or` or the end of the expression"))
            }
        }
    }

    /// Whether `origin` matches.
    pub(crate) fn matches(&self, origin: &TrustedOrigin) -> bool {
        match self {
            Filter::Or(parts) => parts.iter().any(|part| part.matches(origin)),
            Filter::And(parts) => parts.iter().all(|part| part.matches(origin)),
            Filter::Not(part) => !part.matches(origin),
            Filter::Present(_) => true,
            // Okta's `type ne`: no scope has the type (not "some scope has another").
            Filter::Compare(Field::Type, Op::Ne, Value::Text(value)) => !origin
                .scopes
                .iter()
                .any(|scope| scope.kind.as_str() == value),
            Filter::Compare(Field::Type, op, Value::Text(value)) => origin
                .scopes
                .iter()
                .any(|scope| compare_text(scope.kind.as_str(), *op, value)),
            Filter::Compare(field, op, Value::Text(value)) => {
                let actual = match field {
                    Field::Id => &origin.id,
                    Field::Name => &origin.name,
                    Field::Origin => origin.origin.as_str(),
                    Field::Status => match origin.status {
                        trusted_cors_core::Status::Active => "ACTIVE",
                        trusted_cors_core::Status::Inactive => "INACTIVE",
                    },
                    // Dates are parsed as dates; type is above.
                    Field::Type | Field::Created | Field::LastUpdated => return false,
                };
                compare_text(actual, *op, value)
            }
            Filter::Compare(field, op, Value::Date(value)) => {
                let actual = match field {
                    Field::Created => origin.created.to_offset_date_time(),
                    Field::LastUpdated => origin.last_updated.to_offset_date_time(),
                    _ => return false,
                };
                op.holds(actual.cmp(value))
            }
        }
    }
}

fn compare_text(actual: &str, op: Op, value: &str) -> bool {
    match op {
        Op::Sw => actual.starts_with(value),
        _ => op.holds(actual.cmp(value)),
    }
}

/// One token and the byte offset it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    at: usize,
    kind: TokenKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TokenKind {
    Open,
    Close,
    Word(String),
    Text(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                let kind = if c == '(' {
                    TokenKind::Open
                } else {
                    TokenKind::Close
                };
                tokens.push(Token { at, kind });
            }
            '"' => {
                chars.next();
                let mut escaped = false;
                let end = loop {
                    match chars.next() {
                        None => {
                            return Err(format!(
                                "filter: at character {}: the string is not closed with \"",
                                position(text, at)
                            ))
                        }
                        Some((_, '\\')) if !escaped => escaped = true,
                        Some((end, '"')) if !escaped => break end,
                        Some(_) => escaped = false,
                    }
                };
                let value: String = serde_json::from_str(&text[at..=end]).map_err(|e| {
                    format!(
                        "filter: at character {}: the string is not a JSON string: {e}",
                        position(text, at)
                    )
                })?;
                tokens.push(Token {
                    at,
                    kind: TokenKind::Text(value),
                });
            }
            c if c.is_ascii_alphabetic() => {
                let mut end = at;
                while let Some(&(i, c)) = chars.peek() {
                    if !(c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                tokens.push(Token {
                    at,
                    kind: TokenKind::Word(text[at..end].to_owned()),
                });
            }
            other => {
                return Err(format!(
                    "filter: at character {}: unexpected `{other}`: values are JSON strings in double quotes",
                    position(text, at)
                ))
            }
        }
    }
    Ok(tokens)
}

/// The 1-based character position of byte offset `at`.
fn position(text: &str, at: usize) -> usize {
    text[..at].chars().count() + 1
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    /// Whether the next token is the keyword `word` (any case); takes it if so.
    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token { kind: TokenKind::Word(w), .. }) if w.eq_ignore_ascii_case(word));
        self.next += usize::from(found);
        found
    }

    fn error_at(&self, token: &Token, what: &str) -> String {
        let found = match &token.kind {
            TokenKind::Open => "(".to_owned(),
            TokenKind::Close => ")".to_owned(),
            TokenKind::Word(word) => word.clone(),
            TokenKind::Text(text) => format!("{text:?}"),
        };
        format!(
            "filter: at character {}: {what}, found `{found}`",
            position(self.text, token.at)
        )
    }

    fn error_next(&self, what: &str) -> String {
        match self.peek() {
            Some(token) => self.error_at(token, what),
            None => format!(
                "filter: at character {}: {what}, found the end of the expression",
                self.text.chars().count() + 1
            ),
        }
    }

    fn expression(&mut self, depth: usize) -> Result<Filter, String> {
        let mut parts = vec![self.term(depth)?];
        while self.keyword("or") {
            parts.push(self.term(depth)?);
        }
        Ok(match parts.len() {
            1 => parts.remove(0),
            _ => Filter::Or(parts),
        })
    }

    fn term(&mut self, depth: usize) -> Result<Filter, String> {
        let mut parts = vec![self.factor(depth)?];
        while self.keyword("and") {
            parts.push(self.factor(depth)?);
        }
        Ok(match parts.len() {
            1 => parts.remove(0),
            _ => Filter::And(parts),
        })
    }

    fn factor(&mut self, depth: usize) -> Result<Filter, String> {
        let nested = |parser: &Self| {
            if depth >= MAX_FILTER_DEPTH {
                Err(parser.error_next(&format!(
                    "the expression nests deeper than {MAX_FILTER_DEPTH} levels"
                )))
            } else {
                Ok(depth + 1)
            }
        };
        if self.keyword("not") {
            let depth = nested(self)?;
            return Ok(Filter::Not(Box::new(self.factor(depth)?)));
        }
        if matches!(
            self.peek(),
            Some(Token {
                kind: TokenKind::Open,
                ..
            })
        ) {
            let depth = nested(self)?;
            self.next += 1;
            let inner = self.expression(depth)?;
            return match self.peek() {
                Some(Token {
                    kind: TokenKind::Close,
                    ..
                }) => {
                    self.next += 1;
                    Ok(inner)
                }
                _ => Err(self.error_next("expected `)`")),
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Filter, String> {
        let fields = "id, name, origin, status, type, created or lastUpdated";
        let field = match self.peek() {
            Some(Token {
                kind: TokenKind::Word(word),
                ..
            }) => Field::ALL
                .iter()
                .find(|(name, _)| name == word)
                .map(|f| f.1),
            _ => None,
        };
        let Some(field) = field else {
            return Err(self.error_next(&format!("expected a field ({fields}) or `(`")));
        };
        self.next += 1;
        if self.keyword("pr") {
            return Ok(Filter::Present(field));
        }
        let op = match self.peek() {
            Some(Token {
                kind: TokenKind::Word(word),
                ..
            }) => Op::ALL
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word))
                .map(|o| o.1),
            _ => None,
        };
        let Some(op) = op else {
            return Err(self.error_next("expected an operator (eq, ne, sw, pr, gt, ge, lt, le)"));
        };
        self.next += 1;
        let value = match self.peek() {
            Some(Token {
                kind: TokenKind::Text(value),
                ..
            }) => value.clone(),
            _ => return Err(self.error_next("expected a value in double quotes")),
        };
        let value = self.value(field, op, value)?;
        self.next += 1;
        Ok(Filter::Compare(field, op, value))
    }

    /// The value of a comparison, checked against its field; the value is the next token.
    fn value(&self, field: Field, op: Op, value: String) -> Result<Value, String> {
        let wrong = |what: &str| match self.peek() {
            Some(token) => self.error_at(token, what),
            None => self.error_next(what),
        };
        let allowed: &[&str] = match field {
            Field::Status => &["ACTIVE", "INACTIVE"],
            Field::Type => &["CORS", "REDIRECT", "IFRAME_EMBED"],
            _ => &[],
        };
        if matches!(op, Op::Eq | Op::Ne) && !allowed.is_empty() && !allowed.contains(&&*value) {
            return Err(wrong(&format!("expected one of {}", allowed.join(", "))));
        }
        if field.is_date() {
            if op == Op::Sw {
                return Err(wrong("sw applies to text fields, not dates"));
            }
            return OffsetDateTime::parse(&value, &time::format_description::well_known::Rfc3339)
                .map(Value::Date)
                .map_err(|_| wrong("expected a date such as \"2024-01-31T12:00:00.000Z\""));
        }
        Ok(Value::Text(match (field, op) {
            // Origins are stored canonical; an origin given whole compares that way too.
            (Field::Origin, Op::Eq | Op::Ne) => {
                OriginPattern::parse(&value).map_or(value, |p| p.to_string())
            }
            _ => value,
        }))
    }
}

#[cfg(test)]
mod tests;
