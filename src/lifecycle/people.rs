//! Who a delta knows of, in about 50 bytes a person and none of their data: for everyone in
//! the roster, whether they are active, the keyed digest of their stored fields and where
//! their key is kept; for everyone the file names, the row it first named them on. The
//! roster is read once, before the first row; the leavers by absence come from here after the
//! last one, without reading the roster again.
//!
//! People are found by a 128-bit digest of their key (two SipHash-1-3 halves, keyed afresh
//! for every delta, so a file cannot be made of keys that collide), and the table hashes that
//! digest no further.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::num::NonZeroU64;

use crate::store::{RosterReader, StoreError};

/// What the roster knows of a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    pub active: bool,
    /// The digest of their stored fields (rows stored before digests were kept have none).
    pub digest: Option<[u8; 16]>,
    /// Their key's place in [`Keys`].
    at: u32,
}

/// One person in a delta.
#[derive(Clone, Copy, Default)]
struct Person {
    /// In the roster.
    known: Option<Known>,
    /// The row the file first named them on.
    seen: Option<NonZeroU64>,
}

/// The people of one delta.
pub struct People {
    /// Key digest → the person.
    map: HashMap<u128, Person, BuildHasherDefault<Spread>>,
    /// The roster's keys, in key order.
    keys: Keys,
    state: RandomState,
    /// People the file named.
    named: u64,
    /// Active people in the roster, and how many of them the file named.
    known_active: u64,
    present_active: u64,
}

impl People {
    /// The people of `roster`'s snapshot, which holds about `rows` of them (none: a first
    /// snapshot).
    pub fn load(roster: &RosterReader<'_>, rows: Option<u64>) -> Result<People, StoreError> {
        // Sized for the roster and some joiners up front: growing a million-entry table
        // rehashes it each time.
        let capacity = rows.map_or(0, |r| r.saturating_add(r / 8));
        let mut people = People::with_capacity(usize::try_from(capacity).unwrap_or(0));
        if rows.is_some() {
            roster.for_each_person(|key, active, digest| {
                let Some(at) = people.keys.push(key) else {
                    let why = "the roster holds more than 4,294,967,295 people";
                    return Err(StoreError::Io(std::io::Error::other(why)));
                };
                people.known_active += u64::from(active);
                let known = Some(Known { active, digest, at });
                let id = people.id(key);
                people.map.insert(id, Person { known, seen: None });
                Ok(())
            })?;
        }
        Ok(people)
    }

    /// No one yet, with room for `capacity` people.
    fn with_capacity(capacity: usize) -> People {
        People {
            map: HashMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default()),
            keys: Keys::default(),
            state: RandomState::new(),
            named: 0,
            known_active: 0,
            present_active: 0,
        }
    }

    /// Notes that the file names `key` on `row`: what the roster knows of the person, or
    /// `Err` with the row the file named them on before.
    pub fn see(&mut self, key: &str, row: u64) -> Result<Option<Known>, u64> {
        let id = self.id(key);
        let person = self.map.entry(id).or_default();
        if let Some(first) = person.seen {
            return Err(first.get());
        }
        // Rows count from 1; a row 0 would still be seen.
        person.seen = Some(NonZeroU64::new(row).unwrap_or(NonZeroU64::MIN));
        self.named += 1;
        if person.known.is_some_and(|k| k.active) {
            self.present_active += 1;
        }
        Ok(person.known)
    }

    /// How many people the file named.
    pub fn named(&self) -> u64 {
        self.named
    }

    /// The active people of the roster the file has not named, in key order.
    pub fn absent(&self) -> Vec<String> {
        if self.present_active == self.known_active {
            return Vec::new();
        }
        let mut at: Vec<u32> = self
            .map
            .values()
            .filter(|p| p.seen.is_none())
            .filter_map(|p| p.known.filter(|k| k.active).map(|k| k.at))
            .collect();
        at.sort_unstable();
        at.into_iter()
            .map(|i| self.keys.get(i).to_string())
            .collect()
    }

    /// The digest `key` is found by.
    fn id(&self, key: &str) -> u128 {
        let half = |salt: u8| self.state.hash_one((salt, key));
        (u128::from(half(1)) << 64) | u128::from(half(2))
    }
}

/// Many keys in one string: a million of them in a few allocations.
#[derive(Default)]
struct Keys {
    text: String,
    ends: Vec<usize>,
}

impl Keys {
    /// Keeps `key`; its place, or `None` past `u32::MAX` keys.
    fn push(&mut self, key: &str) -> Option<u32> {
        let at = u32::try_from(self.ends.len()).ok()?;
        self.text.push_str(key);
        self.ends.push(self.text.len());
        Some(at)
    }

    fn get(&self, at: u32) -> &str {
        let i = at as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// The hasher of a table keyed by digests that are already uniformly spread: their low 64
/// bits are the hash.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u128` digests are hashed (`write_u128`); anything else still hashes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, digest: u128) {
        // The low half of the digest.
        self.0 = digest as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_back_from_their_places() {
        let mut keys = Keys::default();
        let places: Vec<u32> = ["E1", "", "E10", "Zoë"]
            .iter()
            .map(|k| keys.push(k).unwrap())
            .collect();
        assert_eq!(places, [0, 1, 2, 3]);
        assert_eq!(
            [keys.get(0), keys.get(1), keys.get(2), keys.get(3)],
            ["E1", "", "E10", "Zoë"]
        );
    }

    #[test]
    fn a_key_named_twice_is_refused_with_the_first_row() {
        let mut people = People::with_capacity(0);
        assert_eq!(people.see("E1", 2), Ok(None));
        assert_eq!(people.see("E2", 3), Ok(None));
        assert_eq!(people.see("E1", 9), Err(2));
        assert_eq!(people.named(), 2);
        assert!(people.absent().is_empty());
    }
}
