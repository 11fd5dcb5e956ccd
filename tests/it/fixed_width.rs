//! Fixed-width files end to end: the bundled `payroll-fixed` profile reads the mainframe-style
//! export that `fixtures/fixed_width.py` lays out with Python's own formatting (windows-1252,
//! file header, details, trailer), and broken copies of it fail or reject where they break.
//! Written back with the layout it was read with, the export comes out byte for byte; a value
//! that does not fit an output's layout rejects its row, and a total that does not fit its
//! trailer fails the job.

use std::fs;
use std::process::Command;

use crate::common::{rejected_rows, repo, stderr, stdout, Workspace};
use crate::skip_unless_tools;

const EXPORT: &str = "fixtures/inbox/payroll-fixed/PAYMF_20240601.txt";

fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.profile_from("profiles/payroll-fixed.toml");
    ws
}

fn export() -> Vec<u8> {
    fs::read(repo().join(EXPORT)).unwrap()
}

#[test]
fn the_mainframe_export_becomes_csv_with_its_bad_date_rejected_at_its_line() {
    let ws = workspace();
    ws.drop_file("payroll-fixed", "PAYMF_20240601.txt", &export());
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let csv = fs::read_to_string(
        ws.path()
            .join("outbox/warehouse/payments_PAYMF_20240601.csv"),
    )
    .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "employee_number,last_name,first_name,department,pay_cents,effective_date",
            "000101,Okafor,Chinedu,FIN,612500,2024-06-01",
            "000102,Müller,Jürgen,ENG,745000,2024-06-01",
            "000103,Núñez,Inés,HR,498075,2024-06-01",
        ]
    );
    assert_eq!(lines.len(), 10, "{csv}");
    assert_eq!(lines[9], "000110,Weiß,Friedrich,OPS,47525,2024-06-01");
    // The bank's copy: the nine good payments in its layout, counted and totalled.
    let bank = fs::read(ws.path().join("outbox/bank/PAYRUN_PAYMF_20240601.txt")).unwrap();
    let (bank, _, malformed) = encoding_rs::WINDOWS_1252.decode(&bank);
    assert!(!malformed);
    let records: Vec<&str> = bank.split_inclusive("\r\n").collect();
    assert_eq!(records.len(), 11, "{bank}");
    assert!(records.iter().all(|r| r.chars().count() == 82), "{bank}");
    assert!(records[0].starts_with("HPAYRUN"), "{bank}");
    assert_eq!(
        records[2].trim_end(),
        "D000102Müller              Jürgen         ENG 000007450002024-06-01"
    );
    // 612500 + 745000 + 498075 + 802010 + 455500 + 530250 + 910000 + 870400 + 47525
    assert_eq!(records[10].trim_end(), "T000000009000000005471260");
    let job = &ws.jobs()[0];
    assert_eq!(job["status"], "partial");
    assert_eq!(job["counts"]["read"], 10);
    let detail = ws.job(job["id"].as_i64().unwrap());
    let rejected = &detail["rejections"][0];
    assert_eq!(rejected["row"], 7, "{detail:#}");
    assert_eq!(rejected["column"], "EFFDATE");
}

/// The export with each line `n` (1-based) of `changes` replaced by its bytes.
fn with_lines(changes: &[(usize, &[u8])]) -> Vec<u8> {
    let text = export();
    let mut lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    for &(n, with) in changes {
        lines[n - 1] = with;
    }
    lines.concat()
}

#[test]
fn a_short_line_a_tab_and_a_wrong_trailer_are_told_where_they_are() {
    let ws = workspace();
    // Line 3 cut short, line 4 with a tab in the last name: each a rejected row at its line.
    let tabbed = encoding_rs::WINDOWS_1252
        .decode(&export())
        .0
        .lines()
        .nth(3)
        .unwrap()
        .replacen("Núñez ", "Nú\tez ", 1)
        + "\r\n";
    let tabbed = encoding_rs::WINDOWS_1252.encode(&tabbed).0;
    let broken = with_lines(&[(3, b"D000102M\xfcller\r\n"), (4, &tabbed)]);
    ws.drop_file("payroll-fixed", "PAYMF_20240602.txt", &broken);
    let out = ws.run(&["run", "--once"]);
    let job = &ws.jobs()[0];
    let reasons = rejected_rows(&ws.job(job["id"].as_i64().unwrap()));
    assert_eq!(reasons.len(), 3, "{reasons:?}\n{}", stdout(&out));
    assert_eq!(reasons[0].0, 3);
    assert!(
        reasons[0].1.starts_with("a short line: 13 characters"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1].0, 4);
    assert!(
        reasons[1].1.starts_with("a tab at character 10"),
        "{reasons:?}"
    );
    assert_eq!(reasons[2].0, 7);
    // 3 of 10 rejected is over the profile's 20 %: nothing is delivered.
    assert_eq!(job["status"], "failed");

    // The trailer says 11 details where there are 10: the file fails at the trailer's line.
    let ws = workspace();
    let mut trailer = format!("T{:09}", 11);
    trailer.push_str(&" ".repeat(63 - trailer.len()));
    trailer.push_str("\r\n");
    ws.drop_file(
        "payroll-fixed",
        "PAYMF_20240603.txt",
        &with_lines(&[(12, trailer.as_bytes())]),
    );
    assert_eq!(ws.run(&["run", "--once"]).status.code(), Some(1));
    let job = &ws.jobs()[0];
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains("trailer declares 11 rows, file has 10"),
        "{error}"
    );
    assert!(ws.files_under("outbox").is_empty());

    // No trailer at all (the transfer was cut): the file fails, nothing is delivered.
    let ws = workspace();
    let text = export();
    let cut = &text[..text.len() - 65];
    ws.drop_file("payroll-fixed", "PAYMF_20240604.txt", cut);
    assert_eq!(ws.run(&["run", "--once"]).status.code(), Some(1));
    let error = ws.jobs()[0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("no trailer matching"), "{error}");
}

/// The bundled profile with `replace` applied, its outputs replaced by `output`.
fn payroll_profile(replace: &[(&str, &str)], output: &str) -> String {
    let bundled = fs::read_to_string(repo().join("profiles/payroll-fixed.toml")).unwrap();
    let mut text = bundled[..bundled.find("[[output]]").unwrap()].to_string();
    for (from, to) in replace {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    format!("{text}{output}")
}

/// The layout of `fixtures/fixed_width.py --clean`, as an output: the one it was read with.
const MAINFRAME_LAYOUT: &str = r#"
[[output]]
type = "file"
path = "outbox/copy/{source_stem}.txt"
format = "fixed"
encoding = "windows-1252"
line_ending = "crlf"
record_length = 63
header = [{ text = "HPAYMF" }, { run_date = "%Y%m%d" }]
columns = [
  { text = "D" },
  { field = "employee_number", width = 6 },
  { field = "last_name", width = 20 },
  { field = "first_name", width = 15 },
  { field = "department", width = 4 },
  { field = "pay_cents", width = 9, align = "right", pad = "0" },
  { field = "effective_date", width = 8 },
]
trailer = [
  { text = "T" },
  { count = "details", width = 9, align = "right", pad = "0" },
  { sum = "pay_cents", width = 12, align = "right", pad = "0" },
]
"#;

/// The clean export (`fixed_width.py --clean`), laid out by Python.
fn clean_export() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clean.txt");
    let status = Command::new("python3")
        .arg(repo().join("fixtures/fixed_width.py"))
        .arg("--clean")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    fs::read(out).unwrap()
}

/// Reading the clean export and writing it with the layout it was read with.
const ROUND_TRIP: &[(&str, &str)] = &[
    (
        "trailer = { pattern = '^T(\\d{9})' }",
        "trailer = { pattern = '^T(\\d{9})\\d{12}' }",
    ),
    ("format = \"%Y-%m-%d\"", "format = \"%Y%m%d\""),
];

#[test]
fn an_export_read_and_written_with_its_own_layout_comes_back_byte_for_byte() {
    skip_unless_tools!("python3");
    let export = clean_export();
    let ws = Workspace::new();
    ws.profile(
        "payroll-fixed",
        &payroll_profile(ROUND_TRIP, MAINFRAME_LAYOUT),
    );
    ws.drop_file("payroll-fixed", "PAYMF_20240601.txt", &export);
    let out = ws
        .cmd(&["run", "--once"])
        .env("HRBRIDGE_TODAY", "2024-06-01")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(ws.jobs()[0]["status"], "succeeded");
    let copy = fs::read(ws.path().join("outbox/copy/PAYMF_20240601.txt")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&copy),
        String::from_utf8_lossy(&export)
    );
    assert_eq!(copy, export);
}

#[test]
fn a_value_too_long_for_its_place_rejects_its_row_and_the_trailer_counts_what_was_written() {
    skip_unless_tools!("python3");
    let ws = Workspace::new();
    // Last names get 8 characters (first names the rest of the record): Lindqvist and
    // Kowalczyk are 9.
    let narrow = MAINFRAME_LAYOUT
        .replace("\"last_name\", width = 20", "\"last_name\", width = 8")
        .replace(
            "{ field = \"first_name\", width = 15 }",
            "{ field = \"first_name\", width = 27 }",
        );
    ws.profile(
        "payroll-fixed",
        &payroll_profile(
            &[
                ROUND_TRIP[0],
                ROUND_TRIP[1],
                ("max_reject_ratio = 0.2", "max_reject_ratio = 0.5"),
            ],
            &narrow,
        ),
    );
    ws.drop_file("payroll-fixed", "PAYMF_20240601.txt", &clean_export());
    let out = ws.run(&["run", "--once"]);
    let job = &ws.jobs()[0];
    assert_eq!(job["status"], "partial", "{}{}", stdout(&out), stderr(&out));
    let detail = ws.job(job["id"].as_i64().unwrap());
    let rejected = rejected_rows(&detail);
    // Lindqvist on line 5, Kowalczyk on line 7.
    assert_eq!(
        rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        [5, 7],
        "{rejected:?}"
    );
    let reason = &rejected[0].1;
    assert!(
        reason.contains("output 1: 9 characters do not fit the 8 of characters 8-15"),
        "{reason}"
    );
    assert!(!reason.contains("Lindqvist"), "{reason}");
    assert_eq!(detail["rejections"][0]["field"], "last_name", "{detail:#}");
    let copy = fs::read(ws.path().join("outbox/copy/PAYMF_20240601.txt")).unwrap();
    let copy = String::from_utf8_lossy(&copy).to_string();
    let records: Vec<&str> = copy.lines().collect();
    assert_eq!(records.len(), 9, "{copy}");
    assert!(!copy.contains("Lindqvist") && !copy.contains("Kowalczyk"));
    // 5471260 less Lindqvist's 802010 and Kowalczyk's 530250.
    assert!(
        records[8].starts_with("T000000007000004139000"),
        "{}",
        records[8]
    );
}

#[test]
fn a_total_too_wide_for_its_trailer_fails_the_job_and_delivers_nothing() {
    skip_unless_tools!("python3");
    let ws = Workspace::new();
    let short = MAINFRAME_LAYOUT.replace(
        "{ sum = \"pay_cents\", width = 12",
        "{ sum = \"pay_cents\", width = 6",
    );
    ws.profile("payroll-fixed", &payroll_profile(ROUND_TRIP, &short));
    ws.drop_file("payroll-fixed", "PAYMF_20240601.txt", &clean_export());
    assert_eq!(ws.run(&["run", "--once"]).status.code(), Some(1));
    let job = &ws.jobs()[0];
    assert_eq!(job["status"], "failed");
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains(
            "output 1: the trailer record: 7 characters do not fit the 6 of characters 11-16"
        ),
        "{error}"
    );
    assert!(
        ws.files_under("outbox").is_empty(),
        "{:?}",
        ws.files_under("outbox")
    );
    assert_eq!(
        ws.files_under("var/error/payroll-fixed"),
        ["PAYMF_20240601.txt.age", "PAYMF_20240601.txt.age.error.txt"]
    );
}
