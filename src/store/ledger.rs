//! The delivery ledger: what each row of a job's API output came to — `sending` (taken by a
//! worker, no final answer yet), `delivered`, or `failed` (permanently, or after every
//! retry). A row with no entry, or one left `sending` by a crash, is sent again (with the same
//! `Idempotency-Key`); `delivered` and `failed` rows are settled and skipped.
//!
//! Each row also has a *key generation* (0 at first), part of its `Idempotency-Key`. `retry`
//! makes failed rows unsettled again and moves to the next generation only the rows whose last
//! answer was a definitive refusal: an HTTP 4xx other than 408 and 429, the answers that are
//! never retried within a run (`kernel::http_status::is_transient`). The server did not apply
//! such a request, and a server that stores the answer per key would only replay the refusal to
//! the old key, so a new key is what lets a retry succeed. A row that failed ambiguously (the
//! attempts ran out on timeouts, connection errors, 5xx, 408 or 429, or a 2xx answer broke the
//! output's `success` rules) keeps its generation: the server may have applied it, and the
//! same key lets it answer from that instead of applying the row twice — at the price that
//! such a server may also replay a stored failure to it. A row that failed before any request
//! (no id known for its URL, credentials refused) keeps it too; the server never saw its key.
//!
//! Entries are written in batches by the one thread that owns the store; a crash can lose the
//! last batch, which only means a few rows are sent again under the same key.

use rusqlite::{params, Transaction};

use super::{now, Result, Store};

/// The state of one row of one API output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Taken by a worker, or reopened by `retry`; no final answer yet (sent again).
    Sending,
    /// The API confirmed it.
    Delivered,
    /// Refused for good, or still failing after every attempt (sent again by `retry`).
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Sending => "sending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

/// One ledger write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub output_index: usize,
    /// Line of the output's spool (the record's number in the job, from 0).
    pub line: u64,
    /// Row of the input file.
    pub row: u64,
    pub state: DeliveryState,
    pub attempts: u32,
    pub status: Option<u16>,
    /// Why it failed (masked, truncated) or what was done instead of the plain request.
    pub reason: Option<String>,
}

/// What one input row came to at one API output, as a trace shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDelivery {
    pub output_index: usize,
    pub state: DeliveryState,
    pub attempts: u32,
    pub status: Option<u16>,
    pub reason: Option<String>,
}

/// A row that could not be delivered, as `jobs --job` and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryFailure {
    pub output_index: usize,
    pub row: u64,
    pub attempts: u32,
    pub status: Option<u16>,
    pub reason: String,
}

impl Store {
    /// Writes `entries` of job `job_id` (an entry replaces the row's last) and keeps `ids` in
    /// the id map (`(map, key, id)`), all in one transaction.
    pub fn ledger_write(
        &self,
        job_id: i64,
        entries: &[LedgerEntry],
        ids: &[(&str, String, String)],
    ) -> Result<()> {
        self.batch(|store| {
            for (map, key, id) in ids {
                store.id_keep(map, key, id)?;
            }
            let mut stmt = store.conn.prepare_cached(
                "INSERT INTO deliveries (job_id, output_index, line, row, state, attempts, status,
                                         reason, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (job_id, output_index, line) DO UPDATE SET
                     state = excluded.state, attempts = deliveries.attempts + excluded.attempts,
                     status = excluded.status, reason = excluded.reason,
                     updated_at = excluded.updated_at",
            )?;
            let at = now();
            for e in entries {
                stmt.execute(params![
                    job_id,
                    e.output_index,
                    e.line,
                    e.row,
                    e.state.as_str(),
                    e.attempts,
                    e.status,
                    e.reason,
                    at
                ])?;
            }
            Ok(())
        })
    }

    /// The lines of output `output_index` of job `job_id` whose key generation is above 0, with
    /// that generation, sorted by line (rows never reopened by `retry` are left out).
    pub fn ledger_key_generations(
        &self,
        job_id: i64,
        output_index: usize,
    ) -> Result<Vec<(u64, u32)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT line, key_generation FROM deliveries
             WHERE job_id = ?1 AND output_index = ?2 AND key_generation > 0
             ORDER BY line",
        )?;
        let lines = stmt.query_map(params![job_id, output_index], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(lines.collect::<rusqlite::Result<_>>()?)
    }

    /// The spool lines of output `output_index` of job `job_id` that are settled (delivered or
    /// failed), sorted.
    pub fn ledger_settled(&self, job_id: i64, output_index: usize) -> Result<Vec<u64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT line FROM deliveries
             WHERE job_id = ?1 AND output_index = ?2 AND state IN ('delivered', 'failed')
             ORDER BY line",
        )?;
        let lines = stmt.query_map(params![job_id, output_index], |r| r.get(0))?;
        Ok(lines.collect::<rusqlite::Result<_>>()?)
    }

    /// How many records of job `job_id` failed in at least one output.
    pub fn ledger_failed_rows(&self, job_id: i64) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(DISTINCT line) FROM deliveries WHERE job_id = ?1 AND state = 'failed'",
            params![job_id],
            |r| r.get(0),
        )?)
    }

    /// How many rows of output `output_index` of job `job_id` are delivered, and how many failed.
    pub fn ledger_counts(&self, job_id: i64, output_index: usize) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT count(*) FILTER (WHERE state = 'delivered'),
                    count(*) FILTER (WHERE state = 'failed')
             FROM deliveries WHERE job_id = ?1 AND output_index = ?2",
            params![job_id, output_index],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// The outputs of job `job_id` with failed rows, in order.
    pub fn ledger_failed_outputs(&self, job_id: i64) -> Result<Vec<usize>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT output_index FROM deliveries
             WHERE job_id = ?1 AND state = 'failed' ORDER BY output_index",
        )?;
        let outputs = stmt.query_map(params![job_id], |r| r.get(0))?;
        Ok(outputs.collect::<rusqlite::Result<_>>()?)
    }

    /// What row `row` of job `job_id` came to at each API output that took it, by output
    /// (a batch of several records is one entry per record).
    pub fn row_deliveries(&self, job_id: i64, row: u64) -> Result<Vec<RowDelivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT output_index, state, attempts, status, reason FROM deliveries
             WHERE job_id = ?1 AND row = ?2 ORDER BY output_index, line",
        )?;
        let rows = stmt.query_map(params![job_id, row], |r| {
            let state: String = r.get(1)?;
            Ok(RowDelivery {
                output_index: r.get(0)?,
                state: match state.as_str() {
                    "delivered" => DeliveryState::Delivered,
                    "failed" => DeliveryState::Failed,
                    _ => DeliveryState::Sending,
                },
                attempts: r.get(2)?,
                status: r.get(3)?,
                reason: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The failed rows of job `job_id`, by output and row, at most `limit`.
    pub fn ledger_failures(&self, job_id: i64, limit: usize) -> Result<Vec<DeliveryFailure>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT output_index, row, attempts, status, reason FROM deliveries
             WHERE job_id = ?1 AND state = 'failed' ORDER BY output_index, line LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![job_id, limit], |r| {
            Ok(DeliveryFailure {
                output_index: r.get(0)?,
                row: r.get(1)?,
                attempts: r.get(2)?,
                status: r.get(3)?,
                reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Inside `reopen_for_retry`'s transaction: makes every failed row of job `job_id` unsettled
/// again (`sending`, its attempts and answer cleared, so the next publish sends it), moving
/// the definitively refused ones (see the module header) to their next key generation.
pub(super) fn reopen_failed(tx: &Transaction<'_>, job_id: i64) -> Result<()> {
    tx.execute(
        "UPDATE deliveries SET
             key_generation = key_generation
                 + CASE WHEN status BETWEEN 400 AND 499 AND status NOT IN (408, 429)
                        THEN 1 ELSE 0 END,
             state = 'sending', attempts = 0, status = NULL, reason = NULL, updated_at = ?2
         WHERE job_id = ?1 AND state = 'failed'",
        params![job_id, now()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::temp_store;

    fn entry(line: u64, state: DeliveryState) -> LedgerEntry {
        LedgerEntry {
            output_index: 0,
            line,
            row: line + 2,
            state,
            attempts: 1,
            status: Some(500),
            reason: None,
        }
    }

    #[test]
    fn entries_settle_rows_and_count_attempts() {
        let (_dir, store) = temp_store();
        let file = store.upsert_file("p", "in.csv", "aa", 1, "dir:x").unwrap();
        let job = store.start_job("p", file.id, "in.csv").unwrap();
        store
            .ledger_write(
                job,
                &[
                    entry(0, DeliveryState::Sending),
                    entry(1, DeliveryState::Sending),
                    entry(2, DeliveryState::Delivered),
                ],
                &[("hris", "E3".into(), "1003".into())],
            )
            .unwrap();
        assert_eq!(store.ledger_settled(job, 0).unwrap(), [2]);
        assert_eq!(
            store.id_lookup("hris", "E3").unwrap().as_deref(),
            Some("1003")
        );
        let failed = LedgerEntry {
            attempts: 3,
            status: Some(422),
            reason: Some("HTTP 422: bad".into()),
            ..entry(1, DeliveryState::Failed)
        };
        store.ledger_write(job, &[failed], &[]).unwrap();
        assert_eq!(store.ledger_settled(job, 0).unwrap(), [1, 2]);
        assert_eq!(store.ledger_settled(job, 1).unwrap(), Vec::<u64>::new());
        assert_eq!(store.ledger_failed_rows(job).unwrap(), 1);
        assert_eq!(store.ledger_failed_outputs(job).unwrap(), [0]);
        assert_eq!(store.ledger_counts(job, 0).unwrap(), (1, 1));
        assert_eq!(store.ledger_counts(job, 1).unwrap(), (0, 0));
        assert_eq!(
            store.ledger_failures(job, 10).unwrap(),
            [DeliveryFailure {
                output_index: 0,
                row: 3,
                attempts: 4,
                status: Some(422),
                reason: "HTTP 422: bad".into()
            }]
        );
    }

    /// A job of profile `p` that ended `partial` with one published API output.
    fn partial_job(store: &crate::store::Store) -> i64 {
        use crate::store::{Counts, OutputRow};
        let file = store.upsert_file("p", "in.csv", "aa", 1, "dir:x").unwrap();
        let job = store.start_job("p", file.id, "in.csv").unwrap();
        let out = OutputRow {
            job_id: job,
            output_index: Some(0),
            temp_path: "var/outgoing/p/1.spool".into(),
            final_path: "POST https://api/x".into(),
            rows: 20,
            bytes: 1,
            sha256: "cd".repeat(32),
            published: false,
        };
        store
            .begin_commit(job, Counts::default(), &[out], store.peek_seq("p").unwrap())
            .unwrap();
        finish(store, job);
        job
    }

    /// Publishes job `job`'s output and ends it `partial` (again).
    fn finish(store: &crate::store::Store, job: i64) {
        use crate::store::{Counts, JobStatus};
        store.mark_published(job, "POST https://api/x").unwrap();
        store
            .finish_job(job, JobStatus::Partial, Counts::default(), None)
            .unwrap();
    }

    fn failed(line: u64, status: Option<u16>) -> LedgerEntry {
        LedgerEntry {
            status,
            reason: Some("no".into()),
            ..entry(line, DeliveryState::Failed)
        }
    }

    #[test]
    fn retry_reopens_failed_rows_and_renews_only_definitively_refused_keys() {
        use crate::kernel::http_status::is_transient;
        let (_dir, store) = temp_store();
        let job = partial_job(&store);
        // Line i failed with statuses[i]; line 12 was delivered.
        let statuses = [
            None,
            Some(200),
            Some(400),
            Some(401),
            Some(403),
            Some(404),
            Some(408),
            Some(409),
            Some(422),
            Some(429),
            Some(500),
            Some(503),
        ];
        let lines = (0u64..).zip(statuses);
        let mut entries: Vec<_> = lines.clone().map(|(l, s)| failed(l, s)).collect();
        entries.push(entry(12, DeliveryState::Delivered));
        store.ledger_write(job, &entries, &[]).unwrap();
        assert_eq!(store.reopen_for_retry(job).unwrap(), 12);

        // The rule in SQL is the retry policy's: a final (not transient) 4xx is a refusal.
        let refused =
            |s: Option<u16>| s.is_some_and(|s| (400..500).contains(&s) && !is_transient(s));
        let renewed: Vec<(u64, u32)> = lines
            .clone()
            .filter(|&(_, s)| refused(s))
            .map(|(l, _)| (l, 1))
            .collect();
        assert_eq!(
            renewed.iter().map(|&(l, _)| l).collect::<Vec<_>>(),
            [2, 3, 4, 5, 7, 8]
        );
        assert_eq!(store.ledger_key_generations(job, 0).unwrap(), renewed);
        // Reopened rows are unsettled (sent again), their answers and attempts cleared.
        assert_eq!(store.ledger_settled(job, 0).unwrap(), [12]);
        assert_eq!(store.ledger_counts(job, 0).unwrap(), (1, 0));
        assert_eq!(store.ledger_failed_rows(job).unwrap(), 0);

        // The retry: line 2 is refused again, line 5 times out this time, line 10 is refused
        // now, the rest go through. Writing the answers keeps the generations.
        let again = [
            entry(2, DeliveryState::Sending),
            failed(2, Some(422)),
            failed(5, None),
            failed(10, Some(404)),
        ];
        store.ledger_write(job, &again, &[]).unwrap();
        let rest: Vec<_> = (0..12)
            .filter(|l| ![2, 5, 10].contains(l))
            .map(|l| entry(l, DeliveryState::Delivered))
            .collect();
        store.ledger_write(job, &rest, &[]).unwrap();
        assert_eq!(store.ledger_key_generations(job, 0).unwrap(), renewed);
        // This round's attempts only (1 + 1 in the test entries; 3 had the first round's stayed).
        assert_eq!(store.ledger_failures(job, 10).unwrap()[0].attempts, 2);
        finish(&store, job);
        assert_eq!(store.reopen_for_retry(job).unwrap(), 3);
        // Refused twice: generation 2. Ambiguous after a refusal: keeps the key it was last
        // sent under (1). Refused for the first time: 1.
        let generations = store.ledger_key_generations(job, 0).unwrap();
        assert_eq!(
            generations,
            [(2, 2), (3, 1), (4, 1), (5, 1), (7, 1), (8, 1), (10, 1)]
        );
    }
}
