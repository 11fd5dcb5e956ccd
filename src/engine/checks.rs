//! Every check a profile passes before it runs, at the layer that sees every component: the
//! loader runs the profile language's own rules, and [`check`] adds each component's (source,
//! decryption identities, notifications, format, outputs) and compiles the mapping plan. The
//! plan compiled here is kept with the profile ([`Checked`]): every pass and job of this start
//! uses it.
//!
//! `hrbridge check` adds rules of its own (every secret referenced is set, every inbox
//! exists) and points out [`warnings`]: things that work but may not do what the author meant.

use crate::kernel::secret::{SecretRef, SecretStore};
use crate::output::open::open as open_output;
use crate::output::template::NameTemplate;
use crate::profile::load;
use crate::profile::{Diagnostic, KeyPath, NotifySpec, Problem, Profile};
use crate::settings::Settings;
use crate::source::open::open as open_source;
use crate::transform::MappingPlan;

/// A loaded profile that passed every check, with the mapping plan compiled while checking it.
#[derive(Debug)]
pub struct Checked {
    pub profile: Profile,
    pub plan: MappingPlan,
}

/// Loads every profile of the profile folder (see [`load::load_profiles`]) with every check:
/// what `run`, the daemon, the dashboard and the other commands that use profiles start from.
pub fn load_profiles(settings: &Settings) -> Result<Vec<Checked>, Vec<Diagnostic>> {
    load_profiles_and(settings, &|_| Vec::new())
}

/// [`load_profiles`] with an `extra` rule run on each profile besides every check, its problems
/// located like theirs (`hrbridge check` adds the missing secrets and inboxes this way).
pub fn load_profiles_and(
    settings: &Settings,
    extra: &dyn Fn(&Profile) -> Vec<Problem>,
) -> Result<Vec<Checked>, Vec<Diagnostic>> {
    let rules = |profile: &Profile| {
        let checked = check(profile, settings);
        let extra = extra(profile);
        match checked {
            Ok(plan) if extra.is_empty() => Ok(plan),
            Ok(_) => Err(extra),
            Err(problems) => Err([problems, extra].concat()),
        }
    };
    let loaded = load::load_profiles_with(settings, &rules)?;
    Ok(loaded
        .into_iter()
        .map(|(profile, plan)| Checked { profile, plan })
        .collect())
}

/// The rules of the components `profile` uses, each written next to the code that relies on
/// it, then its mapping plan compiled (which also checks the columns it reads against
/// `sample_header`): the plan, or every problem found.
pub fn check(profile: &Profile, settings: &Settings) -> Result<MappingPlan, Vec<Problem>> {
    let mut problems = crate::source::check(profile);
    problems.extend(crate::source::decrypt::check(profile, settings));
    problems.extend(crate::output::webhook::check(profile));
    problems.extend(crate::format::check::check(&profile.format));
    problems.extend(crate::output::check(profile, settings));
    problems.extend(crate::privacy::check::check(profile));
    match MappingPlan::compile(profile, settings) {
        Ok(plan) if problems.is_empty() => Ok(plan),
        Ok(_) => Err(problems),
        Err(found) => Err([problems, found].concat()),
    }
}

/// What `hrbridge check` points out in a valid profile: things that work but may not do what
/// the author meant.
pub fn warnings(profile: &Profile) -> Vec<Problem> {
    let mut warnings = crate::privacy::check::warnings(profile);
    check_daily_collisions(profile, &mut warnings);
    warnings
}

/// A file or SFTP output named by the date alone gets the same name for every input of a day:
/// the second one is refused (a local file is never replaced, nor a remote one without
/// `overwrite = true`).
fn check_daily_collisions(profile: &Profile, warnings: &mut Vec<Problem>) {
    for (i, out) in profile.outputs.iter().enumerate() {
        let Some(path) = open_output(out).file().map(|f| &f.path) else {
            continue;
        };
        let repeats = NameTemplate::parse(path).is_ok_and(|t| t.repeats_within_a_day());
        if repeats {
            warnings.push(Problem::new(
                KeyPath::output(i).key("path"),
                format!(
                    "`{path}` names every file of a day the same: a second input that day is \
                     refused (the first file is never replaced); add {{seq}}, {{source_stem}} \
                     or a time (`{{date:%Y%m%d_%H%M%S}}`)"
                ),
            ));
        }
    }
}

/// `hrbridge check` only: every secret `profile` references must be set — in `secrets` for
/// `${secret:NAME}` (`None`: the store could not be read, so none is), in this process's
/// environment for `${env:NAME}`. Problems name the reference, never a value. (Not among the
/// checks profiles are loaded with: at run time a missing secret fails the job that needs it,
/// with the same message.)
pub fn check_secrets(profile: &Profile, secrets: Option<&SecretStore>) -> Vec<Problem> {
    secret_refs(profile)
        .into_iter()
        .filter(|(_, r)| !r.is_set(secrets))
        .map(|(at, r)| Problem::new(at, r.not_set()))
        .collect()
}

/// Every secret reference of `profile`, with the key path it is written at.
pub fn secret_refs(profile: &Profile) -> Vec<(KeyPath, &SecretRef)> {
    let mut found = Vec::new();
    let source = open_source(&profile.source);
    if let Some(r) = source.identity_passphrase() {
        found.push((KeyPath::root().key("source").key("identity_passphrase"), r));
    }
    source.secret_refs(KeyPath::root().key("source"), &mut found);
    for (i, output) in profile.outputs.iter().enumerate() {
        open_output(output).secret_refs(KeyPath::output(i), &mut found);
    }
    for (i, notify) in profile.notify.iter().enumerate() {
        let NotifySpec::Webhook(hook) = notify;
        let at = KeyPath::root().key("notify").index(i).key("secret");
        found.push((at, &hook.secret));
    }
    found
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::profile::fixtures::{self, paths, profile_of, settings, MINIMAL};
    use crate::settings::SettingsFile;

    /// What the loader finds in the minimal profile with `extra` in front: the profile
    /// language's own problems, then every component's.
    fn problems_of(extra: &str) -> Vec<Problem> {
        let profile = profile_of(extra);
        let mut problems = crate::profile::check::check(&profile);
        problems.extend(check(&profile, &settings()).err().unwrap_or_default());
        problems
    }

    /// Writes `text` as profiles/`stem`.toml and loads it with every check; returns its path.
    fn load_text(stem: &str, text: &str) -> (PathBuf, Result<Profile, Vec<Diagnostic>>) {
        fixtures::load_text(stem, text, |path, settings| {
            load::load_profile_file_with(path, &|p| check(p, settings)).map(|(profile, _)| profile)
        })
    }

    fn errors(text: &str) -> (PathBuf, Vec<String>) {
        let (path, result) = load_text("p", text);
        (path, fixtures::errors_of(result))
    }

    #[test]
    fn minimal_profile_has_no_problems() {
        assert_eq!(problems_of(""), vec![]);
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
    fn every_secret_reference_is_found_and_missing_ones_are_named() {
        let profile: Profile = toml::from_str(
            r#"
            name = "s"
            field = [{ name = "id", from = "ID" }]
            [source]
            type = "sftp"
            host = "h"
            user = "u"
            private_key = "k"
            passphrase = "${secret:key_pp}"
            known_hosts = "kh"
            path = "/x"
            [[output]]
            type = "file"
            path = "outbox/x.csv"
            [[output]]
            type = "http"
            url = "https://api.example.com/e"
            auth = { type = "basic", username = "u", password = "${secret:api_pw}" }
            headers = { X-Tenant = "t1", X-Key = "${env:HRBRIDGE_TEST_UNSET_KEY}" }
            [[output]]
            type = "sftp"
            host = "h"
            user = "u"
            password = "${secret:out_pw}"
            known_hosts = "kh"
            path = "/in/x.csv"
            [[notify]]
            type = "webhook"
            url = "https://hooks.example.com/x"
            secret = "${secret:hook}"
            "#,
        )
        .unwrap();
        let refs: Vec<String> = secret_refs(&profile)
            .iter()
            .map(|(at, r)| format!("{at} {r}"))
            .collect();
        assert_eq!(
            refs,
            [
                "source.passphrase ${secret:key_pp}",
                "output[1].auth.password ${secret:api_pw}",
                "output[1].headers.X-Key ${env:HRBRIDGE_TEST_UNSET_KEY}",
                "output[2].password ${secret:out_pw}",
                "notify[0].secret ${secret:hook}",
            ]
        );

        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::resolve(None, dir.path().to_path_buf(), SettingsFile::default());
        let mut secrets = SecretStore::open(&settings.state_dir).unwrap();
        secrets
            .set("api_pw", zeroize::Zeroizing::new("pw-value".into()))
            .unwrap();
        secrets
            .set("hook", zeroize::Zeroizing::new("hook-value".into()))
            .unwrap();
        let problems = check_secrets(&profile, Some(&secrets));
        assert_eq!(
            paths(&problems),
            [
                "source.passphrase",
                "output[1].headers.X-Key",
                "output[2].password"
            ]
        );
        assert!(problems[0].message.contains("hrbridge secrets set key_pp"));
        assert!(problems[1]
            .message
            .contains("HRBRIDGE_TEST_UNSET_KEY is not set"));
    }

    #[test]
    fn semantic_problems_point_at_the_offending_value() {
        let text = format!("{MINIMAL}[[field]]\nname = \"id\"\nfrom = \"Other\"\n");
        let (path, e) = errors(&text);
        assert_eq!(
            e,
            [format!(
                "error: field name \"id\" is already used by field[0]\n  \
                 --> {}:11:8\n   |\n11 | name = \"id\"\n   |        ^^^^",
                path.display()
            )]
        );
    }

    #[test]
    fn realistic_profile_loads_cleanly() {
        let text = r#"name = "ats-to-hris"
description = "Accepted offers in the ATS export become employees in the HRIS"
sample_header = ["Candidate ID", "hire_date", "Type", "SSN", "Status"]

[source]
type = "dir"
path = "inbox/ats"
pattern = "hires_*.csv"
settle = "10s"
done_marker = ".done"

[format]
type = "csv"
delimiter = ","
encoding = "auto"
header_row = 1

[format.limits]
max_cells = 1000000

[[field]]
name = "employee_id"
key = true
from = "Candidate ID"
required = true

[[field]]
name = "start_date"
from = "hire_date"
type = "date"
input_formats = ["%m/%d/%Y"]
format = "%Y-%m-%d"

[[field]]
name = "employment_type"
from = "Type"

[field.map]
FT = "full_time"
PT = "part_time"

[[field]]
name = "ssn_last4"
from = "SSN"
pii = true
transform = ["digits_only"]

[[filter]]
column = "Status"
equals = "Accepted"

[validation]
max_reject_ratio = 0.05
min_rows = 1

[[output]]
type = "file"
path = "outbox/hris/hires_{date:%Y%m%d}_{seq}.csv"
format = "csv"
"#;
        let (_, result) = load_text("ats", text);
        let profile = result.unwrap();
        assert_eq!(profile.name, "ats-to-hris");
        assert_eq!(profile.fields.len(), 4);
        assert_eq!(profile.filters.len(), 1);
        assert_eq!(profile.outputs.len(), 1);
        assert_eq!(profile.validation.min_rows, Some(1));
        assert_eq!(profile.format.limits.max_cells, 1_000_000);
        let crate::profile::SourceSpec::Dir(dir) = &profile.source else {
            panic!("a dir source");
        };
        assert_eq!(dir.settle.map(|d| d.0.as_secs()), Some(10));
    }
    /// The key paths of the problems of a profile keyed by `emp`, with `lifecycle` and one
    /// `http` output of the keys `output`.
    fn http_problems(lifecycle: &str, output: &str) -> Vec<String> {
        let text = format!(
            "name = \"l\"\n{lifecycle}\n[source]\ntype = \"dir\"\npath = \"inbox/x\"\n\
             [[field]]\nname = \"emp\"\nfrom = \"ID\"\nkey = true\n\
             [[output]]\ntype = \"http\"\n{output}\n"
        );
        let profile: Profile = toml::from_str(&text).unwrap();
        paths(&check(&profile, &settings()).err().unwrap_or_default())
    }

    #[test]
    fn http_templates_of_a_lifecycle_profile_may_use_the_change_fields() {
        let output = "url = \"https://api.example.com/people/{change}\"\n\
                      body = { who = \"{emp}\", changed = \"{changed_fields}\" }";
        let lifecycle = "[lifecycle]\nmode = \"snapshot\"";
        assert_eq!(http_problems(lifecycle, output), Vec::<String>::new());
        assert_eq!(
            http_problems("", output),
            ["output[0].url", "output[0].body"]
        );
    }

    #[test]
    fn routes_per_kind_of_change_are_checked_like_the_outputs_own_keys() {
        let text = |lifecycle: &str, on: &str| {
            (
                lifecycle.to_string(),
                format!("url = \"https://api.example.com/people\"\n{on}"),
            )
        };
        let of = |(lifecycle, output): (String, String)| http_problems(&lifecycle, &output);
        let lifecycle = "[lifecycle]\nmode = \"snapshot\"";
        let good = "[output.on.leaver]\nmethod = \"DELETE\"\nurl = \"https://api.example.com/people/{emp}\"";
        assert_eq!(of(text(lifecycle, good)), Vec::<String>::new());
        assert_eq!(of(text("", good)), ["output[0].on"]);
        let batched = format!("batch_size = 10\n{good}");
        assert_eq!(of(text(lifecycle, &batched)), ["output[0].on"]);
        let unknown = "[output.on.retiree]\nmethod = \"DELETE\"";
        assert_eq!(of(text(lifecycle, unknown)), ["output[0].on.retiree"]);
        let bad =
            "[output.on.mover]\nurl = \"http://api.example.com/{nope}\"\nbody = { a = \"{nope}\" }";
        assert_eq!(
            of(text(lifecycle, bad)),
            [
                "output[0].on.mover.url",
                "output[0].on.mover.url",
                "output[0].on.mover.body"
            ]
        );
    }
}
