//! SFTP sources and outputs end to end: `hrbridge run --once` against a real OpenSSH sshd on
//! loopback — fetch with key and password logins, `after` keep/delete/move, uploads with
//! rename, host keys refused fail-closed, hostile remote names, a server stopped in the middle
//! of a download, and `known-hosts add`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::daemon;
use crate::common::sshd::{TestSshd, PASSWORD, PASSWORD_USER};
use crate::common::{age_cli, stderr, stdout, Workspace};
use crate::skip_unless_sshd;
use crate::skip_unless_tools;

const EXPORT: &str = "ID,Name\n1,Ada\n2,Grace\n3,Edsger\n";

/// A workspace with profile `remote` polling `served` over SFTP.
fn workspace(
    sshd: &TestSshd,
    served: &Path,
    login: &str,
    known_hosts: &Path,
    after: &str,
) -> Workspace {
    let ws = Workspace::new();
    ws.profile(
        "remote",
        &format!(
            r#"
[source]
type = "sftp"
host = "127.0.0.1"
port = {port}
{login}
known_hosts = "{kh}"
path = "{served}"
pattern = "*.csv"
settle = "1s"
after = "{after}"
[[field]]
name = "id"
from = "ID"
type = "integer"
[[field]]
name = "name"
from = "Name"
[[output]]
type = "file"
path = "outbox/{{source_stem}}.csv"
"#,
            port = sshd.port,
            kh = known_hosts.display(),
            served = served.display(),
        ),
    );
    ws
}

/// An `[[output]]` uploading to `dir` on `sshd` as `{source_stem}.csv`, logged in with the
/// harness user's key.
fn sftp_output(sshd: &TestSshd, dir: &Path) -> String {
    format!(
        "[[output]]\ntype = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\n{}\nknown_hosts = \"{}\"\npath = \"{}/{{source_stem}}.csv\"\n",
        sshd.port,
        sshd.key_login(),
        sshd.known_hosts().display(),
        dir.display()
    )
}

/// A served folder holding `a.csv` and a workspace polling it with the harness user's key.
fn serving(sshd: &TestSshd, folder: &str, after: &str) -> (PathBuf, Workspace) {
    let served = sshd.served(folder);
    fs::write(served.join("a.csv"), EXPORT).unwrap();
    let ws = workspace(sshd, &served, &sshd.key_login(), &sshd.known_hosts(), after);
    (served, ws)
}

fn run_once(ws: &Workspace) -> Output {
    ws.run(&["run", "--once"])
}

fn job_count(ws: &Workspace) -> usize {
    ws.jobs().len()
}

#[test]
fn fetches_with_a_key_keeps_the_remote_file_and_never_fetches_it_twice() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = serving(&sshd, "keep", "keep");
    let out = run_once(&ws);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "succeeded");
    assert_eq!(
        fs::read_to_string(ws.path().join("outbox/a.csv")).unwrap(),
        "id,name\n1,Ada\n2,Grace\n3,Edsger\n"
    );
    assert!(served.join("a.csv").exists(), "after = keep");
    // Polling again (a restart, too) neither fetches it again nor misses a new file.
    fs::write(served.join("b.csv"), "ID,Name\n4,Alan\n").unwrap();
    assert!(run_once(&ws).status.success());
    let names: Vec<String> = ws
        .jobs()
        .iter()
        .map(|j| j["file_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["b.csv", "a.csv"]);
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert!(
        audit.contains("remote.settled") && audit.contains("sftp://"),
        "{audit}"
    );
}

#[test]
fn after_delete_and_move_run_once_the_job_is_committed() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = serving(&sshd, "del", "delete");
    assert!(run_once(&ws).status.success());
    assert!(!served.join("a.csv").exists(), "after = delete");
    assert!(ws.path().join("outbox/a.csv").exists());

    let done = sshd.served("mv-done");
    let (served, ws) = serving(&sshd, "mv", &format!("move:{}", done.display()));
    assert!(run_once(&ws).status.success());
    assert!(!served.join("a.csv").exists());
    assert_eq!(fs::read_to_string(done.join("a.csv")).unwrap(), EXPORT);

    // A file that fails its job stays on the server (kept in error/ locally as well).
    let served = sshd.served("bad");
    fs::write(served.join("bad.csv"), "Wrong,Header\n1,2\n").unwrap();
    let ws = workspace(
        &sshd,
        &served,
        &sshd.key_login(),
        &sshd.known_hosts(),
        "delete",
    );
    assert_eq!(run_once(&ws).status.code(), Some(1));
    assert!(
        served.join("bad.csv").exists(),
        "a failed file was deleted on the server"
    );
    assert_eq!(ws.files_under("var/error/remote")[0], "bad.csv.age");
}

#[test]
fn password_login_reads_its_secret_from_the_environment() {
    let sshd = skip_unless_sshd!();
    if !sshd.ensure_password_user() {
        return;
    }
    let served = sshd.served("pw");
    fs::write(served.join("a.csv"), EXPORT).unwrap();
    let login = format!("user = \"{PASSWORD_USER}\"\npassword = \"${{env:HRB_TEST_SFTP_PW}}\"");
    let ws = workspace(&sshd, &served, &login, &sshd.known_hosts(), "keep");
    let out = ws
        .cmd(&["run", "--once"])
        .env("HRB_TEST_SFTP_PW", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(job_count(&ws), 1);
    // Without the secret: a clear error that names the reference, not a value.
    fs::write(served.join("b.csv"), EXPORT).unwrap();
    let out = ws
        .cmd(&["run", "--once"])
        .env_remove("HRB_TEST_SFTP_PW")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("HRB_TEST_SFTP_PW is not set"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains(PASSWORD) && !stderr(&out).contains(PASSWORD));
}

#[test]
fn unknown_and_changed_host_keys_are_refused_with_the_fingerprint() {
    let sshd = skip_unless_sshd!();
    let served = sshd.served("hk");
    fs::write(served.join("a.csv"), EXPORT).unwrap();
    let empty = sshd.known_hosts_with("empty_known_hosts", "");
    let ws = workspace(&sshd, &served, &sshd.key_login(), &empty, "delete");
    let out = run_once(&ws);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("is not known") && text.contains("SHA256:"),
        "{text}"
    );
    assert!(
        text.contains(&format!("known-hosts add 127.0.0.1:{}", sshd.port)),
        "{text}"
    );
    assert_eq!(job_count(&ws), 0);
    assert!(served.join("a.csv").exists());
    // Audited, not only logged: once, however many passes meet the same key.
    assert_eq!(run_once(&ws).status.code(), Some(1));
    assert_host_key_refused_once(&ws, "is not known");

    let ws = workspace(
        &sshd,
        &served,
        &sshd.key_login(),
        &sshd.known_hosts_wrong_key(),
        "delete",
    );
    let out = run_once(&ws);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("HOST KEY CHANGED"),
        "{}",
        stdout(&out)
    );
    assert_eq!(job_count(&ws), 0);
    assert!(served.join("a.csv").exists());
    assert_host_key_refused_once(&ws, "HOST KEY CHANGED");
}

/// The audit trail holds exactly one `host_key.refused` event, naming the server, the
/// fingerprint offered and `why`.
fn assert_host_key_refused_once(ws: &Workspace, why: &str) {
    let out = ws.run(&["audit", "--json"]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "host_key.refused")
        .collect();
    assert_eq!(refused.len(), 1, "{events:?}");
    let detail = &refused[0]["detail"];
    assert!(detail["server"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(detail["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("SHA256:"));
    assert!(detail["reason"].as_str().unwrap().contains(why), "{detail}");
}

#[test]
fn known_hosts_add_trusts_a_key_only_when_its_fingerprint_is_confirmed() {
    let sshd = skip_unless_sshd!();
    let served = sshd.served("add");
    fs::write(served.join("a.csv"), EXPORT).unwrap();
    let kh = sshd.known_hosts_with("kh_added", "");
    let ws = workspace(&sshd, &served, &sshd.key_login(), &kh, "keep");
    let target = format!("127.0.0.1:{}", sshd.port);
    // Not a terminal and no fingerprint: nothing is added.
    let out = ws.run(&["known-hosts", "add", &target]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&kh).unwrap(), "");
    let shown = stdout(&out);
    let fingerprint = shown
        .split_whitespace()
        .find(|w| w.starts_with("SHA256:"))
        .unwrap()
        .to_string();
    // A wrong pin is refused; the right one is added and the fetch then works.
    let out = ws.run(&[
        "known-hosts",
        "add",
        &target,
        "--fingerprint",
        "SHA256:nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = ws.run(&["known-hosts", "add", &target, "--fingerprint", &fingerprint]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::read_to_string(&kh)
        .unwrap()
        .starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port)));
    assert!(run_once(&ws).status.success());
    assert_eq!(job_count(&ws), 1);
}

#[test]
fn hostile_remote_names_are_refused_and_the_rest_is_fetched() {
    let sshd = skip_unless_sshd!();
    let served = sshd.served("names");
    fs::write(served.join("good.csv"), EXPORT).unwrap();
    fs::write(served.join("evil\nname.csv"), EXPORT).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", served.join("link.csv")).unwrap();
    let ws = workspace(
        &sshd,
        &served,
        &sshd.key_login(),
        &sshd.known_hosts(),
        "keep",
    );
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("control characters"),
        "{}",
        stdout(&out)
    );
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["file_name"], "good.csv");
    // Shown on every pass, audited once (a daemon polls every minute).
    assert!(run_once(&ws).status.success());
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert_eq!(audit.matches("\"file.refused\"").count(), 1, "{audit}");
}

#[test]
fn a_server_stopped_mid_download_leaves_nothing_and_the_file_is_processed_once_later() {
    let mut sshd = skip_unless_sshd!();
    let served = sshd.served("big");
    let rows = 60_000;
    let filler = "x".repeat(490);
    let mut export = String::from("ID,Name\n");
    for i in 0..rows {
        export.push_str(&format!("{i},{filler}\n"));
    }
    fs::write(served.join("big.csv"), &export).unwrap();
    let ws = workspace(
        &sshd,
        &served,
        &sshd.key_login(),
        &sshd.known_hosts(),
        "delete",
    );
    let staging = ws.path().join("var/staging/remote");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hrbridge"))
        .args(["run", "--once"])
        .current_dir(ws.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let part = loop {
        let part = fs::read_dir(&staging).ok().and_then(|d| {
            d.flatten().map(|e| e.path()).find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".download-")
            })
        });
        if let Some(p) = part {
            break p;
        }
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "no download seen"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    sshd.freeze_connections();
    let partial = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    assert!(
        partial < export.len() as u64,
        "the download finished before the server stopped"
    );
    sshd.stop();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(job_count(&ws), 0, "a partial download was processed");
    assert!(!part.exists(), "the partial download was left in staging");
    assert!(ws.files_under("outbox").is_empty());

    sshd.restart();
    let out = run_once(&ws);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(run_once(&ws).status.success());
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["counts"]["written"], rows);
    assert!(!served.join("big.csv").exists());
}

#[test]
fn uploads_land_complete_under_their_final_name() {
    let sshd = skip_unless_sshd!();
    let remote_dir = sshd.served("up");
    fs::write(remote_dir.join("a.csv"), "stale copy\n").unwrap();
    let ws = Workspace::new();
    ws.profile(
        "push",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/push"
settle = "1s"
[[field]]
name = "id"
from = "ID"
{output}overwrite = true
"#,
            output = sftp_output(&sshd, &remote_dir),
        ),
    );
    ws.drop_file("push", "a.csv", b"ID\n7\n8\n");
    let out = run_once(&ws);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(
        fs::read_to_string(remote_dir.join("a.csv")).unwrap(),
        "id\n7\n8\n"
    );
    let leftovers: Vec<PathBuf> = fs::read_dir(&remote_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "part files left: {leftovers:?}");
    assert!(
        ws.files_under("var/outgoing").is_empty(),
        "local copy left behind"
    );
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert!(
        audit.contains(&format!(
            "sftp://{}@127.0.0.1:{}{}/a.csv",
            sshd.user,
            sshd.port,
            remote_dir.display()
        )),
        "{audit}"
    );
}

#[test]
fn an_encrypted_upload_travels_and_lands_as_age_only() {
    let sshd = skip_unless_sshd!();
    skip_unless_tools!("age-keygen");
    let keys = tempfile::tempdir().unwrap();
    let identity = keys.path().join("partner.key");
    let recipient = age_cli::keygen(&identity);
    let remote_dir = sshd.served("sealed");
    let ws = Workspace::new();
    ws.profile(
        "push",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/push"
[[field]]
name = "ssn"
from = "SSN"
pii = true
{output}encrypt_to = ["{recipient}"]
"#,
            output = sftp_output(&sshd, &remote_dir),
        ),
    );
    ws.drop_file("push", "pay.csv", b"SSN\n987-65-4329\n");
    let out = run_once(&ws);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let names: Vec<String> = fs::read_dir(&remote_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["pay.csv.age"]);
    let uploaded = remote_dir.join("pay.csv.age");
    assert!(!String::from_utf8_lossy(&fs::read(&uploaded).unwrap()).contains("987-65-4329"));
    assert_eq!(
        age_cli::decrypt(&identity, &uploaded),
        b"ssn\n987-65-4329\n"
    );
}

#[test]
fn the_daemon_polls_an_sftp_source() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = serving(&sshd, "daemon", "delete");
    let profile = ws.path().join("profiles/remote.toml");
    let text = fs::read_to_string(&profile).unwrap();
    fs::write(
        &profile,
        text.replace("after = \"delete\"", "after = \"delete\"\npoll = \"1s\""),
    )
    .unwrap();
    let daemon = daemon::Daemon::start(ws.path());
    daemon::wait_until("the first file", Duration::from_secs(30), || {
        ws.path().join("outbox/a.csv").exists().then_some(())
    });
    fs::write(served.join("b.csv"), "ID,Name\n9,Barbara\n").unwrap();
    daemon::wait_until("the second file", Duration::from_secs(30), || {
        (ws.path().join("outbox/b.csv").exists() && !served.join("b.csv").exists()).then_some(())
    });
    let status = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"));
}

/// Sets a file's mtime (whole seconds, as SFTP reports it).
fn set_mtime(path: &Path, secs: u64) {
    common::set_mtime(path, std::time::UNIX_EPOCH + Duration::from_secs(secs));
}

#[test]
fn a_move_target_that_exists_does_not_wedge_the_source() {
    let sshd = skip_unless_sshd!();
    let done = sshd.served("mv2-done");
    fs::write(done.join("a.csv"), "yesterday's export\n").unwrap();
    let (served, ws) = serving(&sshd, "mv2", &format!("move:{}", done.display()));
    assert!(run_once(&ws).status.success());
    assert!(!served.join("a.csv").exists());
    assert_eq!(
        fs::read_to_string(done.join("a.csv")).unwrap(),
        "yesterday's export\n"
    );
    let job = ws.jobs()[0]["id"].as_i64().unwrap();
    assert_eq!(
        fs::read_to_string(done.join(format!("a.csv.job{job}"))).unwrap(),
        EXPORT
    );
    fs::write(served.join("b.csv"), "ID,Name\n5,Barbara\n").unwrap();
    assert!(run_once(&ws).status.success());
    assert_eq!(job_count(&ws), 2);
}

#[test]
fn a_move_into_a_missing_folder_is_an_error_and_the_file_stays() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = serving(&sshd, "mv3", "move:/nonexistent/hrbridge-done");
    let out = run_once(&ws);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("after action for \"a.csv\""),
        "{}",
        stdout(&out)
    );
    assert!(served.join("a.csv").exists());
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert!(
        !audit.contains("remote.settled"),
        "a move that did not happen was audited"
    );
    // It is retried, not fetched again.
    assert_eq!(run_once(&ws).status.code(), Some(1));
    assert_eq!(job_count(&ws), 1);
}

#[test]
fn the_same_content_under_two_names_is_one_delivery_and_one_duplicate() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = serving(&sshd, "twins", "delete");
    fs::write(served.join("b.csv"), EXPORT).unwrap();
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stdout(&out));
    let statuses: Vec<String> = ws
        .jobs()
        .iter()
        .map(|j| j["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["duplicate", "succeeded"]);
    assert!(!served.join("a.csv").exists() && !served.join("b.csv").exists());
    assert_eq!(ws.files_under("var/archive/remote").len(), 2);
}

#[test]
fn a_new_upload_is_never_deleted_unprocessed_and_a_same_size_reupload_is_fetched() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = serving(&sshd, "reup", "delete");
    set_mtime(&served.join("a.csv"), 1_700_000_000);
    assert!(run_once(&ws).status.success());
    assert!(!served.join("a.csv").exists());
    // Corrected export, same length and mtime (`put -p`, `rsync -t`).
    // (The output name repeats per input name: the earlier output was taken downstream.)
    fs::remove_file(ws.path().join("outbox/a.csv")).unwrap();
    let corrected = EXPORT.replace("Ada", "Ida");
    fs::write(served.join("a.csv"), &corrected).unwrap();
    set_mtime(&served.join("a.csv"), 1_700_000_000);
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(job_count(&ws), 2);
    fs::remove_file(ws.path().join("outbox/a.csv")).unwrap();
    // A crash after the commit left the old version's delete pending; meanwhile the export
    // was uploaded again with new content: the new file is processed, not deleted.
    let db = rusqlite::Connection::open(ws.path().join("var/hrbridge.db")).unwrap();
    db.execute(
        "INSERT INTO remote_files (profile, name, size, mtime, state, observed_ms, job_id)
         VALUES ('remote', 'a.csv', 3, 1, 'delivered', 0, NULL)",
        [],
    )
    .unwrap();
    drop(db);
    fs::write(served.join("a.csv"), EXPORT.replace("Ada", "Ana")).unwrap();
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stdout(&out));
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "succeeded");
    assert!(fs::read_to_string(ws.path().join("outbox/a.csv"))
        .unwrap()
        .contains("Ana"));
}

#[test]
fn an_unreadable_file_does_not_hold_up_the_others() {
    let sshd = skip_unless_sshd!();
    if !sshd.ensure_password_user() {
        return;
    }
    let served = sshd.served("perm");
    fs::write(served.join("a.csv"), EXPORT).unwrap();
    fs::set_permissions(
        served.join("a.csv"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    fs::write(served.join("b.csv"), "ID,Name\n5,Barbara\n").unwrap();
    let login = format!("user = \"{PASSWORD_USER}\"\npassword = \"${{env:HRB_TEST_SFTP_PW2}}\"");
    let ws = workspace(&sshd, &served, &login, &sshd.known_hosts(), "keep");
    let out = ws
        .cmd(&["run", "--once"])
        .env("HRB_TEST_SFTP_PW2", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("a.csv"), "{}", stdout(&out));
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["file_name"], "b.csv");
}

#[test]
fn an_sftp_source_can_deliver_to_an_sftp_output() {
    let sshd = skip_unless_sshd!();
    let (served, ws) = serving(&sshd, "relay-in", "delete");
    let out_dir = sshd.served("relay-out");
    let profile = ws.path().join("profiles/remote.toml");
    let text = fs::read_to_string(&profile).unwrap();
    fs::write(
        &profile,
        format!("{text}\n{}", sftp_output(&sshd, &out_dir)),
    )
    .unwrap();
    let out = run_once(&ws);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(
        fs::read_to_string(out_dir.join("a.csv")).unwrap(),
        "id,name\n1,Ada\n2,Grace\n3,Edsger\n"
    );
    assert!(!served.join("a.csv").exists());
}
