//! Row filters (`[[filter]]`): conditions on an input column that a row must meet to be mapped.
//!
//! A filter looks at the raw column value with surrounding whitespace trimmed, before any
//! field is built. `matches` uses search semantics: the regex may match anywhere in the value
//! (anchor it with `^…$` to require a full match). Comparisons are case-sensitive.

use regex::Regex;

use super::columns::{ColumnId, ColumnTable};
use super::validate::compile_regex;
use crate::profile::{FilterSpec, KeyPath, Problem};

/// A compiled filter.
#[derive(Debug)]
pub(crate) struct Filter {
    column: ColumnId,
    test: Test,
}

#[derive(Debug)]
enum Test {
    Equals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Matches(Regex),
    IsEmpty(bool),
}

impl Filter {
    /// Compiles `[[filter]]` number `i`, registering its column in `columns`.
    pub(crate) fn compile(
        spec: &FilterSpec,
        i: usize,
        columns: &mut ColumnTable,
    ) -> Result<Filter, Problem> {
        let at = KeyPath::filter(i);
        if spec.column.trim().is_empty() {
            return Err(Problem::new(at.key("column"), "the column name is empty"));
        }
        let given: Vec<&str> = [
            ("equals", spec.equals.is_some()),
            ("in", spec.in_.is_some()),
            ("not_in", spec.not_in.is_some()),
            ("matches", spec.matches.is_some()),
            ("is_empty", spec.is_empty.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, present)| present.then_some(k))
        .collect();
        if given.len() != 1 {
            let what = if given.is_empty() {
                "none is given".to_string()
            } else {
                format!("{} are given", given.join(" and "))
            };
            return Err(Problem::new(
                at,
                format!(
                    "a filter needs exactly one of equals, in, not_in, matches, is_empty; {what}"
                ),
            ));
        }
        let list = |values: &Vec<String>, key: &str| {
            if values.is_empty() {
                Err(Problem::new(
                    at.clone().key(key),
                    format!("`{key}` needs at least one value"),
                ))
            } else {
                Ok(values.clone())
            }
        };
        let test = match (
            &spec.equals,
            &spec.in_,
            &spec.not_in,
            &spec.matches,
            spec.is_empty,
        ) {
            (Some(v), ..) => Test::Equals(v.clone()),
            (_, Some(vs), ..) => Test::In(list(vs, "in")?),
            (_, _, Some(vs), ..) => Test::NotIn(list(vs, "not_in")?),
            (_, _, _, Some(re), _) => Test::Matches(
                compile_regex(re)
                    .map_err(|e| Problem::new(at.clone().key("matches"), e.to_string()))?,
            ),
            (_, _, _, _, Some(empty)) => Test::IsEmpty(empty),
            (None, None, None, None, None) => {
                return Err(Problem::new(at, "a filter needs a condition"))
            }
        };
        let column = columns.intern(&spec.column, at.key("column"));
        Ok(Filter { column, test })
    }

    /// The column the filter reads.
    pub(crate) fn column(&self) -> ColumnId {
        self.column
    }

    /// Whether a row whose column holds `raw` passes.
    pub(crate) fn passes(&self, raw: &str) -> bool {
        let v = raw.trim();
        match &self.test {
            Test::Equals(want) => v == want,
            Test::In(values) => values.iter().any(|w| w == v),
            Test::NotIn(values) => !values.iter().any(|w| w == v),
            Test::Matches(re) => re.is_match(v),
            Test::IsEmpty(empty) => v.is_empty() == *empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(toml_text: &str) -> Result<Filter, Problem> {
        let spec: FilterSpec =
            toml::from_str(&format!("column = \"Status\"\n{toml_text}")).unwrap();
        Filter::compile(&spec, 2, &mut ColumnTable::default())
    }

    #[test]
    fn each_condition_tests_the_trimmed_value() {
        let eq = filter("equals = \"Accepted\"").unwrap();
        assert!(eq.passes(" Accepted "));
        assert!(!eq.passes("accepted"));
        let any = filter("in = [\"A\", \"B\"]").unwrap();
        assert!(any.passes("B") && !any.passes("C"));
        let none = filter("not_in = [\"X\"]").unwrap();
        assert!(none.passes("Y") && !none.passes("X "));
        let re = filter("matches = 'ccept'").unwrap();
        assert!(re.passes("Accepted"), "search semantics");
        assert!(!re.passes("Declined"));
        let empty = filter("is_empty = true").unwrap();
        assert!(empty.passes("  ") && !empty.passes("x"));
        let full = filter("is_empty = false").unwrap();
        assert!(full.passes("x") && !full.passes(""));
    }

    #[test]
    fn conditions_are_checked_at_their_keys() {
        let p = filter("").unwrap_err();
        assert_eq!(p.at.to_string(), "filter[2]");
        assert!(p.message.contains("none is given"), "{}", p.message);
        let p = filter("equals = \"a\"\nmatches = \"b\"").unwrap_err();
        assert!(
            p.message.contains("equals and matches are given"),
            "{}",
            p.message
        );
        let p = filter("matches = '(x'").unwrap_err();
        assert_eq!(p.at.to_string(), "filter[2].matches");
        assert_eq!(p.message, "invalid regular expression: unclosed group");
        assert_eq!(
            filter("in = []").unwrap_err().at.to_string(),
            "filter[2].in"
        );
        let spec: FilterSpec = toml::from_str("column = \" \"\nequals = \"x\"").unwrap();
        let p = Filter::compile(&spec, 0, &mut ColumnTable::default()).unwrap_err();
        assert_eq!(p.at.to_string(), "filter[0].column");
    }
}
