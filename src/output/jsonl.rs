//! JSON Lines serialisation of mapped records: one object per line, dotted names nest.
//!
//! Field `pay.rate` and `pay.currency` become `{"pay": {"rate": ..., "currency": ...}}`. The
//! nesting is worked out once from the field names; each record is then written by walking
//! that tree, without building an intermediate JSON value per row.

use std::io::{self, Write};

use crate::kernel::mapped::{FieldInfo, MappedRecord};

/// A node of the nesting tree: a leaf is a field index, a branch an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Leaf(usize),
    Object(Vec<(String, Node)>),
}

/// Why dotted field names give no nesting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NestingError {
    #[error("field name {name:?} has an empty part between dots")]
    EmptyPart { name: String },
    #[error("field {name:?} conflicts with another field's nesting")]
    Conflict { name: String },
}

/// Writes records as JSON objects, one per line.
pub struct JsonlEncoder<W: Write> {
    out: W,
    tree: Vec<(String, Node)>,
}

impl<W: Write> JsonlEncoder<W> {
    /// Plans the nesting. Fails when one name is both a value and an object (`a` and `a.b`).
    pub fn new(out: W, fields: &[FieldInfo]) -> Result<Self, NestingError> {
        Ok(JsonlEncoder {
            out,
            tree: nesting(fields)?,
        })
    }

    /// Writes one record as a line.
    pub fn write(&mut self, rec: &MappedRecord) -> io::Result<()> {
        write_object(&mut self.out, &self.tree, rec)?;
        self.out.write_all(b"\n")
    }

    /// Returns the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The nesting tree for `fields`; the error names the conflicting field.
pub fn nesting(fields: &[FieldInfo]) -> Result<Vec<(String, Node)>, NestingError> {
    let mut root: Vec<(String, Node)> = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let parts: Vec<&str> = field.name.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(NestingError::EmptyPart {
                name: field.name.clone(),
            });
        }
        let conflict = || NestingError::Conflict {
            name: field.name.clone(),
        };
        let mut level = &mut root;
        for (depth, part) in parts.iter().enumerate() {
            let last = depth + 1 == parts.len();
            let pos = level.iter().position(|(k, _)| k == part);
            match (pos, last) {
                (Some(_), true) => return Err(conflict()),
                (None, true) => level.push((part.to_string(), Node::Leaf(index))),
                (Some(i), false) => match &mut level[i].1 {
                    Node::Object(children) => level = children,
                    Node::Leaf(_) => return Err(conflict()),
                },
                (None, false) => {
                    level.push((part.to_string(), Node::Object(Vec::new())));
                    let i = level.len() - 1;
                    match &mut level[i].1 {
                        Node::Object(children) => level = children,
                        Node::Leaf(_) => unreachable!("just pushed an object"),
                    }
                }
            }
        }
    }
    Ok(root)
}

fn write_object<W: Write>(
    out: &mut W,
    nodes: &[(String, Node)],
    rec: &MappedRecord,
) -> io::Result<()> {
    out.write_all(b"{")?;
    for (n, (key, node)) in nodes.iter().enumerate() {
        if n > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        match node {
            Node::Leaf(i) => match rec.values.get(*i) {
                Some(v) => serde_json::to_writer(&mut *out, &v.to_json())?,
                None => out.write_all(b"null")?,
            },
            Node::Object(children) => write_object(out, children, rec)?,
        }
    }
    out.write_all(b"}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::record::Position;
    use crate::kernel::value::Value;

    use crate::output::test_fields as fields;

    #[test]
    fn dotted_names_nest_and_types_survive() {
        let f = fields(&["id", "pay.rate", "pay.currency", "name", "active"]);
        let mut enc = JsonlEncoder::new(Vec::new(), &f).unwrap();
        enc.write(&MappedRecord {
            pos: Position::new("x".into(), 2),
            values: vec![
                Value::Integer(7),
                Value::Decimal("1234.50".into()),
                Value::Text("EUR".into()),
                Value::Text("Zoë \"Z\"".into()),
                Value::Bool(true),
            ],
        })
        .unwrap();
        let line = String::from_utf8(enc.into_inner()).unwrap();
        assert_eq!(
            line,
            "{\"id\":7,\"pay\":{\"rate\":1234.50,\"currency\":\"EUR\"},\"name\":\"Zoë \\\"Z\\\"\",\"active\":true}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(parsed["pay"]["currency"], "EUR");
    }

    #[test]
    fn conflicting_nesting_is_refused() {
        assert!(nesting(&fields(&["a", "a.b"])).is_err());
        assert!(nesting(&fields(&["a.b", "a"])).is_err());
        assert!(nesting(&fields(&["a..b"])).is_err());
        assert!(nesting(&fields(&["a.b", "a.c"])).is_ok());
    }
}
