//! Exponential backoff with full jitter, shared by SFTP reconnects and API retries.
//!
//! The wait after a failure is drawn uniformly from zero to `base * 2^retry` (capped at `max`),
//! so many workers or pollers that failed together do not all come back in the same instant.

use std::time::Duration;

use rand::Rng;

/// The upper bound of the wait after the `retry`-th failure (0-based): `base * 2^retry`, capped.
pub fn bound(retry: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// A wait after the `retry`-th failure (0-based): uniform between zero and [`bound`].
pub fn jittered(retry: u32, base: Duration, max: Duration) -> Duration {
    rand::rng().random_range(Duration::ZERO..=bound(retry, base, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_double_then_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let bounds: Vec<u128> = (0..6).map(|r| bound(r, base, max).as_millis()).collect();
        assert_eq!(bounds, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(bound(200, base, max), max);
    }
}
