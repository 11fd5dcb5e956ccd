//! Keeping inputs: after a job, its input leaves the inbox for `archive/` or `error/`.
//!
//! Inputs are never deleted (until `retention` says so). The staged copy (the input's bytes,
//! encrypted to the installation key, hence kept as `<name>.age`; `age -d -i
//! state_dir/keys/installation.key` opens it) is moved into the state folder, and only then is
//! the inbox entry removed — and only if it is still the file that was taken (same size and
//! mtime), so a file re-written in the meantime stays. [`restore`] gives a kept input back.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::kernel::atomic::create_private;
use crate::kernel::keys::InstallationKey;
use crate::source::dir::Candidate;
use crate::source::writers::held_for_writing;

/// `state_dir/archive/<profile>/<YYYY-MM-DD>/`.
pub fn archive_dir(state_dir: &Path, profile: &str) -> PathBuf {
    let day = chrono::Local::now().format("%Y-%m-%d").to_string();
    state_dir.join("archive").join(profile).join(day)
}

/// `state_dir/error/<profile>/`.
pub fn error_dir(state_dir: &Path, profile: &str) -> PathBuf {
    state_dir.join("error").join(profile)
}

/// Moves `staged` into `dest_dir` under `name` (with `.1`, `.2` ... before the extension when
/// the name is taken) and returns the new path.
/// `dest_dir` may be on another volume than staging (a mounted archive): the copy is then
/// written and synced before the staged one is removed.
pub fn keep(staged: &Path, dest_dir: &Path, name: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(dest_dir)?;
    let dest = free_name(dest_dir, name);
    match fs::rename(staged, &dest) {
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            copy_private(&mut fs::File::open(staged)?, &dest)?;
            fs::remove_file(staged)?;
        }
        other => other?,
    }
    Ok(dest)
}

/// Writes the plaintext of the kept input `kept` (sealed to the installation key of
/// `state_dir`) to the new file `to` (mode 0600; an existing file is never replaced); returns
/// its size. A kept file that does not decrypt is an error, and `to` is then removed.
pub fn restore(kept: &Path, state_dir: &Path, to: &Path) -> io::Result<u64> {
    let key = InstallationKey::load_or_create(state_dir)?;
    let mut plain = key.decrypt(fs::File::open(kept)?)?;
    copy_private(&mut plain, to)
}

/// Writes what `from` reads to the new file `to` (mode 0600, synced; an existing file is never
/// replaced); returns its size. `to` is removed if the copy fails.
pub fn copy_private(from: &mut impl io::Read, to: &Path) -> io::Result<u64> {
    let mut out = create_private(to)?;
    let copied = io::copy(from, &mut out).and_then(|n| out.sync_all().map(|()| n));
    if copied.is_err() {
        let _ = fs::remove_file(to);
    }
    copied
}

/// A path in `dir` for `name` that does not exist yet.
pub fn free_name(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (1u32..)
        .map(|n| dir.join(format!("{stem}.{n}{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// Removes the inbox entry if it is unchanged since it was taken (the version staged) and no
/// writer holds it open; otherwise leaves it there (a new version, picked up by a later pass).
pub fn release_original(cand: &Candidate) -> io::Result<bool> {
    match fs::symlink_metadata(&cand.path) {
        Ok(m)
            if m.is_file()
                && m.len() == cand.size
                && m.modified()? == cand.mtime
                && !held_for_writing(&cand.path) =>
        {
            fs::remove_file(&cand.path)?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the done marker (`<path><marker>`) of a released input, if it is there.
pub fn remove_marker(path: &Path, marker: &str) -> io::Result<()> {
    let mut name = path.as_os_str().to_os_string();
    name.push(marker);
    match fs::remove_file(PathBuf::from(name)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("archive");
        for n in 0..3 {
            let staged = dir.path().join(format!("s{n}"));
            fs::write(&staged, format!("{n}")).unwrap();
            keep(&staged, &dest, "hires.csv").unwrap();
        }
        let mut names: Vec<_> = fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["hires.1.csv", "hires.2.csv", "hires.csv"]);
    }

    #[test]
    fn restore_gives_back_the_plaintext_and_refuses_damage() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let key = InstallationKey::load_or_create(dir.path()).unwrap();
        let kept = dir.path().join("x.csv.age");
        let mut w = key.encrypt(fs::File::create(&kept).unwrap()).unwrap();
        w.write_all(b"ID\n1\n").unwrap();
        w.finish().unwrap();
        let to = dir.path().join("x.csv");
        assert_eq!(restore(&kept, dir.path(), &to).unwrap(), 5);
        assert_eq!(fs::read(&to).unwrap(), b"ID\n1\n");
        // Never over an existing file.
        assert!(restore(&kept, dir.path(), &to).is_err());
        let mut bytes = fs::read(&kept).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        fs::write(&kept, bytes).unwrap();
        let again = dir.path().join("y.csv");
        assert!(restore(&kept, dir.path(), &again).is_err());
        assert!(!again.exists());
    }

    #[test]
    fn a_changed_original_stays_in_the_inbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        fs::write(&path, "a").unwrap();
        let m = fs::metadata(&path).unwrap();
        let cand = Candidate {
            name: "x.csv".into(),
            path: path.clone(),
            size: m.len(),
            mtime: m.modified().unwrap(),
        };
        fs::write(&path, "ab").unwrap();
        assert!(!release_original(&cand).unwrap());
        assert!(path.exists());
        fs::write(&path, "a").unwrap();
        let m = fs::metadata(&path).unwrap();
        let cand = Candidate {
            mtime: m.modified().unwrap(),
            ..cand
        };
        assert!(release_original(&cand).unwrap());
        assert!(!path.exists());
    }
}
