//! The stop signal: set once (SIGINT/SIGTERM in the daemon, quitting the dashboard), read by
//! every loop that must not start new work after it — passes between files, API deliveries
//! between rows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Asks running passes to stop taking new files (SIGINT/SIGTERM in the daemon). A pass checks
/// it between files: the file in hand is always finished (or failed) cleanly.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// From now on, passes take no new files.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
