//! Staging: a private copy of an input, named by its sha256, that the job reads.
//!
//! The job never reads the inbox file itself: the copy (mode 0600, in `state_dir/staging`)
//! cannot change under the reader, its sha256 identifies the content for duplicate detection,
//! and its deterministic name lets crash recovery find it again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::dir::Candidate;

/// A staged copy of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// The staging path of content `sha256` for `profile`.
pub fn staging_path(staging_dir: &Path, sha256: &str) -> PathBuf {
    staging_dir.join(sha256)
}

/// Copies `cand` into `staging_dir`, refusing anything that is not the regular file that was
/// listed: the open follows no symlink and never blocks (a FIFO swapped in cannot hang us),
/// and the opened file must be the listed inode.
pub fn stage(cand: &Candidate, staging_dir: &Path) -> io::Result<Staged> {
    fs::create_dir_all(staging_dir)?;
    let listed = fs::symlink_metadata(&cand.path)?;
    if !listed.is_file() {
        return Err(io::Error::other("input is no longer a regular file"));
    }
    let mut input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&cand.path)?;
    let opened = input.metadata()?;
    if !opened.is_file() || (opened.dev(), opened.ino()) != (listed.dev(), listed.ino()) {
        return Err(io::Error::other(
            "input was replaced while being opened; refused",
        ));
    }
    let temp = staging_dir.join(format!(".incoming-{}", std::process::id()));
    let mut out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    let (sha256, size) = copy_hashing(&mut input, &mut out)?;
    out.sync_all()?;
    let path = staging_path(staging_dir, &sha256);
    fs::rename(&temp, &path)?;
    Ok(Staged { path, sha256, size })
}

/// sha256 of a file's content, streamed.
pub fn sha256_of(path: &Path) -> io::Result<String> {
    Ok(copy_hashing(&mut File::open(path)?, &mut io::sink())?.0)
}

/// Copies `input` to `out`, returning the sha256 (hex) and length of what was copied.
fn copy_hashing(input: &mut impl Read, out: &mut impl Write) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            return Ok((hex::encode(hasher.finalize()), size));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        size += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn copies_with_hash_and_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.csv");
        fs::write(&src, b"abc").unwrap();
        let meta = fs::metadata(&src).unwrap();
        let cand = Candidate {
            name: "in.csv".into(),
            path: src.clone(),
            size: meta.len(),
            mtime: meta.modified().unwrap(),
        };
        let staged = stage(&cand, &dir.path().join("staging")).unwrap();
        assert_eq!(
            staged.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(staged.size, 3);
        assert_eq!(fs::read(&staged.path).unwrap(), b"abc");
        assert_eq!(
            fs::metadata(&staged.path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(sha256_of(&src).unwrap(), staged.sha256);
    }
}
