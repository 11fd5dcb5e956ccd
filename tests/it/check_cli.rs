//! `hrbridge check`: every problem, located with file:line:column and a caret; a broken profile
//! makes every other command a configuration error (exit 2).

use crate::common;
use crate::common::profiles;
use crate::common::{stderr, stdout, Workspace};

const THREE_MISTAKES: &str = r#"name = "hires"

[source]
type = "dir"
path = "inbox/hires"
settle = "10 parsecs"

[format]
type = "xlsz"

[[field]]
name = "employee_id"
from = "ID"

[[field]]
name = "email"
fromm = "Email"

[[output]]
type = "file"
path = "outbox/hires.csv"
"#;

#[test]
fn three_mistakes_give_three_located_errors() {
    let ws = Workspace::new();
    ws.profile("hires", THREE_MISTAKES);
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(
        err.matches("error:").count(),
        4,
        "three problems and a total line: {err}"
    );
    assert!(err.contains("3 problem(s)"), "{err}");
    for (loc, text) in [
        ("profiles/hires.toml:6:10", "10 parsecs"),
        ("profiles/hires.toml:9:8", "xlsz"),
        ("profiles/hires.toml:17:1", "fromm"),
    ] {
        assert!(err.contains(loc), "missing {loc} in:\n{err}");
        assert!(err.contains(text), "missing {text} in:\n{err}");
    }
    // The caret line underlines the offending key.
    assert!(err.contains("17 | fromm = \"Email\"\n   | ^^^^^"), "{err}");

    for args in [
        vec!["run", "--once"],
        vec!["preview", "--profile", "hires", "x.csv"],
    ] {
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn semantic_mistakes_are_located_too() {
    let ws = Workspace::new();
    ws.profile(
        "pay",
        r#"
sample_header = ["ID", "Hired"]
[source]
type = "dir"
path = "inbox/pay"
[[field]]
name = "id"
from = "ID"
transform = ["trim", "shout"]
[[field]]
name = "start"
from = "Hire Date"
type = "date"
input_formats = ["%m/%q/%Y"]
[[field]]
name = "id"
from = "ID"
[[output]]
type = "file"
path = "../../etc/out.csv"
"#,
    );
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for needle in [
        "shout",
        "%m/%q/%Y",
        "Hire Date",
        "contains `..`",
        "pay.toml:16:8",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn a_good_configuration_checks_clean() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("inbox/ok")).unwrap();
    ws.profile("ok", &profiles::ids_to_file("ok", "outbox/ok.csv"));
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 profile(s) checked: ok"));
}

#[test]
fn the_bundled_profiles_check_clean_once_their_secret_is_set() {
    let ws = Workspace::new();
    for entry in std::fs::read_dir(common::repo().join("profiles")).unwrap() {
        let name = entry.unwrap().file_name();
        ws.profile_from(&format!("profiles/{}", name.to_string_lossy()));
    }
    ws.tables();
    for entry in std::fs::read_dir(ws.path().join("profiles")).unwrap() {
        let stem = entry.unwrap().path().file_stem().unwrap().to_owned();
        std::fs::create_dir_all(ws.path().join("inbox").join(stem)).unwrap();
    }
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("${secret:hris_client_secret} is not set"),
        "{}",
        stderr(&out)
    );
    ws.secret("hris_client_secret", "demo-secret");
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("9 profile(s) checked"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn parse_errors_and_semantic_errors_are_reported_together() {
    let ws = Workspace::new();
    ws.profile_from("fixtures/check/three_mistakes.toml");
    std::fs::create_dir_all(ws.path().join("inbox/three-mistakes")).unwrap();
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for loc in [
        "three_mistakes.toml:11:8",
        "three_mistakes.toml:23:1",
        "three_mistakes.toml:33:8",
    ] {
        assert!(err.contains(loc), "missing {loc} in:\n{err}");
    }
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(err.contains("\"last_name\" is already used"), "{err}");
    assert_eq!(ws.run(&["run", "--once"]).status.code(), Some(2));
    assert_eq!(
        ws.run(&["jobs"]).status.code(),
        Some(0),
        "jobs does not read profiles"
    );
}

#[test]
fn schedules_and_time_zones_are_checked() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("inbox/s")).unwrap();
    let profile = |schedule: &str, tz: &str| {
        format!(
            "schedule = \"{schedule}\"\ntimezone = \"{tz}\"\n{}",
            profiles::ids_to_file("s", "outbox/s.csv")
        )
    };
    ws.profile("s", &profile("*/15 * * * *", "Europe/Berlin"));
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    ws.profile("s", &profile("every tuesday", "Mars/Olympus"));
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("s.toml:1:12") && err.contains("s.toml:2:12"),
        "{err}"
    );
}

/// The bundled LMS profile may send only identity, contact and employment data: mapping the
/// export's salary into it fails `check` at the field's category, and `check` lists what each
/// output sends.
#[test]
fn an_lms_output_that_would_carry_compensation_is_refused_at_its_field() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("inbox/hris-to-lms")).unwrap();
    ws.profile_from("profiles/hris-to-lms.toml").tables();
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    assert!(
        listed.contains("what each output sends")
            && listed.contains("identity, contact, employment")
            && listed.contains("Example Learning B.V. (NL)"),
        "{listed}"
    );

    let bundled =
        std::fs::read_to_string(common::repo().join("profiles/hris-to-lms.toml")).unwrap();
    let salary = "[[field]]\nname = \"annual_salary\"\nfrom = \"Annual Salary\"\ncategory = \"compensation\"\n\n";
    let at = bundled
        .find("[validation]")
        .expect("the LMS profile has [validation]");
    let text = format!("{}{salary}{}", &bundled[..at], &bundled[at..]);
    let line = bundled[..at].lines().count() + 4;
    ws.profile("hris-to-lms", &text);
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    let loc = format!("profiles/hris-to-lms.toml:{line}:12");
    assert!(err.contains(&loc), "missing {loc} in:\n{err}");
    assert!(
        err.contains("`annual_salary` is compensation data")
            && err.contains("allowed_categories: identity, contact, employment"),
        "{err}"
    );
    assert!(err.contains("1 problem(s)"), "{err}");
}
