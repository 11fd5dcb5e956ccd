//! Operator commands in the daemon: a poller that hands queued commands to the task of their
//! profile, wakes a profile that was resumed, and keeps the daemon's heartbeat; and what a
//! command comes to once that task has carried it out.
//!
//! The dashboard may run in another process, so it reaches the daemon through the store
//! only: a `run` or `retry` request is a row in `commands`, a pause a row in
//! `paused_profiles`. The poller reads them every [`POLL`] on its own thread (SQLite calls
//! block) and routes each pending command, once, to its profile's task, which runs it between
//! its passes: a profile never has two passes, or a pass and a retry, at once. A command for a
//! profile this daemon does not run is answered here, as failed. Outcomes are one PII-free
//! line: counts, statuses and engine errors (which mask cell values) only.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{mpsc, Notify};

use crate::engine::checks::Checked;
use crate::engine::event::Event;
use crate::engine::job::JobReport;
use crate::engine::retry::{retry, RetryReport};
use crate::engine::runner::{in_context, RunSummary};
use crate::engine::EngineError;
use crate::kernel::stop::StopFlag;
use crate::settings::Settings;
use crate::store::{CommandRow, Store, StoreError};

/// How often the store is read for new commands and resumed profiles.
pub const POLL: Duration = Duration::from_millis(500);

/// How often the heartbeat is refreshed.
pub const BEAT: Duration = Duration::from_secs(2);

/// Where the poller sends one profile's commands and wake-ups.
pub struct Route {
    /// The profile's name.
    pub profile: String,
    /// The profile task's command queue.
    pub commands: mpsc::UnboundedSender<CommandRow>,
    /// Wakes the profile task for a pass.
    pub wake: Arc<Notify>,
}

/// The poller thread; [`Poller::stop`] ends it and clears the heartbeat. It has a stop flag
/// of its own: it keeps beating while the daemon's tasks finish the files in hand.
pub struct Poller {
    stop: StopFlag,
    thread: JoinHandle<()>,
}

impl Poller {
    /// Starts polling the store in `state_dir` for the profiles of `routes`, with heartbeats
    /// of this process, started at `started_at` (RFC 3339 UTC); it waits between rounds on
    /// `runtime`.
    pub fn start(
        state_dir: PathBuf,
        routes: Vec<Route>,
        started_at: String,
        runtime: Handle,
    ) -> std::io::Result<Poller> {
        let stop = StopFlag::new();
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("hrbridge-commands".into())
            .spawn(move || {
                let polling = Polling::new(routes, started_at);
                poll(&state_dir, polling, || {
                    runtime.block_on(stopped.sleep(POLL))
                });
            })?;
        Ok(Poller { stop, thread })
    }

    /// Ends the poller once its current round is done; the heartbeat is cleared.
    pub fn stop(self) {
        self.stop.stop();
        if self.thread.join().is_err() {
            tracing::error!("the command poller ended abnormally");
        }
    }
}

/// The poller's loop: a round, then `pause` (which is true once the poller is stopped).
fn poll(state_dir: &std::path::Path, mut polling: Polling, mut pause: impl FnMut() -> bool) {
    let mut store = None;
    let mut last_error = None;
    loop {
        let round = match &store {
            Some(store) => polling.round(store),
            None => Store::open(state_dir).map(|opened| store = Some(opened)),
        };
        match round {
            Ok(()) => last_error = None,
            Err(e) => {
                let message = e.to_string();
                // Once per distinct problem, not every half second.
                if last_error.as_ref() != Some(&message) {
                    tracing::warn!(error = %message, "reading operator commands failed; trying again");
                    last_error = Some(message);
                }
            }
        }
        if pause() {
            break;
        }
    }
    if let Some(store) = store {
        if let Err(e) = store.daemon_gone() {
            tracing::warn!(error = %e, "could not clear the daemon's heartbeat");
        }
    }
}

/// What the poller remembers between rounds.
struct Polling {
    routes: Vec<Route>,
    started_at: String,
    /// Pending commands already handed to a task (until they are no longer pending).
    sent: HashSet<i64>,
    /// Whether each route's profile was paused at the last round (`None` before the first).
    paused: Vec<Option<bool>>,
    next_beat: Instant,
}

impl Polling {
    fn new(routes: Vec<Route>, started_at: String) -> Polling {
        Polling {
            paused: vec![None; routes.len()],
            routes,
            started_at,
            sent: HashSet::new(),
            next_beat: Instant::now(),
        }
    }

    /// One round: heartbeat when due, wake resumed profiles, route new commands.
    fn round(&mut self, store: &Store) -> Result<(), StoreError> {
        if Instant::now() >= self.next_beat {
            store.daemon_beat(std::process::id(), &self.started_at)?;
            self.next_beat = Instant::now() + BEAT;
        }
        for (route, was) in self.routes.iter().zip(self.paused.iter_mut()) {
            let paused = store.pause_of(&route.profile)?;
            match (*was, &paused) {
                (Some(true), None) => {
                    tracing::info!(profile = %route.profile, "profile resumed; looking for files now");
                    route.wake.notify_one();
                }
                (Some(false) | None, Some(pause)) => tracing::info!(
                    profile = %route.profile,
                    by = %pause.by,
                    since = %pause.at,
                    "profile paused; it takes no new files until resumed"
                ),
                _ => {}
            }
            *was = Some(paused.is_some());
        }
        let pending = store.pending_commands()?;
        self.sent.retain(|id| pending.iter().any(|c| c.id == *id));
        for command in pending {
            if self.sent.contains(&command.id) {
                continue;
            }
            let id = command.id;
            match self.routes.iter().find(|r| r.profile == command.profile) {
                // A closed queue means the daemon is stopping: the command stays pending for
                // the next start.
                Some(route) => {
                    if route.commands.send(command).is_ok() {
                        self.sent.insert(id);
                    }
                }
                None => {
                    let outcome = Outcome::failed(format!(
                        "profile {} is not run by this daemon (unknown, or left out with --profile)",
                        command.profile
                    ));
                    finish(store, &command, &outcome)?;
                }
            }
        }
        Ok(())
    }
}

/// What came of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `done` (true) or `failed`.
    pub ok: bool,
    /// One PII-free line.
    pub text: String,
}

impl Outcome {
    fn done(text: String) -> Outcome {
        Outcome { ok: true, text }
    }

    fn failed(text: String) -> Outcome {
        Outcome { ok: false, text }
    }
}

/// Marks `command` finished with `outcome` and audits it.
fn finish(store: &Store, command: &CommandRow, outcome: &Outcome) -> Result<(), StoreError> {
    store.finish_command(command.id, outcome.ok, &outcome.text)?;
    Event::CommandFinished {
        command: command.id,
        action: command.kind.as_str(),
        job_id: command.job_id,
        ok: outcome.ok,
        outcome: &outcome.text,
    }
    .emit(store, &command.profile)
}

/// [`finish`], logging instead of failing: the work is done whatever the store says now.
pub fn answer(store: &Store, command: &CommandRow, outcome: &Outcome) {
    if let Err(e) = finish(store, command, outcome) {
        tracing::error!(command = command.id, error = %e, "could not record a command's outcome");
    }
}

/// The outcome of a `run` command from its pass of `profile`.
pub fn ran(profile: &str, pass: &Result<RunSummary, EngineError>) -> Outcome {
    match pass {
        Ok(summary) if !summary.paused.is_empty() => {
            Outcome::failed(format!("profile {profile} is paused; resume it first"))
        }
        Ok(summary) => Outcome::done(describe(summary)),
        Err(e) => Outcome::failed(e.to_string()),
    }
}

/// `2 job(s): 1 succeeded, 1 failed; 1 file(s) still being written`.
fn describe(summary: &RunSummary) -> String {
    let mut text = format!("{} job(s): ", summary.jobs.len());
    if summary.jobs.is_empty() {
        text.push_str("no files ready");
    } else {
        text.push_str(&tally(&summary.jobs));
    }
    for (n, what) in [
        (summary.waiting.len(), "file(s) still being written"),
        (summary.refused.len(), "file(s) refused"),
        (summary.recovered, "unfinished job(s) recovered"),
    ] {
        if n > 0 {
            text.push_str(&format!("; {n} {what}"));
        }
    }
    text
}

/// How many of `jobs` ended in each status, in the order first met: `1 succeeded, 1 failed`.
pub fn tally(jobs: &[JobReport]) -> String {
    let mut statuses: Vec<(&str, usize)> = Vec::new();
    for job in jobs {
        let status = job.status.as_str();
        match statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => statuses.push((status, 1)),
        }
    }
    let counts: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
    counts.join(", ")
}

/// Carries out a `retry` of job `job_id`, which must belong to the `checked` profile.
pub fn retry_job(
    settings: &Settings,
    checked: &Checked,
    store: &Store,
    stop: &StopFlag,
    runtime: &Handle,
    job_id: Option<i64>,
) -> Outcome {
    let profile = &checked.profile;
    let Some(job_id) = job_id else {
        return Outcome::failed("the retry names no job".into());
    };
    match store.job(job_id) {
        Ok(Some(job)) if job.profile != profile.name => {
            return Outcome::failed(format!(
                "job {job_id} belongs to profile {}, not {}",
                job.profile, profile.name
            ))
        }
        Ok(Some(_)) => {}
        Ok(None) => return Outcome::failed(format!("there is no job {job_id}")),
        Err(e) => return Outcome::failed(e.to_string()),
    }
    match in_context(settings, checked, store, stop, runtime, |ctx| {
        retry(ctx, job_id)
    }) {
        Ok(report) => {
            let mut text = retried(&report);
            if let Some(e) = &report.error {
                text.push_str(&format!("; {e}"));
            }
            Outcome::done(text)
        }
        Err(e) => Outcome::failed(e.to_string()),
    }
}

/// `sent 2 row(s) again; now succeeded, 0 row(s) still failed`: what a retry did, as a retry
/// command's outcome and `hrbridge retry` say it.
pub fn retried(report: &RetryReport) -> String {
    format!(
        "sent {} row(s) again; now {}, {} row(s) still failed",
        report.rows,
        report.status.as_str(),
        report.failed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::control;
    use crate::store::{AuditFilter, CommandKind, CommandState, JobStatus, Toward};

    fn route(profile: &str) -> (Route, mpsc::UnboundedReceiver<CommandRow>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let route = Route {
            profile: profile.into(),
            commands: tx,
            wake: Arc::new(Notify::new()),
        };
        (route, rx)
    }

    /// Whether `wake` holds a permit (a pass was asked for).
    fn woken(wake: &Notify) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(20), wake.notified())
                .await
                .is_ok()
        })
    }

    #[test]
    fn commands_go_once_to_their_profile_and_unknown_profiles_fail() {
        let store = Store::open_in_memory().unwrap();
        let (payroll, mut queue) = route("payroll");
        let mut polling = Polling::new(vec![payroll], "2026-01-01T00:00:00.000Z".into());
        let run = control::request(&store, CommandKind::Run, "payroll", None, "alice").unwrap();
        let stray = control::request(&store, CommandKind::Run, "lms", None, "bob").unwrap();

        polling.round(&store).unwrap();
        polling.round(&store).unwrap();
        assert_eq!(queue.try_recv().unwrap().id, run);
        assert!(queue.try_recv().is_err(), "a command was routed twice");
        let failed = store.command(stray).unwrap().unwrap();
        assert_eq!(failed.state, CommandState::Failed);
        assert!(failed
            .outcome
            .unwrap()
            .contains("profile lms is not run by this daemon"),);
        assert_eq!(
            store.command(run).unwrap().unwrap().state,
            CommandState::Pending
        );
        let beat = store.daemon_heartbeat().unwrap().unwrap();
        assert_eq!(beat.pid, std::process::id());
        let trail = store
            .audit_range(&AuditFilter::default(), 1, 100, Toward::Newer, 100)
            .unwrap();
        assert!(trail.iter().any(|e| e.kind == "command.failed"));
    }

    #[test]
    fn a_resumed_profile_is_woken_once() {
        let store = Store::open_in_memory().unwrap();
        let (payroll, _queue) = route("payroll");
        let wake = payroll.wake.clone();
        let mut polling = Polling::new(vec![payroll], String::new());
        control::pause(&store, "payroll", "alice").unwrap();
        polling.round(&store).unwrap();
        assert!(!woken(&wake));
        control::resume(&store, "payroll", "alice").unwrap();
        polling.round(&store).unwrap();
        assert!(woken(&wake));
        polling.round(&store).unwrap();
        assert!(!woken(&wake), "woken again without a new resume");
    }

    #[test]
    fn run_outcomes_count_jobs_by_status_and_refuse_paused_profiles() {
        let mut summary = RunSummary::default();
        assert_eq!(
            ran("payroll", &Ok(RunSummary::default())),
            Outcome::done("0 job(s): no files ready".into())
        );
        for status in [
            JobStatus::Succeeded,
            JobStatus::Failed,
            JobStatus::Succeeded,
        ] {
            summary.jobs.push(crate::engine::job::JobReport {
                job_id: 1,
                profile: "payroll".into(),
                file: "a.csv".into(),
                status,
                counts: Default::default(),
                outputs: Vec::new(),
                kept_at: PathBuf::new(),
                error: None,
            });
        }
        summary.waiting.push(("payroll".into(), "b.csv".into()));
        assert_eq!(
            ran("payroll", &Ok(summary)).text,
            "3 job(s): 2 succeeded, 1 failed; 1 file(s) still being written"
        );
        let paused = RunSummary {
            paused: vec![crate::store::Pause {
                profile: "payroll".into(),
                by: "alice".into(),
                at: "2026-01-01T00:00:00.000Z".into(),
            }],
            ..RunSummary::default()
        };
        assert_eq!(
            ran("payroll", &Ok(paused)),
            Outcome::failed("profile payroll is paused; resume it first".into())
        );
    }

    #[test]
    fn retry_outcome_reads_like_the_cli() {
        let report = RetryReport {
            rows: 2,
            status: JobStatus::Succeeded,
            failed: 0,
            error: None,
        };
        assert_eq!(
            retried(&report),
            "sent 2 row(s) again; now succeeded, 0 row(s) still failed"
        );
    }
}
