//! What time it is for a profile: now in its time zone, the date effective-dated changes are
//! compared with, and dates as file names write them. One place reads the clock, so a test or a drill can set "today"
//! (`HRBRIDGE_TODAY=2027-01-15`) instead of waiting for it.

use chrono::format::{Item, StrftimeItems};
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

/// The date written in `name` as `format` writes dates: the first stretch of the name that
/// reads as one.
pub fn file_date(name: &str, format: &str) -> Option<NaiveDate> {
    let sample = NaiveDate::from_ymd_opt(2000, 12, 31)?
        .format(format)
        .to_string();
    let width = sample.len();
    if width == 0 {
        return None;
    }
    (0..name.len().saturating_sub(width - 1))
        .filter(|&i| name.is_char_boundary(i) && name.is_char_boundary(i + width))
        .find_map(|i| {
            // Only a stretch the format writes exactly (chrono alone would also read a sign or
            // a short field).
            let stretch = &name[i..i + width];
            NaiveDate::parse_from_str(stretch, format)
                .ok()
                .filter(|d| d.format(format).to_string() == stretch)
        })
}

/// Whether `format` writes a whole date (year, month and day) and nothing chrono cannot read.
pub fn valid_format(format: &str) -> bool {
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    !items.iter().any(|i| matches!(i, Item::Error))
        && NaiveDate::from_ymd_opt(2000, 12, 31)
            .and_then(|d| write_date(d, format))
            .is_some_and(|s| NaiveDate::parse_from_str(&s, format).is_ok())
}

/// `date` written in `format`; `None` when the format asks for more than a date has (an
/// hour, a time zone), where chrono's `to_string` would panic.
pub fn write_date(date: NaiveDate, format: &str) -> Option<String> {
    use std::fmt::Write;
    let mut text = String::new();
    write!(text, "{}", date.format(format)).ok()?;
    Some(text)
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

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn the_first_date_in_a_name_is_read() {
        assert_eq!(file_date("roster_20270115.csv", "%Y%m%d"), d(2027, 1, 15));
        assert_eq!(
            file_date("HR-2027-01-15-v2.csv", "%Y-%m-%d"),
            d(2027, 1, 15)
        );
        assert_eq!(
            file_date("export 15.01.2027.xlsx", "%d.%m.%Y"),
            d(2027, 1, 15)
        );
        assert_eq!(file_date("roster_20271315.csv", "%Y%m%d"), None);
        assert_eq!(file_date("roster.csv", "%Y%m%d"), None);
        assert_eq!(file_date("ü", "%Y%m%d"), None);
        assert!(valid_format("%Y%m%d"));
        assert!(!valid_format("%Y%m"));
        assert!(!valid_format("%Q"));
        // A time has no place in a date: refused, not a panic.
        assert!(!valid_format("%Y%m%d%H%M"));
        let day = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        assert_eq!(write_date(day, "%H"), None);
        assert_eq!(write_date(day, "%d.%m.%Y").as_deref(), Some("01.06.2024"));
    }
}
