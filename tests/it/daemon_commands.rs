//! Operator actions carried out by a real `hrbridge run` daemon through the store, as the
//! dashboard queues them: `run` a scheduled profile now, pause and resume a watched profile
//! (across a restart, and for `run --once` too), and `retry` a partial API job once the server
//! accepts what it refused. Every action ends in the store and the audit trail.

use std::fmt::Write as _;
use std::time::Duration;

use crate::common::daemon::{finished_command, store, wait_until, Daemon};
use crate::common::profiles;
use crate::common::{standin_oauth2, stderr, stdout, Workspace};
use chrono::Utc;
use hrbridge::engine::control;
use hrbridge::profile::load;
use hrbridge::standin::{Config, StandinApi};
use hrbridge::store::{CommandKind, CommandState};
use hrbridge::tui::app::{App, Daemon as DaemonState, Operation as Action, Overlay};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

const WITHIN: Duration = Duration::from_secs(20);

/// A folder profile writing CSV files; `extra` adds top-level keys (e.g. a schedule).
fn file_profile(name: &str, extra: &str) -> String {
    let output = format!("outbox/{name}/out_{{seq}}.csv");
    format!(
        "{extra}{}",
        profiles::watched_employees(name, "*.csv", "", &output)
    )
}

/// The audit trail as `(kind, profile, detail)`, oldest first.
fn audit(ws: &Workspace) -> Vec<(String, String, serde_json::Value)> {
    let out = ws.run(&["audit", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut events: Vec<_> = serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["profile"].as_str().unwrap_or_default().to_string(),
                e["detail"].clone(),
            )
        })
        .collect();
    events.sort_by_key(|e| e.0);
    events.into_iter().map(|(_, k, p, d)| (k, p, d)).collect()
}

/// Kinds of the audit events of `profile`, oldest first.
fn kinds_of(ws: &Workspace, profile: &str) -> Vec<String> {
    audit(ws)
        .into_iter()
        .filter(|(_, p, _)| p == profile)
        .map(|(k, _, _)| k)
        .collect()
}

#[test]
fn a_run_command_processes_a_scheduled_profile_now() {
    let ws = Workspace::new();
    // Fires on 1 January only: nothing but the command runs it during the test.
    ws.profile(
        "payroll",
        &file_profile("payroll", "schedule = \"0 0 1 1 *\""),
    );
    ws.drop_file("payroll", "pay_1.csv", b"ID\nE1\nE2\n");
    let daemon = Daemon::start(ws.path());
    let store = store(ws.path());
    let beat = wait_until("a heartbeat", WITHIN, || store.daemon_heartbeat().unwrap());
    assert_eq!(beat.pid, daemon.pid());
    assert!(ws.jobs().is_empty(), "the schedule ran before its time");

    let id = control::request(&store, CommandKind::Run, "payroll", None, "alice").unwrap();
    let command = finished_command(ws.path(), id, WITHIN);
    assert_eq!(command.state, CommandState::Done, "{command:?}");
    assert_eq!(
        command.outcome.as_deref(),
        Some("1 job(s): 1 succeeded"),
        "{command:?}"
    );
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["status"], "succeeded");
    assert_eq!(ws.files_under("outbox"), ["payroll/out_1.csv"]);

    // A profile this daemon does not run: failed at once, with the reason.
    let stray = control::request(&store, CommandKind::Run, "lms", None, "alice").unwrap();
    let command = finished_command(ws.path(), stray, WITHIN);
    assert_eq!(command.state, CommandState::Failed);
    let outcome = command.outcome.unwrap();
    assert!(
        outcome.contains("lms is not run by this daemon"),
        "{outcome}"
    );

    let trail = audit(&ws);
    let requested = trail
        .iter()
        .find(|(k, p, _)| k == "command.requested" && p == "payroll")
        .expect("command.requested");
    assert_eq!(requested.2["user"], "alice");
    assert_eq!(requested.2["action"], "run");
    let done = trail
        .iter()
        .find(|(k, _, d)| k == "command.done" && d["command"] == id)
        .expect("command.done");
    assert_eq!(done.2["outcome"], "1 job(s): 1 succeeded");
    assert!(trail
        .iter()
        .any(|(k, p, _)| k == "command.failed" && p == "lms"));

    let status = daemon.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert_eq!(store.daemon_heartbeat().unwrap(), None, "heartbeat left");
    let verify = ws.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

#[test]
fn a_paused_profile_takes_nothing_until_resumed_also_across_a_restart() {
    let ws = Workspace::new();
    ws.profile("hires", &file_profile("hires", ""));
    std::fs::create_dir_all(ws.path().join("inbox/hires")).unwrap();
    let daemon = Daemon::start(ws.path());
    let store = store(ws.path());
    assert!(control::pause(&store, "hires", "alice").unwrap());
    ws.drop_file("hires", "hires_1.csv", b"ID\nE1\n");

    // A run command is a pass that is known to have happened: it refuses, and takes nothing.
    let refused = |store: &hrbridge::store::Store| {
        let id = control::request(store, CommandKind::Run, "hires", None, "carol").unwrap();
        let command = finished_command(ws.path(), id, WITHIN);
        assert_eq!(command.state, CommandState::Failed, "{command:?}");
        assert_eq!(
            command.outcome.as_deref(),
            Some("profile hires is paused; resume it first")
        );
        assert!(ws.jobs().is_empty(), "a paused profile took a file");
        assert_eq!(ws.files_under("inbox/hires"), ["hires_1.csv"]);
    };
    refused(&store);
    let status = daemon.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));

    // `run --once` honours the pause as well, and says so.
    let once = ws.run(&["run", "--once"]);
    assert_eq!(once.status.code(), Some(0), "{}", stderr(&once));
    let said = stdout(&once);
    assert!(
        said.contains("paused: hires (by alice since ") && said.contains("no new files taken"),
        "{said}"
    );
    assert!(
        ws.jobs().is_empty(),
        "run --once took a file of a paused profile"
    );

    // The pause is in the store: a restarted daemon keeps it.
    let daemon = Daemon::start(ws.path());
    refused(&store);

    // Resumed: taken within seconds, without a new file event or the minute's rescan.
    assert!(control::resume(&store, "hires", "bob").unwrap());
    let jobs = wait_until(
        "the file to be taken after the resume",
        Duration::from_secs(5),
        || {
            let jobs = ws.jobs();
            (jobs.len() == 1 && jobs[0]["status"] == "succeeded").then_some(jobs)
        },
    );
    assert_eq!(jobs[0]["counts"]["written"], 1);
    assert!(ws.files_under("inbox/hires").is_empty());

    let trail = audit(&ws);
    let user_of = |kind: &str| {
        trail
            .iter()
            .find(|(k, p, _)| k == kind && p == "hires")
            .map(|(_, _, d)| d["user"].clone())
    };
    assert_eq!(user_of("profile.paused"), Some("alice".into()));
    assert_eq!(user_of("profile.resumed"), Some("bob".into()));
    let status = daemon.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_run_command_for_a_paused_profile_fails_with_the_reason() {
    let ws = Workspace::new();
    ws.profile(
        "payroll",
        &file_profile("payroll", "schedule = \"0 0 1 1 *\""),
    );
    ws.drop_file("payroll", "pay_1.csv", b"ID\nE1\n");
    let daemon = Daemon::start(ws.path());
    let store = store(ws.path());
    control::pause(&store, "payroll", "alice").unwrap();
    let id = control::request(&store, CommandKind::Run, "payroll", None, "alice").unwrap();
    let command = finished_command(ws.path(), id, WITHIN);
    assert_eq!(command.state, CommandState::Failed);
    assert_eq!(
        command.outcome.as_deref(),
        Some("profile payroll is paused; resume it first")
    );
    assert!(ws.jobs().is_empty());
    let kinds = kinds_of(&ws, "payroll");
    assert_eq!(
        kinds,
        ["profile.paused", "command.requested", "command.failed"],
        "{kinds:?}"
    );

    // Once resumed, the same request runs.
    control::resume(&store, "payroll", "alice").unwrap();
    let id = control::request(&store, CommandKind::Run, "payroll", None, "alice").unwrap();
    let command = finished_command(ws.path(), id, WITHIN);
    assert_eq!(command.state, CommandState::Done, "{command:?}");
    assert_eq!(ws.jobs().len(), 1);
    drop(daemon);
}

/// Two API profiles: `seed` creates employees and keeps the ids the server gives them (E1,
/// E2, … in order); `hris` updates employees by that id, so a row whose employee `seed` has
/// not created yet fails for good (no id is known for its key) until `seed` creates it.
fn api_workspace(api: &StandinApi) -> Workspace {
    let ws = Workspace::new();
    ws.secret("hris", "demo-secret");
    let base = api.base_url();
    let auth = standin_oauth2(&base);
    ws.profile(
        "seed",
        &format!(
            r#"{opening}
[[output]]
type = "http"
url = "{base}/api/v1/employees"
capture_id = "/id"
backoff = "5ms"
{auth}
"#,
            opening = profiles::keyed_by_employee_id("seed")
        ),
    );
    ws.profile(
        "hris",
        &format!(
            r#"{opening}
[[field]]
name = "ssn"
from = "SSN"
pii = true

[[output]]
type = "http"
method = "PATCH"
url = "{base}/api/v1/employees/{{id}}"
id_map = "seed"
success = {{ status = [200] }}
backoff = "5ms"
{auth}
"#,
            opening = profiles::keyed_by_employee_id("hris")
        ),
    );
    ws
}

/// Employees `K{from}`..=`K{to}` for `seed`.
fn seed_rows(from: usize, to: usize) -> String {
    let mut csv = String::from("Employee ID\n");
    for i in from..=to {
        writeln!(csv, "K{i}").unwrap();
    }
    csv
}

/// An `hris` job left partial (K9 and K10 failed: `seed` had not created them), after which
/// `seed` creates them, so a retry can deliver them; returns the job's id.
fn partial_job_ready_for_retry(ws: &Workspace) -> i64 {
    let once = |profile: &str| {
        let out = ws.run(&["run", "--once", "--profile", profile]);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    };
    ws.drop_file("seed", "seed_1.csv", seed_rows(1, 8).as_bytes());
    once("seed");
    let mut rows = String::from("Employee ID,SSN\n");
    for i in 1..=10 {
        writeln!(rows, "K{i},900-00-{i:04}").unwrap();
    }
    ws.drop_file("hris", "hires.csv", rows.as_bytes());
    once("hris");
    let job = ws
        .jobs()
        .into_iter()
        .find(|j| j["profile"] == "hris")
        .unwrap();
    assert_eq!(job["status"], "partial", "{job}");
    assert_eq!(job["counts"]["failed"], 2, "{job}");
    // The server now knows K9 and K10, as E9 and E10.
    ws.drop_file("seed", "seed_2.csv", seed_rows(9, 10).as_bytes());
    once("seed");
    job["id"].as_i64().unwrap()
}

#[test]
fn a_retry_command_sends_only_the_failed_rows_once_they_can_be_delivered() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = api_workspace(&api);
    let job_id = partial_job_ready_for_retry(&ws);

    let daemon = Daemon::start(ws.path());
    let store = store(ws.path());
    // A retry under the wrong profile is refused and changes nothing.
    let wrong =
        control::request(&store, CommandKind::Retry, "seed", Some(job_id), "alice").unwrap();
    let command = finished_command(ws.path(), wrong, WITHIN);
    assert_eq!(command.state, CommandState::Failed);
    assert_eq!(
        command.outcome.as_deref(),
        Some(&*format!("job {job_id} belongs to profile hris, not seed"))
    );

    let sent_before = api.record().requests.len();
    let id = control::request(&store, CommandKind::Retry, "hris", Some(job_id), "alice").unwrap();
    let command = finished_command(ws.path(), id, WITHIN);
    assert_eq!(command.state, CommandState::Done, "{command:?}");
    assert_eq!(
        command.outcome.as_deref(),
        Some("sent 2 row(s) again; now succeeded, 0 row(s) still failed")
    );
    let mut resent: Vec<(String, String, u16)> = api.record().requests[sent_before..]
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/employees"))
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    resent.sort();
    assert_eq!(
        resent,
        [
            (
                "PATCH".to_string(),
                "/api/v1/employees/E10".to_string(),
                200
            ),
            ("PATCH".into(), "/api/v1/employees/E9".into(), 200),
        ]
    );
    let after = ws.job(job_id);
    assert_eq!(after["job"]["status"], "succeeded", "{after}");
    assert_eq!(after["job"]["counts"]["failed"], 0, "{after}");
    // Created by `seed`, updated once by `hris`: no row of the job was sent twice.
    assert!(api.record().employees.values().all(|e| e.applied == 2));

    let kinds = kinds_of(&ws, "hris");
    let tail: Vec<&str> = kinds
        .iter()
        .map(String::as_str)
        .filter(|k| k.starts_with("command.") || *k == "job.retried")
        .collect();
    assert_eq!(tail, ["command.requested", "job.retried", "command.done"]);
    // PII never reaches outcomes or the audit.
    let out = ws.run(&["audit", "--json"]);
    assert!(!stdout(&out).contains("900-00-"), "SSN in the audit");
    let status = daemon.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}

/// The dashboard's keys rather than library calls: state → confirmed action → store → the
/// running daemon honouring it, for pause, resume and retry.
#[test]
fn dashboard_keys_pause_resume_and_retry_reach_the_daemon() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = api_workspace(&api);
    let job_id = partial_job_ready_for_retry(&ws);
    let daemon = Daemon::start(ws.path());
    let store = store(ws.path());
    let settings = load::load_settings(Some(&ws.path().join("hrbridge.toml"))).unwrap();
    let profiles = load::load_profiles(&settings).unwrap();
    let mut app = App::new(&profiles, "var".into(), false);
    app.user = "dana".into();
    let press = |app: &mut App, code: KeyCode| {
        app.on_key(&store, KeyEvent::from(code)).unwrap();
        while app.step(&store).unwrap() {}
    };
    wait_until("the dashboard to see the daemon", WITHIN, || {
        app.refresh(&store, Utc::now()).unwrap();
        (app.daemon == DaemonState::Running { pid: daemon.pid() }).then_some(())
    });

    // Pause `seed` from the Profiles view: asked, confirmed, stored, audited with the user.
    press(&mut app, KeyCode::Char('4'));
    let seed = app.profiles.iter().position(|p| p.name == "seed").unwrap();
    for _ in 0..seed {
        press(&mut app, KeyCode::Char('j'));
    }
    press(&mut app, KeyCode::Char('p'));
    assert_eq!(
        app.overlay,
        Overlay::Confirm(Action::Pause {
            profile: "seed".into()
        })
    );
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(store.pause_of("seed").unwrap().unwrap().by, "dana");
    // The daemon honours it: a file dropped now is not taken; `r` is refused by the dashboard.
    let seed_jobs = || ws.jobs().iter().filter(|j| j["profile"] == "seed").count();
    let before = seed_jobs();
    ws.drop_file("seed", "seed_3.csv", seed_rows(11, 11).as_bytes());
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.message.as_ref().unwrap().1.contains("seed is paused"));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(seed_jobs(), before, "a paused profile took a file");

    // Resumed with the same key: the daemon takes the waiting file.
    press(&mut app, KeyCode::Char('p'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(store.pause_of("seed").unwrap(), None);
    wait_until("the file taken after the resume", WITHIN, || {
        (seed_jobs() == before + 1).then_some(())
    });

    // Retry the partial job from the Errors view; the dashboard reports the daemon's answer.
    press(&mut app, KeyCode::Char('2'));
    assert_eq!(app.selected_job().map(|j| j.id), Some(job_id));
    press(&mut app, KeyCode::Char('R'));
    press(&mut app, KeyCode::Char('y'));
    let said = wait_until("the retry's outcome on the dashboard", WITHIN, || {
        app.refresh(&store, Utc::now()).unwrap();
        let (_, text) = app.message.clone()?;
        text.contains(") done: ").then_some(text)
    });
    assert!(
        said.ends_with("sent 2 row(s) again; now succeeded, 0 row(s) still failed"),
        "{said}"
    );
    assert_eq!(ws.job(job_id)["job"]["status"], "succeeded");
    // The job left the Errors view once it succeeded.
    assert!(
        app.errors.rows().iter().all(|j| j.id != job_id),
        "still listed as an error"
    );

    let trail = audit(&ws);
    let by_dana: Vec<&str> = trail
        .iter()
        .filter(|(_, _, d)| d["user"] == "dana")
        .map(|(k, _, _)| k.as_str())
        .collect();
    assert_eq!(
        by_dana,
        ["profile.paused", "profile.resumed", "command.requested"]
    );
    let status = daemon.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}
