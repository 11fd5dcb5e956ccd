//! Notable events of the engine as typed values: each one is logged and appended to the audit
//! trail from one place, so the log and the trail never tell different stories.
//!
//! Events carry names, counts, hashes and paths — never cell values. File names are shown
//! escaped (`{:?}`) because they are untrusted.

use serde_json::{json, Value as Json};

use crate::privacy::transfer::TransferRecord;
use crate::store::{AuditEvent, ChangeCounts, Counts, Store, StoreError};

/// The audit kind of a transfer record.
pub const TRANSFER: &str = "transfer";

/// Something that happened to a file or a job.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// An inbox entry was not taken (hostile name, symlink ...).
    FileRefused { name: &'a str, reason: &'a str },
    /// An SFTP server's host key was refused (unknown, changed or revoked): the connection
    /// was not made. Audited once per server and key offered.
    HostKeyRefused {
        server: &'a str,
        fingerprint: &'a str,
        reason: &'a str,
    },
    /// The same content was delivered before; nothing done.
    FileDuplicate {
        job_id: i64,
        name: &'a str,
        sha256: &'a str,
        previous_job: i64,
    },
    JobStarted {
        job_id: i64,
        name: &'a str,
        sha256: &'a str,
        size: u64,
        /// Where the input came from (`dir:...`, `sftp://user@host:port/path`).
        source: &'a str,
    },
    /// An output file reached its final name.
    OutputPublished {
        job_id: i64,
        path: &'a str,
        rows: u64,
        bytes: u64,
        sha256: &'a str,
        fields: Vec<&'a str>,
        pii_fields: Vec<&'a str>,
    },
    /// An API output's records were sent: how many of the job's rows it has delivered and
    /// how many failed, in all runs, and how many of those were settled by this run.
    OutputDelivered {
        job_id: i64,
        target: &'a str,
        delivered: u64,
        failed: u64,
        this_run: u64,
        fields: Vec<&'a str>,
        pii_fields: Vec<&'a str>,
    },
    /// Personal data went to a recipient (or failed to): the transfer record of one
    /// delivery, for `audit transfers` and `audit ropa`.
    Transfer {
        job_id: i64,
        record: &'a TransferRecord,
    },
    /// An SFTP upload did not reach its server: `retrying` when the server could not be
    /// reached and the job stays `committing` to try again; otherwise the output failed.
    OutputUploadFailed {
        job_id: i64,
        target: &'a str,
        error: &'a str,
        retrying: bool,
    },
    /// A lifecycle job's plan broke a safeguard: held for an operator, nothing sent.
    JobHeld {
        job_id: i64,
        reason: &'a str,
        changes: ChangeCounts,
    },
    /// An operator approved (`approved`) or rejected (`rejected`) a held job.
    JobDecided {
        job_id: i64,
        decision: &'a str,
        user: &'a str,
    },
    /// A lifecycle profile's snapshot moved to a delivered job's plan (`applied`), or the
    /// plan was not applied because the snapshot had moved past its base (`stale`).
    SnapshotAdvanced { job_id: i64, outcome: &'a str },
    /// `hrbridge retry`: the failed rows of a finished job are sent again.
    JobRetried { job_id: i64, rows: u64 },
    JobFinished {
        job_id: i64,
        status: &'a str,
        counts: Counts,
    },
    JobFailed {
        job_id: i64,
        counts: Counts,
        error: &'a str,
    },
    /// Crash recovery: a job found running was marked interrupted, or a committing job was
    /// rolled forward.
    JobRecovered { job_id: i64, action: &'a str },
    /// The input was moved out of the inbox into the state folder.
    InputKept { job_id: i64, to: &'a str },
    /// A kept input (or its error note or rejects report) older than `retention` was deleted
    /// from `archive/` or `error/`.
    InputPurged { path: &'a str, retention_secs: u64 },
    /// `retention`: a published output file older than the retention was removed.
    OutputPurged {
        job_id: i64,
        path: &'a str,
        retention_secs: u64,
    },
    /// A `[[notify]]` webhook could not be reached.
    NotifyFailed { job_id: i64, message: &'a str },
    /// The audit head could not be kept at `audit_head_file` or `audit_head_url`.
    AnchorFailed { error: &'a str },
    /// The `after` action of a fetched remote file ran (keep, delete or move).
    RemoteSettled {
        job_id: i64,
        name: &'a str,
        action: &'a str,
    },
    /// `hrbridge secrets set`: a secret was stored or replaced (its name, never its value).
    SecretSet { name: &'a str, user: &'a str },
    /// `hrbridge secrets rm`: a secret was removed.
    SecretRemoved { name: &'a str, user: &'a str },
    /// An operator paused a profile: it takes no new files until resumed.
    ProfilePaused { user: &'a str },
    /// An operator resumed a paused profile.
    ProfileResumed { user: &'a str },
    /// An operator asked for a command (`run`, `retry`) that the daemon carries out.
    CommandRequested {
        command: i64,
        action: &'a str,
        job_id: Option<i64>,
        user: &'a str,
    },
    /// The daemon carried out (or could not carry out) a requested command.
    CommandFinished {
        command: i64,
        action: &'a str,
        job_id: Option<i64>,
        ok: bool,
        outcome: &'a str,
    },
}

impl Event<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Event::FileRefused { .. } => "file.refused",
            Event::HostKeyRefused { .. } => "host_key.refused",
            Event::FileDuplicate { .. } => "file.duplicate",
            Event::JobStarted { .. } => "job.started",
            Event::OutputPublished { .. } => "output.published",
            Event::Transfer { .. } => TRANSFER,
            Event::OutputDelivered { .. } => "output.delivered",
            Event::OutputUploadFailed { .. } => "output.upload_failed",
            Event::JobRetried { .. } => "job.retried",
            Event::JobHeld { .. } => "job.held",
            Event::JobDecided { decision, .. } => match *decision {
                "approved" => "job.approved",
                _ => "job.rejected",
            },
            Event::SnapshotAdvanced { outcome, .. } => match *outcome {
                "applied" => "snapshot.advanced",
                _ => "snapshot.stale",
            },
            Event::JobFinished { .. } => "job.finished",
            Event::JobFailed { .. } => "job.failed",
            Event::JobRecovered { .. } => "job.recovered",
            Event::InputKept { .. } => "input.kept",
            Event::InputPurged { .. } => "input.purged",
            Event::OutputPurged { .. } => "output.purged",
            Event::RemoteSettled { .. } => "remote.settled",
            Event::NotifyFailed { .. } => "notify.failed",
            Event::AnchorFailed { .. } => "audit.anchor_failed",
            Event::SecretSet { .. } => "secret.set",
            Event::SecretRemoved { .. } => "secret.removed",
            Event::ProfilePaused { .. } => "profile.paused",
            Event::ProfileResumed { .. } => "profile.resumed",
            Event::CommandRequested { .. } => "command.requested",
            Event::CommandFinished { ok: true, .. } => "command.done",
            Event::CommandFinished { ok: false, .. } => "command.failed",
        }
    }

    fn job_id(&self) -> Option<i64> {
        match self {
            Event::FileRefused { .. }
            | Event::HostKeyRefused { .. }
            | Event::InputPurged { .. }
            | Event::SecretSet { .. }
            | Event::SecretRemoved { .. }
            | Event::ProfilePaused { .. }
            | Event::ProfileResumed { .. }
            | Event::AnchorFailed { .. } => None,
            Event::CommandRequested { job_id, .. } | Event::CommandFinished { job_id, .. } => {
                *job_id
            }
            Event::FileDuplicate { job_id, .. }
            | Event::JobStarted { job_id, .. }
            | Event::OutputPublished { job_id, .. }
            | Event::Transfer { job_id, .. }
            | Event::OutputDelivered { job_id, .. }
            | Event::OutputUploadFailed { job_id, .. }
            | Event::JobRetried { job_id, .. }
            | Event::JobHeld { job_id, .. }
            | Event::JobDecided { job_id, .. }
            | Event::SnapshotAdvanced { job_id, .. }
            | Event::JobFinished { job_id, .. }
            | Event::JobFailed { job_id, .. }
            | Event::JobRecovered { job_id, .. }
            | Event::InputKept { job_id, .. }
            | Event::RemoteSettled { job_id, .. }
            | Event::OutputPurged { job_id, .. }
            | Event::NotifyFailed { job_id, .. } => Some(*job_id),
        }
    }

    fn detail(&self) -> Json {
        match self {
            Event::FileRefused { name, reason } => {
                json!({ "name": format!("{name:?}"), "reason": reason })
            }
            Event::HostKeyRefused {
                server,
                fingerprint,
                reason,
            } => json!({ "server": server, "fingerprint": fingerprint, "reason": reason }),
            Event::FileDuplicate {
                name,
                sha256,
                previous_job,
                ..
            } => {
                json!({ "name": format!("{name:?}"), "sha256": sha256, "previous_job": previous_job })
            }
            Event::JobStarted {
                name,
                sha256,
                size,
                source,
                ..
            } => {
                json!({ "name": format!("{name:?}"), "sha256": sha256, "size": size, "source": source })
            }
            Event::Transfer { record, .. } => serde_json::to_value(record).unwrap_or_default(),
            Event::OutputPublished {
                path,
                rows,
                bytes,
                sha256,
                fields,
                pii_fields,
                ..
            } => json!({
                "path": path, "rows": rows, "bytes": bytes, "sha256": sha256,
                "fields": fields, "pii_fields": pii_fields,
            }),
            Event::OutputDelivered {
                target,
                delivered,
                failed,
                this_run,
                fields,
                pii_fields,
                ..
            } => json!({
                "target": target, "delivered": delivered, "failed": failed,
                "settled_this_run": this_run, "fields": fields, "pii_fields": pii_fields,
            }),
            Event::OutputUploadFailed {
                target,
                error,
                retrying,
                ..
            } => json!({ "target": target, "error": error, "retrying": retrying }),
            Event::JobRetried { rows, .. } => json!({ "rows": rows }),
            Event::JobHeld {
                reason, changes, ..
            } => json!({ "reason": reason, "changes": changes }),
            Event::JobDecided { decision, user, .. } => {
                json!({ "decision": decision, "user": user })
            }
            Event::SnapshotAdvanced { outcome, .. } => json!({ "outcome": outcome }),
            Event::JobFinished { status, counts, .. } => {
                json!({ "status": status, "counts": counts })
            }
            Event::JobFailed { counts, error, .. } => json!({ "counts": counts, "error": error }),
            Event::JobRecovered { action, .. } => json!({ "action": action }),
            Event::InputKept { to, .. } => json!({ "to": to }),
            Event::InputPurged {
                path,
                retention_secs,
            }
            | Event::OutputPurged {
                path,
                retention_secs,
                ..
            } => json!({ "path": path, "retention_secs": retention_secs }),
            Event::NotifyFailed { message, .. } => json!({ "error": message }),
            Event::RemoteSettled { name, action, .. } => {
                json!({ "name": format!("{name:?}"), "action": action })
            }
            Event::SecretSet { name, user } | Event::SecretRemoved { name, user } => {
                json!({ "name": name, "user": user })
            }
            Event::AnchorFailed { error } => json!({ "error": error }),
            Event::ProfilePaused { user } | Event::ProfileResumed { user } => {
                json!({ "user": user })
            }
            Event::CommandRequested {
                command,
                action,
                user,
                ..
            } => json!({ "command": command, "action": action, "user": user }),
            Event::CommandFinished {
                command,
                action,
                outcome,
                ..
            } => json!({ "command": command, "action": action, "outcome": outcome }),
        }
    }

    /// Logs the event of `profile` and appends it to the audit trail.
    pub fn emit(&self, store: &Store, profile: &str) -> Result<(), StoreError> {
        self.record(store, Some(profile))
    }

    /// Logs an event of the installation (no profile) and appends it to the audit trail.
    pub fn emit_installation(&self, store: &Store) -> Result<(), StoreError> {
        self.record(store, None)
    }

    fn record(&self, store: &Store, profile: Option<&str>) -> Result<(), StoreError> {
        let detail = self.detail();
        match self {
            Event::JobFailed { .. }
            | Event::OutputUploadFailed { .. }
            | Event::FileRefused { .. }
            | Event::HostKeyRefused { .. }
            | Event::NotifyFailed { .. }
            | Event::AnchorFailed { .. }
            | Event::JobHeld { .. }
            | Event::SnapshotAdvanced {
                outcome: "stale", ..
            }
            | Event::CommandFinished { ok: false, .. } => {
                tracing::warn!(event = self.kind(), profile, job = self.job_id(), %detail)
            }
            _ => tracing::info!(event = self.kind(), profile, job = self.job_id(), %detail),
        }
        store.append_audit(&AuditEvent {
            kind: self.kind().to_string(),
            profile: profile.map(str::to_string),
            job_id: self.job_id(),
            detail,
        })?;
        Ok(())
    }
}
