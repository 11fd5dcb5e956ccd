//! Encryption throughput: hrbridge's age output path (the encoder's bytes through an age
//! stream into an atomic temp file, fsynced) against the reference Go CLI (`age -r`) on the
//! same 1 GiB of CSV-like data, in the same run.
//!
//! Run: `cargo bench --bench encrypt` (1 GiB) or `cargo bench --bench encrypt -- 256` for
//! another size in MiB. Needs the `age` CLI (Debian package `age`). Prints a table; the
//! ciphertext of both is checked to decrypt back to the input (with `age -d`). Each side runs
//! twice, alternating; the best time of each is reported.

use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use hrbridge::kernel::atomic::AtomicFile;
use hrbridge::output::age::Sealing;
use hrbridge::settings::{Settings, SettingsFile};

fn main() {
    let mib: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1024);
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-encrypt");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).unwrap();
    let input = work.join("payroll.csv");
    write_input(&input, mib << 20);
    let key = work.join("key.txt");
    let made = Command::new("age-keygen").arg("-o").arg(&key).output();
    let Ok(made) = made else {
        println!("the age CLI is not installed (apt-get install age); nothing measured");
        return;
    };
    assert!(made.status.success(), "age-keygen failed");
    let recipient = String::from_utf8(
        Command::new("age-keygen")
            .arg("-y")
            .arg(&key)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();

    // hrbridge: the same code path as an `encrypt_to` output.
    let settings = Settings::resolve(None, work.clone(), SettingsFile::default());
    let sealing = Sealing::new(std::slice::from_ref(&recipient), false, &settings)
        .unwrap()
        .unwrap();
    let ours = work.join("ours.csv.age");
    let theirs = work.join("theirs.csv.age");
    // Each side twice, alternating, best time kept: the page cache and writeback of one run
    // must not decide the comparison.
    let (mut ours_secs, mut theirs_secs) = (f64::MAX, f64::MAX);
    for _ in 0..2 {
        ours_secs = ours_secs.min(encrypt_ours(&sealing, &input, &ours));
        theirs_secs = theirs_secs.min(encrypt_theirs(&recipient, &input, &theirs));
    }

    for file in [&ours, &theirs] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "age -d -i '{}' '{}' | cmp -s - '{}'",
                key.display(),
                file.display(),
                input.display()
            ))
            .status()
            .unwrap();
        assert!(
            out.success(),
            "{} does not decrypt to the input",
            file.display()
        );
    }

    let mibs = |secs: f64| mib as f64 / secs;
    println!("| encrypting {mib} MiB | seconds | MiB/s |");
    println!("|---|---:|---:|");
    println!(
        "| hrbridge (encrypt_to output path) | {ours_secs:.2} | {:.0} |",
        mibs(ours_secs)
    );
    println!(
        "| age -r (Go reference CLI) | {theirs_secs:.2} | {:.0} |",
        mibs(theirs_secs)
    );
    println!("\nhrbridge / age: {:.2}x", theirs_secs / ours_secs);
    let _ = fs::remove_dir_all(&work);
}

/// Encrypts `input` to `out` the way an `encrypt_to` output is written; returns the seconds.
fn encrypt_ours(sealing: &Sealing, input: &Path, out_path: &Path) -> f64 {
    let _ = fs::remove_file(out_path);
    let started = Instant::now();
    let mut out = sealing
        .seal(AtomicFile::create(out_path, "bench").unwrap())
        .unwrap();
    let mut src = fs::File::open(input).unwrap();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = src.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).unwrap();
    }
    let finished = out.into_atomic().unwrap().finish().unwrap();
    let secs = started.elapsed().as_secs_f64();
    fs::rename(&finished.temp_path, out_path).unwrap();
    secs
}

/// `age -r recipient -o out input`, then an fsync of its output as ours gets; the seconds.
fn encrypt_theirs(recipient: &str, input: &Path, out: &Path) -> f64 {
    let _ = fs::remove_file(out);
    let started = Instant::now();
    let status = Command::new("age")
        .args(["-r", recipient, "-o"])
        .arg(out)
        .arg(input)
        .status()
        .unwrap();
    assert!(status.success(), "age -r failed");
    fs::File::open(out).unwrap().sync_all().unwrap();
    started.elapsed().as_secs_f64()
}

/// `bytes` of payroll-like CSV rows (not all alike, so nothing compresses it away).
fn write_input(path: &Path, bytes: u64) {
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    let mut written = 0u64;
    let mut i = 0u64;
    while written < bytes {
        let line = format!(
            "E{i:08},Employee {i},{}.{:02},monthly,USD,9{:02}-{:02}-{:04}\n",
            30_000 + i % 150_000,
            i % 100,
            i % 100,
            i / 7 % 100,
            i % 10_000
        );
        w.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        i += 1;
    }
    w.flush().unwrap();
    w.get_ref().sync_all().unwrap();
}
