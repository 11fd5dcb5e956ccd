//! The Profiles view's rows: what each configured profile reads, when it runs next, how its
//! last job went, and whether an operator paused it.

use chrono::{DateTime, Utc};

use crate::profile::schedule::Trigger;
use crate::profile::Profile;
use crate::store::{JobRow, Pause, Store, StoreError};

/// One profile as the dashboard shows it.
pub struct ProfileLine {
    pub name: String,
    /// `dir inbox/ats hires_*.csv`, `sftp hr@files.example.com:22/out *.csv`.
    pub source: String,
    /// `cron */15 * * * *`, `on arrival`, `poll 1m`.
    pub schedule: String,
    trigger: Option<Trigger>,
    /// The next cron fire after the last refresh, if the profile has a schedule.
    pub next_run: Option<DateTime<Utc>>,
    pub last_job: Option<JobRow>,
    pub paused: Option<Pause>,
}

impl ProfileLine {
    /// The fixed part of a profile's line; [`ProfileLine::reload`] and [`ProfileLine::tick`]
    /// fill the rest.
    pub fn of(profile: &Profile) -> ProfileLine {
        let source = crate::source::open::open(&profile.source).describe();
        // A profile that does not check out still shows, without a schedule.
        let trigger = Trigger::of(profile).ok();
        let schedule = match (&profile.schedule, &trigger) {
            (Some(expr), _) => match &profile.timezone {
                Some(tz) => format!("cron {expr} ({tz})"),
                None => format!("cron {expr}"),
            },
            (None, Some(Trigger::Watch { .. })) => "on arrival".to_string(),
            (None, Some(Trigger::Poll { every })) => format!("poll every {}s", every.as_secs()),
            _ => "(invalid; run `hrbridge check`)".to_string(),
        };
        ProfileLine {
            name: profile.name.clone(),
            source,
            schedule,
            trigger,
            next_run: None,
            last_job: None,
            paused: None,
        }
    }

    /// Reads the last job and the pause from the store.
    pub fn reload(&mut self, store: &Store) -> Result<(), StoreError> {
        self.last_job = store.last_job_of(&self.name)?;
        self.paused = store.pause_of(&self.name)?;
        Ok(())
    }

    /// Works out the next cron fire after `now`.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.next_run = match &self.trigger {
            Some(Trigger::Cron(cron)) => cron.next_after(now),
            _ => None,
        };
    }
}
