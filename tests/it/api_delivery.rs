//! `[[output]] type = "http"` end to end: `hrbridge run --once` delivers a real export to the
//! stand-in HR API (a real HTTP server on loopback) through OAuth2, a rate limit and injected
//! faults, and the server's own record shows every row applied exactly once — also after the
//! process is SIGKILLed mid-delivery and started again.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::common::daemon;
use crate::common::profiles;
use crate::common::{standin_oauth2, stderr, stdout, Workspace};
use hrbridge::standin::{Config, Faults, StandinApi};

/// `n` hires; row `i` has key `E{i}` and a PII SSN.
fn hires(n: usize, ssn: impl Fn(usize) -> String) -> String {
    let mut csv = String::from("Employee ID,First,Last,SSN\n");
    for i in 1..=n {
        writeln!(csv, "E{i:05},First{i},Last{i},{}", ssn(i)).unwrap();
    }
    csv
}

/// A workspace whose profile `hris` delivers to `api` with `extra` output keys; the OAuth2
/// client secret is `secret`, kept as `${secret:hris}` in the state folder.
fn workspace(api: &StandinApi, extra: &str, secret: &str) -> Workspace {
    let ws = Workspace::new();
    ws.secret("hris", secret);
    let base = api.base_url();
    let auth = standin_oauth2(&base);
    ws.profile(
        "hris",
        &format!(
            r#"{opening}required = true

[[field]]
name = "name.first"
from = "First"

[[field]]
name = "name.last"
from = "Last"

[[field]]
name = "ssn"
from = "SSN"
pii = true

[[output]]
type = "http"
url = "{base}/api/v1/employees"
capture_id = "/id"
backoff = "5ms"
backoff_max = "200ms"
max_attempts = 10
{auth}
{extra}
"#,
            opening = profiles::keyed_by_employee_id("hris")
        ),
    );
    ws
}

fn run_once(ws: &Workspace) -> std::process::Output {
    ws.cmd(&["run", "--once"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap()
}

/// Every one of `n` keys applied exactly once.
fn assert_each_applied_once(api: &StandinApi, n: usize) {
    let record = api.record();
    assert_eq!(record.employees.len(), n, "keys at the server");
    let twice: Vec<_> = record
        .employees
        .iter()
        .filter(|(_, e)| e.applied != 1)
        .map(|(k, e)| (k.clone(), e.applied))
        .collect();
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
}

#[test]
fn ten_thousand_rows_through_faults_arrive_exactly_once_within_the_rate_limit() {
    let api = StandinApi::start(Config {
        token_ttl: Duration::from_secs(2),
        rate_limit: Some(2000),
        faults: Faults {
            error_500: 0.10,
            throttle_429: 0.05,
            retry_after_secs: 1,
            drop_after_processing: 0.02,
            slow: 0.02,
            slow_for: Duration::from_millis(300),
            seed: 7,
        },
        ..Config::default()
    })
    .unwrap();
    let ws = workspace(
        &api,
        "rate_limit = \"2000/s\"\nconcurrency = 32\ntimeout = \"5s\"",
        "demo-secret",
    );
    ws.drop_file(
        "hris",
        "hires.csv",
        hires(10_000, |i| format!("900-00-{i:04}")).as_bytes(),
    );

    let started = Instant::now();
    let out = run_once(&ws);
    let took = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    assert_each_applied_once(&api, 10_000);
    let record = api.record();
    assert_eq!(record.throttled_by_limit, 0, "429s caused by our rate");
    assert!(
        record.max_in_any_second <= 2000,
        "{} in one second",
        record.max_in_any_second
    );
    assert!(
        record.tokens_issued >= 2,
        "the 2 s token was never refreshed"
    );
    // One fetch serves all 32 workers: about one token per 1.8 s of run, not one per worker.
    let most = (took / 1.5) as u32 + 2;
    assert!(
        record.tokens_issued <= most,
        "{} tokens in {took:.1} s",
        record.tokens_issued
    );
    // Retry-After: 1 is a minimum: after a 429, the same key comes back a second later.
    let mut last: std::collections::HashMap<&str, (u16, Duration)> = Default::default();
    let mut retried_after_429 = 0;
    for r in &record.requests {
        let Some(key) = r.idempotency_key.as_deref() else {
            continue;
        };
        if let Some((429, at)) = last.get(key) {
            let gap = r.at - *at;
            assert!(
                gap >= Duration::from_millis(990),
                "{key} retried after {gap:?}"
            );
            retried_after_429 += 1;
        }
        last.insert(key, (r.status, r.at));
    }
    assert!(
        retried_after_429 > 100,
        "{retried_after_429} retries after a 429"
    );
    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "succeeded", "{jobs:?}");
    assert_eq!(jobs[0]["counts"]["written"], 10_000);
    assert_eq!(jobs[0]["counts"]["failed"], 0);
    // The spool is removed once every row is delivered.
    assert_eq!(ws.files_under("var/outgoing"), Vec::<String>::new());
}

#[test]
fn a_killed_delivery_resumes_and_sends_only_what_was_not_confirmed() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(
        &api,
        "rate_limit = \"1000/s\"\nconcurrency = 8",
        "demo-secret",
    );
    ws.drop_file(
        "hris",
        "hires.csv",
        hires(10_000, |i| format!("900-00-{i:04}")).as_bytes(),
    );

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hrbridge"))
        .current_dir(ws.path())
        .args(["run", "--once"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.record().employees.len() < 3000 {
        assert!(Instant::now() < deadline, "delivery never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = api.record().employees.len();
    assert!(before < 10_000, "the kill came too late");

    let out = run_once(&ws);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("recovered 1 unfinished job"),
        "{}",
        stdout(&out)
    );
    assert_each_applied_once(&api, 10_000);
    let record = api.record();
    // Rows resent after the kill carried the key they were first sent with, so the server
    // replayed its answer instead of applying them again; everything else was sent once.
    let posts = record
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/api/v1/employees"))
        .count();
    assert!((10_000..10_200).contains(&posts), "{posts} POSTs");
    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "succeeded", "{jobs:?}");
    // The audit counts every delivered row of the job, not only those of the second run.
    let audit: serde_json::Value =
        serde_json::from_slice(&ws.run(&["audit", "--json"]).stdout).unwrap();
    let delivered = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "output.delivered")
        .expect("an output.delivered event");
    assert_eq!(delivered["detail"]["delivered"], 10_000, "{delivered}");
    assert!(delivered["detail"]["settled_this_run"].as_u64().unwrap() < 10_000);
}

#[test]
fn sigterm_stops_sending_and_the_next_start_sends_the_rest() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api, "rate_limit = \"200/s\"", "demo-secret");
    ws.drop_file(
        "hris",
        "hires.csv",
        hires(2_000, |i| format!("900-00-{i:04}")).as_bytes(),
    );
    let d = daemon::Daemon::start(ws.path());
    daemon::wait_until("delivery to start", Duration::from_secs(30), || {
        let started = api.record().employees.len() >= 100;
        if !started && d.log().contains("ERROR") {
            panic!("{}", d.log());
        }
        started.then_some(())
    });
    // 2,000 rows at 200/s take 10 s; SIGTERM must not wait for them.
    let status = d.terminate(Duration::from_secs(5));
    assert!(status.success(), "{status}");
    let sent = api.record().employees.len();
    assert!(sent < 2_000, "everything was sent before the stop");
    assert_eq!(ws.jobs()[0]["status"], "committing");

    let out = run_once(&ws);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_each_applied_once(&api, 2_000);
    assert_eq!(ws.jobs()[0]["status"], "succeeded");
}

#[test]
fn bulk_batches_and_a_later_profile_updates_by_captured_id() {
    let api = StandinApi::start(Config::default()).unwrap();
    // Profile `hris` creates employees one by one and keeps their ids (capture_id = "/id").
    let ws = workspace(&api, "", "demo-secret");
    ws.drop_file(
        "hris",
        "hires.csv",
        hires(5, |i| format!("900-00-{i:04}")).as_bytes(),
    );
    let out = run_once(&ws);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    // Profile `moves` PATCHes those employees at /employees/{id}, reading the same id map.
    let base = api.base_url();
    let auth = standin_oauth2(&base);
    ws.profile(
        "moves",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/moves"
[[field]]
name = "employee_id"
from = "Employee ID"
key = true
[[field]]
name = "department"
from = "Department"
[[output]]
type = "http"
method = "PATCH"
url = "{base}/api/v1/employees/{{id}}"
id_map = "hris"
success = {{ status = [200], present = "/id" }}
{auth}
"#
        ),
    );
    ws.drop_file(
        "moves",
        "moves.csv",
        b"Employee ID,Department\nE00002,Finance\nE00004,Legal\nE00099,Nowhere\n",
    );
    let out = ws.run(&["run", "--once", "--profile", "moves"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let record = api.record();
    assert_eq!(record.employees["E00002"].body["department"], "Finance");
    assert_eq!(record.employees["E00004"].body["department"], "Legal");
    // Created once, then patched once; the others untouched.
    assert_eq!(record.employees["E00002"].applied, 2);
    assert_eq!(record.employees["E00001"].applied, 1);
    let job = &ws.jobs()[0];
    assert_eq!(job["status"], "partial", "{job}");
    let detail = ws.job(job["id"].as_i64().unwrap());
    let reason = detail["delivery_failures"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("no id is known"), "{reason}");

    // Profile `bulk` sends 45 records as batches of 20 wrapped in {"employees": [...]}.
    ws.profile(
        "bulk",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/bulk"
[[field]]
name = "employee_id"
from = "Employee ID"
key = true
[[output]]
type = "http"
url = "{base}/api/v1/employees/bulk"
batch_size = 20
batch_wrapper = "employees"
{auth}
"#
        ),
    );
    let mut csv = String::from("Employee ID\n");
    for i in 0..45 {
        writeln!(csv, "B{i:03}").unwrap();
    }
    ws.drop_file("bulk", "bulk.csv", csv.as_bytes());
    let out = ws.run(&["run", "--once", "--profile", "bulk"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let record = api.record();
    let bulk_posts: Vec<_> = record
        .requests
        .iter()
        .filter(|r| r.path == "/api/v1/employees/bulk")
        .collect();
    assert_eq!(bulk_posts.len(), 3, "{bulk_posts:?}");
    assert!(bulk_posts.iter().all(|r| r.status == 200));
    assert_eq!(
        record
            .employees
            .keys()
            .filter(|k| k.starts_with('B'))
            .count(),
        45
    );
}

#[test]
fn permanent_failures_are_listed_and_retry_sends_only_them() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api, "", "demo-secret");
    // The stand-in refuses any record carrying REJECT-ME with a 422.
    let csv = hires(20, |i| {
        if i % 10 == 3 {
            "REJECT-ME".into()
        } else {
            format!("900-00-{i:04}")
        }
    });
    ws.drop_file("hris", "hires.csv", csv.as_bytes());

    let out = run_once(&ws);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // The summary says how many rows arrived, not just where they went.
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "delivered 18 of 20 row(s) to POST {}/api/v1/employees, 2 failed",
            api.base_url()
        )),
        "{said}"
    );
    let jobs = ws.jobs();
    let id = jobs[0]["id"].as_i64().unwrap();
    assert_eq!(jobs[0]["status"], "partial");
    assert_eq!(jobs[0]["counts"]["failed"], 2);
    let detail = ws.job(id);
    let failures = detail["delivery_failures"].as_array().unwrap();
    let rows: Vec<i64> = failures
        .iter()
        .map(|f| f["row"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, [4, 14], "{failures:?}");
    assert_eq!(failures[0]["status"], 422);
    let reason = failures[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("HTTP 422"), "{reason}");
    assert!(!reason.contains("REJECT-ME"), "PII echoed: {reason}");
    assert_eq!(api.record().employees.len(), 18);
    // The spool is kept for `retry`, encrypted to the installation key: no SSN in it.
    let kept: Vec<_> = std::fs::read_dir(ws.path().join("var/outgoing/hris"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let spool = std::fs::read(&kept[0]).unwrap();
    assert!(spool.starts_with(b"age-encryption.org/v1\n"));
    assert!(!String::from_utf8_lossy(&spool).contains("900-00-0001"));

    // Nothing changed at the API: the retry fails the same two rows and sends nothing else.
    // A 422 is a definitive refusal, so the rows go under new keys: the stand-in (which
    // replays the stored answer to a key it has seen) validates them afresh.
    let first_keys = refused_keys(&api, 0);
    assert_eq!(first_keys.len(), 2, "{first_keys:?}");
    let sent_before = api.record().requests.len();
    let out = ws.cmd(&["retry", &id.to_string()]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("sent 2 row(s) again"),
        "{}",
        stdout(&out)
    );
    let posts_after: Vec<_> = api.record().requests[sent_before..]
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/employees"))
        .map(|r| r.status)
        .collect();
    assert_eq!(posts_after, [422, 422]);
    let retry_keys = refused_keys(&api, sent_before);
    assert_eq!(retry_keys.len(), 2, "{retry_keys:?}");
    assert!(
        retry_keys.is_disjoint(&first_keys),
        "a refused row was retried under the key its refusal is stored under: {retry_keys:?}"
    );
    let all_applied_once = api.record().employees.values().all(|e| e.applied == 1);
    assert!(all_applied_once);

    // A profile whose fields changed since the rows were spooled cannot send them: values are
    // kept by position. The job is left as it was.
    let path = ws.path().join("profiles/hris.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replace(
        "[[output]]",
        "[[field]]\nname = \"dept\"\nfrom = \"First\"\n\n[[output]]",
    );
    std::fs::write(&path, changed).unwrap();
    let out = ws.cmd(&["retry", &id.to_string()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("fields changed since its rows were prepared"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ws.job(id)["job"]["status"], "partial");
    std::fs::write(&path, text).unwrap();

    let out = ws.cmd(&["retry", "999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no job 999"), "{}", stderr(&out));
}

/// The distinct `Idempotency-Key`s of the employee requests answered 422 from request
/// `from` on.
fn refused_keys(api: &StandinApi, from: usize) -> std::collections::HashSet<String> {
    api.record().requests[from..]
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/employees") && r.status == 422)
        .map(|r| {
            r.idempotency_key
                .clone()
                .expect("every API request carries a key")
        })
        .collect()
}

#[test]
fn a_row_refused_for_good_is_retried_under_a_new_key_and_applied() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api, "", "demo-secret");
    // Profile `moves` replaces employees by the server's id, taken from the file.
    let base = api.base_url();
    let auth = standin_oauth2(&base);
    ws.profile(
        "moves",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/moves"
[[field]]
name = "server_id"
from = "Server ID"
[[field]]
name = "department"
from = "Department"
[[output]]
type = "http"
method = "PUT"
url = "{base}/api/v1/employees/{{server_id}}"
backoff = "5ms"
{auth}
"#
        ),
    );
    // Employee E1 does not exist yet: the PUT is refused with 404, a final answer.
    ws.drop_file("moves", "moves.csv", b"Server ID,Department\nE1,Finance\n");
    let out = ws.run(&["run", "--once", "--profile", "moves"]);
    let job = &ws.jobs()[0];
    assert_eq!(
        job["status"],
        "failed",
        "{job}{}{}",
        stdout(&out),
        stderr(&out)
    );
    let id = job["id"].as_i64().unwrap();
    assert_eq!(ws.job(id)["delivery_failures"][0]["status"], 404);
    let puts = |from: usize| -> Vec<(u16, String)> {
        api.record().requests[from..]
            .iter()
            .filter(|r| r.method == "PUT")
            .map(|r| (r.status, r.idempotency_key.clone().unwrap_or_default()))
            .collect()
    };
    let first = puts(0);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].0, 404);

    // Now profile `hris` creates the employee (the server calls it E1) ...
    ws.drop_file(
        "hris",
        "hires.csv",
        hires(1, |_| "900-00-0001".into()).as_bytes(),
    );
    let out = ws.run(&["run", "--once", "--profile", "hris"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(api.record().employees["E00001"].id, "E1");

    // ... and the retry's PUT, under a new key, is processed and applied — under the old
    // key the stand-in would have replayed the stored 404.
    let sent_before = api.record().requests.len();
    let out = ws.cmd(&["retry", &id.to_string()]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let retried = puts(sent_before);
    assert_eq!(retried.len(), 1, "{retried:?}");
    assert_eq!(retried[0].0, 200);
    assert_ne!(retried[0].1, first[0].1, "the retry reused the refused key");
    assert!(retried[0].1.starts_with("hrb-"), "{retried:?}");
    let employee = &api.record().employees["E00001"];
    assert_eq!(employee.applied, 2, "created, then replaced once");
    assert_eq!(employee.body["department"], "Finance");
    assert_eq!(ws.job(id)["job"]["status"], "succeeded");
}

#[test]
fn secrets_tokens_and_pii_never_reach_logs_store_or_audit() {
    let api = StandinApi::start(Config {
        client_secret: "canary-client-secret-7f3a".into(),
        faults: Faults {
            error_500: 0.2,
            seed: 3,
            ..Faults::default()
        },
        ..Config::default()
    })
    .unwrap();
    let ws = workspace(&api, "", "canary-client-secret-7f3a");
    let ssn = "987-65-4329";
    let csv = hires(30, |i| {
        if i == 7 {
            ssn.into()
        } else {
            format!("900-00-{i:04}")
        }
    });
    ws.drop_file("hris", "hires.csv", csv.as_bytes());

    let run = ws
        .cmd(&["-vv", "run", "--once"])
        .env("HRBRIDGE_LOG", "debug")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(api.record().employees.len(), 30);
    let tokens = api.record().tokens;
    assert!(!tokens.is_empty());

    let mut seen = stdout(&run) + &stderr(&run);
    for args in [
        &["jobs", "--json"][..],
        &["audit", "--json"],
        &["jobs", "--job", "1"],
    ] {
        let out = ws.run(args);
        seen += &stdout(&out);
        seen += &stderr(&out);
    }
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(ws.path().join("var")).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("hrbridge.db")
        {
            stored.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    let stored = String::from_utf8_lossy(&stored);
    assert!(seen.contains("DEBUG"), "not a debug-level run");
    for canary in [ssn, "canary-client-secret-7f3a"]
        .into_iter()
        .chain(tokens.iter().map(String::as_str))
    {
        assert!(!seen.contains(canary), "{canary} in output or logs");
        assert!(!stored.contains(canary), "{canary} in the store");
    }
}

#[test]
fn check_refuses_plain_http_to_a_remote_host_and_bad_api_keys() {
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
type = "http"
url = "http://hris.example.com/api/{nope}"
batch_size = 0
capture_id = "id"
[[output]]
type = "scim"
base_url = "https://idp.example.com/scim/v2"
"#,
    );
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "plain http:// is only allowed to loopback",
        "{nope} is not a field",
        "batch_size must be at least 1",
        "a JSON pointer starts with `/`",
        "already keeps its ids in the id map \"p\"",
        "a field must be named \"externalId\"",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}
