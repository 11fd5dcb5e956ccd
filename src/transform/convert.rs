//! Type conversion: the field's `type` turns the mapped text into a typed [`Value`].
//!
//! Text (`type = "string"`, the default) is kept exactly as the transforms left it. Every other
//! type reads the value with surrounding whitespace trimmed and refuses anything it would have
//! to guess about, naming the value (masked for PII fields) and what was expected.

use std::borrow::Cow;

use chrono::NaiveDateTime;

use super::date::{DateRule, NotADate, Temporal};
use super::email::normalize_email;
use super::number::{normalize_decimal, parse_integer, NotInteger};
use crate::kernel::mask::shown;
use crate::kernel::value::Value;
use crate::profile::{FieldSpec, FieldType, KeyPath, Problem};

/// A field's conversion, compiled from its `type`, `input_formats` and `format`.
#[derive(Debug)]
pub(crate) enum Converter {
    Text,
    Temporal(DateRule),
    Integer,
    Decimal,
    Boolean,
    Email,
}

/// A value the field's type refuses (a rejection reason). `value` is the value as messages
/// show it: quoted, or masked for a PII field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotConverted {
    #[error(transparent)]
    Date(#[from] NotADate),
    #[error("value {value} is not a whole number")]
    NotWhole { value: String },
    #[error(
        "value {value} is a whole number outside the integer range ({} to {}); use \
         type = \"decimal\" or \"string\" for larger numbers",
        i64::MIN,
        i64::MAX
    )]
    OutOfRange { value: String },
    #[error("value {value} is not a decimal number (digits with an optional `.` fraction, no thousands separators)")]
    NotDecimal { value: String },
    #[error("value {value} is not a boolean (true/false, yes/no, y/n, 1/0)")]
    NotBoolean { value: String },
    /// `why` says what is wrong with the address.
    #[error("value {value} is not a valid email address: {why}")]
    NotEmail { value: String, why: &'static str },
}

/// A converted value; dates and datetimes also keep the instant for `min`/`max` checks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Converted {
    pub(crate) value: Value,
    pub(crate) instant: Option<NaiveDateTime>,
}

impl Converter {
    /// Compiles the conversion of the field at `at`.
    pub(crate) fn compile(spec: &FieldSpec, at: &KeyPath) -> Result<Converter, Vec<Problem>> {
        let temporal = match spec.kind {
            FieldType::Date => Some(Temporal::Date),
            FieldType::Datetime => Some(Temporal::DateTime),
            _ => None,
        };
        if let Some(temporal) = temporal {
            return DateRule::compile(temporal, &spec.input_formats, spec.format.as_deref(), at)
                .map(Converter::Temporal);
        }
        let mut problems = Vec::new();
        if !spec.input_formats.is_empty() {
            problems.push(Problem::new(
                at.clone().key("input_formats"),
                "input_formats only applies to fields of type \"date\" or \"datetime\"",
            ));
        }
        if spec.format.is_some() {
            problems.push(Problem::new(
                at.clone().key("format"),
                "format only applies to fields of type \"date\" or \"datetime\"",
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(match spec.kind {
            FieldType::Integer => Converter::Integer,
            FieldType::Decimal => Converter::Decimal,
            FieldType::Boolean => Converter::Boolean,
            FieldType::Email => Converter::Email,
            FieldType::String | FieldType::Date | FieldType::Datetime => Converter::Text,
        })
    }

    /// Converts a non-empty value; the error is a rejection reason.
    pub(crate) fn convert(&self, v: Cow<'_, str>, pii: bool) -> Result<Converted, NotConverted> {
        let plain = |value| {
            Ok(Converted {
                value,
                instant: None,
            })
        };
        let s = v.trim();
        let value = || shown(s, pii);
        match self {
            Converter::Text => plain(Value::Text(v.into_owned())),
            Converter::Temporal(rule) => {
                let (value, instant) = rule.convert(s, pii)?;
                Ok(Converted {
                    value,
                    instant: Some(instant),
                })
            }
            Converter::Integer => match parse_integer(s) {
                Ok(i) => plain(Value::Integer(i)),
                Err(NotInteger::NotWhole) => Err(NotConverted::NotWhole { value: value() }),
                Err(NotInteger::OutOfRange) => Err(NotConverted::OutOfRange { value: value() }),
            },
            Converter::Decimal => match normalize_decimal(s) {
                Some(d) => plain(Value::Decimal(d)),
                None => Err(NotConverted::NotDecimal { value: value() }),
            },
            Converter::Boolean => match parse_bool(s) {
                Some(b) => plain(Value::Bool(b)),
                None => Err(NotConverted::NotBoolean { value: value() }),
            },
            Converter::Email => match normalize_email(s) {
                Ok(e) => plain(Value::Text(e)),
                Err(why) => Err(NotConverted::NotEmail {
                    value: value(),
                    why,
                }),
            },
        }
    }
}

/// true/false, yes/no, y/n, 1/0 in any case.
fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["true", "yes", "y", "1"];
    const FALSE: [&str; 4] = ["false", "no", "n", "0"];
    if TRUE.iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| s.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converter(extra: &str) -> Result<Converter, Vec<Problem>> {
        let spec: FieldSpec =
            toml::from_str(&format!("name = \"f\"\nfrom = \"c\"\n{extra}")).unwrap();
        Converter::compile(&spec, &KeyPath::field(0))
    }

    fn value(extra: &str, input: &str) -> Result<Value, String> {
        converter(extra)
            .unwrap()
            .convert(Cow::Borrowed(input), false)
            .map(|c| c.value)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_type_converts_what_it_should() {
        assert_eq!(value("", " a b "), Ok(Value::Text(" a b ".into())));
        assert_eq!(value("type = \"integer\"", " 42 "), Ok(Value::Integer(42)));
        assert_eq!(
            value("type = \"decimal\"", ".5"),
            Ok(Value::Decimal("0.5".into()))
        );
        assert_eq!(value("type = \"boolean\"", "Yes"), Ok(Value::Bool(true)));
        assert_eq!(value("type = \"boolean\"", "N"), Ok(Value::Bool(false)));
        assert_eq!(value("type = \"boolean\"", "0"), Ok(Value::Bool(false)));
        assert_eq!(
            value("type = \"email\"", "A@B.Com"),
            Ok(Value::Text("A@b.com".into()))
        );
        assert_eq!(
            value("type = \"date\"", "2024-02-29"),
            Ok(Value::Date("2024-02-29".into()))
        );
        let dt = converter("type = \"datetime\"")
            .unwrap()
            .convert(Cow::Borrowed("2024-02-29 08:00:00"), false);
        let dt = dt.unwrap();
        assert_eq!(dt.value, Value::DateTime("2024-02-29T08:00:00".into()));
        assert_eq!(
            dt.instant.map(|t| t.to_string()).as_deref(),
            Some("2024-02-29 08:00:00")
        );
    }

    #[test]
    fn refusals_name_the_value_and_what_was_expected() {
        assert_eq!(
            value("type = \"integer\"", "1.5").unwrap_err(),
            "value \"1.5\" is not a whole number"
        );
        assert!(value("type = \"integer\"", "12a").is_err());
        assert_eq!(
            value("type = \"integer\"", "-99999999999999999999").unwrap_err(),
            "value \"-99999999999999999999\" is a whole number outside the integer range \
             (-9223372036854775808 to 9223372036854775807); use type = \"decimal\" or \"string\" \
             for larger numbers"
        );
        assert!(value("type = \"decimal\"", "1,234.00")
            .unwrap_err()
            .contains("no thousands separators"));
        assert!(value("type = \"boolean\"", "maybe")
            .unwrap_err()
            .contains("\"maybe\" is not a boolean"));
        assert!(value("type = \"email\"", "nobody")
            .unwrap_err()
            .ends_with("it has no @"));
        let c = converter("type = \"integer\"").unwrap();
        let masked = c
            .convert(Cow::Borrowed("12x34"), true)
            .unwrap_err()
            .to_string();
        assert!(!masked.contains("12x34"), "{masked}");
    }

    #[test]
    fn date_keys_on_other_types_are_problems() {
        let problems =
            converter("type = \"integer\"\ninput_formats = [\"%Y\"]\nformat = \"%Y\"").unwrap_err();
        let at: Vec<String> = problems.iter().map(|p| p.at.to_string()).collect();
        assert_eq!(at, ["field[0].input_formats", "field[0].format"]);
    }
}
