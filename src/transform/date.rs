//! Dates and datetimes: parsing with the profile's `input_formats`, rendering with `format`.
//!
//! Input formats are chrono strftime strings tried in order, then ISO 8601 (always accepted;
//! a date field also reads an ISO date-time, such as a spreadsheet date-time cell, and keeps
//! its date), plus the pseudo-format `"excel_serial"` for spreadsheet day numbers. Every format is parsed
//! once at compile time and checked by writing a sample date with it and reading it back, so a
//! format that cannot yield a full date is reported when the profile is checked, not per row.

use std::fmt::Write as _;

use chrono::format::{parse, Item, Parsed, StrftimeItems};
use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use crate::kernel::mask::shown;
use crate::kernel::value::Value;
use crate::profile::{KeyPath, Problem};

/// The pseudo-format for spreadsheet serial day numbers (1900 epoch).
pub(crate) const EXCEL_SERIAL: &str = "excel_serial";

const ISO_DATE: &str = "%Y-%m-%d";
const ISO_DATETIME_T: &str = "%Y-%m-%dT%H:%M:%S%.f";
const ISO_DATETIME_SPACE: &str = "%Y-%m-%d %H:%M:%S%.f";
const DEFAULT_DATETIME_OUTPUT: &str = "%Y-%m-%dT%H:%M:%S";

/// Whether a field holds a calendar date or a date with a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Temporal {
    Date,
    DateTime,
}

/// How one field's dates are read and written.
#[derive(Debug)]
pub(crate) struct DateRule {
    temporal: Temporal,
    inputs: Vec<Input>,
    /// The input formats as written, for messages: `%m/%d/%Y, %Y-%m-%d`.
    names: String,
    output: Vec<Item<'static>>,
    /// The output is a date in ISO form (the default), written without chrono's formatter.
    iso_output: bool,
}

/// A value a date rule cannot read or write (a rejection reason). `value` is the value as
/// messages show it: quoted, or masked for a PII field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotADate {
    #[error("value {value} matches none of the formats {formats}")]
    NoFormat { value: String, formats: String },
    /// Read, but the output format needs something the value lacks.
    #[error("value {value} cannot be written with the output format")]
    Unwritable { value: String },
}

/// An `input_formats` entry or a `format` that cannot do its job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum BadFormat {
    #[error("{format:?} is not a valid chrono format (see the strftime specifiers of chrono), nor {EXCEL_SERIAL:?}")]
    NotAnInput { format: String },
    #[error("input format {format:?} cannot read a full date: it needs a year, a month and a day, e.g. \"%m/%d/%Y\"")]
    NoFullDate { format: String },
    #[error("input format {format:?} cannot read a full date and time: it needs a year, month, day, hour and minute, e.g. \"%m/%d/%Y %H:%M\"")]
    NoFullDateTime { format: String },
    #[error("the output format is empty")]
    EmptyOutput,
    #[error("{format:?} is not a valid chrono format (see the strftime specifiers of chrono)")]
    NotAnOutput { format: String },
    #[error("format {format:?} uses fields a date does not have (time of day or time zone)")]
    NotForDates { format: String },
    #[error("format {format:?} uses fields a datetime without time zone does not have")]
    NotForDateTimes { format: String },
}

#[derive(Debug)]
enum Input {
    Chrono(Vec<Item<'static>>),
    /// `%Y-%m-%d` with a fast path for its common shape; chrono for the rest (`2024-1-5`);
    /// then an ISO date-time, whose date it keeps.
    IsoDate(Vec<Item<'static>>),
    ExcelSerial,
}

impl DateRule {
    /// Compiles the formats of the field at `at`, reporting every bad format at its own key.
    pub(crate) fn compile(
        temporal: Temporal,
        input_formats: &[String],
        format: Option<&str>,
        at: &KeyPath,
    ) -> Result<DateRule, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut inputs = Vec::new();
        let mut names = Vec::new();
        for (j, fmt) in input_formats.iter().enumerate() {
            match compile_input(temporal, fmt) {
                Ok(input) => {
                    inputs.push(input);
                    names.push(fmt.as_str());
                }
                Err(e) => problems.push(Problem::new(
                    at.clone().key("input_formats").index(j),
                    e.to_string(),
                )),
            }
        }
        let iso: &[&str] = match temporal {
            Temporal::Date => &[ISO_DATE],
            Temporal::DateTime => &[ISO_DATETIME_T, ISO_DATETIME_SPACE],
        };
        for fmt in iso {
            if !names.contains(fmt) {
                if let Ok(items) = StrftimeItems::new(fmt).parse_to_owned() {
                    inputs.push(input(temporal, fmt, items));
                    names.push(fmt);
                }
            }
        }
        let default_output = match temporal {
            Temporal::Date => ISO_DATE,
            Temporal::DateTime => DEFAULT_DATETIME_OUTPUT,
        };
        let output_format = format.unwrap_or(default_output);
        let output = match compile_output(temporal, output_format) {
            Ok(items) => items,
            Err(e) => {
                problems.push(Problem::new(at.clone().key("format"), e.to_string()));
                Vec::new()
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(DateRule {
            temporal,
            inputs,
            names: names.join(", "),
            output,
            iso_output: temporal == Temporal::Date && output_format == ISO_DATE,
        })
    }

    /// Reads `s` (already trimmed) with the first input format that accepts it. Dates are
    /// returned at midnight so that they compare with bounds like datetimes do.
    pub(crate) fn parse(&self, s: &str) -> Option<NaiveDateTime> {
        self.inputs.iter().find_map(|input| match input {
            Input::Chrono(items) => parse_with(self.temporal, s, items),
            Input::IsoDate(items) => iso_date(s)
                .map(|d| d.and_time(NaiveTime::MIN))
                .or_else(|| parse_with(self.temporal, s, items))
                .or_else(|| iso_datetime(s).map(|t| t.date().and_time(NaiveTime::MIN))),
            Input::ExcelSerial => excel_serial(self.temporal, s),
        })
    }

    /// Parses and renders `s` as the field's value; the error is a rejection reason.
    pub(crate) fn convert(&self, s: &str, pii: bool) -> Result<(Value, NaiveDateTime), NotADate> {
        let t = self.parse(s).ok_or_else(|| NotADate::NoFormat {
            value: shown(s, pii),
            formats: self.names.clone(),
        })?;
        let fast = if self.iso_output {
            iso_date_text(t.date())
        } else {
            None
        };
        let text = fast
            .or_else(|| render(self.temporal, t, &self.output))
            .ok_or_else(|| NotADate::Unwritable {
                value: shown(s, pii),
            })?;
        let value = match self.temporal {
            Temporal::Date => Value::Date(text),
            Temporal::DateTime => Value::DateTime(text),
        };
        Ok((value, t))
    }
}

/// Reads an ISO date (`2000-01-01`, as midnight) or ISO datetime, as written in `min`/`max`.
pub(crate) fn parse_bound(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, ISO_DATE) {
        return Some(d.and_time(NaiveTime::MIN));
    }
    iso_datetime(t)
}

/// An ISO date-time with `T` or a space between date and time, seconds optionally fractional.
fn iso_datetime(s: &str) -> Option<NaiveDateTime> {
    [ISO_DATETIME_T, ISO_DATETIME_SPACE]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
}

fn compile_input(temporal: Temporal, fmt: &str) -> Result<Input, BadFormat> {
    if fmt == EXCEL_SERIAL {
        return Ok(Input::ExcelSerial);
    }
    let format = || fmt.to_string();
    let items = StrftimeItems::new(fmt)
        .parse_to_owned()
        .map_err(|_| BadFormat::NotAnInput { format: format() })?;
    for sample in samples() {
        let back = render(Temporal::DateTime, sample, &items)
            .and_then(|text| parse_with(temporal, &text, &items));
        let expected = match temporal {
            Temporal::Date => sample.date().and_time(NaiveTime::MIN),
            Temporal::DateTime => sample,
        };
        if back != Some(expected) {
            return Err(match temporal {
                Temporal::Date => BadFormat::NoFullDate { format: format() },
                Temporal::DateTime => BadFormat::NoFullDateTime { format: format() },
            });
        }
    }
    Ok(input(temporal, fmt, items))
}

/// The compiled input for a chrono format: ISO dates get their fast path.
fn input(temporal: Temporal, fmt: &str, items: Vec<Item<'static>>) -> Input {
    if temporal == Temporal::Date && fmt == ISO_DATE {
        Input::IsoDate(items)
    } else {
        Input::Chrono(items)
    }
}

/// `YYYY-MM-DD` exactly; other spellings chrono accepts for `%Y-%m-%d` are left to chrono.
fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let num = |from: usize, to: usize| {
        b.get(from..to)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)
}

/// `d` as `YYYY-MM-DD`, for years 0–9999 (others are left to chrono, which adds a sign).
fn iso_date_text(d: NaiveDate) -> Option<String> {
    let year = u32::try_from(d.year()).ok().filter(|y| *y <= 9999)?;
    let mut out = String::with_capacity(10);
    for (value, width) in [(year, 4), (d.month(), 2), (d.day(), 2)] {
        if !out.is_empty() {
            out.push('-');
        }
        for k in (0..width).rev() {
            out.push(char::from_digit(value / 10u32.pow(k) % 10, 10)?);
        }
    }
    Some(out)
}

fn compile_output(temporal: Temporal, fmt: &str) -> Result<Vec<Item<'static>>, BadFormat> {
    if fmt.is_empty() {
        return Err(BadFormat::EmptyOutput);
    }
    let format = || fmt.to_string();
    let items = StrftimeItems::new(fmt)
        .parse_to_owned()
        .map_err(|_| BadFormat::NotAnOutput { format: format() })?;
    for sample in samples() {
        if render(temporal, sample, &items).is_none() {
            return Err(match temporal {
                Temporal::Date => BadFormat::NotForDates { format: format() },
                Temporal::DateTime => BadFormat::NotForDateTimes { format: format() },
            });
        }
    }
    Ok(items)
}

/// Two dissimilar instants used to test that a format writes and reads back what it should.
fn samples() -> impl Iterator<Item = NaiveDateTime> {
    [(2021, 11, 23, 14, 5), (1987, 2, 7, 3, 41)]
        .into_iter()
        .filter_map(|(y, mo, d, h, mi)| NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_opt(h, mi, 0))
}

fn parse_with(temporal: Temporal, s: &str, items: &[Item<'static>]) -> Option<NaiveDateTime> {
    let mut parsed = Parsed::new();
    parse(&mut parsed, s, items.iter()).ok()?;
    match temporal {
        Temporal::Date => parsed
            .to_naive_date()
            .ok()
            .map(|d| d.and_time(NaiveTime::MIN)),
        Temporal::DateTime => parsed.to_naive_datetime_with_offset(0).ok(),
    }
}

/// `t` written with `items`; `None` when the format needs something the value lacks (chrono
/// reports that as a formatting error, which `to_string` would turn into a panic).
fn render(temporal: Temporal, t: NaiveDateTime, items: &[Item<'static>]) -> Option<String> {
    let mut out = String::with_capacity(24);
    let written = match temporal {
        Temporal::Date => write!(out, "{}", t.date().format_with_items(items.iter())),
        Temporal::DateTime => write!(out, "{}", t.format_with_items(items.iter())),
    };
    written.ok().map(|()| out)
}

/// A spreadsheet serial day number (`45292`, `45292.5`) in the 1900 date system. Serial 1 is
/// 1900-01-01; Excel counts a 1900-02-29 that never existed as serial 60, so later serials are
/// one day ahead of a plain count, and 60 itself is refused. Dates drop the time of day.
fn excel_serial(temporal: Temporal, s: &str) -> Option<NaiveDateTime> {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || int.len() > 7 {
        return None;
    }
    let days: u64 = int.parse().ok()?;
    let base = match days {
        1..=59 => NaiveDate::from_ymd_opt(1899, 12, 31)?,
        61..=2_958_465 => NaiveDate::from_ymd_opt(1899, 12, 30)?,
        _ => return None,
    };
    let midnight = base
        .checked_add_days(Days::new(days))?
        .and_time(NaiveTime::MIN);
    match temporal {
        Temporal::Date => Some(midnight),
        Temporal::DateTime => {
            let fraction: f64 = format!("0.{frac}").parse().ok()?;
            let seconds = (fraction * 86_400.0).round() as i64;
            midnight.checked_add_signed(TimeDelta::try_seconds(seconds)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        temporal: Temporal,
        inputs: &[&str],
        format: Option<&str>,
    ) -> Result<DateRule, Vec<Problem>> {
        let inputs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        DateRule::compile(temporal, &inputs, format, &KeyPath::field(3))
    }

    fn date(s: &str) -> Result<Value, NotADate> {
        let r = rule(
            Temporal::Date,
            &["%m/%d/%Y", EXCEL_SERIAL],
            Some("%d.%m.%Y"),
        )
        .unwrap();
        r.convert(s, false).map(|(v, _)| v)
    }

    #[test]
    fn dates_are_read_with_each_format_in_order_and_rendered() {
        assert_eq!(date("01/05/2024"), Ok(Value::Date("05.01.2024".into())));
        assert_eq!(date("1/5/2024"), Ok(Value::Date("05.01.2024".into())));
        assert_eq!(date("2024-01-05"), Ok(Value::Date("05.01.2024".into())));
        assert_eq!(date("45292"), Ok(Value::Date("01.01.2024".into())));
        assert_eq!(date("45292.75"), Ok(Value::Date("01.01.2024".into())));
    }

    #[test]
    fn unreadable_dates_name_the_value_and_the_formats() {
        let r = rule(Temporal::Date, &["%m/%d/%Y"], None).unwrap();
        assert_eq!(
            r.convert("13/45/2020", false).unwrap_err().to_string(),
            "value \"13/45/2020\" matches none of the formats %m/%d/%Y, %Y-%m-%d"
        );
        let masked = r.convert("02/30/1980", true).unwrap_err().to_string();
        assert!(!masked.contains("1980"), "{masked}");
    }

    #[test]
    fn excel_serials_follow_the_1900_system() {
        let d = |s: &str| excel_serial(Temporal::Date, s).map(|t| t.date().to_string());
        assert_eq!(d("1").as_deref(), Some("1900-01-01"));
        assert_eq!(d("59").as_deref(), Some("1900-02-28"));
        assert_eq!(d("60"), None);
        assert_eq!(d("61").as_deref(), Some("1900-03-01"));
        assert_eq!(d("45292").as_deref(), Some("2024-01-01"));
        assert_eq!(d("0"), None);
        assert_eq!(d("-5"), None);
        assert_eq!(d("45292."), None);
        assert_eq!(d("1e5"), None);
        assert_eq!(d("99999999"), None);
        let dt = excel_serial(Temporal::DateTime, "45292.5").map(|t| t.to_string());
        assert_eq!(dt.as_deref(), Some("2024-01-01 12:00:00"));
        let almost_midnight =
            excel_serial(Temporal::DateTime, "45292.999999999").map(|t| t.to_string());
        assert_eq!(almost_midnight.as_deref(), Some("2024-01-02 00:00:00"));
    }

    #[test]
    fn datetimes_accept_iso_with_t_or_space_and_fractions() {
        let r = rule(Temporal::DateTime, &["%m/%d/%Y %I:%M %p"], None).unwrap();
        let v = |s: &str| r.convert(s, false).map(|(v, _)| v);
        assert_eq!(
            v("03/01/2024 02:30 PM"),
            Ok(Value::DateTime("2024-03-01T14:30:00".into()))
        );
        assert_eq!(
            v("2024-03-01T14:30:05"),
            Ok(Value::DateTime("2024-03-01T14:30:05".into()))
        );
        assert_eq!(
            v("2024-03-01 14:30:05.250"),
            Ok(Value::DateTime("2024-03-01T14:30:05".into()))
        );
        assert!(v("2024-03-01").is_err());
    }

    #[test]
    fn date_fields_may_read_formats_with_a_time_of_day() {
        let r = rule(Temporal::Date, &["%m/%d/%Y %H:%M"], None).unwrap();
        assert_eq!(
            r.convert("03/01/2024 23:59", false).map(|(v, _)| v),
            Ok(Value::Date("2024-03-01".into()))
        );
    }

    #[test]
    fn date_fields_take_the_date_of_an_iso_datetime() {
        // As text, and as a spreadsheet date-time cell reads (`2024-05-01T12:00:00`).
        for r in [
            rule(Temporal::Date, &[], None).unwrap(),
            rule(Temporal::Date, &["%m/%d/%Y", "%Y-%m-%d"], None).unwrap(),
        ] {
            let v = |s: &str| r.convert(s, false).map(|(v, _)| v);
            let may_first = Ok(Value::Date("2024-05-01".into()));
            assert_eq!(v("2024-05-01T12:00:00"), may_first);
            assert_eq!(v("2024-05-01 00:00:00"), may_first);
            assert_eq!(v("2024-05-01T23:59:59.999"), may_first);
            assert!(v("2024-05-01T25:00:00").is_err());
            assert!(v("2024-02-30T08:00:00").is_err());
            assert!(v("2024-05-01T").is_err());
        }
    }

    #[test]
    fn bad_formats_are_reported_at_their_keys() {
        let problems =
            rule(Temporal::Date, &["%m/%d/%Y", "%Q", "%m/%d"], Some("%H:%M")).unwrap_err();
        let at: Vec<String> = problems.iter().map(|p| p.at.to_string()).collect();
        assert_eq!(
            at,
            [
                "field[3].input_formats[1]",
                "field[3].input_formats[2]",
                "field[3].format"
            ]
        );
        assert!(
            problems[1]
                .message
                .contains("needs a year, a month and a day"),
            "{}",
            problems[1].message
        );
        assert!(
            problems[2].message.contains("time of day"),
            "{}",
            problems[2].message
        );
        let problems = rule(Temporal::DateTime, &["%m/%d/%Y"], Some("%Y %z")).unwrap_err();
        let at: Vec<String> = problems.iter().map(|p| p.at.to_string()).collect();
        assert_eq!(at, ["field[3].input_formats[0]", "field[3].format"]);
        assert!(rule(Temporal::Date, &[], Some("")).is_err());
        assert!(
            rule(Temporal::DateTime, &["%m/%d/%Y %I:%M"], None).is_err(),
            "12-hour clock without AM/PM"
        );
    }

    #[test]
    fn the_iso_fast_paths_agree_with_chrono() {
        let r = rule(Temporal::Date, &[], None).unwrap();
        let v = |s: &str| r.convert(s, false).map(|(v, _)| v);
        assert_eq!(v("2024-02-29"), Ok(Value::Date("2024-02-29".into())));
        assert_eq!(
            v("2024-2-9"),
            Ok(Value::Date("2024-02-09".into())),
            "chrono's lenient widths still apply"
        );
        assert!(v("2023-02-29").is_err());
        assert!(v("2024-02-3x").is_err());
        assert_eq!(
            iso_date_text(NaiveDate::from_ymd_opt(7, 3, 9).unwrap()).as_deref(),
            Some("0007-03-09")
        );
        assert_eq!(
            iso_date_text(NaiveDate::from_ymd_opt(12345, 1, 1).unwrap()),
            None
        );
        let far = NaiveDate::from_ymd_opt(12345, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);
        assert_eq!(
            render(Temporal::Date, far, &r.output).as_deref(),
            Some("+12345-01-01")
        );
    }

    #[test]
    fn bounds_are_iso_dates_or_datetimes() {
        assert_eq!(
            parse_bound("2000-01-01").map(|t| t.to_string()).as_deref(),
            Some("2000-01-01 00:00:00")
        );
        assert_eq!(
            parse_bound("2000-01-01T08:00:00")
                .map(|t| t.to_string())
                .as_deref(),
            Some("2000-01-01 08:00:00")
        );
        assert_eq!(parse_bound("01/01/2000"), None);
    }
}
