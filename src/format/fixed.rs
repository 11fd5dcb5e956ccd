//! Fixed-width reader (`[format] type = "fixed"`): the records of mainframe and payroll
//! exports, each field at a fixed place in its line, as the profile's `columns` lay them out.
//!
//! The file is decoded strictly like CSV (see [`super::encoding`]: `windows-1252`, `latin1`
//! and the rest). A column is `{ name, start, width }` (1-based character positions) or
//! `{ name, width }` (right after the previous one); gaps between columns are filler. Each
//! field is trimmed of the padding spaces (`trim = "both"`, the default; `"right"` or
//! `"none"`). With `record_type = { start, width }` and `detail = "D"`, only records of that
//! type are data; the others (file and batch headers, a trailer) are set aside. A line that is
//! not the layout's length, or that holds a tab, is a rejected row located by its line (and
//! column): its fields would be read from the wrong places.
//!
//! A `trailer` is the file's last record (its record type need not be `detail`), matched as
//! the whole line: `trailer = { pattern = '^T(\d{9})' }` checks its count of data rows like
//! the CSV trailer.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use super::encoding::{encoding_for_label, io_error, DecodingReader};
use super::footer::{Item, Line, Lines, Trailer};
use super::limits::{check_file_size, max_line_bytes, LineLimit};
use super::shape::{table, Ragged};
use super::{Input, ReadError, Table};
use crate::kernel::record::Position;
use crate::profile::{FixedTrim, FormatSpec};

/// The columns of a fixed-width layout, resolved to 0-based character ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `(name, start, end)` of each column, in order; `end` is exclusive.
    pub columns: Vec<(String, usize, usize)>,
    /// The record type's range, when records have one.
    pub record_type: Option<(usize, usize)>,
    /// The characters a record has: where the last column (or the record type) ends.
    pub length: usize,
}

/// Why a fixed-width layout is refused; each names the column (from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "a fixed-width format needs `columns`, e.g. columns = [{{ name = \"EMPNO\", width = 6 }}]"
    )]
    NoColumns,
    #[error("column {n} ({name:?}) has width 0")]
    ZeroWidth { n: usize, name: String },
    #[error("column {n} ({name:?}) starts at 0; positions count from 1")]
    ZeroStart { n: usize, name: String },
    #[error("column {n} ({name:?}) starts at {start}, inside the column before it (which ends at {end})")]
    Overlap {
        n: usize,
        name: String,
        start: usize,
        end: usize,
    },
    #[error("record_type has width 0 or starts at 0")]
    BadRecordType,
    #[error("record_type and detail go together: give both or neither")]
    DetailWithoutType,
    #[error("detail {detail:?} is {len} character(s); record_type is {width} wide")]
    DetailWidth {
        detail: String,
        len: usize,
        width: usize,
    },
}

impl Layout {
    /// The layout `spec` declares.
    pub fn of(spec: &FormatSpec) -> Result<Layout, LayoutError> {
        if spec.columns.is_empty() {
            return Err(LayoutError::NoColumns);
        }
        let mut columns = Vec::with_capacity(spec.columns.len());
        let mut end = 0usize;
        for (i, c) in spec.columns.iter().enumerate() {
            let (n, name) = (i + 1, c.name.clone());
            if c.width == 0 {
                return Err(LayoutError::ZeroWidth { n, name });
            }
            let start = match c.start {
                Some(0) => return Err(LayoutError::ZeroStart { n, name }),
                Some(s) if s - 1 < end => {
                    return Err(LayoutError::Overlap {
                        n,
                        name,
                        start: s,
                        end,
                    })
                }
                Some(s) => s - 1,
                None => end,
            };
            end = start.saturating_add(c.width);
            columns.push((name, start, end));
        }
        let record_type = match (&spec.record_type, &spec.detail) {
            (None, None) => None,
            (Some(t), Some(detail)) => {
                if t.width == 0 || t.start == 0 {
                    return Err(LayoutError::BadRecordType);
                }
                let len = detail.chars().count();
                if len != t.width {
                    return Err(LayoutError::DetailWidth {
                        detail: detail.clone(),
                        len,
                        width: t.width,
                    });
                }
                Some((t.start - 1, t.start - 1 + t.width))
            }
            _ => return Err(LayoutError::DetailWithoutType),
        };
        let length = end.max(record_type.map_or(0, |(_, e)| e));
        Ok(Layout {
            columns,
            record_type,
            length,
        })
    }
}

/// Opens a fixed-width export: checks the size cap and the layout, decodes, and streams its
/// data records as rows of the layout's columns.
pub fn open(
    mut file: Box<dyn Input>,
    name: Arc<str>,
    spec: &FormatSpec,
) -> Result<Table, ReadError> {
    let file_err = |reason: String| ReadError::file(Position::new(name.clone(), 0), reason);
    check_file_size(&mut file, &spec.limits).map_err(|e| file_err(e.to_string()))?;
    let encoding = encoding_for_label(&spec.encoding).map_err(|e| file_err(e.to_string()))?;
    let layout = Layout::of(spec).map_err(|e| file_err(format!("columns: {e}")))?;
    let decoder = DecodingReader::new(file, encoding).map_err(|e| io_error(&name, 0, &e))?;
    let input: Box<dyn Read + Send> =
        Box::new(LineLimit::new(decoder, max_line_bytes(&spec.limits)));
    let trailer = spec
        .trailer
        .as_ref()
        .map(|t| Trailer::new(t, ""))
        .transpose()
        .map_err(|reason| file_err(format!("trailer: {reason}")))?;
    let header: Vec<String> = layout.columns.iter().map(|(n, _, _)| n.clone()).collect();
    let lines = FixedLines {
        reader: BufReader::new(input),
        text: String::new(),
        name: name.clone(),
        layout,
        detail: spec.detail.clone(),
        trim: spec.trim,
        hold_last: trailer.is_some(),
        held: None,
        row: 0,
        last_filled: 0,
        done: false,
    };
    Ok(table(
        lines,
        header,
        Position::new(name, 0),
        trailer,
        spec,
        Ragged::Reject,
    ))
}

/// A record held back while it may be the file's last (its trailer).
struct Held {
    row: u64,
    text: String,
    /// Whether it is a data record (else a record of another type, set aside unless last).
    data: bool,
}

/// The data records of a fixed-width file as [`Line`]s, in file order.
struct FixedLines {
    reader: BufReader<Box<dyn Read + Send>>,
    text: String,
    name: Arc<str>,
    layout: Layout,
    detail: Option<String>,
    trim: FixedTrim,
    /// With a trailer, the last record is held back and handed on as the whole line.
    hold_last: bool,
    held: Option<Held>,
    row: u64,
    last_filled: u64,
    done: bool,
}

impl FixedLines {
    /// The next non-blank physical line into `self.text` (without its line break), with its
    /// row; `None` at the end.
    fn next_line(&mut self) -> Option<Result<u64, ReadError>> {
        loop {
            self.text.clear();
            match self.reader.read_line(&mut self.text) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(io_error(&self.name, self.row + 1, &e))),
            }
            self.row += 1;
            let kept = self.text.trim_end_matches(['\n', '\r']).len();
            self.text.truncate(kept);
            if !self.text.trim().is_empty() {
                self.last_filled = self.row;
                return Some(Ok(self.row));
            }
        }
    }

    /// Whether `text` is a data record.
    fn is_data(&self, text: &str) -> bool {
        match (self.layout.record_type, &self.detail) {
            (Some((start, end)), Some(detail)) => slice(text, start, end) == Some(detail.as_str()),
            _ => true,
        }
    }

    /// A data record as a [`Line`] of the layout's fields, or why it is rejected.
    fn fields(&self, row: u64, text: &str) -> Item {
        let pos = Position::new(self.name.clone(), row);
        if let Some(at) = text.chars().position(|c| c == '\t') {
            let column = self.column_at(at);
            return Err(ReadError::row(
                pos,
                column,
                format!(
                    "a tab at character {}: fixed-width records are padded with spaces",
                    at + 1
                ),
            ));
        }
        let length = text.chars().count();
        if length != self.layout.length {
            let (what, why) = match length < self.layout.length {
                true => ("short", "its last fields are missing"),
                false => ("long", "its fields may have shifted"),
            };
            return Err(ReadError::row(
                pos,
                None,
                format!(
                    "a {what} line: {length} characters where the layout's records have {} ({why})",
                    self.layout.length
                ),
            ));
        }
        let fields = self
            .layout
            .columns
            .iter()
            .map(|(_, start, end)| {
                let field = slice(text, *start, *end).unwrap_or_default();
                match self.trim {
                    FixedTrim::Both => field.trim_matches(' '),
                    FixedTrim::Right => field.trim_end_matches(' '),
                    FixedTrim::None => field,
                }
                .to_string()
            })
            .collect();
        Ok(Line { pos, fields })
    }

    /// The column holding character `at` (0-based), if any.
    fn column_at(&self, at: usize) -> Option<String> {
        self.layout
            .columns
            .iter()
            .find(|(_, start, end)| (*start..*end).contains(&at))
            .map(|(name, _, _)| name.clone())
    }

    /// What a held record becomes once the file ends: the whole line, for the trailer check.
    fn trailer_line(&self, held: Held) -> Item {
        Ok(Line {
            pos: Position::new(self.name.clone(), held.row),
            fields: vec![held.text],
        })
    }

    /// What a held record becomes once another record follows it: a data row, or nothing
    /// (a record of another type).
    fn released(&self, held: Held) -> Option<Item> {
        held.data.then(|| self.fields(held.row, &held.text))
    }
}

/// Characters `start..end` of `text`, when it has them.
fn slice(text: &str, start: usize, end: usize) -> Option<&str> {
    if text.is_ascii() {
        return text.get(start..end);
    }
    let mut bounds = text.char_indices().map(|(i, _)| i).chain([text.len()]);
    let from = bounds.nth(start)?;
    let to = if end > start {
        bounds.nth(end - start - 1)?
    } else {
        from
    };
    text.get(from..to)
}

impl Iterator for FixedLines {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.done {
            let row = match self.next_line() {
                None => {
                    self.done = true;
                    return self.held.take().map(|held| self.trailer_line(held));
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(row)) => row,
            };
            let data = self.is_data(&self.text);
            if self.hold_last {
                let text = std::mem::take(&mut self.text);
                let previous = self.held.replace(Held { row, text, data });
                if let Some(item) = previous.and_then(|held| self.released(held)) {
                    return Some(item);
                }
                continue;
            }
            if data {
                return Some(self.fields(row, &self.text));
            }
        }
        None
    }
}

impl Lines for FixedLines {
    fn last_row(&self) -> u64 {
        self.last_filled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{FixedColumn, FixedSpan, TrailerSpec};
    use std::io::Cursor;

    fn column(name: &str, start: Option<usize>, width: usize) -> FixedColumn {
        FixedColumn {
            name: name.into(),
            start,
            width,
        }
    }

    /// EMPNO 1–4, NAME 5–12, a filler, PAY 15–20 (right-aligned).
    fn spec() -> FormatSpec {
        FormatSpec {
            kind: crate::profile::FormatKind::Fixed,
            columns: vec![
                column("EMPNO", Some(1), 4),
                column("NAME", None, 8),
                column("PAY", Some(15), 6),
            ],
            ..FormatSpec::default()
        }
    }

    /// A row read: its line and fields, or its line and why it was refused.
    type Read = Result<(u64, Vec<String>), (u64, String)>;

    fn read(spec: &FormatSpec, text: &[u8]) -> Vec<Read> {
        let table = open(
            Box::new(Cursor::new(text.to_vec())),
            Arc::from("pay.txt"),
            spec,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        table
            .records
            .map(|r| match r {
                Ok(rec) => Ok((rec.pos.row, rec.values)),
                Err(e) => Err((e.pos.row, e.reason)),
            })
            .collect()
    }

    #[test]
    fn columns_resolve_in_order_with_gaps_and_refuse_overlaps() {
        let layout = Layout::of(&spec()).unwrap();
        assert_eq!(
            layout.columns,
            [
                ("EMPNO".to_string(), 0, 4),
                ("NAME".to_string(), 4, 12),
                ("PAY".to_string(), 14, 20)
            ]
        );
        assert_eq!(layout.length, 20);
        let mut bad = spec();
        bad.columns[2].start = Some(10);
        assert_eq!(
            Layout::of(&bad).unwrap_err().to_string(),
            "column 3 (\"PAY\") starts at 10, inside the column before it (which ends at 12)"
        );
        bad.columns[2] = column("PAY", Some(0), 6);
        assert!(matches!(
            Layout::of(&bad),
            Err(LayoutError::ZeroStart { n: 3, .. })
        ));
        bad.columns[2] = column("PAY", None, 0);
        assert!(matches!(
            Layout::of(&bad),
            Err(LayoutError::ZeroWidth { n: 3, .. })
        ));
        bad.columns.clear();
        assert_eq!(Layout::of(&bad), Err(LayoutError::NoColumns));
        let mut typed = spec();
        typed.detail = Some("D".into());
        assert_eq!(Layout::of(&typed), Err(LayoutError::DetailWithoutType));
        typed.record_type = Some(FixedSpan { start: 1, width: 2 });
        assert!(matches!(
            Layout::of(&typed),
            Err(LayoutError::DetailWidth { .. })
        ));
    }

    #[test]
    fn fields_are_cut_at_their_places_and_trimmed_of_padding() {
        let text = "0042Jane    xx001250\r\n\n0007Zoë     xx  9900\n";
        assert_eq!(
            read(&spec(), text.as_bytes()),
            [
                Ok((1, vec!["0042".into(), "Jane".into(), "001250".into()])),
                Ok((3, vec!["0007".into(), "Zoë".into(), "9900".into()])),
            ]
        );
        let mut right = spec();
        right.trim = FixedTrim::Right;
        let got = read(&right, "0007Zoë     xx  9900\n".as_bytes());
        assert_eq!(
            got,
            [Ok((1, vec!["0007".into(), "Zoë".into(), "  9900".into()]))]
        );
    }

    #[test]
    fn short_long_and_tabbed_lines_are_rejected_at_their_line() {
        let text = "0042Jane    xx0012\n0042Jane    xx00125099\n0042Ja\tne  xx001250\n0001Ok      xx000001\n";
        let got = read(&spec(), text.as_bytes());
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0],
            Err((
                1,
                "a short line: 18 characters where the layout's records have 20 (its last fields are missing)".into()
            ))
        );
        assert!(matches!(&got[1], Err((2, why)) if why.starts_with("a long line: 22")));
        assert_eq!(
            got[2],
            Err((
                3,
                "a tab at character 7: fixed-width records are padded with spaces".into()
            ))
        );
        assert!(got[3].is_ok());
    }

    #[test]
    fn records_of_other_types_are_set_aside_and_the_trailer_counts_the_details() {
        let mut typed = spec();
        typed.columns[0] = column("EMPNO", Some(2), 3);
        typed.record_type = Some(FixedSpan { start: 1, width: 1 });
        typed.detail = Some("D".into());
        typed.trailer = Some(TrailerSpec {
            pattern: r"^T(\d{3})".into(),
        });
        let file = |trailer: &str| {
            format!(
                "H20261204 FILE HEADER\nD042Jane    xx001250\nB batch\nD007Zoe     xx009900\n{trailer}"
            )
        };
        let rows: Vec<u64> = read(&typed, file("T002\n").as_bytes())
            .into_iter()
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(rows, [2, 4]);
        let off = read(&typed, file("T003\n").as_bytes());
        assert_eq!(
            off.last(),
            Some(&Err((5, "trailer declares 3 rows, file has 2".into())))
        );
        let missing = read(&typed, file("").as_bytes());
        let last = missing.last().unwrap().clone().unwrap_err();
        assert!(last.1.starts_with("no trailer matching"), "{last:?}");
    }

    #[test]
    fn undecodable_bytes_fail_the_file_at_their_line() {
        let mut latin = spec();
        latin.encoding = "utf-8".into();
        let got = read(&latin, b"0042Jane    xx001250\n0007Zo\xeb     xx009900\n");
        let (row, why) = got.last().unwrap().clone().unwrap_err();
        assert_eq!(row, 2, "{why}");
        latin.encoding = "windows-1252".into();
        let got = read(&latin, b"0007Zo\xeb     xx009900\n");
        assert_eq!(
            got,
            [Ok((1, vec!["0007".into(), "Zoë".into(), "009900".into()]))]
        );
    }
}
