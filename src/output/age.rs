//! age encryption of output files (`encrypt_to`): payroll and benefits files must never lie
//! on disk, or travel, in the clear.
//!
//! The output's encoder writes straight into an age stream, which writes into the atomic temp
//! file: only ciphertext ever reaches the disk, in constant memory whatever the file size.
//! Recipients are X25519 keys (`age1…`), SSH public keys (`ssh-ed25519 …`, `ssh-rsa …`) or
//! recipients files (one per line, `#` comments), the formats the reference `age` CLI reads.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use age::armor::{ArmoredWriter, Format};
use age::stream::StreamWriter;

use crate::kernel::atomic::AtomicFile;
use crate::settings::Settings;

pub use crate::kernel::keys::AGE_SUFFIX as SUFFIX;

/// A recipient, whatever its kind.
type BoxedRecipient = Box<dyn age::Recipient + Send + Sync>;

/// Why `encrypt_to` is refused: the entry (by position) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("encrypt_to[{index}]: {reason}")]
pub struct EncryptToError {
    index: usize,
    reason: EntryError,
}

/// What is wrong with one `encrypt_to` entry.
#[derive(Debug, thiserror::Error)]
enum EntryError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{} is neither a recipient nor a readable recipients file ({source})", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("{} line {line}: {reason}", .path.display())]
    Line {
        path: PathBuf,
        line: usize,
        reason: KeyError,
    },
    #[error("{} lists no recipients", .path.display())]
    Empty { path: PathBuf },
}

/// What is wrong with one recipient line.
#[derive(Debug, thiserror::Error)]
enum KeyError {
    #[error("not a valid age recipient: {0}")]
    Age(&'static str),
    #[error("not a supported SSH public key (ssh-ed25519 or ssh-rsa)")]
    Ssh,
    #[error("not an age1… key or an ssh-ed25519/ssh-rsa public key")]
    Unknown,
}

/// Who an output is encrypted to, and in which form.
pub struct Sealing {
    recipients: Vec<BoxedRecipient>,
    armor: bool,
}

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealing")
            .field("recipients", &self.recipients.len())
            .field("armor", &self.armor)
            .finish()
    }
}

impl Sealing {
    /// The sealing `encrypt_to` and `armor` describe; `None` when `encrypt_to` is empty. The
    /// error names the entry (by position) and what is wrong with it.
    pub fn new(
        encrypt_to: &[String],
        armor: bool,
        settings: &Settings,
    ) -> Result<Option<Sealing>, EncryptToError> {
        if encrypt_to.is_empty() {
            return Ok(None);
        }
        let mut recipients = Vec::new();
        for (i, entry) in encrypt_to.iter().enumerate() {
            let entry = entry.trim();
            let found = if looks_like_key(entry) {
                parse_recipient(entry)
                    .map(|r| vec![r])
                    .map_err(EntryError::from)
            } else {
                recipients_file(&settings.resolve_path(Path::new(entry)))
            };
            recipients.extend(found.map_err(|reason| EncryptToError { index: i, reason })?);
        }
        Ok(Some(Sealing { recipients, armor }))
    }

    /// Binary age to this installation's own key (for what hrbridge keeps for itself).
    pub fn to_installation(key: &crate::kernel::keys::InstallationKey) -> Sealing {
        Sealing {
            recipients: vec![Box::new(key.recipient())],
            armor: false,
        }
    }

    /// Starts encrypting into `file`.
    pub fn seal(&self, file: AtomicFile) -> io::Result<OutFile> {
        let format = if self.armor {
            Format::AsciiArmor
        } else {
            Format::Binary
        };
        let encryptor = age::Encryptor::with_recipients(
            self.recipients
                .iter()
                .map(|r| r.as_ref() as &dyn age::Recipient),
        )
        .map_err(io::Error::other)?;
        let stream = encryptor.wrap_output(ArmoredWriter::wrap_output(file, format)?)?;
        Ok(OutFile::Sealed(Box::new(stream)))
    }
}

fn looks_like_key(entry: &str) -> bool {
    entry.starts_with("age1") || entry.starts_with("ssh-")
}

/// One recipient line: an X25519 key or an SSH public key.
fn parse_recipient(line: &str) -> Result<BoxedRecipient, KeyError> {
    if line.starts_with("age1") {
        line.parse::<age::x25519::Recipient>()
            .map(|r| Box::new(r) as BoxedRecipient)
            .map_err(KeyError::Age)
    } else if line.starts_with("ssh-") {
        line.parse::<age::ssh::Recipient>()
            .map(|r| Box::new(r) as BoxedRecipient)
            .map_err(|_| KeyError::Ssh)
    } else {
        Err(KeyError::Unknown)
    }
}

/// The recipients of a recipients file: one per line, blank lines and `#` comments skipped.
fn recipients_file(path: &Path) -> Result<Vec<BoxedRecipient>, EntryError> {
    let text = std::fs::read_to_string(path).map_err(|source| EntryError::Unreadable {
        path: path.into(),
        source,
    })?;
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        found.push(parse_recipient(line).map_err(|reason| EntryError::Line {
            path: path.into(),
            line: n + 1,
            reason,
        })?);
    }
    if found.is_empty() {
        return Err(EntryError::Empty { path: path.into() });
    }
    Ok(found)
}

/// Where an output's encoder writes: the temp file itself, or an age stream into it.
pub enum OutFile {
    Plain(AtomicFile),
    Sealed(Box<StreamWriter<ArmoredWriter<AtomicFile>>>),
}

impl OutFile {
    /// Ends the age stream (its last chunk and armor footer) and returns the temp file.
    pub fn into_atomic(self) -> io::Result<AtomicFile> {
        match self {
            OutFile::Plain(f) => Ok(f),
            OutFile::Sealed(stream) => stream.finish()?.finish(),
        }
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            OutFile::Plain(f) => f.write(buf),
            OutFile::Sealed(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            OutFile::Plain(f) => f.flush(),
            OutFile::Sealed(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingsFile;
    use std::io::Read;

    fn settings(dir: &Path) -> Settings {
        Settings::resolve(None, dir.to_path_buf(), SettingsFile::default())
    }

    /// Encrypts `plain` to `sealing` through an atomic file and returns the finished bytes.
    fn sealed_bytes(sealing: &Sealing, dir: &Path, plain: &[u8]) -> Vec<u8> {
        let own = tempfile::tempdir_in(dir).unwrap();
        let target = own.path().join("out.csv.age");
        let mut out = sealing
            .seal(AtomicFile::create(&target, "t").unwrap())
            .unwrap();
        out.write_all(plain).unwrap();
        let finished = out.into_atomic().unwrap().finish().unwrap();
        std::fs::read(finished.temp_path).unwrap()
    }

    fn decrypt(bytes: &[u8], identity: &age::x25519::Identity) -> Vec<u8> {
        let reader = age::armor::ArmoredReader::new(bytes);
        let decryptor = age::Decryptor::new(reader).unwrap();
        let mut plain = Vec::new();
        decryptor
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        plain
    }

    #[test]
    fn outputs_decrypt_binary_and_armored() {
        let dir = tempfile::tempdir().unwrap();
        let identity = age::x25519::Identity::generate();
        let key = identity.to_public().to_string();
        for armor in [false, true] {
            let sealing = Sealing::new(std::slice::from_ref(&key), armor, &settings(dir.path()))
                .unwrap()
                .unwrap();
            let bytes = sealed_bytes(&sealing, dir.path(), b"id,ssn\nE1,123-45-6789\n");
            assert!(!String::from_utf8_lossy(&bytes).contains("6789"));
            assert_eq!(
                bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
                armor
            );
            assert_eq!(decrypt(&bytes, &identity), b"id,ssn\nE1,123-45-6789\n");
        }
    }

    #[test]
    fn recipients_files_skip_comments_and_name_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let file = dir.path().join("payroll.recipients");
        std::fs::write(
            &file,
            format!(
                "# payroll team\n\n{}\n  {}  \n",
                a.to_public(),
                b.to_public()
            ),
        )
        .unwrap();
        let s = settings(dir.path());
        let sealing = Sealing::new(&["payroll.recipients".into()], false, &s)
            .unwrap()
            .unwrap();
        assert_eq!(sealing.recipients.len(), 2);
        let bytes = sealed_bytes(&sealing, dir.path(), b"x");
        assert_eq!(decrypt(&bytes, &b), b"x");

        std::fs::write(&file, "# only a comment\nage1notakey\n").unwrap();
        let err = Sealing::new(&["payroll.recipients".into()], false, &s)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("encrypt_to[0]: "), "{err}");
        assert!(err.contains("line 2"), "{err}");
        let err = Sealing::new(&["missing.txt".into()], false, &s)
            .unwrap_err()
            .to_string();
        assert!(err.contains("readable recipients file"), "{err}");
        assert!(Sealing::new(&[], true, &s).unwrap().is_none());
    }
}
