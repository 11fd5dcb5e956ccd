//! Output files that appear at their final name complete or not at all.
//!
//! Bytes go to a hidden temp file in the destination folder (mode 0600) while a sha256 is
//! computed (both on a writer thread); `finish` flushes and fsyncs it. `publish` then links it to the final name — a hard
//! link fails instead of overwriting an existing file — removes the temp name and fsyncs the
//! folder. A crash at any point leaves either nothing or the complete file at the final name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use sha2::{Digest, Sha256};

/// The prefix of temp files, so a recovery pass can recognise leftovers.
pub const TEMP_PREFIX: &str = ".hrbridge-tmp-";

/// Bytes handed to the writer thread at a time.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the encoder and the writer thread.
const IN_FLIGHT: usize = 4;

/// A file being written under a temp name.
///
/// The writing and hashing happen on a thread of their own, so that the encoder (and an age
/// stream, for encrypted outputs) runs beside them on another core.
pub struct AtomicFile {
    buf: Vec<u8>,
    /// Full chunks go to the writer thread; `None` once it is closed.
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    writer: Option<thread::JoinHandle<io::Result<Written>>>,
    temp_path: PathBuf,
    final_path: PathBuf,
}

/// What the writer thread did.
struct Written {
    file: File,
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
        fs::create_dir_all(dir).map_err(|e| match not_a_folder(dir) {
            Some(file) => io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a folder", file.display()),
            ),
            None => e,
        })?;
        let temp_path = temp_path(final_path, tag);
        let mut file = create_private(&temp_path)?;
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
        let writer = thread::Builder::new()
            .name("hrbridge-writer".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                let mut bytes = 0u64;
                for chunk in rx {
                    file.write_all(&chunk)?;
                    hasher.update(&chunk);
                    bytes += chunk.len() as u64;
                }
                Ok(Written {
                    file,
                    hasher,
                    bytes,
                })
            })?;
        Ok(AtomicFile {
            buf: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            writer: Some(writer),
            temp_path,
            final_path: final_path.to_path_buf(),
        })
    }

    /// Hands the buffered bytes to the writer thread. If it has stopped (a write failed), its
    /// error is returned.
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let sent = self.tx.as_ref().map(|tx| tx.send(chunk).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(io::Error::other("the output writer stopped")),
        }
    }

    /// Closes the channel and waits for the writer thread.
    fn join(&mut self) -> io::Result<Written> {
        self.tx = None;
        match self.writer.take() {
            Some(handle) => handle
                .join()
                .map_err(|_| io::Error::other("the output writer crashed"))?,
            None => Err(io::Error::other("the output writer already stopped")),
        }
    }

    /// Flushes and fsyncs the temp file.
    pub fn finish(mut self) -> io::Result<FinishedFile> {
        self.send()?;
        let written = self.join()?;
        written.file.sync_all()?;
        Ok(FinishedFile {
            temp_path: std::mem::take(&mut self.temp_path),
            final_path: std::mem::take(&mut self.final_path),
            bytes: written.bytes,
            sha256: hex::encode(written.hasher.finalize()),
        })
    }

    /// Removes the temp file (the job failed).
    pub fn abandon(mut self) {
        let _ = self.join();
        let _ = fs::remove_file(&self.temp_path);
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // The writer thread ends once the channel closes; never leave it behind.
        if self.writer.is_some() {
            let _ = self.join();
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = buf.len().min(room);
        self.buf.extend_from_slice(&buf[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The nearest existing ancestor of `dir` (itself included) when it is not a folder: why a
/// folder cannot be created there.
fn not_a_folder(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .find(|a| fs::symlink_metadata(a).is_ok())
        .filter(|a| !a.is_dir())
}

/// Creates the new file `path` for writing, readable by its owner only (mode 0600); an
/// existing file is never opened, let alone replaced (`AlreadyExists`), and a symbolic link
/// at `path` is never followed.
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(path)
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

/// Whether two paths name the same inode (a symbolic link is not the file it points to).
fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (fs::symlink_metadata(a)?, fs::symlink_metadata(b)?);
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
    fn a_link_at_the_final_name_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.csv");
        let final_path = dir.path().join("x.csv");
        let mut f = AtomicFile::create(&final_path, "j4-0").unwrap();
        f.write_all(b"new").unwrap();
        let done = f.finish().unwrap();
        // A link to the temp file itself is still not the file.
        std::os::unix::fs::symlink(&done.temp_path, &final_path).unwrap();
        assert!(publish(&done.temp_path, &final_path).is_err());
        assert_eq!(fs::read(&done.temp_path).unwrap(), b"new");
        fs::remove_file(&final_path).unwrap();
        std::os::unix::fs::symlink(&victim, &final_path).unwrap();
        assert!(create_private(&final_path).is_err());
        assert!(!victim.exists());
    }

    #[test]
    fn abandon_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = AtomicFile::create(&dir.path().join("x.csv"), "j3-0").unwrap();
        f.abandon();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
