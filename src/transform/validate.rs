//! Checks on a converted value: `pattern` (full match), `min`/`max`, `max_length` (characters).
//!
//! Bounds are compiled for the field's type: exact decimal comparison for integer and decimal
//! fields (no `f64` rounding at the edges), instants for date and datetime fields. A bound
//! that does not fit the type is a problem in the profile, found before any file is read.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use chrono::NaiveDateTime;
use regex::Regex;

use super::convert::Converted;
use super::date::parse_bound;
use super::number::{compare_decimal, normalize_decimal};
use crate::kernel::mask::shown;
use crate::kernel::value::Value;
use crate::profile::{Bound, FieldSpec, FieldType, KeyPath, Problem};

/// The compiled checks of one field.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    pattern: Option<(Regex, String)>,
    min: Option<Limit>,
    max: Option<Limit>,
    max_length: Option<usize>,
}

/// Every check a value failed, in the order they run (a rejection reason: the failures joined
/// by `; `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChecksFailed(Vec<CheckFailed>);

/// One failed check. `value` is the value as messages show it: quoted, or masked for a PII
/// field; bounds are shown as the profile wrote them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum CheckFailed {
    #[error("value {value} does not match the pattern {pattern}")]
    Pattern { value: String, pattern: String },
    #[error("value {value} is below the minimum {min}")]
    BelowMin { value: String, min: String },
    #[error("value {value} is above the maximum {max}")]
    AboveMax { value: String, max: String },
    #[error("value {value} is {length} characters long; max_length is {max}")]
    TooLong {
        value: String,
        length: usize,
        max: usize,
    },
}

impl fmt::Display for ChecksFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, failed) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{failed}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ChecksFailed {}

/// A regular expression of the profile that does not compile; `reason` is the reason line of
/// the regex error (its other lines repeat the pattern with a caret, which the profile loader
/// does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression: {reason}")]
pub(crate) struct BadRegex {
    reason: String,
}

/// A `min` or `max` that does not fit the field's type; `key` is the one it is written at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum BadBound {
    #[error("{key} of a number field must be a number, e.g. {key} = 0")]
    NumberExpected { key: &'static str },
    #[error("{key} of a date field must be an ISO date, e.g. {key} = \"2000-01-01\"")]
    IsoDateExpected { key: &'static str },
    #[error("{key} of a date field must be an ISO date in quotes, e.g. {key} = \"2000-01-01\"")]
    QuotesExpected { key: &'static str },
    #[error("{key} applies to integer, decimal, date and datetime fields; use max_length or pattern for text")]
    TextField { key: &'static str },
}

#[derive(Debug)]
enum Limit {
    /// A decimal in normal form.
    Number(String),
    /// An instant, with the bound as written for messages.
    Instant(NaiveDateTime, String),
}

impl Checks {
    /// Compiles the checks of the field at `at`, reporting every bad key.
    pub(crate) fn compile(spec: &FieldSpec, at: &KeyPath) -> Result<Checks, Vec<Problem>> {
        let mut problems = Vec::new();
        let pattern = spec.pattern.as_deref().and_then(|p| match full_match(p) {
            Ok(re) => Some((re, p.to_string())),
            Err(e) => {
                problems.push(Problem::new(at.clone().key("pattern"), e.to_string()));
                None
            }
        });
        let mut limit = |bound: &Option<Bound>, key: &'static str| {
            bound
                .as_ref()
                .and_then(|b| match compile_limit(b, spec.kind, key) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        problems.push(Problem::new(at.clone().key(key), e.to_string()));
                        None
                    }
                })
        };
        let min = limit(&spec.min, "min");
        let max = limit(&spec.max, "max");
        if let (Some(lo), Some(hi)) = (&min, &max) {
            if compare(hi, lo) == Some(Ordering::Less) {
                problems.push(Problem::new(at.clone().key("max"), "max is below min"));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Checks {
            pattern,
            min,
            max,
            max_length: spec.max_length,
        })
    }

    /// Runs every check; the error lists each failed one (a rejection reason).
    pub(crate) fn check(&self, c: &Converted, pii: bool) -> Result<(), ChecksFailed> {
        if self.pattern.is_none()
            && self.min.is_none()
            && self.max.is_none()
            && self.max_length.is_none()
        {
            return Ok(());
        }
        let text = text_of(&c.value);
        let value = || shown(&text, pii);
        let mut failed = Vec::new();
        if let Some((re, source)) = &self.pattern {
            if !re.is_match(&text) {
                failed.push(CheckFailed::Pattern {
                    value: value(),
                    pattern: source.clone(),
                });
            }
        }
        if let Some(limit) = &self.min {
            if value_vs(c, &text, limit) == Some(Ordering::Less) {
                failed.push(CheckFailed::BelowMin {
                    value: value(),
                    min: show(limit).to_string(),
                });
            }
        }
        if let Some(limit) = &self.max {
            if value_vs(c, &text, limit) == Some(Ordering::Greater) {
                failed.push(CheckFailed::AboveMax {
                    value: value(),
                    max: show(limit).to_string(),
                });
            }
        }
        if let Some(max) = self.max_length {
            let length = text.chars().count();
            if length > max {
                failed.push(CheckFailed::TooLong {
                    value: value(),
                    length,
                    max,
                });
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(ChecksFailed(failed))
        }
    }
}

/// Compiles a regular expression from the profile.
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, BadRegex> {
    Regex::new(pattern).map_err(|e| {
        let text = e.to_string();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        BadRegex {
            reason: last.trim_start_matches("error: ").to_string(),
        }
    })
}

/// `pattern` anchored at both ends. It is compiled bare first so that an error describes the
/// pattern as the user wrote it.
fn full_match(pattern: &str) -> Result<Regex, BadRegex> {
    compile_regex(pattern)?;
    compile_regex(&format!(r"\A(?:{pattern})\z"))
}

fn compile_limit(bound: &Bound, kind: FieldType, key: &'static str) -> Result<Limit, BadBound> {
    match kind {
        FieldType::Integer | FieldType::Decimal => {
            let text = match bound {
                Bound::Integer(i) => i.to_string(),
                Bound::Float(f) if f.is_finite() => f.to_string(),
                _ => String::new(),
            };
            normalize_decimal(&text)
                .map(Limit::Number)
                .ok_or(BadBound::NumberExpected { key })
        }
        FieldType::Date | FieldType::Datetime => match bound {
            Bound::Text(t) => parse_bound(t)
                .map(|i| Limit::Instant(i, t.trim().to_string()))
                .ok_or(BadBound::IsoDateExpected { key }),
            _ => Err(BadBound::QuotesExpected { key }),
        },
        FieldType::String | FieldType::Boolean | FieldType::Email => {
            Err(BadBound::TextField { key })
        }
    }
}

fn compare(a: &Limit, b: &Limit) -> Option<Ordering> {
    match (a, b) {
        (Limit::Number(x), Limit::Number(y)) => Some(compare_decimal(x, y)),
        (Limit::Instant(x, _), Limit::Instant(y, _)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// The converted value compared with a limit; `None` when they are of different kinds.
fn value_vs(c: &Converted, text: &str, limit: &Limit) -> Option<Ordering> {
    match (limit, &c.value, c.instant) {
        (Limit::Number(n), Value::Integer(_) | Value::Decimal(_), _) => {
            Some(compare_decimal(text, n))
        }
        (Limit::Instant(i, _), _, Some(t)) => Some(t.cmp(i)),
        _ => None,
    }
}

fn show(limit: &Limit) -> &str {
    match limit {
        Limit::Number(n) => n,
        Limit::Instant(_, written) => written,
    }
}

/// The value as text, as outputs write it.
fn text_of(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Text(s) | Value::Decimal(s) | Value::Date(s) | Value::DateTime(s) => {
            Cow::Borrowed(s)
        }
        other => Cow::Owned(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::convert::Converter;

    fn spec(extra: &str) -> FieldSpec {
        toml::from_str(&format!("name = \"f\"\nfrom = \"c\"\n{extra}")).unwrap()
    }

    /// Converts `input` with the field's type and runs its checks.
    fn run(extra: &str, input: &str, pii: bool) -> Result<(), String> {
        let spec = spec(extra);
        let at = KeyPath::field(0);
        let converted = Converter::compile(&spec, &at)
            .unwrap()
            .convert(Cow::Borrowed(input), pii)
            .map_err(|e| e.to_string())?;
        Checks::compile(&spec, &at)
            .unwrap()
            .check(&converted, pii)
            .map_err(|e| e.to_string())
    }

    fn problems(extra: &str) -> Vec<String> {
        let errs = Checks::compile(&spec(extra), &KeyPath::field(4)).unwrap_err();
        errs.iter()
            .map(|p| format!("{}: {}", p.at, p.message))
            .collect()
    }

    #[test]
    fn patterns_must_match_in_full() {
        let p = "pattern = '\\d{4}'";
        assert_eq!(run(p, "1234", false), Ok(()));
        assert_eq!(
            run(p, "12345", false),
            Err("value \"12345\" does not match the pattern \\d{4}".to_string())
        );
        assert!(
            run("pattern = 'a|b'", "ab", false).is_err(),
            "alternation is anchored as a whole"
        );
    }

    #[test]
    fn numeric_bounds_are_exact() {
        let b = "type = \"decimal\"\nmin = 0\nmax = 99.99";
        assert_eq!(run(b, "99.990", false), Ok(()));
        assert_eq!(
            run(b, "99.991", false),
            Err("value \"99.991\" is above the maximum 99.99".into())
        );
        assert_eq!(
            run(b, "-0.01", false),
            Err("value \"-0.01\" is below the minimum 0".into())
        );
        assert_eq!(
            run("type = \"integer\"\nmin = 1.5", "1", false),
            Err("value \"1\" is below the minimum 1.5".into())
        );
        assert_eq!(run("type = \"integer\"\nmax = 10", "10", false), Ok(()));
    }

    #[test]
    fn date_bounds_compare_instants() {
        let b = "type = \"date\"\nmin = \"2000-01-01\"\nmax = \"2030-12-31\"";
        assert_eq!(run(b, "2000-01-01", false), Ok(()));
        assert_eq!(
            run(b, "1999-12-31", false),
            Err("value \"1999-12-31\" is below the minimum 2000-01-01".into())
        );
        assert!(run(
            "type = \"datetime\"\nmax = \"2000-01-01\"",
            "2000-01-01 00:00:01",
            false
        )
        .is_err());
    }

    #[test]
    fn every_failed_check_is_reported_and_pii_is_masked() {
        let err = run("pattern = '[0-9]+'\nmax_length = 3", "12ab5", true).unwrap_err();
        assert!(
            err.contains("does not match") && err.contains("max_length is 3"),
            "{err}"
        );
        assert!(!err.contains("12ab5"), "{err}");
        assert_eq!(
            run("max_length = 2", "äöü", false),
            Err("value \"äöü\" is 3 characters long; max_length is 2".into())
        );
    }

    #[test]
    fn checks_that_do_not_fit_the_type_are_problems() {
        assert_eq!(
            problems("pattern = '(a'"),
            ["field[4].pattern: invalid regular expression: unclosed group"]
        );
        assert_eq!(
            problems("min = 3"),
            ["field[4].min: min applies to integer, decimal, date and datetime fields; use max_length or pattern for text"]
        );
        assert_eq!(problems("type = \"integer\"\nmax = \"ten\"").len(), 1);
        assert_eq!(problems("type = \"date\"\nmin = 2000").len(), 1);
        assert_eq!(problems("type = \"date\"\nmin = \"01/01/2000\"").len(), 1);
        assert_eq!(
            problems("type = \"integer\"\nmin = 5\nmax = 1"),
            ["field[4].max: max is below min"]
        );
        assert_eq!(problems("type = \"decimal\"\nmin = nan").len(), 1);
    }
}
