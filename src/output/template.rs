//! Output name templates: `outbox/{profile}/hires_{date:%Y%m%d}_{seq}.csv`.
//!
//! Placeholders: `{profile}`, `{date}` / `{date:FORMAT}` (the date in the profile's
//! `timezone`, else the machine's; chrono format, default `%Y%m%d`), `{seq}` (a per-output
//! counter kept in the store), `{source_stem}` (the input file's name without an encryption
//! suffix — `.age`, `.gpg`, `.pgp`, `.asc` — and then without its extension, reduced to safe
//! characters). `{{` and `}}` are literal
//! braces. Rendered values never contain path separators, so a template's folders are fixed
//! by the profile author, never by an incoming file name.

use chrono::format::{Item, StrftimeItems};

use crate::kernel::clock::now_in;
use crate::profile::braces::{self, BracesError, Piece};

/// A parsed name template.
///
/// ```
/// use chrono::TimeZone;
/// use hrbridge::output::template::{NameContext, NameTemplate};
/// let zone = chrono::FixedOffset::east_opt(3600).unwrap();
/// let t = NameTemplate::parse("outbox/{profile}/{date:%Y%m%d}_{seq}_{source_stem}.csv").unwrap();
/// let ctx = NameContext {
///     profile: "ats-to-hris",
///     date: zone.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
///     seq: 4,
///     source_name: "../hires march.csv",
/// };
/// assert_eq!(t.render(&ctx), "outbox/ats-to-hris/20260301_4__._hires_march.csv");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Profile,
    Date(String),
    Seq,
    SourceStem,
}

/// The values a template is rendered with.
#[derive(Debug, Clone)]
pub struct NameContext<'a> {
    pub profile: &'a str,
    /// Now, in the time zone `{date}` is written in (see [`crate::kernel::clock::now_in`]).
    pub date: chrono::DateTime<chrono::FixedOffset>,
    pub seq: u64,
    /// The input file name as it arrived (untrusted).
    pub source_name: &'a str,
}

/// Why a name template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameTemplateError {
    #[error(transparent)]
    Braces(#[from] BracesError),
    #[error("invalid date format {format:?} in `{{date:...}}`")]
    DateFormat { format: String },
    #[error("unknown placeholder `{{{inner}}}` (known: {{profile}}, {{date}}, {{date:FORMAT}}, {{seq}}, {{source_stem}})")]
    Unknown { inner: String },
}

impl NameTemplate {
    /// Parses `text`; the error says which placeholder is wrong.
    pub fn parse(text: &str) -> Result<NameTemplate, NameTemplateError> {
        let parts = braces::split(text)?
            .into_iter()
            .map(|piece| match piece {
                Piece::Literal(s) => Ok(Part::Literal(s)),
                Piece::Placeholder(p) => parse_placeholder(&p),
            })
            .collect::<Result<_, _>>()?;
        Ok(NameTemplate { parts })
    }

    /// Whether rendering needs a `{seq}` number.
    pub fn uses_seq(&self) -> bool {
        self.parts.contains(&Part::Seq)
    }

    /// Whether two files rendered on the same day can get the same name: the template has a
    /// `{date}` and nothing that tells them apart (`{seq}`, `{source_stem}`, a time of day).
    pub fn repeats_within_a_day(&self) -> bool {
        let morning = chrono::Local::now()
            .fixed_offset()
            .with_time(chrono::NaiveTime::MIN)
            .earliest();
        let evening = morning.map(|m| m + chrono::TimeDelta::milliseconds(86_399_999));
        let (Some(morning), Some(evening)) = (morning, evening) else {
            return false;
        };
        let mut dated = false;
        for part in &self.parts {
            match part {
                Part::Seq | Part::SourceStem => return false,
                Part::Date(fmt) if render_date(&morning, fmt) != render_date(&evening, fmt) => {
                    return false
                }
                Part::Date(_) => dated = true,
                Part::Literal(_) | Part::Profile => {}
            }
        }
        dated
    }

    /// The literal text before the first placeholder (used to check the output root).
    pub fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(s)) => s,
            _ => "",
        }
    }

    /// The rendered text.
    pub fn render(&self, ctx: &NameContext<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Profile => out.push_str(&safe_component(ctx.profile)),
                Part::Date(fmt) => out.push_str(&safe_component(
                    &render_date(&ctx.date, fmt).unwrap_or_default(),
                )),
                Part::Seq => out.push_str(&ctx.seq.to_string()),
                Part::SourceStem => out.push_str(&safe_component(stem(ctx.source_name))),
            }
        }
        out
    }
}

fn parse_placeholder(inner: &str) -> Result<Part, NameTemplateError> {
    let (name, arg) = match inner.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (inner, None),
    };
    match (name, arg) {
        ("profile", None) => Ok(Part::Profile),
        ("seq", None) => Ok(Part::Seq),
        ("source_stem", None) => Ok(Part::SourceStem),
        ("date", None) => Ok(Part::Date("%Y%m%d".into())),
        ("date", Some(fmt)) => {
            let sample = now_in(None);
            if fmt.is_empty()
                || StrftimeItems::new(fmt).any(|i| matches!(i, Item::Error))
                || render_date(&sample, fmt).is_none()
            {
                Err(NameTemplateError::DateFormat {
                    format: fmt.to_string(),
                })
            } else {
                Ok(Part::Date(fmt.to_string()))
            }
        }
        _ => Err(NameTemplateError::Unknown {
            inner: inner.to_string(),
        }),
    }
}

/// `date` in `fmt`, or `None` where chrono cannot render it (e.g. `%#z` for a local time).
fn render_date(date: &chrono::DateTime<chrono::FixedOffset>, fmt: &str) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::new();
    write!(out, "{}", date.format(fmt)).ok()?;
    Some(out)
}

/// Suffixes an encrypted input ends with (age, OpenPGP), which the stem drops first.
const SEALED: [&str; 4] = [".age", ".gpg", ".pgp", ".asc"];

/// The file name without an encryption suffix and then its last extension
/// (`hires_2024.csv` and `hires_2024.csv.age` → `hires_2024`).
fn stem(name: &str) -> &str {
    let plain = SEALED
        .iter()
        .find_map(|s| {
            let cut = name.len().checked_sub(s.len())?;
            let suffix = name.get(cut..)?;
            (cut > 0 && suffix.eq_ignore_ascii_case(s)).then(|| &name[..cut])
        })
        .unwrap_or(name);
    match plain.rfind('.') {
        Some(i) if i > 0 => &plain[..i],
        _ => plain,
    }
}

/// `s` reduced to `[A-Za-z0-9._-]` (others become `_`), with no leading dot and never empty.
pub fn safe_component(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_made_of_the_date_alone_repeat_within_a_day() {
        let repeats = |t: &str| NameTemplate::parse(t).unwrap().repeats_within_a_day();
        assert!(repeats("/in/daily_{date}.csv"));
        assert!(repeats("out/{profile}/{date:%Y-%m-%d}.csv"));
        assert!(!repeats("out/daily_{date}_{seq}.csv"));
        assert!(!repeats("out/{source_stem}_{date}.csv"));
        assert!(!repeats("out/{date:%Y%m%d_%H%M%S}.csv"));
        assert!(
            !repeats("out/fixed.csv"),
            "only dated names are the day's concern"
        );
    }

    fn ctx<'a>(source_name: &'a str) -> NameContext<'a> {
        NameContext {
            profile: "ats-to-hris",
            date: chrono::Utc
                .with_ymd_and_hms(2026, 3, 1, 8, 0, 0)
                .unwrap()
                .fixed_offset(),
            seq: 7,
            source_name,
        }
    }

    #[test]
    fn renders_every_placeholder() {
        let t = NameTemplate::parse("outbox/{profile}/h_{date:%Y-%m-%d}_{seq}_{source_stem}.csv")
            .unwrap();
        assert_eq!(
            t.render(&ctx("hires_march.csv")),
            "outbox/ats-to-hris/h_2026-03-01_7_hires_march.csv"
        );
        assert!(t.uses_seq());
        assert_eq!(t.literal_prefix(), "outbox/");
    }

    #[test]
    fn the_stem_of_an_encrypted_input_drops_the_encryption_then_the_extension() {
        let t = NameTemplate::parse("out/{source_stem}_1.csv").unwrap();
        assert_eq!(t.render(&ctx("hires.csv.age")), "out/hires_1.csv");
        assert_eq!(t.render(&ctx("hires.csv.GPG")), "out/hires_1.csv");
        assert_eq!(t.render(&ctx("hires.xlsx.pgp")), "out/hires_1.csv");
        assert_eq!(t.render(&ctx("hires.csv")), "out/hires_1.csv");
        assert_eq!(t.render(&ctx("hires.age")), "out/hires_1.csv");
        assert_eq!(t.render(&ctx("hires")), "out/hires_1.csv");
        assert_eq!(t.render(&ctx(".age")), "out/_age_1.csv");
    }

    #[test]
    fn hostile_source_names_cannot_escape_the_folder() {
        let t = NameTemplate::parse("out/{source_stem}.csv").unwrap();
        assert_eq!(
            t.render(&ctx("../../etc/passwd.csv")),
            "out/_._.._etc_passwd.csv"
        );
        assert_eq!(t.render(&ctx(".hidden.csv")), "out/_hidden.csv");
    }

    #[test]
    fn dates_are_rendered_in_the_profiles_time_zone() {
        let t = NameTemplate::parse("{date:%Y%m%d}").unwrap();
        let at = |zone| NameContext {
            date: now_in(Some(zone)),
            ..ctx("x")
        };
        let kiritimati = t.render(&at("Pacific/Kiritimati"));
        let niue = t.render(&at("Pacific/Niue"));
        // UTC+14 is always a day or more ahead of UTC-11.
        assert!(kiritimati > niue, "{kiritimati} {niue}");
        assert_eq!(
            now_in(Some("Pacific/Kiritimati"))
                .offset()
                .local_minus_utc(),
            14 * 3600
        );
    }

    #[test]
    fn braces_escape_and_errors() {
        let t = NameTemplate::parse("a{{b}}.csv").unwrap();
        assert_eq!(t.render(&ctx("x")), "a{b}.csv");
        assert!(NameTemplate::parse("x_{nope}.csv")
            .unwrap_err()
            .to_string()
            .contains("unknown placeholder"));
        assert!(NameTemplate::parse("x_{date.csv").is_err());
        assert!(NameTemplate::parse("x_}.csv").is_err());
        assert!(NameTemplate::parse("x_{date:%Q}.csv")
            .unwrap_err()
            .to_string()
            .contains("invalid date format"));
        assert!(NameTemplate::parse("x_{date:%#z}.csv").is_err());
    }
}
