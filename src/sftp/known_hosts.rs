//! OpenSSH `known_hosts`: the operator's list of servers whose keys we trust.
//!
//! hrbridge never learns a key by itself: a server whose key is not listed, is listed with a
//! different key, or is listed `@revoked` is refused (see [`HostKeyVerdict`]). The file format is
//! OpenSSH's (`man 8 sshd`, "SSH_KNOWN_HOSTS FILE FORMAT"): one key per line, host patterns first
//! (comma-separated, `*`/`?` wildcards, `!` negation, `[host]:port` for ports other than 22, or
//! hashed as `|1|salt|hash` with HMAC-SHA1), then the key type and its base64 blob. Comments and
//! blank lines are skipped. `@cert-authority` lines are ignored (hrbridge does not accept host
//! certificates), so they vouch for nothing; `@revoked` lines refuse their key.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

/// What known_hosts says about the key a server offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyVerdict {
    /// An entry for this host holds exactly this key.
    Known,
    /// No entry for this host holds a key of this type.
    Unknown,
    /// Entries for this host hold a different key of the same type.
    Changed { expected_fingerprints: Vec<String> },
    /// A `@revoked` entry matching this host holds this key.
    Revoked,
}

/// One parsed line that applies to the host in question.
struct Entry {
    revoked: bool,
    key: PublicKey,
}

/// Checks `key` as offered by `host:port` against the known_hosts file. A missing file is an
/// empty one (every key is then [`HostKeyVerdict::Unknown`]).
pub fn verify(
    known_hosts: &Path,
    host: &str,
    port: u16,
    key: &PublicKey,
) -> io::Result<HostKeyVerdict> {
    let entries = entries_for(known_hosts, host, port)?;
    Ok(judge(&entries, key))
}

/// The key algorithms known_hosts lists for `host:port`, in file order, for asking the server
/// to present one of those first (as OpenSSH does).
pub fn known_algorithms(known_hosts: &Path, host: &str, port: u16) -> io::Result<Vec<Algorithm>> {
    let mut algorithms: Vec<Algorithm> = Vec::new();
    for entry in entries_for(known_hosts, host, port)? {
        let alg = entry.key.algorithm();
        if !entry.revoked && !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    Ok(algorithms)
}

fn entries_for(known_hosts: &Path, host: &str, port: u16) -> io::Result<Vec<Entry>> {
    let text = match fs::read_to_string(known_hosts) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    // OpenSSH lowercases host names before matching or hashing them
    let name = lookup_name(&host.to_ascii_lowercase(), port);
    Ok(text
        .lines()
        .filter_map(parse_line)
        .filter(|line| !line.cert_authority && hosts_match(line.hosts, &name))
        .map(|line| Entry {
            revoked: line.revoked,
            key: line.key,
        })
        .collect())
}

fn judge(entries: &[Entry], key: &PublicKey) -> HostKeyVerdict {
    let same = |e: &&Entry| e.key.key_data() == key.key_data();
    if entries.iter().filter(|e| e.revoked).any(|e| same(&e)) {
        return HostKeyVerdict::Revoked;
    }
    let trusted: Vec<&Entry> = entries.iter().filter(|e| !e.revoked).collect();
    if trusted.iter().any(same) {
        return HostKeyVerdict::Known;
    }
    let expected: Vec<String> = trusted
        .iter()
        .filter(|e| e.key.algorithm() == key.algorithm())
        .map(|e| fingerprint(&e.key))
        .collect();
    if expected.is_empty() {
        HostKeyVerdict::Unknown
    } else {
        HostKeyVerdict::Changed {
            expected_fingerprints: expected,
        }
    }
}

/// Adds `host:port key` as a plain (unhashed) line, so the operator can read what is trusted.
/// Refuses host names that could smuggle extra patterns or lines into the file.
pub fn append(known_hosts: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || ",*?!#|[]".contains(c);
    if host.is_empty() || host.starts_with('@') || host.chars().any(bad_char) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host:?} is not a host name that can be written to known_hosts"),
        ));
    }
    let mut bare = key.clone();
    bare.set_comment("");
    let blob = bare.to_openssh().map_err(io::Error::other)?;
    let needs_newline = match fs::read(known_hosts) {
        Ok(bytes) => bytes.last().is_some_and(|b| *b != b'\n'),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(known_hosts)?;
    let line = format!(
        "{}{} {}\n",
        if needs_newline { "\n" } else { "" },
        lookup_name(&host.to_ascii_lowercase(), port),
        blob.trim_end()
    );
    file.write_all(line.as_bytes())?;
    file.sync_all()
}

/// `"SHA256:<base64>"`, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The name OpenSSH looks up and writes: `host` on port 22, `[host]:port` elsewhere.
fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

struct Line<'a> {
    revoked: bool,
    cert_authority: bool,
    hosts: &'a str,
    key: PublicKey,
}

/// A usable line, or `None` for blanks, comments and lines we cannot read (OpenSSH skips those too).
fn parse_line(raw: &str) -> Option<Line<'_>> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let (mut revoked, mut cert_authority) = (false, false);
    if let Some(marker) = first.strip_prefix('@') {
        match marker {
            "revoked" => revoked = true,
            "cert-authority" => cert_authority = true,
            _ => return None,
        }
        first = fields.next()?;
    }
    let kind = fields.next()?;
    let blob = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{kind} {blob}")).ok()?;
    Some(Line {
        revoked,
        cert_authority,
        hosts: first,
        key,
    })
}

/// OpenSSH's rule: any matching negated pattern excludes the host; otherwise any match includes it.
fn hosts_match(patterns: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if pattern_matches(negated, name) {
                return false;
            }
        } else if pattern_matches(pattern, name) {
            matched = true;
        }
    }
    matched
}

fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("|1|") {
        Some(hashed) => hashed_matches(hashed, name),
        None => wildcard_matches(pattern.to_ascii_lowercase().as_bytes(), name.as_bytes()),
    }
}

/// `salt|hash`, both base64: the entry matches when HMAC-SHA1(salt, name) == hash.
fn hashed_matches(hashed: &str, name: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// Glob with `*` (any run) and `?` (one byte), iterative with single backtracking point.
fn wildcard_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(c) if *c == b'?' || Some(c) == name.get(n) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP6/2N64gP0dz3uEBy+zFZs9CWhXnv/6f3JzJNTF6HOE";
    const ED_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMQXvZMaxBe3UwRNDE8MuDYn3Qb1QMocgAq0x87J66qs";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ9tC0z2FQX1ys8XYq0291G8trXmhiHXzS7uYrRFiRyVT0eFtQLgm6ig28FDVAcEDzezXUX2TyxDYrOkR2mizvA=";
    /// `ssh-keygen -lf` of ED_A.
    const ED_A_FP: &str = "SHA256:2Y182+ZZHcvACrR9tDVxvD/GHqO8IdttfzBHgIUEl4w";

    fn key(line: &str) -> PublicKey {
        PublicKey::from_openssh(line).unwrap()
    }

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn plain_entries_with_ports_lists_and_comments() {
        let text = format!(
            "# our servers\n\nsftp.example.com,10.0.0.5 {ED_A}\n[sftp.example.com]:2222 {ED_B} old box\n"
        );
        let (_d, path) = file(&text);
        let v = |h: &str, p: u16, k: &str| verify(&path, h, p, &key(k)).unwrap();
        assert_eq!(v("sftp.example.com", 22, ED_A), HostKeyVerdict::Known);
        assert_eq!(v("SFTP.example.com", 22, ED_A), HostKeyVerdict::Known);
        assert_eq!(v("10.0.0.5", 22, ED_A), HostKeyVerdict::Known);
        assert_eq!(v("sftp.example.com", 2222, ED_B), HostKeyVerdict::Known);
        // the port-22 entry does not vouch for port 2222, nor the reverse
        assert_eq!(
            v("sftp.example.com", 2222, ED_A),
            HostKeyVerdict::Changed {
                expected_fingerprints: vec![fingerprint(&key(ED_B))]
            }
        );
        assert_eq!(v("other.example.com", 22, ED_A), HostKeyVerdict::Unknown);
        // a key of another type is unknown, not changed
        assert_eq!(v("sftp.example.com", 22, ECDSA), HostKeyVerdict::Unknown);
    }

    #[test]
    fn hashed_entries_match_their_host_only() {
        // `ssh-keygen -H` of "[127.0.0.1]:2222 ED_A"
        let text = format!("|1|8Ak7wweri6AeTEYJU0mt5L2i8p0=|UOXtnj85CfQ+vfFwnWeBPVwygH0= {ED_A}\n");
        let (_d, path) = file(&text);
        assert_eq!(
            verify(&path, "127.0.0.1", 2222, &key(ED_A)).unwrap(),
            HostKeyVerdict::Known
        );
        assert_eq!(
            verify(&path, "127.0.0.1", 22, &key(ED_A)).unwrap(),
            HostKeyVerdict::Unknown
        );
        assert!(matches!(
            verify(&path, "127.0.0.1", 2222, &key(ED_B)).unwrap(),
            HostKeyVerdict::Changed { .. }
        ));
        // `ssh-keygen -H` of "sftp.example.com ED_A": names are matched in lowercase
        let text = format!("|1|y3eVDjBiVchXU4zDxCC49vzEpYE=|AFkE6UePA0I1rsaVX4Mup8OQoTE= {ED_A}\n");
        let (_d, path) = file(&text);
        assert_eq!(
            verify(&path, "SFTP.Example.com", 22, &key(ED_A)).unwrap(),
            HostKeyVerdict::Known
        );
    }

    #[test]
    fn revoked_wins_and_cert_authority_vouches_for_nothing() {
        let text = format!("*.example.com {ED_A}\n@revoked * {ED_A}\n@cert-authority * {ED_B}\n");
        let (_d, path) = file(&text);
        assert_eq!(
            verify(&path, "a.example.com", 22, &key(ED_A)).unwrap(),
            HostKeyVerdict::Revoked
        );
        assert_eq!(
            verify(&path, "b.other.org", 22, &key(ED_B)).unwrap(),
            HostKeyVerdict::Unknown
        );
    }

    #[test]
    fn wildcards_and_negation() {
        let text = format!("*.example.com,!bad.example.com {ED_A}\nhost? {ED_B}\n");
        let (_d, path) = file(&text);
        let v = |h: &str, k: &str| verify(&path, h, 22, &key(k)).unwrap();
        assert_eq!(v("a.example.com", ED_A), HostKeyVerdict::Known);
        assert_eq!(v("bad.example.com", ED_A), HostKeyVerdict::Unknown);
        assert_eq!(v("example.com", ED_A), HostKeyVerdict::Unknown);
        assert_eq!(v("host1", ED_B), HostKeyVerdict::Known);
        assert_eq!(v("host12", ED_B), HostKeyVerdict::Unknown);
        assert!(wildcard_matches(b"a*b*c", b"aXXbYYc"));
        assert!(!wildcard_matches(b"a*b*c", b"aXXbYY"));
    }

    #[test]
    fn garbage_lines_are_skipped_and_missing_file_is_empty() {
        let text = format!("@weird x {ED_A}\nonlyhost\nhost ssh-ed25519 !!notbase64\nok {ED_A}\n");
        let (d, path) = file(&text);
        assert_eq!(
            verify(&path, "ok", 22, &key(ED_A)).unwrap(),
            HostKeyVerdict::Known
        );
        assert_eq!(
            verify(&d.path().join("absent"), "ok", 22, &key(ED_A)).unwrap(),
            HostKeyVerdict::Unknown
        );
    }

    #[test]
    fn append_then_verify_and_refuse_pattern_injection() {
        let (_d, path) = file(&format!("other {ED_B}")); // no trailing newline
        append(&path, "127.0.0.1", 2222, &key(&format!("{ED_A} a comment"))).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with(&format!("\n[127.0.0.1]:2222 {ED_A}\n")),
            "{text}"
        );
        assert_eq!(
            verify(&path, "127.0.0.1", 2222, &key(ED_A)).unwrap(),
            HostKeyVerdict::Known
        );
        assert_eq!(
            verify(&path, "other", 22, &key(ED_B)).unwrap(),
            HostKeyVerdict::Known
        );
        for bad in ["a,b", "*", "h\nx", "@revoked", "|1|x", ""] {
            assert!(append(&path, bad, 22, &key(ED_A)).is_err(), "{bad:?}");
        }
        assert_eq!(
            known_algorithms(&path, "127.0.0.1", 2222).unwrap(),
            vec![Algorithm::Ed25519]
        );
    }

    #[test]
    fn fingerprint_is_ssh_keygen_style() {
        assert_eq!(fingerprint(&key(ED_A)), ED_A_FP);
    }
}
