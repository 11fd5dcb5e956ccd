//! SFTP uploads that go wrong, end to end against a real OpenSSH sshd on loopback: a remote
//! folder that is missing (permanent), a server that is down (transient, then for too long),
//! a local copy at rest (sealed, and checked against the commit), a remote name that is taken,
//! and the remote file mode. After every fault the next good file of the same profile is
//! processed, and the failed upload is sent by `hrbridge retry`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::sshd::TestSshd;
use crate::common::{all_files, contains_bytes, stderr, stdout, Workspace};
use crate::skip_unless_sshd;
use sha2::{Digest, Sha256};

/// A PII value that must never be readable in the state folder, the jobs or the audit trail.
const SSN: &str = "987-65-4329";

/// A workspace with profile `push`: inbox `inbox/push`, fields `id` and `ssn` (PII), one SFTP
/// output to `remote` (a path template) with the `extra` output keys.
fn pushing(sshd: &TestSshd, remote: &str, extra: &str) -> Workspace {
    let ws = Workspace::new();
    ws.profile(
        "push",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/push"
[[field]]
name = "id"
from = "ID"
[[field]]
name = "ssn"
from = "SSN"
pii = true
[[output]]
type = "sftp"
host = "127.0.0.1"
port = {port}
{login}
known_hosts = "{kh}"
connect_timeout = "2s"
timeout = "5s"
path = "{remote}"
{extra}
"#,
            port = sshd.port,
            login = sshd.key_login(),
            kh = sshd.known_hosts().display(),
        ),
    );
    ws
}

/// A workspace whose `push` profile uploads each input as `<source_stem>.csv` into the
/// served folder `folder` (returned), with `extra` output keys.
fn pushing_each(sshd: &TestSshd, folder: &str, extra: &str) -> (PathBuf, Workspace) {
    let served = sshd.served(folder);
    let ws = pushing(
        sshd,
        &format!("{}/{{source_stem}}.csv", served.display()),
        extra,
    );
    (served, ws)
}

/// Starts a server, stops it, and runs one pass over export 1 (`a.csv`) for a workspace
/// pushing to its folder `folder` (see [`pushing_each`]): the server, the folder, the workspace
/// and what the pass printed. `None` where sshd cannot run here (see `TestSshd::start`).
fn pushed_while_down(
    folder: &str,
    extra: &str,
) -> Option<(TestSshd, PathBuf, Workspace, std::process::Output)> {
    let mut sshd = TestSshd::start()?;
    let (served, ws) = pushing_each(&sshd, folder, extra);
    sshd.stop();
    ws.drop_file("push", "a.csv", &export(1));
    let out = run_once(&ws);
    Some((sshd, served, ws, out))
}

/// An export of one employee `id`.
fn export(id: u32) -> Vec<u8> {
    format!("ID,SSN\n{id},{SSN}\n").into_bytes()
}

/// What the output of [`export`] looks like.
fn delivered(id: u32) -> String {
    format!("id,ssn\n{id},{SSN}\n")
}

fn run_once(ws: &Workspace) -> std::process::Output {
    ws.run(&["run", "--once"])
}

/// The job of input `file` (the newest, if several).
fn job_of(ws: &Workspace, file: &str) -> serde_json::Value {
    ws.jobs()
        .into_iter()
        .find(|j| j["file_name"] == file)
        .unwrap_or_else(|| panic!("no job for {file}: {:?}", ws.jobs()))
}

fn audit(ws: &Workspace) -> Vec<serde_json::Value> {
    serde_json::from_slice(&ws.run(&["audit", "--json"]).stdout).unwrap()
}

/// The audit events of `kind` for job `id`.
fn events(ws: &Workspace, kind: &str, id: &serde_json::Value) -> Vec<serde_json::Value> {
    audit(ws)
        .into_iter()
        .filter(|e| e["kind"] == kind && &e["job_id"] == id)
        .collect()
}

/// Neither the jobs nor the audit trail show the SSN.
fn assert_no_pii(ws: &Workspace) {
    let jobs = stdout(&ws.run(&["jobs", "--json", "--limit", "1000"]));
    let trail = stdout(&ws.run(&["audit", "--json"]));
    assert!(!jobs.contains(SSN), "PII in jobs: {jobs}");
    assert!(!trail.contains(SSN), "PII in the audit trail: {trail}");
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_missing_remote_folder_fails_the_upload_the_next_file_goes_out_and_retry_sends_it() {
    let sshd = skip_unless_sshd!();
    let served = sshd.served("missing");
    fs::create_dir(served.join("good")).unwrap();
    let ws = pushing(
        &sshd,
        &format!("{}/{{source_stem}}/out.csv", served.display()),
        "",
    );
    ws.drop_file("push", "bad.csv", &export(1));
    ws.drop_file("push", "good.csv", &export(2));
    let out = run_once(&ws);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let bad = job_of(&ws, "bad.csv");
    assert_eq!(bad["status"], "failed", "{bad}");
    let error = bad["error"].as_str().unwrap();
    assert!(error.to_lowercase().contains("no such file"), "{error}");
    assert!(
        error.contains(&format!("hrbridge retry {}", bad["id"])),
        "{error}"
    );
    let failed = events(&ws, "output.upload_failed", &bad["id"]);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]["detail"]["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("no such file"),
        "{failed:?}"
    );
    assert_eq!(failed[0]["detail"]["retrying"], false, "{failed:?}");
    // The next file of the same profile went out in the same pass.
    assert_eq!(job_of(&ws, "good.csv")["status"], "succeeded");
    assert_eq!(
        fs::read_to_string(served.join("good/out.csv")).unwrap(),
        delivered(2)
    );
    assert_no_pii(&ws);

    // Once the folder exists, `retry` uploads the kept copy.
    fs::create_dir(served.join("bad")).unwrap();
    let id = bad["id"].to_string();
    let out = ws.run(&["retry", &id]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(job_of(&ws, "bad.csv")["status"], "succeeded");
    assert_eq!(
        fs::read_to_string(served.join("bad/out.csv")).unwrap(),
        delivered(1)
    );
    assert!(
        ws.files_under("var/outgoing").is_empty(),
        "copy left behind"
    );
}

#[test]
fn an_unreachable_server_keeps_the_job_committing_without_blocking_the_next_file() {
    let Some((mut sshd, served, ws, out)) = pushed_while_down("down", "") else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let a = job_of(&ws, "a.csv");
    assert_eq!(a["status"], "committing", "{a}");
    assert!(
        a["error"].as_str().unwrap().contains("cannot connect"),
        "{a}"
    );
    let waiting = events(&ws, "output.upload_failed", &a["id"]);
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["detail"]["retrying"], true, "{waiting:?}");

    // The next pass tries a again and still takes b.
    ws.drop_file("push", "b.csv", &export(2));
    let out = run_once(&ws);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(job_of(&ws, "b.csv")["status"], "committing");
    assert_eq!(ws.files_under("inbox/push"), Vec::<String>::new());

    // Back up: both go out, oldest first, and nothing is left locally.
    sshd.restart();
    let out = run_once(&ws);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    for (name, id) in [("a", 1), ("b", 2)] {
        assert_eq!(job_of(&ws, &format!("{name}.csv"))["status"], "succeeded");
        assert_eq!(
            fs::read_to_string(served.join(format!("{name}.csv"))).unwrap(),
            delivered(id)
        );
    }
    assert!(ws.files_under("var/outgoing").is_empty());
    assert_no_pii(&ws);
}

#[test]
fn a_server_down_longer_than_retry_for_fails_the_upload_and_retry_sends_it() {
    let Some((mut sshd, served, ws, out)) = pushed_while_down("long", "retry_for = \"0s\"") else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    let a = job_of(&ws, "a.csv");
    assert_eq!(a["status"], "failed", "{a}");
    let error = a["error"].as_str().unwrap();
    assert!(error.contains("cannot connect"), "{error}");
    assert!(error.contains("hrbridge retry"), "{error}");

    sshd.restart();
    ws.drop_file("push", "b.csv", &export(2));
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(job_of(&ws, "b.csv")["status"], "succeeded");
    let out = ws.run(&["retry", &a["id"].to_string()]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(job_of(&ws, "a.csv")["status"], "succeeded");
    assert_eq!(
        fs::read_to_string(served.join("a.csv")).unwrap(),
        delivered(1)
    );
}

#[test]
fn the_local_copy_of_an_upload_is_sealed_at_rest_and_lands_as_committed() {
    let Some((mut sshd, served, ws, _)) = pushed_while_down("sealed", "") else {
        return;
    };
    assert_eq!(job_of(&ws, "a.csv")["status"], "committing");
    let copies = all_files(&ws.path().join("var/outgoing"));
    assert_eq!(copies.len(), 1, "{copies:?}");
    for file in all_files(&ws.path().join("var")) {
        let bytes = fs::read(&file).unwrap();
        assert!(!contains_bytes(&bytes, SSN), "plaintext SSN in {file:?}");
    }

    sshd.restart();
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stderr(&out));
    let landed = fs::read(served.join("a.csv")).unwrap();
    assert_eq!(String::from_utf8_lossy(&landed), delivered(1));
    let a = job_of(&ws, "a.csv");
    let published = events(&ws, "output.published", &a["id"]);
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0]["detail"]["sha256"],
        hex::encode(Sha256::digest(&landed)),
        "the audit trail names the bytes the server received"
    );
}

#[test]
fn a_changed_local_copy_is_never_uploaded() {
    let Some((mut sshd, served, ws, _)) = pushed_while_down("changed", "") else {
        return;
    };
    let copies = all_files(&ws.path().join("var/outgoing"));
    assert_eq!(copies.len(), 1, "{copies:?}");
    fs::write(&copies[0], "id,ssn\n666,000-00-0000\n").unwrap();

    sshd.restart();
    ws.drop_file("push", "b.csv", &export(2));
    run_once(&ws);
    let a = job_of(&ws, "a.csv");
    assert_eq!(a["status"], "failed", "{a}");
    assert!(a["error"].as_str().unwrap().contains("sha256"), "{a}");
    assert!(!served.join("a.csv").exists());
    assert_eq!(job_of(&ws, "b.csv")["status"], "succeeded");
}

#[test]
fn an_upload_never_replaces_a_remote_file_unless_overwrite_is_set() {
    let sshd = skip_unless_sshd!();
    let served = sshd.served("taken");
    let template = format!("{}/daily_{{date:%Y%m%d}}.csv", served.display());
    let ws = pushing(&sshd, &template, "");
    ws.drop_file("push", "a.csv", &export(1));
    ws.drop_file("push", "b.csv", &export(2));
    let out = run_once(&ws);
    assert_eq!(out.status.code(), Some(1));
    let daily = fs::read_dir(&served)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    assert_eq!(fs::read_to_string(&daily).unwrap(), delivered(1));
    assert_eq!(job_of(&ws, "a.csv")["status"], "succeeded");
    let b = job_of(&ws, "b.csv");
    assert_eq!(b["status"], "failed", "{b}");
    let error = b["error"].as_str().unwrap();
    assert!(error.contains("already exists"), "{error}");
    assert!(error.contains("overwrite = true"), "{error}");
    assert_eq!(
        fs::read_dir(&served).unwrap().count(),
        1,
        "no part file left"
    );

    // The partner collects the day's file: the next one goes out again.
    fs::remove_file(&daily).unwrap();
    ws.drop_file("push", "c.csv", &export(3));
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(job_of(&ws, "c.csv")["status"], "succeeded");
    assert_eq!(fs::read_to_string(&daily).unwrap(), delivered(3));

    let ws = pushing(&sshd, &template, "overwrite = true");
    ws.drop_file("push", "d.csv", &export(4));
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&daily).unwrap(), delivered(4));
}

#[test]
fn uploads_are_private_by_default_and_take_the_configured_mode() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = pushing_each(&sshd, "modes", "");
    ws.drop_file("push", "a.csv", &export(1));
    assert!(run_once(&ws).status.success());
    assert_eq!(mode_of(&served.join("a.csv")), 0o600);

    let ws = pushing(
        &sshd,
        &format!("{}/{{source_stem}}.csv", served.display()),
        "mode = \"0640\"",
    );
    ws.drop_file("push", "b.csv", &export(2));
    assert!(run_once(&ws).status.success());
    assert_eq!(mode_of(&served.join("b.csv")), 0o640);
}

#[test]
fn check_warns_about_output_names_that_can_collide_within_a_day() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("inbox/daily")).unwrap();
    ws.profile(
        "daily",
        r#"
[source]
type = "dir"
path = "inbox/daily"
[[field]]
name = "id"
from = "ID"
[[output]]
type = "file"
path = "outbox/daily_{date:%Y%m%d}.csv"
[[output]]
type = "file"
path = "outbox/{source_stem}_{date:%Y%m%d}.csv"
[[output]]
type = "sftp"
host = "127.0.0.1"
user = "u"
password = "${env:NOPE}"
known_hosts = "known_hosts"
path = "/in/daily_{date}.csv"
[[output]]
type = "sftp"
host = "127.0.0.1"
user = "u"
password = "${env:NOPE}"
known_hosts = "known_hosts"
path = "/in/daily_{date:%Y%m%d%H%M%S}_{seq}.csv"
"#,
    );
    let out = ws.cmd(&["check"]).env("NOPE", "x").output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{}\n{err}", stdout(&out));
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(warnings[0].contains("{seq}"), "{err}");
    assert!(err.contains("daily.toml:10:"), "{err}");
    assert!(err.contains("daily.toml:20:"), "{err}");
}

#[test]
fn a_refused_host_key_fails_the_upload_and_is_audited_once() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = pushing_each(&sshd, "hostkey", "");
    let profile = ws.path().join("profiles/push.toml");
    let trusted = sshd.known_hosts().display().to_string();
    let wrong = sshd.known_hosts_wrong_key().display().to_string();
    let text = fs::read_to_string(&profile)
        .unwrap()
        .replace(&trusted, &wrong);
    fs::write(&profile, text).unwrap();
    for (name, id) in [("a.csv", 1), ("b.csv", 2)] {
        ws.drop_file("push", name, &export(id));
        run_once(&ws);
        let job = job_of(&ws, name);
        assert_eq!(job["status"], "failed", "{job}");
        let error = job["error"].as_str().unwrap();
        assert!(error.contains("HOST KEY CHANGED"), "{error}");
    }
    let refused: Vec<_> = audit(&ws)
        .into_iter()
        .filter(|e| e["kind"] == "host_key.refused")
        .collect();
    assert_eq!(refused.len(), 1, "once per server and key: {refused:?}");
    let detail = &refused[0]["detail"];
    assert_eq!(detail["server"], format!("127.0.0.1:{}", sshd.port));
    assert!(detail["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("SHA256:"));
    assert!(all_files(&served).is_empty(), "nothing reached the server");
    assert_no_pii(&ws);
}
