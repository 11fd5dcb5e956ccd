//! The SCIM filters the stand-in understands: `userName eq "…"` and `externalId eq "…"`.
//!
//! Attribute names and the operator are case-insensitive (RFC 7644 §3.4.2.2); the value is a
//! JSON string literal, so `\"` and `\\` escapes work and a value may contain a quote. `userName`
//! compares case-insensitively (its `caseExact` is false in RFC 7643), `externalId` exactly.
//! Anything else is refused as `invalidFilter`; error details never repeat the value.

use super::scim::ScimUser;

/// An attribute a filter may test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attribute {
    UserName,
    ExternalId,
}

/// Why a filter is refused: the detail of an `invalidFilter` answer, never the value.
#[derive(Debug, thiserror::Error)]
pub(super) enum FilterError {
    #[error("expected <attribute> eq \"<value>\"")]
    NoAttribute,
    #[error("only userName and externalId can be filtered")]
    Attribute,
    #[error("expected an operator and a value")]
    NoOperator,
    #[error("only the eq operator is supported")]
    Operator,
    #[error("expected a quoted string value")]
    NoValue,
    #[error("unexpected text after the value (and/or/not are not supported)")]
    Trailing,
    /// The literal is not a valid JSON string (a bad escape).
    #[error("invalid string value: {0}")]
    Value(#[from] serde_json::Error),
}

/// A parsed `<attribute> eq "<value>"` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Filter {
    attribute: Attribute,
    value: String,
}

impl Filter {
    /// Parses a filter expression; the error is a detail for an `invalidFilter` answer.
    pub(super) fn parse(text: &str) -> Result<Filter, FilterError> {
        let text = text.trim_start();
        let (name, rest) = text
            .split_once(char::is_whitespace)
            .ok_or(FilterError::NoAttribute)?;
        let attribute = if name.eq_ignore_ascii_case("userName") {
            Attribute::UserName
        } else if name.eq_ignore_ascii_case("externalId") {
            Attribute::ExternalId
        } else {
            return Err(FilterError::Attribute);
        };
        let rest = rest.trim_start();
        let (operator, rest) = rest
            .split_once(char::is_whitespace)
            .ok_or(FilterError::NoOperator)?;
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(FilterError::Operator);
        }
        let rest = rest.trim_start();
        let end = string_literal_end(rest).ok_or(FilterError::NoValue)?;
        let (literal, trailing) = rest.split_at(end);
        if !trailing.trim().is_empty() {
            return Err(FilterError::Trailing);
        }
        let value = serde_json::from_str::<String>(literal)?;
        Ok(Filter { attribute, value })
    }

    /// Whether `user` passes the filter.
    pub(super) fn matches(&self, user: &ScimUser) -> bool {
        match self.attribute {
            Attribute::UserName => same_user_name(&user.user_name, &self.value),
            Attribute::ExternalId => user.external_id.as_deref() == Some(self.value.as_str()),
        }
    }
}

/// userName equality: case-insensitive, as RFC 7643 defines it.
pub(super) fn same_user_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Byte length of the JSON string literal at the start of `text` (quotes included), honouring
/// backslash escapes; `None` when `text` does not start with a complete literal.
fn string_literal_end(text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut escaped = false;
    for (i, c) in chars {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some(i + 1),
            (false, _) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(user_name: &str, external_id: Option<&str>) -> ScimUser {
        ScimUser {
            id: "1".to_string(),
            user_name: user_name.to_string(),
            external_id: external_id.map(str::to_string),
            active: true,
            resource: serde_json::Value::Null,
            deleted: false,
        }
    }

    #[test]
    fn escaped_quotes_and_backslashes_are_values() {
        let filter = Filter::parse(r#"externalId eq "a\"b\\c""#).unwrap();
        assert!(filter.matches(&user("x", Some(r#"a"b\c"#))));
        assert!(!filter.matches(&user("x", Some("a"))));
        let spaced = Filter::parse(r#"  USERNAME   EQ   "Ann Lee"  "#).unwrap();
        assert!(spaced.matches(&user("ann lee", None)));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName eq "open"#,
            r#"userName eq unquoted"#,
            r#"userName co "a""#,
            r#"emails eq "a""#,
            r#"userName eq "a" and externalId eq "b""#,
            r#"userName eq "bad \q escape""#,
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
