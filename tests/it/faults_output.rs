//! Output faults end to end through `hrbridge run --once`: CSV cells that only look like
//! formulas (phones, negative amounts), output names and their time zone, untrusted names on
//! the operator's screen, outputs led out of their root by symlinks, and PII echoed back in
//! normalised forms by an API.

use std::fs;

use crate::common;
use crate::common::{stderr, stdout, Workspace};

/// A profile `feed` reading `inbox/feed/*.csv` with columns `ID`, `Phone`, `Amount`, `Note`
/// (all text) into the file output at `path`, with `extra` output keys.
fn feed_profile(path: &str, extra: &str) -> String {
    format!(
        r#"
[source]
type = "dir"
path = "inbox/feed"
pattern = "*.csv"
settle = "1s"

[[field]]
name = "id"
from = "ID"
key = true

[[field]]
name = "phone"
from = "Phone"

[[field]]
name = "amount"
from = "Amount"

[[field]]
name = "note"
from = "Note"

[[output]]
type = "file"
path = "{path}"
{extra}
"#
    )
}

const FEED: &str = "ID,Phone,Amount,Note\n\
E1,+14155550100,-150.00,=HYPERLINK(\"http://x\")\n\
E2,+1 415 555 0101,+1.5E+3,-2+3+cmd|' /C calc'!A0\n\
E3,+44 (0)20 7946 0958,\"-1,234.50\",+SUM(A1)\n";

fn run_feed(extra: &str) -> String {
    let ws = Workspace::new();
    ws.profile("feed", &feed_profile("outbox/feed.csv", extra));
    ws.drop_file("feed", "feed.csv", FEED.as_bytes());
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    fs::read_to_string(ws.path().join("outbox/feed.csv")).unwrap()
}

#[test]
fn phones_and_negative_amounts_stay_as_they_are_formulas_do_not() {
    assert_eq!(
        run_feed(""),
        "id,phone,amount,note\n\
         E1,+14155550100,-150.00,\"'=HYPERLINK(\"\"http://x\"\")\"\n\
         E2,+1 415 555 0101,+1.5E+3,'-2+3+cmd|' /C calc'!A0\n\
         E3,+44 (0)20 7946 0958,\"-1,234.50\",'+SUM(A1)\n"
    );
}

#[test]
fn neutralize_formulas_all_still_prefixes_every_sign() {
    assert_eq!(
        run_feed("neutralize_formulas = \"all\""),
        "id,phone,amount,note\n\
         E1,'+14155550100,'-150.00,\"'=HYPERLINK(\"\"http://x\"\")\"\n\
         E2,'+1 415 555 0101,'+1.5E+3,'-2+3+cmd|' /C calc'!A0\n\
         E3,'+44 (0)20 7946 0958,\"'-1,234.50\",'+SUM(A1)\n"
    );
    // The boolean keeps its meaning.
    assert!(
        run_feed("neutralize_formulas = false").contains("E1,+14155550100,-150.00,\"=HYPERLINK(")
    );
}

#[test]
fn neutralize_formulas_takes_only_true_false_or_all() {
    let ws = Workspace::new();
    ws.profile(
        "feed",
        &feed_profile("outbox/feed.csv", "neutralize_formulas = \"some\""),
    );
    let out = ws.run(&["check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("true, false or \"all\""),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Everything the store and the audit trail say about the one job of `ws`, as text.
fn stored_text(ws: &Workspace) -> String {
    let jobs = ws.jobs();
    let id = jobs[0]["id"].as_i64().unwrap();
    let audit = ws.run(&["audit", "--json"]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    without_digests(&format!("{}\n{}", ws.job(id), stdout(&audit)))
}

/// `text` with every run of 32 or more hex digits (the audit chain's hashes, file digests)
/// replaced by `<digest>`: a digest may contain "3456" by chance; a leaked value is no digest.
fn without_digests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= 32 { "<digest>" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// Fails when any of `secrets` appears in `text`, in any letter case.
fn assert_hidden(text: &str, secrets: &[&str]) {
    let lower = text.to_lowercase();
    for secret in secrets {
        assert!(
            !lower.contains(&secret.to_lowercase()),
            "{secret:?} shown in {text}"
        );
    }
}

#[test]
fn api_echoes_of_pii_in_other_forms_are_masked_in_the_store_and_audit() {
    // The API echoes the SSN without dashes, the name in capitals and the card number with
    // spaces; short values (the one-letter code) must not turn the reason into masks.
    let (port, _requests) = common::http_stub::serve(|_| {
        (
            "422 Unprocessable Entity".into(),
            r#"{"error":"ssn 900123456 is already on file for LOVELACE, ADA (card 4111 1111 1111 1111, code F)"}"#.into(),
        )
    });
    let ws = Workspace::new();
    ws.profile(
        "hris",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/hris"

[[field]]
name = "employee_id"
from = "ID"
key = true

[[field]]
name = "first"
from = "First"
pii = true

[[field]]
name = "last"
from = "Last"
pii = true

[[field]]
name = "ssn"
from = "SSN"
pii = true

[[field]]
name = "card"
from = "Card"
pii = true

[[field]]
name = "code"
from = "Code"
pii = true

[[output]]
type = "http"
url = "http://127.0.0.1:{port}/api/v1/employees"
max_attempts = 1
"#
        ),
    );
    ws.drop_file(
        "hris",
        "hires.csv",
        b"ID,First,Last,SSN,Card,Code\nE1,Ada,Lovelace,900-12-3456,4111-1111-1111-1111,F\n",
    );
    let out = ws.run(&["run", "--once"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_hidden(&stdout(&out), &["900123456", "LOVELACE", "4111 1111"]);

    let jobs = ws.jobs();
    let detail = ws.job(jobs[0]["id"].as_i64().unwrap());
    let reason = detail["delivery_failures"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.starts_with("HTTP 422"), "{reason}");
    assert!(reason.contains("is already on file for"), "{reason}");
    assert!(reason.contains("[pii: "), "{reason}");
    assert_hidden(
        &format!(
            "{}\n{}",
            stored_text(&ws),
            stdout(&ws.run(&["jobs", "--job", "1"]))
        ),
        &[
            "900123456",
            "3456",
            "LOVELACE",
            "ADA,",
            " ADA ",
            "4111 1111",
            "1111",
        ],
    );
}

#[test]
fn mapper_reasons_mask_every_pii_value_of_the_row_in_normalised_forms() {
    let ws = Workspace::new();
    ws.profile(
        "hires",
        r#"
[source]
type = "dir"
path = "inbox/hires"

[[field]]
name = "employee_id"
from = "ID"
key = true

[[field]]
name = "last"
from = "Last"
pii = true

[[field]]
name = "ssn"
from = "SSN"
pii = true

# Not PII themselves, but built from PII columns: their reasons must not show them.
[[field]]
name = "badge"
from = "Last"
transform = ["upper"]
max_length = 5

[[field]]
name = "tax_ref"
from = "SSN"
transform = ["digits_only"]
max_length = 5

[validation]
max_reject_ratio = 1.0

[[output]]
type = "file"
path = "outbox/hires.csv"
"#,
    );
    ws.drop_file(
        "hires",
        "hires.csv",
        b"ID,Last,SSN\nE1,Lovelace,900-12-3456\nE2,Li,900-12-3457\n",
    );
    let copy = ws.path().join("export.csv");
    fs::copy(ws.path().join("inbox/hires/hires.csv"), &copy).unwrap();
    let preview = ws.run(&["preview", "--profile", "hires", copy.to_str().unwrap()]);
    assert!(
        stdout(&preview).contains("characters long; max_length is 5"),
        "{}",
        stdout(&preview)
    );
    assert_hidden(&stdout(&preview), &["LOVELACE", "900123456", "900123457"]);

    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let stored = stored_text(&ws);
    let rejections = &ws.job(ws.jobs()[0]["id"].as_i64().unwrap())["rejections"];
    assert_eq!(rejections.as_array().unwrap().len(), 3, "{rejections}");
    assert!(
        stored.contains("characters long; max_length is 5"),
        "{stored}"
    );
    assert_hidden(&stored, &["LOVELACE", "900123456", "900123457"]);
    let report = fs::read_to_string(ws.path().join("outbox/hires.csv.rejects.csv")).unwrap();
    assert!(
        report.contains("characters long; max_length is 5"),
        "{report}"
    );
    assert_hidden(&report, &["LOVELACE", "900123456", "900123457"]);
}

/// A workspace whose profile `hires` writes `output` (with `extra` `[validation]` keys; one
/// of its three rows is rejected), and a folder `elsewhere/` beside `outbox/` that no output
/// may reach.
fn confined_workspace(output: &str, extra: &str) -> Workspace {
    let ws = Workspace::new();
    ws.profile(
        "hires",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/hires"

[[field]]
name = "employee_id"
from = "ID"
required = true

[validation]
max_reject_ratio = 1.0
{extra}

[[output]]
type = "file"
path = "{output}"
"#
        ),
    );
    fs::create_dir_all(ws.path().join("outbox")).unwrap();
    fs::create_dir_all(ws.path().join("elsewhere")).unwrap();
    ws.drop_file("hires", "hires.csv", b"ID,Name\nE1,a\n,b\nE3,c\n");
    ws
}

fn link(target: &str, at: &Workspace, name: &str) {
    std::os::unix::fs::symlink(at.path().join(target), at.path().join(name)).unwrap();
}

/// Runs the one pass and says the job's status and error.
fn job_outcome(ws: &Workspace) -> (String, String) {
    ws.run(&["run", "--once"]);
    let job = &ws.jobs()[0];
    (
        job["status"].as_str().unwrap().to_string(),
        job["error"].as_str().unwrap_or_default().to_string(),
    )
}

// Paths use `{source_stem}` so that `check` (which renders a sample name) passes and the job
// meets the link when it writes; a link `check` can see is refused before any job runs.

#[test]
fn a_symlinked_folder_inside_an_output_root_cannot_lead_outputs_outside() {
    let ws = confined_workspace("outbox/{source_stem}/hires.csv", "");
    link("elsewhere", &ws, "outbox/hires");
    let (status, error) = job_outcome(&ws);
    assert_eq!(status, "failed", "{error}");
    assert!(
        error.contains("outside the allowed output roots"),
        "{error}"
    );
    assert_eq!(
        common::all_files(&ws.path().join("elsewhere")),
        Vec::<std::path::PathBuf>::new()
    );

    let ws = confined_workspace("outbox/hris/hires.csv", "");
    link("elsewhere", &ws, "outbox/hris");
    let out = ws.run(&["check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("through a symbolic link"),
        "{}",
        stderr(&out)
    );
    assert_ne!(ws.run(&["run", "--once"]).status.code(), Some(0));
    assert_eq!(
        common::all_files(&ws.path().join("elsewhere")),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn a_rejects_report_through_a_symlinked_folder_is_refused() {
    let ws = confined_workspace(
        "outbox/hires.csv",
        "rejects_path = \"outbox/{source_stem}/rejects.csv\"",
    );
    link("elsewhere", &ws, "outbox/hires");
    let (status, error) = job_outcome(&ws);
    assert_eq!(status, "failed", "{error}");
    assert!(error.contains("rejects_path"), "{error}");
    assert_eq!(
        common::all_files(&ws.path().join("elsewhere")),
        Vec::<std::path::PathBuf>::new()
    );
    assert!(!ws.path().join("outbox/hires.csv").exists());
}

#[test]
fn a_symlinked_final_name_is_refused_and_links_inside_the_root_still_work() {
    let ws = confined_workspace("outbox/{source_stem}.csv", "");
    fs::write(ws.path().join("elsewhere/victim.csv"), "keep me").unwrap();
    link("elsewhere/victim.csv", &ws, "outbox/hires.csv");
    let (status, error) = job_outcome(&ws);
    assert_eq!(status, "failed", "{error}");
    assert!(error.contains("is a symbolic link"), "{error}");
    assert_eq!(
        fs::read_to_string(ws.path().join("elsewhere/victim.csv")).unwrap(),
        "keep me"
    );

    // A link that stays inside the root is fine.
    let ws = confined_workspace("outbox/{source_stem}/hires.csv", "");
    fs::create_dir_all(ws.path().join("outbox/2026")).unwrap();
    link("outbox/2026", &ws, "outbox/hires");
    let (status, error) = job_outcome(&ws);
    assert_eq!(status, "partial", "{error}");
    assert!(ws.path().join("outbox/2026/hires.csv").exists());
}

#[test]
fn date_in_output_names_is_the_profiles_time_zone_not_the_process_one() {
    // UTC+14 and UTC-12: never the same date, whenever the test runs.
    let ws = confined_workspace("outbox/hires_{date:%Y%m%d}.csv", "");
    let text = fs::read_to_string(ws.path().join("profiles/hires.toml")).unwrap();
    ws.profile(
        "hires",
        &format!("schedule = \"0 9 * * *\"\ntimezone = \"Pacific/Kiritimati\"\n{text}"),
    );
    let out = ws
        .cmd(&["run", "--once"])
        .env("TZ", "Etc/GMT+12")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let kiritimati = chrono::Utc::now() + chrono::Duration::hours(14);
    let expected = format!("hires_{}.csv", kiritimati.format("%Y%m%d"));
    let names = ws.files_under("outbox");
    // Just after midnight the clock may have moved on between the run and here.
    let earlier = format!(
        "hires_{}.csv",
        (kiritimati - chrono::Duration::minutes(1)).format("%Y%m%d")
    );
    assert!(
        names.contains(&expected) || names.contains(&earlier),
        "{names:?}, expected {expected}"
    );
}

#[test]
fn bidi_controls_in_file_names_are_shown_escaped() {
    let ws = confined_workspace("outbox/{source_stem}.csv", "");
    let name = "hires_\u{202E}vsc.exe\u{2066}.csv";
    fs::rename(
        ws.path().join("inbox/hires/hires.csv"),
        ws.path().join("inbox/hires").join(name),
    )
    .unwrap();
    let run = ws.run(&["run", "--once"]);
    let jobs = ws.run(&["jobs"]);
    let audit = ws.run(&["audit"]);
    for out in [&run, &jobs, &audit] {
        let shown = format!("{}{}", stdout(out), stderr(out));
        assert!(
            !shown.contains(['\u{202E}', '\u{2066}']),
            "raw bidi control in {shown}"
        );
    }
    assert!(
        stdout(&jobs).contains("hires_\\u{202e}vsc.exe\\u{2066}.csv"),
        "{}",
        stdout(&jobs)
    );
}
