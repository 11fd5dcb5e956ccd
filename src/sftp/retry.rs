//! Trying again after transient SFTP failures, without hammering a server that is down.
//!
//! Waits grow exponentially from `base` up to `max`, and each wait is drawn uniformly from
//! zero to that bound ("full jitter"), so many pollers that lost the same server do not all
//! come back in the same second. Only [`SftpError::is_transient`] failures are retried: a
//! refused host key or a failed login is returned at once.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::SftpError;

/// Runs `op` up to `attempts` times (at least once), sleeping between transient failures.
/// Returns the first success, the first non-transient error, or the last error.
pub async fn with_backoff<T, F, Fut>(
    attempts: u32,
    base: Duration,
    max: Duration,
    mut op: F,
) -> Result<T, SftpError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SftpError>>,
{
    let attempts = attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && attempt < attempts => {
                let bound = delay_bound(attempt - 1, base, max);
                let wait = rand::rng().random_range(Duration::ZERO..=bound);
                tracing::warn!(
                    attempt,
                    attempts,
                    wait_ms = wait.as_millis() as u64,
                    error = %e,
                    "sftp: transient failure, retrying"
                );
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The upper bound of the wait after the `retry`-th failure (0-based): `base * 2^retry`, capped.
fn delay_bound(retry: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn timeout() -> SftpError {
        SftpError::Timeout {
            what: "read".into(),
            secs: 1,
        }
    }

    #[test]
    fn bounds_double_then_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let bounds: Vec<u128> = (0..6)
            .map(|r| delay_bound(r, base, max).as_millis())
            .collect();
        assert_eq!(bounds, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(delay_bound(200, base, max), max);
    }

    #[tokio::test]
    async fn retries_transient_until_success() {
        let calls = Cell::new(0);
        let got = with_backoff(
            5,
            Duration::from_millis(1),
            Duration::from_millis(2),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err(timeout())
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(got, 3);
    }

    #[tokio::test]
    async fn gives_up_after_attempts_and_never_retries_permanent_errors() {
        let calls = Cell::new(0);
        let err = with_backoff(
            3,
            Duration::from_millis(1),
            Duration::from_millis(1),
            || {
                calls.set(calls.get() + 1);
                async { Err::<(), _>(timeout()) }
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SftpError::Timeout { .. }));
        assert_eq!(calls.get(), 3);

        calls.set(0);
        let err = with_backoff(
            3,
            Duration::from_millis(1),
            Duration::from_millis(1),
            || {
                calls.set(calls.get() + 1);
                async {
                    Err::<(), _>(SftpError::SizeMismatch {
                        path: "/x".into(),
                        expected: 1,
                        got: 0,
                    })
                }
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SftpError::SizeMismatch { .. }));
        assert_eq!(calls.get(), 1);
    }
}
