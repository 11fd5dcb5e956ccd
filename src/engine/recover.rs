//! Crash recovery, run at the start of every pass (under the state folder's lock).
//!
//! A job left `running` died before its commit decision: its temp files are removed, it is
//! marked `interrupted`, and its input — still in the inbox — is simply processed again. A job
//! left `committing` had complete, fsynced temp outputs recorded: they are published (rolled
//! forward), the job is finished and its input kept, exactly as if nothing had happened. A job
//! whose upload waits for an unreachable server is found `committing` too, and tried again. An
//! ended job whose input is still in staging (killed just before keeping it) has it kept now.

use std::fs;

use crate::profile::Profile;
use crate::source::decrypt::decrypt_with;
use crate::source::dir::Candidate;
use crate::source::open::open;
use crate::source::sftp;
use crate::source::staging::{self, Content};
use crate::store::{JobRow, JobStatus};

use super::archive;
use super::at_rest;
use super::deliver::publish_outputs;
use super::event::Event;
use super::job::JobContext;
use super::leftovers;
use super::EngineError;

/// Recovers every unfinished job of `ctx`'s profile, then removes the temp files ended jobs
/// left; returns how many jobs were recovered. A committing job that cannot be finished yet
/// (its destination refuses the publish) is logged and tried again on the next pass: it never
/// keeps the profile from taking new files.
pub fn recover(ctx: &JobContext<'_>) -> Result<usize, EngineError> {
    let mut n = 0;
    for job in ctx.store.jobs_with_status(JobStatus::Running)? {
        if job.profile == ctx.profile.name {
            interrupted(ctx, &job)?;
            n += 1;
        }
    }
    for job in ctx.store.jobs_with_status(JobStatus::Committing)? {
        if job.profile == ctx.profile.name {
            match roll_forward(ctx, &job) {
                Ok(()) => n += 1,
                Err(e @ EngineError::Stopped { .. }) => return Err(e),
                Err(e) => {
                    tracing::error!(
                        profile = %ctx.profile.name,
                        job_id = job.id,
                        error = %e,
                        "could not finish publishing a committed job; trying again next pass"
                    );
                    ctx.store.note_committing_error(job.id, &e.to_string())?;
                }
            }
        }
    }
    if let Err(e) = keep_stranded_inputs(ctx) {
        // An archive that cannot be written now: the copies wait in staging for a later pass.
        tracing::error!(profile = %ctx.profile.name, error = %e, "could not keep a stranded input; trying again next pass");
    }
    leftovers::sweep(ctx)?;
    Ok(n)
}

/// Settles staged copies no job is using: a process killed (or a disk that failed) between the
/// end of a job and the keeping of its input leaves the staged copy and the inbox entry
/// behind. A delivered one is kept for its job now, as the job would have, so the next pass
/// does not take it again and the audit trail has its `input.kept`; any other is removed, and
/// its inbox entry (if any) is simply taken again.
fn keep_stranded_inputs(ctx: &JobContext<'_>) -> Result<(), EngineError> {
    let staging_dir = ctx
        .settings
        .state_dir
        .join("staging")
        .join(&ctx.profile.name);
    let Ok(entries) = fs::read_dir(&staging_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(sha256) = name.to_str().filter(|n| !n.starts_with('.')) else {
            continue;
        };
        let Some(job) = ctx.store.last_job_of_content(&ctx.profile.name, sha256)? else {
            continue;
        };
        match job.status {
            // The content was delivered (or is held for an operator, as the job left it): kept
            // for that job, as the next file of the same content would be kept as a duplicate.
            JobStatus::Succeeded | JobStatus::Partial | JobStatus::Duplicate | JobStatus::Held => {
                keep_recovered_input(ctx, &job)?;
            }
            // Not delivered: the copy may be of a new arrival staged just before a kill, so
            // it is not filed under the old job; its inbox entry is taken again.
            JobStatus::Failed | JobStatus::Interrupted => {
                if let Err(e) = fs::remove_file(entry.path()) {
                    tracing::warn!(profile = %ctx.profile.name, error = %e, "could not remove a staged copy");
                }
            }
            // Recovered above.
            JobStatus::Running | JobStatus::Committing => {}
        }
    }
    Ok(())
}

/// A job found `running`: nothing of it was published; its temp files go with the sweep.
fn interrupted(ctx: &JobContext<'_>, job: &JobRow) -> Result<(), EngineError> {
    ctx.store.finish_job(
        job.id,
        JobStatus::Interrupted,
        job.counts,
        Some("hrbridge stopped while this job was running; nothing was published and the input is processed again"),
    )?;
    Event::JobRecovered {
        job_id: job.id,
        action: "interrupted: temp outputs removed, input left in the inbox",
    }
    .emit(ctx.store, &ctx.profile.name)?;
    Ok(())
}

/// Publishes what is left of a committing job and settles it — unless an upload still waits
/// for its server: then the job stays `committing` for the next pass, and this pass goes on
/// with the profile's new files. Its input is kept either way (it must not be taken again).
fn roll_forward(ctx: &JobContext<'_>, job: &JobRow) -> Result<(), EngineError> {
    let outputs = ctx.store.job_outputs(job.id)?;
    let published = publish_outputs(ctx, job.id, &outputs)?;
    let (status, _, _) = ctx.settle(job.id, job.counts, &published.unsent)?;
    if status != JobStatus::Committing {
        Event::JobRecovered {
            job_id: job.id,
            action: "committing: outputs published after a crash",
        }
        .emit(ctx.store, &ctx.profile.name)?;
    }
    keep_recovered_input(ctx, job)
}

/// Moves the staged copy of a delivered job to the archive and removes the inbox entry (and
/// its done marker) if it still holds the same content.
fn keep_recovered_input(ctx: &JobContext<'_>, job: &JobRow) -> Result<(), EngineError> {
    let Some(file) = ctx.store.file(job.file_id)? else {
        return Ok(());
    };
    let state_dir = &ctx.settings.state_dir;
    let staged = staging::staging_path(
        &state_dir.join("staging").join(&ctx.profile.name),
        &file.sha256,
    );
    let content = committed_content(ctx.profile);
    let dir = archive::archive_dir(state_dir, &ctx.profile.name);
    if staged.exists() {
        let kept = archive::keep(&staged, &dir, &content.kept_name(&job.file_name))
            .map_err(|e| EngineError::io(format!("keeping {:?}", job.file_name), e))?;
        Event::InputKept {
            job_id: job.id,
            to: &kept.display().to_string(),
        }
        .emit(ctx.store, &ctx.profile.name)?;
        ctx.store
            .note_kept_input(job.id, &kept.display().to_string())?;
    }
    if let Some(original) = inbox_entry(ctx.profile, ctx, &job.file_name)? {
        let identities = at_rest::source_identities(ctx.settings, ctx.profile)?;
        let same = staging::sha256_of_input(&original.path, identities.as_ref())
            .is_ok_and(|sha| sha == file.sha256);
        if same {
            ctx.release(&original)?;
        }
    }
    sftp::job_recovered(ctx.store, job.id)?;
    Ok(())
}

/// What the staged copy of a committed job of `profile` holds: its input decrypted (or
/// needed no decrypting), so it was staged as plaintext.
pub(super) fn committed_content(profile: &Profile) -> Content {
    if decrypt_with(profile).is_empty() {
        Content::AsArrived
    } else {
        Content::Decrypted
    }
}

fn inbox_entry(
    profile: &Profile,
    ctx: &JobContext<'_>,
    name: &str,
) -> Result<Option<Candidate>, EngineError> {
    let Some(spec) = open(&profile.source).inbox() else {
        return Ok(None);
    };
    let path = ctx.settings.resolve_path(&spec.path).join(name);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() => Ok(Some(Candidate {
            name: name.to_string(),
            size: m.len(),
            mtime: m
                .modified()
                .map_err(|e| EngineError::io(format!("reading {name:?}"), e))?,
            path,
        })),
        _ => Ok(None),
    }
}
