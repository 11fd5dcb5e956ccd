//! `hrbridge audit verify` on a real store: intact after real jobs, and broken — naming the
//! event — after a row is edited behind hrbridge's back.

use crate::common::profiles;
use crate::common::{stdout, Workspace};

fn workspace_with_jobs() -> Workspace {
    let ws = Workspace::new();
    ws.profile("p", &profiles::ids_to_file("p", "outbox/p_{seq}.csv"));
    ws.drop_file("p", "a.csv", b"ID\n1\n2\n");
    ws.drop_file("p", "b.csv", b"ID\n3\n");
    assert!(ws.run(&["run", "--once"]).status.success());
    ws
}

#[test]
fn verify_passes_on_a_fresh_store_and_after_jobs() {
    let ws = Workspace::new();
    let out = ws.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("intact: 0 event"));

    let ws = workspace_with_jobs();
    let out = ws.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let events: Vec<serde_json::Value> =
        serde_json::from_slice(&ws.run(&["audit", "--json"]).stdout).unwrap();
    assert!(events.len() >= 6, "{events:?}");
    let csv = stdout(&ws.run(&["audit", "--csv"]));
    assert!(csv.starts_with("seq,at,kind,profile,job,detail,prev_hash,hash\n"));
    assert_eq!(csv.lines().count(), events.len() + 1);
}

#[test]
fn verify_names_the_edited_event() {
    let ws = workspace_with_jobs();
    let db = ws.db();
    // An attacker with write access to the file removes the guard and edits event 3.
    db.execute_batch("DROP TRIGGER audit_no_update;").unwrap();
    let changed = db
        .execute(
            "UPDATE audit SET kind = 'job.cancelled' WHERE seq = 3 AND kind <> 'job.cancelled'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let out = ws.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("BROKEN at event 3"), "{text}");
}

#[test]
fn verify_detects_a_deleted_event() {
    let ws = workspace_with_jobs();
    let db = ws.db();
    db.execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2;")
        .unwrap();
    drop(db);
    let out = ws.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("BROKEN at event"), "{}", stdout(&out));
}
