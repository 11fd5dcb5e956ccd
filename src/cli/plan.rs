//! `hrbridge plan --profile NAME FILE`: what a roster file would change for a lifecycle
//! profile — counts per kind, whether a safeguard would hold it, and each person's change
//! (PII masked). Nothing is written or sent; the store is only read.

use std::path::Path;

use super::{changes, load_all, Exit};
use crate::engine::plan::plan_file;
use crate::kernel::keys::InstallationKey;
use crate::store::Store;

pub fn run(config: Option<&Path>, profile_name: &str, file: &Path, json: bool) -> Exit {
    let (settings, profiles) = match load_all(config) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Some(checked) = profiles.iter().find(|c| c.profile.name == profile_name) else {
        eprintln!("error: no profile named {profile_name:?}");
        return Exit::Usage;
    };
    let display_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let outcome = read_only_store(&settings.state_dir).and_then(|store| {
        let key = installation_key(&settings.state_dir)?;
        Ok(plan_file(
            &store,
            &checked.profile,
            &checked.plan,
            &key,
            file,
            &display_name,
        )?)
    });
    let planned = match outcome {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    let (plan, list) = (&planned.outcome.plan, &planned.outcome.changes);
    let loud: Vec<_> = list.iter().filter(|c| c.kind != "quiet").cloned().collect();
    if json {
        println!("{:#}", changes::as_json(plan, &loud));
    } else {
        let c = &planned.counts;
        println!(
            "{display_name}: {} row(s) read, {} mapped, {} rejected, {} filtered; nothing was written or sent",
            c.read, c.written, c.rejected, c.filtered
        );
        print!("{}", changes::render(plan, &loud));
    }
    match &planned.file_error {
        Some(e) => {
            eprintln!("error: {e} (a job would fail on it)");
            Exit::Failed
        }
        None => Exit::Ok,
    }
}

/// The state's store, read only; an empty one when nothing has run yet.
fn read_only_store(state_dir: &Path) -> Result<Store, Box<dyn std::error::Error>> {
    match Store::open_read_only(state_dir)? {
        Some(store) => Ok(store),
        None => Ok(Store::open_in_memory()?),
    }
}

/// The installation key the snapshot's hashes are keyed with. Without one nothing has run,
/// so there is no snapshot to compare with, and a key of the moment does as well.
fn installation_key(state_dir: &Path) -> Result<InstallationKey, Box<dyn std::error::Error>> {
    match InstallationKey::load_existing(state_dir) {
        Ok(key) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(InstallationKey::ephemeral()),
        Err(e) => Err(e.into()),
    }
}
