//! A pass over an SFTP source: list the remote folder, settle the `after` actions of earlier
//! deliveries, take the versions that stayed unchanged for `settle`, and fetch and process
//! them one by one; then run the `after` actions of this pass's deliveries.
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
use crate::sftp::{RemoteEntry, SftpClient, SftpError, Transfer};
use crate::source::decrypt::SourceIdentities;
use crate::source::dir::matcher;
use crate::source::names::check_name;
use crate::source::staging::{self, stage_from, staging_path, Content, Staged};
use crate::store::{RemoteRow, RemoteState};

use super::arrival::{Arrival, Origin};
use super::at_rest;
use super::event::Event;
use super::job::JobContext;
use super::login::{audit_host_key, Login};
use super::runner::{process, refuse, RunSummary};
use super::EngineError;
use crate::kernel::stop::StopFlag;

/// Used when a profile gives no `settle` for an SFTP source.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(10);
/// The name (before the process id) of a download in progress in staging.
const PART_PREFIX: &str = ".download-";

/// Runs one pass; see the module doc.
pub(super) fn sftp_pass(
    ctx: &JobContext<'_>,
    spec: &SftpSourceSpec,
    stop: &StopFlag,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let staging_dir = ctx
        .settings
        .state_dir
        .join("staging")
        .join(&ctx.profile.name);
    std::fs::create_dir_all(&staging_dir)
        .map_err(|e| EngineError::io(format!("creating {}", staging_dir.display()), e))?;
    staging::remove_stale(&staging_dir);
    // One worker, and jobs run with `block_in_place`: the SSH session keeps being served while
    // a job maps and writes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| EngineError::io("starting the SFTP runtime".into(), e))?;
    let login = Login::new(&spec.connection, ctx.settings);
    let keys = Keys {
        installation: ctx.key,
        source: at_rest::source_identities(ctx.settings, ctx.profile)?,
    };
    runtime.block_on(async {
        let client = login.connect().await.map_err(|e| sftp_error(ctx, e))?;
        let result = pass_with(ctx, spec, &login, &client, &keys, stop, summary).await;
        let _ = client.close().await;
        result
    })
}

/// The keys a pass stages with.
struct Keys<'k> {
    installation: &'k InstallationKey,
    source: Option<SourceIdentities>,
}

async fn pass_with(
    ctx: &JobContext<'_>,
    spec: &SftpSourceSpec,
    login: &Login<'_>,
    client: &SftpClient,
    keys: &Keys<'_>,
    stop: &StopFlag,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let settle = spec.settle.map_or(DEFAULT_SETTLE, |d| d.0);
    let mut listing = observe(ctx, spec, client, summary).await?;
    after_actions(ctx, spec, client, &listing, summary).await?;
    let wait = listing
        .iter()
        .filter(|(_, row)| row.state == RemoteState::Seen)
        .map(|(_, row)| remaining(row, settle))
        .max()
        .unwrap_or(Duration::ZERO);
    if !wait.is_zero() {
        if !sleep_unless_stopped(wait, stop).await {
            return Ok(());
        }
        listing = observe(ctx, spec, client, summary).await?;
    }
    let staging_dir = ctx
        .settings
        .state_dir
        .join("staging")
        .join(&ctx.profile.name);
    let label = format!("{}{}", login.label(), spec.path);
    for (entry, row) in &listing {
        if row.state != RemoteState::Seen {
            continue;
        }
        if !remaining(row, settle).is_zero() {
            summary
                .waiting
                .push((ctx.profile.name.clone(), entry.name.clone()));
            continue;
        }
        if stop.is_stopped() {
            break;
        }
        let remote = remote_path(&spec.path, &entry.name);
        let part = staging_dir.join(format!("{PART_PREFIX}{}", std::process::id()));
        let fetched = client
            .download_sealed(&remote, &part, entry.size, Some(keys.installation))
            .await;
        let transfer = match fetched {
            Ok(t) => t,
            // Changed while read: fetched once it is stable again.
            Err(e @ SftpError::SizeMismatch { .. }) => {
                tracing::warn!(profile = %ctx.profile.name, file = ?entry.name, error = %e, "fetch postponed");
                summary
                    .waiting
                    .push((ctx.profile.name.clone(), entry.name.clone()));
                continue;
            }
            // The server went away: the rest waits for the next pass (the part file is gone).
            Err(e) if e.is_transient() => {
                summary
                    .errors
                    .push((ctx.profile.name.clone(), e.to_string()));
                break;
            }
            // This file cannot be read (permissions, vanished): the others go on.
            Err(e) => {
                summary
                    .errors
                    .push((ctx.profile.name.clone(), e.to_string()));
                continue;
            }
        };
        let staged =
            tokio::task::block_in_place(|| stage_download(&part, &staging_dir, transfer, keys))
                .map_err(|e| EngineError::io(format!("staging {:?}", entry.name), e))?;
        let input = Arrival {
            name: entry.name.clone(),
            staged,
            origin: Origin::Remote {
                size: row.size,
                mtime: row.mtime,
            },
            source_label: label.clone(),
        };
        // Processed before the next download: two files with the same content never share
        // one staged copy.
        tokio::task::block_in_place(|| process(ctx, &input, summary))?;
    }
    if !ctx.store.remote_pending(&ctx.profile.name)?.is_empty() {
        let fresh = observe(ctx, spec, client, summary).await?;
        after_actions(ctx, spec, client, &fresh, summary).await?;
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

/// Lists the folder and records every candidate version in the store (one transaction);
/// forgets names no longer listed. Entries that are not regular files are skipped; hostile
/// names are refused (audited once).
async fn observe(
    ctx: &JobContext<'_>,
    spec: &SftpSourceSpec,
    client: &SftpClient,
    summary: &mut RunSummary,
) -> Result<Vec<(RemoteEntry, RemoteRow)>, EngineError> {
    let glob = matcher(&spec.pattern).map_err(|message| EngineError::Profile {
        profile: ctx.profile.name.clone(),
        message,
    })?;
    let entries = client
        .list(&spec.path)
        .await
        .map_err(|e| sftp_error(ctx, e))?;
    let now = now_ms();
    let wanted: Vec<RemoteEntry> = entries
        .into_iter()
        .filter(|e| e.is_file && !e.name.starts_with('.') && glob.is_match(&e.name))
        .collect();
    let rows = ctx.store.batch(|store| {
        let listed: HashSet<&str> = wanted.iter().map(|e| e.name.as_str()).collect();
        store.remote_prune(&ctx.profile.name, &listed)?;
        wanted
            .iter()
            .map(|e| {
                let size = e.size.min(i64::MAX as u64);
                let mtime = i64::try_from(e.mtime).unwrap_or(i64::MAX);
                store.remote_observe(&ctx.profile.name, &e.name, size, mtime, now)
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let mut listing = Vec::new();
    for (entry, row) in wanted.into_iter().zip(rows) {
        if let Err(reason) = check_name(&entry.name) {
            refuse(ctx, &format!("{:?}", entry.name), &reason, summary)?;
            continue;
        }
        listing.push((entry, row));
    }
    Ok(listing)
}

/// Runs the `after` action of every delivered version that `listing` still shows unchanged
/// (a version gone from the server needs nothing more). A failing action is reported and
/// retried on the next pass; it never stops the others or the fetching.
async fn after_actions(
    ctx: &JobContext<'_>,
    spec: &SftpSourceSpec,
    client: &SftpClient,
    listing: &[(RemoteEntry, RemoteRow)],
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let shown: HashMap<&str, &RemoteRow> =
        listing.iter().map(|(e, r)| (e.name.as_str(), r)).collect();
    for row in ctx.store.remote_pending(&ctx.profile.name)? {
        let version = (row.size, row.mtime);
        let current = shown.get(row.name.as_str()).map(|r| (r.size, r.mtime));
        if current != Some(version) {
            ctx.store
                .remote_forget(&ctx.profile.name, &row.name, version)?;
            continue;
        }
        let remote = remote_path(&spec.path, &row.name);
        let done = match &spec.after {
            AfterAction::Keep => Ok(()),
            // Gone since the listing (an operator, another consumer): nothing left to delete.
            AfterAction::Delete => match client.remove(&remote).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other,
            },
            AfterAction::Move(dir) => move_aside(client, &remote, dir, &row).await,
        };
        if let Err(e) = done {
            summary.errors.push((
                ctx.profile.name.clone(),
                format!("after action for {:?}: {e}", row.name),
            ));
            continue;
        }
        match spec.after {
            // Kept: remembered as done, so it is not fetched again.
            AfterAction::Keep => ctx.store.remote_set(
                &ctx.profile.name,
                &row.name,
                version,
                RemoteState::Finished,
                None,
            )?,
            // Gone from the folder: a later upload under this name is a new file.
            _ => ctx
                .store
                .remote_forget(&ctx.profile.name, &row.name, version)?,
        }
        if let Some(job_id) = row.job_id {
            Event::RemoteSettled {
                job_id,
                name: &row.name,
                action: &after_label(&spec.after),
            }
            .emit(ctx.store, &ctx.profile.name)?;
        }
    }
    Ok(())
}

/// Renames `remote` into `dir`; when that name is taken there (servers refuse to rename over
/// a file), under `<name>.job<id>` instead.
async fn move_aside(
    client: &SftpClient,
    remote: &str,
    dir: &str,
    row: &RemoteRow,
) -> Result<(), SftpError> {
    let target = remote_path(dir, &row.name);
    match client.rename(remote, &target).await {
        Err(e) if !e.is_transient() && client.size(&target).await.is_ok() => {
            let job = row.job_id.unwrap_or_default();
            client.rename(remote, &format!("{target}.job{job}")).await
        }
        other => other,
    }
}

/// Sleeps for `wait`, waking early when a stop is asked for; `false` if it was.
async fn sleep_unless_stopped(wait: Duration, stop: &StopFlag) -> bool {
    let step = Duration::from_millis(200);
    let mut left = wait;
    while !left.is_zero() {
        if stop.is_stopped() {
            return false;
        }
        let now = left.min(step);
        tokio::time::sleep(now).await;
        left = left.saturating_sub(now);
    }
    !stop.is_stopped()
}

fn after_label(after: &AfterAction) -> String {
    match after {
        AfterAction::Keep => "keep".into(),
        AfterAction::Delete => "delete".into(),
        AfterAction::Move(dir) => format!("move:{dir}"),
    }
}

/// How long `row`'s version must still stay unchanged to count as stable.
fn remaining(row: &RemoteRow, settle: Duration) -> Duration {
    let age = Duration::from_millis(u64::try_from(now_ms() - row.observed_ms).unwrap_or(0));
    settle.saturating_sub(age)
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

/// The pass's error for `e` (a refused host key is audited as well).
fn sftp_error(ctx: &JobContext<'_>, e: SftpError) -> EngineError {
    if let Err(store) = audit_host_key(ctx, &e) {
        return store;
    }
    EngineError::Profile {
        profile: ctx.profile.name.clone(),
        message: e.to_string(),
    }
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
