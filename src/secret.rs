//! Secrets: referenced by profiles, never written in them, never logged.
//!
//! A profile names a secret as `"${env:NAME}"` (an environment variable of the hrbridge
//! process) or `"${secret:NAME}"` (the file `state_dir/secrets/NAME`, which must be private:
//! mode 0600 or stricter). Inline values are refused when the profile is loaded. A resolved
//! [`Secret`] prints as `[secret]` in any `Debug` output and is wiped from memory when dropped.

use std::fmt;
use std::os::unix::fs::PermissionsExt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::settings::Settings;

/// Where a secret comes from, as written in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(String),
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
    type Err = String;

    fn from_str(s: &str) -> Result<SecretRef, String> {
        let inner = s
            .strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .ok_or("secrets are never written inline: use \"${env:NAME}\" or \"${secret:NAME}\"")?;
        let (kind, name) = inner
            .split_once(':')
            .ok_or("a secret reference is \"${env:NAME}\" or \"${secret:NAME}\"")?;
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
            && !name.starts_with('.');
        if !valid {
            return Err(format!(
                "secret name {name:?} may only contain letters, digits, `_`, `-` and `.`"
            ));
        }
        match kind {
            "env" => Ok(SecretRef::Env(name.to_string())),
            "secret" => Ok(SecretRef::File(name.to_string())),
            other => Err(format!(
                "unknown secret kind {other:?}: use \"${{env:NAME}}\" or \"${{secret:NAME}}\""
            )),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
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
    /// Reads the secret. Errors name the reference, never the value.
    pub fn resolve(&self, settings: &Settings) -> Result<Secret, String> {
        match self {
            SecretRef::Env(name) => std::env::var(name)
                .map(|v| Secret(Zeroizing::new(v)))
                .map_err(|_| format!("{self}: environment variable {name} is not set")),
            SecretRef::File(name) => {
                let path = settings.state_dir.join("secrets").join(name);
                let meta = std::fs::metadata(&path)
                    .map_err(|e| format!("{self}: cannot read {}: {e}", path.display()))?;
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(format!(
                        "{self}: {} is readable by others; chmod 600 it",
                        path.display()
                    ));
                }
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{self}: cannot read {}: {e}", path.display()))?;
                Ok(Secret(Zeroizing::new(
                    text.trim_end_matches(['\n', '\r']).to_string(),
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingsFile;

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
        let err = "hunter2".parse::<SecretRef>().unwrap_err();
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn file_secrets_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::resolve(None, dir.path().to_path_buf(), SettingsFile::default());
        let secrets = settings.state_dir.join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        let path = secrets.join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = SecretRef::File("pw".into());
        assert!(r.resolve(&settings).unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = r.resolve(&settings).unwrap();
        assert_eq!(s.expose(), "s3cret");
        assert_eq!(format!("{s:?}"), "[secret]");
    }
}
