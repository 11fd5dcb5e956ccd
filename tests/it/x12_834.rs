//! X12 834 output end to end: the bundled `hris-to-benefits-834` profile turns the HRIS
//! benefits roster into enrollment files for the carrier — adds from the first roster, then
//! changes, terminations and new members from the next one, and a full-file audit from a
//! profile without `[lifecycle]` — and every file is checked by the independent HIPAA
//! validator pyx12 against 005010X220A1. Broken copies of a generated file prove that the
//! validator's check can fail.

use std::fs;

use crate::common::pyx12::validate;
use crate::common::{repo, stderr, stdout, Workspace};
use crate::skip_unless_tools;

const PROFILE: &str = "profiles/hris-to-benefits-834.toml";
const ROSTER: &str = "fixtures/inbox/hris-to-benefits-834/benefits_roster_20240601.csv";

fn roster() -> String {
    fs::read_to_string(repo().join(ROSTER)).unwrap()
}

/// Runs one pass dated `today`; it must not fail.
fn run_on(ws: &Workspace, today: &str) {
    let out = ws
        .cmd(&["run", "--once"])
        .env("HRBRIDGE_TODAY", today)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

/// The 834 files the carrier got, oldest first.
fn interchanges(ws: &Workspace) -> Vec<String> {
    let mut names = ws.files_under("outbox/carrier");
    names.retain(|n| n.ends_with(".x12"));
    names.sort_by_key(|n| n.rsplit('_').next().map(str::to_string));
    names
        .iter()
        .map(|n| fs::read_to_string(ws.path().join("outbox/carrier").join(n)).unwrap())
        .collect()
}

/// The segments of `x12` that start with `prefix`.
fn segments<'a>(x12: &'a str, prefix: &str) -> Vec<&'a str> {
    x12.lines()
        .map(|l| l.trim_end_matches('~'))
        .filter(|l| l.starts_with(prefix))
        .collect()
}

fn assert_valid(x12: &str) {
    if let Err(said) = validate(x12.as_bytes()) {
        panic!("pyx12 refused the 834:\n{said}\n{x12}");
    }
}

#[test]
fn adds_then_changes_terms_and_new_members_each_pass_the_hipaa_validator() {
    skip_unless_tools!("x12valid");
    let ws = Workspace::new();
    ws.profile_from(PROFILE);
    ws.drop_file(
        "hris-to-benefits-834",
        "benefits_roster_20240601.csv",
        roster().as_bytes(),
    );
    run_on(&ws, "2024-06-01");

    let job = &ws.jobs()[0];
    assert_eq!(job["status"], "partial");
    assert_eq!(job["counts"]["read"], 30);
    let detail = ws.job(job["id"].as_i64().unwrap());
    let rejected = &detail["rejections"][0];
    // The child whose name is in Japanese script only: X12 cannot carry it.
    assert_eq!(rejected["row"], 9, "{detail:#}");
    assert_eq!(rejected["field"], "first_name");
    let reason = rejected["reason"].as_str().unwrap();
    assert!(reason.contains("cannot carry"), "{reason}");
    assert!(!reason.contains("美咲"), "{reason}");

    let first = &interchanges(&ws)[0];
    assert_valid(first);
    let ins = segments(first, "INS*");
    assert_eq!(ins.len(), 29);
    assert!(
        ins.iter().all(|s| s.split('*').nth(3) == Some("021")),
        "{ins:?}"
    );
    assert_eq!(ins.iter().filter(|s| s.starts_with("INS*Y*18")).count(), 14);
    assert!(segments(first, "ISA*")[0].contains("*000000001*0*T*:"));
    assert_eq!(segments(first, "BGN*")[0].rsplit('*').next(), Some("2"));
    // Accents are folded for X12; the SSN is written as its nine digits.
    assert!(
        first.contains("NM1*IL*1*Muller*Jurgen****34*951167801~"),
        "{first}"
    );
    assert!(
        first.contains("NM1*IL*1*O Suilleabhain*Siobhan****34*"),
        "{first}"
    );

    // The next roster: 00101 moved house, 00106's coverage ends, 00107's spouse is new.
    let next: Vec<String> = roster()
        .lines()
        .map(|l| l.replace("4780 Sunset Blvd", "12 Harbor Way"))
        .map(|l| match l.strip_suffix(",,FT,Active") {
            Some(head) if l.starts_with("00106,0,") => format!("{head},2024-06-30,TE,Terminated"),
            _ => l,
        })
        .chain([
            "00107,3,SP,Raghunathan,Maya,,1966-03-04,F,,,,,HDHP2500,ECH,2024-06-01,,,Active"
                .to_string(),
        ])
        .collect();
    ws.drop_file(
        "hris-to-benefits-834",
        "benefits_roster_20240602.csv",
        (next.join("\r\n") + "\r\n").as_bytes(),
    );
    run_on(&ws, "2024-06-02");
    let second = &interchanges(&ws)[1];
    assert_valid(second);
    assert!(
        segments(second, "ISA*")[0].contains("*000000002*0*T*:"),
        "{second}"
    );
    let ins = segments(second, "INS*");
    assert_eq!(
        ins,
        [
            "INS*Y*18*001*AI*A***FT",
            "INS*Y*18*024*07*A***TE",
            "INS*N*01*021*28*A",
        ],
        "{second}"
    );
    assert!(second.contains("N3*12 Harbor Way~"), "{second}");
    // The terminated member's coverage ends on the date the roster gives.
    assert!(
        second.contains("HD*024**HLT*HDHP2500*EMP~\nDTP*348*D8*20240101~\nDTP*349*D8*20240630~"),
        "{second}"
    );
}

#[test]
fn a_profile_without_lifecycle_sends_a_full_file_audit_that_passes_the_validator() {
    skip_unless_tools!("x12valid");
    let bundled = fs::read_to_string(repo().join(PROFILE)).unwrap();
    let start = bundled.find("[lifecycle]").unwrap();
    let end = start + bundled[start..].find("\n\n").unwrap();
    let full = format!("{}{}", &bundled[..start], &bundled[end..])
        .replace("usage = \"test\"\n", "usage = \"test\"\nfile = \"full\"\n");
    let ws = Workspace::new();
    ws.profile("hris-to-benefits-834", &full);
    ws.drop_file(
        "hris-to-benefits-834",
        "benefits_roster_20240601.csv",
        roster().as_bytes(),
    );
    run_on(&ws, "2024-06-01");
    let audit = &interchanges(&ws)[0];
    assert_valid(audit);
    assert_eq!(segments(audit, "BGN*")[0].rsplit('*').next(), Some("4"));
    let ins = segments(audit, "INS*");
    assert_eq!(ins.len(), 29);
    assert!(
        ins.iter().all(|s| s.split('*').nth(3) == Some("030")),
        "{ins:?}"
    );
    assert!(segments(audit, "HD*")
        .iter()
        .all(|s| s.starts_with("HD*030**HLT")));
}

#[test]
fn the_validator_refuses_broken_envelopes_so_its_verdict_means_something() {
    skip_unless_tools!("x12valid");
    let ws = Workspace::new();
    ws.profile_from(PROFILE);
    ws.drop_file(
        "hris-to-benefits-834",
        "benefits_roster_20240601.csv",
        roster().as_bytes(),
    );
    run_on(&ws, "2024-06-01");
    let good = interchanges(&ws).remove(0);
    assert_valid(&good);
    let se = segments(&good, "SE*")[0].to_string();
    let count: u64 = se.split('*').nth(1).unwrap().parse().unwrap();
    let breaks = [
        (
            "the segment count",
            se.clone(),
            format!("SE*{}*0001", count + 1),
        ),
        (
            "the interchange control number",
            "IEA*1*000000001".into(),
            "IEA*1*000000002".into(),
        ),
        (
            "the group's transaction count",
            "GE*1*1".into(),
            "GE*2*1".into(),
        ),
        (
            "a birth date",
            "DMG*D8*19771216".into(),
            "DMG*D8*19770231".into(),
        ),
        ("a subscriber id", "REF*0F*00101~\n".into(), String::new()),
    ];
    for (what, from, to) in breaks {
        assert!(good.contains(&from), "{from}");
        let broken = good.replacen(&from, &to, 1);
        assert!(
            validate(broken.as_bytes()).is_err(),
            "pyx12 took a broken {what}"
        );
    }
}
