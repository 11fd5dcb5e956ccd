//! The difference between a roster file and the profile's last accepted snapshot, computed
//! while the file streams past. Before the first row, one pass over the stored roster keeps,
//! per person, their key, whether they are active, and the keyed digest of their fields
//! (`people`: about 70 bytes a person, none of their data). Each mapped record is then told
//! apart by those: a person whose digest and status are unchanged costs no lookup and no
//! stored form; only the others (joiners, movers, leavers, rehires: a few per hundred) are
//! looked up in the roster and compared field by field. After the last row, the active people
//! the file did not name are leavers by absence.
//!
//! A change whose effective date (`effective_from`) is after today waits: it is recorded as
//! queued, not sent, and the profile's queue (what the previous plan left waiting) is
//! reconciled person by person — a pending change the file repeats stays queued, one whose
//! date moved is queued for the new date, one whose date came is sent, and one for a person
//! the file withdrew (gone, or terminated before starting) is cancelled.
//!
//! A job's changes go to the store in batches as they are found; `hrbridge plan` keeps them
//! in memory instead and writes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::kernel::change::ChangeKind;
use crate::kernel::clock::parse_date;
use crate::kernel::keys::KeyedHash;
use crate::kernel::mapped::{FieldInfo, MappedRecord, Rejection};
use crate::kernel::value::Value;
use crate::profile::lifecycle::{Absent, LifecycleSpec, Prehire};
use crate::store::{
    ChangeCounts, ChangeRow, PlanRow, PlanState, QueueEntry, RosterReader, Snapshot, Store,
    StoreError,
};

use super::people::{Known, People};
use super::safeguard;
use super::stored::{FieldChange, StoredForm};

/// Changes are written to the store this many at a time.
const BATCH: usize = 1000;

/// What one record of the file comes to: the change to send, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emit {
    pub kind: ChangeKind,
    /// The changed fields' names, comma-separated in field order (movers and rehires).
    pub changed_fields: String,
}

impl Emit {
    /// `rec` with the two change fields appended (`change`, `changed_fields`): the record
    /// every output of a lifecycle profile gets. `None` (no change: a roster output's
    /// unchanged person) leaves both empty.
    pub fn record(emit: Option<&Emit>, rec: &MappedRecord) -> MappedRecord {
        let mut values = Vec::with_capacity(rec.values.len() + 2);
        values.extend(rec.values.iter().cloned());
        match emit {
            Some(e) => {
                values.push(Value::Text(e.kind.as_str().to_string()));
                values.push(Value::Text(e.changed_fields.clone()));
            }
            None => values.extend([Value::Null, Value::Null]),
        }
        MappedRecord {
            pos: rec.pos.clone(),
            values,
        }
    }
}

/// Where the changes go.
enum Sink {
    /// To the plan of this job, in the store.
    Job(i64),
    /// Kept for the caller (`hrbridge plan`).
    Memory,
}

/// A delta being computed.
pub struct Delta<'a> {
    store: &'a Store,
    profile: &'a str,
    spec: &'a LifecycleSpec,
    fields: &'a [FieldInfo],
    form: StoredForm<'a>,
    /// The snapshot, read in one read transaction for the whole file.
    roster: RosterReader<'a>,
    status: Option<usize>,
    /// The fields holding joiners' and leavers' effective dates.
    joiner_date: Option<usize>,
    leaver_date: Option<usize>,
    /// The date changes are compared with: later ones wait.
    today: NaiveDate,
    /// The profile's queue when the file began, less the people the file has named so far.
    waiting: HashMap<String, QueueEntry>,
    base: Option<Snapshot>,
    sink: Sink,
    /// Who the roster knows of, and who the file named.
    people: People,
    /// Rejected rows whose key could not be read: who is absent cannot be known.
    keyless: u64,
    pending: Vec<ChangeRow>,
    kept: Vec<ChangeRow>,
    n: u64,
    counts: ChangeCounts,
}

/// The outcome of a file: its plan (state `planned`, with a hold reason when a safeguard
/// holds it) and, for `hrbridge plan`, its changes.
pub struct Outcome {
    pub plan: PlanRow,
    pub changes: Vec<ChangeRow>,
}

impl<'a> Delta<'a> {
    /// A delta of `profile`'s next file against its current snapshot, on `today`; its
    /// changes go to the plan of `job` (or, with `None`, are kept in memory and nothing is
    /// written).
    pub fn new(
        store: &'a Store,
        profile: &'a str,
        spec: &'a LifecycleSpec,
        fields: &'a [FieldInfo],
        hash: KeyedHash,
        today: NaiveDate,
        job: Option<i64>,
    ) -> Result<Delta<'a>, StoreError> {
        let position =
            |name: Option<&str>| name.and_then(|name| fields.iter().position(|f| f.name == name));
        let waiting = store
            .queued(Some(profile))?
            .into_iter()
            .map(|entry| (entry.key.clone(), entry))
            .collect();
        let roster = store.roster_reader(profile)?;
        let base = roster.snapshot()?;
        let people = People::load(&roster, base.map(|b| b.rows))?;
        Ok(Delta {
            store,
            profile,
            spec,
            fields,
            form: StoredForm::new(fields, hash),
            status: position(spec.status_field.as_deref()),
            joiner_date: position(spec.effective_from.joiner.as_deref()),
            leaver_date: position(spec.effective_from.leaver.as_deref()),
            today,
            waiting,
            base,
            roster,
            sink: job.map_or(Sink::Memory, Sink::Job),
            people,
            keyless: 0,
            pending: Vec::new(),
            kept: Vec::new(),
            n: 0,
            counts: ChangeCounts::default(),
        })
    }

    /// Whether this is a first snapshot recorded without emitting (`baseline = true`).
    fn baseline(&self) -> bool {
        self.base.is_none() && self.spec.baseline
    }

    /// Takes one mapped record: the change to send for it, if any. A record without a key,
    /// or whose key the file already had, is refused (`Err`) and changes nothing.
    pub fn observe(
        &mut self,
        rec: &MappedRecord,
    ) -> Result<Result<Option<Emit>, Rejection>, StoreError> {
        let refuse = |reason: String| Rejection {
            pos: rec.pos.clone(),
            column: None,
            field: None,
            reason,
        };
        let Some(key) = self.form.key_of(&rec.values) else {
            return Ok(Err(refuse(format!(
                "the key ({}) is empty; a roster row must name its person",
                self.form.key_names()
            ))));
        };
        let known = match self.people.see(&key, rec.pos.row) {
            Ok(known) => known,
            Err(first) => {
                return Ok(Err(refuse(format!(
                    "key {:?} is already on row {first}; a person is in a roster once",
                    StoredForm::shown_key(&key),
                ))))
            }
        };
        let digest = self.form.digest(&rec.values);
        let terminated = self.terminated(rec);
        let same = |k: Known| k.active != terminated && k.digest == Some(digest);
        if known.is_some_and(same) && !self.waiting.contains_key(key.as_ref()) {
            // Same fields, same status, nothing pending: nothing to send or keep.
            return Ok(Ok(None));
        }
        let fields = self.form.stored(&rec.values);
        let old = match known {
            Some(_) => self.roster.entry(&key)?,
            None => None,
        };
        let pending = self.waiting.remove(key.as_ref());
        let mut changed = Vec::new();
        let mut kind = match &old {
            None if terminated || self.baseline() => None,
            None => Some(ChangeKind::Joiner),
            Some(old) => {
                if old.fields != fields {
                    changed = self.form.differences(&old.fields, &fields);
                }
                match (old.active, terminated) {
                    (true, true) => Some(ChangeKind::Leaver),
                    (false, false) => Some(ChangeKind::Rehire),
                    (true, false) if !changed.is_empty() => Some(ChangeKind::Mover),
                    // Nothing to send; a leaver's data may still have changed.
                    _ => None,
                }
            }
        };
        let mut change = ChangeRow {
            n: 0,
            key: key.into_owned(),
            kind: String::new(),
            reason: (kind == Some(ChangeKind::Leaver)).then(|| "status".to_string()),
            row: Some(rec.pos.row),
            changed: String::new(),
            fields,
            active: !terminated,
            queued: None,
            prehired: false,
            digest: Some(digest),
        };
        let dated = match kind {
            Some(ChangeKind::Joiner | ChangeKind::Rehire) => self.joiner_date,
            Some(ChangeKind::Leaver) => self.leaver_date,
            _ => None,
        };
        let due = match self.due(rec, dated) {
            Ok(due) => due,
            Err(refused) => return Ok(Err(refused)),
        };
        match (kind, due) {
            (Some(waiting @ (ChangeKind::Joiner | ChangeKind::Rehire)), Some(due)) => {
                change.queued = Some((waiting.as_str().to_string(), due.to_string()));
                kind = None;
                if waiting == ChangeKind::Joiner && self.spec.prehire == Prehire::Inactive {
                    // Sent ahead once, and again only when the person's data changed.
                    let sent = pending
                        .as_ref()
                        .is_some_and(|p| p.prehired && p.fields == change.fields);
                    change.prehired = true;
                    kind = (!sent).then_some(ChangeKind::Prehire);
                }
            }
            (Some(ChangeKind::Leaver), Some(due)) => {
                // Still employed until the date; what changed (the status) is sent now.
                change.queued = Some((ChangeKind::Leaver.as_str().to_string(), due.to_string()));
                change.active = true;
                change.reason = None;
                kind = (!changed.is_empty()).then_some(ChangeKind::Mover);
            }
            _ => {}
        }
        let mut withdrawn = false;
        if let Some(p) = &pending {
            let still = change.queued.as_ref().is_some_and(|(k, _)| *k == p.kind);
            let started = matches!(kind, Some(ChangeKind::Joiner | ChangeKind::Rehire));
            if p.kind == ChangeKind::Leaver.as_str() && !still && kind != Some(ChangeKind::Leaver) {
                change.reason = Some(format!("cancels the leaver due {}", p.due));
            } else if p.kind != ChangeKind::Leaver.as_str() && !still && !started {
                // Terminated before the start date: the pending joiner or rehire is withdrawn.
                kind = self.withdraw(p, &mut change);
                withdrawn = true;
            }
        }
        let quiet = kind.is_none() && change.queued.is_none() && !withdrawn;
        let stored = known.and_then(|k| k.digest) == Some(digest);
        if quiet && old.is_some() && changed.is_empty() && stored {
            return Ok(Ok(None));
        }
        // Otherwise recorded, if only (quiet) for the roster to keep the digest it lacks.
        change.changed = serde_json::to_string(&changed).unwrap_or_default();
        if !withdrawn {
            change.kind = kind.map_or("quiet", ChangeKind::as_str).to_string();
        }
        self.record(change)?;
        Ok(Ok(kind.map(|kind| Emit {
            kind,
            changed_fields: names(&changed),
        })))
    }

    /// A pending joiner or rehire `p` the roster withdrew: a pre-hire already sent is ended
    /// with a leaver (the change to send); otherwise `change` becomes a `cancel`, and nothing
    /// is sent. Sets `change.kind` either way.
    fn withdraw(&self, p: &QueueEntry, change: &mut ChangeRow) -> Option<ChangeKind> {
        change.active = false;
        change.queued = None;
        change.prehired = p.prehired;
        let why = format!("withdrawn before the {} due {}", p.kind, p.due);
        change.reason = Some(why);
        let kind = p.prehired.then_some(ChangeKind::Leaver);
        change.kind = kind.map_or("cancel", ChangeKind::as_str).to_string();
        kind
    }

    /// The effective date in field `field` of `rec`, when it is after today (a change due
    /// today or earlier, or without a date, takes effect now). A value that is not a date
    /// refuses the row.
    fn due(
        &self,
        rec: &MappedRecord,
        field: Option<usize>,
    ) -> Result<Option<NaiveDate>, Rejection> {
        let Some(i) = field else {
            return Ok(None);
        };
        let text = rec.values.get(i).map(Value::to_string).unwrap_or_default();
        if text.trim().is_empty() {
            return Ok(None);
        }
        let info = &self.fields[i];
        let Some(date) = parse_date(&text) else {
            let shown = if info.pii {
                "the value".to_string()
            } else {
                format!("{text:?}")
            };
            return Err(Rejection {
                pos: rec.pos.clone(),
                column: None,
                field: Some(info.name.clone()),
                reason: format!(
                    "{shown} of {} is not a date (YYYY-MM-DD), and it dates this change",
                    info.name
                ),
            });
        };
        Ok((date > self.today).then_some(date))
    }

    /// Row `row` was rejected; `key_values` are the values of its key fields when they could
    /// be mapped: the person is in the file (not a leaver), and nothing about them changes.
    pub fn observe_rejected(&mut self, row: u64, key_values: Option<&[Value]>) {
        match key_values.and_then(|k| self.form.key_of_key_values(k)) {
            Some(key) => {
                // A second rejected row of one person is not a second refusal.
                let _ = self.people.see(&key, row);
            }
            None => self.keyless += 1,
        }
    }

    /// After the last row: the active people of the snapshot the file did not name are
    /// leavers by absence (with `absent = "terminate"`); `emit` gets each one's record, rebuilt
    /// from the snapshot (PII fields empty). Then the plan, and whether a safeguard holds it.
    pub fn finish<E: From<StoreError>>(
        mut self,
        file: &Arc<str>,
        mut emit: impl FnMut(&MappedRecord, &Emit) -> Result<(), E>,
    ) -> Result<Outcome, E> {
        let judged = self.spec.absent == Absent::Terminate && self.keyless == 0;
        if judged {
            for key in self.people.absent() {
                let Some(entry) = self.roster.entry(&key)? else {
                    continue;
                };
                // A leaver by absence is sent now, whatever date was pending for them.
                self.waiting.remove(&key);
                let rec = self.form.record_of(&entry.fields, file);
                self.leave(
                    &rec,
                    key,
                    entry.fields,
                    Some("absent".into()),
                    false,
                    &mut emit,
                )?;
            }
        }
        // The pending joiners and rehires the file did not name: withdrawn, when absence
        // means something; otherwise they wait on.
        let mut left: Vec<QueueEntry> = std::mem::take(&mut self.waiting).into_values().collect();
        left.sort_by(|a, b| a.key.cmp(&b.key));
        for p in left {
            let mut change = ChangeRow {
                n: 0,
                key: p.key.clone(),
                kind: "quiet".into(),
                reason: None,
                row: None,
                changed: "[]".into(),
                fields: p.fields.clone(),
                active: p.kind == ChangeKind::Leaver.as_str(),
                queued: Some((p.kind.clone(), p.due.clone())),
                prehired: p.prehired,
                digest: None,
            };
            if judged && p.kind != ChangeKind::Leaver.as_str() {
                if let Some(kind) = self.withdraw(&p, &mut change) {
                    let rec = self.form.record_of(&p.fields, file);
                    let reason = change.reason.take();
                    self.leave(&rec, p.key, p.fields, reason, true, &mut emit)?;
                    debug_assert_eq!(kind, ChangeKind::Leaver);
                    continue;
                }
            }
            self.record(change)?;
        }
        self.flush()?;
        let (job_id, state) = match self.sink {
            Sink::Job(id) => (id, PlanState::Planned),
            Sink::Memory => (0, PlanState::Planned),
        };
        let mut plan = PlanRow {
            job_id,
            profile: self.profile.to_string(),
            base_job: self.base.map(|b| b.job_id),
            baseline: self.baseline(),
            rows: self.people.named(),
            previous_rows: self.base.map_or(0, |b| b.rows),
            previous_active: self.base.map_or(0, |b| b.active),
            counts: self.counts,
            state,
            hold_reason: None,
            kept_at: None,
            decided_by: None,
            decided_at: None,
        };
        plan.hold_reason = safeguard::hold_reason(self.spec, &plan, self.keyless);
        Ok(Outcome {
            plan,
            changes: self.kept,
        })
    }

    /// Sends and records the leaver `key` (not in the file: `rec` is rebuilt from the stored
    /// `fields`, PII empty).
    fn leave<E: From<StoreError>>(
        &mut self,
        rec: &MappedRecord,
        key: String,
        fields: String,
        reason: Option<String>,
        prehired: bool,
        emit: &mut impl FnMut(&MappedRecord, &Emit) -> Result<(), E>,
    ) -> Result<(), E> {
        let change = Emit {
            kind: ChangeKind::Leaver,
            changed_fields: String::new(),
        };
        emit(rec, &change)?;
        self.record(ChangeRow {
            n: 0,
            key,
            kind: ChangeKind::Leaver.as_str().into(),
            reason,
            row: None,
            changed: "[]".into(),
            fields,
            active: false,
            queued: None,
            prehired,
            digest: None,
        })?;
        Ok(())
    }

    /// Whether `rec`'s status is one of `terminated_values`.
    fn terminated(&self, rec: &MappedRecord) -> bool {
        let Some(status) = self.status.and_then(|i| rec.values.get(i)) else {
            return false;
        };
        let status = status.text();
        let status = status.trim();
        self.spec
            .terminated_values
            .iter()
            .any(|t| t.trim().eq_ignore_ascii_case(status))
    }

    fn record(&mut self, mut change: ChangeRow) -> Result<(), StoreError> {
        change.n = self.n;
        self.n += 1;
        let counts = &mut self.counts;
        match ChangeKind::parse(&change.kind) {
            Some(ChangeKind::Joiner) => counts.joiners += 1,
            Some(ChangeKind::Mover) => counts.movers += 1,
            Some(ChangeKind::Leaver) => counts.leavers += 1,
            Some(ChangeKind::Rehire) => counts.rehires += 1,
            Some(ChangeKind::Prehire) => counts.prehires += 1,
            None if change.kind == "cancel" => counts.cancelled += 1,
            None => {}
        }
        if change.queued.is_some() {
            counts.queued += 1;
        }
        match self.sink {
            Sink::Memory => self.kept.push(change),
            Sink::Job(_) => {
                self.pending.push(change);
                if self.pending.len() >= BATCH {
                    self.flush()?;
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if let (Sink::Job(job), false) = (&self.sink, self.pending.is_empty()) {
            self.store.add_changes(*job, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

/// The names of `changed`, comma-separated.
fn names(changed: &[FieldChange]) -> String {
    let names: Vec<&str> = changed.iter().map(|c| c.field.as_str()).collect();
    names.join(",")
}
