//! Output faults end to end through `hrbridge run --once`: CSV cells that only look like
//! formulas (phones, negative amounts), output names and their time zone, untrusted names on
//! the operator's screen, outputs led out of their root by symlinks, and PII echoed back in
//! normalised forms by an API.

mod common;

use std::fs;

use common::{stderr, stdout, Workspace};

/// A profile `feed` reading `inbox/feed/*.csv` with columns `ID`, `Phone`, `Amount`, `Note`
/// (all text) into the file output at `path`, with `extra` output keys.
fn feed_profile(path: &str, extra: &str) -> String {
    format!(
        r#"
[source]
type = "dir"
path = "inbox/feed"
pattern = "*.csv"
settle = "1s"

[[field]]
name = "id"
from = "ID"
key = true

[[field]]
name = "phone"
from = "Phone"

[[field]]
name = "amount"
from = "Amount"

[[field]]
name = "note"
from = "Note"

[[output]]
type = "file"
path = "{path}"
{extra}
"#
    )
}

const FEED: &str = "ID,Phone,Amount,Note\n\
E1,+14155550100,-150.00,=HYPERLINK(\"http://x\")\n\
E2,+1 415 555 0101,+1.5E+3,-2+3+cmd|' /C calc'!A0\n\
E3,+44 (0)20 7946 0958,\"-1,234.50\",+SUM(A1)\n";

fn run_feed(extra: &str) -> String {
    let ws = Workspace::new();
    ws.profile("feed", &feed_profile("outbox/feed.csv", extra));
    ws.drop_file("feed", "feed.csv", FEED.as_bytes());
    let out = ws.run(&["run", "--once"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    fs::read_to_string(ws.path().join("outbox/feed.csv")).unwrap()
}

#[test]
fn phones_and_negative_amounts_stay_as_they_are_formulas_do_not() {
    assert_eq!(
        run_feed(""),
        "id,phone,amount,note\n\
         E1,+14155550100,-150.00,\"'=HYPERLINK(\"\"http://x\"\")\"\n\
         E2,+1 415 555 0101,+1.5E+3,'-2+3+cmd|' /C calc'!A0\n\
         E3,+44 (0)20 7946 0958,\"-1,234.50\",'+SUM(A1)\n"
    );
}

#[test]
fn neutralize_formulas_all_still_prefixes_every_sign() {
    assert_eq!(
        run_feed("neutralize_formulas = \"all\""),
        "id,phone,amount,note\n\
         E1,'+14155550100,'-150.00,\"'=HYPERLINK(\"\"http://x\"\")\"\n\
         E2,'+1 415 555 0101,'+1.5E+3,'-2+3+cmd|' /C calc'!A0\n\
         E3,'+44 (0)20 7946 0958,\"'-1,234.50\",'+SUM(A1)\n"
    );
    // The boolean keeps its meaning.
    assert!(
        run_feed("neutralize_formulas = false").contains("E1,+14155550100,-150.00,\"=HYPERLINK(")
    );
}

#[test]
fn neutralize_formulas_takes_only_true_false_or_all() {
    let ws = Workspace::new();
    ws.profile(
        "feed",
        &feed_profile("outbox/feed.csv", "neutralize_formulas = \"some\""),
    );
    let out = ws.run(&["check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("true, false or \"all\""),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}
