//! `hrbridge run`: the daemon (watch, schedules, polls) until SIGINT/SIGTERM, or with
//! `--once` one pass over the waiting files, then a summary: a table of the jobs (rows mapped,
//! and published: none for a failed job), how many ran and how they ended, and any job a
//! pass took and left unfinished because the pass stopped.

use std::path::Path;

use tokio::runtime::Handle;

use super::table::{job_cells, TextTable, JOB_COLUMNS};
use super::{load_all, open_store, Exit, LogFormat};
use crate::daemon;
use crate::daemon::commands::tally;
use crate::engine::checks::Checked;
use crate::engine::deliver::Published;
use crate::engine::runner::{run_once, RunSummary};
use crate::engine::EngineError;
use crate::kernel::escape::clean;
use crate::kernel::stop::StopFlag;
use crate::store::{JobRow, JobStatus, Store, StoreError};

/// With `tui = Some((format, verbose))` the daemon runs behind the dashboard, logging to a file.
pub fn run(
    config: Option<&Path>,
    once: bool,
    only: &[String],
    tui: Option<(LogFormat, u8)>,
    runtime: &Handle,
) -> Exit {
    let (settings, mut profiles) = match load_all(config) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if !only.is_empty() {
        if let Some(unknown) = only
            .iter()
            .find(|n| !profiles.iter().any(|c| &c.profile.name == *n))
        {
            eprintln!("error: no profile named {unknown:?}");
            return Exit::Usage;
        }
        profiles.retain(|c| only.contains(&c.profile.name));
    }
    if let Some((format, verbose)) = tui {
        return super::tui::with_daemon(&settings, profiles, format, verbose, runtime);
    }
    if !once {
        return match daemon::run(&settings, profiles, StopFlag::new(), runtime) {
            Ok(_) => Exit::Ok,
            Err(e) => {
                eprintln!("error: {e}");
                match e {
                    EngineError::Profile { .. } => Exit::Usage,
                    _ => Exit::Failed,
                }
            }
        };
    }
    let store = match open_store(&settings) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let summary = match run_once(&settings, &profiles, &store, runtime) {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    match unfinished(&store, &profiles) {
        Ok(left) => {
            print!("{}", render_summary(&summary, &left));
            exit_for(&summary)
        }
        Err(e) => {
            print!("{}", render_summary(&summary, &[]));
            eprintln!("error: {e}");
            Exit::Failed
        }
    }
}

/// The jobs of `profiles` still `running` or `committing` after a pass: taken by a pass that
/// stopped on an error before they ended (the next run resumes them).
pub fn unfinished(store: &Store, profiles: &[Checked]) -> Result<Vec<JobRow>, StoreError> {
    let mut left = Vec::new();
    for status in [JobStatus::Running, JobStatus::Committing] {
        left.extend(
            store
                .jobs_with_status(status)?
                .into_iter()
                .filter(|j| profiles.iter().any(|c| c.profile.name == j.profile)),
        );
    }
    left.sort_by_key(|j| j.id);
    Ok(left)
}

/// 1 when any job or pass failed, else 0 (partial jobs delivered within their limits).
pub fn exit_for(summary: &RunSummary) -> Exit {
    if !summary.errors.is_empty() || summary.jobs.iter().any(|j| j.status == JobStatus::Failed) {
        Exit::Failed
    } else {
        Exit::Ok
    }
}

/// What became of one published output: a file written or uploaded, or an API output's rows
/// as they came out (`sent 18 of 20 row(s) to POST …, 2 failed`).
fn published_words(o: &Published) -> String {
    let target = clean(&o.target);
    match o.rows {
        None => format!("published {target}"),
        Some((delivered, 0)) => format!("delivered {delivered} row(s) to {target}"),
        Some((0, failed)) => format!("delivered nothing to {target}: all {failed} row(s) failed"),
        Some((delivered, failed)) => format!(
            "delivered {delivered} of {} row(s) to {target}, {failed} failed",
            delivered + failed
        ),
    }
}

/// The per-job table and notes printed after a pass; `unfinished` are the jobs the pass took
/// and left unfinished (see [`unfinished`]).
pub fn render_summary(summary: &RunSummary, unfinished: &[JobRow]) -> String {
    let mut out = String::new();
    if summary.recovered > 0 {
        out.push_str(&format!(
            "recovered {} unfinished job(s) of an earlier run\n",
            summary.recovered
        ));
    }
    for pause in &summary.paused {
        out.push_str(&format!(
            "paused: {} (by {} since {}); no new files taken\n",
            pause.profile, pause.by, pause.at
        ));
    }
    if !summary.jobs.is_empty() {
        let mut t = TextTable::new(JOB_COLUMNS);
        for j in &summary.jobs {
            t.push(job_cells(
                j.job_id, &j.profile, &j.file, j.status, &j.counts,
            ));
        }
        out.push_str(&t.render());
        for j in &summary.jobs {
            // Paths and errors can quote a server's or a file's own text.
            for o in &j.outputs {
                out.push_str(&format!("  job {} {}\n", j.job_id, published_words(o)));
            }
            if let Some(e) = &j.error {
                let (id, status) = (j.job_id, j.status.as_str());
                out.push_str(&format!("  job {id} {status}: {}\n", clean(e)));
            }
        }
        out.push_str(&format!(
            "{} job(s): {}\n",
            summary.jobs.len(),
            tally(&summary.jobs)
        ));
    }
    for j in unfinished {
        out.push_str(&format!(
            "job {} ({}, {:?}) is {}: its pass stopped before the job ended; the next run resumes it\n",
            j.id,
            j.profile,
            j.file_name,
            j.status.as_str()
        ));
    }
    let nothing_taken = summary.jobs.is_empty() && unfinished.is_empty();
    if nothing_taken && summary.paused.is_empty() && summary.errors.is_empty() {
        out.push_str("0 job(s): no files ready\n");
    }
    for (profile, name) in &summary.waiting {
        out.push_str(&format!(
            "waiting: {profile}: {name:?} is still being written (or lacks its done marker)\n"
        ));
    }
    for (profile, error) in &summary.errors {
        out.push_str(&format!("error: {profile}: {error}\n"));
    }
    for (profile, name, reason) in &summary.refused {
        out.push_str(&format!("refused: {profile}: {name}: {reason}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_output_says_how_many_rows_arrived() {
        let api = |rows| Published {
            target: "POST https://hris.example.com/v1/people".into(),
            rows: Some(rows),
        };
        assert_eq!(
            published_words(&api((20, 0))),
            "delivered 20 row(s) to POST https://hris.example.com/v1/people"
        );
        assert_eq!(
            published_words(&api((0, 20))),
            "delivered nothing to POST https://hris.example.com/v1/people: all 20 row(s) failed"
        );
        assert_eq!(
            published_words(&api((18, 2))),
            "delivered 18 of 20 row(s) to POST https://hris.example.com/v1/people, 2 failed"
        );
        let file = Published {
            target: "outbox/x.csv".into(),
            rows: None,
        };
        assert_eq!(published_words(&file), "published outbox/x.csv");
    }
}
