//! The audit trail's head kept outside the store, so that cutting the trail's tail is seen.
//!
//! The chain shows an edited or removed event in the middle, but someone who can write the
//! database can delete the last events and set the head row back to match: the trail then
//! verifies, shorter. What catches that is a head kept elsewhere: `hrbridge audit head
//! --sign` prints one; after each job one is appended to `audit_head_file`, POSTed to
//! `audit_head_url` and appended over SFTP to `audit_head_sftp`'s file; and `audit verify
//! --expect HASH` / `--expect-file FILE` fails when the trail no longer holds it.
//!
//! A kept head is one line, signed with an Ed25519 key derived from the installation key (so
//! a line written by someone else is refused, and anyone with the public key can check it):
//!
//! ```text
//! hrbridge-audit-head v1 seq=63 hash=507c…f9ba at=2026-12-04T04:40:49.238Z key=ed25519:3b6a…21 sig=9f0e…
//! ```

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ed25519_dalek::{Signature, Signer, VerifyingKey};

use crate::kernel::keys::InstallationKey;
use crate::kernel::url_policy::url_allowed;
use crate::profile::SftpAnchorSpec;
use crate::settings::Settings;
use crate::sftp::login::Login;
use crate::store::{Store, StoreError};

use super::event::Event;
use super::EngineError;

/// The purpose the signing key is derived for.
const PURPOSE: &str = "audit-head-signing";
/// How a kept head line begins.
const MAGIC: &str = "hrbridge-audit-head v1";
/// How long a POST of the head may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// A head of the trail: the last event's seq and hash, and when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub at: String,
}

impl Head {
    /// The store's head now.
    pub fn of(store: &Store) -> Result<Head, StoreError> {
        let (seq, hash) = store.audit_head()?;
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        Ok(Head { seq, hash, at })
    }

    /// The head as one signed line (see the module docs).
    pub fn signed(&self, key: &InstallationKey) -> String {
        let signing = key.signing_key(PURPOSE);
        let public = hex::encode(signing.verifying_key().to_bytes());
        let body = format!(
            "{MAGIC} seq={} hash={} at={} key=ed25519:{public}",
            self.seq, self.hash, self.at
        );
        let sig = hex::encode(signing.sign(body.as_bytes()).to_bytes());
        format!("{body} sig={sig}")
    }
}

/// The public key kept heads of this installation are signed with, as the lines name it.
pub fn public_key(key: &InstallationKey) -> String {
    let signing = key.signing_key(PURPOSE);
    format!(
        "ed25519:{}",
        hex::encode(signing.verifying_key().to_bytes())
    )
}

/// What an operator kept: a hash alone (`--expect`), or a signed line (`--expect-file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    Hash(String),
    Line { head: Head, key: String },
}

impl Kept {
    /// A hash as typed: 64 hex digits, or `SEQ:HASH`.
    pub fn hash(typed: &str) -> Result<Kept, String> {
        let hash = typed.rsplit(':').next().unwrap_or_default().trim();
        if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Kept::Hash(hash.to_ascii_lowercase()))
        } else {
            Err(format!(
                "{typed:?} is not an audit head hash (64 hex digits, as `hrbridge audit head` prints)"
            ))
        }
    }

    /// The last kept head in `text` (a file the daemon appends to, or one line), its
    /// signature checked against `key`'s.
    pub fn last_line(text: &str, key: &InstallationKey) -> Result<Kept, String> {
        let line = text
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .ok_or("it holds no audit head")?;
        let (head, signer) = parse(line)?;
        let ours = public_key(key);
        if signer != ours {
            return Err(format!(
                "its head is signed by {signer}, not by this installation ({ours})"
            ));
        }
        Ok(Kept::Line { head, key: signer })
    }
}

/// The head and signer of a kept line whose signature holds.
fn parse(line: &str) -> Result<(Head, String), String> {
    let rest = line
        .strip_prefix(MAGIC)
        .ok_or("its last line is not an audit head (`hrbridge-audit-head v1 …`)")?;
    let (body, sig) = line
        .rsplit_once(" sig=")
        .ok_or("its audit head is not signed")?;
    let field = |name: &str| {
        rest.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
            .ok_or(format!("its audit head has no {name}"))
    };
    let seq: i64 = field("seq")?
        .parse()
        .map_err(|_| "its audit head's seq is not a number".to_string())?;
    let head = Head {
        seq,
        hash: field("hash")?.to_string(),
        at: field("at")?.to_string(),
    };
    let signer = field("key")?.to_string();
    let public = signer
        .strip_prefix("ed25519:")
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or("its audit head names no valid ed25519 key")?;
    let sig = hex::decode(sig.trim())
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(|b| Signature::from_bytes(&b))
        .ok_or("its audit head's signature is not 64 bytes of hex")?;
    public
        .verify_strict(body.as_bytes(), &sig)
        .map_err(|_| "its audit head's signature does not match it (edited?)".to_string())?;
    Ok((head, signer))
}

/// Whether the trail still holds a kept head: `None` when it does, else why not.
pub fn missing(store: &Store, kept: &Kept) -> Result<Option<String>, StoreError> {
    let (last, _) = store.audit_head()?;
    Ok(match kept {
        Kept::Hash(hash) => match store.audit_seq_of(hash)? {
            Some(_) => None,
            None => Some(format!(
                "the trail holds no event with the kept head hash {hash}; its last event is {last} \
                 (events after the head you kept were removed, or the trail was rewritten)"
            )),
        },
        Kept::Line { head, .. } => match store.audit_hash(head.seq)? {
            Some(hash) if hash == head.hash => None,
            Some(_) => Some(format!(
                "event {} has another hash than the head kept at {} (the trail was rewritten)",
                head.seq, head.at
            )),
            None => Some(format!(
                "the trail ends at event {last}, before the head kept at {} (event {}): its tail was removed",
                head.at, head.seq
            )),
        },
    })
}

/// After a job: the head, signed, appended to `audit_head_file`, POSTed to `audit_head_url`
/// and appended to `audit_head_sftp`'s remote file (each when set). A place that cannot take it is audited (`audit.anchor_failed`)
/// and logged; the job stands.
pub fn publish(
    settings: &Settings,
    store: &Store,
    key: &InstallationKey,
    runtime: &tokio::runtime::Handle,
) -> Result<(), EngineError> {
    if settings.audit_head_file.is_none()
        && settings.audit_head_url.is_none()
        && settings.audit_head_sftp.is_none()
    {
        return Ok(());
    }
    let line = Head::of(store)?.signed(key);
    let mut failures = Vec::new();
    if let Some(file) = &settings.audit_head_file {
        if let Err(e) = append(file, &line) {
            failures.push(format!("appending to {}: {e}", file.display()));
        }
    }
    if let Some(url) = &settings.audit_head_url {
        if let Err(e) = runtime.block_on(post(url, &line)) {
            let shown = url.split(['?', '#']).next().unwrap_or_default();
            failures.push(format!("posting to {shown}: {e}"));
        }
    }
    if let Some(table) = &settings.audit_head_sftp {
        if let Err(e) = runtime.block_on(append_over_sftp(settings, table, &line)) {
            failures.push(e);
        }
    }
    for error in failures {
        tracing::warn!(%error, "the audit head could not be kept");
        Event::AnchorFailed { error: &error }
            .emit_installation(store)
            .map_err(EngineError::from)?;
    }
    Ok(())
}

/// Appends `line` to `file`, synced (created 0600 with the file).
fn append(file: &Path, line: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)?;
    writeln!(f, "{line}")?;
    f.sync_all()
}

/// Appends `line` to the remote file of `audit_head_sftp` (host key checked against its
/// `known_hosts`, failing closed, as every SFTP connection is).
async fn append_over_sftp(
    settings: &Settings,
    table: &toml::Table,
    line: &str,
) -> Result<(), String> {
    let spec = SftpAnchorSpec::from_table(table).map_err(|e| format!("audit_head_sftp: {e}"))?;
    let login = Login::new(&spec.connection, settings);
    let at = format!("appending to {}{}", login.label(), spec.path);
    let client = login.connect().await.map_err(|e| format!("{at}: {e}"))?;
    let appended = client.append_line(&spec.path, line).await;
    let _ = client.close().await;
    appended.map_err(|e| format!("{at}: {e}"))
}

async fn post(url: &str, line: &str) -> Result<(), String> {
    let url = url_allowed(url, false).map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(POST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client
        .post(url)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-hrbridge-event", "audit.head")
        .body(line.to_string())
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    match answer.status() {
        s if s.is_success() => Ok(()),
        s => Err(format!("answered {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> Head {
        Head {
            seq: 63,
            hash: "ab".repeat(32),
            at: "2026-12-04T04:40:49.238Z".into(),
        }
    }

    #[test]
    fn a_signed_head_reads_back_and_an_edited_one_does_not() {
        let key = InstallationKey::ephemeral();
        let line = head().signed(&key);
        assert!(
            line.starts_with("hrbridge-audit-head v1 seq=63 hash=abab"),
            "{line}"
        );
        let text = format!("{}\n{line}\n\n", Head { seq: 1, ..head() }.signed(&key));
        assert_eq!(
            Kept::last_line(&text, &key),
            Ok(Kept::Line {
                head: head(),
                key: public_key(&key)
            })
        );
        let edited = line.replace("seq=63", "seq=60");
        let err = Kept::last_line(&edited, &key).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        // Signed by someone else: refused, though its signature holds.
        let other = InstallationKey::ephemeral();
        let err = Kept::last_line(&head().signed(&other), &key).unwrap_err();
        assert!(err.contains("not by this installation"), "{err}");
        assert!(Kept::last_line("", &key).is_err());
        assert!(Kept::last_line("seq=1 hash=00", &key).is_err());
    }

    #[test]
    fn a_typed_hash_is_64_hex_digits_with_or_without_its_seq() {
        let hash = "AB".repeat(32);
        assert_eq!(Kept::hash(&hash), Ok(Kept::Hash("ab".repeat(32))));
        assert_eq!(
            Kept::hash(&format!("63:{hash}")),
            Ok(Kept::Hash("ab".repeat(32)))
        );
        assert!(Kept::hash("abc").is_err());
        assert!(Kept::hash(&"zz".repeat(32)).is_err());
    }
}
