//! Input files the store has seen, keyed by content: the basis of duplicate detection.

use rusqlite::{params, OptionalExtension, Row};

use super::{jobs, FileRow, JobRow, Result, Store};

impl Store {
    /// Records a file seen by `profile`, or returns the row already there for the same content.
    ///
    /// Content is identified by `(profile, sha256)`: a second file with the same bytes keeps the
    /// first row's name, size, source and `first_seen`.
    pub fn upsert_file(
        &self,
        profile: &str,
        name: &str,
        sha256: &str,
        size: u64,
        source: &str,
    ) -> Result<FileRow> {
        let row = self.conn.query_row(
            "INSERT INTO files (profile, name, sha256, size, source, first_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (profile, sha256) DO UPDATE SET profile = excluded.profile
             RETURNING id, profile, name, sha256, size, source, first_seen",
            params![profile, name, sha256, size, source, super::now()],
            file_row,
        )?;
        Ok(row)
    }

    /// The file with this id.
    pub fn file(&self, id: i64) -> Result<Option<FileRow>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, profile, name, sha256, size, source, first_seen FROM files WHERE id = ?1",
                params![id],
                file_row,
            )
            .optional()?;
        Ok(row)
    }

    /// The latest job that delivered a file with this content for this profile, or is
    /// delivering it (status succeeded, partial or committing), if any: the same content is
    /// never taken again while a commit of it waits to be finished.
    pub fn delivered_before(&self, profile: &str, sha256: &str) -> Result<Option<JobRow>> {
        let job = self
            .conn
            .query_row(
                jobs::select!(
                    "WHERE f.profile = ?1 AND f.sha256 = ?2
                       AND j.status IN ('succeeded', 'partial', 'committing')
                     ORDER BY j.id DESC LIMIT 1"
                ),
                params![profile, sha256],
                jobs::job_row,
            )
            .optional()?;
        Ok(job)
    }
}

impl Store {
    /// The newest job of `profile` that read the content `sha256`, whatever its status.
    pub fn last_job_of_content(&self, profile: &str, sha256: &str) -> Result<Option<JobRow>> {
        let job = self
            .conn
            .query_row(
                jobs::select!("WHERE f.profile = ?1 AND f.sha256 = ?2 ORDER BY j.id DESC LIMIT 1"),
                params![profile, sha256],
                jobs::job_row,
            )
            .optional()?;
        Ok(job)
    }
}

/// A `files` row in the column order of the queries above.
fn file_row(row: &Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: row.get(0)?,
        profile: row.get(1)?,
        name: row.get(2)?,
        sha256: row.get(3)?,
        size: row.get(4)?,
        source: row.get(5)?,
        first_seen: row.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::store::{temp_store, Counts, JobStatus};

    #[test]
    fn same_content_returns_the_first_row() {
        let (_dir, store) = temp_store();
        let first = store
            .upsert_file("hires", "hires_1.csv", "aa", 10, "dir:inbox")
            .unwrap();
        let again = store
            .upsert_file("hires", "hires_2.csv", "aa", 99, "dir:other")
            .unwrap();
        assert_eq!(again, first);
        assert_eq!(first.name, "hires_1.csv");
        assert_eq!(first.size, 10);
        assert!(first.first_seen.ends_with('Z'), "{}", first.first_seen);
        let other_content = store
            .upsert_file("hires", "hires_2.csv", "bb", 99, "dir:inbox")
            .unwrap();
        assert_ne!(other_content.id, first.id);
        let other_profile = store
            .upsert_file("leavers", "hires_1.csv", "aa", 10, "dir:inbox")
            .unwrap();
        assert_ne!(other_profile.id, first.id);
    }

    #[test]
    fn delivered_before_counts_succeeded_partial_and_committing_jobs() {
        let (_dir, store) = temp_store();
        let file = store.upsert_file("p", "a.csv", "aa", 1, "dir:in").unwrap();
        assert_eq!(store.delivered_before("p", "aa").unwrap(), None);
        for status in [
            JobStatus::Failed,
            JobStatus::Duplicate,
            JobStatus::Interrupted,
        ] {
            let job = store.start_job("p", file.id, "x.csv").unwrap();
            store
                .finish_job(job, status, Counts::default(), None)
                .unwrap();
        }
        store.start_job("p", file.id, "x.csv").unwrap();
        assert_eq!(store.delivered_before("p", "aa").unwrap(), None);

        let partial = store.start_job("p", file.id, "x.csv").unwrap();
        store
            .finish_job(partial, JobStatus::Partial, Counts::default(), None)
            .unwrap();
        let succeeded = store.start_job("p", file.id, "a_again.csv").unwrap();
        store
            .finish_job(succeeded, JobStatus::Succeeded, Counts::default(), None)
            .unwrap();
        let latest = store.delivered_before("p", "aa").unwrap().unwrap();
        assert_eq!(latest.id, succeeded);
        assert_eq!(latest.file_name, "a_again.csv");
        assert_eq!(store.delivered_before("other", "aa").unwrap(), None);
        assert_eq!(store.delivered_before("p", "bb").unwrap(), None);

        // A commit that waits to be finished holds its content: it is not taken again.
        let waiting = store.start_job("p", file.id, "x.csv").unwrap();
        let seq = store.peek_seq("p").unwrap();
        store
            .begin_commit(waiting, Counts::default(), &[], seq)
            .unwrap();
        assert_eq!(
            store.delivered_before("p", "aa").unwrap().unwrap().id,
            waiting
        );
    }
}
