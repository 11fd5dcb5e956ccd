//! Operator commands (run a profile now, retry a job's failed rows) queued in the store for
//! the daemon, and the daemon's heartbeat that tells the dashboard whether anyone is polling.
//!
//! The dashboard may run in another process than the daemon; the store is the one thing both
//! open, so a request is a row here. The daemon takes pending rows oldest first and marks each
//! `done` or `failed` with a one-line outcome (PII-free, like every error in the store).

use rusqlite::types::{FromSqlError, Type};
use rusqlite::{params, OptionalExtension, Row};

use super::{now, Result, Store, StoreError};

/// What an operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// Run a pass of the profile now.
    Run,
    /// Send again the failed rows of a job.
    Retry,
}

impl CommandKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Run => "run",
            CommandKind::Retry => "retry",
        }
    }

    fn parse(s: &str) -> Option<CommandKind> {
        [CommandKind::Run, CommandKind::Retry]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a command stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandState {
    Pending,
    Done,
    Failed,
}

impl CommandState {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Pending => "pending",
            CommandState::Done => "done",
            CommandState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<CommandState> {
        [
            CommandState::Pending,
            CommandState::Done,
            CommandState::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A queued command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRow {
    pub id: i64,
    pub kind: CommandKind,
    pub profile: String,
    /// The job a retry is for.
    pub job_id: Option<i64>,
    /// The OS user who asked.
    pub requested_by: String,
    /// RFC 3339 UTC.
    pub requested_at: String,
    pub state: CommandState,
    pub finished_at: Option<String>,
    /// What came of it, once done or failed.
    pub outcome: Option<String>,
}

/// The daemon as its last heartbeat described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub pid: u32,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC, refreshed while the daemon runs.
    pub seen_at: String,
}

const SELECT: &str = "SELECT id, kind, profile, job_id, requested_by, requested_at, state,
                             finished_at, outcome FROM commands ";

impl Store {
    /// Queues a command and returns its id.
    pub fn request_command(
        &self,
        kind: CommandKind,
        profile: &str,
        job_id: Option<i64>,
        requested_by: &str,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO commands (kind, profile, job_id, requested_by, requested_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![kind.as_str(), profile, job_id, requested_by, now()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Commands nobody has carried out yet, oldest first.
    pub fn pending_commands(&self) -> Result<Vec<CommandRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT} WHERE state = 'pending' ORDER BY id"))?;
        let rows = stmt.query_map([], command_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Command `id`, if it exists.
    pub fn command(&self, id: i64) -> Result<Option<CommandRow>> {
        Ok(self
            .conn
            .query_row(&format!("{SELECT} WHERE id = ?1"), params![id], command_row)
            .optional()?)
    }

    /// Marks pending command `id` done (`ok`) or failed, with what came of it.
    pub fn finish_command(&self, id: i64, ok: bool, outcome: &str) -> Result<()> {
        let state = if ok {
            CommandState::Done
        } else {
            CommandState::Failed
        };
        let changed = self.conn.execute(
            "UPDATE commands SET state = ?2, finished_at = ?3, outcome = ?4
             WHERE id = ?1 AND state = 'pending'",
            params![id, state.as_str(), now(), outcome],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("pending command {id}")));
        }
        Ok(())
    }

    /// Records that the daemon (process `pid`, started at `started_at`) is alive now.
    pub fn daemon_beat(&self, pid: u32, started_at: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO daemon_heartbeat (id, pid, started_at, seen_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET pid = ?1, started_at = ?2, seen_at = ?3",
            params![pid, started_at, now()],
        )?;
        Ok(())
    }

    /// Records that the daemon stopped.
    pub fn daemon_gone(&self) -> Result<()> {
        self.conn
            .execute("DELETE FROM daemon_heartbeat WHERE id = 1", [])?;
        Ok(())
    }

    /// The daemon's last heartbeat, if one is recorded.
    pub fn daemon_heartbeat(&self) -> Result<Option<Heartbeat>> {
        Ok(self
            .conn
            .query_row(
                "SELECT pid, started_at, seen_at FROM daemon_heartbeat WHERE id = 1",
                [],
                |r| {
                    Ok(Heartbeat {
                        pid: r.get(0)?,
                        started_at: r.get(1)?,
                        seen_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}

fn command_row(row: &Row<'_>) -> rusqlite::Result<CommandRow> {
    let bad = |index: usize, name: String| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            Box::new(FromSqlError::Other(
                format!("unknown command {name:?}").into(),
            )),
        )
    };
    let kind: String = row.get(1)?;
    let state: String = row.get(6)?;
    Ok(CommandRow {
        id: row.get(0)?,
        kind: CommandKind::parse(&kind).ok_or_else(|| bad(1, kind.clone()))?,
        profile: row.get(2)?,
        job_id: row.get(3)?,
        requested_by: row.get(4)?,
        requested_at: row.get(5)?,
        state: CommandState::parse(&state).ok_or_else(|| bad(6, state.clone()))?,
        finished_at: row.get(7)?,
        outcome: row.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::temp_store;

    #[test]
    fn commands_queue_and_finish_once() {
        let (_dir, store) = temp_store();
        let a = store
            .request_command(CommandKind::Run, "payroll", None, "alice")
            .unwrap();
        let b = store
            .request_command(CommandKind::Retry, "hris", None, "bob")
            .unwrap();
        let pending = store.pending_commands().unwrap();
        assert_eq!(pending.iter().map(|c| c.id).collect::<Vec<_>>(), [a, b]);
        assert_eq!(pending[0].kind, CommandKind::Run);
        assert_eq!(pending[1].requested_by, "bob");
        store.finish_command(a, true, "1 job: succeeded").unwrap();
        assert!(matches!(
            store.finish_command(a, false, "again"),
            Err(StoreError::NotFound(_))
        ));
        let done = store.command(a).unwrap().unwrap();
        assert_eq!(done.state, CommandState::Done);
        assert_eq!(done.outcome.as_deref(), Some("1 job: succeeded"));
        assert!(done.finished_at.is_some());
        assert_eq!(store.pending_commands().unwrap().len(), 1);
    }

    #[test]
    fn heartbeat_is_replaced_and_cleared() {
        let (_dir, store) = temp_store();
        assert_eq!(store.daemon_heartbeat().unwrap(), None);
        store.daemon_beat(41, "2026-01-01T00:00:00.000Z").unwrap();
        store.daemon_beat(42, "2026-01-02T00:00:00.000Z").unwrap();
        let beat = store.daemon_heartbeat().unwrap().unwrap();
        assert_eq!(
            (beat.pid, beat.started_at.as_str()),
            (42, "2026-01-02T00:00:00.000Z")
        );
        store.daemon_gone().unwrap();
        assert_eq!(store.daemon_heartbeat().unwrap(), None);
    }
}
