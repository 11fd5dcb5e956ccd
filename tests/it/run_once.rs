//! `hrbridge run --once` end to end on a small hires export: mapping, filters, rejects,
//! outputs, archive, duplicates, refused names, and the audit trail.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;

use crate::common::{stderr, stdout, Workspace};

const HIRES: &str = r#"
description = "test hires"
[source]
type = "dir"
path = "inbox/hires"
pattern = "hires_*.csv"
settle = "1s"

[format]
type = "csv"

[[field]]
name = "employee_id"
from = "Candidate ID"
required = true
key = true

[[field]]
name = "full_name"
template = "{First} {Last}"

[[field]]
name = "start_date"
from = "Hire Date"
type = "date"
input_formats = ["%m/%d/%Y"]

[[field]]
name = "employment_type"
from = "Type"
map = { FT = "full_time", PT = "part_time" }

[[field]]
name = "ssn_last4"
from = "SSN"
transform = ["digits_only", "last:4"]
pii = true

[[filter]]
column = "Status"
equals = "Accepted"

[validation]
max_reject_ratio = 0.5

[[output]]
type = "file"
path = "outbox/hris/hires_{seq}.csv"
"#;

const EXPORT: &str = "Candidate ID,First,Last,Hire Date,Type,SSN,Status\n\
C-001,Ada,Lovelace,03/01/2026,FT,900-12-3456,Accepted\n\
C-002,=cmd|' /C calc'!A0,Hopper,03/02/2026,PT,900-12-3457,Accepted\n\
C-003,Alan,Turing,13/45/2026,FT,900-12-3458,Accepted\n\
C-004,Grace,Brewster,03/04/2026,XX,900-12-3459,Accepted\n\
C-005,Edsger,Dijkstra,03/05/2026,FT,900-12-3460,Declined\n";

fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.profile("hires", HIRES);
    ws
}

#[test]
fn maps_filters_rejects_and_archives() {
    let ws = workspace();
    ws.drop_file("hires", "hires_1.csv", EXPORT.as_bytes());
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job["status"], "partial");
    assert_eq!(job["counts"]["read"], 5);
    assert_eq!(job["counts"]["filtered"], 1);
    assert_eq!(job["counts"]["rejected"], 2);
    assert_eq!(job["counts"]["written"], 2);
    let csv = stdout(&ws.run(&["jobs", "--csv"]));
    assert!(
        csv.starts_with(
            "job,profile,file,status,read,filtered,rejected,mapped,published,failed,started,error\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(",hires,hires_1.csv,partial,5,1,2,2,2,0,"),
        "{csv}"
    );

    let output = ws.path().join("outbox/hris/hires_1.csv");
    let text = fs::read_to_string(&output).unwrap();
    assert_eq!(
        text,
        "employee_id,full_name,start_date,employment_type,ssn_last4\n\
         C-001,Ada Lovelace,2026-03-01,full_time,3456\n\
         C-002,'=cmd|' /C calc'!A0 Hopper,2026-03-02,part_time,3457\n"
    );
    assert_eq!(
        fs::metadata(&output).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The rejects report sits beside the output and names rows, columns and reasons.
    let rejects =
        fs::read_to_string(ws.path().join("outbox/hris/hires_1.csv.rejects.csv")).unwrap();
    assert!(
        rejects.contains("hires_1.csv,,4,Hire Date,start_date,"),
        "{rejects}"
    );
    assert!(
        rejects.contains("13/45/2026"),
        "non-PII value should be shown: {rejects}"
    );
    assert!(
        rejects.contains("hires_1.csv,,5,Type,employment_type,"),
        "{rejects}"
    );

    // The input left the inbox for the archive, byte for byte (sealed to the installation key).
    assert!(ws.files_under("inbox").is_empty());
    let archived = ws.files_under("var/archive/hires");
    assert_eq!(archived.len(), 1, "{archived:?}");
    assert!(archived[0].ends_with("hires_1.csv.age"));
    let sealed = fs::File::open(ws.path().join("var/archive/hires").join(&archived[0])).unwrap();
    let mut kept = String::new();
    hrbridge::kernel::keys::InstallationKey::load_or_create(&ws.path().join("var"))
        .unwrap()
        .decrypt(sealed)
        .unwrap()
        .read_to_string(&mut kept)
        .unwrap();
    assert_eq!(kept, EXPORT);

    // Rejections are in the store too, and never carry PII values.
    let detail = ws.job(job["id"].as_i64().unwrap());
    let reasons = detail["rejections"].to_string();
    assert!(reasons.contains("13/45/2026"));
    let audit = stdout(&ws.run(&["audit", "--json"]));
    // (Hashes in the trail are hex, so look for the values as JSON strings.)
    for ssn in ["\"3456\"", "\"3457\"", "900-12"] {
        assert!(!audit.contains(ssn), "PII {ssn} in the audit trail");
    }
    assert!(audit.contains("output.published") && audit.contains("\"ssn_last4\""));
}

#[test]
fn pii_values_are_masked_in_rejections() {
    let ws = workspace();
    let bad_ssn = "Candidate ID,First,Last,Hire Date,Type,SSN,Status\n\
                   C-1,A,B,03/01/2026,FT,12,Accepted\n\
                   C-2,A,B,03/01/2026,FT,900-11-2222,Accepted\n";
    ws.profile(
        "hires",
        &HIRES.replace("pii = true", "pii = true\npattern = '\\d{4}'"),
    );
    ws.drop_file("hires", "hires_1.csv", bad_ssn.as_bytes());
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rejects =
        fs::read_to_string(ws.path().join("outbox/hris/hires_1.csv.rejects.csv")).unwrap();
    assert!(rejects.contains("ssn_last4"), "{rejects}");
    assert!(rejects.contains("[pii"), "{rejects}");
    assert!(
        !rejects.contains(",12,") && !rejects.contains("\"12\""),
        "{rejects}"
    );
}

#[test]
fn the_same_content_again_is_a_duplicate() {
    let ws = workspace();
    ws.drop_file("hires", "hires_1.csv", EXPORT.as_bytes());
    assert!(ws.run(&["run", "--once"]).status.success());
    ws.drop_file("hires", "hires_renamed.csv", EXPORT.as_bytes());
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "duplicate");
    assert_eq!(jobs[0]["file_name"], "hires_renamed.csv");
    // Only one output file; the duplicate input is kept, not deleted.
    assert_eq!(
        ws.files_under("outbox/hris"),
        ["hires_1.csv", "hires_1.csv.rejects.csv"]
    );
    assert_eq!(ws.files_under("var/archive/hires").len(), 2);
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert!(audit.contains("file.duplicate"));
}

#[test]
fn symlinks_and_unstable_names_are_refused() {
    let ws = workspace();
    let inbox = ws.path().join("inbox/hires");
    fs::create_dir_all(&inbox).unwrap();
    let secret = ws.path().join("secret.csv");
    fs::write(&secret, EXPORT).unwrap();
    std::os::unix::fs::symlink(&secret, inbox.join("hires_link.csv")).unwrap();
    ws.drop_file("hires", "hires_bad\nname.csv", EXPORT.as_bytes());
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("symbolic link"), "{text}");
    assert!(text.contains("control characters"), "{text}");
    assert!(ws.jobs().is_empty());
    assert!(ws.files_under("outbox").is_empty());
    assert!(secret.exists() && inbox.join("hires_link.csv").symlink_metadata().is_ok());
}

#[test]
fn a_failed_file_keeps_its_input_in_error_and_writes_nothing() {
    let ws = workspace();
    ws.drop_file(
        "hires",
        "hires_1.csv",
        b"Candidate ID,First,Last,Hire Date,Type,Status\nC-1,A,B,03/01/2026,FT,Accepted\n",
    );
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "failed");
    let error = jobs[0]["error"].as_str().unwrap();
    assert!(
        error.contains("SSN") && error.contains("hires_1.csv"),
        "{error}"
    );
    assert!(ws.files_under("outbox").is_empty());
    let kept = ws.files_under("var/error/hires");
    assert_eq!(kept, ["hires_1.csv.age", "hires_1.csv.age.error.txt"]);
}

#[test]
fn preview_masks_pii_and_writes_nothing() {
    let ws = workspace();
    let file = ws.path().join("sample.csv");
    fs::write(&file, EXPORT).unwrap();
    let out = ws.run(&["preview", "--profile", "hires", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Ada Lovelace") && text.contains("2026-03-01"),
        "{text}"
    );
    assert!(!text.contains("3456"), "PII shown in preview: {text}");
    assert!(text.contains("[pii: 4 chars]"), "{text}");
    assert!(text.contains("13/45/2026"), "{text}");
    assert!(!ws.path().join("outbox").exists());
    assert!(
        !ws.path().join("var").exists(),
        "preview touched the state folder"
    );
}

#[test]
fn preview_says_when_a_run_would_fail_the_file() {
    let ws = workspace();
    // Two of the three rows meant for delivery are rejected: over max_reject_ratio 50 %.
    let file = ws.path().join("mostly_bad.csv");
    fs::write(
        &file,
        "Candidate ID,First,Last,Hire Date,Type,SSN,Status
         C-001,Ada,Lovelace,03/01/2026,FT,900-12-3456,Accepted
         C-003,Alan,Turing,13/45/2026,FT,900-12-3458,Accepted
         C-004,Grace,Brewster,03/04/2026,XX,900-12-3459,Accepted
",
    )
    .unwrap();
    let out = ws.run(&["preview", "--profile", "hires", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("a run would fail this file: 2 of 3 rows rejected")
            && text.contains("above max_reject_ratio 50.0%"),
        "{text}"
    );
    // A header and no rows: under min_rows.
    let empty = ws.path().join("empty.csv");
    fs::write(
        &empty,
        "Candidate ID,First,Last,Hire Date,Type,SSN,Status
",
    )
    .unwrap();
    let out = ws.run(&["preview", "--profile", "hires", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out)
            .contains("a run would fail this file: file has 0 data row(s); at least 1 required"),
        "{}",
        stdout(&out)
    );
    assert!(!ws.path().join("var").exists());
}

#[test]
fn unknown_profile_and_daemon_mode_are_usage_errors() {
    let ws = workspace();
    assert_eq!(
        ws.run(&["run", "--once", "--profile", "nope"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(ws.run(&["run", "--profile", "nope"]).status.code(), Some(2));
    assert_eq!(ws.run(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn an_existing_output_is_never_overwritten_and_no_temp_is_left() {
    let ws = Workspace::new();
    ws.profile(
        "two",
        r#"
[source]
type = "dir"
path = "inbox/two"
[[field]]
name = "id"
from = "ID"
[[output]]
type = "file"
path = "outbox/a_{seq}.csv"
[[output]]
type = "file"
path = "outbox/fixed.jsonl"
format = "jsonl"
"#,
    );
    fs::create_dir_all(ws.path().join("outbox")).unwrap();
    fs::write(ws.path().join("outbox/fixed.jsonl"), "earlier delivery\n").unwrap();
    ws.drop_file("two", "x.csv", b"ID\n1\n");
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "failed");
    assert!(
        jobs[0]["error"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{}",
        jobs[0]
    );
    let all: Vec<_> = fs::read_dir(ws.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(all, ["fixed.jsonl"], "temp files or outputs left behind");
    assert_eq!(
        fs::read_to_string(ws.path().join("outbox/fixed.jsonl")).unwrap(),
        "earlier delivery\n"
    );
    assert_eq!(
        ws.files_under("var/error/two"),
        ["x.csv.age", "x.csv.age.error.txt"]
    );
}

const SIMPLE: &str = r#"
[source]
type = "dir"
path = "inbox/PROFILE"
done_marker = ".done"
[[field]]
name = "id"
from = "ID"
type = "integer"
[[filter]]
column = "Keep"
equals = "y"
[validation]
max_reject_ratio = 0.5
[[output]]
type = "file"
path = "outbox/PROFILE/{source_stem}.csv"
"#;

fn simple(ws: &Workspace, name: &str) {
    ws.profile(name, &SIMPLE.replace("PROFILE", name));
}

#[test]
fn the_done_marker_goes_with_its_file() {
    let ws = Workspace::new();
    simple(&ws, "m");
    ws.drop_file("m", "a.csv", b"ID,Keep\n1,y\n");
    assert!(ws.run(&["run", "--once"]).status.success());
    assert_eq!(ws.files_under("inbox/m"), ["a.csv"], "waits for its marker");
    ws.drop_file("m", "a.csv.done", b"");
    assert!(ws.run(&["run", "--once"]).status.success());
    assert!(ws.files_under("inbox/m").is_empty(), "marker left behind");
    // The next upload under the same name waits for a new marker.
    ws.drop_file("m", "a.csv", b"ID,Keep\n2,y\n");
    assert!(ws.run(&["run", "--once"]).status.success());
    assert_eq!(ws.jobs().len(), 1);
}

#[test]
fn one_broken_profile_does_not_stop_the_others() {
    let ws = Workspace::new();
    simple(&ws, "a");
    simple(&ws, "b");
    ws.drop_file("b", "x.csv", b"ID,Keep\n1,y\n");
    ws.drop_file("b", "x.csv.done", b"");
    // Profile a's inbox does not exist.
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("error: a: reading inbox"),
        "{}",
        stdout(&out)
    );
    assert_eq!(ws.jobs()[0]["status"], "succeeded");
    assert!(ws.path().join("outbox/b/x.csv").exists());
}

#[test]
fn filtered_rows_do_not_dilute_the_reject_ratio() {
    let ws = Workspace::new();
    simple(&ws, "r");
    let mut export = String::from("ID,Keep\n");
    for i in 0..96 {
        export.push_str(&format!("{i},n\n"));
    }
    export.push_str("x,y\nx,y\nx,y\n4,y\n");
    ws.drop_file("r", "f.csv", export.as_bytes());
    ws.drop_file("r", "f.csv.done", b"");
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let error = ws.jobs()[0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("3 of 4 rows rejected"), "{error}");
}

#[test]
fn a_leftover_rejects_report_fails_the_job_before_anything_is_published() {
    let ws = Workspace::new();
    simple(&ws, "j");
    fs::create_dir_all(ws.path().join("outbox/j")).unwrap();
    fs::write(ws.path().join("outbox/j/a.csv.rejects.csv"), "old report\n").unwrap();
    ws.drop_file("j", "a.csv", b"ID,Keep\n1,y\nx,y\n2,y\n");
    ws.drop_file("j", "a.csv.done", b"");
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "failed");
    assert!(jobs[0]["error"]
        .as_str()
        .unwrap()
        .contains("a.csv.rejects.csv already exists"));
    assert_eq!(ws.files_under("outbox/j"), ["a.csv.rejects.csv"]);
    // A second run is not wedged: the failed input is in error/, nothing is pending.
    assert!(ws.run(&["run", "--once"]).status.success());
}
