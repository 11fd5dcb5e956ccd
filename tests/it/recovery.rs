//! Crash recovery rolls a `committing` job forward: a process that died after recording its
//! complete temp outputs but before publishing them leaves a state that the next run finishes
//! exactly once — outputs published, job succeeded, input archived, nothing processed twice.

use std::fs;

use crate::common;
use crate::common::daemon;
use crate::common::profiles;
use crate::common::{stderr, Workspace};
use hrbridge::source::staging::sha256_of;
use hrbridge::store::{Counts, OutputRow, Store};

fn profile() -> String {
    profiles::ids_to_file("p", "outbox/p.csv")
}

/// The state a process leaves when it dies between `begin_commit` and the publish: a job in
/// `committing` with its complete temp output, its staged input, and the inbox file.
fn committing_job(ws: &Workspace) -> (std::path::PathBuf, std::path::PathBuf) {
    let export = b"ID\n1\n2\n";
    let input = ws.drop_file("p", "x.csv", export);
    let sha = sha256_of(&input).unwrap();
    let state = ws.path().join("var");
    let store = Store::open(&state).unwrap();
    let file = store
        .upsert_file("p", "x.csv", &sha, export.len() as u64, "dir:test")
        .unwrap();
    let job = store.start_job("p", file.id, "x.csv").unwrap();
    let staging = state.join("staging/p");
    fs::create_dir_all(&staging).unwrap();
    // Staged copies are sealed to the installation key.
    let key = hrbridge::kernel::keys::InstallationKey::load_or_create(&state).unwrap();
    let mut sealed = key
        .encrypt(fs::File::create(staging.join(&sha)).unwrap())
        .unwrap();
    std::io::Write::write_all(&mut sealed, export).unwrap();
    sealed.finish().unwrap();
    let outbox = ws.path().join("outbox");
    fs::create_dir_all(&outbox).unwrap();
    let temp = outbox.join(format!(".hrbridge-tmp-job{job}-0-p.csv"));
    fs::write(&temp, "id\n1\n2\n").unwrap();
    let counts = Counts {
        read: 2,
        filtered: 0,
        rejected: 0,
        written: 2,
        failed: 0,
    };
    store
        .begin_commit(
            job,
            counts,
            &[OutputRow {
                job_id: job,
                output_index: Some(0),
                temp_path: temp.display().to_string(),
                final_path: outbox.join("p.csv").display().to_string(),
                rows: 2,
                bytes: 8,
                sha256: String::new(),
                published: false,
            }],
            store.peek_seq("p").unwrap(),
        )
        .unwrap();
    (input, temp)
}

#[test]
fn a_committing_job_is_rolled_forward_once() {
    let ws = Workspace::new();
    ws.profile("p", &profile());
    let (input, temp) = committing_job(&ws);
    let outbox = ws.path().join("outbox");

    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(common::stdout(&out).contains("recovered 1 unfinished job"));
    assert_eq!(
        fs::read_to_string(outbox.join("p.csv")).unwrap(),
        "id\n1\n2\n"
    );
    assert!(!temp.exists());
    let jobs = ws.jobs();
    assert_eq!(
        jobs.len(),
        1,
        "the input was processed a second time: {jobs:?}"
    );
    assert_eq!(jobs[0]["status"], "succeeded");
    assert!(!input.exists(), "the input stayed in the inbox");
    assert_eq!(ws.files_under("var/archive/p").len(), 1);
    let audit = common::stdout(&ws.run(&["audit", "--json"]));
    assert!(audit.contains("job.recovered") && audit.contains("output.published"));
    assert!(ws.run(&["audit", "verify"]).status.success());
}

#[test]
fn the_daemon_recovers_at_start_even_for_a_profile_that_runs_once_a_year() {
    let ws = Workspace::new();
    ws.profile("p", &format!("schedule = \"0 0 1 1 *\"\n{}", profile()));
    let (_input, temp) = committing_job(&ws);
    let daemon = daemon::Daemon::start(ws.path());
    daemon::wait_until(
        "the recovered output",
        std::time::Duration::from_secs(20),
        || ws.path().join("outbox/p.csv").exists().then_some(()),
    );
    assert!(daemon
        .terminate(std::time::Duration::from_secs(20))
        .success());
    assert!(!temp.exists());
    assert_eq!(ws.jobs()[0]["status"], "succeeded");
}
