//! Harness for the daemon tests: `hrbridge run` as a real background process in a
//! workspace, stopped with a real SIGTERM.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A running `hrbridge run`; killed (SIGKILL) if a test ends without stopping it.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `hrbridge -v run` in `dir` (stderr to `dir/daemon.log`) and waits until it has
    /// set up its watches.
    pub fn start(dir: &Path) -> Daemon {
        Daemon::start_with(dir, &[])
    }

    /// [`Daemon::start`] with the environment variables `envs` set.
    pub fn start_with(dir: &Path, envs: &[(&str, &str)]) -> Daemon {
        let log = dir.join("daemon.log");
        let child = Command::new(env!("CARGO_BIN_EXE_hrbridge"))
            .current_dir(dir)
            .args(["-v", "run"])
            .env_remove("HRBRIDGE_LOG")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("daemon log"))
            .spawn()
            .expect("start hrbridge run");
        let mut daemon = Daemon { child, log };
        wait_until("the daemon to start", Duration::from_secs(10), || {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("daemon exited early ({status}):\n{}", daemon.log());
            }
            daemon.log().contains("daemon started").then_some(())
        });
        daemon
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (at most `within`) for the process to exit.
    pub fn terminate(mut self, within: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let child = &mut self.child;
        wait_until("the daemon to exit after SIGTERM", within, || {
            child.try_wait().expect("wait for the daemon")
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Calls `check` every 100 ms until it returns a value; panics after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// The store of the installation in `dir` (state folder `var`), opened beside the daemon.
pub fn store(dir: &Path) -> hrbridge::store::Store {
    hrbridge::store::Store::open(&dir.join("var")).expect("open the store")
}

/// Waits (at most `within`) until operator command `id` is no longer pending; returns it.
pub fn finished_command(dir: &Path, id: i64, within: Duration) -> hrbridge::store::CommandRow {
    let store = store(dir);
    wait_until(&format!("command {id} to finish"), within, || {
        let command = store.command(id).expect("read the command")?;
        (command.state != hrbridge::store::CommandState::Pending).then_some(command)
    })
}
