//! The demo's lifecycle story: the staff directory's nightly full rosters
//! (`fixtures/lifecycle/`) through a `[lifecycle]` profile, one night at a time — a baseline,
//! a night with hires, a move, a leaver by status, one by absence and a rehire, then an export
//! that stopped part-way, which the safeguards hold. Each night's plan is printed as `hrbridge
//! changes` prints it (PII masked); nothing is approved, so the held job stays in the listing.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use tokio::runtime::Handle;

use super::super::changes;
use super::super::jobs;
use super::super::run::{render_summary, unfinished};
use crate::engine::checks::Checked;
use crate::engine::runner::run_once;
use crate::settings::Settings;
use crate::store::{Store, Toward};

/// The lifecycle profile, bundled with its rosters.
pub const PROFILE: &str = "hris-to-directory";
/// Where the profile and its rosters are, in the bundle.
const FOLDER: &str = "fixtures/lifecycle";
/// The rosters, night by night, with what each one is.
const NIGHTS: [(&str, &str); 3] = [
    (
        "directory_20240801.csv",
        "the first roster, recorded as the snapshot (baseline = true): nothing is sent",
    ),
    (
        "directory_20240802.csv",
        "two hires, a move, a leaver by status, one gone from the export, a rehire",
    ),
    (
        "directory_20240803.csv",
        "the export stopped part-way: 20 of 49 people",
    ),
];
/// Changes listed per night; the rest are one `hrbridge changes` away.
const SHOWN: usize = 8;

/// The bundled profile file.
pub fn profile_file(bundle: &Path) -> PathBuf {
    bundle.join(FOLDER).join(format!("{PROFILE}.toml"))
}

/// Drops each night's roster into the profile's inbox and runs the profile on it, printing
/// the pass and the plan its job recorded; then the jobs listing, the held job in it. `cfg`
/// is the workspace's settings file as the user types it.
pub fn story(
    settings: &Settings,
    checked: &Checked,
    store: &Store,
    runtime: &Handle,
    bundle: &Path,
    cfg: &str,
) -> Result<(), Box<dyn Error>> {
    let inbox = super::inbox_of(settings, checked).ok_or("the lifecycle profile has no inbox")?;
    println!(
        "\n== lifecycle: {PROFILE} gets the HRIS's full roster every night and sends only what changed\n"
    );
    let mut held = Vec::new();
    for (night, (file, what)) in NIGHTS.iter().enumerate() {
        super::drop_settled(&bundle.join(FOLDER).join(file), &inbox.join(file))?;
        println!("-- night {}: {file}: {what}\n", night + 1);
        let pass = run_once(settings, std::slice::from_ref(checked), store, runtime)?;
        print!(
            "{}",
            render_summary(&pass, &unfinished(store, std::slice::from_ref(checked))?)
        );
        for job in &pass.jobs {
            let Some(plan) = store.plan(job.job_id)? else {
                continue;
            };
            let shown = store.changes_page(job.job_id, 0, Toward::Newer, SHOWN)?;
            let listed = store.listed_changes(job.job_id)?;
            println!("\nplan of job {}:", job.job_id);
            print!("{}", changes::render(&plan, &shown));
            if listed > shown.len() as u64 {
                println!(
                    "… and {} more: hrbridge --config {cfg} changes {}",
                    listed - shown.len() as u64,
                    job.job_id
                );
            }
            if plan.hold_reason.is_some() {
                held.push(job.job_id);
            }
        }
        println!();
    }
    for id in held {
        println!(
            "job {id} is held: nothing was sent and the snapshot stays at the last accepted night.\nAn operator decides: hrbridge --config {cfg} approve {id}   (or reject {id})\nThe demo approves nothing."
        );
    }
    println!("\n== jobs\n");
    print!("{}", jobs::table(&store.recent_jobs(50, None)?).render());
    Ok(())
}

/// Copies the profile into the workspace's profiles and makes its inbox.
pub fn install(bundle: &Path, ws: &Path) -> std::io::Result<()> {
    fs::copy(
        profile_file(bundle),
        ws.join("profiles").join(format!("{PROFILE}.toml")),
    )?;
    fs::create_dir_all(ws.join("inbox").join(PROFILE))
}
