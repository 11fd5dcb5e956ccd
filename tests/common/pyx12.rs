//! The independent HIPAA validator `pyx12` (PyPI), for the tests that check hrbridge's X12 834
//! files against 005010X220A1: `x12valid` on a copy of the file in a scratch folder (it writes
//! a 999 acknowledgement beside its input). Its exit status says nothing (it is 1 for a valid
//! file too), so the verdict is read from what it prints — `<file>: OK` and no `ERROR` line —
//! and from the 999 it writes (`AK9*A`: the functional group accepted). Callers open with
//! `skip_unless_tools!("x12valid")` first.

use std::fs;
use std::process::Command;

/// The validator's verdict on an interchange: `Ok` with zero errors, or every line it
/// complained with.
pub fn validate(interchange: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.x12"), interchange).unwrap();
    let out = Command::new("x12valid")
        .arg("in.x12")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let ack = fs::read_to_string(dir.path().join("in.x12.997")).unwrap_or_default();
    let clean = said.lines().any(|l| l.trim() == "in.x12: OK")
        && !said.contains("ERROR")
        && !said.contains("Traceback")
        && ack.contains("AK9*A*");
    match clean {
        true => Ok(()),
        false => Err(format!("{said}\n999: {ack}")),
    }
}
