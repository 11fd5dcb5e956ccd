//! The dashboard's state and what keys do to it, apart from any terminal: the event loop
//! feeds it keys and clock ticks, the drawing code reads it, and tests drive it directly.
//!
//! Reading the store happens here (pages, refreshes); writing happens only through the
//! operator actions of [`crate::engine::control`], after the operator confirmed.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::engine::control;
use crate::profile::Profile;
use crate::store::{
    AuditVerdict, CommandKind, CommandState, Heartbeat, JobRow, JobSet, JobStatus, JobTotals,
    Store, StoreError,
};

use super::background::{self, Update};
use super::detail::{JobDetail, Problems};
use super::feeds::{AuditFeed, JobsFeed};
use super::filter;
use super::profiles::ProfileLine;
use super::window::Window;

/// A heartbeat older than this means the daemon is gone (it beats every 2 s).
const HEARTBEAT_STALE_SECS: i64 = 10;

/// The four views, in `Tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Jobs,
    Errors,
    Audit,
    Profiles,
}

impl View {
    pub const ALL: [View; 4] = [View::Jobs, View::Errors, View::Audit, View::Profiles];

    pub fn title(self) -> &'static str {
        match self {
            View::Jobs => "Jobs",
            View::Errors => "Errors",
            View::Audit => "Audit",
            View::Profiles => "Profiles",
        }
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// Something that changes what hrbridge does; asked for with a key, done after `y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Run { profile: String },
    Retry { profile: String, job_id: i64 },
    Pause { profile: String },
    Resume { profile: String },
}

impl Action {
    /// The question the confirmation asks.
    pub fn question(&self) -> String {
        match self {
            Action::Run { profile } => format!("Run profile {profile} now?"),
            Action::Retry { job_id, .. } => {
                format!("Send the failed rows of job {job_id} again?")
            }
            Action::Pause { profile } => {
                format!("Pause profile {profile}? It takes no new files until resumed.")
            }
            Action::Resume { profile } => format!("Resume profile {profile}?"),
        }
    }
}

/// What covers the view, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Confirm(Action),
    /// The audit filter being typed.
    Filter(String),
}

/// What the audit chain check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    Verifying,
    Intact {
        events: u64,
    },
    Broken {
        seq: i64,
        reason: String,
    },
    /// The check itself could not run.
    Unknown(String),
}

impl From<AuditVerdict> for Chain {
    fn from(v: AuditVerdict) -> Chain {
        match v {
            AuditVerdict::Intact { events, .. } => Chain::Intact { events },
            AuditVerdict::Broken { seq, reason } => Chain::Broken { seq, reason },
        }
    }
}

/// Whether a daemon takes the commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Daemon {
    /// `run --tui`: the daemon runs in this process.
    InProcess,
    Running {
        pid: u32,
    },
    NotRunning,
}

/// How serious a status message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// The dashboard.
pub struct App {
    pub view: View,
    pub overlay: Overlay,
    /// The job opened with `Enter`, over the current view.
    pub detail: Option<JobDetail>,
    pub jobs: Window<JobsFeed>,
    pub errors: Window<JobsFeed>,
    /// Rejections and failures of the job selected in the Errors view.
    pub problems: Option<Problems>,
    pub audit: Window<AuditFeed>,
    /// The audit filter as typed (empty: none).
    pub filter: String,
    pub profiles: Vec<ProfileLine>,
    pub profile_selected: usize,
    pub totals: JobTotals,
    pub jobs_total: u64,
    pub chain: Chain,
    pub daemon: Daemon,
    pub message: Option<(Level, String)>,
    /// Commands asked for from here and not finished yet: (id, what).
    watching: Vec<(i64, String)>,
    /// Rows a page moves (set from the list's height when drawn).
    pub page_rows: usize,
    /// Scroll offset of each view's list, kept between frames.
    pub offsets: [usize; 4],
    /// The store's `data_version` at the last full read: nothing is read again until another
    /// connection commits (`None`: read at the next refresh).
    seen: Option<i64>,
    /// Who acts (audited with every action).
    pub user: String,
    /// The state folder, shown in the header.
    pub state_dir: String,
    pub now: DateTime<Utc>,
    pub quit: bool,
}

impl App {
    /// A dashboard over `profiles`, with nothing loaded yet; call [`App::refresh`].
    pub fn new(profiles: &[Profile], state_dir: String, in_process: bool) -> App {
        App {
            view: View::Jobs,
            overlay: Overlay::None,
            detail: None,
            jobs: Window::new(JobsFeed { set: JobSet::All }),
            errors: Window::new(JobsFeed {
                set: JobSet::Troubled,
            }),
            problems: None,
            audit: Window::new(AuditFeed::new(Default::default())),
            filter: String::new(),
            profiles: profiles.iter().map(ProfileLine::of).collect(),
            profile_selected: 0,
            totals: JobTotals::default(),
            jobs_total: 0,
            chain: Chain::Verifying,
            daemon: if in_process {
                Daemon::InProcess
            } else {
                Daemon::NotRunning
            },
            message: None,
            watching: Vec::new(),
            page_rows: 10,
            offsets: [0; 4],
            seen: None,
            user: control::os_user(),
            state_dir,
            now: Utc::now(),
            quit: false,
        }
    }

    /// Reads what may have changed: new and changed jobs and events, totals, profiles, the
    /// daemon's heartbeat, and the outcome of commands asked for from here.
    pub fn refresh(&mut self, store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.now = now;
        let version = store.data_version()?;
        if self.seen != Some(version) {
            self.reload(store)?;
            self.seen = Some(version);
        }
        for line in &mut self.profiles {
            line.tick(now);
        }
        if self.daemon != Daemon::InProcess {
            self.daemon = daemon_state(store.daemon_heartbeat()?, now);
        }
        self.check_commands(store)
    }

    /// Reads the lists and profiles again (the store changed).
    fn reload(&mut self, store: &Store) -> Result<(), StoreError> {
        self.jobs.live(store)?;
        self.errors.live(store)?;
        self.audit.live(store)?;
        for line in &mut self.profiles {
            line.reload(store)?;
        }
        if let Some(detail) = &mut self.detail {
            detail.reload(store)?;
        }
        self.problems = None;
        self.sync_problems(store)
    }

    /// Fetches rows the lists still want (see [`Window::wants_more`]); `true` if there is
    /// more to fetch, so the loop should come back without waiting for a key.
    pub fn step(&mut self, store: &Store) -> Result<bool, StoreError> {
        let list = match self.view {
            View::Jobs => &mut self.jobs,
            View::Errors => &mut self.errors,
            View::Audit => {
                self.audit.step(store)?;
                return Ok(self.audit.wants_more());
            }
            View::Profiles => return Ok(false),
        };
        list.step(store)?;
        let more = list.wants_more();
        self.sync_problems(store)?;
        Ok(more)
    }

    /// Takes what the background thread (or a caller, see [`App::background_now`]) found.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Chain(chain) => self.chain = chain,
            Update::Totals(today, all) => {
                self.totals = today;
                self.jobs_total = all;
            }
        }
    }

    /// Does the background work here and now: the chain check and the totals (tests, and
    /// callers without the event loop's thread).
    pub fn background_now(&mut self, store: &Store) -> Result<(), StoreError> {
        self.apply(background::totals(store, self.now)?);
        self.apply(Update::Chain(background::check_chain(store, None).0));
        Ok(())
    }

    /// What a key does.
    pub fn on_key(&mut self, store: &Store, key: KeyEvent) -> Result<(), StoreError> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return Ok(());
        }
        match std::mem::replace(&mut self.overlay, Overlay::None) {
            Overlay::None => self.on_view_key(store, key),
            // Any key closes the help.
            Overlay::Help => Ok(()),
            Overlay::Confirm(action) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                    self.perform(store, action)
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                    self.say(Level::Info, "cancelled");
                    Ok(())
                }
                _ => {
                    self.overlay = Overlay::Confirm(action);
                    Ok(())
                }
            },
            Overlay::Filter(mut typed) => {
                match key.code {
                    KeyCode::Enter => return self.apply_filter(store, typed),
                    KeyCode::Esc => return Ok(()),
                    KeyCode::Backspace => {
                        typed.pop();
                    }
                    KeyCode::Char(c) if !c.is_control() && typed.chars().count() < 200 => {
                        typed.push(c)
                    }
                    _ => {}
                }
                self.overlay = Overlay::Filter(typed);
                Ok(())
            }
        }
    }

    fn on_view_key(&mut self, store: &Store, key: KeyEvent) -> Result<(), StoreError> {
        let page = self.page_rows.max(1) as isize;
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') => self.overlay = Overlay::Help,
            KeyCode::Char(c @ '1'..='4') => {
                let index = usize::from(c as u8 - b'1');
                self.switch(store, View::ALL[index])?;
            }
            KeyCode::Tab => self.switch(store, View::ALL[(self.view.index() + 1) % 4])?,
            KeyCode::BackTab => self.switch(store, View::ALL[(self.view.index() + 3) % 4])?,
            KeyCode::Esc => self.back(store)?,
            KeyCode::Enter => self.open_detail(store)?,
            KeyCode::Char('j') | KeyCode::Down => self.move_by(store, 1)?,
            KeyCode::Char('k') | KeyCode::Up => self.move_by(store, -1)?,
            KeyCode::PageDown => self.move_by(store, page)?,
            KeyCode::PageUp => self.move_by(store, -page)?,
            KeyCode::Home | KeyCode::Char('g') => self.jump(store, true)?,
            KeyCode::End | KeyCode::Char('G') => self.jump(store, false)?,
            KeyCode::Char('/') => {
                if self.view == View::Audit && self.detail.is_none() {
                    self.overlay = Overlay::Filter(self.filter.clone());
                } else {
                    self.say(Level::Info, "/ filters the Audit view (press 3)");
                }
            }
            KeyCode::Char('r') => self.ask_run(),
            KeyCode::Char('R') => self.ask_retry(),
            KeyCode::Char('p') => self.ask_pause(),
            _ => {}
        }
        Ok(())
    }

    /// `Esc`: closes the open job, else clears the audit filter.
    fn back(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.detail.take().is_some() || self.view != View::Audit {
            return Ok(());
        }
        self.apply_filter(store, String::new())
    }

    fn switch(&mut self, store: &Store, view: View) -> Result<(), StoreError> {
        self.detail = None;
        self.view = view;
        self.step(store).map(|_| ())
    }

    fn move_by(&mut self, store: &Store, delta: isize) -> Result<(), StoreError> {
        if let Some(detail) = &mut self.detail {
            detail.scroll = detail
                .scroll
                .saturating_add_signed(delta.clamp(-999, 999) as i16);
            return Ok(());
        }
        match self.view {
            View::Jobs => self.jobs.move_by(store, delta)?,
            View::Errors => self.errors.move_by(store, delta)?,
            View::Audit => self.audit.move_by(store, delta)?,
            View::Profiles => {
                let last = self.profiles.len().saturating_sub(1);
                self.profile_selected =
                    self.profile_selected.saturating_add_signed(delta).min(last);
            }
        }
        self.sync_problems(store)
    }

    fn jump(&mut self, store: &Store, top: bool) -> Result<(), StoreError> {
        if let Some(detail) = &mut self.detail {
            detail.scroll = if top { 0 } else { u16::MAX / 2 };
            return Ok(());
        }
        let list = match self.view {
            View::Jobs => &mut self.jobs,
            View::Errors => &mut self.errors,
            View::Audit => {
                return if top {
                    self.audit.top(store)
                } else {
                    self.audit.bottom(store)
                }
            }
            View::Profiles => {
                self.profile_selected = if top {
                    0
                } else {
                    self.profiles.len().saturating_sub(1)
                };
                return Ok(());
            }
        };
        if top {
            list.top(store)?;
        } else {
            list.bottom(store)?;
        }
        self.sync_problems(store)
    }

    fn apply_filter(&mut self, store: &Store, typed: String) -> Result<(), StoreError> {
        self.audit.feed.filter = filter::parse(&typed);
        self.filter = typed.trim().to_string();
        self.audit.top(store)
    }

    /// Keeps the Errors view's lower panel on the selected job.
    fn sync_problems(&mut self, store: &Store) -> Result<(), StoreError> {
        let selected = self.errors.selected().map(|j| j.id);
        if selected != self.problems.as_ref().map(|p| p.job_id) {
            self.problems = match selected {
                Some(id) => Some(Problems::load(store, id)?),
                None => None,
            };
        }
        Ok(())
    }

    /// `Enter`: the selected job, or the job of the selected audit event.
    fn open_detail(&mut self, store: &Store) -> Result<(), StoreError> {
        let id = match self.view {
            View::Audit => self.audit.selected().and_then(|e| e.job_id),
            _ => self.selected_job().map(|j| j.id),
        };
        let Some(id) = id else {
            return Ok(());
        };
        self.detail = JobDetail::load(store, id)?;
        Ok(())
    }

    /// The job the actions of the current view apply to.
    pub fn selected_job(&self) -> Option<&JobRow> {
        if let Some(detail) = &self.detail {
            return Some(&detail.job);
        }
        match self.view {
            View::Jobs => self.jobs.selected(),
            View::Errors => self.errors.selected(),
            View::Audit | View::Profiles => None,
        }
    }

    /// The profile the actions of the current view apply to.
    fn selected_profile(&self) -> Option<&ProfileLine> {
        let name = match (self.view, self.selected_job()) {
            (_, Some(job)) => job.profile.clone(),
            (View::Profiles, None) => return self.profiles.get(self.profile_selected),
            (View::Audit, None) => self.audit.selected()?.profile.clone()?,
            _ => return None,
        };
        self.profiles.iter().find(|p| p.name == name)
    }

    fn ask_run(&mut self) {
        let Some(line) = self.selected_profile() else {
            return self.say(Level::Warn, "select a profile (or one of its jobs) to run");
        };
        if line.paused.is_some() {
            let text = format!("{} is paused; press p to resume it first", line.name);
            return self.say(Level::Warn, &text);
        }
        let profile = line.name.clone();
        self.overlay = Overlay::Confirm(Action::Run { profile });
    }

    fn ask_retry(&mut self) {
        let Some(job) = self.selected_job() else {
            return self.say(Level::Warn, "select a job to retry its failed rows");
        };
        let retryable = matches!(job.status, JobStatus::Partial | JobStatus::Failed);
        if !retryable || job.counts.failed == 0 {
            let text = format!(
                "job {} has no failed deliveries to send again (rejected rows are fixed at the \
                 source and come as a new file)",
                job.id
            );
            return self.say(Level::Warn, &text);
        }
        let (profile, job_id) = (job.profile.clone(), job.id);
        if !self.profiles.iter().any(|p| p.name == profile) {
            let text = format!("profile {profile} is no longer configured");
            return self.say(Level::Warn, &text);
        }
        self.overlay = Overlay::Confirm(Action::Retry { profile, job_id });
    }

    fn ask_pause(&mut self) {
        let Some(line) = self.selected_profile() else {
            return self.say(
                Level::Warn,
                "select a profile (or one of its jobs) to pause",
            );
        };
        let profile = line.name.clone();
        self.overlay = Overlay::Confirm(if line.paused.is_some() {
            Action::Resume { profile }
        } else {
            Action::Pause { profile }
        });
    }

    /// Carries out a confirmed action and says what came of it.
    fn perform(&mut self, store: &Store, action: Action) -> Result<(), StoreError> {
        let user = self.user.clone();
        match &action {
            Action::Pause { profile } => {
                control::pause(store, profile, &user)?;
                let text = format!("paused {profile}: it takes no new files until resumed");
                self.say(Level::Info, &text);
            }
            Action::Resume { profile } => {
                control::resume(store, profile, &user)?;
                self.say(Level::Info, &format!("resumed {profile}"));
            }
            Action::Run { profile } => {
                let id = control::request(store, CommandKind::Run, profile, None, &user)?;
                self.queued(id, format!("run {profile}"));
            }
            Action::Retry { profile, job_id } => {
                let id =
                    control::request(store, CommandKind::Retry, profile, Some(*job_id), &user)?;
                self.queued(id, format!("retry job {job_id}"));
            }
        }
        // This connection's own writes do not change `data_version`: read again next time.
        self.seen = None;
        for line in &mut self.profiles {
            line.reload(store)?;
        }
        Ok(())
    }

    fn queued(&mut self, id: i64, what: String) {
        let text = match self.daemon {
            Daemon::NotRunning => format!(
                "command {id} ({what}) queued; no daemon is running: it is carried out when \
                 `hrbridge run` starts"
            ),
            Daemon::InProcess | Daemon::Running { .. } => {
                format!("command {id} ({what}) sent to the daemon")
            }
        };
        self.say(Level::Info, &text);
        self.watching.push((id, what));
    }

    /// Reports commands asked for from here that the daemon has finished.
    fn check_commands(&mut self, store: &Store) -> Result<(), StoreError> {
        let mut still = Vec::new();
        for (id, what) in std::mem::take(&mut self.watching) {
            match store.command(id)? {
                Some(c) if c.state != CommandState::Pending => {
                    let (level, word) = match c.state {
                        CommandState::Failed => (Level::Error, "failed"),
                        _ => (Level::Info, "done"),
                    };
                    let outcome = c.outcome.unwrap_or_default();
                    self.say(level, &format!("command {id} ({what}) {word}: {outcome}"));
                }
                _ => still.push((id, what)),
            }
        }
        self.watching = still;
        Ok(())
    }

    fn say(&mut self, level: Level, text: &str) {
        self.message = Some((level, text.to_string()));
    }
}

/// The daemon as its heartbeat tells: running if it beat recently.
fn daemon_state(beat: Option<Heartbeat>, now: DateTime<Utc>) -> Daemon {
    let fresh = |b: &Heartbeat| {
        DateTime::parse_from_rfc3339(&b.seen_at)
            .is_ok_and(|seen| (now - seen.with_timezone(&Utc)).num_seconds() < HEARTBEAT_STALE_SECS)
    };
    match beat {
        Some(b) if fresh(&b) => Daemon::Running { pid: b.pid },
        _ => Daemon::NotRunning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_heartbeat_means_no_daemon() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let beat = |seen: &str| Heartbeat {
            pid: 7,
            started_at: "2026-11-26T09:00:00Z".into(),
            seen_at: seen.into(),
        };
        assert_eq!(
            daemon_state(Some(beat("2026-11-26T09:59:58.000Z")), now),
            Daemon::Running { pid: 7 }
        );
        assert_eq!(
            daemon_state(Some(beat("2026-11-26T09:59:00.000Z")), now),
            Daemon::NotRunning
        );
        assert_eq!(daemon_state(None, now), Daemon::NotRunning);
    }
}
