//! Inbox entries refused (hostile names, symlinks ...), remembered so that a daemon rescanning
//! every minute audits each refusal once, not once a minute.

use rusqlite::params;

use super::{now, Result, Store};

impl Store {
    /// Records that `name` was refused for `reason`; `true` the first time.
    pub fn note_refusal(&self, profile: &str, name: &str, reason: &str) -> Result<bool> {
        let added = self.conn.execute(
            "INSERT OR IGNORE INTO refusals (profile, name, reason, first_at) VALUES (?1, ?2, ?3, ?4)",
            params![profile, name, reason, now()],
        )?;
        Ok(added == 1)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::temp_store;

    #[test]
    fn a_refusal_is_new_once() {
        let (_dir, store) = temp_store();
        assert!(store
            .note_refusal("p", "\"a\\nb\"", "control characters")
            .unwrap());
        assert!(!store
            .note_refusal("p", "\"a\\nb\"", "control characters")
            .unwrap());
        assert!(store
            .note_refusal("p", "\"a\\nb\"", "symbolic link")
            .unwrap());
        assert!(store
            .note_refusal("q", "\"a\\nb\"", "control characters")
            .unwrap());
    }
}
