//! Which kinds of `[source]` exist, and what each becomes: the one place they are told apart.
//!
//! | `type` | where files come from         | found and taken by                          |
//! |--------|-------------------------------|---------------------------------------------|
//! | `dir`  | a local (or mounted) inbox    | [`super::dir::scan`], then [`super::staging::stage`] |
//! | `sftp` | a folder on an SFTP server    | [`super::sftp::RemoteFolder`]: list, settle, fetch, `after` actions |
//!
//! [`open`] turns a spec into a [`Source`]; everything else asks it what it needs.

use std::path::PathBuf;
use std::time::Duration;

use crate::kernel::secret::SecretRef;
use crate::profile::{DirSourceSpec, KeyPath, Problem, SftpSourceSpec, SourceSpec};
use crate::sftp::login;

/// Where a source's files are: what decides which pass loop takes them.
pub enum Location<'a> {
    /// A local inbox: its files leave it once kept.
    Inbox(&'a DirSourceSpec),
    /// An SFTP folder: its files are fetched, then its `after` action runs.
    Remote(&'a SftpSourceSpec),
}

/// The keys every kind of source has.
pub struct Common<'a> {
    pub pattern: &'a str,
    pub decrypt_with: &'a [PathBuf],
    pub identity_passphrase: Option<&'a SecretRef>,
}

impl<'a> Common<'a> {
    fn of(
        pattern: &'a str,
        decrypt_with: &'a [PathBuf],
        identity_passphrase: &'a Option<SecretRef>,
    ) -> Common<'a> {
        Common {
            pattern,
            decrypt_with,
            identity_passphrase: identity_passphrase.as_ref(),
        }
    }
}

/// A profile's `[source]`, opened.
pub trait Source {
    /// The problems of the keys only this kind has, at `at` (`pattern` is checked by
    /// [`super::check`]).
    fn check(&self, at: &KeyPath) -> Vec<Problem>;

    /// Where its files are.
    fn location(&self) -> Location<'_>;

    /// The glob file names are matched against.
    fn pattern(&self) -> &str {
        self.common().pattern
    }

    /// Identity files that open the `.age` files this source receives.
    fn decrypt_with(&self) -> &[PathBuf] {
        self.common().decrypt_with
    }

    /// The passphrase of the `decrypt_with` identities, if they are encrypted.
    fn identity_passphrase(&self) -> Option<&SecretRef> {
        self.common().identity_passphrase
    }

    /// The keys every kind of source has.
    fn common(&self) -> Common<'_> {
        match self.location() {
            Location::Inbox(s) => Common::of(&s.pattern, &s.decrypt_with, &s.identity_passphrase),
            Location::Remote(s) => Common::of(&s.pattern, &s.decrypt_with, &s.identity_passphrase),
        }
    }

    /// One line for operators: `dir inbox/ats hires_*.csv`, `sftp hr@host:22/out *.csv`.
    fn describe(&self) -> String;

    /// How long after a pass that left files still being written they are looked at again,
    /// when nothing else (a done marker's event, a poll) brings them back.
    fn recheck_after(&self) -> Option<Duration>;

    /// The secrets its keys reference, added to `found` with the key path (under `at`) each
    /// is written at (`identity_passphrase` is asked for on its own).
    fn secret_refs<'a>(&'a self, _at: KeyPath, _found: &mut Vec<(KeyPath, &'a SecretRef)>) {}

    /// The local inbox it is: its files leave it once kept.
    fn inbox(&self) -> Option<&DirSourceSpec> {
        match self.location() {
            Location::Inbox(spec) => Some(spec),
            Location::Remote(_) => None,
        }
    }

    /// The SFTP folder it is.
    fn remote(&self) -> Option<&SftpSourceSpec> {
        match self.location() {
            Location::Remote(spec) => Some(spec),
            Location::Inbox(_) => None,
        }
    }
}

/// The source `spec` describes.
pub fn open(spec: &SourceSpec) -> &dyn Source {
    match spec {
        SourceSpec::Dir(spec) => spec,
        SourceSpec::Sftp(spec) => spec,
    }
}

impl Source for DirSourceSpec {
    fn check(&self, at: &KeyPath) -> Vec<Problem> {
        match &self.done_marker {
            Some(marker) if !super::is_plain_suffix(marker) => vec![Problem::new(
                at.clone().key("done_marker"),
                "done_marker must be a plain suffix such as \".done\" \
                 (not empty; no `/`, `\\`, `..` or NUL)",
            )],
            _ => Vec::new(),
        }
    }

    fn location(&self) -> Location<'_> {
        Location::Inbox(self)
    }

    fn describe(&self) -> String {
        format!("dir {} {}", self.path.display(), self.pattern)
    }

    /// A folder waiting for files to settle looks again after its settle time; one that
    /// waits for a done marker is woken by the marker's event.
    fn recheck_after(&self) -> Option<Duration> {
        match self.done_marker {
            None => Some(self.settle.map_or(super::dir::DEFAULT_SETTLE, |d| d.0)),
            Some(_) => None,
        }
    }
}

impl Source for SftpSourceSpec {
    fn check(&self, at: &KeyPath) -> Vec<Problem> {
        let mut problems = super::check_connection(&self.connection, at);
        if !self.path.starts_with('/') {
            problems.push(Problem::new(
                at.clone().key("path"),
                "the remote folder must be an absolute path such as \"/exports/ats\"",
            ));
        }
        problems
    }

    fn location(&self) -> Location<'_> {
        Location::Remote(self)
    }

    fn describe(&self) -> String {
        let c = &self.connection;
        format!(
            "sftp {}@{}:{}{} {}",
            c.user, c.host, c.port, self.path, self.pattern
        )
    }

    /// The second listing that settles a remote file comes with the next poll, unless the
    /// source sets `settle`.
    fn recheck_after(&self) -> Option<Duration> {
        self.settle.map(|d| d.0)
    }

    fn secret_refs<'a>(&'a self, at: KeyPath, found: &mut Vec<(KeyPath, &'a SecretRef)>) {
        login::secret_refs(&self.connection, at, found);
    }
}
