//! `hrbridge demo` from a clean folder: every bundled integration runs, outputs appear, the
//! duplicate is recognised, the audit trail verifies, and the fixtures are left untouched. Its
//! lifecycle story's nightly rosters make the changes this file's own reading of the fixtures
//! expects, and the truncated night is left held.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

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
    assert!(text.contains("row(s) to SCIM http://127.0.0.1:"), "{text}");
    assert!(text.contains("intact:"), "{text}");
    let jobs = json_of(cwd.path(), &["jobs", "--json"]);
    let jobs = jobs.as_array().unwrap();
    assert!(jobs.iter().all(|j| j["status"] != "failed"), "{jobs:#?}");
    lifecycle_story(cwd.path(), &text, jobs);
    accountability(cwd.path());
    traces(cwd.path());

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

/// Every delivery of the demo has its transfer record, with the categories, recipient and
/// legal basis its profile declares; the record of processing has one entry per profile.
fn accountability(cwd: &Path) {
    let out = assert_cmd::Command::cargo_bin("hrbridge")
        .unwrap()
        .current_dir(cwd)
        .args([
            "--config",
            "var/demo/hrbridge.toml",
            "audit",
            "transfers",
            "--csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut csv = csv::Reader::from_reader(out.stdout.as_slice());
    let header = csv.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    for row in &rows {
        for name in [
            "recipient",
            "country",
            "legal_basis",
            "purpose",
            "categories",
            "fields",
        ] {
            assert!(!row[column(name)].is_empty(), "no {name} in {row:?}");
        }
    }
    // One record per delivery: every published output but the rejects reports, and every
    // API delivery.
    let events = json_of(cwd, &["audit", "--json"]);
    let deliveries = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| match e["kind"].as_str() {
            Some("output.delivered") => true,
            Some("output.published") => e["detail"]["fields"][0] != "file",
            _ => false,
        })
        .count();
    assert_eq!(rows.len(), deliveries, "{rows:#?}");
    let lms = rows
        .iter()
        .find(|r| &r[column("profile")] == "hris-to-lms")
        .unwrap();
    assert_eq!(&lms[column("categories")], "identity contact employment");
    assert_eq!(&lms[column("legal_basis")], "legitimate_interests");

    let only = json_of(
        cwd,
        &["audit", "transfers", "--profile", "hris-to-lms", "--json"],
    );
    assert_eq!(only.as_array().map(Vec::len), Some(1), "{only:#}");
    assert_eq!(
        only[0]["transfer"]["recipient"]["country"], "NL",
        "{only:#}"
    );
    let none = json_of(
        cwd,
        &["audit", "transfers", "--until", "2000-01-01", "--json"],
    );
    assert_eq!(none, serde_json::json!([]));

    let ropa = json_of(cwd, &["audit", "ropa", "--json"]);
    let entries = ropa.as_array().unwrap();
    assert_eq!(
        entries.len(),
        10,
        "nine bundled profiles and the lifecycle one: {ropa:#}"
    );
    for e in entries {
        assert!(
            e["purpose"].is_string() && e["legal_basis"].is_string(),
            "{e:#}"
        );
        assert!(e["ran"]["transfers"].as_u64() > Some(0), "{e:#}");
    }
    let idp = entries
        .iter()
        .find(|e| e["integration"] == "hris-to-idp")
        .unwrap();
    let recipient = &idp["recipients"][0];
    assert_eq!(recipient["outside_eea"], true, "{idp:#}");
    assert_eq!(recipient["transfer_mechanism"], "adequacy", "{idp:#}");
}

/// The demo's `trace` suggestions answer: a hire rejected for a date that does not exist, and
/// one person through the lifecycle, identity and payroll profiles.
fn traces(cwd: &Path) {
    let hire = json_of(cwd, &["trace", "C-20484", "--json"]);
    // The first run and nothing else: the second pass is a duplicate, which reads nothing.
    assert_eq!(hire.as_array().map(Vec::len), Some(1), "{hire:#}");
    assert_eq!(hire[0]["read"]["as"], "rejected", "{hire:#}");
    assert_eq!(hire[0]["read"]["reasons"][0]["column"], "Start Date");

    let person = json_of(cwd, &["trace", "00121", "--json"]);
    let seen = person.as_array().unwrap();
    let profiles: std::collections::BTreeSet<&str> =
        seen.iter().filter_map(|s| s["profile"].as_str()).collect();
    assert!(profiles.len() >= 4, "{profiles:?}");
    // Newest first: the held night, where the roster no longer lists them.
    assert_eq!(seen[0]["profile"], "hris-to-directory");
    assert_eq!(seen[0]["read"]["as"], "absent", "{:#}", seen[0]);
    assert_eq!(seen[0]["row"], serde_json::Value::Null);
    assert_eq!(seen[0]["outputs"][0]["state"], "held", "{:#}", seen[0]);
    let scim = seen
        .iter()
        .find(|s| s["profile"] == "hris-to-idp")
        .expect("the identity provider's job");
    assert_eq!(scim["outputs"][0]["state"], "delivered", "{scim:#}");
    assert!(scim["outputs"][0]["remote_id"].is_string(), "{scim:#}");
}

/// The lifecycle profile's three nights: each plan's counts are what the fixtures make, the
/// last night is held with nothing sent, and the plans show no PII.
fn lifecycle_story(cwd: &Path, text: &str, jobs: &[serde_json::Value]) {
    let mut nights: Vec<(i64, String)> = jobs
        .iter()
        .filter(|j| j["profile"] == "hris-to-directory")
        .map(|j| {
            (
                j["id"].as_i64().unwrap(),
                j["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    nights.sort();
    let statuses: Vec<&str> = nights.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(statuses, ["succeeded", "succeeded", "held"], "{jobs:#?}");

    let fixtures = repo().join("fixtures/lifecycle");
    let mut snapshot: Option<Roster> = None;
    for (night, (job, _)) in nights.iter().enumerate() {
        let file = roster(&fixtures.join(format!("directory_2024080{}.csv", night + 1)));
        let want = match &snapshot {
            Some(before) => changes(before, &file),
            None => BTreeMap::new(), // the baseline sends nothing
        };
        let plan = json_of(cwd, &["changes", &job.to_string(), "--json"]);
        for kind in ["joiner", "mover", "leaver", "rehire"] {
            let n = want.get(kind).copied().unwrap_or(0);
            assert_eq!(
                plan["plan"]["counts"][format!("{kind}s")].as_u64(),
                Some(n),
                "night {}: {kind}s in {plan:#}",
                night + 1
            );
        }
        let held = plan["plan"]["state"] == "held";
        assert_eq!(held, night == 2, "night {}: {plan:#}", night + 1);
        if !held {
            snapshot = Some(accept(snapshot.take(), file));
        }
    }
    // Night 2 makes every kind of change; night 3 only leavers, held.
    assert!(
        text.contains("2 joiner(s), 1 mover(s), 2 leaver(s), 1 rehire(s)"),
        "{text}"
    );
    assert!(text.contains("held: "), "{text}");
    assert!(text.contains("The demo approves nothing."), "{text}");
    // Nothing of the held night was published (its complete output waits under a hidden
    // temp name): the baseline's file and night 2's only.
    let published: Vec<_> = files(&cwd.join("var/demo/outbox/directory"))
        .into_iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(published.len(), 2, "{published:?}");
    // The plans mask PII: no name or e-mail of the leaver by status or the mover.
    for pii in ["Giulia", "giulia.romano@example.com", "Volkov"] {
        assert!(!text.contains(pii), "{pii} in the demo's output");
    }
}

/// What `hrbridge --config var/demo/hrbridge.toml ARGS` prints in `cwd`, as JSON.
fn json_of(cwd: &Path, args: &[&str]) -> serde_json::Value {
    let out = assert_cmd::Command::cargo_bin("hrbridge")
        .unwrap()
        .current_dir(cwd)
        .args(["--config", "var/demo/hrbridge.toml"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A roster file: key → (every column, trimmed; whether the status is terminated).
type Roster = BTreeMap<String, (Vec<String>, bool)>;

fn roster(path: &Path) -> Roster {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let status = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "Employment Status")
        .unwrap();
    reader
        .records()
        .map(|r| {
            let cells: Vec<String> = r.unwrap().iter().map(|c| c.trim().to_string()).collect();
            let terminated = cells[status] == "Terminated";
            (cells[0].clone(), (cells, terminated))
        })
        .collect()
}

/// The snapshot (key → columns, active) after `file` is accepted over `before`.
fn accept(before: Option<Roster>, file: Roster) -> Roster {
    let mut after: Roster = before
        .unwrap_or_default()
        .into_iter()
        .map(|(k, (cells, _))| (k, (cells, false)))
        .collect();
    for (k, (cells, terminated)) in file {
        after.insert(k, (cells, !terminated));
    }
    after
}

/// How many of each kind of change `file` makes against `snapshot` (key → columns, active).
fn changes(snapshot: &Roster, file: &Roster) -> BTreeMap<&'static str, u64> {
    let mut counts = BTreeMap::new();
    for (k, (cells, terminated)) in file {
        let kind = match (snapshot.get(k), terminated) {
            (None, false) => Some("joiner"),
            (Some((_, true)), true) => Some("leaver"),
            (Some((_, false)), false) => Some("rehire"),
            (Some((old, true)), false) if old != cells => Some("mover"),
            _ => None,
        };
        if let Some(kind) = kind {
            *counts.entry(kind).or_insert(0) += 1;
        }
    }
    let gone = snapshot
        .iter()
        .filter(|(k, (_, active))| *active && !file.contains_key(*k))
        .count() as u64;
    if gone > 0 {
        *counts.entry("leaver").or_insert(0) += gone;
    }
    counts
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
