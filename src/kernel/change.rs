//! The lifecycle vocabulary: what a person's change between two snapshots is, and the two
//! fields a change record carries so that outputs can route on it.
//!
//! `lifecycle` computes changes, outputs (SCIM, file columns) act on them: the names live on
//! the ground floor so neither has to import the other.

use crate::kernel::mapped::FieldInfo;

/// The field that names a change record's kind (`joiner`, `mover`, `leaver`, `rehire`,
/// `prehire`).
pub const CHANGE_FIELD: &str = "change";

/// The field that lists a mover's changed fields, comma-separated in field order.
pub const CHANGED_FIELDS: &str = "changed_fields";

/// What happened to one person between the previous accepted snapshot and this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A key the previous snapshot did not have.
    Joiner,
    /// A key present in both, with some mapped field changed.
    Mover,
    /// A key gone from the snapshot, or whose status is now a terminated one.
    Leaver,
    /// A key that had left and is active again.
    Rehire,
    /// A joiner whose start date is still ahead, sent now to be created inactive
    /// (`prehire = "inactive"`); the joiner follows on the date.
    Prehire,
}

impl ChangeKind {
    /// Every kind, in the order plans count them.
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::Joiner,
        ChangeKind::Mover,
        ChangeKind::Leaver,
        ChangeKind::Rehire,
        ChangeKind::Prehire,
    ];

    /// The name written in the `change` field, the store and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Joiner => "joiner",
            ChangeKind::Mover => "mover",
            ChangeKind::Leaver => "leaver",
            ChangeKind::Rehire => "rehire",
            ChangeKind::Prehire => "prehire",
        }
    }

    /// The kind named `s` (as [`ChangeKind::as_str`] spells it), if any.
    pub fn parse(s: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of a change record: the profile's mapped fields, then `change` and
/// `changed_fields`.
pub fn change_fields(mapped: &[FieldInfo]) -> Vec<FieldInfo> {
    let extra = [CHANGE_FIELD, CHANGED_FIELDS].map(|name| FieldInfo {
        name: name.to_string(),
        pii: false,
        key: false,
    });
    mapped.iter().cloned().chain(extra).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_back_from_their_names() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::parse("hire"), None);
    }
}
