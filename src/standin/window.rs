//! The sliding one-second window over REST/SCIM arrivals: the rate limit and its measurement.
//!
//! Every arrival instant is kept. A request arriving at `t` is refused when, counting itself,
//! more than `limit` requests arrived in `(t - 1s, t]`; the record reports the most arrivals in
//! any window `[tᵢ, tᵢ + 1s)`. Both count the same arrivals (refused ones included), so a client
//! that never gets a limit 429 is exactly one whose `max_in_any_second` stays within the limit.

use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);

/// Arrival instants (non-decreasing: taken under the state lock) and limit refusals.
#[derive(Debug, Default)]
pub(super) struct Window {
    arrivals: Vec<Instant>,
    throttled: u32,
}

impl Window {
    /// Notes an arrival at `now`; false when it exceeds `limit` (and is counted as throttled).
    pub(super) fn arrive(&mut self, now: Instant, limit: Option<u32>) -> bool {
        let now = self.arrivals.last().map_or(now, |last| now.max(*last));
        self.arrivals.push(now);
        let Some(limit) = limit else {
            return true;
        };
        let in_window = match now.checked_sub(SECOND) {
            Some(start) => self.arrivals.len() - self.arrivals.partition_point(|t| *t <= start),
            None => self.arrivals.len(),
        };
        let allowed = u32::try_from(in_window).is_ok_and(|n| n <= limit);
        if !allowed {
            self.throttled = self.throttled.saturating_add(1);
        }
        allowed
    }

    /// Requests refused by the limit so far.
    pub(super) fn throttled(&self) -> u32 {
        self.throttled
    }

    /// The most arrivals in any window `[tᵢ, tᵢ + 1s)`.
    pub(super) fn max_in_any_second(&self) -> u32 {
        let mut most = 0;
        let mut end = 0;
        for (start, t) in self.arrivals.iter().enumerate() {
            let limit = *t + SECOND;
            while self.arrivals.get(end).is_some_and(|e| *e < limit) {
                end += 1;
            }
            most = most.max(end - start);
        }
        u32::try_from(most).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn max_counts_half_open_windows() {
        let t0 = Instant::now();
        let mut w = Window::default();
        for offset in [0, 100, 999, 1000, 1500, 1600, 1700] {
            assert!(w.arrive(t0 + ms(offset), None));
        }
        // [999, 1999) holds 999, 1000, 1500, 1600, 1700; 0 + 1s excludes 1000.
        assert_eq!(w.max_in_any_second(), 5);
        assert_eq!(Window::default().max_in_any_second(), 0);
    }

    #[test]
    fn limit_refuses_exactly_when_a_window_overflows() {
        let t0 = Instant::now();
        let mut w = Window::default();
        let outcomes: Vec<bool> = [0, 10, 20, 1000, 1010, 1015]
            .iter()
            .map(|&o| w.arrive(t0 + ms(o), Some(2)))
            .collect();
        // 20: three in (−980, 20]; 1000: 10, 20, 1000; 1010: 20, 1000, 1010; 1015: four.
        assert_eq!(outcomes, [true, true, false, false, false, false]);
        assert_eq!(w.throttled(), 4);
        assert_eq!(w.max_in_any_second(), 4);
    }
}
