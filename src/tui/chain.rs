//! Checks the audit chain on a thread of its own, so a million-event trail never holds up a
//! frame: the whole trail once, then only the events appended since the last check.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use crate::store::{AuditVerdict, Store};

use super::app::Chain;

/// Time between checks for new events.
const EVERY: Duration = Duration::from_secs(2);

/// The chain check running beside the dashboard; it ends when this value is dropped.
pub struct ChainWatch {
    verdicts: Receiver<Chain>,
}

impl ChainWatch {
    /// Starts checking the trail of the store in `state_dir`.
    pub fn start(state_dir: PathBuf) -> ChainWatch {
        let (tx, verdicts) = mpsc::channel();
        let spawned = thread::Builder::new()
            .name("hrbridge-chain".into())
            .spawn(move || watch(&state_dir, &tx));
        if let Err(e) = spawned {
            let (tx, rx) = mpsc::channel();
            let _ = tx.send(Chain::Unknown(format!("cannot start the check: {e}")));
            return ChainWatch { verdicts: rx };
        }
        ChainWatch { verdicts }
    }

    /// The newest verdict since the last call, if any.
    pub fn latest(&self) -> Option<Chain> {
        self.verdicts.try_iter().last()
    }
}

fn watch(state_dir: &std::path::Path, tx: &Sender<Chain>) {
    let store = match Store::open(state_dir) {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Chain::Unknown(e.to_string()));
            return;
        }
    };
    // The last event found intact, and its hash.
    let mut checked: Option<(i64, String)> = None;
    loop {
        let verdict = match &checked {
            None => store.verify_audit(),
            Some((seq, hash)) => store.verify_audit_after(*seq, hash),
        };
        let chain = match verdict {
            Ok(AuditVerdict::Intact { events, head }) => {
                checked = Some((i64::try_from(events).unwrap_or(i64::MAX), head));
                Chain::Intact { events }
            }
            Ok(broken) => {
                // A broken chain stays broken: say so and stop checking.
                let _ = tx.send(broken.into());
                return;
            }
            Err(e) => Chain::Unknown(e.to_string()),
        };
        if tx.send(chain).is_err() {
            return;
        }
        thread::sleep(EVERY);
    }
}
