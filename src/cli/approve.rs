//! `hrbridge approve JOB` and `hrbridge reject JOB`: an operator's decision on a job a
//! lifecycle safeguard held. The decision is recorded (and audited with the OS user) at once;
//! the approved job is then published, or the rejected one's temp files removed, by a pass's
//! recovery — run here when no daemon holds the state, else asked of the daemon.

use std::path::Path;

use tokio::runtime::Handle;

use super::{load_all, open_store, Exit};
use crate::engine::approval::{decide_and_finish, Decision, Finished};
use crate::engine::control::os_user;
use crate::engine::EngineError;

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
    let (plan, finished) = match decide_and_finish(
        &settings, &profiles, &store, job_id, decision, &user, runtime,
    ) {
        Ok(x) => x,
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
    match finished {
        Finished::ProfileGone => eprintln!(
            "note: profile {:?} is no longer configured; its next run finishes job {job_id}",
            plan.profile
        ),
        Finished::DaemonAsked(_) => {
            println!("the running daemon finishes it at the pass it was just asked for")
        }
        Finished::Here(Some(job)) => {
            println!("job {job_id} is {}", job.status.as_str());
            if let Some(e) = job.error.filter(|_| decision == Decision::Approve) {
                println!("  {e}");
            }
        }
        Finished::Here(None) => {}
    }
    Exit::Ok
}
