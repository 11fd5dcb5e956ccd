//! `hrbridge keygen [--output FILE]`: a new age identity for decrypting what partners send,
//! written private (0600, never over an existing file); its public recipient is printed for
//! the senders' `encrypt_to` or `age -r`. The default place (`keys/` beside hrbridge.toml)
//! is made when missing (0700); a folder named with `--output` must exist, so a mistyped
//! path is an error rather than a new folder somewhere.

use std::path::{Path, PathBuf};

use super::{print_diagnostics, Exit};
use crate::profile::load;

/// Where the identity goes without `--output`, relative to hrbridge.toml's folder.
const DEFAULT_KEY: &str = "keys/hrbridge.key";

pub fn run(config: Option<&Path>, output: Option<&Path>) -> Exit {
    let path: PathBuf = match output {
        Some(p) => match missing_folder(p) {
            Some(folder) => {
                eprintln!(
                    "error: {}: the folder {} does not exist; create it first (mkdir -m 700)",
                    p.display(),
                    folder.display()
                );
                return Exit::Usage;
            }
            None => p.to_path_buf(),
        },
        None => match load::load_settings(config) {
            Ok(settings) => settings.resolve_path(Path::new(DEFAULT_KEY)),
            Err(d) => {
                print_diagnostics(&d);
                return Exit::Usage;
            }
        },
    };
    match write_identity(&path) {
        Ok(recipient) => {
            eprintln!("wrote a new age identity to {} (mode 0600)", path.display());
            println!("{recipient}");
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            Exit::Failed
        }
    }
}

/// The folder `path` would go in, when that is not an existing folder.
fn missing_folder(path: &Path) -> Option<&Path> {
    path.parent()
        .filter(|folder| !folder.as_os_str().is_empty() && !folder.is_dir())
}

/// Writes a new identity to `path` in the format of `age-keygen`; returns its recipient.
fn write_identity(path: &Path) -> std::io::Result<String> {
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let identity = crate::kernel::keys::write_new_identity(path, &format!("created: {created}"))?;
    Ok(identity.to_public().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_a_missing_folder_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such");
        assert_eq!(missing_folder(&missing.join("k")), Some(missing.as_path()));
        assert_eq!(missing_folder(&dir.path().join("k")), None);
        assert_eq!(missing_folder(Path::new("k")), None);
    }

    #[test]
    fn writes_a_private_identity_once_and_returns_its_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/hrbridge.key");
        let recipient = write_identity(&path).unwrap();
        assert!(recipient.starts_with("age1"), "{recipient}");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(&format!("# public key: {recipient}")));
        let identity: age::x25519::Identity = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(identity.to_public().to_string(), recipient);
        let again = write_identity(&path).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    }
}
