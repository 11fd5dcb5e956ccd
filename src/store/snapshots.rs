//! Each lifecycle profile's last accepted snapshot: one roster row per person ever seen —
//! active or not, with the stored form of their mapped fields (PII values only as keyed
//! hashes) — and which job it stands at.
//!
//! The snapshot moves only by [`Store::advance_snapshot`], which applies one delivered job's
//! plan in a single transaction and only once: a crash before it leaves the old snapshot (the
//! job replays under its ledger), a crash after it finds the plan applied.
//!
//! A delta reads the snapshot through a [`RosterReader`]: a read-only connection of its own
//! that holds one read transaction for the whole file, so its point lookups (one per person)
//! see one consistent snapshot and do not each take and release the database's read lock —
//! which, per lookup, cost more than the lookup itself.

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{Result, Store, StoreError, BUSY_TIMEOUT};

/// Where a profile's snapshot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The job whose plan was applied last.
    pub job_id: i64,
    /// People in that job's file.
    pub rows: u64,
    /// Active people in the roster.
    pub active: u64,
}

/// One person in the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub active: bool,
    /// The stored fields (JSON object; PII as keyed hashes).
    pub fields: String,
}

/// What [`Store::advance_snapshot`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// The job's plan is now the snapshot.
    Applied,
    /// It was applied before (a replay after a crash), or the job has no plan.
    AlreadyDone,
    /// The snapshot had moved past the plan's base meanwhile: the plan is `discarded`.
    Stale,
}

/// One profile's snapshot, read in one read transaction (see the module's notes).
pub struct RosterReader<'a> {
    profile: &'a str,
    conn: Reader<'a>,
}

enum Reader<'a> {
    /// A connection of its own, its read transaction open until it is dropped.
    Own(Connection),
    /// The store's connection (an in-memory store has no other), one transaction a lookup.
    Shared(&'a Connection),
}

impl RosterReader<'_> {
    fn conn(&self) -> &Connection {
        match &self.conn {
            Reader::Own(c) => c,
            Reader::Shared(c) => c,
        }
    }

    /// Where the snapshot stands, if one was ever accepted.
    pub fn snapshot(&self) -> Result<Option<Snapshot>> {
        snapshot(self.conn(), self.profile)
    }

    /// The roster row of `key`.
    pub fn entry(&self, key: &str) -> Result<Option<RosterEntry>> {
        roster_entry(self.conn(), self.profile, key)
    }

    /// Calls `each` with the key, whether active, and the fields' digest (if stored) of every
    /// person in the roster, in key order, in one pass and without holding them all.
    pub fn for_each_person(
        &self,
        mut each: impl FnMut(&str, bool, Option<[u8; 16]>) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn().prepare(PEOPLE)?;
        let mut rows = stmt.query(params![self.profile])?;
        while let Some(row) = rows.next()? {
            each(text_ref(row)?, row.get(1)?, row.get(2)?)?;
        }
        Ok(())
    }
}

/// What a delta reads of every person of a roster, from an index of its own (`roster_digests`).
const PEOPLE: &str = "SELECT key, active, digest FROM roster WHERE profile = ?1 ORDER BY key";

/// Column 0 of `row` as text, borrowed from the row: a million keys, none of them copied.
fn text_ref<'r>(row: &'r rusqlite::Row<'_>) -> rusqlite::Result<&'r str> {
    row.get_ref(0)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn snapshot(conn: &Connection, profile: &str) -> Result<Option<Snapshot>> {
    Ok(conn
        .prepare_cached("SELECT job_id, rows, active FROM snapshots WHERE profile = ?1")?
        .query_row(params![profile], |r| {
            Ok(Snapshot {
                job_id: r.get(0)?,
                rows: r.get(1)?,
                active: r.get(2)?,
            })
        })
        .optional()?)
}

fn roster_entry(conn: &Connection, profile: &str, key: &str) -> Result<Option<RosterEntry>> {
    let mut stmt =
        conn.prepare_cached("SELECT active, fields FROM roster WHERE profile = ?1 AND key = ?2")?;
    Ok(stmt
        .query_row(params![profile, key], |r| {
            Ok(RosterEntry {
                active: r.get(0)?,
                fields: r.get(1)?,
            })
        })
        .optional()?)
}

impl Store {
    /// A reader of `profile`'s snapshot as it stands now, for one delta: later changes to the
    /// roster are not seen by it.
    pub fn roster_reader<'a>(&'a self, profile: &'a str) -> Result<RosterReader<'a>> {
        let conn = match self.conn.path() {
            Some(path) if !path.is_empty() => {
                let open_err = |source| StoreError::Open {
                    path: path.to_string(),
                    source,
                };
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
                conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
                // Deferred: the read transaction starts with the first lookup and lasts until
                // the reader is dropped (closing the connection ends it).
                conn.execute_batch("BEGIN")?;
                Reader::Own(conn)
            }
            _ => Reader::Shared(&self.conn),
        };
        Ok(RosterReader { profile, conn })
    }

    /// The snapshot of `profile`, if one was ever accepted.
    pub fn snapshot(&self, profile: &str) -> Result<Option<Snapshot>> {
        snapshot(&self.conn, profile)
    }

    /// The roster row of `key` in `profile`'s snapshot.
    pub fn roster_entry(&self, profile: &str, key: &str) -> Result<Option<RosterEntry>> {
        roster_entry(&self.conn, profile, key)
    }

    /// Applies the plan of job `job_id` to its profile's roster, once, in one transaction:
    /// every change's stored state replaces the person's row, the changes the plan left
    /// waiting become the profile's queue, and the snapshot stands at the job. Only a plan
    /// diffed against the current snapshot is applied.
    pub fn advance_snapshot(&self, job_id: i64) -> Result<Advance> {
        let tx = self.write_tx()?;
        let plan: Option<(String, Option<i64>, String, u64)> = tx
            .query_row(
                "SELECT profile, base_job, state, rows FROM plans WHERE job_id = ?1",
                params![job_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((profile, base, state, rows)) = plan else {
            return Ok(Advance::AlreadyDone);
        };
        if state != "planned" {
            return Ok(Advance::AlreadyDone);
        }
        let current: Option<i64> = tx
            .query_row(
                "SELECT job_id FROM snapshots WHERE profile = ?1",
                params![profile],
                |r| r.get(0),
            )
            .optional()?;
        if current != base {
            tx.execute(
                "UPDATE plans SET state = 'discarded' WHERE job_id = ?1",
                params![job_id],
            )?;
            tx.commit()?;
            return Ok(Advance::Stale);
        }
        // A joiner or rehire that waits for its date is not in the snapshot until then, and
        // neither is a withdrawn one nothing was sent for. In key order, as the roster is
        // kept, whatever order the file had: each page of it is then written once.
        tx.execute(
            "INSERT INTO roster (profile, key, active, fields, job_id, digest)
                 SELECT ?2, key, active, fields, job_id, digest FROM changes
                  WHERE job_id = ?1 AND coalesce(queued, '') NOT IN ('joiner', 'rehire')
                    AND kind <> 'cancel'
                  ORDER BY key, n
             ON CONFLICT (profile, key) DO UPDATE
                 SET active = excluded.active, fields = excluded.fields, job_id = excluded.job_id,
                     digest = excluded.digest",
            params![job_id, profile],
        )?;
        tx.execute("DELETE FROM queue WHERE profile = ?1", params![profile])?;
        tx.execute(
            "INSERT INTO queue (profile, key, kind, due, fields, prehired, job_id)
                 SELECT ?2, key, queued, due, fields, prehired, job_id FROM changes
                  WHERE job_id = ?1 AND queued IS NOT NULL",
            params![job_id, profile],
        )?;
        tx.execute(
            "INSERT INTO snapshots (profile, job_id, rows, active)
                 VALUES (?1, ?2, ?3, (SELECT count(*) FROM roster WHERE profile = ?1 AND active = 1))
             ON CONFLICT (profile) DO UPDATE
                 SET job_id = excluded.job_id, rows = excluded.rows, active = excluded.active",
            params![profile, job_id, rows],
        )?;
        tx.execute(
            "UPDATE plans SET state = 'applied' WHERE job_id = ?1",
            params![job_id],
        )?;
        tx.commit()?;
        Ok(Advance::Applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{temp_store, ChangeRow, PlanRow, PlanState};

    fn planned(store: &Store, base: Option<i64>, people: &[(&str, bool)]) -> i64 {
        planned_with(store, base, people, |_| None)
    }

    /// A plan of `people` in which `waits` says which person's change waits, and for what.
    fn planned_with(
        store: &Store,
        base: Option<i64>,
        people: &[(&str, bool)],
        waits: impl Fn(&str) -> Option<(&'static str, &'static str)>,
    ) -> i64 {
        let file = store
            .upsert_file("p", "a.csv", &format!("h{base:?}{people:?}"), 1, "dir")
            .unwrap();
        let job = store.start_job("p", file.id, "a.csv").unwrap();
        let changes: Vec<ChangeRow> = people
            .iter()
            .enumerate()
            .map(|(n, (key, active))| ChangeRow {
                fields: format!("{{\"id\":\"{key}\"}}"),
                active: *active,
                queued: waits(key).map(|(kind, due)| (kind.to_string(), due.to_string())),
                ..ChangeRow::of(n as u64, key, "joiner")
            })
            .collect();
        store.add_changes(job, &changes).unwrap();
        store
            .record_plan(&PlanRow {
                base_job: base,
                rows: people.len() as u64,
                ..PlanRow::of(job)
            })
            .unwrap();
        job
    }

    fn active_keys(store: &Store) -> Vec<String> {
        let mut keys = Vec::new();
        let reader = store.roster_reader("p").unwrap();
        reader
            .for_each_person(|k, active, _| {
                if active {
                    keys.push(k.to_string());
                }
                Ok(())
            })
            .unwrap();
        keys
    }

    #[test]
    fn the_people_of_a_roster_are_read_from_their_own_index_in_key_order() {
        let (_dir, store) = temp_store();
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {PEOPLE}"))
            .unwrap()
            .query_map(params!["p"], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("COVERING INDEX roster_digests")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }

    #[test]
    fn a_plan_advances_the_snapshot_once_and_only_from_its_base() {
        let (_dir, store) = temp_store();
        assert_eq!(store.snapshot("p").unwrap(), None);
        let first = planned(&store, None, &[("E1", true), ("E2", true)]);
        assert_eq!(store.advance_snapshot(first).unwrap(), Advance::Applied);
        assert_eq!(store.advance_snapshot(first).unwrap(), Advance::AlreadyDone);
        assert_eq!(
            store.snapshot("p").unwrap(),
            Some(Snapshot {
                job_id: first,
                rows: 2,
                active: 2
            })
        );
        let second = planned(&store, Some(first), &[("E2", false), ("E3", true)]);
        let stale = planned(&store, Some(first), &[("E9", true)]);
        assert_eq!(store.advance_snapshot(second).unwrap(), Advance::Applied);
        assert_eq!(active_keys(&store), ["E1", "E3"]);
        let left = store.roster_entry("p", "E2").unwrap().unwrap();
        assert!(!left.active);
        assert_eq!(store.advance_snapshot(stale).unwrap(), Advance::Stale);
        assert_eq!(
            store.plan(stale).unwrap().unwrap().state,
            PlanState::Discarded
        );
        assert_eq!(store.roster_entry("p", "E9").unwrap(), None);
        assert_eq!(store.snapshot("p").unwrap().unwrap().job_id, second);
    }

    #[test]
    fn waiting_joiners_stay_out_of_the_roster_and_the_queue_is_what_the_last_plan_left() {
        let (_dir, store) = temp_store();
        let waits = |key: &str| match key {
            "E2" => Some(("joiner", "2027-01-15")),
            "E1" => Some(("leaver", "2027-01-20")),
            _ => None,
        };
        let first = planned_with(&store, None, &[("E1", true), ("E2", true)], waits);
        assert_eq!(store.advance_snapshot(first).unwrap(), Advance::Applied);
        assert_eq!(
            active_keys(&store),
            ["E1"],
            "a waiting joiner has not joined"
        );
        let queued: Vec<(String, String, String)> = store
            .queued(Some("p"))
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.kind, e.due))
            .collect();
        assert_eq!(
            queued,
            [
                ("E2".into(), "joiner".into(), "2027-01-15".into()),
                ("E1".into(), "leaver".into(), "2027-01-20".into()),
            ]
        );
        assert_eq!(store.due_count("p", "2027-01-14").unwrap(), 0);
        assert_eq!(store.due_count("p", "2027-01-15").unwrap(), 1);
        assert_eq!(store.due_count("p", "2027-02-01").unwrap(), 2);
        let second = planned(&store, Some(first), &[("E2", true)]);
        assert_eq!(store.advance_snapshot(second).unwrap(), Advance::Applied);
        assert!(store.queued(None).unwrap().is_empty());
        assert_eq!(active_keys(&store), ["E1", "E2"]);
    }
}
