//! The command line: argument definitions, and one module per command.
//!
//! Arguments are parsed here; each command module loads what it needs (settings, profiles,
//! store) and returns an [`Exit`]. Exit codes: 0 all good, 1 a job or check failed, 2 usage or
//! configuration error.

mod approve;
mod audit;
mod changes;
mod check;
mod demo;
mod jobs;
mod keygen;
mod known_hosts;
mod plan;
mod preview;
mod queue;
mod retry;
mod run;
mod secrets;
pub mod table;
mod trace;
mod transfers;
mod tui;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::engine::approval::Decision;
use crate::engine::checks::{self, Checked};
use crate::profile::{load, Diagnostic};
use crate::settings::Settings;

/// hrbridge: export files from HR systems in, validated records out, every step audited.
#[derive(Debug, Parser)]
#[command(name = "hrbridge", version, about)]
pub struct Cli {
    /// Settings file (default: ./hrbridge.toml if present, else built-in defaults).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate hrbridge.toml and every profile; report all problems.
    Check,
    /// Run as a daemon (watches, polls, schedules); with --once, one pass over what is waiting.
    Run {
        /// One pass over what is waiting, then exit.
        #[arg(long)]
        once: bool,
        /// Only these profiles (repeatable).
        #[arg(long = "profile", value_name = "NAME")]
        profiles: Vec<String>,
        /// Show the dashboard while the daemon runs (quitting it stops the daemon).
        #[arg(long, conflicts_with = "once")]
        tui: bool,
    },
    /// The operator's dashboard: jobs, errors, audit trail, profiles; run, retry, pause.
    Tui,
    /// Show how a file would be mapped, with PII masked; writes and sends nothing.
    Preview {
        #[arg(long, value_name = "NAME")]
        profile: String,
        /// Mapped rows to show.
        #[arg(long, default_value_t = 20)]
        rows: usize,
        file: PathBuf,
    },
    /// What a roster file would change for a [lifecycle] profile: joiners, movers, leavers,
    /// rehires, and whether a safeguard would hold it; PII masked, writes and sends nothing.
    Plan {
        #[arg(long, value_name = "NAME")]
        profile: String,
        #[arg(long)]
        json: bool,
        file: PathBuf,
    },
    /// The plan a lifecycle job recorded: its counts and every person's change.
    Changes {
        /// The job, as `hrbridge jobs` lists it.
        job: i64,
        #[arg(long)]
        json: bool,
    },
    /// The lifecycle changes that wait for their effective date.
    Queue {
        #[arg(long)]
        json: bool,
    },
    /// Let a held lifecycle job deliver exactly the plan it was held with.
    Approve {
        /// The held job, as `hrbridge jobs` lists it.
        job: i64,
    },
    /// Drop a held lifecycle job: nothing is sent, its input goes to error/, the snapshot
    /// stays.
    Reject {
        /// The held job, as `hrbridge jobs` lists it.
        job: i64,
    },
    /// Recent jobs and their counts.
    Jobs {
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
        /// How many jobs, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Show one job with its outputs and rejected rows.
        #[arg(long, value_name = "ID")]
        job: Option<i64>,
    },
    /// Every row of every file that carried one person's key, newest first, and what became
    /// of it: filtered, rejected (column and reason), or at each output published, delivered
    /// (HTTP status, remote id) or failed.
    Trace {
        /// The value of the profile's key field(s); the parts of a composite key joined by
        /// " / ".
        key: String,
        /// Only this profile's jobs.
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Send again the rows a job's API outputs could not deliver (only those).
    Retry {
        /// The job, as `hrbridge jobs` lists it.
        job: i64,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        action: Option<AuditAction>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
        /// Only the newest N events.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// A self-contained tour on the bundled fixtures, in var/demo.
    Demo,
    /// Write a new age identity (0600) and print its public recipient.
    Keygen {
        /// Where the identity goes (default: keys/hrbridge.key beside hrbridge.toml).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// The encrypted secrets store that `${secret:NAME}` reads.
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
    /// Trust SSH host keys (an explicit operator step; unknown keys are always refused).
    KnownHosts {
        #[command(subcommand)]
        action: KnownHostsAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum KnownHostsAction {
    /// Show a server's host key fingerprint and, once confirmed, add it to known_hosts.
    Add {
        /// HOST or HOST:PORT.
        target: String,
        /// The known_hosts file (default: the one the profiles use for this host).
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Add without asking if, and only if, the server offers this fingerprint.
        #[arg(long, value_name = "SHA256:...")]
        fingerprint: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsAction {
    /// Store a secret (or replace it); the value is read from stdin, or typed at a prompt
    /// that does not echo — never given on the command line.
    Set {
        /// Letters, digits, `_`, `-` and `.`, as in `${secret:NAME}`.
        name: String,
    },
    /// The names of the stored secrets (never their values).
    List,
    /// Remove a secret.
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the hash chain; report the first edited, deleted or reordered event. With a
    /// head kept earlier, also that the trail still holds it (its tail was not cut).
    Verify {
        /// A head hash kept earlier (`audit head` prints it; `SEQ:HASH` is taken too).
        #[arg(long, value_name = "HASH", conflicts_with = "expect_file")]
        expect: Option<String>,
        /// A file of signed heads (`audit head --sign`, or `audit_head_file`): its last one.
        #[arg(long, value_name = "FILE")]
        expect_file: Option<PathBuf>,
    },
    /// The trail's head (last event and hash), to keep outside the store.
    Head {
        /// As one line signed with the installation's key (Ed25519), for `verify --expect-file`.
        #[arg(long)]
        sign: bool,
    },
    /// Every transfer of personal data: what went to whom, on what legal basis, and how much
    /// of it arrived.
    Transfers {
        /// From this day on (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        /// Up to and including this day (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "DATE")]
        until: Option<chrono::NaiveDate>,
        /// Only this profile's.
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// A record of processing activities (GDPR Art. 30) per integration, from the profiles
    /// and the transfers that ran.
    Ropa {
        #[arg(long)]
        json: bool,
    },
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Failed,
    Usage,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        match e {
            Exit::Ok => ExitCode::SUCCESS,
            Exit::Failed => ExitCode::from(1),
            Exit::Usage => ExitCode::from(2),
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            }
            .into();
        }
    };
    // A headless daemon's log is its only voice: it logs each pass; one-shot commands print
    // their results and log only warnings unless asked.
    let daemon = matches!(cli.command, Command::Run { once: false, .. });
    let verbose = cli.verbose + u8::from(daemon);
    // The dashboard owns the screen: its commands log to a file once settings are loaded.
    let dashboard = matches!(cli.command, Command::Tui | Command::Run { tui: true, .. });
    if !dashboard {
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        init_logging(cli.log_format, verbose, std::io::stderr, ansi);
    }
    let config = cli.config.as_deref();
    // The process's one tokio runtime: the daemon, SFTP passes and uploads, API deliveries,
    // webhooks and host-key lookups all run on it. Multi-threaded, because passes drive their
    // network work on it from blocking threads (`Handle::block_on`).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hrbridge-rt")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return Exit::Failed.into();
        }
    };
    let rt = runtime.handle();
    let exit = match cli.command {
        Command::Check => check::run(config),
        Command::Run {
            once,
            profiles,
            tui: with_tui,
        } => {
            let log = with_tui.then_some((cli.log_format, verbose));
            run::run(config, once, &profiles, log, rt)
        }
        Command::Tui => tui::run(config, cli.log_format, cli.verbose, rt),
        Command::Preview {
            profile,
            rows,
            file,
        } => preview::run(config, &profile, rows, &file),
        Command::Jobs {
            json,
            csv,
            limit,
            job,
        } => jobs::run(config, json, csv, limit, job),
        Command::Retry { job } => retry::run(config, job, rt),
        Command::Plan {
            profile,
            json,
            file,
        } => plan::run(config, &profile, &file, json),
        Command::Changes { job, json } => changes::run(config, job, json),
        Command::Trace { key, profile, json } => trace::run(config, &key, profile.as_deref(), json),
        Command::Queue { json } => queue::run(config, json),
        Command::Approve { job } => approve::run(config, job, Decision::Approve, rt),
        Command::Reject { job } => approve::run(config, job, Decision::Reject, rt),
        Command::Audit {
            action,
            json,
            csv,
            limit,
        } => audit::run(config, action, json, csv, limit),
        Command::Demo => demo::run(rt),
        Command::Keygen { output } => keygen::run(config, output.as_deref()),
        Command::Secrets { action } => match action {
            SecretsAction::Set { name } => secrets::set(config, &name),
            SecretsAction::List => secrets::list(config),
            SecretsAction::Rm { name } => secrets::remove(config, &name),
        },
        Command::KnownHosts {
            action:
                KnownHostsAction::Add {
                    target,
                    file,
                    fingerprint,
                },
        } => known_hosts::add(config, &target, file.as_deref(), fingerprint.as_deref(), rt),
    };
    exit.into()
}

/// Logs at the level `verbose` asks for (or `HRBRIDGE_LOG`) to `writer`.
fn init_logging<W>(format: LogFormat, verbose: u8, writer: W, ansi: bool)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HRBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Prints diagnostics to stderr.
fn print_diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{d}\n");
    }
}

/// Loads the settings; a problem is printed and becomes `Exit::Usage`.
fn settings_of(config: Option<&Path>) -> Result<Settings, Exit> {
    load::load_settings(config).map_err(|d| {
        print_diagnostics(&d);
        Exit::Usage
    })
}

/// Loads settings and every profile, checked; any problem is printed and becomes `Exit::Usage`.
fn load_all(config: Option<&Path>) -> Result<(Settings, Vec<Checked>), Exit> {
    let settings = settings_of(config)?;
    let profiles = checks::load_profiles(&settings).map_err(|d| {
        print_diagnostics(&d);
        eprintln!(
            "error: {} problem(s) in the configuration; run `hrbridge check`",
            d.len()
        );
        Exit::Usage
    })?;
    Ok((settings, profiles))
}

/// Runs `f` on the store of the settings at `config`, opened read-only, for the commands that
/// only read it (`jobs`, `audit`): they never create or change state. Without a database yet
/// that is said on stderr and `f` reads an empty store in memory: a listing is empty (`--json`
/// prints `[]`) and `audit verify` finds an intact trail of 0 events, as on a store where
/// nothing has happened yet. Every failure is printed and mapped to its exit code.
fn with_store(
    config: Option<&Path>,
    f: impl FnOnce(&crate::store::Store) -> Result<Exit, Box<dyn std::error::Error>>,
) -> Exit {
    match settings_of(config) {
        Ok(settings) => with_store_of(&settings, f),
        Err(exit) => exit,
    }
}

/// [`with_store`] with settings already loaded.
fn with_store_of(
    settings: &Settings,
    f: impl FnOnce(&crate::store::Store) -> Result<Exit, Box<dyn std::error::Error>>,
) -> Exit {
    let opened =
        crate::store::Store::open_read_only(&settings.state_dir).and_then(|found| match found {
            Some(store) => Ok(store),
            None => {
                eprintln!(
                    "note: no state yet: {} does not exist (nothing has run with these settings)",
                    settings.state_dir.join(crate::store::DB_FILE).display()
                );
                crate::store::Store::open_in_memory()
            }
        });
    match opened {
        Ok(store) => f(&store).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            Exit::Failed
        }),
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failed
        }
    }
}

/// Opens the store of `settings`, reporting failure.
fn open_store(settings: &Settings) -> Result<crate::store::Store, Exit> {
    crate::store::Store::open(&settings.state_dir).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Failed
    })
}
