//! An operator's decision on a held lifecycle job: `approve` lets it commit exactly the
//! outputs it was held with (nothing is read or computed again), `reject` fails it — its
//! outputs are given up, its input moves from the archive to `error/` with a note, and the
//! snapshot stays where it was. Both are audited with the OS user who decided.
//!
//! The decision is one store transaction, safe beside a running daemon; publishing an
//! approved job, and removing a rejected one's temp files, is the next pass's recovery (the
//! command runs it at once when no daemon holds the state, else asks the daemon for a pass).

use std::path::{Path, PathBuf};

use tokio::runtime::Handle;

use crate::kernel::stop::StopFlag;
use crate::settings::Settings;
use crate::store::{CommandKind, JobRow, PlanRow, Store};

use super::at_rest;
use super::checks::Checked;
use super::control::request;
use super::event::Event;
use super::recover::recover;
use super::runner::{in_context, lock_state};
use super::{archive, EngineError};

/// What an operator decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        }
    }
}

/// How a decided job was finished.
#[derive(Debug)]
pub enum Finished {
    /// Recovered here (no daemon held the state): the job as it now stands.
    Here(Option<JobRow>),
    /// A daemon holds the state; it was asked for a pass (the command's id).
    DaemonAsked(i64),
    /// The job's profile is no longer configured: its next run finishes the job.
    ProfileGone,
}

/// Records `user`'s decision on held job `job_id`, then finishes the job as the command line
/// and the dashboard both do: the approved job is published (the rejected one's temp files
/// removed) by a recovery run here under the state lock, or — when a daemon holds the lock —
/// by the pass the daemon is asked for.
pub fn decide_and_finish(
    settings: &Settings,
    profiles: &[Checked],
    store: &Store,
    job_id: i64,
    decision: Decision,
    user: &str,
    runtime: &Handle,
) -> Result<(PlanRow, Finished), EngineError> {
    let plan = decide(settings, store, job_id, decision, user)?;
    let Some(checked) = profiles.iter().find(|c| c.profile.name == plan.profile) else {
        return Ok((plan, Finished::ProfileGone));
    };
    let finished = match lock_state(settings) {
        Ok(_lock) => {
            in_context(settings, checked, store, &StopFlag::new(), runtime, |ctx| {
                at_rest::hash_readable_keys(ctx.store, ctx.key)?;
                recover(ctx)
            })?;
            Finished::Here(store.job(job_id)?)
        }
        Err(EngineError::Locked(_)) => {
            Finished::DaemonAsked(request(store, CommandKind::Run, &plan.profile, None, user)?)
        }
        Err(e) => return Err(e),
    };
    Ok((plan, finished))
}

/// Records `user`'s decision on held job `job_id` and returns its plan. A job that is not
/// held (decided already, or never held) is refused.
pub fn decide(
    settings: &Settings,
    store: &Store,
    job_id: i64,
    decision: Decision,
    user: &str,
) -> Result<PlanRow, EngineError> {
    let plan = store
        .plan(job_id)?
        .ok_or_else(|| EngineError::NotHeld(format!("job {job_id} is not a lifecycle job")))?;
    let refuse = |e| match e {
        crate::store::StoreError::BadTransition { from, .. } => {
            EngineError::NotHeld(format!("job {job_id} is {from}, not held"))
        }
        e => EngineError::Store(e),
    };
    match decision {
        Decision::Approve => store.approve_held(job_id, user).map_err(refuse)?,
        Decision::Reject => {
            let why = format!(
                "rejected by {user}: {}",
                plan.hold_reason.as_deref().unwrap_or("held")
            );
            store.reject_held(job_id, user, &why).map_err(refuse)?
        }
    }
    Event::JobDecided {
        job_id,
        decision: decision.as_str(),
        user,
    }
    .emit(store, &plan.profile)?;
    if decision == Decision::Reject {
        if let Some(kept) = &plan.kept_at {
            let to = move_to_error(settings, &plan.profile, job_id, Path::new(kept), user)?;
            Event::InputKept {
                job_id,
                to: &to.display().to_string(),
            }
            .emit(store, &plan.profile)?;
        }
    }
    Ok(plan)
}

/// Moves a rejected job's kept input into the profile's `error/` folder, with a note saying
/// who rejected it; an input no longer in the archive (purged by retention) is left be.
fn move_to_error(
    settings: &Settings,
    profile: &str,
    job_id: i64,
    kept: &Path,
    user: &str,
) -> Result<PathBuf, EngineError> {
    let dir = archive::error_dir(&settings.state_dir, profile);
    let name = kept
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("job{job_id}"));
    if !kept.exists() {
        return Ok(kept.to_path_buf());
    }
    let to = archive::keep(kept, &dir, &name).map_err(|e| {
        EngineError::io(format!("moving {} to {}", kept.display(), dir.display()), e)
    })?;
    let note_name = format!(
        "{}.error.txt",
        to.file_name().unwrap_or_default().to_string_lossy()
    );
    let note = format!("job {job_id} was held and rejected by {user}; nothing was sent\n");
    super::job::write_note(&archive::free_name(&dir, &note_name), &note)
        .map_err(|e| EngineError::io("writing the error note".into(), e))?;
    Ok(to)
}
