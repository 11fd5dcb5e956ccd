//! The spool of an API output: its mapped records, one JSON line each, written to a temp
//! file during the job like any other output, and read back when the records are sent (at
//! commit, after a crash, or by `retry`).
//!
//! A line is `{"row":12,"sheet":null,"values":[...]}`: the record's position in the input and
//! its typed values in field order. The line number (from 0) identifies the record in the
//! delivery ledger and in its `Idempotency-Key`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::transform::MappedRecord;

/// One spooled record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoolRecord {
    /// Line in the spool, from 0 (not stored in the line itself).
    #[serde(skip)]
    pub line: u64,
    /// Row of the input file the record came from.
    pub row: u64,
    pub sheet: Option<String>,
    /// Typed values, in the order of the profile's fields.
    pub values: Vec<serde_json::Value>,
}

/// Writes `rec` as one spool line.
pub fn write<W: Write>(out: &mut W, rec: &MappedRecord) -> io::Result<()> {
    let line = SpoolRecord {
        line: 0,
        row: rec.pos.row,
        sheet: rec.pos.sheet.as_deref().map(str::to_string),
        values: rec.values.iter().map(|v| v.to_json()).collect(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// Reads a spool's records in order. A line that does not parse is an error naming its line
/// number (the spool is written by hrbridge; it only breaks if edited or damaged).
pub struct SpoolReader {
    lines: std::io::Lines<BufReader<File>>,
    next: u64,
    path: std::path::PathBuf,
}

impl SpoolReader {
    /// Opens the spool at `path`.
    pub fn open(path: &Path) -> io::Result<SpoolReader> {
        Ok(SpoolReader {
            lines: BufReader::new(File::open(path)?).lines(),
            next: 0,
            path: path.to_path_buf(),
        })
    }
}

impl Iterator for SpoolReader {
    type Item = io::Result<SpoolRecord>;

    fn next(&mut self) -> Option<io::Result<SpoolRecord>> {
        let line = match self.lines.next()? {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        let n = self.next;
        self.next += 1;
        Some(
            serde_json::from_str::<SpoolRecord>(&line)
                .map(|rec| SpoolRecord { line: n, ..rec })
                .map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "spool {} line {}: damaged ({})",
                            self.path.display(),
                            n + 1,
                            e.classify_name()
                        ),
                    )
                }),
        )
    }
}

/// The name of a serde_json error class, without the input text it may quote.
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Position;
    use crate::transform::Value;

    #[test]
    fn records_round_trip_with_their_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        let mut out = Vec::new();
        for row in [2, 5] {
            let rec = MappedRecord {
                pos: Position::new("hires.csv".into(), row),
                values: vec![
                    Value::Text("E1".into()),
                    Value::Decimal("1234.50".into()),
                    Value::Null,
                ],
            };
            write(&mut out, &rec).unwrap();
        }
        std::fs::write(&path, &out).unwrap();
        let back: Vec<SpoolRecord> = SpoolReader::open(&path)
            .unwrap()
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[1].line, back[1].row), (1, 5));
        assert_eq!(
            serde_json::Value::Array(back[0].values.clone()).to_string(),
            r#"["E1",1234.50,null]"#
        );
    }

    #[test]
    fn a_damaged_line_is_named_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        std::fs::write(
            &path,
            "{\"row\":1,\"sheet\":null,\"values\":[]}\n123-45-6789\n",
        )
        .unwrap();
        let err = SpoolReader::open(&path)
            .unwrap()
            .collect::<io::Result<Vec<_>>>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("6789"), "{err}");
    }
}
