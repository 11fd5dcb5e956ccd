//! Pages of history for the dashboard: keyset queries over jobs and the audit trail, so the
//! page at the bottom of 100,000 jobs or 1,000,000 events costs what the first page costs.
//!
//! Pages are asked for relative to a row the caller already shows ("older than job 812",
//! "newer than event 90,211"), never by offset. Audit pages look at one range of `seq` at a
//! time: a filter that matches rarely is scanned a bounded chunk per call, so the caller can
//! draw between chunks instead of freezing while SQLite walks a million rows.

use rusqlite::{params_from_iter, types::Value as SqlValue};

use super::audit::audit_row;
use super::jobs::{job_row, select};
use super::{AuditRow, JobRow, Result, Store};

/// Which way a page goes from the row it starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    /// Smaller ids: further down a newest-first list.
    Older,
    /// Larger ids: back up towards the newest.
    Newer,
}

/// Which jobs a job page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobSet {
    All,
    /// Failed and partial jobs (the Errors view).
    Troubled,
}

/// Totals of the jobs started since a moment (the dashboard's "today" line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobTotals {
    pub jobs: u64,
    pub failed: u64,
    pub partial: u64,
    /// Rows that reached every output (see [`Counts::published`](super::Counts::published)):
    /// the rows of failed jobs are not among them.
    pub rows_published: u64,
    /// Rows an API output could not deliver.
    pub rows_failed: u64,
}

/// What audit events a page keeps. Every part given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// An event kind (`job.failed`), or a family without a dot (`job` = `job.*`).
    pub kind: Option<String>,
    /// A profile name, exactly.
    pub profile: Option<String>,
    /// Text anywhere in the kind, profile or detail (ASCII case ignored).
    pub text: Option<String>,
}

impl AuditFilter {
    pub fn is_empty(&self) -> bool {
        self.kind.is_none() && self.profile.is_none() && self.text.is_none()
    }
}

impl Store {
    /// Up to `limit` jobs of `set`, newest first, next to job `from` in direction `toward`;
    /// with `from = None`, the newest jobs (`Older`) or the oldest ones (`Newer`).
    pub fn jobs_page(
        &self,
        set: JobSet,
        from: Option<i64>,
        toward: Toward,
        limit: usize,
    ) -> Result<Vec<JobRow>> {
        // Troubled jobs walk the partial index `jobs_troubled` in id order, so a page stops
        // after `limit` rows; left to itself SQLite gathers every failed and partial job from
        // `jobs_by_status` and sorts them. The query must repeat the index's condition.
        let sql = match (set, toward) {
            (JobSet::All, Toward::Older) => select!("WHERE j.id < ?1 ORDER BY j.id DESC LIMIT ?2"),
            (JobSet::All, Toward::Newer) => select!("WHERE j.id > ?1 ORDER BY j.id LIMIT ?2"),
            (JobSet::Troubled, Toward::Older) => select!(
                "INDEXED BY jobs_troubled",
                "WHERE j.status IN ('failed', 'partial') AND j.id < ?1
                 ORDER BY j.id DESC LIMIT ?2"
            ),
            (JobSet::Troubled, Toward::Newer) => select!(
                "INDEXED BY jobs_troubled",
                "WHERE j.status IN ('failed', 'partial') AND j.id > ?1 ORDER BY j.id LIMIT ?2"
            ),
        };
        let start = from.unwrap_or(match toward {
            Toward::Older => i64::MAX,
            Toward::Newer => i64::MIN,
        });
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(rusqlite::params![start, limit], job_row)?;
        let mut jobs = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        if toward == Toward::Newer {
            jobs.reverse();
        }
        Ok(jobs)
    }

    /// The jobs with these ids (those that exist), in no particular order: how a page of jobs
    /// is read again to show changed statuses.
    pub fn jobs_by_id(&self, ids: &[i64]) -> Result<Vec<JobRow>> {
        let mut jobs = Vec::with_capacity(ids.len());
        // SQLite binds at most 32,766 parameters per statement; pages are far smaller.
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("{} WHERE j.id IN ({marks})", select!(""));
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(chunk), job_row)?;
            jobs.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
        }
        Ok(jobs)
    }

    /// The newest job of `profile`, if it has run.
    pub fn last_job_of(&self, profile: &str) -> Result<Option<JobRow>> {
        Ok(self.recent_jobs(1, Some(profile))?.pop())
    }

    /// Totals of the jobs started at or after `since` (RFC 3339 UTC, as stored); the rows
    /// published are counted as [`Counts::published`](super::Counts::published) counts them.
    pub fn job_totals_since(&self, since: &str) -> Result<JobTotals> {
        Ok(self.conn.query_row(
            "SELECT count(*), count(*) FILTER (WHERE status = 'failed'),
                    count(*) FILTER (WHERE status = 'partial'),
                    ifnull(sum(CASE WHEN status IN ('succeeded', 'partial')
                                    THEN max(written_rows - failed_rows, 0) ELSE 0 END), 0),
                    ifnull(sum(failed_rows), 0)
             FROM jobs WHERE started_at >= ?1",
            [since],
            |r| {
                Ok(JobTotals {
                    jobs: r.get(0)?,
                    failed: r.get(1)?,
                    partial: r.get(2)?,
                    rows_published: r.get(3)?,
                    rows_failed: r.get(4)?,
                })
            },
        )?)
    }

    /// A number that changes whenever another connection (the daemon, a CLI command) has
    /// committed to the database since this one last asked: the dashboard reads again only
    /// then. This connection's own writes do not change it.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// The newest job id and the number of jobs (0 and 0 before the first job).
    pub fn jobs_extent(&self) -> Result<(i64, u64)> {
        Ok(self
            .conn
            .query_row("SELECT ifnull(max(id), 0), count(*) FROM jobs", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?)
    }

    /// The seq of the newest audit event (0 for an empty trail); seqs run 1, 2, 3 … without
    /// gaps, so it is also the number of events.
    pub fn audit_last_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT seq FROM audit_head WHERE id = 1", [], |r| r.get(0))?)
    }

    /// Up to `limit` events matching `filter` with `lo <= seq < hi`, newest first; with
    /// `toward = Newer` the limit keeps the oldest of them (those nearest `lo`).
    pub fn audit_range(
        &self,
        filter: &AuditFilter,
        lo: i64,
        hi: i64,
        toward: Toward,
        limit: usize,
    ) -> Result<Vec<AuditRow>> {
        // The statement is assembled from fixed fragments only; every value is bound.
        let mut sql = String::from(
            "SELECT seq, at, kind, profile, job_id, detail, prev_hash, hash FROM audit
             WHERE seq >= ?1 AND seq < ?2",
        );
        let mut values: Vec<SqlValue> = vec![lo.into(), hi.into()];
        if let Some(kind) = &filter.kind {
            if kind.contains('.') {
                sql.push_str(" AND kind = ?");
                values.push(kind.clone().into());
            } else {
                // `job` = every `job.…`: the range ["job.", "job/") on the kind index.
                sql.push_str(" AND kind >= ? AND kind < ?");
                values.push(format!("{kind}.").into());
                values.push(format!("{kind}/").into());
            }
        }
        if let Some(profile) = &filter.profile {
            sql.push_str(" AND profile = ?");
            values.push(profile.clone().into());
        }
        if let Some(text) = &filter.text {
            sql.push_str(
                " AND (kind LIKE ? ESCAPE '\\' OR ifnull(profile, '') LIKE ? ESCAPE '\\'
                       OR detail LIKE ? ESCAPE '\\')",
            );
            let pattern = format!("%{}%", like_escape(text));
            values.extend(std::iter::repeat_n(SqlValue::from(pattern), 3));
        }
        sql.push_str(match toward {
            Toward::Older => " ORDER BY seq DESC LIMIT ?",
            Toward::Newer => " ORDER BY seq LIMIT ?",
        });
        values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(values), audit_row)?;
        let mut events = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        if toward == Toward::Newer {
            events.reverse();
        }
        Ok(events)
    }

    /// The audit events of job `job_id`, oldest first, at most `limit`.
    pub fn job_audit(&self, job_id: i64, limit: usize) -> Result<Vec<AuditRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, kind, profile, job_id, detail, prev_hash, hash FROM audit
             WHERE job_id = ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(rusqlite::params![job_id, limit], audit_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// `text` with LIKE's wildcards (and the escape character) taken literally.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{temp_store, AuditEvent, Counts, JobStatus};

    fn store_with_jobs(n: usize) -> (tempfile::TempDir, Store, Vec<i64>) {
        let (dir, store) = temp_store();
        let mut ids = Vec::new();
        for i in 0..n {
            let file = store
                .upsert_file("p", &format!("f{i}.csv"), &format!("{i:064}"), 1, "dir:x")
                .unwrap();
            let job = store.start_job("p", file.id, &file.name).unwrap();
            let status = if i % 3 == 0 {
                JobStatus::Failed
            } else {
                JobStatus::Duplicate
            };
            store
                .finish_job(job, status, Counts::default(), None)
                .unwrap();
            ids.push(job);
        }
        (dir, store, ids)
    }

    fn ids(jobs: &[JobRow]) -> Vec<i64> {
        jobs.iter().map(|j| j.id).collect()
    }

    #[test]
    fn job_pages_walk_both_ways_newest_first() {
        let (_dir, store, all) = store_with_jobs(10);
        let top = store
            .jobs_page(JobSet::All, None, Toward::Older, 4)
            .unwrap();
        assert_eq!(ids(&top), [all[9], all[8], all[7], all[6]]);
        let next = store
            .jobs_page(JobSet::All, Some(all[6]), Toward::Older, 4)
            .unwrap();
        assert_eq!(ids(&next), [all[5], all[4], all[3], all[2]]);
        let back = store
            .jobs_page(JobSet::All, Some(all[5]), Toward::Newer, 2)
            .unwrap();
        assert_eq!(ids(&back), [all[7], all[6]]);
        let bottom = store
            .jobs_page(JobSet::All, None, Toward::Newer, 3)
            .unwrap();
        assert_eq!(ids(&bottom), [all[2], all[1], all[0]]);
        let troubled = store
            .jobs_page(JobSet::Troubled, None, Toward::Older, 10)
            .unwrap();
        assert_eq!(ids(&troubled), [all[9], all[6], all[3], all[0]]);
        assert_eq!(store.jobs_extent().unwrap(), (all[9], 10));
        let mut some = ids(&store.jobs_by_id(&[all[3], all[7], 9_999]).unwrap());
        some.sort_unstable();
        assert_eq!(some, [all[3], all[7]]);
        assert_eq!(store.last_job_of("p").unwrap().unwrap().id, all[9]);
        assert_eq!(store.last_job_of("q").unwrap(), None);
        let totals = store.job_totals_since("2000-01-01T00:00:00Z").unwrap();
        assert_eq!((totals.jobs, totals.failed), (10, 4));
        let none = store.job_totals_since("2999-01-01T00:00:00Z").unwrap();
        assert_eq!(none, JobTotals::default());
    }

    #[test]
    fn totals_count_the_rows_published_not_those_of_failed_jobs() {
        let (_dir, store) = temp_store();
        for (i, (status, written, failed)) in [
            (JobStatus::Failed, 5, 0),
            (JobStatus::Succeeded, 3, 0),
            (JobStatus::Partial, 4, 1),
            (JobStatus::Failed, 2, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let file = store
                .upsert_file("p", "f.csv", &format!("{i:064}"), 1, "dir:x")
                .unwrap();
            let job = store.start_job("p", file.id, &file.name).unwrap();
            let counts = Counts {
                read: written,
                written,
                failed,
                ..Counts::default()
            };
            store.finish_job(job, status, counts, None).unwrap();
        }
        let totals = store.job_totals_since("2000-01-01T00:00:00Z").unwrap();
        assert_eq!((totals.rows_published, totals.rows_failed), (3 + 3, 3));
        let each: u64 = store
            .recent_jobs(10, None)
            .unwrap()
            .iter()
            .map(|j| j.counts.published(j.status))
            .sum();
        assert_eq!(totals.rows_published, each);
    }

    #[test]
    fn audit_ranges_filter_by_kind_family_profile_and_literal_text() {
        let (_dir, store) = temp_store();
        let events = [
            ("job.started", Some("payroll"), "a_b"),
            ("job.failed", Some("payroll"), "100%"),
            ("file.refused", Some("hris"), "axb"),
            ("secret.set", None, "jobless"),
        ];
        for (kind, profile, note) in events {
            store
                .append_audit(&AuditEvent {
                    kind: kind.into(),
                    profile: profile.map(str::to_string),
                    job_id: None,
                    detail: serde_json::json!({ "note": note }),
                })
                .unwrap();
        }
        let seqs = |filter: AuditFilter, toward, limit| {
            store
                .audit_range(&filter, 1, 5, toward, limit)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            seqs(AuditFilter::default(), Toward::Older, 10),
            [4, 3, 2, 1]
        );
        assert_eq!(seqs(AuditFilter::default(), Toward::Older, 2), [4, 3]);
        assert_eq!(seqs(AuditFilter::default(), Toward::Newer, 2), [2, 1]);
        let kind = |k: &str| AuditFilter {
            kind: Some(k.into()),
            ..AuditFilter::default()
        };
        assert_eq!(seqs(kind("job"), Toward::Older, 10), [2, 1]);
        assert_eq!(seqs(kind("job.failed"), Toward::Older, 10), [2]);
        assert_eq!(seqs(kind("jo"), Toward::Older, 10), Vec::<i64>::new());
        let profile = AuditFilter {
            profile: Some("hris".into()),
            ..AuditFilter::default()
        };
        assert_eq!(seqs(profile, Toward::Older, 10), [3]);
        let text = |t: &str| AuditFilter {
            text: Some(t.into()),
            ..AuditFilter::default()
        };
        // `_` and `%` are literal, not wildcards; case is ignored.
        assert_eq!(seqs(text("a_b"), Toward::Older, 10), [1]);
        assert_eq!(seqs(text("0%"), Toward::Older, 10), [2]);
        assert_eq!(seqs(text("PAYROLL"), Toward::Older, 10), [2, 1]);
        assert_eq!(seqs(text("job"), Toward::Older, 10), [4, 2, 1]);
        assert_eq!(store.audit_last_seq().unwrap(), 4);
    }

    #[test]
    fn data_version_moves_with_other_connections_commits_only() {
        let (dir, store) = temp_store();
        let before = store.data_version().unwrap();
        store.pause_profile("p", "me").unwrap();
        assert_eq!(store.data_version().unwrap(), before, "own write");
        let other = Store::open(dir.path()).unwrap();
        other.pause_profile("q", "them").unwrap();
        assert_ne!(
            store.data_version().unwrap(),
            before,
            "another connection's write"
        );
    }
}
