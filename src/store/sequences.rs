//! Persistent counters behind the `{seq}` output name template: 1, 2, 3 ... per profile and
//! output, surviving restarts so a name is never reused.

use rusqlite::params;

use super::{Result, Store};

impl Store {
    /// The next number for output `output_index` of `profile`, starting at 1.
    pub fn next_seq(&self, profile: &str, output_index: usize) -> Result<u64> {
        let next = self.conn.query_row(
            "INSERT INTO sequences (profile, output_index, last) VALUES (?1, ?2, 1)
             ON CONFLICT (profile, output_index) DO UPDATE SET last = last + 1
             RETURNING last",
            params![profile, output_index],
            |row| row.get(0),
        )?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{temp_store, Store};

    #[test]
    fn counters_are_separate_and_survive_reopen() {
        let (dir, store) = temp_store();
        assert_eq!(store.next_seq("p", 0).unwrap(), 1);
        assert_eq!(store.next_seq("p", 0).unwrap(), 2);
        assert_eq!(store.next_seq("p", 1).unwrap(), 1);
        assert_eq!(store.next_seq("q", 0).unwrap(), 1);
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.next_seq("p", 0).unwrap(), 3);
        assert_eq!(again.next_seq("p", 1).unwrap(), 2);
    }
}
