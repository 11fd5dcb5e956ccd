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

pub use plan::{Mapper, MappingPlan, MissingColumns};

use crate::kernel::mapped::{MappedRecord, Rejection};

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
