//! Files seen on SFTP servers, one row per (profile, name): the version last listed (size and
//! mtime), since when that version has been seen unchanged, and how far it got.
//!
//! This is what lets a poller restart without fetching a file twice or missing one, judge
//! stability across listings, and run a file's `after` action only once its job is committed.

use rusqlite::{params, OptionalExtension, Row};

use super::{Result, Store};

/// How far a remote file version has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteState {
    /// Listed; not fetched (or its fetch did not finish).
    Seen,
    /// Its job delivered it (or it was a duplicate): the `after` action is pending.
    Delivered,
    /// Its job failed; kept in error/, not fetched again unless the file changes.
    Failed,
    /// The `after` action ran (or there was none to run).
    Finished,
}

impl RemoteState {
    fn as_str(self) -> &'static str {
        match self {
            RemoteState::Seen => "seen",
            RemoteState::Delivered => "delivered",
            RemoteState::Failed => "failed",
            RemoteState::Finished => "finished",
        }
    }

    fn parse(s: &str) -> RemoteState {
        match s {
            "delivered" => RemoteState::Delivered,
            "failed" => RemoteState::Failed,
            "finished" => RemoteState::Finished,
            _ => RemoteState::Seen,
        }
    }
}

/// A remote file version as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRow {
    pub profile: String,
    pub name: String,
    pub size: u64,
    /// Seconds since the epoch, as the server reports it.
    pub mtime: i64,
    pub state: RemoteState,
    /// When this size and mtime were first listed (milliseconds since the epoch).
    pub observed_ms: i64,
    pub job_id: Option<i64>,
}

fn remote_row(row: &Row<'_>) -> rusqlite::Result<RemoteRow> {
    let state: String = row.get(4)?;
    Ok(RemoteRow {
        profile: row.get(0)?,
        name: row.get(1)?,
        size: row.get(2)?,
        mtime: row.get(3)?,
        state: RemoteState::parse(&state),
        observed_ms: row.get(5)?,
        job_id: row.get(6)?,
    })
}

const COLUMNS: &str = "profile, name, size, mtime, state, observed_ms, job_id";

impl Store {
    /// Records that `name` was listed with `size` and `mtime` at `now_ms`. A new file, or a
    /// changed size or mtime, starts a new version (state `seen`, observed now); an unchanged
    /// one keeps its row. Returns the row.
    pub fn remote_observe(
        &self,
        profile: &str,
        name: &str,
        size: u64,
        mtime: i64,
        now_ms: i64,
    ) -> Result<RemoteRow> {
        let row = self.conn.query_row(
            &format!(
                "INSERT INTO remote_files ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, 'seen', ?5, NULL)
                 ON CONFLICT (profile, name) DO UPDATE SET
                     state = CASE WHEN size = excluded.size AND mtime = excluded.mtime
                                  THEN state ELSE 'seen' END,
                     observed_ms = CASE WHEN size = excluded.size AND mtime = excluded.mtime
                                  THEN observed_ms ELSE excluded.observed_ms END,
                     job_id = CASE WHEN size = excluded.size AND mtime = excluded.mtime
                                  THEN job_id ELSE NULL END,
                     size = excluded.size,
                     mtime = excluded.mtime
                 RETURNING {COLUMNS}"
            ),
            params![profile, name, size, mtime, now_ms],
            remote_row,
        )?;
        Ok(row)
    }

    /// Moves the version `size`/`mtime` of `name` to `state` (a newer version is left alone).
    pub fn remote_set(
        &self,
        profile: &str,
        name: &str,
        (size, mtime): (u64, i64),
        state: RemoteState,
        job_id: Option<i64>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE remote_files SET state = ?5, job_id = COALESCE(?6, job_id)
             WHERE profile = ?1 AND name = ?2 AND size = ?3 AND mtime = ?4",
            params![profile, name, size, mtime, state.as_str(), job_id],
        )?;
        Ok(())
    }

    /// Forgets the version `size`/`mtime` of `name` (deleted or moved away on the server), so a
    /// later upload under that name is a new file even if it has the same size and mtime.
    pub fn remote_forget(
        &self,
        profile: &str,
        name: &str,
        (size, mtime): (u64, i64),
    ) -> Result<()> {
        self.conn.execute(
            "DELETE FROM remote_files WHERE profile = ?1 AND name = ?2 AND size = ?3 AND mtime = ?4",
            params![profile, name, size, mtime],
        )?;
        Ok(())
    }

    /// Forgets every file of `profile` that a complete listing no longer shows (except those
    /// whose `after` action is still pending), so a name that comes back is a new file.
    pub fn remote_prune(
        &self,
        profile: &str,
        listed: &std::collections::HashSet<&str>,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM remote_files WHERE profile = ?1 AND state <> 'delivered'")?;
        let names: Vec<String> = stmt
            .query_map(params![profile], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for name in names.iter().filter(|n| !listed.contains(n.as_str())) {
            self.conn.execute(
                "DELETE FROM remote_files WHERE profile = ?1 AND name = ?2",
                params![profile, name],
            )?;
        }
        Ok(())
    }

    /// Versions of `profile` whose `after` action is pending.
    pub fn remote_pending(&self, profile: &str) -> Result<Vec<RemoteRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM remote_files WHERE profile = ?1 AND state = 'delivered'
             ORDER BY name"
        ))?;
        let rows = stmt.query_map(params![profile], remote_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The remote version that job `job_id` processed, if it came from an SFTP source.
    pub fn remote_of_job(&self, job_id: i64) -> Result<Option<RemoteRow>> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM remote_files WHERE job_id = ?1"),
                params![job_id],
                remote_row,
            )
            .optional()?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::temp_store;

    #[test]
    fn a_version_keeps_its_state_until_it_changes() {
        let (_dir, store) = temp_store();
        let file = store
            .upsert_file("p", "a.csv", "aa", 10, "sftp://h/x")
            .unwrap();
        let job = store.start_job("p", file.id, "a.csv").unwrap();
        let first = store.remote_observe("p", "a.csv", 10, 100, 1_000).unwrap();
        assert_eq!((first.state, first.observed_ms), (RemoteState::Seen, 1_000));
        store
            .remote_set("p", "a.csv", (10, 100), RemoteState::Delivered, Some(job))
            .unwrap();
        let again = store.remote_observe("p", "a.csv", 10, 100, 5_000).unwrap();
        assert_eq!(
            (again.state, again.observed_ms, again.job_id),
            (RemoteState::Delivered, 1_000, Some(job))
        );
        assert_eq!(store.remote_pending("p").unwrap().len(), 1);
        assert_eq!(store.remote_of_job(job).unwrap().unwrap().name, "a.csv");
        // Re-uploaded: a new version, seen anew.
        let changed = store.remote_observe("p", "a.csv", 11, 200, 9_000).unwrap();
        assert_eq!(
            (changed.state, changed.observed_ms, changed.job_id),
            (RemoteState::Seen, 9_000, None)
        );
        assert!(store.remote_pending("p").unwrap().is_empty());
        // An update for the old version does not touch the new one.
        store
            .remote_set("p", "a.csv", (10, 100), RemoteState::Finished, None)
            .unwrap();
        assert_eq!(
            store
                .remote_observe("p", "a.csv", 11, 200, 9_500)
                .unwrap()
                .state,
            RemoteState::Seen
        );
    }
}
