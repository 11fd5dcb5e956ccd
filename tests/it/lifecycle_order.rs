//! `order_by = "file_date"`: rosters dropped together are applied by the date in their names,
//! not by name; a roster older than the one the snapshot stands at, or one whose name has no
//! date, fails with the reason and is kept in `error/` — the snapshot stays where it was.

use crate::common::{stderr, stdout, Workspace};

const PROFILE: &str = r#"
[source]
type = "dir"
path = "inbox/roster"

[lifecycle]
mode = "snapshot"
order_by = "file_date"
file_date = "%d%m%Y"
max_leavers = "100%"
max_drop = "100%"

[[field]]
name = "id"
from = "ID"
key = true

[[field]]
name = "dept"
from = "Dept"

[[output]]
type = "file"
path = "outbox/changes_{seq}.csv"
"#;

#[test]
fn rosters_are_applied_by_the_date_in_their_names_and_older_ones_refused() {
    let ws = Workspace::new();
    ws.profile("roster", PROFILE);
    // By name, New Year's Day would come first.
    ws.drop_file("roster", "hr_01012027.csv", b"ID,Dept\nE1,Ops\nE2,Ops\n");
    ws.drop_file("roster", "hr_31122026.csv", b"ID,Dept\nE1,Sales\n");
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let mut jobs = ws.jobs();
    jobs.reverse();
    let order: Vec<&str> = jobs
        .iter()
        .map(|j| j["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["hr_31122026.csv", "hr_01012027.csv"]);
    // Applied in that order: the 1st's changes are against the 31st (E1 moved, E2 joined).
    let second = std::fs::read_to_string(ws.path().join("outbox/changes_2.csv")).unwrap();
    assert!(second.contains("E1,Ops,mover,dept"), "{second}");
    assert!(second.contains("E2,Ops,joiner"), "{second}");

    // A late export of the 30th, and one without a date: refused, kept in error/.
    ws.drop_file("roster", "hr_30122026.csv", b"ID,Dept\nE1,Finance\n");
    ws.drop_file("roster", "hr_latest.csv", b"ID,Dept\nE1,Finance\n");
    let out = ws.run(&["run", "--once"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let jobs = ws.jobs();
    let failed: Vec<(&str, &str)> = jobs
        .iter()
        .filter(|j| j["status"] == "failed")
        .map(|j| {
            (
                j["file_name"].as_str().unwrap(),
                j["error"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(failed.len(), 2, "{jobs:?}");
    for (name, error) in &failed {
        match *name {
            "hr_30122026.csv" => assert!(error.contains("older than the roster"), "{error}"),
            "hr_latest.csv" => assert!(error.contains("has no date"), "{error}"),
            other => panic!("{other} failed"),
        }
    }
    let kept = ws.files_under("var/error/roster");
    assert!(
        kept.iter().any(|f| f.contains("hr_30122026.csv")),
        "{kept:?}"
    );
    assert!(kept.iter().any(|f| f.contains("hr_latest.csv")), "{kept:?}");
    // The snapshot still stands at the 1st: the 2nd's only change is its new joiner.
    ws.drop_file(
        "roster",
        "hr_02012027.csv",
        b"ID,Dept\nE1,Ops\nE2,Ops\nE3,Ops\n",
    );
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(ws.jobs()[0]["file_name"], "hr_02012027.csv");
    let third = std::fs::read_to_string(ws.path().join("outbox/changes_3.csv")).unwrap();
    let rows: Vec<&str> = third.lines().skip(1).collect();
    assert_eq!(rows, ["E3,Ops,joiner,"], "{third}");
}
