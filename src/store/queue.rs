//! Each lifecycle profile's pending changes: joiners, rehires and leavers whose effective
//! date is still ahead. The queue is what the last applied plan left waiting; it is rebuilt
//! from that plan whenever the snapshot advances (`snapshots.rs`), so a later roster that
//! moves a date or withdraws a person updates or cancels the entry by not carrying it on.

use rusqlite::params;

use super::{Result, Store};

/// One change waiting for its date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueEntry {
    pub profile: String,
    /// The person's key, as the roster keeps it.
    pub key: String,
    /// `joiner`, `rehire` or `leaver`.
    pub kind: String,
    /// The date it takes effect on (`YYYY-MM-DD`, in the profile's time zone).
    pub due: String,
    /// The person's stored fields when it was queued (JSON; PII as keyed hashes).
    #[serde(skip)]
    pub fields: String,
    /// Whether the person was sent ahead as an inactive pre-hire.
    pub prehired: bool,
    /// The job whose plan queued it last.
    pub job_id: i64,
}

impl Store {
    /// The pending changes, by date (of `profile` only, when given).
    pub fn queued(&self, profile: Option<&str>) -> Result<Vec<QueueEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT profile, key, kind, due, fields, prehired, job_id FROM queue
              WHERE ?1 IS NULL OR profile = ?1 ORDER BY due, profile, key",
        )?;
        let rows = stmt.query_map(params![profile], |r| {
            Ok(QueueEntry {
                profile: r.get(0)?,
                key: r.get(1)?,
                kind: r.get(2)?,
                due: r.get(3)?,
                fields: r.get(4)?,
                prehired: r.get(5)?,
                job_id: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many of `profile`'s pending changes are due on or before `today` (`YYYY-MM-DD`).
    pub fn due_count(&self, profile: &str, today: &str) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM queue WHERE profile = ?1 AND due <= ?2",
            params![profile, today],
            |r| r.get(0),
        )?)
    }
}
