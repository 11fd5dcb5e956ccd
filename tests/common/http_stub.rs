//! A scripted HTTP/1.1 server on loopback, for tests that need exact answers (a status, an
//! odd token, a 401): one connection per request, each answered by the test's `reply` and
//! then handed to the test. The stand-in API (`hrbridge::standin`) is the realistic server;
//! this one is for the answers no real server gives on purpose.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

/// A request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request line and the headers, lowercased (`post /path http/1.1\r\nhost: ...`).
    pub head: String,
    pub body: String,
}

/// Serves on `127.0.0.1` until the test ends; each request gets `reply(&seen)` — a status line
/// such as `"200 OK"` and a JSON body — and is then sent on the channel. Returns the port.
pub fn serve(
    reply: impl Fn(&Seen) -> (String, String) + Send + 'static,
) -> (u16, mpsc::Receiver<Seen>) {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for mut stream in server.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let seen = Seen {
                head,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let (status, answer) = reply(&seen);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = tx.send(seen);
        }
    });
    (port, rx)
}
