//! Versioned schema migrations, applied in order inside one transaction each.
//!
//! The schema version is SQLite's `PRAGMA user_version`: the number of migrations applied.
//! Migrations are only ever appended to [`MIGRATIONS`]; an applied one is never edited.

use rusqlite::{Connection, TransactionBehavior};

use super::{Result, StoreError};

/// The schema, one step per entry; entry `i` takes the database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11];

/// Version 1: files, jobs, rejections, outputs, sequences and the audit trail.
const V1: &str = r#"
CREATE TABLE files (
    id          INTEGER PRIMARY KEY,
    profile     TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    source      TEXT    NOT NULL,
    first_seen  TEXT    NOT NULL,
    UNIQUE (profile, sha256)
) STRICT;

CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY,
    profile        TEXT    NOT NULL,
    file_id        INTEGER NOT NULL REFERENCES files (id),
    input_name     TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('running', 'committing', 'succeeded',
                       'partial', 'failed', 'duplicate', 'interrupted')),
    read_rows      INTEGER NOT NULL DEFAULT 0 CHECK (read_rows >= 0),
    filtered_rows  INTEGER NOT NULL DEFAULT 0 CHECK (filtered_rows >= 0),
    rejected_rows  INTEGER NOT NULL DEFAULT 0 CHECK (rejected_rows >= 0),
    written_rows   INTEGER NOT NULL DEFAULT 0 CHECK (written_rows >= 0),
    started_at     TEXT    NOT NULL,
    finished_at    TEXT,
    error          TEXT
) STRICT;
CREATE INDEX jobs_by_file ON jobs (file_id, status);
CREATE INDEX jobs_by_profile ON jobs (profile, id);
CREATE INDEX jobs_by_status ON jobs (status, id);

CREATE TABLE rejections (
    id           INTEGER PRIMARY KEY,
    job_id       INTEGER NOT NULL REFERENCES jobs (id),
    row          INTEGER NOT NULL CHECK (row >= 0),
    sheet        TEXT,
    column_name  TEXT,
    field        TEXT,
    reason       TEXT    NOT NULL
) STRICT;
CREATE INDEX rejections_by_job ON rejections (job_id, id);

CREATE TABLE outputs (
    id            INTEGER PRIMARY KEY,
    job_id        INTEGER NOT NULL REFERENCES jobs (id),
    output_index  INTEGER CHECK (output_index >= 0),
    temp_path     TEXT    NOT NULL,
    final_path    TEXT    NOT NULL,
    rows          INTEGER NOT NULL CHECK (rows >= 0),
    bytes         INTEGER NOT NULL CHECK (bytes >= 0),
    sha256        TEXT    NOT NULL,
    published     INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
    UNIQUE (job_id, final_path)
) STRICT;

CREATE TABLE temp_files (
    job_id  INTEGER NOT NULL REFERENCES jobs (id),
    path    TEXT    NOT NULL,
    PRIMARY KEY (job_id, path)
) STRICT;

CREATE TABLE remote_files (
    profile      TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    size         INTEGER NOT NULL CHECK (size >= 0),
    mtime        INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('seen', 'delivered', 'failed', 'finished')),
    observed_ms  INTEGER NOT NULL,
    job_id       INTEGER REFERENCES jobs (id),
    PRIMARY KEY (profile, name)
) STRICT;
CREATE INDEX remote_files_by_job ON remote_files (job_id);

CREATE TABLE refusals (
    profile   TEXT NOT NULL,
    name      TEXT NOT NULL,
    reason    TEXT NOT NULL,
    first_at  TEXT NOT NULL,
    PRIMARY KEY (profile, name, reason)
) STRICT;

CREATE TABLE sequences (
    profile       TEXT    NOT NULL,
    output_index  INTEGER NOT NULL CHECK (output_index >= 0),
    last          INTEGER NOT NULL CHECK (last >= 1),
    PRIMARY KEY (profile, output_index)
) STRICT;

CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY CHECK (seq >= 1),
    at         TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    profile    TEXT,
    job_id     INTEGER,
    detail     TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
) STRICT;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be changed');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be deleted');
END;

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL CHECK (seq >= 0),
    hash  TEXT    NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'the audit head cannot be deleted');
END;
"#;

/// Version 2: API delivery — the per-row delivery ledger, the id map, failed row counts.
const V2: &str = r#"
ALTER TABLE jobs ADD COLUMN failed_rows INTEGER NOT NULL DEFAULT 0 CHECK (failed_rows >= 0);

CREATE TABLE deliveries (
    job_id        INTEGER NOT NULL REFERENCES jobs (id),
    output_index  INTEGER NOT NULL CHECK (output_index >= 0),
    line          INTEGER NOT NULL CHECK (line >= 0),
    row           INTEGER NOT NULL CHECK (row >= 0),
    state         TEXT    NOT NULL CHECK (state IN ('sending', 'delivered', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    status        INTEGER,
    reason        TEXT,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (job_id, output_index, line)
) STRICT, WITHOUT ROWID;
CREATE INDEX deliveries_by_state ON deliveries (job_id, state);

CREATE TABLE id_map (
    map         TEXT NOT NULL,
    key         TEXT NOT NULL,
    id          TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (map, key)
) STRICT;
"#;

/// Version 3: `retention` removes published output files; the row remembers when.
const V3: &str = r#"
ALTER TABLE outputs ADD COLUMN purged_at TEXT;
"#;

/// Version 4: the dashboard — operator commands the daemon polls, paused profiles, the
/// daemon's heartbeat, and the indexes that let the dashboard page through large histories;
/// and the key generation of each delivery row (`retry` sends a row an API refused for good
/// under a new `Idempotency-Key`, see `ledger.rs`).
const V4: &str = r#"
CREATE TABLE commands (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('run', 'retry')),
    profile       TEXT    NOT NULL,
    job_id        INTEGER REFERENCES jobs (id),
    requested_by  TEXT    NOT NULL,
    requested_at  TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    finished_at   TEXT,
    outcome       TEXT
) STRICT;
CREATE INDEX commands_pending ON commands (id) WHERE state = 'pending';

CREATE TABLE paused_profiles (
    profile    TEXT PRIMARY KEY,
    paused_by  TEXT NOT NULL,
    paused_at  TEXT NOT NULL
) STRICT;

CREATE TABLE daemon_heartbeat (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    pid         INTEGER NOT NULL,
    started_at  TEXT    NOT NULL,
    seen_at     TEXT    NOT NULL
) STRICT;

CREATE INDEX jobs_by_start ON jobs (started_at, status, written_rows, failed_rows);
CREATE INDEX jobs_troubled ON jobs (id) WHERE status IN ('failed', 'partial');
CREATE INDEX audit_by_job ON audit (job_id, seq) WHERE job_id IS NOT NULL;
CREATE INDEX audit_by_kind ON audit (kind, seq);
CREATE INDEX audit_by_profile ON audit (profile, seq);

ALTER TABLE deliveries ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 0
    CHECK (key_generation >= 0);
"#;

/// Version 5: a temp file that became one of its job's outputs is no longer a temp file (the
/// output row owns it, e.g. an API spool kept for `retry`), so every `temp_files` row left
/// belongs to a job that will not use it and may be removed (see `engine::leftovers`).
const V5: &str = r#"
DELETE FROM temp_files
 WHERE EXISTS (SELECT 1 FROM outputs o
                WHERE o.job_id = temp_files.job_id AND o.temp_path = temp_files.path);
"#;

/// Version 6: `{seq}` is one number per committed job of a profile instead of one counter per
/// output (taken at commit, so failed jobs leave no gaps and one job's outputs share it). The
/// new counter starts where the highest old one of the profile stood, so no name comes back.
const V6: &str = r#"
CREATE TABLE job_sequences (
    profile  TEXT    PRIMARY KEY,
    last     INTEGER NOT NULL CHECK (last >= 0)
) STRICT;
INSERT INTO job_sequences (profile, last)
    SELECT profile, MAX(last) FROM sequences GROUP BY profile;
DROP TABLE sequences;
"#;

/// Version 7: lifecycle profiles — a job may be `held` for an operator; each lifecycle job
/// records its plan (`plans`) and its changes (`changes`); `roster` is each profile's last
/// accepted snapshot (PII values only as keyed hashes). The job status check gains `held`,
/// which SQLite can only do by rebuilding `jobs` (see [`migrate`] for the references).
const V7: &str = r#"
CREATE TABLE jobs_v7 (
    id             INTEGER PRIMARY KEY,
    profile        TEXT    NOT NULL,
    file_id        INTEGER NOT NULL REFERENCES files (id),
    input_name     TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('running', 'committing', 'held',
                       'succeeded', 'partial', 'failed', 'duplicate', 'interrupted')),
    read_rows      INTEGER NOT NULL DEFAULT 0 CHECK (read_rows >= 0),
    filtered_rows  INTEGER NOT NULL DEFAULT 0 CHECK (filtered_rows >= 0),
    rejected_rows  INTEGER NOT NULL DEFAULT 0 CHECK (rejected_rows >= 0),
    written_rows   INTEGER NOT NULL DEFAULT 0 CHECK (written_rows >= 0),
    started_at     TEXT    NOT NULL,
    finished_at    TEXT,
    error          TEXT,
    failed_rows    INTEGER NOT NULL DEFAULT 0 CHECK (failed_rows >= 0)
) STRICT;
INSERT INTO jobs_v7 (id, profile, file_id, input_name, status, read_rows, filtered_rows,
                     rejected_rows, written_rows, started_at, finished_at, error, failed_rows)
    SELECT id, profile, file_id, input_name, status, read_rows, filtered_rows,
           rejected_rows, written_rows, started_at, finished_at, error, failed_rows
      FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v7 RENAME TO jobs;
CREATE INDEX jobs_by_file ON jobs (file_id, status);
CREATE INDEX jobs_by_profile ON jobs (profile, id);
CREATE INDEX jobs_by_status ON jobs (status, id);
CREATE INDEX jobs_by_start ON jobs (started_at, status, written_rows, failed_rows);
CREATE INDEX jobs_troubled ON jobs (id) WHERE status IN ('failed', 'partial');

CREATE TABLE plans (
    job_id           INTEGER PRIMARY KEY REFERENCES jobs (id),
    profile          TEXT    NOT NULL,
    base_job         INTEGER REFERENCES jobs (id),
    baseline         INTEGER NOT NULL CHECK (baseline IN (0, 1)),
    rows             INTEGER NOT NULL CHECK (rows >= 0),
    previous_rows    INTEGER NOT NULL CHECK (previous_rows >= 0),
    previous_active  INTEGER NOT NULL CHECK (previous_active >= 0),
    joiners          INTEGER NOT NULL CHECK (joiners >= 0),
    movers           INTEGER NOT NULL CHECK (movers >= 0),
    leavers          INTEGER NOT NULL CHECK (leavers >= 0),
    rehires          INTEGER NOT NULL CHECK (rehires >= 0),
    state            TEXT    NOT NULL CHECK (state IN ('planned', 'held', 'applied',
                         'rejected', 'discarded')),
    hold_reason      TEXT,
    kept_at          TEXT,
    decided_by       TEXT,
    decided_at       TEXT
) STRICT;
CREATE INDEX plans_by_profile ON plans (profile, state, job_id);

CREATE TABLE changes (
    job_id   INTEGER NOT NULL REFERENCES jobs (id),
    n        INTEGER NOT NULL CHECK (n >= 0),
    key      TEXT    NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('joiner', 'mover', 'leaver', 'rehire', 'quiet')),
    reason   TEXT,
    row      INTEGER,
    changed  TEXT    NOT NULL,
    fields   TEXT    NOT NULL,
    active   INTEGER NOT NULL CHECK (active IN (0, 1)),
    PRIMARY KEY (job_id, n)
) STRICT, WITHOUT ROWID;

CREATE TABLE roster (
    profile  TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    active   INTEGER NOT NULL CHECK (active IN (0, 1)),
    fields   TEXT    NOT NULL,
    job_id   INTEGER NOT NULL REFERENCES jobs (id),
    PRIMARY KEY (profile, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX roster_active ON roster (profile, active);

CREATE TABLE snapshots (
    profile  TEXT    PRIMARY KEY,
    job_id   INTEGER NOT NULL REFERENCES jobs (id),
    rows     INTEGER NOT NULL CHECK (rows >= 0),
    active   INTEGER NOT NULL CHECK (active >= 0)
) STRICT;
"#;

/// Version 8: effective dating — a change may wait for its date (`queued`, `due`), a future
/// joiner may be sent ahead as an inactive pre-hire (`prehire`, `prehired`), and one a later
/// roster withdrew is `cancel`led; `queue` holds each lifecycle profile's pending changes
/// (rebuilt from the plan whenever the snapshot advances). The kind check of `changes`
/// gains `prehire` and `cancel`, which SQLite can only do by rebuilding the table.
const V8: &str = r#"
CREATE TABLE changes_v8 (
    job_id    INTEGER NOT NULL REFERENCES jobs (id),
    n         INTEGER NOT NULL CHECK (n >= 0),
    key       TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('joiner', 'mover', 'leaver', 'rehire',
                  'prehire', 'cancel', 'quiet')),
    reason    TEXT,
    row       INTEGER,
    changed   TEXT    NOT NULL,
    fields    TEXT    NOT NULL,
    active    INTEGER NOT NULL CHECK (active IN (0, 1)),
    queued    TEXT    CHECK (queued IN ('joiner', 'rehire', 'leaver')),
    due       TEXT,
    prehired  INTEGER NOT NULL DEFAULT 0 CHECK (prehired IN (0, 1)),
    CHECK ((queued IS NULL) = (due IS NULL)),
    PRIMARY KEY (job_id, n)
) STRICT, WITHOUT ROWID;
INSERT INTO changes_v8 (job_id, n, key, kind, reason, row, changed, fields, active)
    SELECT job_id, n, key, kind, reason, row, changed, fields, active FROM changes;
DROP TABLE changes;
ALTER TABLE changes_v8 RENAME TO changes;

ALTER TABLE plans ADD COLUMN prehires INTEGER NOT NULL DEFAULT 0 CHECK (prehires >= 0);
ALTER TABLE plans ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0 CHECK (cancelled >= 0);
ALTER TABLE plans ADD COLUMN queued INTEGER NOT NULL DEFAULT 0 CHECK (queued >= 0);

CREATE TABLE queue (
    profile   TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('joiner', 'rehire', 'leaver')),
    due       TEXT    NOT NULL,
    fields    TEXT    NOT NULL,
    prehired  INTEGER NOT NULL CHECK (prehired IN (0, 1)),
    job_id    INTEGER NOT NULL REFERENCES jobs (id),
    PRIMARY KEY (profile, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX queue_by_due ON queue (profile, due);
"#;

/// Version 9: each roster row and change keeps the keyed digest of the person's fields, so a
/// delta tells an unchanged person by 16 bytes. Rows from before have none and are compared by
/// their stored fields until a delta stores their digest.
const V9: &str = r#"
ALTER TABLE roster ADD COLUMN digest BLOB CHECK (digest IS NULL OR length(digest) = 16);
ALTER TABLE changes ADD COLUMN digest BLOB CHECK (digest IS NULL OR length(digest) = 16);
"#;

/// Version 10: what a delta reads of every person before the first row — key, status and
/// digest, in key order — in an index of its own, so the read skips the stored fields.
const V10: &str = r#"
CREATE INDEX roster_digests ON roster (profile, key, active, digest);
"#;

/// Version 11: the per-person trace. `trace_pages` holds, per job, which rows carried which
/// person — by a keyed hash of the key, never the key — in pages of one hash bucket each (see
/// `privacy::trace`), so a trace reads one bucket and a job's rows take a few thousand
/// inserts (a rowid table: its pages of a few kilobytes stay inside SQLite's pages, which a
/// `WITHOUT ROWID` table's would not); `trace_jobs` lists the traced jobs (with the sheets their pages number), which is
/// what `retention` prunes by. Deliveries gain an index by input row: a trace asks what
/// became of a row.
const V11: &str = r#"
CREATE TABLE trace_pages (
    id       INTEGER PRIMARY KEY,
    bucket   INTEGER NOT NULL CHECK (bucket >= 0),
    job_id   INTEGER NOT NULL REFERENCES jobs (id),
    entries  BLOB    NOT NULL
) STRICT;
CREATE INDEX trace_pages_by_bucket ON trace_pages (bucket, job_id);
CREATE TABLE trace_jobs (
    job_id  INTEGER PRIMARY KEY REFERENCES jobs (id),
    sheets  TEXT    NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX deliveries_by_row ON deliveries (job_id, row);
"#;

/// The schema version this binary writes.
pub(super) fn supported_version() -> i64 {
    // A handful of migrations; the conversion cannot fail in practice and saturates if it did.
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Applies every migration the database has not seen, each in its own transaction.
///
/// Each step takes the write lock first (`BEGIN IMMEDIATE`) and re-reads the version, so two
/// processes opening the same new database do not both apply a step. Foreign keys are not
/// enforced while a step runs (a step may rebuild a table others refer to, as SQLite
/// prescribes for changing a constraint); instead every reference is checked before the step
/// commits, and a step that broke one is rolled back.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let enforced: bool = conn.pragma_query_value(None, "foreign_keys", |row| row.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let applied = apply_missing(conn);
    conn.pragma_update(None, "foreign_keys", enforced)?;
    applied
}

fn apply_missing(conn: &mut Connection) -> Result<()> {
    let supported = supported_version();
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found < 0 {
            // Only a hand edit produces this.
            return Err(StoreError::Corrupt(format!(
                "schema version {found} is negative"
            )));
        }
        if found > supported {
            return Err(StoreError::TooNew { found, supported });
        }
        let Some(step) = usize::try_from(found)
            .ok()
            .and_then(|index| MIGRATIONS.get(index))
        else {
            return Ok(());
        };
        tx.execute_batch(step)?;
        let broken: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if broken > 0 {
            return Err(StoreError::Corrupt(format!(
                "migrating to schema version {} would leave {broken} broken reference(s)",
                found + 1
            )));
        }
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn fresh_database_reaches_the_supported_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), supported_version());
        let head: (i64, String) = conn
            .query_row("SELECT seq, hash FROM audit_head", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(head, (0, "0".repeat(64)));
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), supported_version());
        let heads: i64 = conn
            .query_row("SELECT count(*) FROM audit_head", [], |r| r.get(0))
            .unwrap();
        assert_eq!(heads, 1);
    }

    #[test]
    fn jobs_keep_their_rows_and_references_when_held_is_added() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        for (i, step) in MIGRATIONS[..6].iter().enumerate() {
            conn.execute_batch(step).unwrap();
            conn.pragma_update(None, "user_version", i as i64 + 1)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO files (id, profile, name, sha256, size, source, first_seen)
                 VALUES (1, 'p', 'a.csv', 'h', 1, 'dir', 't');
             INSERT INTO jobs (id, profile, file_id, input_name, status, started_at, failed_rows)
                 VALUES (7, 'p', 1, 'a.csv', 'partial', 't', 3);
             INSERT INTO rejections (job_id, row, reason) VALUES (7, 2, 'bad');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), supported_version());
        let kept: (String, i64, i64) = conn
            .query_row(
                "SELECT j.status, j.failed_rows, count(r.id) FROM jobs j
                   JOIN rejections r ON r.job_id = j.id WHERE j.id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(kept, ("partial".to_string(), 3, 1));
        let broken: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);
        conn.execute("UPDATE jobs SET status = 'held' WHERE id = 7", [])
            .unwrap();
        assert!(conn
            .execute("UPDATE jobs SET status = 'parked' WHERE id = 7", [])
            .is_err());
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'jobs'
                   AND name LIKE 'jobs_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 5);
    }

    #[test]
    fn newer_schema_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", supported_version() + 3)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found, supported }
                if found == supported_version() + 3 && supported == supported_version()),
            "{err}"
        );
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn negative_version_is_reported() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", -1).unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::Corrupt(_))));
    }
}
