//! Releasing effective-dated changes when their day comes and no new roster does.
//!
//! The queue holds only what waits and until when — never a person's data. What is sent on
//! the day is read again from the roster the snapshot stands at: its kept input (sealed to
//! the installation key) is replayed as a job of its own, whose delta finds the due changes
//! (their dates are no longer ahead) and nothing else (everyone else is as the snapshot has
//! them). The replay is an ordinary job — delivered through the ledger, held by the
//! safeguards, recovered after a crash — so a release is as safe as a roster.

use std::fs;
use std::io;
use std::path::Path;

use crate::kernel::clock::today_in;
use crate::source::staging::{staging_path, Staged};
use crate::store::JobStatus;

use super::archive::copy_private;
use super::arrival::{Arrival, Origin};
use super::job::JobContext;
use super::recover::committed_content;
use super::runner::{process, snapshot_unsettled, RunSummary};
use super::EngineError;

/// Replays the snapshot's roster of a lifecycle profile when some of its queued changes are
/// due today (in the profile's time zone). Does nothing while a job of the profile is held
/// or committing (the snapshot is not settled), or when nothing is due. A roster that can no
/// longer be read, or a release that failed, is listed among the pass's errors: the changes
/// then wait for the next roster (or `hrbridge retry`).
pub(super) fn release_due(
    ctx: &JobContext<'_>,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let profile = &ctx.profile.name;
    if ctx.profile.lifecycle.is_none() {
        return Ok(());
    }
    let today = match today_in(ctx.profile.timezone.as_deref()) {
        Ok(today) => today,
        Err(e) => {
            summary.errors.push((profile.clone(), e));
            return Ok(());
        }
    };
    let due = ctx.store.due_count(profile, &today.to_string())?;
    if due == 0 || snapshot_unsettled(ctx)? {
        return Ok(());
    }
    let Some(snapshot) = ctx.store.snapshot(profile)? else {
        return Ok(());
    };
    let gone = |why: String| {
        (
            profile.clone(),
            format!(
                "{due} change(s) are due but wait for the next roster: the roster of job {} {why}",
                snapshot.job_id
            ),
        )
    };
    let kept = ctx.store.plan(snapshot.job_id)?.and_then(|p| p.kept_at);
    let (Some(kept), Some(job)) = (kept, ctx.store.job(snapshot.job_id)?) else {
        summary.errors.push(gone("was not kept".into()));
        return Ok(());
    };
    // A release that failed (its API down, say) is not replayed pass after pass: it waits
    // for `hrbridge retry`, or for the next roster, which releases what is due itself.
    let last = ctx.store.recent_jobs(1, Some(profile))?.into_iter().next();
    if let Some(last) = last.filter(|l| l.status == JobStatus::Failed && l.file_id == job.file_id) {
        summary.errors.push((
            profile.clone(),
            format!(
                "{due} change(s) are due; their release failed in job {} (`hrbridge jobs --job {}` says why; `hrbridge retry {}` sends it again, or the next roster releases them)",
                last.id, last.id, last.id
            ),
        ));
        return Ok(());
    }
    let Some(file) = ctx.store.file(job.file_id)? else {
        summary.errors.push(gone("has no file record".into()));
        return Ok(());
    };
    let staging_dir = ctx.settings.state_dir.join("staging").join(profile);
    let staged = staging_path(&staging_dir, &file.sha256);
    if let Err(e) = copy_kept(Path::new(&kept), &staging_dir, &staged) {
        summary
            .errors
            .push(gone(format!("could not be read again from {kept:?}: {e}")));
        return Ok(());
    }
    let input = Arrival {
        name: job.file_name.clone(),
        staged: Staged {
            path: staged,
            sha256: file.sha256,
            size: file.size,
            content: committed_content(ctx.profile),
        },
        origin: Origin::Replay {
            of_job: snapshot.job_id,
        },
        source_label: format!(
            "queue: {due} change(s) due {today}, released from the roster of job {}",
            snapshot.job_id
        ),
    };
    process(ctx, &input, summary)
}

/// Copies the kept (sealed) input `kept` to `to` in `dir`, as staging would have left it.
fn copy_kept(kept: &Path, dir: &Path, to: &Path) -> io::Result<u64> {
    fs::create_dir_all(dir)?;
    let _ = fs::remove_file(to);
    copy_private(&mut fs::File::open(kept)?, to)
}
