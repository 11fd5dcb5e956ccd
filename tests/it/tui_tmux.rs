//! `hrbridge tui` in a real terminal: tmux runs the dashboard on the store of a `hrbridge demo`
//! run, the test presses keys with `send-keys` and reads the screen with `capture-pane`.
//! What the dashboard shows is checked against what the demo itself printed (jobs, statuses,
//! counts, the audit chain), and quitting must leave the terminal as it was found.
//!
//! Needs tmux (CI installs it; elsewhere the tests skip with a notice).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::skip_unless_tools;

/// How long the dashboard may take to show what a key asked for (a debug build on a busy
/// machine).
const PATIENCE: Duration = Duration::from_secs(20);

/// A `hrbridge demo` run in a temporary folder: its workspace and what it printed.
struct Demo {
    dir: tempfile::TempDir,
    jobs: Vec<DemoJob>,
    /// Events in the audit trail, as `intact: N events` said.
    events: u64,
}

/// One line of the demo's job tables.
#[derive(Debug)]
struct DemoJob {
    id: u64,
    profile: String,
    file: String,
    status: String,
    read: u64,
    rejected: u64,
    published: u64,
    failed: u64,
}

impl Demo {
    fn run() -> Demo {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(env!("CARGO_BIN_EXE_hrbridge"))
            .current_dir(dir.path())
            .env_remove("HRBRIDGE_LOG")
            .arg("demo")
            .output()
            .expect("run hrbridge demo");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "demo failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let jobs: Vec<DemoJob> = text.lines().filter_map(demo_job).collect();
        assert!(jobs.len() >= 5, "too few jobs in the demo:\n{text}");
        let events = text
            .lines()
            .find_map(|l| l.strip_prefix("intact: "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `intact: N events` in the demo:\n{text}"));
        Demo { dir, jobs, events }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("var/demo/hrbridge.toml")
    }

    fn job(&self, id: u64) -> &DemoJob {
        self.jobs
            .iter()
            .find(|j| j.id == id)
            .unwrap_or_else(|| panic!("no job {id} in the demo"))
    }

    /// The jobs the Errors view lists (failed and partial), newest first.
    fn troubled(&self) -> Vec<&DemoJob> {
        let mut jobs: Vec<&DemoJob> = self
            .jobs
            .iter()
            .filter(|j| j.status == "failed" || j.status == "partial")
            .collect();
        jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
        jobs
    }
}

/// `7  hris-to-payroll  PAYEXP_20240601.csv  partial  45  0  1  44  44  0` (job, profile, file,
/// status, read, filtered, rejected, mapped, published, failed).
fn demo_job(line: &str) -> Option<DemoJob> {
    let t: Vec<&str> = line.split_whitespace().collect();
    if t.len() != 10 {
        return None;
    }
    let n = |i: usize| t[i].parse::<u64>().ok();
    Some(DemoJob {
        id: n(0)?,
        profile: t[1].to_string(),
        file: t[2].to_string(),
        status: t[3].to_string(),
        read: n(4)?,
        rejected: n(6)?,
        published: n(8)?,
        failed: n(9)?,
    })
}

/// A tmux server on a private socket running one session; killed on drop (also when the
/// test panics).
struct Tmux {
    socket: PathBuf,
    /// Where the wrapper writes `stty -g` before and after the dashboard.
    dir: PathBuf,
}

impl Tmux {
    /// Starts `hrbridge --config CONFIG tui` in a `width`x`height` window, with `NO_COLOR`
    /// set to `no_color`. When hrbridge exits the pane prints `EXITED <code>` and stays.
    fn start(demo: &Demo, width: u16, height: u16, no_color: &str) -> Tmux {
        Tmux::start_in(demo.dir.path(), &demo.config(), width, height, no_color)
    }

    /// [`Tmux::start`] on the installation of `config`, the wrapper's files under `root`.
    fn start_in(root: &Path, config: &Path, width: u16, height: u16, no_color: &str) -> Tmux {
        Tmux::start_command(root, config, width, height, no_color, "tui")
    }

    /// [`Tmux::start_in`] running `hrbridge --config CONFIG COMMAND` (words split at spaces):
    /// `tui`, or `run --tui` for the daemon behind its dashboard.
    fn start_command(
        root: &Path,
        config: &Path,
        width: u16,
        height: u16,
        no_color: &str,
        command: &str,
    ) -> Tmux {
        let dir = root.join(format!("tmux-{width}x{height}-{no_color}"));
        fs::create_dir_all(&dir).unwrap();
        let tmux = Tmux {
            socket: dir.join("sock"),
            dir: dir.clone(),
        };
        let script = r#"export NO_COLOR="$4"
stty -g > "$3/stty.before"
"$1" --config "$2" $5
code=$?
stty -g > "$3/stty.after"
echo "EXITED $code"
exec sleep 60"#;
        let (w, h) = (width.to_string(), height.to_string());
        let bin = env!("CARGO_BIN_EXE_hrbridge");
        let config = config.display().to_string();
        let here = dir.display().to_string();
        tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &w,
            "-y",
            &h,
            "--",
            "sh",
            "-c",
            script,
            "sh",
            bin,
            &config,
            &here,
            no_color,
            command,
        ]);
        tmux
    }

    /// Runs a tmux command against this server and returns its standard output.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-f")
            .arg("/dev/null")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Presses keys (tmux key names: `Enter`, `Escape`, `q`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// The visible screen as text.
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "0"])
    }

    /// The visible screen with its colour and attribute escapes.
    fn screen_escaped(&self) -> String {
        self.run(&["capture-pane", "-e", "-p", "-t", "0"])
    }

    /// A tmux format of the pane (`#{alternate_on}`).
    fn pane(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", "0", format])
            .trim()
            .to_string()
    }

    /// Waits until the screen satisfies `ok`, and returns it; fails with the last screen
    /// after [`PATIENCE`].
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!("waited {PATIENCE:?} for {what}; the screen:\n{screen}");
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen shows `text`.
    fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    /// The `stty -g` settings the wrapper saved before and after the dashboard.
    fn stty(&self) -> (String, String) {
        let read = |name: &str| fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        (read("stty.before"), read("stty.after"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .env_remove("TMUX")
            .output();
    }
}

/// A job row of the Jobs or Errors table (wide layout): id, profile, file, status, read,
/// published, rejected, failed — cells cut to their column's width.
#[derive(Debug)]
struct ShownJob {
    id: u64,
    profile: String,
    file: String,
    status: String,
    read: u64,
    published: u64,
    rejected: u64,
    failed: u64,
}

fn shown_job(line: &str) -> Option<ShownJob> {
    let line = line.trim_start().trim_start_matches('▶');
    let t: Vec<&str> = line.split_whitespace().collect();
    // id, started (2 words), profile, file, symbol, status, read, published, rejected, failed,
    // took — read from the right, so the date's shape does not matter.
    let n = t.len();
    if n < 11 {
        return None;
    }
    let num = |i: usize| t[i].parse::<u64>().ok();
    Some(ShownJob {
        id: num(0)?,
        profile: t[n - 9].to_string(),
        file: t[n - 8].to_string(),
        status: t[n - 6].to_string(),
        read: num(n - 5)?,
        published: num(n - 4)?,
        rejected: num(n - 3)?,
        failed: num(n - 2)?,
    })
}

/// Checks a shown job row against the demo's line for it (names may be cut, not changed).
fn assert_same_job(shown: &ShownJob, run: &DemoJob) {
    let cut = |shown: &str, full: &str| shown.len() >= 8 && full.starts_with(shown);
    assert!(cut(&shown.profile, &run.profile), "{shown:?} vs {run:?}");
    assert!(cut(&shown.file, &run.file), "{shown:?} vs {run:?}");
    assert_eq!(shown.status, run.status, "{shown:?} vs {run:?}");
    assert_eq!(
        (shown.read, shown.published, shown.rejected, shown.failed),
        (run.read, run.published, run.rejected, run.failed),
        "{shown:?} vs {run:?}"
    );
}

fn jobs_on(screen: &str) -> Vec<ShownJob> {
    screen.lines().filter_map(shown_job).collect()
}

#[test]
fn every_view_shows_the_run_and_quitting_restores_the_terminal() {
    skip_unless_tools!("tmux");
    let demo = Demo::run();
    let tmux = Tmux::start(&demo, 120, 30, "");

    // Jobs: every job of the demo, newest first, with its status and counts.
    let newest = demo.jobs.iter().map(|j| j.id).max().unwrap();
    let screen = tmux.wait_for("the Jobs view with every job", |s| {
        s.contains("[1 Jobs]") && jobs_on(s).len() == demo.jobs.len()
    });
    assert_eq!(
        tmux.pane("#{alternate_on}"),
        "1",
        "not on the alternate screen"
    );
    let shown = jobs_on(&screen);
    assert_eq!(shown[0].id, newest, "{screen}");
    assert!(screen.contains("▶ "), "{screen}");
    for row in &shown {
        assert_same_job(row, demo.job(row.id));
    }
    assert!(
        screen.contains(&format!("({} jobs in all)", demo.jobs.len())),
        "{screen}"
    );
    assert!(screen.contains("◐ partial") && screen.contains("✓ succeeded"));
    assert!(screen.contains("1-5/Tab views"), "{screen}");

    // Errors: the partial and failed jobs only, and the rows the newest of them rejected.
    let troubled = demo.troubled();
    assert!(!troubled.is_empty(), "the demo has no partial job");
    tmux.keys(&["2"]);
    let first = troubled[0];
    let panel = format!(
        " Job {}: {} rejected, {} failed",
        first.id, first.rejected, first.failed
    );
    let screen = tmux.wait_for("the Errors view", |s| {
        s.contains("[2 Errors]") && s.contains(&panel)
    });
    let upper = screen.split(&panel).next().unwrap_or_default();
    let shown = jobs_on(upper);
    let ids: Vec<u64> = shown.iter().map(|j| j.id).collect();
    let expected: Vec<u64> = troubled.iter().map(|j| j.id).collect();
    assert_eq!(ids, expected, "{screen}");
    for row in &shown {
        assert_same_job(row, demo.job(row.id));
    }
    let rejected_rows = screen
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("rejected"))
        .count();
    assert_eq!(rejected_rows as u64, first.rejected, "{screen}");

    // Audit: the chain verified over the demo's events, newest event on top.
    tmux.keys(&["3"]);
    let intact = format!("chain ✓ intact ({} events)", demo.events);
    let screen = tmux.wait_for("the Audit view with the chain verified", |s| {
        s.contains("[3 Audit]") && s.contains(&intact)
    });
    let top = screen
        .lines()
        .find_map(|l| l.strip_prefix("▶ "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default();
    assert_eq!(top, demo.events.to_string(), "{screen}");
    assert!(screen.contains("job.started"), "{screen}");

    // Profiles: every profile that ran.
    tmux.keys(&["4"]);
    let screen = tmux.wait_text("[4 Profiles]");
    for job in &demo.jobs {
        assert!(
            screen.contains(&job.profile),
            "{} missing:\n{screen}",
            job.profile
        );
    }

    // A job's detail, with its full file name and its timeline; Esc goes back.
    tmux.keys(&["1"]);
    tmux.wait_text("[1 Jobs]");
    tmux.keys(&["Enter"]);
    let job = demo.job(newest);
    let title = format!(" Job {} · {} · {}", job.id, job.profile, job.file);
    let screen = tmux.wait_for("the job detail", |s| {
        s.contains(&format!("› job {newest}")) && s.contains("Timeline")
    });
    assert!(screen.contains(&title), "{title:?} missing:\n{screen}");
    // Escape alone, and seen, before the next key (ESC + key reads as Alt-key).
    tmux.keys(&["Escape"]);
    tmux.wait_for("the Jobs view again", |s| {
        !s.contains("› job") && s.contains("[1 Jobs]")
    });

    // Help, closed by any key.
    tmux.keys(&["?"]);
    tmux.wait_text(" Keys ");
    tmux.keys(&["x"]);
    tmux.wait_for("the help closed", |s| {
        !s.contains(" Keys ") && s.contains("[1 Jobs]")
    });

    // A smaller terminal: laid out again (the narrow job table has no `read`/`took` and short
    // headings for the counts), with
    // the header on the first line and the key line on the last.
    tmux.run(&["resize-window", "-t", "0", "-x", "80", "-y", "24"]);
    // tmux first shows the old screen cropped (no `took` either): wait for the new layout,
    // whose heading has no `read` and whose key line is on the 24th line.
    let screen = tmux.wait_for("the 80x24 layout", |s| {
        let narrow_heading = s
            .lines()
            .any(|l| l.contains(" out ") && l.contains(" rej ") && !l.contains(" read "));
        let key_line = s.lines().nth(23).is_some_and(|l| l.starts_with(" 1-5/Tab"));
        narrow_heading && key_line
    });
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines.len(), 24, "{screen}");
    assert!(lines[0].starts_with(" hrbridge "), "{screen}");
    assert!(lines[1].contains("[1 Jobs]"), "{screen}");
    assert!(lines[23].starts_with(" 1-5/Tab views"), "{screen}");
    assert!(
        lines.iter().all(|l| l.chars().count() <= 80),
        "a line wider than the terminal:\n{screen}"
    );
    assert!(
        !screen.contains("took"),
        "left over from 120 columns:\n{screen}"
    );
    assert_eq!(jobs_on_narrow(&screen), demo.jobs.len(), "{screen}");

    // Quit: the shell's screen is back, the dashboard's text is gone, the terminal restored.
    tmux.keys(&["q"]);
    assert_restored(&tmux);
}

/// `kill` (SIGTERM) ends the dashboard like `q`: exit 0 and the terminal restored.
#[test]
fn sigterm_quits_and_restores_the_terminal() {
    skip_unless_tools!("tmux");
    let demo = Demo::run();
    let tmux = Tmux::start(&demo, 100, 30, "");
    tmux.wait_for("the Jobs view", |s| {
        s.contains("[1 Jobs]") && s.contains("partial")
    });
    let pid = dashboard_pid(&tmux);
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    assert_restored(&tmux);
}

/// A dashboard whose terminal goes away — the tmux server killed, which signals only the
/// pane's shell — ends within moments instead of spinning on the hung-up terminal.
#[test]
fn a_dashboard_whose_terminal_is_gone_ends() {
    skip_unless_tools!("tmux");
    let demo = Demo::run();
    let tmux = Tmux::start(&demo, 100, 30, "");
    tmux.wait_text("[1 Jobs]");
    let pid = dashboard_pid(&tmux);
    drop(tmux);
    let deadline = Instant::now() + PATIENCE;
    while runs(&pid) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !runs(&pid),
        "the dashboard (pid {pid}) still runs after its terminal went away"
    );
}

/// The dashboard's pid: the pane runs the wrapper shell, the dashboard is its child.
fn dashboard_pid(tmux: &Tmux) -> String {
    let shell = tmux.pane("#{pane_pid}");
    let out = Command::new("ps")
        .args(["-o", "pid=", "--ppid", &shell])
        .output()
        .expect("run ps");
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!pid.is_empty(), "no child of the pane's shell {shell}");
    pid
}

/// Whether process `pid` still runs (an exited one waiting to be reaped does not).
fn runs(pid: &str) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name in parentheses.
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    state.is_some_and(|s| s != 'Z' && s != 'X')
}

/// After the dashboard ended: `EXITED 0`, its text gone, the alternate screen left, the
/// cursor shown and `stty` settings as before.
fn assert_restored(tmux: &Tmux) {
    let screen = tmux.wait_text("EXITED");
    assert!(screen.contains("EXITED 0"), "{screen}");
    for gone in ["[1 Jobs]", " hrbridge ", "1-5/Tab views", "partial"] {
        assert!(!screen.contains(gone), "{gone:?} still shown:\n{screen}");
    }
    assert_eq!(
        tmux.pane("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    assert_eq!(tmux.pane("#{cursor_flag}"), "1", "the cursor stayed hidden");
    let (before, after) = tmux.stty();
    assert!(!before.trim().is_empty(), "stty -g saved nothing");
    assert_eq!(before, after, "the terminal settings changed");
}

/// Job rows of the narrow table (no `read` and `took` columns).
fn jobs_on_narrow(screen: &str) -> usize {
    screen
        .lines()
        .filter(|l| {
            let t: Vec<&str> = l
                .trim_start_matches(['▶', ' '])
                .split_whitespace()
                .collect();
            t.len() >= 9 && t[0].parse::<u64>().is_ok() && t[t.len() - 1].parse::<u64>().is_ok()
        })
        .count()
}

#[test]
fn no_color_paints_without_colours() {
    skip_unless_tools!("tmux");
    let demo = Demo::run();
    let coloured = tour_escaped(&demo, "");
    let plain = tour_escaped(&demo, "1");
    assert!(
        coloured.iter().any(|s| !colour_codes(s).is_empty()),
        "no colour even without NO_COLOR:\n{}",
        coloured.join("\n")
    );
    for screen in &plain {
        assert_eq!(colour_codes(screen), Vec::<String>::new(), "{screen}");
    }
    // The selection is still marked (reverse video), so the capture does carry attributes.
    assert!(plain.iter().all(|s| has_reverse(s)), "{plain:?}");
}

/// Every view, a job's detail and the help, captured with their escapes.
fn tour_escaped(demo: &Demo, no_color: &str) -> Vec<String> {
    let tmux = Tmux::start(demo, 100, 30, no_color);
    let mut screens = Vec::new();
    let mut visit = |keys: &[&str], shows: &str| {
        tmux.keys(keys);
        tmux.wait_text(shows);
        screens.push(tmux.screen_escaped());
    };
    visit(&[], "[1 Jobs]");
    visit(&["2"], "[2 Errors]");
    visit(&["3"], "chain ✓ intact");
    visit(&["4"], "[4 Profiles]");
    visit(&["1"], "[1 Jobs]");
    visit(&["Enter"], "Timeline");
    visit(&["?"], " Keys ");
    tmux.keys(&["x"]);
    tmux.keys(&["q"]);
    let screen = tmux.wait_text("EXITED");
    assert!(screen.contains("EXITED 0"), "{screen}");
    screens
}

/// The SGR sequences of `screen` that set a colour (foreground, background; 16, 256 or RGB
/// colours); resets to the default colour (39, 49) do not count.
fn colour_codes(screen: &str) -> Vec<String> {
    sgr_params(screen)
        .filter(|params| {
            // Only the first number of each `;` part: `38:5:31` is one colour, not two.
            params.split(';').any(|p| {
                let lead = p.split(':').next().unwrap_or_default();
                matches!(
                    lead.parse::<u16>(),
                    Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
                )
            })
        })
        .map(|params| format!("ESC[{params}m"))
        .collect()
}

/// Whether `screen` turns on reverse video (SGR 7) somewhere.
fn has_reverse(screen: &str) -> bool {
    sgr_params(screen).any(|params| params.split(';').any(|p| p == "7"))
}

/// The parameters of every SGR sequence (`ESC [ params m`) in `screen`.
fn sgr_params(screen: &str) -> impl Iterator<Item = &str> {
    screen.split("\u{1b}[").skip(1).filter_map(|part| {
        let end = part.find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))?;
        part[end..].starts_with('m').then(|| &part[..end])
    })
}

#[test]
fn colour_codes_tell_colours_from_attributes() {
    assert!(colour_codes("\u{1b}[1m\u{1b}[7mx\u{1b}[39m\u{1b}[0m").is_empty());
    assert_eq!(colour_codes("a\u{1b}[32mok"), ["ESC[32m"]);
    assert_eq!(colour_codes("\u{1b}[1;38;5;9mx"), ["ESC[1;38;5;9m"]);
    assert_eq!(colour_codes("\u{1b}[48:2::1:2:3mx"), ["ESC[48:2::1:2:3m"]);
}

/// The Approvals view on a real terminal: a held lifecycle job is listed; `a` asks, `y`
/// approves it as the OS user, and the job is published and audited so.
#[test]
fn a_held_job_is_approved_from_the_dashboard_after_confirming() {
    skip_unless_tools!("tmux");
    let ws = crate::common::Workspace::new();
    let job = ws.held_lifecycle_job();
    let tmux = Tmux::start_in(ws.path(), &ws.path().join("hrbridge.toml"), 120, 30, "");
    tmux.wait_text("[1 Jobs]");
    tmux.keys(&["5"]);
    let screen = tmux.wait_text("[5 Approvals]");
    tmux.wait_text(&format!("#{job}"));
    assert!(!screen.contains("900-00-"), "an SSN is shown:\n{screen}");
    decide(&tmux, &ws, job, "a", "Approve", "approved by");
    tmux.wait_text("No job is held for approval");
    tmux.keys(&["q"]);
    tmux.wait_text("EXITED 0");
    assert_eq!(ws.job(job)["job"]["status"], "succeeded", "{}", ws.job(job));
    assert_decided_by_os_user(&ws, job, "job.approved");
    // The held plan went out: the seven leavers in the second day's change file.
    let sent = fs::read_to_string(ws.path().join("outbox/changes_2.csv")).unwrap();
    for i in 4..=10 {
        assert!(
            sent.contains(&format!("E{i:03}")),
            "E{i:03} not sent:\n{sent}"
        );
    }
}

/// `run --tui`: the daemon's own dashboard shows a held plan longer than the screen a page at
/// a time — PgDn, End, Home — and approving it there sends every one of its leavers.
#[test]
fn a_held_plan_longer_than_the_screen_is_paged_and_approved_under_run_tui() {
    skip_unless_tools!("tmux");
    let ws = crate::common::Workspace::new();
    let job = ws.held_lifecycle_job_of(200, 3);
    let config = ws.path().join("hrbridge.toml");
    let tmux = Tmux::start_command(ws.path(), &config, 120, 30, "", "run --tui");
    tmux.wait_text("[1 Jobs]");
    tmux.keys(&["5"]);
    tmux.wait_text(&format!("#{job}"));
    let top = tmux.wait_text("of 197 · PgDn");
    let room = page_end(&top);
    assert!(
        room > 3 && room < 30,
        "{room} rows of the plan shown:\n{top}"
    );
    assert!(top.contains("E004") && !top.contains("E200"), "{top}");
    tmux.keys(&["PageDown"]);
    let next = tmux.wait_text(&format!("changes {}–", room + 1));
    let shown = format!("E{:03}", 4 + room);
    assert!(next.contains(&shown) && !next.contains("E004"), "{next}");
    tmux.keys(&["End"]);
    let end = tmux.wait_text("–197 of 197");
    assert!(end.contains("E200"), "{end}");
    tmux.keys(&["Home"]);
    tmux.wait_text("changes 1–");
    decide(&tmux, &ws, job, "a", "Approve", "approved by");
    tmux.wait_text("No job is held for approval");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ws.job(job)["job"]["status"] != "succeeded" && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ws.job(job)["job"]["status"], "succeeded", "{}", ws.job(job));
    assert_decided_by_os_user(&ws, job, "job.approved");
    tmux.keys(&["q"]);
    tmux.wait_text("EXITED 0");
    let sent = fs::read_to_string(ws.path().join("outbox/changes_2.csv")).unwrap();
    let leavers: Vec<&str> = sent.lines().skip(1).collect();
    assert_eq!(leavers.len(), 197, "{sent}");
    assert!(leavers.iter().all(|l| l.contains("leaver")), "{sent}");
}

/// The last row of the page the Approvals view says it shows (`changes 1–N of M`).
fn page_end(screen: &str) -> usize {
    let after = screen
        .split("changes 1–")
        .nth(1)
        .expect("where the page is");
    after
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no page end in:\n{screen}"))
}

/// `x` then `y` rejects the held job: nothing is sent and its input moves to error/.
#[test]
fn a_held_job_is_rejected_from_the_dashboard_after_confirming() {
    skip_unless_tools!("tmux");
    let ws = crate::common::Workspace::new();
    let job = ws.held_lifecycle_job();
    let outbox = ws.files_under("outbox");
    let tmux = Tmux::start_in(ws.path(), &ws.path().join("hrbridge.toml"), 120, 30, "");
    tmux.wait_text("[1 Jobs]");
    tmux.keys(&["5"]);
    tmux.wait_text(&format!("#{job}"));
    tmux.keys(&["x"]);
    tmux.wait_text(&format!("Reject held job {job}?"));
    tmux.keys(&["n"]);
    tmux.wait_text("cancelled");
    assert_eq!(
        ws.job(job)["job"]["status"],
        "held",
        "decided though cancelled"
    );
    decide(&tmux, &ws, job, "x", "Reject", "rejected");
    tmux.keys(&["q"]);
    tmux.wait_text("EXITED 0");
    assert_eq!(ws.job(job)["job"]["status"], "failed", "{}", ws.job(job));
    assert_decided_by_os_user(&ws, job, "job.rejected");
    let kept = ws.files_under("var/error");
    assert!(kept.iter().any(|f| f.contains("people_2.csv")), "{kept:?}");
    assert_eq!(ws.files_under("outbox"), outbox, "something was sent");
}

/// Presses `key` on the selected held job, checks the question and that nothing was decided
/// yet, then says `y` and waits for the outcome's `done` words.
fn decide(tmux: &Tmux, ws: &crate::common::Workspace, job: i64, key: &str, ask: &str, done: &str) {
    tmux.keys(&[key]);
    tmux.wait_text(&format!("{ask} held job {job}?"));
    let status = &ws.job(job)["job"]["status"];
    assert_eq!(status, "held", "decided before the confirmation");
    tmux.keys(&["y"]);
    tmux.wait_text(&format!("job {job} {done}"));
}

/// The audit trail has `kind` for `job`, with the OS user the dashboard ran as.
fn assert_decided_by_os_user(ws: &crate::common::Workspace, job: i64, kind: &str) {
    let out = ws.run(&["audit", "--json"]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let decided = events
        .iter()
        .find(|e| e["kind"] == kind && e["job_id"] == job)
        .unwrap_or_else(|| panic!("no {kind} for job {job}: {events:?}"));
    let user = hrbridge::engine::control::os_user();
    assert!(decided.to_string().contains(&user), "{decided}");
}
