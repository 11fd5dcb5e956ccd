//! From a profile's SFTP connection keys to a live, verified SFTP session.
//!
//! Paths resolve against the settings folder, secrets are read at connect time (never kept in
//! the profile), and transient connect failures are retried with backoff and jitter. A
//! refused host key comes back as an [`SftpError`] that names the server and the key offered
//! (see [`SftpError::refused_host_key`]); the engine audits it.

use std::path::PathBuf;
use std::time::Duration;

use crate::kernel::secret::SecretRef;
use crate::profile::{KeyPath, SftpConnectionSpec};
use crate::settings::Settings;

use super::{with_backoff, Auth, Connection, SftpClient, SftpError};

/// Used when a profile gives no `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Used when a profile gives no `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connect attempts before a pass gives up on a server.
const CONNECT_ATTEMPTS: u32 = 4;

/// The secrets an SFTP connection at `at` references (key passphrase, password), added to
/// `found` with the key path each is written at.
pub fn secret_refs<'p>(
    spec: &'p SftpConnectionSpec,
    at: KeyPath,
    found: &mut Vec<(KeyPath, &'p SecretRef)>,
) {
    for (key, r) in [
        ("passphrase", &spec.passphrase),
        ("password", &spec.password),
    ] {
        if let Some(r) = r {
            found.push((at.clone().key(key), r));
        }
    }
}

/// A profile's SFTP login, with its paths resolved.
pub struct Login<'a> {
    spec: &'a SftpConnectionSpec,
    settings: &'a Settings,
    known_hosts: PathBuf,
}

impl<'a> Login<'a> {
    pub fn new(spec: &'a SftpConnectionSpec, settings: &'a Settings) -> Login<'a> {
        Login {
            spec,
            settings,
            known_hosts: settings.resolve_path(&spec.known_hosts),
        }
    }

    /// `sftp://user@host:port`, for store labels and audit events (no secrets).
    pub fn label(&self) -> String {
        format!(
            "sftp://{}@{}:{}",
            self.spec.user, self.spec.host, self.spec.port
        )
    }

    /// Connects, verifying the host key and logging in; transient failures are retried.
    pub async fn connect(&self) -> Result<SftpClient, SftpError> {
        with_backoff(
            CONNECT_ATTEMPTS,
            Duration::from_millis(500),
            Duration::from_secs(10),
            || self.connect_once(),
        )
        .await
    }

    /// One connection attempt, for callers that retry a larger step (an upload) themselves.
    pub async fn connect_once(&self) -> Result<SftpClient, SftpError> {
        SftpClient::connect(self.connection()?).await
    }

    fn connection(&self) -> Result<Connection<'_>, SftpError> {
        let secret = |r: &crate::kernel::secret::SecretRef| {
            r.resolve(&self.settings.state_dir)
                .map_err(|reason| SftpError::Auth {
                    user: self.spec.user.clone(),
                    host: self.spec.host.clone(),
                    port: self.spec.port,
                    reason: reason.to_string(),
                })
        };
        let auth = match (&self.spec.private_key, &self.spec.password) {
            (Some(key), _) => Auth::Key {
                path: self.settings.resolve_path(key),
                passphrase: self.spec.passphrase.as_ref().map(secret).transpose()?,
            },
            (None, Some(password)) => Auth::Password(secret(password)?),
            (None, None) => {
                return Err(SftpError::Auth {
                    user: self.spec.user.clone(),
                    host: self.spec.host.clone(),
                    port: self.spec.port,
                    reason: "the profile gives neither private_key nor password".into(),
                })
            }
        };
        Ok(Connection {
            host: &self.spec.host,
            port: self.spec.port,
            user: &self.spec.user,
            auth,
            known_hosts: &self.known_hosts,
            connect_timeout: self
                .spec
                .connect_timeout
                .map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.0),
            timeout: self.spec.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0),
        })
    }
}
