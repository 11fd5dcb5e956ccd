//! `hrbridge trace KEY`: what became of one person across jobs and profiles — delivered to a
//! real HTTP API (the stand-in on loopback) and published to a file, rejected for a bad date,
//! filtered out, refused by the API with a 422 — answered from keyed hashes, while the state
//! folder holds no readable copy of the key.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::common::{files_holding, standin_oauth2, stderr, stdout, Workspace};
use hrbridge::standin::{Config, StandinApi};

/// The person whose id must never be readable in the state folder.
const CANARY: &str = "K7731-CANARY";

const HEADER: &str = "Employee ID,Status,Start Date,SSN\n";

/// `hris` delivers to the stand-in and writes a file; `lms` writes a file of the same people.
fn workspace(api: &StandinApi) -> Workspace {
    let ws = Workspace::new();
    ws.secret("hris", "demo-secret");
    for inbox in ["inbox/hris", "inbox/lms"] {
        std::fs::create_dir_all(ws.path().join(inbox)).unwrap();
    }
    let base = api.base_url();
    let auth = standin_oauth2(&base);
    let fields = r#"
[[field]]
name = "employee_id"
from = "Employee ID"
required = true
key = true

[[field]]
name = "start_date"
from = "Start Date"
type = "date"
input_formats = ["%m/%d/%Y"]
format = "%Y-%m-%d"

[[field]]
name = "ssn"
from = "SSN"
pii = true

[[filter]]
column = "Status"
equals = "Accepted"

[validation]
max_reject_ratio = 0.5
"#;
    ws.profile(
        "hris",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/hris"
{fields}
[[output]]
type = "http"
url = "{base}/api/v1/employees"
capture_id = "/id"
backoff = "5ms"
backoff_max = "100ms"
max_attempts = 3
{auth}

[[output]]
type = "file"
path = "outbox/hris_{{seq}}.csv"
"#
        ),
    );
    ws.profile(
        "lms",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/lms"
{fields}
[[output]]
type = "file"
path = "outbox/lms_{{seq}}.csv"
"#
        ),
    );
    ws
}

fn run_once(ws: &Workspace) {
    let out = ws
        .cmd(&["run", "--once"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// `trace KEY [args]` as JSON.
fn trace(ws: &Workspace, key: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["trace", key, "--json"];
    all.extend_from_slice(args);
    let out = ws.run(&all);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `(job, profile, row, read as)` of each sighting.
fn summary(found: &[Value]) -> Vec<(i64, String, i64, String)> {
    found
        .iter()
        .map(|s| {
            (
                s["job"].as_i64().unwrap(),
                s["profile"].as_str().unwrap().to_string(),
                s["row"].as_i64().unwrap(),
                s["read"]["as"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_trace_answers_for_the_delivered_the_rejected_the_filtered_and_the_refused() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api);
    // Job 1 (hris): the canary is delivered; a bad date, a withdrawn offer and a record the
    // stand-in refuses (it answers 422 to any record carrying REJECT-ME).
    ws.drop_file(
        "hris",
        "hires_1.csv",
        format!(
            "{HEADER}{CANARY},Accepted,06/03/2024,900-00-0001\n\
             E-DATE,Accepted,02/30/2024,900-00-0002\n\
             E-FILTER,Declined,06/03/2024,900-00-0003\n\
             E-422,Accepted,06/03/2024,REJECT-ME\n"
        )
        .as_bytes(),
    );
    run_once(&ws);
    // Job 2 (lms): the canary again, in another profile.
    ws.drop_file(
        "lms",
        "lms.csv",
        format!("{HEADER}E-OTHER,Accepted,06/03/2024,900-00-0009\n{CANARY},Accepted,06/03/2024,900-00-0001\n").as_bytes(),
    );
    run_once(&ws);
    // Job 3 (hris): the canary with a date that does not exist.
    ws.drop_file(
        "hris",
        "hires_2.csv",
        format!("{HEADER}E-NEW,Accepted,06/04/2024,900-00-0004\n{CANARY},Accepted,13/01/2024,900-00-0001\n").as_bytes(),
    );
    run_once(&ws);

    let canary = trace(&ws, CANARY, &[]);
    assert_eq!(
        summary(&canary),
        [
            (3, "hris".into(), 3, "rejected".into()),
            (2, "lms".into(), 3, "written".into()),
            (1, "hris".into(), 2, "written".into()),
        ],
        "{canary:#?}"
    );
    let reasons = canary[0]["read"]["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0]["column"], "Start Date");
    assert_eq!(reasons[0]["field"], "start_date");
    assert!(
        reasons[0]["reason"]
            .as_str()
            .unwrap()
            .contains("13/01/2024"),
        "{reasons:?}"
    );
    assert_eq!(canary[0]["outputs"], Value::Array(Vec::new()));
    let lms = canary[1]["outputs"].as_array().unwrap();
    assert_eq!(lms.len(), 1);
    assert_eq!(lms[0]["state"], "published");
    assert!(lms[0]["destination"]
        .as_str()
        .unwrap()
        .ends_with("outbox/lms_1.csv"));
    let delivered = canary[2]["outputs"].as_array().unwrap();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert_eq!(delivered[0]["state"], "delivered");
    assert_eq!(delivered[0]["status"], 201);
    assert_eq!(
        delivered[0]["destination"],
        format!("POST {}/api/v1/employees", api.base_url())
    );
    // The id the API gave, from the id map (kept under a keyed hash of the key).
    let remote = delivered[0]["remote_id"].as_str().unwrap();
    let server = api.record();
    let at_server = server
        .employees
        .get(CANARY)
        .expect("the canary at the server");
    assert_eq!(remote, at_server.id, "{delivered:?}");
    assert_eq!(delivered[1]["state"], "published");

    let refused = trace(&ws, "E-422", &[]);
    assert_eq!(summary(&refused), [(1, "hris".into(), 5, "written".into())]);
    let outputs = refused[0]["outputs"].as_array().unwrap();
    assert_eq!(outputs[0]["state"], "failed");
    assert_eq!(outputs[0]["status"], 422);
    let why = outputs[0]["reason"].as_str().unwrap();
    assert!(
        why.starts_with("HTTP 422") && !why.contains("REJECT-ME"),
        "{why}"
    );
    assert!(outputs[0].get("remote_id").is_none(), "{outputs:?}");
    assert_eq!(outputs[1]["state"], "published");

    let bad_date = trace(&ws, "E-DATE", &[]);
    assert_eq!(
        summary(&bad_date),
        [(1, "hris".into(), 3, "rejected".into())]
    );
    assert_eq!(bad_date[0]["read"]["reasons"][0]["column"], "Start Date");

    let filtered = trace(&ws, "E-FILTER", &[]);
    assert_eq!(
        summary(&filtered),
        [(1, "hris".into(), 4, "filtered".into())]
    );
    assert_eq!(filtered[0]["read"]["filter"], 1);
    assert_eq!(filtered[0]["read"]["column"], "Status");
    assert_eq!(filtered[0]["outputs"], Value::Array(Vec::new()));

    // One profile's jobs only.
    let only = trace(&ws, CANARY, &["--profile", "lms"]);
    assert_eq!(summary(&only), [(2, "lms".into(), 3, "written".into())]);

    // The text says the same, newest first.
    let text = stdout(&ws.run(&["trace", CANARY]));
    assert!(
        text.starts_with("3 row(s) in 3 job(s), newest first:"),
        "{text}"
    );
    let (job3, job1) = (text.find("job 3 ·").unwrap(), text.find("job 1 ·").unwrap());
    assert!(job3 < job1, "{text}");
    assert!(
        text.contains("rejected: column \"Start Date\" (field start_date)"),
        "{text}"
    );
    assert!(text.contains("delivered, HTTP 201, remote id"), "{text}");
    let text = stdout(&ws.run(&["trace", "E-FILTER"]));
    assert!(
        text.contains("filtered out by [[filter]] 1 (column \"Status\")"),
        "{text}"
    );

    // Someone no file carried, and a key with nothing in it.
    let nobody = ws.run(&["trace", "E-NOBODY"]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(stdout(&nobody).starts_with("No job has read a row with this key"));
    assert_eq!(ws.run(&["trace", " "]).status.code(), Some(2));
    assert_eq!(
        ws.run(&["trace", CANARY, "--profile", "nope"])
            .status
            .code(),
        Some(2)
    );

    // The state folder (database, its journal, kept inputs, spools) never holds the id.
    assert_eq!(
        files_holding(&ws.path().join("var"), CANARY),
        Vec::<PathBuf>::new()
    );
}
