//! `hrbridge run` as a daemon: files dropped into two profiles' inboxes after it started are
//! both processed; a second daemon on the same state folder is refused; SIGTERM stops it with
//! exit 0 and a consistent store.

use std::fs;
use std::time::Duration;

use crate::common::daemon::{wait_until, Daemon};
use crate::common::profiles;
use crate::common::{stderr, Workspace};

fn profile(name: &str) -> String {
    profiles::watched_employees(
        name,
        "*.csv",
        "[[field]]\nname = \"department\"\nfrom = \"Dept\"\n\n",
        &format!("outbox/{name}/out_{{seq}}.csv"),
    )
}

#[test]
fn processes_both_inboxes_then_stops_cleanly_on_sigterm() {
    let ws = Workspace::new();
    for name in ["hires", "leavers"] {
        ws.profile(name, &profile(name));
        fs::create_dir_all(ws.path().join("inbox").join(name)).unwrap();
    }
    let daemon = Daemon::start(ws.path());

    let second = ws.run(&["run"]);
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("another hrbridge process"),
        "{}",
        stderr(&second)
    );

    // Written in place, not pre-aged: the daemon must see them arrive and let them settle.
    fs::write(
        ws.path().join("inbox/hires/hires_1.csv"),
        "ID,Dept\nE1,Sales\nE2,Ops\n",
    )
    .unwrap();
    fs::write(
        ws.path().join("inbox/leavers/leavers_1.csv"),
        "ID,Dept\nE9,Finance\n",
    )
    .unwrap();

    let jobs = wait_until(
        "both files to be processed",
        Duration::from_secs(20),
        || {
            let jobs = ws.jobs();
            let done = jobs.len() == 2 && jobs.iter().all(|j| j["status"] == "succeeded");
            done.then_some(jobs)
        },
    );
    let mut by_profile: Vec<(String, u64)> = jobs
        .iter()
        .map(|j| {
            (
                j["profile"].as_str().unwrap().to_string(),
                j["counts"]["written"].as_u64().unwrap(),
            )
        })
        .collect();
    by_profile.sort();
    assert_eq!(
        by_profile,
        [("hires".to_string(), 2), ("leavers".to_string(), 1)]
    );
    assert_eq!(
        ws.files_under("outbox"),
        ["hires/out_1.csv", "leavers/out_1.csv"]
    );
    assert!(
        ws.files_under("inbox").is_empty(),
        "inputs left in the inbox"
    );

    let log = daemon.log();
    let status = daemon.terminate(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "daemon log:\n{log}");

    let verify = ws.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    for job in ws.jobs() {
        assert!(
            !matches!(job["status"].as_str(), Some("running" | "committing")),
            "job left unfinished: {job}"
        );
    }
    // The lock is released: `--once` can run now.
    let once = ws.run(&["run", "--once"]);
    assert!(once.status.success(), "{}", stderr(&once));
}

#[test]
fn sigterm_during_a_job_finishes_that_file_and_starts_no_other() {
    const ROWS: usize = 300_000;
    let ws = Workspace::new();
    ws.profile("hires", &profile("hires"));
    let mut export = String::from("ID,Dept\n");
    for i in 0..ROWS {
        export.push_str(&format!("E{i},Dept{}\n", i % 7));
    }
    for n in 1..=3 {
        ws.drop_file("hires", &format!("hires_{n}.csv"), export.as_bytes());
    }
    let daemon = Daemon::start(ws.path());
    wait_until("a job to be running", Duration::from_secs(20), || {
        ws.jobs()
            .iter()
            .any(|j| j["status"] == "running")
            .then_some(())
    });
    let status = daemon.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));

    let jobs = ws.jobs();
    let left = ws.files_under("inbox/hires");
    assert!(!jobs.is_empty() && !left.is_empty(), "{jobs:?} {left:?}");
    assert_eq!(jobs.len() + left.len(), 3, "{jobs:?} {left:?}");
    for job in &jobs {
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["counts"]["written"].as_u64(), Some(ROWS as u64));
    }
    let verify = ws.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}
