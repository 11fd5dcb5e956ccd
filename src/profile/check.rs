//! The profile language's own semantic rules: what serde cannot express and needs nothing but
//! the profile itself (its name, that it has outputs, its sample header, its validation
//! bounds, its schedule keys, its `[lifecycle]`).
//!
//! Each rule reports a [`Problem`] at the key path of the offending value; the loader maps the
//! path to a line and column. The rules of a component (formats, transforms, outputs,
//! sources) live with that component and are run, together with these, by the engine's
//! `checks` when it loads the profiles it runs.

use std::collections::HashMap;

use super::model::{Profile, SourceSpec};
use super::problem::{KeyPath, Problem};
use crate::settings::Settings;

/// Every problem the profile language itself finds in `profile`, in no particular order (the
/// loader sorts by position).
pub fn check(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_name(profile, &mut problems);
    check_has_outputs(profile, &mut problems);
    check_sample_header(profile, &mut problems);
    check_validation(profile, &mut problems);
    problems.extend(super::schedule::check(profile));
    problems.extend(super::lifecycle::check(profile));
    problems.extend(super::privacy::check(profile));
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

/// `hrbridge check` only: the inbox folder of a `dir` source must exist, or every pass of the
/// profile fails. (Not among the checks profiles are loaded with: the daemon and `run` start without it and report
/// the pass, so one missing folder does not stop the other profiles.)
pub fn check_inbox(profile: &Profile, settings: &Settings) -> Vec<Problem> {
    let SourceSpec::Dir(spec) = &profile.source else {
        return Vec::new();
    };
    let inbox = settings.resolve_path(&spec.path);
    let shown = inbox.display();
    let problem = match std::fs::metadata(&inbox) {
        Ok(meta) if meta.is_dir() => return Vec::new(),
        Ok(_) => format!("inbox {shown} is not a folder: every pass of this profile would fail"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!(
            "inbox folder {shown} does not exist: every pass of this profile would fail; \
             create it (mkdir -p {shown})"
        ),
        Err(e) => format!("inbox folder {shown} cannot be read ({e})"),
    };
    vec![Problem::new(
        KeyPath::root().key("source").key("path"),
        problem,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::fixtures::{paths, profile_of};
    use crate::settings::SettingsFile;

    fn problems_of(extra: &str) -> Vec<Problem> {
        check(&profile_of(extra))
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in ["", "a b", "../x", "naïve", "x/y"] {
            let mut profile = profile_of("");
            profile.name = bad.to_string();
            assert_eq!(paths(&check(&profile)), ["name"], "{bad:?}");
        }
        assert_eq!(problems_of("name = \"ats-to_HRIS2\""), vec![]);
    }

    #[test]
    fn empty_outputs_are_reported() {
        let mut profile = profile_of("");
        profile.outputs.clear();
        assert_eq!(paths(&check(&profile)), ["output"]);
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

    #[test]
    fn a_missing_inbox_is_a_problem_at_source_path() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::resolve(None, dir.path().to_path_buf(), SettingsFile::default());
        let profile = profile_of("");
        let p = check_inbox(&profile, &settings);
        assert_eq!(paths(&p), ["source.path"]);
        let inbox = dir.path().join("inbox/x");
        assert!(
            p[0].message
                .contains(&format!("{} does not exist", inbox.display())),
            "{}",
            p[0].message
        );
        std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
        std::fs::write(&inbox, "").unwrap();
        assert!(check_inbox(&profile, &settings)[0]
            .message
            .contains("is not a folder"));
        std::fs::remove_file(&inbox).unwrap();
        std::fs::create_dir(&inbox).unwrap();
        assert_eq!(check_inbox(&profile, &settings), vec![]);
    }
}
