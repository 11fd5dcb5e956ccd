//! `decrypt_with`: the age identities that open the `.age` files a source receives.
//!
//! A partner encrypts an export to hrbridge's public recipient (`age -r`, `age -R`); the
//! source's `decrypt_with` names identity files in the format of `age-keygen` and
//! `hrbridge keygen`. Staging decrypts with them and re-encrypts to the installation key at
//! once, so the plaintext never reaches the disk. Identity files that are themselves
//! passphrase-protected (`age -p`) are opened with the source's `identity_passphrase`, in
//! memory. Messages name files and line numbers, never key material.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::kernel::secret::{SecretError, SecretRef};
use crate::profile::{KeyPath, Problem, Profile};
use crate::settings::Settings;

use super::open::open;

/// The largest identity file read (a few keys are a few hundred bytes).
const MAX_IDENTITY_FILE: u64 = 64 << 10;
/// What every age file starts with; an identity file starting with it is passphrase-protected.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";

/// Why an identity file gives no identities; it names the file (and a line), never its
/// content.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error(
        "{} is protected by a passphrase; give it as source.identity_passphrase = \"${{secret:NAME}}\"",
        .path.display()
    )]
    NeedsPassphrase { path: PathBuf },
    #[error(transparent)]
    Passphrase(#[from] SecretError),
    #[error("{} does not open with source.identity_passphrase", .path.display())]
    WrongPassphrase { path: PathBuf },
    #[error("{} is not an age identity file: {source}", .path.display())]
    NotIdentityFile { path: PathBuf, source: io::Error },
    #[error("{}: {source}", .path.display())]
    BadIdentity {
        path: PathBuf,
        source: age::DecryptError,
    },
    #[error("{} holds no age identity", .path.display())]
    NoIdentity { path: PathBuf },
}

/// The identities of one source's `decrypt_with`, in the order given.
pub struct SourceIdentities {
    identities: Vec<Box<dyn age::Identity>>,
}

impl std::fmt::Debug for SourceIdentities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SourceIdentities({} [secret])", self.identities.len())
    }
}

impl SourceIdentities {
    /// Loads the identity files `paths` (relative ones against hrbridge.toml's folder);
    /// `Ok(None)` when there are none, i.e. the source receives plain files.
    /// `passphrase` opens identity files that are themselves encrypted.
    pub fn load(
        settings: &Settings,
        paths: &[PathBuf],
        passphrase: Option<&SecretRef>,
    ) -> Result<Option<SourceIdentities>, IdentityError> {
        if paths.is_empty() {
            return Ok(None);
        }
        let mut identities = Vec::new();
        for p in paths {
            identities.extend(read_identity_file(
                &settings.resolve_path(p),
                passphrase,
                settings,
            )?);
        }
        Ok(Some(SourceIdentities { identities }))
    }

    /// The identities, for [`crate::kernel::keys::decrypt_with`].
    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.identities
            .iter()
            .map(|i| i.as_ref() as &dyn age::Identity)
    }
}

/// The `decrypt_with` list of a profile's source.
pub fn decrypt_with(profile: &Profile) -> &[PathBuf] {
    open(&profile.source).decrypt_with()
}

/// The `identity_passphrase` of a profile's source.
pub fn identity_passphrase(profile: &Profile) -> Option<&SecretRef> {
    open(&profile.source).identity_passphrase()
}

/// `check`: every `decrypt_with` file exists and holds at least one identity.
pub fn check(profile: &Profile, settings: &Settings) -> Vec<Problem> {
    let at = KeyPath::root().key("source").key("decrypt_with");
    let passphrase = identity_passphrase(profile);
    decrypt_with(profile)
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            read_identity_file(&settings.resolve_path(p), passphrase, settings)
                .err()
                .map(|e| Problem::new(at.clone().index(i), e.to_string()))
        })
        .collect()
}

/// Reads one identity file; the error names the file (and a line), never its content.
fn read_identity_file(
    path: &Path,
    passphrase: Option<&SecretRef>,
    settings: &Settings,
) -> Result<Vec<Box<dyn age::Identity>>, IdentityError> {
    let cannot_read = |source: io::Error| IdentityError::Unreadable {
        path: path.into(),
        source,
    };
    let mut file = File::open(path).map_err(cannot_read)?;
    let mut start = Vec::with_capacity(AGE_MAGIC.len());
    (&mut file)
        .take(AGE_MAGIC.len() as u64)
        .read_to_end(&mut start)
        .and_then(|_| file.rewind())
        .map_err(cannot_read)?;
    let text: Zeroizing<Vec<u8>> = if start == AGE_MAGIC {
        let Some(secret) = passphrase else {
            return Err(IdentityError::NeedsPassphrase { path: path.into() });
        };
        let pass = secret.resolve(&settings.state_dir)?;
        let scrypt = age::scrypt::Identity::new(pass.expose().to_string().into());
        let mut plain = Zeroizing::new(Vec::new());
        crate::kernel::keys::decrypt_with(file, std::iter::once(&scrypt as &dyn age::Identity))
            .and_then(|r| r.take(MAX_IDENTITY_FILE).read_to_end(&mut plain))
            .map_err(|_| IdentityError::WrongPassphrase { path: path.into() })?;
        plain
    } else {
        let mut plain = Zeroizing::new(Vec::new());
        BufReader::new(file)
            .take(MAX_IDENTITY_FILE)
            .read_to_end(&mut plain)
            .map_err(cannot_read)?;
        plain
    };
    let identities = age::IdentityFile::from_buffer(&text[..])
        .map_err(|source| IdentityError::NotIdentityFile {
            path: path.into(),
            source,
        })?
        .into_identities()
        .map_err(|source| IdentityError::BadIdentity {
            path: path.into(),
            source,
        })?;
    if identities.is_empty() {
        return Err(IdentityError::NoIdentity { path: path.into() });
    }
    Ok(identities)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingsFile;
    use age::secrecy::ExposeSecret;
    use std::io::Write;

    fn settings(dir: &Path) -> Settings {
        Settings::resolve(None, dir.to_path_buf(), SettingsFile::default())
    }

    #[test]
    fn loads_keygen_files_and_opens_what_was_sealed_to_them() {
        let dir = tempfile::tempdir().unwrap();
        let id = age::x25519::Identity::generate();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::write(
            dir.path().join("keys/a.key"),
            format!("# created: now\n{}\n", id.to_string().expose_secret()),
        )
        .unwrap();
        let ids = SourceIdentities::load(&settings(dir.path()), &["keys/a.key".into()], None)
            .unwrap()
            .unwrap();
        assert_eq!(format!("{ids:?}"), "SourceIdentities(1 [secret])");

        let recipient = id.to_public();
        let mut sealed = Vec::new();
        let mut w = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
            .unwrap()
            .wrap_output(&mut sealed)
            .unwrap();
        w.write_all(b"ID\n1\n").unwrap();
        w.finish().unwrap();
        let mut plain = String::new();
        crate::kernel::keys::decrypt_with(std::io::Cursor::new(sealed), ids.iter())
            .unwrap()
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "ID\n1\n");
        assert!(SourceIdentities::load(&settings(dir.path()), &[], None)
            .unwrap()
            .is_none());
    }

    #[test]
    fn bad_identity_files_are_named_without_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        std::fs::write(dir.path().join("junk.key"), "AGE-SECRET-KEY-NOPE\n").unwrap();
        std::fs::write(dir.path().join("empty.key"), "# nothing\n").unwrap();
        std::fs::write(
            dir.path().join("locked.key"),
            "age-encryption.org/v1\n-> scrypt",
        )
        .unwrap();
        let err = |name: &str| {
            SourceIdentities::load(&s, &[name.into()], None)
                .unwrap_err()
                .to_string()
        };
        let junk = err("junk.key");
        assert!(
            junk.contains("junk.key") && junk.contains("line 1"),
            "{junk}"
        );
        assert!(!junk.contains("NOPE"), "{junk}");
        assert!(err("empty.key").contains("holds no age identity"));
        assert!(err("locked.key").contains("protected by a passphrase"));
        assert!(err("missing.key").contains("cannot read"));
    }

    #[test]
    fn a_passphrase_protected_identity_file_opens_with_its_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let id = age::x25519::Identity::generate();
        let mut sealed = Vec::new();
        let mut w = age::Encryptor::with_user_passphrase("correct horse".to_string().into())
            .wrap_output(&mut sealed)
            .unwrap();
        writeln!(w, "{}", id.to_string().expose_secret()).unwrap();
        w.finish().unwrap();
        std::fs::write(dir.path().join("locked.key"), &sealed).unwrap();

        std::env::set_var("HRB_TEST_IDENTITY_PASS_OK", "correct horse");
        std::env::set_var("HRB_TEST_IDENTITY_PASS_BAD", "battery staple");
        let pass = |var: &str| SecretRef::Env(var.into());
        let ids = SourceIdentities::load(
            &s,
            &["locked.key".into()],
            Some(&pass("HRB_TEST_IDENTITY_PASS_OK")),
        )
        .unwrap()
        .unwrap();
        assert_eq!(ids.iter().count(), 1);
        let err = SourceIdentities::load(
            &s,
            &["locked.key".into()],
            Some(&pass("HRB_TEST_IDENTITY_PASS_BAD")),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("does not open with source.identity_passphrase"),
            "{err}"
        );
        assert!(!err.contains("battery"), "{err}");
    }
}
