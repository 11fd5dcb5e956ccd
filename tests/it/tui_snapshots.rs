//! The dashboard as it draws, on a store filled by a real run (`hrbridge demo` over the
//! bundled fixtures): every view, the job detail and the trace of one of its rows, the help,
//! a confirmation and the filtered audit trail, rendered on ratatui's `TestBackend` and compared with snapshot files in
//! `tests/it/snapshots/` (review changes with `cargo insta review`, or `INSTA_UPDATE=always`).
//!
//! Times, durations and the temporary folder differ between runs; filters replace them with
//! placeholders of the same width, so the columns of a snapshot still line up.

use std::path::Path;

use chrono::Utc;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Color;
use ratatui::Terminal;

use hrbridge::profile::{load, Profile};
use hrbridge::store::{JobStatus, Store};
use hrbridge::tui::app::{App, View};
use hrbridge::tui::draw::draw;
use hrbridge::tui::theme::Theme;

use crate::common;

/// A finished demo: its folder (kept alive), the store, the profiles.
struct Demo {
    dir: tempfile::TempDir,
    store: Store,
    profiles: Vec<Profile>,
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("hrbridge")
        .unwrap()
        .current_dir(dir.path())
        .arg("demo")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let config = dir.path().join("var/demo/hrbridge.toml");
    let settings = load::load_settings(Some(&config)).unwrap();
    let profiles = load::load_profiles(&settings).unwrap();
    let store = Store::open(&settings.state_dir).unwrap();
    Demo {
        dir,
        store,
        profiles,
    }
}

impl Demo {
    fn app(&self) -> App {
        let mut app = App::new(&self.profiles, "var/demo/state".into(), false);
        app.user = "operator".into();
        app.refresh(&self.store, Utc::now()).unwrap();
        app.background_now(&self.store).unwrap();
        while app.step(&self.store).unwrap() {}
        app
    }

    fn key(&self, app: &mut App, code: KeyCode) {
        app.on_key(&self.store, KeyEvent::from(code)).unwrap();
        while app.step(&self.store).unwrap() {}
    }

    fn keys(&self, app: &mut App, typed: &str) {
        for c in typed.chars() {
            self.key(app, KeyCode::Char(c));
        }
    }
}

fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).unwrap()
}

/// The screen as text, with the temporary folder replaced by `[tmp]`.
fn screen(term: &mut Terminal<TestBackend>, app: &mut App, theme: Theme, tmp: &Path) -> String {
    term.draw(|f| draw(f, app, theme)).unwrap();
    let text = term.backend().to_string();
    text.replace(&tmp.display().to_string(), "[tmp]")
}

/// Placeholders for local times, dates and durations, each as wide as what it replaces.
macro_rules! assert_screen {
    ($name:expr, $text:expr) => {
        insta::with_settings!({
            filters => vec![
                (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "YYYY-MM-DD hh:mm:ss"),
                (r"\d\d-\d\d \d\d:\d\d", "MM-DD hh:mm"),
                (r"\d{4}-\d\d-\d\d", "YYYY-MM-DD"),
                (r"\b\d+\.\ds\b", "n.ns"),
                (r"\bpid \d+", "pid N"),
                (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
                (r"_20\d{6}_", "_YYYYMMDD_"),
                (r"\.tmp[A-Za-z0-9]+", ".tmpXXXXXX"),
                // An API output's size is that of its spool, whose encoding varies.
                (r"\b\d[\d,]* bytes", "N bytes"),
            ]
        }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

#[test]
fn every_view_the_detail_and_the_overlays_render_from_a_real_run() {
    let demo = demo();
    let tmp = demo.dir.path().to_path_buf();
    let theme = Theme::new(true);
    let mut app = demo.app();
    let mut wide = terminal(120, 32);

    assert_screen!("jobs", screen(&mut wide, &mut app, theme, &tmp));
    let mut small = terminal(80, 24);
    assert_screen!("jobs_80x24", screen(&mut small, &mut app, theme, &tmp));

    demo.key(&mut app, KeyCode::Char('2'));
    assert_eq!(app.view, View::Errors);
    assert_screen!("errors", screen(&mut wide, &mut app, theme, &tmp));

    demo.key(&mut app, KeyCode::Char('3'));
    assert_screen!("audit", screen(&mut wide, &mut app, theme, &tmp));
    demo.keys(&mut app, "/kind:job.finished profile:hris-to-payroll");
    assert_screen!(
        "audit_filter_typed",
        screen(&mut wide, &mut app, theme, &tmp)
    );
    demo.key(&mut app, KeyCode::Enter);
    assert_screen!("audit_filtered", screen(&mut wide, &mut app, theme, &tmp));
    assert!(app
        .audit
        .rows()
        .iter()
        .all(|e| e.kind == "job.finished" && e.profile.as_deref() == Some("hris-to-payroll")));
    // Enter on an event opens its job.
    demo.key(&mut app, KeyCode::Enter);
    assert_eq!(
        app.detail.as_ref().map(|d| d.job.profile.as_str()),
        Some("hris-to-payroll")
    );
    demo.key(&mut app, KeyCode::Esc);
    demo.key(&mut app, KeyCode::Esc);
    assert!(app.filter.is_empty());

    demo.key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, View::Profiles);
    assert_screen!("profiles", screen(&mut wide, &mut app, theme, &tmp));

    // The partial job of the ATS profile: its rejected rows and outputs.
    demo.key(&mut app, KeyCode::Char('1'));
    demo.key(&mut app, KeyCode::End);
    let job = app.jobs.selected().unwrap().clone();
    assert_eq!(
        (job.profile.as_str(), job.status),
        ("ats-to-hris", JobStatus::Partial)
    );
    demo.key(&mut app, KeyCode::Enter);
    assert_eq!(app.detail.as_ref().map(|d| d.job.id), Some(job.id));
    assert_screen!("job_detail", screen(&mut wide, &mut app, theme, &tmp));
    // `t` offers the first rejected row; Enter traces the person on it across the demo.
    demo.key(&mut app, KeyCode::Char('t'));
    assert_screen!("trace_row_typed", screen(&mut wide, &mut app, theme, &tmp));
    demo.key(&mut app, KeyCode::Enter);
    let trace = app.detail.as_ref().and_then(|d| d.trace.as_ref()).unwrap();
    let first = &trace.sightings[0];
    assert_eq!((first.job, first.row), (job.id, Some(trace.row)));
    assert_eq!(first.read.describe().split(':').next(), Some("rejected"));
    assert_screen!("row_trace", screen(&mut wide, &mut app, theme, &tmp));
    // Back to the job, and a delivered row of it (the file's first).
    demo.key(&mut app, KeyCode::Esc);
    assert!(app.detail.as_ref().is_some_and(|d| d.trace.is_none()));
    demo.key(&mut app, KeyCode::Char('t'));
    demo.key(&mut app, KeyCode::Backspace);
    demo.key(&mut app, KeyCode::Backspace);
    demo.keys(&mut app, "2x");
    demo.key(&mut app, KeyCode::Enter);
    let trace = app.detail.as_ref().and_then(|d| d.trace.as_ref()).unwrap();
    assert_eq!(trace.row, 2);
    let states: Vec<&str> = trace.sightings[0]
        .outputs
        .iter()
        .map(|o| o.state.as_str())
        .collect();
    assert_eq!(states, ["published", "delivered"]);
    demo.key(&mut app, KeyCode::Esc);
    demo.key(&mut app, KeyCode::Esc);
    assert!(app.detail.is_none());

    demo.key(&mut app, KeyCode::Char('?'));
    assert_screen!("help", screen(&mut wide, &mut app, theme, &tmp));
    demo.key(&mut app, KeyCode::Char('x'));

    demo.key(&mut app, KeyCode::Char('4'));
    demo.key(&mut app, KeyCode::Char('p'));
    assert_screen!("confirm_pause", screen(&mut wide, &mut app, theme, &tmp));
    demo.key(&mut app, KeyCode::Char('n'));
    assert_eq!(demo.store.pause_of("ats-to-hris").unwrap(), None);

    // A row that named no one (here: past the file's end; `t` offered row 14) says so.
    demo.key(&mut app, KeyCode::Char('1'));
    demo.key(&mut app, KeyCode::Enter);
    demo.key(&mut app, KeyCode::Char('t'));
    demo.keys(&mut app, "999");
    demo.key(&mut app, KeyCode::Enter);
    assert!(app.detail.as_ref().is_some_and(|d| d.trace.is_none()));
    let said = app.message.as_ref().map(|(_, text)| text.as_str()).unwrap();
    assert!(said.contains("traced no one on row 14999"), "{said}");
}

#[test]
fn without_colour_nothing_is_coloured_and_the_selection_still_shows() {
    let demo = demo();
    let mut app = demo.app();
    let coloured = |theme: Theme, app: &mut App| {
        let mut term = terminal(100, 30);
        term.draw(|f| draw(f, app, theme)).unwrap();
        let buffer = term.backend().buffer().clone();
        let colours = buffer
            .content()
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count();
        (colours, term.backend().to_string())
    };
    let (with, _) = coloured(Theme::new(true), &mut app);
    let (without, text) = coloured(Theme::new(false), &mut app);
    assert!(with > 0, "the coloured theme paints nothing");
    assert_eq!(without, 0, "NO_COLOR still paints {without} cells");
    assert!(text.contains("▶ "), "{text}");
    assert!(text.contains("[1 Jobs]"), "{text}");
}

#[test]
fn the_approvals_view_shows_a_held_job_and_its_plan_masked_and_asks_before_deciding() {
    let ws = common::Workspace::new();
    let job_id = ws.held_lifecycle_job();
    let settings = load::load_settings(Some(&ws.path().join("hrbridge.toml"))).unwrap();
    let profiles = load::load_profiles(&settings).unwrap();
    let store = Store::open(&settings.state_dir).unwrap();
    let mut app = App::new(&profiles, "var".into(), false);
    app.user = "operator".into();
    app.refresh(&store, Utc::now()).unwrap();
    let key = |app: &mut App, c: char| {
        app.on_key(&store, KeyEvent::from(KeyCode::Char(c)))
            .unwrap()
    };
    // `a` outside the Approvals view only says where to go.
    key(&mut app, 'a');
    assert_eq!(app.overlay, hrbridge::tui::app::Overlay::None);
    key(&mut app, '5');
    assert_eq!(app.view, View::Approvals);
    let mut term = terminal(110, 22);
    let shown = screen(&mut term, &mut app, Theme::new(false), ws.path());
    assert!(shown.contains(&format!("#{job_id}")), "{shown}");
    assert!(!shown.contains("900-00-"), "an SSN is shown:\n{shown}");
    assert_screen!("approvals_held", shown);
    key(&mut app, 'x');
    let asked = screen(&mut term, &mut app, Theme::new(false), ws.path());
    assert_screen!("approvals_confirm_reject", asked);
    // `n` decides nothing: the job is still held.
    key(&mut app, 'n');
    assert_eq!(store.job(job_id).unwrap().unwrap().status, JobStatus::Held);
    assert_eq!(app.approvals.held.len(), 1);
}
