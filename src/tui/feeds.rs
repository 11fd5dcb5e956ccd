//! The dashboard's lists as [`Feed`]s over the store: jobs (all, or failed and partial) by
//! job id, and the audit trail by seq, scanned a bounded chunk at a time so a filter that
//! matches one event in a million never freezes the screen.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::store::{AuditFilter, AuditRow, JobRow, JobSet, JobStatus, Store, StoreError, Toward};

use super::window::Feed;

/// Jobs of one set, newest first.
pub struct JobsFeed {
    pub set: JobSet,
}

impl Feed for JobsFeed {
    type Row = JobRow;

    fn key(row: &JobRow) -> i64 {
        row.id
    }

    fn fetch(
        &mut self,
        store: &Store,
        cursor: i64,
        toward: Toward,
        want: usize,
    ) -> Result<(Vec<JobRow>, Option<i64>), StoreError> {
        let rows = store.jobs_page(self.set, Some(cursor), toward, want)?;
        let next = if rows.len() < want {
            None
        } else {
            match toward {
                Toward::Older => rows.last().map(|j| j.id),
                Toward::Newer => rows.first().map(|j| j.id),
            }
        };
        Ok((rows, next))
    }

    /// Jobs change status (running → succeeded, partial → succeeded after a retry): the
    /// shown ones are read again, and those that left the set are dropped.
    fn refresh(&mut self, store: &Store, rows: &mut Vec<JobRow>) -> Result<(), StoreError> {
        let ids: Vec<i64> = rows.iter().map(|j| j.id).collect();
        let fresh: HashMap<i64, JobRow> = store
            .jobs_by_id(&ids)?
            .into_iter()
            .map(|j| (j.id, j))
            .collect();
        for row in rows.iter_mut() {
            if let Some(now) = fresh.get(&row.id) {
                row.clone_from(now);
            }
        }
        if self.set == JobSet::Troubled {
            rows.retain(|j| matches!(j.status, JobStatus::Failed | JobStatus::Partial));
        }
        Ok(())
    }
}

/// The audit trail under a filter, newest first.
pub struct AuditFeed {
    pub filter: AuditFilter,
    /// How long one fetch may scan before it hands back what it found.
    budget: Duration,
    /// Seqs looked at per query.
    chunk: i64,
}

impl AuditFeed {
    /// A feed that scans 8,000 events per query (a few milliseconds, even for text) and
    /// returns once ~6 ms have passed, so a scanning frame stays well under 16 ms.
    pub fn new(filter: AuditFilter) -> AuditFeed {
        AuditFeed {
            filter,
            budget: Duration::from_millis(6),
            chunk: 8_000,
        }
    }
}

impl Feed for AuditFeed {
    type Row = AuditRow;

    fn key(row: &AuditRow) -> i64 {
        row.seq
    }

    fn fetch(
        &mut self,
        store: &Store,
        cursor: i64,
        toward: Toward,
        want: usize,
    ) -> Result<(Vec<AuditRow>, Option<i64>), StoreError> {
        let deadline = Instant::now() + self.budget;
        let head = store.audit_last_seq()?;
        let mut rows: Vec<AuditRow> = Vec::new();
        let mut cursor = cursor;
        loop {
            let missing = want - rows.len();
            // [lo, hi) is the next chunk of seqs in the direction of travel.
            let (lo, hi) = match toward {
                Toward::Older => {
                    let hi = cursor.min(head + 1);
                    (hi.saturating_sub(self.chunk).max(1), hi)
                }
                Toward::Newer => {
                    let lo = cursor.max(0) + 1;
                    (lo, lo.saturating_add(self.chunk).min(head + 1))
                }
            };
            if lo >= hi {
                return Ok((rows, None));
            }
            let batch = store.audit_range(&self.filter, lo, hi, toward, missing)?;
            let full = batch.len() == missing;
            match toward {
                Toward::Older => {
                    cursor = if full {
                        batch.last().map_or(lo, |e| e.seq)
                    } else {
                        lo
                    };
                    rows.extend(batch);
                }
                Toward::Newer => {
                    cursor = if full {
                        batch.first().map_or(hi - 1, |e| e.seq)
                    } else {
                        hi - 1
                    };
                    rows.splice(0..0, batch);
                }
            }
            if full || Instant::now() >= deadline {
                let ended = match toward {
                    Toward::Older => cursor <= 1 && !full,
                    Toward::Newer => cursor >= head && !full,
                };
                return Ok((rows, (!ended).then_some(cursor)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuditEvent;
    use crate::tui::window::Window;

    fn trail(n: usize) -> Store {
        let store = Store::open_in_memory().unwrap();
        for i in 0..n {
            let kind = if i % 97 == 0 {
                "job.failed"
            } else {
                "job.started"
            };
            store
                .append_audit(&AuditEvent {
                    kind: kind.into(),
                    profile: Some("p".into()),
                    job_id: None,
                    detail: serde_json::json!({ "i": i }),
                })
                .unwrap();
        }
        store
    }

    fn drain(store: &Store, w: &mut Window<AuditFeed>) {
        while w.wants_more() {
            w.step(store).unwrap();
        }
    }

    #[test]
    fn a_rare_match_is_found_over_many_chunks_without_losing_any() {
        let store = trail(500);
        // Chunks of 40 seqs and no time budget: every fetch returns after one chunk.
        let feed = AuditFeed {
            filter: AuditFilter {
                kind: Some("job.failed".into()),
                ..AuditFilter::default()
            },
            budget: Duration::ZERO,
            chunk: 40,
        };
        let mut w = Window::new(feed);
        drain(&store, &mut w);
        let seqs: Vec<i64> = w.rows().iter().map(|e| e.seq).collect();
        let expected: Vec<i64> = (0..500)
            .rev()
            .filter(|i| i % 97 == 0)
            .map(|i| i + 1)
            .collect();
        assert_eq!(seqs, expected);
        assert!(w.at_bottom());
    }

    #[test]
    fn paging_the_whole_trail_both_ways_sees_every_event_once() {
        let store = trail(450);
        let mut w = Window::new(AuditFeed {
            filter: AuditFilter::default(),
            budget: Duration::from_secs(1),
            chunk: 64,
        });
        drain(&store, &mut w);
        let mut seen = vec![w.selected().unwrap().seq];
        for _ in 0..449 {
            w.move_by(&store, 1).unwrap();
            drain(&store, &mut w);
            seen.push(w.selected().unwrap().seq);
        }
        assert_eq!(seen, (1..=450).rev().collect::<Vec<i64>>());
        w.bottom(&store).unwrap();
        assert_eq!(w.selected().unwrap().seq, 1);
        for _ in 0..449 {
            w.move_by(&store, -1).unwrap();
        }
        assert_eq!(w.selected().unwrap().seq, 450);
        store
            .append_audit(&AuditEvent {
                kind: "job.started".into(),
                profile: None,
                job_id: None,
                detail: serde_json::json!({}),
            })
            .unwrap();
        w.live(&store).unwrap();
        assert_eq!(w.rows()[0].seq, 451);
        assert_eq!(w.selected().unwrap().seq, 450);
    }
}
