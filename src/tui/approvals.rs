//! What the Approvals view shows: the jobs a lifecycle safeguard held, read from the store at
//! each refresh, and the plan of the selected one person by person. The decision itself
//! (`a`/`x`, after `y`) is [`crate::engine::approval::decide_and_finish`], handed to the
//! dashboard as a [`Decider`] so that the state stays testable without a runtime.

use tokio::runtime::Handle;

use crate::engine::approval::{decide_and_finish, Decision, Finished};
use crate::engine::checks::Checked;
use crate::settings::Settings;
use crate::store::{ChangeRow, PlanRow, Store, StoreError};

/// Decides held job `id` as the operator `user` and publishes it; says what came of it, or
/// why it could not be done.
pub type Decider = Box<dyn Fn(&Store, i64, Decision, &str) -> Result<String, String>>;

/// A held job: its plan and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub plan: PlanRow,
    pub file: String,
}

/// The held jobs and the selected one's changes.
#[derive(Debug, Default)]
pub struct Approvals {
    pub held: Vec<Held>,
    pub selected: usize,
    /// The changes of the selected job (`changes_of` says whose).
    pub changes: Vec<ChangeRow>,
    changes_of: Option<i64>,
}

impl Approvals {
    /// Reads the held jobs again, keeping the selection on the same job where it still is.
    pub fn reload(&mut self, store: &Store) -> Result<(), StoreError> {
        let was = self.selected().map(|h| h.plan.job_id);
        self.held = store
            .held_plans(None)?
            .into_iter()
            .map(|plan| {
                let file = store
                    .job(plan.job_id)?
                    .map(|j| j.file_name)
                    .unwrap_or_default();
                Ok(Held { plan, file })
            })
            .collect::<Result<_, StoreError>>()?;
        if let Some(i) = self.held.iter().position(|h| Some(h.plan.job_id) == was) {
            self.selected = i;
        }
        self.selected = self.selected.min(self.held.len().saturating_sub(1));
        self.changes_of = None;
        self.sync(store)
    }

    /// Moves the selection by `delta` rows.
    pub fn move_by(&mut self, store: &Store, delta: isize) -> Result<(), StoreError> {
        let last = self.held.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.sync(store)
    }

    /// The selected held job.
    pub fn selected(&self) -> Option<&Held> {
        self.held.get(self.selected)
    }

    /// Keeps the changes on the selected job.
    fn sync(&mut self, store: &Store) -> Result<(), StoreError> {
        let id = self.selected().map(|h| h.plan.job_id);
        if id != self.changes_of {
            self.changes = match id {
                Some(id) => store.changes(id, false)?,
                None => Vec::new(),
            };
            self.changes_of = id;
        }
        Ok(())
    }
}

/// The dashboard's [`Decider`]: [`decide_and_finish`] over the configured profiles, its
/// outcome in the words of the status line.
pub fn decider(settings: Settings, profiles: Vec<Checked>, runtime: Handle) -> Decider {
    Box::new(move |store, job_id, decision, user| {
        let verb = match decision {
            Decision::Approve => "approved",
            Decision::Reject => "rejected (its input is in error/)",
        };
        let (plan, finished) = decide_and_finish(
            &settings, &profiles, store, job_id, decision, user, &runtime,
        )
        .map_err(|e| format!("job {job_id}: {e}"))?;
        let then = match finished {
            Finished::Here(Some(job)) => format!("; it is {}", job.status.as_str()),
            Finished::Here(None) => String::new(),
            Finished::DaemonAsked(id) => {
                format!("; the daemon finishes it (command {id})")
            }
            Finished::ProfileGone => format!(
                "; profile {} is no longer configured: its next run finishes it",
                plan.profile
            ),
        };
        Ok(format!("job {job_id} {verb} by {user}{then}"))
    })
}
