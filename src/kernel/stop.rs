//! The stop signal: the one way anything in hrbridge is asked to stop — SIGINT/SIGTERM in the
//! daemon, SIGTERM/SIGHUP in the dashboard, quitting the dashboard, an embedding program, the
//! end of a daemon's command poller.
//!
//! A [`StopFlag`] is set once and read by every loop that must not start new work after it:
//! passes between files, API deliveries between rows, the daemon's tasks while they wait
//! ([`StopFlag::stopped`]). A signal handler may set it too ([`StopFlag::set_on_signals`]):
//! the handler only stores to the flag's atomic, which is async-signal-safe, and waiters
//! notice within [`RECHECK`].

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// How soon a waiter notices a flag set by a signal handler (which cannot wake it).
pub const RECHECK: Duration = Duration::from_millis(200);

/// Asks running work to stop taking new work. A pass checks it between files: the file in
/// hand is always finished (or failed) cleanly.
#[derive(Debug, Clone, Default)]
pub struct StopFlag {
    stopped: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// From now on, nothing takes new work; tasks waiting in [`StopFlag::stopped`] go on.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Completes once the flag is set.
    pub async fn stopped(&self) {
        loop {
            let woken = self.wake.notified();
            if self.is_stopped() {
                return;
            }
            // A signal handler sets the atomic without waking anyone: look again soon.
            let _ = tokio::time::timeout(RECHECK, woken).await;
        }
    }

    /// Sleeps for `wait`, or less when the flag is set meanwhile; true when it was set.
    pub async fn sleep(&self, wait: Duration) -> bool {
        tokio::select! {
            () = self.stopped() => true,
            () = tokio::time::sleep(wait) => self.is_stopped(),
        }
    }

    /// Sets the flag when one of `signals` arrives (for programs without a tokio runtime
    /// listening to signals, such as `hrbridge tui`).
    pub fn set_on_signals(&self, signals: &[libc::c_int]) -> io::Result<()> {
        for &signal in signals {
            signal_hook::flag::register(signal, Arc::clone(&self.stopped))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn waiters_wake_when_the_flag_is_set() {
        let stop = StopFlag::new();
        let setter = stop.clone();
        let woke = runtime().block_on(async move {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                setter.stop();
            });
            tokio::time::timeout(Duration::from_secs(5), stop.stopped()).await
        });
        assert!(woke.is_ok());
    }

    #[test]
    fn a_flag_set_without_waking_is_noticed_on_the_recheck() {
        let stop = StopFlag::new();
        // What a signal handler does: only the atomic.
        stop.stopped.store(true, Ordering::SeqCst);
        let woke =
            runtime().block_on(async { tokio::time::timeout(RECHECK * 3, stop.stopped()).await });
        assert!(woke.is_ok());
    }

    #[test]
    fn sleep_ends_early_only_when_stopped() {
        let stop = StopFlag::new();
        let rt = runtime();
        assert!(!rt.block_on(stop.sleep(Duration::from_millis(10))));
        stop.stop();
        assert!(rt.block_on(stop.sleep(Duration::from_secs(60))));
    }
}
