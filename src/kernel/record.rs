//! Records as readers produce them: raw text values that remember where they came from.
//!
//! Every error about a row names the file, the sheet (for spreadsheets) and the row, so the
//! position travels with the values from the reader through mapping to the rejects file.

use std::fmt;
use std::sync::Arc;

/// Where a record (or a problem) sits in its input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// File name as the operator knows it (the inbox name, not the staging path).
    pub file: Arc<str>,
    /// Sheet name for spreadsheets.
    pub sheet: Option<Arc<str>>,
    /// 1-based physical row: the line a CSV record starts on, or the spreadsheet row number.
    pub row: u64,
}

impl Position {
    /// A position in a file without sheets.
    pub fn new(file: Arc<str>, row: u64) -> Position {
        Position {
            file,
            sheet: None,
            row,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => write!(f, "{} [sheet {}] row {}", self.file, sheet, self.row),
            None => write!(f, "{} row {}", self.file, self.row),
        }
    }
}

/// One data row: text values aligned with the header's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub pos: Position,
    pub values: Vec<String>,
}
