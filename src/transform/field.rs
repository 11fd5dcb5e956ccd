//! One output field: its rules compiled from `[[field]]`, applied in the documented order.
//!
//! source (`from` column or `template`) → `transform`s → empty? `default`, else `required`
//! rejects, else null → `map` → `lookup` → type conversion → checks. A `default` is a value of
//! the output, not of the input: it skips `map` and `lookup` (it is also what an unknown map or
//! lookup value becomes), and it is converted and checked once, when the profile is compiled.
//! A value that is empty or only whitespace counts as empty.

use std::borrow::Cow;

use super::columns::{ColumnId, ColumnTable};
use super::convert::{Converter, NotConverted};
use super::lookup::LookupTable;
use super::map::CodeMap;
use super::template::Template;
use super::text::Transform;
use super::validate::{Checks, ChecksFailed};
use crate::kernel::mapped::{FieldInfo, Rejection};
use crate::kernel::record::Position;
use crate::kernel::value::Value;
use crate::profile::{FieldSpec, KeyPath, Problem};
use crate::settings::Settings;

/// A compiled `[[field]]`.
#[derive(Debug)]
pub(crate) struct FieldRule {
    info: FieldInfo,
    source: Source,
    transforms: Vec<Transform>,
    /// The converted `default`; `Value::Null` for an empty default.
    default: Option<Value>,
    required: bool,
    map: Option<CodeMap>,
    lookup: Option<LookupTable>,
    convert: Converter,
    checks: Checks,
}

#[derive(Debug)]
enum Source {
    Column(ColumnId, String),
    Template(Template),
    /// Neither `from` nor `template`: the field is its `default`.
    Nothing,
}

/// Why a value of the field is refused (a rejection reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Refused {
    #[error("required value is empty")]
    RequiredEmpty,
    #[error(transparent)]
    Type(#[from] NotConverted),
    #[error(transparent)]
    Checks(#[from] ChecksFailed),
}

/// Collects problems from the parts of a field while keeping what compiled.
struct Problems(Vec<Problem>);

impl Problems {
    fn take<T>(&mut self, r: Result<T, Vec<Problem>>) -> Option<T> {
        r.map_err(|p| self.0.extend(p)).ok()
    }

    fn one<T>(&mut self, r: Result<T, Problem>) -> Option<T> {
        r.map_err(|p| self.0.push(p)).ok()
    }
}

impl FieldRule {
    /// Compiles `[[field]]` number `i`, registering the columns it reads in `columns`.
    pub(crate) fn compile(
        spec: &FieldSpec,
        i: usize,
        settings: &Settings,
        columns: &mut ColumnTable,
    ) -> Result<FieldRule, Vec<Problem>> {
        let at = KeyPath::field(i);
        let mut problems = Problems(Vec::new());
        if spec.name.trim().is_empty() {
            problems.0.push(Problem::new(
                at.clone().key("name"),
                "a field needs a non-empty name",
            ));
        }
        let source = match (&spec.from, &spec.template) {
            (Some(_), Some(_)) => problems.one(Err(Problem::new(
                at.clone().key("template"),
                "a field takes its value from `from` or from `template`, not both",
            ))),
            (Some(col), None) if col.trim().is_empty() => problems.one(Err(Problem::new(
                at.clone().key("from"),
                "the column name is empty",
            ))),
            (Some(col), None) => Some(Source::Column(
                columns.intern(col, at.clone().key("from")),
                col.trim().to_string(),
            )),
            (None, Some(text)) => {
                let t_at = at.clone().key("template");
                let parsed = Template::parse(text, &t_at, columns)
                    .map_err(|e| Problem::new(t_at, e.to_string()));
                problems.one(parsed).map(Source::Template)
            }
            (None, None) if spec.default.is_some() => Some(Source::Nothing),
            (None, None) => problems.one(Err(Problem::new(
                at.clone(),
                "a field needs `from` (a column), `template` or `default`",
            ))),
        };
        let transforms: Vec<Transform> = spec
            .transform
            .iter()
            .enumerate()
            .filter_map(|(j, t)| {
                let parsed = Transform::parse(t)
                    .map_err(|e| Problem::new(at.clone().key("transform").index(j), e.to_string()));
                problems.one(parsed)
            })
            .collect();
        let map = spec.map.as_ref().and_then(|table| {
            let map = CodeMap::new(table).ok_or_else(|| {
                Problem::new(
                    at.clone().key("map"),
                    "the map is empty; every value would be refused",
                )
            });
            problems.one(map)
        });
        let lookup = spec.lookup.as_ref().and_then(|l| {
            problems.take(LookupTable::load(
                l,
                settings,
                spec.pii,
                &at.clone().key("lookup"),
            ))
        });
        let convert = problems.take(Converter::compile(spec, &at));
        let checks = problems.take(Checks::compile(spec, &at));
        let (Some(source), Some(convert), Some(checks)) = (source, convert, checks) else {
            return Err(problems.0);
        };
        if !problems.0.is_empty() {
            return Err(problems.0);
        }
        let mut rule = FieldRule {
            info: FieldInfo {
                name: spec.name.clone(),
                pii: spec.pii,
                key: spec.key,
            },
            source,
            transforms,
            default: None,
            required: spec.required,
            map,
            lookup,
            convert,
            checks,
        };
        rule.default = problems.one(rule.compile_default(spec, &at)).flatten();
        problems.0.extend(rule.check_map_outputs(spec, &at));
        if problems.0.is_empty() {
            Ok(rule)
        } else {
            Err(problems.0)
        }
    }

    /// The converted `default`, checked like any value of the field.
    fn compile_default(&self, spec: &FieldSpec, at: &KeyPath) -> Result<Option<Value>, Problem> {
        let Some(default) = &spec.default else {
            return Ok(None);
        };
        if default.trim().is_empty() {
            return if spec.required {
                Err(Problem::new(
                    at.clone().key("default"),
                    "an empty default cannot satisfy `required`",
                ))
            } else {
                Ok(Some(Value::Null))
            };
        }
        self.typed(Cow::Borrowed(default)).map(Some).map_err(|why| {
            Problem::new(
                at.clone().key("default"),
                format!("the default does not fit the field: {why}"),
            )
        })
    }

    /// Without a lookup, map outputs are final values: each must convert and pass the checks.
    fn check_map_outputs(&self, spec: &FieldSpec, at: &KeyPath) -> Vec<Problem> {
        let (Some(table), None) = (&spec.map, &spec.lookup) else {
            return Vec::new();
        };
        table
            .iter()
            .filter(|(_, out)| !out.trim().is_empty())
            .filter_map(|(key, out)| {
                let why = self.typed(Cow::Borrowed(out)).err()?;
                Some(Problem::new(
                    at.clone().key("map").key(key),
                    format!("the mapped value does not fit the field: {why}"),
                ))
            })
            .collect()
    }

    /// What outputs need to know about the field.
    pub(crate) fn info(&self) -> &FieldInfo {
        &self.info
    }

    /// Builds the field's value from a row; `value` reads a column of the row.
    pub(crate) fn apply<'a>(
        &'a self,
        value: impl Fn(ColumnId) -> &'a str,
        pos: &Position,
    ) -> Result<Value, Rejection> {
        let pii = self.info.pii;
        let reject = |reason: String| Rejection {
            pos: pos.clone(),
            column: match &self.source {
                Source::Column(_, name) => Some(name.clone()),
                Source::Template(_) | Source::Nothing => None,
            },
            field: Some(self.info.name.clone()),
            reason,
        };
        let mut v: Cow<'a, str> = match &self.source {
            Source::Column(id, _) => Cow::Borrowed(value(*id)),
            Source::Template(t) => Cow::Owned(t.render(&value)),
            Source::Nothing => Cow::Borrowed(""),
        };
        for t in &self.transforms {
            v = t.apply(v);
        }
        let refused = |why: Refused| reject(why.to_string());
        if is_blank(&v) {
            return self.when_empty().map_err(refused);
        }
        if let Some(map) = &self.map {
            match map.get(&v) {
                Some(out) => v = Cow::Borrowed(out),
                None => {
                    return self
                        .default
                        .clone()
                        .ok_or_else(|| reject(map.unknown_reason(&v, pii)))
                }
            }
        }
        if let Some(table) = &self.lookup {
            match table.get(&v) {
                Some(out) => v = Cow::Borrowed(out),
                None => {
                    return self
                        .default
                        .clone()
                        .ok_or_else(|| reject(table.unknown_reason(&v, pii)))
                }
            }
        }
        if is_blank(&v) {
            return self.when_empty().map_err(refused);
        }
        self.typed(v).map_err(refused)
    }

    /// What a PII field reads from a row — each column's cell, and its source value before and
    /// after the transforms — so that reasons about the row can hide it. Nothing for other
    /// fields.
    pub(crate) fn pii_inputs<'a>(&self, value: impl Fn(ColumnId) -> &'a str) -> Vec<String> {
        let mut found = Vec::new();
        if !self.info.pii {
            return found;
        }
        let source = match &self.source {
            Source::Column(id, _) => value(*id).to_string(),
            Source::Template(t) => {
                found.extend(t.columns().map(|id| value(id).to_string()));
                t.render(&value)
            }
            Source::Nothing => return found,
        };
        let transformed = self
            .transforms
            .iter()
            .fold(Cow::Borrowed(source.as_str()), |v, t| t.apply(v))
            .into_owned();
        found.push(transformed);
        found.push(source);
        found
    }

    /// The value of an empty field.
    fn when_empty(&self) -> Result<Value, Refused> {
        match &self.default {
            Some(d) => Ok(d.clone()),
            None if self.required => Err(Refused::RequiredEmpty),
            None => Ok(Value::Null),
        }
    }

    /// Type conversion then checks of a non-empty value.
    fn typed(&self, v: Cow<'_, str>) -> Result<Value, Refused> {
        let converted = self.convert.convert(v, self.info.pii)?;
        self.checks.check(&converted, self.info.pii)?;
        Ok(converted.value)
    }
}

/// Empty or only whitespace.
fn is_blank(s: &str) -> bool {
    s.trim_start().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingsFile;

    fn compile(toml_text: &str) -> (Result<FieldRule, Vec<Problem>>, ColumnTable) {
        let spec: FieldSpec = toml::from_str(&format!("name = \"f\"\n{toml_text}")).unwrap();
        let settings = Settings::resolve(None, std::env::temp_dir(), SettingsFile::default());
        let mut columns = ColumnTable::default();
        let rule = FieldRule::compile(&spec, 0, &settings, &mut columns);
        (rule, columns)
    }

    /// Applies the field to a row given as (column, value) pairs.
    fn apply(toml_text: &str, row: &[(&str, &str)]) -> Result<Value, Rejection> {
        let (rule, columns) = compile(toml_text);
        let rule = rule.unwrap_or_else(|p| panic!("{p:?}"));
        let cells: Vec<&str> = columns
            .names()
            .iter()
            .map(|n| row.iter().find(|(c, _)| c == n).map_or("", |(_, v)| *v))
            .collect();
        let pos = Position::new("hires.csv".into(), 7);
        rule.apply(|id| cells.get(id.0).copied().unwrap_or(""), &pos)
    }

    fn reason(toml_text: &str, row: &[(&str, &str)]) -> String {
        apply(toml_text, row).unwrap_err().reason
    }

    fn problems(toml_text: &str) -> Vec<String> {
        let errs = compile(toml_text).0.unwrap_err();
        errs.iter()
            .map(|p| format!("{}: {}", p.at, p.message))
            .collect()
    }

    #[test]
    fn transforms_run_before_the_map() {
        let f = "from = \"Type\"\ntransform = [\"trim\", \"upper\"]\nmap = { FT = \"full_time\" }";
        assert_eq!(
            apply(f, &[("Type", " ft ")]),
            Ok(Value::Text("full_time".into()))
        );
    }

    #[test]
    fn empty_values_take_the_default_or_are_required_or_null() {
        let defaulted = "from = \"N\"\ntype = \"integer\"\ndefault = \"0\"";
        assert_eq!(apply(defaulted, &[("N", "  ")]), Ok(Value::Integer(0)));
        assert_eq!(apply("from = \"N\"", &[("N", "")]), Ok(Value::Null));
        let r = apply("from = \"N\"\nrequired = true", &[]).unwrap_err();
        assert_eq!(r.reason, "required value is empty");
        assert_eq!(r.column.as_deref(), Some("N"));
        assert_eq!(r.field.as_deref(), Some("f"));
        assert_eq!(r.pos.row, 7);
        let constant = "default = \"HR\"";
        assert_eq!(apply(constant, &[]), Ok(Value::Text("HR".into())));
    }

    #[test]
    fn unknown_map_values_take_the_default_or_reject() {
        let strict = "from = \"T\"\nmap = { FT = \"full_time\", PT = \"part_time\" }";
        assert_eq!(
            reason(strict, &[("T", "XX")]),
            "value \"XX\" is not in the field's map (known: \"FT\", \"PT\")"
        );
        let lenient = format!("{strict}\ndefault = \"other\"");
        assert_eq!(
            apply(&lenient, &[("T", "XX")]),
            Ok(Value::Text("other".into()))
        );
        assert_eq!(
            apply(&lenient, &[("T", "PT")]),
            Ok(Value::Text("part_time".into()))
        );
    }

    #[test]
    fn templates_build_values_without_a_single_column() {
        let t =
            "template = \"{First} {Last}\"\ntransform = [\"collapse_whitespace\"]\nrequired = true";
        assert_eq!(
            apply(t, &[("First", "Ada"), ("Last", "Lovelace")]),
            Ok(Value::Text("Ada Lovelace".into()))
        );
        let r = apply(t, &[]).unwrap_err();
        assert_eq!(
            (r.column, r.reason.as_str()),
            (None, "required value is empty")
        );
    }

    #[test]
    fn conversion_and_checks_follow_the_map() {
        let f = "from = \"Active\"\ntype = \"boolean\"\nmap = { A = \"yes\", T = \"no\" }";
        assert_eq!(apply(f, &[("Active", "T")]), Ok(Value::Bool(false)));
        let pii = "from = \"SSN\"\npii = true\ntransform = [\"digits_only\"]\npattern = '\\d{9}'";
        let why = reason(pii, &[("SSN", "123-45-678")]);
        assert!(
            why.contains("does not match") && !why.contains("12345678"),
            "{why}"
        );
    }

    #[test]
    fn field_problems_are_located() {
        assert_eq!(
            problems(""),
            ["field[0]: a field needs `from` (a column), `template` or `default`"]
        );
        assert_eq!(
            problems("from = \"a\"\ntemplate = \"{b}\""),
            ["field[0].template: a field takes its value from `from` or from `template`, not both"]
        );
        let many = problems("from = \"a\"\ntransform = [\"trim\", \"shout\"]\ntype = \"date\"\ninput_formats = [\"%d\"]\nmap = {}");
        let at: Vec<&str> = many
            .iter()
            .map(|p| p.split(':').next().unwrap_or(""))
            .collect();
        assert_eq!(
            at,
            [
                "field[0].transform[1]",
                "field[0].map",
                "field[0].input_formats[0]"
            ]
        );
        assert_eq!(
            problems("from = \"a\"\ntype = \"integer\"\ndefault = \"none\""),
            ["field[0].default: the default does not fit the field: value \"none\" is not a whole number"]
        );
        assert_eq!(
            problems("from = \"a\"\nrequired = true\ndefault = \"\"").len(),
            1
        );
        let map = problems("from = \"a\"\ntype = \"boolean\"\nmap = { A = \"maybe\" }");
        assert_eq!(map.len(), 1);
        assert!(
            map[0].starts_with("field[0].map.A: the mapped value does not fit"),
            "{}",
            map[0]
        );
    }
}
