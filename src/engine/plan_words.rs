//! A lifecycle plan in words, for whoever shows one to an operator: `hrbridge changes` and
//! `plan` print it, the dashboard's Approvals view paints it. One wording in one place, so
//! the terminal and the dashboard say the same thing and mask the same way (changed values
//! come from the store already masked; keys are shown through [`StoredForm::shown_key`]).

use serde_json::Value as Json;

use crate::lifecycle::stored::StoredForm;
use crate::store::{ChangeRow, PlanRow};

/// The plan's summary: counts per kind and people in the file against the snapshot, then
/// why it is held and who decided it, if so, then its state; one line each.
pub fn summary(plan: &PlanRow) -> Vec<String> {
    let c = &plan.counts;
    let mut first = format!(
        "{} joiner(s), {} mover(s), {} leaver(s), {} rehire(s)",
        c.joiners, c.movers, c.leavers, c.rehires
    );
    for (n, what) in [
        (c.prehires, "pre-hire(s)"),
        (c.queued, "waiting for their date"),
        (c.cancelled, "cancelled"),
    ] {
        if n > 0 {
            first.push_str(&format!(", {n} {what}"));
        }
    }
    first.push_str(&format!("; {} people in the file", plan.rows));
    match plan.base_job {
        Some(job) => first.push_str(&format!(
            " (snapshot of job {job}: {} people, {} active)",
            plan.previous_rows, plan.previous_active
        )),
        None if plan.baseline => {
            first.push_str(" (first snapshot: recorded as the baseline, nothing sent)")
        }
        None => first.push_str(" (first snapshot: everyone is a joiner)"),
    }
    let mut lines = vec![first];
    if let Some(why) = &plan.hold_reason {
        lines.push(format!("held: {why}"));
    }
    if let Some(by) = &plan.decided_by {
        lines.push(format!(
            "decided by {by} at {}",
            plan.decided_at.as_deref().unwrap_or("?")
        ));
    }
    lines.push(format!("plan: {}", plan.state.as_str()));
    lines
}

/// The columns of a change table, in the order [`cells`] fills them.
pub const COLUMNS: [&str; 4] = ["row", "key", "change", "what"];

/// One change as table cells: its input row, the key as shown, its kind, and [`what`].
pub fn cells(change: &ChangeRow) -> [String; 4] {
    [
        change.row.map(|r| r.to_string()).unwrap_or_default(),
        StoredForm::shown_key(&change.key),
        change.kind.clone(),
        what(change),
    ]
}

/// A change in words: why (a leaver's reason, a withdrawal), the changed fields with their
/// old and new values, and what waits for which date.
pub fn what(change: &ChangeRow) -> String {
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
