//! The rejects report: one CSV row per rejected row, with position, column and reason.
//!
//! Reasons are already PII-masked by the reader and the mapper; cells are formula-neutralised
//! because operators open this file in a spreadsheet.

use std::io;
use std::path::Path;

use super::csv::neutralize;
use crate::kernel::atomic::{AtomicFile, FinishedFile};
use crate::kernel::mapped::Rejection;

/// A rejects report being written.
pub struct RejectsFile {
    writer: csv::Writer<AtomicFile>,
    rows: u64,
}

impl RejectsFile {
    /// Opens the temp file for `final_path` and writes the header.
    pub fn create(final_path: &Path, tag: &str) -> io::Result<RejectsFile> {
        let mut writer = csv::Writer::from_writer(AtomicFile::create(final_path, tag)?);
        writer.write_record(["file", "sheet", "row", "column", "field", "reason"])?;
        Ok(RejectsFile { writer, rows: 0 })
    }

    /// Writes one rejection.
    pub fn write(&mut self, r: &Rejection) -> io::Result<()> {
        let row = r.pos.row.to_string();
        self.writer.write_record([
            neutralize(&r.pos.file).as_ref(),
            neutralize(r.pos.sheet.as_deref().unwrap_or("")).as_ref(),
            row.as_str(),
            neutralize(r.column.as_deref().unwrap_or("")).as_ref(),
            neutralize(r.field.as_deref().unwrap_or("")).as_ref(),
            neutralize(&r.reason).as_ref(),
        ])?;
        self.rows += 1;
        Ok(())
    }

    /// Rejections written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes the temp file, ready to publish.
    pub fn finish(self) -> io::Result<FinishedFile> {
        self.writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .finish()
    }

    /// Deletes the temp file.
    pub fn abandon(self) {
        if let Ok(file) = self.writer.into_inner() {
            file.abandon();
        }
    }
}
