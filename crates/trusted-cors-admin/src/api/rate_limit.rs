//! Rate limits like Okta's: a budget of calls a minute for each caller, kept by
//! [`governor`]'s GCRA (the budget refills evenly over the minute, and a caller may spend it all
//! at once), told in `X-Rate-Limit-*` headers on every answer.

use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::wire::Reply;

/// How many calls a minute each caller of the Trusted Origins API may make: each API token, each
/// access token's subject, each grant's subject (an administrator's session), and all callers
/// that fail to authenticate together. The budget refills evenly over the minute; a caller may
/// spend it at once. Past it, a call is answered 429 `E0000047` with `Retry-After`, as Okta
/// answers, and nothing is done.
///
/// ```
/// use trusted_cors_admin::RateLimit;
///
/// assert_eq!(RateLimit::OKTA_DEFAULT.calls_per_minute(), 600);
/// assert_eq!(RateLimit::per_minute(100)?.calls_per_minute(), 100);
/// assert!(RateLimit::per_minute(0).is_err());
/// # Ok::<(), trusted_cors_admin::InvalidRateLimit>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_minute: NonZeroU32,
}

impl RateLimit {
    /// 600 calls a minute: Okta's default for the management endpoints that have no bucket of
    /// their own, such as `/api/v1/trustedOrigins`. The API's default.
    pub const OKTA_DEFAULT: RateLimit = RateLimit {
        per_minute: NonZeroU32::new(600).expect("not zero"),
    };

    /// A budget of `calls` a minute (at least 1).
    pub fn per_minute(calls: u32) -> Result<RateLimit, InvalidRateLimit> {
        NonZeroU32::new(calls)
            .map(|per_minute| RateLimit { per_minute })
            .ok_or(InvalidRateLimit)
    }

    /// The budget, in calls a minute.
    pub fn calls_per_minute(self) -> u32 {
        self.per_minute.get()
    }
}

/// A rate limit of zero calls a minute (turn the limit off with
/// [`TrustedOriginsApi::without_rate_limit`](crate::TrustedOriginsApi::without_rate_limit)
/// instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a rate limit is at least 1 call a minute")]
pub struct InvalidRateLimit;

/// Who a call is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Credential {
    /// The N-th API token (from 1).
    ApiToken(usize),
    /// An access token, by its subject.
    AccessToken(String),
    /// A grant the application established (an administrator's session), by its subject.
    Grant(String),
    /// Any caller that failed to authenticate.
    Unauthenticated,
}

impl Credential {
    fn key(&self) -> String {
        match self {
            Credential::ApiToken(n) => format!("ssws:{n}"),
            Credential::AccessToken(subject) => format!("bearer:{subject}"),
            Credential::Grant(subject) => format!("grant:{subject}"),
            Credential::Unauthenticated => "none".to_owned(),
        }
    }

    /// The `credential` label of the metric.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn kind(&self) -> &'static str {
        match self {
            Credential::ApiToken(_) => "api_token",
            Credential::AccessToken(_) => "access_token",
            Credential::Grant(_) => "grant",
            Credential::Unauthenticated => "unauthenticated",
        }
    }
}

/// Past this many callers kept, the ones whose budget is full again are forgotten.
const FORGET_FULL_ABOVE: usize = 10_000;

type KeyedLimiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The budgets of the callers of one API.
pub(super) struct Limiter {
    limit: RateLimit,
    budgets: KeyedLimiter,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.limit)
            .field("callers", &self.budgets.len())
            .finish()
    }
}

/// What a call's caller has left, for the headers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    limit: u32,
    remaining: u32,
    /// How long until the budget is full again (or, refused, until the next call may go).
    reset_after: Duration,
    /// Whether the call is refused.
    pub(super) refused: bool,
}

impl Limiter {
    pub(super) fn new(limit: RateLimit) -> Self {
        Limiter {
            limit,
            budgets: RateLimiter::keyed(Quota::per_minute(limit.per_minute))
                .with_middleware::<StateInformationMiddleware>(),
        }
    }

    /// Spends one call of `credential`'s budget, if any is left.
    pub(super) fn spend(&self, credential: &Credential, metrics: bool) -> Budget {
        if self.budgets.len() > FORGET_FULL_ABOVE {
            self.budgets.retain_recent();
        }
        let limit = self.limit.calls_per_minute();
        let per_call = Duration::from_secs(60) / limit;
        match self.budgets.check_key(&credential.key()) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Budget {
                    limit,
                    remaining,
                    reset_after: per_call * (limit - remaining.min(limit)),
                    refused: false,
                }
            }
            Err(not_until) => {
                #[cfg(feature = "metrics")]
                if metrics {
                    trusted_cors_core::metrics::record_rate_limited(credential.kind());
                }
                let _ = metrics;
                Budget {
                    limit,
                    remaining: 0,
                    reset_after: not_until.wait_time_from(self.budgets.clock().now()),
                    refused: true,
                }
            }
        }
    }
}

impl Budget {
    /// Adds `X-Rate-Limit-Limit`, `-Remaining` and `-Reset` (when the budget is full again, in
    /// seconds since the Unix epoch, rounded up), and to a refusal `Retry-After`.
    pub(super) fn tell(&self, reply: &mut Reply) {
        let wait = self.reset_after.as_secs() + u64::from(self.reset_after.subsec_nanos() > 0);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let headers = reply.headers_mut();
        for (name, value) in [
            ("x-rate-limit-limit", u64::from(self.limit)),
            ("x-rate-limit-remaining", u64::from(self.remaining)),
            // A refusal's reset is at least a second away, so that clients wait.
            (
                "x-rate-limit-reset",
                now + wait.max(u64::from(self.refused)),
            ),
        ] {
            headers.insert(name, http::HeaderValue::from(value));
        }
        if self.refused {
            headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(wait.max(1)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_per_credential_and_refill() {
        let limiter = Limiter::new(RateLimit::per_minute(3).unwrap());
        let one = Credential::ApiToken(1);
        let remaining: Vec<u32> = (0..3)
            .map(|_| limiter.spend(&one, false).remaining)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limiter.spend(&one, false);
        assert!(refused.refused);
        assert!(
            refused.reset_after > Duration::from_secs(15)
                && refused.reset_after <= Duration::from_secs(20)
        );
        // Another credential has its own budget.
        let other = limiter.spend(&Credential::Grant("ada".into()), false);
        assert!(!other.refused);
        assert_eq!(other.remaining, 2);
        assert_eq!(other.reset_after, Duration::from_secs(20));
        let mut reply = Reply::new(bytes::Bytes::new());
        refused.tell(&mut reply);
        assert_eq!(reply.headers()["x-rate-limit-limit"], "3");
        assert_eq!(reply.headers()["x-rate-limit-remaining"], "0");
        assert_eq!(reply.headers()[http::header::RETRY_AFTER], "20");
    }
}
