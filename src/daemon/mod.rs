//! The long-running daemon (`hrbridge run` without `--once`): watches, schedules and polls,
//! carries out operator commands, and stops cleanly on a signal.
//!
//! Each profile gets one task that waits for its [`Trigger`] (file events through
//! [`watch`], a rescan or poll interval, or a cron schedule) or for an operator command, then
//! runs one engine pass (or a retry) on a blocking thread with its own store connection.
//! Because everything a profile does comes from its one task, a profile never runs two passes,
//! or a pass and a retry, at once; wake-ups that arrive during a pass leave a single permit, so
//! they cause exactly one follow-up pass. Files still settling are looked at again once their
//! settle time has passed. A failing pass is logged and the daemon goes on: one broken profile
//! does not stop the others.
//!
//! Operators (the dashboard, possibly another process) act through the store, which
//! [`commands`] polls every half second: `run` and `retry` requests go to their profile's task
//! and end `done` or `failed` with a one-line outcome and an audit event; a command for a
//! profile this daemon does not run fails at once. Commands left pending by a stopped daemon
//! are carried out after the next start's recovery. A paused profile finishes what it has in
//! hand but takes no new files, in every pass, across restarts; when it is resumed its task is
//! woken for a pass at once. The poller also refreshes the daemon's heartbeat every two
//! seconds and clears it on a clean stop.
//!
//! SIGINT or SIGTERM (or [`StopFlag::stop`] from an embedding program) stop new passes; a
//! pass in hand finishes the file it is on (the engine checks the flag between files), then
//! [`run`] returns.

pub mod commands;
pub mod watch;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::runtime::Handle;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, Notify};

use crate::engine::checks::Checked;
use crate::engine::runner::{lock_state, recover_all, run_pass, RunSummary};
use crate::engine::EngineError;
use crate::kernel::stop::StopFlag;
use crate::profile::schedule::{LastPass, Trigger};
use crate::settings::Settings;
use crate::source::dir::matcher;
use crate::source::open as source;
use crate::store::{CommandKind, CommandRow, JobStatus, Store};
use commands::{Poller, Route};
use watch::{Debouncer, Inbox, InboxWatcher};

/// Longest single sleep: timers are re-evaluated at least this often, so a cron schedule
/// follows wall-clock changes and a missing inbox folder is watched soon after it appears.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// What the daemon did before it stopped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DaemonReport {
    /// Passes run, over every profile.
    pub passes: u64,
    /// Jobs run (every status).
    pub jobs: u64,
    /// Jobs that failed.
    pub failed_jobs: u64,
    /// Passes that ended in an error of the machinery (logged, then the daemon went on).
    pub pass_errors: u64,
}

impl DaemonReport {
    fn add(&mut self, other: &DaemonReport) {
        self.passes += other.passes;
        self.jobs += other.jobs;
        self.failed_jobs += other.failed_jobs;
        self.pass_errors += other.pass_errors;
    }
}

/// What every profile task shares.
struct Shared {
    settings: Settings,
    /// The runtime the daemon runs on; its passes, on blocking threads, drive their SFTP
    /// sessions and API deliveries on it.
    runtime: Handle,
    /// Set once the daemon is stopping.
    stop: StopFlag,
    /// When the daemon started (the anchor of cron schedules before their first pass).
    since: DateTime<Utc>,
}

/// Runs every profile until SIGINT/SIGTERM or `stop`, holding the state folder's lock the
/// whole time. Fails before running anything when the lock is held by another process, a
/// profile's schedule keys are wrong, or the signal handlers cannot be set up. Runs on
/// `runtime` (a multi-thread one: passes drive their network work on it from blocking
/// threads).
pub fn run(
    settings: &Settings,
    profiles: Vec<Checked>,
    stop: StopFlag,
    runtime: &Handle,
) -> Result<DaemonReport, EngineError> {
    let _lock = lock_state(settings)?;
    let mut triggers = Vec::with_capacity(profiles.len());
    for Checked { profile, .. } in &profiles {
        let trigger = Trigger::of(profile)
            .map_err(|problems| EngineError::problems(&profile.name, &problems))?;
        triggers.push(trigger);
    }
    let store = Store::open(&settings.state_dir)?;
    let recovered = recover_all(settings, &profiles, &store, &stop, runtime)?;
    if recovered > 0 {
        tracing::info!(recovered, "unfinished jobs of an earlier run recovered");
    }
    drop(store);
    runtime.block_on(serve(settings, profiles, triggers, stop))
}

/// The daemon inside its runtime.
async fn serve(
    settings: &Settings,
    profiles: Vec<Checked>,
    triggers: Vec<Trigger>,
    stop: StopFlag,
) -> Result<DaemonReport, EngineError> {
    let mut signals = stop_on_signals(stop.clone())?;
    let shared = Arc::new(Shared {
        settings: settings.clone(),
        runtime: Handle::current(),
        stop: stop.clone(),
        since: Utc::now(),
    });

    let wakes: Vec<Arc<Notify>> = profiles.iter().map(|_| Arc::new(Notify::new())).collect();
    let (routes, queues): (Vec<Route>, Vec<_>) = profiles
        .iter()
        .zip(&wakes)
        .map(|(checked, wake)| {
            let (commands, queue) = mpsc::unbounded_channel();
            let route = Route {
                profile: checked.profile.name.clone(),
                commands,
                wake: wake.clone(),
            };
            (route, queue)
        })
        .unzip();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let mut watcher = InboxWatcher::new(inboxes(settings, &profiles, &triggers), event_tx)
        .map_err(|e| EngineError::io("starting the file watcher".into(), io_error(e)))?;
    warn_unwatched(&mut watcher);
    let forwarder = tokio::spawn(watch::forward(
        event_rx,
        Debouncer::new(watch::QUIET, watch::MAX_DELAY),
        wakes.clone(),
        stop.clone(),
    ));

    // Commands routed before the tasks start wait in their queues.
    let started_at = shared.since.to_rfc3339_opts(SecondsFormat::Millis, true);
    let poller = Poller::start(
        settings.state_dir.clone(),
        routes,
        started_at,
        Handle::current(),
    )
    .map_err(|e| EngineError::io("starting the command poller".into(), e))?;
    let tasks: Vec<_> = profiles
        .into_iter()
        .zip(triggers)
        .zip(wakes.into_iter().zip(queues))
        .map(|((checked, trigger), (wake, queue))| {
            tokio::spawn(profile_loop(shared.clone(), checked, trigger, wake, queue))
        })
        .collect();
    tracing::info!(
        profiles = tasks.len(),
        state_dir = %settings.state_dir.display(),
        "daemon started"
    );

    // Until a signal (or the caller) stops us, re-try watches on inbox folders that did not
    // exist yet.
    loop {
        tokio::select! {
            _ = &mut signals => break,
            () = tokio::time::sleep(MAX_SLEEP) => warn_unwatched(&mut watcher),
        }
    }
    tracing::info!("stopping: no new passes; finishing the file in hand");
    let mut report = DaemonReport::default();
    for task in tasks {
        match task.await {
            Ok(tally) => report.add(&tally),
            Err(e) => tracing::error!(error = %e, "a profile task ended abnormally"),
        }
    }
    drop(watcher);
    let _ = forwarder.await;
    poller.stop();
    tracing::info!(
        passes = report.passes,
        jobs = report.jobs,
        failed_jobs = report.failed_jobs,
        pass_errors = report.pass_errors,
        "daemon stopped"
    );
    Ok(report)
}

/// A task that completes (after setting `stop`) on the first SIGINT or SIGTERM, or once
/// `stop` is set by someone else; a second signal exits at once.
fn stop_on_signals(stop: StopFlag) -> Result<tokio::task::JoinHandle<()>, EngineError> {
    let handler = |kind, name| {
        signal(kind).map_err(|e| EngineError::io(format!("installing the {name} handler"), e))
    };
    let mut term = handler(SignalKind::terminate(), "SIGTERM")?;
    let mut int = handler(SignalKind::interrupt(), "SIGINT")?;
    Ok(tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
            () = stop.stopped() => {}
        }
        stop.stop();
        // A second signal means "now": unfinished jobs are recovered on the next start.
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::warn!(
                "second signal: exiting at once; the job in hand is recovered on the next start"
            );
            std::process::exit(130);
        });
    }))
}

/// The inbox folders of the profiles that react to file events.
fn inboxes(settings: &Settings, profiles: &[Checked], triggers: &[Trigger]) -> Vec<Inbox> {
    profiles
        .iter()
        .map(|c| &c.profile)
        .zip(triggers)
        .enumerate()
        .filter(|(_, (_, t))| t.watches_inbox())
        .filter_map(|(i, (p, _))| {
            let spec = source::open(&p.source).inbox()?;
            match matcher(&spec.pattern) {
                Ok(pattern) => Some(Inbox {
                    profile: i,
                    dir: settings.resolve_path(&spec.path),
                    pattern,
                    done_marker: spec.done_marker.clone(),
                }),
                Err(e) => {
                    // `check` refuses such a profile; its passes report it too.
                    tracing::warn!(profile = %p.name, error = %e, "inbox not watched");
                    None
                }
            }
        })
        .collect()
}

/// Adds missing watches; a folder that cannot be watched is still rescanned every `poll`.
fn warn_unwatched(watcher: &mut InboxWatcher) {
    for (dir, e) in watcher.watch_missing() {
        tracing::warn!(
            inbox = %dir.display(),
            error = %e,
            "cannot watch inbox folder; relying on the periodic rescan"
        );
    }
}

fn io_error(e: notify::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// What a profile task was woken for.
enum Wake {
    /// A pass is due (timer, file event, settle re-check, resume).
    Pass,
    /// An operator command.
    Command(CommandRow),
    /// The daemon is stopping.
    Stop,
}

/// One profile's life in the daemon: wait for a trigger or a command, run a pass (or a
/// retry), repeat until shutdown.
async fn profile_loop(
    shared: Arc<Shared>,
    checked: Checked,
    trigger: Trigger,
    wake: Arc<Notify>,
    mut queue: mpsc::UnboundedReceiver<CommandRow>,
) -> DaemonReport {
    let settle = source::open(&checked.profile.source).recheck_after();
    let checked = Arc::new(checked);
    let mut tally = DaemonReport::default();
    let mut last: Option<LastPass> = None;
    let mut recheck: Option<Instant> = None;
    loop {
        // Wait for the first of: a timed pass, a settle re-check, a file event, a command,
        // shutdown.
        let woken = loop {
            let timed = trigger.due_in(last.as_ref(), shared.since, Utc::now());
            let settling = recheck.map(|at| at.saturating_duration_since(Instant::now()));
            let due = match (timed, settling) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(MAX_SLEEP),
            };
            if due.is_zero() {
                break Wake::Pass;
            }
            tokio::select! {
                biased;
                () = shared.stop.stopped() => break Wake::Stop,
                Some(command) = queue.recv() => break Wake::Command(command),
                () = wake.notified() => break Wake::Pass,
                () = tokio::time::sleep(due.min(MAX_SLEEP)) => {}
            }
        };
        if shared.stop.is_stopped() {
            return tally;
        }
        let started = Utc::now();
        let summary = match woken {
            Wake::Stop => return tally,
            Wake::Pass => pass(&shared, &checked, None).await,
            Wake::Command(command) => match command.kind {
                CommandKind::Run => pass(&shared, &checked, Some(command)).await,
                CommandKind::Retry => {
                    retry_command(&shared, &checked, command).await;
                    continue;
                }
            },
        };
        last = Some(LastPass {
            started,
            ended: Instant::now(),
        });
        tally.passes += 1;
        recheck = match summary {
            Some(summary) => {
                tally.jobs += summary.jobs.len() as u64;
                tally.failed_jobs += count(&summary, JobStatus::Failed) as u64;
                settle
                    .filter(|_| !summary.waiting.is_empty())
                    .map(|after| Instant::now() + after)
            }
            None => {
                tally.pass_errors += 1;
                None
            }
        };
    }
}

/// Why work on a blocking thread came to nothing.
#[derive(Debug, thiserror::Error)]
enum WorkError {
    #[error(transparent)]
    Failed(#[from] EngineError),
    /// It panicked (or was cancelled).
    #[error("ended abnormally: {0}")]
    Aborted(tokio::task::JoinError),
}

/// Runs `work` for a profile on a blocking thread with its own store connection; an error,
/// or a panic, comes back as a [`WorkError`].
async fn on_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    checked: &Arc<Checked>,
    work: impl FnOnce(&Shared, &Checked, &Store) -> Result<T, EngineError> + Send + 'static,
) -> Result<T, WorkError> {
    let (sh, pr) = (shared.clone(), checked.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        let store = Store::open(&sh.settings.state_dir)?;
        work(&sh, &pr, &store)
    })
    .await;
    match outcome {
        Ok(result) => Ok(result?),
        Err(e) => Err(WorkError::Aborted(e)),
    }
}

/// Runs one pass of a profile (answering `command`, a `run` request, if given) and logs what
/// it did; `None` when it failed (logged).
async fn pass(
    shared: &Arc<Shared>,
    checked: &Arc<Checked>,
    command: Option<CommandRow>,
) -> Option<RunSummary> {
    let profile = &checked.profile;
    let outcome = on_store(shared, checked, move |sh, pr, store| {
        let mut summary = RunSummary::default();
        let result = run_pass(&sh.settings, pr, store, &sh.stop, &sh.runtime, &mut summary)
            .map(|()| summary);
        if let Some(command) = &command {
            commands::answer(store, command, &commands::ran(&pr.profile.name, &result));
        }
        result
    })
    .await;
    match outcome {
        Ok(summary) => {
            log_pass(&profile.name, &summary);
            Some(summary)
        }
        Err(e) => {
            tracing::error!(profile = %profile.name, error = %e, "pass failed; will try again");
            None
        }
    }
}

/// Carries out a `retry` request for a job of a profile.
async fn retry_command(shared: &Arc<Shared>, checked: &Arc<Checked>, command: CommandRow) {
    let id = command.id;
    let outcome = on_store(shared, checked, move |sh, pr, store| {
        let outcome = commands::retry_job(
            &sh.settings,
            pr,
            store,
            &sh.stop,
            &sh.runtime,
            command.job_id,
        );
        commands::answer(store, &command, &outcome);
        Ok(())
    })
    .await;
    if let Err(e) = outcome {
        tracing::error!(profile = %checked.profile.name, command = id, error = %e, "retry could not run; it stays pending until the next start");
    }
}

/// One info line per pass that did something (debug otherwise), a warning per failed job.
fn log_pass(profile: &str, summary: &RunSummary) {
    for job in summary
        .jobs
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
    {
        tracing::warn!(
            profile,
            job = job.job_id,
            file = %job.file,
            error = job.error.as_deref().unwrap_or(""),
            "job failed"
        );
    }
    for (_, name, reason) in &summary.refused {
        tracing::warn!(profile, file = ?name, reason = %reason, "inbox entry refused");
    }
    if summary.jobs.is_empty() && summary.refused.is_empty() && summary.recovered == 0 {
        tracing::debug!(
            profile,
            waiting = summary.waiting.len(),
            paused = !summary.paused.is_empty(),
            "pass done, nothing taken"
        );
        return;
    }
    tracing::info!(
        profile,
        jobs = summary.jobs.len(),
        succeeded = count(summary, JobStatus::Succeeded),
        partial = count(summary, JobStatus::Partial),
        failed = count(summary, JobStatus::Failed),
        duplicate = count(summary, JobStatus::Duplicate),
        rows_read = summary.jobs.iter().map(|j| j.counts.read).sum::<u64>(),
        rows_written = summary.jobs.iter().map(|j| j.counts.written).sum::<u64>(),
        waiting = summary.waiting.len(),
        refused = summary.refused.len(),
        recovered = summary.recovered,
        "pass done"
    );
}

/// Jobs of the pass that ended in `status`.
fn count(summary: &RunSummary, status: JobStatus) -> usize {
    summary.jobs.iter().filter(|j| j.status == status).count()
}
