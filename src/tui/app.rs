//! The dashboard's state and what actions do to it, apart from any terminal: the event loop
//! feeds it [`Action`]s (from keys, see [`super::action`]) and clock ticks, the drawing code
//! reads it, and tests drive it directly.
//!
//! [`App::update`] only changes the state; the store work an action needs comes back as an
//! [`Effect`] that [`App::carry_out`] does. Reading the store happens there and in the
//! refreshes; writing happens only through the operator actions of
//! [`crate::engine::control`], after the operator confirmed.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::KeyEvent;

use crate::engine::approval::Decision;
use crate::engine::control;
use crate::profile::Profile;
use crate::store::{
    AuditVerdict, CommandKind, CommandState, Heartbeat, JobRow, JobSet, JobStatus, JobTotals,
    Store, StoreError,
};

use super::action::{keymap, Action, Edge, Effect, Mode};
use super::approvals::{Approvals, Decider};
use super::background::{self, Update};
use super::detail::{JobDetail, Problems};
use super::feeds::{AuditFeed, JobsFeed};
use super::filter;
use super::profiles::ProfileLine;
use super::trace::RowTrace;
use super::window::Window;

/// A heartbeat older than this means the daemon is gone (it beats every 2 s).
const HEARTBEAT_STALE_SECS: i64 = 10;

/// The five views, in `Tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Jobs,
    Errors,
    Audit,
    Profiles,
    /// Jobs a lifecycle safeguard held, and their plans.
    Approvals,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Jobs,
        View::Errors,
        View::Audit,
        View::Profiles,
        View::Approvals,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Jobs => "Jobs",
            View::Errors => "Errors",
            View::Audit => "Audit",
            View::Profiles => "Profiles",
            View::Approvals => "Approvals",
        }
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// Something that changes what hrbridge does; asked for with a key, done after `y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Run {
        profile: String,
    },
    Retry {
        profile: String,
        job_id: i64,
    },
    Pause {
        profile: String,
    },
    Resume {
        profile: String,
    },
    /// Approves or rejects a held lifecycle job.
    Decide {
        job_id: i64,
        decision: Decision,
    },
}

impl Operation {
    /// The question the confirmation asks.
    pub fn question(&self) -> String {
        match self {
            Operation::Run { profile } => format!("Run profile {profile} now?"),
            Operation::Retry { job_id, .. } => {
                format!("Send the failed rows of job {job_id} again?")
            }
            Operation::Pause { profile } => {
                format!("Pause profile {profile}? It takes no new files until resumed.")
            }
            Operation::Resume { profile } => format!("Resume profile {profile}?"),
            Operation::Decide {
                job_id,
                decision: Decision::Approve,
            } => format!("Approve held job {job_id}? It applies exactly the plan shown."),
            Operation::Decide {
                job_id,
                decision: Decision::Reject,
            } => format!("Reject held job {job_id}? Nothing is sent; its input moves to error/."),
        }
    }
}

/// What covers the view, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Confirm(Operation),
    /// The audit filter being typed.
    Filter(String),
    /// The row of the open job to trace, being typed.
    TraceRow(String),
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
    /// The profiles as configured: a trace says which filter skipped a row, which outputs
    /// a row went to.
    specs: Vec<Profile>,
    pub profile_selected: usize,
    /// Held lifecycle jobs (the Approvals view).
    pub approvals: Approvals,
    /// Decides a held job (`None`: this dashboard cannot, e.g. in tests).
    pub decider: Option<Decider>,
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
    pub offsets: [usize; 5],
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
            specs: profiles.to_vec(),
            profile_selected: 0,
            approvals: Approvals::default(),
            decider: None,
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
            offsets: [0; 5],
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
        self.approvals.reload(store)?;
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
            View::Profiles | View::Approvals => return Ok(false),
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

    /// What a key does, store work included: [`keymap`], [`App::update`] and
    /// [`App::carry_out`] in one call, as the event loop does them (tests drive the
    /// dashboard with it).
    pub fn on_key(&mut self, store: &Store, key: KeyEvent) -> Result<(), StoreError> {
        match keymap(self.mode(), key).and_then(|action| self.update(action)) {
            Some(effect) => self.carry_out(store, effect),
            None => Ok(()),
        }
    }

    /// How keys are read now (see [`keymap`]).
    pub fn mode(&self) -> Mode {
        match self.overlay {
            Overlay::None => Mode::Normal,
            Overlay::Help => Mode::Help,
            Overlay::Confirm(_) => Mode::Confirm,
            Overlay::Filter(_) | Overlay::TraceRow(_) => Mode::Filter,
        }
    }

    /// Applies an action to the dashboard's state; what needs the store is returned for the
    /// event loop to [carry out](App::carry_out).
    pub fn update(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.overlay = Overlay::Help,
            Action::CloseHelp => self.overlay = Overlay::None,
            Action::Switch(view) => return Some(self.switch(view)),
            Action::NextView => {
                let next = (self.view.index() + 1) % View::ALL.len();
                return Some(self.switch(View::ALL[next]));
            }
            Action::PreviousView => {
                let previous = (self.view.index() + View::ALL.len() - 1) % View::ALL.len();
                return Some(self.switch(View::ALL[previous]));
            }
            Action::Open => return self.open_detail(),
            Action::Back => return self.back(),
            Action::Move(rows) => return self.move_by(rows),
            Action::Page(pages) if self.view == View::Approvals && self.detail.is_none() => {
                return Some(Effect::PlanPage(pages))
            }
            Action::Page(pages) => return self.move_by(pages * self.page_rows.max(1) as isize),
            Action::Jump(edge) => return self.jump(edge),
            Action::Filter => {
                if self.view == View::Audit && self.detail.is_none() {
                    self.overlay = Overlay::Filter(self.filter.clone());
                } else {
                    self.say(Level::Info, "/ filters the Audit view (press 3)");
                }
            }
            Action::Trace => self.ask_trace(),
            Action::FilterChar(c) => match &mut self.overlay {
                Overlay::Filter(typed) if typed.chars().count() < 200 => typed.push(c),
                Overlay::TraceRow(typed) if c.is_ascii_digit() && typed.len() < 12 => typed.push(c),
                _ => {}
            },
            Action::FilterErase => {
                if let Overlay::Filter(typed) | Overlay::TraceRow(typed) = &mut self.overlay {
                    typed.pop();
                }
            }
            Action::FilterApply => match std::mem::replace(&mut self.overlay, Overlay::None) {
                Overlay::Filter(typed) => return Some(self.set_filter(typed)),
                Overlay::TraceRow(typed) => return self.trace_row(&typed),
                other => self.overlay = other,
            },
            Action::FilterCancel => self.overlay = Overlay::None,
            Action::Confirm => {
                if let Overlay::Confirm(operation) =
                    std::mem::replace(&mut self.overlay, Overlay::None)
                {
                    return Some(Effect::Perform(operation));
                }
            }
            Action::Cancel => {
                self.overlay = Overlay::None;
                self.say(Level::Info, "cancelled");
            }
            Action::Run => self.ask_run(),
            Action::Retry => self.ask_retry(),
            Action::PauseResume => self.ask_pause(),
            Action::Approve => self.ask_decide(Decision::Approve),
            Action::Reject => self.ask_decide(Decision::Reject),
        }
        None
    }

    /// Does the store work an [`App::update`] asked for.
    pub fn carry_out(&mut self, store: &Store, effect: Effect) -> Result<(), StoreError> {
        match effect {
            Effect::Fill => self.step(store).map(|_| ()),
            Effect::Scroll(delta) => {
                match self.view {
                    View::Jobs => self.jobs.move_by(store, delta)?,
                    View::Errors => self.errors.move_by(store, delta)?,
                    View::Audit => self.audit.move_by(store, delta)?,
                    View::Approvals => return self.approvals.move_by(store, delta),
                    View::Profiles => return Ok(()),
                }
                self.sync_problems(store)
            }
            Effect::Jump(edge) => {
                let list = match self.view {
                    View::Jobs => &mut self.jobs,
                    View::Errors => &mut self.errors,
                    View::Audit => {
                        return match edge {
                            Edge::Top => self.audit.top(store),
                            Edge::Bottom => self.audit.bottom(store),
                        }
                    }
                    View::Approvals => return self.approvals.edge(store, edge),
                    View::Profiles => return Ok(()),
                };
                match edge {
                    Edge::Top => list.top(store)?,
                    Edge::Bottom => list.bottom(store)?,
                }
                self.sync_problems(store)
            }
            Effect::PlanPage(pages) => self.approvals.page(store, pages),
            Effect::Refilter => self.audit.top(store),
            Effect::Open(id) => {
                self.detail = JobDetail::load(store, id)?;
                Ok(())
            }
            Effect::Trace { job_id, row } => {
                let trace = RowTrace::load(store, &self.specs, job_id, row)?;
                match (&mut self.detail, trace) {
                    (Some(detail), Some(trace)) if detail.job.id == job_id => {
                        detail.trace = Some(trace)
                    }
                    (_, None) => self.say(
                        Level::Warn,
                        &format!(
                            "job {job_id} traced no one on row {row}: the row named no one (its \
                             key did not map), or the job ran before rows were traced"
                        ),
                    ),
                    _ => {}
                }
                Ok(())
            }
            Effect::Perform(operation) => self.perform(store, operation),
        }
    }

    /// `Esc`: closes the trace of a row, else the open job, else clears the audit filter.
    fn back(&mut self) -> Option<Effect> {
        if let Some(detail) = &mut self.detail {
            if detail.trace.take().is_some() {
                return None;
            }
        }
        if self.detail.take().is_some() || self.view != View::Audit {
            return None;
        }
        Some(self.set_filter(String::new()))
    }

    fn switch(&mut self, view: View) -> Effect {
        self.detail = None;
        self.view = view;
        Effect::Fill
    }

    fn move_by(&mut self, delta: isize) -> Option<Effect> {
        if let Some(detail) = &mut self.detail {
            let scroll = match &mut detail.trace {
                Some(trace) => &mut trace.scroll,
                None => &mut detail.scroll,
            };
            *scroll = scroll.saturating_add_signed(delta.clamp(-999, 999) as i16);
            return None;
        }
        if self.view != View::Profiles {
            return Some(Effect::Scroll(delta));
        }
        let last = self.profiles.len().saturating_sub(1);
        self.profile_selected = self.profile_selected.saturating_add_signed(delta).min(last);
        None
    }

    fn jump(&mut self, edge: Edge) -> Option<Effect> {
        if let Some(detail) = &mut self.detail {
            let scroll = match &mut detail.trace {
                Some(trace) => &mut trace.scroll,
                None => &mut detail.scroll,
            };
            *scroll = match edge {
                Edge::Top => 0,
                Edge::Bottom => u16::MAX / 2,
            };
            return None;
        }
        if self.view != View::Profiles {
            return Some(Effect::Jump(edge));
        }
        self.profile_selected = match edge {
            Edge::Top => 0,
            Edge::Bottom => self.profiles.len().saturating_sub(1),
        };
        None
    }

    /// Takes `typed` as the audit filter; the trail is read again from the top.
    fn set_filter(&mut self, typed: String) -> Effect {
        self.audit.feed.filter = filter::parse(&typed);
        self.filter = typed.trim().to_string();
        Effect::Refilter
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
    fn open_detail(&self) -> Option<Effect> {
        let id = match self.view {
            View::Audit => self.audit.selected().and_then(|e| e.job_id),
            _ => self.selected_job().map(|j| j.id),
        };
        id.map(Effect::Open)
    }

    /// The job the operations of the current view apply to.
    pub fn selected_job(&self) -> Option<&JobRow> {
        if let Some(detail) = &self.detail {
            return Some(&detail.job);
        }
        match self.view {
            View::Jobs => self.jobs.selected(),
            View::Errors => self.errors.selected(),
            View::Audit | View::Profiles | View::Approvals => None,
        }
    }

    /// The profile the operations of the current view apply to.
    fn selected_profile(&self) -> Option<&ProfileLine> {
        let name = match (self.view, self.selected_job()) {
            (_, Some(job)) => job.profile.clone(),
            (View::Profiles, None) => return self.profiles.get(self.profile_selected),
            (View::Audit, None) => self.audit.selected()?.profile.clone()?,
            _ => return None,
        };
        self.profiles.iter().find(|p| p.name == name)
    }

    /// `t` in a job: asks which row to trace, offering its first rejected or failed row.
    fn ask_trace(&mut self) {
        match &self.detail {
            Some(detail) if detail.trace.is_none() => {
                let row = detail.first_problem_row();
                self.overlay = Overlay::TraceRow(row.map(|r| r.to_string()).unwrap_or_default());
            }
            Some(_) => self.say(Level::Info, "Esc goes back to the job"),
            None => self.say(Level::Info, "t traces a row of a job: open one with Enter"),
        }
    }

    /// The typed row of the open job, to trace.
    fn trace_row(&mut self, typed: &str) -> Option<Effect> {
        let job_id = self.detail.as_ref()?.job.id;
        match typed.parse::<u64>() {
            Ok(row) => Some(Effect::Trace { job_id, row }),
            Err(_) => {
                self.say(Level::Warn, "type the row number of the file to trace");
                None
            }
        }
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
        self.overlay = Overlay::Confirm(Operation::Run { profile });
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
        self.overlay = Overlay::Confirm(Operation::Retry { profile, job_id });
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
            Operation::Resume { profile }
        } else {
            Operation::Pause { profile }
        });
    }

    /// `a` / `x`: asks to approve or reject the selected held job.
    fn ask_decide(&mut self, decision: Decision) {
        if self.view != View::Approvals || self.detail.is_some() {
            return self.say(
                Level::Info,
                "a / x decide held jobs in the Approvals view (press 5)",
            );
        }
        let Some(held) = self.approvals.selected() else {
            return self.say(Level::Info, "no job is held for approval");
        };
        let job_id = held.plan.job_id;
        self.overlay = Overlay::Confirm(Operation::Decide { job_id, decision });
    }

    /// Carries out a confirmed operation and says what came of it.
    fn perform(&mut self, store: &Store, operation: Operation) -> Result<(), StoreError> {
        let user = self.user.clone();
        match &operation {
            Operation::Pause { profile } => {
                control::pause(store, profile, &user)?;
                let text = format!("paused {profile}: it takes no new files until resumed");
                self.say(Level::Info, &text);
            }
            Operation::Resume { profile } => {
                control::resume(store, profile, &user)?;
                self.say(Level::Info, &format!("resumed {profile}"));
            }
            Operation::Run { profile } => {
                let id = control::request(store, CommandKind::Run, profile, None, &user)?;
                self.queued(id, format!("run {profile}"));
            }
            Operation::Retry { profile, job_id } => {
                let id =
                    control::request(store, CommandKind::Retry, profile, Some(*job_id), &user)?;
                self.queued(id, format!("retry job {job_id}"));
            }
            Operation::Decide { job_id, decision } => {
                let outcome = match &self.decider {
                    Some(decide) => decide(store, *job_id, *decision, &user),
                    None => Err("this dashboard cannot decide; use hrbridge approve".into()),
                };
                match outcome {
                    Ok(text) => self.say(Level::Info, &text),
                    Err(text) => self.say(Level::Error, &text),
                }
                self.approvals.reload(store)?;
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
    fn update_changes_state_and_leaves_the_store_work_as_effects() {
        let mut app = App::new(&[], "var".into(), false);
        assert_eq!(app.update(Action::Switch(View::Audit)), Some(Effect::Fill));
        assert_eq!(app.view, View::Audit);
        assert_eq!(app.update(Action::Filter), None);
        for c in "kind:job.failed ".chars() {
            app.update(Action::FilterChar(c));
        }
        app.update(Action::FilterErase);
        assert_eq!(app.update(Action::FilterApply), Some(Effect::Refilter));
        assert_eq!(app.filter, "kind:job.failed");
        assert_eq!(app.overlay, Overlay::None);
        // Nothing to open, no job to retry: said, not asked.
        assert_eq!(app.update(Action::Open), None);
        assert_eq!(app.update(Action::Retry), None);
        assert_eq!(app.overlay, Overlay::None);
        assert_eq!(app.update(Action::Page(1)), Some(Effect::Scroll(10)));
        let pause = Operation::Pause {
            profile: "p".into(),
        };
        app.overlay = Overlay::Confirm(pause.clone());
        assert_eq!(app.update(Action::Confirm), Some(Effect::Perform(pause)));
        assert_eq!(app.overlay, Overlay::None);
        assert_eq!(app.update(Action::Quit), None);
        assert!(app.quit);
    }

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
