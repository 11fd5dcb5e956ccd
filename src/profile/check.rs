//! Semantic checks of a profile that deserialized cleanly: rules serde cannot express.
//!
//! Each rule reports a [`Problem`] at the key path of the offending value; the loader maps the
//! path to a line and column. Rules that belong to another module (formats, transforms,
//! outputs, sources) live with that module and are called from [`check`], so that each rule is
//! written once, next to the code that relies on it.

use std::collections::HashMap;

use super::model::Profile;
use super::problem::{KeyPath, Problem};
use crate::settings::Settings;
use crate::transform::MappingPlan;

/// Every semantic problem of `profile`, in no particular order (the loader sorts by position).
pub fn check(profile: &Profile, settings: &Settings) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_name(profile, &mut problems);
    check_has_outputs(profile, &mut problems);
    check_sample_header(profile, &mut problems);
    check_validation(profile, &mut problems);

    // Checks whose rules live with the module that applies them.
    problems.extend(crate::source::check(profile));
    problems.extend(crate::source::decrypt::check(profile, settings));
    problems.extend(crate::daemon::schedule::check(profile));
    problems.extend(crate::notify::check(profile));
    problems.extend(crate::format::check::check(&profile.format));
    problems.extend(crate::output::check(profile, settings));
    // The mapping plan also checks the columns it reads against `sample_header`.
    if let Err(found) = MappingPlan::compile(profile, settings) {
        problems.extend(found);
    }

    problems
}

/// The name becomes part of file names and store keys, so it is kept to a safe alphabet.
fn check_name(profile: &Profile, problems: &mut Vec<Problem>) {
    let name = &profile.name;
    let safe = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !safe {
        problems.push(Problem::new(
            KeyPath::root().key("name"),
            format!(
                "profile name `{name}` may only contain letters, digits, `_` and `-` \
                 (it is used in file names)"
            ),
        ));
    }
}

/// Fields are checked by the mapping plan (`transform`), which owns their rules.
fn check_has_outputs(profile: &Profile, problems: &mut Vec<Problem>) {
    if profile.outputs.is_empty() {
        problems.push(Problem::new(
            KeyPath::root().key("output"),
            "a profile needs at least one [[output]]: without one, records go nowhere",
        ));
    }
}

fn check_validation(profile: &Profile, problems: &mut Vec<Problem>) {
    let ratio = profile.validation.max_reject_ratio;
    if !(0.0..=1.0).contains(&ratio) {
        problems.push(Problem::new(
            KeyPath::root().key("validation").key("max_reject_ratio"),
            format!("max_reject_ratio is a fraction between 0 and 1 (0.05 = 5%), not {ratio}"),
        ));
    }
}

fn check_sample_header(profile: &Profile, problems: &mut Vec<Problem>) {
    let Some(header) = &profile.sample_header else {
        return;
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, column) in header.iter().enumerate() {
        let at = KeyPath::root().key("sample_header").index(i);
        if column.trim().is_empty() {
            problems.push(Problem::new(at, "sample_header has an empty column name"));
        } else if let Some(first) = seen.get(column.as_str()) {
            problems.push(Problem::new(
                at,
                format!(
                    "column `{column}` appears twice in sample_header (first at position {})",
                    first + 1
                ),
            ));
        } else {
            seen.insert(column, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::settings::SettingsFile;

    const MINIMAL: &str = r#"
        [source]
        type = "dir"
        path = "inbox/x"
        [[field]]
        name = "id"
        from = "ID"
        [[output]]
        type = "file"
        path = "outbox/x.csv"
    "#;

    fn settings() -> Settings {
        Settings::resolve(None, PathBuf::from("/base"), SettingsFile::default())
    }

    /// The minimal profile with `extra` TOML in front, named "x" unless `extra` names it.
    fn profile_of(extra: &str) -> Profile {
        let mut profile: Profile = toml::from_str(&format!("{extra}\n{MINIMAL}")).unwrap();
        if profile.name.is_empty() {
            profile.name = "x".to_string();
        }
        profile
    }

    fn problems_of(extra: &str) -> Vec<Problem> {
        check(&profile_of(extra), &settings())
    }

    fn paths(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(|p| p.at.to_string()).collect()
    }

    #[test]
    fn minimal_profile_has_no_problems() {
        assert_eq!(problems_of(""), vec![]);
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in ["", "a b", "../x", "naïve", "x/y"] {
            let mut profile = profile_of("");
            profile.name = bad.to_string();
            assert_eq!(paths(&check(&profile, &settings())), ["name"], "{bad:?}");
        }
        assert_eq!(problems_of("name = \"ats-to_HRIS2\""), vec![]);
    }

    #[test]
    fn empty_outputs_are_reported() {
        let mut profile = profile_of("");
        profile.outputs.clear();
        assert_eq!(paths(&check(&profile, &settings())), ["output"]);
    }

    #[test]
    fn field_rules_come_from_the_mapping_plan_once() {
        let p = problems_of("[[field]]\nname = \"id\"\nfrom = \"B\"");
        assert_eq!(paths(&p), ["field[1].name"], "{p:?}");
    }

    #[test]
    fn columns_missing_from_the_sample_header_are_reported() {
        let p = problems_of("sample_header = [\"Name\"]");
        assert_eq!(paths(&p), ["field[0].from"], "{p:?}");
    }

    #[test]
    fn reject_ratio_must_be_a_fraction() {
        for bad in ["5.0", "-1.0", "nan", "inf"] {
            let p = problems_of(&format!("[validation]\nmax_reject_ratio = {bad}"));
            assert_eq!(paths(&p), ["validation.max_reject_ratio"], "{bad}");
        }
        assert!(problems_of("[validation]\nmax_reject_ratio = 0.1").is_empty());
    }

    #[test]
    fn sample_header_duplicates_and_empties() {
        let p = problems_of("sample_header = [\"ID\", \" \", \"Name\", \"ID\"]");
        assert_eq!(paths(&p), ["sample_header[1]", "sample_header[3]"]);
    }
}
