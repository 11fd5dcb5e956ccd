//! Shared harness for the CLI tests: a throwaway installation folder with its own
//! hrbridge.toml, profiles, inboxes and state, driven through the real binary.

pub mod age_cli;
pub mod daemon;
pub mod http_stub;
pub mod profiles;
pub mod pyx12;
pub mod rosters;
pub mod settled;
pub mod sshd;
pub mod tmpfs;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The repository root (where `profiles/` and `fixtures/` live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary installation folder.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// An empty installation with a settings file allowing outputs under `outbox/`.
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("hrbridge.toml"),
            "profiles = \"profiles\"\nstate_dir = \"var\"\noutput_roots = [\"outbox\"]\n",
        )
        .unwrap();
        fs::create_dir_all(dir.path().join("profiles")).unwrap();
        Workspace { dir }
    }

    /// The installation's state database, opened beside hrbridge (or while it is not running).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path().join("var/hrbridge.db")).expect("state database")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `profiles/<name>.toml`.
    pub fn profile(&self, name: &str, toml: &str) -> &Self {
        fs::write(
            self.path().join("profiles").join(format!("{name}.toml")),
            toml,
        )
        .unwrap();
        self
    }

    /// Copies a profile file from the repository (e.g. `fixtures/bad/profiles/bad-csv.toml`).
    pub fn profile_from(&self, repo_path: &str) -> &Self {
        let src = repo().join(repo_path);
        let name = src.file_name().unwrap();
        fs::copy(&src, self.path().join("profiles").join(name)).unwrap();
        self
    }

    /// Stores `value` as the secret `${secret:name}` with `hrbridge secrets set` (value on stdin).
    pub fn secret(&self, name: &str, value: &str) -> &Self {
        self.cmd(&["secrets", "set", name])
            .write_stdin(value)
            .assert()
            .success();
        self
    }

    /// Copies the repository's lookup tables into the workspace.
    pub fn tables(&self) -> &Self {
        copy_dir(&repo().join("tables"), &self.path().join("tables"));
        self
    }

    /// Puts `bytes` into `inbox/<profile>/<name>` with an mtime an hour ago (settled).
    pub fn drop_file(&self, profile: &str, name: &str, bytes: &[u8]) -> PathBuf {
        let dir = self.path().join("inbox").join(profile);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        age(&path);
        path
    }

    /// The hrbridge command, run in this workspace.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("hrbridge").unwrap();
        c.current_dir(self.path())
            .args(args)
            .env_remove("HRBRIDGE_LOG");
        c
    }

    /// Runs hrbridge and returns its output (never panics on a non-zero exit).
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "hrbridge panicked: {stderr}");
        out
    }

    /// `jobs --json` parsed.
    pub fn jobs(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["jobs", "--json", "--limit", "1000"]);
        assert!(
            out.status.success(),
            "jobs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `jobs --json --job ID` parsed.
    pub fn job(&self, id: i64) -> serde_json::Value {
        let out = self.run(&["jobs", "--json", "--job", &id.to_string()]);
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A job a lifecycle safeguard held: [`profiles::LIFECYCLE_PEOPLE`] as `people`, a first
    /// roster of ten people accepted, then a roster of three (seven leavers) held. Returns
    /// the held job's id.
    pub fn held_lifecycle_job(&self) -> i64 {
        self.held_lifecycle_job_of(10, 3)
    }

    /// [`Workspace::held_lifecycle_job`] with `first` people on the first day and only the
    /// first `then` of them on the second: `first - then` leavers are held.
    pub fn held_lifecycle_job_of(&self, first: usize, then: usize) -> i64 {
        self.profile("people", profiles::LIFECYCLE_PEOPLE);
        let roster = |n: usize| {
            let mut csv = String::from("ID,SSN,Department\n");
            for i in 1..=n {
                csv.push_str(&format!("E{i:03},900-00-{i:04},Sales\n"));
            }
            csv
        };
        self.drop_file("people", "people_1.csv", roster(first).as_bytes());
        assert!(self.run(&["run", "--once"]).status.success());
        self.drop_file("people", "people_2.csv", roster(then).as_bytes());
        self.run(&["run", "--once"]);
        let job = &self.jobs()[0];
        assert_eq!(job["status"], "held", "{job}");
        job["id"].as_i64().unwrap()
    }

    /// Names of the visible (non-hidden) files under `rel`, recursively, sorted.
    pub fn files_under(&self, rel: &str) -> Vec<String> {
        let root = self.path().join(rel);
        let mut names: Vec<String> = all_files(&root)
            .into_iter()
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        names.sort();
        names
    }
}

pub use settled::age;

/// The `auth = ...` line of an `[[output]]` logging in to the stand-in API at `base` with
/// OAuth2 as `hrbridge-demo`, its client secret kept as `${secret:hris}`.
pub fn standin_oauth2(base: &str) -> String {
    format!(
        r#"auth = {{ type = "oauth2", token_url = "{base}/oauth/token", client_id = "hrbridge-demo", client_secret = "${{secret:hris}}" }}"#
    )
}

/// Sets a file's mtime to `at` (e.g. long ago, for retention).
pub fn set_mtime(path: &Path, at: std::time::SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

/// Whether the external program `name` can run. Without it a test skips with a notice,
/// except under `CI=true`, where that is a failure (CI installs what the tests need).
pub fn have_tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is missing: CI must install it (see .ci/run)"
        );
        eprintln!("SKIPPED: {name} is not installed");
    }
    found
}

/// The opening of a test that runs external programs: `skip_unless_tools!("age", "age-keygen");`
/// returns from the test (after a notice) unless each is installed. Under `CI=true` a missing
/// one fails the test instead ([`have_tool`] panics): CI never skips it.
#[macro_export]
macro_rules! skip_unless_tools {
    ($($tool:expr),+) => {
        if !($($crate::common::have_tool($tool))&&+) {
            return;
        }
    };
}

/// Every file under `dir`, recursively, hidden ones included (none when `dir` is missing).
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(dir, &mut found);
    found
}

/// Whether `needle` occurs anywhere in `haystack` (e.g. a canary in a file's raw bytes).
pub fn contains_bytes(haystack: &[u8], needle: impl AsRef<[u8]>) -> bool {
    let needle = needle.as_ref();
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The files under `dir` (recursively, hidden ones included) whose bytes hold `needle`.
pub fn files_holding(dir: &Path, needle: impl AsRef<[u8]>) -> Vec<PathBuf> {
    let needle = needle.as_ref();
    all_files(dir)
        .into_iter()
        .filter(|p| contains_bytes(&fs::read(p).unwrap_or_default(), needle))
        .collect()
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, found);
        } else {
            found.push(p);
        }
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The rows of a job's rejections, in order, with their reasons.
pub fn rejected_rows(detail: &serde_json::Value) -> Vec<(u64, String)> {
    detail["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
