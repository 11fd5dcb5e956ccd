//! What the Approvals view shows: the jobs a lifecycle safeguard held, read from the store at
//! each refresh, and the plan of the selected one person by person — a page at a time, as a
//! held plan may list a million people. The decision itself
//! (`a`/`x`, after `y`) is [`crate::engine::approval::decide_and_finish`], handed to the
//! dashboard as a [`Decider`] so that the state stays testable without a runtime.

use tokio::runtime::Handle;

use crate::engine::approval::{decide_and_finish, Decision, Finished};
use crate::engine::checks::Checked;
use crate::settings::Settings;
use crate::store::{ChangeRow, PlanRow, Store, StoreError, Toward};
use crate::tui::action::Edge;

/// Changes of a plan read at a time: more than a terminal shows.
const PAGE: usize = 200;

/// Decides held job `id` as the operator `user` and publishes it; says what came of it, or
/// why it could not be done.
pub type Decider = Box<dyn Fn(&Store, i64, Decision, &str) -> Result<String, String>>;

/// A held job: its plan and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub plan: PlanRow,
    pub file: String,
}

/// The held jobs and a page of the selected one's changes.
#[derive(Debug, Default)]
pub struct Approvals {
    pub held: Vec<Held>,
    pub selected: usize,
    /// Changes of the selected job's plan (`changes_of` says whose), [`PAGE`] at most: the
    /// listed ones from the `first`-th on (counting from 0).
    pub changes: Vec<ChangeRow>,
    pub first: u64,
    /// How many changes the selected job's plan lists.
    pub listed: u64,
    /// The plan rows the view last had room for: what a page moves.
    pub room: usize,
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

    /// Moves the plan by `pages` pages (down is positive), as far as it goes.
    pub fn page(&mut self, store: &Store, pages: isize) -> Result<(), StoreError> {
        let Some(id) = self.changes_of else {
            return Ok(());
        };
        let room = self.room.max(1);
        for _ in 0..pages.unsigned_abs() {
            if pages > 0 {
                let Some(next) = self.changes.get(room) else {
                    break;
                };
                self.read(store, id, next.n, self.first + room as u64)?;
            } else {
                let Some(top) = self.changes.first() else {
                    break;
                };
                let before = store.changes_page(id, top.n, Toward::Older, room)?;
                let Some(start) = before.first() else {
                    break;
                };
                let first = self.first.saturating_sub(before.len() as u64);
                self.read(store, id, start.n, first)?;
            }
        }
        Ok(())
    }

    /// Shows the first or the last page of the plan.
    pub fn edge(&mut self, store: &Store, edge: Edge) -> Result<(), StoreError> {
        let Some(id) = self.changes_of else {
            return Ok(());
        };
        match edge {
            Edge::Top => self.read(store, id, 0, 0),
            Edge::Bottom => {
                let last = store.changes_page(id, u64::MAX, Toward::Older, self.room.max(1))?;
                match last.first() {
                    Some(start) => {
                        let first = self.listed.saturating_sub(last.len() as u64);
                        self.read(store, id, start.n, first)
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// Keeps the changes on the selected job: its plan from the top when it is another.
    fn sync(&mut self, store: &Store) -> Result<(), StoreError> {
        let id = self.selected().map(|h| h.plan.job_id);
        if id != self.changes_of {
            self.changes_of = id;
            self.changes.clear();
            (self.first, self.listed) = (0, 0);
            if let Some(id) = id {
                self.listed = store.listed_changes(id)?;
                self.read(store, id, 0, 0)?;
            }
        }
        Ok(())
    }

    /// Reads the page of job `id`'s plan from change `n` on, the `first`-th listed one.
    fn read(&mut self, store: &Store, id: i64, n: u64, first: u64) -> Result<(), StoreError> {
        self.changes = store.changes_page(id, n, Toward::Newer, PAGE)?;
        self.first = first;
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
