//! The mapping plan: a profile's fields, filters and column contract, compiled once.
//!
//! [`MappingPlan::compile`] needs no header: it parses every rule and reports all problems at
//! their key paths, so `check` can validate a profile without a file. [`MappingPlan::bind`]
//! resolves the plan's columns against one file's header (a missing column fails the file
//! before any row is read) and yields the [`Mapper`] that maps each row.

use std::collections::HashMap;
use std::fmt;

use super::columns::{ColumnId, ColumnTable};
use super::field::FieldRule;
use super::filter::Filter;
use super::RowOutcome;
use crate::kernel::mapped::{FieldInfo, MappedRecord};
use crate::kernel::mask::PiiValues;
use crate::kernel::record::RawRecord;
use crate::kernel::value::Value;
use crate::profile::{KeyPath, Problem, Profile};
use crate::settings::Settings;

/// A profile's mapping, compiled and independent of any file.
#[derive(Debug)]
pub struct MappingPlan {
    fields: Vec<FieldRule>,
    infos: Vec<FieldInfo>,
    filters: Vec<Filter>,
    columns: ColumnTable,
}

impl MappingPlan {
    /// Compiles every rule of `profile`: regexes, date formats, templates, transforms, bounds
    /// and lookup tables (read now, relative to `settings`). All problems are returned, each at
    /// its key path; compiling never stops at the first.
    pub fn compile(profile: &Profile, settings: &Settings) -> Result<MappingPlan, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut columns = ColumnTable::default();
        if profile.fields.is_empty() {
            problems.push(Problem::new(
                KeyPath::root().key("field"),
                "a profile needs at least one [[field]]",
            ));
        }
        let mut first_use: HashMap<&str, usize> = HashMap::new();
        let mut fields = Vec::with_capacity(profile.fields.len());
        for (i, spec) in profile.fields.iter().enumerate() {
            if let Some(first) = first_use.get(spec.name.as_str()) {
                problems.push(Problem::new(
                    KeyPath::field(i).key("name"),
                    format!(
                        "field name {:?} is already used by field[{first}]",
                        spec.name
                    ),
                ));
            } else {
                first_use.insert(spec.name.as_str(), i);
            }
            match FieldRule::compile(spec, i, settings, &mut columns) {
                Ok(rule) => fields.push(rule),
                Err(p) => problems.extend(p),
            }
        }
        let mut filters = Vec::with_capacity(profile.filters.len());
        for (i, spec) in profile.filters.iter().enumerate() {
            match Filter::compile(spec, i, &mut columns) {
                Ok(f) => filters.push(f),
                Err(p) => problems.push(p),
            }
        }
        let required_at = KeyPath::root().key("validation").key("required_columns");
        for (j, name) in profile.validation.required_columns.iter().enumerate() {
            if name.trim().is_empty() {
                problems.push(Problem::new(
                    required_at.clone().index(j),
                    "the column name is empty",
                ));
            } else {
                columns.intern(name, required_at.clone().index(j));
            }
        }
        if let Some(sample) = &profile.sample_header {
            for (name, at) in columns.references() {
                if !sample.iter().any(|h| h.trim() == name) {
                    problems.push(Problem::new(
                        at.clone(),
                        format!("column `{name}` is not in sample_header"),
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(MappingPlan {
            infos: fields.iter().map(|f| f.info().clone()).collect(),
            fields,
            filters,
            columns,
        })
    }

    /// Every input column the plan reads, once per place in the profile that names it
    /// (`field[0].from`, `field[3].template`, `filter[0].column`,
    /// `validation.required_columns[1]`), in profile order.
    pub fn columns(&self) -> Vec<(String, KeyPath)> {
        self.columns
            .references()
            .map(|(name, at)| (name.to_string(), at.clone()))
            .collect()
    }

    /// The output fields, in output order.
    pub fn fields(&self) -> &[FieldInfo] {
        &self.infos
    }

    /// Resolves the plan's columns against a file's header. Names are compared after trimming
    /// surrounding whitespace; case matters. If a name appears twice in the header (readers
    /// refuse such files), the first one is used.
    pub fn bind(&self, header: &[String]) -> Result<Mapper<'_>, MissingColumns> {
        let mut position: HashMap<&str, usize> = HashMap::with_capacity(header.len());
        for (i, name) in header.iter().enumerate().rev() {
            position.insert(name.trim(), i);
        }
        let mut index = Vec::with_capacity(self.columns.names().len());
        let mut missing = Vec::new();
        for name in self.columns.names() {
            match position.get(name.as_str()) {
                Some(i) => index.push(*i),
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(MissingColumns { columns: missing });
        }
        Ok(Mapper { plan: self, index })
    }
}

/// The header lacks columns the plan reads: the file fails before any row is mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingColumns {
    /// Each missing column once, in the order the profile first names them.
    pub columns: Vec<String>,
}

impl fmt::Display for MissingColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("missing column(s) ")?;
        for (n, name) in self.columns.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MissingColumns {}

/// A plan bound to one file's header: maps that file's rows.
#[derive(Debug)]
pub struct Mapper<'a> {
    plan: &'a MappingPlan,
    /// For each [`ColumnId`], the column's index in the file's rows.
    index: Vec<usize>,
}

impl Mapper<'_> {
    /// The output fields; a mapped record's values are aligned with them.
    pub fn fields(&self) -> &[FieldInfo] {
        self.plan.fields()
    }

    /// Maps one row: filters first (the first failing one skips the row), then every field.
    /// All failing fields of the row are reported. A row shorter than the header reads its
    /// missing cells as empty; this never panics.
    pub fn apply(&self, rec: &RawRecord) -> RowOutcome {
        let value = |id: ColumnId| cell(&self.index, rec, id);
        for (i, filter) in self.plan.filters.iter().enumerate() {
            if !filter.passes(value(filter.column())) {
                return RowOutcome::Filtered { rule: i };
            }
        }
        let mut values = Vec::with_capacity(self.plan.fields.len());
        let mut rejections = Vec::new();
        for field in &self.plan.fields {
            match field.apply(value, &rec.pos) {
                Ok(v) => values.push(v),
                Err(r) => rejections.push(r),
            }
        }
        if rejections.is_empty() {
            RowOutcome::Mapped(MappedRecord {
                pos: rec.pos.clone(),
                values,
            })
        } else {
            // A reason may quote a value that is PII in another field of the row.
            let pii = PiiValues::new(self.plan.fields.iter().flat_map(|f| f.pii_inputs(value)));
            for r in &mut rejections {
                r.reason = pii.hide(&r.reason);
            }
            RowOutcome::Rejected(rejections)
        }
    }

    /// The values of the key fields of `rec`, in field order, when each of them maps —
    /// whatever the row's other fields do: a rejected row still says whose row it is.
    pub fn key_values(&self, rec: &RawRecord) -> Option<Vec<Value>> {
        let value = |id: ColumnId| cell(&self.index, rec, id);
        self.plan
            .fields
            .iter()
            .zip(&self.plan.infos)
            .filter(|(_, info)| info.key)
            .map(|(field, _)| field.apply(value, &rec.pos).ok())
            .collect()
    }
}

/// The value of column `id` in `rec`; empty when the row is too short.
fn cell<'r>(index: &[usize], rec: &'r RawRecord, id: ColumnId) -> &'r str {
    index
        .get(id.0)
        .and_then(|&i| rec.values.get(i))
        .map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::record::Position;
    use crate::settings::SettingsFile;

    const SOURCE: &str = "[source]\ntype = \"dir\"\npath = \"inbox\"\n";

    fn settings(dir: &std::path::Path) -> Settings {
        Settings::resolve(None, dir.to_path_buf(), SettingsFile::default())
    }

    fn compile_in(dir: &std::path::Path, body: &str) -> Result<MappingPlan, Vec<Problem>> {
        let profile: Profile =
            toml::from_str(&format!("{SOURCE}{body}")).unwrap_or_else(|e| panic!("{e}"));
        MappingPlan::compile(&profile, &settings(dir))
    }

    fn compile(body: &str) -> Result<MappingPlan, Vec<Problem>> {
        compile_in(&std::env::temp_dir(), body)
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn row(n: u64, values: &[&str]) -> RawRecord {
        RawRecord {
            pos: Position::new("hires.csv".into(), n),
            values: strings(values),
        }
    }

    const HIRES: &str = r#"
[[field]]
name = "employee_id"
from = "Candidate ID"
required = true
key = true

[[field]]
name = "full_name"
template = "{First} {Last}"
transform = ["collapse_whitespace", "title"]

[[field]]
name = "start_date"
from = "Hire Date"
type = "date"
input_formats = ["%m/%d/%Y"]

[[field]]
name = "employment_type"
from = "Type"
map = { FT = "full_time", PT = "part_time" }

[[field]]
name = "ssn_last4"
from = "SSN"
pii = true
transform = ["digits_only", "last:4"]
pattern = '\d{4}'

[[filter]]
column = "Status"
equals = "Accepted"
"#;

    const HEADER: [&str; 7] = [
        "Candidate ID",
        "First",
        "Last",
        "Hire Date",
        "Type",
        "SSN",
        "Status",
    ];

    #[test]
    fn a_rejected_row_still_gives_its_key() {
        let plan = compile(HIRES).unwrap();
        let mapper = plan.bind(&strings(&HEADER)).unwrap();
        let bad_date = row(3, &["E7", "a", "b", "31/31/2024", "FT", "1234", "Accepted"]);
        assert!(matches!(mapper.apply(&bad_date), RowOutcome::Rejected(_)));
        assert_eq!(
            mapper.key_values(&bad_date),
            Some(vec![Value::Text("E7".into())])
        );
        let no_key = row(4, &["", "a", "b", "01/05/2024", "FT", "1234", "Accepted"]);
        assert_eq!(mapper.key_values(&no_key), None, "the key is required");
    }

    #[test]
    fn maps_filters_and_rejects_rows() {
        let plan = compile(HIRES).unwrap();
        let names: Vec<&str> = plan.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "employee_id",
                "full_name",
                "start_date",
                "employment_type",
                "ssn_last4"
            ]
        );
        assert!(plan.fields()[4].pii && plan.fields()[0].key);
        let mapper = plan.bind(&strings(&HEADER)).unwrap();

        let ok = mapper.apply(&row(
            2,
            &[
                "E1",
                "ada",
                "LOVELACE ",
                "01/05/2024",
                "FT",
                "123-45-6789",
                "Accepted",
            ],
        ));
        let RowOutcome::Mapped(rec) = ok else {
            panic!("{ok:?}")
        };
        assert_eq!(rec.pos.row, 2);
        assert_eq!(
            rec.values,
            [
                Value::Text("E1".into()),
                Value::Text("Ada Lovelace".into()),
                Value::Date("2024-01-05".into()),
                Value::Text("full_time".into()),
                Value::Text("6789".into()),
            ]
        );

        let skipped = mapper.apply(&row(3, &["E2", "a", "b", "", "FT", "", "Declined"]));
        assert_eq!(skipped, RowOutcome::Filtered { rule: 0 });

        let bad = mapper.apply(&row(
            4,
            &["", "a", "b", "13/45/2020", "XX", "12", " Accepted "],
        ));
        let RowOutcome::Rejected(rejections) = bad else {
            panic!("{bad:?}")
        };
        let got: Vec<(Option<&str>, Option<&str>, &str)> = rejections
            .iter()
            .map(|r| (r.column.as_deref(), r.field.as_deref(), r.reason.as_str()))
            .collect();
        assert_eq!(
            got[0],
            (
                Some("Candidate ID"),
                Some("employee_id"),
                "required value is empty"
            )
        );
        assert_eq!(
            got[1],
            (
                Some("Hire Date"),
                Some("start_date"),
                "value \"13/45/2020\" matches none of the formats %m/%d/%Y, %Y-%m-%d"
            )
        );
        assert_eq!(got[2].1, Some("employment_type"));
        assert!(got[2].2.contains("\"XX\""), "{}", got[2].2);
        assert_eq!(got[3].1, Some("ssn_last4"));
        assert_eq!(rejections.len(), 4);
        assert_eq!(
            rejections[0].to_string(),
            "hires.csv row 4, column \"Candidate ID\" (field employee_id): required value is empty"
        );
    }

    #[test]
    fn pii_values_never_appear_in_reasons() {
        let plan = compile(
            "[[field]]\nname = \"ssn\"\nfrom = \"SSN\"\npii = true\npattern = '\\d{3}-\\d{2}-\\d{4}'\n\
             [[field]]\nname = \"salary\"\nfrom = \"Salary\"\npii = true\ntype = \"decimal\"\n\
             [[field]]\nname = \"dob\"\nfrom = \"DOB\"\npii = true\ntype = \"date\"\n\
             [[field]]\nname = \"band\"\nfrom = \"Band\"\npii = true\nmap = { B1 = \"one\" }\n",
        )
        .unwrap();
        let mapper = plan
            .bind(&strings(&["SSN", "Salary", "DOB", "Band"]))
            .unwrap();
        let secrets = ["123456789", "85,000.00", "31/12/1970", "SECRET-BAND"];
        let RowOutcome::Rejected(rejections) = mapper.apply(&row(9, &secrets)) else {
            panic!("expected rejections")
        };
        assert_eq!(rejections.len(), 4);
        for r in &rejections {
            let shown = r.to_string();
            for secret in secrets {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(shown.contains("[pii: "), "{shown}");
        }
        assert!(
            !rejections[3].reason.contains("B1"),
            "map keys of pii fields stay hidden"
        );
    }

    #[test]
    fn compile_collects_every_problem_at_its_key_path() {
        let problems = compile(
            r#"
[[field]]
name = "a"
from = "A"
transform = ["trim", "reverse"]

[[field]]
name = "b"
from = "B"
type = "date"
input_formats = ["%m/%d/%Y", "%Q"]
format = "%H"

[[field]]
name = "a"
from = "C"

[[field]]
name = "d"

[[field]]
name = "e"
from = "E"
type = "integer"
min = "zero"
max_length = 3

[[filter]]
column = "Status"
equals = "x"
in = ["y"]

[[filter]]
column = "Dept"
matches = "(unclosed"
"#,
        )
        .unwrap_err();
        let at: Vec<String> = problems.iter().map(|p| p.at.to_string()).collect();
        assert_eq!(
            at,
            [
                "field[0].transform[1]",
                "field[1].input_formats[1]",
                "field[1].format",
                "field[2].name",
                "field[3]",
                "field[4].min",
                "filter[0]",
                "filter[1].matches",
            ]
        );
        assert!(
            problems[0]
                .message
                .contains("known transforms: trim, lower"),
            "{}",
            problems[0].message
        );
        assert!(
            problems[3].message.contains("already used by field[0]"),
            "{}",
            problems[3].message
        );
    }

    #[test]
    fn columns_lists_every_reference_and_bind_reports_missing_ones_once() {
        let plan = compile(
            "[[field]]\nname = \"start\"\nfrom = \"Hire Date\"\n\
             [[field]]\nname = \"name\"\ntemplate = \"{First} {Last}\"\n\
             [[field]]\nname = \"ssn\"\nfrom = \"SSN\"\npii = true\n\
             [[filter]]\ncolumn = \"Hire Date\"\nis_empty = false\n\
             [validation]\nrequired_columns = [\"SSN\", \"Status\"]\n",
        )
        .unwrap();
        let refs: Vec<String> = plan
            .columns()
            .iter()
            .map(|(c, at)| format!("{c}@{at}"))
            .collect();
        assert_eq!(
            refs,
            [
                "Hire Date@field[0].from",
                "First@field[1].template",
                "Last@field[1].template",
                "SSN@field[2].from",
                "Hire Date@filter[0].column",
                "SSN@validation.required_columns[0]",
                "Status@validation.required_columns[1]",
            ]
        );
        let err = plan
            .bind(&strings(&["First", "Last ", "Status"]))
            .unwrap_err();
        assert_eq!(err.columns, ["Hire Date", "SSN"]);
        assert_eq!(err.to_string(), "missing column(s) \"Hire Date\", \"SSN\"");
        assert!(plan
            .bind(&strings(&[" SSN", "Status", "Last", "First", "Hire Date"]))
            .is_ok());
    }

    #[test]
    fn short_rows_read_missing_cells_as_empty() {
        let plan = compile("[[field]]\nname = \"a\"\nfrom = \"A\"\n[[field]]\nname = \"z\"\nfrom = \"Z\"\nrequired = true\n").unwrap();
        let mapper = plan.bind(&strings(&["A", "B", "Z"])).unwrap();
        let RowOutcome::Rejected(r) = mapper.apply(&row(5, &["x"])) else {
            panic!("expected a rejection")
        };
        assert_eq!((r.len(), r[0].field.as_deref()), (1, Some("z")));
        let RowOutcome::Rejected(r) = mapper.apply(&row(6, &[])) else {
            panic!("expected a rejection")
        };
        assert_eq!((r.len(), r[0].field.as_deref()), (1, Some("z")));
        let RowOutcome::Mapped(m) = mapper.apply(&row(7, &["", "", "z"])) else {
            panic!("expected a record")
        };
        assert_eq!(m.values, [Value::Null, Value::Text("z".into())]);
    }

    #[test]
    fn odd_inputs_are_mapped_or_rejected_without_panicking() {
        let kinds = [
            "string", "date", "datetime", "integer", "decimal", "boolean", "email",
        ];
        let mut body = String::new();
        for (i, kind) in kinds.iter().enumerate() {
            body.push_str(&format!(
                "[[field]]\nname = \"f{i}\"\nfrom = \"C\"\ntype = \"{kind}\"\nmax_length = 5\n\
                 transform = [\"title\", \"strip_leading_zeros\", \"last:3\", \"pad_left:4:ß\", \"first:9\"]\n"
            ));
        }
        body.push_str("[[field]]\nname = \"d\"\nfrom = \"C\"\ntype = \"datetime\"\ninput_formats = [\"excel_serial\"]\n");
        let plan = compile(&body).unwrap();
        let mapper = plan.bind(&strings(&["C"])).unwrap();
        let long = "9".repeat(70_000);
        let inputs = [
            "",
            " ",
            "\u{feff}",
            "ǅ",
            "0",
            "-",
            ".",
            "@",
            "1e400",
            "99999999999999999999",
            "-0.0",
            "٣",
            "2958466",
            "2958465.99999999",
            "60",
            "\u{202e}x",
            "a\u{0301}",
            "\t\r\n",
            &long,
        ];
        for input in inputs {
            match mapper.apply(&row(1, &[input])) {
                RowOutcome::Mapped(m) => assert_eq!(m.values.len(), 8, "{input:?}"),
                RowOutcome::Rejected(r) => assert!((1..=8).contains(&r.len()), "{input:?}"),
                RowOutcome::Filtered { .. } => panic!("no filter was given: {input:?}"),
            }
        }
    }

    #[test]
    fn lookup_tables_are_loaded_relative_to_the_settings_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dept.csv"), "code,name\n10,Sales\n").unwrap();
        let body = "[[field]]\nname = \"dept\"\nfrom = \"Dept\"\nlookup = { file = \"dept.csv\", key = \"code\", value = \"name\" }\n";
        let plan = compile_in(dir.path(), body).unwrap();
        let mapper = plan.bind(&strings(&["Dept"])).unwrap();
        let RowOutcome::Mapped(m) = mapper.apply(&row(2, &["10"])) else {
            panic!("expected a record")
        };
        assert_eq!(m.values, [Value::Text("Sales".into())]);
        let RowOutcome::Rejected(r) = mapper.apply(&row(3, &["99"])) else {
            panic!("expected a rejection")
        };
        assert_eq!(
            r[0].reason,
            "value \"99\" is not a key of lookup table dept.csv"
        );
        let missing = compile_in(&dir.path().join("nowhere"), body).unwrap_err();
        assert_eq!(missing[0].at.to_string(), "field[0].lookup.file");
    }
}
