//! Lookup tables (`lookup = { file = "tables/departments.csv", key = "code", value = "name" }`).
//!
//! The table is a UTF-8 CSV file with a header row, read once when the plan is compiled; a row
//! then costs one hash lookup. Cells are trimmed. A key listed twice with different values is a
//! problem in the table, not something to resolve by taking the first or the last.

use crate::kernel::mask::shown;
use crate::profile::{KeyPath, LookupSpec, Problem};
use crate::settings::Settings;
use std::collections::HashMap;

/// A loaded lookup table.
#[derive(Debug)]
pub(crate) struct LookupTable {
    entries: HashMap<String, String>,
    /// The file name as the profile wrote it, for messages.
    file: String,
}

impl LookupTable {
    /// Loads the table of the `lookup` at `at`. Cells are only named in problems through
    /// [`shown`] with the field's `pii` flag.
    pub(crate) fn load(
        spec: &LookupSpec,
        settings: &Settings,
        pii: bool,
        at: &KeyPath,
    ) -> Result<LookupTable, Vec<Problem>> {
        let path = settings.resolve_path(&spec.file);
        let file_at = at.clone().key("file");
        let file = spec.file.display().to_string();
        let problem = |msg: String| vec![Problem::new(file_at.clone(), msg)];
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(&path)
            .map_err(|e| {
                problem(format!(
                    "cannot read lookup table {}: {}",
                    path.display(),
                    csv_reason(&e)
                ))
            })?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| {
                problem(format!(
                    "cannot read the header of lookup table {file}: {}",
                    csv_reason(&e)
                ))
            })?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_string())
            .collect();
        let column = |name: &str, key: &str| {
            header.iter().position(|h| h == name.trim()).ok_or_else(|| {
                Problem::new(
                    at.clone().key(key),
                    format!(
                        "column {name:?} is not in the header of lookup table {file} (columns: {})",
                        header.join(", ")
                    ),
                )
            })
        };
        let (key_col, value_col) = match (column(&spec.key, "key"), column(&spec.value, "value")) {
            (Ok(k), Ok(v)) => (k, v),
            (k, v) => return Err(k.err().into_iter().chain(v.err()).collect()),
        };
        let mut entries: HashMap<String, String> = HashMap::new();
        let mut problems = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                problem(format!(
                    "cannot read lookup table {file}: {}",
                    csv_reason(&e)
                ))
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let (Some(key), Some(value)) = (record.get(key_col), record.get(value_col)) else {
                problems.push(Problem::new(
                    file_at.clone(),
                    format!("lookup table {file} line {line} has too few cells"),
                ));
                continue;
            };
            match entries.get(key) {
                Some(existing) if existing != value => problems.push(Problem::new(
                    file_at.clone(),
                    format!("lookup table {file} line {line}: key {} is listed again with a different value", shown(key, pii)),
                )),
                Some(_) => {}
                None => {
                    entries.insert(key.to_string(), value.to_string());
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(LookupTable { entries, file })
    }

    /// The value `key` translates to.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Why `value` is refused.
    pub(crate) fn unknown_reason(&self, value: &str, pii: bool) -> String {
        format!(
            "value {} is not a key of lookup table {}",
            shown(value, pii),
            self.file
        )
    }
}

/// A csv error without any cell content: the message of I/O errors, or the position of
/// UTF-8 and shape errors.
fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "invalid UTF-8 at line {}",
            pos.as_ref().map_or(0, |p| p.line())
        ),
        csv::ErrorKind::UnequalLengths { pos, .. } => {
            format!(
                "uneven number of cells at line {}",
                pos.as_ref().map_or(0, |p| p.line())
            )
        }
        _ => "malformed CSV".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingsFile;
    use std::path::Path;

    fn write_table(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn load(dir: &Path, key: &str, value: &str) -> Result<LookupTable, Vec<Problem>> {
        let settings = Settings::resolve(None, dir.to_path_buf(), SettingsFile::default());
        let spec = LookupSpec {
            file: "tables/dept.csv".into(),
            key: key.into(),
            value: value.into(),
        };
        LookupTable::load(&spec, &settings, false, &KeyPath::field(1).key("lookup"))
    }

    #[test]
    fn loads_a_table_relative_to_the_settings_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tables")).unwrap();
        write_table(
            &dir.path().join("tables"),
            "dept.csv",
            "\u{feff}code,name\n 10 , Sales \n20,Support\n10,Sales\n",
        );
        let t = load(dir.path(), "code", "name").unwrap();
        assert_eq!(t.get("10"), Some("Sales"));
        assert_eq!(t.get("20"), Some("Support"));
        assert_eq!(t.get("30"), None);
        assert_eq!(
            t.unknown_reason("30", false),
            "value \"30\" is not a key of lookup table tables/dept.csv"
        );
        assert!(!t.unknown_reason("30", true).contains("30\""));
    }

    #[test]
    fn table_problems_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let missing = load(dir.path(), "code", "name").unwrap_err();
        assert_eq!(missing[0].at.to_string(), "field[1].lookup.file");
        assert!(
            missing[0].message.contains("cannot read lookup table"),
            "{}",
            missing[0].message
        );

        std::fs::create_dir(dir.path().join("tables")).unwrap();
        write_table(
            &dir.path().join("tables"),
            "dept.csv",
            "code,name\n10,Sales\n10,Support\n",
        );
        let columns = load(dir.path(), "id", "label").unwrap_err();
        let at: Vec<String> = columns.iter().map(|p| p.at.to_string()).collect();
        assert_eq!(at, ["field[1].lookup.key", "field[1].lookup.value"]);
        assert!(
            columns[0].message.contains("(columns: code, name)"),
            "{}",
            columns[0].message
        );

        let dup = load(dir.path(), "code", "name").unwrap_err();
        assert!(
            dup[0]
                .message
                .contains("line 3: key \"10\" is listed again"),
            "{}",
            dup[0].message
        );
    }
}
