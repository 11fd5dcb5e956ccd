//! The mapping plan: a profile's fields, filters and column contract, compiled once.
//!
//! [`MappingPlan::compile`] needs no header: it parses every rule and reports all problems at
//! their key paths, so `check` can validate a profile without a file. [`MappingPlan::bind`]
//! resolves the plan's columns against one file's header (a missing column fails the file
//! before any row is read) and yields the [`Mapper`] that maps each row.

use std::collections::HashMap;
use std::fmt;

use super::columns::{ColumnId, ColumnTable};
use super::field::FieldRule;
use super::filter::Filter;
use super::{FieldInfo, MappedRecord, RowOutcome};
use crate::profile::{KeyPath, Problem, Profile};
use crate::record::RawRecord;
use crate::settings::Settings;

/// A profile's mapping, compiled and independent of any file.
#[derive(Debug)]
pub struct MappingPlan {
    fields: Vec<FieldRule>,
    infos: Vec<FieldInfo>,
    filters: Vec<Filter>,
    columns: ColumnTable,
}

impl MappingPlan {
    /// Compiles every rule of `profile`: regexes, date formats, templates, transforms, bounds
    /// and lookup tables (read now, relative to `settings`). All problems are returned, each at
    /// its key path; compiling never stops at the first.
    pub fn compile(profile: &Profile, settings: &Settings) -> Result<MappingPlan, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut columns = ColumnTable::default();
        if profile.fields.is_empty() {
            problems.push(Problem::new(KeyPath::root().key("field"), "a profile needs at least one [[field]]"));
        }
        let mut first_use: HashMap<&str, usize> = HashMap::new();
        let mut fields = Vec::with_capacity(profile.fields.len());
        for (i, spec) in profile.fields.iter().enumerate() {
            if let Some(first) = first_use.get(spec.name.as_str()) {
                problems.push(Problem::new(
                    KeyPath::field(i).key("name"),
                    format!("field name {:?} is already used by field[{first}]", spec.name),
                ));
            } else {
                first_use.insert(spec.name.as_str(), i);
            }
            match FieldRule::compile(spec, i, settings, &mut columns) {
                Ok(rule) => fields.push(rule),
                Err(p) => problems.extend(p),
            }
        }
        let mut filters = Vec::with_capacity(profile.filters.len());
        for (i, spec) in profile.filters.iter().enumerate() {
            match Filter::compile(spec, i, &mut columns) {
                Ok(f) => filters.push(f),
                Err(p) => problems.push(p),
            }
        }
        let required_at = KeyPath::root().key("validation").key("required_columns");
        for (j, name) in profile.validation.required_columns.iter().enumerate() {
            if name.trim().is_empty() {
                problems.push(Problem::new(required_at.clone().index(j), "the column name is empty"));
            } else {
                columns.intern(name, required_at.clone().index(j));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(MappingPlan {
            infos: fields.iter().map(|f| f.info().clone()).collect(),
            fields,
            filters,
            columns,
        })
    }

    /// Every input column the plan reads, once per place in the profile that names it
    /// (`field[0].from`, `field[3].template`, `filter[0].column`,
    /// `validation.required_columns[1]`), in profile order.
    pub fn columns(&self) -> Vec<(String, KeyPath)> {
        self.columns
            .references()
            .map(|(name, at)| (name.to_string(), at.clone()))
            .collect()
    }

    /// The output fields, in output order.
    pub fn fields(&self) -> &[FieldInfo] {
        &self.infos
    }

    /// Resolves the plan's columns against a file's header. Names are compared after trimming
    /// surrounding whitespace; case matters. If a name appears twice in the header (readers
    /// refuse such files), the first one is used.
    pub fn bind(&self, header: &[String]) -> Result<Mapper<'_>, MissingColumns> {
        let mut position: HashMap<&str, usize> = HashMap::with_capacity(header.len());
        for (i, name) in header.iter().enumerate().rev() {
            position.insert(name.trim(), i);
        }
        let mut index = Vec::with_capacity(self.columns.names().len());
        let mut missing = Vec::new();
        for name in self.columns.names() {
            match position.get(name.as_str()) {
                Some(i) => index.push(*i),
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(MissingColumns { columns: missing });
        }
        Ok(Mapper { plan: self, index })
    }
}

/// The header lacks columns the plan reads: the file fails before any row is mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingColumns {
    /// Each missing column once, in the order the profile first names them.
    pub columns: Vec<String>,
}

impl fmt::Display for MissingColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("missing column(s) ")?;
        for (n, name) in self.columns.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MissingColumns {}

/// A plan bound to one file's header: maps that file's rows.
#[derive(Debug)]
pub struct Mapper<'a> {
    plan: &'a MappingPlan,
    /// For each [`ColumnId`], the column's index in the file's rows.
    index: Vec<usize>,
}

impl Mapper<'_> {
    /// The output fields; a mapped record's values are aligned with them.
    pub fn fields(&self) -> &[FieldInfo] {
        self.plan.fields()
    }

    /// Maps one row: filters first (the first failing one skips the row), then every field.
    /// All failing fields of the row are reported. A row shorter than the header reads its
    /// missing cells as empty; this never panics.
    pub fn apply(&self, rec: &RawRecord) -> RowOutcome {
        let value = |id: ColumnId| cell(&self.index, rec, id);
        for (i, filter) in self.plan.filters.iter().enumerate() {
            if !filter.passes(value(filter.column())) {
                return RowOutcome::Filtered { rule: i };
            }
        }
        let mut values = Vec::with_capacity(self.plan.fields.len());
        let mut rejections = Vec::new();
        for field in &self.plan.fields {
            match field.apply(value, &rec.pos) {
                Ok(v) => values.push(v),
                Err(r) => rejections.push(r),
            }
        }
        if rejections.is_empty() {
            RowOutcome::Mapped(MappedRecord {
                pos: rec.pos.clone(),
                values,
            })
        } else {
            RowOutcome::Rejected(rejections)
        }
    }
}

/// The value of column `id` in `rec`; empty when the row is too short.
fn cell<'r>(index: &[usize], rec: &'r RawRecord, id: ColumnId) -> &'r str {
    index
        .get(id.0)
        .and_then(|&i| rec.values.get(i))
        .map_or("", String::as_str)
}
