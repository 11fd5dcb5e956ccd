//! How a person is kept in a snapshot: the key that tells them apart, and their mapped
//! fields in a stored form that can be compared with the next file's but never shows a PII
//! value — PII fields are kept as keyed hashes of the installation (see
//! `kernel::keys::KeyedHash`), every other field as its JSON value — and a keyed digest of
//! those fields, so that a person whose fields did not change is known by comparing 16 bytes,
//! without building or fetching their stored form.

use std::borrow::Cow;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value as Json;

use crate::kernel::keys::{KeyedDigest, KeyedHash};
use crate::kernel::mapped::{FieldInfo, MappedRecord};
use crate::kernel::record::Position;
use crate::kernel::value::Value;

/// Between the values of a key made of several fields (a character no export uses).
const KEY_SEPARATOR: char = '\u{1f}';

/// What a stored PII value starts with: the rest is its keyed hash.
const HASHED: &str = "hmac:";

/// The key, the stored form and the record rebuilt from it, for one profile's fields.
pub struct StoredForm<'a> {
    fields: &'a [FieldInfo],
    key: Vec<usize>,
    hash: KeyedHash,
    /// The digest with its key set up and the field names fed, cloned for each record.
    digest: KeyedDigest,
    /// Where a record's values are framed before they are fed in one part.
    scratch: Vec<u8>,
}

/// A stored field that differs between two snapshots, as the plan shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldChange {
    pub field: String,
    /// The old and new value; PII shown only as `"[pii]"`.
    pub before: Json,
    pub after: Json,
}

impl<'a> StoredForm<'a> {
    /// The form of `fields`, whose `key` ones tell people apart.
    pub fn new(fields: &'a [FieldInfo], hash: KeyedHash) -> StoredForm<'a> {
        let key = (0..fields.len()).filter(|&i| fields[i].key).collect();
        let mut digest = hash.digest();
        // The names go in once: a field renamed (or added) changes every digest.
        let mut names = Vec::new();
        for f in fields {
            frame(&mut names, b'f', f.name.as_bytes());
        }
        digest.update(&names);
        StoredForm {
            fields,
            key,
            hash,
            digest,
            scratch: Vec::new(),
        }
    }

    /// The names of the key fields, for messages.
    pub fn key_names(&self) -> String {
        let names: Vec<&str> = self
            .key
            .iter()
            .map(|&i| self.fields[i].name.as_str())
            .collect();
        names.join(", ")
    }

    /// The person's key from the values of a record: `None` when a key field is empty. A
    /// key of one field is borrowed from the record.
    pub fn key_of<'v>(&self, values: &'v [Value]) -> Option<Cow<'v, str>> {
        let mut key = Cow::Borrowed("");
        for (n, &i) in self.key.iter().enumerate() {
            let text = values.get(i)?.text();
            if text.trim().is_empty() {
                return None;
            }
            if n == 0 {
                key = text;
            } else {
                let key = key.to_mut();
                key.push(KEY_SEPARATOR);
                key.push_str(&text);
            }
        }
        Some(key)
    }

    /// The key of a record whose only known values are its key fields (in key order), as a
    /// rejected row gives them.
    pub fn key_of_key_values(&self, key_values: &[Value]) -> Option<String> {
        let mut values = vec![Value::Null; self.fields.len()];
        for (&i, v) in self.key.iter().zip(key_values) {
            values[i] = v.clone();
        }
        self.key_of(&values).map(Cow::into_owned)
    }

    /// The key as an operator reads it (the separator of a composite key shown as ` / `).
    pub fn shown_key(key: &str) -> String {
        key.replace(KEY_SEPARATOR, " / ")
    }

    /// The stored form of `values`: a JSON object in field order.
    pub fn stored(&self, values: &[Value]) -> String {
        let form = Form { form: self, values };
        // Serializing strings, numbers and booleans into a String cannot fail.
        serde_json::to_string(&form).unwrap_or_default()
    }

    /// The digest of `values`: equal for two records whose stored forms are equal (barring a
    /// value that changed type but not text, which differs here and compares equal there).
    /// PII values go in as they are: the digest is keyed, so it reveals nothing of them.
    pub fn digest(&mut self, values: &[Value]) -> [u8; 16] {
        let buf = &mut self.scratch;
        buf.clear();
        for v in values.iter().take(self.fields.len()) {
            match v {
                Value::Text(t) | Value::Date(t) | Value::DateTime(t) => {
                    frame(buf, b's', t.as_bytes())
                }
                Value::Integer(i) => frame(buf, b'i', &i.to_le_bytes()),
                Value::Decimal(t) => frame(buf, b'd', t.as_bytes()),
                Value::Bool(b) => frame(buf, b'b', &[u8::from(*b)]),
                Value::Null => frame(buf, b'z', &[]),
            }
        }
        let mut d = self.digest.clone();
        d.update(buf);
        d.finish()
    }

    /// The fields whose stored values differ between `old` (as kept) and `new` (from
    /// [`StoredForm::stored`]).
    pub fn differences(&self, old: &str, new: &str) -> Vec<FieldChange> {
        let parse = |s: &str| serde_json::from_str::<serde_json::Map<String, Json>>(s);
        let (Ok(old), Ok(new)) = (parse(old), parse(new)) else {
            return Vec::new();
        };
        self.fields
            .iter()
            .filter_map(|f| {
                let before = old.get(&f.name).cloned().unwrap_or(Json::Null);
                let after = new.get(&f.name).cloned().unwrap_or(Json::Null);
                (before != after).then(|| {
                    let shown = |v: Json| {
                        if f.pii && !v.is_null() {
                            Json::String("[pii]".into())
                        } else {
                            v
                        }
                    };
                    FieldChange {
                        field: f.name.clone(),
                        before: shown(before),
                        after: shown(after),
                    }
                })
            })
            .collect()
    }

    /// A record of a person known only from the snapshot (a leaver by absence): the stored
    /// values, PII fields empty (their values are not kept).
    pub fn record_of(&self, stored: &str, file: &Arc<str>) -> MappedRecord {
        let map: serde_json::Map<String, Json> = serde_json::from_str(stored).unwrap_or_default();
        let values = self
            .fields
            .iter()
            .map(|f| match map.get(&f.name) {
                _ if f.pii => Value::Null,
                Some(Json::String(s)) => Value::Text(s.clone()),
                Some(Json::Bool(b)) => Value::Bool(*b),
                Some(Json::Number(n)) => match n.as_i64() {
                    Some(i) => Value::Integer(i),
                    None => Value::Decimal(n.to_string()),
                },
                _ => Value::Null,
            })
            .collect();
        MappedRecord {
            pos: Position::new(file.clone(), 0),
            values,
        }
    }
}

/// Appends one part of a digest's input to `buf`: a tag, the length, the bytes — so no two
/// sequences of parts frame the same bytes. (A value over 4 GiB, which no file limit lets
/// through, would have its length saturate.)
fn frame(buf: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    buf.push(tag);
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(bytes);
}

/// One record's stored form, serialized without building a map first.
struct Form<'f, 'v> {
    form: &'f StoredForm<'f>,
    values: &'v [Value],
}

impl Serialize for Form<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.form.fields;
        let mut map = s.serialize_map(Some(fields.len()))?;
        for (f, v) in fields.iter().zip(self.values) {
            match v {
                Value::Null => map.serialize_entry(&f.name, &())?,
                _ if f.pii => {
                    let hashed = match v {
                        Value::Text(text) => self.form.hash.hex(text),
                        _ => self.form.hash.hex(&v.to_string()),
                    };
                    map.serialize_entry(&f.name, &Hashed(&hashed))?;
                }
                _ => map.serialize_entry(&f.name, &AsJson(v))?,
            }
        }
        map.end()
    }
}

/// A keyed hash as stored: `hmac:` and its hex digits.
struct Hashed<'a>(&'a str);

impl Serialize for Hashed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{HASHED}{}", self.0))
    }
}

/// A value serialized as [`Value::to_json`] would make it, without building (and copying
/// into) a JSON value first: a million rows are a million times a dozen fields.
struct AsJson<'a>(&'a Value);

impl Serialize for AsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Text(t) | Value::Date(t) | Value::DateTime(t) => s.serialize_str(t),
            Value::Integer(i) => s.serialize_i64(*i),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Null => s.serialize_unit(),
            // Rare; exactly as `to_json` (a number when it parses as one, else text).
            Value::Decimal(_) => self.0.to_json().serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<FieldInfo> {
        let f = |name: &str, pii, key| FieldInfo {
            name: name.into(),
            pii,
            key,
        };
        vec![
            f("id", false, true),
            f("dept", false, false),
            f("ssn", true, false),
        ]
    }

    fn hash() -> KeyedHash {
        let dir = tempfile::tempdir().unwrap();
        crate::kernel::keys::InstallationKey::load_or_create(dir.path())
            .unwrap()
            .keyed_hash("lifecycle")
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn pii_is_stored_only_as_a_hash_and_compares_by_it() {
        let fields = fields();
        let form = StoredForm::new(&fields, hash());
        let a = form.stored(&[text("E1"), text("Sales"), text("123-45-6789")]);
        assert!(!a.contains("6789"), "{a}");
        assert!(a.contains("hmac:"));
        let b = form.stored(&[text("E1"), text("Ops"), text("123-45-6780")]);
        let changes = form.differences(&a, &b);
        let names: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, ["dept", "ssn"]);
        assert_eq!(changes[0].before, Json::String("Sales".into()));
        assert_eq!(changes[1].after, Json::String("[pii]".into()));
        assert!(form.differences(&a, &a).is_empty());
        let back = form.record_of(&a, &Arc::from("roster.csv"));
        assert_eq!(back.values, [text("E1"), text("Sales"), Value::Null]);
    }

    #[test]
    fn the_digest_changes_with_any_field_and_hides_pii() {
        let fields = fields();
        let key = hash();
        let mut form = StoredForm::new(&fields, key.clone());
        let person = [text("E1"), text("Sales"), text("123-45-6789")];
        let same = form.digest(&person);
        assert_eq!(same, StoredForm::new(&fields, key.clone()).digest(&person));
        for (i, other) in [text("E2"), text("Ops"), text("123-45-6780")]
            .into_iter()
            .enumerate()
        {
            let mut moved = person.clone();
            moved[i] = other;
            assert_ne!(form.digest(&moved), same, "field {i}");
        }
        // Parts are length-prefixed: moving text between two fields changes the digest.
        let shifted = [text("E1"), text("Sale"), text("s123-45-6789")];
        assert_ne!(form.digest(&shifted), same);
        // Keyed: another installation's digest of the same person differs.
        assert_ne!(StoredForm::new(&fields, hash()).digest(&person), same);
        // Named: the same values under a renamed field differ.
        let mut renamed = fields.clone();
        renamed[1].name = "team".into();
        assert_ne!(StoredForm::new(&renamed, key).digest(&person), same);
    }

    #[test]
    fn the_stored_form_is_the_json_of_the_values() {
        // Written directly, it must stay byte for byte what a map of `Value::to_json` (and
        // `hmac:` hashes) serializes to: snapshots stored before compare with it.
        let f = |name: &str, pii| FieldInfo {
            name: name.into(),
            pii,
            key: false,
        };
        let fields = vec![
            f("text", false),
            f("quote", false),
            f("int", false),
            f("dec", false),
            f("bad_dec", false),
            f("yes", false),
            f("date", false),
            f("at", false),
            f("none", false),
            f("ssn", true),
            f("pii_int", true),
            f("pii_none", true),
        ];
        let values = vec![
            text("Zoë \"Z\" \\ \u{1}"),
            text("line\nbreak"),
            Value::Integer(-42),
            Value::Decimal("1234.50".into()),
            Value::Decimal("12,5".into()),
            Value::Bool(true),
            Value::Date("2024-08-02".into()),
            Value::DateTime("2024-08-02T09:00:00Z".into()),
            Value::Null,
            text("900-12-3456"),
            Value::Integer(7),
            Value::Null,
        ];
        let hash = hash();
        let mut map = serde_json::Map::new();
        for (f, v) in fields.iter().zip(&values) {
            let json = if f.pii && *v != Value::Null {
                Json::String(format!("{HASHED}{}", hash.hex(&v.to_string())))
            } else {
                v.to_json()
            };
            map.insert(f.name.clone(), json);
        }
        let form = StoredForm::new(&fields, hash);
        assert_eq!(form.stored(&values), serde_json::to_string(&map).unwrap());
    }

    #[test]
    fn keys_join_their_fields_and_refuse_empty_ones() {
        let mut fields = fields();
        fields[1].key = true;
        let form = StoredForm::new(&fields, hash());
        let person = [text("E1"), text("Sales"), Value::Null];
        let key = form.key_of(&person).unwrap();
        assert_eq!(StoredForm::shown_key(&key), "E1 / Sales");
        assert_eq!(form.key_of(&[text("E1"), text(" "), Value::Null]), None);
        assert_eq!(
            form.key_of_key_values(&[text("E1"), text("Sales")]),
            Some(key.into_owned())
        );
        assert_eq!(form.key_names(), "id, dept");
    }
}
