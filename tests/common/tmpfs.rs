//! A small tmpfs mounted for one test: a full disk (ENOSPC) or a read-only folder on demand.
//!
//! Mounting needs root (CI runs as root). Where it is not permitted a test skips with a
//! notice, except under `CI=true`, where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The opening of a test that needs a volume of its own: `let volume =
/// skip_unless_tmpfs!(&path, "64k");` mounts a [`Tmpfs`], or returns from the test (after the
/// notice) where mounting is not permitted. Under `CI=true` that fails the test instead
/// ([`Tmpfs::mount`] panics): CI never skips it.
#[macro_export]
macro_rules! skip_unless_tmpfs {
    ($path:expr, $size:expr) => {
        match $crate::common::tmpfs::Tmpfs::mount($path, $size) {
            Some(volume) => volume,
            None => return,
        }
    };
}

/// A mounted tmpfs; unmounted when dropped.
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount`'s syntax: "64k") at `path` (created if missing).
    pub fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(path)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs {
                path: path.to_path_buf(),
            }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "cannot mount a tmpfs ({why}): CI runs the fault tests as root"
                );
                eprintln!("SKIPPED: cannot mount a tmpfs: {why}");
                None
            }
        }
    }

    /// Remounts with other options: "ro", "rw", "size=4m".
    pub fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(status.success(), "remount {options} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
