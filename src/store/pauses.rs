//! Paused profiles: an operator's "take no new files" that survives restarts.
//!
//! A paused profile still finishes what it has in hand (recovery, retries); its passes skip
//! new inputs until it is resumed.

use rusqlite::{params, OptionalExtension};

use super::{now, Result, Store};

/// Who paused a profile, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub profile: String,
    /// The OS user.
    pub by: String,
    /// RFC 3339 UTC.
    pub at: String,
}

impl Store {
    /// Pauses `profile`; `false` when it was paused already (the first pause is kept).
    pub fn pause_profile(&self, profile: &str, by: &str) -> Result<bool> {
        let added = self.conn.execute(
            "INSERT INTO paused_profiles (profile, paused_by, paused_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (profile) DO NOTHING",
            params![profile, by, now()],
        )?;
        Ok(added == 1)
    }

    /// Resumes `profile`; `false` when it was not paused.
    pub fn resume_profile(&self, profile: &str) -> Result<bool> {
        let removed = self.conn.execute(
            "DELETE FROM paused_profiles WHERE profile = ?1",
            params![profile],
        )?;
        Ok(removed == 1)
    }

    /// The pause of `profile`, if it is paused.
    pub fn pause_of(&self, profile: &str) -> Result<Option<Pause>> {
        Ok(self
            .conn
            .query_row(
                "SELECT profile, paused_by, paused_at FROM paused_profiles WHERE profile = ?1",
                params![profile],
                |r| {
                    Ok(Pause {
                        profile: r.get(0)?,
                        by: r.get(1)?,
                        at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{temp_store, Store};

    #[test]
    fn pause_survives_reopening_until_resumed() {
        let (dir, store) = temp_store();
        assert!(store.pause_profile("payroll", "alice").unwrap());
        assert!(!store.pause_profile("payroll", "bob").unwrap());
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let pause = store.pause_of("payroll").unwrap().unwrap();
        assert_eq!(pause.by, "alice");
        assert_eq!(store.pause_of("hris").unwrap(), None);
        assert!(store.resume_profile("payroll").unwrap());
        assert!(!store.resume_profile("payroll").unwrap());
        assert_eq!(store.pause_of("payroll").unwrap(), None);
    }
}
