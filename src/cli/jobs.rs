//! `hrbridge jobs [--json] [--job ID]`: recent jobs with their counts, or one job in detail.
//!
//! Rows are counted twice over: `mapped` (the store's `written`: rows that came through the
//! mapping into the job's outputs) and `published` (rows that reached every output): a failed
//! job may have mapped many rows and published none.

use std::path::Path;

use super::table::{job_cells, TextTable, JOB_COLUMNS};
use super::{with_store, Exit};
use crate::kernel::escape::clean;
use crate::store::{JobRow, Store};

/// A job as `--json` shows it: the stored row and the rows it published.
#[derive(serde::Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    job: &'a JobRow,
    published: u64,
}

impl<'a> Listed<'a> {
    fn of(job: &'a JobRow) -> Listed<'a> {
        Listed {
            job,
            published: job.counts.published(job.status),
        }
    }
}

pub fn run(config: Option<&Path>, json: bool, csv: bool, limit: usize, job: Option<i64>) -> Exit {
    with_store(config, |store| match job {
        Some(id) => show_job(store, id, json),
        None => list(store, limit, json, csv),
    })
}

fn list(
    store: &Store,
    limit: usize,
    json: bool,
    csv: bool,
) -> Result<Exit, Box<dyn std::error::Error>> {
    let jobs = store.recent_jobs(limit, None)?;
    if json {
        let listed: Vec<Listed<'_>> = jobs.iter().map(Listed::of).collect();
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(Exit::Ok);
    }
    let t = table(&jobs);
    if csv {
        print!("{}", t.to_csv()?);
    } else {
        print!("{}", t.render());
    }
    Ok(Exit::Ok)
}

/// The listing's table: one row per job, with when it started and its error.
pub(super) fn table(jobs: &[JobRow]) -> TextTable {
    let mut t = TextTable::new(JOB_COLUMNS.into_iter().chain(["started", "error"]));
    for j in jobs {
        let mut row = job_cells(j.id, &j.profile, &j.file_name, j.status, &j.counts);
        row.push(j.started_at.clone());
        row.push(j.error.clone().unwrap_or_default());
        t.push(row);
    }
    t
}

fn show_job(store: &Store, id: i64, json: bool) -> Result<Exit, Box<dyn std::error::Error>> {
    let Some(job) = store.job(id)? else {
        eprintln!("error: no job {id}");
        return Ok(Exit::Failed);
    };
    let outputs = store.job_outputs(id)?;
    let rejections = store.job_rejections(id, 1000)?;
    let failures = store.ledger_failures(id, 1000)?;
    if json {
        let doc = serde_json::json!({
            "job": Listed::of(&job), "outputs": outputs, "rejections": rejections, "delivery_failures": failures,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(Exit::Ok);
    }
    println!(
        "job {} · {} · {:?} · {}\nread {}, filtered {}, rejected {}, mapped {}, published {}, failed {}\nstarted {}, finished {}",
        job.id,
        job.profile,
        job.file_name,
        job.status.as_str(),
        job.counts.read,
        job.counts.filtered,
        job.counts.rejected,
        job.counts.written,
        job.counts.published(job.status),
        job.counts.failed,
        job.started_at,
        job.finished_at.as_deref().unwrap_or("-")
    );
    // Errors and paths can quote a server's or a file's own text.
    if let Some(e) = &job.error {
        println!("error: {}", clean(e));
    }
    for o in &outputs {
        println!(
            "output: {} ({} rows, sha256 {})",
            clean(&o.final_path),
            o.rows,
            o.sha256
        );
    }
    if !rejections.is_empty() {
        let mut t = TextTable::new(["row", "sheet", "column", "field", "reason"]).max_width(100);
        for r in &rejections {
            t.push([
                r.row.to_string(),
                r.sheet.clone().unwrap_or_default(),
                r.column.clone().unwrap_or_default(),
                r.field.clone().unwrap_or_default(),
                r.reason.clone(),
            ]);
        }
        print!("\n{}", t.render());
    }
    if !failures.is_empty() {
        let mut t =
            TextTable::new(["output", "row", "attempts", "status", "reason"]).max_width(100);
        for f in &failures {
            t.push([
                (f.output_index + 1).to_string(),
                f.row.to_string(),
                f.attempts.to_string(),
                f.status.map(|s| s.to_string()).unwrap_or_default(),
                f.reason.clone(),
            ]);
        }
        print!("\ndelivery failures:\n{}", t.render());
    }
    Ok(Exit::Ok)
}
