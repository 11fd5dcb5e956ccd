//! Crash recovery, run at the start of every pass (under the state folder's lock).
//!
//! A job left `running` died before its commit decision: its temp files are removed, it is
//! marked `interrupted`, and its input — still in the inbox — is simply processed again. A job
//! left `committing` had complete, fsynced temp outputs recorded: they are published (rolled
//! forward), the job is finished and its input kept, exactly as if nothing had happened. A job
//! whose upload waits for an unreachable server is found `committing` too, and tried again.

use std::fs;
use std::io;

use crate::profile::{Profile, SourceSpec};
use crate::source::decrypt::decrypt_with;
use crate::source::dir::Candidate;
use crate::source::staging::{self, Content};
use crate::store::{JobRow, JobStatus, RemoteState};

use super::archive;
use super::at_rest;
use super::deliver::publish_outputs;
use super::event::Event;
use super::job::JobContext;
use super::EngineError;

/// Recovers every unfinished job of `ctx`'s profile; returns how many were found.
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
            roll_forward(ctx, &job)?;
            n += 1;
        }
    }
    Ok(n)
}

fn interrupted(ctx: &JobContext<'_>, job: &JobRow) -> Result<(), EngineError> {
    for temp in ctx.store.job_temps(job.id)? {
        match fs::remove_file(&temp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(EngineError::io(format!("removing leftover {temp}"), e)),
        }
    }
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

/// Moves the staged copy of a rolled-forward job to the archive and removes the inbox entry
/// if it still holds the same content.
fn keep_recovered_input(ctx: &JobContext<'_>, job: &JobRow) -> Result<(), EngineError> {
    let Some(file) = ctx.store.file(job.file_id)? else {
        return Ok(());
    };
    let state_dir = &ctx.settings.state_dir;
    let staged = staging::staging_path(
        &state_dir.join("staging").join(&ctx.profile.name),
        &file.sha256,
    );
    // A committed job's input decrypted (or needed no decrypting): it was staged as plaintext.
    let content = if decrypt_with(ctx.profile).is_empty() {
        Content::AsArrived
    } else {
        Content::Decrypted
    };
    if staged.exists() {
        let kept = archive::keep(
            &staged,
            &archive::archive_dir(state_dir, &ctx.profile.name),
            &content.kept_name(&job.file_name),
        )
        .map_err(|e| EngineError::io(format!("keeping {:?}", job.file_name), e))?;
        Event::InputKept {
            job_id: job.id,
            to: &kept.display().to_string(),
        }
        .emit(ctx.store, &ctx.profile.name)?;
    }
    if let Some(original) = inbox_entry(ctx.profile, ctx, &job.file_name)? {
        let identities = at_rest::source_identities(ctx.settings, ctx.profile)?;
        let same = staging::sha256_of_input(&original.path, identities.as_ref())
            .is_ok_and(|sha| sha == file.sha256);
        if same {
            archive::release_original(&original).map_err(|e| {
                EngineError::io(format!("removing {:?} from the inbox", job.file_name), e)
            })?;
        }
    }
    if let Some(remote) = ctx.store.remote_of_job(job.id)? {
        ctx.store.remote_set(
            &remote.profile,
            &remote.name,
            (remote.size, remote.mtime),
            RemoteState::Delivered,
            None,
        )?;
    }
    Ok(())
}

fn inbox_entry(
    profile: &Profile,
    ctx: &JobContext<'_>,
    name: &str,
) -> Result<Option<Candidate>, EngineError> {
    let SourceSpec::Dir(spec) = &profile.source else {
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
