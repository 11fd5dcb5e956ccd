//! Encrypted outputs against the reference `age` CLI: what hrbridge writes with `encrypt_to`
//! decrypts with `age -d` — to an X25519 key from `hrbridge keygen`, to an SSH ed25519 key
//! (armored), and to a recipients file holding a key from `age-keygen` — byte for byte equal
//! to the plaintext output of the same run, and no plaintext of it is left in the outbox.

use std::path::Path;
use std::process::Command;

use crate::common::profiles;
use crate::common::{age_cli, stderr, stdout, Workspace};
use crate::skip_unless_tools;

const SSN: &str = "987-65-4329";

/// A profile writing the hires both as a plain CSV and encrypted with `sealed` keys.
fn workspace(sealed: &str) -> Workspace {
    let ws = Workspace::new();
    ws.profile(
        "payroll",
        &format!(
            r#"{opening}
[[field]]
name = "ssn"
from = "SSN"
pii = true

[[output]]
type = "file"
path = "outbox/plain/payroll_{{seq}}.csv"

[[output]]
type = "file"
path = "outbox/sealed/payroll_{{seq}}.csv"
{sealed}
"#,
            opening = profiles::keyed_by_employee_id("payroll")
        ),
    );
    ws.drop_file(
        "payroll",
        "pay.csv",
        format!("Employee ID,SSN\nE1,{SSN}\nE2,123-45-6789\n").as_bytes(),
    );
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    ws
}

/// The sealed output decrypts to the plain one, and only the `.age` file is in its folder.
fn assert_sealed_matches_plain(ws: &Workspace, identity: &Path) -> Vec<u8> {
    assert_eq!(ws.files_under("outbox/sealed"), ["payroll_1.csv.age"]);
    let sealed = ws.path().join("outbox/sealed/payroll_1.csv.age");
    let bytes = std::fs::read(&sealed).unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains(SSN),
        "plaintext in the .age file"
    );
    let plain = std::fs::read(ws.path().join("outbox/plain/payroll_1.csv")).unwrap();
    assert!(String::from_utf8_lossy(&plain).contains(SSN));
    assert_eq!(age_cli::decrypt(identity, &sealed), plain);
    bytes
}

#[test]
fn x25519_output_from_hrbridge_keygen_decrypts_with_age() {
    skip_unless_tools!("age");
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("partner.key");
    let out = Workspace::new().run(&["keygen", "--output", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recipient = stdout(&out).trim().to_string();
    let ws = workspace(&format!("encrypt_to = [\"{recipient}\"]"));
    let bytes = assert_sealed_matches_plain(&ws, &key);
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    // The audit names the published .age file and its hash, never its content.
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert!(audit.contains("payroll_1.csv.age"), "{audit}");
    assert!(!audit.contains(SSN));
}

#[test]
fn ssh_ed25519_armored_output_decrypts_with_age() {
    skip_unless_tools!("age", "ssh-keygen");
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "payroll@partner",
            "-f",
        ])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let ws = workspace(&format!(
        "encrypt_to = [\"{}\"]\narmor = true",
        public.trim()
    ));
    let bytes = assert_sealed_matches_plain(&ws, &key);
    assert!(bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----\n"));
}

#[test]
fn a_recipients_file_with_an_age_keygen_key_decrypts_with_age() {
    skip_unless_tools!("age", "age-keygen");
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("team.key");
    let recipient = age_cli::keygen(&key);
    let recipients = keys.path().join("payroll.recipients");
    std::fs::write(&recipients, format!("# payroll team\n{recipient}\n")).unwrap();
    let ws = workspace(&format!("encrypt_to = [\"{}\"]", recipients.display()));
    assert_sealed_matches_plain(&ws, &key);
}

#[test]
fn check_names_a_bad_recipient() {
    let ws = Workspace::new();
    ws.profile(
        "p",
        r#"
[source]
type = "dir"
path = "inbox/p"
[[field]]
name = "id"
from = "ID"
[[output]]
type = "file"
path = "outbox/p.csv"
encrypt_to = ["age1thisisnotakey"]
[[output]]
type = "file"
path = "outbox/q.csv"
armor = true
"#,
    );
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("encrypt_to[0]: not a valid age recipient"),
        "{err}"
    );
    assert!(
        err.contains("armor only applies to encrypted outputs"),
        "{err}"
    );
}
