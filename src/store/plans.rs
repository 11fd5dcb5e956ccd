//! The plan of each lifecycle job: how many joiners, movers, leavers and rehires its file
//! makes against the profile's last accepted snapshot, every change person by person, and —
//! when a safeguard held the job — why, and who approved or rejected it.
//!
//! A plan is recorded before its job commits or is held, so `hrbridge changes` can show what
//! a job does (or would do) at any point. Its changes are what advances the snapshot
//! (`snapshots.rs`) once the job has delivered.

use rusqlite::types::{FromSqlError, Type};
use rusqlite::{params, OptionalExtension, Row};

use super::{jobs, now, outputs, sequences, Counts, JobStatus, OutputRow, Result, Store, Toward};

/// The columns of a change, as [`change_row`] reads them.
const CHANGE: &str =
    "n, key, kind, reason, row, changed, fields, active, queued, due, prehired, digest";

/// The changes a plan lists: what is sent or waits, not the quiet rows kept for the roster.
const LISTED: &str = "(kind <> 'quiet' OR queued IS NOT NULL)";

/// A change from a row of [`CHANGE`].
fn change_row(r: &Row<'_>) -> rusqlite::Result<ChangeRow> {
    Ok(ChangeRow {
        n: r.get(0)?,
        key: r.get(1)?,
        kind: r.get(2)?,
        reason: r.get(3)?,
        row: r.get(4)?,
        changed: r.get(5)?,
        fields: r.get(6)?,
        active: r.get(7)?,
        queued: Option::zip(r.get(8)?, r.get(9)?),
        prehired: r.get(10)?,
        digest: r.get(11)?,
    })
}

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanState {
    /// Recorded; the job is delivering it (or failed before the snapshot advanced).
    Planned,
    /// A safeguard held it: waiting for `approve` or `reject`.
    Held,
    /// Delivered, and the snapshot advanced to it.
    Applied,
    /// An operator rejected it: nothing delivered, the snapshot unchanged.
    Rejected,
    /// Delivered, but the snapshot had moved on meanwhile, so it was not applied to it.
    Discarded,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Planned => "planned",
            PlanState::Held => "held",
            PlanState::Applied => "applied",
            PlanState::Rejected => "rejected",
            PlanState::Discarded => "discarded",
        }
    }

    fn parse(s: &str) -> Option<PlanState> {
        [
            PlanState::Planned,
            PlanState::Held,
            PlanState::Applied,
            PlanState::Rejected,
            PlanState::Discarded,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// How many changes of each kind a plan holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeCounts {
    pub joiners: u64,
    pub movers: u64,
    pub leavers: u64,
    pub rehires: u64,
    /// Future joiners sent ahead to be created inactive.
    pub prehires: u64,
    /// Pending changes a later roster withdrew (nothing had been sent for them).
    pub cancelled: u64,
    /// Changes waiting for their effective date (sent on it, not now).
    pub queued: u64,
}

/// One lifecycle job's plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanRow {
    pub job_id: i64,
    pub profile: String,
    /// The job whose snapshot this plan was diffed against; `None` for the first snapshot.
    pub base_job: Option<i64>,
    /// A first snapshot recorded without emitting changes (`baseline = true`).
    pub baseline: bool,
    /// People in this file (mapped rows, and rejected rows whose key could be read).
    pub rows: u64,
    /// People in the previous snapshot, and how many of them were active.
    pub previous_rows: u64,
    pub previous_active: u64,
    pub counts: ChangeCounts,
    pub state: PlanState,
    /// Which safeguard held it, in words.
    pub hold_reason: Option<String>,
    /// Where the held job's input was kept (it moves to `error/` on reject).
    pub kept_at: Option<String>,
    /// The OS user who approved or rejected it, and when.
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// One person's change in a plan. `kind` is what is sent now: a change kind's name, `quiet`
/// for a stored state that changes without anything being sent (a baseline, a leaver's data,
/// a change that waits), or `cancel` for a pending change a later roster withdrew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// Order in the plan, from 0.
    pub n: u64,
    pub key: String,
    pub kind: String,
    /// For leavers: `absent` or `status`.
    pub reason: Option<String>,
    /// The input row, when the person is in the file.
    pub row: Option<u64>,
    /// JSON list of `{"field", "before", "after"}` (PII values masked).
    pub changed: String,
    /// The person's stored fields after the change (JSON; PII as keyed hashes).
    pub fields: String,
    pub active: bool,
    /// A change that waits for its date: its kind (`joiner`, `rehire`, `leaver`) and the
    /// date (`YYYY-MM-DD`).
    pub queued: Option<(String, String)>,
    /// Whether the person was sent ahead as a pre-hire (now, or by an earlier plan).
    pub prehired: bool,
    /// The keyed digest of `fields`' values (see `lifecycle::stored`), when it was taken: the
    /// next delta compares an unchanged person by it alone.
    pub digest: Option<[u8; 16]>,
}

fn plan_row(row: &Row<'_>) -> rusqlite::Result<PlanRow> {
    let state: String = row.get(11)?;
    let state = PlanState::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            11,
            Type::Text,
            Box::new(FromSqlError::Other(
                format!("unknown plan state {state:?}").into(),
            )),
        )
    })?;
    Ok(PlanRow {
        job_id: row.get(0)?,
        profile: row.get(1)?,
        base_job: row.get(2)?,
        baseline: row.get(3)?,
        rows: row.get(4)?,
        previous_rows: row.get(5)?,
        previous_active: row.get(6)?,
        counts: ChangeCounts {
            joiners: row.get(7)?,
            movers: row.get(8)?,
            leavers: row.get(9)?,
            rehires: row.get(10)?,
            prehires: row.get(16)?,
            cancelled: row.get(17)?,
            queued: row.get(18)?,
        },
        state,
        hold_reason: row.get(12)?,
        kept_at: row.get(13)?,
        decided_by: row.get(14)?,
        decided_at: row.get(15)?,
    })
}

const SELECT_PLAN: &str = "SELECT job_id, profile, base_job, baseline, rows, previous_rows,
        previous_active, joiners, movers, leavers, rehires, state, hold_reason, kept_at,
        decided_by, decided_at, prehires, cancelled, queued FROM plans";

impl Store {
    /// Appends `changes` to the plan of job `job_id` (recorded with [`Store::record_plan`]
    /// once the file is read), in one transaction.
    pub fn add_changes(&self, job_id: i64, changes: &[ChangeRow]) -> Result<()> {
        let tx = self.write_tx()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO changes (job_id, n, key, kind, reason, row, changed, fields, active,
                     queued, due, prehired, digest)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for c in changes {
                let (queued, due) = c.queued.clone().unzip();
                insert.execute(params![
                    job_id, c.n, c.key, c.kind, c.reason, c.row, c.changed, c.fields, c.active,
                    queued, due, c.prehired, c.digest
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the plan of a job whose file has been read (its changes added already).
    pub fn record_plan(&self, plan: &PlanRow) -> Result<()> {
        self.conn.execute(
            "INSERT INTO plans (job_id, profile, base_job, baseline, rows, previous_rows,
                 previous_active, joiners, movers, leavers, rehires, state, hold_reason,
                 prehires, cancelled, queued)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                plan.job_id,
                plan.profile,
                plan.base_job,
                plan.baseline,
                plan.rows,
                plan.previous_rows,
                plan.previous_active,
                plan.counts.joiners,
                plan.counts.movers,
                plan.counts.leavers,
                plan.counts.rehires,
                plan.state.as_str(),
                plan.hold_reason,
                plan.counts.prehires,
                plan.counts.cancelled,
                plan.counts.queued,
            ],
        )?;
        Ok(())
    }

    /// The plan of job `job_id`, if it is a lifecycle job.
    pub fn plan(&self, job_id: i64) -> Result<Option<PlanRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{SELECT_PLAN} WHERE job_id = ?1"),
                params![job_id],
                plan_row,
            )
            .optional()?)
    }

    /// The held plans, oldest first (of `profile` only, when given).
    pub fn held_plans(&self, profile: Option<&str>) -> Result<Vec<PlanRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_PLAN} WHERE state = 'held' AND (?1 IS NULL OR profile = ?1) ORDER BY job_id"
        ))?;
        let rows = stmt.query_map(params![profile], plan_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The change the plan of job `job_id` recorded for the person on row `row`, if any.
    pub fn row_change(&self, job_id: i64, row: u64) -> Result<Option<ChangeRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CHANGE} FROM changes WHERE job_id = ?1 AND row = ?2 LIMIT 1"
        ))?;
        Ok(stmt
            .query_row(params![job_id, row], change_row)
            .optional()?)
    }

    /// Up to `limit` of the changes job `job_id`'s plan lists ([`LISTED`]: not the quiet ones
    /// kept only for the roster), in order: from change `at` on (`Toward::Newer`), or the last ones before it
    /// (`Toward::Older`). A page of a plan of a million people costs what the first one costs.
    pub fn changes_page(
        &self,
        job_id: i64,
        at: u64,
        toward: Toward,
        limit: usize,
    ) -> Result<Vec<ChangeRow>> {
        let (test, order) = match toward {
            Toward::Newer => (">=", "ASC"),
            Toward::Older => ("<", "DESC"),
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CHANGE} FROM changes WHERE job_id = ?1 AND n {test} ?2 AND {LISTED}
              ORDER BY n {order} LIMIT ?3"
        ))?;
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt
            .query_map(params![job_id, at, limit], change_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if toward == Toward::Older {
            rows.reverse();
        }
        Ok(rows)
    }

    /// How many changes job `job_id`'s plan lists.
    pub fn listed_changes(&self, job_id: i64) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM changes WHERE job_id = ?1 AND {LISTED}");
        Ok(self.conn.query_row(&sql, params![job_id], |r| r.get(0))?)
    }

    /// In one transaction, like [`Store::begin_commit`] but to `held`: takes `{seq}`, records
    /// the job's complete temp outputs and counts, and holds its plan for `reason`. Nothing is
    /// published until an operator approves.
    pub fn hold_job(
        &self,
        job_id: i64,
        counts: Counts,
        outputs: &[OutputRow],
        seq: u64,
        reason: &str,
    ) -> Result<()> {
        let tx = self.write_tx()?;
        jobs::expect_status(&tx, job_id, &[JobStatus::Running], JobStatus::Held)?;
        sequences::take(&tx, job_id, seq)?;
        outputs::insert(&tx, job_id, outputs)?;
        jobs::set_status(&tx, job_id, JobStatus::Held, counts, None, Some(reason))?;
        tx.execute(
            "UPDATE plans SET state = 'held', hold_reason = ?2 WHERE job_id = ?1",
            params![job_id, reason],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Where a lifecycle job's input was kept: a held one's moves to `error/` if it is
    /// rejected; an applied one's is read again to release changes that come due.
    pub fn note_kept_input(&self, job_id: i64, kept_at: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE plans SET kept_at = ?2 WHERE job_id = ?1",
            params![job_id, kept_at],
        )?;
        Ok(())
    }

    /// `approve`: a held job becomes `committing` (its recorded outputs are then published
    /// exactly as they were held), its plan `planned` again, with who decided and when.
    pub fn approve_held(&self, job_id: i64, by: &str) -> Result<()> {
        let tx = self.write_tx()?;
        jobs::expect_status(&tx, job_id, &[JobStatus::Held], JobStatus::Committing)?;
        tx.execute(
            "UPDATE jobs SET status = ?2, error = NULL WHERE id = ?1",
            params![job_id, JobStatus::Committing.as_str()],
        )?;
        tx.execute(
            "UPDATE plans SET state = 'planned', decided_by = ?2, decided_at = ?3
              WHERE job_id = ?1",
            params![job_id, by, now()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// `reject`: a held job fails with `error`, its plan `rejected` (the snapshot does not
    /// move); its outputs are given up, their temp files left for the sweep to remove.
    pub fn reject_held(&self, job_id: i64, by: &str, error: &str) -> Result<()> {
        let tx = self.write_tx()?;
        jobs::expect_status(&tx, job_id, &[JobStatus::Held], JobStatus::Failed)?;
        outputs::forget_unpublished(&tx, job_id)?;
        tx.execute(
            "UPDATE jobs SET status = ?2, finished_at = ?3, error = ?4 WHERE id = ?1",
            params![job_id, JobStatus::Failed.as_str(), now(), error],
        )?;
        tx.execute(
            "UPDATE plans SET state = 'rejected', decided_by = ?2, decided_at = ?3
              WHERE job_id = ?1",
            params![job_id, by, now()],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
impl ChangeRow {
    /// Change `n` of plan order: `kind` for person `key`, with nothing else to say (tests).
    pub(crate) fn of(n: u64, key: &str, kind: &str) -> ChangeRow {
        ChangeRow {
            n,
            key: key.into(),
            kind: kind.into(),
            reason: None,
            row: None,
            changed: "[]".into(),
            fields: "{}".into(),
            active: false,
            queued: None,
            prehired: false,
            digest: None,
        }
    }
}

#[cfg(test)]
impl PlanRow {
    /// The plan of job `job_id` of profile `p`, planned against no snapshot, with no change
    /// counted (tests).
    pub(crate) fn of(job_id: i64) -> PlanRow {
        PlanRow {
            job_id,
            profile: "p".into(),
            base_job: None,
            baseline: false,
            rows: 0,
            previous_rows: 0,
            previous_active: 0,
            counts: ChangeCounts::default(),
            state: PlanState::Planned,
            hold_reason: None,
            kept_at: None,
            decided_by: None,
            decided_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::temp_store;

    fn held_job(store: &Store) -> i64 {
        let file = store.upsert_file("p", "a.csv", "h", 1, "dir").unwrap();
        let job = store.start_job("p", file.id, "a.csv").unwrap();
        let mut plan = PlanRow {
            rows: 1,
            previous_rows: 10,
            previous_active: 10,
            counts: ChangeCounts {
                leavers: 9,
                ..ChangeCounts::default()
            },
            ..PlanRow::of(job)
        };
        store.record_plan(&plan).unwrap();
        let out = OutputRow {
            job_id: job,
            output_index: Some(0),
            temp_path: "/tmp/x.tmp".into(),
            final_path: "/tmp/x.csv".into(),
            rows: 9,
            bytes: 90,
            sha256: "s".into(),
            published: false,
        };
        let seq = store.peek_seq("p").unwrap();
        store
            .hold_job(job, Counts::default(), &[out], seq, "9 leavers")
            .unwrap();
        plan.state = PlanState::Held;
        plan.hold_reason = Some("9 leavers".into());
        assert_eq!(store.plan(job).unwrap().unwrap(), plan);
        job
    }

    #[test]
    fn a_held_job_waits_then_is_approved_once() {
        let (_dir, store) = temp_store();
        let job = held_job(&store);
        assert_eq!(store.job(job).unwrap().unwrap().status, JobStatus::Held);
        assert_eq!(store.held_plans(Some("p")).unwrap().len(), 1);
        assert!(store.held_plans(Some("q")).unwrap().is_empty());
        store.approve_held(job, "ops").unwrap();
        let row = store.job(job).unwrap().unwrap();
        assert_eq!(row.status, JobStatus::Committing);
        assert_eq!(store.job_outputs(job).unwrap().len(), 1);
        let plan = store.plan(job).unwrap().unwrap();
        assert_eq!(
            (plan.state, plan.decided_by.as_deref()),
            (PlanState::Planned, Some("ops"))
        );
        assert!(store.approve_held(job, "ops").is_err(), "not held any more");
        assert!(store.reject_held(job, "ops", "no").is_err());
    }

    #[test]
    fn a_rejected_job_fails_and_leaves_its_outputs_to_the_sweep() {
        let (_dir, store) = temp_store();
        let job = held_job(&store);
        store.reject_held(job, "ops", "rejected by ops").unwrap();
        assert!(store.job_outputs(job).unwrap().is_empty());
        assert_eq!(
            store.leftover_temps("p").unwrap(),
            vec![(job, "/tmp/x.tmp".to_string())]
        );
        let row = store.job(job).unwrap().unwrap();
        assert_eq!(row.status, JobStatus::Failed);
        assert_eq!(row.error.as_deref(), Some("rejected by ops"));
        assert_eq!(store.plan(job).unwrap().unwrap().state, PlanState::Rejected);
        assert!(store.held_plans(None).unwrap().is_empty());
    }

    #[test]
    fn changes_come_back_in_order_and_quiet_ones_only_when_they_wait() {
        let (_dir, store) = temp_store();
        let job = held_job(&store);
        let change = |n: u64, kind: &str| ChangeRow {
            row: Some(n + 2),
            active: true,
            digest: Some([n as u8; 16]),
            ..ChangeRow::of(n, &format!("E{n}"), kind)
        };
        let waiting = ChangeRow {
            queued: Some(("joiner".into(), "2027-01-15".into())),
            ..change(2, "quiet")
        };
        store
            .add_changes(
                job,
                &[change(1, "quiet"), change(0, "joiner"), waiting.clone()],
            )
            .unwrap();
        let loud = store.changes_page(job, 0, Toward::Newer, 10).unwrap();
        assert_eq!(loud, vec![change(0, "joiner"), waiting]);
        assert_eq!(
            store.listed_changes(job).unwrap(),
            2,
            "the quiet row is kept, not listed"
        );
    }

    #[test]
    fn a_plan_is_read_a_page_at_a_time_either_way_without_its_quiet_rows() {
        let (_dir, store) = temp_store();
        let job = held_job(&store);
        let changes: Vec<ChangeRow> = (0..100u64)
            .map(|n| {
                let kind = if n % 10 == 3 { "quiet" } else { "leaver" };
                ChangeRow::of(n, &format!("E{n:03}"), kind)
            })
            .collect();
        store.add_changes(job, &changes).unwrap();
        assert_eq!(store.listed_changes(job).unwrap(), 90);
        let ns = |page: Vec<ChangeRow>| page.iter().map(|c| c.n).collect::<Vec<_>>();
        let page = |at, toward, limit| ns(store.changes_page(job, at, toward, limit).unwrap());
        assert_eq!(page(0, Toward::Newer, 4), [0, 1, 2, 4]);
        assert_eq!(page(12, Toward::Newer, 3), [12, 14, 15]);
        assert_eq!(page(12, Toward::Older, 3), [9, 10, 11]);
        assert_eq!(page(u64::MAX, Toward::Older, 3), [97, 98, 99]);
        assert_eq!(page(2, Toward::Older, 5), [0, 1]);
        assert!(page(100, Toward::Newer, 5).is_empty());
    }
}
