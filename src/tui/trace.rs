//! The trace of one row, from the job detail (`t`): the person on that row, and every row of
//! every job that carried them — filtered, rejected, delivered or failed (see
//! [`crate::privacy::trace_report`]). The store gives the person by the row's keyed hash; the
//! dashboard never sees the key itself, so it shows no remote ids (`hrbridge trace KEY` does).

use crate::privacy::trace_report::{person_on_row, trace, Sighting};
use crate::profile::Profile;
use crate::store::{Store, StoreError};

/// The trace shown over a job's detail.
#[derive(Debug, Clone)]
pub struct RowTrace {
    /// The row of the open job it was asked for.
    pub row: u64,
    /// Every row of the person, newest job first.
    pub sightings: Vec<Sighting>,
    /// First line shown (scrolls with j/k).
    pub scroll: u16,
}

impl RowTrace {
    /// The trace of the person on row `row` of job `job_id`; `None` when the job traced no
    /// one there (the row named no one, or the job ran before rows were traced).
    pub fn load(
        store: &Store,
        profiles: &[Profile],
        job_id: i64,
        row: u64,
    ) -> Result<Option<RowTrace>, StoreError> {
        let Some(person) = person_on_row(store, job_id, row)? else {
            return Ok(None);
        };
        let profiles: Vec<&Profile> = profiles.iter().collect();
        Ok(Some(RowTrace {
            row,
            sightings: trace(store, &profiles, person, None, None)?,
            scroll: 0,
        }))
    }
}
