//! `[[output]] type = "scim"` end to end against the stand-in's SCIM 2.0 service: a roster
//! creates users, a changed roster updates them, a leaver is deactivated (never deleted), and
//! an `externalId` with a quote in it is found by a correctly escaped filter.

use crate::common::{stderr, stdout, Workspace};
use hrbridge::standin::{Config, StandinApi};

fn workspace(api: &StandinApi) -> Workspace {
    let ws = Workspace::new();
    let base = api.base_url();
    ws.profile(
        "iam",
        &format!(
            r#"
[source]
type = "dir"
path = "inbox/iam"

[[field]]
name = "externalId"
from = "Employee"
key = true
required = true

[[field]]
name = "userName"
from = "Email"
pii = true

[[field]]
name = "name.givenName"
from = "First"

[[field]]
name = "emails.work"
from = "Email"

[[field]]
name = "op"
from = "Status"
map = {{ Active = "upsert", Terminated = "deactivate" }}

[[output]]
type = "scim"
base_url = "{base}/scim/v2"
operation_field = "op"
backoff = "5ms"
auth = {{ type = "oauth2", token_url = "{base}/oauth/token", client_id = "hrbridge-demo", client_secret = "${{env:IDP_SECRET}}" }}
"#
        ),
    );
    ws
}

fn run(ws: &Workspace) {
    let out = ws
        .cmd(&["run", "--once"])
        .env("IDP_SECRET", "demo-secret")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn roster_creates_updates_and_deactivates_users() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api);
    ws.drop_file(
        "iam",
        "roster_1.csv",
        b"Employee,Email,First,Status\nE1,ada@example.com,Ada,Active\nE\"2,bob@example.com,Bob,Active\n",
    );
    run(&ws);
    let users = api.record().users;
    assert_eq!(users.len(), 2, "{users:?}");
    assert!(users.iter().all(|u| u.active));
    let bob = users
        .iter()
        .find(|u| u.external_id.as_deref() == Some("E\"2"))
        .unwrap();
    assert_eq!(bob.resource["emails"][0]["value"], "bob@example.com");

    // A second roster: Ada renamed, Bob (whose id has a quote) leaves.
    ws.drop_file(
        "iam",
        "roster_2.csv",
        b"Employee,Email,First,Status\nE1,ada@example.com,Adelaide,Active\nE\"2,bob@example.com,Bob,Terminated\n",
    );
    run(&ws);
    let users = api.record().users;
    assert_eq!(users.len(), 2, "no user was created twice: {users:?}");
    let ada = users
        .iter()
        .find(|u| u.external_id.as_deref() == Some("E1"))
        .unwrap();
    assert_eq!(ada.resource["name"]["givenName"], "Adelaide");
    let bob = users
        .iter()
        .find(|u| u.external_id.as_deref() == Some("E\"2"))
        .unwrap();
    assert!(!bob.active && !bob.deleted, "{bob:?}");
    let requests = api.record().requests;
    assert!(requests.iter().all(|r| r.method != "DELETE"));
    assert!(requests.iter().any(|r| r.method == "PATCH"));
    for job in ws.jobs() {
        assert_eq!(job["status"], "succeeded", "{job}");
    }
}

#[test]
fn a_user_created_elsewhere_is_found_and_updated_not_duplicated() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api);
    ws.drop_file(
        "iam",
        "roster_1.csv",
        b"Employee,Email,First,Status\nE9,eve@example.com,Eve,Active\n",
    );
    run(&ws);
    // A fresh installation (no id map) meets the same user: it must look up, not create.
    let other = workspace(&api);
    other.drop_file(
        "iam",
        "roster_1.csv",
        b"Employee,Email,First,Status\nE9,eve@example.com,Evelyn,Active\n",
    );
    run(&other);
    let users = api.record().users;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].resource["name"]["givenName"], "Evelyn");
}

#[test]
fn a_uniqueness_conflict_that_no_lookup_explains_fails_the_row_with_the_scim_error() {
    let api = StandinApi::start(Config::default()).unwrap();
    let ws = workspace(&api);
    // Two employees with one email: the second POST meets 409 uniqueness on userName, the
    // lookup by externalId finds nobody to update, so the row fails with the SCIM error.
    ws.drop_file(
        "iam",
        "roster_1.csv",
        b"Employee,Email,First,Status\nE1,same@example.com,Ann,Active\nE2,same@example.com,Bo,Active\n",
    );
    run(&ws);
    assert_eq!(api.record().users.len(), 1);
    let job = &ws.jobs()[0];
    assert_eq!(job["status"], "partial", "{job}");
    let detail = ws.job(job["id"].as_i64().unwrap());
    let failure = &detail["delivery_failures"][0];
    // The two rows race (the output has 4 workers): whichever comes second is refused.
    let row = failure["row"].as_u64().unwrap();
    assert!(row == 2 || row == 3, "{failure}");
    assert_eq!(detail["delivery_failures"].as_array().unwrap().len(), 1);
    assert_eq!(failure["status"], 409);
    let reason = failure["reason"].as_str().unwrap();
    assert!(reason.starts_with("HTTP 409 (uniqueness)"), "{reason}");
    assert!(!reason.contains("same@example.com"), "PII in {reason}");
}
