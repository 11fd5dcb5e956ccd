//! The id map: ids that APIs gave records (e.g. the HRIS id of a new employee), kept by map
//! name and record key, so later rows and other profiles can address the same record.

use rusqlite::{params, OptionalExtension};

use super::{now, Result, Store};

impl Store {
    /// The id kept for `key` in `map`.
    pub fn id_lookup(&self, map: &str, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM id_map WHERE map = ?1 AND key = ?2",
                params![map, key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Keeps `id` for `key` in `map` (replacing what was there).
    pub fn id_keep(&self, map: &str, key: &str, id: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO id_map (map, key, id, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (map, key) DO UPDATE SET id = excluded.id, updated_at = excluded.updated_at",
            params![map, key, id, now()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::temp_store;

    #[test]
    fn ids_are_kept_and_replaced_per_map() {
        let (_dir, store) = temp_store();
        assert_eq!(store.id_lookup("hris", "E1").unwrap(), None);
        store.id_keep("hris", "E1", "1001").unwrap();
        store.id_keep("idp", "E1", "u-9").unwrap();
        store.id_keep("hris", "E1", "1002").unwrap();
        assert_eq!(
            store.id_lookup("hris", "E1").unwrap().as_deref(),
            Some("1002")
        );
        assert_eq!(
            store.id_lookup("idp", "E1").unwrap().as_deref(),
            Some("u-9")
        );
    }
}
