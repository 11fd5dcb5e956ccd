//! The reference `age` CLI, for the tests that check hrbridge's encryption against it: new
//! identities from `age-keygen`, and `age -d` of what hrbridge wrote. Callers open with
//! `skip_unless_tools!` first.

use std::path::Path;
use std::process::Command;

/// Runs `program` with `args`, which must succeed; its stdout.
fn run(program: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A new identity from `age-keygen -o identity`; returns its recipient (`age1…`).
pub fn keygen(identity: &Path) -> String {
    run("age-keygen", &["-o".as_ref(), identity.as_ref()]);
    let public = run("age-keygen", &["-y".as_ref(), identity.as_ref()]);
    String::from_utf8(public).unwrap().trim().to_string()
}

/// `age -d -i identity file`, which must succeed; the plaintext.
pub fn decrypt(identity: &Path, file: &Path) -> Vec<u8> {
    run(
        "age",
        &[
            "-d".as_ref(),
            "-i".as_ref(),
            identity.as_ref(),
            file.as_ref(),
        ],
    )
}
