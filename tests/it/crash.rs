//! SIGKILL in the middle of writing an output: nothing appears at the final name, and the next
//! `run --once` cleans up and processes the input completely, exactly once.

use std::fs;
use std::time::{Duration, Instant};

use crate::common::profiles;
use crate::common::{stderr, Workspace};

const ROWS: usize = 300_000;

#[test]
fn killed_mid_output_leaves_nothing_and_the_next_run_completes() {
    let ws = Workspace::new();
    ws.profile("roster", &profiles::roster("outbox/roster.csv"));
    let mut export = String::from("ID,Name\n");
    for i in 0..ROWS {
        export.push_str(&format!("{i}, person number {i} \n"));
    }
    let input = ws.drop_file("roster", "roster.csv", export.as_bytes());
    let outbox = ws.path().join("outbox");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hrbridge"))
        .args(["run", "--once"])
        .current_dir(ws.path())
        .spawn()
        .unwrap();
    // Wait until the temp output exists and has data, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(60);
    let temp_seen = loop {
        let temp = fs::read_dir(&outbox).ok().and_then(|entries| {
            entries.flatten().find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".hrbridge-tmp-")
            })
        });
        if let Some(t) = temp {
            if t.metadata().map(|m| m.len() > 0).unwrap_or(false) {
                break true;
            }
        }
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        temp_seen,
        "never saw the temp output being written (process ended first?)"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    assert!(
        !outbox.join("roster.csv").exists(),
        "a partial file reached the final name"
    );
    assert!(ws.files_under("outbox").is_empty());
    assert!(
        input.exists(),
        "the input left the inbox before its job finished"
    );

    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = fs::read_to_string(outbox.join("roster.csv")).unwrap();
    assert_eq!(text.lines().count(), ROWS + 1);
    assert_eq!(text.lines().nth(1), Some("0,PERSON NUMBER 0"));
    assert_eq!(
        text.lines().last(),
        Some(format!("{},PERSON NUMBER {}", ROWS - 1, ROWS - 1).as_str())
    );

    // The killed job is recorded as interrupted, its temp file is gone, the input archived.
    let jobs = ws.jobs();
    let statuses: Vec<&str> = jobs.iter().map(|j| j["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["succeeded", "interrupted"]);
    let leftovers: Vec<_> = fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
    assert!(!input.exists());
    assert_eq!(ws.files_under("var/archive/roster").len(), 1);
    assert!(ws.run(&["audit", "verify"]).status.success());
}
