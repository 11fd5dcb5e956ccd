//! The tamper-evident audit trail: append-only events, each chained to the previous by hash.
//!
//! Event `n` stores `hash = sha256_hex(prev_hash ‖ canonical([seq, at, kind, profile, job_id,
//! detail]))` where `prev_hash` is the hash of event `n - 1` (64 zeros for event 1) and the
//! canonical encoding is compact JSON with object keys sorted at every depth. Triggers refuse
//! UPDATE and DELETE on the table; the one-row `audit_head` (last seq and hash, written in the
//! same transaction as each event) lets [`Store::verify_audit`] notice a deleted tail too.
//! Someone who can rewrite the whole database can rewrite the chain — delete its tail and set
//! the head back to match — so the head is also kept outside the store (`engine::anchor`:
//! `audit head --sign`, `audit_head_file`, `audit_head_url`), and `audit verify --expect`
//! checks that the trail still holds a head kept earlier.

use rusqlite::types::{FromSqlError, Type};
use rusqlite::{params, OptionalExtension, Row};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{now, Result, Store, StoreError};

/// `prev_hash` of the first event.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something notable that happened, as the caller reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// What happened, dotted: `job.started`, `file.duplicate`, `output.published` ...
    pub kind: String,
    /// The integration it concerns, if any.
    pub profile: Option<String>,
    /// The job it concerns, if any.
    pub job_id: Option<i64>,
    /// Counts, field names, paths: never PII or cell values.
    pub detail: Value,
}

/// An event as stored in the trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRow {
    /// Position in the trail: 1, 2, 3 ... without gaps.
    pub seq: i64,
    /// RFC 3339 UTC, milliseconds.
    pub at: String,
    pub kind: String,
    pub profile: Option<String>,
    pub job_id: Option<i64>,
    /// The event's detail with its object keys sorted.
    pub detail: Value,
    /// Hash of the previous event (64 zeros for the first).
    pub prev_hash: String,
    /// sha256 hex of `prev_hash` and this event's canonical content.
    pub hash: String,
}

/// What [`Store::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum AuditVerdict {
    /// Every event links to the previous one and matches its hash; `head` is the last hash
    /// (64 zeros for an empty trail).
    Intact { events: u64, head: String },
    /// The first event found wrong, and what is wrong with it.
    Broken { seq: i64, reason: String },
}

impl Store {
    /// Appends `event` to the trail and returns it as stored.
    pub fn append_audit(&self, event: &AuditEvent) -> Result<AuditRow> {
        let tx = self.write_tx()?;
        let (last, prev_hash) = tx
            .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()?
            .ok_or_else(|| StoreError::Corrupt("the audit head record is missing".into()))?;
        let seq = last
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt(format!("audit head seq {last} is at its limit")))?;
        let at = now();
        let detail = canonical(&event.detail);
        let profile = event.profile.as_deref();
        let hash = chain_hash(
            &prev_hash,
            seq,
            &at,
            &event.kind,
            profile,
            event.job_id,
            &detail,
        );
        tx.execute(
            "INSERT INTO audit (seq, at, kind, profile, job_id, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                seq,
                at,
                event.kind,
                profile,
                event.job_id,
                detail.to_string(),
                prev_hash,
                hash
            ],
        )?;
        tx.execute(
            "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1",
            params![seq, hash],
        )?;
        tx.commit()?;
        Ok(AuditRow {
            seq,
            at,
            kind: event.kind.clone(),
            profile: event.profile.clone(),
            job_id: event.job_id,
            detail,
            prev_hash,
            hash,
        })
    }

    /// The trail, oldest first; with `Some(n)` only the newest `n` events (still oldest first).
    pub fn audit_events(&self, limit: Option<usize>) -> Result<Vec<AuditRow>> {
        // SQLite reads a negative LIMIT as "no limit".
        let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, kind, profile, job_id, detail, prev_hash, hash FROM (
                 SELECT * FROM audit ORDER BY seq DESC LIMIT ?1
             ) ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![limit], audit_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The events of `kind`, oldest first: of `profile` only, if given, and at or after `since`
    /// and before `before` (RFC 3339 times; a prefix such as `2026-12-01` compares as that day's
    /// start).
    pub fn audit_of_kind(
        &self,
        kind: &str,
        profile: Option<&str>,
        since: Option<&str>,
        before: Option<&str>,
    ) -> Result<Vec<AuditRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, kind, profile, job_id, detail, prev_hash, hash FROM audit
              WHERE kind = ?1 AND (?2 IS NULL OR profile = ?2)
                AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4)
              ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![kind, profile, since, before], audit_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Walks the trail in order and reports the first event that was edited, deleted, inserted
    /// or moved, or that the whole trail is intact.
    pub fn verify_audit(&self) -> Result<AuditVerdict> {
        self.verify_audit_after(0, GENESIS)
    }

    /// The trail's head as the store records it: the last event's seq and hash (0 and 64
    /// zeros while the trail is empty).
    pub fn audit_head(&self) -> Result<(i64, String)> {
        self.conn
            .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?
            .ok_or_else(|| StoreError::Corrupt("the audit head record is missing".into()))
    }

    /// The hash event `seq` has in the trail, if the trail holds it (64 zeros for seq 0).
    pub fn audit_hash(&self, seq: i64) -> Result<Option<String>> {
        if seq == 0 {
            return Ok(Some(GENESIS.to_string()));
        }
        Ok(self
            .conn
            .query_row(
                "SELECT hash FROM audit WHERE seq = ?1",
                params![seq],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// The seq of the event whose hash is `hash`, if the trail holds one (0 for 64 zeros).
    pub fn audit_seq_of(&self, hash: &str) -> Result<Option<i64>> {
        if hash == GENESIS {
            return Ok(Some(0));
        }
        Ok(self
            .conn
            .query_row(
                "SELECT seq FROM audit WHERE hash = ?1 ORDER BY seq LIMIT 1",
                params![hash],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Like [`Store::verify_audit`], but trusts events up to `seq` (whose hash is `hash`, as
    /// an earlier [`AuditVerdict::Intact`] reported them) and checks only what came after,
    /// then the head: how a dashboard keeps up with a growing trail without re-reading it.
    pub fn verify_audit_after(&self, seq: i64, hash: &str) -> Result<AuditVerdict> {
        // One read transaction: the events and the head come from the same snapshot.
        let tx = self.conn.unchecked_transaction()?;
        let head = tx
            .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()?;
        let mut stmt = tx.prepare(
            "SELECT seq, at, kind, profile, job_id, detail, prev_hash, hash
             FROM audit WHERE seq > ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![seq])?;
        let mut last = seq;
        let mut prev = hash.to_string();
        while let Some(row) = rows.next()? {
            let stored = Stored::from_row(row)?;
            if let Some(broken) = stored.check(last + 1, &prev) {
                return Ok(broken);
            }
            last = stored.seq;
            prev = stored.hash;
        }
        Ok(check_head(head, last, prev))
    }
}

/// An event exactly as the table holds it, before any interpretation.
struct Stored {
    seq: i64,
    at: String,
    kind: String,
    profile: Option<String>,
    job_id: Option<i64>,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl Stored {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Stored> {
        Ok(Stored {
            seq: row.get(0)?,
            at: row.get(1)?,
            kind: row.get(2)?,
            profile: row.get(3)?,
            job_id: row.get(4)?,
            detail: row.get(5)?,
            prev_hash: row.get(6)?,
            hash: row.get(7)?,
        })
    }

    /// Why this event breaks the chain, given the seq it should have and the previous hash.
    fn check(&self, expected: i64, prev: &str) -> Option<AuditVerdict> {
        let seq = self.seq;
        let broken = |seq, reason| Some(AuditVerdict::Broken { seq, reason });
        if seq != expected {
            return broken(
                expected,
                format!("event {expected} is missing: the next stored event is {seq} (deleted?)"),
            );
        }
        if self.prev_hash != prev {
            return broken(
                seq,
                format!(
                    "event {seq}: its prev_hash does not match the hash of the event before it \
                     (deleted, inserted or reordered?)"
                ),
            );
        }
        let Ok(detail) = serde_json::from_str::<Value>(&self.detail) else {
            return broken(
                seq,
                format!("event {seq}: detail is not valid JSON (edited?)"),
            );
        };
        let detail = canonical(&detail);
        let rewritten = detail.to_string();
        if rewritten != self.detail {
            return broken(
                seq,
                format!("event {seq}: detail is not in the form hrbridge writes (edited?)"),
            );
        }
        let hash = chain_hash(
            &self.prev_hash,
            seq,
            &self.at,
            &self.kind,
            self.profile.as_deref(),
            self.job_id,
            &detail,
        );
        if hash != self.hash {
            return broken(
                seq,
                format!("event {seq}: stored hash does not match its content (edited?)"),
            );
        }
        None
    }
}

/// The verdict once every stored event checked out: the head must name the last one.
fn check_head(head: Option<(i64, String)>, last: i64, prev: String) -> AuditVerdict {
    let Some((head_seq, head_hash)) = head else {
        return AuditVerdict::Broken {
            seq: last + 1,
            reason: format!(
                "the audit head record is missing (deleted?); events after {last} cannot be \
                 accounted for"
            ),
        };
    };
    if head_seq > last {
        return AuditVerdict::Broken {
            seq: last + 1,
            reason: format!(
                "events {} to {head_seq} are missing: the trail ends at event {last} but the \
                 head records {head_seq} (tail deleted?)",
                last + 1
            ),
        };
    }
    if head_seq < last {
        return AuditVerdict::Broken {
            seq: head_seq + 1,
            reason: format!(
                "event {}: not recorded in the audit head, which ends at {head_seq} \
                 (appended outside hrbridge?)",
                head_seq + 1
            ),
        };
    }
    if head_hash != prev {
        return AuditVerdict::Broken {
            seq: last,
            reason: format!(
                "event {last}: its hash does not match the one recorded in the audit head \
                 (replaced?)"
            ),
        };
    }
    AuditVerdict::Intact {
        events: u64::try_from(last).unwrap_or(0),
        head: prev,
    }
}

/// An [`AuditRow`] in the column order of [`Store::audit_events`].
pub(super) fn audit_row(row: &Row<'_>) -> rusqlite::Result<AuditRow> {
    let text: String = row.get(5)?;
    let detail = serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            5,
            Type::Text,
            Box::new(FromSqlError::Other(Box::new(e))),
        )
    })?;
    Ok(AuditRow {
        seq: row.get(0)?,
        at: row.get(1)?,
        kind: row.get(2)?,
        profile: row.get(3)?,
        job_id: row.get(4)?,
        detail,
        prev_hash: row.get(6)?,
        hash: row.get(7)?,
    })
}

/// `value` with the keys of every object, at every depth, in sorted order.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let sorted: Map<String, Value> = entries
                .into_iter()
                .map(|(key, item)| (key.clone(), canonical(item)))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The chain hash of one event; `detail` must already be [`canonical`].
fn chain_hash(
    prev_hash: &str,
    seq: i64,
    at: &str,
    kind: &str,
    profile: Option<&str>,
    job_id: Option<i64>,
    detail: &Value,
) -> String {
    let content = Value::Array(vec![
        seq.into(),
        at.into(),
        kind.into(),
        profile.into(),
        job_id.into(),
        detail.clone(),
    ]);
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(content.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{temp_store, DB_FILE};
    use rusqlite::Connection;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn events_of_a_kind_are_read_by_profile_and_time() {
        let (_dir, store) = temp_store();
        for (kind, profile) in [("transfer", "a"), ("job.started", "a"), ("transfer", "b")] {
            store
                .append_audit(&AuditEvent {
                    kind: kind.into(),
                    profile: Some(profile.into()),
                    job_id: Some(1),
                    detail: json!({}),
                })
                .unwrap();
        }
        let seqs = |profile, since, before| -> Vec<i64> {
            let rows = store
                .audit_of_kind("transfer", profile, since, before)
                .unwrap();
            rows.iter().map(|r| r.seq).collect()
        };
        assert_eq!(seqs(None, None, None), [1, 3]);
        assert_eq!(seqs(Some("b"), None, None), [3]);
        assert_eq!(seqs(None, Some("2000-01-01"), Some("9999-01-01")), [1, 3]);
        assert!(seqs(None, Some("9999-01-01"), None).is_empty());
        assert!(seqs(None, None, Some("2000-01-01")).is_empty());
    }

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            kind: "job.started".into(),
            profile: Some("hires".into()),
            job_id: i64::try_from(n).ok(),
            detail: json!({ "rows": n, "fields": ["employee_id", "start_date"] }),
        }
    }

    /// A store with `n` events, and the path of its state folder.
    fn trail(n: u64) -> (tempfile::TempDir, Store) {
        let (dir, store) = temp_store();
        for i in 1..=n {
            store.append_audit(&event(i)).unwrap();
        }
        (dir, store)
    }

    /// Runs `sql` on the database file directly, with the protecting triggers dropped first.
    fn tamper(dir: &Path, sql: &str) {
        let raw = Connection::open(dir.join(DB_FILE)).unwrap();
        raw.execute_batch(
            "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
             DROP TRIGGER audit_head_no_delete;",
        )
        .unwrap();
        raw.execute_batch(sql).unwrap();
    }

    fn broken_at(verdict: AuditVerdict) -> (i64, String) {
        match verdict {
            AuditVerdict::Broken { seq, reason } => (seq, reason),
            intact => panic!("expected a broken trail, got {intact:?}"),
        }
    }

    #[test]
    fn appended_events_chain_and_verify() {
        let (_dir, store) = trail(5);
        let events = store.audit_events(None).unwrap();
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(events[0].prev_hash, GENESIS);
        for pair in events.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        assert_eq!(
            events[2].detail,
            json!({ "fields": ["employee_id", "start_date"], "rows": 3 })
        );
        let head = events[4].hash.clone();
        assert_eq!(head.len(), 64);
        assert_eq!(
            store.verify_audit().unwrap(),
            AuditVerdict::Intact { events: 5, head }
        );
    }

    #[test]
    fn verifying_after_a_checked_event_reads_only_the_rest() {
        let (dir, store) = trail(5);
        let third = store.audit_events(None).unwrap()[2].clone();
        let head = store.audit_events(Some(1)).unwrap()[0].hash.clone();
        assert_eq!(
            store.verify_audit_after(third.seq, &third.hash).unwrap(),
            AuditVerdict::Intact { events: 5, head }
        );
        // A wrong starting hash is noticed at the first event after it.
        let (seq, _) = broken_at(store.verify_audit_after(3, GENESIS).unwrap());
        assert_eq!(seq, 4);
        // An edit after the checked point is found; one before it is, by design, trusted.
        tamper(dir.path(), "UPDATE audit SET detail = '{}' WHERE seq = 5");
        let (seq, _) = broken_at(store.verify_audit_after(3, &third.hash).unwrap());
        assert_eq!(seq, 5);
    }

    #[test]
    fn empty_trail_is_intact() {
        let (_dir, store) = temp_store();
        assert_eq!(
            store.verify_audit().unwrap(),
            AuditVerdict::Intact {
                events: 0,
                head: GENESIS.into()
            }
        );
    }

    #[test]
    fn newest_events_come_oldest_first() {
        let (_dir, store) = trail(5);
        let newest = store.audit_events(Some(2)).unwrap();
        assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        assert!(store.audit_events(Some(0)).unwrap().is_empty());
        assert_eq!(store.audit_events(Some(50)).unwrap().len(), 5);
    }

    #[test]
    fn returned_row_matches_stored_row() {
        let (_dir, store) = temp_store();
        let row = store.append_audit(&event(1)).unwrap();
        assert_eq!(store.audit_events(None).unwrap(), [row]);
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = canonical(&json!({ "b": 1, "a": { "d": [{ "y": 1, "x": 2 }], "c": 3 } }));
        assert_eq!(a.to_string(), r#"{"a":{"c":3,"d":[{"x":2,"y":1}]},"b":1}"#);
        let b = canonical(&json!({ "a": { "c": 3, "d": [{ "x": 2, "y": 1 }] }, "b": 1 }));
        let hash = |d: &Value| chain_hash(GENESIS, 1, "t", "k", None, None, d);
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(hash(&a), chain_hash(GENESIS, 2, "t", "k", None, None, &a));
        // Moving text between fields changes the hash: the encoding is unambiguous.
        assert_ne!(
            chain_hash(GENESIS, 1, "ab", "c", None, None, &a),
            chain_hash(GENESIS, 1, "a", "bc", None, None, &a)
        );
    }

    #[test]
    fn triggers_refuse_update_and_delete() {
        let (dir, store) = trail(2);
        let raw = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let update = raw
            .execute("UPDATE audit SET kind = 'x' WHERE seq = 1", [])
            .unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = raw
            .execute("DELETE FROM audit WHERE seq = 2", [])
            .unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
        assert!(raw.execute("DELETE FROM audit_head", []).is_err());
        assert!(matches!(
            store.verify_audit().unwrap(),
            AuditVerdict::Intact { events: 2, .. }
        ));
    }

    #[test]
    fn edited_detail_is_found_at_its_event() {
        let (dir, store) = trail(5);
        tamper(
            dir.path(),
            r#"UPDATE audit SET detail = '{"fields":["employee_id"],"rows":3}' WHERE seq = 3"#,
        );
        let (seq, reason) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 3);
        assert_eq!(
            reason,
            "event 3: stored hash does not match its content (edited?)"
        );
    }

    #[test]
    fn edited_detail_formatting_is_found() {
        let (dir, store) = trail(3);
        tamper(
            dir.path(),
            r#"UPDATE audit SET detail = '{"rows": 2, "fields": ["employee_id","start_date"]}'
               WHERE seq = 2"#,
        );
        let (seq, reason) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 2);
        assert!(reason.contains("edited"), "{reason}");
    }

    #[test]
    fn deleted_middle_event_is_found() {
        let (dir, store) = trail(5);
        tamper(dir.path(), "DELETE FROM audit WHERE seq = 3");
        let (seq, reason) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 3);
        assert!(reason.contains("missing"), "{reason}");
    }

    #[test]
    fn deleted_and_renumbered_event_is_found() {
        let (dir, store) = trail(5);
        tamper(
            dir.path(),
            "DELETE FROM audit WHERE seq = 3;
             UPDATE audit SET seq = seq - 1 WHERE seq > 3;
             UPDATE audit_head SET seq = 4",
        );
        let (seq, reason) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 3);
        assert!(reason.contains("prev_hash"), "{reason}");
    }

    #[test]
    fn deleted_last_event_is_found() {
        let (dir, store) = trail(5);
        tamper(dir.path(), "DELETE FROM audit WHERE seq = 5");
        let (seq, reason) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 5);
        assert!(reason.contains("tail deleted"), "{reason}");
    }

    #[test]
    fn deleted_head_is_found() {
        let (dir, store) = trail(2);
        tamper(dir.path(), "DELETE FROM audit_head");
        let (seq, reason) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 3);
        assert!(reason.contains("head record is missing"), "{reason}");
        assert!(matches!(
            store.append_audit(&event(3)),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn swapped_events_are_found() {
        let (dir, store) = trail(5);
        tamper(
            dir.path(),
            "UPDATE audit SET seq = 100 WHERE seq = 2;
             UPDATE audit SET seq = 2 WHERE seq = 4;
             UPDATE audit SET seq = 4 WHERE seq = 100;",
        );
        let (seq, reason) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 2);
        assert!(reason.contains("reordered"), "{reason}");
    }

    #[test]
    fn swapped_content_is_found() {
        let (dir, store) = trail(5);
        tamper(
            dir.path(),
            "CREATE TEMP TABLE saved AS SELECT seq, kind, detail FROM audit WHERE seq IN (2, 4);
             UPDATE audit SET
                 kind = (SELECT kind FROM saved WHERE saved.seq = 6 - audit.seq),
                 detail = (SELECT detail FROM saved WHERE saved.seq = 6 - audit.seq)
             WHERE seq IN (2, 4);",
        );
        let (seq, reason) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 2);
        assert!(reason.contains("edited"), "{reason}");
    }

    #[test]
    fn event_slipped_in_after_the_head_is_found() {
        let (dir, store) = trail(2);
        tamper(
            dir.path(),
            "INSERT INTO audit (seq, at, kind, profile, job_id, detail, prev_hash, hash)
             SELECT 3, at, kind, profile, job_id, detail, hash, hash FROM audit WHERE seq = 2",
        );
        let (seq, _) = broken_at(store.verify_audit().unwrap());
        assert_eq!(seq, 3);
    }

    #[test]
    fn two_stores_on_one_database_keep_one_chain() {
        let (dir, first) = temp_store();
        let second = Store::open(dir.path()).unwrap();
        for i in 1..=6 {
            let store = if i % 2 == 0 { &first } else { &second };
            assert_eq!(
                store.append_audit(&event(i)).unwrap().seq,
                i64::try_from(i).unwrap()
            );
        }
        assert!(matches!(
            first.verify_audit().unwrap(),
            AuditVerdict::Intact { events: 6, .. }
        ));
    }
}
