//! The keys the engine needs to keep inputs encrypted at rest: the installation's own key
//! (staged and kept copies are sealed to it) and the identities of a source's `decrypt_with`.
//! Loaded per pass and per job, with errors that name the file and the profile. Also turns
//! the readable id map keys of an older hrbridge into keyed hashes before a run.

use crate::kernel::keys::InstallationKey;
use crate::privacy::trace::{id_map_rekey, HASHED, ID_MAP_HASH};
use crate::profile::Profile;
use crate::settings::Settings;
use crate::source::decrypt::{decrypt_with, identity_passphrase, SourceIdentities};
use crate::store::Store;

use super::EngineError;

/// The installation key of `settings.state_dir`, created on first use.
pub fn installation_key(settings: &Settings) -> Result<InstallationKey, EngineError> {
    InstallationKey::load_or_create(&settings.state_dir).map_err(|e| {
        EngineError::io(
            format!(
                "loading the installation key {}",
                InstallationKey::path(&settings.state_dir).display()
            ),
            e,
        )
    })
}

/// Hashes the id map keys an older hrbridge kept readable (see `Store::rekey_id_map`);
/// returns how many there were.
pub fn hash_readable_keys(store: &Store, key: &InstallationKey) -> Result<usize, EngineError> {
    let hash = key.keyed_hash(ID_MAP_HASH);
    let rekeyed = store.rekey_id_map(HASHED, |legacy| id_map_rekey(legacy, &hash))?;
    if rekeyed > 0 {
        tracing::info!(rekeyed, "id map keys hashed");
    }
    Ok(rekeyed)
}

/// The identities of `profile`'s `decrypt_with`; `None` when its source receives plain files.
pub fn source_identities(
    settings: &Settings,
    profile: &Profile,
) -> Result<Option<SourceIdentities>, EngineError> {
    SourceIdentities::load(
        settings,
        decrypt_with(profile),
        identity_passphrase(profile),
    )
    .map_err(|message| EngineError::Profile {
        profile: profile.name.clone(),
        message: format!("source.decrypt_with: {message}"),
    })
}
