//! The header row rules every reader applies: names are trimmed, non-empty and unique.
//!
//! A mapping reads columns by name, so a header with a blank or repeated name would make a
//! field read the wrong column (or none) without anyone noticing; the file fails instead.

use std::collections::HashMap;

use super::ReadError;
use crate::kernel::record::Position;

/// The column names of a header line (see [`column_names`]).
pub fn names_of(line: &super::footer::Line) -> Result<Vec<String>, ReadError> {
    column_names(line.fields.iter().map(String::as_str), &line.pos)
}

/// Checks the raw header cells found at `pos` and returns the trimmed column names.
pub fn column_names<'a>(
    cells: impl IntoIterator<Item = &'a str>,
    pos: &Position,
) -> Result<Vec<String>, ReadError> {
    let names: Vec<String> = cells.into_iter().map(|c| c.trim().to_string()).collect();
    if names.is_empty() {
        return Err(ReadError::file(pos.clone(), "header row is empty"));
    }
    let empty: Vec<String> = (1..)
        .zip(&names)
        .filter(|(_, n)| n.is_empty())
        .map(|(i, _)| i.to_string())
        .collect();
    if !empty.is_empty() {
        let plural = if empty.len() > 1 { "s" } else { "" };
        return Err(ReadError::file(
            pos.clone(),
            format!("header has no name for column{plural} {}", empty.join(", ")),
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in (1..).zip(&names) {
        if let Some(first) = seen.insert(name, i) {
            return Err(ReadError::file(
                pos.clone(),
                format!("header names column {first} and column {i} both {name:?}"),
            ));
        }
    }
    Ok(names)
}

/// The name of column `index` (0-based) for error messages: the header name, or its number
/// when the row is wider than the header.
pub fn column_label(header: &[String], index: usize) -> String {
    header
        .get(index)
        .cloned()
        .unwrap_or_else(|| format!("column {}", index + 1))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn check(cells: &[&str]) -> Result<Vec<String>, String> {
        let pos = Position::new(Arc::from("f.csv"), 1);
        column_names(cells.iter().copied(), &pos).map_err(|e| e.reason)
    }

    #[test]
    fn trims_names() {
        assert_eq!(check(&[" id ", "Name"]).unwrap(), vec!["id", "Name"]);
    }

    #[test]
    fn empty_names_are_listed_by_column_number() {
        assert_eq!(
            check(&["id", " ", "x", ""]).unwrap_err(),
            "header has no name for columns 2, 4"
        );
        assert_eq!(check(&[]).unwrap_err(), "header row is empty");
    }

    #[test]
    fn duplicates_name_both_columns() {
        assert_eq!(
            check(&["id", "Name", "x", "Name "]).unwrap_err(),
            "header names column 2 and column 4 both \"Name\""
        );
    }

    #[test]
    fn labels_fall_back_to_numbers() {
        let header = vec!["id".to_string()];
        assert_eq!(column_label(&header, 0), "id");
        assert_eq!(column_label(&header, 2), "column 3");
    }
}
