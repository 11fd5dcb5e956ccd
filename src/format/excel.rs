//! Spreadsheet reader (xlsx/xlsm, xls, ods): untrusted workbooks read under caps.
//!
//! The container is recognised by its magic bytes, zip containers are measured before calamine
//! touches them (see [`super::zip_guard`]), and the sheet is read on a worker thread that sends
//! rows through a small bounded channel: xlsx sheets stream cell by cell, so memory stays flat;
//! xls and ods sheets are loaded whole by calamine, bounded by the file and decompression caps.
//! The worker counts cells against `limits.max_cells` and its own busy time against
//! `limits.max_read_seconds`; the reader also gives up when the worker goes silent that long.
//! Cells become text the way an operator reads them in the spreadsheet (see [`cell_text`]);
//! in xlsx files that includes ids kept in a zero-padded number format (see
//! [`super::id_format`]). calamine 0.38 exposes number formats for xlsx only, so xls and ods
//! numbers are read plain.

use std::io::{BufReader, Read, Seek};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use calamine::{DataType, ExcelDateTime, Ods, Reader, Xls, Xlsx};

use super::footer::{Item, Line, Lines, Trailer};
use super::header::{column_label, names_of};
use super::id_format::IdFormat;
use super::limits::check_file_size;
use super::shape::{table, Ragged};
use super::zip_guard::{self, ZipCheckError, ZipKind};
use super::{Input, ReadError, Severity, Table};
use crate::kernel::record::Position;
use crate::profile::{FormatSpec, Limits, SheetRef};

/// Rows in flight between the worker and the reader.
const CHANNEL_ROWS: usize = 256;
/// The worker checks its clock every this many cells.
const CLOCK_EVERY: u64 = 4096;
/// Columns a spreadsheet can have (xlsx: A..XFD); a cell further right is malformed.
const MAX_COLUMNS: usize = 16_384;
/// What joins a trailer row's cells for the trailer pattern.
const TRAILER_JOINER: &str = ",";

/// The kinds of workbook file, told apart by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Xlsx,
    Ods,
    Xls,
}

/// Opens a spreadsheet export and returns its header and a stream of its data rows.
pub fn open(
    mut file: Box<dyn Input>,
    name: Arc<str>,
    spec: &FormatSpec,
) -> Result<Table, ReadError> {
    let fail = |reason: String| ReadError::file(Position::new(name.clone(), 0), reason);
    check_file_size(&mut file, &spec.limits).map_err(|e| fail(e.to_string()))?;
    let container = detect(&mut file, &spec.limits).map_err(|e| fail(e.to_string()))?;
    file.rewind()
        .map_err(|e| fail(format!("cannot read the file: {e}")))?;
    let trailer = spec
        .trailer
        .as_ref()
        .map(|t| Trailer::new(t, TRAILER_JOINER))
        .transpose()
        .map_err(|reason| fail(format!("trailer: {reason}")))?;

    let (tx, rx) = mpsc::sync_channel(CHANNEL_ROWS);
    let worker = Worker::new(tx, &spec.limits);
    let sheet = spec.sheet.clone();
    thread::Builder::new()
        .name("hrbridge-sheet".to_string())
        .spawn(move || worker.run(file, container, sheet.as_ref()))
        .map_err(|e| fail(format!("cannot start the spreadsheet reader: {e}")))?;

    let wait = Duration::from_secs(spec.limits.max_read_seconds.max(1));
    let sheet_name = match receive(&rx, wait, spec.limits.max_read_seconds) {
        Msg::Sheet(sheet) => Arc::<str>::from(sheet),
        Msg::Fail(reason) => return Err(fail(reason)),
        Msg::Row(_) | Msg::End => return Err(fail("the spreadsheet reader misbehaved".into())),
    };
    let mut lines = SheetLines {
        rx,
        wait,
        max_read_seconds: spec.limits.max_read_seconds,
        at: Position {
            file: name,
            sheet: Some(sheet_name),
            row: 0,
        },
        header: Vec::new(),
        last_row: 0,
        done: false,
    };
    let header_line = find_header(&mut lines, spec.header_row)?;
    let header = names_of(&header_line)?;
    lines.header = header.clone();
    Ok(table(
        lines,
        header,
        header_line.pos,
        trailer,
        spec,
        Ragged::Pad,
    ))
}

/// Why the file is not a workbook hrbridge reads.
#[derive(Debug, thiserror::Error)]
enum ContainerError {
    #[error("cannot read the file: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Zip(#[from] ZipCheckError),
    /// Neither a zip container nor an xls file.
    #[error("not a spreadsheet (expected an xlsx/xls/ods file)")]
    Unknown,
}

/// Tells the container from its first bytes; zip containers are measured on the way.
fn detect<R: Read + Seek>(file: &mut R, limits: &Limits) -> Result<Container, ContainerError> {
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic)?;
    match magic.get(..n) {
        Some(b"PK\x03\x04") => {
            file.rewind()?;
            match zip_guard::inspect(file, limits)? {
                ZipKind::Xlsx => Ok(Container::Xlsx),
                ZipKind::Ods => Ok(Container::Ods),
            }
        }
        Some([0xD0, 0xCF, 0x11, 0xE0]) => Ok(Container::Xls),
        _ => Err(ContainerError::Unknown),
    }
}

/// The header: spreadsheet row `header_row` itself.
fn find_header(lines: &mut SheetLines, header_row: usize) -> Result<Line, ReadError> {
    let want = u64::try_from(header_row).unwrap_or(u64::MAX);
    let mut at = lines.at.clone();
    at.row = want;
    let mut seen_any = false;
    for item in lines.by_ref() {
        seen_any = true;
        let line = match item {
            Ok(line) => line,
            Err(e) if e.severity == Severity::File => return Err(e),
            Err(e) if e.pos.row < want => continue,
            Err(e) if e.pos.row == want => {
                let col = e.column.unwrap_or_default();
                return Err(ReadError::file(at, format!("header {col}: {}", e.reason)));
            }
            Err(_) => break,
        };
        if line.pos.row == want {
            return Ok(line);
        }
        if line.pos.row > want {
            break;
        }
    }
    let reason = if seen_any {
        format!("no header row: spreadsheet row {header_row} (header_row) is empty")
    } else {
        "sheet is empty: no header row".to_string()
    };
    Err(ReadError::file(at, reason))
}

/// What the worker sends.
enum Msg {
    /// The sheet being read (first message).
    Sheet(String),
    /// One row with at least one non-empty cell.
    Row(SheetRow),
    /// The file fails; nothing follows.
    Fail(String),
    /// The sheet is done.
    End,
}

/// A row as the worker found it: 0-based row and column numbers, non-empty cells only.
#[derive(Default)]
struct SheetRow {
    row: u32,
    cells: Vec<(u32, Cell)>,
}

/// A cell's value as text, or the formula error it holds.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Error(String),
}

fn receive(rx: &Receiver<Msg>, wait: Duration, max_read_seconds: u64) -> Msg {
    match rx.recv_timeout(wait) {
        Ok(msg) => msg,
        Err(RecvTimeoutError::Timeout) => Msg::Fail(format!(
            "reading the spreadsheet took longer than {max_read_seconds} s \
             (limits.max_read_seconds)"
        )),
        Err(RecvTimeoutError::Disconnected) => {
            Msg::Fail("the spreadsheet reader stopped unexpectedly".to_string())
        }
    }
}

/// Rows from the worker as [`Line`]s: blank rows skipped, formula errors as `Row` errors.
struct SheetLines {
    rx: Receiver<Msg>,
    wait: Duration,
    max_read_seconds: u64,
    /// File and sheet, with the last row seen (locates a failure).
    at: Position,
    /// Column names once the header is known (for naming columns in errors).
    header: Vec<String>,
    /// The last sheet row holding a value, blank text included.
    last_row: u64,
    done: bool,
}

impl SheetLines {
    fn line(&self, row: SheetRow) -> Option<Item> {
        let is_blank = |c: &(u32, Cell)| matches!(&c.1, Cell::Text(t) if t.trim().is_empty());
        if row.cells.iter().all(is_blank) {
            return None;
        }
        let pos = self.at.clone();
        let width = row
            .cells
            .iter()
            .map(|(c, _)| *c as usize + 1)
            .max()
            .unwrap_or(0);
        if width > MAX_COLUMNS {
            return Some(Err(ReadError::row(
                pos,
                Some(column_label(&self.header, width - 1)),
                format!("cell lies beyond the spreadsheet limit of {MAX_COLUMNS} columns"),
            )));
        }
        let mut fields = vec![String::new(); width];
        for (col, cell) in row.cells {
            let col = col as usize;
            match cell {
                Cell::Error(code) => {
                    return Some(Err(ReadError::row(
                        pos,
                        Some(column_label(&self.header, col)),
                        format!("cell holds a formula error {code}"),
                    )));
                }
                Cell::Text(text) => {
                    if let Some(slot) = fields.get_mut(col) {
                        *slot = text;
                    }
                }
            }
        }
        Some(Ok(Line { pos, fields }))
    }
}

impl Iterator for SheetLines {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.done {
            match receive(&self.rx, self.wait, self.max_read_seconds) {
                Msg::Row(row) => {
                    self.at.row = u64::from(row.row) + 1;
                    self.last_row = self.last_row.max(self.at.row);
                    if let Some(item) = self.line(row) {
                        return Some(item);
                    }
                }
                Msg::End => self.done = true,
                Msg::Fail(reason) => {
                    self.done = true;
                    return Some(Err(ReadError::file(self.at.clone(), reason)));
                }
                Msg::Sheet(_) => {}
            }
        }
        None
    }
}

impl Lines for SheetLines {
    fn last_row(&self) -> u64 {
        self.last_row
    }
}

/// Why the worker stopped early.
enum Stop {
    /// The file fails, for this reason.
    Fail(String),
    /// The reader hung up; nobody is listening.
    Gone,
}

/// Errors of calamine's readers, reduced to what may be shown (never cell content).
trait WorkbookError {
    fn is_password(&self) -> bool;
}

impl WorkbookError for calamine::XlsxError {
    fn is_password(&self) -> bool {
        matches!(self, calamine::XlsxError::Password)
    }
}

impl WorkbookError for calamine::XlsError {
    fn is_password(&self) -> bool {
        matches!(self, calamine::XlsError::Password)
    }
}

impl WorkbookError for calamine::OdsError {
    fn is_password(&self) -> bool {
        matches!(self, calamine::OdsError::Password)
    }
}

fn workbook_error<E: WorkbookError>(err: E) -> Stop {
    Stop::Fail(if err.is_password() {
        "workbook is password protected; export it without a password".to_string()
    } else {
        "cannot read the workbook: the file is corrupt or uses an unsupported feature".to_string()
    })
}

/// Reads the sheet on its own thread and sends its rows.
struct Worker {
    tx: SyncSender<Msg>,
    max_cells: u64,
    max_read_seconds: u64,
    cells: u64,
    /// Moves later by the time spent waiting for the reader to take rows; `None` when the
    /// cap lies beyond what the clock can represent.
    deadline: Option<Instant>,
}

impl Worker {
    fn new(tx: SyncSender<Msg>, limits: &Limits) -> Worker {
        Worker {
            tx,
            max_cells: limits.max_cells,
            max_read_seconds: limits.max_read_seconds,
            cells: 0,
            deadline: Instant::now().checked_add(Duration::from_secs(limits.max_read_seconds)),
        }
    }

    fn run(mut self, file: Box<dyn Input>, container: Container, sheet: Option<&SheetRef>) {
        let input = BufReader::new(file);
        let result = match container {
            Container::Xlsx => self.xlsx(input, sheet),
            Container::Xls => Xls::new(input)
                .map_err(workbook_error)
                .and_then(|wb| self.range(wb, sheet)),
            Container::Ods => Ods::new(input)
                .map_err(workbook_error)
                .and_then(|wb| self.range(wb, sheet)),
        };
        let last = match result {
            Ok(()) => Msg::End,
            Err(Stop::Fail(reason)) => Msg::Fail(reason),
            Err(Stop::Gone) => return,
        };
        // The reader may have hung up already; then there is nobody to tell.
        let _ = self.tx.send(last);
    }

    fn send(&mut self, msg: Msg) -> Result<(), Stop> {
        let started = Instant::now();
        self.tx.send(msg).map_err(|_| Stop::Gone)?;
        self.deadline = self.deadline.and_then(|d| d.checked_add(started.elapsed()));
        Ok(())
    }

    fn count_cell(&mut self) -> Result<(), Stop> {
        self.cells += 1;
        if self.cells > self.max_cells {
            return Err(Stop::Fail(format!(
                "sheet has more than {} cells (limits.max_cells), refusing",
                self.max_cells
            )));
        }
        let late = || self.deadline.is_some_and(|d| Instant::now() > d);
        if self.cells.is_multiple_of(CLOCK_EVERY) && late() {
            return Err(Stop::Fail(format!(
                "reading the spreadsheet took longer than {} s (limits.max_read_seconds)",
                self.max_read_seconds
            )));
        }
        Ok(())
    }

    fn flush(&mut self, row: &mut SheetRow) -> Result<(), Stop> {
        if row.cells.is_empty() {
            return Ok(());
        }
        let full = std::mem::take(row);
        row.row = full.row;
        self.send(Msg::Row(full))
    }

    /// Streams an xlsx sheet cell by cell, with the id formats of the cells' styles.
    fn xlsx(
        &mut self,
        input: BufReader<Box<dyn Input>>,
        sheet: Option<&SheetRef>,
    ) -> Result<(), Stop> {
        let mut wb: Xlsx<_> = Xlsx::new(input).map_err(workbook_error)?;
        let name = pick_sheet(&wb.sheet_names(), sheet)?;
        self.send(Msg::Sheet(name.clone()))?;
        let mut cells = wb.worksheet_cells_reader(&name).map_err(workbook_error)?;
        let id_formats: Vec<Option<IdFormat>> = cells
            .styles()
            .iter()
            .map(|style| IdFormat::parse(&style.number_format.as_ref()?.format_code))
            .collect();
        let mut row = SheetRow::default();
        while let Some((cell, style)) = cells.next_cell_with_style_id().map_err(workbook_error)? {
            self.count_cell()?;
            let (r, c) = cell.get_position();
            if r != row.row {
                self.flush(&mut row)?;
                row.row = r;
            }
            let id_format = id_formats.get(style).and_then(Option::as_ref);
            if let Some(value) = cell_text(cell.get_value(), id_format) {
                row.cells.push((c, value));
            }
        }
        self.flush(&mut row)
    }

    /// Reads an xls or ods sheet, which calamine loads whole.
    fn range<W, E>(&mut self, mut wb: W, sheet: Option<&SheetRef>) -> Result<(), Stop>
    where
        W: Reader<BufReader<Box<dyn Input>>, Error = E>,
        E: WorkbookError,
    {
        let name = pick_sheet(&wb.sheet_names(), sheet)?;
        self.send(Msg::Sheet(name.clone()))?;
        let range = wb.worksheet_range(&name).map_err(workbook_error)?;
        let (height, width) = range.get_size();
        if (height as u64).saturating_mul(width as u64) > self.max_cells {
            return Err(Stop::Fail(format!(
                "sheet has more than {} cells (limits.max_cells), refusing",
                self.max_cells
            )));
        }
        let (top, left) = range.start().unwrap_or((0, 0));
        let mut row = SheetRow {
            row: top,
            cells: Vec::new(),
        };
        for (r, c, value) in range.used_cells() {
            self.count_cell()?;
            let (r, c) = (top.saturating_add(r as u32), left.saturating_add(c as u32));
            if r != row.row {
                self.flush(&mut row)?;
                row.row = r;
            }
            if let Some(value) = cell_text(value, None) {
                row.cells.push((c, value));
            }
        }
        self.flush(&mut row)
    }
}

/// The sheet `want` names (default: the first); a missing one lists those that exist.
fn pick_sheet(names: &[String], want: Option<&SheetRef>) -> Result<String, Stop> {
    let found = match want {
        None => names.first(),
        Some(SheetRef::Index(i)) => names.get(*i),
        Some(SheetRef::Name(n)) => names.iter().find(|s| *s == n),
    };
    found.cloned().ok_or_else(|| {
        let wanted = match want {
            None => "any sheet".to_string(),
            Some(SheetRef::Index(i)) => format!("sheet index {i}"),
            Some(SheetRef::Name(n)) => format!("sheet {n:?}"),
        };
        let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
        Stop::Fail(format!(
            "workbook has no {wanted}; its sheets are: {}",
            list.join(", ")
        ))
    })
}

/// A cell as text: strings as they are (leading zeros kept), numbers in the cell's
/// `id_format` when it has one (`00123`), other whole numbers without `.0`, booleans as
/// `true`/`false`, date cells as ISO dates (`YYYY-MM-DD`, with `THH:MM:SS` when the time is
/// not midnight), duration cells as `H:MM:SS`. `None` for an empty cell.
fn cell_text<T: DataType>(value: &T, id_format: Option<&IdFormat>) -> Option<Cell> {
    let as_id = |n: f64| id_format.and_then(|f| f.render(n));
    if value.is_empty() {
        return None;
    }
    let text = if let Some(s) = value.get_string() {
        if s.is_empty() {
            return None;
        }
        s.to_string()
    } else if let Some(i) = value.get_int() {
        as_id(i as f64).unwrap_or_else(|| i.to_string())
    } else if let Some(f) = value.get_float() {
        as_id(f).unwrap_or_else(|| float_text(f))
    } else if let Some(b) = value.get_bool() {
        b.to_string()
    } else if let Some(dt) = value.get_datetime() {
        datetime_text(&dt)
    } else if let Some(s) = value.get_datetime_iso().or(value.get_duration_iso()) {
        s.to_string()
    } else if let Some(e) = value.get_error() {
        return Some(Cell::Error(e.to_string()));
    } else {
        return None;
    };
    Some(Cell::Text(text))
}

/// `12345.0` → `"12345"`; other numbers in their shortest round-trip form.
fn float_text(f: f64) -> String {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() < EXACT {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn datetime_text(dt: &ExcelDateTime) -> String {
    if dt.is_duration() {
        let secs = (dt.as_f64() * 86_400.0).round() as i64;
        let sign = if secs < 0 { "-" } else { "" };
        let secs = secs.unsigned_abs();
        return format!(
            "{sign}{}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
    }
    let (y, mo, d, h, mi, s, _ms) = dt.to_ymd_hms_milli();
    if (0.0..1.0).contains(&dt.as_f64()) {
        format!("{h:02}:{mi:02}:{s:02}")
    } else if (h, mi, s) == (0, 0, 0) {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::format::zip_guard::tests::zip_of;
    use crate::profile::{FormatKind, TrailerSpec};

    const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode="00000"/></numFmts>
<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="22" applyNumberFormat="1"/><xf numFmtId="46" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs>
</styleSheet>"#;

    /// A minimal xlsx: sheets given as (name, `<sheetData>` inner XML). Style 1 is a date,
    /// 2 a date-time, 3 a duration, 4 a zero-padded id (`00000`).
    fn xlsx(sheets: &[(&str, &str)], date1904: bool) -> Vec<u8> {
        let mut workbook = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
        );
        if date1904 {
            workbook.push_str(r#"<workbookPr date1904="1"/>"#);
        }
        workbook.push_str("<sheets>");
        let mut rels = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#,
        );
        let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, (name, data)) in sheets.iter().enumerate() {
            let n = i + 1;
            workbook.push_str(&format!(
                r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
            ));
            rels.push_str(&format!(
                r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
            ));
            let sheet = format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{data}</sheetData></worksheet>"#
            );
            parts.push((format!("xl/worksheets/sheet{n}.xml"), sheet.into_bytes()));
        }
        workbook.push_str("</sheets></workbook>");
        rels.push_str("</Relationships>");
        let root_rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
        parts.push(("_rels/.rels".into(), root_rels.as_bytes().to_vec()));
        parts.push(("xl/workbook.xml".into(), workbook.into_bytes()));
        parts.push(("xl/_rels/workbook.xml.rels".into(), rels.into_bytes()));
        parts.push(("xl/styles.xml".into(), STYLES.as_bytes().to_vec()));
        let refs: Vec<(&str, &[u8])> = parts
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        zip_of(&refs)
    }

    /// A row of inline-string cells starting at column A.
    fn text_row(r: u32, cells: &[&str]) -> String {
        let mut out = format!(r#"<row r="{r}">"#);
        for (i, text) in cells.iter().enumerate() {
            let col = char::from(b'A' + i as u8);
            out.push_str(&format!(
                r#"<c r="{col}{r}" t="inlineStr"><is><t>{text}</t></is></c>"#
            ));
        }
        out.push_str("</row>");
        out
    }

    fn spec() -> FormatSpec {
        FormatSpec {
            kind: FormatKind::Xlsx,
            ..FormatSpec::default()
        }
    }

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".xlsx").tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    type Outcome = Result<crate::kernel::record::RawRecord, ReadError>;

    fn read(bytes: &[u8], spec: &FormatSpec) -> Result<(Vec<String>, Vec<Outcome>), ReadError> {
        let f = write(bytes);
        let table = crate::format::open(f.path(), "hires.xlsx", spec)?;
        Ok((table.header, table.records.collect()))
    }

    fn values(items: &[Outcome]) -> Vec<(u64, String)> {
        items
            .iter()
            .map(|r| match r {
                Ok(rec) => (rec.pos.row, rec.values.join("|")),
                Err(e) => (e.pos.row, format!("{:?}: {}", e.severity, e.reason)),
            })
            .collect()
    }

    #[test]
    fn reads_values_as_an_operator_sees_them() {
        let data = format!(
            "{}{}{}",
            text_row(
                1,
                &["id", "name", "hired", "seen", "hours", "rate", "active"]
            ),
            r#"<row r="2"><c r="A2" t="inlineStr"><is><t>00123</t></is></c><c r="B2" t="s"><v>0</v></c><c r="C2" s="1"><v>45413</v></c><c r="D2" s="2"><v>45413.5</v></c><c r="E2" s="3"><v>1.5625</v></c><c r="F2"><v>12345</v></c><c r="G2" t="b"><v>1</v></c></row>"#,
            r#"<row r="4"><c r="A4"><v>7.25</v></c><c r="F4"><v>1E+20</v></c></row>"#,
        );
        let mut bytes = xlsx(&[("Hires", &data)], false);
        // A shared strings part for B2.
        bytes = add_shared_strings(&bytes, &["Zoë"]);
        let (header, items) = read(&bytes, &spec()).unwrap();
        assert_eq!(
            header,
            vec!["id", "name", "hired", "seen", "hours", "rate", "active"]
        );
        assert_eq!(
            values(&items),
            vec![
                (
                    2,
                    "00123|Zoë|2024-05-01|2024-05-01T12:00:00|37:30:00|12345|true".to_string()
                ),
                (4, "7.25|||||100000000000000000000|".to_string()),
            ]
        );
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.pos.sheet.as_deref(), Some("Hires"));
    }

    /// Re-zips `xlsx` with a shared strings table.
    fn add_shared_strings(xlsx: &[u8], strings: &[&str]) -> Vec<u8> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
        let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
        for i in 0..archive.len() {
            let mut part = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            part.read_to_end(&mut content).unwrap();
            let name = part.name().unwrap().to_string();
            if name == "xl/_rels/workbook.xml.rels" {
                let text = String::from_utf8(content).unwrap().replace(
                    "</Relationships>",
                    r#"<Relationship Id="rIdSS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
                );
                content = text.into_bytes();
            }
            parts.push((name, content));
        }
        let items: String = strings
            .iter()
            .map(|s| format!("<si><t>{s}</t></si>"))
            .collect();
        let sst = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{items}</sst>"#
        );
        parts.push(("xl/sharedStrings.xml".into(), sst.into_bytes()));
        let refs: Vec<(&str, &[u8])> = parts
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        zip_of(&refs)
    }

    #[test]
    fn numbers_in_an_id_format_keep_their_zeros() {
        let data = format!(
            "{}{}",
            text_row(1, &["id", "plain"]),
            r#"<row r="2"><c r="A2" s="4"><v>123</v></c><c r="B2"><v>123</v></c></row>"#
        );
        let (_, items) = read(&xlsx(&[("S", &data)], false), &spec()).unwrap();
        assert_eq!(values(&items), vec![(2, "00123|123".to_string())]);
    }

    #[test]
    fn dates_follow_the_workbook_epoch() {
        let data = format!(
            "{}{}",
            text_row(1, &["d"]),
            r#"<row r="2"><c r="A2" s="1"><v>45413</v></c></row>"#
        );
        let (_, items) = read(&xlsx(&[("S", &data)], false), &spec()).unwrap();
        assert_eq!(values(&items), vec![(2, "2024-05-01".to_string())]);
        let (_, items) = read(&xlsx(&[("S", &data)], true), &spec()).unwrap();
        assert_eq!(values(&items), vec![(2, "2028-05-02".to_string())]);
    }

    #[test]
    fn header_row_counts_real_spreadsheet_rows() {
        let data = format!(
            "{}{}{}{}",
            text_row(1, &["Export of 2024-05-01"]),
            text_row(3, &[" id ", "name"]),
            text_row(5, &["1", "a"]),
            r#"<row r="6"><c r="A6" t="inlineStr"><is><t> </t></is></c></row>"#,
        ) + &text_row(7, &["2"]);
        let s = FormatSpec {
            header_row: 3,
            ..spec()
        };
        let (header, items) = read(&xlsx(&[("S", &data)], false), &s).unwrap();
        assert_eq!(header, vec!["id", "name"]);
        assert_eq!(
            values(&items),
            vec![(5, "1|a".to_string()), (7, "2|".to_string())]
        );
        let s = FormatSpec {
            header_row: 2,
            ..spec()
        };
        let err = read(&xlsx(&[("S", &data)], false), &s).unwrap_err();
        assert!(
            err.reason.contains("row 2 (header_row) is empty"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn formula_errors_and_overflowing_cells_reject_the_row() {
        let data = format!(
            "{}{}{}{}",
            text_row(1, &["id", "pay"]),
            r#"<row r="2"><c r="A2" t="inlineStr"><is><t>1</t></is></c><c r="B2" t="e"><f>Sheet9!A1</f><v>#REF!</v></c></row>"#,
            text_row(3, &["2", "10", "surprise"]),
            text_row(4, &["3", "20"]),
        );
        let (_, items) = read(&xlsx(&[("S", &data)], false), &spec()).unwrap();
        assert_eq!(
            values(&items),
            vec![
                (2, "Row: cell holds a formula error #REF!".to_string()),
                (
                    3,
                    "Row: cell beyond the header's 2 columns is not empty".to_string()
                ),
                (4, "3|20".to_string()),
            ]
        );
        let err = items[0].as_ref().unwrap_err();
        assert_eq!(err.column.as_deref(), Some("pay"));
        assert_eq!(err.pos.sheet.as_deref(), Some("S"));
        assert_eq!(
            items[1].as_ref().unwrap_err().column.as_deref(),
            Some("column 3")
        );
    }

    #[test]
    fn sheets_are_chosen_by_name_or_index_and_missing_ones_listed() {
        let first = format!("{}{}", text_row(1, &["a"]), text_row(2, &["first"]));
        let second = format!("{}{}", text_row(1, &["b"]), text_row(2, &["second"]));
        let bytes = xlsx(&[("Summary", &first), ("Hires", &second)], false);
        let by_name = FormatSpec {
            sheet: Some(SheetRef::Name("Hires".into())),
            ..spec()
        };
        assert_eq!(read(&bytes, &by_name).unwrap().0, vec!["b"]);
        let by_index = FormatSpec {
            sheet: Some(SheetRef::Index(1)),
            ..spec()
        };
        assert_eq!(read(&bytes, &by_index).unwrap().0, vec!["b"]);
        assert_eq!(read(&bytes, &spec()).unwrap().0, vec!["a"]);
        let missing = FormatSpec {
            sheet: Some(SheetRef::Name("Leavers".into())),
            ..spec()
        };
        let err = read(&bytes, &missing).unwrap_err();
        assert_eq!(err.severity, Severity::File);
        assert_eq!(
            err.reason,
            "workbook has no sheet \"Leavers\"; its sheets are: \"Summary\", \"Hires\""
        );
    }

    #[test]
    fn bad_headers_fail_the_file() {
        let data = text_row(1, &["id", "id"]);
        let err = read(&xlsx(&[("S", &data)], false), &spec()).unwrap_err();
        assert!(
            err.reason.contains("column 1 and column 2"),
            "{}",
            err.reason
        );
        let err = read(&xlsx(&[("S", "")], false), &spec()).unwrap_err();
        assert_eq!(err.reason, "sheet is empty: no header row");
        let formula = format!(
            "{}{}",
            r#"<row r="1"><c r="A1" t="e"><v>#N/A</v></c></row>"#,
            text_row(2, &["a"])
        );
        let err = read(&xlsx(&[("S", &formula)], false), &spec()).unwrap_err();
        assert_eq!(
            err.reason,
            "header column 1: cell holds a formula error #N/A"
        );
    }

    #[test]
    fn skip_footer_and_trailer_work_as_in_csv() {
        let data = format!(
            "{}{}{}{}{}",
            text_row(1, &["id", "name"]),
            text_row(2, &["1", "a"]),
            text_row(3, &["2", "b"]),
            text_row(4, &["TOTAL", "2"]),
            text_row(5, &["Printed by payroll"]),
        );
        let bytes = xlsx(&[("S", &data)], false);
        let mut s = spec();
        s.skip_footer = 1;
        s.trailer = Some(TrailerSpec {
            pattern: r"^TOTAL,(\d+)$".into(),
        });
        let (_, items) = read(&bytes, &s).unwrap();
        assert_eq!(
            values(&items),
            vec![(2, "1|a".to_string()), (3, "2|b".to_string())]
        );
        s.skip_footer = 0;
        let (_, items) = read(&bytes, &s).unwrap();
        let (row, msg) = values(&items).pop().unwrap();
        assert_eq!(row, 5);
        assert!(msg.contains("may be truncated"), "{msg}");
    }

    #[test]
    fn non_spreadsheets_fail_cleanly() {
        let err = read(b"id,name\n1,a\n", &spec()).unwrap_err();
        assert_eq!(
            err.reason,
            "not a spreadsheet (expected an xlsx/xls/ods file)"
        );
        let err = read(b"PK\x03\x04garbage", &spec()).unwrap_err();
        assert!(err.reason.contains("not a valid zip"), "{}", err.reason);
        let err = read(b"\xD0\xCF\x11\xE0garbage", &spec()).unwrap_err();
        assert!(
            err.reason.contains("cannot read the workbook"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn a_zip_bomb_is_refused_before_parsing() {
        let filler = vec![b' '; 300_000];
        let data = format!(
            "{}{}",
            text_row(1, &["a"]),
            String::from_utf8(filler).unwrap()
        );
        let mut s = spec();
        s.limits.max_unzipped_bytes = 100_000;
        let err = read(&xlsx(&[("S", &data)], false), &s).unwrap_err();
        assert!(err.reason.contains("possible zip bomb"), "{}", err.reason);
    }

    #[test]
    fn cell_count_is_capped() {
        let mut data = text_row(1, &["a", "b"]);
        for r in 2..50 {
            data.push_str(&text_row(r, &["1", "2"]));
        }
        let mut s = spec();
        s.limits.max_cells = 20;
        let tiny = FormatSpec {
            header_row: 30,
            ..s.clone()
        };
        let err = read(&xlsx(&[("S", &data)], false), &tiny).unwrap_err();
        assert!(err.reason.contains("max_cells"), "{}", err.reason);
        let (_, items) = read(&xlsx(&[("S", &data)], false), &s).unwrap();
        let err = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(err.severity, Severity::File);
        assert!(err.reason.contains("max_cells"), "{}", err.reason);
        assert!(items.len() <= 10, "{} items", items.len());
    }

    #[test]
    fn cells_past_the_last_column_reject_the_row() {
        let data = format!(
            "{}{}{}",
            text_row(1, &["a"]),
            r#"<row r="2"><c r="ZZZZ2" t="inlineStr"><is><t>x</t></is></c></row>"#,
            text_row(3, &["ok"]),
        );
        let (_, items) = read(&xlsx(&[("S", &data)], false), &spec()).unwrap();
        assert_eq!(
            values(&items),
            vec![
                (
                    2,
                    "Row: cell lies beyond the spreadsheet limit of 16384 columns".to_string()
                ),
                (3, "ok".to_string()),
            ]
        );
    }

    #[test]
    fn durations_keep_their_sign() {
        let neg = ExcelDateTime::new(-1.5, calamine::ExcelDateTimeType::TimeDelta, false);
        assert_eq!(datetime_text(&neg), "-36:00:00");
    }

    #[test]
    fn reading_time_is_capped() {
        let mut data = text_row(1, &["a", "b"]);
        for r in 2..3000 {
            data.push_str(&text_row(r, &["1", "2"]));
        }
        let mut s = spec();
        s.limits.max_read_seconds = 0;
        let (_, items) = read(&xlsx(&[("S", &data)], false), &s).unwrap();
        let err = items.last().unwrap().as_ref().unwrap_err();
        assert!(err.reason.contains("max_read_seconds"), "{}", err.reason);
        assert!(items.len() < 2999);
    }

    #[test]
    fn oversized_files_are_refused() {
        let mut s = spec();
        s.limits.max_file_bytes = 5;
        let err = read(&xlsx(&[("S", "")], false), &s).unwrap_err();
        assert!(err.reason.contains("max_file_bytes"), "{}", err.reason);
    }

    #[test]
    fn reads_ods_with_real_row_numbers() {
        let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Staff">
<table:table-row><table:table-cell office:value-type="string"><text:p>id</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>hired</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>pay</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="3"/></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>007</text:p></table:table-cell><table:table-cell office:value-type="date" office:date-value="2024-05-01"><text:p>05/01/24</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="12345"><text:p>12345</text:p></table:table-cell></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"#;
        let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"></manifest:manifest>"#;
        let ods = zip_of(&[
            (
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet",
            ),
            ("META-INF/manifest.xml", manifest.as_bytes()),
            ("content.xml", content.as_bytes()),
        ]);
        let (header, items) = read(&ods, &spec()).unwrap();
        assert_eq!(header, vec!["id", "hired", "pay"]);
        assert_eq!(
            values(&items),
            vec![(4, "007|2024-05-01|12345".to_string())]
        );
        assert_eq!(
            items[0].as_ref().unwrap().pos.sheet.as_deref(),
            Some("Staff")
        );
    }

    #[test]
    fn numbers_render_without_float_noise() {
        assert_eq!(float_text(12345.0), "12345");
        assert_eq!(float_text(-3.0), "-3");
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(1.0e16), "10000000000000000");
        assert_eq!(float_text(2.5e-7), "0.00000025");
        // Beyond 2^53 every digit is still written out, never an exponent.
        assert_eq!(float_text(1e21), "1000000000000000000000");
        assert_eq!(float_text(9_007_199_254_740_994.0), "9007199254740994");
    }
}
