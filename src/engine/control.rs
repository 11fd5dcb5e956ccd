//! Operator actions on profiles and jobs, as the dashboard asks for them: pause and resume
//! (state in the store that every pass reads), run now and retry (commands queued in the
//! store for the daemon to carry out). Each action is an audit event naming the OS user.

use crate::store::{CommandKind, Store, StoreError};

use super::event::Event;

/// Who is acting: `$USER`, else the numeric user id.
pub fn os_user() -> String {
    match std::env::var("USER") {
        Ok(user) if !user.is_empty() => user,
        // SAFETY: getuid has no preconditions and cannot fail.
        _ => format!("uid {}", unsafe { libc::getuid() }),
    }
}

/// Pauses `profile` for `user` and audits it; `false` (and no event) when already paused.
pub fn pause(store: &Store, profile: &str, user: &str) -> Result<bool, StoreError> {
    let changed = store.pause_profile(profile, user)?;
    if changed {
        Event::ProfilePaused { user }.emit(store, profile)?;
    }
    Ok(changed)
}

/// Resumes `profile` for `user` and audits it; `false` (and no event) when it was not paused.
pub fn resume(store: &Store, profile: &str, user: &str) -> Result<bool, StoreError> {
    let changed = store.resume_profile(profile)?;
    if changed {
        Event::ProfileResumed { user }.emit(store, profile)?;
    }
    Ok(changed)
}

/// Queues `kind` for `profile` (and job `job_id`, for a retry) on behalf of `user`, audits
/// the request and returns the command's id.
pub fn request(
    store: &Store,
    kind: CommandKind,
    profile: &str,
    job_id: Option<i64>,
    user: &str,
) -> Result<i64, StoreError> {
    let command = store.request_command(kind, profile, job_id, user)?;
    Event::CommandRequested {
        command,
        action: kind.as_str(),
        job_id,
        user,
    }
    .emit(store, profile)?;
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditFilter, Toward};

    #[test]
    fn actions_change_the_store_and_audit_who_did_them() {
        let store = Store::open_in_memory().unwrap();
        assert!(pause(&store, "payroll", "alice").unwrap());
        assert!(!pause(&store, "payroll", "alice").unwrap());
        assert_eq!(store.pause_of("payroll").unwrap().unwrap().by, "alice");
        assert!(resume(&store, "payroll", "bob").unwrap());
        assert!(!resume(&store, "payroll", "bob").unwrap());
        let id = request(&store, CommandKind::Retry, "payroll", None, "carol").unwrap();
        assert_eq!(store.pending_commands().unwrap()[0].id, id);
        let trail = store
            .audit_range(&AuditFilter::default(), 1, 100, Toward::Newer, 100)
            .unwrap();
        let seen: Vec<(String, String)> = trail
            .iter()
            .rev()
            .map(|e| {
                (
                    e.kind.clone(),
                    e.detail["user"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("profile.paused".to_string(), "alice".to_string()),
                ("profile.resumed".into(), "bob".into()),
                ("command.requested".into(), "carol".into()),
            ]
        );
        assert_eq!(trail[0].detail["action"], "retry");
    }
}
