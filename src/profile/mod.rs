//! The profile language: what one integration reads, how it maps rows and where it delivers.
//!
//! `model` holds the serde structs (the user-facing contract; `api` those of the API outputs),
//! `load` reads TOML with located errors, `check` runs the semantic checks, `schedule` turns
//! `schedule`/`timezone`/`poll` into the trigger a profile's passes wait on (the daemon fires
//! it, the dashboard shows it), and `diagnostic` renders a problem with its file, line, column
//! and the offending text underlined.

pub mod api;
pub mod braces;
pub mod check;
pub mod diagnostic;
pub mod load;
pub mod model;
pub mod problem;
pub mod schedule;

pub use diagnostic::Diagnostic;
pub use model::*;
pub use problem::{KeyPath, Problem, Seg};
