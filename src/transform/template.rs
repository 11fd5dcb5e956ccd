//! Templates (`template = "{First} {Last}"`): a value built from several input columns.
//!
//! Placeholders name input columns; `{{` and `}}` stand for literal braces. The template is
//! parsed once into literal text and column ids, so rendering a row is one pass of copies.

use super::columns::{ColumnId, ColumnTable};
use crate::profile::braces::{self, Piece};
use crate::profile::KeyPath;

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TemplateError {
    /// The braces do not pair up; the words are those of [`braces::split`].
    #[error(transparent)]
    Braces(#[from] braces::BracesError),
    #[error("the template names no column; use `default` for a constant value")]
    NoColumn,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Column(ColumnId),
}

impl Template {
    /// Parses `text`, registering each placeholder's column (referenced at `at`) in `columns`.
    pub(crate) fn parse(
        text: &str,
        at: &KeyPath,
        columns: &mut ColumnTable,
    ) -> Result<Template, TemplateError> {
        let parts: Vec<Part> = braces::split(text)?
            .into_iter()
            .map(|piece| match piece {
                Piece::Literal(s) => Part::Text(s),
                Piece::Placeholder(name) => Part::Column(columns.intern(&name, at.clone())),
            })
            .collect();
        if !parts.iter().any(|p| matches!(p, Part::Column(_))) {
            return Err(TemplateError::NoColumn);
        }
        Ok(Template { parts })
    }

    /// The columns the template reads, in order.
    pub(crate) fn columns(&self) -> impl Iterator<Item = ColumnId> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Column(id) => Some(*id),
            Part::Text(_) => None,
        })
    }

    /// The template with each placeholder replaced by its column's value.
    pub(crate) fn render<'a>(&self, value: impl Fn(ColumnId) -> &'a str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Column(id) => out.push_str(value(*id)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Result<Template, String>, ColumnTable) {
        let mut columns = ColumnTable::default();
        let t = Template::parse(text, &KeyPath::field(0).key("template"), &mut columns);
        (t.map_err(|e| e.to_string()), columns)
    }

    #[test]
    fn renders_columns_and_escaped_braces() {
        let (t, columns) = parse("{{{First}}} {Last Name}, {First}");
        let t = t.unwrap();
        assert_eq!(columns.names(), ["First", "Last Name"]);
        let row = ["Ada", "Lovelace"];
        let out = t.render(|id| row.get(id.0).copied().unwrap_or(""));
        assert_eq!(out, "{Ada} Lovelace, Ada");
        let refs: Vec<String> = columns
            .references()
            .map(|(n, at)| format!("{n}@{at}"))
            .collect();
        assert_eq!(
            refs,
            [
                "First@field[0].template",
                "Last Name@field[0].template",
                "First@field[0].template"
            ]
        );
    }

    #[test]
    fn malformed_templates_are_refused() {
        assert!(parse("{First").0.unwrap_err().contains("not closed"));
        assert!(parse("First}").0.unwrap_err().contains("no opening"));
        assert!(parse("{} x").0.unwrap_err().contains("empty placeholder"));
        assert!(parse("{a{b}}").0.unwrap_err().contains("cannot contain"));
        assert!(parse("constant {{x}}")
            .0
            .unwrap_err()
            .contains("names no column"));
    }
}
