//! The embedded SQLite store: files seen, jobs, row rejections, outputs and the audit trail.
//!
//! One database file (`state_dir/hrbridge.db`, WAL mode, versioned migrations). Every SQL
//! statement binds its parameters. The audit trail is append-only and hash-chained, see
//! `audit.rs`. Other modules use the typed methods here and never write SQL themselves.

pub mod audit;
mod migrations;

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
    #[error("state database: {0}")]
    Io(#[from] std::io::Error),
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
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Committing => "committing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Partial => "partial",
            JobStatus::Failed => "failed",
            JobStatus::Duplicate => "duplicate",
            JobStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        [
            JobStatus::Running,
            JobStatus::Committing,
            JobStatus::Succeeded,
            JobStatus::Partial,
            JobStatus::Failed,
            JobStatus::Duplicate,
            JobStatus::Interrupted,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
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
    /// Rows written to every output.
    pub written: u64,
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
    conn: rusqlite::Connection,
}
