//! One logged-in SFTP session: connect with a verified host key, log in, list, rename, remove.
//!
//! The host key is checked against known_hosts during the SSH handshake, before any credential
//! is sent, and the connection fails closed on an unknown, changed or revoked key. Every step
//! has a deadline: the TCP connect plus handshake and the login each get `connect_timeout`,
//! every SFTP request gets `timeout`, and SSH keepalives notice a server that went silent.
//! The channel window and packet sizes are raised above russh's defaults, which throttle bulk
//! transfers (see [`super::transfer`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh_sftp::client::error::Error as SftpLibError;
use russh_sftp::client::SftpSession;

use super::known_hosts::{self, HostKeyVerdict};
use super::SftpError;
use crate::kernel::secret::Secret;

/// SSH channel window: large enough that a pipelined download never waits for window updates
/// on a fast link (russh's default of 2 MiB caps throughput at 2 MiB per round trip).
const WINDOW_SIZE: u32 = 32 * 1024 * 1024;
/// Largest SSH packet we accept: russh's ceiling (its default is 32 KiB).
const MAX_SSH_PACKET: u32 = 65535;
/// Largest SFTP message: 256 KiB, what OpenSSH's sftp-server accepts, so reads and writes go
/// in chunks of (almost) 256 KiB.
pub(crate) const MAX_SFTP_PACKET: u32 = 256 * 1024;
/// SFTP read and write requests kept in flight per transfer.
pub(crate) const IN_FLIGHT: usize = 64;

/// Where and how to log in.
pub struct Connection<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub auth: Auth,
    /// OpenSSH known_hosts file the server's key must be listed in.
    pub known_hosts: &'a Path,
    /// Deadline for TCP connect plus handshake, and again for the login.
    pub connect_timeout: Duration,
    /// Deadline for each SFTP request; also sets the keepalive interval.
    pub timeout: Duration,
}

/// Login method. Secrets stay wrapped until handed to russh.
pub enum Auth {
    /// An OpenSSH private key file (ed25519, RSA or ECDSA), optionally passphrase-protected.
    Key {
        path: PathBuf,
        passphrase: Option<Secret>,
    },
    Password(Secret),
}

/// One entry of a remote folder, as the server reported it. `name` is untrusted: check it with
/// `source::names::check_name` before using it locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEntry {
    pub name: String,
    pub size: u64,
    /// Modification time in Unix seconds (0 when the server did not say).
    pub mtime: u64,
    /// A regular file (not a folder, symlink or device). Symlinks are reported as such, not followed.
    pub is_file: bool,
}

/// A logged-in SFTP session.
pub struct SftpClient {
    ssh: Handle<Verifier>,
    pub(crate) sftp: SftpSession,
    host: String,
    port: u16,
    timeout: Duration,
}

/// russh handler that judges the server key against known_hosts and keeps the reason for a
/// refusal, so `connect` can report it instead of russh's bare "unknown key".
struct Verifier {
    known_hosts: PathBuf,
    host: String,
    port: u16,
    refusal: Arc<Mutex<Option<SftpError>>>,
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = offered_key(offered);
        let fingerprint = known_hosts::fingerprint(&key);
        let (host, port) = (self.host.clone(), self.port);
        let refusal = match known_hosts::verify(&self.known_hosts, &self.host, self.port, &key) {
            Ok(HostKeyVerdict::Known)
                if matches!(offered, PublicKeyOrCertificate::PublicKey { .. }) =>
            {
                return Ok(true)
            }
            Ok(HostKeyVerdict::Known | HostKeyVerdict::Unknown) => SftpError::HostKeyUnknown {
                host,
                port,
                fingerprint,
            },
            Ok(HostKeyVerdict::Changed {
                expected_fingerprints,
            }) => SftpError::HostKeyChanged {
                host,
                port,
                fingerprint,
                expected: expected_fingerprints,
            },
            Ok(HostKeyVerdict::Revoked) => SftpError::HostKeyRevoked {
                host,
                port,
                fingerprint,
            },
            Err(source) => SftpError::KnownHosts {
                path: self.known_hosts.display().to_string(),
                source,
            },
        };
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(refusal);
        }
        Ok(false)
    }
}

/// The plain key of what the server offered (a certificate's key; certificates are never trusted).
fn offered_key(offered: &PublicKeyOrCertificate) -> PublicKey {
    match offered {
        PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
        PublicKeyOrCertificate::Certificate(cert) => PublicKey::new(cert.public_key().clone(), ""),
    }
}

/// russh settings: big window and packets, keepalives, and host key algorithms ordered so the
/// server presents a key type known_hosts already holds (as OpenSSH does).
fn ssh_config(known: &[Algorithm], keepalive: Duration) -> client::Config {
    let defaults = russh::Preferred::DEFAULT.key;
    let mut keys: Vec<Algorithm> = Vec::new();
    for alg in known {
        let wanted: &[Algorithm] = match alg {
            // known_hosts says "ssh-rsa"; the handshake names the signature hash
            Algorithm::Rsa { .. } => &[
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512),
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256),
                },
            ],
            other => std::slice::from_ref(other),
        };
        keys.extend(wanted.iter().filter(|a| defaults.contains(a)).cloned());
    }
    for alg in defaults.iter() {
        if !keys.contains(alg) {
            keys.push(alg.clone());
        }
    }
    client::Config {
        window_size: WINDOW_SIZE,
        maximum_packet_size: MAX_SSH_PACKET,
        keepalive_interval: Some(keepalive),
        keepalive_max: 3,
        nodelay: true,
        preferred: russh::Preferred {
            key: Cow::Owned(keys),
            ..russh::Preferred::DEFAULT
        },
        ..Default::default()
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Runs `fut` under `limit`, turning expiry into [`SftpError::Timeout`] naming `what`.
async fn deadline<T>(
    limit: Duration,
    what: impl FnOnce() -> String,
    fut: impl std::future::Future<Output = Result<T, SftpError>>,
) -> Result<T, SftpError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(SftpError::Timeout {
            what: what(),
            secs: ceil_secs(limit),
        }),
    }
}

impl SftpClient {
    /// Connects, verifies the host key (failing closed), logs in and starts the SFTP subsystem.
    pub async fn connect(c: Connection<'_>) -> Result<SftpClient, SftpError> {
        let (host, port) = (c.host.to_string(), c.port);
        let known =
            known_hosts::known_algorithms(c.known_hosts, c.host, c.port).map_err(|source| {
                SftpError::KnownHosts {
                    path: c.known_hosts.display().to_string(),
                    source,
                }
            })?;
        let refusal = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            known_hosts: c.known_hosts.to_path_buf(),
            host: host.clone(),
            port,
            refusal: refusal.clone(),
        };
        let config = Arc::new(ssh_config(&known, c.timeout.max(Duration::from_secs(1))));
        let handshake = async {
            client::connect(config, (c.host, c.port), verifier)
                .await
                .map_err(|e| {
                    let refused = refusal.lock().ok().and_then(|mut r| r.take());
                    refused.unwrap_or_else(|| SftpError::Connect {
                        host: host.clone(),
                        port,
                        reason: e.to_string(),
                    })
                })
        };
        let mut ssh = deadline(
            c.connect_timeout,
            || format!("connecting to {host}:{port}"),
            handshake,
        )
        .await?;
        deadline(
            c.connect_timeout,
            || format!("login as {} on {host}:{port}", c.user),
            login(&mut ssh, c.user, c.auth, &host, port),
        )
        .await?;
        let lost = |what: &str| {
            let (host, what) = (host.clone(), what.to_string());
            move |e: russh::Error| SftpError::Disconnected {
                host,
                port,
                what,
                reason: e.to_string(),
            }
        };
        let start = async {
            let channel = ssh
                .channel_open_session()
                .await
                .map_err(lost("opening a session channel"))?;
            channel
                .request_subsystem(true, "sftp")
                .await
                .map_err(lost("starting the sftp subsystem"))?;
            let config = russh_sftp::client::Config {
                max_packet_len: MAX_SFTP_PACKET,
                max_concurrent_reads: IN_FLIGHT,
                max_concurrent_writes: IN_FLIGHT,
                max_write_packet_len: MAX_SFTP_PACKET,
                request_timeout_secs: ceil_secs(c.timeout).max(1),
            };
            SftpSession::new_with_config(channel.into_stream(), config)
                .await
                .map_err(|e| SftpError::Protocol {
                    what: format!("starting sftp on {host}:{port}"),
                    reason: e.to_string(),
                })
        };
        let sftp = deadline(
            c.connect_timeout,
            || format!("starting sftp on {host}:{port}"),
            start,
        )
        .await?;
        Ok(SftpClient {
            ssh,
            sftp,
            host,
            port,
            timeout: c.timeout,
        })
    }

    /// The entries of remote folder `dir` (without `.` and `..`), names exactly as sent.
    /// Only names and attributes are transferred, so large folders are cheap.
    pub async fn list(&self, dir: &str) -> Result<Vec<RemoteEntry>, SftpError> {
        let entries = self
            .sftp
            .read_dir(dir)
            .await
            .map_err(|e| self.error(format!("listing {dir}"), e))?;
        Ok(entries
            .map(|e| {
                let meta = e.metadata();
                RemoteEntry {
                    name: e.file_name(),
                    size: meta.size.unwrap_or(0),
                    mtime: meta.mtime.map(u64::from).unwrap_or(0),
                    is_file: meta.file_type().is_file(),
                }
            })
            .collect())
    }

    /// Size of a remote file (stat follows symlinks, as a download would).
    pub async fn size(&self, remote: &str) -> Result<u64, SftpError> {
        let meta = self
            .sftp
            .metadata(remote)
            .await
            .map_err(|e| self.error(format!("stat {remote}"), e))?;
        meta.size.ok_or_else(|| SftpError::Protocol {
            what: format!("stat {remote}"),
            reason: "server did not report a size".into(),
        })
    }

    /// Deletes a remote file.
    pub async fn remove(&self, remote: &str) -> Result<(), SftpError> {
        self.sftp
            .remove_file(remote)
            .await
            .map_err(|e| self.error(format!("removing {remote}"), e))
    }

    /// Renames a remote file. Plain SFTP rename refuses an existing target on OpenSSH.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), SftpError> {
        self.sftp
            .rename(from, to)
            .await
            .map_err(|e| self.error(format!("renaming {from} to {to}"), e))
    }

    /// Ends the SFTP session and the SSH connection politely.
    pub async fn close(self) -> Result<(), SftpError> {
        let _ = self.sftp.close().await;
        self.ssh
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await
            .map_err(|e| SftpError::Disconnected {
                host: self.host.clone(),
                port: self.port,
                what: "closing".into(),
                reason: e.to_string(),
            })
    }

    /// Maps a russh-sftp failure of `what` to our error: server statuses stay permanent, a
    /// dead transport becomes [`SftpError::Disconnected`] (transient).
    pub(crate) fn error(&self, what: String, e: SftpLibError) -> SftpError {
        match e {
            SftpLibError::Status(s) => SftpError::Remote {
                what,
                reason: if s.error_message.is_empty() {
                    s.status_code.to_string()
                } else {
                    s.error_message
                },
                code: s.status_code as u32,
            },
            SftpLibError::Timeout => SftpError::Timeout {
                what: format!("{what} on {}:{}", self.host, self.port),
                secs: ceil_secs(self.timeout),
            },
            SftpLibError::IO(reason) | SftpLibError::UnexpectedBehavior(reason) => {
                SftpError::Disconnected {
                    host: self.host.clone(),
                    port: self.port,
                    what,
                    reason,
                }
            }
            SftpLibError::Limited(reason) => SftpError::Protocol { what, reason },
            SftpLibError::UnexpectedPacket => SftpError::Protocol {
                what,
                reason: "unexpected packet".into(),
            },
        }
    }
}

/// Logs in with a key file or a password. Messages name the key file, never a secret.
async fn login(
    ssh: &mut Handle<Verifier>,
    user: &str,
    auth: Auth,
    host: &str,
    port: u16,
) -> Result<(), SftpError> {
    let failed = |reason: String| SftpError::Auth {
        user: user.to_string(),
        host: host.to_string(),
        port,
        reason,
    };
    let result = match auth {
        Auth::Password(password) => ssh
            .authenticate_password(user, password.expose())
            .await
            .map_err(|e| failed(e.to_string()))?,
        Auth::Key { path, passphrase } => {
            let shown = path.display().to_string();
            // decrypting a passphrase-protected key runs bcrypt rounds: keep it off the reactor
            let key = tokio::task::spawn_blocking(move || {
                russh::keys::load_secret_key(&path, passphrase.as_ref().map(|p| p.expose()))
            })
            .await
            .map_err(|e| failed(format!("loading key {shown}: {e}")))?
            .map_err(|e| failed(format!("cannot load private key {shown}: {e}")))?;
            let hash = if key.algorithm().is_rsa() {
                // servers without server-sig-algs get SHA-256, never the SHA-1 "ssh-rsa"
                ssh.best_supported_rsa_hash()
                    .await
                    .map_err(|e| failed(e.to_string()))?
                    .unwrap_or(Some(HashAlg::Sha256))
            } else {
                None
            };
            ssh.authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await
                .map_err(|e| failed(e.to_string()))?
        }
    };
    if result.success() {
        Ok(())
    } else {
        Err(failed("the server refused the credentials".into()))
    }
}

/// Connects to `host:port` just far enough to see its host key, trusting nothing and sending
/// no credentials (for `hrbridge known-hosts add`, which shows the fingerprint first).
pub async fn host_key_of(host: &str, port: u16, timeout: Duration) -> Result<PublicKey, SftpError> {
    let seen = Arc::new(Mutex::new(None));
    let grabber = KeyGrabber { seen: seen.clone() };
    let config = Arc::new(ssh_config(&[], timeout.max(Duration::from_secs(1))));
    let outcome =
        tokio::time::timeout(timeout, client::connect(config, (host, port), grabber)).await;
    if let Some(key) = seen.lock().ok().and_then(|mut k| k.take()) {
        return Ok(key);
    }
    Err(match outcome {
        Err(_) => SftpError::Timeout {
            what: format!("connecting to {host}:{port}"),
            secs: ceil_secs(timeout),
        },
        Ok(Err(e)) => SftpError::Connect {
            host: host.to_string(),
            port,
            reason: e.to_string(),
        },
        Ok(Ok(_)) => SftpError::Protocol {
            what: format!("connecting to {host}:{port}"),
            reason: "handshake finished without a host key".into(),
        },
    })
}

/// Handler that records the server key and then refuses it, ending the handshake.
struct KeyGrabber {
    seen: Arc<Mutex<Option<PublicKey>>>,
}

impl client::Handler for KeyGrabber {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if let Ok(mut slot) = self.seen.lock() {
            *slot = Some(offered_key(offered));
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_key_types_are_asked_for_first() {
        let cfg = ssh_config(&[Algorithm::Rsa { hash: None }], Duration::from_secs(5));
        let keys = cfg.preferred.key.to_vec();
        assert_eq!(
            keys.first(),
            Some(&Algorithm::Rsa {
                hash: Some(HashAlg::Sha512)
            })
        );
        assert_eq!(keys.len(), russh::Preferred::DEFAULT.key.len());
        assert!(keys.contains(&Algorithm::Ed25519));
        let plain = ssh_config(&[], Duration::from_secs(5));
        assert_eq!(
            plain.preferred.key.to_vec(),
            russh::Preferred::DEFAULT.key.to_vec()
        );
        assert_eq!(plain.window_size, WINDOW_SIZE);
    }

    #[test]
    fn timeouts_round_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1500)), 2);
        assert_eq!(ceil_secs(Duration::from_secs(3)), 3);
    }
}
