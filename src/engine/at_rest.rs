//! The keys the engine needs to keep inputs encrypted at rest: the installation's own key
//! (staged and kept copies are sealed to it) and the identities of a source's `decrypt_with`.
//! Loaded per pass and per job, with errors that name the file and the profile.

use crate::kernel::keys::InstallationKey;
use crate::profile::Profile;
use crate::settings::Settings;
use crate::source::decrypt::{decrypt_with, identity_passphrase, SourceIdentities};

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
