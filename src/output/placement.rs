//! Where one job's copy of an output is written, and under which target it is published: what
//! [`super::open::Output::place`] answers before the job's first row.
//!
//! A file output writes beside its final path; an SFTP output and an API output write into the
//! profile's `state/outgoing` folder. A file encrypted to recipients gets `.age`; an SFTP
//! output's local copy that is not is sealed to this installation while it waits (`.sealed`);
//! an API output's spool is always sealed to it.

use std::io;
use std::path::PathBuf;

use crate::kernel::keys::InstallationKey;
use crate::kernel::mapped::FieldInfo;
use crate::profile::FileOutputSpec;
use crate::settings::Settings;

use super::age::{self, EncryptToError, Sealing};
use super::api::spool::SpoolHeader;
use super::file::{FileSink, Stamp};
use super::sftp::{RemotePathError, SEALED_SUFFIX};
use super::template::NameContext;
use super::PathError;

/// Why this job's copy of an output cannot be placed: the reason for the job to fail.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    RemotePath(#[from] RemotePathError),
    #[error(transparent)]
    EncryptTo(#[from] EncryptToError),
}

/// What an output needs to know to place this job's copy.
pub struct PlaceEnv<'a> {
    pub settings: &'a Settings,
    pub names: &'a NameContext<'a>,
    pub key: &'a InstallationKey,
    /// The profile's folder for outputs on their way out (SFTP uploads, API spools).
    pub outgoing: PathBuf,
    /// `job<id>-<index>`: names this job's files of this output.
    pub tag: &'a str,
    pub fields: &'a [FieldInfo],
    /// The job's date, time and sequence number, for the formats whose headers carry them.
    pub stamp: Stamp,
}

impl PlaceEnv<'_> {
    /// A file in the profile's outgoing folder.
    pub fn outgoing(&self, name: &str) -> PathBuf {
        self.outgoing.join(name)
    }
}

/// Where this job's copy of an output goes.
pub struct Placement<'a> {
    /// Where it is published: a local path, `sftp://user@host:port/remote/path`, or an API's
    /// label.
    pub target: String,
    /// The local path the temp file is written beside (the target itself for file outputs).
    pub local: PathBuf,
    writer: Writer<'a>,
}

/// How the temp file is written.
enum Writer<'a> {
    File {
        spec: &'a FileOutputSpec,
        sealing: Option<Sealing>,
    },
    Spool(SpoolHeader),
}

impl<'a> Placement<'a> {
    /// A file written from `spec`'s keys, encrypted to its recipients when it has any (then
    /// named `.age`). The error says what is wrong with `encrypt_to`.
    pub fn file(
        spec: &'a FileOutputSpec,
        mut target: String,
        mut local: PathBuf,
        settings: &Settings,
    ) -> Result<Placement<'a>, EncryptToError> {
        let sealing = Sealing::new(&spec.encrypt_to, spec.armor, settings)?;
        if sealing.is_some() {
            target.push_str(age::SUFFIX);
            local.as_mut_os_string().push(age::SUFFIX);
        }
        Ok(Placement {
            target,
            local,
            writer: Writer::File { spec, sealing },
        })
    }

    /// A local copy that waits to be sent: one not encrypted to recipients is sealed to this
    /// installation while it waits.
    pub fn sealed_copy(mut self, key: &InstallationKey) -> Placement<'a> {
        if let Writer::File { sealing, .. } = &mut self.writer {
            if sealing.is_none() {
                self.local.as_mut_os_string().push(SEALED_SUFFIX);
                *sealing = Some(Sealing::to_installation(key));
            }
        }
        self
    }

    /// An API output's spool.
    pub fn spool(target: String, local: PathBuf, header: SpoolHeader) -> Placement<'a> {
        Placement {
            target,
            local,
            writer: Writer::Spool(header),
        }
    }

    /// Creates the temp file (the caller noted it in the store first).
    pub fn create(&self, env: &PlaceEnv<'_>) -> io::Result<FileSink> {
        match &self.writer {
            Writer::File { spec, sealing } => FileSink::create(
                spec,
                &self.local,
                env.fields,
                env.tag,
                sealing.as_ref(),
                env.stamp,
            ),
            Writer::Spool(header) => FileSink::spool(&self.local, env.tag, header, env.key),
        }
    }
}
