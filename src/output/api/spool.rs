//! The spool of an API output: its mapped records, one JSON line each, written to a temp
//! file during the job like any other output, and read back when the records are sent (at
//! commit, after a crash, or by `retry`).
//!
//! The spool is encrypted to the installation key (it holds the records' personal data). The
//! first line is a header naming the fields and the batch size the records were spooled
//! for; a record line is `{"row":12,"sheet":null,"values":[...]}`: the record's position in
//! the input and its typed values in field order. The record's number (from 0, header not
//! counted) identifies it in the delivery ledger and in its `Idempotency-Key`. A spool is only
//! sent with the fields and batch size it was written for: values are stored by position, and
//! batches (and so their keys) follow the batch size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use age::stream::StreamReader;

use crate::kernel::keys::InstallationKey;
use crate::kernel::mapped::{FieldInfo, MappedRecord};

/// What a spool's records were written for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolHeader {
    /// The profile's field names, in the order of each record's values.
    pub fields: Vec<String>,
    /// Records per request.
    pub batch_size: usize,
}

impl SpoolHeader {
    /// The header for an API output sending `batch_size` records per request, of a profile
    /// with `fields`.
    pub fn new(batch_size: usize, fields: &[FieldInfo]) -> SpoolHeader {
        SpoolHeader {
            fields: fields.iter().map(|f| f.name.clone()).collect(),
            batch_size,
        }
    }

    /// Writes the header line.
    pub fn write<W: Write>(&self, out: &mut W) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }

    /// Why this spool cannot be sent with `now` (the profile changed since it was written).
    pub fn mismatch(&self, now: &SpoolHeader) -> Option<String> {
        if self.fields != now.fields {
            Some("the profile's fields changed since its rows were prepared".into())
        } else if self.batch_size != now.batch_size {
            Some(format!(
                "its rows were prepared for batch_size {}, and the profile now says {}",
                self.batch_size, now.batch_size
            ))
        } else {
            None
        }
    }
}

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
    lines: std::io::Lines<BufReader<StreamReader<File>>>,
    next: u64,
    path: std::path::PathBuf,
    /// What the records were written for.
    pub header: SpoolHeader,
}

impl SpoolReader {
    /// Opens the spool at `path` (encrypted to `key`) and reads its header.
    pub fn open(path: &Path, key: &InstallationKey) -> io::Result<SpoolReader> {
        let mut lines = BufReader::new(key.decrypt(File::open(path)?)?).lines();
        let damaged = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("spool {}: {why}", path.display()),
            )
        };
        let first = lines.next().ok_or_else(|| damaged("empty"))??;
        let header = serde_json::from_str(&first)
            .map_err(|e| damaged(&format!("damaged header ({})", e.classify_name())))?;
        Ok(SpoolReader {
            lines,
            next: 0,
            path: path.to_path_buf(),
            header,
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
                            "spool {} record {}: damaged ({})",
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
    use crate::kernel::record::Position;
    use crate::kernel::value::Value;

    /// Writes `plain` to `path` encrypted to the installation key of `state`.
    fn write_sealed(state: &Path, path: &Path, plain: &[u8]) -> InstallationKey {
        let key = InstallationKey::load_or_create(state).unwrap();
        let mut w = key.encrypt(File::create(path).unwrap()).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap();
        key
    }

    #[test]
    fn records_round_trip_with_their_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        let mut out = Vec::new();
        let header = SpoolHeader {
            fields: vec!["id".into(), "pay".into(), "note".into()],
            batch_size: 1,
        };
        header.write(&mut out).unwrap();
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
        let key = write_sealed(dir.path(), &path, &out);
        let on_disk = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&on_disk).contains("1234.50"),
            "plaintext spool"
        );
        let reader = SpoolReader::open(&path, &key).unwrap();
        assert_eq!(reader.header, header);
        let back: Vec<SpoolRecord> = reader.collect::<io::Result<_>>().unwrap();
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
        let key = write_sealed(
            dir.path(),
            &path,
            b"{\"fields\":[],\"batch_size\":1}\n{\"row\":1,\"sheet\":null,\"values\":[]}\n123-45-6789\n",
        );
        let err = SpoolReader::open(&path, &key)
            .unwrap()
            .collect::<io::Result<Vec<_>>>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("record 2"), "{err}");
        assert!(!err.contains("6789"), "{err}");
    }

    #[test]
    fn a_changed_profile_is_named() {
        let then = SpoolHeader {
            fields: vec!["id".into(), "ssn".into()],
            batch_size: 10,
        };
        assert_eq!(then.mismatch(&then.clone()), None);
        let reordered = SpoolHeader {
            fields: vec!["ssn".into(), "id".into()],
            ..then.clone()
        };
        assert!(then
            .mismatch(&reordered)
            .unwrap()
            .contains("fields changed"));
        let smaller = SpoolHeader {
            batch_size: 5,
            ..then.clone()
        };
        assert!(then.mismatch(&smaller).unwrap().contains("batch_size 10"));
    }
}
