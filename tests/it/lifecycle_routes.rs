//! `[output.on.<kind>]` end to end: a lifecycle profile's `http` output sends joiners with
//! the output's own request (POST, the id captured), movers and leavers with their own method,
//! URL and body (PATCH on the captured id) — checked against the stand-in HR API's record of
//! every request and the employees it holds.

use crate::common::profiles;
use crate::common::{standin_oauth2, stderr, stdout, Workspace};
use hrbridge::standin::{Config, StandinApi};

fn roster(rows: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut csv = String::from("Employee ID,Department,Status\n");
    for (id, dept, status) in rows {
        csv.push_str(&format!("{id},{dept},{status}\n"));
    }
    csv.into_bytes()
}

fn run(ws: &Workspace) {
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

/// (method, path) of the stand-in's employee requests, in arrival order.
fn requests(api: &StandinApi) -> Vec<(String, String)> {
    api.record()
        .requests
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/employees"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

#[test]
fn each_kind_of_change_is_sent_with_its_own_request() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = Workspace::new();
    ws.secret("hris", "demo-secret");
    let base = api.base_url();
    let auth = standin_oauth2(&base);
    ws.profile(
        "hris",
        &format!(
            r#"{opening}
[lifecycle]
mode = "snapshot"
status_field = "status"
terminated_values = ["terminated"]
max_leavers = "100%"

[[field]]
name = "department"
from = "Department"

[[field]]
name = "status"
from = "Status"

[[output]]
type = "http"
url = "{base}/api/v1/employees"
capture_id = "/id"
backoff = "5ms"
{auth}

[output.on.mover]
method = "PATCH"
url = "{base}/api/v1/employees/{{id}}"
body = {{ department = "{{department}}", changed = "{{changed_fields}}" }}

[output.on.leaver]
method = "PATCH"
url = "{base}/api/v1/employees/{{id}}"
body = {{ status = "terminated", reason = "{{change}}" }}
"#,
            opening = profiles::keyed_by_employee_id("hris")
        ),
    );
    ws.drop_file(
        "hris",
        "day1.csv",
        &roster(&[
            ("E1", "Sales", "Active"),
            ("E2", "Ops", "Active"),
            ("E3", "Ops", "Active"),
        ]),
    );
    run(&ws);
    let first = requests(&api);
    assert_eq!(first.len(), 3, "{first:?}");
    assert!(first
        .iter()
        .all(|(m, p)| m == "POST" && p == "/api/v1/employees"));
    let ids: Vec<(String, String)> = api
        .record()
        .employees
        .iter()
        .map(|(key, e)| (key.clone(), e.id.clone()))
        .collect();
    let id_of = |key: &str| ids.iter().find(|(k, _)| k == key).unwrap().1.clone();

    // E1 moves to Ops; E3 is terminated; E2 is unchanged.
    ws.drop_file(
        "hris",
        "day2.csv",
        &roster(&[
            ("E1", "Ops", "Active"),
            ("E2", "Ops", "Active"),
            ("E3", "Ops", "Terminated"),
        ]),
    );
    run(&ws);
    let second: Vec<(String, String)> = requests(&api).split_off(3);
    let expected = vec![
        (
            "PATCH".to_string(),
            format!("/api/v1/employees/{}", id_of("E1")),
        ),
        (
            "PATCH".to_string(),
            format!("/api/v1/employees/{}", id_of("E3")),
        ),
    ];
    let mut sorted = second.clone();
    sorted.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(sorted, expected_sorted, "{second:?}");
    let record = api.record();
    let e1 = &record.employees["E1"].body;
    assert_eq!(e1["department"], "Ops");
    assert_eq!(e1["changed"], "department");
    let e3 = &record.employees["E3"].body;
    assert_eq!(e3["status"], "terminated");
    assert_eq!(e3["reason"], "leaver");
    assert_eq!(record.employees["E2"].applied, 1, "E2 was sent again");
}
