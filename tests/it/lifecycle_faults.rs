//! `[lifecycle]` under faults and at its edges, each outcome judged by the harness's own
//! model of the rules (`common::rosters`) and by what the stand-in and the state folder hold:
//!
//! - a `run --once` SIGKILLed while a day's SCIM delivery is half done (a first SCIM output
//!   delivered, the second one cut) resumes on the next run: the delivered output gets
//!   nothing again, the other exactly what its ledger had not settled (no second create; a
//!   person's request repeated only if it was in flight at the kill), the snapshot advances
//!   exactly once, and the next day diffs against it; an `approve` of a held job killed in
//!   its delivery is finished the same way, applying exactly the held plan once;
//! - canary SSNs of a `pii` field, over days with movers, leavers by status and by absence, a
//!   rehire, a rejected row, a failed day and a held day (scanned while held, then approved),
//!   appear nowhere in the bytes of the state folder (the database and its `-wal`/`-shm`,
//!   spools, kept inputs, rejects reports) nor in anything hrbridge prints, though they did
//!   reach the outputs;
//! - a key twice in one roster rejects the second row, naming it, the key and the first row;
//!   a rejected row whose key can be read is no leaver; one whose key cannot be read holds
//!   the job instead of terminating the absent; `baseline = true` records quietly; values
//!   equal after `trim` are no move; a failed job (a broken contract, or a delivery that
//!   reached nobody) never advances the snapshot; `hrbridge plan` writes and sends nothing,
//!   and says when a job would fail the file's contract (FAILS today: `engine/plan.rs`
//!   does not run the contract checks that `engine/job.rs` keeps to itself).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::rosters::{
    accept, active_in, active_users, by_kind, csv, csv_line, deliver_day, expected, expected_by,
    file_rows, hrbridge, key, keys_of, listed, mapped, people, plan_json, run_day, scim_output,
    ssn, Person, Roster, RosterProfile, Snapshot, CHANGES_FILE, ROSTER_FILE,
};
use crate::common::{
    all_files, contains_bytes, files_holding, rejected_rows, stderr, stdout, Workspace,
};
use hrbridge::standin::{Config, Faults, Record, StandinApi};

/// The kinds of the audit trail's events about job `job`, in order.
fn events_of(ws: &Workspace, job: i64) -> Vec<String> {
    let out = ws.run(&["audit", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    events
        .iter()
        .filter(|e| e["job_id"] == job)
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// How many of `events` are of `kind`.
fn count(events: &[String], kind: &str) -> usize {
    events.iter().filter(|e| *e == kind).count()
}

/// The person a SCIM request is about: the key in a lookup's filter, or the externalId of
/// the user whose id the path names (`users` is the stand-in's final list). Token requests
/// and creates (which follow their lookup) name nobody.
fn person_of(
    request: &hrbridge::standin::Request,
    users: &BTreeMap<String, String>,
) -> Option<String> {
    let path = &request.path;
    if let Some(at) = path.find("%22P") {
        return Some(path[at + 3..at + 9].to_string());
    }
    let id = path.strip_prefix("/scim/v2/Users/")?;
    users.get(id).cloned()
}

/// SCIM user id → externalId, for every user the stand-in ever held.
fn user_keys(record: &Record) -> BTreeMap<String, String> {
    record
        .users
        .iter()
        .filter_map(|u| Some((u.id.clone(), u.external_id.clone()?)))
        .collect()
}

/// Each person the requests are about, with how many requests were.
fn touched(
    requests: &[hrbridge::standin::Request],
    users: &BTreeMap<String, String>,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in requests {
        if let Some(p) = person_of(r, users) {
            *out.entry(p).or_default() += 1;
        }
    }
    out
}

/// The department the stand-in holds for `external_id` (enterprise extension).
fn department(record: &Record, external_id: &str) -> Option<String> {
    let user = record
        .users
        .iter()
        .find(|u| u.external_id.as_deref() == Some(external_id) && !u.deleted)?;
    user.resource
        .get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")?
        .get("department")?
        .as_str()
        .map(str::to_string)
}

/// Runs hrbridge with `args` in `ws` and SIGKILLs it once `api` has answered `n` SCIM
/// requests after its first `from`; returns after the requests already on the wire arrived.
fn kill_once_answered(ws: &Workspace, args: &[&str], api: &StandinApi, from: usize, n: usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hrbridge"))
        .args(args)
        .current_dir(ws.path())
        .env("IDP_SECRET", "demo-secret")
        .env_remove("HRBRIDGE_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answered = api.record().requests[from..]
            .iter()
            .filter(|r| r.path.starts_with("/scim/") && r.status != 0)
            .count();
        if answered >= n {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "hrbridge {args:?} ended before the kill"
        );
        assert!(Instant::now() < deadline, "the delivery never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Requests already on the wire still arrive: wait until none has for 200 ms.
    let mut seen = api.record().requests.len();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = api.record().requests.len();
        if now == seen {
            break;
        }
        seen = now;
    }
}

/// The number of rows of output `index` of job `job` the delivery ledger has settled, read
/// from the database of `ws` (hrbridge is not running).
fn settled_rows(ws: &Workspace, job: i64, index: usize) -> usize {
    rusqlite::Connection::open_with_flags(
        ws.path().join("var/hrbridge.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
    .query_row(
        "SELECT count(*) FROM deliveries
          WHERE job_id = ?1 AND output_index = ?2 AND state IN ('delivered', 'failed')",
        rusqlite::params![job, index],
        |r| r.get(0),
    )
    .unwrap()
}

/// A slow stand-in: every SCIM answer takes 25 ms, so a day's delivery lasts long enough to
/// be cut.
fn slow_standin() -> StandinApi {
    StandinApi::start(Config {
        faults: Faults {
            slow: 1.0,
            slow_for: Duration::from_millis(25),
            ..Faults::default()
        },
        ..Config::default()
    })
    .unwrap()
}

/// SCIM workers of the crash test's slow output.
const WORKERS: usize = 2;

#[test]
fn killed_while_a_day_is_delivered_resumes_and_applies_each_change_once() {
    // Two SCIM services: `fast`, delivered to first, and `api`, whose every answer takes
    // 25 ms, so that a day's delivery to it lasts long enough to be cut. When it is, `fast`
    // has had all of the day's changes and the snapshot has not advanced yet.
    let fast = StandinApi::start(Config::default()).unwrap();
    let api = slow_standin();
    let slow = scim_output(
        &api.base_url(),
        &format!("concurrency = {WORKERS}\nupdate = \"put\""),
    );
    let fast_base = fast.base_url();
    let ws = RosterProfile {
        lifecycle: "max_leavers = \"50%\"",
        scim_to: Some(&fast_base),
        scim: "id_map = \"fast\"",
        outputs: &format!("{slow}{CHANGES_FILE}"),
        ..RosterProfile::default()
    }
    .workspace();
    let mut snapshot = Snapshot::new();
    let day1 = people(60);
    let (job1, status) = deliver_day(&ws, 1, &day1);
    assert_eq!(status, "succeeded");
    accept(&mut snapshot, &day1);
    assert_eq!(active_users(&api), active_in(&snapshot));
    assert_eq!(active_users(&fast), active_in(&snapshot));

    // Day 2: ten hires, ten moves, five leavers by status and five by absence.
    let mut day2 = day1.clone();
    let everyone = people(70);
    for i in 61..=70 {
        day2.insert(key(i), everyone[&key(i)].clone());
    }
    for i in (2..=20).step_by(2) {
        day2.get_mut(&key(i)).unwrap().dept = "Legal".into();
    }
    for i in [21, 23, 25, 27, 29] {
        day2.get_mut(&key(i)).unwrap().status = "Terminated".into();
    }
    for i in [31, 33, 35, 37, 39] {
        day2.remove(&key(i));
    }
    let want2 = expected(&snapshot, &day2);
    let sizes: Vec<usize> = want2.values().map(BTreeMap::len).collect();
    assert_eq!(
        want2.keys().collect::<Vec<_>>(),
        [&"joiner", &"leaver", &"mover"]
    );
    assert_eq!(sizes, [10, 10, 10]);

    let day1_requests = api.record().requests.len();
    let fast_day1 = fast.record().requests.len();
    ws.drop_file("roster", "roster_day2.csv", &csv(&day2));
    // Kill -9 once the stand-in has answered 8 of day 2's SCIM requests (of about 40).
    kill_once_answered(&ws, &["run", "--once"], &api, day1_requests, 8);
    let killed_at = api.record().requests.len();
    let fast_killed_at = fast.record().requests.len();
    let fast_record = fast.record();
    let fast_users = user_keys(&fast_record);
    let to_fast = touched(&fast_record.requests[fast_day1..], &fast_users);
    assert_eq!(
        to_fast.keys().cloned().collect::<BTreeSet<_>>(),
        keys_of(&want2),
        "the first output had all of the day before the kill"
    );
    assert!(to_fast.values().all(|n| *n == 1), "{to_fast:?}");
    let jobs = ws.jobs();
    assert_eq!(
        jobs[0]["status"], "committing",
        "killed mid-delivery: {jobs:?}"
    );
    let job2 = jobs[0]["id"].as_i64().unwrap();
    assert_eq!(
        plan_json(&ws, job2)["plan"]["state"],
        "planned",
        "no snapshot advance before the delivery finished"
    );
    // What the delivery ledger had settled when the process died (one person per line).
    let settled = settled_rows(&ws, job2, 1);
    assert!(settled < 30, "{settled} of 30 settled at the kill");

    // The next run resumes the job and finishes it.
    let out = hrbridge(&ws, &["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    accept(&mut snapshot, &day2);
    assert_eq!(
        fast.record().requests.len(),
        fast_killed_at,
        "the delivered output gets nothing again"
    );
    assert_eq!(active_users(&fast), active_in(&snapshot));
    let record = api.record();
    let users = user_keys(&record);
    let first = touched(&record.requests[day1_requests..killed_at], &users);
    let second = touched(&record.requests[killed_at..], &users);
    assert!(
        !first.is_empty() && !second.is_empty(),
        "{first:?} {second:?}"
    );
    let all: BTreeSet<String> = first.keys().chain(second.keys()).cloned().collect();
    assert_eq!(all, keys_of(&want2), "exactly the plan's people were sent");
    // The second run sends exactly the people the ledger had not settled; so the only ones
    // sent twice are those in flight at the kill (sent, or answered, but not yet recorded),
    // and no settled one.
    let again: Vec<&String> = first.keys().filter(|k| second.contains_key(*k)).collect();
    assert_eq!(second.len(), 30 - settled, "{second:?}");
    assert_eq!(again.len(), first.len() - settled, "sent again: {again:?}");
    for (who, n) in first.iter().chain(&second) {
        if !again.contains(&who) {
            assert_eq!(*n, 1, "{who} had {n} requests");
        }
    }

    // No person twice at the stand-in, no create twice.
    assert_eq!(record.users.len(), 70);
    let external: BTreeSet<_> = record
        .users
        .iter()
        .filter_map(|u| u.external_id.clone())
        .collect();
    assert_eq!(external.len(), 70);
    let posts: Vec<_> = record
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/scim/"))
        .collect();
    assert!(posts.iter().all(|r| r.idempotency_key.is_some()));
    let created: BTreeSet<_> = posts
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.idempotency_key.clone())
        .collect();
    assert_eq!(created.len(), 70, "one create per person");
    // Each leaver deactivated once (twice only if that was in flight at the kill).
    for k in want2["leaver"].keys() {
        let id = users.iter().find(|(_, x)| *x == k).unwrap().0;
        let patches = record
            .requests
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.ends_with(id.as_str()))
            .count();
        let most = if again.contains(&k) { 2 } else { 1 };
        assert!(
            (1..=most).contains(&patches),
            "{k}: {patches} deactivations"
        );
    }
    assert_eq!(active_users(&api), active_in(&snapshot));
    let fast_record = fast.record();
    for k in want2["mover"].keys() {
        assert_eq!(department(&record, k).as_deref(), Some("Legal"), "{k}");
        assert_eq!(department(&fast_record, k).as_deref(), Some("Legal"), "{k}");
    }

    // One job for the day, finished by the second run; the snapshot advanced once, to it.
    let jobs = ws.jobs();
    let listed_jobs: Vec<(i64, &str)> = jobs
        .iter()
        .map(|j| (j["id"].as_i64().unwrap(), j["status"].as_str().unwrap()))
        .collect();
    assert_eq!(listed_jobs, [(job2, "succeeded"), (job1, "succeeded")]);
    let (events1, events2) = (events_of(&ws, job1), events_of(&ws, job2));
    assert_eq!(count(&events2, "job.recovered"), 1, "{events2:?}");
    assert_eq!(count(&events2, "snapshot.advanced"), 1, "{events2:?}");
    assert_eq!(count(&events1, "snapshot.advanced"), 1, "{events1:?}");
    let plan2 = plan_json(&ws, job2);
    assert_eq!(plan2["plan"]["state"], "applied");
    assert_eq!(by_kind(&plan2), want2);
    assert_eq!(ws.files_under("outbox"), ["changes_1.csv", "changes_2.csv"]);
    assert_eq!(file_rows(&ws, "changes_2.csv").len(), 30);
    assert!(ws.files_under("inbox/roster").is_empty());
    assert_eq!(ws.files_under("var/archive/roster").len(), 2);
    assert!(ws.run(&["audit", "verify"]).status.success());

    // Day 3 diffs against day 2's snapshot: a rehire, two moves, a leaver.
    let mut day3 = day2.clone();
    day3.insert(key(31), day1[&key(31)].clone());
    day3.get_mut(&key(2)).unwrap().dept = "Ops".into();
    day3.get_mut(&key(65)).unwrap().dept = "Legal".into();
    day3.get_mut(&key(41)).unwrap().status = "Terminated".into();
    let want3 = expected(&snapshot, &day3);
    assert_eq!(keys_of(&want3).len(), 4);
    let before = api.record().requests.len();
    let (job3, status) = deliver_day(&ws, 3, &day3);
    assert_eq!(status, "succeeded");
    let plan3 = plan_json(&ws, job3);
    assert_eq!(plan3["plan"]["base_job"], job2);
    assert_eq!(by_kind(&plan3), want3);
    let record = api.record();
    let sent = touched(&record.requests[before..], &user_keys(&record));
    assert_eq!(
        sent.keys().cloned().collect::<BTreeSet<_>>(),
        keys_of(&want3)
    );
    assert!(sent.values().all(|n| *n == 1), "{sent:?}");
    accept(&mut snapshot, &day3);
    assert_eq!(active_users(&api), active_in(&snapshot));
}

#[test]
fn an_approval_killed_while_delivering_is_finished_once_by_the_next_run() {
    let api = slow_standin();
    let base = api.base_url();
    let scim = format!("concurrency = {WORKERS}");
    let ws = RosterProfile {
        scim_to: Some(&base),
        scim: &scim,
        outputs: CHANGES_FILE,
        ..RosterProfile::default()
    }
    .workspace();
    let mut snapshot = Snapshot::new();
    let day1 = people(30);
    let (job1, _) = deliver_day(&ws, 1, &day1);
    accept(&mut snapshot, &day1);

    // Day 2 has 60 % of the people missing: held (the default max_leavers is 20 %).
    let day2: Roster = day1
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 < 2)
        .map(|(_, (k, p))| (k.clone(), p.clone()))
        .collect();
    let want = expected(&snapshot, &day2);
    assert_eq!(want["leaver"].len(), 18);
    assert_eq!(want.len(), 1);
    let before = api.record().requests.len();
    let (job2, status) = deliver_day(&ws, 2, &day2);
    assert_eq!(status, "held");
    assert_eq!(
        api.record().requests.len(),
        before,
        "a held job sends nothing"
    );

    // The approval starts the delivery and is killed in its middle.
    kill_once_answered(&ws, &["approve", &job2.to_string()], &api, before, 5);
    let killed_at = api.record().requests.len();
    assert_eq!(ws.job(job2)["job"]["status"], "committing");
    assert_eq!(plan_json(&ws, job2)["plan"]["state"], "planned");
    let settled = settled_rows(&ws, job2, 0);
    assert!(settled < 18, "{settled} of 18 settled at the kill");

    let out = hrbridge(&ws, &["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let record = api.record();
    let users = user_keys(&record);
    let first = touched(&record.requests[before..killed_at], &users);
    let second = touched(&record.requests[killed_at..], &users);
    let all: BTreeSet<String> = first.keys().chain(second.keys()).cloned().collect();
    assert_eq!(all, keys_of(&want), "exactly the held plan was applied");
    let again = first.keys().filter(|k| second.contains_key(*k)).count();
    assert_eq!(second.len(), 18 - settled, "{second:?}");
    assert_eq!(again, first.len() - settled);
    accept(&mut snapshot, &day2);
    assert_eq!(active_users(&api), active_in(&snapshot));

    let jobs: Vec<(i64, String)> = ws
        .jobs()
        .iter()
        .map(|j| {
            (
                j["id"].as_i64().unwrap(),
                j["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        jobs,
        [
            (job2, "succeeded".to_string()),
            (job1, "succeeded".to_string())
        ]
    );
    let events = events_of(&ws, job2);
    for kind in [
        "job.held",
        "job.approved",
        "job.recovered",
        "snapshot.advanced",
    ] {
        assert_eq!(count(&events, kind), 1, "{kind}: {events:?}");
    }
    let plan = plan_json(&ws, job2);
    assert_eq!(plan["plan"]["state"], "applied");
    assert_eq!(by_kind(&plan), want);
    assert_eq!(file_rows(&ws, "changes_2.csv").len(), 18);
}

/// Each canary (as written, and its digits only) with the files under `dir` that hold it.
fn resting(dir: &Path, canaries: &BTreeSet<String>) -> Vec<(String, Vec<PathBuf>)> {
    let mut found = Vec::new();
    for canary in canaries {
        let digits: String = canary.chars().filter(char::is_ascii_digit).collect();
        for needle in [canary.clone(), digits] {
            let holding = files_holding(dir, &needle);
            if !holding.is_empty() {
                found.push((needle, holding));
            }
        }
    }
    found
}

/// The standard fields and the SSN.
fn mapped_with_ssn(p: &Person) -> BTreeMap<&'static str, String> {
    let mut m = mapped(p);
    m.insert("ssn", p.ssn.clone());
    m
}

#[test]
fn canary_ssns_never_rest_in_the_state_folder() {
    let api = StandinApi::start(Config::default()).unwrap();
    let base = api.base_url();
    let outputs = format!("{CHANGES_FILE}{ROSTER_FILE}");
    let ws = RosterProfile {
        lifecycle: "max_leavers = \"50%\"",
        validation: "max_reject_ratio = 0.2",
        fields: "\n[[field]]\nname = \"ssn\"\nfrom = \"SSN\"\npii = true\npattern = '\\d{3}-\\d{2}-\\d{4}'\n",
        scim_to: Some(&base),
        outputs: &outputs,
        ..RosterProfile::default()
    }
    .workspace();
    let mut canaries: BTreeSet<String> = BTreeSet::new();
    // Everything hrbridge printed: run summaries, plans, job details, the audit trail.
    let mut shown: Vec<u8> = Vec::new();
    let mut snapshot = Snapshot::new();
    // Day `n` is `roster` with the `extra` lines after it, read as the file's people `model`.
    let mut day =
        |n: u32, roster: &Roster, extra: &str, model: &Roster, snapshot: &mut Snapshot| {
            canaries.extend(roster.values().map(|p| p.ssn.clone()));
            // The SSN is the last column of the extra lines too.
            canaries.extend(
                extra
                    .lines()
                    .filter_map(|l| Some(l.rsplit(',').next()?.to_string())),
            );
            let want = expected_by(snapshot, model, mapped_with_ssn);
            let mut bytes = csv(roster);
            bytes.extend_from_slice(extra.as_bytes());
            let (job, status, out) = run_day(&ws, n, &bytes);
            assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
            assert_eq!(
                status,
                if extra.is_empty() {
                    "succeeded"
                } else {
                    "partial"
                }
            );
            assert_eq!(listed(&ws, job), want, "day {n}");
            let id = job.to_string();
            shown.extend([out.stdout, out.stderr].concat());
            for args in [
                &["changes", &id][..],
                &["changes", &id, "--json"],
                &["jobs", "--job", &id],
                &["jobs", "--job", &id, "--json"],
            ] {
                let more = hrbridge(&ws, args);
                shown.extend([more.stdout, more.stderr].concat());
            }
            accept(snapshot, model);
            want
        };

    let day1 = people(40);
    day(1, &day1, "", &day1, &mut snapshot);
    // Day 2: a move of the SSN alone, one of the department, a leaver by status, one by
    // absence, a hire; and a row whose SSN is malformed (rejected, its person kept).
    let mut day2 = day1.clone();
    day2.get_mut(&key(3)).unwrap().ssn = ssn(903);
    day2.get_mut(&key(5)).unwrap().dept = "Legal".into();
    day2.get_mut(&key(7)).unwrap().status = "Terminated".into();
    day2.remove(&key(9));
    day2.insert(key(41), people(41)[&key(41)].clone());
    let mut bad = day2.remove(&key(11)).unwrap();
    bad.ssn = "878-11-40111".into();
    // The rejected row's person is in the file, as they were: no change, no leaver.
    let mut model2 = day2.clone();
    model2.insert(key(11), day1[&key(11)].clone());
    let want2 = day(2, &day2, &csv_line(&key(11), &bad), &model2, &mut snapshot);
    assert_eq!(want2["mover"][&key(3)], ["ssn"]);
    assert!(!want2["leaver"].contains_key(&key(11)));
    // Day 3: the leaver by absence is back with another SSN, another SSN move, a leaver.
    let mut day3 = day2.clone();
    day3.insert(key(11), day1[&key(11)].clone());
    let mut back = day1[&key(9)].clone();
    back.ssn = ssn(909);
    day3.insert(key(9), back);
    day3.get_mut(&key(3)).unwrap().ssn = ssn(1003);
    day3.get_mut(&key(13)).unwrap().status = "Terminated".into();
    let want3 = day(3, &day3, "", &day3, &mut snapshot);
    assert_eq!(want3["rehire"].keys().collect::<Vec<_>>(), [&key(9)]);
    assert!(canaries.contains("878-11-40111"));

    // Day 4 fails: every other SSN is malformed (over max_reject_ratio), so its input and its
    // rejects report are kept in error/.
    let mut day4 = day3.clone();
    for p in day4.values_mut().step_by(2) {
        p.ssn.push('9');
    }
    canaries.extend(day4.values().map(|p| p.ssn.clone()));
    let (job4, status, out) = run_day(&ws, 4, &csv(&day4));
    assert_eq!(status, "failed");
    assert!(!ws.files_under("var/error/roster").is_empty());
    // Day 5 is held (60 % of the people gone), shown, then approved.
    let day5: Roster = day3
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 < 2)
        .map(|(_, (k, p))| (k.clone(), p.clone()))
        .collect();
    let (job5, status, out5) = run_day(&ws, 5, &csv(&day5));
    assert_eq!(status, "held");
    let state = ws.path().join("var");
    assert_eq!(resting(&state, &canaries), [], "while a job is held");
    let approved = hrbridge(&ws, &["approve", &job5.to_string()]);
    assert!(approved.status.success(), "{}", stderr(&approved));
    assert_eq!(ws.job(job5)["job"]["status"], "succeeded");
    for o in [out, out5, approved] {
        shown.extend([o.stdout, o.stderr].concat());
    }
    for job in [job4, job5] {
        let id = job.to_string();
        for args in [&["changes", &id][..], &["jobs", "--job", &id, "--json"]] {
            let more = hrbridge(&ws, args);
            shown.extend([more.stdout, more.stderr].concat());
        }
    }

    // The SSNs did travel: to the stand-in and to the (plaintext) change files ...
    let record = api.record();
    let at_standin = record
        .users
        .iter()
        .find(|u| u.external_id.as_deref() == Some(&key(3)))
        .unwrap();
    assert_eq!(at_standin.resource["ssn"], ssn(1003));
    assert!(!files_holding(&ws.path().join("outbox"), ssn(903)).is_empty());
    // ... but rest nowhere in the state folder, as written or as digits only, and hrbridge
    // never showed one.
    shown.extend(ws.run(&["audit", "--json"]).stdout);
    assert!(
        contains_bytes(&shown, "\"[pii]\""),
        "the SSN moves were shown, masked"
    );
    let files = all_files(&state);
    assert!(
        files.iter().any(|f| f.ends_with("hrbridge.db")),
        "the store is under var/: {files:?}"
    );
    assert!(canaries.len() > 40);
    assert_eq!(resting(&state, &canaries), []);
    for canary in &canaries {
        let digits: String = canary.chars().filter(char::is_ascii_digit).collect();
        for needle in [canary.as_str(), digits.as_str()] {
            assert!(!contains_bytes(&shown, needle), "{needle:?} was shown");
        }
    }
}

/// A workspace for the edge cases: the roster profile with a changes file only, `lifecycle`
/// and `validation` keys, and e-mails that must look like one (or the row is rejected).
fn edge_workspace(lifecycle: &str, validation: &str) -> Workspace {
    RosterProfile {
        lifecycle,
        validation,
        user_name: "pattern = '[^@ ]+@[^@ ]+'",
        outputs: CHANGES_FILE,
        ..RosterProfile::default()
    }
    .workspace()
}

/// `roster` as CSV with `lines` (raw CSV lines) after it.
fn csv_with(roster: &Roster, lines: &[String]) -> Vec<u8> {
    let mut bytes = csv(roster);
    for l in lines {
        bytes.extend_from_slice(l.as_bytes());
    }
    bytes
}

/// The rejections `jobs --job` lists for `job`: (row, reason).
fn rejections(ws: &Workspace, job: i64) -> Vec<(u64, String)> {
    rejected_rows(&ws.job(job))
}

#[test]
fn a_key_twice_in_one_roster_rejects_the_second_row_and_the_first_counts() {
    let ws = edge_workspace("", "max_reject_ratio = 0.5");
    let day1 = people(6);
    let mut twin = day1[&key(2)].clone();
    twin.dept = "Legal".into();
    // P00002 is on line 3 (the header is line 1); its twin comes last, on line 8.
    let (job, status, out) = run_day(&ws, 1, &csv_with(&day1, &[csv_line(&key(2), &twin)]));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(status, "partial");
    let rejected = rejections(&ws, job);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let (row, reason) = &rejected[0];
    assert_eq!(*row, 8, "{reason}");
    assert!(
        reason.contains("P00002") && reason.contains("row 3"),
        "{reason}"
    );
    let mut snapshot = Snapshot::new();
    assert_eq!(listed(&ws, job), expected(&snapshot, &day1));
    let sent = file_rows(&ws, "changes_1.csv");
    assert_eq!(sent.len(), 6);
    let p2: Vec<_> = sent.iter().filter(|r| r["externalId"] == key(2)).collect();
    assert_eq!(p2.len(), 1);
    assert_eq!(p2[0]["enterprise.department"], day1[&key(2)].dept);
    accept(&mut snapshot, &day1);

    // The next day, the first row's values are the snapshot's: the twin's would be a move.
    let mut day2 = day1.clone();
    day2.get_mut(&key(4)).unwrap().dept = "Legal".into();
    let (job2, _) = deliver_day(&ws, 2, &day2);
    let want = expected(&snapshot, &day2);
    assert_eq!(keys_of(&want), BTreeSet::from([key(4)]));
    assert_eq!(listed(&ws, job2), want);
}

#[test]
fn a_rejected_row_whose_key_is_read_is_no_leaver() {
    let ws = edge_workspace("", "max_reject_ratio = 0.5");
    let mut snapshot = Snapshot::new();
    let day1 = people(6);
    let (_, status) = deliver_day(&ws, 1, &day1);
    assert_eq!(status, "succeeded");
    accept(&mut snapshot, &day1);

    // Day 2: P00003's row is rejected (a broken e-mail, and a department change with it);
    // P00005 is gone.
    let mut day2 = day1.clone();
    let mut broken = day2.remove(&key(3)).unwrap();
    broken.email = "not an e-mail".into();
    broken.dept = "Legal".into();
    day2.remove(&key(5));
    let (job2, status, out) = run_day(&ws, 2, &csv_with(&day2, &[csv_line(&key(3), &broken)]));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(status, "partial");
    assert_eq!(rejections(&ws, job2).len(), 1);
    let plan = listed(&ws, job2);
    assert_eq!(
        plan,
        BTreeMap::from([("leaver", BTreeMap::from([(key(5), vec![])]))])
    );
    accept(&mut snapshot, &day2);
    snapshot.insert(key(3), (day1[&key(3)].clone(), true));

    // Day 3: P00003's row as on day 1 is no change (still active; nothing of the rejected
    // row, such as its department, reached the snapshot).
    let day3 = {
        let mut d = day2.clone();
        d.insert(key(3), day1[&key(3)].clone());
        d
    };
    let (job3, _) = deliver_day(&ws, 3, &day3);
    assert_eq!(listed(&ws, job3), expected(&snapshot, &day3));
    assert!(listed(&ws, job3).is_empty());
}

#[test]
fn a_row_without_a_readable_key_holds_the_job_instead_of_terminating() {
    let ws = edge_workspace("", "max_reject_ratio = 0.5");
    let day1 = people(8);
    let (job1, _) = deliver_day(&ws, 1, &day1);
    // Day 2: P00004 is gone, and a row has no key: who is absent cannot be told.
    let mut day2 = day1.clone();
    let nobody = day2.remove(&key(4)).unwrap();
    let (job2, status, _) = run_day(&ws, 2, &csv_with(&day2, &[csv_line("", &nobody)]));
    assert_eq!(status, "held");
    let plan = plan_json(&ws, job2);
    assert!(
        plan["plan"]["hold_reason"]
            .as_str()
            .unwrap()
            .contains("no readable key"),
        "{plan}"
    );
    assert!(!by_kind(&plan).contains_key("leaver"), "{plan}");
    assert_eq!(ws.files_under("outbox"), ["changes_1.csv"], "nothing sent");
    assert_eq!(plan["plan"]["base_job"], job1);

    // The snapshot did not move: once the held job is rejected, the next day diffs against
    // day 1 (P00004 is back in it, nobody left; one move).
    let out = hrbridge(&ws, &["reject", &job2.to_string()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let mut snapshot = Snapshot::new();
    accept(&mut snapshot, &day1);
    let mut day3 = day1.clone();
    day3.get_mut(&key(1)).unwrap().dept = "Legal".into();
    let (job3, status) = deliver_day(&ws, 3, &day3);
    assert_eq!(status, "succeeded");
    let plan = plan_json(&ws, job3);
    assert_eq!(plan["plan"]["base_job"], job1);
    assert_eq!(by_kind(&plan), expected(&snapshot, &day3));
    assert_eq!(keys_of(&by_kind(&plan)), BTreeSet::from([key(1)]));
}

#[test]
fn a_baseline_is_recorded_quietly_and_the_next_day_diffs_against_it() {
    let api = StandinApi::start(Config::default()).unwrap();
    let base = api.base_url();
    let ws = RosterProfile {
        lifecycle: "baseline = true",
        scim_to: Some(&base),
        outputs: CHANGES_FILE,
        ..RosterProfile::default()
    }
    .workspace();
    let mut snapshot = Snapshot::new();
    let day1 = people(10);
    let (job1, status) = deliver_day(&ws, 1, &day1);
    assert_eq!(status, "succeeded");
    let plan = plan_json(&ws, job1);
    assert_eq!(plan["plan"]["baseline"], true);
    assert_eq!(
        plan["plan"]["counts"],
        serde_json::json!({"joiners": 0, "movers": 0, "leavers": 0, "rehires": 0, "prehires": 0, "cancelled": 0, "queued": 0})
    );
    assert!(by_kind(&plan).is_empty());
    assert!(api.record().requests.is_empty(), "nothing sent");
    assert!(
        file_rows(&ws, "changes_1.csv").is_empty(),
        "no change in the file"
    );
    accept(&mut snapshot, &day1);

    // Day 2 against the baseline: one hire, one move, one leaver.
    let mut day2 = day1.clone();
    day2.insert(key(11), people(11)[&key(11)].clone());
    day2.get_mut(&key(2)).unwrap().dept = "Legal".into();
    day2.remove(&key(3));
    let want = expected(&snapshot, &day2);
    assert_eq!(keys_of(&want), BTreeSet::from([key(11), key(2), key(3)]));
    let (job2, status) = deliver_day(&ws, 2, &day2);
    assert_eq!(status, "succeeded");
    assert_eq!(listed(&ws, job2), want);
    let sent: BTreeSet<String> = file_rows(&ws, "changes_2.csv")
        .into_iter()
        .map(|r| r["externalId"].clone())
        .collect();
    assert_eq!(sent, keys_of(&want));
    assert!(active_users(&api).contains(&key(11)));
}

#[test]
fn values_equal_after_trim_are_no_move() {
    let ws = edge_workspace("", "");
    let mut snapshot = Snapshot::new();
    let day1 = people(6);
    deliver_day(&ws, 1, &day1);
    accept(&mut snapshot, &day1);
    // Blanks around a trimmed department are no move; around an untrimmed name they are.
    let mut day2 = day1.clone();
    let p2 = day2.get_mut(&key(2)).unwrap();
    p2.dept = format!("  {}", p2.dept);
    let p3 = day2.get_mut(&key(3)).unwrap();
    p3.dept = format!("{}  ", p3.dept);
    day2.get_mut(&key(4)).unwrap().given = "Given4 ".into();
    let want = expected(&snapshot, &day2);
    assert_eq!(
        want,
        BTreeMap::from([(
            "mover",
            BTreeMap::from([(key(4), vec!["name.givenName".to_string()])])
        )])
    );
    let (job2, _) = deliver_day(&ws, 2, &day2);
    assert_eq!(listed(&ws, job2), want);
}

#[test]
fn a_failed_job_never_advances_the_snapshot() {
    let ws = edge_workspace("", "min_rows = 4");
    let mut snapshot = Snapshot::new();
    let day1 = people(10);
    let (job1, _) = deliver_day(&ws, 1, &day1);
    accept(&mut snapshot, &day1);

    // Day 2a breaks the reject ratio (the default 5 %): one row of nine has no key; with it
    // come a move and a leaver by absence.
    let mut day2 = day1.clone();
    day2.get_mut(&key(2)).unwrap().dept = "Legal".into();
    day2.remove(&key(3));
    let keyless = day2.remove(&key(5)).unwrap();
    let (job2a, status, _) = run_day(&ws, 2, &csv_with(&day2, &[csv_line("", &keyless)]));
    assert_eq!(status, "failed");
    assert!(
        ws.job(job2a)["job"]["error"]
            .as_str()
            .unwrap()
            .contains("max_reject_ratio"),
        "{}",
        ws.job(job2a)
    );
    // Day 2b breaks min_rows: three people.
    let tiny: Roster = day2
        .iter()
        .take(3)
        .map(|(k, p)| (k.clone(), p.clone()))
        .collect();
    let (job2b, status, _) = run_day(&ws, 22, &csv(&tiny));
    assert_eq!(status, "failed");
    assert!(
        ws.job(job2b)["job"]["error"]
            .as_str()
            .unwrap()
            .contains("min_rows"),
        "{}",
        ws.job(job2b)
    );
    assert_eq!(ws.files_under("outbox"), ["changes_1.csv"]);

    // Day 3 diffs against day 1: the move and the absence of day 2a are found again.
    let mut day3 = day1.clone();
    day3.get_mut(&key(2)).unwrap().dept = "Legal".into();
    day3.remove(&key(3));
    let want = expected(&snapshot, &day3);
    assert_eq!(keys_of(&want), BTreeSet::from([key(2), key(3)]));
    let (job3, status) = deliver_day(&ws, 3, &day3);
    assert_eq!(status, "succeeded");
    let plan = plan_json(&ws, job3);
    assert_eq!(plan["plan"]["base_job"], job1);
    assert_eq!(by_kind(&plan), want);
}

#[test]
fn a_job_whose_delivery_fails_never_advances_the_snapshot() {
    let healthy = StandinApi::start(Config::default()).unwrap();
    let failing = StandinApi::start(Config {
        faults: Faults {
            error_500: 1.0,
            ..Faults::default()
        },
        ..Config::default()
    })
    .unwrap();
    // Only the SCIM output: a job none of whose changes reaches it has delivered nothing.
    let profile = |api: &StandinApi| {
        RosterProfile {
            scim_to: Some(&api.base_url()),
            scim: "max_attempts = 2",
            ..RosterProfile::default()
        }
        .toml()
    };
    let ws = Workspace::new();
    ws.profile("roster", &profile(&healthy));
    let mut snapshot = Snapshot::new();
    let day1 = people(6);
    let (job1, _) = deliver_day(&ws, 1, &day1);
    accept(&mut snapshot, &day1);

    // Day 2 goes to a service that answers 500 to everything: the job fails.
    ws.profile("roster", &profile(&failing));
    let mut day2 = day1.clone();
    day2.get_mut(&key(2)).unwrap().dept = "Legal".into();
    day2.insert(key(7), people(7)[&key(7)].clone());
    let (job2, status, _) = run_day(&ws, 2, &csv(&day2));
    assert_eq!(status, "failed", "{}", ws.job(job2));
    assert!(!failing.record().requests.is_empty(), "day 2 was tried");
    assert_ne!(plan_json(&ws, job2)["plan"]["state"], "applied");

    // Day 3, to the healthy service again, diffs against day 1: day 2's changes are found
    // (and sent) again.
    ws.profile("roster", &profile(&healthy));
    let mut day3 = day2.clone();
    day3.get_mut(&key(4)).unwrap().dept = "Legal".into();
    let want = expected(&snapshot, &day3);
    assert_eq!(keys_of(&want), BTreeSet::from([key(2), key(4), key(7)]));
    let (job3, status) = deliver_day(&ws, 3, &day3);
    assert_eq!(status, "succeeded");
    let plan = plan_json(&ws, job3);
    assert_eq!(plan["plan"]["base_job"], job1);
    assert_eq!(by_kind(&plan), want);
    accept(&mut snapshot, &day3);
    assert_eq!(active_users(&healthy), active_in(&snapshot));
    assert_eq!(
        department(&healthy.record(), &key(2)).as_deref(),
        Some("Legal")
    );
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    all_files(dir)
        .into_iter()
        .map(|p| (p.display().to_string(), fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn plan_writes_and_sends_nothing() {
    let api = StandinApi::start(Config::default()).unwrap();
    let base = api.base_url();
    let ws = RosterProfile {
        scim_to: Some(&base),
        outputs: CHANGES_FILE,
        ..RosterProfile::default()
    }
    .workspace();
    let day1 = people(8);
    fs::write(ws.path().join("day1.csv"), csv(&day1)).unwrap();

    // Before anything ran: everyone would join, and no state folder appears.
    let out = hrbridge(&ws, &["plan", "--profile", "roster", "day1.csv", "--json"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(by_kind(&json), expected(&Snapshot::new(), &day1));
    assert!(
        !ws.path().join("var").exists(),
        "{:?}",
        ws.files_under("var")
    );
    assert!(api.record().requests.is_empty());

    let mut snapshot = Snapshot::new();
    deliver_day(&ws, 1, &day1);
    accept(&mut snapshot, &day1);
    let mut day2 = day1.clone();
    day2.get_mut(&key(2)).unwrap().dept = "Legal".into();
    day2.get_mut(&key(6)).unwrap().status = "Terminated".into();
    day2.remove(&key(7));
    fs::write(ws.path().join("day2.csv"), csv(&day2)).unwrap();
    let state_before = contents(&ws.path().join("var"));
    let outbox_before = ws.files_under("outbox");
    let requests_before = api.record().requests.len();
    let jobs_before = ws.jobs();

    let out = hrbridge(&ws, &["plan", "--profile", "roster", "day2.csv"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("nothing was written or sent"),
        "{}",
        stdout(&out)
    );
    let out = hrbridge(&ws, &["plan", "--profile", "roster", "day2.csv", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(by_kind(&json), expected(&snapshot, &day2));

    let state_after = contents(&ws.path().join("var"));
    let changed: Vec<&String> = state_after
        .iter()
        .filter(|(p, bytes)| state_before.get(*p) != Some(bytes))
        .map(|(p, _)| p)
        .chain(
            state_before
                .keys()
                .filter(|p| !state_after.contains_key(*p)),
        )
        .collect();
    assert!(changed.is_empty(), "plan changed {changed:?}");
    assert_eq!(ws.files_under("outbox"), outbox_before);
    assert_eq!(api.record().requests.len(), requests_before);
    assert_eq!(ws.jobs(), jobs_before);
    assert!(ws.path().join("day2.csv").exists());
}

#[test]
fn plan_says_when_a_job_would_fail_the_files_contract() {
    let ws = edge_workspace("", "");
    let day1 = people(6);
    deliver_day(&ws, 1, &day1);
    // Day 2: a move, and one row of six rejected — over the default max_reject_ratio of 5 %.
    let mut day2 = day1.clone();
    day2.get_mut(&key(2)).unwrap().dept = "Legal".into();
    day2.get_mut(&key(4)).unwrap().email = "broken".into();
    fs::write(ws.path().join("day2.csv"), csv(&day2)).unwrap();
    let plan = hrbridge(&ws, &["plan", "--profile", "roster", "day2.csv"]);
    // The job on that file fails: nothing of it would change.
    let (job2, status, _) = run_day(&ws, 2, &csv(&day2));
    assert_eq!(status, "failed");
    let error = ws.job(job2)["job"]["error"].as_str().unwrap().to_string();
    assert!(error.contains("max_reject_ratio"), "{error}");
    // So the plan must say so, not only list a move that will not happen.
    assert!(
        !plan.status.success() && stderr(&plan).contains("max_reject_ratio"),
        "plan exited {:?} without saying the job would fail:\n{}{}",
        plan.status.code(),
        stdout(&plan),
        stderr(&plan)
    );
}
