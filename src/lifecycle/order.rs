//! The export's own order. Rosters are applied one after the other, each against the last
//! accepted one, so two files taken out of order would undo a day. With `order_by =
//! "file_date"` the date in each file's name (`file_date = "%Y%m%d"` says how it is written)
//! decides: ready files are taken oldest first, and a file older than the roster the snapshot
//! stands at is refused rather than applied. Without it, files go by name as they arrive.

use chrono::NaiveDate;

use crate::kernel::clock::file_date;
use crate::profile::lifecycle::{LifecycleSpec, OrderBy};

/// The date format files are ordered by, when the profile orders by file date.
fn ordering(spec: Option<&LifecycleSpec>) -> Option<&str> {
    let spec = spec?;
    match spec.order_by {
        OrderBy::FileDate => spec.file_date.as_deref(),
        OrderBy::Arrival => None,
    }
}

/// Whether the profile applies its rosters by the date in their names.
pub fn by_file_date(spec: Option<&LifecycleSpec>) -> bool {
    ordering(spec).is_some()
}

/// Sorts `items` (named by `name`) oldest file date first, by name within a date, when the
/// profile orders by file date; names without a date go last (their jobs refuse them).
pub fn sort<T>(spec: Option<&LifecycleSpec>, items: &mut [T], name: impl Fn(&T) -> &str) {
    if let Some(format) = ordering(spec) {
        items.sort_by_cached_key(|item| {
            let n = name(item);
            (
                file_date(n, format).unwrap_or(NaiveDate::MAX),
                n.to_string(),
            )
        });
    }
}

/// Why file `name` may not be applied on top of the roster `current` (the file the snapshot
/// stands at), if the profile orders by file date: its name has no date, or an older one.
pub fn refusal(spec: Option<&LifecycleSpec>, name: &str, current: Option<&str>) -> Option<String> {
    let format = ordering(spec)?;
    let Some(date) = file_date(name, format) else {
        return Some(format!(
            "{name:?} has no date written as {format:?} in its name, and this profile applies rosters by their file date (order_by = \"file_date\")"
        ));
    };
    let current = current?;
    let applied = file_date(current, format)?;
    (date < applied).then(|| {
        format!(
            "{name:?} is dated {date}, older than the roster the snapshot stands at ({current:?}, {applied}); an older roster is not applied over a newer one"
        )
    })
}
