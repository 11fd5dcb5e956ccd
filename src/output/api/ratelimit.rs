//! The rate limit of one API output, shared by all its workers: a token bucket kept as a
//! "theoretical arrival time" (GCRA), so reserving a slot is one short critical section.
//!
//! Slots are spaced 1 % wider than the stated rate: requests reach the server with a little
//! network jitter, and a limit that is met exactly at the client can be exceeded by one
//! request in some server-side window. With `burst = 1` (the default) no window of the
//! limit's length ever holds more requests than the limit.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::profile::RateLimit;

/// Paces requests to at most `count` per `per`, allowing `burst` back to back.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    /// How far ahead of the schedule a request may go (`interval * (burst - 1)`).
    tolerance: Duration,
    /// When the next request is due if the bucket were always empty.
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter for `limit` with `burst` requests allowed at once (at least 1).
    pub fn new(limit: RateLimit, burst: u32) -> RateLimiter {
        let interval = limit.per.mul_f64(1.01) / limit.count.max(1);
        RateLimiter {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            next: Mutex::new(None),
        }
    }

    /// Waits until this caller may send one request.
    pub async fn acquire(&self) {
        let at = self.reserve(Instant::now()).await;
        tokio::time::sleep_until(at).await;
    }

    /// Reserves the earliest slot at or after `now` and returns when it starts.
    async fn reserve(&self, now: Instant) -> Instant {
        let mut next = self.next.lock().await;
        let due = next.unwrap_or(now).max(now);
        let at = due.checked_sub(self.tolerance).unwrap_or(now).max(now);
        *next = Some(due.max(at) + self.interval);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(count: u32) -> RateLimit {
        RateLimit {
            count,
            per: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn slots_are_evenly_spaced_slightly_under_the_rate() {
        let limiter = RateLimiter::new(limit(100), 1);
        let start = Instant::now();
        let mut slots = Vec::new();
        for _ in 0..201 {
            slots.push(limiter.reserve(start).await);
        }
        // 201 requests need 200 intervals of 10.1 ms: never 101 inside one second.
        for window in slots.windows(101) {
            assert!(window[100] - window[0] > Duration::from_secs(1));
        }
        assert_eq!(slots[0], start);
    }

    #[tokio::test]
    async fn a_burst_goes_at_once_then_the_rate_applies() {
        let limiter = RateLimiter::new(limit(10), 5);
        let start = Instant::now();
        let mut slots = Vec::new();
        for _ in 0..7 {
            slots.push(limiter.reserve(start).await);
        }
        assert!(slots[..5].iter().all(|s| *s == start), "{slots:?}");
        assert!(slots[5] > start);
        assert!(slots[6] - slots[5] >= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn an_idle_limiter_does_not_bank_more_than_its_burst() {
        let limiter = RateLimiter::new(limit(10), 1);
        let start = Instant::now();
        limiter.reserve(start).await;
        let later = start + Duration::from_secs(10);
        assert_eq!(limiter.reserve(later).await, later);
        assert!(limiter.reserve(later).await > later);
    }
}
