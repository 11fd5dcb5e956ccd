//! Files the inbox takes at once: an mtime an hour in the past counts as settled. Shared by the
//! tests (through `common`) and the benchmarks (included with `#[path]`).

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Sets a file's mtime to an hour ago so the inbox treats it as settled.
pub fn age(path: &Path) {
    let past = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(past)
        .unwrap();
}
