//! Semantic checks of a profile's `[format]` table, reported before any file is read.
//!
//! Each rule is the one the readers apply (`parse_delimiter`, `encoding_for_label`,
//! `trailer_regex`, the fixed-width `Layout`), called here on the settings alone, so `hrbridge check` and a real read
//! can never disagree about what is valid.

use super::csv::{self, parse_delimiter};
use super::encoding::{self, encoding_for_label};
use super::fixed::{Layout, LayoutError};
use super::footer::trailer_regex;
use crate::profile::{FixedTrim, FormatKind, FormatSpec, KeyPath, Problem};

/// Every problem in `spec`, located under `format`.
pub fn check(spec: &FormatSpec) -> Vec<Problem> {
    let at = |key: &str| KeyPath::root().key("format").key(key);
    let mut problems = Vec::new();
    if let Err(message) = parse_delimiter(&spec.delimiter) {
        problems.push(Problem::new(at("delimiter"), message.to_string()));
    }
    if let Err(message) = encoding_for_label(&spec.encoding) {
        problems.push(Problem::new(at("encoding"), message.to_string()));
    }
    if spec.header_row == 0 {
        problems.push(Problem::new(
            at("header_row"),
            "header_row counts from 1 (the first row of the file)",
        ));
    }
    if let Some(trailer) = &spec.trailer {
        if let Err(message) = trailer_regex(trailer) {
            problems.push(Problem::new(
                at("trailer").key("pattern"),
                message.to_string(),
            ));
        }
    }
    let limits = &spec.limits;
    let caps = [
        ("max_file_bytes", limits.max_file_bytes),
        ("max_unzipped_bytes", limits.max_unzipped_bytes),
        ("max_cells", limits.max_cells),
        ("max_cell_bytes", limits.max_cell_bytes as u64),
        ("max_read_seconds", limits.max_read_seconds),
    ];
    for (key, value) in caps {
        if value == 0 {
            problems.push(Problem::new(
                at("limits").key(key),
                "must be greater than 0",
            ));
        }
    }
    match spec.kind {
        FormatKind::Csv if spec.sheet.is_some() => problems.push(Problem::new(
            at("sheet"),
            "sheet applies to spreadsheets only; this format is csv",
        )),
        FormatKind::Xlsx => {
            for (key, value, auto) in [
                ("delimiter", &spec.delimiter, csv::AUTO),
                ("encoding", &spec.encoding, encoding::AUTO),
            ] {
                if !value.eq_ignore_ascii_case(auto) {
                    problems.push(Problem::new(
                        at(key),
                        format!("{key} applies to csv only; spreadsheets ignore it"),
                    ));
                }
            }
        }
        FormatKind::Csv => {}
        FormatKind::Fixed => check_fixed(spec, &mut problems),
    }
    if spec.kind != FormatKind::Fixed {
        let fixed_only = [
            ("columns", !spec.columns.is_empty()),
            ("record_type", spec.record_type.is_some()),
            ("detail", spec.detail.is_some()),
            ("trim", spec.trim != FixedTrim::Both),
        ];
        for (key, set) in fixed_only {
            if set {
                problems.push(Problem::new(
                    at(key),
                    format!("{key} applies to fixed-width files only (type = \"fixed\")"),
                ));
            }
        }
    }
    problems
}

/// The rules of a fixed-width layout ([`Layout::of`], as the reader applies them), and the
/// CSV and spreadsheet keys it has no use for.
fn check_fixed(spec: &FormatSpec, problems: &mut Vec<Problem>) {
    let at = |key: &str| KeyPath::root().key("format").key(key);
    if let Err(e) = Layout::of(spec) {
        let key = match e {
            LayoutError::BadRecordType => "record_type",
            LayoutError::DetailWithoutType | LayoutError::DetailWidth { .. } => "detail",
            _ => "columns",
        };
        problems.push(Problem::new(at(key), e.to_string()));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, c) in spec.columns.iter().enumerate() {
        let name = c.name.trim();
        if name.is_empty() || !seen.insert(name) {
            let why = match name.is_empty() {
                true => "a column needs a name".to_string(),
                false => format!("column name {name:?} is used twice"),
            };
            problems.push(Problem::new(at("columns").index(i).key("name"), why));
        }
    }
    if !spec.delimiter.eq_ignore_ascii_case(csv::AUTO) {
        problems.push(Problem::new(
            at("delimiter"),
            "delimiter applies to csv only; fixed-width fields are placed by `columns`",
        ));
    }
    if spec.sheet.is_some() {
        problems.push(Problem::new(
            at("sheet"),
            "sheet applies to spreadsheets only",
        ));
    }
    if spec.header_row != 1 {
        problems.push(Problem::new(
            at("header_row"),
            "a fixed-width file has no header row: `columns` names the fields (a header record is set aside by record_type)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{SheetRef, TrailerSpec};

    fn paths(spec: &FormatSpec) -> Vec<String> {
        check(spec).iter().map(|p| p.at.to_string()).collect()
    }

    #[test]
    fn a_fixed_width_layout_is_checked_where_each_mistake_is() {
        use crate::profile::{FixedColumn, FixedSpan};
        let column = |name: &str, start, width| FixedColumn {
            name: name.into(),
            start,
            width,
        };
        let good = FormatSpec {
            kind: FormatKind::Fixed,
            columns: vec![column("EMPNO", Some(2), 6), column("NAME", None, 20)],
            record_type: Some(FixedSpan { start: 1, width: 1 }),
            detail: Some("D".into()),
            ..FormatSpec::default()
        };
        assert!(check(&good).is_empty(), "{:?}", check(&good));
        let bad = FormatSpec {
            columns: vec![column("EMPNO", Some(2), 6), column("EMPNO", Some(4), 3)],
            detail: Some("DD".into()),
            delimiter: ";".into(),
            header_row: 2,
            ..good.clone()
        };
        assert_eq!(
            paths(&bad),
            [
                "format.columns",
                "format.columns[1].name",
                "format.delimiter",
                "format.header_row"
            ]
        );
        // A fixed-width key on a CSV format is a mistake, not silently ignored.
        let csv = FormatSpec {
            kind: FormatKind::Csv,
            ..good
        };
        assert_eq!(
            paths(&csv),
            ["format.columns", "format.record_type", "format.detail"]
        );
    }

    #[test]
    fn defaults_are_valid() {
        assert!(check(&FormatSpec::default()).is_empty());
        let xlsx = FormatSpec {
            kind: FormatKind::Xlsx,
            sheet: Some(SheetRef::Name("Hires".into())),
            ..FormatSpec::default()
        };
        assert!(check(&xlsx).is_empty());
    }

    #[test]
    fn every_bad_setting_is_located() {
        let mut spec = FormatSpec {
            delimiter: "::".into(),
            encoding: "ebcdic-klingon".into(),
            header_row: 0,
            sheet: Some(SheetRef::Index(0)),
            trailer: Some(TrailerSpec {
                pattern: r"^TOTAL,\d+$".into(),
            }),
            ..FormatSpec::default()
        };
        spec.limits.max_cells = 0;
        spec.limits.max_read_seconds = 0;
        assert_eq!(
            paths(&spec),
            vec![
                "format.delimiter",
                "format.encoding",
                "format.header_row",
                "format.trailer.pattern",
                "format.limits.max_cells",
                "format.limits.max_read_seconds",
                "format.sheet",
            ]
        );
        let problems = check(&spec);
        assert!(problems[3].message.contains("capture group"));
    }

    #[test]
    fn a_broken_trailer_regex_is_reported() {
        let spec = FormatSpec {
            trailer: Some(TrailerSpec {
                pattern: r"^TOTAL,(\d+$".into(),
            }),
            ..FormatSpec::default()
        };
        let problems = check(&spec);
        assert_eq!(problems.len(), 1);
        assert!(problems[0]
            .message
            .starts_with("invalid regular expression"));
    }

    #[test]
    fn csv_settings_on_a_spreadsheet_are_flagged() {
        let spec = FormatSpec {
            kind: FormatKind::Xlsx,
            delimiter: ";".into(),
            encoding: "utf-8".into(),
            ..FormatSpec::default()
        };
        assert_eq!(paths(&spec), vec!["format.delimiter", "format.encoding"]);
    }
}
