//! The lifecycle tests' harness: generated people and full rosters of them as CSV, a roster
//! profile built from parts, this harness's own model of the delta rules (what a file should
//! change against the accepted snapshot), and readers of what hrbridge and the stand-in say
//! happened (`changes --json`, change files, SCIM users).
//!
//! The model is written from the rules in the README, not from hrbridge's code, so that a
//! test comparing the two proves something.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use super::{stderr, stdout, Workspace};
use hrbridge::standin::StandinApi;

/// One person as the HRIS exports them.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub given: String,
    pub email: String,
    pub dept: String,
    pub status: String,
    pub ssn: String,
}

/// A full roster: everyone in one export, by key.
pub type Roster = BTreeMap<String, Person>;

/// The accepted snapshot as the model keeps it: each person ever seen, and whether active.
pub type Snapshot = BTreeMap<String, (Person, bool)>;

/// Changes by kind (`joiner`, `mover`, `leaver`, `rehire`), then key, then the sorted names
/// of the changed fields (empty for joiners and leavers by absence).
pub type Changes = BTreeMap<&'static str, BTreeMap<String, Vec<String>>>;

/// The change kinds, as the plan names them.
pub const KINDS: [&str; 4] = ["joiner", "mover", "leaver", "rehire"];

/// The key of person `i`.
pub fn key(i: usize) -> String {
    format!("P{i:05}")
}

/// Person `i`'s canary SSN: a value found nowhere else, so its bytes can be searched for.
pub fn ssn(i: usize) -> String {
    format!("878-{:02}-{:04}", i % 100, 4000 + i)
}

/// People `1..=n`, active, in four departments.
pub fn people(n: usize) -> Roster {
    (1..=n)
        .map(|i| {
            let person = Person {
                given: format!("Given{i}"),
                email: format!("p{i}@example.com"),
                dept: ["Sales", "Ops", "Eng", "HR"][i % 4].to_string(),
                status: "Active".to_string(),
                ssn: ssn(i),
            };
            (key(i), person)
        })
        .collect()
}

/// The export's header line.
pub const HEADER: &str = "Employee,Given,Email,Department,Status,SSN";

/// One person as a CSV line (no quoting: the generated values need none).
pub fn csv_line(k: &str, p: &Person) -> String {
    format!(
        "{k},{},{},{},{},{}\n",
        p.given, p.email, p.dept, p.status, p.ssn
    )
}

/// `roster` as the HRIS exports it.
pub fn csv(roster: &Roster) -> Vec<u8> {
    let mut out = format!("{HEADER}\n");
    for (k, p) in roster {
        out.push_str(&csv_line(k, p));
    }
    out.into_bytes()
}

/// A person's mapped fields in the standard roster profile, by output field name (the
/// profile trims the department; it does not map the SSN).
pub fn mapped(p: &Person) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("userName", p.email.clone()),
        ("name.givenName", p.given.clone()),
        ("enterprise.department", p.dept.trim().to_string()),
        ("status", p.status.clone()),
    ])
}

/// What the rules say `file` changes against the accepted `snapshot`, for the standard
/// profile's fields.
pub fn expected(snapshot: &Snapshot, file: &Roster) -> Changes {
    expected_by(snapshot, file, mapped)
}

/// What the rules say `file` changes against `snapshot`, for a profile whose mapped fields
/// are `mapped`'s: a new key is a joiner (unless terminated), an active person whose fields
/// differ a mover, a terminated status or a missing key a leaver, a leaver back a rehire.
pub fn expected_by(
    snapshot: &Snapshot,
    file: &Roster,
    mapped: impl Fn(&Person) -> BTreeMap<&'static str, String>,
) -> Changes {
    let mut out = Changes::new();
    for (k, p) in file {
        let terminated = p.status == "Terminated";
        let kind = match snapshot.get(k) {
            None if terminated => None,
            None => Some("joiner"),
            Some((_, true)) if terminated => Some("leaver"),
            Some((_, false)) if !terminated => Some("rehire"),
            Some((old, true)) if mapped(old) != mapped(p) => Some("mover"),
            _ => None,
        };
        if let Some(kind) = kind {
            let changed = match snapshot.get(k) {
                Some((old, _)) => {
                    let (a, b) = (mapped(old), mapped(p));
                    a.keys()
                        .filter(|f| a[*f] != b[*f])
                        .map(|f| f.to_string())
                        .collect()
                }
                _ => Vec::new(),
            };
            out.entry(kind).or_default().insert(k.clone(), changed);
        }
    }
    for (k, (_, active)) in snapshot {
        if *active && !file.contains_key(k) {
            out.entry("leaver")
                .or_default()
                .insert(k.clone(), Vec::new());
        }
    }
    out
}

/// The snapshot after `file` is accepted.
pub fn accept(snapshot: &mut Snapshot, file: &Roster) {
    for (k, (_, active)) in snapshot.iter_mut() {
        if !file.contains_key(k) {
            *active = false;
        }
    }
    for (k, p) in file {
        snapshot.insert(k.clone(), (p.clone(), p.status != "Terminated"));
    }
}

/// The keys of the active people of `snapshot`.
pub fn active_in(snapshot: &Snapshot) -> BTreeSet<String> {
    snapshot
        .iter()
        .filter(|(_, (_, active))| *active)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Every key `changes` names, whatever its kind.
pub fn keys_of(changes: &Changes) -> BTreeSet<String> {
    changes.values().flat_map(|m| m.keys().cloned()).collect()
}

/// The `[[output]]` of the changes file, `outbox/changes_{seq}.csv`.
pub const CHANGES_FILE: &str = r#"
[[output]]
type = "file"
path = "outbox/changes_{seq}.csv"
format = "csv"
"#;

/// The `[[output]]` of the whole roster, `outbox/roster_{seq}.csv` (`send = "roster"`).
pub const ROSTER_FILE: &str = r#"
[[output]]
type = "file"
path = "outbox/roster_{seq}.csv"
format = "csv"
send = "roster"
"#;

/// A profile `roster` over `inbox/roster`: `[lifecycle]` with the status field `status`
/// (`terminated_values = ["terminated"]`), the fields `externalId` (the key, from
/// `Employee`), `userName` (PII, `Email`), `name.givenName` (PII, `Given`),
/// `enterprise.department` (trimmed, `Department`) and `status`; each part below is added
/// where its name says.
#[derive(Debug, Default, Clone, Copy)]
pub struct RosterProfile<'a> {
    /// More `[lifecycle]` keys.
    pub lifecycle: &'a str,
    /// `[validation]` keys (the table is left out when empty).
    pub validation: &'a str,
    /// More keys of the `userName` field (e.g. a `pattern`).
    pub user_name: &'a str,
    /// More `[[field]]` tables, after the standard ones.
    pub fields: &'a str,
    /// The stand-in's base URL: the first output is then SCIM to it ([`scim_output`]), with
    /// `scim` keys added.
    pub scim_to: Option<&'a str>,
    pub scim: &'a str,
    /// More `[[output]]` tables (e.g. [`CHANGES_FILE`]).
    pub outputs: &'a str,
}

impl RosterProfile<'_> {
    /// The profile's TOML.
    pub fn toml(&self) -> String {
        let mut out = format!(
            r#"
[source]
type = "dir"
path = "inbox/roster"

[lifecycle]
mode = "snapshot"
status_field = "status"
terminated_values = ["terminated"]
{}
"#,
            self.lifecycle
        );
        if !self.validation.is_empty() {
            out.push_str(&format!("[validation]\n{}\n", self.validation));
        }
        out.push_str(&format!(
            r#"
[[field]]
name = "externalId"
from = "Employee"
key = true
required = true

[[field]]
name = "userName"
from = "Email"
pii = true
{}

[[field]]
name = "name.givenName"
from = "Given"
pii = true

[[field]]
name = "enterprise.department"
from = "Department"
transform = ["trim"]

[[field]]
name = "status"
from = "Status"
"#,
            self.user_name
        ));
        out.push_str(self.fields);
        if let Some(base) = self.scim_to {
            out.push_str(&scim_output(base, self.scim));
        }
        out.push_str(self.outputs);
        out
    }

    /// A new workspace with this profile as `profiles/roster.toml`.
    pub fn workspace(&self) -> Workspace {
        let ws = Workspace::new();
        ws.profile("roster", &self.toml());
        ws
    }
}

/// An `[[output]]` to the SCIM service of the stand-in at `base` (OAuth2, the client secret
/// from `$IDP_SECRET`, 5 ms backoff), with `keys` added.
pub fn scim_output(base: &str, keys: &str) -> String {
    format!(
        r#"
[[output]]
type = "scim"
base_url = "{base}/scim/v2"
backoff = "5ms"
auth = {{ type = "oauth2", token_url = "{base}/oauth/token", client_id = "hrbridge-demo", client_secret = "${{env:IDP_SECRET}}" }}
{keys}
"#
    )
}

/// Runs hrbridge in `ws` with the stand-in's client secret in `$IDP_SECRET`; never panics on a
/// non-zero exit, only on a panic of hrbridge.
pub fn hrbridge(ws: &Workspace, args: &[&str]) -> Output {
    let out = ws
        .cmd(args)
        .env("IDP_SECRET", "demo-secret")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    out
}

/// Drops `bytes` as day `day`'s file and runs one pass; returns the newest job's id and
/// status, and the run's output.
pub fn run_day(ws: &Workspace, day: u32, bytes: &[u8]) -> (i64, String, Output) {
    ws.drop_file("roster", &format!("roster_day{day}.csv"), bytes);
    let out = hrbridge(ws, &["run", "--once"]);
    let jobs = ws.jobs();
    let job = jobs
        .first()
        .unwrap_or_else(|| panic!("day {day}: no job: {}{}", stdout(&out), stderr(&out)));
    let status = job["status"].as_str().unwrap().to_string();
    (job["id"].as_i64().unwrap(), status, out)
}

/// Drops `roster` as day `day`'s file and runs one pass, which must succeed unless the job is
/// held; returns the new job's id and status.
pub fn deliver_day(ws: &Workspace, day: u32, roster: &Roster) -> (i64, String) {
    let (job, status, out) = run_day(ws, day, &csv(roster));
    assert_eq!(
        out.status.success(),
        status != "held",
        "day {day}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    (job, status)
}

/// `changes JOB --json` of `job`, parsed: `{"plan": ..., "changes": [...]}`.
pub fn plan_json(ws: &Workspace, job: i64) -> serde_json::Value {
    let out = hrbridge(ws, &["changes", &job.to_string(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The plan of `job` as `changes --json` lists it.
pub fn listed(ws: &Workspace, job: i64) -> Changes {
    by_kind(&plan_json(ws, job))
}

/// The changes of a plan's JSON (`changes --json` or `plan --json`) by kind.
pub fn by_kind(json: &serde_json::Value) -> Changes {
    let mut out = Changes::new();
    for c in json["changes"].as_array().unwrap() {
        let kind = KINDS
            .into_iter()
            .find(|k| *k == c["change"].as_str().unwrap())
            .unwrap_or_else(|| panic!("unknown change {c}"));
        let mut changed: Vec<String> = c["changed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_string())
            .collect();
        changed.sort();
        out.entry(kind)
            .or_default()
            .insert(c["key"].as_str().unwrap().to_string(), changed);
    }
    out
}

/// The rows of a published CSV output under `outbox/`, each as column → value.
pub fn file_rows(ws: &Workspace, name: &str) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(ws.path().join("outbox").join(name)).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    rows.records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The `change` column of a published CSV output, by key.
pub fn file_changes(ws: &Workspace, name: &str) -> BTreeMap<String, String> {
    file_rows(ws, name)
        .into_iter()
        .map(|r| (r["externalId"].clone(), r["change"].clone()))
        .collect()
}

/// Active users at the stand-in, by externalId.
pub fn active_users(api: &StandinApi) -> BTreeSet<String> {
    api.record()
        .users
        .iter()
        .filter(|u| u.active && !u.deleted)
        .filter_map(|u| u.external_id.clone())
        .collect()
}
