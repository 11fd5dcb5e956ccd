//! Mapping: turns one raw record into an output record, a filtered row, or a rejection.
//!
//! A [`MappingPlan`] is compiled once from the profile (regexes compiled, formats checked,
//! lookup tables loaded, every problem reported at its key path); binding it to a file's
//! header resolves columns to indexes and gives the [`Mapper`] that is applied to every row.
//! Each rule lives in its own file with its tests; this module wires them in the order a field
//! is built: source value (column or template) → text transforms → default → required →
//! map → lookup → type conversion → checks (pattern, min/max, max_length).

mod columns;
mod convert;
mod date;
mod email;
mod field;
mod filter;
mod lookup;
mod map;
mod number;
pub mod plan;
mod template;
mod text;
mod validate;
pub mod value;

pub use plan::{Mapper, MappingPlan, MissingColumns};
pub use value::Value;

use crate::record::Position;

/// One output field as the outputs need to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    pub name: String,
    pub pii: bool,
    pub key: bool,
}

/// A mapped row: values aligned with [`Mapper::fields`].
#[derive(Debug, Clone, PartialEq)]
pub struct MappedRecord {
    pub pos: Position,
    pub values: Vec<Value>,
}

/// Why a row was not mapped. `reason` never holds a PII value unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub pos: Position,
    /// The input column concerned, when there is one.
    pub column: Option<String>,
    /// The output field concerned, when there is one.
    pub field: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.pos)?;
        if let Some(col) = &self.column {
            write!(f, ", column {col:?}")?;
        }
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Mapped(MappedRecord),
    /// Skipped by the filter at this index of the profile's `[[filter]]` list.
    Filtered {
        rule: usize,
    },
    /// One entry per failing field (all problems of the row, not just the first).
    Rejected(Vec<Rejection>),
}
