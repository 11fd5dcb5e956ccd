//! Output files that appear at their final name complete or not at all.
//!
//! Bytes go to a hidden temp file in the destination folder (mode 0600) while a sha256 is
//! computed; `finish` flushes and fsyncs it. `publish` then links it to the final name — a hard
//! link fails instead of overwriting an existing file — removes the temp name and fsyncs the
//! folder. A crash at any point leaves either nothing or the complete file at the final name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The prefix of temp files, so a recovery pass can recognise leftovers.
pub const TEMP_PREFIX: &str = ".hrbridge-tmp-";

/// A file being written under a temp name.
pub struct AtomicFile {
    out: BufWriter<File>,
    temp_path: PathBuf,
    final_path: PathBuf,
    hasher: Sha256,
    bytes: u64,
}

/// A complete, fsynced temp file waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedFile {
    pub temp_path: PathBuf,
    pub final_path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

impl AtomicFile {
    /// Creates the temp file for `final_path` (creating the folder if needed). `tag` makes the
    /// temp name unique and recognisable (e.g. the job id and output index).
    pub fn create(final_path: &Path, tag: &str) -> io::Result<AtomicFile> {
        let dir = final_path
            .parent()
            .ok_or_else(|| io::Error::other("output path has no folder"))?;
        fs::create_dir_all(dir)?;
        let temp_path = temp_path(final_path, tag);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp_path)?;
        Ok(AtomicFile {
            out: BufWriter::with_capacity(256 * 1024, file),
            temp_path,
            final_path: final_path.to_path_buf(),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// Flushes and fsyncs the temp file.
    pub fn finish(mut self) -> io::Result<FinishedFile> {
        self.out.flush()?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(FinishedFile {
            temp_path: self.temp_path,
            final_path: self.final_path,
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }

    /// Removes the temp file (the job failed).
    pub fn abandon(self) {
        let path = self.temp_path.clone();
        drop(self);
        let _ = fs::remove_file(path);
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The temp name used for `final_path`: hidden, in the same folder, tagged.
pub fn temp_path(final_path: &Path, tag: &str) -> PathBuf {
    let name = final_path.file_name().unwrap_or_default().to_string_lossy();
    final_path.with_file_name(format!("{TEMP_PREFIX}{tag}-{name}"))
}

/// Moves a finished temp file to its final name without ever overwriting. Idempotent for
/// recovery: when the temp is gone and the final file exists, or both names already point at
/// the same file (a crash between link and unlink), the publish already happened.
pub fn publish(temp_path: &Path, final_path: &Path) -> io::Result<()> {
    match fs::hard_link(temp_path, final_path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound && final_path.exists() => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && same_file(temp_path, final_path)? => {
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "{} already exists; refusing to overwrite it",
                    final_path.display()
                ),
            ))
        }
        Err(e) => return Err(e),
    }
    fs::remove_file(temp_path)?;
    if let Some(dir) = final_path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Whether two paths name the same inode.
fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (fs::metadata(a)?, fs::metadata(b)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn nothing_at_the_final_name_until_published() {
        let dir = tempfile::tempdir().unwrap();
        let final_path = dir.path().join("out/x.csv");
        let mut f = AtomicFile::create(&final_path, "j1-0").unwrap();
        f.write_all(b"a,b\n1,2\n").unwrap();
        assert!(!final_path.exists());
        let done = f.finish().unwrap();
        assert!(!final_path.exists());
        assert_eq!(done.bytes, 8);
        let mode = fs::metadata(&done.temp_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        publish(&done.temp_path, &done.final_path).unwrap();
        assert_eq!(fs::read(&final_path).unwrap(), b"a,b\n1,2\n");
        assert!(!done.temp_path.exists());
        // A second publish of the same file is a no-op (recovery after a crash).
        publish(&done.temp_path, &done.final_path).unwrap();
    }

    #[test]
    fn a_crash_between_link_and_unlink_is_finished_on_retry() {
        let dir = tempfile::tempdir().unwrap();
        let final_path = dir.path().join("x.csv");
        let mut f = AtomicFile::create(&final_path, "j9-0").unwrap();
        f.write_all(b"data").unwrap();
        let done = f.finish().unwrap();
        fs::hard_link(&done.temp_path, &final_path).unwrap(); // linked, then the process died
        publish(&done.temp_path, &final_path).unwrap();
        assert!(!done.temp_path.exists());
        assert_eq!(fs::read(&final_path).unwrap(), b"data");
    }

    #[test]
    fn never_overwrites_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let final_path = dir.path().join("x.csv");
        fs::write(&final_path, b"old").unwrap();
        let mut f = AtomicFile::create(&final_path, "j2-0").unwrap();
        f.write_all(b"new").unwrap();
        let done = f.finish().unwrap();
        let err = publish(&done.temp_path, &done.final_path).unwrap_err();
        assert!(err.to_string().contains("refusing to overwrite"));
        assert_eq!(fs::read(&final_path).unwrap(), b"old");
    }

    #[test]
    fn abandon_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = AtomicFile::create(&dir.path().join("x.csv"), "j3-0").unwrap();
        f.abandon();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
