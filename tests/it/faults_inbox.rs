//! A writer that pauses longer than `settle` with its file still open (issue 19, item 2): the
//! file is not taken while the writer holds it, so no row written after the pause is lost;
//! once it is closed and settled it is taken once, whole.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::thread;
use std::time::Duration;

use crate::common::daemon::{wait_until, Daemon};
use crate::common::profiles;
use crate::common::Workspace;

#[test]
fn a_writer_pausing_with_its_file_open_loses_no_row() {
    let ws = Workspace::new();
    ws.profile(
        "payroll",
        &profiles::watched_employees("payroll", "pay_*.csv", "", "outbox/pay_{seq}.csv"),
    );
    let inbox = ws.path().join("inbox/payroll");
    fs::create_dir_all(&inbox).unwrap();
    let daemon = Daemon::start(ws.path());

    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(inbox.join("pay_1.csv"))
        .unwrap();
    writeln!(file, "ID").unwrap();
    for i in 0..5 {
        writeln!(file, "E{i}").unwrap();
    }
    file.sync_all().unwrap();
    // Three settle periods of silence with the file open: a stalled export job.
    thread::sleep(Duration::from_secs(3));
    assert!(ws.jobs().is_empty(), "taken while its writer held it open");
    for i in 5..10 {
        writeln!(file, "E{i}").unwrap();
    }
    drop(file);

    let jobs = wait_until("the file to be processed", Duration::from_secs(15), || {
        let jobs = ws.jobs();
        let done = jobs
            .first()
            .is_some_and(|j| !matches!(j["status"].as_str(), Some("running" | "committing")));
        done.then_some(jobs)
    });
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "succeeded", "{}", jobs[0]);
    assert_eq!(jobs[0]["counts"]["written"], 10);
    let out = fs::read_to_string(ws.path().join("outbox/pay_1.csv")).unwrap();
    assert_eq!(out.lines().count(), 11, "{out}");
    assert_eq!(daemon.terminate(Duration::from_secs(5)).code(), Some(0));
}
