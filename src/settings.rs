//! `hrbridge.toml`: where profiles live, where state is kept, and where outputs may be written.
//!
//! Every relative path in the settings and in profiles resolves against the folder that holds
//! `hrbridge.toml` (the working directory when there is none), so an installation can be moved
//! as one folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::kernel::duration::DurationStr;

/// The settings file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// Folder of profile files (default `"profiles"`).
    #[serde(default)]
    pub profiles: Option<PathBuf>,
    /// Folder for the database, staging, archive and error folders (default `"var"`).
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// Folders that file outputs may write into (default: the settings folder itself).
    #[serde(default)]
    pub output_roots: Option<Vec<PathBuf>>,
    /// How long kept inputs stay in the state folder's `archive/` and `error/` (e.g. `"30d"`);
    /// older ones are deleted at the start of each pass, each deletion audited. Default: kept
    /// for ever.
    #[serde(default)]
    pub retention: Option<DurationStr>,
    /// A file outside the state folder (a write-once share, another disk) to which each job
    /// appends the audit trail's head, signed (`audit verify --expect-file` reads it back).
    #[serde(default)]
    pub audit_head_file: Option<PathBuf>,
    /// A URL (`https://`, or plain HTTP to loopback) that each job POSTs the signed head to.
    #[serde(default)]
    pub audit_head_url: Option<String>,
    /// An SFTP server and remote file each job appends the signed head to: the connection
    /// keys of an SFTP source or output, and `path` (checked by `profile::load`).
    #[serde(default)]
    pub audit_head_sftp: Option<toml::Table>,
}

/// Settings with every path resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The settings file, when one was read.
    pub config_file: Option<PathBuf>,
    /// Folder that relative paths resolve against.
    pub base_dir: PathBuf,
    pub profiles_dir: PathBuf,
    pub state_dir: PathBuf,
    pub output_roots: Vec<PathBuf>,
    /// Age after which kept inputs are purged; `None` keeps them.
    pub retention: Option<Duration>,
    /// Where each job appends the signed audit head (see `engine::anchor`).
    pub audit_head_file: Option<PathBuf>,
    /// Where each job POSTs it.
    pub audit_head_url: Option<String>,
    /// Where each job appends it over SFTP (as written; `SftpAnchorSpec` reads it).
    pub audit_head_sftp: Option<toml::Table>,
}

impl Settings {
    /// Resolves `file` against `base_dir`.
    pub fn resolve(
        config_file: Option<PathBuf>,
        base_dir: PathBuf,
        file: SettingsFile,
    ) -> Settings {
        let at = |p: PathBuf| absolutize(&base_dir, &p);
        Settings {
            profiles_dir: at(file.profiles.unwrap_or_else(|| "profiles".into())),
            state_dir: at(file.state_dir.unwrap_or_else(|| "var".into())),
            output_roots: file
                .output_roots
                .unwrap_or_else(|| vec![PathBuf::from(".")])
                .into_iter()
                .map(at)
                .collect(),
            retention: file.retention.map(|d| d.0),
            audit_head_file: file.audit_head_file.map(at),
            audit_head_url: file.audit_head_url,
            audit_head_sftp: file.audit_head_sftp,
            config_file,
            base_dir,
        }
    }

    /// A path from settings or a profile, resolved against the settings folder.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        absolutize(&self.base_dir, p)
    }
}

/// `p` joined to `base` when relative, with `.` components removed (`..` is kept: callers that
/// must stay inside a root check for it).
pub fn absolutize(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    joined
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}
