//! Test fixtures shared by the profile language's tests and by the engine's checks, which
//! test the same profiles with the rules of every component added.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Diagnostic, Problem, Profile};
use crate::settings::{Settings, SettingsFile};

/// The smallest valid profile: one inbox, one field, one file output.
pub const MINIMAL: &str = r#"[source]
type = "dir"
path = "inbox/x"
[[field]]
name = "id"
from = "ID"
[[output]]
type = "file"
path = "outbox/x.csv"
"#;

/// Settings based at `/base`, for rules that touch no file.
pub fn settings() -> Settings {
    Settings::resolve(None, PathBuf::from("/base"), SettingsFile::default())
}

/// Settings based at `dir`, with its profile folder created.
pub fn settings_for(dir: &Path) -> Settings {
    let profiles = dir.join("profiles");
    fs::create_dir_all(&profiles).unwrap();
    Settings::resolve(None, dir.to_path_buf(), SettingsFile::default())
}

/// The minimal profile with `extra` TOML in front, named "x" unless `extra` names it.
pub fn profile_of(extra: &str) -> Profile {
    let mut profile: Profile = toml::from_str(&format!("{extra}\n{MINIMAL}")).unwrap();
    if profile.name.is_empty() {
        profile.name = "x".to_string();
    }
    profile
}

/// The key paths of `problems`, in order.
pub fn paths(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(|p| p.at.to_string()).collect()
}

/// Writes `text` as profiles/`stem`.toml and loads it with `load`; returns its path too.
pub fn load_text<T>(
    stem: &str,
    text: &str,
    load: impl Fn(&Path, &Settings) -> Result<T, Vec<Diagnostic>>,
) -> (PathBuf, Result<T, Vec<Diagnostic>>) {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(dir.path());
    let path = settings.profiles_dir.join(format!("{stem}.toml"));
    fs::write(&path, text).unwrap();
    let result = load(&path, &settings);
    (path, result)
}

/// The diagnostics of a load that should fail, as `hrbridge check` prints them.
pub fn errors_of<T: std::fmt::Debug>(result: Result<T, Vec<Diagnostic>>) -> Vec<String> {
    let diags = result.expect_err("profile should fail");
    diags.iter().map(ToString::to_string).collect()
}
