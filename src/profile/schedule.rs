//! When a profile's pass starts in the daemon: its cron `schedule` (read in `timezone`), or —
//! without a schedule — file events plus a periodic rescan (folders) or a poll (SFTP). Part of
//! the profile language, so the daemon that fires it and the dashboard that shows it both
//! look down at it.
//!
//! Rules about these keys are written once, here: [`check`] reports them as located problems
//! for `hrbridge check`, and [`Trigger::of`] turns a checked profile into the trigger the
//! daemon waits on.

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::{KeyPath, Problem, Profile, SourceSpec};

/// Rescan / poll interval when a profile gives no `poll`.
pub const DEFAULT_POLL: Duration = Duration::from_secs(60);

/// Shortest `poll` accepted: anything faster only loads the disk or the server.
pub const MIN_POLL: Duration = Duration::from_secs(1);

/// What starts a profile's passes.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// At each fire time of a cron schedule.
    Cron(CronSchedule),
    /// On file events in the inbox folder, and at the latest `rescan` after the last pass
    /// (events are missed on network mounts).
    Watch { rescan: Duration },
    /// Every `every` after the last pass (SFTP sources).
    Poll { every: Duration },
}

/// A parsed cron expression and the time zone it is read in.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    /// Boxed: a parsed pattern is large, and triggers are moved around.
    cron: Box<Cron>,
    tz: Tz,
}

/// When the previous pass of a profile ran: the anchor for the next timed pass.
#[derive(Debug, Clone, Copy)]
pub struct LastPass {
    /// Wall-clock start (cron fires after it are due; missed fires run once).
    pub started: DateTime<Utc>,
    /// Monotonic end (intervals count from it and ignore clock changes).
    pub ended: Instant,
}

/// Why a `schedule` or `timezone` is refused.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("not a cron expression ({0}); e.g. \"*/15 * * * *\"")]
    NotCron(croner::errors::CronError),
    #[error("unknown time zone {name:?}; use an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    UnknownZone { name: String },
}

impl CronSchedule {
    /// Parses `expr` (5 or 6 fields) read in `timezone` (an IANA name; UTC when `None`).
    pub fn parse(expr: &str, timezone: Option<&str>) -> Result<CronSchedule, ScheduleError> {
        let cron = Cron::from_str(expr)
            .map(Box::new)
            .map_err(ScheduleError::NotCron)?;
        let tz = match timezone {
            Some(name) => parse_tz(name)?,
            None => Tz::UTC,
        };
        Ok(CronSchedule { cron, tz })
    }

    /// The first fire time strictly after `after`, or `None` when the expression never fires
    /// again (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

impl Trigger {
    /// The trigger of a profile; its problems (see [`check`]) when the keys are wrong.
    pub fn of(profile: &Profile) -> Result<Trigger, Vec<Problem>> {
        let problems = check(profile);
        if !problems.is_empty() {
            return Err(problems);
        }
        if let Some(expr) = &profile.schedule {
            return CronSchedule::parse(expr, profile.timezone.as_deref())
                .map(Trigger::Cron)
                .map_err(|e| vec![Problem::new(KeyPath::root().key("schedule"), e.to_string())]);
        }
        let every = poll_of(profile).unwrap_or(DEFAULT_POLL);
        Ok(match profile.source {
            SourceSpec::Dir(_) => Trigger::Watch { rescan: every },
            SourceSpec::Sftp(_) => Trigger::Poll { every },
        })
    }

    /// Whether file events in the profile's inbox start a pass.
    pub fn watches_inbox(&self) -> bool {
        matches!(self, Trigger::Watch { .. })
    }

    /// How long from `now` until the next timed pass is due (zero: now); `None` when no timed
    /// pass will ever come. `last` is `None` before the first pass; `since` is when the daemon
    /// started (the anchor of a cron schedule before its first pass).
    pub fn due_in(
        &self,
        last: Option<&LastPass>,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        match self {
            Trigger::Cron(cron) => {
                let anchor = last.map_or(since, |l| l.started);
                let fire = cron.next_after(anchor)?;
                Some((fire - now).to_std().unwrap_or(Duration::ZERO))
            }
            Trigger::Watch { rescan: every } | Trigger::Poll { every } => {
                Some(last.map_or(Duration::ZERO, |l| every.saturating_sub(l.ended.elapsed())))
            }
        }
    }
}

/// Problems of a profile's `schedule` (not cron, or never firing), `timezone` and
/// `source.poll`.
pub fn check(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let root = KeyPath::root();
    if let Some(expr) = &profile.schedule {
        // Whether it fires again does not depend on the zone it is read in.
        match CronSchedule::parse(expr, None) {
            Err(e) => problems.push(Problem::new(root.clone().key("schedule"), e.to_string())),
            Ok(s) if s.next_after(Utc::now()).is_none() => problems.push(Problem::new(
                root.clone().key("schedule"),
                format!(
                    "schedule {expr:?} never fires (no such date comes again): \
                     the profile would never run"
                ),
            )),
            Ok(_) => {}
        }
    }
    if let Some(name) = &profile.timezone {
        if let Err(e) = parse_tz(name) {
            problems.push(Problem::new(root.clone().key("timezone"), e.to_string()));
        } else if profile.schedule.is_none() {
            problems.push(Problem::new(
                root.clone().key("timezone"),
                "`timezone` is the zone `schedule` is read in, and there is no `schedule`",
            ));
        }
    }
    if let Some(poll) = poll_of(profile) {
        let at = root.key("source").key("poll");
        if profile.schedule.is_some() {
            problems.push(Problem::new(
                at,
                "`poll` has no effect when `schedule` is set (the schedule decides when to look)",
            ));
        } else if poll < MIN_POLL {
            problems.push(Problem::new(at, "`poll` must be at least \"1s\""));
        }
    }
    problems
}

/// The `poll` a source gives, if any.
fn poll_of(profile: &Profile) -> Option<Duration> {
    match &profile.source {
        SourceSpec::Dir(spec) => spec.poll.map(|d| d.0),
        SourceSpec::Sftp(spec) => spec.poll.map(|d| d.0),
    }
}

/// An IANA time zone name.
fn parse_tz(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name).map_err(|_| ScheduleError::UnknownZone {
        name: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(top: &str, source_extra: &str) -> Profile {
        let text = format!(
            "{top}\n[source]\ntype = \"dir\"\npath = \"in\"\n{source_extra}\n[[field]]\nname = \"id\"\nfrom = \"ID\"\n[[output]]\ntype = \"file\"\npath = \"o.csv\"\n"
        );
        toml::from_str(&text).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn problems(p: &Profile) -> Vec<(String, String)> {
        check(p)
            .into_iter()
            .map(|p| (p.at.to_string(), p.message))
            .collect()
    }

    #[test]
    fn nine_oclock_berlin_follows_the_clock_change() {
        // Europe/Berlin moves from CET (+1) to CEST (+2) on 2026-03-29.
        let s = CronSchedule::parse("0 9 * * *", Some("Europe/Berlin")).unwrap();
        let before = s.next_after(utc("2026-03-28T00:00:00Z")).unwrap();
        assert_eq!(before, utc("2026-03-28T08:00:00Z"));
        let first_summer = s.next_after(before).unwrap();
        assert_eq!(first_summer, utc("2026-03-29T07:00:00Z"));
        // And back in October (2026-10-25).
        let autumn = s.next_after(utc("2026-10-25T06:59:00Z")).unwrap();
        assert_eq!(autumn, utc("2026-10-25T08:00:00Z"));
    }

    #[test]
    fn a_time_in_the_spring_gap_runs_once_right_after_it() {
        // 02:30 does not exist in Berlin on 2026-03-29; the job runs at 03:00 CEST that day.
        let s = CronSchedule::parse("30 2 * * *", Some("Europe/Berlin")).unwrap();
        let fire = s.next_after(utc("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(fire, utc("2026-03-29T01:00:00Z"));
        assert_eq!(s.next_after(fire).unwrap(), utc("2026-03-30T00:30:00Z"));
    }

    #[test]
    fn utc_by_default_and_six_fields_allowed() {
        let s = CronSchedule::parse("*/15 * * * *", None).unwrap();
        assert_eq!(
            s.next_after(utc("2026-01-01T10:07:00Z")).unwrap(),
            utc("2026-01-01T10:15:00Z")
        );
        let secs = CronSchedule::parse("30 0 12 * * *", None).unwrap();
        assert_eq!(
            secs.next_after(utc("2026-01-01T00:00:00Z")).unwrap(),
            utc("2026-01-01T12:00:30Z")
        );
    }

    #[test]
    fn wrong_keys_are_located_problems() {
        let bad_cron = profile("schedule = \"every monday\"", "");
        let p = problems(&bad_cron);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "schedule");
        assert!(p[0].1.contains("not a cron expression"), "{}", p[0].1);

        let bad_tz = profile(
            "schedule = \"0 9 * * *\"\ntimezone = \"Europe/Atlantis\"",
            "",
        );
        let p = problems(&bad_tz);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "timezone");
        assert!(p[0].1.contains("Europe/Atlantis"), "{}", p[0].1);

        let lonely_tz = profile("timezone = \"Europe/Berlin\"", "");
        assert_eq!(problems(&lonely_tz)[0].0, "timezone");

        let poll_and_cron = profile("schedule = \"0 9 * * *\"", "poll = \"30s\"");
        assert_eq!(problems(&poll_and_cron)[0].0, "source.poll");
        let too_fast = profile("", "poll = \"100ms\"");
        assert_eq!(problems(&too_fast)[0].0, "source.poll");

        assert!(Trigger::of(&bad_cron).is_err());
        let good = profile(
            "schedule = \"0 9 * * 1-5\"\ntimezone = \"America/New_York\"",
            "",
        );
        assert!(problems(&good).is_empty(), "{:?}", problems(&good));
    }

    #[test]
    fn a_schedule_that_never_fires_is_a_problem() {
        let feb_30 = profile("schedule = \"0 0 30 2 *\"", "");
        let p = problems(&feb_30);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "schedule");
        assert_eq!(
            p[0].1,
            "schedule \"0 0 30 2 *\" never fires (no such date comes again): \
             the profile would never run"
        );
        assert!(Trigger::of(&feb_30).is_err());
        assert!(problems(&profile("schedule = \"0 0 29 2 *\"", "")).is_empty());
    }

    #[test]
    fn folders_are_watched_and_rescanned_without_a_schedule() {
        let p = profile("", "poll = \"5s\"");
        let t = Trigger::of(&p).unwrap();
        assert!(t.watches_inbox());
        let now = Utc::now();
        assert_eq!(t.due_in(None, now, now), Some(Duration::ZERO));
        let last = LastPass {
            started: now,
            ended: Instant::now(),
        };
        let wait = t.due_in(Some(&last), now, now).unwrap();
        assert!(wait > Duration::from_secs(4) && wait <= Duration::from_secs(5));

        let cron = Trigger::of(&profile("schedule = \"0 9 * * *\"", "")).unwrap();
        assert!(!cron.watches_inbox());
        let since = utc("2026-01-01T08:00:00Z");
        assert_eq!(
            cron.due_in(None, since, utc("2026-01-01T08:59:00Z")),
            Some(Duration::from_secs(60))
        );
        // A fire missed while a pass ran is due at once.
        assert_eq!(
            cron.due_in(None, since, utc("2026-01-01T09:30:00Z")),
            Some(Duration::ZERO)
        );
    }
}
