//! `hrbridge retry JOB`: sends again the rows a job's API outputs could not deliver.

use std::path::Path;

use tokio::runtime::Handle;

use super::{load_all, open_store, Exit};
use crate::daemon::commands::retried;
use crate::engine::at_rest::hash_readable_keys;
use crate::engine::retry::retry;
use crate::engine::runner::{in_context, lock_state};
use crate::kernel::stop::StopFlag;
use crate::store::JobStatus;

pub fn run(config: Option<&Path>, job_id: i64, runtime: &Handle) -> Exit {
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
    let Some(checked) = profiles.iter().find(|c| c.profile.name == job.profile) else {
        eprintln!(
            "error: job {job_id} belongs to profile {:?}, which is no longer configured",
            job.profile
        );
        return Exit::Usage;
    };
    let outcome = lock_state(&settings).and_then(|_lock| {
        in_context(
            &settings,
            checked,
            &store,
            &StopFlag::new(),
            runtime,
            |ctx| {
                hash_readable_keys(ctx.store, ctx.key)?;
                retry(ctx, job_id)
            },
        )
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
