//! `[[output]] type = "file"`: mapped records written atomically as CSV, JSON Lines,
//! fixed-width records or an X12 834 interchange — and the spool of an API output, which is written the same way before
//! it is sent.

use std::io;
use std::path::{Path, PathBuf};

use super::age::{OutFile, Sealing, SUFFIX};
use super::csv::CsvEncoder;
use super::fixed::{FixedEncoder, Layout, Refusal};
use super::jsonl::JsonlEncoder;
use super::x12::{self, X12Encoder};
use crate::kernel::atomic::{AtomicFile, FinishedFile};
use crate::kernel::mapped::{FieldInfo, MappedRecord};
use crate::profile::{FileOutputSpec, KeyPath, OutputFormat};

/// When a job writes its outputs: the date (`HRBRIDGE_TODAY` sets it), the time, and the
/// profile's sequence number (`{seq}`) — for the headers and control numbers of the formats
/// that carry them.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub today: chrono::NaiveDate,
    pub now: chrono::DateTime<chrono::FixedOffset>,
    pub seq: u64,
}

enum Encoder {
    Csv(Box<CsvEncoder<OutFile>>),
    Jsonl(Box<JsonlEncoder<OutFile>>),
    Fixed(Box<FixedEncoder<OutFile>>),
    X12(Box<X12Encoder<OutFile>>),
    Spool(OutFile),
}

/// An output file being written.
pub struct FileSink {
    encoder: Encoder,
    rows: u64,
}

impl FileSink {
    /// Opens the temp file for `final_path` (encrypting into it when `sealing` is given) and
    /// writes any header (dated and numbered by `stamp`).
    pub fn create(
        spec: &FileOutputSpec,
        final_path: &Path,
        fields: &[FieldInfo],
        tag: &str,
        sealing: Option<&Sealing>,
        stamp: Stamp,
    ) -> io::Result<FileSink> {
        let atomic = AtomicFile::create(final_path, tag)?;
        let file = match sealing {
            Some(s) => s.seal(atomic)?,
            None => OutFile::Plain(atomic),
        };
        let encoder = match spec.format {
            OutputFormat::Csv => {
                let delimiter =
                    output_delimiter(spec.delimiter.as_deref()).map_err(io::Error::other)?;
                let csv = CsvEncoder::new(file, fields, delimiter, spec.neutralize_formulas)?;
                Encoder::Csv(Box::new(csv))
            }
            OutputFormat::Jsonl => Encoder::Jsonl(Box::new(
                JsonlEncoder::new(file, fields).map_err(io::Error::other)?,
            )),
            OutputFormat::Fixed => {
                let layout = Layout::compile(spec, fields, &KeyPath::root()).map_err(unusable)?;
                Encoder::Fixed(Box::new(FixedEncoder::new(file, layout, stamp.today)?))
            }
            OutputFormat::X12 => {
                let layout =
                    x12::Layout::compile(spec, fields, &KeyPath::root()).map_err(unusable)?;
                Encoder::X12(Box::new(X12Encoder::new(file, layout, stamp)?))
            }
        };
        Ok(FileSink { encoder, rows: 0 })
    }

    /// Opens the temp file of an API output's spool (see `api::spool`) and writes its header.
    /// The spool holds personal data, so it is encrypted to the installation key.
    pub fn spool(
        final_path: &Path,
        tag: &str,
        header: &super::api::spool::SpoolHeader,
        key: &crate::kernel::keys::InstallationKey,
    ) -> io::Result<FileSink> {
        let mut file = Sealing::to_installation(key).seal(AtomicFile::create(final_path, tag)?)?;
        header.write(&mut file)?;
        Ok(FileSink {
            encoder: Encoder::Spool(file),
            rows: 0,
        })
    }

    /// Why `rec` cannot be written here, if it cannot: a value that does not fit a
    /// fixed-width layout. CSV, JSON Lines and spools take every record.
    pub fn refusal(&self, rec: &MappedRecord) -> Option<Refusal> {
        match &self.encoder {
            Encoder::Fixed(e) => e.refusal(rec),
            Encoder::X12(e) => e.refusal(rec),
            Encoder::Csv(_) | Encoder::Jsonl(_) | Encoder::Spool(_) => None,
        }
    }

    /// Writes one record.
    pub fn write(&mut self, rec: &MappedRecord) -> io::Result<()> {
        match &mut self.encoder {
            Encoder::Csv(e) => e.write(rec)?,
            Encoder::Jsonl(e) => e.write(rec)?,
            Encoder::Fixed(e) => e.write(rec)?,
            Encoder::X12(e) => e.write(rec)?,
            Encoder::Spool(f) => super::api::spool::write(f, rec)?,
        }
        self.rows += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Why the file cannot be finished, if it cannot: a fixed-width trailer's count or total
    /// wider than its place.
    pub fn trailer_problem(&self) -> Option<String> {
        match &self.encoder {
            Encoder::Fixed(e) => e.trailer_problem(),
            Encoder::Csv(_) | Encoder::Jsonl(_) | Encoder::X12(_) | Encoder::Spool(_) => None,
        }
    }

    /// Completes the temp file (with any trailer, flushed and fsynced), ready to publish.
    pub fn finish(self) -> io::Result<FinishedFile> {
        self.into_file(true)?.finish()
    }

    /// Deletes the temp file.
    pub fn abandon(self) {
        if let Ok(file) = self.into_file(false) {
            file.abandon();
        }
    }

    /// The temp file, its last record written when `complete`.
    fn into_file(self, complete: bool) -> io::Result<AtomicFile> {
        match self.encoder {
            Encoder::Csv(e) => e.into_inner()?.into_atomic(),
            Encoder::Jsonl(e) => e.into_inner().into_atomic(),
            Encoder::Fixed(e) if complete => e.finish()?.into_atomic(),
            Encoder::Fixed(e) => e.into_inner().into_atomic(),
            Encoder::X12(e) if complete => e.finish()?.into_atomic(),
            Encoder::X12(e) => e.into_inner().into_atomic(),
            Encoder::Spool(f) => f.into_atomic(),
        }
    }
}

/// The error of a layout `hrbridge check` would have refused: its first problem.
fn unusable(problems: Vec<crate::profile::Problem>) -> io::Error {
    match problems.first() {
        Some(p) => io::Error::other(format!("{}: {}", p.at, p.message)),
        None => io::Error::other("the output's layout cannot be written"),
    }
}

/// An output `delimiter` that is not one byte to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("output delimiter must be one ASCII character or \"tab\", not {text:?}")]
pub struct OutputDelimiterError {
    text: String,
}

/// The byte of an output `delimiter` setting (default `,`).
pub fn output_delimiter(setting: Option<&str>) -> Result<u8, OutputDelimiterError> {
    match setting {
        None => Ok(b','),
        Some("tab") | Some("\t") => Ok(b'\t'),
        Some(s) if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        Some(s) => Err(OutputDelimiterError {
            text: s.to_string(),
        }),
    }
}

/// Where the rejects report of an output file goes: beside it, `<name>.rejects.csv` (the name
/// without `.age` for an encrypted output).
pub fn rejects_path(final_path: &Path) -> PathBuf {
    let name = final_path.file_name().unwrap_or_default().to_string_lossy();
    let name = name.strip_suffix(SUFFIX).unwrap_or(&name);
    final_path.with_file_name(format!("{name}.rejects.csv"))
}
