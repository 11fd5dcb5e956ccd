//! API outputs at their edges, against a minimal HTTP server on loopback: a token endpoint
//! answering an absurd `expires_in` (which once overflowed the clock inside a worker), a token
//! revoked before its time (401), and a URL template whose host a cell value would choose.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{stderr, stdout, Workspace};

/// A loopback HTTP/1.1 server that answers each request with `reply(request line, headers)`
/// (status line and JSON body), one connection per request.
fn server(reply: impl Fn(&str, &str) -> (&'static str, String) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut headers = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push_str(&lower);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let (status, body) = reply(&first, &headers);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

/// A workspace whose profile `hris` POSTs `rows` employee ids to `base` with OAuth2.
fn workspace(base: &str, rows: &[u8]) -> Workspace {
    let ws = Workspace::new();
    ws.secret("hris", "s");
    ws.profile(
        "hris",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/hris"

[[field]]
name = "employee_id"
from = "Employee ID"
key = true

[[output]]
type = "http"
url = "{base}/api/v1/employees"
concurrency = 4
max_attempts = 2
backoff = "5ms"
backoff_max = "10ms"
auth = {{ type = "oauth2", token_url = "{base}/oauth/token", client_id = "c", client_secret = "${{secret:hris}}" }}
"#
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
    let base = server(move |line, _| {
        if line.contains("/oauth/token") {
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
    let base = server(move |line, headers| {
        if line.contains("/oauth/token") {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            let token =
                format!(r#"{{"access_token":"t{n}","token_type":"Bearer","expires_in":3600}}"#);
            ("200 OK", token)
        } else if headers.contains("authorization: bearer t1") {
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
