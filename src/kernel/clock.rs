//! What time it is for a profile: now in its time zone, and the date effective-dated changes
//! are compared with. One place reads the clock, so a test or a drill can set "today"
//! (`HRBRIDGE_TODAY=2027-01-15`) instead of waiting for it.

use chrono::{DateTime, FixedOffset, NaiveDate};

/// The variable that sets today's date for effective dating (`YYYY-MM-DD`).
pub const TODAY_VAR: &str = "HRBRIDGE_TODAY";

/// Now, in the IANA time zone `timezone` (the machine's local time without one, or for a name
/// chrono-tz does not know; `profile::check` refuses those).
pub fn now_in(timezone: Option<&str>) -> DateTime<FixedOffset> {
    match timezone.and_then(|name| name.parse::<chrono_tz::Tz>().ok()) {
        Some(zone) => chrono::Utc::now().with_timezone(&zone).fixed_offset(),
        None => chrono::Local::now().fixed_offset(),
    }
}

/// Today's date in `timezone`, or the date `HRBRIDGE_TODAY` names. A value that is not a
/// date is an error naming the variable (never silently the real date).
pub fn today_in(timezone: Option<&str>) -> Result<NaiveDate, String> {
    match std::env::var(TODAY_VAR) {
        Ok(text) => parse_date(&text)
            .ok_or_else(|| format!("{TODAY_VAR}={text:?} is not a date; write it as YYYY-MM-DD")),
        Err(_) => Ok(now_in(timezone).date_naive()),
    }
}

/// The calendar date at the start of `text`: `2027-01-15`, or the date part of an ISO 8601
/// date-time (`2027-01-15T09:00:00Z`, `2027-01-15 09:00`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let head = text.get(..10)?;
    let rest = &text[10..];
    if !(rest.is_empty() || rest.starts_with(['T', 't', ' '])) {
        return None;
    }
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_the_date_of_date_times_are_read() {
        let d = NaiveDate::from_ymd_opt(2027, 1, 15);
        assert_eq!(parse_date("2027-01-15"), d);
        assert_eq!(parse_date(" 2027-01-15T09:00:00Z"), d);
        assert_eq!(parse_date("2027-01-15 09:00"), d);
        for bad in [
            "",
            "15/01/2027",
            "2027-1-15",
            "2027-01-155",
            "2027-02-30",
            "2027-01-15x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }
}
