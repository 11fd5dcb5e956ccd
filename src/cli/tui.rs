//! `hrbridge tui` (the dashboard on the store, beside a daemon or on its own) and
//! `hrbridge run --tui` (the daemon on a thread, the dashboard in front). While the screen is
//! the dashboard's, logs go to `state_dir/hrbridge.log` (mode 0600) instead of stderr.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;
use std::thread;

use tokio::runtime::Handle;

use super::{load_all, Exit, LogFormat};
use crate::daemon;
use crate::engine::checks::{self, Checked};
use crate::kernel::stop::StopFlag;
use crate::profile::Profile;
use crate::settings::Settings;
use crate::tui;

/// File name of the log inside the state folder while a dashboard is open.
pub const LOG_FILE: &str = "hrbridge.log";

/// `hrbridge tui`.
pub fn run(config: Option<&Path>, format: LogFormat, verbose: u8, runtime: &Handle) -> Exit {
    let (settings, checked) = match load_all(config) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = log_to_file(&settings, format, verbose) {
        eprintln!("error: {e}");
        return Exit::Failed;
    }
    let profiles: Vec<Profile> = checked.iter().map(|c| c.profile.clone()).collect();
    let decider = tui::approvals::decider(settings.clone(), checked, runtime.clone());
    finish(tui::run(&settings, &profiles, None, decider))
}

/// `hrbridge run --tui`: the daemon runs until the dashboard quits (or a signal stops it),
/// then finishes the file in hand.
pub fn with_daemon(
    settings: &Settings,
    profiles: Vec<Checked>,
    format: LogFormat,
    verbose: u8,
    runtime: &Handle,
) -> Exit {
    if let Err(e) = log_to_file(settings, format, verbose) {
        eprintln!("error: {e}");
        return Exit::Failed;
    }
    let stop = StopFlag::new();
    let (daemon_settings, daemon_stop, rt) = (settings.clone(), stop.clone(), runtime.clone());
    let shown: Vec<Profile> = profiles.iter().map(|c| c.profile.clone()).collect();
    // The daemon holds the state, so a decision asks it for a pass; the dashboard's copy of
    // the profiles only names them (they loaded a moment ago, so they load again).
    let decisions = checks::load_profiles(settings).unwrap_or_default();
    let decider = tui::approvals::decider(settings.clone(), decisions, runtime.clone());
    let daemon = thread::Builder::new()
        .name("hrbridge-daemon".into())
        .spawn(move || daemon::run(&daemon_settings, profiles, daemon_stop, &rt));
    let daemon = match daemon {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("error: starting the daemon: {e}");
            return Exit::Failed;
        }
    };
    let dashboard = tui::run(settings, &shown, Some(&stop), decider);
    stop.stop();
    eprintln!("stopping the daemon: finishing the file in hand …");
    let daemon = match daemon.join() {
        Ok(Ok(_)) => Exit::Ok,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            Exit::Failed
        }
        Err(_) => {
            eprintln!(
                "error: the daemon thread panicked; see {}",
                log_path(settings)
            );
            Exit::Failed
        }
    };
    match finish(dashboard) {
        Exit::Ok => daemon,
        other => other,
    }
}

fn finish(outcome: Result<(), tui::TuiError>) -> Exit {
    match outcome {
        Ok(()) => Exit::Ok,
        Err(e @ tui::TuiError::NotATerminal) => {
            eprintln!("error: {e}");
            Exit::Usage
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failed
        }
    }
}

fn log_path(settings: &Settings) -> String {
    settings.state_dir.join(LOG_FILE).display().to_string()
}

/// Sends the log to `state_dir/hrbridge.log` (appended, created 0600).
fn log_to_file(settings: &Settings, format: LogFormat, verbose: u8) -> std::io::Result<()> {
    std::fs::create_dir_all(&settings.state_dir)?;
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(settings.state_dir.join(LOG_FILE))?;
    super::init_logging(format, verbose, Mutex::new(file), false);
    Ok(())
}
