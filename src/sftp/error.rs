//! What can go wrong talking to an SFTP server, and which of it is worth trying again.
//!
//! Every message names the server (`host:port`) or the remote path it concerns; none carries a
//! password, a passphrase or file contents. Host key refusals say the SHA256 fingerprint the
//! server offered and the command that accepts it, because learning a key is the operator's call.

use std::io;

/// An SFTP connection or transfer failure.
#[derive(Debug, thiserror::Error)]
pub enum SftpError {
    /// The TCP connection or the SSH handshake failed (refused, reset, unreachable, bad banner).
    #[error("cannot connect to {host}:{port}: {reason}")]
    Connect {
        host: String,
        port: u16,
        reason: String,
    },
    /// A connect, login or request took longer than allowed.
    #[error("{what} timed out after {secs}s")]
    Timeout { what: String, secs: u64 },
    /// The server's key is in no known_hosts entry for this host.
    #[error(
        "host key of {host}:{port} is not known (server offered {fingerprint}); \
         after checking that fingerprint with the server's operator, accept it with \
         `hrbridge known-hosts add {host}:{port}`"
    )]
    HostKeyUnknown {
        host: String,
        port: u16,
        fingerprint: String,
    },
    /// known_hosts holds a different key for this host: possibly an attack, possibly a rebuilt server.
    #[error(
        "HOST KEY CHANGED for {host}:{port}: server offered {fingerprint} but known_hosts expects \
         {}; refusing to connect. If the server was really re-keyed, remove the old entry and \
         run `hrbridge known-hosts add {host}:{port}`",
        expected.join(" or ")
    )]
    HostKeyChanged {
        host: String,
        port: u16,
        fingerprint: String,
        expected: Vec<String>,
    },
    /// known_hosts marks the offered key `@revoked`.
    #[error("host key {fingerprint} offered by {host}:{port} is marked @revoked in known_hosts")]
    HostKeyRevoked {
        host: String,
        port: u16,
        fingerprint: String,
    },
    /// known_hosts could not be read.
    #[error("cannot read known_hosts {path}: {source}")]
    KnownHosts { path: String, source: io::Error },
    /// The private key could not be loaded or the server refused the login.
    #[error("login as {user} on {host}:{port} failed: {reason}")]
    Auth {
        user: String,
        host: String,
        port: u16,
        reason: String,
    },
    /// The connection dropped or the SSH session ended while a request was in flight.
    #[error("connection to {host}:{port} lost during {what}: {reason}")]
    Disconnected {
        host: String,
        port: u16,
        what: String,
        reason: String,
    },
    /// The server answered a request with an error status (no such file, permission denied…).
    #[error("{what}: server says {reason}")]
    Remote {
        what: String,
        reason: String,
        /// The SFTP status code (2 = no such file, 3 = permission denied, 4 = failure).
        code: u32,
    },
    /// The server broke the SFTP protocol.
    #[error("{what}: protocol error: {reason}")]
    Protocol { what: String, reason: String },
    /// A local file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        what: String,
        path: String,
        source: io::Error,
    },
    /// An upload's final name is taken on the server, and the output may not replace it.
    #[error(
        "{path} already exists on the server; refusing to replace it (set `overwrite = true` \
         on the output to allow that, or put {{seq}} or {{source_stem}} in its path)"
    )]
    Exists { path: String },
    /// A transferred file's size is not the one expected.
    #[error("{path}: expected {expected} bytes, got {got}")]
    SizeMismatch {
        path: String,
        expected: u64,
        got: u64,
    },
}

impl SftpError {
    /// True for failures that another attempt may not meet: connect errors, timeouts and dropped
    /// connections. Host key, login, size and server-status errors need a person, not a retry.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SftpError::Connect { .. } | SftpError::Timeout { .. } | SftpError::Disconnected { .. }
        )
    }

    /// `("host:port", fingerprint)` when this is a refused host key (unknown, changed or
    /// revoked).
    pub fn refused_host_key(&self) -> Option<(String, &str)> {
        match self {
            SftpError::HostKeyUnknown {
                host,
                port,
                fingerprint,
            }
            | SftpError::HostKeyChanged {
                host,
                port,
                fingerprint,
                ..
            }
            | SftpError::HostKeyRevoked {
                host,
                port,
                fingerprint,
            } => Some((format!("{host}:{port}"), fingerprint)),
            _ => None,
        }
    }

    /// True when the server said the path does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, SftpError::Remote { code: 2, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_trouble_is_transient() {
        let connect = SftpError::Connect {
            host: "h".into(),
            port: 22,
            reason: "refused".into(),
        };
        let timeout = SftpError::Timeout {
            what: "read".into(),
            secs: 5,
        };
        let unknown = SftpError::HostKeyUnknown {
            host: "h".into(),
            port: 2222,
            fingerprint: "SHA256:abc".into(),
        };
        let size = SftpError::SizeMismatch {
            path: "/x".into(),
            expected: 1,
            got: 2,
        };
        assert!(connect.is_transient());
        assert!(timeout.is_transient());
        assert!(!unknown.is_transient());
        assert!(!size.is_transient());
    }

    #[test]
    fn host_key_messages_say_fingerprint_and_the_way_to_accept() {
        let unknown = SftpError::HostKeyUnknown {
            host: "sftp.example.com".into(),
            port: 2222,
            fingerprint: "SHA256:abc".into(),
        }
        .to_string();
        assert!(unknown.contains("sftp.example.com:2222"), "{unknown}");
        assert!(unknown.contains("SHA256:abc"), "{unknown}");
        assert!(unknown.contains("hrbridge known-hosts add sftp.example.com:2222"));
        let changed = SftpError::HostKeyChanged {
            host: "h".into(),
            port: 22,
            fingerprint: "SHA256:new".into(),
            expected: vec!["SHA256:old".into()],
        }
        .to_string();
        assert!(changed.contains("SHA256:new") && changed.contains("SHA256:old"));
    }
}
