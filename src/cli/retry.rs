//! `hrbridge retry JOB`: sends again the rows a job's API outputs could not deliver.

use std::path::Path;

use super::{load_all, open_store, Exit};
use crate::daemon::commands::retried;
use crate::engine::retry::retry;
use crate::engine::runner::{lock_state, with_plan};
use crate::kernel::stop::StopFlag;
use crate::store::JobStatus;
use crate::transform::MappingPlan;

pub fn run(config: Option<&Path>, job_id: i64) -> Exit {
    let (settings, profiles) = match load_all(config) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let store = match open_store(&settings) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let job = match store.job(job_id) {
        Ok(Some(job)) => job,
        Ok(None) => {
            eprintln!("error: there is no job {job_id}");
            return Exit::Failed;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    let Some(profile) = profiles.iter().find(|p| p.name == job.profile) else {
        eprintln!(
            "error: job {job_id} belongs to profile {:?}, which is no longer configured",
            job.profile
        );
        return Exit::Usage;
    };
    let plan = match MappingPlan::compile(profile, &settings) {
        Ok(p) => p,
        Err(_) => {
            eprintln!(
                "error: profile {} has problems; run `hrbridge check`",
                profile.name
            );
            return Exit::Usage;
        }
    };
    let outcome = lock_state(&settings).and_then(|_lock| {
        with_plan(&settings, profile, &plan, &store, &StopFlag::new(), |ctx| {
            retry(ctx, job_id)
        })
    });
    match outcome {
        Ok(report) => {
            println!("job {job_id}: {}", retried(&report));
            if let Some(e) = report.error {
                println!("  {e}");
            }
            if report.status == JobStatus::Failed || report.failed > 0 {
                Exit::Failed
            } else {
                Exit::Ok
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failed
        }
    }
}
