//! SFTP client: connections with verified host keys, listings, pipelined transfers.
//!
//! | file             | owns |
//! |------------------|------|
//! | [`known_hosts`]  | OpenSSH known_hosts: verify (plain, hashed, `[host]:port`, `@revoked`), append, fingerprints |
//! | [`login`]        | [`Login`]: a profile's connection keys (paths, secrets, timeouts) → a verified session, connects retried |
//! | [`client`]       | [`SftpClient`]: connect (host key check fails closed, key or password login), list, remove, rename |
//! | [`transfer`]     | pipelined download and upload (part name, mode, size check, rename that replaces only when asked) with sha256 |
//! | [`retry`]        | exponential backoff with full jitter for transient failures |
//! | [`error`]        | [`SftpError`] and which failures are transient |
//!
//! Remote names come back from [`SftpClient::list`] exactly as the server sent them: callers
//! check them with `source::names::check_name` before using one as a local name.

pub mod client;
pub mod error;
pub mod known_hosts;
pub mod login;
pub mod retry;
pub mod transfer;

pub use client::{host_key_of, Auth, Connection, RemoteEntry, SftpClient};
pub use error::SftpError;
pub use known_hosts::HostKeyVerdict;
pub use login::Login;
pub use retry::with_backoff;
pub use transfer::{SentPart, Transfer};
