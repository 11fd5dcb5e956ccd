//! The id map: ids that APIs gave records (e.g. the HRIS id of a new employee), kept by map
//! name and record key, so later rows and other profiles can address the same record. The
//! record keys are keyed hashes (`privacy::trace::id_map_key`); [`Store::rekey_id_map`]
//! turns the readable keys an older hrbridge kept into them.

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

impl Store {
    /// Replaces every record key that does not start with `hashed` by `rekey(key)`, in one
    /// transaction (a record already kept under its new key keeps that id); returns how many.
    pub fn rekey_id_map(&self, hashed: &str, rekey: impl Fn(&str) -> String) -> Result<usize> {
        self.batch(|store| {
            let old: Vec<(String, String)> = {
                let mut stmt = store.conn.prepare(
                    "SELECT map, key FROM id_map WHERE substr(key, 1, length(?1)) <> ?1",
                )?;
                let rows = stmt.query_map(params![hashed], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for (map, key) in &old {
                store.conn.execute(
                    "INSERT INTO id_map (map, key, id, updated_at)
                     SELECT map, ?3, id, updated_at FROM id_map WHERE map = ?1 AND key = ?2
                     ON CONFLICT (map, key) DO NOTHING",
                    params![map, key, rekey(key)],
                )?;
                store.conn.execute(
                    "DELETE FROM id_map WHERE map = ?1 AND key = ?2",
                    params![map, key],
                )?;
            }
            Ok(old.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::temp_store;

    #[test]
    fn readable_keys_are_rekeyed_once_and_newer_ids_win() {
        let (_dir, store) = temp_store();
        store.id_keep("hris", "E1", "1001").unwrap();
        store.id_keep("hris", "E2", "1002").unwrap();
        store.id_keep("hris", "k:E2", "2002").unwrap();
        let rekey = |key: &str| format!("k:{key}");
        assert_eq!(store.rekey_id_map("k:", rekey).unwrap(), 2);
        assert_eq!(store.id_lookup("hris", "E1").unwrap(), None);
        assert_eq!(
            store.id_lookup("hris", "k:E1").unwrap().as_deref(),
            Some("1001")
        );
        assert_eq!(
            store.id_lookup("hris", "k:E2").unwrap().as_deref(),
            Some("2002")
        );
        assert_eq!(store.rekey_id_map("k:", rekey).unwrap(), 0);
    }

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
