//! Staging: a private copy of an input, named by its sha256, that the job reads.
//!
//! The job never reads the inbox file itself: the copy (mode 0600, in `state_dir/staging`)
//! cannot change under the reader, its sha256 identifies the content for duplicate detection,
//! and its deterministic name lets crash recovery find it again.
//!
//! The copy is encrypted to the installation key (see [`crate::kernel::keys`]) as it is written, so
//! no plaintext export lingers in the state folder; the sha256 and size are those of the
//! plaintext, so the same export is recognised however it arrived. An input of a source with
//! `decrypt_with` is decrypted on the way in (never written in the clear); one that does not
//! decrypt is staged as it arrived (still sealed to the installation key) and marked, so its
//! job fails and keeps it in `error/`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::decrypt::SourceIdentities;
use super::dir::Candidate;
use crate::kernel::keys::{self, InstallationKey, AGE_SUFFIX};

/// A staged copy of an input file (encrypted to the installation key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub path: PathBuf,
    /// sha256 (hex) of the content the job reads: the plaintext.
    pub sha256: String,
    /// Size of that content.
    pub size: u64,
    pub content: Content,
}

/// What the staged copy holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The input's bytes as they arrived (a source without `decrypt_with`).
    AsArrived,
    /// The plaintext of an age-encrypted input.
    Decrypted,
    /// An input that should have been age-encrypted but did not decrypt: its bytes as they
    /// arrived, and why.
    Undecryptable(String),
}

impl Content {
    /// The name to keep a copy with this content under in `archive/` or `error/`: the name it
    /// arrived under, without the `.age` that decryption took off, with the `.age` of the
    /// installation's encryption.
    pub fn kept_name(&self, arrived: &str) -> String {
        let plain = match self {
            Content::Decrypted => arrived.strip_suffix(AGE_SUFFIX).unwrap_or(arrived),
            Content::AsArrived | Content::Undecryptable(_) => arrived,
        };
        format!("{plain}{AGE_SUFFIX}")
    }
}

/// The staging path of content `sha256` for `profile`.
pub fn staging_path(staging_dir: &Path, sha256: &str) -> PathBuf {
    staging_dir.join(sha256)
}

/// Copies `cand` into `staging_dir`, refusing anything that is not the regular file that was
/// listed: the open follows no symlink and never blocks (a FIFO swapped in cannot hang us),
/// and the opened file must be the listed inode. See the module doc for `identities`.
pub fn stage(
    cand: &Candidate,
    staging_dir: &Path,
    key: &InstallationKey,
    identities: Option<&SourceIdentities>,
) -> io::Result<Staged> {
    let listed = fs::symlink_metadata(&cand.path)?;
    if !listed.is_file() {
        return Err(io::Error::other("input is no longer a regular file"));
    }
    let input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&cand.path)?;
    let opened = input.metadata()?;
    if !opened.is_file() || (opened.dev(), opened.ino()) != (listed.dev(), listed.ino()) {
        return Err(io::Error::other(
            "input was replaced while being opened; refused",
        ));
    }
    // What is staged must be the version that settled: the job's input is released from the
    // inbox only while it still has that size and mtime.
    if !same_version(&opened, cand) {
        return Err(io::Error::other(
            "input changed after it settled; taken when it settles again",
        ));
    }
    let staged = stage_from(&input, staging_dir, key, identities)?;
    let torn = staged_size(&staged).is_some_and(|n| n != cand.size);
    if torn || !same_version(&input.metadata()?, cand) {
        let _ = fs::remove_file(&staged.path);
        return Err(io::Error::other(
            "input changed while it was copied; taken when it settles again",
        ));
    }
    Ok(staged)
}

/// Whether `meta` shows the version of the file `cand` listed (size and mtime).
fn same_version(meta: &fs::Metadata, cand: &Candidate) -> bool {
    meta.len() == cand.size && meta.modified().is_ok_and(|t| t == cand.mtime)
}

/// The number of bytes read from the input, when the staged copy holds them as they arrived
/// (a decrypted input's plaintext has another size).
fn staged_size(staged: &Staged) -> Option<u64> {
    match staged.content {
        Content::Decrypted => None,
        Content::AsArrived | Content::Undecryptable(_) => Some(staged.size),
    }
}

/// Stages the bytes of `input` (read from its start) as [`stage`] does.
pub fn stage_from<R: Read + Seek>(
    mut input: R,
    staging_dir: &Path,
    key: &InstallationKey,
    identities: Option<&SourceIdentities>,
) -> io::Result<Staged> {
    fs::create_dir_all(staging_dir)?;
    let temp = staging_dir.join(format!(".incoming-{}", std::process::id()));
    let staged = stage_into(&mut input, &temp, staging_dir, key, identities);
    if staged.is_err() {
        let _ = fs::remove_file(&temp);
    }
    staged
}

/// Removes what copies in progress left in `staging_dir` (hidden temp names; staged copies
/// are named by their sha256): run at the start of a pass, when no copy of that profile is
/// under way, so a killed process leaves nothing behind for long.
pub fn remove_stale(staging_dir: &Path) {
    let Ok(entries) = fs::read_dir(staging_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// [`stage_from`] through the temp file `temp`.
fn stage_into<R: Read + Seek>(
    input: &mut R,
    temp: &Path,
    staging_dir: &Path,
    key: &InstallationKey,
    identities: Option<&SourceIdentities>,
) -> io::Result<Staged> {
    let (sha256, size, content) = match identities {
        None => {
            let (sha, size) = seal(input, temp, key)?;
            (sha, size, Content::AsArrived)
        }
        Some(ids) => match open_and_seal(input, temp, key, ids)? {
            Ok((sha, size)) => (sha, size, Content::Decrypted),
            Err(why) => {
                input.rewind()?;
                let (sha, size) = seal(input, temp, key)?;
                (sha, size, Content::Undecryptable(why.to_string()))
            }
        },
    };
    let path = staging_path(staging_dir, &sha256);
    fs::rename(temp, &path)?;
    Ok(Staged {
        path,
        sha256,
        size,
        content,
    })
}

/// Why an input is not a sound age file for a source's identities.
#[derive(Debug, thiserror::Error)]
enum UndecryptableError {
    /// It does not open with them.
    #[error(transparent)]
    Refused(io::Error),
    /// It opened, then turned out damaged or cut short.
    #[error("age: {0}")]
    Damaged(io::Error),
}

/// Decrypts `input` with `ids` into a sealed `temp`. The inner `Err` says why the input is
/// not a sound age file for these identities; the outer one is a failure of our own disk.
fn open_and_seal(
    input: &mut impl Read,
    temp: &Path,
    key: &InstallationKey,
    ids: &SourceIdentities,
) -> io::Result<Result<(String, u64), UndecryptableError>> {
    let mut plain = match keys::decrypt_with(input, ids.iter()) {
        Ok(r) => r,
        Err(e) => return Ok(Err(UndecryptableError::Refused(e))),
    };
    match seal(&mut plain, temp, key) {
        Ok(done) => Ok(Ok(done)),
        Err(e) if is_bad_data(&e) => Ok(Err(UndecryptableError::Damaged(e))),
        Err(e) => Err(e),
    }
}

/// How a decrypting reader reports a damaged or truncated file.
fn is_bad_data(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    )
}

/// Writes `input` encrypted to `key` into `temp` (created 0600, synced); returns the sha256
/// and length of the plaintext.
fn seal(input: &mut impl Read, temp: &Path, key: &InstallationKey) -> io::Result<(String, u64)> {
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(temp)?;
    let mut sealed = key.encrypt(out)?;
    let done = copy_hashing(input, &mut sealed)?;
    sealed.finish()?.sync_all()?;
    Ok(done)
}

/// sha256 of a plain file's content, streamed.
pub fn sha256_of(path: &Path) -> io::Result<String> {
    Ok(copy_hashing(&mut File::open(path)?, &mut io::sink())?.0)
}

/// sha256 of an inbox file's content as staging records it: of its plaintext when the
/// source decrypts its inputs with `identities`.
pub fn sha256_of_input(path: &Path, identities: Option<&SourceIdentities>) -> io::Result<String> {
    match identities {
        None => sha256_of(path),
        Some(ids) => {
            let mut plain = keys::decrypt_with(File::open(path)?, ids.iter())?;
            Ok(copy_hashing(&mut plain, &mut io::sink())?.0)
        }
    }
}

/// Copies `input` to `out`, returning the sha256 (hex) and length of what was copied.
fn copy_hashing(input: &mut impl Read, out: &mut impl Write) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf)?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            return Ok((hex::encode(hasher.finalize()), size));
        };
        hasher.update(chunk);
        out.write_all(chunk)?;
        size += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn candidate(path: &Path) -> Candidate {
        let meta = fs::metadata(path).unwrap();
        Candidate {
            name: "in.csv".into(),
            path: path.to_path_buf(),
            size: meta.len(),
            mtime: meta.modified().unwrap(),
        }
    }

    fn unseal(key: &InstallationKey, path: &Path) -> Vec<u8> {
        let mut plain = Vec::new();
        key.decrypt(File::open(path).unwrap())
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        plain
    }

    #[test]
    fn copies_sealed_with_the_plaintext_hash_and_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let key = InstallationKey::load_or_create(dir.path()).unwrap();
        let src = dir.path().join("in.csv");
        fs::write(&src, b"abc").unwrap();
        let staged = stage(&candidate(&src), &dir.path().join("staging"), &key, None).unwrap();
        assert_eq!(
            staged.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!((staged.size, &staged.content), (3, &Content::AsArrived));
        let on_disk = fs::read(&staged.path).unwrap();
        assert!(on_disk.starts_with(b"age-encryption.org/v1"));
        assert!(!on_disk.windows(3).any(|w| w == b"abc"));
        assert_eq!(unseal(&key, &staged.path), b"abc");
        assert_eq!(
            fs::metadata(&staged.path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(sha256_of(&src).unwrap(), staged.sha256);
        assert_eq!(sha256_of_input(&src, None).unwrap(), staged.sha256);
        assert_eq!(staged.content.kept_name("in.csv"), "in.csv.age");
    }

    #[test]
    fn a_version_other_than_the_settled_one_is_not_staged() {
        let dir = tempfile::tempdir().unwrap();
        let key = InstallationKey::load_or_create(dir.path()).unwrap();
        let src = dir.path().join("in.csv");
        fs::write(&src, b"ID\n1\n").unwrap();
        let settled = candidate(&src);
        fs::write(&src, b"ID\n1\n2\n").unwrap();
        let staging = dir.path().join("staging");
        let err = stage(&settled, &staging, &key, None).unwrap_err();
        assert!(
            err.to_string().contains("changed after it settled"),
            "{err}"
        );
        assert!(stage(&candidate(&src), &staging, &key, None).is_ok());
    }

    #[test]
    fn age_inputs_are_opened_and_damaged_ones_staged_as_they_came() {
        use age::secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let key = InstallationKey::load_or_create(dir.path()).unwrap();
        let theirs = age::x25519::Identity::generate();
        fs::write(
            dir.path().join("their.key"),
            theirs.to_string().expose_secret(),
        )
        .unwrap();
        let settings = crate::settings::Settings::resolve(
            None,
            dir.path().to_path_buf(),
            crate::settings::SettingsFile::default(),
        );
        let ids = SourceIdentities::load(&settings, &["their.key".into()], None)
            .unwrap()
            .unwrap();
        let recipient = theirs.to_public();
        let mut sealed = Vec::new();
        let mut w = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
            .unwrap()
            .wrap_output(&mut sealed)
            .unwrap();
        w.write_all(b"abc").unwrap();
        w.finish().unwrap();
        let src = dir.path().join("in.csv.age");
        fs::write(&src, &sealed).unwrap();
        let staging = dir.path().join("staging");

        let staged = stage(&candidate(&src), &staging, &key, Some(&ids)).unwrap();
        assert_eq!(staged.content, Content::Decrypted);
        assert_eq!(staged.sha256, sha256_of_input(&src, Some(&ids)).unwrap());
        assert_eq!(unseal(&key, &staged.path), b"abc");
        assert_eq!(staged.content.kept_name("in.csv.age"), "in.csv.age");

        // Truncated: staged as it arrived (sealed), marked, the error kept.
        let cut = sealed.get(..sealed.len() - 5).unwrap();
        fs::write(&src, cut).unwrap();
        let staged = stage(&candidate(&src), &staging, &key, Some(&ids)).unwrap();
        let Content::Undecryptable(why) = &staged.content else {
            panic!("{:?}", staged.content)
        };
        assert!(!why.is_empty());
        assert_eq!(unseal(&key, &staged.path), cut);
        assert_eq!(staged.content.kept_name("in.csv.age"), "in.csv.age.age");
        assert!(sha256_of_input(&src, Some(&ids)).is_err());
    }
}
