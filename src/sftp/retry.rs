//! Trying again after transient SFTP failures, without hammering a server that is down.
//!
//! Waits grow exponentially from `base` up to `max` with full jitter (`crate::kernel::backoff`), so
//! many pollers that lost the same server do not all come back in the same second. Only [`SftpError::is_transient`] failures are retried: a
//! refused host key or a failed login is returned at once.

use std::future::Future;
use std::time::Duration;

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
                let wait = crate::kernel::backoff::jittered(attempt - 1, base, max);
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
