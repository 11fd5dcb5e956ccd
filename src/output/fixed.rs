//! Fixed-width output files (`format = "fixed"`): each mapped record becomes a detail record
//! whose values sit at fixed character positions, with an optional header record before the
//! details and a trailer after them (record counts, hash totals).
//!
//! A value is never cut to fit. One longer than its place, one holding a line break or a tab,
//! or one the file's encoding cannot write rejects its row before anything of the row is
//! written ([`FixedEncoder::refusal`], which the engine asks first), like any other
//! rejection. Widths count characters, as the fixed-width reader does. [`Layout::compile`] is
//! both what `hrbridge check` reports and what a job writes with, so the two cannot disagree.

use std::borrow::Cow;
use std::io::{self, Write};

use chrono::NaiveDate;
use encoding_rs::{Encoding, UTF_8};

use super::hash_total::HashTotal;
use crate::format::encoding::encoding_for_label;
use crate::kernel::change::{ChangeKind, CHANGE_FIELD};
use crate::kernel::clock::{valid_format, write_date};
use crate::kernel::mapped::{FieldInfo, MappedRecord};
use crate::kernel::value::Value;
use crate::profile::fixed_output::{Align, Counted, Holds, Piece};
use crate::profile::{FieldType, FileOutputSpec, KeyPath, OutputFormat, Problem, Profile};

/// A day whose names are long in every format chrono writes (Wednesday, September): what a
/// run date's width is checked with.
const WIDEST_DAY: (i32, u32, u32) = (2000, 9, 27);

/// A fixed-width output's records, ready to write.
#[derive(Debug)]
pub struct Layout {
    encoding: &'static Encoding,
    eol: &'static str,
    header: Option<Record>,
    detail: Record,
    trailer: Option<Record>,
    /// The places of the fields the trailer's hash totals add, in the order of their pieces.
    sums: Vec<usize>,
}

#[derive(Debug)]
struct Record {
    cells: Vec<Cell>,
    /// Characters before the line ending: the end of the last cell, or `record_length`.
    length: usize,
}

#[derive(Debug)]
struct Cell {
    /// 0-based character position.
    start: usize,
    width: usize,
    align: Align,
    pad: char,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// An output field: its place in the record and its name.
    Field(usize, String),
    Text(String),
    RunDate(String),
    Count(Counted),
    /// The trailer's `n`th hash total (of the field at [`Layout::sums`]`[n]`).
    Sum(usize),
}

/// Why a record cannot be written: the field (by name) and the reason, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    pub reason: String,
}

/// The three records of a layout as the profile names them.
const RECORDS: [&str; 3] = ["header", "columns", "trailer"];

impl Layout {
    /// The layout `spec` describes for records of `fields`, or its problems, each at its key
    /// under `at`.
    pub fn compile(
        spec: &FileOutputSpec,
        fields: &[FieldInfo],
        at: &KeyPath,
    ) -> Result<Layout, Vec<Problem>> {
        let mut problems = Vec::new();
        let encoding = output_encoding(spec.encoding.as_deref()).unwrap_or_else(|why| {
            problems.push(Problem::new(at.clone().key("encoding"), why));
            UTF_8
        });
        if spec.columns.is_empty() {
            problems.push(Problem::new(
                at.clone().key("columns"),
                "a fixed-width output needs columns: the pieces of its detail record",
            ));
        }
        let mut sums = Vec::new();
        let records = RECORDS.map(|name| {
            let pieces = match name {
                "header" => &spec.header,
                "columns" => &spec.columns,
                _ => &spec.trailer,
            };
            let at = at.clone().key(name);
            let cells: Vec<Cell> = place(pieces, name, fields, &at, &mut sums, &mut problems);
            let end = cells.last().map_or(0, |c| c.start + c.width);
            if let Some(length) = spec.record_length.filter(|&l| l < end) {
                problems.push(Problem::new(
                    at.clone(),
                    format!("this record is {end} characters, longer than record_length {length}"),
                ));
            }
            (!pieces.is_empty()).then(|| Record {
                length: spec.record_length.unwrap_or(end).max(end),
                cells,
            })
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        let [header, detail, trailer] = records;
        Ok(Layout {
            encoding,
            eol: spec.line_ending.unwrap_or_default().as_str(),
            header,
            detail: detail.unwrap_or(Record {
                cells: Vec::new(),
                length: 0,
            }),
            trailer,
            sums,
        })
    }

    /// The fields (places in the record) that detail records carry.
    pub fn detail_fields(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.detail.cells.iter().filter_map(|c| match c.source {
            Source::Field(i, _) => Some((i, c.width)),
            _ => None,
        })
    }
}

/// The cells of one record's `pieces`, checked: each holds something that fits, after the
/// one before it.
fn place(
    pieces: &[Piece],
    record: &str,
    fields: &[FieldInfo],
    at: &KeyPath,
    sums: &mut Vec<usize>,
    problems: &mut Vec<Problem>,
) -> Vec<Cell> {
    let mut cells = Vec::new();
    let mut end = 0;
    for (n, piece) in pieces.iter().enumerate() {
        let at = at.clone().index(n);
        let mut problem = |key: &str, message: String| {
            let at = match key {
                "" => at.clone(),
                key => at.clone().key(key),
            };
            problems.push(Problem::new(at, message));
        };
        let start = match piece.start {
            None => end,
            Some(0) => {
                problem("start", "positions count from 1".into());
                end
            }
            Some(s) if s - 1 < end => {
                problem(
                    "start",
                    format!("starts at {s}, inside the piece before it (which ends at {end})"),
                );
                end
            }
            Some(s) => s - 1,
        };
        let natural = match &piece.holds {
            Holds::Text(t) => Some(t.chars().count()),
            Holds::RunDate(f) => sample_date(f).map(|d| d.chars().count()),
            _ => None,
        };
        let width = match (piece.width, natural) {
            (Some(0), _) => {
                problem("width", "a width of 0 holds nothing".into());
                0
            }
            (Some(w), _) => w,
            (None, Some(0)) => {
                problem("text", "text without a width must not be empty".into());
                0
            }
            (None, Some(n)) => n,
            (None, None) => {
                problem("width", "give the width of this piece".into());
                0
            }
        };
        let field = |name: &str| fields.iter().position(|f| f.name == name);
        let source = match &piece.holds {
            Holds::Field(name) => match field(name) {
                Some(i) => Some(Source::Field(i, name.clone())),
                None => {
                    problem("field", format!("no output field is named {name:?}"));
                    None
                }
            },
            Holds::Text(text) => {
                if text.chars().any(char::is_control) {
                    problem(
                        "text",
                        "text must not hold line breaks, tabs or other control characters".into(),
                    );
                } else if natural > Some(width) && width > 0 {
                    problem(
                        "width",
                        format!(
                            "the text is {} characters; it does not fit {width}",
                            natural.unwrap_or(0)
                        ),
                    );
                }
                Some(Source::Text(text.clone()))
            }
            Holds::RunDate(format) => match sample_date(format) {
                None => {
                    problem(
                        "run_date",
                        format!("{format:?} is not a date format (e.g. \"%Y%m%d\")"),
                    );
                    None
                }
                Some(sample) if sample.chars().count() > width && width > 0 => {
                    problem(
                        "width",
                        format!(
                            "{format:?} writes up to {} characters; it does not fit {width}",
                            sample.chars().count()
                        ),
                    );
                    None
                }
                Some(_) => Some(Source::RunDate(format.clone())),
            },
            Holds::Count(_) | Holds::Sum(_) if record != "trailer" => {
                problem(
                    "",
                    "counts and totals are known after the last detail: they go in the trailer"
                        .into(),
                );
                None
            }
            Holds::Count(counted) => Some(Source::Count(*counted)),
            Holds::Sum(name) => match field(name) {
                Some(i) => {
                    sums.push(i);
                    Some(Source::Sum(sums.len() - 1))
                }
                None => {
                    problem("sum", format!("no output field is named {name:?}"));
                    None
                }
            },
        };
        if let Some(source) = source {
            cells.push(Cell {
                start,
                width,
                align: piece.align,
                pad: piece.pad,
                source,
            });
        }
        end = start + width;
    }
    cells
}

/// `format` written for the day of [`WIDEST_DAY`], if it is a format that writes dates.
fn sample_date(format: &str) -> Option<String> {
    let (y, m, d) = WIDEST_DAY;
    let day = NaiveDate::from_ymd_opt(y, m, d)?;
    valid_format(format)
        .then(|| write_date(day, format))
        .flatten()
}

/// The encoding an output `encoding` setting names (UTF-8 when unset): one that writes itself
/// (not UTF-16, which encoding_rs writes as UTF-8).
fn output_encoding(label: Option<&str>) -> Result<&'static Encoding, String> {
    let Some(label) = label else {
        return Ok(UTF_8);
    };
    match encoding_for_label(label) {
        Ok(Some(enc)) if enc.output_encoding() == enc => Ok(enc),
        Ok(Some(enc)) => Err(format!(
            "{} cannot be written; use \"utf-8\" or a code page such as \"windows-1252\"",
            enc.name()
        )),
        Ok(None) => Err("name the encoding to write, such as \"utf-8\" or \"windows-1252\"".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes records as fixed-width lines: the header first, the trailer at the end.
pub struct FixedEncoder<W: Write> {
    out: W,
    layout: Layout,
    today: NaiveDate,
    details: u64,
    totals: Vec<HashTotal>,
    line: String,
}

impl<W: Write> FixedEncoder<W> {
    /// Starts the file with the header record, dated `today`.
    pub fn new(out: W, layout: Layout, today: NaiveDate) -> io::Result<Self> {
        let mut encoder = FixedEncoder {
            out,
            totals: vec![HashTotal::default(); layout.sums.len()],
            layout,
            today,
            details: 0,
            line: String::new(),
        };
        encoder.emit(Part::Header, None)?;
        Ok(encoder)
    }

    /// Why `rec` cannot be written as a detail record, if it cannot. Fields `rec` does not
    /// have (a lifecycle record's change fields, added later) are not looked at.
    pub fn refusal(&self, rec: &MappedRecord) -> Option<Refusal> {
        self.layout
            .detail
            .cells
            .iter()
            .find_map(|cell| match &cell.source {
                Source::Field(i, name) => {
                    let value = rec.values.get(*i)?;
                    self.unfit(cell, &value.text()).map(|reason| Refusal {
                        field: name.clone(),
                        reason,
                    })
                }
                _ => None,
            })
    }

    /// Writes one detail record; a record that [`Self::refusal`] refuses is an error.
    pub fn write(&mut self, rec: &MappedRecord) -> io::Result<()> {
        for (total, &i) in self.totals.iter_mut().zip(&self.layout.sums) {
            let value = rec.values.get(i).unwrap_or(&Value::Null);
            total.add(value).map_err(io::Error::other)?;
        }
        self.details += 1;
        self.emit(Part::Detail, Some(rec))
    }

    /// Writes the trailer and returns the underlying writer. A count or total wider than its
    /// place is an error: the file is not finished.
    pub fn finish(mut self) -> io::Result<W> {
        self.emit(Part::Trailer, None)?;
        Ok(self.out)
    }

    /// The underlying writer, without a trailer (the file is abandoned).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Why the trailer cannot be written, if it cannot: a count or total wider than its place.
    /// Asked before the file is finished, so the job fails with the reason.
    pub fn trailer_problem(&self) -> Option<String> {
        let mut line = String::new();
        self.lay_out(Part::Trailer, None, &mut line).err()
    }

    /// Lays out one record and writes it encoded.
    fn emit(&mut self, part: Part, rec: Option<&MappedRecord>) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        let laid_out = self.lay_out(part, rec, &mut line);
        let layout = &self.layout;
        let written = match laid_out {
            Err(why) => Err(io::Error::other(why)),
            Ok(()) if layout.encoding == UTF_8 => self.out.write_all(line.as_bytes()),
            Ok(()) => self.out.write_all(&layout.encoding.encode(&line).0),
        };
        self.line = line;
        written
    }

    /// One record of `part` (a detail of `rec`) in `line`, with its line ending; or why a
    /// piece of it does not fit (naming the field, never its value).
    fn lay_out(
        &self,
        part: Part,
        rec: Option<&MappedRecord>,
        line: &mut String,
    ) -> Result<(), String> {
        let layout = &self.layout;
        let record = match part {
            Part::Header => layout.header.as_ref(),
            Part::Detail => Some(&layout.detail),
            Part::Trailer => layout.trailer.as_ref(),
        };
        line.clear();
        let Some(record) = record else {
            return Ok(());
        };
        let records = self.details + u64::from(layout.header.is_some()) + 1;
        let mut at = 0;
        for cell in &record.cells {
            let (text, number): (Cow<'_, str>, bool) = match &cell.source {
                Source::Field(i, _) => match rec.and_then(|r| r.values.get(*i)) {
                    // An empty value is spaces, whatever the padding: never a zero.
                    None | Some(Value::Null) => {
                        pad_to(line, &mut at, cell.start + cell.width);
                        continue;
                    }
                    Some(v) => (v.text(), matches!(v, Value::Integer(_) | Value::Decimal(_))),
                },
                Source::Text(t) => (Cow::Borrowed(t.as_str()), false),
                Source::RunDate(f) => (Cow::Owned(self.today.format(f).to_string()), false),
                Source::Count(Counted::Details) => (Cow::Owned(self.details.to_string()), true),
                Source::Count(Counted::Records) => (Cow::Owned(records.to_string()), true),
                Source::Sum(n) => (Cow::Owned(self.totals[*n].render()), true),
            };
            if let Some(why) = self.unfit(cell, &text) {
                return Err(match &cell.source {
                    Source::Field(_, name) => {
                        format!("the {} record, field {name:?}: {why}", part.name())
                    }
                    _ => format!("the {} record: {why}", part.name()),
                });
            }
            pad_to(line, &mut at, cell.start);
            let filler = cell.width - text.chars().count();
            let pad = |line: &mut String, n| line.extend(std::iter::repeat_n(cell.pad, n));
            match (
                cell.align,
                number && cell.pad == '0',
                text.strip_prefix('-'),
            ) {
                // A negative number padded with zeros keeps its sign in front: -00001230.
                (Align::Right, true, Some(digits)) => {
                    line.push('-');
                    pad(line, filler);
                    line.push_str(digits);
                }
                (Align::Right, ..) => {
                    pad(line, filler);
                    line.push_str(&text);
                }
                (Align::Left, ..) => {
                    line.push_str(&text);
                    pad(line, filler);
                }
            }
            at = cell.start + cell.width;
        }
        pad_to(line, &mut at, record.length);
        line.push_str(layout.eol);
        Ok(())
    }

    /// Why `text` cannot stand in `cell`: too long, a control character, or a character the
    /// encoding cannot write.
    fn unfit(&self, cell: &Cell, text: &str) -> Option<String> {
        let place = || {
            format!(
                "characters {}-{} of the fixed-width record",
                cell.start + 1,
                cell.start + cell.width
            )
        };
        if text.chars().any(char::is_control) {
            return Some(format!(
                "holds a line break, tab or other control character, which cannot stand in {}",
                place()
            ));
        }
        let length = text.chars().count();
        if length > cell.width {
            return Some(format!(
                "{length} characters do not fit the {} of {}; nothing is cut",
                cell.width,
                place()
            ));
        }
        let encoding = self.layout.encoding;
        if encoding != UTF_8 && encoding.encode(text).2 {
            return Some(format!(
                "holds a character that {} cannot write",
                encoding.name()
            ));
        }
        None
    }
}

/// Fills `line` with spaces from character `at` up to `to`.
fn pad_to(line: &mut String, at: &mut usize, to: usize) {
    if *at < to {
        line.extend(std::iter::repeat_n(' ', to - *at));
        *at = to;
    }
}

#[derive(Debug, Clone, Copy)]
enum Part {
    Header,
    Detail,
    Trailer,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Detail => "detail",
            Part::Trailer => "trailer",
        }
    }
}

/// The problems of a file output's fixed-width keys, at their keys under `at`: on a
/// fixed-width output, its layout's and the rules it must keep for `profile` (every mapped
/// field has a place, totals add numbers, change fields fit their longest value); on any
/// other, that the keys are there at all.
pub fn check(spec: &FileOutputSpec, profile: &Profile, at: &KeyPath) -> Vec<Problem> {
    let set = [
        ("encoding", spec.encoding.is_some()),
        ("line_ending", spec.line_ending.is_some()),
        ("record_length", spec.record_length.is_some()),
        ("columns", !spec.columns.is_empty()),
        ("header", !spec.header.is_empty()),
        ("trailer", !spec.trailer.is_empty()),
    ];
    if spec.format != OutputFormat::Fixed {
        return set
            .iter()
            .filter(|(_, set)| *set)
            .map(|(key, _)| {
                Problem::new(
                    at.clone().key(key),
                    format!("{key} is for fixed-width outputs (format = \"fixed\")"),
                )
            })
            .collect();
    }
    let mut problems = Vec::new();
    if spec.delimiter.is_some() {
        problems.push(Problem::new(
            at.clone().key("delimiter"),
            "a fixed-width output has no delimiter: its columns say where each value is",
        ));
    }
    let fields = super::output_fields(profile);
    let layout = match Layout::compile(spec, &fields, at) {
        Ok(layout) => layout,
        Err(found) => {
            problems.extend(found);
            return problems;
        }
    };
    let placed: Vec<(usize, usize)> = layout.detail_fields().collect();
    for (i, field) in profile.fields.iter().enumerate() {
        if !placed.iter().any(|&(p, _)| p == i) {
            problems.push(Problem::new(
                at.clone().key("columns"),
                format!(
                    "field {:?} has no place in the detail record: a fixed-width output carries every field",
                    field.name
                ),
            ));
        }
    }
    // A lifecycle profile's change fields (after its mapped ones) hold what the engine
    // writes: the name of a change, or at most every field's name joined by commas.
    let changes = placed.iter().filter(|&&(i, _)| i >= profile.fields.len());
    for &(i, width) in changes.filter(|_| profile.lifecycle.is_some()) {
        let longest = match fields[i].name.as_str() {
            CHANGE_FIELD => ChangeKind::ALL
                .iter()
                .map(|k| k.as_str().len())
                .max()
                .unwrap_or(0),
            _ => profile
                .fields
                .iter()
                .map(|f| f.name.chars().count() + 1)
                .sum::<usize>()
                .saturating_sub(1),
        };
        if longest > width {
            problems.push(Problem::new(
                at.clone().key("columns"),
                format!(
                    "field {:?} can be {longest} characters long; give it a width of at least {longest}",
                    fields[i].name
                ),
            ));
        }
    }
    for (n, piece) in spec.trailer.iter().enumerate() {
        let Holds::Sum(name) = &piece.holds else {
            continue;
        };
        let kind = profile
            .fields
            .iter()
            .find(|f| &f.name == name)
            .map(|f| f.kind);
        if !matches!(kind, Some(FieldType::Integer | FieldType::Decimal)) {
            problems.push(Problem::new(
                at.clone().key("trailer").index(n).key("sum"),
                format!("{name:?} is not an integer or decimal field: a hash total adds numbers"),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::record::Position;
    use crate::output::test_fields as fields;

    /// A payroll layout: header with a run date, details, a trailer with counts and a total.
    const PAYROLL: &str = r#"
        path = "out.dat"
        format = "fixed"
        encoding = "windows-1252"
        line_ending = "crlf"
        record_length = 30
        header = [{ text = "HPAY" }, { run_date = "%Y%m%d" }]
        columns = [
          { text = "D" },
          { field = "id", width = 6, align = "right", pad = "0" },
          { field = "name", width = 10 },
          { field = "pay", start = 20, width = 9, align = "right", pad = "0" },
        ]
        trailer = [
          { text = "T" },
          { count = "details", width = 4, align = "right", pad = "0" },
          { count = "records", width = 4, align = "right", pad = "0" },
          { sum = "pay", width = 10, align = "right", pad = "0" },
        ]
    "#;

    fn spec(text: &str) -> FileOutputSpec {
        toml::from_str(text).unwrap()
    }

    fn layout(text: &str) -> Result<Layout, Vec<Problem>> {
        Layout::compile(
            &spec(text),
            &fields(&["id", "name", "pay"]),
            &KeyPath::output(0),
        )
    }

    fn record(values: Vec<Value>) -> MappedRecord {
        MappedRecord {
            pos: Position::new("in.txt".into(), 2),
            values,
        }
    }

    fn person(id: i64, name: &str, pay: &str) -> MappedRecord {
        record(vec![
            Value::Integer(id),
            Value::Text(name.into()),
            Value::Decimal(pay.into()),
        ])
    }

    fn encoder(text: &str) -> FixedEncoder<Vec<u8>> {
        let today = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        FixedEncoder::new(Vec::new(), layout(text).unwrap(), today).unwrap()
    }

    #[test]
    fn records_sit_at_their_places_with_counts_and_an_exact_total() {
        let mut enc = encoder(PAYROLL);
        enc.write(&person(101, "Müller", "6125.00")).unwrap();
        enc.write(&person(7, "Weiß", "-12.5")).unwrap();
        enc.write(&record(vec![Value::Integer(8), Value::Null, Value::Null]))
            .unwrap();
        let bytes = enc.finish().unwrap();
        let (text, _, malformed) = encoding_rs::WINDOWS_1252.decode(&bytes);
        assert!(!malformed);
        assert!(bytes.contains(&0xfc), "ü as one windows-1252 byte");
        assert_eq!(
            text,
            "HPAY20240601                  \r\n\
             D000101Müller      006125.00  \r\n\
             D000007Weiß        -000012.5  \r\n\
             D000008                       \r\n\
             T000300050006112.50           \r\n"
        );
    }

    #[test]
    fn a_value_that_does_not_fit_is_refused_with_its_field_never_cut() {
        let enc = encoder(PAYROLL);
        let long = enc.refusal(&person(1, "Bartholomew", "1")).unwrap();
        assert_eq!(long.field, "name");
        assert!(
            long.reason
                .contains("11 characters do not fit the 10 of characters 8-17"),
            "{}",
            long.reason
        );
        assert!(!long.reason.contains("Bartholomew"));
        let tab = enc.refusal(&person(1, "A\tB", "1")).unwrap();
        assert!(tab.reason.contains("control character"), "{}", tab.reason);
        let greek = enc.refusal(&person(1, "Αλέξης", "1")).unwrap();
        assert!(
            greek.reason.contains("windows-1252 cannot write"),
            "{}",
            greek.reason
        );
        let wide = enc.refusal(&person(1234567, "Ann", "1")).unwrap();
        assert_eq!(wide.field, "id");
        assert_eq!(enc.refusal(&person(1, "Ann", "1")), None);
    }

    #[test]
    fn a_total_wider_than_its_place_stops_the_file() {
        let mut enc =
            encoder(&PAYROLL.replace("sum = \"pay\", width = 10", "sum = \"pay\", width = 3"));
        enc.write(&person(1, "Ann", "1234")).unwrap();
        let why = enc.trailer_problem().unwrap();
        assert!(
            why.contains("the trailer record: 4 characters do not fit the 3"),
            "{why}"
        );
        assert!(enc.finish().is_err());
    }

    #[test]
    fn layouts_that_cannot_be_written_are_problems_at_their_keys() {
        let cases = [
            ("columns = [{ field = \"id\" }]", "output[0].columns[0].width", "give the width"),
            ("columns = [{ field = \"nope\", width = 2 }]", "output[0].columns[0].field", "no output field"),
            ("columns = [{ field = \"id\", width = 5 }, { field = \"name\", start = 3, width = 2 }]", "output[0].columns[1].start", "inside the piece before it (which ends at 5)"),
            ("columns = [{ field = \"id\", width = 0 }]", "output[0].columns[0].width", "a width of 0"),
            ("columns = [{ text = \"AB\", width = 1 }]", "output[0].columns[0].width", "does not fit 1"),
            ("columns = [{ count = \"details\", width = 3 }]", "output[0].columns[0]", "go in the trailer"),
            ("columns = [{ run_date = \"%A %d %B %Y\", width = 10 }]", "output[0].columns[0].width", "writes up to 27"),
            ("columns = [{ run_date = \"%H%M\", width = 4 }]", "output[0].columns[0].run_date", "not a date format"),
            ("columns = [{ field = \"id\", width = 9 }]\nrecord_length = 8", "output[0].columns", "longer than record_length 8"),
            ("columns = [{ field = \"id\", width = 9 }]\nencoding = \"utf-16le\"", "output[0].encoding", "cannot be written"),
            ("columns = [{ field = \"id\", width = 9 }]\nencoding = \"auto\"", "output[0].encoding", "name the encoding"),
            ("", "output[0].columns", "needs columns"),
        ];
        for (keys, at, says) in cases {
            let problems =
                layout(&format!("path = \"o\"\nformat = \"fixed\"\n{keys}")).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.at.to_string() == at && p.message.contains(says)),
                "{keys}: {problems:?}"
            );
        }
    }

    /// The problems `check` finds in the first output of the minimal profile with `extra`
    /// in front (fields `pay` and `name` before its `id`).
    fn checked(extra: &str) -> Vec<String> {
        let profile = crate::profile::fixtures::profile_of(&format!(
            "{extra}\n[[field]]\nname = \"pay\"\nfrom = \"PAY\"\ntype = \"decimal\"\n\
             [[field]]\nname = \"name\"\nfrom = \"NAME\"\n"
        ));
        let spec = crate::output::open::open(&profile.outputs[0])
            .file()
            .unwrap();
        check(spec, &profile, &KeyPath::output(0))
            .iter()
            .map(|p| format!("{}: {}", p.at, p.message))
            .collect()
    }

    const FIXED: &str = "[[output]]\ntype = \"file\"\npath = \"o.dat\"\nformat = \"fixed\"\n";

    #[test]
    fn every_field_has_a_place_totals_add_numbers_and_change_fields_fit() {
        let columns = "columns = [{ field = \"pay\", width = 9 }, { field = \"name\", width = 9 }, { field = \"id\", width = 9 }]\n";
        assert_eq!(checked(&format!("{FIXED}{columns}")), Vec::<String>::new());
        let two = "columns = [{ field = \"pay\", width = 9 }, { field = \"name\", width = 9 }]\n";
        assert_eq!(
            checked(&format!("{FIXED}{two}")),
            ["output[0].columns: field \"id\" has no place in the detail record: a fixed-width output carries every field"]
        );
        let text_sum = "trailer = [{ sum = \"name\", width = 9 }, { sum = \"pay\", width = 9 }]\n";
        assert_eq!(
            checked(&format!("{FIXED}{columns}{text_sum}")),
            ["output[0].trailer[0].sum: \"name\" is not an integer or decimal field: a hash total adds numbers"]
        );
        let changes = "columns = [{ field = \"pay\", width = 9 }, { field = \"name\", width = 9 }, { field = \"id\", width = 9 }, { field = \"change\", width = 6 }, { field = \"changed_fields\", width = 11 }]\n";
        let lifecycle = "[lifecycle]\nmode = \"snapshot\"\n";
        assert_eq!(
            checked(&format!("{lifecycle}{FIXED}{changes}")),
            // `changed_fields` is 11 wide: "pay,name,id" fits.
            ["output[0].columns: field \"change\" can be 7 characters long; give it a width of at least 7"]
        );
    }

    #[test]
    fn fixed_width_keys_on_another_format_and_a_delimiter_on_this_one_are_refused() {
        let csv = "[[output]]\ntype = \"file\"\npath = \"o.csv\"\nrecord_length = 80\ntrailer = [{ text = \"T\" }]\n";
        assert_eq!(
            checked(csv),
            [
                "output[0].record_length: record_length is for fixed-width outputs (format = \"fixed\")",
                "output[0].trailer: trailer is for fixed-width outputs (format = \"fixed\")",
            ]
        );
        let columns = "columns = [{ field = \"pay\", width = 9 }, { field = \"name\", width = 9 }, { field = \"id\", width = 9 }]\n";
        assert_eq!(
            checked(&format!("{FIXED}delimiter = \";\"\n{columns}")),
            ["output[0].delimiter: a fixed-width output has no delimiter: its columns say where each value is"]
        );
    }
}
