//! `hrbridge audit [--json|--csv]`, `hrbridge audit verify`, and the accountability views of
//! the trail: `audit transfers` and `audit ropa` (in `transfers.rs`).

use std::path::Path;

use super::table::TextTable;
use super::{with_store, AuditAction, Exit};
use crate::store::{AuditVerdict, Store};

pub fn run(
    config: Option<&Path>,
    action: Option<AuditAction>,
    json: bool,
    csv: bool,
    limit: Option<usize>,
) -> Exit {
    match action {
        Some(AuditAction::Transfers {
            since,
            until,
            profile,
            json,
            csv,
        }) => with_store(config, |store| {
            super::transfers::list(store, since, until, profile.as_deref(), json, csv)
        }),
        Some(AuditAction::Ropa { json }) => super::transfers::ropa(config, json),
        Some(AuditAction::Verify) => with_store(config, run_verify),
        None => with_store(config, |store| list(store, json, csv, limit)),
    }
}

fn run_verify(store: &Store) -> Result<Exit, Box<dyn std::error::Error>> {
    match store.verify_audit()? {
        AuditVerdict::Intact { events, head } => {
            println!("audit trail intact: {events} event(s), head {head}");
            Ok(Exit::Ok)
        }
        AuditVerdict::Broken { seq, reason } => {
            println!("audit trail BROKEN at event {seq}: {reason}");
            Ok(Exit::Failed)
        }
    }
}

fn list(
    store: &Store,
    json: bool,
    csv: bool,
    limit: Option<usize>,
) -> Result<Exit, Box<dyn std::error::Error>> {
    let events = store.audit_events(limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(Exit::Ok);
    }
    let mut header = vec!["seq", "at", "kind", "profile", "job", "detail"];
    if csv {
        header.extend(["prev_hash", "hash"]);
    }
    let mut t = TextTable::new(header).max_width(90);
    for e in &events {
        let mut row = vec![
            e.seq.to_string(),
            e.at.clone(),
            e.kind.clone(),
            e.profile.clone().unwrap_or_default(),
            e.job_id.map(|j| j.to_string()).unwrap_or_default(),
            e.detail.to_string(),
        ];
        if csv {
            row.extend([e.prev_hash.clone(), e.hash.clone()]);
        }
        t.push(row);
    }
    if csv {
        print!("{}", t.to_csv()?);
    } else {
        print!("{}", t.render());
    }
    Ok(Exit::Ok)
}
