//! `hrbridge known-hosts add HOST[:PORT]`: the explicit operator step that trusts a server key.
//!
//! The server's key is fetched (no credentials sent) and its SHA256 fingerprint shown. It is
//! added only when the operator confirms it at a terminal, or when `--fingerprint` names
//! exactly that fingerprint (for scripted installs, after checking it out of band). A host
//! whose known key differs is never silently re-keyed: the old entry must be removed first.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{load_all, Exit};
use crate::output::open::open;
use crate::profile::{Profile, SftpConnectionSpec};
use crate::settings::Settings;
use crate::sftp::known_hosts::{append, fingerprint, verify};
use crate::sftp::{host_key_of, HostKeyVerdict};
use crate::source;
use tokio::runtime::Handle;

pub fn add(
    config: Option<&Path>,
    target: &str,
    file: Option<&Path>,
    expected: Option<&str>,
    runtime: &Handle,
) -> Exit {
    let Some((host, port)) = parse_target(target) else {
        eprintln!("error: {target:?} is not HOST or HOST:PORT");
        return Exit::Usage;
    };
    let (settings, checked) = match load_all(config) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let profiles: Vec<Profile> = checked.into_iter().map(|c| c.profile).collect();
    let file = match file {
        Some(f) => settings.resolve_path(f),
        None => match known_hosts_for(&settings, &profiles, &host, port) {
            Ok(f) => f,
            Err(message) => {
                eprintln!("error: {message}");
                return Exit::Usage;
            }
        },
    };
    let key = match runtime.block_on(host_key_of(&host, port, Duration::from_secs(15))) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    let offered = fingerprint(&key);
    println!(
        "{host}:{port} offers a {} key: {offered}",
        key.algorithm().as_str()
    );
    match verify(&file, &host, port, &key) {
        Ok(HostKeyVerdict::Known) => {
            println!("already trusted in {}", file.display());
            return Exit::Ok;
        }
        Ok(HostKeyVerdict::Changed {
            expected_fingerprints,
        }) => {
            eprintln!(
                "error: {} already holds a different key for this host ({}); if the server was re-keyed, remove that entry first",
                file.display(),
                expected_fingerprints.join(", ")
            );
            return Exit::Failed;
        }
        Ok(HostKeyVerdict::Revoked) => {
            eprintln!("error: this key is marked @revoked in {}", file.display());
            return Exit::Failed;
        }
        Ok(HostKeyVerdict::Unknown) => {}
        Err(e) => {
            eprintln!("error: reading {}: {e}", file.display());
            return Exit::Failed;
        }
    }
    let confirmed = match expected {
        Some(want) if want == offered => true,
        Some(want) => {
            eprintln!("error: the server offers {offered}, not {want}; nothing added");
            return Exit::Failed;
        }
        None => confirm(&file),
    };
    if !confirmed {
        eprintln!("nothing added");
        return Exit::Failed;
    }
    match append(&file, &host, port, &key) {
        Ok(()) => {
            println!("added to {}", file.display());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: writing {}: {e}", file.display());
            Exit::Failed
        }
    }
}

/// Asks at the terminal; without one, refuses (use `--fingerprint`).
fn confirm(file: &Path) -> bool {
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: not a terminal: pass --fingerprint SHA256:... to add the key non-interactively"
        );
        return false;
    }
    print!("Trust this key and add it to {}? [y/N] ", file.display());
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

/// `host`, `host:port` or `[v6]:port`.
fn parse_target(target: &str) -> Option<(String, u16)> {
    if let Some(rest) = target.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host.to_string(), port.parse().ok()?));
    }
    match target.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host.to_string(), port.parse().ok()?)),
        _ if !target.is_empty() => Some((target.to_string(), 22)),
        _ => None,
    }
}

/// Why no one known_hosts file is the one for a host.
#[derive(Debug, thiserror::Error)]
enum KnownHostsFileError {
    #[error("no profile connects to {host}:{port}; name the file with --file")]
    NoProfile { host: String, port: u16 },
    #[error(
        "profiles use several known_hosts files for {host}:{port} ({}); name one with --file",
        .files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Several {
        host: String,
        port: u16,
        files: Vec<PathBuf>,
    },
}

/// The one known_hosts file the profiles use for `host:port`.
fn known_hosts_for(
    settings: &Settings,
    profiles: &[Profile],
    host: &str,
    port: u16,
) -> Result<PathBuf, KnownHostsFileError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for conn in profiles.iter().flat_map(connections) {
        let file = settings.resolve_path(&conn.known_hosts);
        if conn.host == host && conn.port == port && !files.contains(&file) {
            files.push(file);
        }
    }
    match files.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(KnownHostsFileError::NoProfile {
            host: host.to_string(),
            port,
        }),
        many => Err(KnownHostsFileError::Several {
            host: host.to_string(),
            port,
            files: many.to_vec(),
        }),
    }
}

/// Every SFTP connection of a profile (its source and its outputs).
fn connections(profile: &Profile) -> Vec<&SftpConnectionSpec> {
    let mut out = Vec::new();
    if let Some(s) = source::open::open(&profile.source).remote() {
        out.push(&s.connection);
    }
    for o in &profile.outputs {
        if let Some(s) = open(o).upload() {
            out.push(&s.connection);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            parse_target("sftp.example.com"),
            Some(("sftp.example.com".into(), 22))
        );
        assert_eq!(
            parse_target("127.0.0.1:2222"),
            Some(("127.0.0.1".into(), 2222))
        );
        assert_eq!(parse_target("[::1]:2222"), Some(("::1".into(), 2222)));
        assert_eq!(parse_target("host:notaport"), None);
        assert_eq!(parse_target(""), None);
    }
}
