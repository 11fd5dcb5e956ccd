//! The corpus of bad inputs in `fixtures/bad/`: each one ends as a failed or partial job with
//! a located reason, its input is kept (error/ or archive/), and nothing panics.
//!
//! `fixtures/bad/manifest.toml` lists the cases: file, profile, expected status and a piece of
//! the expected reason.

use std::fs;

use crate::common::{repo, stderr, stdout, Workspace};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Manifest {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    file: String,
    profile: String,
    expect: String,
    error_contains: String,
    #[allow(dead_code)]
    why: String,
}

fn manifest() -> Manifest {
    let text = fs::read_to_string(repo().join("fixtures/bad/manifest.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

#[test]
fn the_corpus_is_big_enough() {
    let m = manifest();
    assert!(m.case.len() >= 15, "only {} bad cases", m.case.len());
    for c in &m.case {
        assert!(
            repo().join("fixtures/bad").join(&c.file).is_file(),
            "missing {}",
            c.file
        );
    }
}

#[test]
fn every_bad_input_fails_cleanly_with_a_located_reason() {
    let mut failures = Vec::new();
    for case in manifest().case {
        if let Err(e) = run_case(&case) {
            failures.push(format!("{}: {e}", case.file));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn run_case(case: &Case) -> Result<(), String> {
    let ws = Workspace::new();
    ws.profile_from(&format!("fixtures/bad/profiles/{}.toml", case.profile));
    let bytes =
        fs::read(repo().join("fixtures/bad").join(&case.file)).map_err(|e| e.to_string())?;
    let name = std::path::Path::new(&case.file)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    ws.drop_file(&case.profile, &name, &bytes);
    let out = ws.run(&["run", "--once", "--profile", &case.profile]);
    let code = out.status.code();
    let want_code = if case.expect == "failed" { 1 } else { 0 };
    if code != Some(want_code) {
        return Err(format!(
            "exit {code:?}, expected {want_code}\nstdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        ));
    }
    let jobs = ws.jobs();
    let job = jobs.first().ok_or("no job recorded")?;
    if job["status"] != case.expect.as_str() {
        return Err(format!(
            "status {}, expected {}: {job}",
            job["status"], case.expect
        ));
    }
    let detail = ws.job(job["id"].as_i64().unwrap());
    let text = detail.to_string().to_lowercase();
    if !text.contains(&case.error_contains.to_lowercase()) {
        return Err(format!(
            "{:?} not in the job's error or rejections: {detail}",
            case.error_contains
        ));
    }
    // Located: the reason names the file, and a row or a column.
    let reason = match job["error"].as_str() {
        Some(e) => e.to_string(),
        None => detail["rejections"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    };
    if case.expect == "failed" && !reason.contains(&name) {
        return Err(format!("error does not name the file: {reason}"));
    }
    // The input is kept, never lost.
    let kept_in = if case.expect == "failed" {
        "var/error"
    } else {
        "var/archive"
    };
    let kept = ws.files_under(&format!("{kept_in}/{}", case.profile));
    // Kept encrypted to the installation key, hence `.age`.
    if !kept.iter().any(|k| k.ends_with(&format!("{name}.age"))) {
        return Err(format!("input not kept in {kept_in}: {kept:?}"));
    }
    if case.expect == "failed" && !ws.files_under("outbox").is_empty() {
        return Err(format!(
            "a failed job wrote outputs: {:?}",
            ws.files_under("outbox")
        ));
    }
    Ok(())
}
