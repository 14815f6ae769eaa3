//! What the decision writes down while it decides, for an explanation ([`crate::explain`],
//! which names these types): each rule it checked, in order, with its verdict.

use serde::Serialize;

use crate::RejectionKind;

/// The verdict of one rule on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The rule lets the request through.
    Passed,
    /// The rule refuses the request.
    Refused,
    /// The rule is in report mode: it would have refused the request, which goes on.
    Reported,
    /// The request goes through, but its answer carries no CORS headers, so the browser does
    /// not let the page read it.
    Blocked,
}

/// One rule checked for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// The rule, by the reason code it refuses with, e.g. `origin_not_trusted`.
    pub rule: &'static str,
    /// What it decided.
    pub verdict: Verdict,
    /// What it found, in plain words; for a refusal, the cause and its fix.
    pub finding: String,
}

impl Check {
    pub(crate) fn new(rule: RejectionKind, verdict: Verdict, finding: String) -> Self {
        Check {
            rule: rule.code(),
            verdict,
            finding,
        }
    }
}
