//! Temp files a job creates, noted before they exist, so that what a failed or interrupted
//! job left behind (possibly personal data in a hidden file) can always be found and removed.
//!
//! A row lives until the file is gone: a temp that becomes one of the job's outputs at commit
//! leaves this table (the output row owns it), and one that could not be removed stays for
//! the next pass to try again.

use rusqlite::params;

use super::{Result, Store};

impl Store {
    /// Notes that `job_id` is about to create the temp file `path`.
    pub fn note_temp(&self, job_id: i64, path: &std::path::Path) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO temp_files (job_id, path) VALUES (?1, ?2)",
            params![job_id, path.display().to_string()],
        )?;
        Ok(())
    }

    /// Forgets the temp file `path` of `job_id` (it is gone).
    pub fn forget_temp(&self, job_id: i64, path: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM temp_files WHERE job_id = ?1 AND path = ?2",
            params![job_id, path],
        )?;
        Ok(())
    }

    /// (job, path) of the temp files of `profile`'s jobs that have ended (neither `running`
    /// nor `committing`): leftovers nothing will use.
    pub fn leftover_temps(&self, profile: &str) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT t.job_id, t.path FROM temp_files t JOIN jobs j ON j.id = t.job_id
              WHERE j.profile = ?1 AND j.status NOT IN ('running', 'committing', 'held')
              ORDER BY t.job_id, t.path",
        )?;
        let rows = stmt.query_map(params![profile], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::temp_store;
    use std::path::Path;

    #[test]
    fn temps_are_leftovers_once_their_job_has_ended_unless_they_became_outputs() {
        use crate::store::{Counts, JobStatus, OutputRow};
        let (_dir, store) = temp_store();
        let file = store.upsert_file("p", "x.csv", "aa", 1, "dir:x").unwrap();
        let job = store.start_job("p", file.id, "x.csv").unwrap();
        store.note_temp(job, Path::new("/o/.t2")).unwrap();
        store.note_temp(job, Path::new("/o/.t1")).unwrap();
        store.note_temp(job, Path::new("/o/.t1")).unwrap();
        store.note_temp(job, Path::new("/o/.spool")).unwrap();
        assert!(
            store.leftover_temps("p").unwrap().is_empty(),
            "still running"
        );
        let spool = OutputRow {
            job_id: job,
            output_index: Some(0),
            temp_path: "/o/.spool".into(),
            final_path: "https://api".into(),
            rows: 1,
            bytes: 1,
            sha256: "s".into(),
            published: false,
        };
        store
            .begin_commit(
                job,
                Counts::default(),
                &[spool],
                store.peek_seq("p").unwrap(),
            )
            .unwrap();
        assert!(store.leftover_temps("p").unwrap().is_empty(), "committing");
        store
            .finish_job(job, JobStatus::Failed, Counts::default(), Some("x"))
            .unwrap();
        let left = store.leftover_temps("p").unwrap();
        assert_eq!(left, [(job, "/o/.t1".into()), (job, "/o/.t2".into())]);
        assert!(store.leftover_temps("q").unwrap().is_empty());
        store.forget_temp(job, "/o/.t1").unwrap();
        assert_eq!(store.leftover_temps("p").unwrap(), [(job, "/o/.t2".into())]);
    }
}
