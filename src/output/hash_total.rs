//! Hash totals for fixed-width trailers: the exact sum of an integer or decimal field over
//! the detail records, which the receiver recomputes to prove that no record was lost or
//! altered on the way.
//!
//! Decimals are added as scaled integers (`i128`), never as floats, so `0.10 + 0.20` is
//! `0.30` and a million pay amounts add up to the cent. A total too large for 38 digits is an
//! error, not a wrapped number.

use crate::kernel::value::Value;

/// A running total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashTotal {
    /// The total times `10^scale`.
    units: i128,
    /// Digits after the point: the most any value added had.
    scale: u32,
}

/// Why a value cannot be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotalError {
    #[error("a hash total adds integer and decimal fields only")]
    NotANumber,
    #[error("the hash total is too large to compute exactly (more than 38 digits)")]
    Overflow,
}

impl HashTotal {
    /// Adds `value`; an empty value adds nothing.
    pub fn add(&mut self, value: &Value) -> Result<(), TotalError> {
        let (units, scale) = match value {
            Value::Null => return Ok(()),
            Value::Integer(i) => (i128::from(*i), 0),
            Value::Decimal(d) => scaled(d)?,
            _ => return Err(TotalError::NotANumber),
        };
        let target = self.scale.max(scale);
        let ours = rescale(self.units, target - self.scale)?;
        let theirs = rescale(units, target - scale)?;
        self.units = ours.checked_add(theirs).ok_or(TotalError::Overflow)?;
        self.scale = target;
        Ok(())
    }

    /// The total as a number is written: `-12.30`, `0.05`, `1245`.
    pub fn render(&self) -> String {
        let digits = self.units.unsigned_abs().to_string();
        let sign = if self.units < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        format!("{sign}{whole}.{fraction}")
    }
}

/// A normalised decimal (`-1234.50`) as units and scale.
fn scaled(decimal: &str) -> Result<(i128, u32), TotalError> {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    let scale = u32::try_from(fraction.len()).map_err(|_| TotalError::Overflow)?;
    let units = format!("{whole}{fraction}")
        .parse::<i128>()
        .map_err(|e| match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                TotalError::Overflow
            }
            _ => TotalError::NotANumber,
        })?;
    Ok((units, scale))
}

fn rescale(units: i128, by: u32) -> Result<i128, TotalError> {
    10i128
        .checked_pow(by)
        .and_then(|f| units.checked_mul(f))
        .ok_or(TotalError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(values: &[Value]) -> Result<String, TotalError> {
        let mut t = HashTotal::default();
        for v in values {
            t.add(v)?;
        }
        Ok(t.render())
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(s.into())
    }

    #[test]
    fn decimals_add_exactly_at_the_widest_scale() {
        assert_eq!(total(&[dec("0.10"), dec("0.20")]).unwrap(), "0.30");
        assert_eq!(
            total(&[dec("1234.5"), Value::Integer(10), dec("0.05")]).unwrap(),
            "1244.55"
        );
        assert_eq!(total(&[dec("-0.05")]).unwrap(), "-0.05");
        assert_eq!(total(&[dec("1.5"), dec("-3")]).unwrap(), "-1.5");
        assert_eq!(
            total(&[Value::Integer(612_500), Value::Null]).unwrap(),
            "612500"
        );
        assert_eq!(total(&[]).unwrap(), "0");
    }

    #[test]
    fn text_and_totals_beyond_38_digits_are_errors() {
        assert_eq!(
            total(&[Value::Text("12".into())]),
            Err(TotalError::NotANumber)
        );
        let big = "9".repeat(38);
        assert_eq!(total(&[dec(&big), dec(&big)]), Err(TotalError::Overflow));
        assert_eq!(total(&[dec(&"1".repeat(40))]), Err(TotalError::Overflow));
        assert_eq!(
            total(&[dec("1"), dec(&format!("0.{}", "1".repeat(40)))]),
            Err(TotalError::Overflow)
        );
    }
}
