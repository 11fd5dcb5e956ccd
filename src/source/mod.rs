//! Where input files come from, and the checks every incoming file goes through.
//!
//! `dir` finds complete files in an inbox folder, `names` decides which names are safe, and
//! `staging` takes the private, hashed copy a job reads.

pub mod dir;
pub mod names;
pub mod staging;

use crate::profile::{KeyPath, Problem, Profile, SourceSpec};

/// Semantic checks of a profile's `[source]`.
pub fn check(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let SourceSpec::Dir(spec) = &profile.source;
    let at = KeyPath::root().key("source");
    if let Err(e) = dir::matcher(&spec.pattern) {
        problems.push(Problem::new(at.clone().key("pattern"), e));
    }
    if spec.pattern.contains('/') {
        problems.push(Problem::new(
            at.clone().key("pattern"),
            "pattern matches file names in the inbox folder; it cannot contain `/`",
        ));
    }
    problems
}
