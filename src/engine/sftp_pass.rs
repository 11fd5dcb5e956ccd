//! A pass over an SFTP source: list the remote folder, take the versions that stayed unchanged
//! for `settle`, fetch them into staging, run their jobs, then run `after` actions.
//!
//! What was listed, fetched and delivered lives in the store (`remote_files`), so a restart
//! neither fetches a delivered file again nor misses one, and an `after` action (delete, move)
//! runs only for versions whose job is committed — on this pass or, after a crash, the next.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::profile::{AfterAction, SftpSourceSpec};
use crate::sftp::{RemoteEntry, SftpClient, SftpError};
use crate::source::dir::matcher;
use crate::source::names::check_name;
use crate::source::staging::{staging_path, Staged};
use crate::store::{RemoteRow, RemoteState};

use super::arrival::{Arrival, Origin};
use super::event::Event;
use super::job::JobContext;
use super::login::Login;
use super::runner::{refuse, RunSummary};
use super::{EngineError, StopFlag};

/// Used when a profile gives no `settle` for an SFTP source.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(10);

/// Runs one pass; see the module doc.
pub(super) fn sftp_pass(
    ctx: &JobContext<'_>,
    spec: &SftpSourceSpec,
    stop: &StopFlag,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::io("starting the SFTP runtime".into(), e))?;
    let login = Login::new(&spec.connection, ctx.settings);
    let arrivals = runtime.block_on(fetch_ready(ctx, spec, &login, summary))?;
    for input in &arrivals {
        if stop.is_stopped() {
            break;
        }
        summary.jobs.push(ctx.process(input)?);
    }
    if !ctx.store.remote_pending(&ctx.profile.name)?.is_empty() {
        runtime.block_on(async {
            let client = login.connect().await.map_err(|e| sftp_error(ctx, e))?;
            let done = after_actions(ctx, spec, &client).await;
            let _ = client.close().await;
            done
        })?;
    }
    Ok(())
}

/// Connects, finishes earlier `after` actions, lists, waits out `settle`, and fetches every
/// stable version that has not been processed.
async fn fetch_ready(
    ctx: &JobContext<'_>,
    spec: &SftpSourceSpec,
    login: &Login<'_>,
    summary: &mut RunSummary,
) -> Result<Vec<Arrival>, EngineError> {
    let client = login.connect().await.map_err(|e| sftp_error(ctx, e))?;
    let result = fetch_with(ctx, spec, login, &client, summary).await;
    let _ = client.close().await;
    result
}

async fn fetch_with(
    ctx: &JobContext<'_>,
    spec: &SftpSourceSpec,
    login: &Login<'_>,
    client: &SftpClient,
    summary: &mut RunSummary,
) -> Result<Vec<Arrival>, EngineError> {
    after_actions(ctx, spec, client).await?;
    let settle = spec.settle.map_or(DEFAULT_SETTLE, |d| d.0);
    let mut listing = observe(ctx, spec, client, summary).await?;
    let wait = listing
        .iter()
        .filter(|(_, row)| row.state == RemoteState::Seen)
        .map(|(_, row)| remaining(row, settle))
        .max()
        .unwrap_or(Duration::ZERO);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
        listing = observe(ctx, spec, client, summary).await?;
    }
    let staging_dir = ctx
        .settings
        .state_dir
        .join("staging")
        .join(&ctx.profile.name);
    std::fs::create_dir_all(&staging_dir)
        .map_err(|e| EngineError::io(format!("creating {}", staging_dir.display()), e))?;
    let label = format!("{}{}", login.label(), spec.path);
    let mut arrivals = Vec::new();
    for (entry, row) in listing {
        if row.state != RemoteState::Seen {
            continue;
        }
        if !remaining(&row, settle).is_zero() {
            summary
                .waiting
                .push((ctx.profile.name.clone(), entry.name.clone()));
            continue;
        }
        let remote = remote_path(&spec.path, &entry.name);
        let part = staging_dir.join(format!(".download-{}", std::process::id()));
        match client.download(&remote, &part, entry.size).await {
            Ok(transfer) => {
                let path = staging_path(&staging_dir, &transfer.sha256);
                std::fs::rename(&part, &path)
                    .map_err(|e| EngineError::io(format!("staging {:?}", entry.name), e))?;
                arrivals.push(Arrival {
                    name: entry.name.clone(),
                    staged: Staged {
                        path,
                        sha256: transfer.sha256,
                        size: transfer.bytes,
                    },
                    origin: Origin::Remote {
                        size: row.size,
                        mtime: row.mtime,
                    },
                    source_label: label.clone(),
                });
            }
            // The file changed while it was read: it is fetched once it is stable again.
            Err(e @ SftpError::SizeMismatch { .. }) => {
                tracing::warn!(profile = %ctx.profile.name, file = ?entry.name, error = %e, "fetch postponed");
                summary
                    .waiting
                    .push((ctx.profile.name.clone(), entry.name.clone()));
            }
            // The server went away: what was fetched is processed, the rest waits for the
            // next pass (nothing partial was kept: the client removes its part file).
            Err(e) if e.is_transient() => {
                summary
                    .errors
                    .push((ctx.profile.name.clone(), e.to_string()));
                break;
            }
            Err(e) => return Err(sftp_error(ctx, e)),
        }
    }
    Ok(arrivals)
}

/// Lists the folder and records every candidate version in the store. Entries that are not
/// regular files are skipped; hostile names are refused once per version.
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
    let mut listing = Vec::new();
    for entry in entries {
        if !entry.is_file || entry.name.starts_with('.') || !glob.is_match(&entry.name) {
            continue;
        }
        let mtime = i64::try_from(entry.mtime).unwrap_or(i64::MAX);
        let row =
            ctx.store
                .remote_observe(&ctx.profile.name, &entry.name, entry.size, mtime, now)?;
        if let Err(reason) = check_name(&entry.name) {
            if row.state == RemoteState::Seen {
                refuse(ctx, &format!("{:?}", entry.name), &reason, summary)?;
                ctx.store.remote_set(
                    &ctx.profile.name,
                    &entry.name,
                    (row.size, row.mtime),
                    RemoteState::Failed,
                    None,
                )?;
            }
            continue;
        }
        listing.push((entry, row));
    }
    Ok(listing)
}

/// Runs the `after` action of every delivered version of this profile.
async fn after_actions(
    ctx: &JobContext<'_>,
    spec: &SftpSourceSpec,
    client: &SftpClient,
) -> Result<(), EngineError> {
    for row in ctx.store.remote_pending(&ctx.profile.name)? {
        let remote = remote_path(&spec.path, &row.name);
        let done = match &spec.after {
            AfterAction::Keep => Ok(()),
            AfterAction::Delete => client.remove(&remote).await,
            AfterAction::Move(dir) => client.rename(&remote, &remote_path(dir, &row.name)).await,
        };
        match done {
            Ok(()) => {}
            // Already gone (a crash after the action, or an operator): nothing left to do.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(sftp_error(ctx, e)),
        }
        ctx.store.remote_set(
            &ctx.profile.name,
            &row.name,
            (row.size, row.mtime),
            RemoteState::Finished,
            None,
        )?;
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

fn sftp_error(ctx: &JobContext<'_>, e: SftpError) -> EngineError {
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
        use std::path::Path;
        assert_eq!(remote_path("/exports/", "a.csv"), "/exports/a.csv");
        assert_eq!(remote_path("/exports", "a.csv"), "/exports/a.csv");
        assert!(Path::new(&remote_path("/x", "y")).is_absolute());
    }
}
