//! A pass over an SFTP source: list the remote folder, settle the `after` actions of earlier
//! deliveries, take the versions that stayed unchanged for `settle`, and fetch and process
//! them one by one; then run the `after` actions of this pass's deliveries.
//!
//! The source's own work — listing, settling, fetching into staging, the `after` actions and
//! their bookkeeping in the store — is `source::sftp`; this pass turns each fetched file into a
//! job, reports what happened in the run's summary and audits it.
//!
//! The pass is driven with `Handle::block_on` on the (blocking) thread that runs it, not on a
//! runtime worker: the staging and the jobs block only that thread while the workers keep
//! serving the SSH session. Each job runs in `block_in_place`, outside the runtime's context,
//! so that its uploads, API deliveries and webhooks can block on the same runtime.

use crate::kernel::stop::StopFlag;
use crate::lifecycle::order;
use crate::profile::SftpSourceSpec;
use crate::sftp::SftpError;
use crate::source::sftp::{FetchError, Keys, ListError, Listing, RemoteFolder};
use crate::source::staging;

use super::arrival::{Arrival, Origin};
use super::at_rest;
use super::event::Event;
use super::host_key::audit_host_key;
use super::job::JobContext;
use super::runner::{process, refuse, snapshot_unsettled, RunSummary};
use super::EngineError;

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
    let keys = Keys {
        installation: ctx.key,
        source: at_rest::source_identities(ctx.settings, ctx.profile)?,
    };
    ctx.runtime.block_on(async {
        let folder = RemoteFolder::connect(spec, ctx.settings, ctx.store, &ctx.profile.name)
            .await
            .map_err(|e| sftp_error(ctx, e))?;
        let result = pass_with(ctx, &folder, &keys, stop, summary).await;
        folder.close().await;
        result
    })
}

async fn pass_with(
    ctx: &JobContext<'_>,
    folder: &RemoteFolder<'_>,
    keys: &Keys<'_>,
    stop: &StopFlag,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let settle = folder.settle();
    let mut listing = observe(ctx, folder, summary).await?;
    after_actions(ctx, folder, &listing, summary).await?;
    let wait = listing.wait(settle);
    if !wait.is_zero() {
        if stop.sleep(wait).await {
            return Ok(());
        }
        listing = observe(ctx, folder, summary).await?;
    }
    let staging_dir = ctx
        .settings
        .state_dir
        .join("staging")
        .join(&ctx.profile.name);
    let mut new: Vec<_> = listing.versions.iter().filter(|v| v.is_new()).collect();
    order::sort(ctx.profile.lifecycle.as_ref(), &mut new, |v| &v.entry.name);
    for version in new {
        let name = &version.entry.name;
        if !version.remaining(settle).is_zero() {
            summary
                .waiting
                .push((ctx.profile.name.clone(), name.clone()));
            continue;
        }
        if stop.is_stopped() || snapshot_unsettled(ctx)? {
            break;
        }
        let staged = match folder.fetch(version, &staging_dir, keys).await {
            Ok(staged) => staged,
            Err(FetchError::Changed(e)) => {
                tracing::warn!(profile = %ctx.profile.name, file = ?name, error = %e, "fetch postponed");
                summary
                    .waiting
                    .push((ctx.profile.name.clone(), name.clone()));
                continue;
            }
            Err(FetchError::Down(e)) => {
                summary
                    .errors
                    .push((ctx.profile.name.clone(), e.to_string()));
                break;
            }
            Err(FetchError::Unreadable(e)) => {
                summary
                    .errors
                    .push((ctx.profile.name.clone(), e.to_string()));
                continue;
            }
            Err(FetchError::Staging(e)) => {
                return Err(EngineError::io(format!("staging {name:?}"), e));
            }
        };
        let input = Arrival {
            name: name.clone(),
            staged,
            origin: Origin::Remote {
                size: version.row.size,
                mtime: version.row.mtime,
            },
            source_label: folder.label().to_string(),
        };
        // Processed before the next download: two files with the same content never share
        // one staged copy. `block_in_place` leaves the runtime's context for the job, whose
        // own network work (uploads, API deliveries, webhooks) blocks on the same runtime.
        tokio::task::block_in_place(|| process(ctx, &input, summary))?;
    }
    if folder.has_pending()? {
        let fresh = observe(ctx, folder, summary).await?;
        after_actions(ctx, folder, &fresh, summary).await?;
    }
    Ok(())
}

/// Lists the folder (see [`RemoteFolder::list`]); hostile names are refused (audited once).
async fn observe(
    ctx: &JobContext<'_>,
    folder: &RemoteFolder<'_>,
    summary: &mut RunSummary,
) -> Result<Listing, EngineError> {
    let listing = folder.list().await.map_err(|e| match e {
        ListError::Pattern(e) => EngineError::Profile {
            profile: ctx.profile.name.clone(),
            message: e.to_string(),
        },
        ListError::Sftp(e) => sftp_error(ctx, e),
        ListError::Store(e) => e.into(),
    })?;
    for (name, reason) in &listing.refused {
        refuse(ctx, name, reason, summary)?;
    }
    Ok(listing)
}

/// Runs the `after` actions (see [`RemoteFolder::run_after_actions`]), auditing each one
/// that ran and listing the failed ones among the pass's errors.
async fn after_actions(
    ctx: &JobContext<'_>,
    folder: &RemoteFolder<'_>,
    listing: &Listing,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let failures = folder
        .run_after_actions(listing, |settled| {
            Event::RemoteSettled {
                job_id: settled.job_id,
                name: settled.name,
                action: settled.action,
            }
            .emit(ctx.store, &ctx.profile.name)
        })
        .await?;
    for failure in failures {
        summary.errors.push((ctx.profile.name.clone(), failure));
    }
    Ok(())
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
