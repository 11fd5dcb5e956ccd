//! `hrbridge changes JOB [--json]`: the plan a lifecycle job recorded — its counts per kind,
//! whether and why it is held, and every person's change (PII masked). Also how `plan`
//! prints the plan of a file.

use std::path::Path;

use serde_json::{json, Value as Json};

use super::table::TextTable;
use super::{with_store, Exit};
use crate::engine::plan_words;
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
    let mut out = String::new();
    for line in plan_words::summary(plan) {
        out.push_str(&line);
        out.push('\n');
    }
    let mut table = TextTable::new(plan_words::COLUMNS).max_width(100);
    for change in changes {
        table.push(plan_words::cells(change));
    }
    if !table.is_empty() {
        out.push_str(&table.render());
    }
    out
}
