//! Faults of the readers, end to end through `hrbridge run --once`: footers counted in
//! physical rows, row numbers for every line ending, and spreadsheet cells (date-times, ids
//! with a zero-padded number format, very large numbers) read as an operator sees them.
//!
//! Every test checks the job's counts (each row read ends up written, rejected or filtered),
//! the rows named in its rejections and the output file's contents.

use std::fs;
use std::io::{Cursor, Write};

use crate::common::{rejected_rows, stderr, Workspace};
use serde_json::Value;
use zip::write::SimpleFileOptions;

/// A profile reading `*.<ext>` from `inbox/p` with `[format]` lines `format`, mapping `fields`
/// (TOML `[[field]]` tables) into `outbox/p.csv`.
fn profile(ext: &str, format: &str, fields: &str) -> String {
    format!(
        r#"
[source]
type = "dir"
path = "inbox/p"
pattern = "*.{ext}"
settle = "1s"

[format]
{format}

{fields}

[validation]
max_reject_ratio = 1.0

[[output]]
type = "file"
path = "outbox/p.csv"
"#
    )
}

/// `id` (required) and `name` as text fields.
const ID_NAME: &str = r#"
[[field]]
name = "id"
from = "id"
required = true

[[field]]
name = "name"
from = "name"
"#;

/// Runs one pass over `file` and returns the job's detail (counts, rejections).
fn run(ws: &Workspace, name: &str, bytes: &[u8]) -> Value {
    ws.drop_file("p", name, bytes);
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    ws.job(jobs[0]["id"].as_i64().unwrap())
}

/// (read, written, rejected, filtered) of a job.
fn counts(detail: &Value) -> (i64, i64, i64, i64) {
    let c = &detail["job"]["counts"];
    let n = |k: &str| c[k].as_i64().unwrap_or_else(|| panic!("no count {k}: {c}"));
    (n("read"), n("written"), n("rejected"), n("filtered"))
}

fn output(ws: &Workspace) -> String {
    fs::read_to_string(ws.path().join("outbox/p.csv")).unwrap()
}

/// A minimal xlsx with one sheet `S` whose `<sheetData>` is `rows`. Cell styles: `s="1"` a
/// date-time (built-in format 22), `s="2"` a zip-code style id (`00000`), `s="3"` an SSN
/// style id (`000\-00\-0000`, as Excel writes its "Social Security Number" format).
fn xlsx(rows: &str) -> Vec<u8> {
    const NS: &str = "http://schemas.openxmlformats.org";
    let parts = [
        (
            "_rels/.rels",
            format!(
                r#"<Relationships xmlns="{NS}/package/2006/relationships"><Relationship Id="rId1" Type="{NS}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml",
            format!(
                r#"<workbook xmlns="{NS}/spreadsheetml/2006/main" xmlns:r="{NS}/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"<Relationships xmlns="{NS}/package/2006/relationships"><Relationship Id="rId1" Type="{NS}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{NS}/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/styles.xml",
            format!(
                r#"<styleSheet xmlns="{NS}/spreadsheetml/2006/main"><numFmts count="2"><numFmt numFmtId="164" formatCode="00000"/><numFmt numFmtId="165" formatCode="000\-00\-0000"/></numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="22" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="165" applyNumberFormat="1"/></cellXfs></styleSheet>"#
            ),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                r#"<worksheet xmlns="{NS}/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
            ),
        ),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in parts {
        zip.start_file(name, SimpleFileOptions::default()).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A sheet row `r` of cells given as (column letter, cell XML inside `<c>`, attributes).
fn row(r: u32, cells: &[(&str, &str)]) -> String {
    let cells: String = cells
        .iter()
        .map(|(col, cell)| format!(r#"<c r="{col}{r}" {cell}</c>"#))
        .collect();
    format!(r#"<row r="{r}">{cells}</row>"#)
}

/// An inline text cell's attributes and content, for [`row`].
fn text(s: &str) -> String {
    format!(r#"t="inlineStr"><is><t>{s}</t></is>"#)
}

#[test]
fn skip_footer_counts_the_blank_row_before_the_total_in_csv() {
    let ws = Workspace::new();
    ws.profile(
        "p",
        &profile("csv", "type = \"csv\"\nskip_footer = 2", ID_NAME),
    );
    let detail = run(&ws, "staff.csv", b"id,name\n1,Ada\n2,Grace\n\nTotal,2\n");
    assert_eq!(counts(&detail), (2, 2, 0, 0), "{detail}");
    assert_eq!(output(&ws), "id,name\n1,Ada\n2,Grace\n");
}

#[test]
fn skip_footer_counts_the_blank_row_before_the_total_in_xlsx() {
    let ws = Workspace::new();
    ws.profile(
        "p",
        &profile("xlsx", "type = \"xlsx\"\nskip_footer = 2", ID_NAME),
    );
    let sheet = [
        row(1, &[("A", &text("id")), ("B", &text("name"))]),
        row(2, &[("A", &text("1")), ("B", &text("Ada"))]),
        row(3, &[("A", &text("2")), ("B", &text("Grace"))]),
        row(5, &[("A", &text("Total")), ("B", &text("2"))]),
    ]
    .concat();
    let detail = run(&ws, "staff.xlsx", &xlsx(&sheet));
    assert_eq!(counts(&detail), (2, 2, 0, 0), "{detail}");
    assert_eq!(output(&ws), "id,name\n1,Ada\n2,Grace\n");
}

#[test]
fn a_footer_of_blank_rows_only_drops_no_employee() {
    let ws = Workspace::new();
    ws.profile(
        "p",
        &profile("csv", "type = \"csv\"\nskip_footer = 1", ID_NAME),
    );
    // The last physical row is blank (whitespace): it is the footer, so both people stay.
    let detail = run(&ws, "staff.csv", b"id,name\n1,Ada\n2,Grace\n , \n");
    assert_eq!(counts(&detail), (2, 2, 0, 0), "{detail}");
    assert_eq!(output(&ws), "id,name\n1,Ada\n2,Grace\n");
}

/// Rows 4, 5 (a record over lines 5-6) and 7 are bad; row 3 is blank.
fn export_with(eol: &str) -> Vec<u8> {
    [
        "id,name,start",
        "1,Ada,2024-01-01",
        "",
        "2,Bob,not-a-date",
        "3,\"Two",
        "lines\",2024-13-01",
        "4,Eve,2024-02-30",
        "5,Max,2024-03-01",
    ]
    .map(|l| format!("{l}{eol}"))
    .concat()
    .into_bytes()
}

#[test]
fn row_numbers_are_physical_lines_for_lf_crlf_and_cr() {
    let fields =
        format!("{ID_NAME}\n[[field]]\nname = \"start\"\nfrom = \"start\"\ntype = \"date\"\n");
    for (eol, label) in [("\n", "LF"), ("\r\n", "CRLF"), ("\r", "CR")] {
        let ws = Workspace::new();
        ws.profile("p", &profile("csv", "type = \"csv\"", &fields));
        let detail = run(&ws, "staff.csv", &export_with(eol));
        assert_eq!(counts(&detail), (5, 2, 3, 0), "{label}: {detail}");
        let rows: Vec<u64> = rejected_rows(&detail).iter().map(|(r, _)| *r).collect();
        assert_eq!(rows, vec![4, 5, 7], "{label}: {detail}");
        let out = output(&ws);
        assert!(
            out.contains("\n1,Ada,2024-01-01\n5,Max,2024-03-01\n"),
            "{label}: {out}"
        );
    }
}
#[test]
fn very_large_whole_numbers_in_cells_are_read_or_refused_accurately() {
    let ws = Workspace::new();
    let fields = "[[field]]\nname = \"id\"\nfrom = \"id\"\n\n[[field]]\nname = \"count\"\nfrom = \"count\"\ntype = \"integer\"\n\n[[field]]\nname = \"amount\"\nfrom = \"amount\"\ntype = \"decimal\"\n";
    ws.profile("p", &profile("xlsx", "type = \"xlsx\"", fields));
    let sheet = [
        row(
            1,
            &[
                ("A", &text("id")),
                ("B", &text("count")),
                ("C", &text("amount")),
            ],
        ),
        row(
            2,
            &[
                ("A", &text("1")),
                ("B", r#"><v>9007199254740994</v>"#),
                ("C", r#"><v>1E+21</v>"#),
            ],
        ),
        row(
            3,
            &[
                ("A", &text("2")),
                ("B", r#"><v>1E+21</v>"#),
                ("C", r#"><v>1</v>"#),
            ],
        ),
    ]
    .concat();
    let detail = run(&ws, "staff.xlsx", &xlsx(&sheet));
    assert_eq!(counts(&detail), (2, 1, 1, 0), "{detail}");
    assert_eq!(
        output(&ws),
        "id,count,amount\n1,9007199254740994,1000000000000000000000\n"
    );
    let rejects = rejected_rows(&detail);
    assert_eq!(rejects.len(), 1, "{detail}");
    assert_eq!(rejects[0].0, 3);
    assert_eq!(
        rejects[0].1,
        "value \"1000000000000000000000\" is a whole number outside the integer range \
         (-9223372036854775808 to 9223372036854775807); use type = \"decimal\" or \"string\" \
         for larger numbers"
    );
}

#[test]
fn date_time_cells_feed_date_fields_with_their_date() {
    let ws = Workspace::new();
    let fields = "[[field]]\nname = \"id\"\nfrom = \"id\"\n\n[[field]]\nname = \"start\"\nfrom = \"start\"\ntype = \"date\"\n";
    ws.profile("p", &profile("xlsx", "type = \"xlsx\"", fields));
    let sheet = [
        row(1, &[("A", &text("id")), ("B", &text("start"))]),
        // 2024-05-01 at noon, and 2024-05-02 at midnight, both in a date-time format.
        row(2, &[("A", &text("1")), ("B", r#"s="1"><v>45413.5</v>"#)]),
        row(3, &[("A", &text("2")), ("B", r#"s="1"><v>45414</v>"#)]),
    ]
    .concat();
    let detail = run(&ws, "staff.xlsx", &xlsx(&sheet));
    assert_eq!(counts(&detail), (2, 2, 0, 0), "{detail}");
    assert_eq!(output(&ws), "id,start\n1,2024-05-01\n2,2024-05-02\n");
}

#[test]
fn ids_with_a_zero_padded_number_format_keep_their_zeros() {
    let ws = Workspace::new();
    let fields = "[[field]]\nname = \"id\"\nfrom = \"id\"\npattern = '\\d{5}'\n\n[[field]]\nname = \"ssn\"\nfrom = \"ssn\"\n\n[[field]]\nname = \"hours\"\nfrom = \"hours\"\n";
    ws.profile("p", &profile("xlsx", "type = \"xlsx\"", fields));
    let sheet = [
        row(
            1,
            &[
                ("A", &text("id")),
                ("B", &text("ssn")),
                ("C", &text("hours")),
            ],
        ),
        row(
            2,
            &[
                ("A", r#"s="2"><v>123</v>"#),
                ("B", r#"s="3"><v>12345678</v>"#),
                ("C", r#"><v>40</v>"#),
            ],
        ),
        row(
            3,
            &[
                ("A", r#"s="2"><v>98765</v>"#),
                ("B", r#"s="3"><v>987654321</v>"#),
                ("C", r#"><v>37.5</v>"#),
            ],
        ),
    ]
    .concat();
    let detail = run(&ws, "staff.xlsx", &xlsx(&sheet));
    assert_eq!(counts(&detail), (2, 2, 0, 0), "{detail}");
    assert_eq!(
        output(&ws),
        "id,ssn,hours\n00123,012-34-5678,40\n98765,987-65-4321,37.5\n"
    );
}
