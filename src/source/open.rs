//! Which kinds of `[source]` exist, and what each becomes: the one place they are told apart.
//!
//! | `type` | where files come from         | found and taken by                          |
//! |--------|-------------------------------|---------------------------------------------|
//! | `dir`  | a local (or mounted) inbox    | [`super::dir::scan`], then [`super::staging::stage`] |
//! | `sftp` | a folder on an SFTP server    | [`super::sftp::RemoteFolder`]: list, settle, fetch, `after` actions |
//!
//! [`open`] turns a spec into a [`Source`]; everything else asks it what it needs.

use std::path::PathBuf;

use crate::kernel::secret::SecretRef;
use crate::profile::{DirSourceSpec, KeyPath, Problem, SftpSourceSpec, SourceSpec};

/// A profile's `[source]`, opened.
pub trait Source {
    /// The problems of the keys only this kind has, at `at` (`pattern` is checked by
    /// [`super::check`]).
    fn check(&self, at: &KeyPath) -> Vec<Problem>;

    /// The glob file names are matched against.
    fn pattern(&self) -> &str;

    /// Identity files that open the `.age` files this source receives.
    fn decrypt_with(&self) -> &[PathBuf];

    /// The passphrase of the `decrypt_with` identities, if they are encrypted.
    fn identity_passphrase(&self) -> Option<&SecretRef>;

    /// The local inbox it is: its files leave it once kept.
    fn inbox(&self) -> Option<&DirSourceSpec> {
        None
    }

    /// The SFTP folder it is.
    fn remote(&self) -> Option<&SftpSourceSpec> {
        None
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

    fn pattern(&self) -> &str {
        &self.pattern
    }

    fn decrypt_with(&self) -> &[PathBuf] {
        &self.decrypt_with
    }

    fn identity_passphrase(&self) -> Option<&SecretRef> {
        self.identity_passphrase.as_ref()
    }

    fn inbox(&self) -> Option<&DirSourceSpec> {
        Some(self)
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

    fn pattern(&self) -> &str {
        &self.pattern
    }

    fn decrypt_with(&self) -> &[PathBuf] {
        &self.decrypt_with
    }

    fn identity_passphrase(&self) -> Option<&SecretRef> {
        self.identity_passphrase.as_ref()
    }

    fn remote(&self) -> Option<&SftpSourceSpec> {
        Some(self)
    }
}
