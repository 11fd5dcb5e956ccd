//! The safeguards of a lifecycle profile: a file that would make more leavers than
//! `max_leavers`, or that is smaller than the previous snapshot by more than `max_drop`, is
//! most likely a truncated export. Such a plan is held for an operator instead of applied —
//! Okta's import safeguard and Entra's accidental-deletion threshold, offline.

use crate::profile::lifecycle::LifecycleSpec;
use crate::store::PlanRow;

/// Why `plan` must wait for an operator, if it must. A first snapshot has nothing to lose;
/// a file with rejected rows whose key could not be read cannot tell who is absent.
pub fn hold_reason(spec: &LifecycleSpec, plan: &PlanRow, keyless: u64) -> Option<String> {
    let mut reasons = Vec::new();
    if keyless > 0 {
        reasons.push(format!(
            "{keyless} rejected row(s) have no readable key, so who left cannot be told"
        ));
    }
    if plan.base_job.is_some() {
        let leavers = plan.counts.leavers;
        if spec.max_leavers.exceeded(leavers, plan.previous_active) {
            reasons.push(format!(
                "{leavers} leaver(s) of {} active people is over max_leavers {}",
                plan.previous_active, spec.max_leavers
            ));
        }
        let drop = plan.previous_rows.saturating_sub(plan.rows);
        if drop > 0 && spec.max_drop.exceeded(drop, plan.previous_rows) {
            reasons.push(format!(
                "the roster shrank from {} to {} people, over max_drop {}",
                plan.previous_rows, plan.rows, spec.max_drop
            ));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}
