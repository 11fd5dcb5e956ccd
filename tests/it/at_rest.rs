//! Inputs at rest, against the reference `age` CLI: no plaintext of an export stays anywhere in
//! the state folder (staging, archive, error, database), the kept copy decrypts with
//! `age -d -i state_dir/keys/installation.key` to the input's bytes, `.age` inputs made by
//! `age -r` / `age -R` are read through `decrypt_with` (damaged ones fail cleanly), duplicates
//! are still recognised by their plaintext, and `retention` purges old kept inputs, audited.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::common::{age_cli, all_files, files_holding, set_mtime, stderr, stdout, Workspace};
use crate::skip_unless_tools;

const SSN: &str = "987-65-4329";

fn export(id: &str) -> Vec<u8> {
    format!("Employee ID,SSN\n{id},{SSN}\nE9,123-45-6789\n").into_bytes()
}

fn profile(source_extra: &str, output_extra: &str) -> String {
    format!(
        r#"
[source]
type = "dir"
path = "inbox/p"
{source_extra}

[[field]]
name = "employee_id"
from = "Employee ID"
key = true

[[field]]
name = "ssn"
from = "SSN"
pii = true

[[output]]
type = "file"
path = "outbox/p_{{seq}}.csv"
{output_extra}
"#
    )
}

fn run_once(ws: &Workspace) -> std::process::Output {
    ws.run(&["run", "--once"])
}

/// A new key from `age-keygen` at `keys/hrbridge.key` in `ws`; returns its recipient.
fn partner_key(ws: &Workspace) -> String {
    fs::create_dir_all(ws.path().join("keys")).unwrap();
    age_cli::keygen(&ws.path().join("keys/hrbridge.key"))
}

/// `age <how...> -o inbox/p/<name>` of `plain`, settled.
fn drop_sealed(ws: &Workspace, name: &str, plain: &[u8], how: &[&str]) -> PathBuf {
    let clear = ws.path().join(format!("{name}.clear"));
    fs::write(&clear, plain).unwrap();
    let out = Command::new("age")
        .args(how)
        .args(["-o", "-"])
        .arg(&clear)
        .output()
        .unwrap();
    assert!(out.status.success(), "age {how:?}: {}", stderr(&out));
    fs::remove_file(&clear).unwrap();
    ws.drop_file("p", name, &out.stdout)
}

#[test]
fn no_plaintext_rests_in_the_state_folder_and_the_kept_copy_decrypts_with_age() {
    skip_unless_tools!("age", "age-keygen");
    let ws = Workspace::new();
    let recipient = partner_key(&ws);
    ws.profile(
        "p",
        &profile("", &format!("encrypt_to = [\"{recipient}\"]")),
    );
    let input = export("E1");
    ws.drop_file("p", "hires.csv", &input);
    let out = run_once(&ws);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let state = ws.path().join("var");
    assert!(all_files(&state).len() > 2, "{:?}", all_files(&state));
    assert_eq!(files_holding(&state, SSN.as_bytes()), Vec::<PathBuf>::new());
    assert_eq!(
        files_holding(&ws.path().join("outbox"), SSN.as_bytes()),
        Vec::<PathBuf>::new()
    );
    assert!(ws.files_under("inbox/p").is_empty());

    let kept = ws.files_under("var/archive/p");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].ends_with("hires.csv.age"), "{kept:?}");
    let key = state.join("keys/installation.key");
    let archived = state.join("archive/p").join(&kept[0]);
    assert_eq!(age_cli::decrypt(&key, &archived), input);
}

#[test]
fn age_inputs_are_read_and_duplicates_are_known_by_their_plaintext() {
    skip_unless_tools!("age", "age-keygen");
    let ws = Workspace::new();
    let recipient = partner_key(&ws);
    ws.profile(
        "p",
        &profile(
            "pattern = \"*.csv.age\"\ndecrypt_with = [\"keys/hrbridge.key\"]",
            "",
        ),
    );
    let recipients = ws.path().join("partner.recipients");
    fs::write(&recipients, format!("# the partner\n{recipient}\n")).unwrap();
    drop_sealed(&ws, "a.csv.age", &export("E1"), &["-r", &recipient]);
    drop_sealed(
        &ws,
        "b.csv.age",
        &export("E2"),
        &["-R", recipients.to_str().unwrap()],
    );
    // The same plaintext as a.csv.age, encrypted again (different bytes).
    drop_sealed(&ws, "c.csv.age", &export("E1"), &["-r", &recipient]);
    let out = run_once(&ws);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let jobs = ws.jobs();
    let status = |file: &str| {
        jobs.iter()
            .find(|j| j["file_name"] == file)
            .map(|j| j["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        status("a.csv.age").as_deref(),
        Some("succeeded"),
        "{jobs:?}"
    );
    assert_eq!(
        status("b.csv.age").as_deref(),
        Some("succeeded"),
        "{jobs:?}"
    );
    assert_eq!(
        status("c.csv.age").as_deref(),
        Some("duplicate"),
        "{jobs:?}"
    );
    let outputs = [
        fs::read_to_string(ws.path().join("outbox/p_1.csv")).unwrap(),
        fs::read_to_string(ws.path().join("outbox/p_2.csv")).unwrap(),
    ];
    assert!(
        outputs[0].contains("E1,") && outputs[1].contains("E2,"),
        "{outputs:?}"
    );
    assert!(!ws.path().join("outbox/p_3.csv").exists());

    // Kept decrypted (named without the partner's .age), sealed to the installation key.
    let kept = ws.files_under("var/archive/p");
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert!(kept.iter().any(|k| k.ends_with("/a.csv.age")), "{kept:?}");
    let key = ws.path().join("var/keys/installation.key");
    let a = ws
        .path()
        .join("var/archive/p")
        .join(kept.iter().find(|k| k.ends_with("/a.csv.age")).unwrap());
    assert_eq!(age_cli::decrypt(&key, &a), export("E1"));
    assert_eq!(
        files_holding(&ws.path().join("var"), SSN.as_bytes()),
        Vec::<PathBuf>::new()
    );

    // A plain export dropped twice is a duplicate too.
    let ws = Workspace::new();
    ws.profile("p", &profile("", ""));
    ws.drop_file("p", "x.csv", &export("E5"));
    assert!(run_once(&ws).status.success());
    ws.drop_file("p", "x.csv", &export("E5"));
    assert!(run_once(&ws).status.success());
    let statuses: Vec<_> = ws.jobs().iter().map(|j| j["status"].clone()).collect();
    assert!(statuses.contains(&"duplicate".into()), "{statuses:?}");
    assert!(statuses.contains(&"succeeded".into()), "{statuses:?}");
}

#[test]
fn truncated_or_altered_age_inputs_fail_cleanly() {
    skip_unless_tools!("age", "age-keygen");
    let ws = Workspace::new();
    let recipient = partner_key(&ws);
    ws.profile("p", &profile("decrypt_with = [\"keys/hrbridge.key\"]", ""));
    let cut = drop_sealed(&ws, "cut.csv.age", &export("E1"), &["-r", &recipient]);
    let bytes = fs::read(&cut).unwrap();
    ws.drop_file("p", "cut.csv.age", bytes.get(..bytes.len() - 7).unwrap());
    let flip = drop_sealed(&ws, "flip.csv.age", &export("E2"), &["-r", &recipient]);
    let mut bytes = fs::read(&flip).unwrap();
    let at = bytes.len() - 20;
    bytes[at] ^= 0x01;
    ws.drop_file("p", "flip.csv.age", &bytes);

    let out = run_once(&ws);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let jobs = ws.jobs();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    for job in &jobs {
        assert_eq!(job["status"], "failed", "{job:?}");
        let file = job["file_name"].as_str().unwrap();
        let error = job["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(file) && error.contains("cannot be decrypted"),
            "{error}"
        );
    }
    assert!(!ws.path().join("outbox").exists() || ws.files_under("outbox").is_empty());
    let kept = ws.files_under("var/error/p");
    for name in ["cut.csv.age.age", "flip.csv.age.age"] {
        assert!(kept.contains(&name.to_string()), "{kept:?}");
        assert!(kept.contains(&format!("{name}.error.txt")), "{kept:?}");
    }
    assert!(ws.files_under("inbox/p").is_empty());
    assert_eq!(
        files_holding(&ws.path().join("var"), SSN.as_bytes()),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn retention_purges_old_kept_inputs_and_outputs_and_audits_each() {
    let ws = Workspace::new();
    let settings = ws.path().join("hrbridge.toml");
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str("retention = \"30d\"\n");
    fs::write(&settings, text).unwrap();
    ws.profile("p", &profile("", ""));
    ws.drop_file("p", "old.csv", &export("E1"));
    assert!(run_once(&ws).status.success());
    let old = ws.files_under("var/archive/p");
    assert_eq!(old.len(), 1, "{old:?}");
    let old_path = ws.path().join("var/archive/p").join(&old[0]);
    let long_ago = SystemTime::now() - Duration::from_secs(31 * 86_400);
    set_mtime(&old_path, long_ago);
    // The first job finished "31 days ago": its published output goes too.
    let db = ws.db();
    db.execute(
        "UPDATE jobs SET finished_at = '2020-01-01T00:00:00.000Z' WHERE id = 1",
        [],
    )
    .unwrap();
    drop(db);
    let old_output = ws.path().join("outbox/p_1.csv");
    assert!(old_output.exists());
    assert!(ws.run(&["trace", "E1"]).status.success());
    // Old, but not a kept input: left alone.
    let bystander = ws.path().join("var/notes.txt");
    fs::write(&bystander, "operator notes").unwrap();
    set_mtime(&bystander, long_ago);

    ws.drop_file("p", "new.csv", &export("E2"));
    let out = run_once(&ws);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!old_path.exists());
    let kept = ws.files_under("var/archive/p");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].ends_with("new.csv.age"), "{kept:?}");
    assert!(bystander.exists());
    assert!(!old_output.exists(), "the old output was kept");
    assert!(
        ws.path().join("outbox/p_2.csv").exists(),
        "the new output was purged"
    );
    // The trace of the old job went with its files; the new job's stays.
    let gone = ws.run(&["trace", "E1"]);
    assert_eq!(gone.status.code(), Some(1), "{}", stdout(&gone));
    assert!(ws.run(&["trace", "E2"]).status.success());

    let audit = stdout(&ws.run(&["audit", "--json"]));
    let purged: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("input.purged"))
        .collect();
    assert!(!purged.is_empty(), "{audit}");
    assert!(audit.contains("old.csv.age"), "{audit}");
    assert!(
        audit.contains("output.purged") && audit.contains("p_1.csv"),
        "{audit}"
    );
    assert!(ws.run(&["audit", "verify"]).status.success());
}

#[test]
fn check_names_a_missing_or_unusable_identity_file_without_its_content() {
    let ws = Workspace::new();
    fs::create_dir_all(ws.path().join("keys")).unwrap();
    fs::write(
        ws.path().join("keys/junk.key"),
        "AGE-SECRET-KEY-1SECRETJUNK\n",
    )
    .unwrap();
    ws.profile(
        "p",
        &profile(
            "decrypt_with = [\"keys/absent.key\", \"keys/junk.key\"]",
            "",
        ),
    );
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("absent.key") && err.contains("cannot read"),
        "{err}"
    );
    assert!(err.contains("junk.key") && err.contains("line 1"), "{err}");
    assert!(!err.contains("SECRETJUNK"), "{err}");
}

#[test]
fn no_plaintext_appears_while_a_large_encrypted_run_is_in_progress() {
    skip_unless_tools!("age");
    let ws = Workspace::new();
    let recipient = partner_key(&ws);
    ws.profile(
        "p",
        &profile("", &format!("encrypt_to = [\"{recipient}\"]")),
    );
    // Every row carries the canary, so any plaintext fragment of input or output holds it.
    let mut csv = String::from("Employee ID,SSN\n");
    for i in 0..300_000 {
        csv.push_str(&format!("E{i},{SSN}\n"));
    }
    ws.drop_file("p", "big.csv", csv.as_bytes());
    drop(csv);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("hrbridge"))
        .current_dir(ws.path())
        .args(["run", "--once"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut scans = 0;
    while child.try_wait().unwrap().is_none() {
        for dir in ["var", "outbox"] {
            let found = files_holding(&ws.path().join(dir), SSN.as_bytes());
            assert!(found.is_empty(), "plaintext during the run in {found:?}");
        }
        scans += 1;
    }
    assert!(child.wait().unwrap().success());
    assert!(
        scans >= 2,
        "the run ended before it could be watched ({scans} scans)"
    );
    // The inbox file itself is the partner's; once taken, nothing in the clear remains.
    for dir in ["var", "outbox", "inbox"] {
        assert!(files_holding(&ws.path().join(dir), SSN.as_bytes()).is_empty());
    }
    let sealed = ws.path().join("outbox/p_1.csv.age");
    let key = ws.path().join("keys/hrbridge.key");
    let plain = age_cli::decrypt(&key, &sealed);
    assert_eq!(plain.iter().filter(|&&b| b == b'\n').count(), 300_001);
}
