//! CSV reader: decodes, finds the delimiter and header, and streams positioned records.
//!
//! The file is decoded strictly (see [`super::encoding`]), parsed by the `csv` crate (quotes,
//! embedded newlines), and each record remembers the physical line it starts on (counted by
//! [`super::line_count`], for LF, CRLF and CR files alike). Memory stays flat whatever the
//! number of rows: one reusable record buffer plus the footer lookahead.

use std::io::{Cursor, Read};
use std::sync::Arc;

use super::encoding::{encoding_for_label, io_error, DecodingReader};
use super::footer::{Item, Line, Lines, Trailer};
use super::header::names_of;
use super::limits::{check_file_size, max_line_bytes, LineLimit};
use super::line_count::LineCounter;
use super::shape::{table, Ragged};
use super::{Input, ReadError, Table};
use crate::kernel::record::Position;
use crate::profile::FormatSpec;

/// The `delimiter` value that sniffs among [`SNIFF_CANDIDATES`].
pub const AUTO: &str = "auto";

/// Delimiters `"auto"` chooses among, in tie-break order.
pub const SNIFF_CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How much decoded text the delimiter sniffer looks at.
const SNIFF_BYTES: usize = 64 << 10;
/// Lines after the header the sniffer compares with it.
const SNIFF_LINES: usize = 10;
/// The parser's read buffer.
const BUFFER_BYTES: usize = 64 << 10;

/// Why a `delimiter` setting is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelimiterError {
    /// A quote or a line break, which CSV itself uses.
    #[error("delimiter {value:?} cannot be used: it is a quote or a line break")]
    Reserved { value: String },
    #[error(
        "delimiter {value:?} must be \"auto\", \"tab\" or a single ASCII punctuation \
         character such as \",\" \";\" \"|\""
    )]
    Invalid { value: String },
}

/// Resolves a `delimiter` setting: `Ok(None)` for `"auto"`, the byte for a single ASCII
/// character, `"tab"` or `"\t"`, or why the value is not accepted.
pub fn parse_delimiter(value: &str) -> Result<Option<u8>, DelimiterError> {
    match value {
        v if v.eq_ignore_ascii_case(AUTO) => Ok(None),
        "tab" | "\\t" | "\t" => Ok(Some(b'\t')),
        v => match v.as_bytes() {
            [b'"' | b'\n' | b'\r'] => Err(DelimiterError::Reserved {
                value: v.to_string(),
            }),
            [b] if b.is_ascii() && !b.is_ascii_alphanumeric() => Ok(Some(*b)),
            _ => Err(DelimiterError::Invalid {
                value: v.to_string(),
            }),
        },
    }
}

/// Opens a CSV export: checks the size cap, decodes, finds the header and returns the table.
pub fn open(
    mut file: Box<dyn Input>,
    name: Arc<str>,
    spec: &FormatSpec,
) -> Result<Table, ReadError> {
    let file_err =
        |row: u64, reason: String| ReadError::file(Position::new(name.clone(), row), reason);
    check_file_size(&mut file, &spec.limits).map_err(|e| file_err(0, e.to_string()))?;
    let encoding = encoding_for_label(&spec.encoding).map_err(|e| file_err(0, e.to_string()))?;
    let explicit = parse_delimiter(&spec.delimiter).map_err(|e| file_err(0, e.to_string()))?;

    let mut decoder = DecodingReader::new(file, encoding).map_err(|e| io_error(&name, 0, &e))?;
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    (&mut decoder)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| io_error(&name, 0, &e))?;
    let complete = prefix.len() < SNIFF_BYTES;
    let delimiter = match explicit {
        Some(d) => d,
        None => sniff_delimiter(&prefix, spec.header_row, complete),
    };

    let input: Box<dyn Read + Send> = Box::new(LineLimit::new(
        Cursor::new(prefix).chain(decoder),
        max_line_bytes(&spec.limits),
    ));
    let reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(BUFFER_BYTES)
        .from_reader(LineCounter::new(input, BUFFER_BYTES));
    let mut lines = CsvLines {
        reader,
        record: ::csv::StringRecord::new(),
        name: name.clone(),
        done: false,
    };

    let header_line = find_header(&mut lines, spec.header_row)?;
    let header = names_of(&header_line)?;

    let joiner = char::from(delimiter).to_string();
    let trailer = spec
        .trailer
        .as_ref()
        .map(|t| Trailer::new(t, &joiner))
        .transpose()
        .map_err(|reason| file_err(0, format!("trailer: {reason}")))?;
    Ok(table(
        lines,
        header,
        header_line.pos,
        trailer,
        spec,
        Ragged::Reject,
    ))
}

/// The header: the first non-blank record starting on or after line `header_row`.
fn find_header(lines: &mut CsvLines, header_row: usize) -> Result<Line, ReadError> {
    let first = u64::try_from(header_row).unwrap_or(u64::MAX);
    for item in lines.by_ref() {
        let line = item?;
        if line.pos.row >= first {
            return Ok(line);
        }
    }
    let reason = if header_row > 1 {
        format!("no header row: the file ends before line {header_row} (header_row)")
    } else {
        "file is empty: no header row".to_string()
    };
    Err(ReadError::file(
        Position::new(lines.name.clone(), 0),
        reason,
    ))
}

/// Non-blank CSV records as [`Line`]s, in file order.
struct CsvLines {
    reader: ::csv::Reader<LineCounter<Box<dyn Read + Send>>>,
    record: ::csv::StringRecord,
    name: Arc<str>,
    done: bool,
}

impl Iterator for CsvLines {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.done {
            let start = self.reader.position().byte();
            self.reader.get_mut().begin_record(start);
            let result = self.reader.read_record(&mut self.record);
            let row = self.reader.get_ref().record_line();
            match result {
                Ok(false) => self.done = true,
                Ok(true) => {
                    if self.record.iter().all(|f| f.trim().is_empty()) {
                        continue;
                    }
                    return Some(Ok(Line {
                        pos: Position::new(self.name.clone(), row),
                        fields: self.record.iter().map(String::from).collect(),
                    }));
                }
                Err(e) => {
                    self.done = true;
                    let err = match e.into_kind() {
                        ::csv::ErrorKind::Io(io) => io_error(&self.name, row, &io),
                        other => ReadError::file(
                            Position::new(self.name.clone(), row),
                            format!("cannot parse the file as CSV: {}", csv_kind(&other)),
                        ),
                    };
                    return Some(Err(err));
                }
            }
        }
        None
    }
}

impl Lines for CsvLines {
    fn last_row(&self) -> u64 {
        self.reader.get_ref().last_filled_line()
    }
}

/// A cell-free description of a csv crate error (its messages can quote field bytes).
fn csv_kind(kind: &::csv::ErrorKind) -> &'static str {
    match kind {
        ::csv::ErrorKind::Utf8 { .. } => "text is not valid UTF-8",
        ::csv::ErrorKind::UnequalLengths { .. } => "rows of unequal length",
        _ => "malformed input",
    }
}

/// Per-candidate delimiter counts of one logical line, outside quotes.
type Counts = [usize; SNIFF_CANDIDATES.len()];

/// Picks the delimiter of `text` (the start of the file): the first candidate, in
/// [`SNIFF_CANDIDATES`] order, that appears the same non-zero number of times in the header
/// line and the next lines; failing that, the one that agrees with the header on most lines.
/// A file with none of them is a single column, read with `,`.
fn sniff_delimiter(text: &[u8], header_row: usize, complete: bool) -> u8 {
    let lines = logical_lines(text, header_row, complete);
    let Some(head) = lines.first() else {
        return b',';
    };
    let agreeing = |i: usize| lines.iter().filter(|l| l[i] == head[i]).count();
    let candidates = 0..SNIFF_CANDIDATES.len();
    let consistent = candidates
        .clone()
        .find(|&i| head[i] > 0 && agreeing(i) == lines.len());
    let best = consistent.or_else(|| {
        candidates
            .filter(|&i| head[i] > 0)
            .max_by_key(|&i| (agreeing(i), std::cmp::Reverse(i)))
    });
    best.and_then(|i| SNIFF_CANDIDATES.get(i).copied())
        .unwrap_or(b',')
}

/// Delimiter counts of the header line and up to [`SNIFF_LINES`] non-blank lines after it
/// (`\n`, `\r\n` and a lone `\r` end a line, as for the reader).
fn logical_lines(text: &[u8], header_row: usize, complete: bool) -> Vec<Counts> {
    let mut lines = Vec::new();
    let mut counts: Counts = [0; SNIFF_CANDIDATES.len()];
    let (mut in_quotes, mut content) = (false, false);
    let (mut physical, mut start) = (1usize, 1usize);
    let mut previous = 0u8;
    for &b in text {
        let crlf = b == b'\n' && previous == b'\r';
        previous = b;
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                content = true;
            }
            b'\n' if crlf => {}
            b'\n' | b'\r' => {
                physical += 1;
                if !in_quotes {
                    if content && start >= header_row {
                        lines.push(counts);
                        if lines.len() > SNIFF_LINES {
                            return lines;
                        }
                    }
                    counts = [0; SNIFF_CANDIDATES.len()];
                    content = false;
                    start = physical;
                }
            }
            _ if in_quotes => {}
            _ => {
                if let Some(i) = SNIFF_CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
                content |= !b.is_ascii_whitespace();
            }
        }
    }
    if complete && content && !in_quotes && start >= header_row {
        lines.push(counts);
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::format::Severity;
    use crate::profile::TrailerSpec;

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    fn spec() -> FormatSpec {
        FormatSpec::default()
    }

    /// Each item as (row, values joined by `|`) or (row, "Severity: reason").
    type Rows = Vec<(u64, String)>;

    /// Header, then each item as (row, values) or (row, "ERR: reason").
    fn read(bytes: &[u8], spec: &FormatSpec) -> Result<(Vec<String>, Rows), ReadError> {
        let f = write(bytes);
        let table = crate::format::open(f.path(), "hires.csv", spec)?;
        let items = table
            .records
            .map(|r| match r {
                Ok(rec) => (rec.pos.row, rec.values.join("|")),
                Err(e) => (e.pos.row, format!("{:?}: {}", e.severity, e.reason)),
            })
            .collect();
        Ok((table.header, items))
    }

    fn rows(out: &[(u64, String)]) -> Vec<(u64, &str)> {
        out.iter().map(|(r, s)| (*r, s.as_str())).collect()
    }

    use crate::format::encoding::tests::utf16;

    #[test]
    fn delimiters_parse() {
        assert_eq!(parse_delimiter("auto"), Ok(None));
        assert_eq!(parse_delimiter(";"), Ok(Some(b';')));
        assert_eq!(parse_delimiter("tab"), Ok(Some(b'\t')));
        assert_eq!(parse_delimiter("\\t"), Ok(Some(b'\t')));
        assert_eq!(parse_delimiter("\t"), Ok(Some(b'\t')));
        assert!(parse_delimiter("\"").is_err());
        assert!(parse_delimiter(",,").is_err());
        assert!(parse_delimiter("x").is_err());
        assert!(parse_delimiter("§").is_err());
    }

    #[test]
    fn reads_utf8_rows_with_their_lines() {
        let (header, out) = read(b"id,name\n1,Zo\xC3\xAB\n2,Ann\n", &spec()).unwrap();
        assert_eq!(header, vec!["id", "name"]);
        assert_eq!(rows(&out), vec![(2, "1|Zoë"), (3, "2|Ann")]);
    }

    #[test]
    fn every_encoding_decodes() {
        let text = "id;name\n1;Zoë Łódź\n";
        let want = vec![(2, "1|Zoë Łódź")];
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        for bytes in [bom, utf16(text, false), utf16(text, true)] {
            let (header, out) = read(&bytes, &spec()).unwrap();
            assert_eq!(header, vec!["id", "name"]);
            assert_eq!(rows(&out), want);
        }
        let mut s = spec();
        s.encoding = "utf-16le".into();
        let no_bom = utf16(text, false).split_off(2);
        assert_eq!(rows(&read(&no_bom, &s).unwrap().1), want);

        s.encoding = "windows-1252".into();
        let (_, out) = read(b"id,name\n1,Jos\xE9\n", &s).unwrap();
        assert_eq!(rows(&out), vec![(2, "1|José")]);
    }

    /// The file error a read ends with, whether `open` or the stream reports it.
    fn fatal(bytes: &[u8], spec: &FormatSpec) -> (u64, String) {
        match read(bytes, spec) {
            Err(e) => {
                assert_eq!(e.severity, Severity::File);
                (e.pos.row, e.reason)
            }
            Ok((_, out)) => {
                let (row, msg) = out.last().cloned().expect("an error");
                let reason = msg.strip_prefix("File: ").expect("a file error");
                (row, reason.to_string())
            }
        }
    }

    #[test]
    fn invalid_utf8_is_a_located_file_error() {
        let (row, msg) = fatal(b"id,name\n1,ok\n2,Jos\xE9\n3,x\n", &spec());
        assert_eq!(row, 3);
        assert!(msg.contains("encoding = \"windows-1252\""), "{msg}");
        // Past the sniffed prefix the error arrives as the stream's last item.
        let mut text = b"id,name\n".to_vec();
        for _ in 0..10_000 {
            text.extend_from_slice(b"1,abcdefgh\n");
        }
        text.extend_from_slice(b"2,Jos\xE9\n3,x\n");
        let (_, out) = read(&text, &spec()).unwrap();
        assert_eq!(out.len(), 10_001);
        let (row, msg) = out.last().unwrap();
        assert_eq!(*row, 10_002);
        assert!(msg.starts_with("File: bytes at offset"), "{msg}");
    }

    #[test]
    fn a_bom_in_the_middle_fails_at_its_line() {
        let (row, msg) = fatal("id,name\n1,a\n\u{FEFF}id,name\n2,b\n".as_bytes(), &spec());
        assert_eq!(row, 3);
        assert!(msg.contains("byte-order mark"), "{msg}");
    }

    #[test]
    fn each_delimiter_is_sniffed() {
        for d in [",", ";", "\t", "|"] {
            let text = format!("id{d}name{d}note\n1{d}\"a, b; c\"{d}x\n2{d}b{d}y\n");
            let (header, out) = read(text.as_bytes(), &spec()).unwrap();
            assert_eq!(header, vec!["id", "name", "note"], "delimiter {d:?}");
            assert_eq!(rows(&out), vec![(2, "1|a, b; c|x"), (3, "2|b|y")]);
        }
    }

    #[test]
    fn sniffing_prefers_consistent_counts_and_starts_at_the_header() {
        // Commas appear in the banner above the header and in one free-text value only.
        let text = b"Export, 2024, all staff\nid;name\n1;Doe, J\n2;Roe\n";
        assert_eq!(sniff_delimiter(text, 2, true), b';');
        assert_eq!(sniff_delimiter(b"id\n1\n", 1, true), b',');
        assert_eq!(sniff_delimiter(b"a,b;c\n1,2;3\n", 1, true), b',');
    }

    #[test]
    fn sniffing_sees_the_lines_of_crlf_and_cr_files() {
        for eol in ["\r\n", "\r"] {
            let text = ["Export, 2024, all staff", "id;name", "1;Doe, J", "2;Roe"]
                .map(|l| format!("{l}{eol}"))
                .concat();
            assert_eq!(sniff_delimiter(text.as_bytes(), 2, true), b';', "{eol:?}");
        }
    }

    #[test]
    fn quoted_newlines_keep_row_numbers_right() {
        let text = b"id,note\n1,\"two\nlines\"\n2,\"three\n\nlines\"\n3,x\n";
        let (_, out) = read(text, &spec()).unwrap();
        assert_eq!(
            rows(&out),
            vec![(2, "1|two\nlines"), (4, "2|three\n\nlines"), (7, "3|x")]
        );
    }

    #[test]
    fn header_row_skips_ragged_banners() {
        let text = b"HR export\nGenerated,2024-05-01,by,system\nid,name\n1,a\n";
        let s = FormatSpec {
            header_row: 3,
            ..spec()
        };
        let (header, out) = read(text, &s).unwrap();
        assert_eq!(header, vec!["id", "name"]);
        assert_eq!(rows(&out), vec![(4, "1|a")]);
        let err = read(
            b"a\nb\n",
            &FormatSpec {
                header_row: 5,
                ..spec()
            },
        )
        .unwrap_err();
        assert!(err.reason.contains("before line 5"), "{}", err.reason);
    }

    #[test]
    fn ragged_rows_are_rejected_and_blank_rows_skipped() {
        let text = b"a,b,c\n1,2,3\n\n,,\n1,2\n1,2,3,4\n5,6,7\n";
        let (_, out) = read(text, &spec()).unwrap();
        assert_eq!(
            rows(&out),
            vec![
                (2, "1|2|3"),
                (5, "Row: row has 2 fields, header has 3"),
                (6, "Row: row has 4 fields, header has 3"),
                (7, "5|6|7"),
            ]
        );
    }

    #[test]
    fn bad_headers_fail_the_file() {
        let err = read(b"id,name,id\n1,2,3\n", &spec()).unwrap_err();
        assert_eq!(err.severity, Severity::File);
        assert!(
            err.reason.contains("column 1 and column 3"),
            "{}",
            err.reason
        );
        let err = read(b"id,,x\n", &spec()).unwrap_err();
        assert!(err.reason.contains("column 2"), "{}", err.reason);
        let err = read(b"", &spec()).unwrap_err();
        assert_eq!(err.reason, "file is empty: no header row");
        let err = read(b"\n\n", &spec()).unwrap_err();
        assert_eq!(err.reason, "file is empty: no header row");
    }

    #[test]
    fn skip_footer_drops_the_last_physical_lines() {
        let text = b"a,b\n1,2\n3,4\nTotal\n\nEnd,of,file\n\n";
        let footer = |skip_footer| FormatSpec {
            skip_footer,
            ..spec()
        };
        // Lines 4-6 ("Total", a blank line, "End,of,file") are the footer; the empty line
        // after the last one is not a row.
        let (_, out) = read(text, &footer(3)).unwrap();
        assert_eq!(rows(&out), vec![(2, "1|2"), (3, "3|4")]);
        // A footer set one line too short leaves "Total" a row, rejected: never silently lost.
        let (_, out) = read(text, &footer(2)).unwrap();
        assert_eq!(
            rows(&out),
            vec![
                (2, "1|2"),
                (3, "3|4"),
                (4, "Row: row has 1 fields, header has 2")
            ]
        );
    }

    #[test]
    fn records_carry_their_physical_line_whatever_the_line_ending() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "", "1,2", "\"x", "y\",3", " , ", "4,5"]
                .map(|l| format!("{l}{eol}"))
                .concat();
            let (_, out) = read(text.as_bytes(), &spec()).unwrap();
            let want = format!("x{eol}y|3");
            assert_eq!(
                rows(&out),
                vec![(3, "1|2"), (4, want.as_str()), (7, "4|5")],
                "{eol:?}"
            );
        }
    }

    fn with_trailer(pattern: &str) -> FormatSpec {
        FormatSpec {
            trailer: Some(TrailerSpec {
                pattern: pattern.into(),
            }),
            ..spec()
        }
    }

    #[test]
    fn trailer_counts_data_and_rejected_rows() {
        let s = with_trailer(r"^TOTAL,(\d+)$");
        let (_, out) = read(b"a,b\n1,2\n3\nTOTAL,2\n", &s).unwrap();
        assert_eq!(
            rows(&out),
            vec![(2, "1|2"), (3, "Row: row has 1 fields, header has 2")]
        );
    }

    #[test]
    fn trailer_mismatch_and_absence_fail_the_file() {
        let s = with_trailer(r"^TOTAL,(\d+)$");
        let (_, out) = read(b"a,b\n1,2\n3,4\nTOTAL,120\n", &s).unwrap();
        assert_eq!(
            out.last().unwrap(),
            &(4, "File: trailer declares 120 rows, file has 2".to_string())
        );
        let (_, out) = read(b"a,b\n1,2\n3,4\n", &s).unwrap();
        let (row, msg) = out.last().unwrap();
        assert_eq!(*row, 3);
        assert!(msg.contains("may be truncated"), "{msg}");
    }

    #[test]
    fn oversized_fields_reject_the_row_by_column() {
        let mut s = spec();
        s.limits.max_cell_bytes = 8;
        let (_, out) = read(b"id,note\n1,short\n2,much too long\n", &s).unwrap();
        assert_eq!(out[0], (2, "1|short".to_string()));
        assert_eq!(out[1].0, 3);
        let f = write(b"id,note\n2,much too long\n");
        let err = crate::format::open(f.path(), "x", &s)
            .unwrap()
            .records
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(err.column.as_deref(), Some("note"));
        assert_eq!(err.severity, Severity::Row);
        assert!(!err.to_string().contains("much"), "{err}");
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let mut s = spec();
        s.limits.max_file_bytes = 10;
        let err = read(b"id,name\n1,abcdef\n", &s).unwrap_err();
        assert!(err.reason.contains("max_file_bytes"), "{}", err.reason);
    }

    #[test]
    fn utf16_without_bom_read_as_utf8_points_at_nul() {
        let bytes = utf16("id,name\n1,a\n", false).split_off(2);
        let (row, msg) = fatal(&bytes, &spec());
        assert_eq!(row, 1);
        assert!(msg.contains("utf-16le"), "{msg}");
    }

    #[test]
    fn long_files_stream_past_the_sniff_prefix() {
        let mut text = String::from("id,name\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i},name{i}\n"));
        }
        let (_, out) = read(text.as_bytes(), &spec()).unwrap();
        assert_eq!(out.len(), 20_000);
        assert_eq!(out[19_999], (20_001, "19999|name19999".to_string()));
    }
}
