//! An input that has arrived and been staged, and where it came from.
//!
//! The job reads the staged copy; the origin decides what happens at the source once the job
//! is over: an inbox file leaves the inbox, a remote file gets its `after` action (run by the
//! SFTP source once the job's outputs are committed).

use crate::source::dir::Candidate;
use crate::source::staging::Staged;

/// A staged input ready for a job.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The name it arrived under (untrusted; checked by `source::names::check_name`).
    pub name: String,
    pub staged: Staged,
    pub origin: Origin,
    /// Where it came from, for the store: `dir:/srv/inbox` or `sftp://user@host:22/exports`.
    pub source_label: String,
}

/// Where an input came from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A file in a local inbox folder; removed from it once kept in the state folder.
    Inbox(Candidate),
    /// A file on an SFTP server, as listed (size and mtime identify the version fetched).
    Remote { size: u64, mtime: i64 },
    /// The kept roster of job `of_job`, read again to release the changes that came due
    /// (`release.rs`): there is nothing to settle at a source, and its content is no
    /// duplicate.
    Replay { of_job: i64 },
}
