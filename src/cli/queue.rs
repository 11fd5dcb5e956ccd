//! `hrbridge queue [--json]`: the changes that wait for their effective date — who (by key),
//! what (joiner, rehire, leaver), on which date, and whether a pre-hire was sent ahead.

use std::path::Path;

use serde_json::json;

use super::table::TextTable;
use super::{with_store, Exit};
use crate::lifecycle::stored::StoredForm;

pub fn run(config: Option<&Path>, json: bool) -> Exit {
    with_store(config, |store| {
        let queued = store.queued(None)?;
        if json {
            let entries: Vec<_> = queued
                .iter()
                .map(|e| {
                    json!({
                        "profile": e.profile,
                        "key": StoredForm::shown_key(&e.key),
                        "change": e.kind,
                        "due": e.due,
                        "prehired": e.prehired,
                        "queued_by_job": e.job_id,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&entries)?);
            return Ok(Exit::Ok);
        }
        if queued.is_empty() {
            println!("nothing waits for its date");
            return Ok(Exit::Ok);
        }
        let mut table = TextTable::new(["due", "profile", "key", "change", "queued by"]);
        for e in &queued {
            let kind = match e.prehired {
                true => format!("{} (pre-hire sent)", e.kind),
                false => e.kind.clone(),
            };
            table.push([
                e.due.clone(),
                e.profile.clone(),
                StoredForm::shown_key(&e.key),
                kind,
                format!("job {}", e.job_id),
            ]);
        }
        print!("{}", table.render());
        println!("{} change(s) wait; each is sent on its date by the next pass (`hrbridge run --once` or the daemon)", queued.len());
        Ok(Exit::Ok)
    })
}
