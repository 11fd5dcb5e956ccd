//! What the dashboard shows about one job: its outputs, its audit timeline, and the rows it
//! rejected or could not deliver (reasons are stored PII-masked); and, asked for, the trace
//! of one of its rows.

use super::trace::RowTrace;
use crate::store::{AuditRow, DeliveryFailure, JobRow, OutputRow, RejectionRow, Store, StoreError};

/// Rejections and delivery failures shown per job; `hrbridge jobs --job` and the rejects
/// report have them all.
pub const PROBLEMS_SHOWN: usize = 200;

/// Timeline events shown per job.
const EVENTS_SHOWN: usize = 500;

/// The rows of a job that went wrong.
#[derive(Debug, Clone, Default)]
pub struct Problems {
    pub job_id: i64,
    pub rejections: Vec<RejectionRow>,
    pub failures: Vec<DeliveryFailure>,
}

impl Problems {
    pub fn load(store: &Store, job_id: i64) -> Result<Problems, StoreError> {
        Ok(Problems {
            job_id,
            rejections: store.job_rejections(job_id, PROBLEMS_SHOWN)?,
            failures: store.ledger_failures(job_id, PROBLEMS_SHOWN)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rejections.is_empty() && self.failures.is_empty()
    }
}

/// A job opened with `Enter`.
#[derive(Debug, Clone)]
pub struct JobDetail {
    pub job: JobRow,
    pub outputs: Vec<OutputRow>,
    pub events: Vec<AuditRow>,
    pub problems: Problems,
    /// First line shown (the detail scrolls with j/k).
    pub scroll: u16,
    /// The trace of one of its rows (`t`), shown instead of the job until `Esc`.
    pub trace: Option<RowTrace>,
}

impl JobDetail {
    /// Job `job_id` with everything about it; `None` if there is no such job.
    pub fn load(store: &Store, job_id: i64) -> Result<Option<JobDetail>, StoreError> {
        let Some(job) = store.job(job_id)? else {
            return Ok(None);
        };
        Ok(Some(JobDetail {
            job,
            outputs: store.job_outputs(job_id)?,
            events: store.job_audit(job_id, EVENTS_SHOWN)?,
            problems: Problems::load(store, job_id)?,
            scroll: 0,
            trace: None,
        }))
    }

    /// Reads the job again (it may still be running), keeping the scroll position and the
    /// trace shown.
    pub fn reload(&mut self, store: &Store) -> Result<(), StoreError> {
        if let Some(fresh) = JobDetail::load(store, self.job.id)? {
            *self = JobDetail {
                scroll: self.scroll,
                trace: self.trace.take(),
                ..fresh
            };
        }
        Ok(())
    }

    /// The row `t` offers to trace: the first rejected row, else the first failed one.
    pub fn first_problem_row(&self) -> Option<u64> {
        let rejected = self.problems.rejections.first().map(|r| r.row);
        rejected.or_else(|| self.problems.failures.first().map(|f| f.row))
    }
}
