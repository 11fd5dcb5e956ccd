//! `[lifecycle]` end to end: full rosters of 120 generated people, day after day, become
//! joiners, movers (with exactly the changed fields), leavers by status and by absence, and
//! rehires — delivered to the stand-in's SCIM service and to a changes file; a truncated
//! roster is held, sends nothing, and is rejected or approved by an operator.
//!
//! The expected changes come from the harness's own model of the rules
//! (`common::rosters::expected`), not from hrbridge.

use crate::common::rosters::{
    accept, active_in, active_users, csv, deliver_day, expected, file_changes, hrbridge, key,
    listed, people, Roster, RosterProfile, Snapshot, CHANGES_FILE, ROSTER_FILE,
};
use crate::common::{stderr, stdout, Workspace};
use hrbridge::standin::{Config, StandinApi};

/// The roster profile delivering to the stand-in's SCIM service, a changes file and the
/// whole roster, holding more than 20 % leavers.
fn workspace(api: &StandinApi) -> Workspace {
    let outputs = format!("{CHANGES_FILE}{ROSTER_FILE}");
    RosterProfile {
        lifecycle: "max_leavers = \"20%\"",
        scim_to: Some(&api.base_url()),
        outputs: &outputs,
        ..RosterProfile::default()
    }
    .workspace()
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
    let mut snapshot = Snapshot::new();

    // Day 1: everyone is a joiner.
    let day1 = people(120);
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

/// What the database of `ws` answers to `sql` (one number; hrbridge is not running).
fn count(ws: &Workspace, sql: &str, job: i64) -> i64 {
    ws.db().query_row(sql, [job], |r| r.get(0)).unwrap()
}

#[test]
fn unchanged_people_are_known_by_their_digest_and_rows_kept_without_one_gain_it() {
    let ws = RosterProfile {
        outputs: CHANGES_FILE,
        ..RosterProfile::default()
    }
    .workspace();
    let mut snapshot = Snapshot::new();
    let day1 = people(60);
    let (job1, _) = deliver_day(&ws, 1, &day1);
    accept(&mut snapshot, &day1);
    let no_digest = "SELECT count(*) FROM roster WHERE digest IS NULL AND job_id <= ?1";
    assert_eq!(
        count(&ws, no_digest, job1),
        0,
        "every joiner's digest is kept"
    );

    // As a snapshot stored before digests were kept: every person is compared by their
    // fields, the one move is found, and everyone else's digest is stored for next time.
    ws.db()
        .execute("UPDATE roster SET digest = NULL", [])
        .unwrap();
    let mut day2 = day1.clone();
    day2.get_mut(&key(7)).unwrap().dept = "Legal".into();
    let (job2, status) = deliver_day(&ws, 2, &day2);
    assert_eq!(status, "succeeded");
    let want = expected(&snapshot, &day2);
    assert_eq!(want["mover"].len(), 1);
    assert_eq!(listed(&ws, job2), want);
    accept(&mut snapshot, &day2);
    assert_eq!(count(&ws, no_digest, job2), 0);
    let recorded = "SELECT count(*) FROM changes WHERE job_id = ?1";
    assert_eq!(
        count(&ws, recorded, job2),
        60,
        "a quiet row each to store the digest"
    );

    // With digests, only the person who changed is recorded at all.
    let mut day3 = day2.clone();
    day3.get_mut(&key(9)).unwrap().given = "Renamed".into();
    let (job3, _) = deliver_day(&ws, 3, &day3);
    let want = expected(&snapshot, &day3);
    assert_eq!(want["mover"].keys().collect::<Vec<_>>(), [&key(9)]);
    assert_eq!(listed(&ws, job3), want);
    assert_eq!(count(&ws, recorded, job3), 1);
    assert_eq!(file_changes(&ws, "changes_3.csv").len(), 1);
}
