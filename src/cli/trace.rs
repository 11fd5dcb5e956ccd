//! `hrbridge trace KEY [--profile NAME] [--json]`: every row of every file that carried one
//! person's key, newest first, and what became of it (see `privacy::trace_report`). The key
//! is hashed with the installation key, as the trace index keeps it; the store holds no
//! readable employee id to search.

use std::io::{self, Write};
use std::path::Path;

use super::{load_all, with_store_of, Exit};
use crate::kernel::keys::InstallationKey;
use crate::privacy::trace_report::{person_of, trace, Sighting};
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
                Some(person) => trace(store, &profiles, person, Some((installation, key)), only)?,
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
        writeln!(out, "  {}", s.read.describe())?;
        for r in &s.outputs {
            writeln!(out, "  → {}", r.describe())?;
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
