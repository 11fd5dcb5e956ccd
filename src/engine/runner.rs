//! One pass over the inboxes of the selected profiles (`hrbridge run --once`).
//!
//! The pass holds an exclusive lock on the state folder, recovers what a previous process left
//! unfinished, then processes every ready file of every profile in name order. A profile an
//! operator paused finishes what it has in hand but takes no new files.

use std::fs::{self, File, TryLockError};

use tokio::runtime::Handle;

use crate::lifecycle::order;
use crate::profile::DirSourceSpec;
use crate::settings::Settings;
use crate::source::open::Location;
use crate::source::{self, dir, staging};
use crate::store::{JobStatus, Pause, Store};

use super::arrival::{Arrival, Origin};
use super::at_rest;
use super::checks::Checked;
use super::event::Event;
use super::job::{JobContext, JobReport};
use super::recover::recover;
use super::retention;
use super::EngineError;
use crate::kernel::stop::StopFlag;

/// What one pass did.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub jobs: Vec<JobReport>,
    /// (profile, file) still being written or waiting for a done marker.
    pub waiting: Vec<(String, String)>,
    /// (profile, name, reason) of inbox entries refused.
    pub refused: Vec<(String, String, String)>,
    /// Unfinished jobs of earlier processes recovered at the start.
    pub recovered: usize,
    /// (profile, error) of passes that could not run or finish (a missing inbox, a full disk);
    /// the other profiles still ran.
    pub errors: Vec<(String, String)>,
    /// Profiles found paused: their passes took no new files.
    pub paused: Vec<Pause>,
}

/// Holds the state folder's lock for as long as it lives.
pub struct StateLock {
    _file: File,
}

/// Takes the exclusive lock on `settings.state_dir` (creating the folder).
pub fn lock_state(settings: &Settings) -> Result<StateLock, EngineError> {
    let dir = &settings.state_dir;
    fs::create_dir_all(dir)
        .map_err(|e| EngineError::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join("hrbridge.lock");
    let file = File::create(&path)
        .map_err(|e| EngineError::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(StateLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(EngineError::Locked(dir.display().to_string())),
        Err(TryLockError::Error(e)) => {
            Err(EngineError::io(format!("locking {}", path.display()), e))
        }
    }
}

/// Runs one pass over `profiles`.
pub fn run_once(
    settings: &Settings,
    profiles: &[Checked],
    store: &Store,
    runtime: &Handle,
) -> Result<RunSummary, EngineError> {
    let _lock = lock_state(settings)?;
    at_rest::hash_readable_keys(store, &at_rest::installation_key(settings)?)?;
    let mut summary = RunSummary::default();
    for checked in profiles {
        if let Err(e) = run_pass(
            settings,
            checked,
            store,
            &StopFlag::new(),
            runtime,
            &mut summary,
        ) {
            let name = &checked.profile.name;
            tracing::error!(profile = %name, error = %e, "pass failed");
            summary.errors.push((name.clone(), e.to_string()));
        }
    }
    Ok(summary)
}

/// Recovers what an earlier process left unfinished for every profile (the daemon does this
/// at start, so a profile that runs only on a schedule is not left waiting for its first
/// fire), after hashing the id map keys an older hrbridge kept readable; returns how many
/// jobs were recovered.
pub fn recover_all(
    settings: &Settings,
    profiles: &[Checked],
    store: &Store,
    stop: &StopFlag,
    runtime: &Handle,
) -> Result<usize, EngineError> {
    let mut recovered = 0;
    let key = at_rest::installation_key(settings)?;
    at_rest::hash_readable_keys(store, &key)?;
    for Checked { profile, plan } in profiles {
        recovered += recover(&JobContext {
            settings,
            profile,
            plan,
            store,
            stop,
            key: &key,
            runtime,
        })?;
    }
    Ok(recovered)
}

/// One pass over one profile's source, adding what it did to `summary`: recovers that
/// profile's unfinished jobs, then processes every ready file, unless the profile is paused
/// (then it is listed in `summary.paused` and no new file is taken). The caller holds the
/// state lock and makes sure a profile never runs two passes at once.
pub fn run_pass(
    settings: &Settings,
    checked: &Checked,
    store: &Store,
    stop: &StopFlag,
    runtime: &Handle,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let profile = &checked.profile;
    in_context(settings, checked, store, stop, runtime, |ctx| {
        summary.recovered += recover(ctx)?;
        if let Err(e) = retention::purge(ctx) {
            // Old files kept a while longer never hold up new ones.
            tracing::error!(profile = %profile.name, error = %e, "retention could not purge; trying again next pass");
        }
        if let Some(pause) = store.pause_of(&profile.name)? {
            summary.paused.push(pause);
            return Ok(());
        }
        let passed = match source::open::open(&profile.source).location() {
            Location::Inbox(spec) => dir_pass(ctx, spec, stop, summary),
            Location::Remote(spec) => super::sftp_pass::sftp_pass(ctx, spec, stop, summary),
        };
        if passed.is_ok() && !stop.is_stopped() {
            super::release::release_due(ctx, summary)?;
        }
        waiting_uploads(ctx, summary)?;
        passed
    })
}

/// Lists the profile's jobs still `committing` after its pass (uploads waiting for a server
/// that could not be reached) and those held for an operator among the pass's errors, so
/// that the run says so.
fn waiting_uploads(ctx: &JobContext<'_>, summary: &mut RunSummary) -> Result<(), EngineError> {
    for status in [JobStatus::Committing, JobStatus::Held] {
        for job in ctx.store.jobs_with_status(status)? {
            if job.profile == ctx.profile.name {
                let why = job
                    .error
                    .as_deref()
                    .unwrap_or("not all outputs are published");
                let message = match status {
                    JobStatus::Held => format!(
                        "job {id} is held for approval: {why} (`hrbridge changes {id}`, then `hrbridge approve {id}` or `hrbridge reject {id}`)",
                        id = job.id
                    ),
                    _ => format!("job {} is still committing: {why}", job.id),
                };
                summary.errors.push((job.profile, message));
            }
        }
    }
    Ok(())
}

/// Whether a lifecycle profile must take no new file yet: each file is diffed against the
/// last accepted snapshot, which is not settled while an earlier job is held or still
/// committing. Its files wait (in the inbox, or on the server) until that job ends.
pub(super) fn snapshot_unsettled(ctx: &JobContext<'_>) -> Result<bool, EngineError> {
    if ctx.profile.lifecycle.is_none() {
        return Ok(false);
    }
    for status in [JobStatus::Committing, JobStatus::Held] {
        if ctx
            .store
            .jobs_with_status(status)?
            .iter()
            .any(|j| j.profile == ctx.profile.name)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Calls `work` with the job context of a checked profile: its mapping plan, compiled when it
/// was checked, and the installation key. Fails first when the key cannot be loaded.
pub fn in_context<T>(
    settings: &Settings,
    checked: &Checked,
    store: &Store,
    stop: &StopFlag,
    runtime: &Handle,
    work: impl FnOnce(&JobContext<'_>) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    let key = at_rest::installation_key(settings)?;
    work(&JobContext {
        settings,
        profile: &checked.profile,
        plan: &checked.plan,
        store,
        stop,
        key: &key,
        runtime,
    })
}

/// Records an input that is not taken: listed in the summary, audited the first time.
pub(super) fn refuse(
    ctx: &JobContext<'_>,
    name: &str,
    reason: &str,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    if ctx.store.note_refusal(&ctx.profile.name, name, reason)? {
        Event::FileRefused { name, reason }.emit(ctx.store, &ctx.profile.name)?;
    }
    summary.refused.push((
        ctx.profile.name.clone(),
        name.to_string(),
        reason.to_string(),
    ));
    Ok(())
}

/// A pass over an inbox folder: every ready file is staged and processed, in name order.
fn dir_pass(
    ctx: &JobContext<'_>,
    spec: &DirSourceSpec,
    stop: &StopFlag,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    let inbox = ctx.settings.resolve_path(&spec.path);
    let scan = dir::scan(spec, &inbox)
        .map_err(|e| EngineError::io(format!("reading inbox {}", inbox.display()), e))?;
    for refused in &scan.refused {
        refuse(ctx, &refused.name, &refused.reason, summary)?;
    }
    for name in scan.waiting {
        summary.waiting.push((ctx.profile.name.clone(), name));
    }
    let label = format!("dir:{}", inbox.display());
    let identities = at_rest::source_identities(ctx.settings, ctx.profile)?;
    let staging_dir = ctx
        .settings
        .state_dir
        .join("staging")
        .join(&ctx.profile.name);
    staging::remove_stale(&staging_dir);
    let mut ready = scan.ready;
    order::sort(ctx.profile.lifecycle.as_ref(), &mut ready, |c| &c.name);
    for cand in ready {
        if stop.is_stopped() || snapshot_unsettled(ctx)? {
            break;
        }
        let staged = match staging::stage(&cand, &staging_dir, ctx.key, identities.as_ref()) {
            Ok(s) => s,
            Err(e) => {
                let shown = format!("{:?}", cand.name);
                refuse(ctx, &shown, &format!("could not be staged: {e}"), summary)?;
                continue;
            }
        };
        let input = Arrival {
            name: cand.name.clone(),
            staged,
            origin: Origin::Inbox(cand),
            source_label: label.clone(),
        };
        process(ctx, &input, summary)?;
    }
    Ok(())
}

/// Runs the job of one staged input and adds its report to `summary`. A file the machinery
/// could not finish (its input could not be kept, say) is logged and listed among the pass's
/// errors, and does not hold up the files after it; only a stop ends the pass.
pub(super) fn process(
    ctx: &JobContext<'_>,
    input: &Arrival,
    summary: &mut RunSummary,
) -> Result<(), EngineError> {
    match ctx.process(input) {
        Ok(report) => summary.jobs.push(report),
        Err(e @ EngineError::Stopped { .. }) => return Err(e),
        Err(e) => {
            tracing::error!(profile = %ctx.profile.name, error = %e, "job failed");
            summary
                .errors
                .push((ctx.profile.name.clone(), e.to_string()));
        }
    }
    Ok(())
}
