//! The shape of a data row against its header, shared by both readers: how many cells a row
//! may have, and how large a cell may be. Then the last step of opening a file: data lines,
//! minus footer and trailer, checked into positioned records.

use super::footer::{Footer, Line, Lines, Trailer};
use super::header::column_label;
use super::limits::check_cell_sizes;
use super::{ReadError, Table};
use crate::kernel::record::{Position, RawRecord};
use crate::profile::FormatSpec;

/// What a row with another number of cells than the header means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ragged {
    /// Delimited text: any other count is a ragged row, rejected.
    Reject,
    /// Spreadsheets leave trailing empty cells out: short rows are padded; a non-empty cell
    /// beyond the header is rejected.
    Pad,
}

/// The row checks that need the header.
struct Width {
    header: Vec<String>,
    max_cell_bytes: usize,
    ragged: Ragged,
}

impl Width {
    fn check(&self, mut line: Line) -> Result<RawRecord, ReadError> {
        let (n, want) = (line.fields.len(), self.header.len());
        match self.ragged {
            Ragged::Reject if n != want => {
                return Err(ReadError::row(
                    line.pos,
                    None,
                    format!("row has {n} fields, header has {want}"),
                ));
            }
            Ragged::Reject => {}
            Ragged::Pad => {
                if let Some(extra) = line.fields.iter().skip(want).position(|f| !f.is_empty()) {
                    return Err(ReadError::row(
                        line.pos,
                        Some(column_label(&self.header, want + extra)),
                        format!("cell beyond the header's {want} columns is not empty"),
                    ));
                }
                line.fields.resize(want, String::new());
            }
        }
        check_cell_sizes(&line.fields, &self.header, self.max_cell_bytes, &line.pos)?;
        Ok(RawRecord {
            pos: line.pos,
            values: line.fields,
        })
    }
}

/// The table of a file whose `header` was read at `header_pos`: the remaining `lines`, less
/// `skip_footer` rows and the trailer, each checked against the header.
pub fn table<I>(
    lines: I,
    header: Vec<String>,
    header_pos: Position,
    trailer: Option<Trailer>,
    spec: &FormatSpec,
    ragged: Ragged,
) -> Table
where
    I: Lines + Send + 'static,
{
    let footer = Footer::new(lines, spec.skip_footer, trailer, header_pos);
    let width = Width {
        header: header.clone(),
        max_cell_bytes: spec.limits.max_cell_bytes,
        ragged,
    };
    Table {
        header,
        records: Box::new(footer.map(move |item| width.check(item?))),
    }
}
