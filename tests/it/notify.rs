//! `[[notify]] type = "webhook"`: a signed JSON summary reaches a real HTTP listener on loopback
//! after each job; an unreachable hook is audited and never changes the job.

use std::sync::mpsc;
use std::time::Duration;

use crate::common::http_stub::{self, Seen};
use crate::common::{stderr, stdout, Workspace};
use hmac::{Hmac, KeyInit, Mac};

/// A listener that answers every request with `status` and hands each request to the test.
fn listener(status: u16) -> (u16, mpsc::Receiver<Seen>) {
    http_stub::serve(move |_| (format!("{status} X"), String::new()))
}

fn workspace(port: u16) -> Workspace {
    let ws = Workspace::new();
    ws.profile(
        "p",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/p"
[[field]]
name = "id"
from = "ID"
type = "integer"
[validation]
max_reject_ratio = 0.5
[[output]]
type = "file"
path = "outbox/p_{{seq}}.csv"
[[notify]]
type = "webhook"
url = "http://127.0.0.1:{port}/hooks/hrbridge"
secret = "${{env:HRB_TEST_HOOK_KEY}}"
"#
        ),
    );
    ws
}

#[test]
fn a_signed_summary_is_posted_after_the_job() {
    let (port, requests) = listener(200);
    let ws = workspace(port);
    ws.drop_file("p", "a.csv", b"ID\n1\nx\n3\n");
    let out = ws
        .cmd(&["run", "--once"])
        .env("HRB_TEST_HOOK_KEY", "k3y")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let Seen { head, body } = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(head.starts_with("post /hooks/hrbridge "), "{head}");
    let summary: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(summary["status"], "partial");
    assert_eq!(summary["file"], "a.csv");
    assert_eq!(summary["counts"]["rejected"], 1);
    // The signature covers the attempt's time and the notification's id with the body, so a
    // captured call cannot be replayed: a receiver refuses an old timestamp and a seen id.
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {head}"))
            .trim()
            .to_string()
    };
    let timestamp: u64 = header("x-hrbridge-timestamp").parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(timestamp) < 60, "{timestamp} vs {now}");
    let delivery = header("x-hrbridge-delivery");
    assert_eq!(summary["delivery"], delivery.as_str());
    assert_eq!(delivery.len(), 32, "{delivery}");
    let signed = |material: &str| {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"k3y").unwrap();
        mac.update(material.as_bytes());
        format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    };
    let signature = header("x-hrbridge-signature");
    assert_eq!(signature, signed(&format!("{timestamp}.{delivery}.{body}")));
    // The body alone, or the body at another time, does not verify.
    assert_ne!(signature, signed(&body));
    assert_ne!(
        signature,
        signed(&format!("{}.{delivery}.{body}", timestamp + 600))
    );
    assert!(!body.contains("k3y"));
}

#[test]
fn an_unreachable_hook_is_audited_and_the_job_stands() {
    let (port, requests) = listener(503);
    let ws = workspace(port);
    ws.drop_file("p", "a.csv", b"ID\n1\n");
    let out = ws
        .cmd(&["run", "--once"])
        .env("HRB_TEST_HOOK_KEY", "k3y")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(requests.iter().take(3).count(), 3, "three attempts");
    assert_eq!(ws.jobs()[0]["status"], "succeeded");
    let audit = stdout(&ws.run(&["audit", "--json"]));
    assert!(
        audit.contains("notify.failed") && audit.contains("503"),
        "{audit}"
    );
}

#[test]
fn plain_http_to_another_host_is_refused_by_check() {
    let ws = workspace(1);
    let profile = ws.path().join("profiles/p.toml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(&profile, text.replace("127.0.0.1:1", "hooks.example.com")).unwrap();
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("only allowed to loopback"),
        "{}",
        stderr(&out)
    );
}
