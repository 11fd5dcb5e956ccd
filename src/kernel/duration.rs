//! Durations as the profile language writes them: `"500ms"`, `"10s"`, `"5m"`, `"2h"`, `"30d"`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration parsed from a string with a unit suffix.
///
/// ```
/// use hrbridge::kernel::duration::DurationStr;
/// let settle: DurationStr = "10s".parse().unwrap();
/// assert_eq!(settle.0, std::time::Duration::from_secs(10));
/// assert!("10 parsecs".parse::<DurationStr>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationStr(pub Duration);

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: expected a number and a unit (ms, s, m, h, d), e.g. \"10s\"")]
pub struct DurationError {
    text: String,
}

impl FromStr for DurationStr {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DurationError {
            text: s.to_string(),
        };
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| err())?;
        let ms_per_unit: u64 = match unit.trim() {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(err()),
        };
        let ms = n.checked_mul(ms_per_unit).ok_or_else(err)?;
        Ok(DurationStr(Duration::from_millis(ms)))
    }
}

impl<'de> Deserialize<'de> for DurationStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::kernel::from_text::deserialize(d)
    }
}

impl fmt::Display for DurationStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(
            "10s".parse::<DurationStr>().unwrap().0,
            Duration::from_secs(10)
        );
        assert_eq!(
            "5m".parse::<DurationStr>().unwrap().0,
            Duration::from_secs(300)
        );
        assert_eq!(
            "250ms".parse::<DurationStr>().unwrap().0,
            Duration::from_millis(250)
        );
        assert_eq!(
            "30d".parse::<DurationStr>().unwrap().0,
            Duration::from_secs(30 * 86_400)
        );
    }

    #[test]
    fn refuses_bad_text() {
        for bad in ["", "10", "s", "10 parsecs", "-1s", "1.5s"] {
            assert!(bad.parse::<DurationStr>().is_err(), "{bad} accepted");
        }
    }
}
