//! A job's outputs: opened as temp files before the first row, finished after the last, and
//! published at commit — linked into place locally, or uploaded to an SFTP server
//! (`output::sftp`).
//!
//! Every temp file is noted in the store before it exists, so crash recovery can remove what
//! an interrupted job left. Publishing is idempotent: a crash in the middle of it is finished
//! by `recover` from the same rows.

use std::path::{Path, PathBuf};

use crate::kernel::atomic::{self, FinishedFile};
use crate::kernel::clock::today_in;
use crate::kernel::mapped::MappedRecord;
use crate::lifecycle::Emit;
use crate::output::file::{rejects_path, FileSink, Stamp};
use crate::output::fixed::Refusal;
use crate::output::open::open;
use crate::output::placement::{PlaceEnv, PlaceError};
use crate::output::sftp::{self, UploadError};
use crate::output::template::{safe_component, NameContext};
use crate::output::{self, PathError};
use crate::privacy::transfer::TransferRecord;
use crate::profile::lifecycle::Send;
use crate::profile::SftpOutputSpec;
use crate::sftp::Transfer;
use crate::store::OutputRow;

use super::api_delivery;
use super::arrival::Arrival;
use super::event::Event;
use super::host_key::audit_host_key;
use super::job::JobContext;
use super::EngineError;

/// Why a job's outputs cannot be opened: a reason for the job to fail.
#[derive(Debug, thiserror::Error)]
pub(super) enum OpenError {
    /// Output `number` (counted from 1) cannot be placed.
    #[error("output {number}: {source}")]
    Place { number: usize, source: PlaceError },
    #[error("validation.rejects_path: {0}")]
    RejectsPath(PathError),
    /// The job's date cannot be known (`HRBRIDGE_TODAY` is not a date).
    #[error("{0}")]
    Today(String),
    #[error("two outputs of this job would write {target}; give them different paths")]
    SameTarget { target: String },
    #[error(
        "{} already exists; refusing to overwrite it (add {{seq}} or {{source_stem}} to the path template)",
        .local.display()
    )]
    Exists { local: PathBuf },
}

/// An output being written.
pub(super) struct Sink {
    /// Position in the profile's `[[output]]` list.
    pub index: usize,
    /// Where it is published: a local path, or `sftp://user@host:port/remote/path`.
    pub target: String,
    /// The local path the temp file is written beside (the target itself for file outputs).
    pub local: PathBuf,
    pub file: FileSink,
    /// A lifecycle file output with `send = "roster"`: it gets every person, changed or not.
    pub roster: bool,
}

/// A completed temp file waiting to be published.
pub(super) struct Finished {
    /// Position in the profile's `[[output]]` list; `None` for the rejects report.
    pub index: Option<usize>,
    /// Where it is published (see [`Sink::target`]).
    pub target: String,
    pub file: FinishedFile,
    pub rows: u64,
}

/// The opened outputs of a job and where its rejects report would go.
pub(super) struct Outputs {
    pub sinks: Vec<Sink>,
    pub rejects_at: PathBuf,
    /// The `{seq}` the names were made with; the commit takes it.
    pub seq: u64,
}

impl Outputs {
    /// Why `rec` cannot be written to some output, if it cannot (a value that does not fit a
    /// fixed-width layout): the field and the reason, naming the output. Asked before the
    /// record is written anywhere, so a refused row is rejected whole.
    pub fn refusal(&self, rec: &MappedRecord) -> Option<Refusal> {
        self.sinks.iter().find_map(|sink| {
            sink.file.refusal(rec).map(|r| Refusal {
                reason: format!("output {}: {}", sink.index + 1, r.reason),
                field: r.field,
            })
        })
    }

    /// Why some output cannot be finished, if one cannot (a fixed-width trailer's total
    /// wider than its place), naming the output.
    pub fn trailer_problem(&self) -> Option<String> {
        self.sinks.iter().find_map(|sink| {
            sink.file
                .trailer_problem()
                .map(|why| format!("output {}: {why}", sink.index + 1))
        })
    }

    /// Writes one record to every output.
    pub fn write(&mut self, rec: &MappedRecord) -> Result<(), EngineError> {
        for sink in &mut self.sinks {
            sink.file
                .write(rec)
                .map_err(|e| EngineError::io(format!("writing {}", sink.local.display()), e))?;
        }
        Ok(())
    }

    /// Writes one person of a lifecycle roster: with their change to every output, without
    /// one (empty change fields) only to the outputs that take the whole roster.
    pub fn write_change(
        &mut self,
        rec: &MappedRecord,
        change: Option<&Emit>,
    ) -> Result<(), EngineError> {
        if change.is_none() && !self.sinks.iter().any(|s| s.roster) {
            return Ok(());
        }
        let rec = Emit::record(change, rec);
        for sink in self
            .sinks
            .iter_mut()
            .filter(|s| change.is_some() || s.roster)
        {
            sink.file
                .write(&rec)
                .map_err(|e| EngineError::io(format!("writing {}", sink.local.display()), e))?;
        }
        Ok(())
    }

    /// Completes every temp file.
    pub fn finish(self) -> Result<Vec<Finished>, EngineError> {
        let mut done = Vec::new();
        for sink in self.sinks {
            let rows = sink.file.rows();
            let file = sink
                .file
                .finish()
                .map_err(|e| EngineError::io(format!("finishing {}", sink.local.display()), e))?;
            done.push(Finished {
                index: Some(sink.index),
                target: sink.target,
                file,
                rows,
            });
        }
        Ok(done)
    }

    /// Deletes every temp file (the job failed).
    pub fn abandon(self) {
        abandon(self.sinks);
    }
}

impl JobContext<'_> {
    /// Opens a temp file for every `[[output]]`. The inner error is a reason for the job to
    /// fail (a path outside the roots, an existing final file, two outputs on one path); what
    /// was opened is then removed.
    pub(super) fn open_outputs(
        &self,
        job_id: i64,
        input: &Arrival,
    ) -> Result<Result<Outputs, OpenError>, EngineError> {
        let mut sinks = Vec::new();
        let seq = self.store.peek_seq(&self.profile.name)?;
        match self.open_sinks(job_id, input, seq, &mut sinks) {
            Ok(Ok(rejects_at)) => Ok(Ok(Outputs {
                sinks,
                rejects_at,
                seq,
            })),
            Ok(Err(e)) => {
                abandon(sinks);
                Ok(Err(e))
            }
            Err(e) => {
                abandon(sinks);
                Err(e)
            }
        }
    }

    fn open_sinks(
        &self,
        job_id: i64,
        input: &Arrival,
        seq: u64,
        sinks: &mut Vec<Sink>,
    ) -> Result<Result<PathBuf, OpenError>, EngineError> {
        let now = crate::kernel::clock::now_in(self.profile.timezone.as_deref());
        let names = NameContext {
            profile: &self.profile.name,
            date: now,
            seq,
            source_name: &input.name,
        };
        let today = match today_in(self.profile.timezone.as_deref()) {
            Ok(today) => today,
            Err(why) => return Ok(Err(OpenError::Today(why))),
        };
        let fields = self.fields();
        for (i, out) in self.profile.outputs.iter().enumerate() {
            let tag = format!("job{job_id}-{i}");
            let env = PlaceEnv {
                settings: self.settings,
                names: &names,
                key: self.key,
                outgoing: self.outgoing(),
                tag: &tag,
                fields: &fields,
                stamp: Stamp { today, now, seq },
            };
            let placement = match open(out).place(&env) {
                Ok(p) => p,
                Err(source) => {
                    return Ok(Err(OpenError::Place {
                        number: i + 1,
                        source,
                    }))
                }
            };
            let (target, local) = (&placement.target, &placement.local);
            if let Err(e) = free_for_output(target, local, sinks) {
                return Ok(Err(e));
            }
            // Noted before it exists, so a crash can never leave an unknown temp file.
            self.store
                .note_temp(job_id, &atomic::temp_path(local, &tag))?;
            let file = placement
                .create(&env)
                .map_err(|e| EngineError::io(format!("creating output {}", local.display()), e))?;
            let roster = self.profile.lifecycle.is_some()
                && open(out).file().is_some_and(|f| f.send == Send::Roster);
            sinks.push(Sink {
                index: i,
                target: placement.target,
                local: placement.local,
                file,
                roster,
            });
        }
        let first_local = sinks
            .iter()
            .find(|s| s.target == s.local.display().to_string());
        let rejects_at = match (&self.profile.validation.rejects_path, first_local) {
            (Some(template), _) => match output::resolve_path(template, self.settings, &names) {
                Ok(p) => p,
                Err(e) => return Ok(Err(OpenError::RejectsPath(e))),
            },
            (None, Some(first)) => rejects_path(&first.local),
            (None, None) => self
                .settings
                .state_dir
                .join("rejects")
                .join(&self.profile.name)
                .join(format!(
                    "job{job_id}-{}.rejects.csv",
                    safe_component(&input.name)
                )),
        };
        let target = rejects_at.display().to_string();
        Ok(free_for_output(&target, &rejects_at, sinks).map(|()| rejects_at))
    }

    /// This profile's folder for outputs on their way out (SFTP uploads, API spools).
    fn outgoing(&self) -> PathBuf {
        self.settings
            .state_dir
            .join("outgoing")
            .join(&self.profile.name)
    }
}

fn abandon(sinks: Vec<Sink>) {
    for sink in sinks {
        sink.file.abandon();
    }
}

/// Refuses a target that exists already or that another output of this job writes.
fn free_for_output(target: &str, local: &Path, sinks: &[Sink]) -> Result<(), OpenError> {
    if sinks.iter().any(|s| s.target == target || s.local == local) {
        return Err(OpenError::SameTarget {
            target: target.to_string(),
        });
    }
    if local.exists() {
        return Err(OpenError::Exists {
            local: local.to_path_buf(),
        });
    }
    Ok(())
}

/// An output that did not reach its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsent {
    /// `sftp://user@host:port/remote/path`.
    pub target: String,
    /// Why, naming the target (no cell values).
    pub error: String,
    /// The server could not be reached and `retry_for` has not passed: the job stays
    /// `committing` and the upload is tried again at the next pass.
    pub retrying: bool,
}

/// A published output, as a job's report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// A local path, an `sftp://` target, or an API output's method and URL.
    pub target: String,
    /// An API output's rows: how many were delivered, how many failed.
    pub rows: Option<(u64, u64)>,
}

impl Published {
    fn file(target: &str) -> Published {
        Published {
            target: target.to_string(),
            rows: None,
        }
    }
}

/// What publishing a job's outputs came to.
#[derive(Debug, Default)]
pub struct Publication {
    /// Every published target.
    pub targets: Vec<Published>,
    /// The SFTP uploads that did not reach their server (their outputs stay unpublished).
    pub unsent: Vec<Unsent>,
}

/// Publishes every recorded output of a committing job that is not published yet, marking
/// each in the store. Used by a normal commit, by crash recovery and by `retry`. An API output
/// is published by sending its spool's unsettled rows; its spool is kept while any row of the
/// job stands failed, for `retry`. An upload the server refused or could not take stays
/// unpublished, its local copy kept.
pub fn publish_outputs(
    ctx: &JobContext<'_>,
    job_id: i64,
    rows: &[OutputRow],
) -> Result<Publication, EngineError> {
    let mut done = Publication::default();
    let published = &mut done.targets;
    for row in rows {
        if !row.published {
            let output = row.output_index.and_then(|i| ctx.output(i));
            if let Some(spec) = output.and_then(|o| o.upload()) {
                match upload(ctx, job_id, spec, row)? {
                    Ok(sent) => {
                        // Marked published by the upload. The audit trail names the bytes
                        // the server received.
                        let received = OutputRow {
                            bytes: sent.bytes,
                            sha256: sent.sha256,
                            ..row.clone()
                        };
                        emit_published(ctx, job_id, &received)?;
                        published.push(Published::file(&row.final_path));
                    }
                    Err(unsent) => done.unsent.push(unsent),
                }
                continue;
            }
            if let Some(api) = output.and_then(|o| o.api()) {
                let settled = api_delivery::deliver(ctx, job_id, row, &api)?;
                ctx.store.mark_published(job_id, &row.final_path)?;
                let index = row.output_index.unwrap_or_default();
                let totals = ctx.store.ledger_counts(job_id, index)?;
                if totals.1 == 0 {
                    remove_spool(&row.temp_path)?;
                }
                emit_delivered(ctx, job_id, row, totals, settled)?;
                published.push(Published {
                    target: row.final_path.clone(),
                    rows: Some(totals),
                });
                continue;
            }
            // A file output, or the rejects report.
            atomic::publish(Path::new(&row.temp_path), Path::new(&row.final_path))
                .map_err(|e| EngineError::io(format!("publishing {}", row.final_path), e))?;
            ctx.store.mark_published(job_id, &row.final_path)?;
            emit_published(ctx, job_id, row)?;
        }
        published.push(Published::file(&row.final_path));
    }
    Ok(done)
}

/// Uploads the local copy of SFTP output `row` (see `output::sftp::upload`). A failure is
/// audited (`output.upload_failed`, after a refused host key's `host_key.refused`).
fn upload(
    ctx: &JobContext<'_>,
    job_id: i64,
    spec: &SftpOutputSpec,
    row: &OutputRow,
) -> Result<Result<Transfer, Unsent>, EngineError> {
    let machinery = |e: UploadError| match e {
        UploadError::Store(e) => EngineError::Store(e),
        UploadError::Io(context, source) => EngineError::io(context, source),
        e @ UploadError::StartTime { .. } => EngineError::Profile {
            profile: ctx.profile.name.clone(),
            message: e.to_string(),
        },
    };
    let failure = match sftp::upload(
        ctx.runtime,
        spec,
        ctx.settings,
        ctx.key,
        ctx.store,
        job_id,
        row,
    ) {
        Ok(Ok(sent)) => return Ok(Ok(sent)),
        Ok(Err(failure)) => failure,
        Err(e) => return Err(machinery(e)),
    };
    if let Some(e) = failure.server_error() {
        audit_host_key(ctx, e)?;
    }
    let retrying = failure
        .retrying(spec, ctx.store, job_id)
        .map_err(machinery)?;
    let error = failure.to_string();
    Event::OutputUploadFailed {
        job_id,
        target: &row.final_path,
        error: &error,
        retrying,
    }
    .emit(ctx.store, &ctx.profile.name)?;
    if !retrying {
        emit_transfer(ctx, job_id, row, (0, row.rows))?;
    }
    Ok(Err(Unsent {
        target: row.final_path.clone(),
        error: format!("uploading {}: {error}", row.final_path),
        retrying,
    }))
}

/// Removes a fully delivered spool (gone already after a crash is fine).
fn remove_spool(path: &str) -> Result<(), EngineError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EngineError::io(format!("removing the spool {path}"), e)),
    }
}

/// The names of the profile's output fields, and those of them that are PII.
fn field_names(ctx: &JobContext<'_>) -> (Vec<String>, Vec<String>) {
    let fields = ctx.fields();
    let names = |pii_only: bool| {
        fields
            .iter()
            .filter(|f| f.pii || !pii_only)
            .map(|f| f.name.clone())
            .collect()
    };
    (names(false), names(true))
}

fn strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

fn emit_published(ctx: &JobContext<'_>, job_id: i64, row: &OutputRow) -> Result<(), EngineError> {
    let (names, pii) = match row.output_index {
        Some(_) => field_names(ctx),
        None => (
            ["file", "sheet", "row", "column", "field", "reason"]
                .map(String::from)
                .to_vec(),
            Vec::new(),
        ),
    };
    Event::OutputPublished {
        job_id,
        path: &row.final_path,
        rows: row.rows,
        bytes: row.bytes,
        sha256: &row.sha256,
        fields: strs(&names),
        pii_fields: strs(&pii),
    }
    .emit(ctx.store, &ctx.profile.name)?;
    emit_transfer(ctx, job_id, row, (row.rows, 0))
}

/// The transfer record of output `row` (none for the rejects report, which stays here):
/// `succeeded` and `failed` of its rows.
fn emit_transfer(
    ctx: &JobContext<'_>,
    job_id: i64,
    row: &OutputRow,
    (succeeded, failed): (u64, u64),
) -> Result<(), EngineError> {
    let Some(output) = row.output_index else {
        return Ok(());
    };
    let rows = row.rows.max(succeeded + failed);
    let record = TransferRecord::of(
        ctx.profile,
        output,
        &row.final_path,
        rows,
        (succeeded, failed),
    );
    Event::Transfer {
        job_id,
        record: &record,
    }
    .emit(ctx.store, &ctx.profile.name)
    .map_err(EngineError::from)
}

fn emit_delivered(
    ctx: &JobContext<'_>,
    job_id: i64,
    row: &OutputRow,
    (delivered, failed): (u64, u64),
    settled_this_run: u64,
) -> Result<(), EngineError> {
    let (fields, pii_fields) = field_names(ctx);
    Event::OutputDelivered {
        job_id,
        target: &row.final_path,
        delivered,
        failed,
        this_run: settled_this_run,
        fields: strs(&fields),
        pii_fields: strs(&pii_fields),
    }
    .emit(ctx.store, &ctx.profile.name)?;
    emit_transfer(ctx, job_id, row, (delivered, failed))
}
