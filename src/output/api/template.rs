//! How a spooled record becomes a request: the URL template (`{field}` values URL-encoded,
//! `{id}` from the id map) and the JSON body (the record with dotted names nested, or the
//! profile's `body` template).

use std::collections::BTreeSet;

use crate::kernel::mapped::FieldInfo;
use crate::output::jsonl::{nesting, NestingError, Node};
use crate::profile::braces::{split, BracesError, Piece};

use super::spool::SpoolRecord;

/// Why a URL or body template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(transparent)]
    Braces(#[from] BracesError),
    #[error("{{{name}}} is not a field of this profile")]
    UnknownField { name: String },
    #[error("placeholders may appear only in the path or query, after scheme://host/")]
    BeforePath,
    #[error("{{id}} can only be used in the URL")]
    IdInBody,
    /// A problem inside the body object's entry `key`.
    #[error("body.{key}: {inner}")]
    InBody {
        key: String,
        inner: Box<TemplateError>,
    },
    #[error(transparent)]
    Nesting(#[from] NestingError),
}

/// Why a record gives no URL; it names the field, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no id is known for this record's key yet (the URL uses {{id}})")]
    NoId,
    #[error("field {name} is empty, and the URL needs it")]
    EmptyField { name: String },
    #[error("the URL template gives no valid URL: {reason}")]
    NotAUrl { reason: String },
}

/// Characters left as they are in a URL path segment or query value: RFC 3986 unreserved.
const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Field(usize),
    Id,
}

/// A compiled `{placeholder}` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts(Vec<Part>);

impl Parts {
    fn compile(text: &str, fields: &[FieldInfo]) -> Result<Parts, TemplateError> {
        let mut parts = Vec::new();
        for piece in split(text)? {
            parts.push(match piece {
                Piece::Literal(t) => Part::Text(t),
                Piece::Placeholder(name) if name == "id" => Part::Id,
                Piece::Placeholder(name) => Part::Field(
                    fields
                        .iter()
                        .position(|f| f.name == name)
                        .ok_or(TemplateError::UnknownField { name })?,
                ),
            });
        }
        Ok(Parts(parts))
    }

    fn uses_id(&self) -> bool {
        self.0.contains(&Part::Id)
    }

    /// Adds the fields its placeholders carry to `used`.
    fn fields(&self, used: &mut BTreeSet<usize>) {
        used.extend(self.0.iter().filter_map(|p| match p {
            Part::Field(i) => Some(*i),
            _ => None,
        }));
    }

    /// The text, each placeholder passed through `fill`.
    fn render(
        &self,
        mut fill: impl FnMut(&Part) -> Result<String, RenderError>,
    ) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                other => out.push_str(&fill(other)?),
            }
        }
        Ok(out)
    }
}

/// A value as text: strings as they are, numbers and booleans as written, null empty.
pub fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A URL with placeholders.
#[derive(Debug, Clone)]
pub struct UrlTemplate {
    parts: Parts,
    fields: Vec<FieldInfo>,
}

impl UrlTemplate {
    /// Compiles `text`; unknown placeholders are errors, and so is a placeholder before the
    /// path: a cell value must never choose the host that receives the record and the
    /// credentials.
    pub fn compile(text: &str, fields: &[FieldInfo]) -> Result<UrlTemplate, TemplateError> {
        let parts = Parts::compile(text, fields)?;
        let fixed: String = parts
            .0
            .iter()
            .map_while(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        let authority_closed = fixed
            .split_once("://")
            .is_some_and(|(_, rest)| rest.contains(['/', '?']));
        let has_placeholder = parts.0.iter().any(|p| !matches!(p, Part::Text(_)));
        if has_placeholder && !authority_closed {
            return Err(TemplateError::BeforePath);
        }
        Ok(UrlTemplate {
            parts,
            fields: fields.to_vec(),
        })
    }

    /// Whether the URL needs the id captured for the record's key.
    pub fn uses_id(&self) -> bool {
        self.parts.uses_id()
    }

    /// Adds the fields whose values the URL carries to `used`.
    pub fn fields(&self, used: &mut BTreeSet<usize>) {
        self.parts.fields(used);
    }

    /// The URL for `rec`. An empty value or a missing id is an error naming the field (never
    /// the value).
    pub fn render(&self, rec: &SpoolRecord, id: Option<&str>) -> Result<reqwest::Url, RenderError> {
        let text = self.parts.render(|part| match part {
            Part::Id => id
                .map(|id| percent_encoding::utf8_percent_encode(id, ENCODE).to_string())
                .ok_or(RenderError::NoId),
            Part::Field(i) => {
                let value = rec.values.get(*i).map(text_of).unwrap_or_default();
                if value.is_empty() {
                    let name = self.fields.get(*i).map_or("?", |f| f.name.as_str());
                    return Err(RenderError::EmptyField {
                        name: name.to_string(),
                    });
                }
                Ok(percent_encoding::utf8_percent_encode(&value, ENCODE).to_string())
            }
            Part::Text(_) => Ok(String::new()),
        })?;
        reqwest::Url::parse(&text).map_err(|e| RenderError::NotAUrl {
            reason: e.to_string(),
        })
    }
}

/// How a record becomes a JSON body.
#[derive(Debug, Clone)]
pub enum BodyPlan {
    /// The record, dotted names nested.
    Nested(Vec<(String, Node)>),
    /// The profile's template.
    Template(Shape),
}

/// A compiled body template.
#[derive(Debug, Clone)]
pub enum Shape {
    /// A string that is exactly one `{field}`: the field's typed value.
    Value(usize),
    /// Any other string: text with placeholders filled in.
    Text(Parts),
    Object(Vec<(String, Shape)>),
    Array(Vec<Shape>),
    /// A number, boolean or null, as written.
    Constant(serde_json::Value),
}

impl BodyPlan {
    /// Compiles the body of an output: `template` if given, else the nested record.
    pub fn compile(
        template: Option<&serde_json::Value>,
        fields: &[FieldInfo],
    ) -> Result<BodyPlan, TemplateError> {
        match template {
            None => Ok(BodyPlan::Nested(nesting(fields)?)),
            Some(t) => Shape::compile(t, fields).map(BodyPlan::Template),
        }
    }

    /// The body for one record.
    pub fn render(&self, rec: &SpoolRecord) -> serde_json::Value {
        match self {
            BodyPlan::Nested(tree) => nested(tree, rec),
            BodyPlan::Template(shape) => shape.render(rec),
        }
    }

    /// Adds the fields whose values a body carries to `used`.
    pub fn fields(&self, used: &mut BTreeSet<usize>) {
        fn leaves(tree: &[(String, Node)], used: &mut BTreeSet<usize>) {
            for (_, node) in tree {
                match node {
                    Node::Leaf(i) => {
                        used.insert(*i);
                    }
                    Node::Object(children) => leaves(children, used),
                }
            }
        }
        match self {
            BodyPlan::Nested(tree) => leaves(tree, used),
            BodyPlan::Template(shape) => shape.fields(used),
        }
    }
}

fn nested(tree: &[(String, Node)], rec: &SpoolRecord) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (name, node) in tree {
        let value = match node {
            Node::Leaf(i) => rec.values.get(*i).cloned().unwrap_or_default(),
            Node::Object(children) => nested(children, rec),
        };
        map.insert(name.clone(), value);
    }
    serde_json::Value::Object(map)
}

impl Shape {
    fn compile(t: &serde_json::Value, fields: &[FieldInfo]) -> Result<Shape, TemplateError> {
        Ok(match t {
            serde_json::Value::String(s) => {
                let parts = Parts::compile(s, fields)?;
                if parts.uses_id() {
                    return Err(TemplateError::IdInBody);
                }
                match parts.0.as_slice() {
                    [Part::Field(i)] => Shape::Value(*i),
                    _ => Shape::Text(parts),
                }
            }
            serde_json::Value::Object(map) => Shape::Object(
                map.iter()
                    .map(|(k, v)| {
                        Shape::compile(v, fields)
                            .map(|s| (k.clone(), s))
                            .map_err(|e| TemplateError::InBody {
                                key: k.clone(),
                                inner: Box::new(e),
                            })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Array(items) => Shape::Array(
                items
                    .iter()
                    .map(|v| Shape::compile(v, fields))
                    .collect::<Result<_, _>>()?,
            ),
            other => Shape::Constant(other.clone()),
        })
    }

    fn fields(&self, used: &mut BTreeSet<usize>) {
        match self {
            Shape::Value(i) => {
                used.insert(*i);
            }
            Shape::Text(parts) => parts.fields(used),
            Shape::Object(entries) => entries.iter().for_each(|(_, s)| s.fields(used)),
            Shape::Array(items) => items.iter().for_each(|s| s.fields(used)),
            Shape::Constant(_) => {}
        }
    }

    fn render(&self, rec: &SpoolRecord) -> serde_json::Value {
        let value = |i: &usize| rec.values.get(*i).cloned().unwrap_or_default();
        match self {
            Shape::Value(i) => value(i),
            Shape::Text(parts) => serde_json::Value::String(
                parts
                    .render(|p| {
                        Ok(if let Part::Field(i) = p {
                            text_of(&value(i))
                        } else {
                            String::new()
                        })
                    })
                    .unwrap_or_default(),
            ),
            Shape::Object(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, s)| (k.clone(), s.render(rec)))
                    .collect(),
            ),
            Shape::Array(items) => {
                serde_json::Value::Array(items.iter().map(|s| s.render(rec)).collect())
            }
            Shape::Constant(c) => c.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_fields;
    use serde_json::json;

    fn rec(values: serde_json::Value) -> SpoolRecord {
        SpoolRecord {
            line: 0,
            row: 2,
            sheet: None,
            values: values.as_array().unwrap().clone(),
        }
    }

    #[test]
    fn url_values_are_encoded_and_ids_looked_up() {
        let fields = test_fields(&["employee_id", "dept"]);
        let t = UrlTemplate::compile(
            "https://h/api/{dept}/employees/{id}?emp={employee_id}",
            &fields,
        )
        .unwrap();
        assert!(t.uses_id());
        let r = rec(json!(["E 1/2", "R&D"]));
        assert_eq!(
            t.render(&r, Some("x9")).unwrap().as_str(),
            "https://h/api/R%26D/employees/x9?emp=E%201%2F2"
        );
        let err = t.render(&r, None).unwrap_err().to_string();
        assert!(err.contains("{id}"), "{err}");
        let err = t
            .render(&rec(json!([null, "R&D"])), Some("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("employee_id is empty"), "{err}");
        assert!(UrlTemplate::compile("https://h/{nope}", &fields).is_err());
        for host in [
            "https://{dept}/x",
            "https://h{dept}.example.com/x",
            "{dept}",
        ] {
            let err = UrlTemplate::compile(host, &fields).unwrap_err().to_string();
            assert!(err.contains("path or query"), "{host}: {err}");
        }
    }

    #[test]
    fn the_default_body_nests_dotted_names() {
        let fields = test_fields(&["id", "pay.rate", "pay.currency"]);
        let plan = BodyPlan::compile(None, &fields).unwrap();
        assert_eq!(
            plan.render(&rec(json!(["E1", 1234.5, "EUR"]))),
            json!({"id": "E1", "pay": {"rate": 1234.5, "currency": "EUR"}})
        );
    }

    #[test]
    fn a_body_template_keeps_types_for_whole_placeholders() {
        let fields = test_fields(&["first", "last", "rate"]);
        let template = json!({"person": {"name": "{first} {last}", "rate": "{rate}"}, "source": "hrbridge", "v": 2, "tags": ["{last}"]});
        let plan = BodyPlan::compile(Some(&template), &fields).unwrap();
        assert_eq!(
            plan.render(&rec(json!(["Ada", "Lovelace", 12.5]))),
            json!({"person": {"name": "Ada Lovelace", "rate": 12.5}, "source": "hrbridge", "v": 2, "tags": ["Lovelace"]})
        );
        let err = BodyPlan::compile(Some(&json!({"a": "{nope}"})), &fields)
            .unwrap_err()
            .to_string();
        assert!(err.contains("body.a"), "{err}");
    }
}
