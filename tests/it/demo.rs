//! `hrbridge demo` from a clean folder: every bundled integration runs, outputs appear, the
//! duplicate is recognised, the audit trail verifies, and the fixtures are left untouched.

use std::fs;

use crate::common::{repo, stderr, stdout};

#[test]
fn the_demo_runs_every_integration() {
    let before = snapshot(&repo().join("fixtures/inbox"));
    let cwd = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("hrbridge")
        .unwrap()
        .current_dir(cwd.path())
        .arg("demo")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    for name in [
        "ats-to-hris",
        "hris-to-payroll",
        "hris-to-benefits",
        "hris-to-lms",
        "hris-to-iam",
        "hris-to-idp",
        "survey-to-hris",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(text.contains("duplicate"), "{text}");
    // The API profiles delivered to the demo's stand-in: 22 accepted offers over REST, the
    // roster's users over SCIM.
    assert!(text.contains("22 employees created over REST"), "{text}");
    // June's roster creates the users; July's starts the two pre-hires and deactivates the
    // three leavers (never deletes them).
    assert!(
        text.contains("47 SCIM users provisioned (44 active, 3 deactivated)"),
        "{text}"
    );
    assert!(
        text.contains("delivered to SCIM http://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("intact:"), "{text}");
    assert!(!text.contains(" failed "), "{text}");

    let ws = cwd.path().join("var/demo");
    let outbox = ws.join("outbox");
    assert!(outbox.is_dir());
    // Data minimisation: the LMS gets names, department and role — never pay or SSN.
    let lms = find(&outbox, "lms").expect("an LMS output");
    let header = fs::read_to_string(&lms)
        .unwrap()
        .lines()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    for banned in ["salary", "pay", "ssn", "birth"] {
        assert!(
            !header.contains(banned),
            "LMS output carries {banned}: {header}"
        );
    }
    // JSON Lines outputs parse line by line.
    for f in files(&outbox)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        for line in fs::read_to_string(&f).unwrap().lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{}: {e}: {line}", f.display()));
        }
    }
    assert_eq!(
        snapshot(&repo().join("fixtures/inbox")),
        before,
        "the demo changed fixtures/"
    );
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn find(dir: &std::path::Path, needle: &str) -> Option<std::path::PathBuf> {
    files(dir).into_iter().find(|p| {
        let s = p.display().to_string();
        s.contains(needle) && !s.ends_with(".rejects.csv")
    })
}

fn snapshot(dir: &std::path::Path) -> Vec<(String, u64)> {
    files(dir)
        .into_iter()
        .map(|p| (p.display().to_string(), fs::metadata(&p).unwrap().len()))
        .collect()
}
