//! The per-person trace index: for every row a job reads, which person it carried (a keyed
//! hash of the row's key, never the key), its row and sheet, and what the read made of it
//! (written, filtered, rejected; for a lifecycle profile, whether it changed). What happened
//! next — the outputs' deliveries — the trace report finds in the delivery ledger by row.
//!
//! A person's hash is the first 8 bytes of HMAC-SHA256 of their key under a key derived from
//! the installation key ([`TRACE_HASH`]), so whoever reads only the database learns no
//! employee id and cannot test a guessed one; `hrbridge trace` hashes its argument the same
//! way. Eight bytes tell people apart: a stranger's row answering a trace takes about 2⁶⁴
//! stored people.
//!
//! Entries are written in pages, one page per hash bucket (the top bits of the hash) per
//! flush of [`FLUSH_AT`] rows, so a million rows are a few thousand inserts and memory stays
//! flat however long the file; a trace reads the pages of one bucket only.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::kernel::change::ChangeKind;
use crate::kernel::keys::{KeyedDigest, KeyedHash};
use crate::kernel::mapped::{FieldInfo, MappedRecord};
use crate::kernel::record::Position;
use crate::kernel::value::Value;
use crate::store::{Store, StoreError};

/// The purpose the trace's person hashes are keyed for (see `InstallationKey::keyed_hash`).
pub const TRACE_HASH: &str = "trace";
/// The purpose the id map's record keys are keyed for.
pub const ID_MAP_HASH: &str = "id-map";
/// How many buckets the hashes fall in (a power of two).
pub const BUCKETS: u16 = 1024;
/// Rows held before their entries are written.
const FLUSH_AT: usize = 1 << 17;
/// What joins the parts of a composite key (as the lifecycle snapshot joins them).
const KEY_SEPARATOR: &str = "\u{1f}";

/// What the read of a job made of one row of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Mapped and written to the outputs.
    Written,
    /// Skipped by the profile's `[[filter]]` at this index.
    Filtered { rule: u16 },
    /// Rejected: the job's rejections say why.
    Rejected,
    /// A lifecycle roster's person: their change (`None`: unchanged, nothing sent).
    InRoster(Option<ChangeKind>),
    /// A lifecycle person the roster no longer lists: they left (no row of the file).
    Absent,
}

impl Fate {
    fn code(self) -> (u8, u16) {
        match self {
            Fate::Written => (0, 0),
            Fate::Filtered { rule } => (1, rule),
            Fate::Rejected => (2, 0),
            Fate::InRoster(None) => (3, 0),
            Fate::InRoster(Some(kind)) => (3, kind_code(kind)),
            Fate::Absent => (4, 0),
        }
    }

    fn of_code(fate: u8, detail: u16) -> Option<Fate> {
        Some(match fate {
            0 => Fate::Written,
            1 => Fate::Filtered { rule: detail },
            2 => Fate::Rejected,
            3 if detail == 0 => Fate::InRoster(None),
            3 => Fate::InRoster(Some(
                *ChangeKind::ALL.get(usize::from(detail).checked_sub(1)?)?,
            )),
            4 => Fate::Absent,
            _ => return None,
        })
    }
}

fn kind_code(kind: ChangeKind) -> u16 {
    let at = ChangeKind::ALL.iter().position(|&k| k == kind);
    at.map_or(0, |i| u16::try_from(i + 1).unwrap_or(0))
}

/// One row of a job that carried a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub person: u64,
    /// The row of the input (0 for [`Fate::Absent`]).
    pub row: u64,
    pub fate: Fate,
    /// The sheet, as a place in the job's sheet list plus one (0: none).
    pub sheet: u16,
}

impl Entry {
    /// Appends the entry to `page`, whose last entry was on row `prev` (0 for the first):
    /// the hash (8 bytes), then the row as a varint of its distance from `prev` (a page's
    /// rows ascend), a tag (the fate, and whether a detail and a sheet follow) and those.
    fn encode(&self, prev: u64, page: &mut Vec<u8>) {
        let (fate, detail) = self.fate.code();
        page.extend_from_slice(&self.person.to_le_bytes());
        put_varint(page, self.row.saturating_sub(prev));
        let tag = fate | u8::from(detail != 0) << 3 | u8::from(self.sheet != 0) << 4;
        page.push(tag);
        if detail != 0 {
            put_varint(page, u64::from(detail));
        }
        if self.sheet != 0 {
            put_varint(page, u64::from(self.sheet));
        }
    }

    /// The entries of a page, up to the first that is not whole or not known.
    pub fn decode(page: &[u8]) -> impl Iterator<Item = Entry> + '_ {
        let mut at = 0;
        let mut row = 0u64;
        std::iter::from_fn(move || {
            let person = u64::from_le_bytes(page.get(at..at + 8)?.try_into().ok()?);
            at += 8;
            row = row.checked_add(take_varint(page, &mut at)?)?;
            let tag = *page.get(at)?;
            at += 1;
            let mut small = |follows: bool| match follows {
                true => take_varint(page, &mut at).and_then(|v| u16::try_from(v).ok()),
                false => Some(0),
            };
            let detail = small(tag & 1 << 3 != 0)?;
            let sheet = small(tag & 1 << 4 != 0)?;
            Some(Entry {
                person,
                row,
                fate: Fate::of_code(tag & 0b111, detail)?,
                sheet,
            })
        })
    }

    /// The bucket the person's entries are kept in.
    pub fn bucket(person: u64) -> u16 {
        // The top ten bits: below BUCKETS by construction.
        u16::try_from(person >> (64 - BUCKETS.trailing_zeros())).unwrap_or(0)
    }
}

/// Appends `v` as a LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The LEB128 varint at `at`, moving `at` past it; `None` when it is cut short or too long.
fn take_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Hashes people's keys for the trace.
#[derive(Clone)]
pub struct PersonHash(KeyedDigest);

impl PersonHash {
    pub fn new(hash: KeyedHash) -> PersonHash {
        // Keyed once: each person's digest starts from a copy.
        PersonHash(hash.digest())
    }

    /// The hash of the key made of `parts` (in key field order); `None` when a part is
    /// empty (a row that names no one).
    pub fn of<S: AsRef<str>>(&self, parts: impl IntoIterator<Item = S>) -> Option<u64> {
        let mut digest = self.0.clone();
        for (n, part) in parts.into_iter().enumerate() {
            let part = part.as_ref();
            if part.trim().is_empty() {
                return None;
            }
            if n > 0 {
                digest.update(KEY_SEPARATOR.as_bytes());
            }
            digest.update(part.as_bytes());
        }
        let cut = digest.finish();
        Some(u64::from_be_bytes(cut[..8].try_into().unwrap_or_default()))
    }

    /// The hash of a key as an operator types it: the parts of a composite key joined by
    /// ` / ` (as `hrbridge changes` shows them).
    pub fn of_typed(&self, key: &str) -> Option<u64> {
        self.of(key.split(" / "))
    }
}

/// The key of a record in the id map: `k:` and the keyed hash (under [`ID_MAP_HASH`]) of its
/// key `parts` joined — of their SHA-256 when a key field is PII, which is how ids were kept
/// before keys were hashed (see [`id_map_rekey`]).
pub fn id_map_key<S: AsRef<str>>(parts: &[S], pii: bool, hash: &KeyedHash) -> Option<String> {
    if parts.is_empty() || parts.iter().all(|p| p.as_ref().is_empty()) {
        return None;
    }
    let joined = parts
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(KEY_SEPARATOR);
    let legacy = match pii {
        true => {
            use sha2::Digest;
            format!(
                "sha256:{}",
                hex::encode(sha2::Sha256::digest(joined.as_bytes()))
            )
        }
        false => joined,
    };
    Some(id_map_rekey(&legacy, hash))
}

/// The id map key of a record kept under `legacy` (its key as written before keys were
/// hashed); a key already hashed stays as it is.
pub fn id_map_rekey(legacy: &str, hash: &KeyedHash) -> String {
    match legacy.starts_with(HASHED) {
        true => legacy.to_string(),
        false => format!("{HASHED}{}", hash.hex(legacy)),
    }
}

/// How a hashed id map key begins.
pub const HASHED: &str = "k:";

/// Collects the trace entries of one job and writes them a page per bucket.
pub struct TraceWriter<'s> {
    store: &'s Store,
    job_id: i64,
    hash: PersonHash,
    /// Places of the key fields in a mapped record.
    key: Vec<usize>,
    /// Held until the next flush; allocated whole once, so it never moves.
    entries: Vec<Entry>,
    /// The pages of a flush, encoded back to back.
    encoded: Vec<u8>,
    sheets: HashMap<String, u16>,
}

impl<'s> TraceWriter<'s> {
    /// A writer for job `job_id` whose records have `fields`; `None` when no field is a key
    /// (rows name no one, so there is nothing to trace).
    pub fn new(
        store: &'s Store,
        job_id: i64,
        hash: PersonHash,
        fields: &[FieldInfo],
    ) -> Option<TraceWriter<'s>> {
        let key: Vec<usize> = (0..fields.len()).filter(|&i| fields[i].key).collect();
        (!key.is_empty()).then(|| TraceWriter {
            store,
            job_id,
            hash,
            key,
            entries: Vec::with_capacity(FLUSH_AT),
            encoded: Vec::new(),
            sheets: HashMap::new(),
        })
    }

    /// Notes a mapped record's `fate`.
    pub fn mapped(&mut self, rec: &MappedRecord, fate: Fate) -> Result<(), StoreError> {
        let key = self.key.iter().map(|&i| match rec.values.get(i) {
            Some(v) => v.text(),
            None => Cow::Borrowed(""),
        });
        let person = self.hash.of(key);
        self.note(person, &rec.pos, fate)
    }

    /// Notes the `fate` of a row whose record did not map, by the values of its key fields
    /// (`None`: they did not map either, so the row names no one).
    pub fn unmapped(
        &mut self,
        pos: &Position,
        key_values: Option<&[Value]>,
        fate: Fate,
    ) -> Result<(), StoreError> {
        let Some(values) = key_values else {
            return Ok(());
        };
        let person = self.hash.of(values.iter().map(Value::text));
        self.note(person, pos, fate)
    }

    fn note(&mut self, person: Option<u64>, pos: &Position, fate: Fate) -> Result<(), StoreError> {
        let Some(person) = person else {
            return Ok(());
        };
        let sheet = match &pos.sheet {
            None => 0,
            Some(name) => {
                let next = u16::try_from(self.sheets.len() + 1).unwrap_or(u16::MAX);
                *self.sheets.entry(name.to_string()).or_insert(next)
            }
        };
        let row = match fate {
            Fate::Absent => 0,
            _ => pos.row,
        };
        self.entries.push(Entry {
            person,
            row,
            fate,
            sheet,
        });
        if self.entries.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the entries held, a page per bucket.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        self.entries
            .sort_unstable_by_key(|e| (Entry::bucket(e.person), e.row));
        // One buffer for every page of the flush, kept for the next: no allocation per page.
        self.encoded.clear();
        let mut bounds: Vec<(u16, usize)> = Vec::new();
        let mut prev = 0;
        for e in &self.entries {
            let bucket = Entry::bucket(e.person);
            if bounds.last().is_none_or(|&(b, _)| b != bucket) {
                bounds.push((bucket, self.encoded.len()));
                prev = 0;
            }
            e.encode(prev, &mut self.encoded);
            prev = e.row;
        }
        let ends = bounds.iter().skip(1).map(|&(_, at)| at);
        let ends = ends.chain(std::iter::once(self.encoded.len()));
        let pages: Vec<(u16, &[u8])> = bounds
            .iter()
            .zip(ends)
            .map(|(&(bucket, start), end)| (bucket, &self.encoded[start..end]))
            .collect();
        self.store.add_trace_pages(self.job_id, &pages)?;
        self.entries.clear();
        Ok(())
    }

    /// Finishes `writer`, if there is one.
    pub fn finish_any(writer: Option<TraceWriter<'_>>) -> Result<(), StoreError> {
        writer.map_or(Ok(()), TraceWriter::finish)
    }

    /// Writes what is held and names the sheets.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.flush()?;
        if !self.sheets.is_empty() {
            let mut names = vec![String::new(); self.sheets.len()];
            for (name, n) in self.sheets.drain() {
                if let Some(slot) = names.get_mut(usize::from(n) - 1) {
                    *slot = name;
                }
            }
            self.store.set_trace_sheets(self.job_id, &names)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::keys::InstallationKey;
    use std::sync::Arc;

    fn hash() -> KeyedHash {
        InstallationKey::ephemeral().keyed_hash(TRACE_HASH)
    }

    #[test]
    fn entries_round_trip_through_a_page() {
        let fates = [
            Fate::Written,
            Fate::Filtered { rule: 3 },
            Fate::Rejected,
            Fate::InRoster(None),
            Fate::InRoster(Some(ChangeKind::Prehire)),
            Fate::Absent,
        ];
        let entries: Vec<Entry> = fates
            .iter()
            .enumerate()
            .map(|(i, &fate)| Entry {
                person: u64::MAX - i as u64,
                row: (1 << 40) + (i as u64) * 1000,
                fate,
                sheet: i as u16,
            })
            .collect();
        let mut page = Vec::new();
        let mut prev = 0;
        for e in &entries {
            e.encode(prev, &mut page);
            prev = e.row;
        }
        let whole = page.len();
        page.extend_from_slice(&[9; 9]); // a torn tail is not an entry
        assert_eq!(Entry::decode(&page).collect::<Vec<_>>(), entries);
        assert_eq!(Entry::decode(&page[..whole - 1]).count(), entries.len() - 1);
        // A written row is a hash, one or two bytes of row and a tag.
        let mut one = Vec::new();
        entries[0].encode(entries[0].row - 300, &mut one);
        assert_eq!(one.len(), 8 + 2 + 1);
    }

    #[test]
    fn a_person_hash_depends_on_every_part_and_on_the_key() {
        let people = PersonHash::new(hash());
        let one = people.of(["E1"]).unwrap();
        assert_eq!(people.of_typed("E1"), Some(one));
        assert_ne!(people.of(["E2"]), Some(one));
        assert_eq!(people.of(["E1", "DE"]), people.of_typed("E1 / DE"));
        assert_ne!(people.of(["E1", "DE"]), people.of(["E1D", "E"]));
        assert_eq!(people.of(["E1", " "]), None);
        assert_ne!(PersonHash::new(hash()).of(["E1"]), Some(one));
        assert!(Entry::bucket(u64::MAX) < BUCKETS && Entry::bucket(0) == 0);
    }

    #[test]
    fn id_map_keys_are_keyed_hashes_and_legacy_keys_rekey_to_them() {
        let key = hash();
        let plain = id_map_key(&["E1"], false, &key).unwrap();
        assert!(
            plain.starts_with(HASHED) && !plain.contains("E1"),
            "{plain}"
        );
        assert_eq!(id_map_rekey("E1", &key), plain);
        assert_eq!(id_map_rekey(&plain, &key), plain);
        let secret = id_map_key(&["123-45-6789"], true, &key).unwrap();
        assert_ne!(secret, id_map_key(&["123-45-6789"], false, &key).unwrap());
        assert_eq!(id_map_key::<&str>(&[], false, &key), None);
        assert_eq!(id_map_key(&["", ""], false, &key), None);
    }

    #[test]
    fn a_job_writes_a_page_per_bucket_and_its_sheets() {
        let (_dir, store) = crate::store::temp_store();
        let file = store.upsert_file("p", "a.xlsx", "aa", 1, "dir:in").unwrap();
        let job = store.start_job("p", file.id, "a.xlsx").unwrap();
        let fields = [
            FieldInfo {
                name: "id".into(),
                pii: false,
                key: true,
            },
            FieldInfo {
                name: "name".into(),
                pii: true,
                key: false,
            },
        ];
        let people = PersonHash::new(hash());
        let mut writer = TraceWriter::new(&store, job, people.clone(), &fields).unwrap();
        let sheet: Arc<str> = Arc::from("Leavers");
        for row in 2..3000u64 {
            let pos = Position {
                file: Arc::from("a.xlsx"),
                sheet: (row % 2 == 0).then(|| sheet.clone()),
                row,
            };
            let rec = MappedRecord {
                pos,
                values: vec![Value::Text(format!("E{row}")), Value::Text("Jane".into())],
            };
            writer.mapped(&rec, Fate::Written).unwrap();
        }
        let rejected = Position::new(Arc::from("a.xlsx"), 3000);
        writer
            .unmapped(&rejected, Some(&[Value::Text("E7".into())]), Fate::Rejected)
            .unwrap();
        writer.unmapped(&rejected, None, Fate::Rejected).unwrap();
        writer.finish().unwrap();

        let e7 = people.of(["E7"]).unwrap();
        let found: Vec<Entry> = store
            .trace_bucket(Entry::bucket(e7), None)
            .unwrap()
            .iter()
            .flat_map(|p| Entry::decode(&p.entries).collect::<Vec<_>>())
            .filter(|e| e.person == e7)
            .collect();
        assert_eq!(
            found.iter().map(|e| (e.row, e.fate)).collect::<Vec<_>>(),
            [(7, Fate::Written), (3000, Fate::Rejected)]
        );
        assert_eq!(store.trace_sheets(job).unwrap(), ["Leavers"]);
        let all: usize = store
            .job_trace_pages(job, BUCKETS)
            .unwrap()
            .iter()
            .map(|p| Entry::decode(&p.entries).count())
            .sum();
        assert_eq!(all, 2999);
        assert!(TraceWriter::new(&store, job, people, &fields[1..]).is_none());
    }
}
