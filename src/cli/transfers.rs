//! `hrbridge audit transfers` and `hrbridge audit ropa`: the audit trail's transfer records
//! (`privacy::transfer`) as a list of what personal data went to whom, and, per integration,
//! a record of processing activities in the manner of GDPR Art. 30 — the profile's
//! declarations beside what actually ran.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;
use serde_json::{json, Value as Json};

use super::table::TextTable;
use super::{load_all, with_store_of, Exit};
use crate::engine::event::TRANSFER;
use crate::privacy::sent::sent;
use crate::privacy::transfer::TransferRecord;
use crate::store::{AuditRow, Store};

type Outcome = Result<Exit, Box<dyn std::error::Error>>;

/// A transfer as the trail holds it: when, which profile and job, and its record.
struct Logged {
    at: String,
    profile: String,
    job_id: Option<i64>,
    record: TransferRecord,
}

/// The transfers of `profile` (or every profile) from `since` to `until` (whole UTC days).
fn transfers(
    store: &Store,
    profile: Option<&str>,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Result<Vec<Logged>, Box<dyn std::error::Error>> {
    let since = since.map(|d| d.format("%Y-%m-%d").to_string());
    let before = until
        .and_then(|d| d.succ_opt())
        .map(|d| d.format("%Y-%m-%d").to_string());
    let rows = store.audit_of_kind(TRANSFER, profile, since.as_deref(), before.as_deref())?;
    rows.into_iter()
        .map(|row: AuditRow| {
            Ok(Logged {
                record: serde_json::from_value(row.detail)?,
                at: row.at,
                profile: row.profile.unwrap_or_default(),
                job_id: row.job_id,
            })
        })
        .collect()
}

/// The last record of each job's output, oldest first: an API output sent again by `retry`
/// records its totals once more, and its rows count once.
fn latest(all: Vec<Logged>) -> Vec<Logged> {
    let mut last: Vec<Logged> = Vec::new();
    for t in all {
        let same = |l: &Logged| l.job_id == t.job_id && l.record.output == t.record.output;
        last.retain(|l| !same(l));
        last.push(t);
    }
    last
}

/// `audit transfers`: a table, CSV or JSON, oldest first.
pub fn list(
    store: &Store,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    profile: Option<&str>,
    json: bool,
    csv: bool,
) -> Outcome {
    let found = transfers(store, profile, since, until)?;
    if json {
        let all: Vec<Json> = found
            .iter()
            .map(|t| json!({ "at": t.at, "profile": t.profile, "job": t.job_id, "transfer": t.record }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(Exit::Ok);
    }
    let mut table = TextTable::new([
        "at",
        "profile",
        "job",
        "output",
        "destination",
        "recipient",
        "country",
        "legal_basis",
        "purpose",
        "categories",
        "fields",
        "rows",
        "succeeded",
        "failed",
    ])
    .max_width(60);
    for t in &found {
        let r = &t.record;
        let words = |c: &[String]| c.join(" ");
        table.push([
            t.at.clone(),
            t.profile.clone(),
            t.job_id.map(|j| j.to_string()).unwrap_or_default(),
            r.output.to_string(),
            r.destination.clone(),
            r.recipient
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            r.recipient
                .as_ref()
                .map(|r| r.country.clone())
                .unwrap_or_default(),
            r.legal_basis
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
            r.purpose.clone().unwrap_or_default(),
            words(
                &r.categories
                    .iter()
                    .map(|c| c.as_str().to_string())
                    .collect::<Vec<_>>(),
            ),
            words(&r.fields),
            r.rows.to_string(),
            r.succeeded.to_string(),
            r.failed.to_string(),
        ]);
    }
    if csv {
        print!("{}", table.to_csv()?);
    } else if found.is_empty() {
        println!("no transfer recorded");
    } else {
        print!("{}", table.render());
    }
    Ok(Exit::Ok)
}

/// `audit ropa`: one entry per configured integration.
pub fn ropa(config: Option<&Path>, json: bool) -> Exit {
    let (settings, profiles) = match load_all(config) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    with_store_of(&settings, |store| {
        let mut entries = Vec::new();
        for checked in &profiles {
            let profile = &checked.profile;
            let ran = latest(transfers(store, Some(&profile.name), None, None)?);
            let privacy = profile.privacy.as_ref();
            let sent = sent(profile);
            let outputs: Vec<Json> = sent
                .iter()
                .map(|s| {
                    let recipient = s.recipient.as_ref().map(|(r, _)| r);
                    json!({
                        "output": s.output + 1,
                        "recipient": recipient,
                        "outside_eea": recipient.is_some_and(|r| r.outside_eea()),
                        "transfer_mechanism": s.mechanism,
                        "categories": s.categories,
                        "fields_without_category": s.uncategorised,
                    })
                })
                .collect();
            let categories: BTreeSet<_> = sent.into_iter().flat_map(|s| s.categories).collect();
            entries.push(json!({
                "integration": profile.name,
                "description": profile.description,
                "purpose": privacy.map(|p| &p.purpose),
                "legal_basis": privacy.map(|p| p.legal_basis),
                "article": privacy.map(|p| p.legal_basis.article()),
                "retention": privacy.and_then(|p| p.retention.as_ref()),
                "categories": categories,
                "special_categories": categories.iter().any(|c| c.special()),
                "recipients": outputs,
                "ran": {
                    "transfers": ran.len(),
                    "rows_sent": ran.iter().map(|t| t.record.succeeded).sum::<u64>(),
                    "rows_failed": ran.iter().map(|t| t.record.failed).sum::<u64>(),
                    "outside_eea": ran.iter().filter(|t| t.record.outside_eea).count(),
                    "first": ran.first().map(|t| &t.at),
                    "last": ran.last().map(|t| &t.at),
                },
            }));
        }
        if json {
            println!("{}", serde_json::to_string_pretty(&entries)?);
        } else {
            for e in &entries {
                print!("{}", render(e));
            }
        }
        Ok(Exit::Ok)
    })
}

/// One entry of the record of processing as text.
fn render(e: &Json) -> String {
    let text = |v: &Json| match v {
        Json::Null => "(not declared)".to_string(),
        Json::String(s) => s.clone(),
        Json::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or("?"))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    let mut out = format!("== {}\n", text(&e["integration"]));
    for (label, key) in [
        ("purpose", "purpose"),
        ("legal basis", "legal_basis"),
        ("GDPR", "article"),
        ("retention", "retention"),
        ("categories", "categories"),
    ] {
        out.push_str(&format!("  {label:<12} {}\n", text(&e[key])));
    }
    for r in e["recipients"].as_array().into_iter().flatten() {
        let who = match &r["recipient"] {
            Json::Null => "(no recipient declared)".to_string(),
            rec => format!(
                "{} ({}, {})",
                text(&rec["name"]),
                text(&rec["country"]),
                text(&rec["role"])
            ),
        };
        let abroad = match (r["outside_eea"].as_bool(), &r["transfer_mechanism"]) {
            (Some(true), m) => format!("; outside the EEA under {}", text(m)),
            _ => String::new(),
        };
        out.push_str(&format!(
            "  output {:<5} {who}: {}{abroad}\n",
            r["output"],
            text(&r["categories"])
        ));
    }
    let ran = &e["ran"];
    out.push_str(&format!(
        "  ran          {} transfer(s), {} row(s) sent, {} failed; first {}, last {}\n\n",
        ran["transfers"],
        ran["rows_sent"],
        ran["rows_failed"],
        text(&ran["first"]),
        text(&ran["last"])
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(job: i64, output: usize, succeeded: u64) -> Logged {
        Logged {
            at: format!("t{succeeded}"),
            profile: "p".into(),
            job_id: Some(job),
            record: TransferRecord {
                output,
                destination: "/x".into(),
                recipient: None,
                outside_eea: false,
                transfer_mechanism: None,
                purpose: None,
                legal_basis: None,
                retention: None,
                categories: Vec::new(),
                special_categories: false,
                fields: Vec::new(),
                rows: 10,
                succeeded,
                failed: 10 - succeeded,
            },
        }
    }

    #[test]
    fn a_retried_output_counts_once_with_its_last_totals() {
        let all = vec![
            logged(1, 1, 7),
            logged(1, 2, 10),
            logged(2, 1, 10),
            logged(1, 1, 9),
        ];
        let kept: Vec<(Option<i64>, usize, u64)> = latest(all)
            .iter()
            .map(|t| (t.job_id, t.record.output, t.record.succeeded))
            .collect();
        assert_eq!(kept, [(Some(1), 2, 10), (Some(2), 1, 10), (Some(1), 1, 9)]);
    }
}
