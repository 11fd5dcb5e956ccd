//! `[source] type = "dir"`: finds complete export files in a local inbox folder.
//!
//! A file is a candidate when its name matches the profile's glob, is a safe name and is a
//! regular file (symlinks and other kinds are refused, never followed). It is *ready* once its
//! `done_marker` exists, or once its size and mtime have stayed unchanged for `settle` and no
//! process holds it open for writing (where the system can tell, see `writers`).

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, SystemTime};

use globset::{Glob, GlobMatcher};

use super::names::check_name;
use super::writers::held_for_writing;
use crate::profile::DirSourceSpec;

/// Used when a profile gives neither `settle` nor `done_marker`.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);

/// A file in the inbox that may be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The name in the inbox (checked by `check_name`).
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub mtime: SystemTime,
}

/// An inbox entry that matched the pattern but is not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The name, escaped for display.
    pub name: String,
    pub reason: String,
}

/// The outcome of one look at the inbox.
#[derive(Debug, Default)]
pub struct Scan {
    /// Complete files, in name order.
    pub ready: Vec<Candidate>,
    /// Files still being written (or waiting for their done marker).
    pub waiting: Vec<String>,
    pub refused: Vec<Refused>,
}

/// A source's `pattern` that is not a glob.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid pattern {pattern:?}: {source}")]
pub struct PatternError {
    pattern: String,
    source: globset::Error,
}

/// The compiled glob of a source's `pattern`.
pub fn matcher(pattern: &str) -> Result<GlobMatcher, PatternError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|source| PatternError {
            pattern: pattern.to_string(),
            source,
        })
}

/// Lists `inbox` once and sorts its entries into ready, waiting and refused. With `settle`,
/// a file modified less than `settle` ago is re-checked after the remaining time (so one pass
/// of `run --once` still takes a file that has just finished arriving).
pub fn scan(spec: &DirSourceSpec, inbox: &Path) -> std::io::Result<Scan> {
    let glob = matcher(&spec.pattern).map_err(std::io::Error::other)?;
    let mut scan = Scan::default();
    let mut unsettled = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(inbox)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            scan.refused.push(Refused {
                name: format!("{:?}", entry.file_name()),
                reason: "name is not valid UTF-8".into(),
            });
            continue;
        };
        if let Some(marker) = &spec.done_marker {
            if name.ends_with(marker.as_str()) && name.len() > marker.len() {
                continue;
            }
        }
        if !glob.is_match(&name) {
            continue;
        }
        if name.starts_with('.') {
            continue; // temp files of uploads in progress; not an error
        }
        if let Err(e) = check_name(&name) {
            scan.refused.push(Refused {
                name: format!("{name:?}"),
                reason: e.to_string(),
            });
            continue;
        }
        let meta = entry.path().symlink_metadata()?;
        if meta.file_type().is_symlink() {
            scan.refused.push(Refused {
                name: format!("{name:?}"),
                reason: "symbolic link (never followed)".into(),
            });
            continue;
        }
        if !meta.is_file() {
            continue; // folders and devices are simply not files to take
        }
        let cand = Candidate {
            path: entry.path(),
            size: meta.len(),
            mtime: meta.modified()?,
            name,
        };
        match &spec.done_marker {
            Some(marker) => {
                let mut marker_name = cand.path.clone().into_os_string();
                marker_name.push(marker);
                if Path::new(&marker_name)
                    .symlink_metadata()
                    .is_ok_and(|m| m.is_file())
                {
                    scan.ready.push(cand);
                } else {
                    scan.waiting.push(cand.name);
                }
            }
            None => unsettled.push(cand),
        }
    }
    let settle = spec.settle.map(|d| d.0).unwrap_or(DEFAULT_SETTLE);
    settle_files(unsettled, settle, &mut scan);
    scan.ready.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(scan)
}

/// Moves files whose size and mtime stay unchanged for `settle`, and that no writer holds open
/// any more, to `ready`. Files already untouched for `settle` are confirmed with a second look;
/// younger files are looked at again once their settle time has passed.
fn settle_files(cands: Vec<Candidate>, settle: Duration, scan: &mut Scan) {
    let now = SystemTime::now();
    let age = |c: &Candidate| now.duration_since(c.mtime).unwrap_or(Duration::ZERO);
    let longest_wait = cands
        .iter()
        .map(|c| settle.saturating_sub(age(c)))
        .max()
        .unwrap_or(Duration::ZERO);
    if !longest_wait.is_zero() {
        thread::sleep(longest_wait);
    }
    for cand in cands {
        let unchanged = fs::symlink_metadata(&cand.path).is_ok_and(|m| {
            m.is_file() && m.len() == cand.size && m.modified().is_ok_and(|t| t == cand.mtime)
        });
        let old_enough = SystemTime::now()
            .duration_since(cand.mtime)
            .is_ok_and(|a| a >= settle);
        if unchanged && old_enough && !held_for_writing(&cand.path) {
            scan.ready.push(cand);
        } else {
            scan.waiting.push(cand.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::duration::DurationStr;

    fn spec(pattern: &str, settle_ms: u64, done_marker: Option<&str>) -> DirSourceSpec {
        DirSourceSpec {
            path: "inbox".into(),
            pattern: pattern.into(),
            settle: Some(DurationStr(Duration::from_millis(settle_ms))),
            done_marker: done_marker.map(str::to_string),
            poll: None,
            decrypt_with: Vec::new(),
            identity_passphrase: None,
        }
    }

    #[test]
    fn takes_matching_settled_files_and_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("hires_1.csv"), "a\n1\n").unwrap();
        fs::write(dir.path().join("other.txt"), "x").unwrap();
        fs::write(dir.path().join(".hires_2.csv"), "partial").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("hires_evil.csv")).unwrap();
        let s = scan(&spec("hires_*.csv", 50, None), dir.path()).unwrap();
        assert_eq!(
            s.ready.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["hires_1.csv"]
        );
        assert_eq!(s.refused.len(), 1);
        assert!(s.refused[0].reason.contains("symbolic link"));
    }

    #[test]
    fn a_file_still_growing_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        fs::write(&path, "a\n").unwrap();
        let writer = {
            let path = path.clone();
            thread::spawn(move || {
                use std::io::Write;
                for _ in 0..8 {
                    thread::sleep(Duration::from_millis(40));
                    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
                    writeln!(f, "1").unwrap();
                }
            })
        };
        let s = scan(&spec("*.csv", 150, None), dir.path()).unwrap();
        writer.join().unwrap();
        assert!(s.ready.is_empty(), "taken while being written");
        assert_eq!(s.waiting, ["x.csv"]);
    }

    #[test]
    fn done_marker_gates_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.csv"), "a\n").unwrap();
        let sp = spec("*.csv", 0, Some(".done"));
        assert_eq!(scan(&sp, dir.path()).unwrap().waiting, ["x.csv"]);
        fs::write(dir.path().join("x.csv.done"), "").unwrap();
        assert_eq!(scan(&sp, dir.path()).unwrap().ready.len(), 1);
    }
}
