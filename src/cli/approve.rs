//! `hrbridge approve JOB` and `hrbridge reject JOB`: an operator's decision on a job a
//! lifecycle safeguard held. The decision is recorded (and audited with the OS user) at once;
//! the approved job is then published, or the rejected one's temp files removed, by a pass's
//! recovery — run here when no daemon holds the state, else asked of the daemon.

use std::path::Path;

use tokio::runtime::Handle;

use super::{load_all, open_store, Exit};
use crate::engine::approval::{decide, Decision};
use crate::engine::control::{os_user, request};
use crate::engine::recover::recover;
use crate::engine::runner::{in_context, lock_state};
use crate::engine::EngineError;
use crate::kernel::stop::StopFlag;
use crate::store::CommandKind;

pub fn run(config: Option<&Path>, job_id: i64, decision: Decision, runtime: &Handle) -> Exit {
    let (settings, profiles) = match load_all(config) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let store = match open_store(&settings) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let user = os_user();
    let plan = match decide(&settings, &store, job_id, decision, &user) {
        Ok(plan) => plan,
        Err(e @ EngineError::NotHeld(_)) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    let verb = match decision {
        Decision::Approve => "approved",
        Decision::Reject => "rejected; its input is in error/ and the snapshot did not move",
    };
    println!("job {job_id} {verb} by {user}");
    let Some(checked) = profiles.iter().find(|c| c.profile.name == plan.profile) else {
        eprintln!(
            "note: profile {:?} is no longer configured; its next run finishes job {job_id}",
            plan.profile
        );
        return Exit::Ok;
    };
    let finished = match lock_state(&settings) {
        Ok(_lock) => in_context(
            &settings,
            checked,
            &store,
            &StopFlag::new(),
            runtime,
            recover,
        ),
        Err(EngineError::Locked(_)) => {
            return match request(&store, CommandKind::Run, &plan.profile, None, &user) {
                Ok(_) => {
                    println!("the running daemon finishes it at the pass it was just asked for");
                    Exit::Ok
                }
                Err(e) => {
                    eprintln!("error: asking the daemon for a pass: {e}");
                    Exit::Failed
                }
            };
        }
        Err(e) => Err(e),
    };
    if let Err(e) = finished {
        eprintln!("error: {e}");
        return Exit::Failed;
    }
    match store.job(job_id) {
        Ok(Some(job)) => {
            println!("job {job_id} is {}", job.status.as_str());
            if let Some(e) = job.error.filter(|_| decision == Decision::Approve) {
                println!("  {e}");
            }
            Exit::Ok
        }
        Ok(None) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failed
        }
    }
}
