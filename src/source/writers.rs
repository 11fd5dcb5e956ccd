//! Whether another process still holds an inbox file open for writing.
//!
//! `settle` only sees a writer that keeps writing: one that pauses longer than `settle` with
//! the file open would have its file taken half-written and unlinked under it, and the rows it
//! writes afterwards would be lost. On Linux a read lease (`F_SETLEASE`) cannot be taken while
//! any process has the file open for writing, which tells exactly that. The lease is given back
//! at once; it never delays a writer by more than that moment.
//!
//! Where the question cannot be asked (another owner's file without `CAP_LEASE`, network file
//! systems, other systems) the answer is "not known" and only `settle` decides: `done_marker`
//! is the safe choice there.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Once;

/// True when some process has `path` open for writing (as far as the system can tell).
pub fn held_for_writing(path: &Path) -> bool {
    ignore_lease_breaks();
    let Ok(file) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    else {
        return false;
    };
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is a descriptor this function owns for the duration of the calls.
    if unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) } == 0 {
        // SAFETY: as above; closing the file would drop the lease as well.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return false;
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EAGAIN) {
        return true;
    }
    static UNKNOWN: Once = Once::new();
    UNKNOWN.call_once(|| {
        tracing::warn!(
            path = ?path,
            %error,
            "cannot tell whether a writer still holds inbox files open (not their owner, no \
             CAP_LEASE, or a network file system): only `settle` decides; `done_marker` is safe"
        );
    });
    false
}

/// A writer opening the file in the instant the lease is held makes the kernel signal the
/// holder with SIGIO, whose default action ends the process; hrbridge has no use for SIGIO.
fn ignore_lease_breaks() {
    static IGNORE: Once = Once::new();
    IGNORE.call_once(|| {
        // SAFETY: installs the SIG_IGN disposition for SIGIO, which nothing else here uses.
        unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_file_open_for_writing_is_held_and_a_closed_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        fs::write(&path, "ID\n").unwrap();
        assert!(!held_for_writing(&path));
        let writer = OpenOptions::new().append(true).open(&path).unwrap();
        assert!(held_for_writing(&path));
        let reader = fs::File::open(&path).unwrap();
        drop(writer);
        assert!(!held_for_writing(&path), "readers do not count");
        drop(reader);
        assert!(!held_for_writing(&dir.path().join("missing.csv")));
    }
}
