//! `hrbridge retry JOB`: sends again the rows a finished job's API outputs could not deliver,
//! and only those, and uploads again the SFTP outputs that did not reach their server (from
//! their kept local copies).
//!
//! The job goes back to `committing` (its failed ledger entries reopened, in one transaction)
//! and is published again from its kept spool: rows already delivered are settled in the
//! ledger and skipped, so a retry never repeats a delivery. A crash during a retry is rolled
//! forward by `recover` like any commit.
//!
//! Rows the API refused for good (a 4xx other than 408 and 429) are sent under a new
//! `Idempotency-Key`, since a server that stores answers per key would only replay the refusal;
//! rows that failed ambiguously (timeouts, connection errors, 5xx, 408, 429) keep theirs, since
//! the server may have applied them and the old key lets it say so instead of applying them
//! twice. The rule and its trade-off are in `store/ledger.rs`.

use crate::store::{JobStatus, StoreError};

use super::api_delivery::open_spool;
use super::deliver::publish_outputs;
use super::event::Event;
use super::job::JobContext;
use super::EngineError;

/// What a retry came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryReport {
    /// Rows that were sent again.
    pub rows: u64,
    pub status: JobStatus,
    /// Rows still failed afterwards.
    pub failed: u64,
    pub error: Option<String>,
}

/// Retries job `job_id` of `ctx`'s profile. The caller holds the state lock.
pub fn retry(ctx: &JobContext<'_>, job_id: i64) -> Result<RetryReport, EngineError> {
    let refuse = |message: String| EngineError::Profile {
        profile: ctx.profile.name.clone(),
        message,
    };
    let job = ctx
        .store
        .job(job_id)?
        .ok_or_else(|| refuse(format!("there is no job {job_id}")))?;
    // Every spool to send from must be there and fit the profile, and every upload to send
    // again must still have its local copy, before the job reopens.
    let failing = ctx.store.ledger_failed_outputs(job_id)?;
    for out in ctx.store.job_outputs(job_id)? {
        let output = out.output_index.and_then(|i| ctx.output(i));
        let upload = output.and_then(|o| o.upload());
        let copy_gone = !std::path::Path::new(&out.temp_path).exists();
        if !out.published && upload.is_some() && copy_gone {
            return Err(refuse(format!(
                "the local copy of {} is gone; it cannot be uploaded again",
                out.final_path
            )));
        }
        let api = out
            .output_index
            .filter(|i| failing.contains(i))
            .and_then(|i| ctx.output(i))
            .and_then(|o| o.api());
        if let Some(api) = api {
            open_spool(ctx, job_id, &out, &api)?;
        }
    }
    let rows = match ctx.store.reopen_for_retry(job_id) {
        Ok(rows) => rows,
        Err(StoreError::NotFound(_)) => {
            return Err(refuse(format!(
                "job {job_id} has no failed rows to send again"
            )))
        }
        Err(StoreError::BadTransition { from, .. }) => {
            return Err(refuse(format!(
                "job {job_id} is {from}; only partial or failed jobs can be retried"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    Event::JobRetried { job_id, rows }.emit(ctx.store, &ctx.profile.name)?;
    let outputs = ctx.store.job_outputs(job_id)?;
    let published = publish_outputs(ctx, job_id, &outputs)?;
    let (status, counts, error) = ctx.settle(job_id, job.counts, &published.unsent)?;
    Ok(RetryReport {
        rows,
        status,
        failed: counts.failed,
        error,
    })
}
