//! How the dashboard feels on a large history: a store with 100,000 jobs and 1,000,000 audit
//! events, the dashboard ([`App`]) drawn on ratatui's `TestBackend` at 120x40 and 80x24, and
//! the time of every frame while scrolling, jumping and filtering.
//!
//! A frame is one turn of the event loop in `src/tui/mod.rs`: the key (`on_key`) or a fetch
//! (`step`), then the draw. After a key the loop also steps once before it waits for the next
//! key, so that step is counted in the key's frame; further steps while the window still
//! wants rows (a filter scanning the trail) are frames of their own. The 500 ms refresh is
//! timed on its own row.
//!
//! Run: `cargo bench --bench tui` (100,000 jobs, 1,000,000 events) or
//! `cargo bench --bench tui -- 10000 100000` for other sizes. The store is built in
//! `/dev/shm` when it exists (each store write is its own synced transaction; on a disk that
//! dominates), else in the temporary folder. Prints how long filling took, then a table.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use serde_json::json;

use hrbridge::profile::{load, Profile};
use hrbridge::store::{AuditEvent, Counts, JobStatus, RejectionRow, Store};
use hrbridge::tui::app::App;
use hrbridge::tui::background;
use hrbridge::tui::draw::draw;
use hrbridge::tui::theme::Theme;

/// Profiles the jobs are spread over.
const PROFILES: usize = 10;

/// A word that appears in about one event in 20,000 (the text filter's needle).
const RARE: &str = "quarantined";

type Bench = Result<(), Box<dyn std::error::Error>>;

fn main() -> Bench {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let jobs = sizes.first().copied().unwrap_or(100_000);
    let events = sizes.get(1).copied().unwrap_or(1_000_000).max(jobs);
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)?
    } else {
        tempfile::tempdir()?
    };
    let config = workspace(dir.path())?;
    let settings = load::load_settings(Some(&config)).map_err(|d| format!("{d:?}"))?;
    let profiles = load::load_profiles(&settings).map_err(|d| format!("{d:?}"))?;

    let started = Instant::now();
    {
        let store = Store::open(&settings.state_dir)?;
        fill(&store, jobs, events)?;
    }
    println!(
        "filled {jobs} jobs and {events} audit events in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        settings.state_dir.display()
    );
    let store = Store::open(&settings.state_dir)?;
    let verify = Instant::now();
    store.verify_audit()?;
    println!(
        "audit chain verified in {:.2} s (the dashboard does this on a thread)\n",
        verify.elapsed().as_secs_f64()
    );

    println!("| size | scenario | frames | median ms | p95 ms | max ms | total ms |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (w, h) in [(120, 40), (80, 24)] {
        let mut run = Run::open(&settings.state_dir, &profiles, w, h)?;
        run.scenarios()?;
    }
    Ok(())
}

/// Writes `hrbridge.toml` and profiles `p0` … `p9` into `dir`; returns the config's path.
fn workspace(dir: &Path) -> Result<std::path::PathBuf, std::io::Error> {
    let config = dir.join("hrbridge.toml");
    fs::write(
        &config,
        "profiles = \"profiles\"\nstate_dir = \"state\"\noutput_roots = [\"outbox\"]\n",
    )?;
    fs::create_dir_all(dir.join("profiles"))?;
    for p in 0..PROFILES {
        let schedule = if p % 2 == 0 {
            "schedule = \"*/15 * * * *\"\n"
        } else {
            ""
        };
        fs::write(
            dir.join(format!("profiles/p{p}.toml")),
            format!(
                "{schedule}[source]\ntype = \"dir\"\npath = \"inbox/p{p}\"\n\
                 [[field]]\nname = \"id\"\nfrom = \"ID\"\n\
                 [[output]]\ntype = \"file\"\npath = \"outbox/p{p}/{{source_stem}}.csv\"\n"
            ),
        )?;
    }
    Ok(config)
}

/// `jobs` jobs (about 2% partial with rejected rows, 1% failed, the rest succeeded) and
/// `events` audit events spread over them the way a run writes them.
fn fill(store: &Store, jobs: u64, events: u64) -> Bench {
    let per_job = events / jobs;
    let mut extra = events % jobs;
    let mut written = 0u64;
    let mut last_report = Instant::now();
    for i in 0..jobs {
        let profile = format!("p{}", i % PROFILES as u64);
        let day = 1 + i % 28;
        let name = format!("roster_2026-{:02}-{day:02}_{i}.csv", 1 + (i / 28) % 12);
        let sha = format!("{:064x}", u128::from(i as u32) * 0x9e37_79b9_7f4a_7c15);
        // Each write is its own transaction: the job and audit writes open one each, so they
        // cannot be gathered into a `Store::batch`.
        let file = store.upsert_file(&profile, &name, &sha, 40_000 + i, "dir")?;
        let id = store.start_job(&profile, file.id, &name)?;
        let read = 50 + i % 450;
        let (status, rejected, failed, error) = match i % 100 {
            0 | 1 => (JobStatus::Partial, 1 + i % 5, 0, None),
            2 => (
                JobStatus::Failed,
                0,
                read,
                Some("POST /employees: HTTP 503 after 5 attempts"),
            ),
            _ => (JobStatus::Succeeded, 0, 0, None),
        };
        if rejected > 0 {
            let rows: Vec<RejectionRow> = (0..rejected)
                .map(|r| RejectionRow {
                    row: 2 + r * 7,
                    sheet: None,
                    column: Some("Hire Date".into()),
                    field: Some("start_date".into()),
                    reason: "value \"2024-05-32\" matches none of the formats %Y-%m-%d".into(),
                })
                .collect();
            store.add_rejections(id, &rows)?;
        }
        let counts = Counts {
            read,
            filtered: 0,
            rejected,
            written: read - rejected - failed,
            failed,
        };
        store.finish_job(id, status, counts, error)?;
        let mut n = per_job;
        if extra > 0 {
            n += 1;
            extra -= 1;
        }
        for k in 0..n {
            store.append_audit(&event(i, id, k, n, &profile, &name, &sha, status, counts))?;
            written += 1;
        }
        if last_report.elapsed() >= Duration::from_secs(15) {
            eprintln!("  … {} jobs, {written} events", i + 1);
            last_report = Instant::now();
        }
    }
    Ok(())
}

/// The `k`-th of `n` events of job `id`: started first, finished (or failed) and kept last,
/// outputs between.
#[allow(clippy::too_many_arguments)]
fn event(
    i: u64,
    id: i64,
    k: u64,
    n: u64,
    profile: &str,
    name: &str,
    sha: &str,
    status: JobStatus,
    counts: Counts,
) -> AuditEvent {
    let (kind, detail) = if k == 0 {
        ("job.started", json!({ "name": name, "sha256": sha }))
    } else if k + 2 == n {
        if status == JobStatus::Failed {
            // One job in a hundred, one of its ten events: one event in a thousand.
            (
                "job.failed",
                json!({ "error": "HTTP 503 after 5 attempts" }),
            )
        } else {
            ("job.finished", json!({ "counts": counts }))
        }
    } else if k + 1 == n {
        (
            "input.kept",
            json!({ "to": format!("state/archive/{profile}/{name}.age") }),
        )
    } else if k % 2 == 1 {
        let note = if (i + k) % 20_000 == 7 {
            // The text filter's needle.
            format!("{RARE} by the AV scan")
        } else {
            "ok".to_string()
        };
        (
            "output.published",
            json!({ "path": format!("outbox/{profile}/{name}.{k}.csv"), "bytes": 1_000 + k, "note": note }),
        )
    } else {
        (
            "output.delivered",
            json!({ "to": format!("https://hris.example/api/v1/employees?batch={k}"), "rows": counts.written }),
        )
    };
    AuditEvent {
        kind: kind.into(),
        profile: Some(profile.into()),
        job_id: Some(id),
        detail,
    }
}

/// One dashboard on a `TestBackend`, and the size it is drawn at.
struct Run {
    store: Store,
    app: App,
    terminal: Terminal<TestBackend>,
    size: String,
    /// Where a second connection (standing in for the daemon) writes.
    state_dir: std::path::PathBuf,
}

/// Frame times of one scenario.
#[derive(Default)]
struct Times(Vec<Duration>);

impl Run {
    /// Opens the store and the dashboard and draws the first screen; prints the time.
    fn open(
        state_dir: &Path,
        profiles: &[Profile],
        w: u16,
        h: u16,
    ) -> Result<Run, Box<dyn std::error::Error>> {
        let size = format!("{w}x{h}");
        let mut opens = Times::default();
        let mut made = None;
        for _ in 0..5 {
            let t = Instant::now();
            let store = Store::open(state_dir)?;
            let mut app = App::new(profiles, state_dir.display().to_string(), false);
            app.refresh(&store, Utc::now())?;
            app.apply(background::totals(&store, Utc::now())?);
            app.step(&store)?;
            let mut terminal = Terminal::new(TestBackend::new(w, h))?;
            terminal.draw(|f| draw(f, &mut app, Theme::new(true)))?;
            opens.0.push(t.elapsed());
            made = Some((store, app, terminal));
        }
        let (store, app, terminal) = made.ok_or("no run")?;
        let run = Run {
            store,
            app,
            terminal,
            size,
            state_dir: state_dir.to_path_buf(),
        };
        run.print(
            "open (store, refresh, totals, first page, first draw)",
            &opens,
        );
        Ok(run)
    }

    fn scenarios(&mut self) -> Bench {
        let mut refresh = Times::default();
        for _ in 0..20 {
            let t = Instant::now();
            self.app.refresh(&self.store, Utc::now())?;
            refresh.0.push(t.elapsed());
        }
        self.print("refresh, nothing changed (every 500 ms)", &refresh);

        // The daemon commits: an event appended through another connection before each one.
        let writer = Store::open(&self.state_dir)?;
        let mut changed = Times::default();
        for i in 0..20 {
            writer.append_audit(&AuditEvent {
                kind: "job.started".into(),
                profile: Some("p0".into()),
                job_id: None,
                detail: json!({ "bench": i }),
            })?;
            let t = Instant::now();
            self.app.refresh(&self.store, Utc::now())?;
            changed.0.push(t.elapsed());
        }
        self.print("refresh after the daemon wrote", &changed);

        // Off the loop: the background thread's totals, once a second when the store changed.
        let mut totals = Times::default();
        for _ in 0..5 {
            let t = Instant::now();
            background::totals(&self.store, Utc::now())?;
            totals.0.push(t.elapsed());
        }
        self.print("today's totals (background thread, not a frame)", &totals);

        self.moves("Jobs")?;
        self.timed("Errors: switch (2)", &[key(KeyCode::Char('2'))])?;
        self.timed("Errors: j x 500", &[key(KeyCode::Char('j')); 500])?;
        self.timed("Errors: End", &[key(KeyCode::End)])?;
        self.timed("Audit: switch (3)", &[key(KeyCode::Char('3'))])?;
        self.moves("Audit")?;
        self.filter("kind:job.failed")?;
        self.filter(RARE)?;
        self.filter("profile:p7")?;
        self.filter("kind:job.failed profile:p2")?;
        self.filter("no-such-thing")?;
        self.timed("Audit: Esc (filter cleared)", &[key(KeyCode::Esc)])?;
        Ok(())
    }

    /// Scrolling and jumping in the current view.
    fn moves(&mut self, view: &str) -> Bench {
        self.timed(
            &format!("{view}: j x 2000"),
            &[key(KeyCode::Char('j')); 2000],
        )?;
        self.timed(
            &format!("{view}: PgDn x 200"),
            &[key(KeyCode::PageDown); 200],
        )?;
        self.timed(&format!("{view}: End"), &[key(KeyCode::End)])?;
        self.timed(&format!("{view}: PgUp x 50"), &[key(KeyCode::PageUp); 50])?;
        self.timed(&format!("{view}: Home"), &[key(KeyCode::Home)])?;
        Ok(())
    }

    /// Types an audit filter and steps until the window is full; prints the frames, the time
    /// to the first screenful and the time until no more rows are wanted.
    fn filter(&mut self, typed: &str) -> Bench {
        // `/` starts from the filter in force: clear it first.
        self.settle(key(KeyCode::Esc))?;
        self.press(key(KeyCode::Char('/')))?;
        for c in typed.chars() {
            self.press(key(KeyCode::Char(c)))?;
        }
        // Typing only edits the overlay; the search starts with Enter.
        let start = Instant::now();
        let mut frames = Times::default();
        let (took, mut more) = self.press(key(KeyCode::Enter))?;
        frames.0.push(took);
        let mut screenful = None;
        loop {
            if screenful.is_none() && self.app.audit.rows().len() >= self.app.page_rows {
                screenful = Some(start.elapsed());
            }
            if !more {
                break;
            }
            let (took, again) = self.step()?;
            frames.0.push(took);
            more = again;
        }
        let full = start.elapsed();
        let shown = |d: Option<Duration>| {
            d.map_or("never (fewer matches)".to_string(), |d| {
                format!("{:.1} ms", ms(d))
            })
        };
        self.print(
            &format!(
                "Audit: filter `{typed}` ⏎ ({} rows; screenful {}, window full {:.1} ms)",
                self.app.audit.rows().len(),
                shown(screenful),
                ms(full)
            ),
            &frames,
        );
        Ok(())
    }

    /// Presses `keys` one frame each (and steps while rows are wanted); prints the frames.
    fn timed(&mut self, what: &str, keys: &[KeyEvent]) -> Bench {
        let mut frames = Times::default();
        for k in keys {
            let (took, mut more) = self.press(*k)?;
            frames.0.push(took);
            while more {
                let (took, again) = self.step()?;
                frames.0.push(took);
                more = again;
            }
        }
        self.print(what, &frames);
        Ok(())
    }

    /// Presses `k` and steps until no more rows are wanted, untimed.
    fn settle(&mut self, k: KeyEvent) -> Bench {
        let (_, mut more) = self.press(k)?;
        while more {
            more = self.step()?.1;
        }
        Ok(())
    }

    /// One key frame: the key, the loop's step, the draw; and whether more rows are wanted.
    fn press(&mut self, k: KeyEvent) -> Result<(Duration, bool), Box<dyn std::error::Error>> {
        let t = Instant::now();
        self.app.on_key(&self.store, k)?;
        let more = self.app.step(&self.store)?;
        self.draw()?;
        Ok((t.elapsed(), more))
    }

    /// One fetch frame: a step, then the draw; and whether more rows are wanted.
    fn step(&mut self) -> Result<(Duration, bool), Box<dyn std::error::Error>> {
        let t = Instant::now();
        let more = self.app.step(&self.store)?;
        self.draw()?;
        Ok((t.elapsed(), more))
    }

    fn draw(&mut self) -> Bench {
        let app = &mut self.app;
        self.terminal.draw(|f| draw(f, app, Theme::new(true)))?;
        Ok(())
    }

    fn print(&self, what: &str, times: &Times) {
        let mut sorted = times.0.clone();
        sorted.sort();
        let pick = |q: f64| {
            let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted.get(i).map_or(0.0, |d| ms(*d))
        };
        let total: Duration = sorted.iter().sum();
        println!(
            "| {} | {what} | {} | {:.2} | {:.2} | {:.2} | {:.0} |",
            self.size,
            sorted.len(),
            pick(0.5),
            pick(0.95),
            pick(1.0),
            ms(total)
        );
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
