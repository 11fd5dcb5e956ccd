//! Which kinds of `[[output]]` exist, and what each becomes: the one place they are told apart.
//!
//! | `type` | written during the job as              | published at commit by                    |
//! |--------|----------------------------------------|-------------------------------------------|
//! | `file` | a temp file beside its final path      | linking it into place                     |
//! | `sftp` | a local copy in `state/outgoing`       | uploading it ([`super::sftp::upload`])    |
//! | `http` | a spool in `state/outgoing`            | sending its rows as REST requests         |
//! | `scim` | a spool in `state/outgoing`            | sending its rows to a SCIM 2.0 service    |
//!
//! [`open`] turns a spec into an [`Output`]; everything else asks it what it needs. API rows go
//! through the engine's delivery ledger, which gets what it needs from [`Output::api`].

use crate::kernel::mapped::FieldInfo;
use crate::kernel::secret::SecretRef;
use crate::profile::{
    FileOutputSpec, HttpOutputSpec, KeyPath, OutputFormat, OutputSpec, Problem, ScimOutputSpec,
    SftpOutputSpec,
};
use crate::settings::Settings;
use crate::sftp::login;

use super::api::spool::SpoolHeader;
use super::api::{self, ApiOutput};
use super::placement::{PlaceEnv, PlaceError, Placement};
use super::template::{safe_component, NameContext, NameTemplate};
use super::{resolve_path, sftp, x12};

/// What a profile check gives every output.
pub struct CheckEnv<'a> {
    pub settings: &'a Settings,
    /// Names as a job of the profile would render them.
    pub sample: &'a NameContext<'a>,
    pub fields: &'a [FieldInfo],
}

/// One `[[output]]` entry, opened.
pub trait Output {
    /// The problems of the keys only this kind has, at `at` (the keys every file has are
    /// checked by [`super::check`] through [`Output::file`]).
    fn check(&self, at: &KeyPath, env: &CheckEnv<'_>) -> Vec<Problem>;

    /// The keys of the file it writes, for an output written as a file.
    fn file(&self) -> Option<&FileOutputSpec>;

    /// Where this job's copy is written and under which target it is published. The error is
    /// the reason for the job to fail (a path outside the output roots, a bad recipient).
    fn place(&self, env: &PlaceEnv<'_>) -> Result<Placement<'_>, PlaceError>;

    /// Whether what it publishes is a file on this machine (`retention` removes it).
    fn is_local(&self) -> bool;

    /// The secrets its keys reference, added to `found` with the key path (under `at`) each is
    /// written at.
    fn secret_refs<'a>(&'a self, _at: KeyPath, _found: &mut Vec<(KeyPath, &'a SecretRef)>) {}

    /// The SFTP output it is: published by uploading its kept local copy.
    fn upload(&self) -> Option<&SftpOutputSpec> {
        None
    }

    /// The API output it is: published by sending its spool's rows through the ledger.
    fn api(&self) -> Option<ApiOutput<'_>> {
        None
    }

    /// The fields (places in `fields`) its recipient gets: every one, unless its kind sends
    /// fewer (an `http` output whose templates name some).
    fn sends(&self, fields: &[FieldInfo]) -> Vec<usize> {
        match self.api() {
            Some(api) => api.sends(fields),
            None => (0..fields.len()).collect(),
        }
    }
}

/// The output `spec` describes.
pub fn open(spec: &OutputSpec) -> &dyn Output {
    match spec {
        OutputSpec::File(spec) => spec,
        OutputSpec::Sftp(spec) => spec,
        OutputSpec::Http(spec) => spec,
        OutputSpec::Scim(spec) => spec,
    }
}

impl Output for FileOutputSpec {
    fn check(&self, at: &KeyPath, env: &CheckEnv<'_>) -> Vec<Problem> {
        match resolve_path(&self.path, env.settings, env.sample) {
            Ok(_) => Vec::new(),
            Err(e) => vec![Problem::new(at.clone().key("path"), e.to_string())],
        }
    }

    fn file(&self) -> Option<&FileOutputSpec> {
        Some(self)
    }

    fn place(&self, env: &PlaceEnv<'_>) -> Result<Placement<'_>, PlaceError> {
        let path = resolve_path(&self.path, env.settings, env.names)?;
        Placement::file(self, path.display().to_string(), path, env.settings)
            .map_err(PlaceError::from)
    }

    fn is_local(&self) -> bool {
        true
    }

    fn sends(&self, fields: &[FieldInfo]) -> Vec<usize> {
        file_sends(self, fields)
    }
}

impl Output for SftpOutputSpec {
    fn check(&self, at: &KeyPath, _: &CheckEnv<'_>) -> Vec<Problem> {
        match NameTemplate::parse(&self.file.path) {
            Ok(_) => Vec::new(),
            Err(e) => vec![Problem::new(at.clone().key("path"), e.to_string())],
        }
    }

    fn file(&self) -> Option<&FileOutputSpec> {
        Some(&self.file)
    }

    fn place(&self, env: &PlaceEnv<'_>) -> Result<Placement<'_>, PlaceError> {
        let remote = sftp::remote_path(&self.file.path, env.names)?;
        let name = remote.rsplit('/').next().unwrap_or_default();
        let local = env.outgoing(&format!("{}-{}", env.tag, safe_component(name)));
        let target = sftp::target(self, env.settings, &remote);
        Ok(Placement::file(&self.file, target, local, env.settings)?.sealed_copy(env.key))
    }

    fn is_local(&self) -> bool {
        false
    }

    fn secret_refs<'a>(&'a self, at: KeyPath, found: &mut Vec<(KeyPath, &'a SecretRef)>) {
        login::secret_refs(&self.connection, at, found);
    }

    fn upload(&self) -> Option<&SftpOutputSpec> {
        Some(self)
    }

    fn sends(&self, fields: &[FieldInfo]) -> Vec<usize> {
        file_sends(&self.file, fields)
    }
}

/// The fields a file carries: every one, but for an X12 834, whose segments carry the fields
/// its `[output.x12]` names.
fn file_sends(spec: &FileOutputSpec, fields: &[FieldInfo]) -> Vec<usize> {
    match spec.format {
        OutputFormat::X12 => x12::Layout::compile(spec, fields, &KeyPath::root())
            .map(|layout| layout.sends())
            .unwrap_or_default(),
        _ => (0..fields.len()).collect(),
    }
}

/// What tells the two kinds of API output apart: how each opens. Everything else about
/// them is the same (the [`Output`] below).
trait ApiSpec {
    fn opened(&self) -> ApiOutput<'_>;
}

impl ApiSpec for HttpOutputSpec {
    fn opened(&self) -> ApiOutput<'_> {
        ApiOutput::rest(self)
    }
}

impl ApiSpec for ScimOutputSpec {
    fn opened(&self) -> ApiOutput<'_> {
        ApiOutput::scim(self)
    }
}

impl<T: ApiSpec> Output for T {
    fn check(&self, at: &KeyPath, env: &CheckEnv<'_>) -> Vec<Problem> {
        self.opened().check(at, env.fields)
    }

    fn file(&self) -> Option<&FileOutputSpec> {
        None
    }

    fn place(&self, env: &PlaceEnv<'_>) -> Result<Placement<'_>, PlaceError> {
        Ok(spool(self.opened(), env))
    }

    fn is_local(&self) -> bool {
        false
    }

    fn secret_refs<'a>(&'a self, at: KeyPath, found: &mut Vec<(KeyPath, &'a SecretRef)>) {
        api::check::secret_refs(self.opened().connection, at, found);
    }

    fn api(&self) -> Option<ApiOutput<'_>> {
        Some(self.opened())
    }
}

/// The spool an API output's rows wait in until they are sent.
fn spool<'a>(api: ApiOutput<'_>, env: &PlaceEnv<'_>) -> Placement<'a> {
    let local = env.outgoing(&format!("{}.spool", env.tag));
    let header = SpoolHeader::new(api.batch_size, env.fields);
    Placement::spool(api.label, local, header)
}
