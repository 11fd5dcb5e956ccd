//! The operator's dashboard: `hrbridge tui` beside a running daemon (or on the history
//! alone), and `hrbridge run --tui` with the daemon in the same process.
//!
//! Shaped like the ratatui component template: [`action`] says what a key means, [`app`] is
//! the state and what an action does to it, [`draw`] paints it, and [`run`] is the loop that
//! turns terminal events into actions, carries out the store work they leave, and refreshes
//! on clock ticks; a terminal that hung up ends it ([`input`]). Lists page through the store
//! ([`window`], [`feeds`]), a job's row opens the person's [`trace`], held lifecycle jobs
//! wait for a decision in [`approvals`]; the
//! audit chain check and the day's totals run on a thread ([`background`]). The dashboard reads
//! the store through its own connection (SQLite WAL lets the daemon write meanwhile) and
//! changes it only through the audited operator actions of [`crate::engine::control`] and
//! the decisions of [`crate::engine::approval`].

pub mod action;
pub mod app;
pub mod approvals;
pub mod background;
pub mod detail;
pub mod draw;
pub mod feeds;
pub mod filter;
pub mod input;
pub mod profiles;
pub mod theme;
pub mod trace;
pub mod window;

use std::io::{self, Write};
use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::crossterm::{cursor, execute};

use crate::kernel::stop::StopFlag;
use crate::profile::Profile;
use crate::settings::Settings;
use crate::store::{Store, StoreError};
use app::{App, Level};
use theme::Theme;

/// How often the dashboard looks for new jobs and events without a key press.
const REFRESH: Duration = Duration::from_millis(500);

/// A stop flag that SIGTERM (`kill`) and SIGHUP (a closed SSH session) set, so that they end
/// `hrbridge tui` like `q`, with the terminal restored, instead of leaving it in raw mode.
/// (With `run --tui` the daemon's handlers set the daemon's flag instead.)
fn quit_on_signals() -> io::Result<StopFlag> {
    let stop = StopFlag::new();
    stop.set_on_signals(&[libc::SIGTERM, libc::SIGHUP])?;
    Ok(stop)
}

/// What stops the dashboard from starting.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("the dashboard needs a terminal: standard output is not one")]
    NotATerminal,
    #[error("terminal: {0}")]
    Terminal(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs the dashboard on the store of `settings` until the operator quits or `stop` is set
/// (by the daemon's signal handler in `run --tui`); `decider` approves and rejects held
/// jobs (see [`approvals::decider`]). The terminal is restored on return and
/// on panic.
pub fn run(
    settings: &Settings,
    profiles: &[Profile],
    stop: Option<&StopFlag>,
    decider: approvals::Decider,
) -> Result<(), TuiError> {
    if !io::IsTerminal::is_terminal(&io::stdout()) {
        return Err(TuiError::NotATerminal);
    }
    let store = Store::open(&settings.state_dir)?;
    let shown_dir = settings.state_dir.display().to_string();
    let mut app = App::new(profiles, shown_dir, stop.is_some());
    app.decider = Some(decider);
    app.refresh(&store, Utc::now())?;
    // The first screen has its totals; later ones come from the background thread.
    app.apply(background::totals(&store, Utc::now())?);
    let background = background::Background::start(settings.state_dir.clone());
    let theme = Theme::from_env();
    let stop = match stop {
        Some(stop) => stop.clone(),
        None => quit_on_signals()?,
    };
    let mut terminal = ratatui::try_init()?;
    let outcome = event_loop(&mut terminal, &mut app, &store, &background, theme, &stop);
    ratatui::restore();
    let _ = execute!(io::stdout(), cursor::Show);
    outcome
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    store: &Store,
    background: &background::Background,
    theme: Theme,
    stop: &StopFlag,
) -> Result<(), TuiError> {
    let mut next_refresh = Instant::now() + REFRESH;
    loop {
        for update in background.updates() {
            app.apply(update);
        }
        // One synchronized update per frame: terminals that support it show it at once.
        execute!(io::stdout(), BeginSynchronizedUpdate)?;
        terminal.draw(|frame| draw::draw(frame, app, theme))?;
        execute!(io::stdout(), EndSynchronizedUpdate)?;
        io::stdout().flush()?;
        if app.quit || stop.is_stopped() {
            return Ok(());
        }
        let stepped = app.step(store);
        let more = report(app, stepped).unwrap_or(false);
        let wait = if more {
            Duration::ZERO
        } else {
            next_refresh.saturating_duration_since(Instant::now())
        };
        // A terminal that hung up reads as end-of-file for ever: the dashboard ends.
        if input::hung_up() {
            return Ok(());
        }
        if event::poll(wait)? {
            if let Event::Key(key) = event::read()? {
                if key.kind == KeyEventKind::Press {
                    let effect = action::keymap(app.mode(), key).and_then(|a| app.update(a));
                    if let Some(effect) = effect {
                        let done = app.carry_out(store, effect);
                        report(app, done);
                    }
                }
            }
        }
        if Instant::now() >= next_refresh {
            let refreshed = app.refresh(store, Utc::now());
            report(app, refreshed);
            next_refresh = Instant::now() + REFRESH;
        }
    }
}

/// Shows a store error on the status line instead of leaving the dashboard: a busy or
/// briefly unreadable database should not end an operator's session.
fn report<T>(app: &mut App, outcome: Result<T, StoreError>) -> Option<T> {
    match outcome {
        Ok(v) => Some(v),
        Err(e) => {
            app.message = Some((Level::Error, e.to_string()));
            None
        }
    }
}
