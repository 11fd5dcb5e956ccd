//! The profile language: what one integration reads, how it maps rows and where it delivers.
//!
//! `model` holds the serde structs (the user-facing contract; `api` those of the API outputs),
//! `load` reads TOML with located errors and runs the rules it is given, `check` holds the
//! profile language's own semantic rules (each component's live with the component; the
//! engine's `checks` runs them all), `schedule` turns `schedule`/`timezone`/`poll` into the
//! trigger a profile's passes wait on (the daemon fires it, the dashboard shows it),
//! `privacy` the declarations of `[privacy]` (purpose, legal basis, recipient, categories),
//! `fixed_output` the record layouts of fixed-width output files, `x12_output` what fills an
//! X12 834 output, and
//! `diagnostic` renders a problem with its file, line, column and the offending text
//! underlined; `fixtures` (tests only) holds the profiles its tests and the engine's checks
//! share. A leaf: nothing here imports from above `kernel` and `settings`.

pub mod api;
pub mod braces;
pub mod check;
pub mod diagnostic;
pub mod fixed_output;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod lifecycle;
pub mod load;
pub mod model;
pub mod privacy;
pub mod problem;
pub mod schedule;
pub mod x12_output;

pub use diagnostic::Diagnostic;
pub use model::*;
pub use problem::{KeyPath, Problem, Seg};
