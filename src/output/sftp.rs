//! SFTP outputs: where a job's file goes on the server, and publishing its committed local copy
//! there — and what it means when the server says no.
//!
//! The local copy waits in `state/outgoing`. It is sealed to the installation key (it holds
//! the records in full), except when the output is age-encrypted to its recipients: then it is
//! already ciphertext that hrbridge itself cannot read, and it is sent as it is. A sealed copy
//! is decrypted while it is sent. Either way the bytes of the local file are hashed as they are
//! read and must match the sha256 recorded at commit before the upload is renamed into place,
//! so a copy changed since the commit is never published (and age refuses a copy altered or cut
//! short inside its chunks).
//!
//! An upload never replaces a remote file unless the output says `overwrite = true`. A file
//! already holding exactly these bytes counts as published: it is this job's own upload, placed
//! just before a crash.
//!
//! A failed upload leaves its output unpublished, the local copy kept for `hrbridge retry`
//! (the engine audits it). A server that cannot be reached (refused, reset, timed out) keeps
//! the job `committing`, tried again at every pass until `retry_for` after the job started;
//! anything else (a missing folder, a refused permission or login, a taken name, a changed
//! copy) fails the output at once.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::runtime::Handle;

use crate::kernel::keys::InstallationKey;
use crate::profile::SftpOutputSpec;
use crate::settings::Settings;
use crate::sftp::login::Login;
use crate::sftp::{with_backoff, SftpClient, SftpError, Transfer};
use crate::store::{OutputRow, Store, StoreError};

use super::template::{NameContext, NameTemplate, NameTemplateError};

/// Upload attempts (each a fresh connection) before a publish gives up for this pass.
const UPLOAD_ATTEMPTS: u32 = 4;
/// Used when an SFTP output gives no `retry_for`.
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(3600);
/// The suffix of a local copy sealed to the installation key.
pub const SEALED_SUFFIX: &str = ".sealed";

/// A failure of the machinery while uploading (the state folder, the database), as opposed to
/// an upload the server did not take, which is a [`Failure`].
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What was being done, and the error.
    #[error("{0}: {1}")]
    Io(String, #[source] io::Error),
    #[error("job {job_id} has an unreadable start time: {reason}")]
    StartTime { job_id: i64, reason: String },
}

/// Why an upload did not reach its server (the output stays unpublished).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The copy is removed only once the output is marked published: an unpublished output
    /// without its copy lost it, and nothing may be claimed delivered from it.
    #[error("the local copy {0} is gone; nothing was uploaded")]
    CopyGone(String),
    /// The server refused the upload or could not be reached.
    #[error(transparent)]
    Server(SftpError),
}

impl Failure {
    /// The server's error, when there was one (a refused host key is audited by the caller).
    pub fn server_error(&self) -> Option<&SftpError> {
        match self {
            Failure::Server(e) => Some(e),
            Failure::CopyGone(_) => None,
        }
    }

    /// Whether the upload is tried again at the next pass: the server could not be reached
    /// and job `job_id` started less than the output's `retry_for` ago.
    pub fn retrying(
        &self,
        spec: &SftpOutputSpec,
        store: &Store,
        job_id: i64,
    ) -> Result<bool, UploadError> {
        match self {
            Failure::Server(e) if e.is_transient() => within_retry_for(spec, store, job_id),
            _ => Ok(false),
        }
    }
}

/// Why an SFTP output's template gives no remote path.
#[derive(Debug, thiserror::Error)]
pub enum RemotePathError {
    #[error(transparent)]
    Template(#[from] NameTemplateError),
    #[error("remote path {rendered:?} must be absolute and without `..`")]
    NotAbsolute { rendered: String },
}

/// The remote path an SFTP output's template renders to: absolute, no `..`.
pub fn remote_path(template: &str, ctx: &NameContext<'_>) -> Result<String, RemotePathError> {
    let rendered = NameTemplate::parse(template)?.render(ctx);
    if !rendered.starts_with('/') || rendered.split('/').any(|c| c == "..") {
        return Err(RemotePathError::NotAbsolute { rendered });
    }
    Ok(rendered)
}

/// `sftp://user@host:port/remote/path`: how an SFTP output is named in the store and audit.
pub fn target(spec: &SftpOutputSpec, settings: &Settings, remote: &str) -> String {
    format!("{}{remote}", Login::new(&spec.connection, settings).label())
}

/// Uploads the local copy of `row` to its server and marks the output published before the
/// copy is removed. `Ok(Ok(sent))` once it is in place; `Ok(Err(failure))` when the server
/// refused it or could not be reached, or the copy is gone.
pub fn upload(
    runtime: &Handle,
    spec: &SftpOutputSpec,
    settings: &Settings,
    key: &InstallationKey,
    store: &Store,
    job_id: i64,
    row: &OutputRow,
) -> Result<Result<Transfer, Failure>, UploadError> {
    let login = Login::new(&spec.connection, settings);
    let remote = row
        .final_path
        .strip_prefix(&login.label())
        .unwrap_or(&row.final_path)
        .to_string();
    let local = Path::new(&row.temp_path);
    if !local.exists() {
        return Ok(Err(Failure::CopyGone(row.temp_path.clone())));
    }
    let copy = LocalCopy {
        path: local,
        key: row.temp_path.ends_with(SEALED_SUFFIX).then_some(key),
        sha256: &row.sha256,
    };
    let sent = runtime.block_on(with_backoff(
        UPLOAD_ATTEMPTS,
        Duration::from_millis(500),
        Duration::from_secs(10),
        || async {
            let client = login.connect_once().await?;
            let sent = copy
                .send(&client, &remote, spec.upload.mode.0, spec.upload.overwrite)
                .await;
            let _ = client.close().await;
            sent
        },
    ));
    match sent {
        Ok(transfer) => {
            store.mark_published(job_id, &row.final_path)?;
            std::fs::remove_file(local)
                .map_err(|e| UploadError::Io(format!("removing {}", local.display()), e))?;
            Ok(Ok(transfer))
        }
        Err(e) => Ok(Err(Failure::Server(e))),
    }
}

/// Whether job `job_id` started less than the output's `retry_for` ago.
fn within_retry_for(
    spec: &SftpOutputSpec,
    store: &Store,
    job_id: i64,
) -> Result<bool, UploadError> {
    let retry_for = spec.upload.retry_for.map_or(DEFAULT_RETRY_FOR, |d| d.0);
    let Some(job) = store.job(job_id)? else {
        return Ok(false);
    };
    let started = chrono::DateTime::parse_from_rfc3339(&job.started_at)
        .map_err(|e| UploadError::StartTime {
            job_id,
            reason: e.to_string(),
        })?
        .with_timezone(&chrono::Utc);
    let age = (chrono::Utc::now() - started).to_std().unwrap_or_default();
    Ok(age < retry_for)
}

/// The local copy of an upload, as recorded at commit.
struct LocalCopy<'a> {
    path: &'a Path,
    /// The installation key, when the copy is sealed to it (then it is decrypted as it is sent).
    key: Option<&'a InstallationKey>,
    /// The sha256 of the file recorded at commit.
    sha256: &'a str,
}

impl LocalCopy<'_> {
    /// Sends the copy and renames it into place (see the module doc); returns what the server
    /// received.
    async fn send(
        &self,
        client: &SftpClient,
        remote: &str,
        mode: u32,
        overwrite: bool,
    ) -> Result<Transfer, SftpError> {
        if !overwrite {
            match client.digest(remote).await {
                Ok(there) if there == self.digest()? => return Ok(there),
                Ok(_) => {
                    return Err(SftpError::Exists {
                        path: remote.to_string(),
                    })
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let mut raw = self.open()?;
        let sent = match self.key {
            Some(key) => match key.decrypt(&mut raw) {
                Ok(plain) => client.send_part(plain, remote, mode).await,
                Err(e) => Err(self.io("decrypting")(e)),
            },
            None => client.send_part(&mut raw, remote, mode).await,
        };
        let sent = match sent {
            Err(e @ SftpError::Io { .. }) => return Err(self.unreadable(raw, e)),
            other => other?,
        };
        if let Err(e) = self.check(raw) {
            client.discard(sent).await;
            return Err(e);
        }
        client.place(sent, overwrite).await
    }

    /// What the server would receive, read locally (the recorded sha256 checked too).
    fn digest(&self) -> Result<Transfer, SftpError> {
        let mut raw = self.open()?;
        let mut sink = Hashing::new(io::sink());
        let read = match self.key {
            Some(key) => key
                .decrypt(&mut raw)
                .and_then(|mut plain| io::copy(&mut plain, &mut sink)),
            None => io::copy(&mut raw, &mut sink),
        };
        if let Err(e) = read {
            return Err(self.unreadable(raw, self.io("reading")(e)));
        }
        self.check(raw)?;
        Ok(sink.transfer())
    }

    /// The error for a copy that could not be read to its end (`read` stopped part way): that
    /// it is not the recorded copy, when so, else `e`.
    fn unreadable(&self, mut read: Hashing<File>, e: SftpError) -> SftpError {
        if let Err(e) = io::copy(&mut read, &mut io::sink()) {
            return self.io("reading")(e);
        }
        self.check(read).err().unwrap_or(e)
    }

    fn open(&self) -> Result<Hashing<File>, SftpError> {
        Ok(Hashing::new(
            File::open(self.path).map_err(self.io("opening"))?,
        ))
    }

    /// Refuses a copy whose bytes are not the ones recorded at commit.
    fn check(&self, read: Hashing<File>) -> Result<(), SftpError> {
        if read.transfer().sha256 == self.sha256 {
            return Ok(());
        }
        Err(SftpError::Protocol {
            what: format!("uploading {}", self.path.display()),
            reason: "the local copy is not the one recorded at commit (sha256 differs)".into(),
        })
    }

    fn io(&self, what: &str) -> impl FnOnce(io::Error) -> SftpError {
        let (what, path) = (
            format!("{what} the local copy"),
            self.path.display().to_string(),
        );
        move |source| SftpError::Io { what, path, source }
    }
}

/// A reader or writer that hashes and counts the bytes that pass through it.
struct Hashing<T> {
    inner: T,
    hash: Sha256,
    bytes: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Hashing<T> {
        Hashing {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    fn transfer(self) -> Transfer {
        Transfer {
            bytes: self.bytes,
            sha256: hex::encode(self.hash.finalize()),
        }
    }

    fn note(&mut self, chunk: &[u8]) {
        self.hash.update(chunk);
        self.bytes += chunk.len() as u64;
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.note(&buf[..n]);
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.note(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn remote_paths_must_be_absolute() {
        let ctx = NameContext {
            profile: "p",
            date: chrono::Utc
                .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
                .unwrap()
                .into(),
            seq: 3,
            source_name: "../x.csv",
        };
        assert_eq!(
            remote_path("/in/{seq}_{source_stem}.csv", &ctx).unwrap(),
            "/in/3__._x.csv"
        );
        assert!(remote_path("in/x.csv", &ctx).is_err());
        assert!(remote_path("/in/../etc/x", &ctx).is_err());
    }

    #[test]
    fn hashing_counts_and_hashes_what_passes() {
        let mut read = Hashing::new(&b"id,ssn\n"[..]);
        let mut sink = Hashing::new(Vec::new());
        io::copy(&mut read, &mut sink).unwrap();
        let expected = hex::encode(Sha256::digest(b"id,ssn\n"));
        assert_eq!(read.transfer().sha256, expected);
        let written = sink.transfer();
        assert_eq!(written.bytes, 7);
        assert_eq!(written.sha256, expected);
    }
}
