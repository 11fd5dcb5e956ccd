//! When a failed request is tried again, and how long to wait first.
//!
//! Connection errors, timeouts and the statuses `crate::kernel::http_status` calls transient (408,
//! 429, 5xx) are tried again; every other answer is final.
//! Waits grow exponentially with full jitter (`crate::kernel::backoff`), so many workers retrying at
//! once spread out, and are never shorter than the server's `Retry-After` (seconds or an HTTP
//! date).

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::profile::ApiConnectionSpec;

/// The longest `Retry-After` that is honoured as given; longer ones are cut to this.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// Attempts and waits of one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The policy a profile's connection keys describe.
    pub fn of(spec: &ApiConnectionSpec) -> RetryPolicy {
        RetryPolicy {
            max_attempts: spec.max_attempts().max(1),
            base: spec.backoff(),
            max: spec.backoff_max(),
        }
    }

    /// The wait after the `failures`-th failed attempt (1 for the first).
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let jitter =
            crate::kernel::backoff::jittered(failures.saturating_sub(1), self.base, self.max);
        jitter.max(retry_after.unwrap_or_default().min(RETRY_AFTER_CAP))
    }
}

/// The `Retry-After` of an answer: delay seconds, or an HTTP date (as a wait from now).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        }
    }

    #[test]
    fn waits_stay_under_a_doubling_ceiling_capped_at_max() {
        for _ in 0..200 {
            assert!(policy().delay(1, None) <= Duration::from_millis(100));
            assert!(policy().delay(3, None) <= Duration::from_millis(400));
            assert!(policy().delay(30, None) <= Duration::from_secs(1));
        }
        // Full jitter: the waits are spread, not all at the ceiling.
        let waits: std::collections::HashSet<_> =
            (0..50).map(|_| policy().delay(4, None)).collect();
        assert!(waits.len() > 10);
    }

    #[test]
    fn retry_after_is_a_minimum() {
        let wait = policy().delay(1, Some(Duration::from_secs(2)));
        assert_eq!(wait, Duration::from_secs(2));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let soon = chrono::Utc::now() + chrono::Duration::seconds(30);
        let date = soon.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
