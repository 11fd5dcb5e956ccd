//! `hrbridge audit verify` on a real store: intact after real jobs, and broken — naming the
//! event — after a row is edited behind hrbridge's back; and a cut tail (events deleted, the
//! head row set back to match), which the chain alone cannot see, caught by a head kept
//! outside the store: typed (`--expect`), or signed in the file and at the URL each job
//! keeps it at (`--expect-file`).

use std::fs;
use std::time::Duration;

use crate::common::http_stub;
use crate::common::profiles;
use crate::common::{stderr, stdout, Workspace};
use crate::skip_unless_sshd;

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

/// Deletes the trail's last `n` events and sets the head row back to the new last one, as
/// someone with write access to the database could.
fn cut_tail(ws: &Workspace, n: i64) {
    let db = ws.db();
    db.execute_batch("DROP TRIGGER audit_no_delete;").unwrap();
    db.execute(
        "DELETE FROM audit WHERE seq > (SELECT max(seq) FROM audit) - ?1",
        [n],
    )
    .unwrap();
    db.execute_batch(
        "UPDATE audit_head SET seq = (SELECT max(seq) FROM audit),
                               hash = (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1)
         WHERE id = 1;",
    )
    .unwrap();
}

#[test]
fn a_cut_tail_verifies_alone_but_not_against_a_kept_head() {
    let ws = workspace_with_jobs();
    let head = stdout(&ws.run(&["audit", "head"]));
    let hash = head.trim().split("hash=").nth(1).unwrap().to_string();
    assert_eq!(hash.len(), 64, "{head}");
    let ok = ws.run(&["audit", "verify", "--expect", &hash]);
    assert!(ok.status.success(), "{}", stdout(&ok));
    assert!(
        stdout(&ok).contains("it holds the kept head"),
        "{}",
        stdout(&ok)
    );
    let signed = ws.path().join("head.txt");
    fs::write(&signed, ws.run(&["audit", "head", "--sign"]).stdout).unwrap();
    assert!(ws
        .run(&["audit", "verify", "--expect-file", signed.to_str().unwrap()])
        .status
        .success());

    cut_tail(&ws, 3);
    // The chain alone is fooled: what is left links up and matches the head row.
    assert!(ws.run(&["audit", "verify"]).status.success());
    for args in [
        vec!["audit", "verify", "--expect", &hash],
        vec!["audit", "verify", "--expect-file", signed.to_str().unwrap()],
    ] {
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert!(
            stdout(&out).contains("CUT OR REWRITTEN"),
            "{}",
            stdout(&out)
        );
    }
    // A kept head edited to match the cut trail is refused: the signature no longer holds.
    let head_now = stdout(&ws.run(&["audit", "head"]));
    let forged = fs::read_to_string(&signed).unwrap().replacen(
        &format!("hash={hash}"),
        &format!("hash={}", head_now.trim().split("hash=").nth(1).unwrap()),
        1,
    );
    fs::write(&signed, forged).unwrap();
    let out = ws.run(&["audit", "verify", "--expect-file", signed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("signature does not match"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        ws.run(&["audit", "verify", "--expect", "nothex"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn each_job_keeps_the_signed_head_in_a_file_and_at_a_url() {
    let (port, posted) = http_stub::serve(|_| ("200 OK".into(), String::new()));
    let ws = Workspace::new();
    let kept = ws.path().join("worm/heads.log");
    fs::create_dir_all(kept.parent().unwrap()).unwrap();
    let settings = ws.path().join("hrbridge.toml");
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str(&format!(
        "audit_head_file = \"worm/heads.log\"\naudit_head_url = \"http://127.0.0.1:{port}/anchor\"\n"
    ));
    fs::write(&settings, text).unwrap();
    ws.profile("p", &profiles::ids_to_file("p", "outbox/p_{seq}.csv"));
    ws.drop_file("p", "a.csv", b"ID\n1\n2\n");
    ws.drop_file("p", "b.csv", b"ID\n3\n");
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A line per job, the last one the trail's head now.
    let lines: Vec<String> = fs::read_to_string(&kept)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let head = stdout(&ws.run(&["audit", "head"]));
    assert!(lines[1].contains(head.trim()), "{} vs {head}", lines[1]);
    for line in &lines {
        let seen = posted.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(seen.head.starts_with("post /anchor "), "{}", seen.head);
        assert!(
            seen.head.contains("x-hrbridge-event: audit.head"),
            "{}",
            seen.head
        );
        assert_eq!(seen.body.trim(), line);
    }
    let verify = |ws: &Workspace| ws.run(&["audit", "verify", "--expect-file", "worm/heads.log"]);
    assert!(verify(&ws).status.success(), "{}", stdout(&verify(&ws)));
    cut_tail(&ws, 1);
    let out = verify(&ws);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("its tail was removed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_head_that_cannot_be_kept_is_audited_and_the_job_stands() {
    let ws = Workspace::new();
    let settings = ws.path().join("hrbridge.toml");
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str("audit_head_file = \"no/such/folder/heads.log\"\n");
    fs::write(&settings, text).unwrap();
    ws.profile("p", &profiles::ids_to_file("p", "outbox/p_{seq}.csv"));
    ws.drop_file("p", "a.csv", b"ID\n1\n");
    assert!(ws.run(&["run", "--once"]).status.success());
    assert_eq!(ws.jobs()[0]["status"], "succeeded");
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert!(
        audit.contains("audit.anchor_failed") && audit.contains("heads.log"),
        "{audit}"
    );
    // A URL that is neither https nor loopback is refused when the settings are read.
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str("audit_head_url = \"http://anchors.example.com/x\"\n");
    fs::write(&settings, text).unwrap();
    let out = ws.run(&["check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("audit_head_url"), "{}", stderr(&out));
}

#[test]
fn each_job_appends_the_signed_head_over_sftp_to_a_real_server() {
    let sshd = skip_unless_sshd!();
    let served = sshd.served("anchors");
    let remote = served.join("heads.log");
    let ws = Workspace::new();
    let settings = ws.path().join("hrbridge.toml");
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str(&format!(
        "[audit_head_sftp]\nhost = \"127.0.0.1\"\nport = {}\n{}\nknown_hosts = \"{}\"\n\
         connect_timeout = \"5s\"\npath = \"{}\"\n",
        sshd.port,
        sshd.key_login(),
        sshd.known_hosts().display(),
        remote.display()
    ));
    fs::write(&settings, text).unwrap();
    ws.profile("p", &profiles::ids_to_file("p", "outbox/p_{seq}.csv"));
    ws.drop_file("p", "a.csv", b"ID\n1\n");
    assert!(ws.run(&["run", "--once"]).status.success());
    ws.drop_file("p", "b.csv", b"ID\n2\n");
    assert!(ws.run(&["run", "--once"]).status.success());

    let kept = fs::read_to_string(&remote).unwrap();
    assert_eq!(kept.lines().count(), 2, "{kept}");
    let mode = fs::metadata(&remote).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let copy = ws.path().join("fetched.log");
    fs::write(&copy, &kept).unwrap();
    let verify =
        |ws: &Workspace| ws.run(&["audit", "verify", "--expect-file", copy.to_str().unwrap()]);
    assert!(verify(&ws).status.success(), "{}", stdout(&verify(&ws)));
    cut_tail(&ws, 2);
    assert_eq!(verify(&ws).status.code(), Some(1));

    // A server whose host key is not the one known: refused (fail closed), audited.
    let mut text = fs::read_to_string(&settings).unwrap();
    text = text.replace(
        &sshd.known_hosts().display().to_string(),
        &sshd.known_hosts_wrong_key().display().to_string(),
    );
    fs::write(&settings, text).unwrap();
    ws.drop_file("p", "c.csv", b"ID\n3\n");
    assert!(ws.run(&["run", "--once"]).status.success());
    assert_eq!(fs::read_to_string(&remote).unwrap().lines().count(), 2);
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert!(audit.contains("audit.anchor_failed"), "{audit}");
    // A mistake in the table is a settings error, named.
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str("pth = \"x\"\n");
    fs::write(&settings, text).unwrap();
    let out = ws.run(&["check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("audit_head_sftp"), "{}", stderr(&out));
}
