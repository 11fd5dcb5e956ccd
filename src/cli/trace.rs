//! `hrbridge trace KEY [--profile NAME] [--json]`: every row of every file that carried one
//! person's key, newest first, and what became of it (see `privacy::trace_report`). The key
//! is hashed with the installation key, as the trace index keeps it; the store holds no
//! readable employee id to search.

use std::io::{self, Write};
use std::path::Path;

use super::{load_all, with_store_of, Exit};
use crate::kernel::keys::InstallationKey;
use crate::privacy::trace_report::{person_of, trace, Reached, Read, Sighting};
use crate::profile::Profile;

pub fn run(config: Option<&Path>, key: &str, only: Option<&str>, json: bool) -> Exit {
    let (settings, checked) = match load_all(config) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let profiles: Vec<&Profile> = checked.iter().map(|c| &c.profile).collect();
    if let Some(name) = only.filter(|n| !profiles.iter().any(|p| p.name == *n)) {
        eprintln!("error: no profile is named {name:?}; `hrbridge check` lists them");
        return Exit::Usage;
    }
    with_store_of(&settings, |store| {
        let installation = match InstallationKey::load_existing(&settings.state_dir) {
            Ok(key) => Some(key),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("the installation key: {e}").into()),
        };
        let found = match &installation {
            Some(installation) => match person_of(installation, key) {
                Some(person) => trace(store, &profiles, installation, person, Some(key), only)?,
                None => {
                    eprintln!("error: the key is empty; give the value of the profile's key field(s), parts of a composite key joined by \" / \"");
                    return Ok(Exit::Usage);
                }
            },
            // No key: nothing ever ran here, so nothing was traced.
            None => Vec::new(),
        };
        let mut out = io::BufWriter::new(io::stdout().lock());
        if json {
            writeln!(out, "{}", serde_json::to_string_pretty(&found)?)?;
        } else {
            write_text(&mut out, &found)?;
        }
        out.flush()?;
        Ok(if found.is_empty() {
            Exit::Failed
        } else {
            Exit::Ok
        })
    })
}

fn write_text(out: &mut impl Write, found: &[Sighting]) -> io::Result<()> {
    if found.is_empty() {
        return writeln!(
            out,
            "No job has read a row with this key (a row is traced from the moment it is read until `retention` removes its job's trace)."
        );
    }
    let jobs = {
        let mut ids: Vec<i64> = found.iter().map(|s| s.job).collect();
        ids.dedup();
        ids.len()
    };
    writeln!(
        out,
        "{} row(s) in {jobs} job(s), newest first:",
        found.len()
    )?;
    for s in found {
        let place = match (s.row, &s.sheet) {
            (Some(row), Some(sheet)) => format!("sheet {sheet:?} row {row}"),
            (Some(row), None) => format!("row {row}"),
            (None, _) => "not in the file".to_string(),
        };
        writeln!(out)?;
        writeln!(
            out,
            "job {} · {} · {} · {:?} {place} · job {}",
            s.job,
            shown_time(&s.at),
            s.profile,
            s.file,
            s.job_status
        )?;
        if let Some(error) = &s.job_error {
            writeln!(out, "  job error: {error}")?;
        }
        writeln!(out, "  {}", read_words(&s.read))?;
        for r in &s.outputs {
            writeln!(out, "  → {}", reached_words(r))?;
        }
    }
    Ok(())
}

/// `2026-12-04T04:10:11.123Z` as `2026-12-04 04:10:11 UTC`.
fn shown_time(at: &str) -> String {
    match at.get(..19) {
        Some(head) => format!("{} UTC", head.replacen('T', " ", 1)),
        None => at.to_string(),
    }
}

fn read_words(read: &Read) -> String {
    match read {
        Read::Written => "mapped and written".into(),
        Read::Filtered { filter, column } => match column {
            Some(column) => format!("filtered out by [[filter]] {filter} (column {column:?})"),
            None => format!("filtered out by [[filter]] {filter}"),
        },
        Read::Rejected { reasons } if reasons.is_empty() => {
            "rejected (its reasons are in the job's rejects report: the store keeps the first 10,000 of a job)".into()
        }
        Read::Rejected { reasons } => {
            let each: Vec<String> = reasons
                .iter()
                .map(|r| match (&r.column, &r.field) {
                    (Some(c), Some(f)) => format!("column {c:?} (field {f}): {}", r.reason),
                    (Some(c), None) => format!("column {c:?}: {}", r.reason),
                    (None, Some(f)) => format!("field {f}: {}", r.reason),
                    (None, None) => r.reason.clone(),
                })
                .collect();
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

fn reached_words(r: &Reached) -> String {
    let mut words = format!(
        "output {} {}: {}",
        r.output,
        r.destination,
        r.state.as_str()
    );
    if let Some(status) = r.status {
        words.push_str(&format!(", HTTP {status}"));
    }
    if let Some(reason) = &r.reason {
        words.push_str(&format!(": {reason}"));
    }
    if let Some(id) = &r.remote_id {
        words.push_str(&format!(", remote id {id}"));
    }
    words
}
