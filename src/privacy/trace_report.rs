//! What a trace answers: every row of every file that carried one person, newest job first,
//! and what became of it — filtered (by which filter), rejected (column and reason), or
//! written, and then at each output published, delivered (HTTP status, the id the API gave)
//! or failed (why) — so "why wasn't Jane provisioned?" has a one-command answer.
//!
//! The rows come from the trace index ([`super::trace`]), by the person's keyed hash; the rest
//! from what the store already keeps: the job, its rejections, its published outputs, the API
//! delivery ledger by row, a lifecycle job's plan, and the id map (by the record's keyed id
//! map key). Nothing here reads an input or output file.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;

use serde::Serialize;

use crate::kernel::keys::InstallationKey;
use crate::output::open::open;
use crate::profile::lifecycle::Send;
use crate::profile::Profile;
use crate::store::{DeliveryState, JobRow, JobStatus, OutputRow, Store, StoreError};

use super::trace::{id_map_key, Entry, Fate, PersonHash, BUCKETS, ID_MAP_HASH, TRACE_HASH};
use super::transfer::destination;

/// One row of one job that carried the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sighting {
    pub job: i64,
    pub profile: String,
    pub file: String,
    /// When the job started (RFC 3339, UTC).
    pub at: String,
    pub job_status: String,
    /// Why the job failed, if it did (PII-free, as the job recorded it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_error: Option<String>,
    /// The input row; `None` for a leaver the roster no longer lists.
    pub row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    pub read: Read,
    /// What became of the row at each output that was to get it.
    pub outputs: Vec<Reached>,
}

/// What the read of the file made of the row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "as", rename_all = "snake_case")]
pub enum Read {
    /// Mapped and written to the outputs.
    Written,
    /// Skipped by the profile's `[[filter]]` number `filter` (from 1), on `column`.
    Filtered {
        filter: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        column: Option<String>,
    },
    /// Rejected; the reasons the job kept (none past its stored cap).
    Rejected { reasons: Vec<Reason> },
    /// A lifecycle roster's person: the change sent (`None`: none), and a change that waits
    /// for its date.
    Roster {
        change: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        queued: Option<Queued>,
    },
    /// A lifecycle person the roster no longer listed: sent as a leaver.
    Absent,
}

impl Read {
    /// The read in words, as `hrbridge trace` and the dashboard show it.
    pub fn describe(&self) -> String {
        match self {
            Read::Written => "mapped and written".into(),
            Read::Filtered { filter, column } => match column {
                Some(column) => format!("filtered out by [[filter]] {filter} (column {column:?})"),
                None => format!("filtered out by [[filter]] {filter}"),
            },
            Read::Rejected { reasons } if reasons.is_empty() => {
                "rejected (its reasons are in the job's rejects report: the store keeps the first 10,000 of a job)".into()
            }
            Read::Rejected { reasons } => {
                let each: Vec<String> = reasons.iter().map(Reason::describe).collect();
                format!("rejected: {}", each.join("; "))
            }
            Read::Roster { change, queued } => {
                let now = match change {
                    Some(kind) => format!("in the roster: {kind}"),
                    None => "in the roster: unchanged, no change to send".into(),
                };
                match queued {
                    Some(q) => format!("{now}; {} waits for {}", q.change, q.due),
                    None => now,
                }
            }
            Read::Absent => "no longer in the roster: a leaver".into(),
        }
    }
}

/// Why a field of a rejected row failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub column: Option<String>,
    pub field: Option<String>,
    pub reason: String,
}

impl Reason {
    fn describe(&self) -> String {
        match (&self.column, &self.field) {
            (Some(c), Some(f)) => format!("column {c:?} (field {f}): {}", self.reason),
            (Some(c), None) => format!("column {c:?}: {}", self.reason),
            (None, Some(f)) => format!("field {f}: {}", self.reason),
            (None, None) => self.reason.clone(),
        }
    }
}

/// A change waiting for its effective date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queued {
    pub change: String,
    pub due: String,
}

/// What became of the row at one output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reached {
    /// The output's place in the profile (from 1).
    pub output: usize,
    /// Where it goes, without credentials or query strings.
    pub destination: String,
    pub state: Reach,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The id the API keeps for the person (from the id map), once delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
}

impl Reached {
    /// Where the row stands at this output, in words.
    pub fn describe(&self) -> String {
        let mut words = format!(
            "output {} {}: {}",
            self.output,
            self.destination,
            self.state.as_str()
        );
        if let Some(status) = self.status {
            words.push_str(&format!(", HTTP {status}"));
        }
        if let Some(reason) = &self.reason {
            words.push_str(&format!(": {reason}"));
        }
        if let Some(id) = &self.remote_id {
            words.push_str(&format!(", remote id {id}"));
        }
        words
    }
}

/// Where the row stands at one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// In a file that was published (written, or uploaded).
    Published,
    /// The API confirmed it.
    Delivered,
    /// The API refused it, or every attempt failed (`retry` sends it again).
    Failed,
    /// Taken, with no final answer yet, or waiting for its turn.
    Pending,
    /// Held with its job for an operator's approval.
    Held,
    /// Never sent: the job failed, was a duplicate, or its plan was rejected.
    NotSent,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Published => "published",
            Reach::Delivered => "delivered",
            Reach::Failed => "failed",
            Reach::Pending => "pending",
            Reach::Held => "held",
            Reach::NotSent => "not sent",
        }
    }
}

/// The hash a trace looks a key up by: the parts of a composite key joined by ` / `.
pub fn person_of(key: &InstallationKey, typed: &str) -> Option<u64> {
    PersonHash::new(key.keyed_hash(TRACE_HASH)).of_typed(typed)
}

/// The person on row `row` of job `job_id`, when the job traced one there.
pub fn person_on_row(store: &Store, job_id: i64, row: u64) -> Result<Option<u64>, StoreError> {
    let pages = store.job_trace_pages(job_id, BUCKETS)?;
    let person = pages
        .iter()
        .flat_map(|p| Entry::decode(&p.entries))
        .find(|e| e.row == row && e.fate != Fate::Absent)
        .map(|e| e.person);
    Ok(person)
}

/// Every sighting of `person`, newest job first (rows in order within a job); of jobs of
/// `only` when given. `typed` is the installation key and the key as the operator typed it,
/// when known: the id map is looked up by it, so without it no remote id is shown.
pub fn trace(
    store: &Store,
    profiles: &[&Profile],
    person: u64,
    typed: Option<(&InstallationKey, &str)>,
    only: Option<&str>,
) -> Result<Vec<Sighting>, StoreError> {
    let mut found: Vec<(i64, Entry)> = Vec::new();
    for page in store.trace_bucket(Entry::bucket(person), only)? {
        found.extend(
            Entry::decode(&page.entries)
                .filter(|e| e.person == person)
                .map(|e| (page.job_id, e)),
        );
    }
    // Pages come newest job first; a job's pages in the order written.
    found.sort_by(|(a, x), (b, y)| b.cmp(a).then(x.row.cmp(&y.row)));
    let mut jobs: HashMap<i64, JobFacts> = HashMap::new();
    let mut sightings = Vec::with_capacity(found.len());
    for (job_id, entry) in found {
        let facts = match jobs.entry(job_id) {
            Slot::Occupied(known) => known.into_mut(),
            Slot::Vacant(slot) => match JobFacts::read(store, job_id)? {
                Some(facts) => slot.insert(facts),
                None => continue,
            },
        };
        let profile = profiles.iter().find(|p| p.name == facts.job.profile);
        let ids = IdLookup {
            typed,
            profile: profile.copied(),
        };
        sightings.push(sighting(store, facts, profile.copied(), &ids, entry)?);
    }
    Ok(sightings)
}

/// What a trace needs of a job once, however many of its rows carried the person.
struct JobFacts {
    job: JobRow,
    sheets: Vec<String>,
    outputs: Vec<OutputRow>,
}

impl JobFacts {
    fn read(store: &Store, job_id: i64) -> Result<Option<JobFacts>, StoreError> {
        let Some(job) = store.job(job_id)? else {
            return Ok(None);
        };
        Ok(Some(JobFacts {
            sheets: store.trace_sheets(job_id)?,
            outputs: store.job_outputs(job_id)?,
            job,
        }))
    }
}

/// Looks up the id an API output's id map keeps for the traced person.
struct IdLookup<'a> {
    typed: Option<(&'a InstallationKey, &'a str)>,
    profile: Option<&'a Profile>,
}

impl IdLookup<'_> {
    fn remote_id(&self, store: &Store, map: &str) -> Result<Option<String>, StoreError> {
        let (Some((key, typed)), Some(profile)) = (self.typed, self.profile) else {
            return Ok(None);
        };
        let parts: Vec<&str> = typed.split(" / ").collect();
        let pii = profile.fields.iter().any(|f| f.key && f.pii);
        match id_map_key(&parts, pii, &key.keyed_hash(ID_MAP_HASH)) {
            Some(id_key) => store.id_lookup(map, &id_key),
            None => Ok(None),
        }
    }
}

fn sighting(
    store: &Store,
    facts: &JobFacts,
    profile: Option<&Profile>,
    ids: &IdLookup<'_>,
    entry: Entry,
) -> Result<Sighting, StoreError> {
    let job = &facts.job;
    let row = (entry.fate != Fate::Absent).then_some(entry.row);
    let read = match entry.fate {
        Fate::Written => Read::Written,
        Fate::Filtered { rule } => Read::Filtered {
            filter: usize::from(rule) + 1,
            column: profile
                .and_then(|p| p.filters.get(usize::from(rule)))
                .map(|f| f.column.clone()),
        },
        Fate::Rejected => Read::Rejected {
            reasons: store
                .row_rejections(job.id, entry.row)?
                .into_iter()
                .map(|r| Reason {
                    column: r.column,
                    field: r.field,
                    reason: r.reason,
                })
                .collect(),
        },
        Fate::InRoster(kind) => {
            let change = store.row_change(job.id, entry.row)?;
            Read::Roster {
                change: kind.map(|k| k.as_str().to_string()),
                queued: change
                    .and_then(|c| c.queued)
                    .map(|(change, due)| Queued { change, due }),
            }
        }
        Fate::Absent => Read::Absent,
    };
    let outputs = match (&read, profile) {
        (Read::Filtered { .. } | Read::Rejected { .. }, _) | (_, None) => Vec::new(),
        (read, Some(profile)) => reached(store, facts, profile, ids, entry.row, read)?,
    };
    let sheet = usize::from(entry.sheet)
        .checked_sub(1)
        .and_then(|i| facts.sheets.get(i).cloned());
    Ok(Sighting {
        job: job.id,
        profile: job.profile.clone(),
        file: job.file_name.clone(),
        at: job.started_at.clone(),
        job_status: job.status.as_str().to_string(),
        job_error: job.error.clone(),
        row,
        sheet,
        read,
        outputs,
    })
}

/// What became of the row at each output of `profile` that was to get it: every output for a
/// written row or a change, only the roster files for an unchanged lifecycle person.
fn reached(
    store: &Store,
    facts: &JobFacts,
    profile: &Profile,
    ids: &IdLookup<'_>,
    row: u64,
    read: &Read,
) -> Result<Vec<Reached>, StoreError> {
    let unchanged = matches!(read, Read::Roster { change: None, .. });
    let deliveries = store.row_deliveries(facts.job.id, row)?;
    let mut reached = Vec::new();
    for (index, spec) in profile.outputs.iter().enumerate() {
        let output = open(spec);
        let roster = output.file().is_some_and(|f| f.send == Send::Roster);
        if unchanged && !roster {
            continue;
        }
        let published = facts.outputs.iter().find(|o| o.output_index == Some(index));
        let mut at = Reached {
            output: index + 1,
            destination: published.map_or_else(String::new, |o| destination(&o.final_path)),
            state: unsent(facts.job.status),
            status: None,
            reason: None,
            remote_id: None,
        };
        match output.api() {
            Some(api) => {
                if at.destination.is_empty() {
                    at.destination = destination(&api.label);
                }
                if let Some(d) = deliveries.iter().find(|d| d.output_index == index) {
                    at.state = match d.state {
                        DeliveryState::Delivered => Reach::Delivered,
                        DeliveryState::Failed => Reach::Failed,
                        DeliveryState::Sending => Reach::Pending,
                    };
                    at.status = d.status;
                    at.reason = d.reason.clone();
                    if at.state == Reach::Delivered {
                        at.remote_id = ids.remote_id(store, api.id_map(&profile.name))?;
                    }
                }
            }
            None => {
                if published.is_some_and(|o| o.published) {
                    at.state = Reach::Published;
                }
            }
        }
        reached.push(at);
    }
    Ok(reached)
}

/// Where a row stands at an output that has not taken it, by its job's status.
fn unsent(status: JobStatus) -> Reach {
    match status {
        JobStatus::Held => Reach::Held,
        JobStatus::Running | JobStatus::Committing => Reach::Pending,
        JobStatus::Succeeded
        | JobStatus::Partial
        | JobStatus::Failed
        | JobStatus::Duplicate
        | JobStatus::Interrupted => Reach::NotSent,
    }
}
