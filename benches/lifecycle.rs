//! The cost of a `[lifecycle]` delta: `hrbridge run --once` on a generated full roster (13
//! columns, 1M people by default) that differs from the previous accepted one by 1 % —
//! joiners, movers, leavers by status and by absence, rehires — against mapping the same file
//! with the same fields and no `[lifecycle]`.
//!
//! Four steps per size, each run in a fresh process: the mapping alone (to a CSV of every
//! row), the first roster accepted as the snapshot (`baseline = true`: recorded, nothing
//! sent), and the next day's roster diffed against it (the changes to a CSV) — listing people
//! in key order, as most exports do, and in a scrambled order. The mapping and both deltas run
//! three times, each on a fresh copy of the installation (of the snapshot, for the deltas);
//! the table shows the median and the range. Each delta's changes are checked against what
//! the generator made, kind by kind (`hrbridge changes --json`). Prints a
//! table with the wall time, rows/s, the child's peak RSS (VmHWM) and the time as a multiple
//! of the mapping's (medians). Run: `cargo bench --bench lifecycle` (1M people), `cargo bench --bench
//! lifecycle -- quick` (100,000) or `-- 200000` for other sizes.

#[path = "common/child.rs"]
mod child;
#[path = "../tests/common/settled.rs"]
mod settled;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

const HEADER: &str = "Employee ID,First Name,Last Name,Work Email,Department,Job Title,Manager ID,Location,Type,Status,Hire Date,Cost Center,SSN";

/// The mapped fields, shared by both profiles: name, column, and the rest of its `[[field]]`.
const FIELDS: [(&str, &str, &str); 13] = [
    (
        "employee_id",
        "Employee ID",
        "required = true\nkey = true\ntransform = [\"trim\"]",
    ),
    ("first_name", "First Name", "transform = [\"trim\"]"),
    ("last_name", "Last Name", "transform = [\"trim\"]"),
    (
        "work_email",
        "Work Email",
        "transform = [\"trim\", \"lower\"]",
    ),
    ("department", "Department", "transform = [\"trim\"]"),
    ("job_title", "Job Title", "transform = [\"trim\"]"),
    ("manager_id", "Manager ID", ""),
    ("location", "Location", ""),
    (
        "employment_type",
        "Type",
        "map = { FT = \"full_time\", PT = \"part_time\", CT = \"contractor\" }",
    ),
    ("status", "Status", ""),
    (
        "start_date",
        "Hire Date",
        "type = \"date\"\ninput_formats = [\"%m/%d/%Y\"]",
    ),
    ("cost_center", "Cost Center", "transform = [\"trim\"]"),
    ("ssn", "SSN", "pii = true"),
];

/// The `[[field]]` tables of [`FIELDS`].
fn fields() -> String {
    FIELDS
        .iter()
        .map(|(name, from, rest)| {
            format!("[[field]]\nname = \"{name}\"\nfrom = \"{from}\"\n{rest}\n")
        })
        .collect()
}

const LIFECYCLE: &str = r#"
[lifecycle]
mode = "snapshot"
baseline = true
status_field = "status"
terminated_values = ["Terminated"]
"#;

/// What the next day's roster changes, by kind, as the generator made it.
type Expected = BTreeMap<&'static str, u64>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if args.iter().any(|a| a == "quick") {
        sizes.push(100_000);
    }
    if sizes.is_empty() {
        sizes.push(1_000_000);
    }
    let bin = env!("CARGO_BIN_EXE_hrbridge");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-lifecycle");
    println!(
        "| people | run | seconds (median of {RUNS}) | range | rows/s | peak RSS MB | × mapping |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for rows in sizes {
        let _ = fs::remove_dir_all(&root);
        let (mapping, life) = (root.join("mapping"), root.join("lifecycle"));
        workspace(&mapping, &format!("{}{}", fields(), output("roster")));
        workspace(
            &life,
            &format!("{LIFECYCLE}{}{}", fields(), output("changes")),
        );
        let (next, scrambled) = (root.join("next.csv"), root.join("next-scrambled.csv"));
        let expected = write_roster(&next, rows, Day::Next);
        assert_eq!(write_roster(&scrambled, rows, Day::NextScrambled), expected);

        let map = timed(bin, &mapping, &next, "the mapping", |dir| {
            let out = fs::File::open(dir.join("outbox/roster_1.csv")).expect("mapped output");
            assert_eq!(child::count_lines(out), rows + 1, "mapped rows");
        });
        write_roster(&life.join("inbox/bench/roster_1.csv"), rows, Day::First);
        let first = child::measure(bin, &life, &["run", "--once"], "the first snapshot");
        let check = |dir: &Path| check_changes(bin, dir, &expected);
        let delta = timed(bin, &life, &next, "the delta", check);
        let unordered = timed(bin, &life, &scrambled, "the scrambled delta", check);

        let changes: u64 = expected.values().sum();
        for (what, runs) in [
            ("map only (no `[lifecycle]`)".to_string(), &map),
            (
                "first snapshot (`baseline = true`, once)".to_string(),
                &Runs(vec![first]),
            ),
            (format!("delta, {changes} changes"), &delta),
            (
                format!("delta, {changes} changes, rows out of key order"),
                &unordered,
            ),
        ] {
            let (secs, low, high) = runs.seconds();
            println!(
                "| {rows} | {what} | {secs:.2} | {low:.2}–{high:.2} | {:.0} | {:.1} | {:.2} |",
                rows as f64 / secs,
                runs.peak_kb() as f64 / 1024.0,
                secs / map.seconds().0
            );
        }
        let kinds: Vec<String> = expected.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!("\nchanges in the delta: {}", kinds.join(", "));
    }
    let _ = fs::remove_dir_all(&root);
}

/// Runs of each timed step: the table shows their median, and their range.
const RUNS: usize = 3;

/// The wall time (s) and peak RSS (KiB) of each run of a step.
struct Runs(Vec<(f64, u64)>);

impl Runs {
    /// The median, lowest and highest wall time.
    fn seconds(&self) -> (f64, f64, f64) {
        let mut secs: Vec<f64> = self.0.iter().map(|r| r.0).collect();
        secs.sort_by(f64::total_cmp);
        (secs[secs.len() / 2], secs[0], secs[secs.len() - 1])
    }

    fn peak_kb(&self) -> u64 {
        self.0.iter().map(|r| r.1).max().unwrap_or(0)
    }
}

/// [`RUNS`] runs of `hrbridge run --once` taking `file`, each on a fresh copy of the
/// installation `base` (removed after `check` has looked at its outcome).
fn timed(bin: &str, base: &Path, file: &Path, what: &str, check: impl Fn(&Path)) -> Runs {
    Runs(
        (0..RUNS)
            .map(|i| {
                let dir = base.with_extension(format!("run{i}"));
                copy_dir(base, &dir);
                let inbox = dir.join("inbox/bench/roster_2.csv");
                fs::copy(file, &inbox).unwrap();
                settled::age(&inbox);
                fs::File::open(&inbox).unwrap().sync_all().unwrap();
                let run = child::measure(bin, &dir, &["run", "--once"], what);
                check(&dir);
                fs::remove_dir_all(&dir).unwrap();
                run
            })
            .collect(),
    )
}

/// A file output of every record (`{name}_{seq}.csv`).
fn output(name: &str) -> String {
    format!("[[output]]\ntype = \"file\"\npath = \"outbox/{name}_{{seq}}.csv\"\n")
}

/// An installation folder with one profile, `bench`, of `body` reading `inbox/bench`.
fn workspace(root: &Path, body: &str) {
    fs::create_dir_all(root.join("profiles")).unwrap();
    fs::create_dir_all(root.join("inbox/bench")).unwrap();
    fs::write(root.join("hrbridge.toml"), "output_roots = [\"outbox\"]\n").unwrap();
    let source = "[source]\ntype = \"dir\"\npath = \"inbox/bench\"\npattern = \"*.csv\"\nsettle = \"1s\"\n[format]\ntype = \"csv\"\ndelimiter = \",\"\nencoding = \"utf-8\"\n";
    let profile = format!("description = \"benchmark: roster\"\n{source}{body}");
    fs::write(root.join("profiles/bench.toml"), profile).unwrap();
}

#[derive(Clone, Copy, PartialEq)]
enum Day {
    /// Everyone; one in 200 terminated.
    First,
    /// The same people with 1 % changes (10 in every 1000 people).
    Next,
    /// The next day's roster in a scrambled order.
    NextScrambled,
}

/// Copies the folder `from` (an installation whose processes have exited) to `to`, on disk
/// before it returns: the run timed next does not share the disk with the copy's writeback.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
            fs::File::open(&target).unwrap().sync_all().unwrap();
        }
    }
}

/// The order in which a roster of `total` people lists them: person `step * stride mod total`
/// at each step, with `stride` about 0.618 of `total` and coprime with it (a permutation with
/// no run in key order), or everyone in key order.
fn order(total: u64, scrambled: bool) -> impl Fn(u64) -> u64 {
    let gcd = |mut a: u64, mut b: u64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut stride = (total as f64 * 0.618) as u64;
    while scrambled && gcd(stride, total) != 1 {
        stride += 1;
    }
    move |step| {
        if scrambled {
            step * stride % total
        } else {
            step
        }
    }
}

/// A well-mixed 64-bit value of `i` (splitmix64), so a person's columns do not depend on
/// the day.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Writes the roster of `day` for `rows` people; returns the changes of the next day's
/// roster against the first, by kind. Of every 1000 people on the next day: one terminated
/// on the first day is active again (rehire), three move (department; one also their title),
/// two are missing (leavers by absence), two are terminated (leavers by status); and two
/// people per 1000 are new (joiners, after everyone else in key order).
fn write_roster(path: &Path, rows: u64, day: Day) -> Expected {
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    writeln!(w, "{HEADER}").unwrap();
    let mut expected = Expected::new();
    let mut count = |kind| *expected.entry(kind).or_insert(0) += 1;
    let next = day != Day::First;
    let joiners = if next { rows / 500 } else { 0 };
    let person_at = order(rows + joiners, day == Day::NextScrambled);
    for step in 0..rows + joiners {
        let i = person_at(step);
        let slot = i % 1000;
        let mut person = Person::of(i);
        if next && i >= rows {
            person.terminated = false;
            count("joiner");
        } else if next {
            match slot {
                0 => {
                    person.terminated = false;
                    count("rehire");
                }
                1..=3 => {
                    person.dept = (person.dept + 1) % 40;
                    person.senior = slot == 3;
                    count("mover");
                }
                4 | 5 => {
                    count("leaver");
                    continue;
                }
                6 | 7 => {
                    person.terminated = true;
                    count("leaver");
                }
                _ => {}
            }
        }
        person.write(&mut w, i);
    }
    w.flush().unwrap();
    drop(w);
    settled::age(path);
    expected
}

/// One person's varying columns.
struct Person {
    r: u64,
    dept: u64,
    senior: bool,
    terminated: bool,
}

impl Person {
    fn of(i: u64) -> Person {
        let r = mix(i);
        Person {
            r,
            dept: r % 40,
            senior: false,
            terminated: i.is_multiple_of(200),
        }
    }

    fn write(&self, w: &mut impl Write, i: u64) {
        let firsts = [
            "Ada", "Grace", "José", "Zoë", "Wei", "Amara", "Olusegun", "Priya", "Mateo", "Ingrid",
        ];
        let lasts = [
            "Lovelace", "Hopper", "García", "Müller", "Chen", "Okafor", "Adeyemi", "Sharma",
            "Rossi", "Berg",
        ];
        let titles = ["Analyst", "Engineer", "Recruiter", "Accountant", "Designer"];
        let r = self.r;
        let (first, last) = (firsts[(r % 10) as usize], lasts[(r / 10 % 10) as usize]);
        let title = titles[(r / 100 % 5) as usize];
        let level = if self.senior { "Senior " } else { "" };
        let status = if self.terminated {
            "Terminated"
        } else {
            "Active"
        };
        writeln!(
            w,
            "E{i:08}, {first} ,{last},{first}.{last}{i}@Example.com,Department {:02},{level}{title},E{:08},Site {},{},{status},{:02}/{:02}/{}, CC{:03} ,9{:02}-{:02}-{:04}",
            self.dept,
            r / 1000 % 1_000_000,
            r / 7 % 12,
            ["FT", "PT", "CT"][(r / 3 % 3) as usize],
            r / 11 % 12 + 1,
            r / 13 % 28 + 1,
            1990 + r / 17 % 36,
            r / 19 % 500,
            r / 23 % 100,
            r / 29 % 100,
            r / 31 % 10_000,
        )
        .unwrap();
    }
}

/// The delta (job 2) changed exactly what the generator made, kind by kind, and its output
/// holds one row per change.
fn check_changes(bin: &str, root: &Path, expected: &Expected) {
    let out = std::process::Command::new(bin)
        .args(["changes", "2", "--json"])
        .current_dir(root)
        .output()
        .expect("hrbridge changes");
    assert!(out.status.success(), "hrbridge changes 2 failed");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("changes JSON");
    let counts = &plan["plan"]["counts"];
    for (kind, n) in expected {
        assert_eq!(counts[format!("{kind}s")].as_u64(), Some(*n), "{kind}s");
    }
    assert_eq!(plan["plan"]["state"], "applied", "the delta was applied");
    let changes: PathBuf = root.join("outbox/changes_2.csv");
    let lines = child::count_lines(fs::File::open(&changes).expect("changes output"));
    assert_eq!(lines, expected.values().sum::<u64>() + 1, "changes written");
}
