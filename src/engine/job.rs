//! The life of one input file: stage → read → map → write temp outputs → contract checks →
//! commit (publish outputs) → keep the input.
//!
//! Nothing reaches a final output name before the whole file has been read and has passed its
//! contract (header, trailer, reject ratio, minimum rows). The commit is two-phase: the store
//! first records the complete temp files (`committing`), then they are published; a crash
//! between the two is rolled forward by `recover`. A job that fails before its commit
//! leaves no output, keeps its input in `error/` and records why; one whose upload is refused
//! after the commit keeps its input in the archive, its local copy ready for `retry`.

use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::format::{self, ReadError, Severity};
use crate::kernel::atomic::{temp_path, FinishedFile};
use crate::kernel::change::change_fields;
use crate::kernel::clock::today_in;
use crate::kernel::mapped::{FieldInfo, Rejection};
use crate::lifecycle::{order, Delta};
use crate::output::open::{open, Output};
use crate::output::rejects::RejectsFile;
use crate::output::webhook;
use crate::privacy::trace::{Fate, PersonHash, TraceWriter, TRACE_HASH};
use crate::profile::Profile;
use crate::settings::Settings;
use crate::source::dir::Candidate;
use crate::source::open::open as open_source;
use crate::source::sftp;
use crate::source::staging::Content;
use crate::store::{Advance, Counts, JobStatus, OutputRow, RejectionRow, Store};
use crate::transform::{MappingPlan, RowOutcome};

use super::anchor;
use super::archive;
use super::arrival::{Arrival, Origin};
use super::contract::contract_violation;
use super::deliver::{publish_outputs, Finished, Outputs, Published, Unsent};
use super::event::Event;
use super::leftovers;
use super::EngineError;

/// At most this many rejections of one job are kept in the store (the rejects file and the
/// counts are always complete).
pub const STORED_REJECTIONS_CAP: usize = 10_000;

/// The purpose the snapshot's PII hashes are keyed for (see `InstallationKey::keyed_hash`).
pub const SNAPSHOT_HASH: &str = "lifecycle-snapshot";

/// What is needed to run jobs for one profile.
pub struct JobContext<'a> {
    pub settings: &'a Settings,
    pub profile: &'a Profile,
    pub plan: &'a MappingPlan,
    pub store: &'a Store,
    /// Set when hrbridge is stopping: an API delivery then sends no new rows (the job stays
    /// `committing` and resumes on the next start).
    pub stop: &'a crate::kernel::stop::StopFlag,
    /// The installation's key: staged inputs, kept copies and spools are sealed to it.
    pub key: &'a crate::kernel::keys::InstallationKey,
    /// The process's tokio runtime: SFTP sessions, API deliveries and webhooks run on it.
    pub runtime: &'a tokio::runtime::Handle,
}

/// The result of one job, for summaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub job_id: i64,
    pub profile: String,
    pub file: String,
    pub status: JobStatus,
    pub counts: Counts,
    /// Published outputs: local paths, `sftp://` targets, API outputs with their rows
    /// delivered and failed (rejects report last, if any).
    pub outputs: Vec<Published>,
    /// Where the input was kept.
    pub kept_at: PathBuf,
    pub error: Option<String>,
}

/// Why a job failed: a located, PII-free message for the operator.
struct JobFailure {
    message: String,
    counts: Counts,
    /// The rejects report so far; kept beside the input in `error/`.
    rejects: Option<FinishedFile>,
}

/// What a successful read produced, before the commit.
struct Written {
    counts: Counts,
    finished: Vec<Finished>,
    /// The `{seq}` the outputs are named with.
    seq: u64,
    /// Why a safeguard holds this lifecycle job for an operator.
    hold: Option<String>,
}

impl JobContext<'_> {
    fn name(&self) -> &str {
        &self.profile.name
    }

    /// The fields every output of this profile writes: the mapped ones, and for a lifecycle
    /// profile the change fields after them (`change`, `changed_fields`).
    pub(super) fn fields(&self) -> Cow<'_, [FieldInfo]> {
        match self.profile.lifecycle {
            Some(_) => Cow::Owned(change_fields(self.plan.fields())),
            None => Cow::Borrowed(self.plan.fields()),
        }
    }

    /// Output `index` of the profile, opened (`None` past the end: the profile changed).
    pub(super) fn output(&self, index: usize) -> Option<&dyn Output> {
        self.profile.outputs.get(index).map(open)
    }

    fn emit(&self, event: Event<'_>) -> Result<(), EngineError> {
        event
            .emit(self.store, self.name())
            .map_err(EngineError::from)
    }

    /// Processes one staged input to its end, then sends the profile's notifications and
    /// keeps the audit head outside the store (what fails there is audited; it never changes
    /// the job).
    pub fn process(&self, input: &Arrival) -> Result<JobReport, EngineError> {
        let report = self.run_job(input)?;
        let outputs: Vec<String> = report.outputs.iter().map(|o| o.target.clone()).collect();
        let summary = webhook::JobSummary {
            job_id: report.job_id,
            profile: &report.profile,
            file: &report.file,
            status: report.status.as_str(),
            counts: &report.counts,
            outputs: &outputs,
            error: report.error.as_deref(),
        };
        for message in webhook::send(self.runtime, self.settings, self.profile, &summary) {
            self.emit(Event::NotifyFailed {
                job_id: report.job_id,
                message: &message,
            })?;
        }
        // The head after the job, kept outside the store where the settings say.
        anchor::publish(self.settings, self.store, self.key, self.runtime)?;
        Ok(report)
    }

    fn run_job(&self, input: &Arrival) -> Result<JobReport, EngineError> {
        let state_dir = &self.settings.state_dir;
        let staged = &input.staged;
        let file = self.store.upsert_file(
            self.name(),
            &input.name,
            &staged.sha256,
            staged.size,
            &input.source_label,
        )?;
        let job_id = self.store.start_job(self.name(), file.id, &input.name)?;
        if let Origin::Remote { size, mtime } = input.origin {
            // Linked now, so crash recovery can settle the remote file of this job.
            sftp::link_job(self.store, self.name(), &input.name, (size, mtime), job_id)?;
        }

        let replay = matches!(input.origin, Origin::Replay { .. });
        let before = match replay {
            true => None,
            false => self.store.delivered_before(self.name(), &staged.sha256)?,
        };
        if let Some(prev) = before {
            let note = format!(
                "same content as job {} ({:?}); skipped",
                prev.id, prev.file_name
            );
            self.store
                .finish_job(job_id, JobStatus::Duplicate, Counts::default(), Some(&note))?;
            self.emit(Event::FileDuplicate {
                job_id,
                name: &input.name,
                sha256: &staged.sha256,
                previous_job: prev.id,
            })?;
            let kept_at = self.keep_input(
                job_id,
                input,
                &archive::archive_dir(state_dir, self.name()),
                true,
            )?;
            return Ok(self.report(
                job_id,
                input,
                JobStatus::Duplicate,
                Counts::default(),
                Vec::new(),
                kept_at,
                Some(note),
            ));
        }

        self.emit(Event::JobStarted {
            job_id,
            name: &input.name,
            sha256: &staged.sha256,
            size: staged.size,
            source: &input.source_label,
        })?;
        // Whatever goes wrong before the commit — the file breaking its contract, or an output
        // that cannot be created or written (a full disk, a folder that is a file) — ends
        // this job `failed` with its cause, its temp files removed and its input kept.
        let mut counts = Counts::default();
        match self.read_and_write(job_id, input, &mut counts) {
            Ok(Ok(written)) => self.commit(job_id, input, written),
            Ok(Err(failure)) => self.fail(job_id, input, failure),
            Err(e) => {
                let failure = JobFailure {
                    message: format!("{}: {e}", input.name),
                    counts,
                    rejects: None,
                };
                self.fail(job_id, input, failure)
            }
        }
    }

    /// Reads the staged file through the mapping into temp outputs, counting rows in
    /// `counts`. The outer `Result` is for infrastructure errors; the inner one for the file
    /// failing its contract.
    fn read_and_write(
        &self,
        job_id: i64,
        input: &Arrival,
        counts: &mut Counts,
    ) -> Result<Result<Written, JobFailure>, EngineError> {
        let failure = |message: String, counts: &Counts| {
            Ok(Err(JobFailure {
                message,
                counts: *counts,
                rejects: None,
            }))
        };
        if let Content::Undecryptable(why) = &input.staged.content {
            return failure(
                format!(
                    "{:?} cannot be decrypted with source.decrypt_with ({why}); nothing was read",
                    input.name
                ),
                counts,
            );
        }
        if let Some(why) = self.out_of_order(input)? {
            return failure(why, counts);
        }
        let table =
            match format::open_input(self.open_staged(input)?, &input.name, &self.profile.format) {
                Ok(t) => t,
                Err(e) => return failure(e.to_string(), counts),
            };
        let mapper = match self.plan.bind(&table.header) {
            Ok(m) => m,
            Err(missing) => return failure(format!("{}: {missing}", input.name), counts),
        };

        let mut outputs = match self.open_outputs(job_id, input)? {
            Ok(o) => o,
            Err(e) => return failure(e.to_string(), counts),
        };
        let mut rejects: Option<RejectsFile> = None;
        let mut pending: Vec<RejectionRow> = Vec::new();
        let mut stored = 0usize;
        let mut delta = match &self.profile.lifecycle {
            Some(spec) => {
                let today = match today_in(self.profile.timezone.as_deref()) {
                    Ok(today) => today,
                    Err(e) => return failure(e, counts),
                };
                Some(Delta::new(
                    self.store,
                    self.name(),
                    spec,
                    self.plan.fields(),
                    self.key.keyed_hash(SNAPSHOT_HASH),
                    today,
                    Some(job_id),
                )?)
            }
            None => None,
        };
        let people = PersonHash::new(self.key.keyed_hash(TRACE_HASH));
        let mut trace = TraceWriter::new(self.store, job_id, people, self.plan.fields());

        for item in table.records {
            let rejections: Vec<Rejection> = match item {
                Ok(rec) => {
                    counts.read += 1;
                    match refused_by(&outputs, mapper.apply(&rec)) {
                        RowOutcome::Mapped(m) => {
                            let (fate, refused) = match &mut delta {
                                None => {
                                    outputs.write(&m)?;
                                    (Fate::Written, None)
                                }
                                Some(delta) => match delta.observe(&m)? {
                                    Ok(change) => {
                                        outputs.write_change(&m, change.as_ref())?;
                                        (Fate::InRoster(change.map(|c| c.kind)), None)
                                    }
                                    Err(refused) => (Fate::Rejected, Some(refused)),
                                },
                            };
                            if let Some(trace) = &mut trace {
                                trace.mapped(&m, fate)?;
                            }
                            match refused {
                                None => {
                                    counts.written += 1;
                                    continue;
                                }
                                Some(refused) => vec![refused],
                            }
                        }
                        RowOutcome::Filtered { rule } => {
                            counts.filtered += 1;
                            if let Some(trace) = &mut trace {
                                let rule = u16::try_from(rule).unwrap_or(u16::MAX);
                                let key = mapper.key_values(&rec);
                                trace.unmapped(
                                    &rec.pos,
                                    key.as_deref(),
                                    Fate::Filtered { rule },
                                )?;
                            }
                            continue;
                        }
                        RowOutcome::Rejected(rs) => {
                            let key = (delta.is_some() || trace.is_some())
                                .then(|| mapper.key_values(&rec))
                                .flatten();
                            if let Some(delta) = &mut delta {
                                delta.observe_rejected(rec.pos.row, key.as_deref());
                            }
                            if let Some(trace) = &mut trace {
                                trace.unmapped(&rec.pos, key.as_deref(), Fate::Rejected)?;
                            }
                            rs
                        }
                    }
                }
                Err(e) if e.severity == Severity::Row => {
                    counts.read += 1;
                    if let Some(delta) = &mut delta {
                        delta.observe_rejected(e.pos.row, None);
                    }
                    vec![rejection_of(e)]
                }
                Err(e) => {
                    self.store_rejections(job_id, &mut pending)?;
                    TraceWriter::finish_any(trace)?;
                    return give_up(outputs, rejects, e.to_string(), *counts);
                }
            };
            counts.rejected += 1;
            let rejects_file = match &mut rejects {
                Some(r) => r,
                None => {
                    let at = &outputs.rejects_at;
                    let tag = format!("job{job_id}-rejects");
                    self.store.note_temp(job_id, &temp_path(at, &tag))?;
                    let file = RejectsFile::create(at, &tag)
                        .map_err(|e| EngineError::io(format!("creating {}", at.display()), e))?;
                    rejects.insert(file)
                }
            };
            for r in &rejections {
                rejects_file
                    .write(r)
                    .map_err(|e| EngineError::io("writing the rejects report".into(), e))?;
                if stored < STORED_REJECTIONS_CAP {
                    stored += 1;
                    pending.push(RejectionRow {
                        row: r.pos.row,
                        sheet: r.pos.sheet.as_deref().map(str::to_string),
                        column: r.column.clone(),
                        field: r.field.clone(),
                        reason: r.reason.clone(),
                    });
                }
            }
            if pending.len() >= 1000 {
                self.store_rejections(job_id, &mut pending)?;
            }
        }
        self.store_rejections(job_id, &mut pending)?;

        if let Some(message) = contract_violation(self.profile, counts) {
            TraceWriter::finish_any(trace)?;
            return give_up(
                outputs,
                rejects,
                format!("{}: {message}", input.name),
                *counts,
            );
        }
        let hold = match delta {
            Some(delta) => {
                let file: Arc<str> = Arc::from(input.name.as_str());
                let outcome = delta.finish(&file, |rec, change| {
                    if let Some(trace) = &mut trace {
                        trace.mapped(rec, Fate::Absent)?;
                    }
                    outputs.write_change(rec, Some(change))
                })?;
                self.store.record_plan(&outcome.plan)?;
                outcome.plan.hold_reason
            }
            None => None,
        };
        if let Some(why) = outputs.trailer_problem() {
            TraceWriter::finish_any(trace)?;
            return give_up(outputs, rejects, format!("{}: {why}", input.name), *counts);
        }
        TraceWriter::finish_any(trace)?;
        let seq = outputs.seq;
        let mut finished = outputs.finish()?;
        if let Some(r) = rejects {
            let rows = r.rows();
            let done = r
                .finish()
                .map_err(|e| EngineError::io("finishing the rejects report".into(), e))?;
            finished.push(Finished {
                index: None,
                target: done.final_path.display().to_string(),
                file: done,
                rows,
            });
        }
        Ok(Ok(Written {
            counts: *counts,
            finished,
            seq,
            hold,
        }))
    }

    /// Why a lifecycle profile that applies rosters by their file date refuses `input`: no
    /// date in its name, or one older than the roster its snapshot stands at.
    fn out_of_order(&self, input: &Arrival) -> Result<Option<String>, EngineError> {
        let spec = self.profile.lifecycle.as_ref();
        if !order::by_file_date(spec) {
            return Ok(None);
        }
        let current = match self.store.snapshot(self.name())? {
            Some(snapshot) => self.store.job(snapshot.job_id)?.map(|j| j.file_name),
            None => None,
        };
        Ok(order::refusal(spec, &input.name, current.as_deref()))
    }

    /// The staged copy, decrypting with the installation key as it is read.
    fn open_staged(&self, input: &Arrival) -> Result<Box<dyn format::Input>, EngineError> {
        let path = &input.staged.path;
        let sealed = fs::File::open(path)
            .and_then(|f| self.key.decrypt(f))
            .map_err(|e| {
                EngineError::io(format!("opening the staged copy {}", path.display()), e)
            })?;
        Ok(Box::new(sealed))
    }

    fn store_rejections(
        &self,
        job_id: i64,
        pending: &mut Vec<RejectionRow>,
    ) -> Result<(), EngineError> {
        if !pending.is_empty() {
            self.store.add_rejections(job_id, pending)?;
            pending.clear();
        }
        Ok(())
    }

    /// Phase one records the complete temp files; phase two publishes them.
    fn commit(
        &self,
        job_id: i64,
        input: &Arrival,
        written: Written,
    ) -> Result<JobReport, EngineError> {
        let Written {
            counts,
            finished,
            seq,
            hold,
        } = written;
        let rows: Vec<OutputRow> = finished
            .iter()
            .map(|f| OutputRow {
                job_id,
                output_index: f.index,
                temp_path: f.file.temp_path.display().to_string(),
                final_path: f.target.clone(),
                rows: f.rows,
                bytes: f.file.bytes,
                sha256: f.file.sha256.clone(),
                published: false,
            })
            .collect();
        if let Some(reason) = hold {
            return self.hold(job_id, input, counts, &rows, seq, &reason);
        }
        if let Err(e) = self.store.begin_commit(job_id, counts, &rows, seq) {
            // Nothing is recorded as committing: the job fails and its temp files go.
            let failure = JobFailure {
                message: format!("{}: recording the commit: {e}", input.name),
                counts,
                rejects: None,
            };
            return self.fail(job_id, input, failure);
        }
        let archive = archive::archive_dir(&self.settings.state_dir, self.name());
        let published = match publish_outputs(self, job_id, &rows) {
            Ok(published) => published,
            Err(e) => {
                // Committed: recovery finishes the publish at the next pass. The input is
                // kept now, so it is never taken (and delivered) again meanwhile.
                self.store.note_committing_error(job_id, &e.to_string())?;
                self.keep_input(job_id, input, &archive, true)?;
                return Err(e);
            }
        };
        let (status, counts, error) = self.settle(job_id, counts, &published.unsent)?;
        let kept_at = self.keep_input(job_id, input, &archive, true)?;
        let outputs = published.targets;
        Ok(self.report(job_id, input, status, counts, outputs, kept_at, error))
    }

    /// Holds a lifecycle job whose plan broke a safeguard: its complete temp outputs are
    /// recorded (nothing is published), its input is kept in the archive, and it waits for
    /// `hrbridge approve` or `reject`. The snapshot does not move.
    fn hold(
        &self,
        job_id: i64,
        input: &Arrival,
        counts: Counts,
        rows: &[OutputRow],
        seq: u64,
        reason: &str,
    ) -> Result<JobReport, EngineError> {
        if let Err(e) = self.store.hold_job(job_id, counts, rows, seq, reason) {
            let failure = JobFailure {
                message: format!("{}: recording the hold: {e}", input.name),
                counts,
                rejects: None,
            };
            return self.fail(job_id, input, failure);
        }
        let plan = self
            .store
            .plan(job_id)?
            .map(|p| p.counts)
            .unwrap_or_default();
        self.emit(Event::JobHeld {
            job_id,
            reason,
            changes: plan,
        })?;
        let archive = archive::archive_dir(&self.settings.state_dir, self.name());
        let kept_at = self.keep_input(job_id, input, &archive, true)?;
        let error = format!(
            "held: {reason}; nothing was sent (`hrbridge changes {job_id}` shows the plan, `hrbridge approve {job_id}` applies it, `hrbridge reject {job_id}` drops it)"
        );
        Ok(self.report(
            job_id,
            input,
            JobStatus::Held,
            counts,
            Vec::new(),
            kept_at,
            Some(error),
        ))
    }

    /// Moves a lifecycle profile's snapshot to the plan of job `job_id`, once its outputs
    /// delivered (a replay after a crash finds it applied and does nothing).
    fn advance_snapshot(&self, job_id: i64) -> Result<(), EngineError> {
        if self.profile.lifecycle.is_none() {
            return Ok(());
        }
        let outcome = match self.store.advance_snapshot(job_id)? {
            Advance::Applied => "applied",
            Advance::Stale => "stale",
            Advance::AlreadyDone => return Ok(()),
        };
        self.emit(Event::SnapshotAdvanced { job_id, outcome })
    }

    /// Ends a job once its outputs were published: `succeeded`, `partial` (rows rejected, rows
    /// an API output could not deliver, or an upload refused while another output delivered)
    /// or `failed` (nothing delivered). While an upload waits for its server (`unsent` with
    /// `retrying`), the job stays `committing` with the reason as its error. Returns the
    /// status, counts and error.
    pub(super) fn settle(
        &self,
        job_id: i64,
        mut counts: Counts,
        unsent: &[Unsent],
    ) -> Result<(JobStatus, Counts, Option<String>), EngineError> {
        if unsent.iter().any(|u| u.retrying) {
            let why = unsent.iter().map(|u| u.error.as_str()).collect::<Vec<_>>();
            let error = format!(
                "{}; tried again at the next pass (`retry_for`)",
                why.join("; ")
            );
            self.store.note_committing_error(job_id, &error)?;
            return Ok((JobStatus::Committing, counts, Some(error)));
        }
        counts.failed = self.store.ledger_failed_rows(job_id)?;
        // Which outputs fell short, and whether any row reached any destination at all (a
        // published file output carries every row).
        let mut short = Vec::new();
        let mut reached = false;
        for out in self.store.job_outputs(job_id)? {
            let Some(index) = out.output_index else {
                continue;
            };
            match self.output(index) {
                Some(output) if output.api().is_some() => {
                    let (delivered, failed) = self.store.ledger_counts(job_id, index)?;
                    reached |= delivered > 0;
                    if failed > 0 {
                        short.push(format!("{failed} to {}", out.final_path));
                    }
                }
                // An upload that failed: `unsent` says why.
                _ if !out.published => {}
                _ => reached = true,
            }
        }
        let mut problems = Vec::new();
        if counts.failed > 0 {
            let first = self.store.ledger_failures(job_id, 1)?;
            let why = first
                .first()
                .map(|f| format!("; first, row {}: {}", f.row, f.reason))
                .unwrap_or_default();
            problems.push(format!(
                "rows not delivered: {}{why} (`hrbridge jobs --job {job_id}` lists them; `hrbridge retry {job_id}` sends them again)",
                short.join(", ")
            ));
        }
        problems.extend(
            unsent
                .iter()
                .map(|u| format!("{} (`hrbridge retry {job_id}` uploads it again)", u.error)),
        );
        let (status, error) = if !problems.is_empty() {
            let status = if reached {
                JobStatus::Partial
            } else {
                JobStatus::Failed
            };
            (status, Some(problems.join("; ")))
        } else if counts.rejected > 0 {
            (JobStatus::Partial, None)
        } else {
            (JobStatus::Succeeded, None)
        };
        if status != JobStatus::Failed {
            self.advance_snapshot(job_id)?;
        }
        self.store
            .finish_job(job_id, status, counts, error.as_deref())?;
        self.emit(Event::JobFinished {
            job_id,
            status: status.as_str(),
            counts,
        })?;
        Ok((status, counts, error))
    }

    fn fail(
        &self,
        job_id: i64,
        input: &Arrival,
        failure: JobFailure,
    ) -> Result<JobReport, EngineError> {
        let JobFailure {
            message,
            counts,
            rejects,
        } = failure;
        self.store
            .finish_job(job_id, JobStatus::Failed, counts, Some(&message))?;
        self.emit(Event::JobFailed {
            job_id,
            counts,
            error: &message,
        })?;
        let dir = archive::error_dir(&self.settings.state_dir, self.name());
        let kept_at = self.keep_input(job_id, input, &dir, false)?;
        let mut note_name = kept_at.file_name().unwrap_or_default().to_os_string();
        note_name.push(".error.txt");
        let note = format!("job {job_id} failed: {message}\n");
        write_note(
            &archive::free_name(&dir, &note_name.to_string_lossy()),
            &note,
        )
        .map_err(|e| EngineError::io("writing the error note".into(), e))?;
        if let Some(r) = rejects {
            let mut name = kept_at.file_name().unwrap_or_default().to_os_string();
            name.push(".rejects.csv");
            let to = archive::free_name(&dir, &name.to_string_lossy());
            fs::copy(&r.temp_path, &to)
                .and_then(|_| fs::remove_file(&r.temp_path))
                .map_err(|e| EngineError::io("keeping the rejects report".into(), e))?;
        }
        // Whatever the job had half-written (a failed write leaves its temp files open).
        leftovers::sweep(self)?;
        Ok(self.report(
            job_id,
            input,
            JobStatus::Failed,
            counts,
            Vec::new(),
            kept_at,
            Some(message),
        ))
    }

    /// Moves the staged input into `dir` (archive or error) and settles it at its source: an
    /// inbox file leaves the inbox (with its done marker); a remote version is marked
    /// `delivered` (its `after` action is now due) or `failed`.
    fn keep_input(
        &self,
        job_id: i64,
        input: &Arrival,
        dir: &Path,
        delivered: bool,
    ) -> Result<PathBuf, EngineError> {
        let name = input.staged.content.kept_name(&input.name);
        let kept = archive::keep(&input.staged.path, dir, &name)
            .map_err(|e| EngineError::io(format!("keeping {:?}", input.name), e))?;
        match &input.origin {
            Origin::Inbox(cand) => self.release(cand)?,
            Origin::Replay { .. } => {}
            Origin::Remote { size, mtime } => sftp::job_ended(
                self.store,
                self.name(),
                &input.name,
                (*size, *mtime),
                job_id,
                delivered,
            )?,
        }
        self.emit(Event::InputKept {
            job_id,
            to: &kept.display().to_string(),
        })?;
        if self.profile.lifecycle.is_some() {
            self.store
                .note_kept_input(job_id, &kept.display().to_string())?;
        }
        Ok(kept)
    }

    /// Removes an inbox entry that is still the version taken, with its done marker (a marker
    /// left behind would let the next upload of this name in half-written).
    pub(super) fn release(&self, cand: &Candidate) -> Result<(), EngineError> {
        let released = archive::release_original(cand)
            .map_err(|e| EngineError::io(format!("removing {:?} from the inbox", cand.name), e))?;
        if let (true, Some(dir)) = (released, open_source(&self.profile.source).inbox()) {
            if let Some(marker) = &dir.done_marker {
                archive::remove_marker(&cand.path, marker).map_err(|e| {
                    EngineError::io(format!("removing the done marker of {:?}", cand.name), e)
                })?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        job_id: i64,
        input: &Arrival,
        status: JobStatus,
        counts: Counts,
        outputs: Vec<Published>,
        kept_at: PathBuf,
        error: Option<String>,
    ) -> JobReport {
        JobReport {
            job_id,
            profile: self.name().to_string(),
            file: input.name.clone(),
            status,
            counts,
            outputs,
            kept_at,
            error,
        }
    }
}

fn rejection_of(e: ReadError) -> Rejection {
    Rejection {
        pos: e.pos,
        column: e.column,
        field: None,
        reason: e.reason,
    }
}

/// Ends a failing job's writing: outputs are deleted, the rejects report is completed so it
/// can be kept beside the input.
/// `outcome`, with a mapped record that some output cannot write (a value too long for its
/// fixed-width place) turned into the row's rejection, before anything of it is written.
fn refused_by(outputs: &Outputs, outcome: RowOutcome) -> RowOutcome {
    match outcome {
        RowOutcome::Mapped(m) => match outputs.refusal(&m) {
            Some(refusal) => RowOutcome::Rejected(vec![Rejection {
                pos: m.pos,
                column: None,
                field: Some(refusal.field),
                reason: refusal.reason,
            }]),
            None => RowOutcome::Mapped(m),
        },
        other => other,
    }
}

fn give_up(
    outputs: Outputs,
    rejects: Option<RejectsFile>,
    message: String,
    counts: Counts,
) -> Result<Result<Written, JobFailure>, EngineError> {
    outputs.abandon();
    let rejects = match rejects {
        Some(r) => Some(
            r.finish()
                .map_err(|e| EngineError::io("finishing the rejects report".into(), e))?,
        ),
        None => None,
    };
    Ok(Err(JobFailure {
        message,
        counts,
        rejects,
    }))
}

/// Writes a new file; never replaces one (it could be a kept input).
pub(super) fn write_note(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
