//! Temp files that ended jobs no longer need: removed when a job fails, and swept again at the
//! start of every pass of the profile.
//!
//! A job notes each temp file in the store before creating it (`Store::note_temp`); the row
//! leaves the store when the file becomes an output at commit, or here once the file is gone.
//! A removal that fails (a read-only or unreachable folder) is logged and tried again on the
//! next pass; it never stops the profile from taking new files.

use std::fs;
use std::io::{self, ErrorKind};

use super::job::JobContext;
use super::EngineError;

/// Removes the leftover temp files of every ended job of `ctx`'s profile; returns how many
/// are still there (logged, tried again next time).
pub fn sweep(ctx: &JobContext<'_>) -> Result<usize, EngineError> {
    let mut stuck = 0;
    for (job_id, path) in ctx.store.leftover_temps(&ctx.profile.name)? {
        match remove(&path) {
            Ok(()) => ctx.store.forget_temp(job_id, &path)?,
            Err(e) => {
                stuck += 1;
                tracing::warn!(
                    profile = %ctx.profile.name,
                    job_id,
                    path = %path.escape_debug(),
                    error = %e,
                    "could not remove a temp file left by an ended job; trying again next pass"
                );
            }
        }
    }
    Ok(stuck)
}

/// Removes `path`; a path that cannot exist (gone, a parent that is not a folder, a name too
/// long to have been created) counts as removed.
fn remove(path: &str) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e)
            if !matches!(
                e.kind(),
                ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::InvalidFilename
            ) =>
        {
            Err(e)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_cannot_exist_count_as_removed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        assert!(remove(file.to_str().unwrap()).is_ok());
        assert!(!file.exists());
        assert!(remove(file.to_str().unwrap()).is_ok(), "already gone");
        fs::write(&file, "x").unwrap();
        let under_a_file = file.join(".hrbridge-tmp-x");
        assert!(remove(under_a_file.to_str().unwrap()).is_ok());
        let too_long = dir.path().join("n".repeat(300));
        assert!(remove(too_long.to_str().unwrap()).is_ok());
        // A folder is not a temp file: that is an error to report, not a success.
        assert!(remove(dir.path().to_str().unwrap()).is_err());
    }
}
