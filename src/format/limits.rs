//! Caps every reader applies before it reads a byte of content.
//!
//! Kept apart from the readers so that CSV and spreadsheets refuse an oversized file with the
//! same rule and the same words.

use std::io::{Seek, SeekFrom};

use super::header::column_label;
use super::ReadError;
use crate::kernel::record::Position;
use crate::profile::Limits;

/// Why a file is refused before any of its content is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileSizeError {
    /// Seeking to the end failed; `reason` is the I/O error's.
    #[error("cannot read the file's size: {reason}")]
    Unmeasured { reason: String },
    /// The file is larger than `limits.max_file_bytes`.
    #[error("file is {size} bytes, over the limit of {limit} (limits.max_file_bytes)")]
    TooLarge { size: u64, limit: u64 },
}

/// Refuses a file larger than `limits.max_file_bytes`; the message names the setting. The
/// size is that of the bytes the reader gets (the plaintext of a sealed file); `input` is left
/// at its start.
pub fn check_file_size(input: &mut impl Seek, limits: &Limits) -> Result<(), FileSizeError> {
    let size = input
        .seek(SeekFrom::End(0))
        .and_then(|size| input.rewind().map(|()| size))
        .map_err(|e| FileSizeError::Unmeasured {
            reason: e.to_string(),
        })?;
    if size > limits.max_file_bytes {
        return Err(FileSizeError::TooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    Ok(())
}

/// Rejects the row at `pos` when one of its cells is longer than `max_cell_bytes`, naming the
/// column (never the value).
pub fn check_cell_sizes(
    fields: &[String],
    header: &[String],
    max_cell_bytes: usize,
    pos: &Position,
) -> Result<(), ReadError> {
    match fields.iter().position(|f| f.len() > max_cell_bytes) {
        None => Ok(()),
        Some(i) => Err(ReadError::row(
            pos.clone(),
            Some(column_label(header, i)),
            format!(
                "cell is {} bytes, over the limit of {max_cell_bytes} (limits.max_cell_bytes)",
                fields.get(i).map_or(0, String::len)
            ),
        )),
    }
}

/// The longest physical line a CSV reader accepts: a record is held in memory whole, so a
/// file with one enormous line must fail before it eats the memory (64 cells of
/// `max_cell_bytes`, at least 1 MiB).
pub fn max_line_bytes(limits: &Limits) -> usize {
    limits.max_cell_bytes.saturating_mul(64).max(1 << 20)
}

/// A `Read` adapter that fails once a line (ended by `\n` or `\r`) grows past `limit` bytes.
pub struct LineLimit<R> {
    inner: R,
    limit: usize,
    since_newline: usize,
}

impl<R> LineLimit<R> {
    pub fn new(inner: R, limit: usize) -> LineLimit<R> {
        LineLimit {
            inner,
            limit,
            since_newline: 0,
        }
    }
}

impl<R: std::io::Read> std::io::Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        self.since_newline = match memchr::memrchr2(b'\n', b'\r', chunk) {
            Some(last) => chunk.len() - last - 1,
            None => self.since_newline + chunk.len(),
        };
        if self.since_newline > self.limit {
            return Err(std::io::Error::other(format!(
                "a line is longer than {} bytes (64 × limits.max_cell_bytes); refusing to hold it in memory",
                self.limit
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[test]
    fn endless_lines_fail_before_filling_memory() {
        use std::io::Read;
        let mut ok = LineLimit::new(&b"ab\ncd\nef"[..], 2);
        let mut out = Vec::new();
        ok.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"ab\ncd\nef");
        let long = vec![b'x'; 10_000];
        let err = LineLimit::new(&long[..], 4096)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("longer than 4096 bytes"), "{err}");
    }

    #[test]
    fn a_lone_cr_ends_a_line_too() {
        let text = b"abc\r".repeat(10_000);
        let mut out = Vec::new();
        LineLimit::new(&text[..], 16).read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), text.len());
    }

    #[test]
    fn refuses_files_over_the_cap() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"0123456789").unwrap();
        let mut limits = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(check_file_size(&mut f, &limits), Ok(()));
        assert_eq!(f.stream_position().unwrap(), 0);
        limits.max_file_bytes = 9;
        let err = check_file_size(&mut f, &limits).unwrap_err().to_string();
        assert_eq!(
            err,
            "file is 10 bytes, over the limit of 9 (limits.max_file_bytes)"
        );
    }

    #[test]
    fn a_sealed_file_is_measured_by_its_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::kernel::keys::InstallationKey::load_or_create(dir.path()).unwrap();
        let mut sealed = Vec::new();
        let mut w = key.encrypt(&mut sealed).unwrap();
        w.write_all(b"0123456789").unwrap();
        w.finish().unwrap();
        assert!(sealed.len() > 100);
        let limits = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        let mut plain = key.decrypt(std::io::Cursor::new(sealed)).unwrap();
        assert_eq!(check_file_size(&mut plain, &limits), Ok(()));
        let mut text = String::new();
        plain.read_to_string(&mut text).unwrap();
        assert_eq!(text, "0123456789");
    }

    #[test]
    fn oversized_cells_are_named_by_column() {
        let pos = Position::new(std::sync::Arc::from("f"), 4);
        let header = vec!["id".to_string(), "note".to_string()];
        let fields = vec!["1".to_string(), "secret text".to_string()];
        assert!(check_cell_sizes(&fields, &header, 11, &pos).is_ok());
        let err = check_cell_sizes(&fields, &header, 10, &pos).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("note"));
        assert_eq!(err.pos.row, 4);
        assert!(!err.reason.contains("secret"));
    }
}
