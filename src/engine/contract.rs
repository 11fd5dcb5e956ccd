//! The file-level contract a file's counts must keep before anything of it is delivered:
//! at least `validation.min_rows` data rows, and no more rejected rows than
//! `validation.max_reject_ratio` of those not filtered. A job holds its file to it after the
//! last row; `hrbridge preview` and `hrbridge plan` say when a file would break it.

use crate::profile::Profile;
use crate::store::Counts;

/// The first file-level contract the counts break, if any.
pub fn contract_violation(profile: &Profile, counts: &Counts) -> Option<String> {
    let min_rows = profile.validation.min_rows.unwrap_or(1);
    if counts.read < min_rows {
        return Some(format!(
            "file has {} data row(s); at least {min_rows} required (validation.min_rows)",
            counts.read
        ));
    }
    // Filtered rows are not the file's business: the ratio is over the rows that were meant
    // to be delivered.
    let considered = counts.read.saturating_sub(counts.filtered);
    let max = profile.validation.max_reject_ratio;
    let ratio = counts.rejected as f64 / considered.max(1) as f64;
    if counts.rejected > 0 && ratio > max {
        return Some(format!(
            "{} of {considered} rows rejected ({:.1}%; filtered rows not counted), above max_reject_ratio {:.1}%; nothing delivered",
            counts.rejected,
            100.0 * ratio,
            100.0 * max
        ));
    }
    None
}
