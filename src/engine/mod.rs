//! The engine: runs jobs for profiles and keeps the store consistent across crashes.
//!
//! `checks` is every check a profile passes before it runs (each component's rules, and its
//! mapping plan compiled once per start), `job` the life of one file (`contract` the counts
//! it must keep to be delivered), `deliver` its outputs
//! (`api_delivery` for API outputs; SFTP uploads are `output::sftp`), `runner` one pass over
//! every profile's inbox, `sftp_pass` one over an SFTP source (whose own work is
//! `source::sftp`), `host_key` the audit of refused SSH host keys, `recover` the clean-up of
//! what a killed process left behind (`leftovers` the temp files of ended jobs), `retry` the
//! re-sending of failed API rows, `archive` where inputs go afterwards (and `retention` how
//! long they stay), `at_rest` the keys that keep them encrypted, `control` the operator
//! actions (pause, resume, run now, retry) the dashboard asks for, `approval` an operator's
//! decision on a held lifecycle job (`decide_and_finish` also publishes it), `plan` what a
//! roster file would change (`hrbridge plan`), `plan_words` a plan in words for the CLI and
//! the dashboard, `release` the replay that sends effective-dated changes on their day, and
//! `event` the typed
//! events that are both logged and audited, `anchor` the audit head kept outside the store. Which kinds of source and output exist is
//! `source::open` and `output::open`.

pub mod anchor;
mod api_delivery;
pub mod approval;
pub mod archive;
pub mod arrival;
pub mod at_rest;
pub mod checks;
pub mod contract;
pub mod control;
pub mod deliver;
pub mod event;
mod host_key;
pub mod job;
pub mod leftovers;
pub mod plan;
pub mod plan_words;
pub mod recover;
mod release;
pub mod retention;
pub mod retry;
pub mod runner;
mod sftp_pass;

use std::io;

use crate::store::StoreError;

/// A failure of the machinery (state folder, database, disk), as opposed to a bad input file,
/// which is a failed job, not an error.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("another hrbridge process is using {0}; only one may run against a state folder")]
    Locked(String),
    #[error("profile {profile}: {message}")]
    Profile { profile: String, message: String },
    /// hrbridge was asked to stop while a job's API rows were being sent; the job stays
    /// `committing` and the rest is sent on the next start.
    #[error("profile {profile}: stopped while job {job_id} was delivering; the rest is sent on the next start")]
    Stopped { profile: String, job_id: i64 },
    /// `approve`/`reject` of a job that is not waiting for a decision.
    #[error("{0}; only a held job can be approved or rejected")]
    NotHeld(String),
}

impl EngineError {
    pub fn io(context: String, source: io::Error) -> EngineError {
        EngineError::Io { context, source }
    }

    /// A profile that cannot run, with its problems (`field[2].from: ...; schedule: ...`).
    pub fn problems(profile: &str, problems: &[crate::profile::Problem]) -> EngineError {
        EngineError::Profile {
            profile: profile.to_string(),
            message: problems
                .iter()
                .map(|p| format!("{}: {}", p.at, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}
