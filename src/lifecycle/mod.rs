//! Lifecycle profiles: every file is a full roster, and what is delivered is how it differs
//! from the profile's last accepted snapshot — joiners, movers (with the fields that
//! changed), leavers (by status or by absence) and rehires.
//!
//! | module        | owns |
//! |---------------|------|
//! | [`stored`]    | a person's key, and their fields as the snapshot keeps them (PII as keyed hashes) |
//! | [`delta`]     | the streaming difference of one file to the snapshot, and its plan |
//! | [`people`]    | who a delta knows of: the roster's people in ~70 bytes each, and who the file named |
//! | [`safeguard`] | which plans are held for an operator (`max_leavers`, `max_drop`) |
//! | [`order`]     | the export's own order: files by the date in their names (`order_by = "file_date"`) |
//!
//! The engine feeds a [`delta::Delta`] with a job's mapped rows and writes the changes it
//! returns to the job's outputs; the store keeps the plan and, once the job has delivered,
//! advances the snapshot to it (`Store::advance_snapshot`).

pub mod delta;
pub mod order;
pub mod people;
pub mod safeguard;
pub mod stored;

pub use delta::{Delta, Emit, Outcome};
