//! `[lifecycle]` end to end: full rosters of 120 generated people, day after day, become
//! joiners, movers (with exactly the changed fields), leavers by status and by absence, and
//! rehires — delivered to the stand-in's SCIM service and to a changes file; a truncated
//! roster is held, sends nothing, and is rejected or approved by an operator.
//!
//! The expected changes come from this file's own model of the rules (`expected`), not from
//! hrbridge.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{stderr, stdout, Workspace};
use hrbridge::standin::{Config, StandinApi};

/// One person as the HRIS exports them.
#[derive(Debug, Clone, PartialEq)]
struct Person {
    given: String,
    email: String,
    dept: String,
    status: String,
}

type Roster = BTreeMap<String, Person>;

fn key(i: usize) -> String {
    format!("P{i:05}")
}

/// Day 1: 120 active people in four departments.
fn first_roster() -> Roster {
    (1..=120)
        .map(|i| {
            let person = Person {
                given: format!("Given{i}"),
                email: format!("p{i}@example.com"),
                dept: ["Sales", "Ops", "Eng", "HR"][i % 4].to_string(),
                status: "Active".to_string(),
            };
            (key(i), person)
        })
        .collect()
}

fn csv(roster: &Roster) -> Vec<u8> {
    let mut out = String::from("Employee,Given,Email,Department,Status\n");
    for (k, p) in roster {
        out.push_str(&format!(
            "{k},{},{},{},{}\n",
            p.given, p.email, p.dept, p.status
        ));
    }
    out.into_bytes()
}

/// A person's mapped fields, by output field name (the profile trims the department).
fn mapped(p: &Person) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("userName", p.email.clone()),
        ("name.givenName", p.given.clone()),
        ("enterprise.department", p.dept.trim().to_string()),
        ("status", p.status.clone()),
    ])
}

/// What the rules say `file` changes against the accepted `snapshot` (person, active):
/// kind → key → changed fields (sorted; a leaver by status lists its status).
fn expected(
    snapshot: &BTreeMap<String, (Person, bool)>,
    file: &Roster,
) -> BTreeMap<&'static str, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<&'static str, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (k, p) in file {
        let terminated = p.status == "Terminated";
        let kind = match snapshot.get(k) {
            None if terminated => None,
            None => Some("joiner"),
            Some((_, true)) if terminated => Some("leaver"),
            Some((_, false)) if !terminated => Some("rehire"),
            Some((old, true)) if mapped(old) != mapped(p) => Some("mover"),
            _ => None,
        };
        if let Some(kind) = kind {
            let changed = match snapshot.get(k) {
                Some((old, _)) => {
                    let (a, b) = (mapped(old), mapped(p));
                    a.keys()
                        .filter(|f| a[*f] != b[*f])
                        .map(|f| f.to_string())
                        .collect()
                }
                _ => Vec::new(),
            };
            out.entry(kind).or_default().insert(k.clone(), changed);
        }
    }
    for (k, (_, active)) in snapshot {
        if *active && !file.contains_key(k) {
            out.entry("leaver")
                .or_default()
                .insert(k.clone(), Vec::new());
        }
    }
    out
}

/// The snapshot after `file` is accepted.
fn accept(snapshot: &mut BTreeMap<String, (Person, bool)>, file: &Roster) {
    for (k, (_, active)) in snapshot.iter_mut() {
        if !file.contains_key(k) {
            *active = false;
        }
    }
    for (k, p) in file {
        snapshot.insert(k.clone(), (p.clone(), p.status != "Terminated"));
    }
}

fn workspace(api: &StandinApi) -> Workspace {
    let ws = Workspace::new();
    let base = api.base_url();
    ws.profile(
        "roster",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/roster"

[lifecycle]
mode = "snapshot"
status_field = "status"
terminated_values = ["terminated"]
max_leavers = "20%"

[[field]]
name = "externalId"
from = "Employee"
key = true
required = true

[[field]]
name = "userName"
from = "Email"
pii = true

[[field]]
name = "name.givenName"
from = "Given"
pii = true

[[field]]
name = "enterprise.department"
from = "Department"
transform = ["trim"]

[[field]]
name = "status"
from = "Status"

[[output]]
type = "scim"
base_url = "{base}/scim/v2"
backoff = "5ms"
auth = {{ type = "oauth2", token_url = "{base}/oauth/token", client_id = "hrbridge-demo", client_secret = "${{env:IDP_SECRET}}" }}

[[output]]
type = "file"
path = "outbox/changes_{{seq}}.csv"
format = "csv"

[[output]]
type = "file"
path = "outbox/roster_{{seq}}.csv"
format = "csv"
send = "roster"
"#
        ),
    );
    ws
}

fn hrbridge(ws: &Workspace, args: &[&str]) -> std::process::Output {
    let out = ws
        .cmd(args)
        .env("IDP_SECRET", "demo-secret")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    out
}

/// Drops `roster` as day `day`'s file and runs one pass; returns the new job's id and status.
fn deliver_day(ws: &Workspace, day: u32, roster: &Roster) -> (i64, String) {
    ws.drop_file("roster", &format!("roster_day{day}.csv"), &csv(roster));
    let out = hrbridge(ws, &["run", "--once"]);
    let jobs = ws.jobs();
    let job = jobs
        .first()
        .unwrap_or_else(|| panic!("day {day}: no job: {}{}", stdout(&out), stderr(&out)));
    let status = job["status"].as_str().unwrap().to_string();
    assert_eq!(
        out.status.success(),
        status != "held",
        "day {day}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    (job["id"].as_i64().unwrap(), status)
}

/// The plan of `job` as `changes --json` lists it: kind → key → changed fields.
fn listed(ws: &Workspace, job: i64) -> BTreeMap<&'static str, BTreeMap<String, Vec<String>>> {
    let out = hrbridge(ws, &["changes", &job.to_string(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_kind: BTreeMap<&'static str, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for c in json["changes"].as_array().unwrap() {
        let kind = ["joiner", "mover", "leaver", "rehire"]
            .into_iter()
            .find(|k| *k == c["change"].as_str().unwrap())
            .unwrap_or_else(|| panic!("unknown change {c}"));
        let mut changed: Vec<String> = c["changed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_string())
            .collect();
        changed.sort();
        by_kind
            .entry(kind)
            .or_default()
            .insert(c["key"].as_str().unwrap().to_string(), changed);
    }
    by_kind
}

/// The `change` column of a published CSV output, by key.
fn file_changes(ws: &Workspace, name: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(ws.path().join("outbox").join(name)).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    let at = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (k, c) = (at("externalId"), at("change"));
    rows.records()
        .map(|r| {
            let r = r.unwrap();
            (r[k].to_string(), r[c].to_string())
        })
        .collect()
}

/// Active users at the stand-in, by externalId.
fn active_users(api: &StandinApi) -> BTreeSet<String> {
    api.record()
        .users
        .iter()
        .filter(|u| u.active && !u.deleted)
        .filter_map(|u| u.external_id.clone())
        .collect()
}

fn active_in(snapshot: &BTreeMap<String, (Person, bool)>) -> BTreeSet<String> {
    snapshot
        .iter()
        .filter(|(_, (_, active))| *active)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Every other person of `roster` gone but two in five: 60 % of the rows missing.
fn truncated(roster: &Roster) -> Roster {
    roster
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 < 2)
        .map(|(_, (k, p))| (k.clone(), p.clone()))
        .collect()
}

#[test]
fn rosters_become_joiners_movers_leavers_and_rehires_and_a_truncated_one_is_held() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api);
    let mut snapshot = BTreeMap::new();

    // Day 1: everyone is a joiner.
    let day1 = first_roster();
    let (job1, status) = deliver_day(&ws, 1, &day1);
    assert_eq!(status, "succeeded");
    let want = expected(&snapshot, &day1);
    assert_eq!(want["joiner"].len(), 120);
    assert_eq!(listed(&ws, job1), want);
    accept(&mut snapshot, &day1);
    assert_eq!(active_users(&api), active_in(&snapshot));
    assert_eq!(file_changes(&ws, "changes_1.csv").len(), 120);

    // Day 2: three hires, two moves (one of a PII field), a leaver by status and one by
    // absence; a department written with blanks around it is no move.
    let mut day2 = day1.clone();
    for i in 121..=123 {
        let mut p = day1[&key(1)].clone();
        p.given = format!("New{i}");
        p.email = format!("p{i}@example.com");
        day2.insert(key(i), p);
    }
    day2.get_mut(&key(5)).unwrap().dept = "Legal".into();
    let p10 = day2.get_mut(&key(10)).unwrap();
    p10.dept = "Sales".into();
    p10.email = "p10.new@example.com".into();
    day2.get_mut(&key(20)).unwrap().status = "Terminated".into();
    day2.remove(&key(30));
    let p50 = day2.get_mut(&key(50)).unwrap();
    p50.dept = format!("  {}  ", p50.dept);
    let (job2, status) = deliver_day(&ws, 2, &day2);
    assert_eq!(status, "succeeded");
    let want = expected(&snapshot, &day2);
    assert_eq!(want["joiner"].len(), 3);
    assert_eq!(want["mover"].len(), 2, "{want:?}");
    assert_eq!(
        want["mover"][&key(10)],
        ["enterprise.department", "userName"]
    );
    assert_eq!(want["leaver"].len(), 2);
    assert_eq!(listed(&ws, job2), want);
    accept(&mut snapshot, &day2);
    assert_eq!(active_users(&api), active_in(&snapshot));
    let sent = file_changes(&ws, "changes_2.csv");
    assert_eq!(sent.len(), 7);
    assert_eq!(sent[&key(30)], "leaver");
    assert_eq!(sent[&key(5)], "mover");
    let roster_file = file_changes(&ws, "roster_2.csv");
    assert_eq!(
        roster_file.len(),
        day2.len() + 1,
        "the roster output has every person, and the leaver by absence"
    );
    assert_eq!(roster_file[&key(30)], "leaver");
    assert_eq!(
        roster_file[&key(7)],
        "",
        "an unchanged person has no change"
    );

    // Day 3: the leaver by absence is back (a rehire), one more move.
    let mut day3 = day2.clone();
    day3.insert(key(30), day1[&key(30)].clone());
    day3.get_mut(&key(40)).unwrap().dept = "Legal".into();
    let (job3, _) = deliver_day(&ws, 3, &day3);
    let want = expected(&snapshot, &day3);
    assert_eq!(want["rehire"].keys().collect::<Vec<_>>(), [&key(30)]);
    assert_eq!(listed(&ws, job3), want);
    accept(&mut snapshot, &day3);
    assert_eq!(active_users(&api), active_in(&snapshot));

    // Day 4: 60 % of the rows missing — held, nothing sent; then rejected.
    let requests_before = api.record().requests.len();
    let day4 = truncated(&day3);
    let (job4, status) = deliver_day(&ws, 4, &day4);
    assert_eq!(status, "held");
    assert_eq!(
        api.record().requests.len(),
        requests_before,
        "a held job sends nothing"
    );
    assert!(!ws.path().join("outbox/changes_4.csv").exists());
    let plan = hrbridge(&ws, &["changes", &job4.to_string()]);
    assert!(
        stdout(&plan).contains("over max_leavers"),
        "{}",
        stdout(&plan)
    );
    assert_eq!(listed(&ws, job4), expected(&snapshot, &day4));
    // The next file waits behind the held one.
    ws.drop_file("roster", "roster_day4b.csv", &csv(&day3));
    hrbridge(&ws, &["run", "--once"]);
    assert_eq!(
        ws.jobs()[0]["id"].as_i64().unwrap(),
        job4,
        "no job while one is held"
    );
    std::fs::remove_file(ws.path().join("inbox/roster/roster_day4b.csv")).unwrap();
    let out = hrbridge(&ws, &["reject", &job4.to_string()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(ws.job(job4)["job"]["status"], "failed");
    assert!(ws
        .files_under("var/error/roster")
        .iter()
        .any(|f| f.contains("roster_day4")));
    assert_eq!(
        api.record().requests.len(),
        requests_before,
        "a rejected job sends nothing"
    );
    assert!(
        ws.files_under("outbox").iter().all(|f| !f.contains('4')),
        "{:?}",
        ws.files_under("outbox")
    );

    // Day 5: a good day diffs against day 3's snapshot — one move.
    let mut day5 = day3.clone();
    day5.get_mut(&key(60)).unwrap().dept = "Legal".into();
    let (job5, status) = deliver_day(&ws, 5, &day5);
    assert_eq!(status, "succeeded");
    let want = expected(&snapshot, &day5);
    assert_eq!(want.keys().collect::<Vec<_>>(), [&"mover"]);
    assert_eq!(listed(&ws, job5), want);
    accept(&mut snapshot, &day5);

    // Day 6: truncated again, held, then approved: exactly its plan is applied.
    let day6 = truncated(&day5);
    let (job6, status) = deliver_day(&ws, 6, &day6);
    assert_eq!(status, "held");
    let want = expected(&snapshot, &day6);
    assert_eq!(listed(&ws, job6), want);
    let out = hrbridge(&ws, &["approve", &job6.to_string()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(ws.job(job6)["job"]["status"], "succeeded");
    accept(&mut snapshot, &day6);
    assert_eq!(active_users(&api), active_in(&snapshot));
    let sent = file_changes(&ws, "changes_6.csv");
    assert_eq!(sent.len(), want["leaver"].len());
    assert!(sent.values().all(|c| c == "leaver"));
}
