//! `hrbridge plan`: what a roster file would change for a lifecycle profile — the same delta
//! a job computes, against the same snapshot, but kept in memory: nothing is written, sent or
//! recorded, and the store is only read.

use std::path::Path;
use std::sync::Arc;

use crate::format::{self, Severity};
use crate::kernel::clock::today_in;
use crate::kernel::keys::InstallationKey;
use crate::lifecycle::{Delta, Outcome};
use crate::profile::Profile;
use crate::store::{Counts, Store};
use crate::transform::{MappingPlan, RowOutcome};

use super::contract::contract_violation;
use super::job::SNAPSHOT_HASH;
use super::EngineError;

/// What a file would come to.
pub struct FilePlan {
    pub outcome: Outcome,
    pub counts: Counts,
    /// Why a job would fail on the file: it could not be read to its end, or it breaks its
    /// contract (`min_rows`, `max_reject_ratio`).
    pub file_error: Option<String>,
}

/// Plans `file` (shown as `display_name`) for lifecycle profile `profile` against its
/// snapshot in `store`. `key` is the installation's, so PII compares as the snapshot keeps it.
pub fn plan_file(
    store: &Store,
    profile: &Profile,
    mapping: &MappingPlan,
    key: &InstallationKey,
    file: &Path,
    display_name: &str,
) -> Result<FilePlan, EngineError> {
    let refuse = |message: String| EngineError::Profile {
        profile: profile.name.clone(),
        message,
    };
    let Some(spec) = &profile.lifecycle else {
        return Err(refuse(
            "it has no [lifecycle] section; `hrbridge preview` shows how its rows map".into(),
        ));
    };
    let table =
        format::open(file, display_name, &profile.format).map_err(|e| refuse(e.to_string()))?;
    let mapper = mapping
        .bind(&table.header)
        .map_err(|missing| refuse(format!("{display_name}: {missing}")))?;
    let today = today_in(profile.timezone.as_deref()).map_err(refuse)?;
    let mut delta = Delta::new(
        store,
        &profile.name,
        spec,
        mapping.fields(),
        key.keyed_hash(SNAPSHOT_HASH),
        today,
        None,
    )?;
    let mut counts = Counts::default();
    let mut file_error = None;
    for item in table.records {
        match item {
            Ok(rec) => {
                counts.read += 1;
                match mapper.apply(&rec) {
                    RowOutcome::Mapped(m) => match delta.observe(&m)? {
                        Ok(_) => counts.written += 1,
                        Err(_) => counts.rejected += 1,
                    },
                    RowOutcome::Filtered { .. } => counts.filtered += 1,
                    RowOutcome::Rejected(_) => {
                        counts.rejected += 1;
                        delta.observe_rejected(rec.pos.row, mapper.key_values(&rec).as_deref());
                    }
                }
            }
            Err(e) if e.severity == Severity::Row => {
                counts.read += 1;
                counts.rejected += 1;
                delta.observe_rejected(e.pos.row, None);
            }
            Err(e) => {
                file_error = Some(e.to_string());
                break;
            }
        }
    }
    if file_error.is_none() {
        file_error = contract_violation(profile, &counts).map(|m| format!("{display_name}: {m}"));
    }
    let name: Arc<str> = Arc::from(display_name);
    let outcome = delta.finish(&name, |_, _| Ok::<(), EngineError>(()))?;
    Ok(FilePlan {
        outcome,
        counts,
        file_error,
    })
}
