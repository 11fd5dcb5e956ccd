//! The persistent counter behind the `{seq}` output name template: one number per committed
//! job of a profile (1, 2, 3 ...), surviving restarts so a name is never reused.
//!
//! A job names its outputs with the number the profile's next commit will take
//! ([`Store::peek_seq`]) and takes it in the same transaction that records those outputs
//! (`begin_commit`). A job that fails or is interrupted before its commit takes nothing, and
//! all outputs of one job share one number. (A committed job whose upload is then refused
//! keeps its number: its file may still be sent with `retry`.)

use rusqlite::{params, Transaction};

use super::{Result, Store, StoreError};

impl Store {
    /// The number the next commit of `profile` takes, starting at 1.
    pub fn peek_seq(&self, profile: &str) -> Result<u64> {
        let last: Option<u64> = self
            .conn
            .query_row(
                "SELECT last FROM job_sequences WHERE profile = ?1",
                params![profile],
                |row| row.get(0),
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        Ok(last.unwrap_or(0) + 1)
    }
}

/// Takes the next number of job `job_id`'s profile, which must be `expected` (the one its
/// outputs were named with; only one process runs against a state folder, and a profile never
/// runs two jobs at once).
pub(super) fn take(tx: &Transaction<'_>, job_id: i64, expected: u64) -> Result<()> {
    let taken: u64 = tx.query_row(
        "INSERT INTO job_sequences (profile, last)
              SELECT profile, 1 FROM jobs WHERE id = ?1
         ON CONFLICT (profile) DO UPDATE SET last = last + 1
         RETURNING last",
        params![job_id],
        |row| row.get(0),
    )?;
    if taken != expected {
        return Err(StoreError::Corrupt(format!(
            "job {job_id} named its outputs with {{seq}} {expected}, but the profile's next number is {taken}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::{temp_store, Counts, JobStatus, Store};

    #[test]
    fn only_commits_take_numbers_and_they_survive_reopen() {
        let (dir, store) = temp_store();
        let file = store.upsert_file("p", "x.csv", "aa", 1, "dir:x").unwrap();
        assert_eq!(store.peek_seq("p").unwrap(), 1);
        // A job that fails before its commit takes no number.
        let failed = store.start_job("p", file.id, "x.csv").unwrap();
        store
            .finish_job(failed, JobStatus::Failed, Counts::default(), Some("x"))
            .unwrap();
        assert_eq!(store.peek_seq("p").unwrap(), 1);
        let job = store.start_job("p", file.id, "x.csv").unwrap();
        store.begin_commit(job, Counts::default(), &[], 1).unwrap();
        assert_eq!(store.peek_seq("p").unwrap(), 2);
        assert_eq!(store.peek_seq("q").unwrap(), 1);
        // A job that named its outputs with a number already taken cannot commit.
        let late = store.start_job("p", file.id, "x.csv").unwrap();
        assert!(store.begin_commit(late, Counts::default(), &[], 1).is_err());
        assert_eq!(store.job(late).unwrap().unwrap().status, JobStatus::Running);
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.peek_seq("p").unwrap(), 2);
    }
}
