//! Rejected rows of a job, kept so operators can see every reason after the fact.

use rusqlite::{params, Row};

use super::{jobs, RejectionRow, Result, Store};

impl Store {
    /// Records `rows` for job `job_id` in one transaction with one prepared statement (fast for
    /// thousands of rows). Reasons must already be PII-masked.
    pub fn add_rejections(&self, job_id: i64, rows: &[RejectionRow]) -> Result<()> {
        let tx = self.write_tx()?;
        jobs::status_of(&tx, job_id)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO rejections (job_id, row, sheet, column_name, field, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in rows {
                stmt.execute(params![job_id, r.row, r.sheet, r.column, r.field, r.reason])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The first `limit` rejections of job `job_id`, in the order they were recorded.
    pub fn job_rejections(&self, job_id: i64, limit: usize) -> Result<Vec<RejectionRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT row, sheet, column_name, field, reason
             FROM rejections WHERE job_id = ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![job_id, limit], rejection_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Store {
    /// The rejections of row `row` of job `job_id` (one per failing field), as recorded.
    pub fn row_rejections(&self, job_id: i64, row: u64) -> Result<Vec<RejectionRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT row, sheet, column_name, field, reason
             FROM rejections WHERE job_id = ?1 AND row = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![job_id, row], rejection_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A [`RejectionRow`] in the column order of [`Store::job_rejections`].
fn rejection_row(row: &Row<'_>) -> rusqlite::Result<RejectionRow> {
    Ok(RejectionRow {
        row: row.get(0)?,
        sheet: row.get(1)?,
        column: row.get(2)?,
        field: row.get(3)?,
        reason: row.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::store::{temp_store, RejectionRow, StoreError};

    fn rejection(row: u64) -> RejectionRow {
        RejectionRow {
            row,
            sheet: row.is_multiple_of(2).then(|| "Hires".to_string()),
            column: Some("hire_date".into()),
            field: Some("start_date".into()),
            reason: format!("row {row}: not a date"),
        }
    }

    #[test]
    fn thousands_of_rejections_round_trip_in_order() {
        let (_dir, store) = temp_store();
        let file = store.upsert_file("p", "a.csv", "aa", 1, "dir:in").unwrap();
        let job = store.start_job("p", file.id, "x.csv").unwrap();
        let rows: Vec<RejectionRow> = (2..5002).map(rejection).collect();
        store.add_rejections(job, &rows).unwrap();
        assert_eq!(store.job_rejections(job, 3).unwrap(), rows[..3].to_vec());
        assert_eq!(store.job_rejections(job, 10_000).unwrap(), rows);
        assert_eq!(store.row_rejections(job, 7).unwrap(), rows[5..6].to_vec());
        assert!(store.row_rejections(job, 1).unwrap().is_empty());
        assert!(store.job_rejections(job + 1, 10).unwrap().is_empty());
    }

    #[test]
    fn rejections_of_an_unknown_job_are_refused() {
        let (_dir, store) = temp_store();
        let err = store.add_rejections(42, &[rejection(2)]).unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
        assert_eq!(err.to_string(), "state database has no job 42");
    }
}
