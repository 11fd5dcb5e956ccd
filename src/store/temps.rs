//! Temp files a job creates, noted before they exist, so crash recovery can remove what an
//! interrupted job left behind (possibly personal data in a hidden file).

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

    /// The temp files noted for `job_id`.
    pub fn job_temps(&self, job_id: i64) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM temp_files WHERE job_id = ?1 ORDER BY path")?;
        let rows = stmt.query_map(params![job_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::temp_store;
    use std::path::Path;

    #[test]
    fn temps_are_listed_per_job() {
        let (_dir, store) = temp_store();
        let file = store.upsert_file("p", "x.csv", "aa", 1, "dir:x").unwrap();
        let job = store.start_job("p", file.id, "x.csv").unwrap();
        store.note_temp(job, Path::new("/o/.t2")).unwrap();
        store.note_temp(job, Path::new("/o/.t1")).unwrap();
        store.note_temp(job, Path::new("/o/.t1")).unwrap();
        assert_eq!(store.job_temps(job).unwrap(), ["/o/.t1", "/o/.t2"]);
        assert!(store.job_temps(job + 1).unwrap().is_empty());
    }
}
