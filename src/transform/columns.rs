//! The input columns a mapping plan reads, each named once and referred to by a small id.
//!
//! Rules (fields, templates, filters) name columns while the profile is compiled, before any
//! header is known. They keep a [`ColumnId`]; binding to a file's header later turns every id
//! into a position in the row with one table, so a row is read without any name lookups.

use std::collections::HashMap;

use crate::profile::KeyPath;

/// A column the plan reads, as an index into its [`ColumnTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ColumnId(pub(crate) usize);

/// Distinct column names, plus every place in the profile that references one.
#[derive(Debug, Default)]
pub(crate) struct ColumnTable {
    names: Vec<String>,
    ids: HashMap<String, ColumnId>,
    refs: Vec<(ColumnId, KeyPath)>,
}

impl ColumnTable {
    /// The id of `name` (compared after trimming), recording that `at` references it.
    pub(crate) fn intern(&mut self, name: &str, at: KeyPath) -> ColumnId {
        let name = name.trim();
        let id = match self.ids.get(name) {
            Some(id) => *id,
            None => {
                let id = ColumnId(self.names.len());
                self.names.push(name.to_string());
                self.ids.insert(name.to_string(), id);
                id
            }
        };
        self.refs.push((id, at));
        id
    }

    /// Column names in id order.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Every reference, in the order the profile makes them.
    pub(crate) fn references(&self) -> impl Iterator<Item = (&str, &KeyPath)> {
        self.refs.iter().map(|(id, at)| {
            let name = self.names.get(id.0).map(String::as_str).unwrap_or("");
            (name, at)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shared_and_every_reference_is_kept() {
        let mut t = ColumnTable::default();
        let a = t.intern("Hire Date", KeyPath::field(0).key("from"));
        let b = t.intern(" Hire Date ", KeyPath::filter(1).key("column"));
        let c = t.intern("SSN", KeyPath::field(2).key("from"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(t.names(), ["Hire Date", "SSN"]);
        let refs: Vec<String> = t.references().map(|(n, at)| format!("{n}@{at}")).collect();
        assert_eq!(
            refs,
            [
                "Hire Date@field[0].from",
                "Hire Date@filter[1].column",
                "SSN@field[2].from"
            ]
        );
    }
}
