//! Secrets: referenced by profiles, never written in them, never logged, never on disk in
//! plain text.
//!
//! A profile names a secret as `"${env:NAME}"` (an environment variable of the hrbridge
//! process) or `"${secret:NAME}"` (an entry of the installation's secrets store). Inline values
//! are refused when the profile is loaded. A resolved [`Secret`] prints as `[secret]` in any
//! `Debug` output and is wiped from memory when dropped.
//!
//! The [`SecretStore`] is one file, `state_dir/secrets.age`: a JSON map of name to value,
//! encrypted to the installation key ([`crate::kernel::keys`]). Every change rewrites it whole under a
//! temp name (mode 0600, fsynced) that is then renamed over the old one, so a crash leaves the
//! old store or the new one, never a mix and never plaintext. Reading it never creates the
//! installation key: without a store, every `${secret:...}` is simply not set.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::kernel::atomic::{temp_path, AtomicFile};
use crate::kernel::keys::InstallationKey;

/// Where a secret comes from, as written in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `${env:NAME}`: an environment variable of the hrbridge process.
    Env(String),
    /// `${secret:NAME}`: an entry of the secrets store (`hrbridge secrets set NAME`).
    File(String),
}

/// A secret name outside the rules of `${secret:NAME}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret name {name:?} may only contain letters, digits, `_`, `-` and `.`")]
pub struct BadSecretName {
    name: String,
}

/// Why a profile's text is not a secret reference. No variant holds the text itself: it may
/// be a secret written inline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefError {
    /// Not `${...}` at all, as an inline secret value would be.
    #[error("secrets are never written inline: use \"${{env:NAME}}\" or \"${{secret:NAME}}\"")]
    Inline,
    /// `${...}` without a `kind:`.
    #[error("a secret reference is \"${{env:NAME}}\" or \"${{secret:NAME}}\"")]
    NoKind,
    #[error(transparent)]
    Name(#[from] BadSecretName),
    /// A kind other than `env` or `secret`.
    #[error("unknown secret kind {kind:?}: use \"${{env:NAME}}\" or \"${{secret:NAME}}\"")]
    UnknownKind { kind: String },
}

/// Why a secret could not be read. Messages name the reference and how to set it, never a
/// value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secrets store exists but cannot be read or decrypted.
    #[error("{reference}: cannot read the secrets store: {source}")]
    Store {
        reference: SecretRef,
        #[source]
        source: io::Error,
    },
    /// `${env:NAME}` names a variable the process does not have.
    #[error("${{env:{name}}}: environment variable {name} is not set")]
    EnvNotSet { name: String },
    /// `${secret:NAME}` names no entry of the store.
    #[error("${{secret:{name}}} is not set: store it with `hrbridge secrets set {name}`")]
    StoreNotSet { name: String },
}

/// Refuses a secret name outside letters, digits, `_`, `-` and `.` (and not starting with `.`).
pub fn check_name(name: &str) -> Result<(), BadSecretName> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && !name.starts_with('.');
    if valid {
        Ok(())
    } else {
        Err(BadSecretName {
            name: name.to_string(),
        })
    }
}

/// A secret value; its `Debug` output never shows it.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// The value, for handing to the library that needs it — never to a log or a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

impl std::str::FromStr for SecretRef {
    type Err = SecretRefError;

    fn from_str(s: &str) -> Result<SecretRef, SecretRefError> {
        let inner = s
            .strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .ok_or(SecretRefError::Inline)?;
        let (kind, name) = inner.split_once(':').ok_or(SecretRefError::NoKind)?;
        check_name(name)?;
        match kind {
            "env" => Ok(SecretRef::Env(name.to_string())),
            "secret" => Ok(SecretRef::File(name.to_string())),
            other => Err(SecretRefError::UnknownKind {
                kind: other.to_string(),
            }),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::kernel::from_text::deserialize(d)
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "${{env:{n}}}"),
            SecretRef::File(n) => write!(f, "${{secret:{n}}}"),
        }
    }
}

impl SecretRef {
    /// Reads the secret. Errors name the reference and how to set it, never a value.
    pub fn resolve(&self, state_dir: &Path) -> Result<Secret, SecretError> {
        let found = match self {
            SecretRef::Env(name) => std::env::var(name).ok().map(|v| Secret(Zeroizing::new(v))),
            SecretRef::File(name) => SecretStore::open(state_dir)
                .map_err(|source| SecretError::Store {
                    reference: self.clone(),
                    source,
                })?
                .get(name),
        };
        found.ok_or_else(|| self.unset())
    }

    /// Whether the secret can be resolved, without reading its value out (`hrbridge check`);
    /// `store` is `None` when the store could not be read.
    pub fn is_set(&self, store: Option<&SecretStore>) -> bool {
        match self {
            SecretRef::Env(name) => std::env::var(name).is_ok(),
            SecretRef::File(name) => store.is_some_and(|s| s.values.contains_key(name)),
        }
    }

    /// What to say when the secret is not set: the reference and how to set it.
    pub fn not_set(&self) -> String {
        self.unset().to_string()
    }

    /// The error of resolving the secret when it is not set.
    fn unset(&self) -> SecretError {
        match self {
            SecretRef::Env(name) => SecretError::EnvNotSet { name: name.clone() },
            SecretRef::File(name) => SecretError::StoreNotSet { name: name.clone() },
        }
    }
}

/// File name of the store inside the state folder.
const STORE_FILE: &str = "secrets.age";

/// The installation's secrets, decrypted in memory (values wiped on drop).
pub struct SecretStore {
    state_dir: PathBuf,
    /// Loaded when the store exists, or created when it is first written.
    key: Option<InstallationKey>,
    values: BTreeMap<String, Zeroizing<String>>,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStore")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretStore {
    /// Where the store of `state_dir` lives.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(STORE_FILE)
    }

    /// Reads the store of `state_dir` (empty when there is none yet). Creates nothing: a store
    /// whose installation key is missing, altered or not for this key is an error.
    pub fn open(state_dir: &Path) -> io::Result<SecretStore> {
        let mut store = SecretStore {
            state_dir: state_dir.to_path_buf(),
            key: None,
            values: BTreeMap::new(),
        };
        let path = Self::path(&store.state_dir);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(store),
            Err(e) => return Err(in_file(&path, e)),
        };
        let key = match InstallationKey::load_existing(&store.state_dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "{} is encrypted to the installation key {}, which is missing; restore \
                         it from a backup",
                        path.display(),
                        InstallationKey::path(&store.state_dir).display()
                    ),
                ))
            }
            other => other?,
        };
        let plain = key
            .decrypt(BufReader::new(file))
            .map_err(|e| in_file(&path, e))?;
        // The error says where, never what: a message about the content could quote a value.
        store.values = serde_json::from_reader(plain).map_err(|e| {
            if e.is_io() {
                in_file(&path, e.into())
            } else {
                in_file(
                    &path,
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "not a secrets store (line {}, column {})",
                            e.line(),
                            e.column()
                        ),
                    ),
                )
            }
        })?;
        store.key = Some(key);
        Ok(store)
    }

    /// The secret `name`, if set.
    pub fn get(&self, name: &str) -> Option<Secret> {
        self.values.get(name).map(|v| Secret(v.clone()))
    }

    /// The names of all secrets, in order; never their values.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Sets (or replaces) `name` and writes the store; creates the installation key on first
    /// use. The name follows the rules of `${secret:NAME}`; an empty value is refused.
    pub fn set(&mut self, name: &str, value: Zeroizing<String>) -> io::Result<()> {
        check_name(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if value.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the value of secret {name} is empty"),
            ));
        }
        let mut values = self.values.clone();
        values.insert(name.to_string(), value);
        self.save(values)
    }

    /// Removes `name` and writes the store; `false` (and nothing written) when it was not set.
    pub fn remove(&mut self, name: &str) -> io::Result<bool> {
        if !self.values.contains_key(name) {
            return Ok(false);
        }
        let mut values = self.values.clone();
        values.remove(name);
        self.save(values)?;
        Ok(true)
    }

    /// Writes `values` as the new store, then keeps them; on failure the old store stays, on
    /// disk and here.
    fn save(&mut self, values: BTreeMap<String, Zeroizing<String>>) -> io::Result<()> {
        let key = match self.key.take() {
            Some(key) => key,
            None => InstallationKey::load_or_create(&self.state_dir)?,
        };
        let key = self.key.insert(key);
        let path = Self::path(&self.state_dir);
        write_sealed(&path, key, &values).map_err(|e| in_file(&path, e))?;
        self.values = values;
        Ok(())
    }
}

/// Encrypts `values` into a temp file beside `path` (0600, fsynced), renames it over `path`
/// and fsyncs the folder. The plaintext goes straight into the encryptor.
fn write_sealed(
    path: &Path,
    key: &InstallationKey,
    values: &BTreeMap<String, Zeroizing<String>>,
) -> io::Result<()> {
    const TAG: &str = "store";
    // A leftover of a crashed write (the caller holds the state folder's lock).
    let _ = fs::remove_file(temp_path(path, TAG));
    let mut sealed = key.encrypt(AtomicFile::create(path, TAG)?)?;
    let written = serde_json::to_writer(&mut sealed, values)
        .map_err(io::Error::from)
        .and_then(|()| sealed.finish())
        .and_then(AtomicFile::finish);
    let done = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = fs::remove_file(temp_path(path, TAG));
            return Err(e);
        }
    };
    let renamed = fs::rename(&done.temp_path, path);
    if renamed.is_err() {
        let _ = fs::remove_file(&done.temp_path);
    }
    renamed?;
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Prefixes an error with the file it concerns.
fn in_file(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn parses_references_and_refuses_inline_values() {
        assert_eq!(
            "${env:HRIS_TOKEN}".parse(),
            Ok(SecretRef::Env("HRIS_TOKEN".into()))
        );
        assert_eq!(
            "${secret:sftp_pw}".parse(),
            Ok(SecretRef::File("sftp_pw".into()))
        );
        for bad in [
            "hunter2",
            "${vault:x}",
            "${secret:../x}",
            "${env:}",
            "${secret:a/b}",
        ] {
            assert!(bad.parse::<SecretRef>().is_err(), "{bad}");
        }
        let err = "hunter2".parse::<SecretRef>().unwrap_err().to_string();
        assert!(!err.contains("hunter2"));
    }

    /// The state folder an installation in `dir` uses by default.
    fn state_in(dir: &Path) -> PathBuf {
        dir.join("var")
    }

    fn value(v: &str) -> Zeroizing<String> {
        Zeroizing::new(v.to_string())
    }

    #[test]
    fn set_get_remove_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = state_in(dir.path());
        let mut store = SecretStore::open(&state_dir).unwrap();
        store.set("sftp_pw", value("s3cret")).unwrap();
        store.set("hris.key-2", value("k2")).unwrap();
        store.set("sftp_pw", value("n3w")).unwrap();

        let again = SecretStore::open(&state_dir).unwrap();
        assert_eq!(again.names().collect::<Vec<_>>(), ["hris.key-2", "sftp_pw"]);
        let s = SecretRef::File("sftp_pw".into())
            .resolve(&state_dir)
            .unwrap();
        assert_eq!(s.expose(), "n3w");
        assert_eq!(format!("{s:?}"), "[secret]");
        let shown = format!("{again:?}");
        assert!(
            shown.contains("sftp_pw") && !shown.contains("n3w"),
            "{shown}"
        );

        let mut store = again;
        assert!(store.remove("sftp_pw").unwrap());
        assert!(!store.remove("sftp_pw").unwrap());
        let again = SecretStore::open(&state_dir).unwrap();
        assert_eq!(again.names().collect::<Vec<_>>(), ["hris.key-2"]);
        let path = SecretStore::path(&state_dir);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Only the store and the key: no temp file is left behind.
        let mut left: Vec<_> = fs::read_dir(&state_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["keys", "secrets.age"]);
    }

    #[test]
    fn the_file_holds_no_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = state_in(dir.path());
        let mut store = SecretStore::open(&state_dir).unwrap();
        store
            .set("canary_name", value("canary-value-5b1e"))
            .unwrap();
        let bytes = fs::read(SecretStore::path(&state_dir)).unwrap();
        assert!(bytes.starts_with(b"age-encryption.org/v1"));
        for needle in [&b"canary-value-5b1e"[..], b"canary_name"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        }
    }

    #[test]
    fn a_missing_secret_names_itself_and_how_to_set_it() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = state_in(dir.path());
        let err = SecretRef::File("hris".into())
            .resolve(&state_dir)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "${secret:hris} is not set: store it with `hrbridge secrets set hris`"
        );
        // Reading never creates the installation key.
        assert!(!InstallationKey::path(&state_dir).exists());
        let store = SecretStore::open(&state_dir).unwrap();
        assert!(!SecretRef::File("hris".into()).is_set(Some(&store)));
        let err = SecretRef::Env("HRBRIDGE_TEST_SURELY_UNSET".into())
            .resolve(&state_dir)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("HRBRIDGE_TEST_SURELY_UNSET is not set"),
            "{err}"
        );
    }

    #[test]
    fn bad_names_empty_values_and_a_lost_key_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = state_in(dir.path());
        let mut store = SecretStore::open(&state_dir).unwrap();
        for bad in ["", "../x", "a/b", ".hidden", "sp ace"] {
            let err = store.set(bad, value("v")).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        let err = store.set("x", value("")).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        store.set("x", value("v")).unwrap();
        fs::remove_file(InstallationKey::path(&state_dir)).unwrap();
        let err = SecretStore::open(&state_dir).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(!InstallationKey::path(&state_dir).exists());
    }
}
