//! Effective dating end to end, with the clock injected (`HRBRIDGE_TODAY`): a future hire and
//! a future leave are queued and not sent; a later roster moves one date and withdraws a hire
//! (cancelled, never sent); `run --once` releases a change on its date with no new roster,
//! the daemon releases the next; a roster after that sends nothing twice. With
//! `prehire = "inactive"` a future hire is created inactive at once and activated on the date,
//! and one withdrawn before starting is deactivated. Retention keeps the roster a waiting
//! change is released from.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::common::daemon::{wait_until, Daemon};
use crate::common::rosters::scim_output;
use crate::common::{set_mtime, stderr, stdout, Workspace};
use hrbridge::standin::{Config, StandinApi};

/// (employee, status, start date, end date) as the HRIS exports them.
type Row = (&'static str, &'static str, &'static str, &'static str);

fn csv(rows: &[Row]) -> Vec<u8> {
    let mut out = String::from("Employee,Email,Status,Start,End\n");
    for (id, status, start, end) in rows {
        let email = format!("{}@example.com", id.to_lowercase());
        out.push_str(&format!("{id},{email},{status},{start},{end}\n"));
    }
    out.into_bytes()
}

fn workspace(api: &StandinApi, prehire: &str) -> Workspace {
    let ws = Workspace::new();
    ws.profile("roster", &profile(api, prehire));
    ws
}

/// The roster profile delivering to `api`.
fn profile(api: &StandinApi, prehire: &str) -> String {
    let scim = scim_output(&api.base_url(), "");
    format!(
        r#"
[source]
type = "dir"
path = "inbox/roster"

[lifecycle]
mode = "snapshot"
status_field = "status"
terminated_values = ["terminated"]
effective_from = {{ joiner = "start_date", leaver = "end_date" }}
prehire = "{prehire}"
# The rosters here are small: one leaver is already a large share.
max_leavers = "100%"
max_drop = "100%"

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
name = "status"
from = "Status"

[[field]]
name = "start_date"
from = "Start"

[[field]]
name = "end_date"
from = "End"

{scim}
[[output]]
type = "file"
path = "outbox/changes_{{seq}}.csv"
format = "csv"
"#
    )
}

/// `hrbridge ARGS` on `today`.
fn on(ws: &Workspace, today: &str, args: &[&str]) -> std::process::Output {
    let out = ws
        .cmd(args)
        .env("IDP_SECRET", "demo-secret")
        .env("HRBRIDGE_TODAY", today)
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    out
}

/// Drops `rows` as `name` and runs one pass on `today`; returns the newest job's id.
fn deliver(ws: &Workspace, today: &str, name: &str, rows: &[Row]) -> i64 {
    ws.drop_file("roster", name, &csv(rows));
    run_once(ws, today)
}

/// One pass on `today`, which must succeed; returns the newest job's id.
fn run_once(ws: &Workspace, today: &str) -> i64 {
    let out = on(ws, today, &["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let jobs = ws.jobs();
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"), "{jobs:?}");
    jobs[0]["id"].as_i64().unwrap()
}

/// `hrbridge queue --json` as (key, change, due).
fn queue(ws: &Workspace) -> Vec<(String, String, String)> {
    let out = on(ws, "2027-01-01", &["queue", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("key"), s("change"), s("due"))
        })
        .collect()
}

/// The plan's counts of job `job`: kind → n (zeros left out).
fn counts(ws: &Workspace, job: i64) -> BTreeMap<String, u64> {
    let out = on(ws, "2027-01-01", &["changes", &job.to_string(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["plan"]["counts"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

/// The stand-in's users by externalId: (active, how many users have that externalId).
fn users(api: &StandinApi) -> BTreeMap<String, (bool, usize)> {
    let mut out: BTreeMap<String, (bool, usize)> = BTreeMap::new();
    for u in api.record().users.iter().filter(|u| !u.deleted) {
        let e = out
            .entry(u.external_id.clone().unwrap_or_default())
            .or_default();
        e.0 |= u.active;
        e.1 += 1;
    }
    out
}

fn active(api: &StandinApi) -> Vec<String> {
    users(api)
        .into_iter()
        .filter(|(_, (a, _))| *a)
        .map(|(k, _)| k)
        .collect()
}

fn creates(api: &StandinApi) -> usize {
    api.record()
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Users") && r.status == 201)
        .count()
}

fn q(key: &str, change: &str, due: &str) -> (String, String, String) {
    (key.into(), change.into(), due.into())
}

#[test]
fn future_changes_wait_for_their_date_move_with_the_roster_and_are_sent_once() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api, "wait");
    let past = "2026-06-01";
    let mut day1: Vec<Row> = ["E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"]
        .into_iter()
        .map(|id| (id, "Active", past, ""))
        .collect();
    day1.push(("E9", "Active", "2027-01-15", ""));
    day1.push(("E10", "Active", "2027-01-20", ""));

    // Day 1: eight joiners now; two start later and wait.
    let job1 = deliver(&ws, "2027-01-10", "roster_1.csv", &day1);
    let expect: BTreeMap<String, u64> = [("joiners".into(), 8), ("queued".into(), 2)].into();
    assert_eq!(counts(&ws, job1), expect);
    assert_eq!(
        active(&api),
        ["E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"]
    );
    assert_eq!(
        queue(&ws),
        [
            q("E9", "joiner", "2027-01-15"),
            q("E10", "joiner", "2027-01-20")
        ]
    );

    // Day 2: E3 hands in notice for the 13th (the status change is sent, the leave waits);
    // E9's start moves to the 14th; E10's offer is withdrawn (gone from the roster).
    let mut day2: Vec<Row> = day1.iter().filter(|r| r.0 != "E10").copied().collect();
    for row in &mut day2 {
        match row.0 {
            "E3" => *row = ("E3", "Terminated", past, "2027-01-13"),
            "E9" => *row = ("E9", "Active", "2027-01-14", ""),
            _ => {}
        }
    }
    let job2 = deliver(&ws, "2027-01-11", "roster_2.csv", &day2);
    let expect: BTreeMap<String, u64> = [
        ("movers".into(), 1),
        ("cancelled".into(), 1),
        ("queued".into(), 2),
    ]
    .into();
    assert_eq!(counts(&ws, job2), expect);
    assert!(active(&api).contains(&"E3".to_string()));
    assert_eq!(
        queue(&ws),
        [
            q("E3", "leaver", "2027-01-13"),
            q("E9", "joiner", "2027-01-14")
        ]
    );

    // The 12th: nothing is due, no job runs.
    assert_eq!(run_once(&ws, "2027-01-12"), job2);

    // The 13th, no new roster: E3's leave is released, once.
    let release = run_once(&ws, "2027-01-13");
    assert!(release > job2);
    let expect: BTreeMap<String, u64> = [("leavers".into(), 1), ("queued".into(), 1)].into();
    assert_eq!(counts(&ws, release), expect);
    assert!(!active(&api).contains(&"E3".to_string()));
    assert_eq!(queue(&ws), [q("E9", "joiner", "2027-01-14")]);
    assert_eq!(run_once(&ws, "2027-01-13"), release, "released twice");

    // The 14th, by the daemon: E9 starts.
    let daemon = Daemon::start_with(
        ws.path(),
        &[
            ("HRBRIDGE_TODAY", "2027-01-14"),
            ("IDP_SECRET", "demo-secret"),
        ],
    );
    wait_until("the daemon to release E9", Duration::from_secs(20), || {
        active(&api).contains(&"E9".to_string()).then_some(())
    });
    daemon.terminate(Duration::from_secs(10));
    assert!(queue(&ws).is_empty(), "{:?}", queue(&ws));

    // The 15th: the roster without E3, who has left, changes nothing, and nothing was sent
    // twice.
    let day3: Vec<Row> = day2.iter().filter(|r| r.0 != "E3").copied().collect();
    let job3 = deliver(&ws, "2027-01-15", "roster_3.csv", &day3);
    assert_eq!(counts(&ws, job3), BTreeMap::new());
    assert_eq!(creates(&api), 9, "E1-E9 created once each; E10 never");
    let all = users(&api);
    assert!(all.values().all(|(_, n)| *n == 1), "{all:?}");
    assert!(!all.contains_key("E10"));
    let expected_active: Vec<String> = ["E1", "E2", "E4", "E5", "E6", "E7", "E8", "E9"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(active(&api), expected_active);

    // Each change file holds only what was sent that day.
    let changes = |seq: u32| {
        let text =
            std::fs::read_to_string(ws.path().join(format!("outbox/changes_{seq}.csv"))).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let at = |n: &str| header.iter().position(|h| h == n).unwrap();
        let (key, change) = (at("externalId"), at("change"));
        let mut rows: Vec<String> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                format!("{} {}", &r[key], &r[change])
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(changes(2), ["E3 mover"]);
    assert_eq!(changes(3), ["E3 leaver"]);
    assert_eq!(changes(4), ["E9 joiner"]);
}

#[test]
fn a_prehire_is_created_inactive_activated_on_its_date_and_ended_if_withdrawn() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api, "inactive");
    let day1: [Row; 3] = [
        ("E1", "Active", "2026-06-01", ""),
        ("E2", "Active", "2027-01-12", ""),
        ("E3", "Active", "2027-01-20", ""),
    ];
    let job1 = deliver(&ws, "2027-01-10", "roster_1.csv", &day1);
    let expect: BTreeMap<String, u64> = [
        ("joiners".into(), 1),
        ("prehires".into(), 2),
        ("queued".into(), 2),
    ]
    .into();
    assert_eq!(counts(&ws, job1), expect);
    let expect: BTreeMap<String, (bool, usize)> = [
        ("E1".into(), (true, 1)),
        ("E2".into(), (false, 1)),
        ("E3".into(), (false, 1)),
    ]
    .into();
    assert_eq!(users(&api), expect);

    // The same people the next day (E3 withdrawn): no second pre-hire for E2; E3 ended.
    let job2 = deliver(&ws, "2027-01-11", "roster_2.csv", &day1[..2]);
    let expect: BTreeMap<String, u64> = [("leavers".into(), 1), ("queued".into(), 1)].into();
    assert_eq!(counts(&ws, job2), expect);
    assert_eq!(queue(&ws), [q("E2", "joiner", "2027-01-12")]);

    // The 12th: E2 starts, on the account created ahead.
    let release = run_once(&ws, "2027-01-12");
    let expect: BTreeMap<String, u64> = [("joiners".into(), 1)].into();
    assert_eq!(counts(&ws, release), expect);
    let expect: BTreeMap<String, (bool, usize)> = [
        ("E1".into(), (true, 1)),
        ("E2".into(), (true, 1)),
        ("E3".into(), (false, 1)),
    ]
    .into();
    assert_eq!(users(&api), expect);
    assert_eq!(creates(&api), 3);
    assert!(queue(&ws).is_empty());
}

#[test]
fn retention_keeps_the_roster_that_waiting_changes_are_released_from() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api, "wait");
    let settings = ws.path().join("hrbridge.toml");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("retention = \"30d\"\n");
    std::fs::write(&settings, text).unwrap();
    let day1: [Row; 2] = [
        ("E1", "Active", "2026-06-01", ""),
        ("E2", "Active", "2027-03-01", ""),
    ];
    deliver(&ws, "2027-01-10", "roster_1.csv", &day1);
    let kept = ws.files_under("var/archive/roster");
    assert_eq!(kept.len(), 1, "{kept:?}");
    let kept = ws.path().join("var/archive/roster").join(&kept[0]);
    let long_ago = SystemTime::now() - Duration::from_secs(45 * 86_400);
    set_mtime(&kept, long_ago);

    // Weeks later, still before the date: the old roster is what E2 will be sent from.
    assert_eq!(run_once(&ws, "2027-02-20"), 1);
    assert!(kept.exists(), "purged while a change waits on it");
    let release = run_once(&ws, "2027-03-01");
    assert_eq!(release, 2);
    assert_eq!(active(&api), ["E1", "E2"]);

    // Nothing waits any more: old kept rosters go as usual (the release's own is new).
    run_once(&ws, "2027-03-02");
    assert!(!kept.exists(), "kept past its retention");
}

#[test]
fn a_release_that_failed_waits_for_retry_instead_of_running_every_pass() {
    // SCIM only: a release that reaches nothing fails (with a file output it would be partial).
    let scim_only = |api: &StandinApi| {
        let text = profile(api, "wait");
        let file = text.find("[[output]]\ntype = \"file\"").unwrap();
        text[..file].to_string()
    };
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = Workspace::new();
    ws.profile("roster", &scim_only(&api));
    let day1: [Row; 2] = [
        ("E1", "Active", "2026-06-01", ""),
        ("E2", "Active", "2027-01-12", ""),
    ];
    deliver(&ws, "2027-01-10", "roster_1.csv", &day1);
    api.stop();

    // The 12th, the service down: the release fails, once.
    let out = on(&ws, "2027-01-12", &["run", "--once"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let failed = ws.jobs()[0].clone();
    assert_eq!(failed["status"], "failed", "{failed}");
    let failed_id = failed["id"].as_i64().unwrap();
    let again = on(&ws, "2027-01-12", &["run", "--once"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(ws.jobs()[0]["id"], failed_id, "the release ran again");
    let said = format!("{}{}", stdout(&again), stderr(&again));
    assert!(
        said.contains(&format!("hrbridge retry {failed_id}")),
        "{said}"
    );
    assert_eq!(queue(&ws), [q("E2", "joiner", "2027-01-12")]);

    // The service is back (at a new address): retry sends it, and the snapshot moves on.
    let api = StandinApi::start(Config::default()).unwrap();
    ws.profile("roster", &scim_only(&api));
    let retried = on(&ws, "2027-01-12", &["retry", &failed_id.to_string()]);
    assert!(
        retried.status.success(),
        "{}{}",
        stdout(&retried),
        stderr(&retried)
    );
    assert_eq!(active(&api), ["E2"]);
    assert!(queue(&ws).is_empty(), "{:?}", queue(&ws));
    assert_eq!(
        run_once(&ws, "2027-01-13"),
        failed_id,
        "nothing is due any more"
    );
}
