//! Output paths held inside the allowed output roots by where they really lead, not by how
//! they are spelt.
//!
//! A path is first checked as written (no `..`, under a root), then by its real location: the
//! deepest folder of it that exists is resolved through every symbolic link and must still lie
//! inside the real location of a root, and the final name must not be a symbolic link. The
//! path handed back is built on that real folder, so writing it later goes through no link
//! that existed when it was checked; the file itself is then created under a new temp name
//! (`O_EXCL | O_NOFOLLOW`) and linked to its final name, neither of which follows a link.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why an output path is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("output path {} contains `..`", .path.display())]
    ParentDir { path: PathBuf },
    #[error("{}", outside(.path, .roots))]
    Outside { path: PathBuf, roots: Vec<PathBuf> },
    #[error("output path {} names no file", .path.display())]
    NoFile { path: PathBuf },
    #[error("cannot resolve output path {}: {source}", .path.display())]
    Unresolved { path: PathBuf, source: io::Error },
    #[error("{} (its folder leads to {} through a symbolic link)", outside(.path, .roots), .real_folder.display())]
    Linked {
        path: PathBuf,
        roots: Vec<PathBuf>,
        real_folder: PathBuf,
    },
    #[error("output path {} is a symbolic link; refusing to write through it", .path.display())]
    Symlink { path: PathBuf },
}

/// `path` checked against `roots` (absolute), rebuilt on the real location of its folder.
pub fn confine(path: &Path, roots: &[PathBuf]) -> Result<PathBuf, ConfineError> {
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(ConfineError::ParentDir { path: path.into() });
    }
    if !roots.iter().any(|root| path.starts_with(root)) {
        return Err(ConfineError::Outside {
            path: path.into(),
            roots: roots.to_vec(),
        });
    }
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(ConfineError::NoFile { path: path.into() });
    };
    let unreadable = |source: io::Error| ConfineError::Unresolved {
        path: path.into(),
        source,
    };
    let real_folder = real_location(folder).map_err(unreadable)?;
    let real_roots = roots
        .iter()
        .map(|r| real_location(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    if !real_roots.iter().any(|root| real_folder.starts_with(root)) {
        return Err(ConfineError::Linked {
            path: path.into(),
            roots: roots.to_vec(),
            real_folder,
        });
    }
    let real_path = real_folder.join(name);
    match std::fs::symlink_metadata(&real_path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(ConfineError::Symlink { path: path.into() })
        }
        _ => Ok(real_path),
    }
}

/// `path` with its deepest existing ancestor resolved through every link; the components
/// below it, which do not exist yet, are kept as written.
fn real_location(path: &Path) -> io::Result<PathBuf> {
    let mut existing = path;
    let mut missing = Vec::new();
    loop {
        match std::fs::symlink_metadata(existing) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(e);
                };
                missing.push(name);
                existing = parent;
            }
            Err(e) => return Err(e),
        }
    }
    // A dangling link fails here: nothing is written through a link whose end is unknown.
    let mut real = std::fs::canonicalize(existing)?;
    real.extend(missing.into_iter().rev());
    Ok(real)
}

fn outside(path: &Path, roots: &[PathBuf]) -> String {
    format!(
        "output path {} is outside the allowed output roots ({}); add its folder to `output_roots` in hrbridge.toml",
        path.display(),
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_followed_to_where_they_really_lead() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let root = base.join("outbox");
        std::fs::create_dir_all(root.join("2026")).unwrap();
        std::fs::create_dir_all(base.join("elsewhere")).unwrap();
        symlink(base.join("elsewhere"), root.join("out")).unwrap();
        symlink(root.join("2026"), root.join("current")).unwrap();
        symlink(base.join("elsewhere/x.csv"), root.join("x.csv")).unwrap();
        let roots = [root.clone()];

        assert_eq!(
            confine(&root.join("new/deeper/a.csv"), &roots).unwrap(),
            root.join("new/deeper/a.csv")
        );
        assert_eq!(
            confine(&root.join("current/a.csv"), &roots).unwrap(),
            root.join("2026/a.csv")
        );
        let err = confine(&root.join("out/a.csv"), &roots)
            .unwrap_err()
            .to_string();
        assert!(err.contains("through a symbolic link"), "{err}");
        let err = confine(&root.join("out/new/a.csv"), &roots)
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside the allowed output roots"), "{err}");
        let err = confine(&root.join("x.csv"), &roots)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        assert!(confine(&root.join("../elsewhere/a.csv"), &roots)
            .unwrap_err()
            .to_string()
            .contains("`..`"));
        assert!(confine(&base.join("elsewhere/a.csv"), &roots).is_err());
    }

    #[test]
    fn a_root_reached_through_a_link_is_its_real_location() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(base.join("share")).unwrap();
        symlink(base.join("share"), base.join("outbox")).unwrap();
        assert_eq!(
            confine(&base.join("outbox/a.csv"), &[base.join("outbox")]).unwrap(),
            base.join("share/a.csv")
        );
    }
}
