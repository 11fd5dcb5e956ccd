//! The per-person trace index: pages of encoded entries (which row of a job carried which
//! keyed person hash, and what became of it), one hash bucket per page. The store keeps the
//! pages as blobs and reads them back by bucket or by job; `privacy::trace` owns the encoding
//! and the buckets.

use rusqlite::{params, OptionalExtension};

use super::{jobs, Result, Store};

/// One page of a job's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracePage {
    pub job_id: i64,
    pub entries: Vec<u8>,
}

impl Store {
    /// Adds `pages` (`(bucket, entries)`) to the trace of job `job_id` in one transaction; a
    /// job's pages of one bucket come back in the order written.
    pub fn add_trace_pages(&self, job_id: i64, pages: &[(u16, &[u8])]) -> Result<()> {
        let tx = self.write_tx()?;
        jobs::status_of(&tx, job_id)?;
        tx.execute(
            "INSERT INTO trace_jobs (job_id) VALUES (?1) ON CONFLICT (job_id) DO NOTHING",
            params![job_id],
        )?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO trace_pages (bucket, job_id, entries) VALUES (?1, ?2, ?3)",
            )?;
            for (bucket, entries) in pages {
                stmt.execute(params![bucket, job_id, entries])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Names the sheets that the trace pages of job `job_id` number (in their order).
    pub fn set_trace_sheets(&self, job_id: i64, sheets: &[String]) -> Result<()> {
        let names = serde_json::to_string(sheets).map_err(std::io::Error::other)?;
        self.conn.execute(
            "UPDATE trace_jobs SET sheets = ?2 WHERE job_id = ?1",
            params![job_id, names],
        )?;
        Ok(())
    }

    /// The sheets job `job_id`'s trace pages number (empty for a CSV input).
    pub fn trace_sheets(&self, job_id: i64) -> Result<Vec<String>> {
        let names: Option<String> = self
            .conn
            .query_row(
                "SELECT sheets FROM trace_jobs WHERE job_id = ?1",
                params![job_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(names
            .and_then(|n| serde_json::from_str(&n).ok())
            .unwrap_or_default())
    }

    /// Every page of `bucket`, of jobs of `profile` when given, newest job first.
    pub fn trace_bucket(&self, bucket: u16, profile: Option<&str>) -> Result<Vec<TracePage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.job_id, t.entries FROM trace_pages t JOIN jobs j ON j.id = t.job_id
             WHERE t.bucket = ?1 AND (?2 IS NULL OR j.profile = ?2)
             ORDER BY t.job_id DESC, t.id",
        )?;
        let rows = stmt.query_map(params![bucket, profile], |r| {
            Ok(TracePage {
                job_id: r.get(0)?,
                entries: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every page of job `job_id` in buckets `0..buckets`.
    pub fn job_trace_pages(&self, job_id: i64, buckets: u16) -> Result<Vec<TracePage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT entries FROM trace_pages WHERE bucket = ?1 AND job_id = ?2 ORDER BY id",
        )?;
        let mut pages = Vec::new();
        for bucket in 0..buckets {
            let rows = stmt.query_map(params![bucket, job_id], |r| r.get(0))?;
            for entries in rows {
                pages.push(TracePage {
                    job_id,
                    entries: entries?,
                });
            }
        }
        Ok(pages)
    }

    /// Removes the trace of every job of `profile` that finished before `before` (RFC 3339),
    /// each job in its own transaction; returns how many jobs.
    pub fn prune_traces(&self, profile: &str, before: &str, buckets: u16) -> Result<usize> {
        let old: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT t.job_id FROM trace_jobs t JOIN jobs j ON j.id = t.job_id
                 WHERE j.profile = ?1 AND j.finished_at IS NOT NULL AND j.finished_at < ?2
                 ORDER BY t.job_id",
            )?;
            let rows = stmt.query_map(params![profile, before], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for &job_id in &old {
            let tx = self.write_tx()?;
            {
                let mut stmt =
                    tx.prepare_cached("DELETE FROM trace_pages WHERE bucket = ?1 AND job_id = ?2")?;
                for bucket in 0..buckets {
                    stmt.execute(params![bucket, job_id])?;
                }
            }
            tx.execute("DELETE FROM trace_jobs WHERE job_id = ?1", params![job_id])?;
            tx.commit()?;
        }
        Ok(old.len())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{temp_store, Counts, JobStatus, StoreError};

    #[test]
    fn pages_come_back_by_bucket_newest_job_first_and_by_job() {
        let (_dir, store) = temp_store();
        let file = store.upsert_file("p", "a.csv", "aa", 1, "dir:in").unwrap();
        let one = store.start_job("p", file.id, "a.csv").unwrap();
        let two = store.start_job("q", file.id, "a.csv").unwrap();
        store
            .add_trace_pages(one, &[(3, b"one-3"), (7, b"one-7")])
            .unwrap();
        store.add_trace_pages(one, &[(3, b"one-3b")]).unwrap();
        store.add_trace_pages(two, &[(3, b"two-3")]).unwrap();
        let bucket: Vec<(i64, Vec<u8>)> = store
            .trace_bucket(3, None)
            .unwrap()
            .into_iter()
            .map(|p| (p.job_id, p.entries))
            .collect();
        assert_eq!(
            bucket,
            [
                (two, b"two-3".to_vec()),
                (one, b"one-3".to_vec()),
                (one, b"one-3b".to_vec())
            ]
        );
        assert_eq!(store.trace_bucket(3, Some("q")).unwrap().len(), 1);
        assert!(store.trace_bucket(4, None).unwrap().is_empty());
        let of_one: Vec<Vec<u8>> = store
            .job_trace_pages(one, 8)
            .unwrap()
            .into_iter()
            .map(|p| p.entries)
            .collect();
        assert_eq!(
            of_one,
            [b"one-3".to_vec(), b"one-3b".to_vec(), b"one-7".to_vec()]
        );

        store
            .set_trace_sheets(one, &["Hires".into(), "Leavers".into()])
            .unwrap();
        assert_eq!(store.trace_sheets(one).unwrap(), ["Hires", "Leavers"]);
        assert!(store.trace_sheets(two).unwrap().is_empty());
    }

    #[test]
    fn retention_prunes_the_trace_of_finished_jobs_only() {
        let (_dir, store) = temp_store();
        let file = store.upsert_file("p", "a.csv", "aa", 1, "dir:in").unwrap();
        let done = store.start_job("p", file.id, "a.csv").unwrap();
        let running = store.start_job("p", file.id, "b.csv").unwrap();
        store.add_trace_pages(done, &[(1, b"d")]).unwrap();
        store.add_trace_pages(running, &[(1, b"r")]).unwrap();
        store
            .finish_job(done, JobStatus::Succeeded, Counts::default(), None)
            .unwrap();
        assert_eq!(
            store.prune_traces("p", "2000-01-01T00:00:00Z", 8).unwrap(),
            0
        );
        assert_eq!(
            store.prune_traces("p", "9999-01-01T00:00:00Z", 8).unwrap(),
            1
        );
        let left: Vec<i64> = store
            .trace_bucket(1, None)
            .unwrap()
            .into_iter()
            .map(|p| p.job_id)
            .collect();
        assert_eq!(left, [running]);
        assert_eq!(
            store.prune_traces("p", "9999-01-01T00:00:00Z", 8).unwrap(),
            0
        );
    }

    #[test]
    fn pages_of_an_unknown_job_are_refused() {
        let (_dir, store) = temp_store();
        let err = store.add_trace_pages(9, &[(0, b"x")]).unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    }
}
