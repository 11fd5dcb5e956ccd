//! Seeded fault injection: 500s, 429s, slow answers and connections cut after processing.
//!
//! Every REST/SCIM arrival rolls all four dice in a fixed order from one seeded generator, so a
//! given seed and arrival order always fault the same requests, whatever the probabilities.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Probabilities (0.0 to 1.0; values outside act as the nearest bound) of faults injected into
/// REST and SCIM requests; the token endpoint is never faulted.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Answer 500 without processing.
    pub error_500: f64,
    /// Answer 429 with `Retry-After: <retry_after_secs>` without processing.
    pub throttle_429: f64,
    /// `Retry-After` seconds of injected 429s.
    pub retry_after_secs: u64,
    /// Process the request (apply it, store its idempotent response), then close the connection
    /// without answering: the client sees a transport error, not a response.
    pub drop_after_processing: f64,
    /// Sleep [`slow_for`](Faults::slow_for) before answering.
    pub slow: f64,
    /// How long a slow answer sleeps.
    pub slow_for: Duration,
    /// Seed of the fault generator.
    pub seed: u64,
}

impl Default for Faults {
    /// No faults; `Retry-After: 1`, 200 ms slowness and seed 1 once probabilities are raised.
    fn default() -> Self {
        Faults {
            error_500: 0.0,
            throttle_429: 0.0,
            retry_after_secs: 1,
            drop_after_processing: 0.0,
            slow: 0.0,
            slow_for: Duration::from_millis(200),
            seed: 1,
        }
    }
}

/// The faults that hit one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Roll {
    pub(super) error_500: bool,
    pub(super) throttle_429: bool,
    pub(super) drop_after_processing: bool,
    pub(super) slow: bool,
}

/// The seeded generator and the probabilities it rolls against.
#[derive(Debug)]
pub(super) struct Dice {
    rng: StdRng,
    faults: Faults,
}

impl Dice {
    pub(super) fn new(faults: &Faults) -> Dice {
        Dice {
            rng: StdRng::seed_from_u64(faults.seed),
            faults: faults.clone(),
        }
    }

    /// The faults for the next arrival.
    pub(super) fn roll(&mut self) -> Roll {
        let f = &self.faults;
        let (error_500, throttle_429, drop_after_processing, slow) =
            (f.error_500, f.throttle_429, f.drop_after_processing, f.slow);
        Roll {
            error_500: self.hits(error_500),
            throttle_429: self.hits(throttle_429),
            drop_after_processing: self.hits(drop_after_processing),
            slow: self.hits(slow),
        }
    }

    /// One draw in `[0, 1)` against `probability` (NaN never hits).
    fn hits(&mut self, probability: f64) -> bool {
        self.rng.random::<f64>() < probability
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolls(faults: &Faults, n: usize) -> Vec<Roll> {
        let mut dice = Dice::new(faults);
        (0..n).map(|_| dice.roll()).collect()
    }

    #[test]
    fn same_seed_same_faults_and_bounds_hold() {
        let some = Faults {
            error_500: 0.3,
            slow: 0.5,
            ..Faults::default()
        };
        let first = rolls(&some, 200);
        assert_eq!(first, rolls(&some, 200));
        let errors = first.iter().filter(|r| r.error_500).count();
        assert!((30..=90).contains(&errors), "{errors} of 200 at p=0.3");
        assert!(first
            .iter()
            .all(|r| !r.throttle_429 && !r.drop_after_processing));
        let always = Faults {
            throttle_429: 1.0,
            ..Faults::default()
        };
        assert!(rolls(&always, 50).iter().all(|r| r.throttle_429));
        let other_seed = Faults { seed: 2, ..some };
        assert_ne!(first, rolls(&other_seed, 200));
    }
}
