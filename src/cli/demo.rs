//! `hrbridge demo`: a self-contained tour on the bundled profiles and fixture exports.
//!
//! Builds a fresh workspace in `var/demo` (profiles, lookup tables, and the fixtures dropped
//! into the inboxes — `fixtures/` itself is never touched), runs every profile once, drops one
//! export a second time to show duplicate detection, verifies the audit trail and prints what
//! happened and where the outputs are. Profiles with API outputs deliver to a stand-in HR API
//! the demo starts on loopback (`standin`): the bundled profiles name it as [`DEMO_API`],
//! which the copy in the workspace points at the real port. Then the lifecycle story
//! ([`lifecycle`]): a `[lifecycle]` profile's nightly rosters, the last one held.

mod lifecycle;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::runtime::Handle;
use zeroize::Zeroizing;

use super::run::{exit_for, render_summary, unfinished};
use super::{print_diagnostics, Exit};
use crate::engine::checks::{self, Checked};
use crate::engine::runner::run_once;
use crate::profile::load;
use crate::settings::Settings;
use crate::standin::{self, StandinApi};
use crate::store::{AuditVerdict, Store};

/// Where the workspace is built, relative to the working directory.
const WORKSPACE: &str = "var/demo";
/// The API address the bundled profiles use for the demo's stand-in API.
const DEMO_API: &str = "http://127.0.0.1:8765";
/// The secret (in the workspace's state folder) holding the stand-in's OAuth2 client secret.
const DEMO_SECRET: &str = "hris_client_secret";
/// How old the files the demo drops are: old enough to count as settled, so the tour does
/// not wait.
const SETTLED: Duration = Duration::from_secs(3600);

pub fn run(runtime: &Handle) -> Exit {
    match tour(runtime) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("error: demo: {e}");
            Exit::Failed
        }
    }
}

fn tour(runtime: &Handle) -> Result<Exit, Box<dyn std::error::Error>> {
    let bundle = bundle_dir().ok_or(
        "cannot find the bundled profiles/ and fixtures/ (run from the hrbridge checkout)",
    )?;
    let ws = std::env::current_dir()?.join(WORKSPACE);
    if ws.exists() {
        fs::remove_dir_all(&ws)?;
    }
    fs::create_dir_all(&ws)?;
    copy_tree(&bundle.join("profiles"), &ws.join("profiles"), false)?;
    lifecycle::install(&bundle, &ws)?;
    let api = StandinApi::start(standin::Config::default())?;
    point_profiles_at(&ws.join("profiles"), &api.base_url())?;
    copy_tree(&bundle.join("tables"), &ws.join("tables"), false)?;
    copy_tree(&bundle.join("fixtures/inbox"), &ws.join("inbox"), true)?;
    let config = ws.join("hrbridge.toml");
    fs::write(
        &config,
        "# Workspace of `hrbridge demo`; rebuilt on every run.\nprofiles = \"profiles\"\nstate_dir = \"state\"\noutput_roots = [\"outbox\"]\n",
    )?;

    let settings = match load::load_settings(Some(&config)) {
        Ok(s) => s,
        Err(d) => {
            print_diagnostics(&d);
            return Ok(Exit::Failed);
        }
    };
    let profiles = match checks::load_profiles(&settings) {
        Ok(p) => p,
        Err(d) => {
            print_diagnostics(&d);
            return Ok(Exit::Failed);
        }
    };
    let store = Store::open(&settings.state_dir)?;
    super::secrets::store_secret(
        &settings,
        DEMO_SECRET,
        Zeroizing::new(standin::Config::default().client_secret),
    )?;
    println!(
        "hrbridge demo: {} integrations, workspace {}\n",
        profiles.len(),
        ws.display()
    );
    let width = profiles
        .iter()
        .map(|c| c.profile.name.len())
        .max()
        .unwrap_or(0);
    for Checked { profile: p, .. } in &profiles {
        println!(
            "  {:<width$} {}",
            p.name,
            p.description.as_deref().unwrap_or("")
        );
    }
    println!("\n== pass 1: every export in every inbox\n");
    let first = run_once(&settings, &profiles, &store, runtime)?;
    print!(
        "{}",
        render_summary(&first, &unfinished(&store, &profiles)?)
    );

    // The same export arriving again under another name is recognised by its content.
    if let Some((checked, job, again)) = first.jobs.iter().find_map(|job| {
        let checked = profiles.iter().find(|c| c.profile.name == job.profile)?;
        let spec = crate::source::open::open(&checked.profile.source).inbox()?;
        let again = again_name(&job.file);
        let matches = crate::source::dir::matcher(&spec.pattern)
            .ok()?
            .is_match(&again);
        (job.error.is_none() && matches)
            .then(|| (checked, job, settings.resolve_path(&spec.path).join(again)))
    }) {
        crate::engine::archive::restore(&job.kept_at, &settings.state_dir, &again)?;
        settle(&again)?;
        println!(
            "\n== pass 2: {:?} dropped again as {:?}\n",
            job.file,
            again.file_name().unwrap_or_default()
        );
        let second = run_once(&settings, std::slice::from_ref(checked), &store, runtime)?;
        print!(
            "{}",
            render_summary(&second, &unfinished(&store, std::slice::from_ref(checked))?)
        );
    }

    let cfg = config
        .strip_prefix(std::env::current_dir()?)
        .unwrap_or(&config)
        .display()
        .to_string();
    if let Some(checked) = profiles
        .iter()
        .find(|c| c.profile.name == lifecycle::PROFILE)
    {
        lifecycle::story(&settings, checked, &store, runtime, &bundle, &cfg)?;
    }

    let record = api.record();
    let active = record.users.iter().filter(|u| u.active).count();
    println!(
        "\n== stand-in API at {}\n\nreceived {} requests with {} OAuth2 token(s): {} employees created over REST; {} SCIM users provisioned ({active} active, {} deactivated)",
        api.base_url(),
        record.requests.len(),
        record.tokens_issued,
        record.employees.len(),
        record.users.len(),
        record.users.len() - active
    );
    println!("\n== audit trail\n");
    match store.verify_audit()? {
        AuditVerdict::Intact { events, head } => println!("intact: {events} events, head {head}"),
        AuditVerdict::Broken { seq, reason } => println!("BROKEN at event {seq}: {reason}"),
    }
    println!("\nexplore:\n  hrbridge --config {cfg} jobs\n  hrbridge --config {cfg} jobs --job 1\n  hrbridge --config {cfg} audit\n  hrbridge --config {cfg} audit verify\n  hrbridge --config {cfg} audit transfers --csv   # what personal data went to whom\n  hrbridge --config {cfg} audit ropa              # the record of processing per integration\n  hrbridge --config {cfg} trace C-20484           # why this hire was not sent\n  hrbridge --config {cfg} trace 00121             # one person through every profile\n  hrbridge --config {cfg} tui                     # the dashboard");
    println!(
        "outputs are under {}, inputs under {}",
        ws.join("outbox").display(),
        settings.state_dir.display()
    );
    Ok(exit_for(&first))
}

/// Rewrites the demo API address in the workspace's profiles to the stand-in's real one.
fn point_profiles_at(dir: &Path, base_url: &str) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let text = fs::read_to_string(&path)?;
        if text.contains(DEMO_API) {
            fs::write(&path, text.replace(DEMO_API, base_url))?;
        }
    }
    Ok(())
}

/// The local inbox folder of `checked`'s profile.
fn inbox_of(settings: &Settings, checked: &Checked) -> Option<PathBuf> {
    let spec = crate::source::open::open(&checked.profile.source).inbox()?;
    Some(settings.resolve_path(&spec.path))
}

/// Copies `from` to `to`, settled.
fn drop_settled(from: &Path, to: &Path) -> io::Result<()> {
    fs::copy(from, to)?;
    settle(to)
}

/// Gives `path` an mtime old enough for the inbox to take it at once.
fn settle(path: &Path) -> io::Result<()> {
    fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(SystemTime::now() - SETTLED)
}

/// `offers_1.csv` → `offers_1_again.csv`: a new name that still matches the usual patterns.
fn again_name(name: &str) -> String {
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{}_again{}", &name[..i], &name[i..]),
        _ => format!("{name}_again"),
    }
}

/// The folder holding the bundled `profiles/`, `tables/` and `fixtures/`: the working
/// directory if it has them, else the source checkout this binary was built from.
fn bundle_dir() -> Option<PathBuf> {
    let has = |d: &Path| d.join("profiles").is_dir() && d.join("fixtures/inbox").is_dir();
    let cwd = std::env::current_dir().ok()?;
    if has(&cwd) {
        return Some(cwd);
    }
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    has(&built).then_some(built)
}

/// Copies a folder tree; its files `settled` ones when asked (see [`settle`]).
fn copy_tree(from: &Path, to: &Path, settled: bool) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest, settled)?;
        } else if kind.is_file() && settled {
            drop_settled(&entry.path(), &dest)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}
