//! Moving whole files over SFTP: pipelined, size-checked, hashed, and never left half-written.
//!
//! SFTP is request/response: a client that waits for each 32 KiB read before asking for the
//! next gets one chunk per round trip. Both directions here keep [`IN_FLIGHT`] requests of up
//! to [`MAX_SFTP_PACKET`] bytes outstanding (russh-sftp's `File` pipelines them; the session is
//! configured for it in [`super::client`]), and the SSH window is large enough not to stall them.
//!
//! A download goes to the local path the caller names (a temp name in staging), mode 0600,
//! optionally encrypted to the installation key as it arrives; any failure, and dropping the
//! future, removes it. An upload goes to `<dir>/.<name>.hrbridge-part` with the mode asked
//! for, is checked by size on the server, then renamed into place — over an existing file only
//! when the caller says so.
//!
//! [`IN_FLIGHT`]: super::client::IN_FLIGHT
//! [`MAX_SFTP_PACKET`]: super::client::MAX_SFTP_PACKET

use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use russh_sftp::protocol::{FileAttributes, OpenFlags};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::client::{SftpClient, MAX_SFTP_PACKET};
use super::SftpError;
use crate::kernel::keys::InstallationKey;

/// An upload written to its part name and checked by size, not yet under its final name.
#[derive(Debug)]
pub struct SentPart {
    part: String,
    remote: String,
    /// What was sent.
    pub transfer: Transfer,
}

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
        let transfer = self
            .read_hashing(&mut file, remote, |chunk| {
                out.write_all(chunk).map_err(local_io("writing", local))
            })
            .await?;
        let bytes = transfer.bytes;
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
        Ok(transfer)
    }

    /// Appends `line` and a newline to `remote`, creating it (mode 0600) if it is not there,
    /// and waits for the server to acknowledge (and sync, where it can) the write.
    pub async fn append_line(&self, remote: &str, line: &str) -> Result<(), SftpError> {
        let attributes = FileAttributes {
            permissions: Some(0o600),
            ..FileAttributes::empty()
        };
        let mut file = self
            .sftp
            .open_with_flags_and_attributes(
                remote,
                OpenFlags::CREATE | OpenFlags::APPEND | OpenFlags::WRITE,
                attributes,
            )
            .await
            .map_err(|e| self.error(format!("opening {remote} to append"), e))?;
        let appending = || format!("appending to {remote}");
        file.write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| self.stream_error(appending(), e))?;
        file.flush()
            .await
            .map_err(|e| self.stream_error(appending(), e))?;
        file.shutdown()
            .await
            .map_err(|e| self.stream_error(format!("closing {remote}"), e))
    }

    /// Uploads `local` to `remote` (mode 0600), replacing a file of that name: see
    /// [`send_part`](Self::send_part) and [`place`](Self::place).
    pub async fn upload(&self, local: &Path, remote: &str) -> Result<Transfer, SftpError> {
        let input = std::fs::File::open(local).map_err(local_io("opening", local))?;
        let sent = self.send_part(input, remote, 0o600).await?;
        self.place(sent, true).await
    }

    /// Writes what `source` yields to `<dir>/.<name>.hrbridge-part` with pipelined writes, sets
    /// its permissions to `mode`, and checks its size on the server. The file is not in place
    /// yet: [`place`](Self::place) or [`discard`](Self::discard) it. On failure the part file
    /// is removed.
    ///
    /// `source` is read with plain blocking reads (a local file, possibly through an age
    /// decryptor), like the local writes of a download.
    pub async fn send_part(
        &self,
        source: impl io::Read,
        remote: &str,
        mode: u32,
    ) -> Result<SentPart, SftpError> {
        let part = part_name(remote).ok_or_else(|| SftpError::Protocol {
            what: format!("uploading to {remote}"),
            reason: "the remote path does not end in a file name".into(),
        })?;
        let sent = self.write_part(source, remote, &part, mode).await;
        if sent.is_err() {
            // best effort: the part name is ours and may hold a partial upload
            let _ = self.remove(&part).await;
        }
        let transfer = sent?;
        Ok(SentPart {
            part,
            remote: remote.to_string(),
            transfer,
        })
    }

    async fn write_part(
        &self,
        mut source: impl io::Read,
        remote: &str,
        part: &str,
        mode: u32,
    ) -> Result<Transfer, SftpError> {
        let attributes = FileAttributes {
            permissions: Some(mode),
            ..FileAttributes::empty()
        };
        let mut file = self
            .sftp
            .open_with_flags_and_attributes(
                part,
                OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE,
                attributes.clone(),
            )
            .await
            .map_err(|e| self.error(format!("creating {part}"), e))?;
        // The server's umask applies at creation, and a part left by an earlier attempt keeps
        // its old mode through the truncation: set the mode exactly before any byte is written.
        self.sftp
            .set_metadata(part, attributes)
            .await
            .map_err(|e| self.error(format!("chmod {mode:o} {part}"), e))?;
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; MAX_SFTP_PACKET as usize];
        let mut bytes = 0u64;
        let writing = || format!("writing {part}");
        loop {
            let n = source.read(&mut buf).map_err(|e| SftpError::Io {
                what: "reading the local copy of".into(),
                path: remote.to_string(),
                source: e,
            })?;
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
        Ok(Transfer {
            bytes,
            sha256: hex::encode(hash.finalize()),
        })
    }

    /// Renames a sent part to its final name. Without `overwrite`, a file already there is
    /// never touched: the upload fails with [`SftpError::Exists`] (OpenSSH's plain rename
    /// refuses an existing target, so no other writer can slip in between a check and the
    /// rename). With `overwrite`, servers that refuse to rename over a file (OpenSSH without
    /// the posix-rename extension, which russh-sftp does not offer) get the old file removed
    /// first: between that removal and the rename readers briefly see no file, and a crash
    /// exactly there leaves the new content under the part name; the file is never seen
    /// half-written. On failure the part file is removed.
    pub async fn place(&self, sent: SentPart, overwrite: bool) -> Result<Transfer, SftpError> {
        let SentPart {
            part,
            remote,
            transfer,
        } = sent;
        let placed = match self.rename(&part, &remote).await {
            Err(SftpError::Remote { .. }) if self.size(&remote).await.is_ok() => {
                if overwrite {
                    self.remove(&remote).await?;
                    self.rename(&part, &remote).await
                } else {
                    Err(SftpError::Exists { path: remote })
                }
            }
            other => other,
        };
        if placed.is_err() {
            let _ = self.remove(&part).await;
        }
        placed.map(|()| transfer)
    }

    /// Removes a sent part that is not to be placed (best effort: it is hidden and ours).
    pub async fn discard(&self, sent: SentPart) {
        let _ = self.remove(&sent.part).await;
    }

    /// The size and sha256 of remote file `remote`, read with several requests in flight.
    pub async fn digest(&self, remote: &str) -> Result<Transfer, SftpError> {
        let mut file = self
            .sftp
            .open(remote)
            .await
            .map_err(|e| self.error(format!("opening {remote}"), e))?;
        self.read_hashing(&mut file, remote, |_| Ok(())).await
    }

    /// Reads the remote file `remote` (opened as `file`) to its end, handing each chunk to
    /// `write`; returns what was read: its size and sha256.
    async fn read_hashing<R: AsyncRead + Unpin>(
        &self,
        file: &mut R,
        remote: &str,
        mut write: impl FnMut(&[u8]) -> Result<(), SftpError>,
    ) -> Result<Transfer, SftpError> {
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
            write(chunk)?;
            bytes += n as u64;
        }
        Ok(Transfer {
            bytes,
            sha256: hex::encode(hash.finalize()),
        })
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
