//! The installation's own age key, so that what hrbridge keeps for itself — staged and archived
//! inputs, spools, secrets — never sits on disk in plain text.
//!
//! The identity lives in `state_dir/keys/installation.key` (folder 0700, file 0600, the format
//! of `age-keygen`), created on first use. Whoever can read that file can read the state
//! folder's encrypted files; back it up with the same care as the database.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use age::stream::{StreamReader, StreamWriter};
use hmac::Hmac;

use crate::kernel::atomic::create_private;

/// The suffix an age-encrypted file's name gets: outputs sealed to recipients, and inputs
/// that arrive encrypted.
pub const AGE_SUFFIX: &str = ".age";

/// File name of the identity inside `state_dir/keys`.
const KEY_FILE: &str = "installation.key";

/// The installation's age identity.
pub struct InstallationKey {
    identity: age::x25519::Identity,
}

impl std::fmt::Debug for InstallationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstallationKey([secret])")
    }
}

impl InstallationKey {
    /// Where the key of `state_dir` lives.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("keys").join(KEY_FILE)
    }

    /// Loads the key of `state_dir`, creating it on first use. A key file readable by others
    /// is refused (fail closed), as is one that holds no identity.
    pub fn load_or_create(state_dir: &Path) -> io::Result<InstallationKey> {
        let path = Self::path(state_dir);
        // Read first: the key exists on every call but the first, and making a new identity
        // only to find the file taken is wasted work.
        match Self::load(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            loaded => return loaded,
        }
        match write_new_identity(
            &path,
            "hrbridge installation key: keep it private, back it up",
        ) {
            Ok(identity) => Ok(InstallationKey { identity }),
            // Another process created it first, or it exists from an earlier run.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::load(&path),
            Err(e) => Err(e),
        }
    }

    /// A key that lives only in memory, for a command that reads a state without a key of its
    /// own (nothing was ever sealed or hashed with one there).
    pub fn ephemeral() -> InstallationKey {
        InstallationKey {
            identity: age::x25519::Identity::generate(),
        }
    }

    /// Loads the key of `state_dir` and never creates one: `NotFound` when it is missing.
    pub fn load_existing(state_dir: &Path) -> io::Result<InstallationKey> {
        Self::load(&Self::path(state_dir))
    }

    fn load(path: &Path) -> io::Result<InstallationKey> {
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is readable by others (mode {:o}); run chmod 600 on it",
                    path.display(),
                    mode & 0o777
                ),
            ));
        }
        let text = zeroize::Zeroizing::new(fs::read_to_string(path)?);
        let identity = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} holds no age identity", path.display()),
                )
            })?;
        Ok(InstallationKey { identity })
    }

    /// The public recipient (`age1…`).
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity.to_public()
    }

    /// Starts an age stream (binary) to this installation into `out`; call `finish` on it.
    pub fn encrypt<W: Write>(&self, out: W) -> io::Result<StreamWriter<W>> {
        let recipient = self.recipient();
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(io::Error::other)?
            .wrap_output(out)
    }

    /// A keyed hash for `purpose` (e.g. `"lifecycle"`): HMAC-SHA256 under a key derived from
    /// this installation's secret, so values hashed with it can be compared but not guessed
    /// by whoever reads only the database.
    pub fn keyed_hash(&self, purpose: &str) -> KeyedHash {
        let secret = self.identity.to_string();
        let derived = KeyedHash::mac(secret.expose_secret().as_bytes(), purpose.as_bytes());
        KeyedHash { key: derived }
    }

    /// An Ed25519 key for `purpose` (e.g. signing the audit head), derived from this
    /// installation's secret: the same key every time, and nothing of the secret in it.
    pub fn signing_key(&self, purpose: &str) -> ed25519_dalek::SigningKey {
        let secret = self.identity.to_string();
        let seed = zeroize::Zeroizing::new(KeyedHash::mac(
            secret.expose_secret().as_bytes(),
            purpose.as_bytes(),
        ));
        ed25519_dalek::SigningKey::from_bytes(&seed)
    }

    /// Opens an age stream encrypted to this installation; it also seeks when `input` does.
    /// A file that is not age, or not for this key, is an error; a truncated or altered one
    /// fails while it is read.
    pub fn decrypt<R: Read>(&self, input: R) -> io::Result<StreamReader<R>> {
        decrypt_with(input, std::iter::once(&self.identity as &dyn age::Identity))
    }
}

/// HMAC-SHA256 under a key derived from the installation key (see
/// [`InstallationKey::keyed_hash`]).
#[derive(Clone)]
pub struct KeyedHash {
    key: [u8; 32],
}

impl std::fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHash([secret])")
    }
}

impl KeyedHash {
    /// The hash of `value`, as 64 hex digits.
    pub fn hex(&self, value: &str) -> String {
        hex::encode(Self::mac(&self.key, value.as_bytes()))
    }

    /// A keyed digest to feed in parts ([`KeyedDigest::update`]); clone a fresh one for each
    /// value, which skips setting the key up again.
    pub fn digest(&self) -> KeyedDigest {
        KeyedDigest(Self::keyed(&self.key))
    }

    /// HMAC-SHA256 with `key` set up.
    fn keyed(key: &[u8]) -> Hmac<sha2::Sha256> {
        <Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key)
            .expect("HMAC takes any key length")
    }

    fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = Self::keyed(key);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// HMAC-SHA256 of a value fed in parts, cut to 16 bytes: what a snapshot keeps to tell whether
/// a person's fields changed, without keeping (or being able to reveal) the fields.
#[derive(Clone)]
pub struct KeyedDigest(Hmac<sha2::Sha256>);

impl KeyedDigest {
    /// Feeds `part`.
    pub fn update(&mut self, part: &[u8]) {
        hmac::Mac::update(&mut self.0, part);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> [u8; 16] {
        let full: [u8; 32] = hmac::Mac::finalize(self.0).into_bytes().into();
        let mut cut = [0u8; 16];
        cut.copy_from_slice(&full[..16]);
        cut
    }
}

/// Writes a new identity to `path` in the format of `age-keygen` (a `# comment`, the public
/// key, the secret key), never over an existing file: the file is created 0600 and its
/// missing folders 0700.
pub fn write_new_identity(path: &Path, comment: &str) -> io::Result<age::x25519::Identity> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = create_private(path)?;
    let identity = age::x25519::Identity::generate();
    writeln!(file, "# {comment}")?;
    writeln!(file, "# public key: {}", identity.to_public())?;
    writeln!(file, "{}", identity.to_string().expose_secret())?;
    file.sync_all()?;
    Ok(identity)
}

/// Opens an age stream with the first of `identities` that fits.
pub fn decrypt_with<'a, R: Read>(
    input: R,
    identities: impl Iterator<Item = &'a dyn age::Identity>,
) -> io::Result<StreamReader<R>> {
    age::Decryptor::new(input)
        .and_then(|d| d.decrypt(identities))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("age: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_the_installation_and_the_purpose() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ka = InstallationKey::load_or_create(a.path()).unwrap();
        let kb = InstallationKey::load_or_create(b.path()).unwrap();
        let h = ka.keyed_hash("lifecycle");
        assert_eq!(h.hex("123-45-6789"), h.hex("123-45-6789"));
        assert_eq!(h.hex("x").len(), 64);
        assert_ne!(h.hex("123-45-6789"), h.hex("123-45-6780"));
        assert_ne!(h.hex("x"), ka.keyed_hash("trace").hex("x"));
        assert_ne!(h.hex("x"), kb.keyed_hash("lifecycle").hex("x"));
    }

    #[test]
    fn created_once_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let key = InstallationKey::load_or_create(dir.path()).unwrap();
        let path = InstallationKey::path(dir.path());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = InstallationKey::load_or_create(dir.path()).unwrap();
        assert_eq!(key.recipient().to_string(), again.recipient().to_string());

        let mut sealed = Vec::new();
        let mut w = key.encrypt(&mut sealed).unwrap();
        w.write_all(b"E1,123-45-6789\n").unwrap();
        w.finish().unwrap();
        let mut plain = String::new();
        again
            .decrypt(io::Cursor::new(&sealed))
            .unwrap()
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "E1,123-45-6789\n");

        // One flipped byte in the payload: reading fails, nothing wrong is returned.
        let last = sealed.len() - 3;
        sealed[last] ^= 1;
        let mut out = Vec::new();
        let read = again
            .decrypt(io::Cursor::new(&sealed))
            .and_then(|mut r| r.read_to_end(&mut out));
        assert!(read.is_err());
        assert_eq!(format!("{key:?}"), "InstallationKey([secret])");
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        InstallationKey::load_or_create(dir.path()).unwrap();
        let path = InstallationKey::path(dir.path());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = InstallationKey::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
