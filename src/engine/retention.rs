//! `retention`: kept inputs and published outputs do not stay for ever. At the start of each
//! pass, the files of a profile's `archive/` and `error/` folders older than the retention (by
//! modification time: when they were staged, or written for an error note) are deleted, and
//! so are the local output files (and rejects reports) the profile's jobs published, once the
//! job finished longer ago than the retention; each deletion is audited. The per-person trace
//! of those jobs goes with them.
//!
//! Only regular files inside `state_dir/archive/<profile>` and `state_dir/error/<profile>`, and
//! output files the store says hrbridge published, are touched; symbolic links are neither
//! followed nor removed, and a day folder emptied by the purge is removed with its last file.
//!
//! A lifecycle profile's kept inputs that are still needed stay whatever their age: those of
//! held jobs (an operator has yet to decide), and the snapshot's roster while changes wait
//! for their date (it is what they are released from).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::privacy::trace::BUCKETS;

use super::event::Event;
use super::job::JobContext;
use super::EngineError;

/// Purges the profile's kept files older than `settings.retention`; returns how many.
pub fn purge(ctx: &JobContext<'_>) -> Result<usize, EngineError> {
    let Some(retention) = ctx.settings.retention else {
        return Ok(0);
    };
    let Some(cutoff) = SystemTime::now().checked_sub(retention) else {
        return Ok(0);
    };
    let state = &ctx.settings.state_dir;
    let needed = still_needed(ctx)?;
    let mut purged = 0;
    for kind in ["archive", "error"] {
        let root = state.join(kind).join(&ctx.profile.name);
        purged += purge_dir(ctx, &root, &needed, cutoff, retention)?;
    }
    purged += purge_outputs(ctx, cutoff, retention)?;
    // The trace of a job goes with its files: a person's rows are not kept for longer.
    ctx.store
        .prune_traces(&ctx.profile.name, &rfc3339(cutoff), BUCKETS)?;
    Ok(purged)
}

/// `at` as the store writes times.
fn rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Removes the local output files of jobs that finished before `cutoff`; SFTP uploads and API
/// deliveries have nothing local to remove and are only marked.
fn purge_outputs(
    ctx: &JobContext<'_>,
    cutoff: SystemTime,
    retention: Duration,
) -> Result<usize, EngineError> {
    let before = rfc3339(cutoff);
    let mut purged = 0;
    for (job_id, index, path) in ctx.store.outputs_to_purge(&ctx.profile.name, &before)? {
        // The rejects report (no index) and file outputs live on this machine.
        let local = index
            .and_then(|i| ctx.output(i))
            .is_none_or(|o| o.is_local());
        if local {
            let file = Path::new(&path);
            match fs::symlink_metadata(file) {
                Ok(meta) if meta.is_file() => {
                    fs::remove_file(file)
                        .map_err(|e| EngineError::io(format!("purging {path}"), e))?;
                    purged += 1;
                    Event::OutputPurged {
                        job_id,
                        path: &path,
                        retention_secs: retention.as_secs(),
                    }
                    .emit(ctx.store, &ctx.profile.name)?;
                }
                // Gone already (picked up by the downstream system), or not ours to remove.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(EngineError::io(format!("purging {path}"), e)),
            }
        }
        ctx.store.mark_purged(job_id, &path)?;
    }
    Ok(purged)
}

/// The kept inputs of held jobs, and the snapshot's roster while changes wait for their date.
fn still_needed(ctx: &JobContext<'_>) -> Result<Vec<PathBuf>, EngineError> {
    let profile = &ctx.profile.name;
    if ctx.profile.lifecycle.is_none() {
        return Ok(Vec::new());
    }
    let mut plans = ctx.store.held_plans(Some(profile))?;
    if !ctx.store.queued(Some(profile))?.is_empty() {
        if let Some(snapshot) = ctx.store.snapshot(profile)? {
            plans.extend(ctx.store.plan(snapshot.job_id)?);
        }
    }
    Ok(plans
        .into_iter()
        .filter_map(|p| p.kept_at.map(PathBuf::from))
        .collect())
}

/// Purges under `dir` (but not the `needed` files), recursively; a subfolder that this
/// emptied is removed too.
fn purge_dir(
    ctx: &JobContext<'_>,
    dir: &Path,
    needed: &[PathBuf],
    cutoff: SystemTime,
    retention: Duration,
) -> Result<usize, EngineError> {
    let context = |e: io::Error| EngineError::io(format!("purging {}", dir.display()), e);
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(context(e)),
    };
    let mut purged = 0;
    for entry in entries {
        let path = entry.map_err(context)?.path();
        let meta = fs::symlink_metadata(&path).map_err(context)?;
        if meta.is_dir() {
            let here = purge_dir(ctx, &path, needed, cutoff, retention)?;
            purged += here;
            if here > 0 && fs::read_dir(&path).map_err(context)?.next().is_none() {
                fs::remove_dir(&path).map_err(context)?;
            }
        } else if meta.is_file()
            && meta.modified().map_err(context)? < cutoff
            && !needed.contains(&path)
        {
            fs::remove_file(&path).map_err(context)?;
            purged += 1;
            Event::InputPurged {
                path: &path.display().to_string(),
                retention_secs: retention.as_secs(),
            }
            .emit(ctx.store, &ctx.profile.name)?;
        }
    }
    Ok(purged)
}
