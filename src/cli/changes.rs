//! `hrbridge changes JOB [--json]`: the plan a lifecycle job recorded — its counts per kind,
//! whether and why it is held, and every person's change (PII masked). Also how `plan`
//! prints the plan of a file.

use std::path::Path;

use serde_json::{json, Value as Json};

use super::table::TextTable;
use super::{with_store, Exit};
use crate::lifecycle::stored::StoredForm;
use crate::store::{ChangeRow, PlanRow};

pub fn run(config: Option<&Path>, job_id: i64, json: bool) -> Exit {
    with_store(config, |store| {
        let Some(plan) = store.plan(job_id)? else {
            eprintln!("error: job {job_id} has no plan (it is not a job of a [lifecycle] profile, or it failed before its file was read)");
            return Ok(Exit::Failed);
        };
        let changes = store.changes(job_id, false)?;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&as_json(&plan, &changes))?
            );
        } else {
            print!("{}", render(&plan, &changes));
        }
        Ok(Exit::Ok)
    })
}

/// A plan and its changes as JSON (stored fields, which hold keyed hashes, left out).
pub(super) fn as_json(plan: &PlanRow, changes: &[ChangeRow]) -> Json {
    let changes: Vec<Json> = changes
        .iter()
        .map(|c| {
            json!({
                "key": StoredForm::shown_key(&c.key),
                "change": c.kind,
                "reason": c.reason,
                "row": c.row,
                "changed": serde_json::from_str::<Json>(&c.changed).unwrap_or(Json::Null),
                "waits": c.queued.as_ref().map(|(kind, due)| json!({ "change": kind, "due": due })),
            })
        })
        .collect();
    json!({ "plan": plan, "changes": changes })
}

/// The plan's summary lines, then one table row per change.
pub(super) fn render(plan: &PlanRow, changes: &[ChangeRow]) -> String {
    let c = &plan.counts;
    let mut out = format!(
        "{} joiner(s), {} mover(s), {} leaver(s), {} rehire(s)",
        c.joiners, c.movers, c.leavers, c.rehires
    );
    for (n, what) in [
        (c.prehires, "pre-hire(s)"),
        (c.queued, "waiting for their date"),
        (c.cancelled, "cancelled"),
    ] {
        if n > 0 {
            out.push_str(&format!(", {n} {what}"));
        }
    }
    out.push_str(&format!("; {} people in the file", plan.rows));
    match plan.base_job {
        Some(job) => out.push_str(&format!(
            " (snapshot of job {job}: {} people, {} active)\n",
            plan.previous_rows, plan.previous_active
        )),
        None if plan.baseline => {
            out.push_str(" (first snapshot: recorded as the baseline, nothing sent)\n")
        }
        None => out.push_str(" (first snapshot: everyone is a joiner)\n"),
    }
    if let Some(why) = &plan.hold_reason {
        out.push_str(&format!("held: {why}\n"));
    }
    if let Some(by) = &plan.decided_by {
        out.push_str(&format!(
            "decided by {by} at {}\n",
            plan.decided_at.as_deref().unwrap_or("?")
        ));
    }
    out.push_str(&format!("plan: {}\n", plan.state.as_str()));
    let mut table = TextTable::new(["row", "key", "change", "what"]).max_width(100);
    for change in changes {
        table.push([
            change.row.map(|r| r.to_string()).unwrap_or_default(),
            StoredForm::shown_key(&change.key),
            change.kind.clone(),
            what(change),
        ]);
    }
    if !table.is_empty() {
        out.push_str(&table.render());
    }
    out
}

/// A change in words: the changed fields with their old and new values, or why a leaver
/// left.
fn what(change: &ChangeRow) -> String {
    let changed: Vec<Json> = serde_json::from_str(&change.changed).unwrap_or_default();
    let mut parts: Vec<String> = changed
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c["field"].as_str().unwrap_or("?"),
                c["before"],
                c["after"]
            )
        })
        .collect();
    match change.reason.as_deref() {
        Some("absent") => parts.insert(0, "not in the file".into()),
        Some("status") => parts.insert(0, "terminated status".into()),
        Some(other) => parts.insert(0, other.into()),
        None => {}
    }
    if let Some((kind, due)) = &change.queued {
        parts.push(format!("{kind} waits for {due}"));
    }
    parts.join("; ")
}
