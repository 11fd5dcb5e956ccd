//! `hrbridge audit [--json|--csv]`, `hrbridge audit verify [--expect HASH | --expect-file
//! FILE]`, `hrbridge audit head [--sign]` (the head to keep elsewhere, see `engine::anchor`),
//! and the accountability views of the trail: `audit transfers` and `audit ropa` (in
//! `transfers.rs`).

use std::path::Path;

use super::table::TextTable;
use super::{settings_of, with_store, with_store_of, AuditAction, Exit};
use crate::engine::anchor::{self, Head, Kept};
use crate::kernel::keys::InstallationKey;
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
        Some(AuditAction::Verify {
            expect,
            expect_file,
        }) => verify(config, expect.as_deref(), expect_file.as_deref()),
        Some(AuditAction::Head { sign }) => head(config, sign),
        None => with_store(config, |store| list(store, json, csv, limit)),
    }
}

/// `audit verify [--expect HASH | --expect-file FILE]`.
fn verify(config: Option<&Path>, expect: Option<&str>, expect_file: Option<&Path>) -> Exit {
    let settings = match settings_of(config) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let kept = match (expect, expect_file) {
        (Some(hash), _) => match Kept::hash(hash) {
            Ok(kept) => Some(kept),
            Err(why) => {
                eprintln!("error: --expect: {why}");
                return Exit::Usage;
            }
        },
        (None, Some(file)) => match kept_in(&settings.state_dir, file) {
            Ok(kept) => Some(kept),
            Err(why) => {
                eprintln!("error: {}: {why}", file.display());
                return Exit::Failed;
            }
        },
        (None, None) => None,
    };
    with_store_of(&settings, |store| {
        let (events, head) = match store.verify_audit()? {
            AuditVerdict::Intact { events, head } => (events, head),
            AuditVerdict::Broken { seq, reason } => {
                println!("audit trail BROKEN at event {seq}: {reason}");
                return Ok(Exit::Failed);
            }
        };
        let Some(kept) = kept else {
            println!("audit trail intact: {events} event(s), head {head}");
            return Ok(Exit::Ok);
        };
        if let Some(why) = anchor::missing(store, &kept)? {
            println!("audit trail CUT OR REWRITTEN: {why}");
            return Ok(Exit::Failed);
        }
        let held = match &kept {
            Kept::Hash(hash) => format!("the kept head {hash}"),
            Kept::Line { head, .. } => {
                format!("the head kept at {} (event {})", head.at, head.seq)
            }
        };
        println!("audit trail intact: {events} event(s), head {head}; it holds {held}");
        Ok(Exit::Ok)
    })
}

/// The last signed head in `file`, checked against this installation's key.
fn kept_in(state_dir: &Path, file: &Path) -> Result<Kept, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read it: {e}"))?;
    let key = InstallationKey::load_existing(state_dir).map_err(|e| {
        format!("its signature needs this installation's key, which cannot be loaded: {e}")
    })?;
    Kept::last_line(&text, &key)
}

/// `audit head [--sign]`.
fn head(config: Option<&Path>, sign: bool) -> Exit {
    let settings = match settings_of(config) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    with_store_of(&settings, |store| {
        let head = Head::of(store)?;
        if !sign {
            println!("seq={} hash={}", head.seq, head.hash);
            return Ok(Exit::Ok);
        }
        let key = InstallationKey::load_existing(&settings.state_dir).map_err(|e| {
            format!("signing needs the installation key (created by the first run): {e}")
        })?;
        println!("{}", head.signed(&key));
        Ok(Exit::Ok)
    })
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
