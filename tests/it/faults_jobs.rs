//! Faults of the machinery around a job (issue 19): an output that cannot be created or
//! written (a folder that is a file, a name too long, a read-only or full volume) and a
//! leftover that cannot be removed. Each ends the job `failed` with its cause in the store and
//! the audit trail, leaves no temp file, keeps the input in `error/`, and never wedges the
//! profile: the next good file of the same profile is processed.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::profiles;
use crate::common::{all_files, stderr, Workspace};
use crate::skip_unless_tmpfs;

fn roster(rows: usize) -> Vec<u8> {
    let mut text = String::from("ID,Name\n");
    for i in 0..rows {
        text.push_str(&format!("{i}, person number {i} \n"));
    }
    text.into_bytes()
}

fn statuses(ws: &Workspace) -> Vec<String> {
    ws.jobs()
        .iter()
        .map(|j| j["status"].as_str().unwrap().to_string())
        .collect()
}

/// Runs one pass; returns its exit code and stderr.
fn pass(ws: &Workspace) -> (Option<i32>, String) {
    let out = ws.run(&["run", "--once"]);
    (out.status.code(), stderr(&out))
}

/// The job ended `failed` with a cause containing `cause`, recorded in the store and the
/// audit trail; its input is kept in `error/` (with the note saying why).
fn assert_failed_with(ws: &Workspace, job: &serde_json::Value, cause: &str) {
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(error.contains(cause), "error {error:?} lacks {cause:?}");
    let audit = ws.run(&["audit", "--json"]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&audit.stdout).unwrap();
    let failed = events
        .iter()
        .find(|e| e["kind"] == "job.failed" && e["job_id"] == job["id"])
        .unwrap_or_else(|| panic!("no job.failed event for {job}"));
    assert!(failed.to_string().contains(cause), "{failed}");
    let kept = ws.files_under("var/error/roster");
    let name = job["file_name"].as_str().unwrap();
    assert!(
        kept.contains(&format!("{name}.age")) && kept.contains(&format!("{name}.age.error.txt")),
        "input not kept in error/: {kept:?}"
    );
    assert!(ws.run(&["audit", "verify"]).status.success());
}

/// No hrbridge temp file anywhere under `dir`.
fn assert_no_temps(dir: &Path) {
    let temps: Vec<_> = all_files(dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
}

#[test]
fn an_output_folder_that_is_a_file_fails_the_job_and_the_profile_goes_on() {
    let ws = Workspace::new();
    ws.profile("roster", &profiles::roster("outbox/hris/{source_stem}.csv"));
    fs::create_dir_all(ws.path().join("outbox")).unwrap();
    fs::write(ws.path().join("outbox/hris"), "not a folder").unwrap();
    ws.drop_file("roster", "a.csv", &roster(3));

    let (code, err) = pass(&ws);
    assert_eq!(code, Some(1), "{err}");
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1);
    assert_failed_with(&ws, &jobs[0], "outbox/hris is not a folder");
    assert!(!ws.path().join("inbox/roster/a.csv").exists());

    // Another pass neither re-runs the failed file nor stops on it.
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(statuses(&ws), ["failed"]);

    // The cause fixed, the next file of the profile goes through.
    fs::remove_file(ws.path().join("outbox/hris")).unwrap();
    ws.drop_file("roster", "b.csv", &roster(3));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(statuses(&ws), ["succeeded", "failed"]);
    let out = fs::read_to_string(ws.path().join("outbox/hris/b.csv")).unwrap();
    assert_eq!(out.lines().count(), 4);
}

#[test]
fn an_output_name_too_long_fails_that_job_only() {
    let ws = Workspace::new();
    let suffix = "x".repeat(120);
    ws.profile(
        "roster",
        &profiles::roster(&format!("outbox/{{source_stem}}_{suffix}.csv")),
    );
    let long = format!("{}.csv", "n".repeat(150));
    ws.drop_file("roster", &long, &roster(3));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(1), "{err}");
    assert_failed_with(&ws, &ws.jobs()[0], "File name too long");
    assert_no_temps(&ws.path().join("outbox"));

    ws.drop_file("roster", "short.csv", &roster(3));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(statuses(&ws), ["succeeded", "failed"]);
    assert!(ws
        .path()
        .join(format!("outbox/short_{suffix}.csv"))
        .exists());
}

#[test]
fn a_read_only_output_volume_fails_the_job_and_the_profile_goes_on() {
    let ws = Workspace::new();
    let volume = skip_unless_tmpfs!(&ws.path().join("outbox/ro"), "1m");
    volume.remount("ro");
    ws.profile("roster", &profiles::roster("outbox/ro/{source_stem}.csv"));
    ws.drop_file("roster", "a.csv", &roster(3));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(1), "{err}");
    assert_failed_with(&ws, &ws.jobs()[0], "Read-only file system");

    volume.remount("rw");
    ws.drop_file("roster", "b.csv", &roster(3));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(statuses(&ws), ["succeeded", "failed"]);
    assert!(ws.path().join("outbox/ro/b.csv").exists());
}

#[test]
fn a_full_disk_fails_the_job_removes_its_temp_files_and_is_not_taken_again() {
    let ws = Workspace::new();
    let full = ws.path().join("outbox/full");
    let volume = skip_unless_tmpfs!(&full, "64k");
    ws.profile("roster", &profiles::roster("outbox/full/{source_stem}.csv"));
    ws.drop_file("roster", "big.csv", &roster(5000));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(1), "{err}");
    assert_failed_with(&ws, &ws.jobs()[0], "No space left on device");
    assert!(all_files(&full).is_empty(), "{:?}", all_files(&full));

    // The next pass does not call it interrupted and fill the disk again.
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(statuses(&ws), ["failed"]);

    volume.remount("size=4m");
    ws.drop_file("roster", "next.csv", &roster(5000));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(statuses(&ws), ["succeeded", "failed"]);
    let out = fs::read_to_string(full.join("next.csv")).unwrap();
    assert_eq!(out.lines().count(), 5001);
}

#[test]
fn a_leftover_that_cannot_be_removed_is_retried_and_never_wedges_the_profile() {
    let ws = Workspace::new();
    let outbox = ws.path().join("outbox/ro");
    let volume = skip_unless_tmpfs!(&outbox, "256m");
    ws.profile("roster", &profiles::roster("outbox/ro/{source_stem}.csv"));
    ws.drop_file("roster", "a.csv", &roster(300_000));

    // Kill -9 while the temp output is being written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hrbridge"))
        .args(["run", "--once"])
        .current_dir(ws.path())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let temp = loop {
        let temp = all_files(&outbox).into_iter().find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with('.')
                && fs::metadata(p).is_ok_and(|m| m.len() > 0)
        });
        if let Some(t) = temp {
            break t;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        assert!(Instant::now() < deadline, "never saw the temp output");
        std::thread::sleep(Duration::from_millis(2));
    };
    child.kill().unwrap();
    child.wait().unwrap();

    // The leftover cannot be removed now; the profile still takes its files (the
    // interrupted one again, and the next), which fail on the read-only volume.
    volume.remount("ro");
    ws.drop_file("roster", "b.csv", &roster(3));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(statuses(&ws), ["failed", "failed", "interrupted"]);
    assert_failed_with(&ws, &ws.jobs()[0], "Read-only file system");
    assert!(temp.exists(), "the leftover could not have been removed");

    // Writable again: the leftover is swept and the next file goes through.
    volume.remount("rw");
    ws.drop_file("roster", "c.csv", &roster(3));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(0), "{err}");
    assert!(!temp.exists(), "the leftover was not removed");
    assert_eq!(statuses(&ws)[0], "succeeded");
    assert!(outbox.join("c.csv").exists());
    assert_no_temps(&outbox);
}

#[test]
fn a_name_too_long_to_keep_is_refused_up_front_and_audited() {
    let ws = Workspace::new();
    ws.profile("roster", &profiles::roster("outbox/roster_{seq}.csv"));
    // 250 bytes: a legal name, but `<name>.age` would not be.
    let long = format!("{}.csv", "n".repeat(246));
    let path = ws.drop_file("roster", &long, &roster(3));
    ws.drop_file("roster", "ok.csv", &roster(3));
    for _ in 0..2 {
        let out = ws.run(&["run", "--once"]);
        let said = format!("{}{}", common::stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{said}");
        assert!(said.contains("at most 223 are taken"), "{said}");
    }
    // No job for it (let alone a new duplicate job every pass); the next file went through.
    assert_eq!(statuses(&ws), ["succeeded"]);
    assert_eq!(ws.jobs()[0]["file_name"], "ok.csv");
    assert!(path.exists(), "a refused file stays where it is");
    let audit = ws.run(&["audit", "--json"]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&audit.stdout).unwrap();
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "file.refused")
        .collect();
    assert_eq!(refused.len(), 1, "audited once: {refused:?}");
    assert!(refused[0].to_string().contains("250 bytes long"));
}

#[test]
fn an_input_left_in_staging_is_kept_for_its_job_and_stale_copies_are_removed() {
    let ws = Workspace::new();
    ws.profile("roster", &profiles::roster("outbox/{source_stem}.csv"));
    // The archive cannot be written: the job delivers, then cannot keep its input.
    let archive = skip_unless_tmpfs!(&ws.path().join("var/archive/roster"), "1m");
    archive.remount("ro");
    let input = ws.drop_file("roster", "a.csv", &roster(3));
    let (code, _) = pass(&ws);
    assert_eq!(code, Some(1));
    assert_eq!(statuses(&ws), ["succeeded"]);
    assert!(input.exists(), "not kept, so not released either");
    // A copy a killed process was staging.
    let staging = ws.path().join("var/staging/roster");
    fs::write(staging.join(".incoming-999999"), "half a copy").unwrap();

    archive.remount("rw");
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(0), "{err}");
    // Kept for the job that delivered it, not taken again as a duplicate.
    let jobs = ws.jobs();
    assert_eq!(statuses(&ws), ["succeeded"], "{jobs:?}");
    assert!(!input.exists());
    let kept = all_files(&ws.path().join("var/archive/roster"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    let audit = ws.run(&["audit", "--json"]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&audit.stdout).unwrap();
    assert!(events
        .iter()
        .any(|e| e["kind"] == "input.kept" && e["job_id"] == jobs[0]["id"]));
    assert!(all_files(&staging).is_empty(), "{:?}", all_files(&staging));
}

#[test]
fn seq_is_one_number_per_delivered_job_shared_by_its_outputs() {
    let ws = Workspace::new();
    let two_outputs = format!(
        "{}\n[[output]]\ntype = \"file\"\npath = \"outbox/copy_{{seq}}.jsonl\"\nformat = \"jsonl\"\n",
        profiles::roster("outbox/roster_{seq}.csv")
    );
    ws.profile("roster", &two_outputs);
    // Fails its contract (no data rows), then one that cannot be written: neither takes a number.
    ws.drop_file("roster", "a_empty.csv", b"ID,Name\n");
    let (code, _) = pass(&ws);
    assert_eq!(code, Some(1));
    let _ = fs::remove_dir_all(ws.path().join("outbox"));
    fs::write(ws.path().join("outbox"), "not a folder").unwrap();
    ws.drop_file("roster", "b_blocked.csv", &roster(2));
    let (code, _) = pass(&ws);
    assert_eq!(code, Some(1));
    fs::remove_file(ws.path().join("outbox")).unwrap();
    for (name, rows) in [("c.csv", 3), ("d.csv", 4)] {
        ws.drop_file("roster", name, &roster(rows));
        let (code, err) = pass(&ws);
        assert_eq!(code, Some(0), "{err}");
    }
    assert_eq!(
        statuses(&ws),
        ["succeeded", "succeeded", "failed", "failed"]
    );
    assert_eq!(
        ws.files_under("outbox"),
        [
            "copy_1.jsonl",
            "copy_2.jsonl",
            "roster_1.csv",
            "roster_2.csv"
        ]
    );
}

#[test]
fn a_commit_that_cannot_be_finished_keeps_its_input_and_delivers_nothing_twice() {
    let ws = Workspace::new();
    // The API output's token is missing when the commit sends its rows: the file output is
    // published, the job waits `committing`.
    let profile = format!(
        "{}\n[[output]]\ntype = \"http\"\nurl = \"http://127.0.0.1:9/employees\"\nauth = {{ type = \"bearer\", token = \"${{env:HRBRIDGE_TEST_NO_TOKEN}}\" }}\n",
        profiles::roster("outbox/roster_{seq}.csv")
    );
    ws.profile("roster", &profile);
    let input = ws.drop_file("roster", "a.csv", &roster(3));
    let (code, err) = pass(&ws);
    assert_eq!(code, Some(1), "{err}");
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "committing", "{}", jobs[0]);
    assert!(
        jobs[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("HRBRIDGE_TEST_NO_TOKEN"),
        "{}",
        jobs[0]
    );
    assert!(!input.exists(), "the input of a committed job is kept");

    // The same export dropped again is a duplicate while the commit waits, and further passes
    // publish nothing new.
    ws.drop_file("roster", "a.csv", &roster(3));
    for _ in 0..2 {
        pass(&ws);
    }
    assert_eq!(statuses(&ws), ["duplicate", "committing"]);
    assert_eq!(ws.files_under("outbox"), ["roster_1.csv"]);
}
