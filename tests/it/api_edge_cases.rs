//! API outputs at their edges, against a minimal HTTP server on loopback: a token endpoint
//! answering an absurd `expires_in` (which once overflowed the clock inside a worker), a token
//! revoked before its time (401), and a URL template whose host a cell value would choose.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::profiles;
use crate::common::{http_stub, stderr, stdout, Workspace};

/// A scripted server answering `reply(request line and headers, lowercased)`; its base URL.
fn server(reply: impl Fn(&str) -> (&'static str, String) + Send + 'static) -> String {
    let (port, _requests) = http_stub::serve(move |seen| {
        let (status, body) = reply(&seen.head);
        (status.to_string(), body)
    });
    format!("http://127.0.0.1:{port}")
}

/// A workspace whose profile `hris` POSTs `rows` employee ids to `base` with OAuth2.
fn workspace(base: &str, rows: &[u8]) -> Workspace {
    let ws = Workspace::new();
    ws.secret("hris", "s");
    ws.profile(
        "hris",
        &format!(
            r#"{opening}
[[output]]
type = "http"
url = "{base}/api/v1/employees"
concurrency = 4
max_attempts = 2
backoff = "5ms"
backoff_max = "10ms"
auth = {{ type = "oauth2", token_url = "{base}/oauth/token", client_id = "c", client_secret = "${{secret:hris}}" }}
"#,
            opening = profiles::keyed_by_employee_id("hris")
        ),
    );
    ws.drop_file("hris", "hires.csv", rows);
    ws
}

fn run(ws: &Workspace) {
    let out = ws
        .cmd(&["run", "--once"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let jobs = ws.jobs();
    assert_eq!(
        jobs[0]["status"],
        "succeeded",
        "{jobs:?}\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn an_absurd_token_lifetime_still_delivers_every_row() {
    let posts = Arc::new(AtomicUsize::new(0));
    let counted = posts.clone();
    let base = server(move |head| {
        if head.contains("/oauth/token") {
            let token =
                r#"{"access_token":"t","token_type":"Bearer","expires_in":18446744073709551615}"#;
            ("200 OK", token.to_string())
        } else {
            counted.fetch_add(1, Ordering::SeqCst);
            ("201 Created", r#"{"id":"1"}"#.to_string())
        }
    });
    run(&workspace(&base, b"Employee ID\nE1\nE2\n"));
    assert_eq!(posts.load(Ordering::SeqCst), 2);
}

/// A token the API stops accepting before it expires: the 401 fetches a new token once, and
/// the request goes through with it.
#[test]
fn a_401_fetches_a_new_token_once_and_the_row_goes_through() {
    let fetched = Arc::new(AtomicUsize::new(0));
    let issued = fetched.clone();
    let base = server(move |head| {
        if head.contains("/oauth/token") {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            let token =
                format!(r#"{{"access_token":"t{n}","token_type":"Bearer","expires_in":3600}}"#);
            ("200 OK", token)
        } else if head.contains("authorization: bearer t1") {
            (
                "401 Unauthorized",
                r#"{"error":"invalid_token"}"#.to_string(),
            )
        } else {
            ("201 Created", r#"{"id":"1"}"#.to_string())
        }
    });
    run(&workspace(&base, b"Employee ID\nE1\n"));
    assert_eq!(fetched.load(Ordering::SeqCst), 2);
}

/// A placeholder in the host would let a cell value choose where the record and the
/// `Authorization` header go: refused before the path.
#[test]
fn check_refuses_a_field_placeholder_in_the_url_host() {
    let ws = Workspace::new();
    ws.profile(
        "hris",
        r#"
[source]
type = "dir"
path = "inbox/hris"

[[field]]
name = "tenant"
from = "Tenant"

[[output]]
type = "http"
url = "https://{tenant}/api/v1/employees"
auth = { type = "bearer", token = "${env:HRB_REVIEW_TOKEN}" }
"#,
    );
    let out = ws
        .cmd(&["check"])
        .env("HRB_REVIEW_TOKEN", "t")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("only in the path or query"),
        "{}",
        stderr(&out)
    );
}
