//! API outputs at their edges: a token endpoint answering an absurd `expires_in` (which once
//! overflowed the clock inside a worker), and a URL template whose host a cell value would
//! choose.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{stderr, stdout, Workspace};

/// A loopback HTTP/1.1 server: `/oauth/token` issues a token with `expires_in = u64::MAX`,
/// every other request is counted and answered 201.
fn server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let posts = Arc::new(AtomicUsize::new(0));
    let counted = posts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let reply = if first.contains("/oauth/token") {
                r#"{"access_token":"t","token_type":"Bearer","expires_in":18446744073709551615}"#
                    .to_string()
            } else {
                counted.fetch_add(1, Ordering::SeqCst);
                r#"{"id":"1"}"#.to_string()
            };
            let status = if first.contains("/oauth/token") {
                "200 OK"
            } else {
                "201 Created"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (base, posts)
}

#[test]
fn an_absurd_token_lifetime_still_delivers_every_row() {
    let (base, posts) = server();
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
    ws.drop_file("hris", "hires.csv", b"Employee ID\nE1\nE2\n");
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
    assert_eq!(posts.load(Ordering::SeqCst), 2);
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
