//! Throughput and memory of the whole pipeline: `hrbridge run --once` maps a generated
//! 20-column HR export (two date conversions, a code map, a lookup, trims) to CSV.
//!
//! Each size runs twice: to a plain CSV, and to the same CSV encrypted with `encrypt_to` (age),
//! which shows what encryption adds. Run: `cargo bench --bench pipeline` (1M and 5M rows) or
//! `cargo bench --bench pipeline -- 200000` for other sizes. Prints a table; peak RSS is the
//! child process's VmHWM, sampled until it exits.

#[path = "common/child.rs"]
mod child;
#[path = "../tests/common/settled.rs"]
mod settled;

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

const PROFILE: &str = r#"
description = "benchmark: HRIS roster to payroll"
[source]
type = "dir"
path = "inbox/bench"
pattern = "*.csv"
settle = "1s"
[format]
type = "csv"
delimiter = ","
encoding = "utf-8"
[[field]]
name = "employee_number"
from = "Employee ID"
required = true
key = true
transform = ["trim"]
[[field]]
name = "first_name"
from = "First Name"
transform = ["trim"]
[[field]]
name = "last_name"
from = "Last Name"
transform = ["trim"]
[[field]]
name = "work_email"
from = "Work Email"
transform = ["trim", "lower"]
[[field]]
name = "department"
from = "Dept Code"
lookup = { file = "tables/departments.csv", key = "code", value = "name" }
[[field]]
name = "job_title"
from = "Job Title"
transform = ["trim"]
[[field]]
name = "employment_type"
from = "Type"
map = { FT = "full_time", PT = "part_time", CT = "contractor" }
[[field]]
name = "start_date"
from = "Hire Date"
type = "date"
input_formats = ["%m/%d/%Y"]
[[field]]
name = "termination_date"
from = "Term Date"
type = "date"
input_formats = ["%m/%d/%Y"]
[[field]]
name = "pay_rate"
from = "Pay Rate"
type = "decimal"
[[field]]
name = "cost_center"
from = "Cost Center"
transform = ["trim"]
[[field]]
name = "ssn"
from = "SSN"
pii = true
[validation]
max_reject_ratio = 0.01
[[output]]
type = "file"
path = "outbox/payroll_{seq}.csv"
"#;

const HEADER: [&str; 20] = [
    "Employee ID",
    "First Name",
    "Last Name",
    "Preferred Name",
    "Work Email",
    "Personal Email",
    "Phone",
    "Dept Code",
    "Job Title",
    "Manager ID",
    "Location",
    "Type",
    "Status",
    "Hire Date",
    "Term Date",
    "Pay Rate",
    "Pay Period",
    "Currency",
    "Cost Center",
    "SSN",
];

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000_000, 5_000_000]
    } else {
        sizes
    };
    // HRBRIDGE_BENCH_BIN runs another build (e.g. a copy of an earlier one) for comparison.
    let other = std::env::var("HRBRIDGE_BENCH_BIN").ok();
    let bin = other.as_deref().unwrap_or(env!("CARGO_BIN_EXE_hrbridge"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-work");
    let identity = age::x25519::Identity::generate();
    println!("| rows | output | input MB | seconds | rows/s | MB/s | peak RSS MB |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for rows in sizes {
        // The same export mapped twice: to a plain CSV, and to one encrypted with `encrypt_to`.
        for sealed in [false, true] {
            let _ = fs::remove_dir_all(&root);
            let input = setup(&root, rows);
            if sealed {
                let mut profile = fs::read_to_string(root.join("profiles/bench.toml")).unwrap();
                profile.push_str(&format!("encrypt_to = [\"{}\"]\n", identity.to_public()));
                fs::write(root.join("profiles/bench.toml"), profile).unwrap();
            }
            let bytes = fs::metadata(&input).expect("input").len();
            let (secs, peak_kb) =
                child::measure(bin, &root, &["run", "--once"], &format!("{rows} rows"));
            let lines = if sealed {
                let file = fs::File::open(root.join("outbox/payroll_1.csv.age")).expect("output");
                let plain = age::Decryptor::new(file)
                    .and_then(|d| d.decrypt(std::iter::once(&identity as &dyn age::Identity)))
                    .expect("decrypt the output");
                child::count_lines(plain)
            } else {
                child::count_lines(
                    fs::File::open(root.join("outbox/payroll_1.csv")).expect("output"),
                )
            };
            assert_eq!(lines, rows + 1, "output rows");
            println!(
                "| {rows} | {} | {:.0} | {secs:.2} | {:.0} | {:.1} | {:.1} |",
                if sealed { "CSV, encrypt_to" } else { "CSV" },
                bytes as f64 / 1e6,
                rows as f64 / secs,
                bytes as f64 / 1e6 / secs,
                peak_kb as f64 / 1024.0
            );
        }
    }
    let _ = fs::remove_dir_all(&root);
}

/// Writes the installation folder and the generated export; returns the export's path.
fn setup(root: &Path, rows: u64) -> std::path::PathBuf {
    fs::create_dir_all(root.join("profiles")).unwrap();
    fs::create_dir_all(root.join("tables")).unwrap();
    fs::create_dir_all(root.join("inbox/bench")).unwrap();
    fs::write(root.join("hrbridge.toml"), "output_roots = [\"outbox\"]\n").unwrap();
    fs::write(root.join("profiles/bench.toml"), PROFILE).unwrap();
    let mut table = String::from("code,name\n");
    for d in 0..40 {
        table.push_str(&format!("D{d:02},Department {d}\n"));
    }
    fs::write(root.join("tables/departments.csv"), table).unwrap();
    let path = root.join("inbox/bench/roster.csv");
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&path).unwrap());
    writeln!(w, "{}", HEADER.join(",")).unwrap();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let firsts = [
        "Ada", "Grace", "José", "Zoë", "Wei", "Amara", "Olusegun", "Priya", "Mateo", "Ingrid",
    ];
    let lasts = [
        "Lovelace", "Hopper", "García", "Müller", "Chen", "Okafor", "Adeyemi", "Sharma", "Rossi",
        "Berg",
    ];
    let types = ["FT", "PT", "CT"];
    for i in 0..rows {
        let r = next();
        let first = firsts[(r % 10) as usize];
        let last = lasts[(r / 10 % 10) as usize];
        let term = if r % 7 == 0 {
            format!("{:02}/{:02}/2026", r % 12 + 1, r % 28 + 1)
        } else {
            String::new()
        };
        writeln!(
            w,
            "E{i:08}, {first} ,{last},,{first}.{last}{i}@Example.com,p{i}@mail.test,+1-555-{:04},D{:02},Analyst {},E{:08},Site {},{},active,{:02}/{:02}/{},{term},{}.{:02},monthly,USD, CC{:03} ,9{:02}-{:02}-{:04}",
            r % 10_000,
            r % 40,
            r % 5,
            r % 100_000,
            r % 12,
            types[(r % 3) as usize],
            r % 12 + 1,
            r % 28 + 1,
            1990 + r % 36,
            30_000 + r % 150_000,
            r % 100,
            r % 500,
            r % 100,
            r / 7 % 100,
            r % 10_000,
        )
        .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    settled::age(&path);
    path
}
