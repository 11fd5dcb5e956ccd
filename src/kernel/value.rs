//! A mapped value: text for CSV outputs, typed for JSON outputs.

use std::borrow::Cow;
use std::fmt;

/// A field's value after mapping and type conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Empty and not required: an empty CSV cell, JSON `null`.
    Null,
    Text(String),
    Integer(i64),
    /// Kept as normalised decimal text (`"1234.50"`) so no precision is lost; a JSON number.
    Decimal(String),
    Bool(bool),
    /// Already rendered with the field's `format` (ISO 8601 by default); a JSON string.
    Date(String),
    /// Already rendered with the field's `format` (ISO 8601 by default); a JSON string.
    DateTime(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Text(s) | Value::Decimal(s) | Value::Date(s) | Value::DateTime(s) => {
                f.write_str(s)
            }
            Value::Integer(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Value {
    /// The value as text, as it is displayed: borrowed when it is held as text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Text(s) | Value::Decimal(s) | Value::Date(s) | Value::DateTime(s) => {
                Cow::Borrowed(s)
            }
            other => Cow::Owned(other.to_string()),
        }
    }

    /// The value as JSON. Decimals become numbers without going through `f64`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Text(s) | Value::Date(s) | Value::DateTime(s) => {
                serde_json::Value::String(s.clone())
            }
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Decimal(s) => s
                .parse::<serde_json::Number>()
                .map(serde_json::Value::Number)
                .unwrap_or_else(|_| serde_json::Value::String(s.clone())),
            Value::Bool(b) => serde_json::Value::Bool(*b),
        }
    }
}
