//! Fixed-width input end to end: the bundled `payroll-fixed` profile reads the mainframe-style
//! export that `fixtures/fixed_width.py` lays out with Python's own formatting (windows-1252,
//! file header, details, trailer), and broken copies of it fail or reject where they break.

use std::fs;

use crate::common::{rejected_rows, repo, stderr, stdout, Workspace};

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
