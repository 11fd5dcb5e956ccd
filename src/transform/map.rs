//! Code tables written in the profile (`map = { FT = "full_time", PT = "part_time" }`).
//!
//! The value after transforms must match a key exactly. An unknown value is not passed
//! through: a code the profile does not know is exactly what an integration must not guess.

use std::collections::{BTreeMap, HashMap};

use crate::kernel::mask::shown;

/// How many keys an "unknown value" reason lists.
const KEYS_SHOWN: usize = 5;

/// A compiled `map`.
#[derive(Debug)]
pub(crate) struct CodeMap {
    entries: HashMap<String, String>,
    /// A few keys, quoted, for the reason of an unknown value.
    known: String,
}

impl CodeMap {
    /// A map from the profile's table; `None` (a problem) when it is empty.
    pub(crate) fn new(table: &BTreeMap<String, String>) -> Option<CodeMap> {
        if table.is_empty() {
            return None;
        }
        let mut known: Vec<String> = table
            .keys()
            .take(KEYS_SHOWN)
            .map(|k| format!("{k:?}"))
            .collect();
        if table.len() > KEYS_SHOWN {
            known.push(format!("… ({} in all)", table.len()));
        }
        Some(CodeMap {
            entries: table.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            known: known.join(", "),
        })
    }

    /// The value `key` maps to.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Why `value` is refused. The known keys are only listed for non-PII fields: they are
    /// possible values of the field.
    pub(crate) fn unknown_reason(&self, value: &str, pii: bool) -> String {
        let mut reason = format!("value {} is not in the field's map", shown(value, pii));
        if !pii {
            reason.push_str(&format!(" (known: {})", self.known));
        }
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: usize) -> BTreeMap<String, String> {
        (0..n).map(|i| (format!("K{i}"), format!("v{i}"))).collect()
    }

    #[test]
    fn maps_exact_keys_only() {
        let m = CodeMap::new(&table(2)).unwrap();
        assert_eq!(m.get("K1"), Some("v1"));
        assert_eq!(m.get("k1"), None);
        assert_eq!(m.get("K1 "), None);
    }

    #[test]
    fn unknown_values_list_some_known_keys_unless_pii() {
        let m = CodeMap::new(&table(7)).unwrap();
        assert_eq!(
            m.unknown_reason("XX", false),
            "value \"XX\" is not in the field's map (known: \"K0\", \"K1\", \"K2\", \"K3\", \"K4\", … (7 in all))"
        );
        let masked = m.unknown_reason("XX", true);
        assert!(!masked.contains("XX") && !masked.contains("K0"), "{masked}");
    }

    #[test]
    fn an_empty_map_is_refused() {
        assert!(CodeMap::new(&BTreeMap::new()).is_none());
    }
}
