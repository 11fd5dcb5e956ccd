//! Moving whole files over SFTP: pipelined, size-checked, hashed, and never left half-written.
//!
//! SFTP is request/response: a client that waits for each 32 KiB read before asking for the
//! next gets one chunk per round trip. Both directions here keep [`IN_FLIGHT`] requests of up
//! to [`MAX_SFTP_PACKET`] bytes outstanding (russh-sftp's `File` pipelines them; the session is
//! configured for it in [`super::client`]), and the SSH window is large enough not to stall them.
//!
//! A download goes to the local path the caller names (a temp name in staging), mode 0600,
//! optionally encrypted to the installation key as it arrives; any failure, and dropping the
//! future, removes it. An upload goes to `<dir>/.<name>.hrbridge-part`,
//! is checked by size on the server, then renamed into place.
//!
//! [`IN_FLIGHT`]: super::client::IN_FLIGHT
//! [`MAX_SFTP_PACKET`]: super::client::MAX_SFTP_PACKET

use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::client::{SftpClient, MAX_SFTP_PACKET};
use super::SftpError;
use crate::keys::InstallationKey;

/// What a finished transfer moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub bytes: u64,
    /// Lowercase hex sha256 of the bytes moved.
    pub sha256: String,
}

/// A local file being written: removed on drop unless kept.
struct PartialFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Where a download's bytes go: the local file, or an age stream over it. Writes are plain
/// blocking writes to a local file (page cache), like the open that precedes them.
enum Sink {
    Plain(std::fs::File),
    Sealed(age::stream::StreamWriter<std::fs::File>),
}

impl Sink {
    fn write_all(&mut self, chunk: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(f) => f.write_all(chunk),
            Sink::Sealed(w) => w.write_all(chunk),
        }
    }

    /// Ends the stream and makes the file durable.
    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(f) => f.sync_all(),
            Sink::Sealed(w) => w.finish()?.sync_all(),
        }
    }
}

/// The temp name an upload to `remote` is written under: `<dir>/.<name>.hrbridge-part`.
pub fn part_name(remote: &str) -> Option<String> {
    let (dir, name) = match remote.rsplit_once('/') {
        Some((dir, name)) => (Some(dir), name),
        None => (None, remote),
    };
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some(match dir {
        Some(dir) => format!("{dir}/.{name}.hrbridge-part"),
        None => format!(".{name}.hrbridge-part"),
    })
}

fn local_io(what: &str, path: &Path) -> impl FnOnce(io::Error) -> SftpError {
    let (what, path) = (what.to_string(), path.display().to_string());
    move |source| SftpError::Io { what, path, source }
}

impl SftpClient {
    /// Downloads `remote` to `local` (created or truncated, mode 0600), reading with several
    /// requests in flight. Fails with [`SftpError::SizeMismatch`] unless exactly
    /// `expected_size` bytes arrive; on any failure `local` is removed.
    pub async fn download(
        &self,
        remote: &str,
        local: &Path,
        expected_size: u64,
    ) -> Result<Transfer, SftpError> {
        self.download_sealed(remote, local, expected_size, None)
            .await
    }

    /// [`download`](Self::download); with `seal`, what is written to `local` is an age stream
    /// to that key, so not even the partial file holds the content in the clear (the size and
    /// sha256 returned are those of the bytes as they arrived).
    pub async fn download_sealed(
        &self,
        remote: &str,
        local: &Path,
        expected_size: u64,
        seal: Option<&InstallationKey>,
    ) -> Result<Transfer, SftpError> {
        let mut partial = PartialFile {
            path: local.to_path_buf(),
            keep: false,
        };
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(local)
            .map_err(local_io("creating", local))?;
        // an existing file keeps its old mode through open(): set it explicitly
        out.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(local_io("chmod", local))?;
        let mut out = match seal {
            None => Sink::Plain(out),
            Some(key) => Sink::Sealed(key.encrypt(out).map_err(local_io("encrypting", local))?),
        };
        let file = self
            .sftp
            .open(remote)
            .await
            .map_err(|e| self.error(format!("opening {remote}"), e))?;
        // one byte past the expected size is enough to know the file grew
        let mut file = file.take(expected_size.saturating_add(1));
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; MAX_SFTP_PACKET as usize];
        let mut bytes = 0u64;
        loop {
            let n = file
                .read(&mut buf)
                .await
                .map_err(|e| self.stream_error(format!("reading {remote}"), e))?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            hash.update(chunk);
            out.write_all(chunk).map_err(local_io("writing", local))?;
            bytes += n as u64;
        }
        if bytes != expected_size {
            let got = if bytes > expected_size {
                self.size(remote).await.unwrap_or(bytes)
            } else {
                bytes
            };
            return Err(SftpError::SizeMismatch {
                path: remote.to_string(),
                expected: expected_size,
                got,
            });
        }
        out.finish().map_err(local_io("syncing", local))?;
        partial.keep = true;
        Ok(Transfer {
            bytes,
            sha256: hex::encode(hash.finalize()),
        })
    }

    /// Uploads `local` to `remote`: writes `<dir>/.<name>.hrbridge-part` with pipelined writes,
    /// checks its size on the server, then renames it into place.
    ///
    /// Servers that refuse to rename over an existing file (OpenSSH without the posix-rename
    /// extension, which russh-sftp does not offer) get the old file removed first. Between that
    /// removal and the rename, readers briefly see no file at `remote`, and a crash exactly
    /// there leaves the new content under the part name; the file is never seen half-written.
    pub async fn upload(&self, local: &Path, remote: &str) -> Result<Transfer, SftpError> {
        self.upload_verified(local, remote, None).await
    }

    /// [`upload`](Self::upload) that renames into place only if the bytes sent have the
    /// `expected` sha256 (the file recorded at commit): a changed local file is never published.
    pub async fn upload_verified(
        &self,
        local: &Path,
        remote: &str,
        expected: Option<&str>,
    ) -> Result<Transfer, SftpError> {
        let part = part_name(remote).ok_or_else(|| SftpError::Protocol {
            what: format!("uploading to {remote}"),
            reason: "the remote path does not end in a file name".into(),
        })?;
        let result = self.upload_to(local, remote, &part, expected).await;
        if result.is_err() {
            // best effort: the part name is ours and may hold a partial upload
            let _ = self.remove(&part).await;
        }
        result
    }

    async fn upload_to(
        &self,
        local: &Path,
        remote: &str,
        part: &str,
        expected: Option<&str>,
    ) -> Result<Transfer, SftpError> {
        let mut input = tokio::fs::File::open(local)
            .await
            .map_err(local_io("opening", local))?;
        let mut file = self
            .sftp
            .create(part)
            .await
            .map_err(|e| self.error(format!("creating {part}"), e))?;
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; MAX_SFTP_PACKET as usize];
        let mut bytes = 0u64;
        let writing = || format!("writing {part}");
        loop {
            let n = input
                .read(&mut buf)
                .await
                .map_err(local_io("reading", local))?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            hash.update(chunk);
            file.write_all(chunk)
                .await
                .map_err(|e| self.stream_error(writing(), e))?;
            bytes += n as u64;
        }
        // flush waits for every write's acknowledgement (and fsyncs where the server can)
        file.flush()
            .await
            .map_err(|e| self.stream_error(writing(), e))?;
        file.shutdown()
            .await
            .map_err(|e| self.stream_error(format!("closing {part}"), e))?;
        let on_server = self.size(part).await?;
        if on_server != bytes {
            return Err(SftpError::SizeMismatch {
                path: part.to_string(),
                expected: bytes,
                got: on_server,
            });
        }
        let sha256 = hex::encode(hash.finalize());
        if expected.is_some_and(|want| want != sha256) {
            return Err(SftpError::Protocol {
                what: format!("uploading {}", local.display()),
                reason: "the local file is not the one recorded at commit (sha256 differs)".into(),
            });
        }
        if let Err(first) = self.rename(part, remote).await {
            match first {
                SftpError::Remote { .. } if self.size(remote).await.is_ok() => {
                    self.remove(remote).await?;
                    self.rename(part, remote).await?;
                }
                other => return Err(other),
            }
        }
        Ok(Transfer { bytes, sha256 })
    }

    /// Maps an error from russh-sftp's file stream (which wraps its errors in `io::Error`).
    fn stream_error(&self, what: String, e: io::Error) -> SftpError {
        let kind = e.kind();
        match e.into_inner() {
            Some(inner) => match inner.downcast::<russh_sftp::client::error::Error>() {
                Ok(lib) => self.error(what, *lib),
                Err(other) => self.error(
                    what,
                    russh_sftp::client::error::Error::IO(other.to_string()),
                ),
            },
            None if kind == io::ErrorKind::TimedOut => {
                self.error(what, russh_sftp::client::error::Error::Timeout)
            }
            None => self.error(what, russh_sftp::client::error::Error::IO(kind.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_sit_beside_the_target_and_are_hidden() {
        assert_eq!(
            part_name("/in/hires.csv").as_deref(),
            Some("/in/.hires.csv.hrbridge-part")
        );
        assert_eq!(
            part_name("hires.csv").as_deref(),
            Some(".hires.csv.hrbridge-part")
        );
        assert_eq!(part_name("/in/"), None);
        assert_eq!(part_name("/in/.."), None);
    }

    #[test]
    fn partial_files_go_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("a");
        let kept = dir.path().join("b");
        std::fs::write(&gone, "x").unwrap();
        std::fs::write(&kept, "x").unwrap();
        drop(PartialFile {
            path: gone.clone(),
            keep: false,
        });
        drop(PartialFile {
            path: kept.clone(),
            keep: true,
        });
        assert!(!gone.exists());
        assert!(kept.exists());
    }
}
