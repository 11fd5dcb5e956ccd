//! Semantic checks of a profile that deserialized cleanly: rules serde cannot express.
//!
//! Each rule reports a [`Problem`] at the key path of the offending value; the loader maps the
//! path to a line and column. Rules that belong to another module (formats, transforms,
//! outputs, sources) live with that module and are called from [`check`], so that each rule is
//! written once, next to the code that relies on it.

use std::collections::HashMap;

use super::model::{
    ApiConnectionSpec, AuthSpec, HeaderValueSpec, NotifySpec, OutputSpec, Profile,
    SftpConnectionSpec, SourceSpec,
};
use super::problem::{KeyPath, Problem};
use crate::kernel::secret::{SecretRef, SecretStore};
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
    problems.extend(super::schedule::check(profile));
    problems.extend(crate::output::webhook::check(profile));
    problems.extend(crate::format::check::check(&profile.format));
    problems.extend(crate::output::check(profile, settings));
    // The mapping plan also checks the columns it reads against `sample_header`.
    if let Err(found) = MappingPlan::compile(profile, settings) {
        problems.extend(found);
    }

    problems
}

/// What `hrbridge check` points out in a valid profile: things that work but may not do what
/// the author meant.
pub fn warnings(profile: &Profile) -> Vec<Problem> {
    let mut warnings = Vec::new();
    check_daily_collisions(profile, &mut warnings);
    warnings
}

/// A file or SFTP output named by the date alone gets the same name for every input of a day:
/// the second one is refused (a local file is never replaced, nor a remote one without
/// `overwrite = true`).
fn check_daily_collisions(profile: &Profile, warnings: &mut Vec<Problem>) {
    for (i, out) in profile.outputs.iter().enumerate() {
        let path = match out {
            OutputSpec::File(spec) => &spec.path,
            OutputSpec::Sftp(spec) => &spec.file.path,
            OutputSpec::Http(_) | OutputSpec::Scim(_) => continue,
        };
        let repeats = crate::output::template::NameTemplate::parse(path)
            .is_ok_and(|t| t.repeats_within_a_day());
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

/// `hrbridge check` only: every secret `profile` references must be set — in `secrets` for
/// `${secret:NAME}` (`None`: the store could not be read, so none is), in this process's
/// environment for `${env:NAME}`. Problems name the reference, never a value. (Not part of
/// [`check`]: at run time a missing secret fails the job that needs it, with the same message.)
pub fn check_secrets(profile: &Profile, secrets: Option<&SecretStore>) -> Vec<Problem> {
    secret_refs(profile)
        .into_iter()
        .filter(|(_, r)| !r.is_set(secrets))
        .map(|(at, r)| Problem::new(at, r.not_set()))
        .collect()
}

/// `hrbridge check` only: the inbox folder of a `dir` source must exist, or every pass of the
/// profile fails. (Not part of [`check`]: the daemon and `run` start without it and report
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

/// Every secret reference of `profile`, with the key path it is written at.
pub fn secret_refs(profile: &Profile) -> Vec<(KeyPath, &SecretRef)> {
    let mut found = Vec::new();
    if let Some(r) = crate::source::decrypt::identity_passphrase(profile) {
        found.push((KeyPath::root().key("source").key("identity_passphrase"), r));
    }
    if let SourceSpec::Sftp(source) = &profile.source {
        sftp_refs(
            &source.connection,
            KeyPath::root().key("source"),
            &mut found,
        );
    }
    for (i, output) in profile.outputs.iter().enumerate() {
        let at = KeyPath::output(i);
        match output {
            OutputSpec::File(_) => {}
            OutputSpec::Sftp(o) => sftp_refs(&o.connection, at, &mut found),
            OutputSpec::Http(o) => api_refs(&o.connection, at, &mut found),
            OutputSpec::Scim(o) => api_refs(&o.connection, at, &mut found),
        }
    }
    for (i, notify) in profile.notify.iter().enumerate() {
        let NotifySpec::Webhook(hook) = notify;
        let at = KeyPath::root().key("notify").index(i).key("secret");
        found.push((at, &hook.secret));
    }
    found
}

fn sftp_refs<'p>(
    spec: &'p SftpConnectionSpec,
    at: KeyPath,
    found: &mut Vec<(KeyPath, &'p SecretRef)>,
) {
    for (key, r) in [
        ("passphrase", &spec.passphrase),
        ("password", &spec.password),
    ] {
        if let Some(r) = r {
            found.push((at.clone().key(key), r));
        }
    }
}

fn api_refs<'p>(
    spec: &'p ApiConnectionSpec,
    at: KeyPath,
    found: &mut Vec<(KeyPath, &'p SecretRef)>,
) {
    let auth = at.clone().key("auth");
    match &spec.auth {
        None => {}
        Some(AuthSpec::Oauth2(a)) => found.push((auth.key("client_secret"), &a.client_secret)),
        Some(AuthSpec::Bearer(a)) => found.push((auth.key("token"), &a.token)),
        Some(AuthSpec::ApiKey(a)) => found.push((auth.key("key"), &a.key)),
        Some(AuthSpec::Basic(a)) => found.push((auth.key("password"), &a.password)),
    }
    for (name, value) in &spec.headers {
        if let HeaderValueSpec::Secret(r) = value {
            found.push((at.clone().key("headers").key(name), r));
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

    #[test]
    fn every_secret_reference_is_found_and_missing_ones_are_named() {
        let profile: Profile = toml::from_str(
            r#"
            name = "s"
            [source]
            type = "sftp"
            host = "h"
            user = "u"
            private_key = "k"
            passphrase = "${secret:key_pp}"
            known_hosts = "kh"
            path = "/x"
            [[field]]
            name = "id"
            from = "ID"
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
}
