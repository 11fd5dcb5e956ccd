//! `hrbridge changes JOB [--json]`: the plan a lifecycle job recorded — its counts per kind,
//! whether and why it is held, and every person's change (PII masked), read and written a
//! page at a time (the text as a table per page). Also how `plan` prints the plan of a file.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Value as Json};

use super::table::TextTable;
use super::{with_store, Exit};
use crate::engine::plan_words;
use crate::lifecycle::stored::StoredForm;
use crate::store::{ChangeRow, PlanRow, Store, Toward};

/// Changes read from the store at a time: a plan of a million people is printed without
/// being held.
const PAGE: usize = 1000;

type Outcome = Result<(), Box<dyn std::error::Error>>;

pub fn run(config: Option<&Path>, job_id: i64, json: bool) -> Exit {
    with_store(config, |store| {
        let Some(plan) = store.plan(job_id)? else {
            eprintln!("error: job {job_id} has no plan (it is not a job of a [lifecycle] profile, or it failed before its file was read)");
            return Ok(Exit::Failed);
        };
        let mut out = io::BufWriter::new(io::stdout().lock());
        if json {
            write_json(&mut out, store, &plan, PAGE)?;
        } else {
            write_text(&mut out, store, &plan, PAGE)?;
        }
        out.flush()?;
        Ok(Exit::Ok)
    })
}

/// Calls `each` with the changes `hrbridge changes` lists of `job_id`, `page` at a time.
fn pages(
    store: &Store,
    job_id: i64,
    page: usize,
    mut each: impl FnMut(&[ChangeRow]) -> Outcome,
) -> Outcome {
    let mut at = 0;
    loop {
        let changes = store.changes_page(job_id, at, Toward::Newer, page)?;
        let Some(last) = changes.last() else {
            return Ok(());
        };
        at = last.n + 1;
        each(&changes)?;
        if changes.len() < page {
            return Ok(());
        }
    }
}

/// What [`as_json`] makes of the plan and its changes, written as the changes are read.
fn write_json(out: &mut impl Write, store: &Store, plan: &PlanRow, page: usize) -> Outcome {
    let shown = serde_json::to_string_pretty(plan)?.replace('\n', "\n  ");
    write!(out, "{{\n  \"plan\": {shown},\n  \"changes\": [")?;
    let mut first = true;
    pages(store, plan.job_id, page, |changes| {
        for c in changes {
            let sep = if first { "" } else { "," };
            write!(
                out,
                "{sep}\n    {}",
                serde_json::to_string(&change_json(c))?
            )?;
            first = false;
        }
        Ok(())
    })?;
    let end = if first { "" } else { "\n  " };
    writeln!(out, "{end}]\n}}")?;
    Ok(())
}

/// What [`render`] makes of the plan, a table per page of changes.
fn write_text(out: &mut impl Write, store: &Store, plan: &PlanRow, page: usize) -> Outcome {
    write!(out, "{}", render(plan, &[]))?;
    pages(store, plan.job_id, page, |changes| {
        write!(out, "{}", table(changes).render())?;
        Ok(())
    })
}

/// A plan and its changes as JSON (stored fields, which hold keyed hashes, left out).
pub(super) fn as_json(plan: &PlanRow, changes: &[ChangeRow]) -> Json {
    let changes: Vec<Json> = changes.iter().map(change_json).collect();
    json!({ "plan": plan, "changes": changes })
}

/// One change as JSON.
fn change_json(c: &ChangeRow) -> Json {
    json!({
        "key": StoredForm::shown_key(&c.key),
        "change": c.kind,
        "reason": c.reason,
        "row": c.row,
        "changed": serde_json::from_str::<Json>(&c.changed).unwrap_or(Json::Null),
        "waits": c.queued.as_ref().map(|(kind, due)| json!({ "change": kind, "due": due })),
    })
}

/// The plan's summary lines, then one table row per change.
pub(super) fn render(plan: &PlanRow, changes: &[ChangeRow]) -> String {
    let mut out = String::new();
    for line in plan_words::summary(plan) {
        out.push_str(&line);
        out.push('\n');
    }
    if !changes.is_empty() {
        out.push_str(&table(changes).render());
    }
    out
}

/// The changes as a table.
fn table(changes: &[ChangeRow]) -> TextTable {
    let mut table = TextTable::new(plan_words::COLUMNS).max_width(100);
    for change in changes {
        table.push(plan_words::cells(change));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_written_page_by_page_as_it_would_be_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let file = store.upsert_file("p", "a.csv", "h", 1, "dir").unwrap();
        let job = store.start_job("p", file.id, "a.csv").unwrap();
        let changes: Vec<ChangeRow> = (0..5u64)
            .map(|n| ChangeRow {
                reason: Some("absent".into()),
                ..ChangeRow::of(n, &format!("E{n}"), "leaver")
            })
            .collect();
        store.add_changes(job, &changes).unwrap();
        let plan = PlanRow {
            rows: 5,
            previous_rows: 5,
            previous_active: 5,
            ..PlanRow::of(job)
        };
        store.record_plan(&plan).unwrap();
        let plan = store.plan(job).unwrap().unwrap();
        for page in [2, 5, 1000] {
            let mut json = Vec::new();
            write_json(&mut json, &store, &plan, page).unwrap();
            let parsed: Json = serde_json::from_slice(&json).unwrap();
            assert_eq!(parsed, as_json(&plan, &changes), "page {page}");
            let mut text = Vec::new();
            write_text(&mut text, &store, &plan, page).unwrap();
            let text = String::from_utf8(text).unwrap();
            assert!((0..5).all(|n| text.contains(&format!("E{n} "))), "{text}");
        }
        // A plan without changes is still whole JSON.
        let other = PlanRow {
            job_id: store.start_job("p", file.id, "b.csv").unwrap(),
            ..plan.clone()
        };
        let mut json = Vec::new();
        write_json(&mut json, &store, &other, 2).unwrap();
        let parsed: Json = serde_json::from_slice(&json).unwrap();
        assert_eq!(parsed["changes"], json!([]));
    }
}
