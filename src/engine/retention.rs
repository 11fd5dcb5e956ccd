//! `retention`: kept inputs do not stay for ever. At the start of each pass, the files of a
//! profile's `archive/` and `error/` folders older than the retention (by modification time:
//! when they were staged, or written for an error note) are deleted, each deletion audited.
//!
//! Only regular files inside `state_dir/archive/<profile>` and `state_dir/error/<profile>` are
//! touched; symbolic links are neither followed nor removed, and a day folder emptied by the
//! purge is removed with its last file.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::event::Event;
use super::job::JobContext;
use super::EngineError;

/// Purges the profile's kept files older than `settings.retention`; returns how many.
pub fn purge(ctx: &JobContext<'_>) -> Result<usize, EngineError> {
    let Some(retention) = ctx.settings.retention else {
        return Ok(0);
    };
    let Some(cutoff) = SystemTime::now().checked_sub(retention) else {
        return Ok(0);
    };
    let state = &ctx.settings.state_dir;
    let mut purged = 0;
    for kind in ["archive", "error"] {
        let root = state.join(kind).join(&ctx.profile.name);
        purged += purge_dir(ctx, &root, cutoff, retention)?;
    }
    Ok(purged)
}

/// Purges under `dir`, recursively; a subfolder that this emptied is removed too.
fn purge_dir(
    ctx: &JobContext<'_>,
    dir: &Path,
    cutoff: SystemTime,
    retention: Duration,
) -> Result<usize, EngineError> {
    let context = |e: io::Error| EngineError::io(format!("purging {}", dir.display()), e);
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(context(e)),
    };
    let mut purged = 0;
    for entry in entries {
        let path = entry.map_err(context)?.path();
        let meta = fs::symlink_metadata(&path).map_err(context)?;
        if meta.is_dir() {
            let here = purge_dir(ctx, &path, cutoff, retention)?;
            purged += here;
            if here > 0 && fs::read_dir(&path).map_err(context)?.next().is_none() {
                fs::remove_dir(&path).map_err(context)?;
            }
        } else if meta.is_file() && meta.modified().map_err(context)? < cutoff {
            fs::remove_file(&path).map_err(context)?;
            purged += 1;
            Event::InputPurged {
                path: &path.display().to_string(),
                retention_secs: retention.as_secs(),
            }
            .emit(ctx.store, &ctx.profile.name)?;
        }
    }
    Ok(purged)
}
