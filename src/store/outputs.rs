//! Output files of jobs: recorded before they are published, so a crash between the two is
//! finished (rolled forward) on the next start instead of losing or duplicating a delivery.

use rusqlite::{params, Row, Transaction};

use super::{OutputRow, Result, Store, StoreError};

/// Records `outputs` of job `job_id` as unpublished (their own `job_id`/`published` are
/// ignored); their temp files now belong to the output rows, no longer to `temp_files`.
pub(super) fn insert(tx: &Transaction<'_>, job_id: i64, outputs: &[OutputRow]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO outputs (job_id, output_index, temp_path, final_path, rows, bytes, sha256,
                              published)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
    )?;
    let mut owned = tx.prepare_cached("DELETE FROM temp_files WHERE job_id = ?1 AND path = ?2")?;
    for out in outputs {
        owned.execute(params![job_id, out.temp_path])?;
        stmt.execute(params![
            job_id,
            out.output_index,
            out.temp_path,
            out.final_path,
            out.rows,
            out.bytes,
            out.sha256
        ])?;
    }
    Ok(())
}

/// Gives the unpublished outputs of job `job_id` up: their rows go, their temp files are
/// temp files again (removed by the next sweep, `engine::leftovers`).
pub(super) fn forget_unpublished(tx: &Transaction<'_>, job_id: i64) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO temp_files (job_id, path)
             SELECT job_id, temp_path FROM outputs WHERE job_id = ?1 AND published = 0",
        params![job_id],
    )?;
    tx.execute(
        "DELETE FROM outputs WHERE job_id = ?1 AND published = 0",
        params![job_id],
    )?;
    Ok(())
}

/// How many outputs of job `job_id` are not yet published.
pub(super) fn unpublished(tx: &Transaction<'_>, job_id: i64) -> Result<u64> {
    let count = tx.query_row(
        "SELECT count(*) FROM outputs WHERE job_id = ?1 AND published = 0",
        params![job_id],
        |row| row.get(0),
    )?;
    Ok(count)
}

impl Store {
    /// Notes that the output of job `job_id` at `final_path` has been renamed into place.
    /// Marking an output twice is harmless (crash recovery may repeat it).
    pub fn mark_published(&self, job_id: i64, final_path: &str) -> Result<()> {
        let changed = self.conn.execute(
            "UPDATE outputs SET published = 1 WHERE job_id = ?1 AND final_path = ?2",
            params![job_id, final_path],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "output {final_path} of job {job_id}"
            )));
        }
        Ok(())
    }

    /// Published outputs of `profile` whose job finished before `before` (RFC 3339) and that
    /// were not purged yet: `(job_id, output_index, final_path)`, oldest first.
    pub fn outputs_to_purge(
        &self,
        profile: &str,
        before: &str,
    ) -> Result<Vec<(i64, Option<usize>, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.job_id, o.output_index, o.final_path FROM outputs o
             JOIN jobs j ON j.id = o.job_id
             WHERE j.profile = ?1 AND o.published = 1 AND o.purged_at IS NULL
               AND j.finished_at IS NOT NULL AND j.finished_at < ?2
             ORDER BY o.id",
        )?;
        let rows = stmt.query_map(params![profile, before], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Notes that the output of job `job_id` at `final_path` was removed by `retention`.
    pub fn mark_purged(&self, job_id: i64, final_path: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE outputs SET purged_at = ?3 WHERE job_id = ?1 AND final_path = ?2",
            params![job_id, final_path, super::now()],
        )?;
        Ok(())
    }

    /// The outputs of job `job_id`, in the order they were recorded.
    pub fn job_outputs(&self, job_id: i64) -> Result<Vec<OutputRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT job_id, output_index, temp_path, final_path, rows, bytes, sha256, published
             FROM outputs WHERE job_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![job_id], output_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// An [`OutputRow`] in the column order of [`Store::job_outputs`].
fn output_row(row: &Row<'_>) -> rusqlite::Result<OutputRow> {
    Ok(OutputRow {
        job_id: row.get(0)?,
        output_index: row.get(1)?,
        temp_path: row.get(2)?,
        final_path: row.get(3)?,
        rows: row.get(4)?,
        bytes: row.get(5)?,
        sha256: row.get(6)?,
        published: row.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::store::{temp_store, Counts, StoreError};

    #[test]
    fn publishing_an_unknown_output_is_refused() {
        let (_dir, store) = temp_store();
        let file = store.upsert_file("p", "a.csv", "aa", 1, "dir:in").unwrap();
        let job = store.start_job("p", file.id, "x.csv").unwrap();
        store
            .begin_commit(job, Counts::default(), &[], store.peek_seq("p").unwrap())
            .unwrap();
        let err = store.mark_published(job, "outbox/none.csv").unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
        assert!(err.to_string().contains("outbox/none.csv"), "{err}");
    }
}
