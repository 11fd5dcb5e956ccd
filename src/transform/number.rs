//! Integers and decimals: strict parsing, a normal form for decimals, and exact comparison.
//!
//! Decimals stay text end to end (`"1234.50"`), so pay rates never pass through `f64`.
//! Thousands separators and exponents are refused rather than guessed at: `1,234` could be
//! a thousand or one and a bit, depending on the exporting system's locale.

use std::cmp::Ordering;

/// Why a value is not an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotInteger {
    /// `1.5`, `12a`, `1,000`, `1e21`: not written as a whole number.
    NotWhole,
    /// A whole number beyond the 64-bit range (e.g. a large number from a spreadsheet cell).
    OutOfRange,
}

/// A whole number such as `42`, `-7` or `+3`; `1.5`, `12a` and `1,000` are refused, and so
/// are whole numbers beyond `i64`.
pub(crate) fn parse_integer(s: &str) -> Result<i64, NotInteger> {
    use std::num::IntErrorKind::{NegOverflow, PosOverflow};
    s.parse()
        .map_err(|e: std::num::ParseIntError| match e.kind() {
            PosOverflow | NegOverflow => NotInteger::OutOfRange,
            _ => NotInteger::NotWhole,
        })
}

/// The normal form of a decimal (`[+-]digits[.digits]`, or `.5`): no `+`, no leading zeros
/// (`007.50` → `7.50`), a `0` before a bare fraction (`.5` → `0.5`), no sign on zero.
/// Trailing fraction zeros are kept: they often carry meaning (`12.50` in a currency).
pub(crate) fn normalize_decimal(s: &str) -> Option<String> {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && all_digits(f));
    let int_ok = all_digits(int) && (!int.is_empty() || frac.is_some());
    if !frac_ok || !int_ok {
        return None;
    }
    let int = int.trim_start_matches('0');
    let is_zero = int.is_empty() && frac.is_none_or(|f| f.bytes().all(|b| b == b'0'));
    let mut out = String::with_capacity(s.len() + 1);
    if negative && !is_zero {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

/// Compares two decimals in normal form by value (`1.50` equals `1.5`).
pub(crate) fn compare_decimal(a: &str, b: &str) -> Ordering {
    let (a_neg, a) = split_sign(a);
    let (b_neg, b) = split_sign(b);
    match (a_neg, b_neg) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => compare_magnitude(a, b),
        (true, true) => compare_magnitude(b, a),
    }
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    }
}

/// Compares unsigned normal forms: integer parts by length then digits, then fractions digit
/// by digit with missing digits read as zeros.
fn compare_magnitude(a: &str, b: &str) -> Ordering {
    let (a_int, a_frac) = a.split_once('.').unwrap_or((a, ""));
    let (b_int, b_frac) = b.split_once('.').unwrap_or((b, ""));
    let int = a_int.len().cmp(&b_int.len()).then_with(|| a_int.cmp(b_int));
    if int != Ordering::Equal {
        return int;
    }
    let width = a_frac.len().max(b_frac.len());
    let digit = |f: &str, i: usize| f.as_bytes().get(i).copied().unwrap_or(b'0');
    (0..width)
        .map(|i| digit(a_frac, i).cmp(&digit(b_frac, i)))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_integer("42"), Ok(42));
        assert_eq!(parse_integer("-7"), Ok(-7));
        assert_eq!(parse_integer("+3"), Ok(3));
        assert_eq!(parse_integer("007"), Ok(7));
        assert_eq!(parse_integer("9223372036854775807"), Ok(i64::MAX));
        for bad in ["1.5", "12a", "1,000", "", "1e21", "-"] {
            assert_eq!(parse_integer(bad), Err(NotInteger::NotWhole), "{bad}");
        }
        for big in ["9223372036854775808", "-99999999999999999999"] {
            assert_eq!(parse_integer(big), Err(NotInteger::OutOfRange), "{big}");
        }
    }

    #[test]
    fn decimals_are_normalised() {
        let n = |s: &str| normalize_decimal(s);
        assert_eq!(n("1234.50").as_deref(), Some("1234.50"));
        assert_eq!(n(".5").as_deref(), Some("0.5"));
        assert_eq!(n("-.5").as_deref(), Some("-0.5"));
        assert_eq!(n("+007.25").as_deref(), Some("7.25"));
        assert_eq!(n("000").as_deref(), Some("0"));
        assert_eq!(n("-0.00").as_deref(), Some("0.00"));
        assert_eq!(n("12").as_deref(), Some("12"));
        for bad in [
            "1,234.5", "1.", ".", "", "-", "1e5", "1.2.3", "12a", " 1", "١٢",
        ] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }

    #[test]
    fn decimals_compare_by_value() {
        use Ordering::*;
        let c = |a: &str, b: &str| compare_decimal(a, b);
        assert_eq!(c("1.5", "1.50"), Equal);
        assert_eq!(c("10", "9.99"), Greater);
        assert_eq!(c("-10", "-9.99"), Less);
        assert_eq!(c("-1", "0"), Less);
        assert_eq!(c("0.05", "0.5"), Less);
        assert_eq!(
            c(
                "123456789012345678901234567890.1",
                "123456789012345678901234567890.09"
            ),
            Greater
        );
    }
}
