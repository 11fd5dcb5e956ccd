//! Number formats that make a spreadsheet number read as an id: `00000` (zip codes, employee
//! numbers), `000\-00\-0000` (Excel's Social Security Number format).
//!
//! Such a cell stores the number 123 and shows `00123`; the operator reads the id, and so
//! does the reader, or the leading zeros (and with them the id) would be lost. Only formats
//! made of `0` digit placeholders and literal text are recognised, and only whole numbers
//! from 0 up to (not including) 2^53 are written with them: any other format (decimals, thousands separators,
//! several sections, colours, conditions) or value leaves the number as it is.

/// A whole-number format of digit placeholders and literal text, e.g. `000\-00\-0000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdFormat {
    parts: Vec<Part>,
    digits: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `0`: one digit, a zero when the number has fewer digits.
    Digit,
    /// Shown as it is.
    Literal(char),
}

/// The longest format code read as an id format (Excel's own SSN format has 12 characters).
const MAX_FORMAT_CHARS: usize = 64;

impl IdFormat {
    /// The id format `code` stands for, or `None` when it is another kind of format (or one
    /// longer than any id: a hostile file's format must not make every cell huge).
    pub fn parse(code: &str) -> Option<IdFormat> {
        if code.chars().count() > MAX_FORMAT_CHARS {
            return None;
        }
        let mut parts = Vec::new();
        let mut chars = code.chars();
        while let Some(c) = chars.next() {
            match c {
                '0' => parts.push(Part::Digit),
                '\\' => parts.push(Part::Literal(chars.next()?)),
                '"' => loop {
                    match chars.next()? {
                        '"' => break,
                        quoted => parts.push(Part::Literal(quoted)),
                    }
                },
                '-' | ' ' | '(' | ')' => parts.push(Part::Literal(c)),
                _ => return None,
            }
        }
        let digits = parts.iter().filter(|p| **p == Part::Digit).count();
        (digits > 0).then_some(IdFormat { parts, digits })
    }

    /// `value` as the format shows it, or `None` when it is not a whole number from 0 below
    /// 2^53 (from there on a float no longer holds every whole number). Digits beyond the
    /// placeholders go with the first one, as in a spreadsheet: `00000` shows 1234567 as
    /// `1234567`.
    pub fn render(&self, value: f64) -> Option<String> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        if !(0.0..EXACT).contains(&value) || value.fract() != 0.0 {
            return None;
        }
        let text = format!("{:0>width$}", value as u64, width = self.digits);
        let mut digits = text.chars();
        let extra = text.len() - self.digits;
        let mut out = String::with_capacity(text.len() + self.parts.len());
        let mut first = true;
        for part in &self.parts {
            match part {
                Part::Digit => {
                    if first {
                        out.extend(digits.by_ref().take(extra));
                        first = false;
                    }
                    out.push(digits.next()?);
                }
                Part::Literal(c) => out.push(*c),
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(code: &str, value: f64) -> Option<String> {
        IdFormat::parse(code)?.render(value)
    }

    #[test]
    fn zero_padded_formats_keep_leading_zeros() {
        assert_eq!(show("00000", 123.0).as_deref(), Some("00123"));
        assert_eq!(show("00000", 0.0).as_deref(), Some("00000"));
        assert_eq!(show("00000", 1_234_567.0).as_deref(), Some("1234567"));
        assert_eq!(show("0", 42.0).as_deref(), Some("42"));
        // A format longer than any id (a hostile file's) is not applied.
        assert!(IdFormat::parse(&"0".repeat(10_000)).is_none());
    }

    #[test]
    fn literal_text_is_shown_as_it_is() {
        let ssn = r"000\-00\-0000";
        assert_eq!(show(ssn, 12_345_678.0).as_deref(), Some("012-34-5678"));
        assert_eq!(show(ssn, 9_876_543_210.0).as_deref(), Some("9876-54-3210"));
        assert_eq!(show(r#""E"00000"#, 42.0).as_deref(), Some("E00042"));
        assert_eq!(
            show("00000-0000", 12_345_678.0).as_deref(),
            Some("01234-5678")
        );
    }

    #[test]
    fn other_formats_and_values_are_left_alone() {
        for code in [
            "General",
            "0.00",
            "#,##0",
            "00000;-00000",
            "[Red]00000",
            "0%",
            "mm/dd/yyyy",
            "@",
            "",
            r"000\",
            "\"E",
        ] {
            assert_eq!(IdFormat::parse(code), None, "{code}");
        }
        for value in [-1.0, 1.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
            assert_eq!(show("00000", value), None, "{value}");
        }
    }
}
