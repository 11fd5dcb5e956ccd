//! `hrbridge secrets set|list|rm`: values in from stdin, never out again — not on the screen,
//! not in the audit trail, not in plain text anywhere under the state folder — and `check`
//! naming the secrets a profile needs that are not set.

use std::fs;

use crate::common::{all_files, contains_bytes, stderr, stdout, Workspace};

const CANARY: &str = "canary-secret-value-9d2c";

const PROFILE: &str = r#"
[source]
type = "dir"
path = "inbox/p"
[[field]]
name = "id"
from = "ID"
[[output]]
type = "http"
url = "https://hris.example.com/api/employees"
auth = { type = "bearer", token = "${secret:hris_token}" }
headers = { X-Tenant = "${env:HRB_TEST_SECRETS_TENANT}" }
"#;

#[test]
fn set_list_rm_keep_values_out_of_sight_and_are_audited() {
    let ws = Workspace::new();
    ws.secret("hris_token", &format!("{CANARY}\n"));
    ws.secret("other.key", "x");

    let out = ws.run(&["secrets", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hris_token\nother.key\n");
    assert!(!contains_bytes(&out.stderr, CANARY));

    // Nothing under the state folder holds the value in plain text.
    let found = all_files(&ws.path().join("var"));
    assert!(
        found.iter().any(|p| p.ends_with("secrets.age")),
        "{found:?}"
    );
    for path in &found {
        assert!(
            !contains_bytes(&fs::read(path).unwrap(), CANARY),
            "{} holds the value",
            path.display()
        );
    }

    let out = ws.run(&["secrets", "rm", "other.key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ws.run(&["secrets", "rm", "other.key"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no secret other.key"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&ws.run(&["secrets", "list"])), "hris_token\n");

    let out = ws.run(&["audit", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!contains_bytes(&out.stdout, CANARY));
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let secret_events: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("secret."))
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["detail"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        secret_events,
        [
            ("secret.set".to_string(), "hris_token".to_string()),
            ("secret.set".to_string(), "other.key".to_string()),
            ("secret.removed".to_string(), "other.key".to_string()),
        ]
    );
    assert!(events
        .iter()
        .all(|e| e["detail"]["user"].is_string()
            || !e["kind"].as_str().unwrap().starts_with("secret.")));
    assert!(ws.run(&["audit", "verify"]).status.success());
}

#[test]
fn names_are_checked_and_values_never_come_from_arguments() {
    let ws = Workspace::new();
    let out = ws
        .cmd(&["secrets", "set", "../x"])
        .write_stdin("v")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("may only contain"),
        "{}",
        stderr(&out)
    );
    // A value given as an argument is a usage error, not a secret.
    let out = ws.cmd(&["secrets", "set", "a", CANARY]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ws
        .cmd(&["secrets", "set", "a"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
    assert!(!ws.path().join("var/secrets.age").exists());
}

#[test]
fn check_names_missing_secrets_at_their_keys_without_values() {
    let ws = Workspace::new();
    ws.profile("p", PROFILE);
    std::fs::create_dir_all(ws.path().join("inbox/p")).unwrap();
    let out = ws
        .cmd(&["check"])
        .env_remove("HRB_TEST_SECRETS_TENANT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    for expected in [
        "p.toml:11:",
        "${secret:hris_token} is not set: store it with `hrbridge secrets set hris_token`",
        "p.toml:12:",
        "environment variable HRB_TEST_SECRETS_TENANT is not set",
        "2 problem(s)",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // Checking created no installation key and no store.
    assert!(!ws.path().join("var/keys").exists());
    assert!(!ws.path().join("var/secrets.age").exists());

    ws.secret("hris_token", CANARY);
    let out = ws
        .cmd(&["check"])
        .env("HRB_TEST_SECRETS_TENANT", "tenant-value-3e1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for text in [&out.stdout, &out.stderr] {
        assert!(!contains_bytes(text, CANARY) && !contains_bytes(text, "tenant-value-3e1"));
    }
}
