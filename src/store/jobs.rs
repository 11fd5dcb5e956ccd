//! Jobs: one row per attempt to process a file, and the status machine they move through.
//!
//! `running` → `committing` (outputs recorded, [`Store::begin_commit`]) → a final status
//! ([`Store::finish_job`]). A job may also end straight from `running` (failed, duplicate,
//! interrupted). A job only becomes `succeeded` once all its outputs are published; `partial`
//! and `failed` may leave some unpublished (uploads that did not reach their server, kept for
//! `retry`).

use rusqlite::types::{FromSqlError, Type};
use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::{
    now, outputs, sequences, Counts, JobRow, JobStatus, OutputRow, Result, Store, StoreError,
};

/// `SELECT` of a [`JobRow`] (joined with its file's name) followed by the given clauses; with
/// two arguments the first is an `INDEXED BY` clause for `jobs`.
macro_rules! select {
    ($tail:literal) => {
        $crate::store::jobs::select!("", $tail)
    };
    ($index:literal, $tail:literal) => {
        concat!(
            "SELECT j.id, j.profile, j.file_id, j.input_name, j.status, j.read_rows, j.filtered_rows,
                    j.rejected_rows, j.written_rows, j.started_at, j.finished_at, j.error,
                    j.failed_rows
             FROM jobs j ",
            $index,
            " JOIN files f ON f.id = j.file_id ",
            $tail
        )
    };
}
pub(super) use select;

/// A [`JobRow`] from a row of [`select!`].
pub(super) fn job_row(row: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: row.get(0)?,
        profile: row.get(1)?,
        file_id: row.get(2)?,
        file_name: row.get(3)?,
        status: status_at(row, 4)?,
        counts: Counts {
            read: row.get(5)?,
            filtered: row.get(6)?,
            rejected: row.get(7)?,
            written: row.get(8)?,
            failed: row.get(12)?,
        },
        started_at: row.get(9)?,
        finished_at: row.get(10)?,
        error: row.get(11)?,
    })
}

/// The status stored in column `index`; an unknown name is a conversion error.
fn status_at(row: &Row<'_>, index: usize) -> rusqlite::Result<JobStatus> {
    let name: String = row.get(index)?;
    JobStatus::parse(&name).ok_or_else(|| {
        let message = format!("unknown job status {name:?}");
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            Box::new(FromSqlError::Other(message.into())),
        )
    })
}

/// The status of job `job_id` inside `tx`, or [`StoreError::NotFound`].
pub(super) fn status_of(tx: &Transaction<'_>, job_id: i64) -> Result<JobStatus> {
    tx.query_row(
        "SELECT status FROM jobs WHERE id = ?1",
        params![job_id],
        |row| status_at(row, 0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("job {job_id}")))
}

/// Fails unless job `job_id` is in one of `from`.
pub(super) fn expect_status(
    tx: &Transaction<'_>,
    job_id: i64,
    from: &[JobStatus],
    to: JobStatus,
) -> Result<()> {
    let current = status_of(tx, job_id)?;
    if from.contains(&current) {
        Ok(())
    } else {
        Err(StoreError::BadTransition {
            job_id,
            from: current.as_str(),
            to: to.as_str(),
        })
    }
}

impl Store {
    /// Starts a job for file `file_id` of `profile`, in status `running`; returns its id.
    /// `input_name` is the name the content arrived under this time (the file row keeps the
    /// first name it was seen with).
    pub fn start_job(&self, profile: &str, file_id: i64, input_name: &str) -> Result<i64> {
        let tx = self.write_tx()?;
        let known: Option<i64> = tx
            .query_row(
                "SELECT id FROM files WHERE id = ?1",
                params![file_id],
                |row| row.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("file {file_id}")));
        }
        tx.execute(
            "INSERT INTO jobs (profile, file_id, input_name, status, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                profile,
                file_id,
                input_name,
                JobStatus::Running.as_str(),
                now()
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// In one transaction: takes the profile's `{seq}` number `seq` (the one the outputs were
    /// named with, see `sequences.rs`), records the job's outputs (all unpublished), its
    /// counts, and moves it from `running` to `committing`. From here on a crash is rolled
    /// forward.
    pub fn begin_commit(
        &self,
        job_id: i64,
        counts: Counts,
        outputs: &[OutputRow],
        seq: u64,
    ) -> Result<()> {
        let tx = self.write_tx()?;
        expect_status(&tx, job_id, &[JobStatus::Running], JobStatus::Committing)?;
        sequences::take(&tx, job_id, seq)?;
        outputs::insert(&tx, job_id, outputs)?;
        set_status(&tx, job_id, JobStatus::Committing, counts, None, None)?;
        tx.commit()?;
        Ok(())
    }

    /// Ends job `job_id` with a final `status`, its counts and, for failures, why.
    ///
    /// Only a `running` or `committing` job can finish, only with a final status, and
    /// `succeeded` only once every output of the job is published (`partial` and `failed` may
    /// leave outputs unpublished: uploads that did not reach their server, kept for retry).
    pub fn finish_job(
        &self,
        job_id: i64,
        status: JobStatus,
        counts: Counts,
        error: Option<&str>,
    ) -> Result<()> {
        let tx = self.write_tx()?;
        let current = status_of(&tx, job_id)?;
        if current.is_final() || !status.is_final() {
            return Err(StoreError::BadTransition {
                job_id,
                from: current.as_str(),
                to: status.as_str(),
            });
        }
        if status == JobStatus::Succeeded && outputs::unpublished(&tx, job_id)? > 0 {
            return Err(StoreError::BadTransition {
                job_id,
                from: "committing with unpublished outputs",
                to: status.as_str(),
            });
        }
        set_status(&tx, job_id, status, counts, Some(&now()), error)?;
        tx.commit()?;
        Ok(())
    }

    /// `hrbridge retry`: moves a `partial` or `failed` job back to `committing` so that its
    /// failed API rows are sent again and its unpublished outputs (uploads that failed) are
    /// published again, and returns how many rows that is. In one transaction: the outputs
    /// with failed rows are marked unpublished and those rows reopened (unsettled; the ones an
    /// API refused for good move to a new `Idempotency-Key` generation, see `ledger.rs`). A
    /// job with neither is refused (nothing to retry).
    pub fn reopen_for_retry(&self, job_id: i64) -> Result<u64> {
        let tx = self.write_tx()?;
        expect_status(
            &tx,
            job_id,
            &[JobStatus::Partial, JobStatus::Failed],
            JobStatus::Committing,
        )?;
        let rows: u64 = tx.query_row(
            "SELECT (SELECT count(DISTINCT line) FROM deliveries
                     WHERE job_id = ?1 AND state = 'failed')
                  + (SELECT coalesce(sum(rows), 0) FROM outputs
                     WHERE job_id = ?1 AND published = 0)",
            params![job_id],
            |r| r.get(0),
        )?;
        if rows == 0 {
            return Err(StoreError::NotFound(format!(
                "failed delivery of job {job_id} (nothing to retry)"
            )));
        }
        tx.execute(
            "UPDATE outputs SET published = 0 WHERE job_id = ?1 AND output_index IN
                (SELECT output_index FROM deliveries WHERE job_id = ?1 AND state = 'failed')",
            params![job_id],
        )?;
        super::ledger::reopen_failed(&tx, job_id)?;
        tx.execute(
            "UPDATE jobs SET status = ?2, finished_at = NULL, error = NULL WHERE id = ?1",
            params![job_id, JobStatus::Committing.as_str()],
        )?;
        tx.commit()?;
        Ok(rows)
    }

    /// Records why a `committing` job is still waiting (an upload whose server could not be
    /// reached); any other job is left alone.
    pub fn note_committing_error(&self, job_id: i64, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET error = ?2 WHERE id = ?1 AND status = ?3",
            params![job_id, error, JobStatus::Committing.as_str()],
        )?;
        Ok(())
    }

    /// Job `id`, if it exists.
    pub fn job(&self, id: i64) -> Result<Option<JobRow>> {
        let job = self
            .conn
            .query_row(select!("WHERE j.id = ?1"), params![id], job_row)
            .optional()?;
        Ok(job)
    }

    /// The `limit` newest jobs, newest first, of one profile or of all.
    pub fn recent_jobs(&self, limit: usize, profile: Option<&str>) -> Result<Vec<JobRow>> {
        // One statement per case: `?1 IS NULL OR j.profile = ?1` would keep SQLite from
        // using `jobs_by_profile`, and the dashboard asks this of every profile.
        let mut stmt = self.conn.prepare_cached(match profile {
            Some(_) => select!("WHERE j.profile = ?1 ORDER BY j.id DESC LIMIT ?2"),
            None => select!("WHERE ?1 IS NULL ORDER BY j.id DESC LIMIT ?2"),
        })?;
        let rows = stmt.query_map(params![profile, limit], job_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every job currently in `status`, oldest first (e.g. `running` ones after a crash).
    pub fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<JobRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(select!("WHERE j.status = ?1 ORDER BY j.id"))?;
        let rows = stmt.query_map(params![status.as_str()], job_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Writes status, counts, and (when given) the finish time and error of job `job_id`.
pub(super) fn set_status(
    tx: &Transaction<'_>,
    job_id: i64,
    status: JobStatus,
    counts: Counts,
    finished_at: Option<&str>,
    error: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE jobs SET status = ?2, read_rows = ?3, filtered_rows = ?4, rejected_rows = ?5,
                         written_rows = ?6, finished_at = ?7, error = ?8, failed_rows = ?9
         WHERE id = ?1",
        params![
            job_id,
            status.as_str(),
            counts.read,
            counts.filtered,
            counts.rejected,
            counts.written,
            finished_at,
            error,
            counts.failed
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::{temp_store, Counts, JobStatus, OutputRow, Store, StoreError};

    fn output(index: Option<usize>, name: &str) -> OutputRow {
        OutputRow {
            job_id: 0,
            output_index: index,
            temp_path: format!("outbox/.{name}.tmp"),
            final_path: format!("outbox/{name}"),
            rows: 2,
            bytes: 40,
            sha256: "cd".repeat(32),
            published: true,
        }
    }

    fn job_in(store: &Store, profile: &str, sha: &str) -> i64 {
        let file = store
            .upsert_file(profile, "in.csv", sha, 5, "dir:in")
            .unwrap();
        store.start_job(profile, file.id, "x.csv").unwrap()
    }

    #[test]
    fn commit_publish_finish_round_trip() {
        let (dir, store) = temp_store();
        let job = job_in(&store, "p", "aa");
        let started = store.job(job).unwrap().unwrap();
        assert_eq!(started.status, JobStatus::Running);
        assert_eq!(started.finished_at, None);

        let counts = Counts {
            read: 10,
            filtered: 2,
            rejected: 1,
            written: 7,
            failed: 0,
        };
        let outs = [output(Some(0), "a.csv"), output(None, "a.rejects.csv")];
        store
            .begin_commit(job, counts, &outs, store.peek_seq("p").unwrap())
            .unwrap();
        let committing = store.job(job).unwrap().unwrap();
        assert_eq!(committing.status, JobStatus::Committing);
        assert_eq!(committing.counts, counts);
        let stored = store.job_outputs(job).unwrap();
        let expected: Vec<OutputRow> = outs
            .iter()
            .map(|o| OutputRow {
                job_id: job,
                published: false,
                ..o.clone()
            })
            .collect();
        assert_eq!(stored, expected);

        let early = store.finish_job(job, JobStatus::Succeeded, counts, None);
        assert!(
            matches!(early, Err(StoreError::BadTransition { .. })),
            "{early:?}"
        );
        store.mark_published(job, "outbox/a.csv").unwrap();
        store.mark_published(job, "outbox/a.rejects.csv").unwrap();
        store.mark_published(job, "outbox/a.csv").unwrap();
        store
            .finish_job(job, JobStatus::Partial, counts, None)
            .unwrap();
        drop(store);

        let store = Store::open(dir.path()).unwrap();
        let done = store.job(job).unwrap().unwrap();
        assert_eq!(done.status, JobStatus::Partial);
        assert_eq!(done.counts, counts);
        assert!(done.finished_at.is_some());
        assert!(store.job_outputs(job).unwrap().iter().all(|o| o.published));
    }

    #[test]
    fn status_machine_refuses_illegal_moves() {
        let (_dir, store) = temp_store();
        let job = job_in(&store, "p", "aa");
        let still_running = store.finish_job(job, JobStatus::Committing, Counts::default(), None);
        assert!(matches!(
            still_running,
            Err(StoreError::BadTransition {
                from: "running",
                to: "committing",
                ..
            })
        ));
        store
            .finish_job(
                job,
                JobStatus::Failed,
                Counts::default(),
                Some("header: no column X"),
            )
            .unwrap();
        let failed = store.job(job).unwrap().unwrap();
        assert_eq!(failed.error.as_deref(), Some("header: no column X"));
        let again = store.begin_commit(job, Counts::default(), &[], store.peek_seq("p").unwrap());
        assert!(matches!(
            again,
            Err(StoreError::BadTransition { from: "failed", .. })
        ));
        let refinish = store.finish_job(job, JobStatus::Succeeded, Counts::default(), None);
        assert!(matches!(refinish, Err(StoreError::BadTransition { .. })));
        assert!(matches!(
            store.finish_job(999, JobStatus::Failed, Counts::default(), None),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.start_job("p", 999, "x.csv"),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.job(999).unwrap(), None);
    }

    #[test]
    fn a_job_whose_upload_failed_waits_then_reopens_for_retry() {
        let (_dir, store) = temp_store();
        let job = job_in(&store, "p", "aa");
        let outs = [output(Some(0), "a.csv")];
        store
            .begin_commit(job, Counts::default(), &outs, store.peek_seq("p").unwrap())
            .unwrap();
        store.note_committing_error(job, "server down").unwrap();
        let waiting = store.job(job).unwrap().unwrap();
        assert_eq!(waiting.status, JobStatus::Committing);
        assert_eq!(waiting.error.as_deref(), Some("server down"));
        store
            .finish_job(job, JobStatus::Failed, Counts::default(), Some("refused"))
            .unwrap();
        // A finished job's error is not touched by a late note.
        store.note_committing_error(job, "late").unwrap();
        assert_eq!(
            store.job(job).unwrap().unwrap().error.as_deref(),
            Some("refused")
        );
        assert_eq!(store.reopen_for_retry(job).unwrap(), 2, "the output's rows");
        let reopened = store.job(job).unwrap().unwrap();
        assert_eq!(reopened.status, JobStatus::Committing);
        assert_eq!(reopened.error, None);
    }

    #[test]
    fn failed_commit_stores_nothing() {
        let (_dir, store) = temp_store();
        let job = job_in(&store, "p", "aa");
        // Two outputs with the same final path violate UNIQUE: the whole commit rolls back.
        let outs = [output(Some(0), "a.csv"), output(Some(1), "a.csv")];
        assert!(store
            .begin_commit(job, Counts::default(), &outs, store.peek_seq("p").unwrap())
            .is_err());
        assert_eq!(store.job(job).unwrap().unwrap().status, JobStatus::Running);
        assert!(store.job_outputs(job).unwrap().is_empty());
    }

    #[test]
    fn listings_are_ordered_limited_and_filtered() {
        let (_dir, store) = temp_store();
        let a1 = job_in(&store, "a", "01");
        let b1 = job_in(&store, "b", "02");
        let a2 = job_in(&store, "a", "03");
        store
            .finish_job(b1, JobStatus::Failed, Counts::default(), None)
            .unwrap();
        let ids = |rows: Vec<crate::store::JobRow>| rows.iter().map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(ids(store.recent_jobs(10, None).unwrap()), [a2, b1, a1]);
        assert_eq!(ids(store.recent_jobs(2, None).unwrap()), [a2, b1]);
        assert_eq!(ids(store.recent_jobs(10, Some("a")).unwrap()), [a2, a1]);
        assert_eq!(
            ids(store.recent_jobs(10, Some("zz")).unwrap()),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(store.jobs_with_status(JobStatus::Running).unwrap()),
            [a1, a2]
        );
        assert_eq!(
            ids(store.jobs_with_status(JobStatus::Failed).unwrap()),
            [b1]
        );
    }
}
