//! A refused SFTP host key is audited as well as logged: the trail shows who tried to answer
//! for a server. Shared by the SFTP source's passes and the SFTP outputs' uploads.

use crate::sftp::SftpError;

use super::event::Event;
use super::job::JobContext;
use super::EngineError;

/// Audits `e` when it is a refused host key (unknown, changed or revoked), once per server and
/// key offered, so the trail shows who tried to answer for a server, not only the log.
pub(super) fn audit_host_key(ctx: &JobContext<'_>, e: &SftpError) -> Result<(), EngineError> {
    let Some((server, fingerprint)) = e.refused_host_key() else {
        return Ok(());
    };
    let reason = e.to_string();
    let seen = format!("{server} {fingerprint}");
    if ctx.store.note_refusal(&ctx.profile.name, &seen, &reason)? {
        Event::HostKeyRefused {
            server: &server,
            fingerprint,
            reason: &reason,
        }
        .emit(ctx.store, &ctx.profile.name)?;
    }
    Ok(())
}
