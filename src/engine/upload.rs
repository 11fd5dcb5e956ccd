//! Publishing a committed output to its SFTP server, and what happens when the server says no.
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
//! A failed upload is audited (`output.upload_failed`) and leaves its output unpublished, the
//! local copy kept for `hrbridge retry`. A server that cannot be reached (refused, reset, timed
//! out) keeps the job `committing`, tried again at every pass until `retry_for` after the job
//! started; anything else (a missing folder, a refused permission or login, a taken name, a
//! changed copy) fails the output at once.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::kernel::keys::InstallationKey;
use crate::profile::SftpOutputSpec;
use crate::sftp::{with_backoff, SftpClient, SftpError, Transfer};
use crate::store::OutputRow;

use super::event::Event;
use super::job::JobContext;
use super::login::{audit_host_key, Login};
use super::EngineError;

/// Upload attempts (each a fresh connection) before a publish gives up for this pass.
const UPLOAD_ATTEMPTS: u32 = 4;
/// Used when an SFTP output gives no `retry_for`.
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(3600);
/// The suffix of a local copy sealed to the installation key.
pub(super) const SEALED_SUFFIX: &str = ".sealed";

/// An output that did not reach its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsent {
    /// `sftp://user@host:port/remote/path`.
    pub target: String,
    /// Why, naming the target (no cell values).
    pub error: String,
    /// The server could not be reached and `retry_for` has not passed: the job stays
    /// `committing` and the upload is tried again at the next pass.
    pub retrying: bool,
}

/// Uploads the local copy of `row` to its server and marks the output published before the
/// copy is removed. `Ok(Ok(sent))` once it is in place; `Ok(Err(unsent))` when the server
/// refused it or could not be reached, or the copy is gone (audited here).
pub(super) fn upload(
    ctx: &JobContext<'_>,
    job_id: i64,
    spec: &SftpOutputSpec,
    row: &OutputRow,
) -> Result<Result<Transfer, Unsent>, EngineError> {
    let login = Login::new(&spec.connection, ctx.settings);
    let remote = row
        .final_path
        .strip_prefix(&login.label())
        .unwrap_or(&row.final_path)
        .to_string();
    let local = Path::new(&row.temp_path);
    if !local.exists() {
        // The copy is removed only once the output is marked published: an unpublished output
        // without its copy lost it, and nothing may be claimed delivered from it.
        let error = format!(
            "the local copy {} is gone; nothing was uploaded",
            row.temp_path
        );
        Event::OutputUploadFailed {
            job_id,
            target: &row.final_path,
            error: &error,
            retrying: false,
        }
        .emit(ctx.store, &ctx.profile.name)?;
        return Ok(Err(Unsent {
            target: row.final_path.clone(),
            error: format!("uploading {}: {error}", row.final_path),
            retrying: false,
        }));
    }
    let copy = LocalCopy {
        path: local,
        key: row.temp_path.ends_with(SEALED_SUFFIX).then_some(ctx.key),
        sha256: &row.sha256,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::io("starting the SFTP runtime".into(), e))?;
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
            ctx.store.mark_published(job_id, &row.final_path)?;
            std::fs::remove_file(local)
                .map_err(|e| EngineError::io(format!("removing {}", local.display()), e))?;
            Ok(Ok(transfer))
        }
        Err(e) => {
            audit_host_key(ctx, &e)?;
            let retrying = e.is_transient() && within_retry_for(ctx, job_id, spec)?;
            let error = e.to_string();
            Event::OutputUploadFailed {
                job_id,
                target: &row.final_path,
                error: &error,
                retrying,
            }
            .emit(ctx.store, &ctx.profile.name)?;
            Ok(Err(Unsent {
                target: row.final_path.clone(),
                error: format!("uploading {}: {error}", row.final_path),
                retrying,
            }))
        }
    }
}

/// Whether job `job_id` started less than the output's `retry_for` ago.
fn within_retry_for(
    ctx: &JobContext<'_>,
    job_id: i64,
    spec: &SftpOutputSpec,
) -> Result<bool, EngineError> {
    let retry_for = spec.upload.retry_for.map_or(DEFAULT_RETRY_FOR, |d| d.0);
    let Some(job) = ctx.store.job(job_id)? else {
        return Ok(false);
    };
    let started = chrono::DateTime::parse_from_rfc3339(&job.started_at)
        .map_err(|e| EngineError::Profile {
            profile: ctx.profile.name.clone(),
            message: format!("job {job_id} has an unreadable start time: {e}"),
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
