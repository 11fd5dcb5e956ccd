//! How the dashboard writes times, durations, counts and audit details in narrow columns.

use chrono::{DateTime, Local, Utc};
use serde_json::Value;

use crate::store::JobRow;

fn parse(stored: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(stored)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A stored time in local time, `11-26 06:02`; unparsable text is shown as it is.
pub fn when(stored: &str) -> String {
    parse(stored).map_or_else(
        || stored.to_string(),
        |t| t.with_timezone(&Local).format("%m-%d %H:%M").to_string(),
    )
}

/// A stored time in local time to the second, `2026-11-26 06:02:11`.
pub fn when_exactly(stored: &str) -> String {
    parse(stored).map_or_else(
        || stored.to_string(),
        |t| {
            t.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

/// A future moment in local time, `11-26 06:15`.
pub fn at(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%m-%d %H:%M").to_string()
}

/// How long a job took (or has been running, against `now`): `0.4s`, `12s`, `3m05s`, `2h10m`.
pub fn took(job: &JobRow, now: DateTime<Utc>) -> String {
    let Some(start) = parse(&job.started_at) else {
        return String::new();
    };
    let end = job.finished_at.as_deref().and_then(parse).unwrap_or(now);
    let ms = (end - start).num_milliseconds().max(0);
    match ms {
        0..10_000 => format!("{:.1}s", ms as f64 / 1000.0),
        10_000..60_000 => format!("{}s", ms / 1000),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// `1234567` as `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub use crate::kernel::escape::clean;

/// An audit event's detail on one line: `rows=22 path=out/h.csv`, nested values compact.
pub fn detail(value: &Value) -> String {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={}", clean(s)),
                other => format!("{k}={}", clean(&other.to_string())),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => clean(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Counts, JobStatus};

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn durations_read_at_every_scale() {
        let job = |start: &str, end: &str| JobRow {
            id: 1,
            profile: "p".into(),
            file_id: 1,
            file_name: "f".into(),
            status: JobStatus::Succeeded,
            counts: Counts::default(),
            started_at: start.into(),
            finished_at: Some(end.into()),
            error: None,
        };
        let now = Utc::now();
        let t0 = "2026-11-26T06:00:00.000Z";
        assert_eq!(took(&job(t0, "2026-11-26T06:00:00.420Z"), now), "0.4s");
        assert_eq!(took(&job(t0, "2026-11-26T06:00:12.000Z"), now), "12s");
        assert_eq!(took(&job(t0, "2026-11-26T06:03:05.000Z"), now), "3m05s");
        assert_eq!(took(&job(t0, "2026-11-26T08:10:00.000Z"), now), "2h10m");
    }

    #[test]
    fn details_are_one_line() {
        let v = serde_json::json!({ "rows": 3, "path": "out/a.csv", "fields": ["a", "b"] });
        assert_eq!(detail(&v), r#"rows=3 path=out/a.csv fields=["a","b"]"#);
    }
}
