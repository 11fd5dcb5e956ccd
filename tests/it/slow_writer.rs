//! A writer that appends to an inbox file for seconds while the daemon runs: the file is
//! taken only after the writer stops, once, with every row.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::daemon::{wait_until, Daemon};
use crate::common::profiles;
use crate::common::Workspace;
use chrono::{DateTime, Utc};

#[test]
fn a_file_being_appended_to_is_taken_once_after_the_writer_stops() {
    let ws = Workspace::new();
    ws.profile(
        "payroll",
        &profiles::watched_employees(
            "payroll",
            "pay_*.csv",
            "[[field]]\nname = \"amount\"\nfrom = \"Amount\"\n\n",
            "outbox/pay_{seq}.csv",
        ),
    );
    let inbox = ws.path().join("inbox/payroll");
    fs::create_dir_all(&inbox).unwrap();
    let daemon = Daemon::start(ws.path());

    let path = inbox.join("pay_1.csv");
    fs::write(&path, "ID,Amount\n").unwrap();
    let began = Instant::now();
    let mut rows = 0u64;
    let mut last_write: DateTime<Utc> = Utc::now();
    while began.elapsed() < Duration::from_secs(4) {
        thread::sleep(Duration::from_millis(100 + 50 * (rows % 3)));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        writeln!(f, "E{rows},{}.00", 1000 + rows).unwrap();
        drop(f);
        last_write = Utc::now();
        rows += 1;
        assert!(
            ws.jobs().is_empty(),
            "a job started while the file was still being written"
        );
    }

    let job = wait_until("the file to be processed", Duration::from_secs(15), || {
        let jobs = ws.jobs();
        // `running` and `committing` are on the way; wait for where the job ends.
        let finished = jobs
            .first()
            .is_some_and(|j| !matches!(j["status"].as_str(), Some("running" | "committing")));
        finished.then_some(jobs)
    });
    assert_eq!(job.len(), 1, "exactly one job for the file: {job:?}");
    let job = &job[0];
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["counts"]["read"].as_u64(), Some(rows));
    assert_eq!(job["counts"]["written"].as_u64(), Some(rows));
    let started: DateTime<Utc> = job["started_at"].as_str().unwrap().parse().unwrap();
    assert!(
        started >= last_write,
        "job started at {started}, before the last write at {last_write}"
    );

    // Nothing else shows up later (no second job for the same file).
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(ws.jobs().len(), 1);
    assert_eq!(daemon.terminate(Duration::from_secs(5)).code(), Some(0));
}
