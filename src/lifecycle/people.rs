//! Who a delta knows of, in about 70 bytes a person and none of their data: for everyone in
//! the roster, their key, whether they are active and the keyed digest of their stored
//! fields; for everyone the file names, the row it first named them on. The roster is read
//! once, in key order, before the first row; the leavers by absence come from here after the
//! last one, without reading the roster again.
//!
//! Most exports list people in key order, as the roster is kept, so the person a row names is
//! looked for first just after the one the previous row named: one comparison, and memory
//! read in order. Otherwise they are found by binary search on the keys — until the file
//! shows it is not in key order, when an index by key digest is built once and used from
//! then on. People the roster does not know are found by key digest too. Key digests are
//! 128 bits (two SipHash-1-3 halves keyed afresh for every delta, so a file cannot be made of
//! keys that collide), and the tables hash them no further.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::num::NonZeroU64;

use hashbrown::HashTable;

use crate::store::{RosterReader, StoreError};

/// Searches for people out of key order before the file counts as unordered and the index is
/// built: this many, or one in this many of the roster, whichever is more.
const SEARCHES: u64 = 4096;
const SEARCHES_PER_ROSTER: u64 = 64;

/// What the roster knows of a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    pub active: bool,
    /// The digest of their stored fields (rows stored before digests were kept have none).
    pub digest: Option<[u8; 16]>,
}

/// One person of the roster in a delta.
struct Person {
    known: Known,
    /// The row the file first named them on.
    seen: Option<NonZeroU64>,
    /// Their key's digest, once the roster is indexed.
    id: u128,
}

/// A table keyed by key digest.
type ByDigest<V> = HashMap<u128, V, BuildHasherDefault<Spread>>;

/// Where a roster in key order has a key.
enum Place {
    At(usize),
    Missing,
    /// The file proved not to be in key order: the roster is indexed now.
    Indexed,
}

/// The people of one delta.
pub struct People {
    /// The roster's people, and their keys, in the order they came (key order).
    roster: Vec<Person>,
    keys: Keys,
    /// Whether the keys came in ascending order, so that a binary search finds them.
    sorted: bool,
    /// Where a file in key order names its next person: after the last one found.
    next: usize,
    /// The places, found by key digest (the low half is the hash), once the file proved not
    /// to be in key order (or the roster's keys did not come sorted): 4 bytes a person.
    index: Option<HashTable<u32>>,
    /// People looked for elsewhere than at the next place.
    searches: u64,
    /// People the file named whom the roster does not know: key digest → their first row.
    newcomers: ByDigest<NonZeroU64>,
    state: RandomState,
    /// People the file named.
    named: u64,
    /// Active people in the roster, and how many of them the file named.
    known_active: u64,
    present_active: u64,
}

impl People {
    /// The people of `roster`'s snapshot, which holds about `rows` of them (none: a first
    /// snapshot, whose file is all newcomers).
    pub fn load(roster: &RosterReader<'_>, rows: Option<u64>) -> Result<People, StoreError> {
        let mut people = People::empty(rows);
        if rows.is_some() {
            roster
                .for_each_person(|key, active, digest| people.add(key, Known { active, digest }))?;
        }
        Ok(people.ready())
    }

    /// No one yet; room for a roster of `rows`.
    fn empty(rows: Option<u64>) -> People {
        let size = |n: u64| usize::try_from(n).unwrap_or(0);
        People {
            roster: Vec::with_capacity(size(rows.unwrap_or(0))),
            keys: Keys::default(),
            sorted: true,
            next: 0,
            index: None,
            searches: 0,
            // A first snapshot's file is all newcomers: room up front, as growing a large
            // table rehashes it each time.
            newcomers: HashMap::with_capacity_and_hasher(
                if rows.is_none() { 1 << 16 } else { 0 },
                BuildHasherDefault::default(),
            ),
            state: RandomState::new(),
            named: 0,
            known_active: 0,
            present_active: 0,
        }
    }

    /// Adds the roster's next person.
    fn add(&mut self, key: &str, known: Known) -> Result<(), StoreError> {
        if u32::try_from(self.keys.len()).is_err() {
            let why = "the roster holds more than 4,294,967,295 people";
            return Err(StoreError::Io(std::io::Error::other(why)));
        }
        self.sorted &= self.keys.last().is_none_or(|last| last < key);
        self.keys.push(key);
        self.known_active += u64::from(known.active);
        self.roster.push(Person {
            known,
            seen: None,
            id: 0,
        });
        Ok(())
    }

    /// The roster added: indexed at once when its keys did not come in order.
    fn ready(mut self) -> People {
        if !self.sorted {
            self.index();
        }
        self
    }

    /// Notes that the file names `key` on `row`: what the roster knows of the person, or
    /// `Err` with the row the file named them on before.
    pub fn see(&mut self, key: &str, row: u64) -> Result<Option<Known>, u64> {
        // Rows count from 1; a row 0 would still be seen.
        let row = NonZeroU64::new(row).unwrap_or(NonZeroU64::MIN);
        let Some(at) = self.find(key) else {
            let id = self.id(key);
            return match self.newcomers.entry(id) {
                Entry::Occupied(first) => Err(first.get().get()),
                Entry::Vacant(place) => {
                    place.insert(row);
                    self.named += 1;
                    Ok(None)
                }
            };
        };
        let person = &mut self.roster[at];
        if let Some(first) = person.seen {
            return Err(first.get());
        }
        person.seen = Some(row);
        let known = person.known;
        self.named += 1;
        self.present_active += u64::from(known.active);
        Ok(Some(known))
    }

    /// How many people the file named.
    pub fn named(&self) -> u64 {
        self.named
    }

    /// The active people of the roster the file has not named, in the roster's (key) order.
    pub fn absent(&self) -> Vec<String> {
        if self.present_active == self.known_active {
            return Vec::new();
        }
        let absent = |(_, p): &(usize, &Person)| p.seen.is_none() && p.known.active;
        let roster = self.roster.iter().enumerate();
        roster
            .filter(absent)
            .map(|(at, _)| self.keys.get(at).to_string())
            .collect()
    }

    /// The place of `key` in the roster.
    fn find(&mut self, key: &str) -> Option<usize> {
        if self.keys.len() == 0 {
            return None;
        }
        if self.index.is_none() {
            match self.place(key) {
                Place::At(at) => return Some(at),
                Place::Missing => return None,
                Place::Indexed => {}
            }
        }
        let id = self.id(key);
        let roster = &self.roster;
        // Two keys of one 128-bit digest are as good as impossible.
        let at = self
            .index
            .as_ref()?
            .find(id as u64, |&at| roster[at as usize].id == id);
        at.map(|&at| at as usize)
    }

    /// Where `key` is in a roster still in key order: just after the last one found, as a
    /// file in key order has it, or by binary search — until the searches show the file is
    /// not in key order, and the roster is indexed instead.
    fn place(&mut self, key: &str) -> Place {
        if self.next < self.keys.len() && self.keys.get(self.next) == key {
            self.next += 1;
            return Place::At(self.next - 1);
        }
        self.searches += 1;
        if self.searches > SEARCHES.max(self.keys.len() as u64 / SEARCHES_PER_ROSTER) {
            self.index();
            return Place::Indexed;
        }
        match self.keys.search(key) {
            Some(at) => {
                self.next = at + 1;
                Place::At(at)
            }
            None => Place::Missing,
        }
    }

    /// Indexes the roster by key digest.
    fn index(&mut self) {
        for at in 0..self.roster.len() {
            self.roster[at].id = self.id(self.keys.get(at));
        }
        let roster = &self.roster;
        let hash = |&at: &u32| roster[at as usize].id as u64;
        let mut index = HashTable::with_capacity(roster.len());
        for at in 0..roster.len() {
            // `add` refused more people than places fit in 32 bits.
            let at = at as u32;
            index.insert_unique(hash(&at), at, hash);
        }
        self.index = Some(index);
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
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn push(&mut self, key: &str) {
        self.text.push_str(key);
        self.ends.push(self.text.len());
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn last(&self) -> Option<&str> {
        self.ends.len().checked_sub(1).map(|i| self.get(i))
    }

    /// The place of `key` among keys kept in ascending order.
    fn search(&self, key: &str) -> Option<usize> {
        let (mut low, mut high) = (0, self.ends.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.get(mid).cmp(key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
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

    /// A roster of `keys` (active but for `inactive`), added in the order given.
    fn roster(keys: &[String], inactive: &str) -> People {
        let mut people = People::empty(Some(keys.len() as u64));
        for k in keys {
            let known = Known {
                active: k != inactive,
                digest: Some([7; 16]),
            };
            people.add(k, known).unwrap();
        }
        people.ready()
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("E{i:06}")).collect()
    }

    #[test]
    fn a_file_in_key_order_finds_everyone_and_leaves_the_absent() {
        let keys = keys(10);
        let mut people = roster(&keys, "E000003");
        for (row, k) in keys.iter().enumerate().filter(|(i, _)| *i != 2 && *i != 5) {
            let known = people.see(k, row as u64 + 2).unwrap().unwrap();
            assert_eq!(known.active, k != "E000003", "{k}");
        }
        assert_eq!(people.see("E000007", 30), Err(9), "named twice");
        assert_eq!(people.see("N1", 31), Ok(None), "a newcomer");
        assert_eq!(people.see("N1", 32), Err(31), "a newcomer named twice");
        assert_eq!(people.named(), 9);
        assert_eq!(people.absent(), ["E000002", "E000005"]);
        assert!(people.index.is_none(), "no index for a file in order");
    }

    #[test]
    fn a_file_out_of_order_is_indexed_and_still_finds_everyone() {
        let keys = keys(20_000);
        let mut people = roster(&keys, "");
        // Every 7th person, round and round: never in key order.
        let order: Vec<usize> = (0..keys.len()).map(|i| i * 7 % keys.len()).collect();
        for (row, &i) in order.iter().enumerate().skip(1) {
            assert_eq!(
                people.see(&keys[i], row as u64 + 2),
                Ok(Some(Known {
                    active: true,
                    digest: Some([7; 16]),
                })),
                "{}",
                keys[i]
            );
        }
        assert!(people.index.is_some(), "indexed once out of order");
        assert_eq!(people.see(&keys[7], 1), Err(3));
        assert_eq!(people.see("E999999", 1), Ok(None));
        assert_eq!(people.absent(), [keys[0].clone()]);
    }

    #[test]
    fn a_roster_whose_keys_came_unsorted_is_indexed_at_once() {
        let mut keys = keys(5);
        keys.reverse();
        let mut people = roster(&keys, "");
        assert!(people.index.is_some());
        for k in ["E000001", "E000004", "E000000"] {
            assert!(people.see(k, 2).unwrap().is_some(), "{k}");
        }
        assert_eq!(
            people.absent(),
            ["E000003", "E000002"],
            "in the roster's order"
        );
    }

    #[test]
    fn keys_come_back_from_their_places_and_are_searched() {
        let mut keys = Keys::default();
        for k in ["", "E1", "E10", "Zoë"] {
            keys.push(k);
        }
        assert_eq!(
            [keys.get(0), keys.get(1), keys.get(2), keys.get(3)],
            ["", "E1", "E10", "Zoë"]
        );
        assert_eq!(keys.last(), Some("Zoë"));
        assert_eq!(keys.search("E10"), Some(2));
        assert_eq!(keys.search("E2"), None);
        assert_eq!(Keys::default().search("E1"), None);
    }
}
