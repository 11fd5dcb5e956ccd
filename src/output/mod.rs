//! Destinations for mapped records.
//!
//! `open.rs` names the kinds of `[[output]]` (file, sftp, http, scim) and turns a spec into the
//! [`open::Output`] everything else asks; `placement.rs` is where a job's copy of one is
//! written.
//!
//! Files (`file.rs`: CSV, JSON Lines or fixed-width records — `fixed.rs`, with the trailers'
//! exact sums in `hash_total.rs` — written through `atomic.rs` so they appear complete or not
//! at all, and through `age.rs` when encrypted) and the rejects report beside them; SFTP
//! uploads (`sftp.rs`: remote names, the sealed local copy, the hash-checked upload); APIs
//! (`api/`: REST and SCIM). `template.rs` renders output names; `confine.rs` keeps local paths
//! inside the settings' output roots by their real location; `check` validates a profile's
//! outputs, including those paths. `webhook.rs` delivers the `[[notify]]` webhooks: a signed
//! JSON summary of each finished job.

pub mod age;
pub mod api;
pub mod confine;
pub mod csv;
pub mod file;
pub mod fixed;
pub mod hash_total;
pub mod jsonl;
pub mod open;
pub mod placement;
pub mod rejects;
pub mod sftp;
pub mod template;
pub mod webhook;
pub mod x12;

use std::path::{Path, PathBuf};

use crate::kernel::change::change_fields;
use crate::kernel::mapped::FieldInfo;
use crate::profile::{KeyPath, OutputFormat, Problem, Profile};
use crate::settings::Settings;
use confine::ConfineError;
use open::{open, CheckEnv};
use template::{NameContext, NameTemplate, NameTemplateError};

/// Why a local path template gives no path to write.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error(transparent)]
    Template(#[from] NameTemplateError),
    #[error(transparent)]
    Confine(#[from] ConfineError),
}

/// Renders a local path template (a file output's `path`, `validation.rejects_path`) and
/// checks that it stays inside an output root, also by its real location (see `confine`).
pub fn resolve_path(
    template: &str,
    settings: &Settings,
    ctx: &NameContext<'_>,
) -> Result<PathBuf, PathError> {
    let template = NameTemplate::parse(template)?;
    let rendered = template.render(ctx);
    Ok(confine::confine(
        &settings.resolve_path(Path::new(&rendered)),
        &settings.output_roots,
    )?)
}

/// The fields every output of `profile` gets, in order: the mapped ones, then, in a lifecycle
/// profile, the change fields.
pub fn output_fields(profile: &Profile) -> Vec<FieldInfo> {
    let fields: Vec<FieldInfo> = profile
        .fields
        .iter()
        .map(|f| FieldInfo {
            name: f.name.clone(),
            pii: f.pii,
            key: f.key,
        })
        .collect();
    match profile.lifecycle {
        Some(_) => change_fields(&fields),
        None => fields,
    }
}

/// Semantic checks of a profile's `[[output]]` entries.
pub fn check(profile: &Profile, settings: &Settings) -> Vec<Problem> {
    let mut problems = Vec::new();
    let fields = output_fields(profile);
    let sample = NameContext {
        profile: if profile.name.is_empty() {
            "profile"
        } else {
            &profile.name
        },
        date: crate::kernel::clock::now_in(profile.timezone.as_deref()),
        seq: 1,
        source_name: "export.csv",
    };
    if let Some(rejects) = &profile.validation.rejects_path {
        if let Err(e) = resolve_path(rejects, settings, &sample) {
            problems.push(Problem::new(
                KeyPath::root().key("validation").key("rejects_path"),
                e.to_string(),
            ));
        }
    }
    problems.extend(api::check::shared_id_maps(profile));
    let mut seen: Vec<(&str, usize)> = Vec::new();
    let env = CheckEnv {
        settings,
        sample: &sample,
        fields: &fields,
    };
    for (i, spec) in profile.outputs.iter().enumerate() {
        let at = KeyPath::output(i);
        let output = open(spec);
        problems.extend(output.check(&at, &env));
        let Some(spec) = output.file() else {
            continue;
        };
        if let Some((_, first)) = seen.iter().find(|(p, _)| *p == spec.path) {
            problems.push(Problem::new(
                at.clone().key("path"),
                format!("output[{first}] already writes to this path"),
            ));
        }
        seen.push((&spec.path, i));
        if spec.path.ends_with('/') {
            problems.push(Problem::new(
                at.clone().key("path"),
                "output path must name a file, not a folder",
            ));
        }
        if let Err(e) = age::Sealing::new(&spec.encrypt_to, spec.armor, settings) {
            problems.push(Problem::new(at.clone().key("encrypt_to"), e.to_string()));
        }
        if spec.armor && spec.encrypt_to.is_empty() {
            problems.push(Problem::new(
                at.clone().key("armor"),
                "armor only applies to encrypted outputs (set encrypt_to)",
            ));
        }
        if let Err(e) = file::output_delimiter(spec.delimiter.as_deref()) {
            problems.push(Problem::new(at.clone().key("delimiter"), e.to_string()));
        }
        problems.extend(fixed::check(spec, profile, &at));
        problems.extend(x12::check(spec, profile, &at));
        if spec.format == OutputFormat::Jsonl {
            if let Err(e) = jsonl::nesting(&fields) {
                problems.push(Problem::new(at.clone().key("format"), e.to_string()));
            }
        }
    }
    problems
}

/// Plain (not PII, not key) field infos for the encoders' tests.
#[cfg(test)]
pub(crate) fn test_fields(names: &[&str]) -> Vec<FieldInfo> {
    names
        .iter()
        .map(|n| FieldInfo {
            name: n.to_string(),
            pii: false,
            key: false,
        })
        .collect()
}
