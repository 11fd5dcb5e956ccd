//! An SFTP source: a folder on a server that hrbridge polls. This module lists it, decides
//! which versions stayed unchanged for `settle`, fetches one into staging, and runs the `after`
//! actions of delivered versions; the engine's pass turns each fetched file into a job.
//!
//! What was listed and delivered lives in the store (`remote_files`), so a restart neither
//! fetches a delivered file again nor misses one. An `after` action runs only for a version
//! whose job is committed and only while the server still shows that version (a newer upload
//! under the same name resets the row first, so it is never deleted or moved unprocessed). One
//! file that cannot be fetched or settled does not hold up the others.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::kernel::keys::InstallationKey;
use crate::profile::{AfterAction, SftpSourceSpec};
use crate::settings::Settings;
use crate::sftp::login::Login;
use crate::sftp::{RemoteEntry, SftpClient, SftpError, Transfer};
use crate::store::{RemoteRow, RemoteState, Store, StoreError};

use super::decrypt::SourceIdentities;
use super::dir::{matcher, PatternError};
use super::names::check_name;
use super::staging::{stage_from, staging_path, Content, Staged};

/// Used when a profile gives no `settle` for an SFTP source.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(10);
/// The name (before the process id) of a download in progress in staging.
const PART_PREFIX: &str = ".download-";

/// Why listing the folder failed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The source's `pattern` is not a glob (the profile check catches this first).
    #[error(transparent)]
    Pattern(PatternError),
    #[error(transparent)]
    Sftp(#[from] SftpError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one version could not be fetched.
#[derive(Debug)]
pub enum FetchError {
    /// It changed while it was read: fetched once it is stable again.
    Changed(SftpError),
    /// The server went away: the rest waits for the next pass (the part file is gone).
    Down(SftpError),
    /// This file cannot be read (permissions, vanished): the others go on.
    Unreadable(SftpError),
    /// The download could not be staged.
    Staging(std::io::Error),
}

/// The keys a fetched file is staged with.
pub struct Keys<'k> {
    pub installation: &'k InstallationKey,
    /// The identities of the source's `decrypt_with`, if it has any.
    pub source: Option<SourceIdentities>,
}

/// One listed version of a remote file, with what the store knows of it.
pub struct Version {
    pub entry: RemoteEntry,
    pub row: RemoteRow,
}

impl Version {
    /// How long this version must still stay unchanged to count as stable.
    pub fn remaining(&self, settle: Duration) -> Duration {
        let age =
            Duration::from_millis(u64::try_from(now_ms() - self.row.observed_ms).unwrap_or(0));
        settle.saturating_sub(age)
    }

    /// Not fetched yet.
    pub fn is_new(&self) -> bool {
        self.row.state == RemoteState::Seen
    }
}

/// What a listing found: the candidate versions, and the names refused as hostile.
pub struct Listing {
    pub versions: Vec<Version>,
    /// (name shown escaped, reason) of entries whose names are not safe to use.
    pub refused: Vec<(String, String)>,
}

impl Listing {
    /// How long until every version not fetched yet has stayed unchanged for `settle`.
    pub fn wait(&self, settle: Duration) -> Duration {
        self.versions
            .iter()
            .filter(|v| v.is_new())
            .map(|v| v.remaining(settle))
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// An `after` action that ran, for the audit trail.
pub struct Settled<'r> {
    pub job_id: i64,
    pub name: &'r str,
    pub action: &'r str,
}

/// A profile's SFTP source folder, connected.
pub struct RemoteFolder<'a> {
    spec: &'a SftpSourceSpec,
    profile: &'a str,
    store: &'a Store,
    client: SftpClient,
    label: String,
}

impl<'a> RemoteFolder<'a> {
    /// Connects to the source's server (verifying its host key, retrying transient failures).
    pub async fn connect(
        spec: &'a SftpSourceSpec,
        settings: &Settings,
        store: &'a Store,
        profile: &'a str,
    ) -> Result<RemoteFolder<'a>, SftpError> {
        let login = Login::new(&spec.connection, settings);
        let client = login.connect().await?;
        Ok(RemoteFolder {
            spec,
            profile,
            store,
            client,
            label: format!("{}{}", login.label(), spec.path),
        })
    }

    /// `sftp://user@host:port/remote/folder`, for the store (no secrets).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The source's `settle`, or [`DEFAULT_SETTLE`].
    pub fn settle(&self) -> Duration {
        self.spec.settle.map_or(DEFAULT_SETTLE, |d| d.0)
    }

    /// Closes the session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Lists the folder and records every candidate version in the store (one transaction);
    /// forgets names no longer listed. Entries that are not regular files are skipped; hostile
    /// names are returned in [`Listing::refused`].
    pub async fn list(&self) -> Result<Listing, ListError> {
        let glob = matcher(&self.spec.pattern).map_err(ListError::Pattern)?;
        let entries = self.client.list(&self.spec.path).await?;
        let now = now_ms();
        let wanted: Vec<RemoteEntry> = entries
            .into_iter()
            .filter(|e| e.is_file && !e.name.starts_with('.') && glob.is_match(&e.name))
            .collect();
        let rows = self.store.batch(|store| {
            let listed: HashSet<&str> = wanted.iter().map(|e| e.name.as_str()).collect();
            store.remote_prune(self.profile, &listed)?;
            wanted
                .iter()
                .map(|e| {
                    let size = e.size.min(i64::MAX as u64);
                    let mtime = i64::try_from(e.mtime).unwrap_or(i64::MAX);
                    store.remote_observe(self.profile, &e.name, size, mtime, now)
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut listing = Listing {
            versions: Vec::new(),
            refused: Vec::new(),
        };
        for (entry, row) in wanted.into_iter().zip(rows) {
            if let Err(e) = check_name(&entry.name) {
                listing
                    .refused
                    .push((format!("{:?}", entry.name), e.to_string()));
                continue;
            }
            listing.versions.push(Version { entry, row });
        }
        Ok(listing)
    }

    /// Whether some delivered version still waits for its `after` action.
    pub fn has_pending(&self) -> Result<bool, StoreError> {
        Ok(!self.store.remote_pending(self.profile)?.is_empty())
    }

    /// Runs the `after` action of every delivered version that `listing` still shows unchanged
    /// (a version gone from the server needs nothing more), calling `settled` for each one
    /// that ran. A failing action is returned (in order) and retried on the next pass; it
    /// never stops the others or the fetching.
    pub async fn run_after_actions(
        &self,
        listing: &Listing,
        mut settled: impl FnMut(Settled<'_>) -> Result<(), StoreError>,
    ) -> Result<Vec<String>, StoreError> {
        let shown: HashMap<&str, &RemoteRow> = listing
            .versions
            .iter()
            .map(|v| (v.entry.name.as_str(), &v.row))
            .collect();
        let mut failures = Vec::new();
        for row in self.store.remote_pending(self.profile)? {
            let version = (row.size, row.mtime);
            let current = shown.get(row.name.as_str()).map(|r| (r.size, r.mtime));
            if current != Some(version) {
                self.store.remote_forget(self.profile, &row.name, version)?;
                continue;
            }
            let remote = remote_path(&self.spec.path, &row.name);
            let done = match &self.spec.after {
                AfterAction::Keep => Ok(()),
                // Gone since the listing (an operator, another consumer): nothing left to delete.
                AfterAction::Delete => match self.client.remove(&remote).await {
                    Err(e) if e.is_not_found() => Ok(()),
                    other => other,
                },
                AfterAction::Move(dir) => self.move_aside(&remote, dir, &row).await,
            };
            if let Err(e) = done {
                failures.push(format!("after action for {:?}: {e}", row.name));
                continue;
            }
            match self.spec.after {
                // Kept: remembered as done, so it is not fetched again.
                AfterAction::Keep => self.store.remote_set(
                    self.profile,
                    &row.name,
                    version,
                    RemoteState::Finished,
                    None,
                )?,
                // Gone from the folder: a later upload under this name is a new file.
                _ => self.store.remote_forget(self.profile, &row.name, version)?,
            }
            if let Some(job_id) = row.job_id {
                settled(Settled {
                    job_id,
                    name: &row.name,
                    action: &after_label(&self.spec.after),
                })?;
            }
        }
        Ok(failures)
    }

    /// Renames `remote` into `dir`; when that name is taken there (servers refuse to rename
    /// over a file), under `<name>.job<id>` instead.
    async fn move_aside(&self, remote: &str, dir: &str, row: &RemoteRow) -> Result<(), SftpError> {
        let target = remote_path(dir, &row.name);
        match self.client.rename(remote, &target).await {
            Err(e) if !e.is_transient() && self.client.size(&target).await.is_ok() => {
                let job = row.job_id.unwrap_or_default();
                self.client
                    .rename(remote, &format!("{target}.job{job}"))
                    .await
            }
            other => other,
        }
    }

    /// Downloads `version` (sealed to the installation key as it arrives) and stages it in
    /// `staging_dir`. The staging blocks the caller's thread, which must not be a runtime worker
    /// (the SSH session is served by the workers meanwhile): a pass drives this with
    /// `Handle::block_on` on a blocking thread.
    pub async fn fetch(
        &self,
        version: &Version,
        staging_dir: &Path,
        keys: &Keys<'_>,
    ) -> Result<Staged, FetchError> {
        let entry = &version.entry;
        let remote = remote_path(&self.spec.path, &entry.name);
        let part = staging_dir.join(format!("{PART_PREFIX}{}", std::process::id()));
        let fetched = self
            .client
            .download_sealed(&remote, &part, entry.size, Some(keys.installation))
            .await;
        let transfer = match fetched {
            Ok(t) => t,
            Err(e @ SftpError::SizeMismatch { .. }) => return Err(FetchError::Changed(e)),
            Err(e) if e.is_transient() => return Err(FetchError::Down(e)),
            Err(e) => return Err(FetchError::Unreadable(e)),
        };
        stage_download(&part, staging_dir, transfer, keys).map_err(FetchError::Staging)
    }
}

/// Links the remote version a job was made from to the job, so crash recovery can settle it.
pub fn link_job(
    store: &Store,
    profile: &str,
    name: &str,
    version: (u64, i64),
    job_id: i64,
) -> Result<(), StoreError> {
    store.remote_set(profile, name, version, RemoteState::Seen, Some(job_id))
}

/// Records how the job of a remote version ended: `delivered` versions get their `after`
/// action at the next listing; failed ones are not fetched again.
pub fn job_ended(
    store: &Store,
    profile: &str,
    name: &str,
    version: (u64, i64),
    job_id: i64,
    delivered: bool,
) -> Result<(), StoreError> {
    let state = if delivered {
        RemoteState::Delivered
    } else {
        RemoteState::Failed
    };
    store.remote_set(profile, name, version, state, Some(job_id))
}

/// Crash recovery: the remote version of job `job_id` (if it came from one) was delivered.
pub fn job_recovered(store: &Store, job_id: i64) -> Result<(), StoreError> {
    if let Some(remote) = store.remote_of_job(job_id)? {
        store.remote_set(
            &remote.profile,
            &remote.name,
            (remote.size, remote.mtime),
            RemoteState::Delivered,
            None,
        )?;
    }
    Ok(())
}

/// Turns a finished download (`part`, sealed to the installation key) into a staged copy: as
/// it is, or, for a source with `decrypt_with`, decrypted and sealed again (see
/// [`stage_from`]).
fn stage_download(
    part: &Path,
    staging_dir: &Path,
    transfer: Transfer,
    keys: &Keys<'_>,
) -> std::io::Result<Staged> {
    let Some(identities) = &keys.source else {
        let path = staging_path(staging_dir, &transfer.sha256);
        std::fs::rename(part, &path)?;
        return Ok(Staged {
            path,
            sha256: transfer.sha256,
            size: transfer.bytes,
            content: Content::AsArrived,
        });
    };
    let sealed = keys.installation.decrypt(std::fs::File::open(part)?)?;
    let staged = stage_from(sealed, staging_dir, keys.installation, Some(identities));
    std::fs::remove_file(part)?;
    staged
}

fn after_label(after: &AfterAction) -> String {
    match after {
        AfterAction::Keep => "keep".into(),
        AfterAction::Delete => "delete".into(),
        AfterAction::Move(dir) => format!("move:{dir}"),
    }
}

/// `dir/name` on the server (names were checked: no separators).
fn remote_path(dir: &str, name: &str) -> String {
    format!("{}/{}", dir.trim_end_matches('/'), name)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_paths_join_once() {
        assert_eq!(remote_path("/exports/", "a.csv"), "/exports/a.csv");
        assert_eq!(remote_path("/exports", "a.csv"), "/exports/a.csv");
    }
}
