//! Throughput and rate-limit compliance of `[[output]] type = "http"`: `hrbridge run --once`
//! delivers a generated export, one `POST` per record with OAuth2, to the in-process stand-in
//! API on loopback, and the server's own record says what arrived and when.
//!
//! Run: `cargo bench --bench api` (20,000 records unthrottled, 3,000 at `rate_limit = "500/s"`)
//! or `cargo bench --bench api -- N M` for other sizes. Prints a table: the same N through a
//! file output (the mapping cost alone), N over HTTP at the default concurrency and at 16, and M
//! against a server that answers 429 above 500 requests in any one-second window. A delivery
//! the server did not apply exactly once per record prints a WARNING line.

use std::fmt::{Display, Write as _};
#[path = "../tests/common/settled.rs"]
mod settled;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hrbridge::standin::{Config, Record, StandinApi};

/// The environment variable the profiles read the OAuth2 client secret from.
const SECRET_ENV: &str = "HRBRIDGE_BENCH_CLIENT_SECRET";

/// Source, format and fields every scenario shares; the output is appended.
const FIELDS: &str = r#"
description = "benchmark: roster to an HR API"
[source]
type = "dir"
path = "inbox/bench"
pattern = "*.csv"
[format]
type = "csv"
delimiter = ","
encoding = "utf-8"
[[field]]
name = "employee_id"
from = "Employee ID"
key = true
required = true
[[field]]
name = "name.first"
from = "First"
[[field]]
name = "name.last"
from = "Last"
[[field]]
name = "department"
from = "Department"
[[field]]
name = "ssn"
from = "SSN"
pii = true
"#;

/// The file output of the mapping-only scenario.
const FILE_OUTPUT: &str = r#"
[[output]]
type = "file"
path = "outbox/employees_{seq}.csv"
"#;

/// Where a scenario's records go.
enum Output {
    /// A CSV file: the cost of reading and mapping alone.
    File,
    /// `POST /api/v1/employees` to the stand-in.
    Http {
        /// The profile's `concurrency`; `None` leaves the default.
        concurrency: Option<u32>,
        /// Requests per second, both the profile's `rate_limit` and the server's.
        limit: Option<u32>,
    },
}

/// What one scenario measured.
struct Measured {
    /// Wall time of `hrbridge run --once`.
    run: Duration,
    /// Records that arrived: rows in the output file, or employees the server holds.
    arrived: usize,
    /// The stand-in's record after the run; `None` for a file output.
    server: Option<Record>,
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let unthrottled = sizes.first().copied().unwrap_or(20_000);
    let limited = sizes.get(1).copied().unwrap_or(3_000);
    let scenarios = [
        ("file (mapping only)", unthrottled, Output::File),
        (
            "http, default concurrency",
            unthrottled,
            Output::Http {
                concurrency: None,
                limit: None,
            },
        ),
        (
            "http, concurrency 16",
            unthrottled,
            Output::Http {
                concurrency: Some(16),
                limit: None,
            },
        ),
        (
            "http, 500/s, concurrency 8",
            limited,
            Output::Http {
                concurrency: Some(8),
                limit: Some(500),
            },
        ),
    ];
    println!(
        "| output | records | run s | records/s (run) | server span s | records/s (server) \
         | % of limit | max in any 1 s | 429s by limit | arrived |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, records, output) in &scenarios {
        let measured = measure(*records, output);
        report(label, *records, output, &measured);
    }
}

/// Runs `hrbridge run --once` on `records` generated rows delivered to `output`.
fn measure(records: usize, output: &Output) -> Measured {
    let ws = tempfile::tempdir().expect("temporary workspace");
    let root = ws.path();
    let (api, output_toml) = match output {
        Output::File => (None, FILE_OUTPUT.to_string()),
        Output::Http { concurrency, limit } => {
            let api = StandinApi::start(Config {
                rate_limit: *limit,
                ..Config::default()
            })
            .expect("start the stand-in API");
            let toml = http_output(&api.base_url(), *concurrency, *limit);
            (Some(api), toml)
        }
    };
    setup(root, &format!("{FIELDS}{output_toml}"), records);
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_hrbridge"))
        .args(["run", "--once"])
        .current_dir(root)
        .env(SECRET_ENV, "demo-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("start hrbridge");
    let run = started.elapsed();
    assert!(
        out.status.success(),
        "hrbridge failed on {records} records: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = api.map(|api| {
        let record = api.record();
        api.stop();
        record
    });
    let arrived = match &server {
        Some(record) => record.employees.len(),
        None => data_rows(&root.join("outbox/employees_1.csv")),
    };
    Measured {
        run,
        arrived,
        server,
    }
}

/// An HTTP output to the stand-in at `base` with OAuth2 and the given pacing.
fn http_output(base: &str, concurrency: Option<u32>, limit: Option<u32>) -> String {
    let mut toml = format!(
        r#"
[[output]]
type = "http"
url = "{base}/api/v1/employees"
capture_id = "/id"
auth = {{ type = "oauth2", token_url = "{base}/oauth/token", client_id = "hrbridge-demo", client_secret = "${{env:{SECRET_ENV}}}" }}
"#
    );
    if let Some(n) = concurrency {
        writeln!(toml, "concurrency = {n}").expect("write to a String");
    }
    if let Some(n) = limit {
        writeln!(toml, "rate_limit = \"{n}/s\"").expect("write to a String");
    }
    toml
}

/// Writes the installation folder: settings, the profile and a settled export of `records` rows.
fn setup(root: &Path, profile: &str, records: usize) {
    fs::create_dir_all(root.join("profiles")).unwrap();
    fs::create_dir_all(root.join("inbox/bench")).unwrap();
    fs::write(root.join("hrbridge.toml"), "output_roots = [\"outbox\"]\n").unwrap();
    fs::write(root.join("profiles/bench.toml"), profile).unwrap();
    let mut csv = String::with_capacity(records * 48 + 64);
    csv.push_str("Employee ID,First,Last,Department,SSN\n");
    for i in 0..records {
        writeln!(
            csv,
            "E{i:08},First{i},Last{i},D{:02},9{:02}-{:02}-{:04}",
            i % 40,
            i % 100,
            i / 7 % 100,
            i % 10_000
        )
        .expect("write to a String");
    }
    let path = root.join("inbox/bench/roster.csv");
    fs::write(&path, csv).unwrap();
    settled::age(&path);
}

/// Prints the table row of one scenario, and a WARNING when the server did not apply every
/// record exactly once or throttled us.
fn report(label: &str, records: usize, output: &Output, measured: &Measured) {
    let run = measured.run.as_secs_f64();
    let server = measured.server.as_ref();
    let span = server.and_then(rest_span).map(|d| d.as_secs_f64());
    let server_rate = span.map(|s| records as f64 / s);
    let limit = match output {
        Output::Http { limit, .. } => *limit,
        Output::File => None,
    };
    let share = server_rate
        .zip(limit)
        .map(|(rate, limit)| format!("{:.1} %", 100.0 * rate / f64::from(limit)));
    println!(
        "| {label} | {records} | {run:.2} | {:.0} | {} | {} | {} | {} | {} | {} |",
        records as f64 / run,
        cell(span.map(|s| format!("{s:.2}"))),
        cell(server_rate.map(|r| format!("{r:.0}"))),
        cell(share),
        cell(server.map(|r| r.max_in_any_second)),
        cell(server.map(|r| r.throttled_by_limit)),
        measured.arrived,
    );
    if measured.arrived != records {
        println!(
            "WARNING: {label}: {} of {records} records arrived",
            measured.arrived
        );
    }
    if let Some(record) = server {
        let repeated = record.employees.values().filter(|e| e.applied != 1).count();
        if repeated != 0 {
            println!("WARNING: {label}: {repeated} records applied more than once");
        }
        if record.throttled_by_limit != 0 {
            println!(
                "WARNING: {label}: the server answered 429 {} times for exceeding its limit",
                record.throttled_by_limit
            );
        }
    }
}

/// Data rows of the CSV file at `path` (lines after the header; no field spans lines here).
fn data_rows(path: &Path) -> usize {
    fs::read_to_string(path)
        .map_or(0, |text| text.lines().count())
        .saturating_sub(1)
}

/// Time from the first to the last REST request's arrival at the server (arrival times are
/// taken just before the log lock, so the earliest and latest are searched, not assumed).
fn rest_span(record: &Record) -> Option<Duration> {
    let arrivals = record
        .requests
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/employees"))
        .map(|r| r.at);
    let first = arrivals.clone().min()?;
    let last = arrivals.max()?;
    Some(last.saturating_sub(first)).filter(|span| !span.is_zero())
}

/// A table cell: the value, or a dash where the scenario has none.
fn cell<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "—".to_string(), |v| v.to_string())
}
