//! The record vocabulary every stage shares once a row is mapped: the output fields, a mapped
//! row, and why a row was refused.
//!
//! Mapping produces these (`transform`), outputs write them, the engine stores rejections: they
//! live on the ground floor so that none of those layers has to import another to name a row.

use crate::kernel::record::Position;
use crate::kernel::value::Value;

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
