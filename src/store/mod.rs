//! The embedded SQLite store: files seen, jobs, row rejections, outputs and the audit trail.
//!
//! One database file (`state_dir/hrbridge.db`, WAL mode, versioned migrations). Every SQL
//! statement binds its parameters. The audit trail is append-only and hash-chained, see
//! `audit.rs`. Other modules use the typed methods here and never write SQL themselves.
//!
//! The methods live next to the tables they own: `files.rs` (inputs and dedup), `jobs.rs` (the
//! job status machine), `rejections.rs`, `outputs.rs` (the publish ledger), `sequences.rs` (the
//! `{seq}` counters), `ledger.rs` (what each row of an API output came to), `idmap.rs` (ids
//! that APIs gave records), `audit.rs`, and for the dashboard `pages.rs` (keyset pages of jobs
//! and events), `commands.rs` (operator commands the daemon polls, its heartbeat) and
//! `pauses.rs` (paused profiles); for lifecycle profiles `plans.rs` (each job's plan and
//! changes, held jobs), `snapshots.rs` (the last accepted roster) and `queue.rs` (changes waiting for
//! their effective date); for the per-person trace `traces.rs` (pages of keyed person hashes).

pub mod audit;
mod commands;
mod files;
mod idmap;
mod jobs;
mod ledger;
mod migrations;
mod outputs;
mod pages;
mod pauses;
mod plans;
mod queue;
mod refusals;
mod rejections;
mod remote;
mod sequences;
mod snapshots;
mod temps;
mod traces;

pub use audit::{AuditEvent, AuditRow, AuditVerdict};
pub use commands::{CommandKind, CommandRow, CommandState, Heartbeat};
pub use ledger::{DeliveryFailure, DeliveryState, LedgerEntry, RowDelivery};
pub use pages::{AuditFilter, JobSet, JobTotals, Toward};
pub use pauses::Pause;
pub use plans::{ChangeCounts, ChangeRow, PlanRow, PlanState};
pub use queue::QueueEntry;
pub use remote::{RemoteRow, RemoteState};
pub use snapshots::{Advance, RosterEntry, RosterReader, Snapshot};
pub use traces::TracePage;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

/// File name of the database inside the state folder.
pub const DB_FILE: &str = "hrbridge.db";

/// How long a statement waits for another process holding the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database schema version {found} is newer than this hrbridge supports ({supported}); upgrade hrbridge")]
    TooNew { found: i64, supported: i64 },
    /// A command that only reads found a database an older hrbridge wrote; it does not
    /// upgrade it (that is a write).
    #[error("state database schema version {found} is older than this hrbridge reads ({supported}); `hrbridge run --once` upgrades it")]
    TooOld { found: i64, supported: i64 },
    #[error("state database: {0}")]
    Io(#[from] std::io::Error),
    /// Creating the state folder or the database file failed.
    #[error("state database {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A job or output the caller named does not exist.
    #[error("state database has no {0}")]
    NotFound(String),
    /// A job was asked to move to a status its current status does not allow.
    #[error("job {job_id} is {from}; it cannot become {to}")]
    BadTransition {
        job_id: i64,
        from: &'static str,
        to: &'static str,
    },
    /// The database holds something this binary never writes (edited by hand?).
    #[error("state database is inconsistent: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Lifecycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Reading and mapping; outputs are temp files.
    Running,
    /// Outputs are complete temp files recorded in `outputs`; the decision to publish them is
    /// taken. A crash now is rolled forward, never back.
    Committing,
    /// A lifecycle job whose plan broke a safeguard (`max_leavers`, `max_drop`): its outputs
    /// are complete temp files, nothing is delivered, and it waits — without end — for an
    /// operator to approve (then it commits) or reject it (then it fails).
    Held,
    /// Every row delivered.
    Succeeded,
    /// Delivered, with some rows rejected (within the profile's limit).
    Partial,
    /// Nothing delivered; `error` says why.
    Failed,
    /// The same content was processed before; nothing done.
    Duplicate,
    /// The process died while the job was running; its input is processed again.
    Interrupted,
}

impl JobStatus {
    /// The name stored in the database and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Committing => "committing",
            JobStatus::Held => "held",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Partial => "partial",
            JobStatus::Failed => "failed",
            JobStatus::Duplicate => "duplicate",
            JobStatus::Interrupted => "interrupted",
        }
    }

    /// Every status.
    pub const ALL: [JobStatus; 8] = [
        JobStatus::Running,
        JobStatus::Committing,
        JobStatus::Held,
        JobStatus::Succeeded,
        JobStatus::Partial,
        JobStatus::Failed,
        JobStatus::Duplicate,
        JobStatus::Interrupted,
    ];

    /// The status named `s` (as [`JobStatus::as_str`] spells it), if any.
    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the job reached its end (nothing more happens to it).
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            JobStatus::Running | JobStatus::Committing | JobStatus::Held
        )
    }
}

/// Row counts of a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Data rows read (header, footer and trailer excluded).
    pub read: u64,
    /// Rows skipped by filters.
    pub filtered: u64,
    /// Rows rejected by the reader or by mapping.
    pub rejected: u64,
    /// Rows mapped and written to the job's outputs (temp files until the job publishes
    /// them: see [`Counts::published`]).
    pub written: u64,
    /// Rows an API output could not deliver (permanently, or after every retry).
    pub failed: u64,
}

impl Counts {
    /// Rows that reached every output of a job that ended in `status`: none unless the job
    /// delivered (`succeeded` or `partial`), and then the mapped rows less those an API output
    /// could not deliver. A failed job may have mapped many rows; it published none.
    pub fn published(&self, status: JobStatus) -> u64 {
        match status {
            JobStatus::Succeeded | JobStatus::Partial => self.written.saturating_sub(self.failed),
            _ => 0,
        }
    }
}

/// A file as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRow {
    pub id: i64,
    pub profile: String,
    /// Name in the inbox (untrusted; shown, never used to build SQL or shell).
    pub name: String,
    pub sha256: String,
    pub size: u64,
    /// Where the input came from, e.g. `dir:/srv/inbox/ats`.
    pub source: String,
    /// RFC 3339 UTC.
    pub first_seen: String,
}

/// A job as `jobs` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobRow {
    pub id: i64,
    pub profile: String,
    pub file_id: i64,
    pub file_name: String,
    #[serde(serialize_with = "ser_status")]
    pub status: JobStatus,
    pub counts: Counts,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Why the job failed (located, PII-free), if it did.
    pub error: Option<String>,
}

fn ser_status<S: serde::Serializer>(st: &JobStatus, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(st.as_str())
}

/// A rejected row, stored so operators can see every reason later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectionRow {
    pub row: u64,
    pub sheet: Option<String>,
    pub column: Option<String>,
    pub field: Option<String>,
    /// Already PII-masked.
    pub reason: String,
}

/// An output file of a job: written to `temp_path`, published at `final_path`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutputRow {
    pub job_id: i64,
    /// Position in the profile's `[[output]]` list; rejects files use `None`.
    pub output_index: Option<usize>,
    pub temp_path: String,
    pub final_path: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    /// Whether the rename to `final_path` is done.
    pub published: bool,
}

/// The open database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (or creates) `state_dir/hrbridge.db` and brings its schema up to date.
    ///
    /// Creates `state_dir` (mode 0700) and the database file (mode 0600) when missing; turns on
    /// WAL, foreign keys and a busy timeout. A database written by a newer hrbridge is refused
    /// with [`StoreError::TooNew`] before anything is changed.
    pub fn open(state_dir: &Path) -> Result<Store> {
        create_private_dir(state_dir)?;
        let path = state_dir.join(DB_FILE);
        create_private_file(&path)?;
        let shown = path.display().to_string();
        let open_err = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        // No SQLITE_OPEN_URI: a state folder named `file:...` stays a plain path.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "{shown}: journal mode is {mode}, WAL could not be enabled"
            )));
        }
        Store::prepare(conn)
    }

    /// Opens `state_dir/hrbridge.db` for a command that only reads (`jobs`, `audit`): `None`
    /// when there is no database yet, and then nothing is created — no folder, no file.
    ///
    /// The connection is read-only: no migration runs and the journal mode is left as the
    /// writer set it (WAL; SQLite may add its `-wal`/`-shm` files beside the database, as for
    /// any reader). A database of another schema version is refused.
    pub fn open_read_only(state_dir: &Path) -> Result<Option<Store>> {
        let path = state_dir.join(DB_FILE);
        if !path.try_exists().map_err(|source| StoreError::File {
            path: path.display().to_string(),
            source,
        })? {
            return Ok(None);
        }
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let supported = migrations::supported_version();
        if found > supported {
            return Err(StoreError::TooNew { found, supported });
        }
        if found < supported {
            return Err(StoreError::TooOld { found, supported });
        }
        Ok(Some(Store { conn }))
    }

    /// A private database that lives as long as the value (tests, `preview`, `demo`).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: ":memory:".to_string(),
            source,
        })?;
        Store::prepare(conn)
    }

    /// Settings every connection needs, then the migrations.
    fn prepare(mut conn: Connection) -> Result<Store> {
        conn.pragma_update(None, "foreign_keys", true)?;
        // A committed publish decision must survive a power cut, not only a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrations::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// Runs `f` as one transaction (one disk sync instead of one per statement): for the many
    /// small writes of a listing. `f` must not start a transaction of its own.
    pub fn batch<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let tx = self.write_tx()?;
        let out = f(self)?;
        tx.commit()?;
        Ok(out)
    }

    /// A transaction that holds the write lock from its first statement, so a read followed by
    /// a write inside it never meets a concurrent writer in between.
    fn write_tx(&self) -> Result<Transaction<'_>> {
        Ok(Transaction::new_unchecked(
            &self.conn,
            TransactionBehavior::Immediate,
        )?)
    }
}

/// The current time as stored: RFC 3339, UTC, milliseconds.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `dir` and its missing parents, readable by the owner only.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::File {
        path: dir.display().to_string(),
        source,
    })
}

/// Creates `path` empty with mode 0600 unless it exists, so SQLite (which gives its WAL and
/// shared-memory files the database's mode) never creates anything wider.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::File {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// A store in a fresh temporary state folder, for the tests of every store file.
#[cfg(test)]
pub(super) fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open store");
    (dir, store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_private_folder_and_file_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("var").join("state");
        let store = Store::open(&state).unwrap();
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir_mode = std::fs::metadata(&state).unwrap().permissions().mode();
            assert_eq!(dir_mode & 0o777, 0o700);
            let db_mode = std::fs::metadata(state.join(DB_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(db_mode & 0o777, 0o600);
        }
    }

    #[test]
    fn reopening_keeps_data_and_schema_version() {
        let (dir, store) = temp_store();
        let file = store
            .upsert_file("p", "a.csv", "ab12", 3, "dir:in")
            .unwrap();
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        let version: i64 = again
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, migrations::supported_version());
        let same = again.upsert_file("p", "b.csv", "ab12", 9, "dir:x").unwrap();
        assert_eq!(same, file);
        drop(again);
        assert!(Store::open(dir.path()).is_ok());
    }

    #[test]
    fn database_from_a_newer_hrbridge_is_refused() {
        let (dir, store) = temp_store();
        drop(store);
        let future = migrations::supported_version() + 1;
        {
            let raw = Connection::open(dir.path().join(DB_FILE)).unwrap();
            raw.pragma_update(None, "user_version", future).unwrap();
        }
        match Store::open(dir.path()) {
            Err(StoreError::TooNew { found, supported }) => {
                assert_eq!(found, future);
                assert_eq!(supported, migrations::supported_version());
            }
            Err(other) => panic!("expected TooNew, got {other}"),
            Ok(_) => panic!("expected TooNew, the store opened"),
        }
    }

    #[test]
    fn unusable_state_folder_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("occupied");
        std::fs::write(&blocker, b"x").unwrap();
        let err = Store::open(&blocker.join("state")).err().unwrap();
        assert!(matches!(err, StoreError::File { .. }), "{err}");
        assert!(err.to_string().contains("occupied"), "{err}");
    }

    #[test]
    fn read_only_open_creates_nothing_and_never_writes() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("var");
        assert!(Store::open_read_only(&state).unwrap().is_none());
        assert!(!state.exists(), "the state folder was created");

        let store = Store::open(&state).unwrap();
        store
            .upsert_file("p", "a.csv", "ab12", 3, "dir:in")
            .unwrap();
        drop(store);
        let reader = Store::open_read_only(&state).unwrap().unwrap();
        assert_eq!(reader.jobs_extent().unwrap(), (0, 0));
        let err = reader
            .upsert_file("p", "b.csv", "cd34", 3, "dir:in")
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
    }

    #[test]
    fn read_only_open_refuses_other_schema_versions_untouched() {
        let (dir, store) = temp_store();
        drop(store);
        let supported = migrations::supported_version();
        for (version, too_old) in [(supported - 1, true), (supported + 1, false)] {
            {
                let raw = Connection::open(dir.path().join(DB_FILE)).unwrap();
                raw.pragma_update(None, "user_version", version).unwrap();
            }
            match Store::open_read_only(dir.path()) {
                Err(StoreError::TooOld { found, .. }) if too_old => assert_eq!(found, version),
                Err(StoreError::TooNew { found, .. }) if !too_old => assert_eq!(found, version),
                Err(other) => panic!("version {version}: {other}"),
                Ok(_) => panic!("version {version}: the store opened"),
            }
            let raw = Connection::open(dir.path().join(DB_FILE)).unwrap();
            let kept: i64 = raw
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(kept, version, "a read-only open migrated");
        }
    }

    #[test]
    fn only_delivered_jobs_count_published_rows() {
        let counts = Counts {
            read: 10,
            written: 8,
            failed: 3,
            ..Counts::default()
        };
        assert_eq!(counts.published(JobStatus::Succeeded), 8 - 3);
        assert_eq!(counts.published(JobStatus::Partial), 5);
        for status in [
            JobStatus::Failed,
            JobStatus::Running,
            JobStatus::Committing,
            JobStatus::Duplicate,
            JobStatus::Interrupted,
        ] {
            assert_eq!(counts.published(status), 0, "{}", status.as_str());
        }
    }

    #[test]
    fn in_memory_store_is_migrated() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.peek_seq("p").unwrap(), 1);
    }

    #[test]
    fn status_names_round_trip() {
        for st in JobStatus::ALL {
            assert_eq!(JobStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(JobStatus::parse("done"), None);
    }
}
