//! Readers that turn an export file into a header and a stream of positioned raw records.
//!
//! `open` picks the reader from the profile's `[format]`. Readers stream: memory does not grow
//! with the number of rows (spreadsheets are bounded by `[format.limits]` instead). A problem
//! with one row (ragged, oversized cell, a spreadsheet error cell) is a [`ReadError`] with
//! [`Severity::Row`]: the row is rejected and reading goes on. A problem with the file (no
//! header, duplicate column names, undecodable bytes, trailer count mismatch, a zip bomb) is
//! [`Severity::File`]: the whole file fails before anything is delivered.
//!
//! `csv`, `excel` and `fixed` (fixed-width records) are the readers; `encoding` decodes text strictly; `header`, `footer` and
//! `shape` hold the rules both readers share (header names; `skip_footer` and `trailer`; a
//! row's cells against the header); `line_count` numbers the physical lines of CSV text;
//! `id_format` shows spreadsheet numbers with a zero-padded number format as their ids;
//! `limits` and `zip_guard` apply the resource caps; `check` validates `[format]` settings
//! with the readers' own parsing functions.

pub mod check;
pub mod csv;
pub mod encoding;
pub mod excel;
pub mod fixed;
mod footer;
mod header;
mod id_format;
mod limits;
mod line_count;
mod shape;
mod zip_guard;

use std::fmt;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

use crate::kernel::record::{Position, RawRecord};
use crate::profile::{FormatKind, FormatSpec};

/// An opened export: its column names and its data rows.
pub struct Table {
    /// Column names from the header row, trimmed, unique and non-empty.
    pub header: Vec<String>,
    /// Data rows in file order. A `File` severity error ends the stream.
    pub records: Box<dyn Iterator<Item = Result<RawRecord, ReadError>> + Send>,
}

/// Whether a read problem rejects one row or fails the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Row,
    File,
}

/// A located problem found while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub severity: Severity,
    pub pos: Position,
    /// The column concerned, when there is one.
    pub column: Option<String>,
    /// What is wrong, for an operator; never contains cell values (they may be PII).
    pub reason: String,
}

impl ReadError {
    pub fn file(pos: Position, reason: impl Into<String>) -> ReadError {
        ReadError {
            severity: Severity::File,
            pos,
            column: None,
            reason: reason.into(),
        }
    }

    pub fn row(pos: Position, column: Option<String>, reason: impl Into<String>) -> ReadError {
        ReadError {
            severity: Severity::Row,
            pos,
            column,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pos)?;
        if let Some(col) = &self.column {
            write!(f, ", column {col:?}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ReadError {}

/// The bytes a reader reads: a plain file, or a decrypting stream over a sealed one (an age
/// `StreamReader` over a file seeks too). Every cap applies to these bytes, the plaintext.
pub trait Input: Read + Seek + Send {}

impl<T: Read + Seek + Send> Input for T {}

/// Opens the plain file `path` with the reader that `spec` names. `display_name` is the file
/// name shown in positions.
pub fn open(path: &Path, display_name: &str, spec: &FormatSpec) -> Result<Table, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| {
        ReadError::file(
            Position::new(Arc::from(display_name), 0),
            format!("cannot open the file: {e}"),
        )
    })?;
    open_input(Box::new(file), display_name, spec)
}

/// Reads `input` (from its start) with the reader that `spec` names; `display_name` is the
/// file name shown in positions (the name the input arrived under).
pub fn open_input(
    input: Box<dyn Input>,
    display_name: &str,
    spec: &FormatSpec,
) -> Result<Table, ReadError> {
    let name: Arc<str> = Arc::from(display_name);
    match spec.kind {
        FormatKind::Csv => csv::open(input, name, spec),
        FormatKind::Xlsx => excel::open(input, name, spec),
        FormatKind::Fixed => fixed::open(input, name, spec),
    }
}
