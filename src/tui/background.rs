//! What may take longer than a frame, done on a thread of its own so a million-event trail or
//! a busy day never holds up a key: the audit chain check (the whole trail once, then only
//! what was appended) and the day's job totals. The thread has its own store connection and
//! looks again every second, re-reading only when another connection committed.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Local, NaiveTime, TimeZone, Utc};

use crate::store::{AuditVerdict, JobTotals, Store, StoreError};

use super::app::Chain;

/// Time between looks at the store.
const EVERY: Duration = Duration::from_secs(1);

/// What the thread found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    Chain(Chain),
    /// Totals of the jobs started today (local time), and the number of jobs in all.
    Totals(JobTotals, u64),
}

/// The background work beside the dashboard; it ends when this value is dropped.
pub struct Background {
    updates: Receiver<Update>,
}

impl Background {
    /// Starts the work on the store in `state_dir`.
    pub fn start(state_dir: PathBuf) -> Background {
        let (tx, updates) = mpsc::channel();
        let spawned = thread::Builder::new()
            .name("hrbridge-dashboard".into())
            .spawn(move || watch(&state_dir, &tx));
        if let Err(e) = spawned {
            let (tx, rx) = mpsc::channel();
            let _ = tx.send(Update::Chain(Chain::Unknown(format!(
                "cannot start the check: {e}"
            ))));
            return Background { updates: rx };
        }
        Background { updates }
    }

    /// What was found since the last call, oldest first.
    pub fn updates(&self) -> Vec<Update> {
        self.updates.try_iter().collect()
    }
}

/// The totals shown on the Jobs view: jobs started since local midnight of `now`, and the
/// number of jobs in all.
pub fn totals(store: &Store, now: DateTime<Utc>) -> Result<Update, StoreError> {
    let today = store.job_totals_since(&start_of_local_day(now))?;
    Ok(Update::Totals(today, store.jobs_extent()?.1))
}

/// Checks the chain: all of it (`checked = None`), or what follows the event `checked` names
/// (its seq and hash, from an earlier intact verdict). Returns the verdict and the new
/// checked point.
pub fn check_chain(
    store: &Store,
    checked: Option<&(i64, String)>,
) -> (Chain, Option<(i64, String)>) {
    let verdict = match checked {
        None => store.verify_audit(),
        Some((seq, hash)) => store.verify_audit_after(*seq, hash),
    };
    match verdict {
        Ok(AuditVerdict::Intact { events, head }) => (
            Chain::Intact { events },
            Some((i64::try_from(events).unwrap_or(i64::MAX), head)),
        ),
        Ok(broken) => (broken.into(), None),
        Err(e) => (Chain::Unknown(e.to_string()), checked.cloned()),
    }
}

fn watch(state_dir: &Path, tx: &Sender<Update>) {
    let store = match Store::open(state_dir) {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Update::Chain(Chain::Unknown(e.to_string())));
            return;
        }
    };
    let mut checked: Option<(i64, String)> = None;
    let mut chain_broken = false;
    // The store's data_version and the day at the last look.
    let mut seen: Option<(i64, String)> = None;
    loop {
        let now = Utc::now();
        let version = store.data_version().unwrap_or(-1);
        let look = (version, start_of_local_day(now));
        if seen.as_ref() != Some(&look) {
            let totals = totals(&store, now)
                .unwrap_or_else(|e| Update::Chain(Chain::Unknown(format!("totals: {e}"))));
            if tx.send(totals).is_err() {
                return;
            }
            // A broken chain stays broken: it is said once and not checked again.
            if !chain_broken {
                let (chain, next) = check_chain(&store, checked.as_ref());
                chain_broken = matches!(chain, Chain::Broken { .. });
                checked = next;
                if tx.send(Update::Chain(chain)).is_err() {
                    return;
                }
            }
            seen = Some(look);
        }
        thread::sleep(EVERY);
    }
}

/// Midnight of `now`'s local day, as the store writes times (RFC 3339 UTC).
fn start_of_local_day(now: DateTime<Utc>) -> String {
    let local = now
        .with_timezone(&Local)
        .date_naive()
        .and_time(NaiveTime::MIN);
    let midnight = Local
        .from_local_datetime(&local)
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc));
    midnight.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuditEvent;

    #[test]
    fn the_day_starts_at_local_midnight() {
        let now = Utc::now();
        let start = DateTime::parse_from_rfc3339(&start_of_local_day(now)).unwrap();
        let age = now - start.with_timezone(&Utc);
        assert!(age >= chrono::Duration::zero() && age < chrono::Duration::hours(25));
    }

    #[test]
    fn the_chain_is_checked_onwards_from_the_last_intact_point() {
        let store = Store::open_in_memory().unwrap();
        let event = AuditEvent {
            kind: "job.started".into(),
            profile: None,
            job_id: None,
            detail: serde_json::json!({}),
        };
        store.append_audit(&event).unwrap();
        let (chain, checked) = check_chain(&store, None);
        assert_eq!(chain, Chain::Intact { events: 1 });
        store.append_audit(&event).unwrap();
        let (chain, checked) = check_chain(&store, checked.as_ref());
        assert_eq!(chain, Chain::Intact { events: 2 });
        assert_eq!(checked.unwrap().0, 2);
        // A wrong checked point is a broken chain, and checking stops there.
        let (chain, checked) = check_chain(&store, Some(&(1, "0".repeat(64))));
        assert!(matches!(chain, Chain::Broken { seq: 2, .. }), "{chain:?}");
        assert_eq!(checked, None);
    }
}
