//! Faults an operator meets through the command line (issue 19): totals that count only what
//! was published, `check` catching what would wedge a profile, and read-only commands that
//! never create state.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common;
use crate::common::profiles;
use crate::common::{stderr, stdout, Workspace};

/// A folder profile `p` whose file delivers nothing when a single row is rejected.
const STRICT: &str = r#"
[source]
type = "dir"
path = "inbox/p"
[[field]]
name = "id"
from = "ID"
type = "integer"
[validation]
max_reject_ratio = 0.0
[[output]]
type = "file"
path = "outbox/p_{seq}.csv"
"#;

/// Two good rows and one bad: mapped 2, rejected 1, and with `STRICT` published 0.
const ONE_BAD: &[u8] = b"ID\n1\n2\nthree\n";

/// Every file and folder under `dir` (hidden ones included), relative and sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(next) = todo.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            names.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                todo.push(path);
            }
        }
    }
    names.sort();
    names
}

#[test]
fn a_failed_job_shows_its_mapped_rows_and_nothing_published() {
    let ws = Workspace::new();
    ws.profile("p", STRICT);
    ws.drop_file("p", "x.csv", ONE_BAD);
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "failed");
    assert_eq!(jobs[0]["counts"]["written"], 2, "rows mapped: {}", jobs[0]);
    assert_eq!(jobs[0]["published"], 0, "{}", jobs[0]);
    assert_eq!(ws.job(1)["job"]["published"], 0);

    let csv = stdout(&ws.run(&["jobs", "--csv"]));
    assert!(
        csv.starts_with(
            "job,profile,file,status,read,filtered,rejected,mapped,published,failed,started,error\n"
        ),
        "{csv}"
    );
    assert!(csv.contains(",p,x.csv,failed,3,0,1,2,0,0,"), "{csv}");
    let detail = stdout(&ws.run(&["jobs", "--job", "1"]));
    assert!(
        detail.contains("read 3, filtered 0, rejected 1, mapped 2, published 0, failed 0"),
        "{detail}"
    );
    assert!(ws.files_under("outbox").is_empty());
}

#[test]
fn a_succeeded_job_published_what_it_mapped() {
    let ws = Workspace::new();
    ws.profile("p", STRICT);
    ws.drop_file("p", "x.csv", b"ID\n1\n2\n");
    assert!(ws.run(&["run", "--once"]).status.success());
    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "succeeded");
    assert_eq!(jobs[0]["published"], 2, "{}", jobs[0]);
}

#[test]
fn run_says_how_many_jobs_ran_and_how_they_ended() {
    let ws = Workspace::new();
    ws.profile("p", STRICT);
    ws.drop_file("p", "a.csv", b"ID\n1\n");
    ws.drop_file("p", "b.csv", ONE_BAD);
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("2 job(s): 1 succeeded, 1 failed\n"), "{text}");
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.contains("mapped") && l.contains("published")),
        "{text}"
    );

    let again = stdout(&ws.run(&["run", "--once"]));
    assert_eq!(again, "0 job(s): no files ready\n");
}

#[test]
fn a_file_taken_by_a_pass_that_stopped_is_not_reported_as_no_files_ready() {
    let ws = Workspace::new();
    ws.profile(
        "api",
        r#"
[source]
type = "dir"
path = "inbox/api"
[[field]]
name = "id"
from = "ID"
key = true
[[output]]
type = "http"
url = "http://127.0.0.1:9/employees"
auth = { type = "bearer", token = "${env:HRBRIDGE_FAULTS_UNSET}" }
"#,
    );
    ws.drop_file("api", "x.csv", b"ID\n1\n");
    let out = ws.cmd(&["run", "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(!text.contains("no files ready"), "{text}");
    assert!(
        text.contains(
            "job 1 (api, \"x.csv\") is committing: its pass stopped before the job ended; \
             the next run resumes it\n"
        ),
        "{text}"
    );
    assert!(text.contains("error: api: "), "{text}");
    let jobs = ws.jobs();
    assert_eq!(jobs[0]["status"], "committing");
    assert_eq!(jobs[0]["published"], 0);
}

#[test]
fn check_reports_a_missing_inbox_at_source_path() {
    let ws = Workspace::new();
    ws.profile("hires", &profiles::ids_to_file("hires", "outbox/h.csv"));
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    let inbox = ws.path().join("inbox/hires");
    assert!(
        err.contains(&format!(
            "error: inbox folder {0} does not exist: every pass of this profile would fail; create it (mkdir -p {0})",
            inbox.display()
        )),
        "{err}"
    );
    assert!(err.contains("profiles/hires.toml:3:8"), "{err}");
    assert!(err.contains("1 problem(s) found"), "{err}");

    fs::create_dir_all(&inbox).unwrap();
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn check_reports_a_schedule_that_never_fires() {
    let ws = Workspace::new();
    fs::create_dir_all(ws.path().join("inbox/s")).unwrap();
    ws.profile(
        "s",
        &format!(
            "schedule = \"0 0 30 2 *\"\n{}",
            profiles::ids_to_file("s", "outbox/s.csv")
        ),
    );
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: schedule \"0 0 30 2 *\" never fires (no such date comes again)"),
        "{err}"
    );
    assert!(err.contains("profiles/s.toml:1:12"), "{err}");
    assert_eq!(ws.run(&["run", "--once"]).status.code(), Some(2));
}

#[test]
fn check_on_the_bundled_profiles_says_what_to_create_and_set_as_the_readme_does() {
    // A fresh clone: the bundled profiles and tables, no hrbridge.toml, no inboxes, no state.
    let clone = tempfile::tempdir().unwrap();
    common::copy_dir(
        &common::repo().join("profiles"),
        &clone.path().join("profiles"),
    );
    common::copy_dir(&common::repo().join("tables"), &clone.path().join("tables"));
    let check = || {
        let out = assert_cmd::Command::cargo_bin("hrbridge")
            .unwrap()
            .current_dir(clone.path())
            .arg("check")
            .output()
            .unwrap();
        (out.status.code(), stderr(&out))
    };
    let (code, err) = check();
    assert_eq!(code, Some(1));
    let names: Vec<String> = fs::read_dir(clone.path().join("profiles"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for name in &names {
        assert!(
            err.contains(&format!("inbox/{name} does not exist")),
            "{name}: {err}"
        );
    }
    assert!(
        err.contains("store it with `hrbridge secrets set hris_client_secret`"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{} problem(s) found", names.len() + 2)),
        "{err}"
    );
    assert!(
        !clone.path().join("var").exists(),
        "check created state: {:?}",
        listing(clone.path())
    );

    // The README's first steps, as written there.
    let readme = fs::read_to_string(common::repo().join("README.md")).unwrap();
    let steps = [
        "mkdir -p inbox/ats-to-hris inbox/hris-to-benefits inbox/hris-to-benefits-834 inbox/hris-to-iam \\\n         inbox/hris-to-idp inbox/hris-to-lms inbox/hris-to-payroll inbox/payroll-fixed \\\n         inbox/survey-to-hris",
        "printf %s demo-secret | cargo run -- secrets set hris_client_secret",
    ];
    for step in steps {
        assert!(readme.contains(step), "README lacks {step:?}");
    }
    for name in &names {
        assert!(
            steps[0].contains(&format!("inbox/{name} "))
                || steps[0].ends_with(&format!("inbox/{name}")),
            "the README's mkdir misses inbox/{name}"
        );
    }
    for name in &names {
        fs::create_dir_all(clone.path().join("inbox").join(name)).unwrap();
    }
    let set = assert_cmd::Command::cargo_bin("hrbridge")
        .unwrap()
        .current_dir(clone.path())
        .args(["secrets", "set", "hris_client_secret"])
        .write_stdin("demo-secret")
        .output()
        .unwrap();
    assert!(set.status.success(), "{}", stderr(&set));
    let (code, err) = check();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn read_only_commands_in_an_empty_folder_create_nothing() {
    let ws = Workspace::new();
    let before = listing(ws.path());
    let note = format!(
        "no state yet: {} does not exist (nothing has run with these settings)",
        ws.path().join("var/hrbridge.db").display()
    );
    for (args, code, out) in [
        (vec!["jobs"], 0, "job  profile"),
        (vec!["jobs", "--json"], 0, "[]\n"),
        (vec!["jobs", "--csv"], 0, "job,profile,file,status"),
        (vec!["audit"], 0, "seq  at"),
        (vec!["audit", "--json"], 0, "[]\n"),
        (vec!["audit", "verify"], 0, "audit trail intact: 0 event(s)"),
        (vec!["jobs", "--job", "1"], 1, ""),
        (vec!["check"], 0, "ok: 0 profile(s) checked"),
    ] {
        let o = ws.run(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).starts_with(out), "{args:?}: {}", stdout(&o));
        if args[0] != "check" {
            assert!(stderr(&o).contains(&note), "{args:?}: {}", stderr(&o));
        }
        assert_eq!(listing(ws.path()), before, "{args:?} created state");
    }
}

#[test]
fn read_only_commands_leave_an_existing_database_untouched() {
    let ws = Workspace::new();
    ws.profile("p", STRICT);
    ws.drop_file("p", "x.csv", b"ID\n1\n");
    assert!(ws.run(&["run", "--once"]).status.success());
    let db = ws.path().join("var/hrbridge.db");
    let bytes = fs::read(&db).unwrap();
    let before = listing(&ws.path().join("var"));
    for args in [
        vec!["jobs"],
        vec!["jobs", "--job", "1"],
        vec!["audit"],
        vec!["audit", "verify"],
    ] {
        let o = ws.run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(fs::read(&db).unwrap(), bytes, "the database changed");
    // A reader of a WAL database may leave SQLite's own empty write-ahead log and its index
    // beside it (private like the database); the next writer removes them.
    let mut after = listing(&ws.path().join("var"));
    after.retain(|name| !before.contains(name));
    for name in &after {
        assert!(
            name == "hrbridge.db-shm" || name == "hrbridge.db-wal",
            "created {name}"
        );
        let mode = fs::metadata(ws.path().join("var").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    if let Ok(wal) = fs::metadata(ws.path().join("var/hrbridge.db-wal")) {
        assert_eq!(wal.len(), 0, "a read-only command wrote to the log");
    }
}

#[test]
fn preview_in_an_empty_folder_creates_nothing() {
    let ws = Workspace::new();
    ws.profile("p", STRICT);
    let file = ws.path().join("sample.csv");
    fs::write(&file, ONE_BAD).unwrap();
    let before = listing(ws.path());
    let out = ws.run(&["preview", "--profile", "p", "sample.csv"]);
    // One reject is over STRICT's 0 %: the preview says a run would fail, and still writes nothing.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("mapped 2"), "{text}");
    assert!(
        text.contains("a run would fail this file: 1 of 3 rows rejected"),
        "{text}"
    );
    assert_eq!(listing(ws.path()), before);
}

#[test]
fn keygen_refuses_a_missing_parent_directory() {
    let ws = Workspace::new();
    let before = listing(ws.path());
    let target = ws.path().join("missing/dir/k.key");
    let out = ws.run(&["keygen", "--output", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {}: the folder {} does not exist; create it first (mkdir -m 700)\n",
            target.display(),
            ws.path().join("missing/dir").display()
        )
    );
    assert!(stdout(&out).is_empty());
    assert_eq!(listing(ws.path()), before);

    // The default place, beside hrbridge.toml, is hrbridge's own and is still made.
    let out = ws.run(&["keygen"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(ws.path().join("keys/hrbridge.key").is_file());
}
